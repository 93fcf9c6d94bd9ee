/* test_graph.c — the graph IR: shape inference (and its errors), BatchNorm
 * folding numerically equal to the unfolded graph, post-op fusion,
 * topological sort, hash stability. */
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
#include "runtime/graph.h"
#include "runtime/graph_int.h"
#include "runtime/mts.h"

static float *randv(int64_t n, uint64_t seed) {
  float *p = malloc((size_t)n * sizeof *p);
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = (float)(seed >> 40) / 16777216.0f * 2 - 1;
  }
  return p;
}

static int count_op(const mts_graph_t *g, mts_op_t op) {
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) c += g->nodes[i].op == op;
  return c;
}

static void test_shapes(void **st) {
  (void)st;
  mts_graph_t *g;
  assert_int_equal(mts_graph_create("s", &g), 0);
  int64_t xd[4] = {1, 6, 15, 15}, wd[4] = {12, 3, 3, 3};
  int x = mts_graph_add_tensor(g, "x", MTS_F32, 4, xd);
  int w = mts_graph_add_const(g, "w", MTS_F32, 4, wd, calloc(12 * 27, 4));
  int y = mts_graph_add_tensor(g, "y", MTS_F32, 0, NULL);
  int z = mts_graph_add_tensor(g, "z", MTS_F32, 0, NULL);
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.nsp = 2;
  a.stride[0] = a.stride[1] = 2;
  a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
  a.group = 2;
  int in[2] = {x, w};
  assert_true(mts_graph_add_node(g, "conv", MTS_OP_CONV, 2, in, 1, &y, &a) >= 0);
  mts_attr_t p;
  memset(&p, 0, sizeof p);
  p.nsp = 2;
  p.kernel[0] = p.kernel[1] = 3;
  p.stride[0] = p.stride[1] = 2;
  p.ceil_mode = 1;
  assert_true(mts_graph_add_node(g, "pool", MTS_OP_MAXPOOL, 1, &y, 1, &z, &p) >= 0);
  assert_int_equal(mts_graph_set_io(g, 1, &x, 1, &z), 0);
  assert_int_equal(mts_graph_infer_shapes(g), 0);
  assert_int_equal(g->tensors[y].ndim, 4);
  assert_int_equal(g->tensors[y].dims[1], 12);
  assert_int_equal(g->tensors[y].dims[2], 8); /* (15 + 2 - 3) / 2 + 1 */
  assert_int_equal(g->tensors[z].dims[3], 4); /* ceil((8 - 3) / 2) + 1 */
  /* group that does not divide: error naming the node */
  g->nodes[0].attr.group = 4;
  assert_int_equal(mts_graph_infer_shapes(g), MTS_ESHAPE);
  assert_non_null(strstr(mts_errmsg(), "conv"));
  mts_graph_destroy(g);

  /* matmul broadcast and gemm transposes */
  assert_int_equal(mts_graph_create("m", &g), 0);
  int64_t ad[4] = {2, 1, 4, 5}, bd[3] = {3, 5, 7}, cd[2] = {5, 4};
  int A = mts_graph_add_tensor(g, "a", MTS_F32, 4, ad);
  int B = mts_graph_add_tensor(g, "b", MTS_F32, 3, bd);
  int C = mts_graph_add_tensor(g, "c", MTS_F32, 2, cd);
  int Y = mts_graph_add_tensor(g, "y", MTS_F32, 0, NULL);
  int Z = mts_graph_add_tensor(g, "z", MTS_F32, 0, NULL);
  int ab[2] = {A, B};
  assert_true(mts_graph_add_node(g, "mm", MTS_OP_MATMUL, 2, ab, 1, &Y, NULL) >= 0);
  memset(&a, 0, sizeof a);
  a.trans_a = 1; /* C^T C: [4,5] x [5,4] */
  int cc[2] = {C, C};
  assert_true(mts_graph_add_node(g, "gemm", MTS_OP_GEMM, 2, cc, 1, &Z, &a) >= 0);
  int io[2] = {A, B};
  assert_int_equal(mts_graph_set_io(g, 2, io, 1, &Y), 0);
  assert_int_equal(mts_graph_infer_shapes(g), 0);
  int64_t want[4] = {2, 3, 4, 7};
  assert_int_equal(g->tensors[Y].ndim, 4);
  assert_memory_equal(g->tensors[Y].dims, want, sizeof want);
  assert_int_equal(g->tensors[Z].dims[0], 4);
  assert_int_equal(g->tensors[Z].dims[1], 4);
  g->tensors[B].dims[1] = 6; /* inner dims differ */
  assert_int_equal(mts_graph_infer_shapes(g), MTS_ESHAPE);
  assert_non_null(strstr(mts_errmsg(), "mm"));
  mts_graph_destroy(g);
}

/* The tiny model: BN folded into convs, relu and the residual add fused as
 * post-ops, and the optimised graph computes what the original did. */
static void test_optimize_tiny(void **st) {
  (void)st;
  mts_graph_t *g, *h;
  assert_int_equal(mts_zoo_build("tiny", &g), 0);
  assert_int_equal(mts_zoo_build("tiny", &h), 0);
  assert_int_equal(count_op(g, MTS_OP_BATCHNORM), 3);
  int64_t n = mts_tensor_numel(&g->tensors[g->inputs[0]]);
  float *x = randv(n, 7), r0[10], r1[10];
  float *outs0[1] = {r0}, *outs1[1] = {r1};
  assert_int_equal(ref_eval(g, (const float *const *)&x, outs0), 0);
  assert_int_equal(mts_graph_optimize(h), 0);
  assert_int_equal(count_op(h, MTS_OP_BATCHNORM), 0);
  assert_int_equal(count_op(h, MTS_OP_UNARY), 0);
  assert_int_equal(count_op(h, MTS_OP_BINARY), 0);
  int sums = 0, relus = 0;
  for (int i = 0; i < h->n_nodes; i++)
    for (int k = 0; k < h->nodes[i].n_post; k++) {
      sums += h->nodes[i].post[k].kind == MTS_POST_SUM;
      relus += h->nodes[i].post[k].kind == MTS_POST_UNARY;
    }
  assert_int_equal(sums, 1);
  assert_int_equal(relus, 4);
  assert_int_equal(ref_eval(h, (const float *const *)&x, outs1), 0);
  for (int i = 0; i < 10; i++) assert_float_equal(r0[i], r1[i], 1e-4 * (1 + fabsf(r0[i])));
  /* idempotent */
  int nn = h->n_nodes;
  uint64_t hh = mts_graph_hash(h);
  assert_int_equal(mts_graph_optimize(h), 0);
  assert_int_equal(h->n_nodes, nn);
  assert_true(mts_graph_hash(h) == hh);
  free(x);
  mts_graph_destroy(g);
  mts_graph_destroy(h);
}

/* A conv output read twice must not get the BN folded in nor a relu fused;
 * Identity is dropped. */
static void test_no_fold_when_shared(void **st) {
  (void)st;
  mts_graph_t *g;
  assert_int_equal(mts_graph_create("shared", &g), 0);
  int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {4, 4, 1, 1}, c4 = 4;
  int x = mts_graph_add_tensor(g, "x", MTS_F32, 4, xd);
  int w = mts_graph_add_const(g, "w", MTS_F32, 4, wd, randv(16, 1));
  int bn[4];
  for (int i = 0; i < 4; i++) {
    float *p = randv(4, 10 + (uint64_t)i);
    if (i == 3)
      for (int k = 0; k < 4; k++) p[k] = 1.5f + p[k];
    bn[i] = mts_graph_add_const(g, NULL, MTS_F32, 1, &c4, p);
  }
  int y = mts_graph_add_tensor(g, "y", MTS_F32, 0, NULL);
  int y2 = mts_graph_add_tensor(g, "y2", MTS_F32, 0, NULL);
  int z = mts_graph_add_tensor(g, "z", MTS_F32, 0, NULL);
  int o = mts_graph_add_tensor(g, "o", MTS_F32, 0, NULL);
  int u = mts_graph_add_tensor(g, "u", MTS_F32, 0, NULL);
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.nsp = 2;
  int cin[2] = {x, w};
  /* emitted out of order on purpose: toposort must fix it */
  int bin[5] = {y2, bn[0], bn[1], bn[2], bn[3]};
  mts_attr_t e;
  memset(&e, 0, sizeof e);
  e.epsilon = 1e-5f;
  assert_true(mts_graph_add_node(g, "bn", MTS_OP_BATCHNORM, 5, bin, 1, &z, &e) >= 0);
  mts_attr_t ad;
  memset(&ad, 0, sizeof ad);
  int zz[2] = {z, y2};
  assert_true(mts_graph_add_node(g, "add", MTS_OP_BINARY, 2, zz, 1, &o, &ad) >= 0);
  assert_true(mts_graph_add_node(g, "conv", MTS_OP_CONV, 2, cin, 1, &y, &a) >= 0);
  assert_true(mts_graph_add_node(g, "id", MTS_OP_IDENTITY, 1, &y, 1, &y2, NULL) >= 0);
  mts_attr_t r;
  memset(&r, 0, sizeof r);
  assert_true(mts_graph_add_node(g, "relu", MTS_OP_UNARY, 1, &o, 1, &u, &r) >= 0);
  assert_int_equal(mts_graph_set_io(g, 1, &x, 1, &u), 0);
  assert_int_equal(mts_graph_infer_shapes(g), MTS_ESHAPE); /* unsorted: bn before conv */
  assert_int_equal(mts_graph_toposort(g), 0);
  assert_string_equal(g->nodes[0].name, "conv");
  assert_string_equal(g->nodes[1].name, "id");
  assert_int_equal(mts_graph_infer_shapes(g), 0);
  float *xv = randv(144, 3), ref[144], got[144], *po[1] = {ref}, *pg[1] = {got};
  assert_int_equal(ref_eval(g, (const float *const *)&xv, po), 0);
  assert_int_equal(mts_graph_optimize(g), 0);
  assert_int_equal(count_op(g, MTS_OP_IDENTITY), 0);
  assert_int_equal(count_op(g, MTS_OP_BATCHNORM), 1); /* conv output also feeds the add */
  assert_int_equal(ref_eval(g, (const float *const *)&xv, pg), 0);
  for (int i = 0; i < 144; i++) assert_float_equal(ref[i], got[i], 1e-5);
  free(xv);
  mts_graph_destroy(g);
}

/* Gemm -> Mul(scalar) -> Sub(scalar - x) -> Pow(x, 2): the scalar binaries
 * become unary nodes, the two Linears merge, and Linear and Pow fuse into
 * the Gemm as post-ops. */
static void test_scalar_binary(void **st) {
  (void)st;
  mts_graph_t *g;
  assert_int_equal(mts_graph_create("sc", &g), 0);
  int64_t xd[2] = {3, 8}, wd[2] = {8, 5}, one = 1;
  int x = mts_graph_add_tensor(g, "x", MTS_F32, 2, xd);
  int w = mts_graph_add_const(g, "w", MTS_F32, 2, wd, randv(40, 5));
  float *c1 = malloc(4), *c2 = malloc(4), *c3 = malloc(4);
  *c1 = 0.5f, *c2 = 3.0f, *c3 = 2.0f;
  int k1 = mts_graph_add_const(g, "c1", MTS_F32, 1, &one, c1);
  int k2 = mts_graph_add_const(g, "c2", MTS_F32, 0, NULL, c2);
  int k3 = mts_graph_add_const(g, "c3", MTS_F32, 1, &one, c3);
  int t[4];
  for (int i = 0; i < 4; i++) t[i] = mts_graph_add_tensor(g, NULL, MTS_F32, 0, NULL);
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.alpha = a.beta = 1;
  int in[2] = {x, w};
  assert_true(mts_graph_add_node(g, "gemm", MTS_OP_GEMM, 2, in, 1, &t[0], &a) >= 0);
  memset(&a, 0, sizeof a);
  a.binary = MTS_BINARY_MUL;
  int i1[2] = {k1, t[0]};
  assert_true(mts_graph_add_node(g, "mul", MTS_OP_BINARY, 2, i1, 1, &t[1], &a) >= 0);
  a.binary = MTS_BINARY_SUB;
  int i2[2] = {k2, t[1]};
  assert_true(mts_graph_add_node(g, "sub", MTS_OP_BINARY, 2, i2, 1, &t[2], &a) >= 0);
  a.binary = MTS_BINARY_POW;
  int i3[2] = {t[2], k3};
  assert_true(mts_graph_add_node(g, "pow", MTS_OP_BINARY, 2, i3, 1, &t[3], &a) >= 0);
  assert_int_equal(mts_graph_set_io(g, 1, &x, 1, &t[3]), 0);
  assert_int_equal(mts_graph_infer_shapes(g), 0);
  float *xv = randv(24, 9), ref[15], got[15], *po[1] = {ref}, *pg[1] = {got};
  assert_int_equal(ref_eval(g, (const float *const *)&xv, po), 0);
  assert_int_equal(mts_graph_optimize(g), 0);
  assert_int_equal(g->n_nodes, 1);
  assert_int_equal(g->nodes[0].n_post, 2);
  assert_int_equal(g->nodes[0].post[0].unary, MTS_UNARY_LINEAR);
  assert_int_equal(g->nodes[0].post[1].unary, MTS_UNARY_POW);
  assert_int_equal(ref_eval(g, (const float *const *)&xv, pg), 0);
  for (int i = 0; i < 15; i++) assert_float_equal(ref[i], got[i], 1e-4 * (1 + fabsf(ref[i])));
  free(xv);
  mts_graph_destroy(g);
}

static int tnode(mts_graph_t *g, mts_op_t op, int a, int b, int sub, float al, float be) {
  int y = mts_graph_add_tensor(g, NULL, MTS_F32, 0, NULL);
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.binary = at.unary = sub;
  at.alpha = al;
  at.beta = be;
  if (op == MTS_OP_REDUCE_MEAN) {
    at.n_ints = 1;
    at.ints[0] = -1;
    at.keepdims = 1;
  }
  int in[2] = {a, b};
  assert_true(mts_graph_add_node(g, NULL, op, b >= 0 ? 2 : 1, in, 1, &y, &at) >= 0);
  return y;
}

static int tscalar(mts_graph_t *g, float v) {
  float *p = malloc(sizeof *p);
  *p = v;
  return mts_graph_add_const(g, NULL, MTS_F32, 0, NULL, p);
}

/* LayerNorm and GELU as a pre-opset-17 exporter writes them become one
 * LayerNormalization and one Gelu node, computing the same values. */
static void test_decomposed_ln_gelu(void **st) {
  (void)st;
  mts_graph_t *g;
  assert_int_equal(mts_graph_create("ln", &g), 0);
  int64_t xd[2] = {4, 16}, c = 16;
  int x = mts_graph_add_tensor(g, "x", MTS_F32, 2, xd);
  int gam = mts_graph_add_const(g, "gamma", MTS_F32, 1, &c, randv(16, 21));
  int bet = mts_graph_add_const(g, "beta", MTS_F32, 1, &c, randv(16, 22));
  int m = tnode(g, MTS_OP_REDUCE_MEAN, x, -1, 0, 0, 0);
  int d = tnode(g, MTS_OP_BINARY, x, m, MTS_BINARY_SUB, 0, 0);
  int sq = tnode(g, MTS_OP_BINARY, d, d, MTS_BINARY_MUL, 0, 0);
  int v = tnode(g, MTS_OP_REDUCE_MEAN, sq, -1, 0, 0, 0);
  v = tnode(g, MTS_OP_BINARY, v, tscalar(g, 1e-5f), MTS_BINARY_ADD, 0, 0);
  v = tnode(g, MTS_OP_UNARY, v, -1, MTS_UNARY_SQRT, 0, 0);
  int y = tnode(g, MTS_OP_BINARY, d, v, MTS_BINARY_DIV, 0, 0);
  y = tnode(g, MTS_OP_BINARY, y, gam, MTS_BINARY_MUL, 0, 0);
  y = tnode(g, MTS_OP_BINARY, bet, y, MTS_BINARY_ADD, 0, 0);
  /* gelu: x * 0.5 * (1 + erf(x / sqrt(2))) */
  int e = tnode(g, MTS_OP_BINARY, y, tscalar(g, 1.41421356f), MTS_BINARY_DIV, 0, 0);
  e = tnode(g, MTS_OP_UNARY, e, -1, MTS_UNARY_ERF, 0, 0);
  e = tnode(g, MTS_OP_BINARY, e, tscalar(g, 1), MTS_BINARY_ADD, 0, 0);
  int h = tnode(g, MTS_OP_BINARY, y, tscalar(g, 0.5f), MTS_BINARY_MUL, 0, 0);
  int z = tnode(g, MTS_OP_BINARY, h, e, MTS_BINARY_MUL, 0, 0);
  assert_int_equal(mts_graph_set_io(g, 1, &x, 1, &z), 0);
  assert_int_equal(mts_graph_infer_shapes(g), 0);
  float *xv = randv(64, 23), ref[64], got[64], *po[1] = {ref}, *pg[1] = {got};
  assert_int_equal(ref_eval(g, (const float *const *)&xv, po), 0);
  assert_int_equal(mts_graph_optimize(g), 0);
  assert_int_equal(g->n_nodes, 2);
  assert_int_equal(g->nodes[0].op, MTS_OP_LAYERNORM);
  assert_int_equal(g->nodes[0].n_inputs, 3);
  assert_int_equal(g->nodes[1].op, MTS_OP_UNARY);
  assert_int_equal(g->nodes[1].attr.unary, MTS_UNARY_GELU);
  assert_int_equal(ref_eval(g, (const float *const *)&xv, pg), 0);
  for (int i = 0; i < 64; i++) assert_float_equal(ref[i], got[i], 1e-4 * (1 + fabsf(ref[i])));
  free(xv);
  mts_graph_destroy(g);
}

/* Constant subgraphs (transpose, concat, slice, gather, unary, binary)
 * fold into one constant feeding the only remaining node. */
static void test_const_fold(void **st) {
  (void)st;
  mts_graph_t *g;
  assert_int_equal(mts_graph_create("cf", &g), 0);
  int64_t d23[2] = {2, 3}, d32[2] = {3, 2}, d2[1] = {2};
  int x = mts_graph_add_tensor(g, "x", MTS_F32, 2, d32);
  int a = mts_graph_add_const(g, "a", MTS_F32, 2, d23, randv(6, 31));
  int b = mts_graph_add_const(g, "b", MTS_F32, 2, d32, randv(6, 32));
  int64_t *ix = malloc(2 * sizeof *ix);
  ix[0] = 1, ix[1] = -1;
  int idx = mts_graph_add_const(g, "idx", MTS_I64, 1, d2, ix);
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.n_ints = 2;
  at.ints[0] = 1, at.ints[1] = 0;
  int t = tnode(g, MTS_OP_TRANSPOSE, a, -1, 0, 0, 0); /* [3,2] */
  int y = mts_graph_add_tensor(g, NULL, MTS_F32, 0, NULL);
  g->nodes[g->n_nodes - 1].attr = at;
  memset(&at, 0, sizeof at);
  at.axis = 0;
  int cin[2] = {t, b};
  assert_true(mts_graph_add_node(g, "cat", MTS_OP_CONCAT, 2, cin, 1, &y, &at) >= 0); /* [6,2] */
  int sl = mts_graph_add_tensor(g, NULL, MTS_F32, 0, NULL);
  memset(&at, 0, sizeof at);
  at.n_ints = 2;
  int64_t sv[6] = {5, 0, -100, 2, -2, 1}; /* rows 5,3,1 reversed; all columns */
  memcpy(at.ints, sv, sizeof sv);
  assert_true(mts_graph_add_node(g, "slice", MTS_OP_SLICE, 1, &y, 1, &sl, &at) >= 0); /* [3,2] */
  int ga = mts_graph_add_tensor(g, NULL, MTS_F32, 0, NULL);
  memset(&at, 0, sizeof at);
  at.axis = 1;
  int gin[2] = {sl, idx};
  assert_true(mts_graph_add_node(g, "gather", MTS_OP_GATHER, 2, gin, 1, &ga, &at) >= 0);
  int u = tnode(g, MTS_OP_UNARY, ga, -1, MTS_UNARY_EXP, 0, 0);
  int z = tnode(g, MTS_OP_BINARY, x, u, MTS_BINARY_SUB, 0, 0);
  assert_int_equal(mts_graph_set_io(g, 1, &x, 1, &z), 0);
  /* the transpose's attr was set after it was added: infer from scratch */
  assert_int_equal(mts_graph_infer_shapes(g), 0);
  assert_int_equal(g->tensors[sl].dims[0], 3);
  float *xv = randv(6, 33), ref[6], got[6], *po[1] = {ref}, *pg[1] = {got};
  assert_int_equal(ref_eval(g, (const float *const *)&xv, po), 0);
  assert_int_equal(mts_graph_optimize(g), 0);
  assert_int_equal(g->n_nodes, 1);
  assert_int_equal(g->nodes[0].op, MTS_OP_BINARY);
  assert_non_null(g->tensors[g->nodes[0].inputs[1]].data);
  assert_int_equal(ref_eval(g, (const float *const *)&xv, pg), 0);
  for (int i = 0; i < 6; i++) assert_float_equal(ref[i], got[i], 1e-6);
  free(xv);
  mts_graph_destroy(g);
}

/* A cycle is an error, not a hang. */
static void test_toposort_cycle(void **st) {
  (void)st;
  mts_graph_t *g;
  assert_int_equal(mts_graph_create("cyc", &g), 0);
  int64_t d[1] = {4};
  int a = mts_graph_add_tensor(g, "a", MTS_F32, 1, d);
  int b = mts_graph_add_tensor(g, "b", MTS_F32, 1, d);
  mts_attr_t u;
  memset(&u, 0, sizeof u);
  assert_true(mts_graph_add_node(g, "n1", MTS_OP_UNARY, 1, &a, 1, &b, &u) >= 0);
  assert_true(mts_graph_add_node(g, "n2", MTS_OP_UNARY, 1, &b, 1, &a, &u) >= 0);
  assert_int_equal(mts_graph_toposort(g), MTS_ETOPO);
  mts_graph_destroy(g);
}

static void test_hash(void **st) {
  (void)st;
  mts_graph_t *g, *h;
  assert_int_equal(mts_zoo_build("tiny", &g), 0);
  assert_int_equal(mts_zoo_build("tiny", &h), 0);
  assert_true(mts_graph_hash(g) == mts_graph_hash(h));
  /* one weight changed by one ulp-ish step */
  for (int t = 0; t < h->n_tensors; t++)
    if (h->tensors[t].data) {
      ((float *)h->tensors[t].data)[0] += 1e-3f;
      break;
    }
  assert_true(mts_graph_hash(g) != mts_graph_hash(h));
  mts_graph_destroy(h);
  assert_int_equal(mts_zoo_build("tiny", &h), 0);
  h->nodes[0].attr.stride[0] = 2;
  assert_true(mts_graph_hash(g) != mts_graph_hash(h));
  /* FLOPs: first conv 3->16, 3x3 on 32x32: 2 * 16*32*32 * 27 */
  assert_true(fabs(mts_node_flops(g, 0) - 2.0 * 16 * 32 * 32 * 27) < 1);
  mts_graph_destroy(g);
  mts_graph_destroy(h);
}

/* Every zoo model builds and passes shape inference with the expected
 * output shape. */
static void test_zoo_shapes(void **st) {
  (void)st;
  const char *const *names = mts_zoo_names();
  int n = 0;
  for (; names[n]; n++) {
    mts_graph_t *g = NULL;
    int rc = mts_zoo_build(names[n], &g);
    if (rc) fail_msg("%s: %s", names[n], mts_errmsg());
    assert_int_equal(mts_graph_infer_shapes(g), 0);
    const mts_tensor_t *Y = &g->tensors[g->outputs[0]];
    if (!strcmp(names[n], "bert_base")) {
      assert_int_equal(Y->ndim, 3);
      assert_int_equal(Y->dims[2], 768);
    } else {
      assert_int_equal(Y->ndim, 2);
      assert_int_equal(Y->dims[1], strcmp(names[n], "tiny") ? 1000 : 10);
    }
    assert_true(mts_zoo_has(names[n]));
    mts_graph_destroy(g);
  }
  assert_int_equal(n, 7);
  mts_graph_t *g = (mts_graph_t *)1;
  assert_int_equal(mts_zoo_build("nope", &g), MTS_ENOTFOUND);
  assert_null(g);
  assert_non_null(strstr(mts_errmsg(), "resnet50"));
  assert_false(mts_zoo_has("nope"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shapes),         cmocka_unit_test(test_optimize_tiny),
      cmocka_unit_test(test_no_fold_when_shared), cmocka_unit_test(test_toposort_cycle),
      cmocka_unit_test(test_scalar_binary),  cmocka_unit_test(test_decomposed_ln_gelu),
      cmocka_unit_test(test_const_fold),
      cmocka_unit_test(test_hash),           cmocka_unit_test(test_zoo_shapes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
