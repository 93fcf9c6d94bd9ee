/* sweep.h — `mtserve sweep`: the highest load each policy carries within
 * its QoS targets.
 *
 * For every policy and seed the driver scales all arrival rates of the
 * workload by a factor s (the "load", 1 = the rates as written) and looks
 * for the largest s at which at least `target` (default 99%) of the
 * measured queries meet their QoS, overall AND for every tenant (drops
 * count as misses).  Search: from a start factor, double (or halve) until
 * one point passes and one fails, then bisect until the bracket is within
 * `tol` (relative) or `max_bisect` steps are spent.  A later seed of the
 * same policy starts from the previous seed's answer with a narrow step
 * (live points are expensive).  After the search every policy runs once
 * more at the first policy's (the baseline's) maximum load, per seed, so
 * latencies are compared at the same load; the run of the first seed is
 * kept as DIR/runs/POLICY (a full results directory).
 *
 * Backends: "sim" runs mts_sim_run in-process (virtual time, a profile is
 * required); "mpi" runs `scripts/mpirun -np N MTSERVE serve ... --quiet
 * --out DIR` per point (MTSERVE = this executable, /proc/self/exe) and reads
 * DIR/summary.json.
 *
 * Outputs in out_dir:
 *   points.csv   every run: policy,seed,phase,rate_scale,offered_qps,
 *                satisfaction,worst_tenant,worst_satisfaction,pass,mean_ms,
 *                p99_ms,arrived,completed,dropped,core_utilisation
 *   sweep.csv    per policy and seed: policy,seed,max_rate_scale,max_qps,
 *                rate_scale_at_base,satisfaction_at_base,mean_ms_at_base,
 *                p99_ms_at_base
 *   summary.csv  per policy: seeds, max load mean/min/max, max qps mean,
 *                ratio to the baseline's max load (mean/min/max over seeds),
 *                mean latency at the baseline's max load and its ratio
 *   sweep.json   what was run (workload, backend, machine, profile source)
 * Plots come from `mtserve report DIR` (the CLI runs it after a sweep). */
#ifndef MTS_SWEEP_H
#define MTS_SWEEP_H

#include <stdint.h>

#include "coordinator/sched.h"

#define MTS_SWEEP_MAX_POLICIES 8
#define MTS_SWEEP_MAX_SEEDS 16

typedef struct {
  const char *workload;       /* file or built-in name */
  const char *policies;       /* comma-separated; the first is the baseline */
  const char *backend;        /* "sim" (default) or "mpi" */
  const char *out_dir;        /* required */
  /* sim */
  const char *profile_path;   /* profile.json or 3990X directory (required for sim) */
  const char *ref_dir;        /* 3990X directory for extrapolation (NULL: built-in curve) */
  int cores;                  /* cores per node (default 16) */
  int llc_domains;            /* per node (default 1) */
  int nodes;                  /* default 1 */
  double noise;               /* block-time noise sigma (default 0.05) */
  double dispatch_us;         /* per-block cost (default 30) */
  const mts_interf_model_t *truth;  /* the modelled machine's interference (NULL: MTS_INTERF_K_*) */
  const mts_interf_model_t *model;  /* the scheduler's estimate (NULL: MTS_INTERF_K_*) */
  /* mpi */
  int ranks;                  /* -np (default: online CPUs + 1) */
  const char *home_mode;      /* "llc" or "node" (NULL: serve's default) */
  const char *mpirun;         /* wrapper (default: scripts/mpirun next to the build) */
  int solo_iters;             /* serve --solo-iters (0: serve's default) */
  /* both */
  double horizon;             /* mts --horizon (0: default, < 0: none) */
  int cores_per_query;        /* serve/sim --cores-per-query (0: the workload's) */
  int max_inflight;           /* serve/sim --max-inflight (0: default, < 0: no cap) */
  /* search */
  int n_seeds;                /* default 3 (sim) / 1 (mpi) */
  uint64_t seed0;             /* first seed (default 1); seeds are seed0, seed0+1, ... */
  double duration_s;          /* seconds of arrivals per point (<= 0: the workload's) */
  double target;              /* satisfaction required (default 0.99) */
  double start_scale;         /* first load tried (default 1) */
  double tol;                 /* relative bracket width to stop at (default 0.03 sim, 0.08 mpi) */
  int max_bisect;             /* bisection steps at most (default 12 sim, 3 mpi) */
  int grid;                   /* extra points per policy and seed for the load curve (default 10 sim, 0 mpi) */
  int quiet;
} mts_sweep_opts_t;

/* Runs the sweep and writes the files above.  Returns 0, or a negative
 * MTS_E* with a message (bad options, a run that failed). */
int mts_sweep_run(const mts_sweep_opts_t *o);

#endif
