/* sim.h — the `sim` backend: the engine's transport in virtual time, and
 * `mtserve sim` (mts_sim_run), which builds the same scheduler as serve
 * does on a modelled machine and writes the same results directory.
 *
 * Block model: a block of layers [a, b) of version v on c granted cores has
 * solo work sum(t[l][c][v]) (profile tables) x a seeded noise factor, plus
 * a fixed dispatch cost.  It progresses at rate 1 / slowdown, where the
 * slowdown is 1 + sens(v) * (k_node * f_node + k_llc * f_llc) with f the
 * fraction of *other* cores busy on its node and its LLC domain, recomputed
 * at every dispatch and completion (so a block slows down when neighbours
 * start and speeds up when they end).  Everything is deterministic given
 * the seed; time is virtual (a 60 s workload runs in milliseconds).
 *
 * A worker's LLC domain is its home (workers with the same home share it).
 *
 * Machine: `nodes` nodes of `cores` cores, each split into `llc_domains`
 * contiguous domains; every domain hosts `workers_per_llc` workers whose
 * home is the whole domain (the core map keeps their grants apart).
 *
 * Ownership: mts_sim_run's result owns its query table (mts_sim_result_free). */
#ifndef MTS_SIM_H
#define MTS_SIM_H

#include <stdint.h>

#include "coordinator/engine.h"
#include "coordinator/metrics.h"
#include "coordinator/profile.h"
#include "coordinator/sched.h"
#include "coordinator/timeline.h"

typedef struct {
  const mts_interf_model_t *truth;  /* the modelled machine's interference (NULL: MTS_INTERF_K_*) */
  double noise;                     /* sigma of the log-normal factor per block (0: none) */
  double dispatch_us;               /* fixed cost per block (message, thread wake-up) */
  uint64_t seed;
  const char *log_dir;              /* write sim-<rank>.jsonl block logs there (NULL: none) */
} mts_sim_params_t;

typedef struct mts_sim mts_sim_t;

/* A virtual-time transport for the machine cfg describes (workers, homes,
 * models); cfg must outlive it. */
int mts_sim_create(const mts_sched_config_t *cfg, const mts_sim_params_t *p, mts_sim_t **out);
void mts_sim_destroy(mts_sim_t *s);
void mts_sim_transport(mts_sim_t *s, mts_transport_t *t);
/* Core-busy microseconds actually spent (block time x cores), blocks run. */
double mts_sim_core_busy_us(const mts_sim_t *s);
int64_t mts_sim_blocks(const mts_sim_t *s);
/* The blocks run (the first MTS_TIMELINE_BLOCKS; only with log_dir), for timeline.json. */
const mts_timeline_t *mts_sim_timeline(const mts_sim_t *s);

typedef struct {
  const char *workload;             /* file or built-in name (unless wl) */
  const mts_workload_t *wl;         /* already parsed (tests) */
  const char *policy;               /* default fcfs */
  const char *profile_path;         /* profile.json or 3990X directory (unless profile) */
  const mts_profile_t *profile;
  const char *ref_dir;              /* 3990X directory to extrapolate a profile.json */
  const char *out_dir;              /* results directory (NULL: write nothing) */
  int cores;                        /* per node (default 16) */
  int nodes;                        /* default 1 */
  int llc_domains;                  /* per node (default 1) */
  int workers_per_llc;              /* 0: as many as the domain has cores */
  int cores_per_query;              /* 0: the workload's, else 1 */
  double duration_s;                /* <= 0: the workload's */
  double rate_scale;                /* <= 0: 1 */
  uint64_t seed;                    /* 0: the workload's */
  double noise, dispatch_us;
  const mts_interf_model_t *truth;  /* NULL: defaults */
  const mts_interf_model_t *model;  /* the scheduler's estimate (NULL: defaults) */
  int drop_hopeless;
  int admission;                    /* 0 policy default, 1 on, -1 off */
  int fixed_gran;
  double min_block_us;
  double horizon;                   /* mts block-length cap (0: default, < 0: none) */
  int max_inflight;                 /* per worker and model (0: default 4, < 0: no cap) */
  int quiet;
} mts_sim_opts_t;

typedef struct {
  mts_report_t rep;
  mts_query_t *queries;             /* owned */
  size_t n_queries;
  double qos_ms[MTS_MAX_TENANTS];
  int64_t dispatches, conflicts, events;
  double decide_us_p50, decide_us_p99;
  double wall_s, virtual_s, core_utilisation;
  int books_ok;
} mts_sim_result_t;

/* Runs a workload on the modelled machine.  Returns 0, or a negative MTS_E*
 * with a message (bad workload, profile without a tenant's model, ...). */
int mts_sim_run(const mts_sim_opts_t *o, mts_sim_result_t *res);
void mts_sim_result_free(mts_sim_result_t *r);

#endif
