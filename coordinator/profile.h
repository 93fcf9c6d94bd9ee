/* profile.h — solo-latency profile tables for the scheduler and the sim
 * backend, loaded from disk and extended to the core counts asked for.
 *
 * Sources:
 * - a `profile.json` written by `mtserve serve` into its results directory:
 *   {"host", "home_cores", "models": [{"name", "model_us": [per core count
 *   1..n], "layers": [{"name", "solo_us": [per core count]}]}]}, optionally
 *   with per-model "version_sens": [s0, s1, ...] and per-layer
 *   "versions_us": [[per core count] for versions 1, 2, ...] (versions);
 * - a directory of VELTAIR's 3990X measurements (`<Model>.latency_us.csv`,
 *   column j = 8*j threads; see its README): convolutions only.
 *
 * Core counts the source lacks are filled honestly, and the method is
 * recorded in `extrapolation`:
 * - 3990X data: between measured counts, speed (1/t) interpolated linearly;
 *   below 8 threads an Amdahl fit t(c) = a + b/c through the 8- and
 *   16-thread points (a >= 0, b >= 0); beyond the last measured count, the
 *   last value (no invented speed-up).
 * - profile.json measured up to m cores: layer l at c > m is
 *   t(l, m) * (r(c) / r(m))^beta, where r is the 3990X per-layer scaling
 *   curve of the 3990X layer at the same quantile of solo time (bigger
 *   layers scale better), from the reference directory, else from a
 *   built-in copy of the 3990X ResNet-50 summed curve, and beta (0..1.5) is
 *   the layer's measured log speed-up over 1..m cores divided by the
 *   curve's (a layer that barely scaled from 1 to 2 cores is not promised
 *   the 3990X's speed-up; beta = 1 when only one count was measured).
 *   model_us keeps its measured ratio to the sum of its layers.
 *
 * Ownership: the profile owns every array its mts_model_prof_t point to. */
#ifndef MTS_PROFILE_H
#define MTS_PROFILE_H

#include "coordinator/sched.h"
#include "coordinator/workload.h"

typedef struct {
  int n_models;
  char *names[MTS_MAX_TENANTS];
  mts_model_prof_t prof[MTS_MAX_TENANTS];
  int measured_cc[MTS_MAX_TENANTS];     /* largest core count measured */
  char source[1024];                    /* where the numbers came from */
  char extrapolation[1024];             /* how missing core counts were filled */
} mts_profile_t;

/* Loads path (a profile.json file or a 3990X data directory) and extends
 * every model to n_cc core counts (1..MTS_SCHED_MAX_CC).  ref_dir: the
 * 3990X directory used to extrapolate a profile.json (NULL: built-in
 * curve).  Errors: MTS_EIO / MTS_EPARSE with "FILE: reason". */
int mts_profile_load(const char *path, int n_cc, const char *ref_dir, mts_profile_t **out);
void mts_profile_destroy(mts_profile_t *p);
/* Index of the model whose name matches (case and punctuation ignored, a
 * path's base name without .onnx), -1 if none. */
int mts_profile_find(const mts_profile_t *p, const char *model);

#endif
