/* policy_fcfs.c — model-wise first-come-first-served: the paper's baseline
 * and the "one process per model, fixed threads" way.  Each query runs its
 * whole model as one block on a fixed number of cores (cores_per_query,
 * capped by the worker's home); queries start in arrival order and a query
 * that cannot start holds back the ones behind it. */
#include "coordinator/policy.h"

static double fcfs_priority(const mts_sched_t *s, const mts_query_t *q, int64_t now_us) {
  (void)s;
  (void)now_us;
  return (double)q->arrival_us;
}

static int fcfs_plan(const mts_sched_t *s, const mts_query_t *q, int free_cores,
                     int64_t now_us, mts_plan_t *out) {
  (void)now_us;
  (void)free_cores;
  const mts_sched_config_t *cfg = mts_sched_config(s);
  const mts_model_prof_t *mp = mts_sched_model(s, q->model);
  int want = mts__policy_fixed_cores(s, q);
  out->last = mp->n_layers;
  out->n_cores = want;
  out->min_cores = want;
  out->version = 0;
  out->predicted_us = mts_sched_remaining_us(s, q, want);
  (void)cfg;
  return 1;
}

const mts_policy_t mts__policy_fcfs = {
    .name = "fcfs",
    .priority = fcfs_priority,
    .plan = fcfs_plan,
    .strict_order = 1,
    .const_priority = 1, /* arrival time: the ready list stays a heap */
};
