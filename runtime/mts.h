/* mts.h — common definitions shared by every mtserve module: error codes,
 * the per-thread error message, logging and clocks.
 *
 * Errors: every fallible function returns 0 or a negative MTS_E* code.
 * Where the code alone would lose context (file, line, tensor name), the
 * function also records a message with mts_seterr(); callers print it with
 * mts_errmsg().  The message buffer is thread-local, so it is valid until the
 * next mts_seterr() on the same thread.
 *
 * Logging: MTS_LOG(level, fmt, ...) prefixes rank and elapsed time and costs
 * one integer compare when the level is off.  Threading: safe from any thread
 * (each line is written with one fprintf call). */
#ifndef MTS_H
#define MTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MTS_ERRORS(X)                                              \
  X(MTS_OK, 0, "success")                                          \
  X(MTS_ENOMEM, -1, "out of memory")                               \
  X(MTS_EINVAL, -2, "invalid argument")                            \
  X(MTS_EIO, -3, "input/output error")                             \
  X(MTS_EPARSE, -4, "malformed input")                             \
  X(MTS_EUNSUPPORTED, -5, "unsupported feature")                   \
  X(MTS_ENOTFOUND, -6, "not found")                                \
  X(MTS_EDNNL, -7, "oneDNN error")                                 \
  X(MTS_EMPI, -8, "MPI error")                                     \
  X(MTS_EPROTO, -9, "protocol error")                              \
  X(MTS_ESHAPE, -10, "shape mismatch")                             \
  X(MTS_ETOPO, -11, "topology error")                              \
  X(MTS_ESTATE, -12, "invalid state")

enum {
#define MTS_ERR_ENUM(name, val, str) name = (val),
  MTS_ERRORS(MTS_ERR_ENUM)
#undef MTS_ERR_ENUM
  MTS_ERR_COUNT = 13
};

/* Static description of an error code ("unknown error" for others). */
const char *mts_strerror(int err);

/* Record a detailed message for the current thread and return err, so that
 * `return mts_seterr(MTS_EPARSE, "%s:%d: ...", file, line);` works. */
int mts_seterr(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The last message recorded on this thread, or mts_strerror() of the last
 * code when none was given.  Never NULL. */
const char *mts_errmsg(void);
void mts_clearerr(void);

/* ---- logging ---------------------------------------------------------- */
enum { MTS_LOG_ERROR = 0, MTS_LOG_WARN, MTS_LOG_INFO, MTS_LOG_DEBUG };
extern int mts_log_level; /* default MTS_LOG_WARN; env MTS_LOG=debug|info|warn|error */
void mts_log_init(int rank);
void mts_log_write(int level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define MTS_LOG(level, ...)                                        \
  do {                                                             \
    if ((level) <= mts_log_level)                                  \
      mts_log_write((level), __FILE__, __LINE__, __VA_ARGS__);     \
  } while (0)

/* Always-on assertion that reports file and line (also in release builds). */
#define MTS_ASSERT(cond)                                                   \
  do {                                                                     \
    if (!(cond)) mts_assert_fail(#cond, __FILE__, __LINE__);               \
  } while (0)
_Noreturn void mts_assert_fail(const char *expr, const char *file, int line);

/* Allocation for small internal objects: aborts with a message on failure.
 * Large buffers (tensors, arenas) use malloc and report MTS_ENOMEM. */
void *mts_xmalloc(size_t n);
void *mts_xcalloc(size_t n, size_t size);
void *mts_xrealloc(void *p, size_t n);
char *mts_xstrdup(const char *s);

/* Reads a whole file into a malloc'd buffer with a terminating NUL (not
 * counted in *len).  Errors: MTS_EIO "PATH: cannot open: ..." / "read
 * error".  The caller frees *buf. */
int mts_read_file(const char *path, char **buf, size_t *len);

/* Creates a directory and its missing parents (like mkdir -p); 0 or -1
 * with errno set. */
int mts_mkdir_p(const char *path);

/* ---- clocks ----------------------------------------------------------- */
/* Monotonic time in microseconds (CLOCK_MONOTONIC). */
int64_t mts_now_us(void);
/* Monotonic time in nanoseconds. */
int64_t mts_now_ns(void);
/* Sleep for at least us microseconds (no-op for us <= 0). */
void mts_sleep_us(int64_t us);
/* Wall-clock time in microseconds since the epoch (for report headers). */
int64_t mts_wall_us(void);

#endif
