/* policy_layer.c — layer-wise scheduling: every layer is its own block,
 * with the same core logic as veltair (the fewest cores that keep the
 * query on schedule, accepting fewer) but one version per layer.  Ready
 * queries are served in arrival order; one that cannot run does not hold
 * back the others.  It shows what fine granularity costs: one dispatch per
 * layer and a fight over cores at every layer boundary. */
#include "coordinator/policy.h"

static int layer_init(mts_sched_t *s, void **state) {
  mts__velt_opts_t o = {.fixed_level = 1, .versions = 0, .min_cores_div = 2, .margin = 0.8};
  return mts__velt_init(s, &o, state);
}

static double layer_priority(const mts_sched_t *s, const mts_query_t *q, int64_t now_us) {
  (void)s;
  (void)now_us;
  return (double)q->arrival_us;
}

const mts_policy_t mts__policy_layer = {
    .name = "layer",
    .priority = layer_priority,
    .plan = mts__velt_plan,
    .strict_order = 0,
    .init = layer_init,
    .fini = mts__velt_fini,
    .const_priority = 1,
};
