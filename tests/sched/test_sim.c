/* test_sim.c — the sim backend: the block model (solo time, interference
 * that follows the neighbours' starts and ends), determinism under a seed,
 * virtual time independent of wall time, every query accounted for, the
 * results directory, errors, and mts against fcfs on a loaded 16-core
 * workload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "coordinator/profile.h"
#include "coordinator/sim.h"
#include "runtime/mts.h"

#ifndef MTS_SRC_DIR
#define MTS_SRC_DIR "."
#endif
#define PROFILE MTS_SRC_DIR "/tests/data/profiles/small.json"
#define LOADED MTS_SRC_DIR "/tests/data/profiles/loaded-16.json"

/* ---- the block model, driven directly ---------------------------------- */
static const double two_layers[2 * 4] = {1000, 500, 340, 260, 3000, 1500, 1000, 750};

static void test_block_model(void **state) {
  (void)state;
  mts_model_prof_t prof = {.n_layers = 2, .n_cc = 4, .layer_us = two_layers};
  mts_worker_desc_t wk[2] = {{.rank = 1, .node = 0, .n_home = 4, .home = {0, 1, 2, 3}},
                             {.rank = 2, .node = 0, .n_home = 4, .home = {4, 5, 6, 7}}};
  mts_sched_config_t cfg = {.n_models = 1, .models = &prof, .n_workers = 2, .workers = wk, .max_cores_node = 8,
                            .n_nodes = 1};
  mts_interf_model_t truth = {.k_node = 1.0, .k_llc = 0.0};
  mts_sim_params_t p = {.truth = &truth, .seed = 1};
  mts_sim_t *sim = NULL;
  mts_transport_t t;
  mts_completion_ev_t ev;
  mts_query_t q = {.model = 0};
  assert_int_equal(mts_sim_create(&cfg, &p, &sim), 0);
  mts_sim_transport(sim, &t);
  /* alone: layers 0..2 on 4 cores = 260 + 750 */
  mts_decision_t a = {.kind = MTS_DEC_DISPATCH, .query = 0, .worker = 0, .first = 0, .last = 2, .n_cores = 4,
                      .cores = {0, 1, 2, 3}, .asked = 4};
  assert_int_equal(t.dispatch(t.impl, &a, &q), 0);
  assert_int_equal(t.wait(t.impl, 500, -1, &ev), 0); /* not done by 500 */
  assert_int_equal(t.now(t.impl), 500);
  assert_int_equal(t.wait(t.impl, 100000, -1, &ev), 1);
  assert_int_equal(t.now(t.impl), 1010);
  assert_float_equal(ev.exec_us, 1010, 1e-9);
  assert_int_equal(ev.query, 0);
  /* A on 4 cores from 1010; B (layer 1 on 2 cores, 1500 us) joins at 1510:
   * each sees 4 or 2 other cores busy of 8 -> A runs at 1/1.25, B at 1/1.5 */
  assert_int_equal(t.dispatch(t.impl, &a, &q), 0);
  assert_int_equal(t.wait(t.impl, 1510, -1, &ev), 0);
  mts_decision_t b = {.kind = MTS_DEC_DISPATCH, .query = 1, .worker = 1, .first = 1, .last = 2, .n_cores = 2,
                      .cores = {4, 5}, .asked = 2};
  assert_int_equal(t.dispatch(t.impl, &b, &q), 0);
  /* A: 510 us of work left at 1510, slowed by 1 + 2/8 = 1.25 -> ends 2147.5 -> 2148 */
  assert_int_equal(t.wait(t.impl, 100000, -1, &ev), 1);
  assert_int_equal(ev.query, 0);
  assert_int_equal(t.now(t.impl), 2148);
  /* B: 1500 us of work; ran 638 us at 1/1.5 (425.3 done), alone afterwards */
  assert_int_equal(t.wait(t.impl, 100000, -1, &ev), 1);
  assert_int_equal(ev.query, 1);
  assert_int_equal(t.now(t.impl), 2148 + 1075);
  assert_int_equal(mts_sim_blocks(sim), 3);
  mts_sim_destroy(sim);
}

/* ---- whole runs ----------------------------------------------------------- */
static mts_profile_t *load_profile(int n_cc) {
  mts_profile_t *p = NULL;
  assert_int_equal(mts_profile_load(PROFILE, n_cc, NULL, &p), 0);
  return p;
}

static void opts(mts_sim_opts_t *o, const mts_profile_t *p, const char *policy) {
  memset(o, 0, sizeof *o);
  o->workload = LOADED;
  o->profile = p;
  o->policy = policy;
  o->cores = 16;
  o->noise = 0.1;
  o->dispatch_us = 30;
  o->quiet = 1;
}

static void test_determinism(void **state) {
  (void)state;
  mts_profile_t *p = load_profile(16);
  mts_sim_opts_t o;
  mts_sim_result_t r1, r2, r3;
  opts(&o, p, "mts");
  o.duration_s = 2;
  assert_int_equal(mts_sim_run(&o, &r1), 0);
  assert_int_equal(mts_sim_run(&o, &r2), 0);
  assert_int_equal(r1.n_queries, r2.n_queries);
  assert_true(r1.n_queries > 1000);
  for (size_t i = 0; i < r1.n_queries; i++) {
    assert_int_equal(r1.queries[i].state, r2.queries[i].state);
    assert_int_equal(r1.queries[i].done_us, r2.queries[i].done_us);
    assert_int_equal(r1.queries[i].blocks, r2.queries[i].blocks);
    assert_int_equal(r1.queries[i].worker, r2.queries[i].worker);
  }
  assert_int_equal(r1.dispatches, r2.dispatches);
  assert_float_equal(r1.rep.overall.satisfaction, r2.rep.overall.satisfaction, 0);
  /* another seed: other arrivals and noise */
  o.seed = 12345;
  assert_int_equal(mts_sim_run(&o, &r3), 0);
  int differ = r3.n_queries != r1.n_queries;
  for (size_t i = 0; !differ && i < r1.n_queries; i++) differ = r1.queries[i].done_us != r3.queries[i].done_us;
  assert_true(differ);
  mts_sim_result_free(&r1);
  mts_sim_result_free(&r2);
  mts_sim_result_free(&r3);
  mts_profile_destroy(p);
}

static void test_virtual_time_and_accounting(void **state) {
  (void)state;
  mts_profile_t *p = load_profile(16);
  const char *pols[] = {"fcfs", "static", "veltair", "mts"};
  for (int k = 0; k < 4; k++) {
    mts_sim_opts_t o;
    mts_sim_result_t r;
    opts(&o, p, pols[k]);
    o.duration_s = 60;
    o.rate_scale = 0.05; /* ~140 qps: 60 s of arrivals */
    int64_t t0 = mts_now_us();
    assert_int_equal(mts_sim_run(&o, &r), 0);
    double wall = (double)(mts_now_us() - t0) / 1e6;
    assert_true(r.virtual_s >= 60.0);
    assert_true(wall < 1.0);
    assert_true(r.wall_s <= wall);
    assert_true(r.books_ok);
    /* every query in a final state, counted once */
    int64_t fin = 0;
    for (size_t i = 0; i < r.n_queries; i++) {
      int s = r.queries[i].state;
      assert_true(s == MTS_Q_COMPLETED || s == MTS_Q_DROPPED || s == MTS_Q_FAILED);
      fin += !r.queries[i].warmup;
    }
    assert_int_equal(fin, r.rep.overall.arrived);
    assert_int_equal(r.rep.overall.arrived, r.rep.overall.completed + r.rep.overall.dropped + r.rep.overall.failed);
    assert_true(r.n_queries > 6000);
    assert_true(r.rep.overall.satisfaction > 0.9); /* light load: nearly everything in time */
    mts_sim_result_free(&r);
  }
  mts_profile_destroy(p);
}

static void test_mts_beats_fcfs_loaded_16(void **state) {
  (void)state;
  mts_profile_t *p = load_profile(16);
  mts_sim_opts_t o;
  mts_sim_result_t f, m;
  opts(&o, p, "fcfs");
  assert_int_equal(mts_sim_run(&o, &f), 0);
  opts(&o, p, "mts");
  assert_int_equal(mts_sim_run(&o, &m), 0);
  print_message("loaded-16: fcfs satisfaction %.3f, mts %.3f\n", f.rep.overall.satisfaction,
                m.rep.overall.satisfaction);
  assert_true(f.core_utilisation > 0.4); /* the workload does load the machine */
  assert_true(m.rep.overall.satisfaction > f.rep.overall.satisfaction);
  assert_true(m.rep.overall.p99_ms < f.rep.overall.p99_ms);
  mts_sim_result_free(&f);
  mts_sim_result_free(&m);
  mts_profile_destroy(p);
}

static void test_results_directory(void **state) {
  (void)state;
  char dir[] = "/tmp/mts-sim-XXXXXX", path[256];
  assert_non_null(mkdtemp(dir));
  mts_sim_opts_t o;
  mts_sim_result_t r;
  opts(&o, NULL, "veltair");
  o.profile_path = PROFILE;
  o.out_dir = dir;
  o.duration_s = 1;
  o.llc_domains = 2;
  o.workers_per_llc = 3;
  assert_int_equal(mts_sim_run(&o, &r), 0);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je), *extra = json_object_get(root, "extra");
  assert_non_null(root);
  assert_string_equal(json_string_value(json_object_get(extra, "backend")), "sim");
  assert_string_equal(json_string_value(json_object_get(root, "policy")), "veltair");
  assert_non_null(strstr(json_string_value(json_object_get(extra, "profile_source")), "small.json"));
  assert_non_null(strstr(json_string_value(json_object_get(extra, "profile_extrapolation")), "3990X"));
  assert_int_equal(json_integer_value(json_object_get(extra, "llc_domains")), 2);
  json_decref(root);
  /* queries.csv: a header and one row per query */
  snprintf(path, sizeof path, "%s/queries.csv", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  int lines = 0, ch;
  while ((ch = fgetc(f)) != EOF) lines += ch == '\n';
  fclose(f);
  assert_int_equal(lines, (int)r.n_queries + 1);
  /* block logs: one per worker that ran something (2 domains x 3 workers) */
  int logs = 0, ver[2][2] = {{0, 0}, {0, 0}};
  for (int k = 1; k <= 6; k++) {
    snprintf(path, sizeof path, "%s/sim-%d.jsonl", dir, k);
    FILE *lf = fopen(path, "r");
    if (!lf) continue;
    logs++;
    char line[4096];
    while (fgets(line, sizeof line, lf)) {
      int m = -1, v = -1;
      const char *pm = strstr(line, "\"model\":"), *pv = strstr(line, "\"version\":");
      assert_non_null(pm);
      assert_non_null(pv);
      m = atoi(pm + 8);
      v = atoi(pv + 10);
      assert_true(m >= 0 && m < 2 && v >= 0 && v < 2);
      ver[m][v]++;
    }
    fclose(lf);
  }
  assert_true(logs >= 2);
  /* veltair chooses alpha's interference-resistant version under load, and
   * beta (one version) always runs version 0 */
  assert_true(ver[0][0] > 0 && ver[0][1] > 0);
  assert_true(ver[1][0] > 0 && ver[1][1] == 0);
  snprintf(path, sizeof path, "%s/sim-7.jsonl", dir);
  assert_int_not_equal(access(path, R_OK), 0);
  /* profile.json reloads, with the numbers the run used */
  snprintf(path, sizeof path, "%s/profile.json", dir);
  mts_profile_t *p = NULL, *orig = load_profile(8);
  assert_int_equal(mts_profile_load(path, 8, NULL, &p), 0);
  assert_int_equal(p->n_models, 2);
  assert_int_equal(p->prof[0].n_versions, 2);
  for (int i = 0; i < p->prof[0].n_layers * 8; i++)
    assert_float_equal(p->prof[0].layer_us[i], orig->prof[0].layer_us[i], 1e-6);
  mts_profile_destroy(p);
  mts_profile_destroy(orig);
  mts_sim_result_free(&r);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_errors(void **state) {
  (void)state;
  mts_profile_t *p = load_profile(4);
  mts_workload_t *w = NULL;
  assert_int_equal(mts_workload_parse("{\"duration_s\": 1, \"tenants\": [{\"name\": \"r\", \"model\": \"resnet50\", "
                                      "\"qos_ms\": 10, \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 5}}]}",
                                      "<test>", &w),
                   0);
  mts_sim_opts_t o;
  mts_sim_result_t r;
  opts(&o, p, "mts");
  o.workload = NULL;
  o.wl = w;
  assert_int_equal(mts_sim_run(&o, &r), MTS_ENOTFOUND);
  assert_non_null(strstr(mts_errmsg(), "resnet50"));
  assert_non_null(strstr(mts_errmsg(), "alpha"));
  opts(&o, p, "nope");
  assert_int_equal(mts_sim_run(&o, &r), MTS_EINVAL);
  assert_non_null(strstr(mts_errmsg(), "mts"));
  mts_workload_destroy(w);
  mts_profile_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_block_model),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_virtual_time_and_accounting),
      cmocka_unit_test(test_mts_beats_fcfs_loaded_16),
      cmocka_unit_test(test_results_directory),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
