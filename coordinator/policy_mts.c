/* policy_mts.c — mtserve's own policy: veltair's adaptive blocks and
 * version choice, plus
 * - least-slack order: deadline - now - predicted remaining time (at the
 *   reference core count, corrected by observed/predicted);
 * - admission control (on by default; the config's `admission` = -1 turns
 *   it off): a query is dropped at arrival or before any block when even
 *   its fastest remaining time (each layer on its best core count and
 *   version, under the slowdown predicted now) cannot meet its deadline —
 *   it would only take cores from queries that still can;
 * - when admission is off, hopeless queries run best-effort behind every
 *   query that can still make it;
 * - a block accepts no fewer than half the cores it asked for: a block
 *   started on one core when it needed eight would make its query late
 *   anyway, and holds the worker for long. */
#include "coordinator/policy.h"

static int mts_init(mts_sched_t *s, void **state) {
  mts__velt_opts_t o = {.fixed_level = 0, .versions = 1, .min_cores_div = -1, .margin = 0.8, .greedy = 1};
  return mts__velt_init(s, &o, state);
}

static int mts_hopeless(const mts_sched_t *s, const mts_query_t *q, int64_t now_us) {
  return (double)now_us + mts__velt_best_remaining_us(s, q) > (double)q->deadline_us;
}

static double mts_priority(const mts_sched_t *s, const mts_query_t *q, int64_t now_us) {
  double slack = (double)(q->deadline_us - now_us) - mts__velt_remaining_us(s, q);
  /* hopeless: after everyone who can still make it, in arrival order */
  if ((double)now_us + mts__velt_best_remaining_us(s, q) > (double)q->deadline_us)
    return 1e15 + (double)q->arrival_us;
  return slack;
}

const mts_policy_t mts__policy_mts = {
    .name = "mts",
    .priority = mts_priority,
    .plan = mts__velt_plan,
    .strict_order = 0,
    .init = mts_init,
    .fini = mts__velt_fini,
    .hopeless = mts_hopeless,
    .admission_default = 1,
};
