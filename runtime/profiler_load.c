/* profiler_load.c — the profiler's synthetic co-runner (threads that thrash
 * the last-level cache or stream through memory, pinned to cores beside
 * the measured run) and its LLC-miss counters (perf_event_open, with a
 * clean fallback where the machine has none, e.g. this VM). */
#include <errno.h>
#include <linux/perf_event.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/mts.h"
#include "runtime/profiler_int.h"

/* ---- co-runner ------------------------------------------------------------ */

enum { LEVEL_LLC = 0, LEVEL_BW50, LEVEL_BW };
static const char *const level_names[MTS__CORUN_LEVELS] = {"llc", "bw50", "bw"};

const char *mts__corun_level_name(int level) {
  return level >= 0 && level < MTS__CORUN_LEVELS ? level_names[level] : "?";
}

typedef struct {
  pthread_t th;
  int started;
  int core;
  uint64_t *buf;
  size_t words;           /* streaming levels: the whole buffer */
  size_t llc_words;       /* "llc": the first part, this thread's share of one LLC */
  atomic_int *want;       /* level to run, -1 paused, -2 exit */
  atomic_int acting;      /* the level this thread is running now */
  atomic_llong bytes;     /* touched so far */
} corun_thread_t;

struct mts__corun {
  atomic_int want;
  int n;
  corun_thread_t t[];
};

/* One chunk: "llc" writes one word per 64-byte line (every line becomes
 * dirty and evicts the victim's); the streaming levels read and write every
 * word (bandwidth).  Returns the bytes touched. */
static double corun_chunk(uint64_t *b, size_t words, int level) {
  if (level == LEVEL_LLC) {
    for (size_t i = 0; i < words; i += 8) b[i]++;
    return (double)words * 8.0;
  }
  for (size_t i = 0; i < words; i++) b[i] += i;
  return (double)words * 16.0;
}

static void *corun_main(void *arg) {
  corun_thread_t *t = arg;
  /* chunks of 256 KiB between checks of the wanted level */
  size_t chunk = (256u << 10) / sizeof(uint64_t), off = 0;
  int64_t phase0 = mts_now_us();
  for (;;) {
    int lev = atomic_load_explicit(t->want, memory_order_acquire);
    if (lev == -2) break;
    atomic_store_explicit(&t->acting, lev, memory_order_release);
    if (lev < 0) {
      mts_sleep_us(100);
      continue;
    }
    if (lev == LEVEL_BW50) { /* 1 ms on, 1 ms off */
      int64_t ph = (mts_now_us() - phase0) % 2000;
      if (ph >= 1000) {
        mts_sleep_us(ph < 1900 ? 100 : 2000 - ph);
        continue;
      }
    }
    size_t lim = lev == LEVEL_LLC ? t->llc_words : t->words;
    if (off >= lim) off = 0;
    size_t n = off + chunk <= lim ? chunk : lim - off;
    double b = corun_chunk(t->buf + off, n, lev);
    atomic_fetch_add_explicit(&t->bytes, (long long)b, memory_order_relaxed);
    off += n;
  }
  atomic_store_explicit(&t->acting, -2, memory_order_release);
  return NULL;
}

int mts__corun_start(mts__corun_t **out, const int *cores, int n, int64_t llc_bytes) {
  int rc = 0;
  *out = NULL;
  if (n <= 0) return mts_seterr(MTS_EINVAL, "co-runner: no cores");
  mts__corun_t *c = mts_xcalloc(1, sizeof *c + (size_t)n * sizeof c->t[0]);
  atomic_init(&c->want, -1);
  c->n = n;
  /* Streaming: twice the LLC over all threads, so that nothing stays
   * cached; "llc": the threads together sweep one LLC. */
  size_t bytes = (size_t)llc_bytes * 2 / (size_t)n, llc = (size_t)llc_bytes / (size_t)n;
  if (bytes < (2u << 20)) bytes = 2u << 20;
  if (llc < (1u << 20)) llc = 1u << 20;
  for (int i = 0; i < n; i++) {
    corun_thread_t *t = &c->t[i];
    t->core = cores[i];
    t->want = &c->want;
    atomic_init(&t->acting, -1);
    atomic_init(&t->bytes, 0);
    t->words = bytes / sizeof(uint64_t);
    t->llc_words = llc / sizeof(uint64_t);
    if (posix_memalign((void **)&t->buf, 64, t->words * sizeof(uint64_t)) != 0) {
      t->buf = NULL;
      rc = mts_seterr(MTS_ENOMEM, "co-runner: cannot allocate %zu MiB", bytes >> 20);
      goto out;
    }
    memset(t->buf, 1, t->words * sizeof(uint64_t)); /* fault the pages in now, not while measuring */
  }
  for (int i = 0; i < n; i++) {
    corun_thread_t *t = &c->t[i];
    pthread_attr_t attr;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(t->core, &set);
    pthread_attr_init(&attr);
    int e = pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    if (!e) e = pthread_create(&t->th, &attr, corun_main, t);
    pthread_attr_destroy(&attr);
    if (e) {
      rc = mts_seterr(MTS_ETOPO, "co-runner: cannot start a thread on core %d: %s", t->core, strerror(e));
      goto out;
    }
    t->started = 1;
  }
out:
  if (rc) {
    mts__corun_stop(c);
    return rc;
  }
  *out = c;
  return 0;
}

void mts__corun_set(mts__corun_t *c, int level) {
  atomic_store_explicit(&c->want, level, memory_order_release);
  /* wait until every thread runs (or has paused at) that level, so that a
   * solo run never overlaps the tail of a load */
  for (int i = 0; i < c->n; i++)
    while (c->t[i].started && atomic_load_explicit(&c->t[i].acting, memory_order_acquire) != level)
      mts_sleep_us(20);
}

double mts__corun_bytes(const mts__corun_t *c) {
  double b = 0;
  for (int i = 0; c && i < c->n; i++) b += (double)atomic_load_explicit(&c->t[i].bytes, memory_order_relaxed);
  return b;
}

void mts__corun_stop(mts__corun_t *c) {
  if (!c) return;
  atomic_store(&c->want, -2);
  for (int i = 0; i < c->n; i++) {
    if (c->t[i].started) pthread_join(c->t[i].th, NULL);
    free(c->t[i].buf);
  }
  free(c);
}

/* ---- LLC-miss counters ------------------------------------------------------ */

struct mts__llc_counter {
  int n;
  int fd[];
};

static int perf_open_self(void) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_HARDWARE;
  a.config = PERF_COUNT_HW_CACHE_MISSES; /* the generic last-level miss event */
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

int mts__llc_counter_probe(char *why, size_t n) {
  int fd = perf_open_self();
  if (fd < 0) {
    snprintf(why, n, "perf_event_open: %s", strerror(errno));
    return 0;
  }
  close(fd);
  return 1;
}

int mts__llc_counter_open(mts__llc_counter_t **out, int k) {
  int failed = 0;
  mts__llc_counter_t *c = mts_xcalloc(1, sizeof *c + (size_t)k * sizeof c->fd[0]);
  c->n = k;
  for (int i = 0; i < k; i++) c->fd[i] = -1;
  /* each thread of the team counts itself; libgomp keeps the same threads
   * for the runs that follow with the same team size */
#pragma omp parallel num_threads(k) reduction(+ : failed)
  {
    int i = omp_get_thread_num();
    c->fd[i] = perf_open_self();
    if (c->fd[i] < 0) failed++;
  }
  if (failed) {
    mts__llc_counter_close(c);
    *out = NULL;
    return mts_seterr(MTS_EUNSUPPORTED, "perf_event_open failed on %d of %d threads", failed, k);
  }
  *out = c;
  return 0;
}

double mts__llc_counter_read(const mts__llc_counter_t *c) {
  double s = 0;
  for (int i = 0; i < c->n; i++) {
    uint64_t v = 0;
    if (c->fd[i] >= 0 && read(c->fd[i], &v, sizeof v) == (ssize_t)sizeof v) s += (double)v;
  }
  return s;
}

void mts__llc_counter_close(mts__llc_counter_t *c) {
  if (!c) return;
  for (int i = 0; i < c->n; i++)
    if (c->fd[i] >= 0) close(c->fd[i]);
  free(c);
}
