/* arrivals.h — arrival schedules: Poisson and bursty (gamma) generators and
 * CSV trace replay.  Pure functions of their inputs (seeded RNG, no clock).
 *
 * An arrival schedule is an array of (time, tenant) sorted by time, times in
 * microseconds from the run's start.  Caller frees it with free(). */
#ifndef MTS_ARRIVALS_H
#define MTS_ARRIVALS_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/workload.h"

typedef struct {
  int64_t t_us;
  int tenant;
} mts_arrival_t;

/* Deterministic RNG (xoshiro256**, seeded by splitmix64). */
typedef struct { uint64_t s[4]; } mts_rng_t;
void mts_rng_seed(mts_rng_t *r, uint64_t seed);
uint64_t mts_rng_next(mts_rng_t *r);
double mts_rng_uniform(mts_rng_t *r);            /* in (0, 1) */
double mts_rng_exp(mts_rng_t *r, double mean);
double mts_rng_gamma(mts_rng_t *r, double shape, double scale);

/* Builds the whole schedule for the workload over [0, duration): each
 * generated tenant's rate is multiplied by rate_scale (1.0 = as written);
 * trace tenants read the workload's trace (times scaled by 1/rate_scale).
 * Tenant t uses an RNG seeded from (seed, t), so adding a tenant does not
 * change the others' arrivals. */
int mts_arrivals_build(const mts_workload_t *w, double rate_scale, uint64_t seed,
                       mts_arrival_t **out, size_t *n);

/* Reads a CSV trace "arrival_us,tenant" (a header line is allowed; tenant
 * names must exist in w).  Errors: "FILE:LINE: reason".  Rows need not be
 * sorted; the result is. */
int mts_trace_read(const char *path, const mts_workload_t *w,
                   mts_arrival_t **out, size_t *n);
/* The same from memory: `len` bytes of `text` (need not be NUL-terminated;
 * a NUL byte inside is an error); `path` names it in messages. */
int mts_trace_parse(const char *text, size_t len, const char *path,
                    const mts_workload_t *w, mts_arrival_t **out, size_t *n);

#endif
