/* test_profiler.c — runtime/profiler.h: Pareto filtering on hand-made data,
 * the summary, protobuf pack/unpack, the disk cache (round trip, key
 * changes, stale structure, corrupt files), the co-runner, the perf
 * counter fallback, a real profile of the tiny model, and a profile taken
 * beside a busy process (measured as disturbed, kept out of the cache). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "models/zoo.h"
#include "runtime/affinity.h"
#include "runtime/exec.h"
#include "runtime/mts.h"
#include "runtime/profiler.h"
#include "runtime/profiler_int.h"

static char cache_dir[256];

static int setup_cache(void **state) {
  (void)state;
  snprintf(cache_dir, sizeof cache_dir, "/tmp/mts-test-profiler-XXXXXX");
  if (!mkdtemp(cache_dir)) return -1;
  setenv("MTS_CACHE", cache_dir, 1);
  return 0;
}

static int teardown_cache(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static mts_model_t *compile_tiny(const int *cc, int n_cc) {
  mts_graph_t *g = NULL;
  mts_model_t *m = NULL;
  assert_int_equal(mts_zoo_build("tiny", &g), 0);
  mts_compile_opts_t o = {.n_core_counts = n_cc, .all_versions = 1};
  memcpy(o.core_counts, cc, (size_t)n_cc * sizeof(int));
  assert_int_equal(mts_model_compile(g, &o, &m), 0);
  mts_graph_destroy(g);
  return m;
}

/* The cores of the first LLC domain (the CLI's home). */
static int home_cores(int *home) {
  mts_topology_t *t = calloc(1, sizeof *t);
  int n = 0;
  assert_non_null(t);
  assert_int_equal(mts_topology_read(t), 0);
  for (int i = 0; i < t->n_cores; i++)
    if (t->llc_of[i] == t->llc_of[0]) home[n++] = t->cores[i];
  free(t);
  return n;
}

/* A hand-made profile shaped like m (same layers and versions) at counts cc. */
static mts_prof_t *fake_profile(const mts_model_t *m, const int *cc, int n_cc) {
  mts_prof_t *p = calloc(1, sizeof *p);
  assert_non_null(p);
  mts_prof_key(p, m, cc, n_cc);
  p->n_levels = 2;
  snprintf(p->level_name[0], sizeof p->level_name[0], "llc");
  snprintf(p->level_name[1], sizeof p->level_name[1], "bw");
  p->n_layers = mts_model_n_layers(m);
  p->layers = calloc((size_t)p->n_layers, sizeof *p->layers);
  for (int c = 0; c < n_cc; c++) p->model_us[c] = 1000.0 / cc[c];
  for (int l = 0; l < p->n_layers; l++) {
    mts_prof_layer_t *L = &p->layers[l];
    L->name = strdup(mts_model_layer_name(m, l));
    L->op = strdup("Conv");
    L->flops = 1e6 * (l + 1);
    L->n_ver = mts_model_n_versions(m, l, cc[0]);
    mts__prof_alloc_layer(p, L, 0);
    for (int v = 0; v < L->n_ver; v++) {
      L->ver_name[v] = strdup(mts_model_version_name(m, l, v));
      L->bytes[v] = 1000.0 * (v + 1);
      for (int c = 0; c < n_cc; c++) {
        L->solo_us[v * n_cc + c] = 10.0 + l + v * 0.5 + c * 0.25;
        for (int k = 0; k < p->n_levels; k++)
          L->slowdown[(v * n_cc + c) * p->n_levels + k] = c == 0 ? 1.0 + 0.1 * (k + 1) + 0.01 * v : 0;
      }
    }
  }
  mts_prof_pareto(p);
  snprintf(p->notes, sizeof p->notes, "hand-made");
  p->profile_s = 1.5;
  return p;
}

static void assert_same_profile(const mts_prof_t *a, const mts_prof_t *b) {
  assert_string_equal(a->model_name, b->model_name);
  assert_true(a->model_hash == b->model_hash);
  assert_string_equal(a->cpu_model, b->cpu_model);
  assert_string_equal(a->dnnl_version, b->dnnl_version);
  assert_int_equal(a->n_cc, b->n_cc);
  assert_int_equal(a->n_levels, b->n_levels);
  assert_int_equal(a->n_layers, b->n_layers);
  assert_string_equal(a->notes, b->notes);
  for (int c = 0; c < a->n_cc; c++) {
    assert_int_equal(a->cc[c], b->cc[c]);
    assert_true(a->model_us[c] == b->model_us[c]);
  }
  for (int l = 0; l < a->n_layers; l++) {
    const mts_prof_layer_t *x = &a->layers[l], *y = &b->layers[l];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->n_ver, y->n_ver);
    for (int c = 0; c < a->n_cc; c++) assert_int_equal(x->useful[c], y->useful[c]);
    for (int v = 0; v < x->n_ver; v++) {
      assert_string_equal(x->ver_name[v], y->ver_name[v]);
      assert_true(x->bytes[v] == y->bytes[v]);
      for (int c = 0; c < a->n_cc; c++) {
        assert_true(x->solo_us[v * a->n_cc + c] == y->solo_us[v * a->n_cc + c]);
        for (int k = 0; k < a->n_levels; k++)
          assert_true(x->slowdown[(v * a->n_cc + c) * a->n_levels + k] ==
                      y->slowdown[(v * a->n_cc + c) * a->n_levels + k]);
      }
    }
  }
}

/* ---- Pareto ------------------------------------------------------------------ */

static void test_pareto_hand_made(void **state) {
  (void)state;
  /* v2 fastest solo; v1 slower solo but much faster loaded; v0 dominated
   * by v2 in both; v3 slower solo and loaded within the 3 % margin of v1 */
  double solo[4] = {10, 12, 8, 13}, loaded[4] = {20, 15, 19, 14.8};
  assert_int_equal(mts_prof_pareto_set(solo, loaded, 4), (1u << 2) | (1u << 1));
  /* v3 meaningfully better loaded: kept too */
  loaded[3] = 14.0;
  assert_int_equal(mts_prof_pareto_set(solo, loaded, 4), (1u << 2) | (1u << 1) | (1u << 3));
  /* no co-run measurement: only the fastest solo version */
  double none[4] = {0, 0, 0, 0};
  assert_int_equal(mts_prof_pareto_set(solo, none, 4), 1u << 2);
  /* one version */
  assert_int_equal(mts_prof_pareto_set(solo, loaded, 1), 1u);
  /* ties in solo: the lower index wins, the other needs a better loaded time */
  double s2[2] = {5, 5}, l2[2] = {10, 10};
  assert_int_equal(mts_prof_pareto_set(s2, l2, 2), 1u);
}

static void test_summary(void **state) {
  (void)state;
  int cc[2] = {1, 2};
  mts_model_t *m = compile_tiny(cc, 2);
  mts_prof_t *p = fake_profile(m, cc, 2);
  /* make layer 0 version 1 the most tolerant: faster than v0 under load */
  mts_prof_layer_t *L = &p->layers[0];
  assert_true(L->n_ver >= 2);
  L->solo_us[1 * 2 + 0] = L->solo_us[0] * 1.05;
  for (int k = 0; k < p->n_levels; k++) L->slowdown[(1 * 2 + 0) * p->n_levels + k] = 1.0;
  mts_prof_pareto(p);
  assert_int_equal(L->useful[0], 3u);
  assert_int_equal(L->useful[1], 1u); /* no co-run at 2 cores: fastest solo only */
  mts_prof_summary_t s;
  mts_prof_summarize(p, &s);
  assert_int_equal(s.layers_multi, 1);
  assert_int_equal(s.layers_multi_cc[0], 1);
  assert_int_equal(s.layers_multi_cc[1], 0);
  /* fake_profile makes version 0 the fastest everywhere else */
  assert_int_equal(s.layers_v0_dominated_cc[0], 0);
  assert_int_equal(s.layers_v0_dominated_cc[1], 0);
  double v0 = 0;
  for (int l = 0; l < p->n_layers; l++) v0 += p->layers[l].solo_us[0];
  assert_true(s.v0_solo_us[0] == v0);
  assert_true(s.best_solo_us[0] <= s.v0_solo_us[0]);
  assert_true(s.best_loaded_us[0] < s.v0_loaded_us[0]);
  assert_true(s.v0_loaded_us[1] == 0); /* not measured */
  assert_true(s.slowdown[0][1] > 1.19 && s.slowdown[0][1] < 1.21);
  mts_prof_destroy(p);
  mts_model_destroy(m);
}

/* ---- pack / cache --------------------------------------------------------------- */

static void test_pack_roundtrip(void **state) {
  (void)state;
  int cc[2] = {1, 2};
  mts_model_t *m = compile_tiny(cc, 2);
  mts_prof_t *p = fake_profile(m, cc, 2), *q = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  assert_int_equal(mts_prof_pack(p, &buf, &len), 0);
  assert_true(len > 100);
  assert_int_equal(mts_prof_unpack(buf, len, &q), 0);
  assert_same_profile(p, q);
  mts_prof_destroy(q);
  /* a truncated message does not parse (or parses into something else
   * that fails the checks) */
  q = NULL;
  int rc = mts_prof_unpack(buf, len / 2, &q);
  if (rc == 0) {
    assert_true(q->n_layers < p->n_layers);
    mts_prof_destroy(q);
  }
  free(buf);
  mts_prof_destroy(p);
  mts_model_destroy(m);
}

static void test_cache_roundtrip_and_keys(void **state) {
  (void)state;
  int cc[2] = {1, 2}, cc1[1] = {1};
  mts_model_t *m = compile_tiny(cc, 2);
  mts_prof_t *p = fake_profile(m, cc, 2), *q = NULL;
  assert_int_equal(mts_prof_cache_load(m, cc, 2, &q), MTS_ENOTFOUND);
  assert_int_equal(mts_prof_cache_save(p), 0);
  assert_int_equal(mts_prof_cache_load(m, cc, 2, &q), 0);
  assert_same_profile(p, q);
  mts_prof_destroy(q);
  q = NULL;
  /* other core counts: another key, another file */
  assert_int_equal(mts_prof_cache_load(m, cc1, 1, &q), MTS_ENOTFOUND);
  assert_null(q);
  char path[4096], path1[4096];
  mts_prof_cache_path(p, path, sizeof path);
  mts_prof_t k1 = {0};
  mts_prof_key(&k1, m, cc1, 1);
  mts_prof_cache_path(&k1, path1, sizeof path1);
  assert_string_not_equal(path, path1);
  /* every key field is in the name */
  uint64_t h = k1.model_hash;
  k1.model_hash ^= 1;
  mts_prof_cache_path(&k1, path1, sizeof path1);
  assert_string_not_equal(path, path1);
  k1.model_hash = h;
  snprintf(k1.dnnl_version, sizeof k1.dnnl_version, "9.9.9");
  char path2[4096];
  mts_prof_cache_path(&k1, path2, sizeof path2);
  assert_non_null(strstr(path2, "dnnl9.9.9"));
  snprintf(k1.cpu_model, sizeof k1.cpu_model, "another CPU");
  char path3[4096];
  mts_prof_cache_path(&k1, path3, sizeof path3);
  assert_string_not_equal(path2, path3);
  free(k1.model_name);

  /* a file whose stored key differs (the CPU) is stale: ignored */
  snprintf(p->cpu_model, sizeof p->cpu_model, "some other CPU");
  uint8_t *buf = NULL;
  size_t len = 0;
  assert_int_equal(mts_prof_pack(p, &buf, &len), 0);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
  free(buf);
  assert_int_equal(mts_prof_cache_load(m, cc, 2, &q), MTS_ENOTFOUND);
  assert_non_null(strstr(mts_errmsg(), "stale or corrupt"));
  mts_prof_destroy(p);

  /* right key, but the layers' versions differ from the model's (a model
   * compiled without all_versions): stale */
  mts_prof_t *r = fake_profile(m, cc, 2);
  free(r->layers[0].ver_name[0]);
  r->layers[0].ver_name[0] = strdup("some:other:impl");
  assert_int_equal(mts_prof_cache_save(r), 0);
  assert_int_equal(mts_prof_cache_load(m, cc, 2, &q), MTS_ENOTFOUND);
  assert_non_null(strstr(mts_errmsg(), "version 0"));
  /* rewritten by the next save, then loads */
  free(r->layers[0].ver_name[0]);
  r->layers[0].ver_name[0] = strdup(mts_model_version_name(m, 0, 0));
  assert_int_equal(mts_prof_cache_save(r), 0);
  assert_int_equal(mts_prof_cache_load(m, cc, 2, &q), 0);
  mts_prof_destroy(q);
  mts_prof_destroy(r);
  mts_model_destroy(m);
}

static void test_cache_corrupt(void **state) {
  (void)state;
  int cc[1] = {1};
  mts_model_t *m = compile_tiny(cc, 1);
  mts_prof_t *p = fake_profile(m, cc, 1), *q = NULL;
  char path[4096];
  mts_prof_cache_path(p, path, sizeof path);
  assert_int_equal(mts_mkdir_p(cache_dir), 0);
  const char *junk[] = {"this is not a protobuf message at all \xff\xff\xff\xff", ""};
  for (int i = 0; i < 2; i++) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(junk[i], f);
    fclose(f);
    assert_int_equal(mts_prof_cache_load(m, cc, 1, &q), MTS_ENOTFOUND);
    assert_null(q);
    assert_non_null(strstr(mts_errmsg(), "stale or corrupt"));
  }
  /* saving over it repairs it */
  assert_int_equal(mts_prof_cache_save(p), 0);
  assert_int_equal(mts_prof_cache_load(m, cc, 1, &q), 0);
  assert_same_profile(p, q);
  mts_prof_destroy(q);
  mts_prof_destroy(p);
  mts_model_destroy(m);
}

/* ---- co-runner and counters ----------------------------------------------------- */

static void test_corunner(void **state) {
  (void)state;
  int home[MTS_MAX_CORES], n = home_cores(home);
  mts__corun_t *co = NULL;
  int core = home[n - 1];
  assert_int_equal(mts__corun_start(&co, &core, 1, 4 << 20), 0);
  double b0 = mts__corun_bytes(co);
  assert_true(b0 == 0); /* starts paused */
  for (int lev = 0; lev < MTS__CORUN_LEVELS; lev++) {
    double before = mts__corun_bytes(co);
    mts__corun_set(co, lev);
    mts_sleep_us(30000);
    mts__corun_set(co, -1);
    double after = mts__corun_bytes(co);
    assert_true(after > before + (1 << 20)); /* it ran: at least a MiB touched */
    mts_sleep_us(5000);
    assert_true(mts__corun_bytes(co) == after); /* and it pauses */
  }
  assert_string_equal(mts__corun_level_name(0), "llc");
  assert_string_equal(mts__corun_level_name(2), "bw");
  mts__corun_stop(co);
  mts__corun_stop(NULL);
  assert_int_equal(mts__corun_start(&co, &core, 0, 1 << 20), MTS_EINVAL);
}

static void test_counters_fallback(void **state) {
  (void)state;
  char why[256] = "";
  int ok = mts__llc_counter_probe(why, sizeof why);
  if (!ok) assert_non_null(strstr(why, "perf_event_open"));
  /* forced fallback: the profile says the traffic is an estimate */
  int cc[1] = {1}, home[MTS_MAX_CORES], n = home_cores(home);
  mts_model_t *m = compile_tiny(cc, 1);
  mts_prof_t *p = NULL;
  mts_prof_opts_t o = {.iters = 1, .co_iters = 1, .n_levels = -1, .no_counters = 1};
  assert_int_equal(mts_profile_model(m, home, n, cc, 1, &o, NULL, NULL, &p), 0);
  assert_int_equal(p->counters, 0);
  assert_null(p->layers[0].llc_bytes);
  assert_non_null(strstr(p->notes, "estimate"));
  assert_true(p->layers[0].bytes[0] > 0);
  mts_prof_destroy(p);
  /* the default path: counters where they work, the estimate otherwise */
  o.no_counters = 0;
  assert_int_equal(mts_profile_model(m, home, n, cc, 1, &o, NULL, NULL, &p), 0);
  assert_int_equal(p->counters, ok);
  if (ok) assert_non_null(p->layers[0].llc_bytes);
  else assert_non_null(strstr(p->notes, "perf_event_open"));
  mts_prof_destroy(p);
  mts_model_destroy(m);
}

/* ---- a real profile ------------------------------------------------------------ */

static int n_calls, last_done, last_total;
static void count_progress(void *arg, const char *model, int done, int total, const char *what) {
  (void)arg;
  assert_string_equal(model, "tiny");
  assert_non_null(what);
  assert_true(done > last_done && done <= total);
  last_done = done;
  last_total = total;
  n_calls++;
}

static void test_real_tiny(void **state) {
  (void)state;
  int home[MTS_MAX_CORES], n = home_cores(home);
  int cc[2] = {1, 2}, n_cc = n >= 2 ? 2 : 1;
  mts_model_t *m = compile_tiny(cc, n_cc);
  mts_prof_t *p = NULL;
  mts_prof_opts_t o = {.iters = 9, .co_iters = 9};
  assert_int_equal(mts_profile_model(m, home, n, cc, n_cc, &o, count_progress, NULL, &p), 0);
  assert_true(n_calls > 0 && last_done == last_total);
  assert_int_equal(p->n_layers, mts_model_n_layers(m));
  assert_int_equal(p->n_cc, n_cc);
  assert_int_equal(p->n_levels, 3);
  int multi_ver = 0;
  for (int l = 0; l < p->n_layers; l++) {
    const mts_prof_layer_t *L = &p->layers[l];
    assert_int_equal(L->n_ver, mts_model_n_versions(m, l, 1));
    multi_ver += L->n_ver > 1;
    for (int v = 0; v < L->n_ver; v++) {
      /* (a reshape of a tensor already in the wanted layout has no step) */
      assert_true(L->bytes[v] > 0 || mts_model_layer_op(m, l) == MTS_OP_RESHAPE);
      for (int c = 0; c < n_cc; c++) assert_true(L->solo_us[v * n_cc + c] > 0);
    }
    for (int c = 0; c < n_cc; c++) {
      assert_true(L->useful[c] != 0);
      assert_true(L->useful[c] < (1u << L->n_ver));
    }
  }
  assert_true(multi_ver > 0); /* tiny's convolutions have versions */
  for (int c = 0; c < n_cc; c++) assert_true(p->model_us[c] > 0);
  mts_prof_summary_t s;
  mts_prof_summarize(p, &s);
  if (n >= 2) {
    /* 1 core leaves a core to the co-runner: measured at every level, and
     * the model as a whole is not faster beside it (noise allowance: the
     * machine is shared) */
    for (int k = 0; k < p->n_levels; k++) assert_true(s.slowdown[0][k] > 0);
    double worst = 0;
    for (int k = 0; k < p->n_levels; k++) worst = s.slowdown[0][k] > worst ? s.slowdown[0][k] : worst;
    assert_true(worst >= 0.9);
    /* 2 cores = the whole domain: skipped, and said so */
    if (n == 2) {
      assert_true(mts_prof_slowdown_max(p, 0, 0, 1) == 0);
      assert_non_null(strstr(p->notes, "no co-runner at 2 cores"));
    }
  }
  mts_prof_destroy(p);
  /* a budget already spent: every count stops after two rounds, and says so */
  mts_prof_opts_t ob = {.iters = 6, .co_iters = 4, .budget_s = 1e-6};
  last_done = 0;
  assert_int_equal(mts_profile_model(m, home, n, cc, n_cc, &ob, count_progress, NULL, &p), 0);
  assert_int_equal(last_done, last_total); /* progress still reaches 100 % */
  assert_non_null(strstr(p->notes, "with 2 of 6 rounds"));
  for (int c = 0; c < n_cc; c++) assert_true(p->layers[0].solo_us[c] > 0);
  if (n >= 2) assert_true(mts_prof_slowdown_max(p, 0, 0, 0) > 0);
  mts_prof_destroy(p);
  /* a core count the model lacks is refused */
  int bad[1] = {3};
  assert_int_equal(mts_profile_model(m, home, n, bad, 1, &o, NULL, NULL, &p), MTS_EINVAL);
  assert_null(p);
  mts_model_destroy(m);
}

/* Other processes spinning on every measured core: the profile says its
 * timings were disturbed, and the cache refuses it (a later run measures
 * again); a profile from a quiet moment is cached. */
static void test_disturbed_not_cached(void **state) {
  (void)state;
  int home[MTS_MAX_CORES], n = home_cores(home);
  int cc[1] = {1};
  mts_model_t *m = compile_tiny(cc, 1);
  mts_prof_t *p = NULL, key = {0};
  char path[4096];
  mts_prof_key(&key, m, cc, 1); /* earlier tests cached this key */
  mts_prof_cache_path(&key, path, sizeof path);
  free(key.model_name);
  unlink(path);
  pid_t kids[MTS_MAX_CORES];
  for (int i = 0; i < n; i++) {
    kids[i] = fork();
    assert_true(kids[i] >= 0);
    if (kids[i] == 0) {
      mts_bind_process(&home[i], 1);
      for (volatile unsigned long x = 0;; x++) {
      }
    }
  }
  mts_prof_opts_t o = {.iters = 400, .co_iters = 3, .n_levels = -1}; /* long enough to see the spinners */
  int rc = mts_profile_model(m, home, n, cc, 1, &o, NULL, NULL, &p);
  for (int i = 0; i < n; i++) {
    kill(kids[i], SIGKILL);
    waitpid(kids[i], NULL, 0);
  }
  assert_int_equal(rc, 0);
  assert_true(p->others_cpu > MTS_PROF_MAX_OTHERS);
  assert_non_null(strstr(p->notes, "not cached"));
  assert_int_equal(mts_prof_cache_save(p), MTS_ESTATE);
  assert_non_null(strstr(mts_errmsg(), "not cached"));
  mts_prof_t *back = NULL;
  assert_int_equal(mts_prof_cache_load(m, cc, 1, &back), MTS_ENOTFOUND);
  /* the same profile from a quiet moment is kept */
  p->others_cpu = 0.01;
  assert_int_equal(mts_prof_cache_save(p), 0);
  assert_int_equal(mts_prof_cache_load(m, cc, 1, &back), 0);
  mts_prof_destroy(back);
  mts_prof_destroy(p);
  mts_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pareto_hand_made),
      cmocka_unit_test(test_summary),
      cmocka_unit_test(test_pack_roundtrip),
      cmocka_unit_test(test_cache_roundtrip_and_keys),
      cmocka_unit_test(test_cache_corrupt),
      cmocka_unit_test(test_corunner),
      cmocka_unit_test(test_counters_fallback),
      cmocka_unit_test(test_real_tiny),
      cmocka_unit_test(test_disturbed_not_cached),
  };
  return cmocka_run_group_tests(tests, setup_cache, teardown_cache);
}
