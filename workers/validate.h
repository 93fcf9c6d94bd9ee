/* validate.h — checks every message a worker can receive before it acts on
 * it (pure: no MPI, no models, no side effects).
 *
 * A worker trusts its coordinator, but a bug there (or a corrupted or
 * truncated message) must end in a clear error, never in an out-of-range
 * index, a thread pinned to a foreign core or a layer that does not exist.
 * The worker describes what it has — the limits below — and asks
 * mts_worker_validate() about each decoded message:
 *   - Load: a non-empty home of distinct cores (>= 0), core counts in
 *     [1, home size], 0..max_models models each with a non-empty name,
 *     solo_iters >= 0, a known fault kind; only while nothing is loaded;
 *   - Dispatch: only after a Load; model in [0, n_models); 1..max_cores
 *     distinct cores, all in the home, their number one of the compiled core
 *     counts (when given); 0 <= first < last <= layers of the model;
 *     version >= 0;
 *   - Shutdown: always valid;
 *   - anything else (Hello, Ready, Completion, Bye, no body): an error.
 * Returns 0, or MTS_EPROTO with a one-line reason in err (and mts_seterr). */
#ifndef MTS_WORKER_VALIDATE_H
#define MTS_WORKER_VALIDATE_H

#include <stddef.h>

#include "mtserve.pb-c.h"

typedef struct {
  int loaded;             /* 1 once a Load has been accepted and applied */
  int n_models;           /* models loaded */
  const int *n_layers;    /* [n_models] layers of each model */
  int n_home;             /* home cores (from the accepted Load) */
  const int *home;        /* [n_home] OS core indices */
  int n_core_counts;      /* compiled core counts; 0: any count 1..n_home */
  const int *core_counts; /* [n_core_counts] */
  int max_models;         /* most models a Load may name */
  int max_cores;          /* most home cores / granted cores (MTS_MAX_CORES) */
} mts_worker_limits_t;

int mts_worker_validate(const Mts__Msg *m, const mts_worker_limits_t *lim,
                        char *err, size_t n);

#endif
