/* policy.h — private header shared by the policy modules (policy_*.c) and
 * the registry (policy.c).  Public interface: sched.h.
 *
 * The block planner shared by `layer`, `veltair` and `mts` lives in
 * policy_veltair.c (mts__velt_*): per-layer budgets, block tables at
 * several granularities, the fewest-cores request and version choice.
 * Its state is owned by the scheduler (init/fini hooks). */
#ifndef MTS_POLICY_H
#define MTS_POLICY_H

#include "coordinator/sched.h"

extern const mts_policy_t mts__policy_fcfs;
extern const mts_policy_t mts__policy_static;
extern const mts_policy_t mts__policy_layer;
extern const mts_policy_t mts__policy_veltair;
extern const mts_policy_t mts__policy_mts;

/* Fixed cores per query (cores_per_query), capped by the bound worker's
 * home size (or the smallest home when unbound) and by the profile. */
int mts__policy_fixed_cores(const mts_sched_t *s, const mts_query_t *q);

/* ---- the veltair block planner ---------------------------------------- */
typedef struct {
  int fixed_level;     /* 0 adaptive, else 1..MTS_GRAN_LEVELS */
  int versions;        /* choose among versions (else version 0) */
  int min_cores_div;   /* accept >= ceil(asked / div) cores (0 or 1: any, >= 1);
                          -1: accept down to the fewest cores that meet the
                          block's target without the margin */
  double margin;       /* aim to finish the block within this fraction of its
                          budget share (0: 1.0, exactly on schedule) */
  int greedy;          /* work-conserving: ask for more of the free cores
                          while their core-time stays efficient (greedy_eff) */
  double greedy_eff;   /* least efficiency t(c0) c0 / (t(c) c) accepted */
  int coarse;          /* granularity leans to whole-model blocks under load */
  double horizon;      /* > 0: no block longer than horizon x the tightest
                          QoS target of any tenant (each layer timed on its
                          fewest on-schedule cores), at every level */
} mts__velt_opts_t;

int mts__velt_init(mts_sched_t *s, const mts__velt_opts_t *o, void **state);
void mts__velt_fini(void *state);
int mts__velt_plan(const mts_sched_t *s, const mts_query_t *q, int free_cores, int64_t now_us,
                   mts_plan_t *out);
/* Predicted remaining time of q at its reference core count, with the
 * current correction factor. */
double mts__velt_remaining_us(const mts_sched_t *s, const mts_query_t *q);
/* Lower bound of q's remaining time: every remaining layer on its fastest
 * core count (within the largest home) and version, times the predicted
 * slowdown on q's worker (the correction alone when unbound). */
double mts__velt_best_remaining_us(const mts_sched_t *s, const mts_query_t *q);

/* Introspection (tests, reports). */
/* Per-layer budget of tenant t's queries (us). */
double mts__velt_budget_us(const mts_sched_t *s, int tenant, int layer);
/* End (exclusive) of the block that contains layer at a level; number of
 * blocks at a level. */
int mts__velt_block_end(const mts_sched_t *s, int tenant, int level, int layer);
int mts__velt_n_blocks(const mts_sched_t *s, int tenant, int level);
/* Level chosen for query q (0 if none yet). */
int mts__velt_query_level(const mts_sched_t *s, const mts_query_t *q);
/* Reference core count at which solo-time shares are taken. */
int mts__velt_cref(const mts_sched_t *s);

#endif
