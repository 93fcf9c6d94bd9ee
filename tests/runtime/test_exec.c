/* test_exec.c — every op of the executor against the naive reference
 * (ref_ops.c) on small random tensors, at 1 and 2 cores, with per-op
 * tolerances; plus post-op fusion and executor errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_ops.h"
#include "runtime/exec.h"
#include "runtime/exec_int.h"
#include "runtime/graph_int.h"
#include "runtime/mts.h"

/* ---- a tiny single-op graph builder --------------------------------------- */

static mts_graph_t *G;
static int n_in, ins[MTS_MAX_INPUTS];
/* >= 0: check_n asserts how many Concat layers compiled to no step (their
 * inputs written in place into the output) */
static int want_inplace_concats = -1;
/* > 0: check_n asserts the compiled model's layer count (fusions happened) */
static int want_layers = 0;
/* >= 0: check_n asserts how many MaxPool layers run as C steps (the tuned
 * blocked-layout loop) */
static int want_c_maxpools = -1;
/* >= 0: check_n asserts how many Conv layers run Winograd by default */
static int want_wino = -1;
static uint64_t rng = 12345;

static float urand(float lo, float hi) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return lo + (hi - lo) * (float)(rng >> 40) / 16777216.0f;
}

static void start(void) {
  want_layers = 0;
  want_inplace_concats = -1;
  want_c_maxpools = -1;
  want_wino = -1;
  assert_int_equal(mts_graph_create("t", &G), 0);
  n_in = 0;
}

static int act(int nd, ...) {
  int64_t d[MTS_MAX_DIMS];
  va_list ap;
  va_start(ap, nd);
  for (int i = 0; i < nd; i++) d[i] = va_arg(ap, int);
  va_end(ap);
  int t = mts_graph_add_tensor(G, NULL, MTS_F32, nd, d);
  ins[n_in++] = t;
  return t;
}

static int cst(float lo, float hi, int nd, ...) {
  int64_t d[MTS_MAX_DIMS], n = 1;
  va_list ap;
  va_start(ap, nd);
  for (int i = 0; i < nd; i++) n *= d[i] = va_arg(ap, int);
  va_end(ap);
  float *p = malloc((size_t)n * sizeof *p);
  for (int64_t i = 0; i < n; i++) p[i] = urand(lo, hi);
  return mts_graph_add_const(G, NULL, MTS_F32, nd, d, p);
}

static int node_n(mts_op_t op, int ni, const int *in, const mts_attr_t *a, int no, int *outs) {
  for (int i = 0; i < no; i++) outs[i] = mts_graph_add_tensor(G, NULL, MTS_F32, 0, NULL);
  int n = mts_graph_add_node(G, NULL, op, ni, in, no, outs, a);
  assert_true(n >= 0);
  int rc = mts__infer_node(G, n);
  if (rc) fail_msg("%s", mts_errmsg());
  return outs[0];
}

static int node(mts_op_t op, int ni, const int *in, const mts_attr_t *a) {
  int o;
  return node_n(op, ni, in, a, 1, &o);
}

static mts_attr_t A0(void) {
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  return a;
}

/* Runs the graph (outputs: every output of the last node) against the
 * reference at 1 and 2 cores; |got - ref| <= atol + rtol |ref|. */
static void check_n(int n_out, const int *outs, float lo, float hi, float atol, float rtol) {
  assert_int_equal(mts_graph_set_io(G, n_in, ins, n_out, outs), 0);
  float *in[MTS_MAX_INPUTS], *ref[MTS_MAX_OUTPUTS], *got[MTS_MAX_OUTPUTS];
  size_t nin[MTS_MAX_INPUTS], nout[MTS_MAX_OUTPUTS];
  for (int i = 0; i < n_in; i++) {
    nin[i] = (size_t)mts_tensor_numel(&G->tensors[ins[i]]);
    in[i] = malloc(nin[i] * sizeof(float));
    for (size_t k = 0; k < nin[i]; k++) in[i][k] = urand(lo, hi);
  }
  for (int o = 0; o < n_out; o++) {
    nout[o] = (size_t)mts_tensor_numel(&G->tensors[outs[o]]);
    ref[o] = malloc(nout[o] * sizeof(float));
    got[o] = malloc(nout[o] * sizeof(float));
  }
  assert_int_equal(ref_eval(G, (const float *const *)in, ref), 0);
  mts_model_t *m = NULL;
  mts_compile_opts_t opts = {.n_core_counts = 2, .core_counts = {1, 2}, .all_versions = want_wino >= 0};
  int rc = mts_model_compile(G, &opts, &m);
  if (rc) fail_msg("compile: %s", mts_errmsg());
  if (want_layers > 0) {
    assert_int_equal(mts_model_n_layers(m), want_layers);
    want_layers = 0;
  }
  if (want_c_maxpools >= 0) {
    int nc = 0;
    for (int l = 0; l < mts_model_n_layers(m); l++)
      nc += mts_model_layer_op(m, l) == MTS_OP_MAXPOOL && m->steps[m->layers[l].s0[0]].kind == MTS__STEP_C;
    assert_int_equal(nc, want_c_maxpools);
  }
  /* a step fast at one core count is fast at every other one: no oneDNN
   * reference implementation where the first count has a real one (layouts
   * are fixed once, for every count: exec_conv.c, conv_fix_layouts) */
  for (int i = 0; i < m->n_steps; i++) {
    if (m->steps[i].kind != MTS__STEP_PRIM) continue;
    int ref0 = 0;
    for (int c = 0; c < m->n_cc; c++) {
      const_dnnl_primitive_desc_t pd = NULL;
      const char *info = NULL;
      assert_int_equal(dnnl_primitive_get_primitive_desc(m->steps[i].prim[c], &pd), dnnl_success);
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info);
      int isref = !info || !strncmp(info, "ref", 3);
      if (c == 0) ref0 = isref;
      else if (isref && !ref0) fail_msg("step %d: %s at %d cores, not at %d", i, info, m->cc[c], m->cc[0]);
    }
  }
  int n_ver = 1; /* every version is checked (a layer without version v runs its version 0) */
  for (int l = 0; l < mts_model_n_layers(m); l++)
    if (m->layers[l].n_ver > n_ver) n_ver = m->layers[l].n_ver;
  if (want_wino >= 0) { /* layers with a Winograd version (the default one or not: exec_wino.c) */
    int nw = 0;
    for (int l = 0; l < mts_model_n_layers(m); l++)
      for (int v = 0; v < m->layers[l].n_ver; v++) nw += !strncmp(m->layers[l].impl[v], "winograd", 8);
    assert_int_equal(nw, want_wino);
  }
  if (want_inplace_concats >= 0) {
    int noop = 0;
    for (int l = 0; l < mts_model_n_layers(m); l++)
      noop += mts_model_layer_op(m, l) == MTS_OP_CONCAT && m->layers[l].s0[0] == m->layers[l].s1[0];
    assert_int_equal(noop, want_inplace_concats);
    want_inplace_concats = -1;
  }
  for (int k = 1; k <= 2; k++)
    for (int v = 0; v < n_ver; v++) {
      mts_ctx_t *c = NULL;
      assert_int_equal(mts_ctx_create(m, &c), 0);
      for (int i = 0; i < n_in; i++) assert_int_equal(mts_ctx_set_input(c, i, in[i], nin[i]), 0);
      rc = mts_model_run(m, c, 0, mts_model_n_layers(m), k, v, NULL);
      if (rc) fail_msg("run: %s", mts_errmsg());
      for (int o = 0; o < n_out; o++) {
        assert_int_equal(mts_ctx_get_output(c, o, got[o], nout[o]), 0);
        for (size_t i = 0; i < nout[o]; i++)
          if (!(fabsf(got[o][i] - ref[o][i]) <= atol + rtol * fabsf(ref[o][i])))
            fail_msg("%s: output %d [%zu] = %g, reference %g (%d cores, version %d)", G->nodes[0].name, o, i,
                     got[o][i], ref[o][i], k, v);
      }
      mts_ctx_destroy(c);
    }
  mts_model_destroy(m);
  for (int i = 0; i < n_in; i++) free(in[i]);
  for (int o = 0; o < n_out; o++) {
    free(ref[o]);
    free(got[o]);
  }
  mts_graph_destroy(G);
  G = NULL;
}

static void check(int out, float lo, float hi, float atol, float rtol) {
  check_n(1, &out, lo, hi, atol, rtol);
}

/* ---- ops ------------------------------------------------------------------- */

static int conv(int x, int w, int b, int k, int s, int p_begin, int p_end, int dil, int grp) {
  mts_attr_t a = A0();
  a.nsp = 2;
  a.kernel[0] = a.kernel[1] = k;
  a.stride[0] = a.stride[1] = s;
  a.dilation[0] = a.dilation[1] = dil;
  a.pad[0] = a.pad[1] = p_begin;
  a.pad[2] = a.pad[3] = p_end;
  a.group = grp;
  int in[3] = {x, w, b};
  return node(MTS_OP_CONV, b >= 0 ? 3 : 2, in, &a);
}

static void test_conv(void **st) {
  (void)st;
  start(); /* plain 3x3, bias */
  check(conv(act(4, 1, 8, 10, 10), cst(-.3f, .3f, 4, 16, 8, 3, 3), cst(-1, 1, 1, 16), 3, 1, 1, 1, 1, 1),
        -1, 1, 1e-4f, 1e-4f);
  start(); /* groups, stride, asymmetric pad, dilation */
  check(conv(act(4, 1, 8, 13, 11), cst(-.3f, .3f, 4, 12, 4, 3, 3), -1, 3, 2, 2, 1, 2, 2), -1, 1,
        1e-4f, 1e-4f);
  start(); /* depthwise */
  check(conv(act(4, 1, 32, 9, 9), cst(-.3f, .3f, 4, 32, 1, 3, 3), cst(-1, 1, 1, 32), 3, 2, 1, 1, 1, 32),
        -1, 1, 1e-4f, 1e-4f);
  start(); /* GoogLeNet's inception4e 1x1: 528 -> 256 on 14x14, ReLU (oneDNN 2.6's brgemm convolution
             * blocks its weights per thread count) */
  {
    int y = conv(act(4, 1, 528, 14, 14), cst(-.1f, .1f, 4, 256, 528, 1, 1), cst(-1, 1, 1, 256), 1, 1, 0, 0, 1, 1);
    mts_attr_t r = A0();
    r.unary = MTS_UNARY_RELU;
    check(node(MTS_OP_UNARY, 1, &y, &r), -1, 1, 1e-4f, 1e-4f);
  }
  start(); /* 1x1 stride 2, 3 input channels, batch 2, 5x5 kernel */
  check(conv(act(4, 2, 3, 17, 17), cst(-.3f, .3f, 4, 20, 3, 5, 5), -1, 5, 1, 2, 2, 1, 1), -1, 1,
        1e-4f, 1e-4f);
}

/* 1x1 convolutions with a stride run as a stride-1 convolution of the input
 * read through a strided view (exec_conv.c): odd sizes, a batch, strides 2
 * and 3, unequal strides, a fused sum and ReLU, channel counts that are no
 * multiple of the vector width. */
static void test_conv_1x1_strided(void **st) {
  (void)st;
  static const int cases[][7] = {/* N, C, K, H, W, stride h, stride w */
                                 {1, 64, 128, 56, 56, 2, 2}, {2, 24, 40, 15, 13, 2, 2}, {1, 16, 8, 10, 11, 3, 3},
                                 {1, 32, 48, 9, 12, 1, 2}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const int *c = cases[i];
    start();
    int x = act(4, c[0], c[1], c[3], c[4]);
    mts_attr_t a = A0();
    a.nsp = 2;
    a.kernel[0] = a.kernel[1] = 1;
    a.stride[0] = c[5];
    a.stride[1] = c[6];
    a.dilation[0] = a.dilation[1] = 1;
    a.group = 1;
    int in[3] = {x, cst(-.3f, .3f, 4, c[2], c[1], 1, 1), cst(-1, 1, 1, c[2])};
    int y = node(MTS_OP_CONV, 3, in, &a);
    if (i == 1) {
      int r = act(4, c[0], c[2], (int)G->tensors[y].dims[2], (int)G->tensors[y].dims[3]);
      mts_attr_t b = A0();
      b.binary = MTS_BINARY_ADD;
      int in2[2] = {r, y};
      y = node(MTS_OP_BINARY, 2, in2, &b);
    }
    mts_attr_t r = A0();
    r.unary = MTS_UNARY_RELU;
    check(node(MTS_OP_UNARY, 1, &y, &r), -1, 1, 1e-4f, 1e-4f);
  }
}

/* 3x3 stride-1 convolutions on the blocked layout (8 or 16 channels) or on
 * nhwc have a Winograd version F(4x4, 3x3), or F(2x2, 3x3) on maps of at
 * most 64 outputs (196 on AVX-512) (exec_wino.c), the default one on all
 * but the smallest maps; every version is checked: spatial sizes that are no multiple of the 4x4 tile, a
 * batch, channel counts that are no multiple of 8 or 16, pads 0..2, with
 * and without bias, fused sum and ReLU; tiles per chunk from one chunk to
 * many (1 and 2 cores). */
static void test_conv_winograd(void **st) {
  (void)st;
  static const int cases[][7] = {/* N, C, K, H, W, pad begin, pad end */
                                 {1, 16, 16, 8, 8, 1, 1},   {2, 24, 40, 13, 11, 1, 1}, {1, 64, 64, 30, 29, 1, 1},
                                 {1, 8, 32, 7, 9, 0, 0},    {1, 32, 8, 6, 6, 2, 2},    {1, 12, 20, 10, 10, 1, 2},
                                 {1, 128, 96, 14, 14, 1, 1}, {1, 64, 72, 7, 7, 1, 1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const int *c = cases[i];
    start();
    int x = act(4, c[0], c[1], c[3], c[4]);
    int y = conv(x, cst(-.3f, .3f, 4, c[2], c[1], 3, 3), i % 2 ? cst(-1, 1, 1, c[2]) : -1, 3, 1, c[5], c[6], 1, 1);
    mts_attr_t a = A0();
    if (i % 3 == 1) {
      int r = act(4, c[0], c[2], (int)G->tensors[y].dims[2], (int)G->tensors[y].dims[3]);
      a.binary = MTS_BINARY_ADD;
      int in[2] = {r, y};
      y = node(MTS_OP_BINARY, 2, in, &a);
      a = A0();
    }
    a.unary = MTS_UNARY_RELU;
    y = node(MTS_OP_UNARY, 1, &y, &a);
    want_wino = 1;
    check(y, -1, 1, 2e-4f, 2e-4f);
  }
  /* not for strided, dilated or grouped convolutions */
  start();
  want_wino = 0;
  check(conv(act(4, 1, 16, 12, 12), cst(-.3f, .3f, 4, 16, 16, 3, 3), -1, 3, 2, 1, 1, 1, 1), -1, 1, 1e-4f, 1e-4f);
  start();
  want_wino = 0;
  check(conv(act(4, 1, 16, 12, 12), cst(-.3f, .3f, 4, 16, 8, 3, 3), -1, 3, 1, 1, 1, 1, 2), -1, 1, 1e-4f, 1e-4f);
}

static void test_conv1d(void **st) {
  (void)st;
  start();
  int x = act(3, 2, 4, 21);
  int in[3] = {x, cst(-.3f, .3f, 3, 6, 4, 3), cst(-1, 1, 1, 6)};
  mts_attr_t a = A0();
  a.nsp = 1;
  a.kernel[0] = 3;
  a.stride[0] = 2;
  a.dilation[0] = 2;
  a.pad[0] = 1;
  a.pad[1] = 2;
  int y = node(MTS_OP_CONV, 3, in, &a);
  assert_int_equal(G->tensors[y].dims[2], 10); /* (21 + 3 - 5) / 2 + 1 */
  check(y, -1, 1, 1e-4f, 1e-4f);
}

static void test_conv_postops(void **st) {
  (void)st;
  start(); /* conv -> add(residual) -> relu, fused by optimize */
  int x = act(4, 1, 16, 8, 8);
  int r = act(4, 1, 16, 8, 8);
  int y = conv(x, cst(-.3f, .3f, 4, 16, 16, 3, 3), cst(-1, 1, 1, 16), 3, 1, 1, 1, 1, 1);
  mts_attr_t a = A0();
  a.binary = MTS_BINARY_ADD;
  int in[2] = {r, y};
  y = node(MTS_OP_BINARY, 2, in, &a);
  a = A0();
  a.unary = MTS_UNARY_CLIP;
  a.alpha = 0;
  a.beta = 1.5f;
  y = node(MTS_OP_UNARY, 1, &y, &a);
  check(y, -1, 1, 1e-4f, 1e-4f);
}

static int pool(mts_op_t op, int x, int k, int s, int pb, int pe, int ceil, int incl) {
  mts_attr_t a = A0();
  a.nsp = 2;
  a.kernel[0] = a.kernel[1] = k;
  a.stride[0] = a.stride[1] = s;
  a.dilation[0] = a.dilation[1] = 1;
  a.pad[0] = a.pad[1] = pb;
  a.pad[2] = a.pad[3] = pe;
  a.ceil_mode = ceil;
  a.count_include_pad = incl;
  return node(op, 1, &x, &a);
}

/* MaxPool on a convolution's blocked output (the C loop): borders, the
 * 4-wide interior, ceil mode, channels padded to 8, batch 2, stride 1/2/3. */
/* Where oneDNN 2.6 picks layouts on AVX-512 (its brgemm convolutions),
 * activations are nhwc: no 8-channel blocks for the C max-pool, and a
 * channel slice of an nhwc tensor is not contiguous, so no concat is in
 * place; both still have to compute the right values. */
#ifdef __AVX512F__
#define C_MAXPOOLS 0
#define INPLACE_CONCATS 0
#else
#define C_MAXPOOLS 1
#define INPLACE_CONCATS 3
#endif

static void test_maxpool_blocked(void **st) {
  (void)st;
  static const int cases[][8] = {
      /* N, C, H, W, k, s, pad, ceil */
      {1, 16, 14, 14, 3, 2, 0, 1}, {2, 12, 13, 17, 3, 1, 1, 0}, {1, 8, 23, 9, 2, 2, 0, 0},
      {1, 24, 31, 29, 3, 2, 1, 1}, {1, 8, 20, 20, 5, 3, 2, 1}, {2, 20, 6, 5, 3, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const int *c = cases[i];
    start();
    int x = conv(act(4, c[0], 4, c[2], c[3]), cst(-.3f, .3f, 4, c[1], 4, 1, 1), -1, 1, 1, 0, 0, 1, 1);
    want_c_maxpools = C_MAXPOOLS;
    check(pool(MTS_OP_MAXPOOL, x, c[4], c[5], c[6], c[6], c[7], 0), -1, 1, 1e-5f, 1e-5f);
  }
}

static void test_pool(void **st) {
  (void)st;
  start();
  check(pool(MTS_OP_MAXPOOL, act(4, 1, 16, 14, 14), 3, 2, 1, 1, 0, 0), -1, 1, 0, 0);
  start(); /* ceil mode: 14 -> 7 with k3 s2 (floor would give 6) */
  int y = pool(MTS_OP_MAXPOOL, act(4, 1, 16, 14, 14), 3, 2, 0, 0, 1, 0);
  assert_int_equal(G->tensors[y].dims[2], 7);
  check(y, -1, 1, 0, 0);
  start();
  check(pool(MTS_OP_AVGPOOL, act(4, 2, 8, 9, 9), 3, 2, 1, 1, 0, 0), -1, 1, 1e-5f, 1e-5f);
  start();
  check(pool(MTS_OP_AVGPOOL, act(4, 1, 8, 9, 9), 3, 2, 1, 1, 0, 1), -1, 1, 1e-5f, 1e-5f);
  start(); /* ceil mode average, counting the declared padding only */
  check(pool(MTS_OP_AVGPOOL, act(4, 1, 8, 10, 10), 3, 2, 1, 1, 1, 1), -1, 1, 1e-5f, 1e-5f);
  start(); /* ceil mode average, excluding padding */
  check(pool(MTS_OP_AVGPOOL, act(4, 1, 8, 10, 10), 3, 2, 0, 0, 1, 0), -1, 1, 1e-5f, 1e-5f);
  start();
  int x = act(4, 1, 24, 7, 5);
  check(node(MTS_OP_GLOBAL_AVGPOOL, 1, &x, NULL), -1, 1, 1e-5f, 1e-5f);
}

static int gemm(int A, int B, int C, int ta, int tb, float alpha, float beta) {
  mts_attr_t a = A0();
  a.trans_a = ta;
  a.trans_b = tb;
  a.alpha = alpha;
  a.beta = beta;
  int in[3] = {A, B, C};
  return node(MTS_OP_GEMM, C >= 0 ? 3 : 2, in, &a);
}

static void test_gemm(void **st) {
  (void)st;
  start();
  check(gemm(act(2, 5, 64), cst(-.2f, .2f, 2, 33, 64), cst(-1, 1, 1, 33), 0, 1, 1, 1), -1, 1, 1e-4f, 1e-4f);
  start();
  check(gemm(act(2, 64, 5), cst(-.2f, .2f, 2, 64, 33), cst(-1, 1, 2, 5, 33), 1, 0, 0.5f, 2.0f), -1, 1,
        1e-4f, 1e-4f);
  start(); /* alpha and beta with a bias vector (the 1x1-convolution path) */
  check(gemm(act(2, 6, 10), cst(-.2f, .2f, 2, 10, 7), cst(-1, 1, 1, 7), 0, 0, 0.5f, 2.0f), -1, 1,
        1e-4f, 1e-4f);
  start(); /* C [N, 1] with M == N varies along M: not a bias vector */
  check(gemm(act(2, 6, 10), cst(-.2f, .2f, 2, 10, 6), cst(-1, 1, 2, 6, 1), 0, 0, 1, 1), -1, 1,
        1e-4f, 1e-4f);
  start(); /* both operands activations */
  int a = act(2, 7, 16);
  check(gemm(a, act(2, 9, 16), -1, 0, 1, 1, 1), -1, 1, 1e-4f, 1e-4f);
  start(); /* C as activation, full shape */
  a = act(2, 4, 8);
  int c = act(2, 4, 6);
  check(gemm(a, cst(-.5f, .5f, 2, 8, 6), c, 0, 0, 1, 1), -1, 1, 1e-4f, 1e-4f);
}

static int binary(int bop, int x, int y) {
  mts_attr_t a = A0();
  a.binary = bop;
  int in[2] = {x, y};
  return node(MTS_OP_BINARY, 2, in, &a);
}

static void test_matmul(void **st) {
  (void)st;
  start();
  int in[2] = {act(4, 2, 3, 4, 5), act(4, 2, 3, 5, 6)};
  check(node(MTS_OP_MATMUL, 2, in, NULL), -1, 1, 1e-4f, 1e-4f);
  start(); /* constant 2-D weights broadcast over the batch */
  in[0] = act(3, 2, 7, 16);
  in[1] = cst(-.3f, .3f, 2, 16, 12);
  check(node(MTS_OP_MATMUL, 2, in, NULL), -1, 1, 1e-4f, 1e-4f);
  start(); /* seq-first Linear: [S,1,K] @ [1,K,N] + b, Relu, residual: one layer */
  mts_attr_t r = A0();
  r.unary = MTS_UNARY_RELU;
  int res = act(3, 5, 1, 12);
  res = node(MTS_OP_UNARY, 1, &res, &r);
  in[0] = act(3, 5, 1, 16);
  in[1] = cst(-.3f, .3f, 3, 1, 16, 12);
  int y = node(MTS_OP_MATMUL, 2, in, NULL);
  y = binary(MTS_BINARY_ADD, cst(-1, 1, 3, 1, 1, 12), y);
  y = binary(MTS_BINARY_ADD, res, y);
  want_layers = 2; /* the residual operand is computed by its own layer */
  check(node(MTS_OP_UNARY, 1, &y, &r), -1, 1, 1e-4f, 1e-4f);
  start(); /* broadcast in both operands */
  in[0] = act(4, 1, 3, 4, 5);
  in[1] = act(4, 2, 1, 5, 6);
  check(node(MTS_OP_MATMUL, 2, in, NULL), -1, 1, 1e-4f, 1e-4f);
}

static void test_unary(void **st) {
  (void)st;
  for (int u = 0; u < MTS_UNARY_COUNT; u++) {
    start();
    mts_attr_t a = A0();
    a.unary = u;
    float lo = -3, hi = 3;
    if (u == MTS_UNARY_RELU) a.alpha = 0.1f;
    if (u == MTS_UNARY_CLIP) a.alpha = -1, a.beta = 2;
    if (u == MTS_UNARY_HARDSIGMOID) a.alpha = 0.2f, a.beta = 0.5f;
    if (u == MTS_UNARY_POW) a.alpha = 1.5f;
    if (u == MTS_UNARY_LINEAR) a.alpha = 0.7f, a.beta = -0.2f;
    if (u == MTS_UNARY_SQRT || u == MTS_UNARY_LOG || u == MTS_UNARY_POW ||
        u == MTS_UNARY_RECIPROCAL)
      lo = 0.1f;
    int x = act(4, 1, 5, 6, 7);
    check(node(MTS_OP_UNARY, 1, &x, &a), lo, hi, 1e-5f, 1e-4f);
  }
}


static void test_binary(void **st) {
  (void)st;
  for (int b = 0; b < MTS_BINARY_COUNT; b++) {
    float lo = b == MTS_BINARY_POW || b == MTS_BINARY_DIV ? 0.5f : -1;
    start(); /* same shape */
    int x = act(4, 2, 3, 4, 5);
    check(binary(b, x, act(4, 2, 3, 4, 5)), lo, 2, 1e-5f, 1e-5f);
    start(); /* second operand broadcasts */
    x = act(4, 2, 3, 4, 5);
    check(binary(b, x, act(3, 3, 1, 5)), lo, 2, 1e-5f, 1e-5f);
    start(); /* first operand broadcasts */
    x = act(2, 4, 1);
    check(binary(b, x, act(4, 2, 3, 4, 5)), lo, 2, 1e-5f, 1e-5f);
    start(); /* constant operand */
    x = act(4, 1, 3, 4, 5);
    check(binary(b, cst(0.5f, 1.5f, 1, 5), x), lo, 2, 1e-5f, 1e-5f);
  }
}

/* Broadcasts against a blocked conv output: per-channel constant, and an
 * SE-style gate y * sigmoid(GAP(y)). */
static void test_binary_blocked(void **st) {
  (void)st;
  for (int b = 0; b < MTS_BINARY_COUNT; b++) {
    if (b == MTS_BINARY_POW) continue;
    start();
    int x = act(4, 1, 16, 6, 6);
    int y = conv(x, cst(-.3f, .3f, 4, 16, 16, 3, 3), -1, 3, 1, 1, 1, 1, 1);
    check(binary(b, y, cst(0.5f, 1.5f, 3, 16, 1, 1)), -1, 1, 1e-4f, 1e-4f);
  }
  start();
  int x = act(4, 1, 24, 5, 5);
  int y = conv(x, cst(-.3f, .3f, 4, 24, 24, 1, 1), -1, 1, 1, 0, 0, 1, 1);
  int p = node(MTS_OP_GLOBAL_AVGPOOL, 1, &y, NULL);
  mts_attr_t a = A0();
  a.unary = MTS_UNARY_SIGMOID;
  p = node(MTS_OP_UNARY, 1, &p, &a);
  check(binary(MTS_BINARY_MUL, y, p), -1, 1, 1e-4f, 1e-4f);
}

static void test_concat_split(void **st) {
  (void)st;
  start();
  int c = cst(-1, 1, 4, 1, 2, 5, 5);
  int in[3] = {act(4, 1, 3, 5, 5), c, act(4, 1, 7, 5, 5)};
  mts_attr_t a = A0();
  a.axis = 1;
  check(node(MTS_OP_CONCAT, 3, in, &a), -1, 1, 0, 0);
  start();
  in[0] = act(3, 2, 3, 4);
  in[1] = act(3, 2, 3, 6);
  a.axis = -1;
  check(node(MTS_OP_CONCAT, 2, in, &a), -1, 1, 0, 0);
  start();
  int x = act(3, 2, 9, 4), outs[3];
  a = A0();
  a.axis = 1;
  a.n_ints = 3;
  a.ints[0] = 2, a.ints[1] = 3, a.ints[2] = 4;
  node_n(MTS_OP_SPLIT, 1, &x, &a, 3, outs);
  check_n(3, outs, -1, 1, 0, 0);
}

/* Concat of convolution outputs (blocked layouts, channels in multiples of
 * 8) is done in place; nested concats, a concat input read again later
 * (copy), and a graph output as the last concat. */
static void test_concat_inplace(void **st) {
  (void)st;
  start();
  int x = act(4, 1, 4, 7, 7);
  int a = conv(x, cst(-.3f, .3f, 4, 16, 4, 3, 3), cst(-1, 1, 1, 16), 3, 1, 1, 1, 1, 1);
  int b = conv(x, cst(-.3f, .3f, 4, 8, 4, 1, 1), -1, 1, 1, 0, 0, 1, 1);
  int c = conv(x, cst(-.3f, .3f, 4, 24, 4, 3, 3), -1, 3, 1, 1, 1, 1, 1);
  mts_attr_t at = A0();
  at.axis = 1;
  int in[3] = {a, b, c};
  int y = node(MTS_OP_CONCAT, 3, in, &at);                /* 48 channels, in place */
  int d = conv(y, cst(-.3f, .3f, 4, 8, 48, 1, 1), -1, 1, 1, 0, 0, 1, 1);
  int in2[2] = {y, d};
  int z = node(MTS_OP_CONCAT, 2, in2, &at);               /* nested: y inside z */
  int e = conv(z, cst(-.3f, .3f, 4, 16, 56, 1, 1), -1, 1, 1, 0, 0, 1, 1);
  int in3[2] = {e, z};
  int u = node(MTS_OP_CONCAT, 2, in3, &at);               /* z read by e first: in place */
  mts_attr_t r = A0();
  r.unary = MTS_UNARY_RELU;
  int f = node(MTS_OP_UNARY, 1, &e, &r);                  /* e read after u: u copies */
  int in4[2] = {u, f};
  want_inplace_concats = INPLACE_CONCATS;
  check(node(MTS_OP_CONCAT, 2, in4, &at), -1, 1, 1e-4f, 1e-4f);
}

static void test_shape_ops(void **st) {
  (void)st;
  start(); /* slice: starts, ends, steps per axis, with a negative step */
  int x = act(3, 4, 10, 6);
  mts_attr_t a = A0();
  a.n_ints = 3;
  int64_t v[9] = {1, 8, -1, 4, 1, 6, 1, -2, 1};
  memcpy(a.ints, v, sizeof v);
  int y = node(MTS_OP_SLICE, 1, &x, &a);
  assert_int_equal(G->tensors[y].dims[1], 4); /* 8,6,4,2 */
  check(y, -1, 1, 0, 0);
  start(); /* unit innermost step (row copies): x[:, 1:9:3, 2:5] */
  x = act(3, 4, 10, 6);
  int64_t v2[9] = {0, 1, 2, 4, 9, 5, 1, 3, 1};
  memcpy(a.ints, v2, sizeof v2);
  y = node(MTS_OP_SLICE, 1, &x, &a);
  assert_int_equal(G->tensors[y].dims[2], 3);
  check(y, -1, 1, 0, 0);
  start(); /* transpose */
  x = act(4, 2, 3, 4, 5);
  a = A0();
  a.n_ints = 4;
  a.ints[0] = 0, a.ints[1] = 2, a.ints[2] = 3, a.ints[3] = 1;
  check(node(MTS_OP_TRANSPOSE, 1, &x, &a), -1, 1, 0, 0);
  start(); /* gather with int64 indices (one negative) */
  x = act(3, 3, 6, 4);
  int64_t id[2] = {2, 3};
  int64_t *idx = malloc(6 * sizeof *idx);
  int64_t iv[6] = {0, 5, -1, 2, 2, 1};
  memcpy(idx, iv, sizeof iv);
  int in[2] = {x, mts_graph_add_const(G, "idx", MTS_I64, 2, id, idx)};
  a = A0();
  a.axis = 1;
  check(node(MTS_OP_GATHER, 2, in, &a), -1, 1, 0, 0);
  start(); /* pad, rank 4 (pads in ints) */
  x = act(4, 1, 2, 3, 4);
  a = A0();
  a.n_ints = 8;
  int64_t p[8] = {0, 1, 2, 0, 0, 0, 1, 3};
  memcpy(a.ints, p, sizeof p);
  a.alpha = 0.25f;
  check(node(MTS_OP_PAD, 1, &x, &a), -1, 1, 0, 0);
  start(); /* reshape of a blocked conv output */
  x = act(4, 1, 16, 4, 4);
  y = conv(x, cst(-.3f, .3f, 4, 32, 16, 1, 1), -1, 1, 1, 0, 0, 1, 1);
  int out = mts_graph_add_tensor(G, NULL, MTS_F32, 2, (int64_t[]){1, 512});
  assert_true(mts_graph_add_node(G, "flatten", MTS_OP_RESHAPE, 1, &y, 1, &out, NULL) >= 0);
  check(out, -1, 1, 1e-4f, 1e-4f);
}

static void test_norms(void **st) {
  (void)st;
  for (int ax = 1; ax <= 3; ax += 2) {
    start();
    int x = act(3, 2, 5, 16);
    mts_attr_t a = A0();
    a.axis = ax == 1 ? 1 : -1;
    check(node(MTS_OP_SOFTMAX, 1, &x, &a), -3, 3, 1e-6f, 1e-4f);
  }
  start();
  int x = act(3, 2, 5, 48);
  int in[3] = {x, cst(0.5f, 1.5f, 1, 48), cst(-1, 1, 1, 48)};
  mts_attr_t a = A0();
  a.axis = -1;
  a.epsilon = 1e-5f;
  check(node(MTS_OP_LAYERNORM, 3, in, &a), -2, 2, 1e-4f, 1e-4f);
  start();
  x = act(4, 2, 6, 5, 5);
  int bn[5] = {x, cst(0.5f, 1.5f, 1, 6), cst(-1, 1, 1, 6), cst(-1, 1, 1, 6), cst(0.5f, 2, 1, 6)};
  a = A0();
  a.epsilon = 1e-5f;
  check(node(MTS_OP_BATCHNORM, 5, bn, &a), -2, 2, 1e-4f, 1e-4f);
  start();
  x = act(4, 1, 12, 6, 6);
  a = A0();
  a.size = 5;
  a.alpha = 1e-2f;
  a.beta = 0.75f;
  a.bias = 2;
  check(node(MTS_OP_LRN, 1, &x, &a), -2, 2, 1e-5f, 1e-4f);
  for (int kd = 0; kd < 2; kd++) {
    start();
    x = act(4, 2, 6, 5, 7);
    a = A0();
    a.n_ints = 2;
    a.ints[0] = 2, a.ints[1] = -1;
    a.keepdims = kd;
    check(node(MTS_OP_REDUCE_MEAN, 1, &x, &a), -2, 2, 1e-5f, 1e-4f);
  }
}

static void test_errors(void **st) {
  (void)st;
  start();
  int x = act(4, 1, 4, 6, 6); /* 1x1: one version (a 3x3 one may have a Winograd version too) */
  int y = conv(x, cst(-1, 1, 4, 4, 4, 1, 1), -1, 1, 1, 0, 0, 1, 1);
  assert_int_equal(mts_graph_set_io(G, 1, &x, 1, &y), 0);
  mts_model_t *m = NULL;
  mts_compile_opts_t o = {.n_core_counts = 1, .core_counts = {1}};
  assert_int_equal(mts_model_compile(G, &o, &m), 0);
  mts_ctx_t *c = NULL;
  assert_int_equal(mts_ctx_create(m, &c), 0);
  assert_int_equal(mts_model_run(m, c, 0, mts_model_n_layers(m), 3, 0, NULL), MTS_EINVAL);
  assert_non_null(strstr(mts_errmsg(), "3 cores"));
  assert_int_equal(mts_model_run(m, c, 0, 99, 1, 0, NULL), MTS_EINVAL);
  assert_int_equal(mts_model_n_versions(m, 0, 1), 1);
  assert_int_equal(mts_model_n_versions(m, 0, 2), 0);
  float small[4];
  assert_int_equal(mts_ctx_set_input(c, 0, small, 4), MTS_ESHAPE);
  assert_int_equal(mts_ctx_get_output(c, 0, small, 4), MTS_ESHAPE);
  mts_ctx_destroy(c);
  mts_model_destroy(m);
  mts_graph_destroy(G);
  G = NULL;
  /* a compile error names the layer and frees what was built */
  start();
  x = act(4, 1, 4, 6, 6);
  y = conv(x, cst(-1, 1, 4, 4, 4, 3, 3), -1, 3, 1, 1, 1, 1, 1);
  int f = mts_graph_add_tensor(G, NULL, MTS_F32, 2, (int64_t[]){1, 144});
  assert_true(mts_graph_add_node(G, "flat", MTS_OP_RESHAPE, 1, &y, 1, &f, NULL) >= 0);
  int cb = act(2, 1, 1); /* non-constant C that broadcasts: unsupported */
  int z = gemm(f, cst(-1, 1, 2, 144, 3), cb, 0, 0, 1, 1);
  int io[2] = {x, cb};
  assert_int_equal(mts_graph_set_io(G, 2, io, 1, &z), 0);
  m = NULL;
  assert_int_equal(mts_model_compile(G, &o, &m), MTS_EUNSUPPORTED);
  assert_null(m);
  assert_non_null(strstr(mts_errmsg(), "Gemm"));
  mts_graph_destroy(G);
  G = NULL;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv),     cmocka_unit_test(test_conv_winograd), cmocka_unit_test(test_conv_1x1_strided), cmocka_unit_test(test_conv1d),
      cmocka_unit_test(test_conv_postops),
      cmocka_unit_test(test_pool),     cmocka_unit_test(test_gemm),
      cmocka_unit_test(test_matmul),   cmocka_unit_test(test_unary),
      cmocka_unit_test(test_binary),   cmocka_unit_test(test_binary_blocked),
      cmocka_unit_test(test_concat_split),
      cmocka_unit_test(test_concat_inplace),
      cmocka_unit_test(test_maxpool_blocked),
      cmocka_unit_test(test_shape_ops), cmocka_unit_test(test_norms),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
