/* mts.c — errors, logging, allocation helpers and clocks (see mts.h). */
#include "runtime/mts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static _Thread_local char errbuf[1024];
static _Thread_local int errcode;

const char *mts_strerror(int err) {
  switch (err) {
#define MTS_ERR_CASE(name, val, str) \
  case val:                          \
    return str;
    MTS_ERRORS(MTS_ERR_CASE)
#undef MTS_ERR_CASE
  default:
    return "unknown error";
  }
}

int mts_seterr(int err, const char *fmt, ...) {
  /* Format into a temporary: callers often wrap the current message,
   * mts_seterr(rc, "model '%s': %s", name, mts_errmsg()), and vsnprintf
   * into its own argument is undefined. */
  char tmp[sizeof errbuf];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  memcpy(errbuf, tmp, sizeof errbuf);
  errcode = err;
  return err;
}

const char *mts_errmsg(void) {
  if (errbuf[0]) return errbuf;
  return mts_strerror(errcode);
}

void mts_clearerr(void) {
  errbuf[0] = 0;
  errcode = 0;
}

/* ---- logging ---------------------------------------------------------- */
int mts_log_level = MTS_LOG_WARN;
static int log_rank = -1;
static int64_t log_t0;

void mts_log_init(int rank) {
  const char *e = getenv("MTS_LOG");
  log_rank = rank;
  log_t0 = mts_now_us();
  if (!e) return;
  if (!strcasecmp(e, "debug")) mts_log_level = MTS_LOG_DEBUG;
  else if (!strcasecmp(e, "info")) mts_log_level = MTS_LOG_INFO;
  else if (!strcasecmp(e, "warn")) mts_log_level = MTS_LOG_WARN;
  else if (!strcasecmp(e, "error")) mts_log_level = MTS_LOG_ERROR;
}

void mts_log_write(int level, const char *file, int line, const char *fmt, ...) {
  static const char *names[] = {"error", "warn", "info", "debug"};
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  double t = (double)(mts_now_us() - log_t0) / 1e6;
  fprintf(stderr, "[%8.3f r%d %s %s:%d] %s\n", t, log_rank,
          names[level < 0 ? 0 : level > 3 ? 3 : level], base, line, msg);
}

void mts_assert_fail(const char *expr, const char *file, int line) {
  fprintf(stderr, "mtserve: assertion failed: %s (%s:%d)\n", expr, file, line);
  abort();
}

static void *oom(size_t n) {
  fprintf(stderr, "mtserve: out of memory allocating %zu bytes\n", n);
  abort();
}

void *mts_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  return p ? p : oom(n);
}
void *mts_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  return p ? p : oom(n * size);
}
void *mts_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  return q ? q : oom(n);
}
char *mts_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = mts_xmalloc(n);
  memcpy(p, s, n);
  return p;
}

int mts_read_file(const char *path, char **out, size_t *out_len) {
  size_t len = 0, cap = 0;
  char *buf = NULL;
  int rc = 0;
  *out = NULL;
  *out_len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return mts_seterr(MTS_EIO, "%s: cannot open: %s", path, strerror(errno));
  for (;;) {
    if (cap - len < 4096) {
      cap = cap ? 2 * cap : 65536;
      buf = mts_xrealloc(buf, cap + 1);
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    rc = mts_seterr(MTS_EIO, "%s: read error: %s", path, strerror(errno));
    free(buf);
    buf = NULL;
  } else {
    buf[len] = '\0';
  }
  fclose(f);
  *out = buf;
  *out_len = buf ? len : 0;
  return rc;
}

int mts_mkdir_p(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* ---- clocks ----------------------------------------------------------- */
int64_t mts_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
int64_t mts_now_us(void) { return mts_now_ns() / 1000; }
int64_t mts_wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
void mts_sleep_us(int64_t us) {
  if (us <= 0) return;
  struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}
