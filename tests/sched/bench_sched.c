/* bench_sched.c — scheduler overhead on the sim backend: a 64-core node
 * (4 LLC domains x 16 workers), a model of 24 tiny layers (10-40 us), and
 * enough queries to keep the scheduler busy.  For each policy it prints the
 * decision time per event (p50/p99, measured by the engine around
 * mts_sched_decide) and the dispatches per second of wall time for the
 * whole run (scheduler + engine + sim).  Target: >= 100k dispatches/s.
 * The default rate (10k qps) loads the node to ~60%; --rate 20000
 * overloads it (queues grow without bound under the policies without
 * admission control, which shows how decisions scale with the backlog).
 *
 * usage: bench_sched [POLICY ...] [--rate QPS] [--duration S] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/profile.h"
#include "coordinator/sim.h"
#include "runtime/mts.h"

#define NL 24
#define NC 16

static mts_profile_t *tiny_profile(void) {
  mts_profile_t *p = mts_xcalloc(1, sizeof *p);
  double *v = mts_xcalloc(NL * NC, sizeof *v);
  for (int l = 0; l < NL; l++)
    for (int c = 1; c <= NC; c++) v[l * NC + c - 1] = 4.0 + (double)(10 + (l * 7) % 30) * 4.0 / c;
  p->n_models = 1;
  p->names[0] = mts_xstrdup("tiny");
  p->prof[0].n_layers = NL;
  p->prof[0].n_cc = NC;
  p->prof[0].layer_us = v;
  for (int c = 0; c < NC; c++)
    for (int l = 0; l < NL; l++) p->prof[0].model_us[c] += v[l * NC + c];
  p->measured_cc[0] = NC;
  snprintf(p->source, sizeof p->source, "bench_sched: synthetic tiny layers");
  return p;
}

int main(int argc, char **argv) {
  const char *pols[8];
  int np = 0;
  double rate = 10000, duration = 2; /* ~60% of the node: a sustainable load */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--rate") && i + 1 < argc) rate = atof(argv[++i]);
    else if (!strcmp(argv[i], "--duration") && i + 1 < argc) duration = atof(argv[++i]);
    else if (np < 8) pols[np++] = argv[i];
  }
  if (np == 0)
    for (const char *const *n = mts_policy_names(); *n && np < 8; n++) pols[np++] = *n;
  char text[512];
  snprintf(text, sizeof text,
           "{\"name\": \"bench\", \"duration_s\": %g, \"cores_per_query\": 4, \"tenants\": ["
           "{\"name\": \"t1\", \"model\": \"tiny\", \"qos_x_solo\": 4, \"arrival\": {\"process\": \"poisson\", "
           "\"rate_qps\": %g}},"
           "{\"name\": \"t2\", \"model\": \"tiny\", \"qos_x_solo\": 8, \"arrival\": {\"process\": \"poisson\", "
           "\"rate_qps\": %g}}]}",
           duration, rate / 2, rate / 2);
  mts_workload_t *w = NULL;
  if (mts_workload_parse(text, "<bench>", &w) != 0) {
    fprintf(stderr, "bench_sched: %s\n", mts_errmsg());
    return 1;
  }
  mts_profile_t *p = tiny_profile();
  int rc = 0;
  printf("%-8s %10s %10s %10s %12s %12s %8s\n", "policy", "queries", "dispatches", "events", "decide_p50_us",
         "decide_p99_us", "kdisp/s");
  for (int i = 0; i < np; i++) {
    mts_sim_opts_t o = {.wl = w, .profile = p, .policy = pols[i], .cores = 64, .llc_domains = 4,
                        .workers_per_llc = 16, .noise = 0.05, .dispatch_us = 5, .quiet = 1};
    mts_sim_result_t r;
    if (mts_sim_run(&o, &r) != 0) {
      fprintf(stderr, "bench_sched: %s: %s\n", pols[i], mts_errmsg());
      rc = 1;
      continue;
    }
    printf("%-8s %10zu %10lld %10lld %12.2f %12.2f %8.0f\n", pols[i], r.n_queries, (long long)r.dispatches,
           (long long)r.events, r.decide_us_p50, r.decide_us_p99, r.wall_s > 0 ? r.dispatches / r.wall_s / 1e3 : 0);
    mts_sim_result_free(&r);
  }
  mts_profile_destroy(p);
  mts_workload_destroy(w);
  return rc;
}
