/* policy_static.c — fixed core partitions per tenant (PARTIES-style, or
 * Triton's per-model host policy), FCFS inside each partition.
 *
 * At start every node's cores are divided among the tenants in proportion
 * to their load, rate x solo time (equal shares when the config carries no
 * rates), at least one core each, as contiguous runs in core order (so a
 * small partition tends to stay inside one LLC domain).  With fewer cores
 * than tenants, tenants share cores round-robin.  A query runs its whole
 * model as one block on cores_per_query cores, capped by its tenant's
 * cores in the chosen worker's home; a tenant's waiting head holds back
 * that tenant only. */
#include <stdlib.h>
#include <string.h>

#include "coordinator/policy.h"
#include "runtime/mts.h"

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return x < y ? -1 : x > y;
}

static int static_init(mts_sched_t *s, void **state) {
  const mts_sched_config_t *cfg = mts_sched_config(s);
  int nt = cfg->n_tenants;
  double *load = mts_xcalloc((size_t)nt + 1, sizeof *load), total = 0;
  int *share = mts_xcalloc((size_t)nt + 1, sizeof *share);
  int *cores = mts_xcalloc((size_t)cfg->max_cores_node, sizeof *cores);
  unsigned char *seen = mts_xcalloc((size_t)cfg->max_cores_node, 1);
  *state = NULL;
  for (int t = 0; t < nt; t++) {
    const mts_model_prof_t *mp = &cfg->models[cfg->tenant_model[t]];
    int c = cfg->cores_per_query > 0 ? cfg->cores_per_query : 1;
    if (c > mp->n_cc) c = mp->n_cc;
    double solo = mp->model_us[c - 1] > 0 ? mp->model_us[c - 1] : 1.0;
    load[t] = (cfg->tenant_rate_qps ? cfg->tenant_rate_qps[t] : 1.0) * solo;
    if (!(load[t] > 0)) load[t] = 1e-9;
    total += load[t];
  }
  for (int node = 0; node < cfg->n_nodes; node++) {
    int n = 0;
    memset(seen, 0, (size_t)cfg->max_cores_node);
    for (int w = 0; w < cfg->n_workers; w++) {
      if (cfg->workers[w].node != node) continue;
      for (int c = 0; c < cfg->workers[w].n_home; c++) {
        int core = cfg->workers[w].home[c];
        if (!seen[core]) cores[n++] = core;
        seen[core] = 1;
      }
    }
    if (n == 0) continue;
    qsort(cores, (size_t)n, sizeof *cores, cmp_int);
    if (n < nt) {
      for (int t = 0; t < nt; t++) mts_sched_set_tenant_cores(s, t, node, &cores[t % n], 1);
      continue;
    }
    /* largest remainder over the cores left after one each */
    int given = 0;
    for (int t = 0; t < nt; t++) {
      share[t] = 1 + (int)((double)(n - nt) * load[t] / total);
      given += share[t];
    }
    while (given < n) {
      int best = 0;
      double bestr = -1;
      for (int t = 0; t < nt; t++) {
        double r = (double)(n - nt) * load[t] / total - (double)(share[t] - 1);
        if (r > bestr) {
          bestr = r;
          best = t;
        }
      }
      share[best]++;
      given++;
    }
    for (int t = 0, at = 0; t < nt; t++) {
      mts_sched_set_tenant_cores(s, t, node, &cores[at], share[t]);
      at += share[t];
    }
  }
  free(load);
  free(share);
  free(cores);
  free(seen);
  return 0;
}

static double static_priority(const mts_sched_t *s, const mts_query_t *q, int64_t now_us) {
  (void)s;
  (void)now_us;
  return (double)q->arrival_us;
}

static int static_plan(const mts_sched_t *s, const mts_query_t *q, int free_cores, int64_t now_us,
                       mts_plan_t *out) {
  (void)free_cores;
  (void)now_us;
  const mts_sched_config_t *cfg = mts_sched_config(s);
  const mts_model_prof_t *mp = mts_sched_model(s, q->model);
  int w = mts_sched_plan_worker(s);
  int want = mts__policy_fixed_cores(s, q);
  if (w >= 0) {
    const mts_worker_desc_t *wd = &cfg->workers[w];
    int mine = 0;
    for (int c = 0; c < wd->n_home; c++) mine += mts_sched_tenant_allows(s, q->tenant, wd->node, wd->home[c]);
    if (mine < want) want = mine;
  }
  if (want < 1) return 0;
  out->last = mp->n_layers;
  out->n_cores = want;
  out->min_cores = want;
  out->version = 0;
  out->predicted_us = mts_sched_remaining_us(s, q, want);
  return 1;
}

const mts_policy_t mts__policy_static = {
    .name = "static",
    .priority = static_priority,
    .plan = static_plan,
    .strict_order = 2,
    .init = static_init,
    .const_priority = 1,
};
