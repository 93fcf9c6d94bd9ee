/* profiler_int.h — private interfaces of the profiler (profiler.c,
 * profiler_load.c, profiler_cache.c): the synthetic co-runner and the
 * LLC-miss counters. */
#ifndef MTS_PROFILER_INT_H
#define MTS_PROFILER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/profiler.h"

#define MTS__CORUN_LEVELS 3

typedef struct mts__corun mts__corun_t;
typedef struct mts__llc_counter mts__llc_counter_t;

/* Level names: "llc", "bw50", "bw" (see profiler.h). */
const char *mts__corun_level_name(int level);
/* Starts one co-runner thread on each of cores[0..n), paused; buffers are
 * sized from llc_bytes.  mts__corun_set switches every thread to a level
 * (-1: pause) and returns once they all run it; switching is cheap, so solo
 * and co-run timings can alternate run by run (paired, robust to drift in
 * the machine's load).  Stop (join and free) with mts__corun_stop, which
 * accepts NULL. */
int mts__corun_start(mts__corun_t **out, const int *cores, int n, int64_t llc_bytes);
void mts__corun_set(mts__corun_t *c, int level);
void mts__corun_stop(mts__corun_t *c);
/* Bytes the co-runner threads touched since start (a sanity figure). */
double mts__corun_bytes(const mts__corun_t *c);

/* 1 if a hardware cache-miss counter can be opened here; 0 with the reason
 * (errno text) in why otherwise. */
int mts__llc_counter_probe(char *why, size_t n);
/* Opens one counter per thread of an OpenMP team of k threads. */
int mts__llc_counter_open(mts__llc_counter_t **out, int k);
/* Sum over the team's counters. */
double mts__llc_counter_read(const mts__llc_counter_t *c);
void mts__llc_counter_close(mts__llc_counter_t *c);

/* profiler.c: per-layer arrays from n_ver, the profile's n_cc and n_levels. */
void mts__prof_alloc_layer(mts_prof_t *p, mts_prof_layer_t *L, int with_llc);

#endif
