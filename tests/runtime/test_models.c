/* test_models.c — the zoo through the executor: outputs finite and
 * deterministic, equal to the naive reference for the small models, 1-core
 * vs 2-core agreement, and split runs ([0,a) then [a,n), with mixed core
 * counts) equal to a full run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/zoo.h"
#include "ref_ops.h"
#include "runtime/exec.h"
#include "runtime/mts.h"

typedef struct {
  mts_model_t *m;
  mts_ctx_t *c;
  float *in, *out;
  size_t nin, nout;
} fx_t;

static void fx_open(fx_t *f, const char *name, float **ref) {
  mts_graph_t *g = NULL;
  int rc = mts_zoo_build(name, &g);
  if (rc) fail_msg("%s: %s", name, mts_errmsg());
  memset(f, 0, sizeof *f);
  f->nin = (size_t)mts_tensor_numel(&g->tensors[g->inputs[0]]);
  f->nout = (size_t)mts_tensor_numel(&g->tensors[g->outputs[0]]);
  f->in = malloc(f->nin * sizeof(float));
  f->out = malloc(f->nout * sizeof(float));
  uint64_t s = 99;
  for (size_t i = 0; i < f->nin; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    f->in[i] = (float)(s >> 40) / 16777216.0f * 2 - 1;
  }
  if (ref) {
    *ref = malloc(f->nout * sizeof(float));
    assert_int_equal(ref_eval(g, (const float *const *)&f->in, ref), 0);
  }
  mts_compile_opts_t o = {.n_core_counts = 2, .core_counts = {1, 2}};
  rc = mts_model_compile(g, &o, &f->m);
  if (rc) fail_msg("%s: compile: %s", name, mts_errmsg());
  mts_graph_destroy(g);
  assert_int_equal(mts_ctx_create(f->m, &f->c), 0);
  assert_int_equal(mts_ctx_set_input(f->c, 0, f->in, f->nin), 0);
}

static void fx_close(fx_t *f) {
  mts_ctx_destroy(f->c);
  mts_model_destroy(f->m);
  free(f->in);
  free(f->out);
}

/* Runs the blocks given by cuts (ascending, ending at n) with the cores. */
static void run_blocks(fx_t *f, int nb, const int *cuts, const int *cores, float *out) {
  int a = 0;
  for (int b = 0; b < nb; b++) {
    int rc = mts_model_run(f->m, f->c, a, cuts[b], cores[b], 0, NULL);
    if (rc) fail_msg("run [%d,%d) on %d: %s", a, cuts[b], cores[b], mts_errmsg());
    a = cuts[b];
  }
  assert_int_equal(mts_ctx_get_output(f->c, 0, out, f->nout), 0);
}

static float max_abs(const float *x, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
  return m;
}

static void assert_close(const float *a, const float *b, size_t n, float rel, const char *what) {
  float scale = fmaxf(max_abs(b, n), 1e-6f);
  for (size_t i = 0; i < n; i++)
    if (!(fabsf(a[i] - b[i]) <= rel * scale))
      fail_msg("%s: [%zu] %g vs %g (scale %g)", what, i, a[i], b[i], scale);
}

/* The common checks: finite, deterministic, 1 vs 2 cores, split runs. */
static void check_model(const char *name, int n_splits, float ref_tol) {
  fx_t f;
  float *ref = NULL;
  fx_open(&f, name, ref_tol > 0 ? &ref : NULL);
  int n = mts_model_n_layers(f.m);
  float *full1 = malloc(f.nout * sizeof(float)), *full2 = malloc(f.nout * sizeof(float));
  float *tmp = malloc(f.nout * sizeof(float));
  int cut_n[1] = {n}, one[1] = {1}, two[1] = {2};
  run_blocks(&f, 1, cut_n, one, full1);
  for (size_t i = 0; i < f.nout; i++)
    if (!isfinite(full1[i])) fail_msg("%s: output %zu not finite", name, i);
  assert_true(max_abs(full1, f.nout) > 0);
  if (ref) assert_close(full1, ref, f.nout, ref_tol, "vs reference");
  /* deterministic: again, and in a fresh context */
  run_blocks(&f, 1, cut_n, one, tmp);
  assert_memory_equal(full1, tmp, f.nout * sizeof(float));
  mts_ctx_t *c2 = NULL;
  assert_int_equal(mts_ctx_create(f.m, &c2), 0);
  assert_int_equal(mts_ctx_set_input(c2, 0, f.in, f.nin), 0);
  assert_int_equal(mts_model_run(f.m, c2, 0, n, 1, 0, NULL), 0);
  assert_int_equal(mts_ctx_get_output(c2, 0, tmp, f.nout), 0);
  assert_memory_equal(full1, tmp, f.nout * sizeof(float));
  mts_ctx_destroy(c2);
  run_blocks(&f, 1, cut_n, two, full2);
  assert_close(full2, full1, f.nout, 1e-4f, "2 cores vs 1");
  /* split runs: same core count -> identical; mixed -> within 1e-4 */
  for (int s = 1; s <= n_splits; s++) {
    int a = (int)((long)s * n / (n_splits + 1));
    if (a <= 0 || a >= n) continue;
    int cuts[2] = {a, n}, c11[2] = {1, 1}, c21[2] = {2, 1}, c12[2] = {1, 2};
    run_blocks(&f, 2, cuts, c11, tmp);
    assert_memory_equal(full1, tmp, f.nout * sizeof(float));
    run_blocks(&f, 2, cuts, s % 2 ? c21 : c12, tmp);
    assert_close(tmp, full1, f.nout, 1e-4f, "split, mixed cores");
  }
  /* three blocks with all cut points of a small model */
  if (n <= 12)
    for (int a = 1; a < n; a++)
      for (int b = a + 1; b < n; b++) {
        int cuts[3] = {a, b, n}, cc[3] = {1, 1, 1};
        run_blocks(&f, 3, cuts, cc, tmp);
        assert_memory_equal(full1, tmp, f.nout * sizeof(float));
      }
  free(full1);
  free(full2);
  free(tmp);
  free(ref);
  fx_close(&f);
}

static void test_tiny(void **st) {
  (void)st;
  check_model("tiny", 7, 1e-4f);
}
static void test_resnet50(void **st) {
  (void)st;
  check_model("resnet50", 5, 0);
}
static void test_mobilenet_v2(void **st) {
  (void)st;
  check_model("mobilenet_v2", 3, 1e-3f);
}
static void test_squeezenet(void **st) {
  (void)st;
  check_model("squeezenet1_1", 3, 1e-3f);
}
static void test_googlenet(void **st) {
  (void)st;
  check_model("googlenet", 2, 0);
}
static void test_bert(void **st) {
  (void)st;
  check_model("bert_base", 2, 0);
}
static void test_vgg16(void **st) {
  (void)st;
  check_model("vgg16", 1, 0);
}

static void test_tiny_timing(void **st) {
  (void)st;
  fx_t f;
  fx_open(&f, "tiny", NULL);
  int n = mts_model_n_layers(f.m);
  double *us = calloc((size_t)n, sizeof *us);
  assert_int_equal(mts_model_run(f.m, f.c, 0, n, 2, 0, us), 0);
  for (int l = 0; l < n; l++) {
    assert_true(us[l] >= 0);
    assert_non_null(mts_model_layer_name(f.m, l));
  }
  assert_int_equal(mts_model_n_inputs(f.m), 1);
  assert_int_equal(mts_model_n_outputs(f.m), 1);
  int nd;
  int64_t d[8];
  assert_int_equal(mts_model_output_shape(f.m, 0, &nd, d), 0);
  assert_int_equal(nd, 2);
  assert_int_equal(d[1], 10);
  assert_true(mts_model_has_cores(f.m, 2));
  /* liveness planning: less than the sum of all activations (> 64 KiB for
   * the 16x32x32 maps alone), and weights are counted */
  assert_true(mts_model_arena_bytes(f.m) > 0);
  assert_true(mts_model_arena_bytes(f.m) < 300 * 1024);
  assert_true(mts_model_weight_bytes(f.m) > 16 * 16 * 9 * 4);
  assert_false(mts_model_has_cores(f.m, 4));
  free(us);
  fx_close(&f);
}

/* all_versions: conv layers get alternatives (other implementations, an
 * nhwc variant); every version and any mix of versions per block computes
 * the same output. */
static void test_versions(void **st) {
  (void)st;
  static const char *models[2] = {"tiny", "mobilenet_v2"};
  for (int mi = 0; mi < 2; mi++) {
    mts_graph_t *g = NULL;
    assert_int_equal(mts_zoo_build(models[mi], &g), 0);
    size_t nin = (size_t)mts_tensor_numel(&g->tensors[g->inputs[0]]);
    size_t nout = (size_t)mts_tensor_numel(&g->tensors[g->outputs[0]]);
    mts_model_t *m = NULL;
    mts_compile_opts_t o = {.n_core_counts = 2, .core_counts = {1, 2}, .all_versions = 1};
    if (mts_model_compile(g, &o, &m)) fail_msg("%s", mts_errmsg());
    mts_graph_destroy(g);
    mts_ctx_t *c = NULL;
    assert_int_equal(mts_ctx_create(m, &c), 0);
    float *in = malloc(nin * sizeof(float)), *ref = malloc(nout * sizeof(float));
    float *got = malloc(nout * sizeof(float));
    for (size_t i = 0; i < nin; i++) in[i] = (float)((i * 37) % 101) / 50.0f - 1;
    assert_int_equal(mts_ctx_set_input(c, 0, in, nin), 0);
    int n = mts_model_n_layers(m), maxv = 1, multi = 0;
    for (int l = 0; l < n; l++) {
      int v = mts_model_n_versions(m, l, 1);
      assert_int_equal(v, mts_model_n_versions(m, l, 2));
      assert_true(v >= 1);
      if (v > maxv) maxv = v;
      if (mts_model_layer_op(m, l) == MTS_OP_CONV && v > 1) multi++;
    }
    assert_true(multi > 0); /* the nhwc variant exists for every blocked conv */
    assert_int_equal(mts_model_run(m, c, 0, n, 1, 0, NULL), 0);
    assert_int_equal(mts_ctx_get_output(c, 0, ref, nout), 0);
    for (int v = 1; v < maxv; v++)
      for (int k = 1; k <= 2; k++) {
        assert_int_equal(mts_model_run(m, c, 0, n, k, v, NULL), 0);
        assert_int_equal(mts_ctx_get_output(c, 0, got, nout), 0);
        assert_close(got, ref, nout, 1e-4f, "version");
        /* mixed: first half version v on k cores, second half version 0 */
        assert_int_equal(mts_model_run(m, c, 0, n / 2, k, v, NULL), 0);
        assert_int_equal(mts_model_run(m, c, n / 2, n, 3 - k, 0, NULL), 0);
        assert_int_equal(mts_ctx_get_output(c, 0, got, nout), 0);
        assert_close(got, ref, nout, 1e-4f, "mixed versions");
      }
    free(in);
    free(ref);
    free(got);
    mts_ctx_destroy(c);
    mts_model_destroy(m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiny),      cmocka_unit_test(test_tiny_timing),
      cmocka_unit_test(test_resnet50),  cmocka_unit_test(test_mobilenet_v2),
      cmocka_unit_test(test_squeezenet), cmocka_unit_test(test_googlenet),
      cmocka_unit_test(test_bert),      cmocka_unit_test(test_vgg16),
      cmocka_unit_test(test_versions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
