/* policy.c — the policy registry and helpers shared by policies. */
#include "coordinator/policy.h"

#include <string.h>

static const mts_policy_t *const policies[] = {&mts__policy_fcfs, &mts__policy_static, &mts__policy_layer,
                                               &mts__policy_veltair, &mts__policy_mts, NULL};
static const char *const names[] = {"fcfs", "static", "layer", "veltair", "mts", NULL};

const mts_policy_t *mts_policy_find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; policies[i]; i++)
    if (!strcmp(policies[i]->name, name)) return policies[i];
  return NULL;
}

const char *const *mts_policy_names(void) { return names; }

int mts__policy_fixed_cores(const mts_sched_t *s, const mts_query_t *q) {
  const mts_sched_config_t *cfg = mts_sched_config(s);
  int want = cfg->cores_per_query > 0 ? cfg->cores_per_query : 1;
  int cap = 0;
  if (q->worker >= 0) {
    cap = cfg->workers[q->worker].n_home;
  } else {
    for (int w = 0; w < cfg->n_workers; w++)
      if (cap == 0 || cfg->workers[w].n_home < cap) cap = cfg->workers[w].n_home;
  }
  if (want > cap) want = cap;
  return want < 1 ? 1 : want;
}
