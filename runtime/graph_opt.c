/* graph_opt.c — inference optimisations on the IR (mts_graph_optimize):
 *
 *  1. fold nodes whose inputs are all constant into new constants: unary
 *     and binary (f32), and the data movers reshape, identity, transpose,
 *     concat, slice, gather (any dtype);
 *  2. drop Identity nodes by rewiring their consumers;
 *  3. fold BatchNorm into the preceding Conv when the conv output feeds
 *     only the BatchNorm (new constant weights; the originals stay, unused);
 *  4. fuse a residual Add into a Conv/Gemm/MatMul as a "sum" post-op when
 *     the other operand is computed before that node (the executor then
 *     accumulates into the other operand's buffer, in place when legal);
 *  5. fuse eltwise-able unary ops (Relu, Clip, ...) as post-ops;
 *  6. for the executor only (mts__graph_optimize_exec): a bias Add after a
 *     MatMul with constant weights becomes the MatMul's third input.
 *
 * Also: decomposed LayerNorm (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt,
 * Div, Mul, Add) and erf-GELU chains become single nodes.
 *
 * Before 2-5, binary ops with a scalar constant operand (as exporters write
 * x * 0.125, x + 1, x ^ 2) become unary Linear/Pow/Clip nodes, and chains
 * of Linear collapse, so that they too can be fused as post-ops.
 *
 * Every rewrite requires the intermediate tensor to have exactly one
 * consumer and not to be a graph output, so no value a user can observe
 * changes.  Removed nodes are compacted away at the end; tensors stay. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/graph.h"
#include "runtime/graph_int.h"
#include "runtime/mts.h"

int mts__unary_is_eltwise(int u) {
  return u != MTS_UNARY_ERF && u != MTS_UNARY_HARDSIGMOID && (unsigned)u < MTS_UNARY_COUNT;
}

float mts__unary_eval(int u, float alpha, float beta, float x) {
  switch (u) {
  case MTS_UNARY_RELU: return x > 0 ? x : alpha * x;
  case MTS_UNARY_CLIP: return x < alpha ? alpha : x > beta ? beta : x;
  case MTS_UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
  case MTS_UNARY_HARDSIGMOID: {
    float y = alpha * x + beta;
    return y < 0 ? 0 : y > 1 ? 1 : y;
  }
  case MTS_UNARY_HARDSWISH: {
    float y = x / 6.0f + 0.5f;
    return x * (y < 0 ? 0 : y > 1 ? 1 : y);
  }
  case MTS_UNARY_TANH: return tanhf(x);
  case MTS_UNARY_ERF: return erff(x);
  case MTS_UNARY_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
  case MTS_UNARY_SQRT: return sqrtf(x);
  case MTS_UNARY_EXP: return expf(x);
  case MTS_UNARY_LOG: return logf(x);
  case MTS_UNARY_ABS: return fabsf(x);
  case MTS_UNARY_NEG: return -x;
  case MTS_UNARY_RECIPROCAL: return 1.0f / x;
  case MTS_UNARY_POW: return powf(x, alpha);
  case MTS_UNARY_LINEAR: return alpha * x + beta;
  default: return NAN;
  }
}

float mts__binary_eval(int b, float x, float y) {
  switch (b) {
  case MTS_BINARY_ADD: return x + y;
  case MTS_BINARY_SUB: return x - y;
  case MTS_BINARY_MUL: return x * y;
  case MTS_BINARY_DIV: return x / y;
  case MTS_BINARY_POW: return powf(x, y);
  case MTS_BINARY_MAX: return x > y ? x : y;
  case MTS_BINARY_MIN: return x < y ? x : y;
  default: return NAN;
  }
}

/* Offset into a broadcast operand of shape (nd_in, dims_in) for the output
 * multi-index idx of rank nd. */
int64_t mts__bcast_offset(int nd, const int64_t *idx, int nd_in, const int64_t *dims_in) {
  int64_t off = 0;
  for (int i = 0; i < nd_in; i++) {
    int64_t d = dims_in[i];
    int64_t k = idx[nd - nd_in + i];
    off = off * d + (d == 1 ? 0 : k);
  }
  return off;
}

static int uses(const mts_graph_t *g, const char *dead, int t) {
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    if (dead[i]) continue;
    const mts_node_t *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++) c += n->inputs[k] == t;
    for (int k = 0; k < n->n_post; k++) c += n->post[k].kind == MTS_POST_SUM && n->post[k].tensor == t;
  }
  return c;
}

static int is_output(const mts_graph_t *g, int t) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t) return 1;
  return 0;
}

static void replace_uses(mts_graph_t *g, const char *dead, int from, int to) {
  for (int i = 0; i < g->n_nodes; i++) {
    if (dead[i]) continue;
    mts_node_t *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] == from) n->inputs[k] = to;
    for (int k = 0; k < n->n_post; k++)
      if (n->post[k].kind == MTS_POST_SUM && n->post[k].tensor == from) n->post[k].tensor = to;
  }
}

static int is_const(const mts_graph_t *g, int t) { return t >= 0 && g->tensors[t].data != NULL; }

/* Evaluates a constant node on the host; 1 if folded, 0 if not foldable. */
static int fold_const(mts_graph_t *g, int ni) {
  mts_node_t *n = &g->nodes[ni];
  if (n->n_outputs != 1 || n->n_inputs < 1) return 0;
  for (int k = 0; k < n->n_inputs; k++)
    if (n->inputs[k] >= 0 && !is_const(g, n->inputs[k])) return 0;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]];
  mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  int64_t ny = mts_tensor_numel(Y);
  size_t es = mts_dtype_size(X->dtype);
  void *data = NULL;
  switch (n->op) {
  case MTS_OP_RESHAPE:
  case MTS_OP_IDENTITY:
    data = mts_xmalloc((size_t)ny * es + 1);
    memcpy(data, X->data, (size_t)ny * es);
    Y->dtype = X->dtype;
    break;
  case MTS_OP_UNARY: {
    if (X->dtype != MTS_F32) return 0;
    float *y = mts_xmalloc((size_t)ny * 4 + 1);
    const float *x = X->data;
    for (int64_t i = 0; i < ny; i++) y[i] = mts__unary_eval(n->attr.unary, n->attr.alpha, n->attr.beta, x[i]);
    data = y;
    break;
  }
  case MTS_OP_BINARY: {
    const mts_tensor_t *B = &g->tensors[n->inputs[1]];
    if (X->dtype != MTS_F32 || B->dtype != MTS_F32) return 0;
    float *y = mts_xmalloc((size_t)ny * 4 + 1);
    int64_t idx[MTS_MAX_DIMS] = {0};
    for (int64_t i = 0; i < ny; i++) {
      float a = ((const float *)X->data)[mts__bcast_offset(Y->ndim, idx, X->ndim, X->dims)];
      float b = ((const float *)B->data)[mts__bcast_offset(Y->ndim, idx, B->ndim, B->dims)];
      y[i] = mts__binary_eval(n->attr.binary, a, b);
      for (int d = Y->ndim - 1; d >= 0; d--) {
        if (++idx[d] < Y->dims[d]) break;
        idx[d] = 0;
      }
    }
    data = y;
    break;
  }
  case MTS_OP_CONCAT: {
    int64_t ax = n->attr.axis < 0 ? n->attr.axis + Y->ndim : n->attr.axis, outer = 1, base = 0;
    for (int k = 0; k < n->n_inputs; k++)
      if (g->tensors[n->inputs[k]].dtype != X->dtype) return 0;
    for (int d = 0; d < ax; d++) outer *= Y->dims[d];
    int64_t yrow = ny / outer;
    char *y = mts_xmalloc((size_t)ny * es + 1);
    for (int k = 0; k < n->n_inputs; k++) {
      const mts_tensor_t *T = &g->tensors[n->inputs[k]];
      int64_t row = mts_tensor_numel(T) / outer;
      for (int64_t o = 0; o < outer; o++)
        memcpy(y + (size_t)(o * yrow + base) * es, (const char *)T->data + (size_t)(o * row) * es,
               (size_t)row * es);
      base += row;
    }
    Y->dtype = X->dtype;
    data = y;
    break;
  }
  case MTS_OP_SLICE:
  case MTS_OP_GATHER: {
    /* element offsets into X for every output element, then a copy */
    int nd = X->ndim;
    int64_t xs[MTS_MAX_DIMS], idx[MTS_MAX_DIMS] = {0};
    xs[nd - 1] = 1;
    for (int d = nd - 2; d >= 0; d--) xs[d] = xs[d + 1] * X->dims[d + 1];
    const mts_tensor_t *I = n->op == MTS_OP_GATHER ? &g->tensors[n->inputs[1]] : NULL;
    if (I && I->dtype != MTS_I64 && I->dtype != MTS_I32) return 0;
    int64_t ax = n->attr.axis < 0 ? n->attr.axis + nd : n->attr.axis;
    char *y = mts_xmalloc((size_t)ny * es + 1);
    for (int64_t i = 0; i < ny; i++) {
      int64_t off = 0;
      if (!I) {
        for (int d = 0; d < nd; d++) {
          int64_t st = n->attr.ints[d], sp = n->attr.ints[2 * nd + d], dim = X->dims[d];
          if (st < 0) st += dim;
          st = sp > 0 ? (st < 0 ? 0 : st > dim ? dim : st) : (st < 0 ? 0 : st > dim - 1 ? dim - 1 : st);
          off += (st + idx[d] * sp) * xs[d];
        }
      } else {
        int64_t flat = 0;
        for (int d = 0; d < I->ndim; d++) flat = flat * I->dims[d] + idx[ax + d];
        int64_t k = I->dtype == MTS_I64 ? ((const int64_t *)I->data)[flat]
                                        : ((const int32_t *)I->data)[flat];
        if (k < 0) k += X->dims[ax];
        if (k < 0 || k >= X->dims[ax]) {
          free(y);
          return 0; /* left for the executor to report */
        }
        for (int d = 0; d < ax; d++) off += idx[d] * xs[d];
        off += k * xs[ax];
        for (int d = (int)ax + 1; d < nd; d++) off += idx[d + I->ndim - 1] * xs[d];
      }
      memcpy(y + (size_t)i * es, (const char *)X->data + (size_t)off * es, es);
      for (int d = Y->ndim - 1; d >= 0; d--) {
        if (++idx[d] < Y->dims[d]) break;
        idx[d] = 0;
      }
    }
    Y->dtype = X->dtype;
    data = y;
    break;
  }
  case MTS_OP_TRANSPOSE: {
    char *y = mts_xmalloc((size_t)ny * es + 1);
    int64_t xs[MTS_MAX_DIMS], idx[MTS_MAX_DIMS] = {0};
    int nd = X->ndim;
    xs[nd - 1] = 1;
    for (int d = nd - 2; d >= 0; d--) xs[d] = xs[d + 1] * X->dims[d + 1];
    for (int64_t i = 0; i < ny; i++) {
      int64_t off = 0;
      for (int d = 0; d < nd; d++) off += idx[d] * xs[n->attr.ints[d]];
      memcpy(y + (size_t)i * es, (const char *)X->data + (size_t)off * es, es);
      for (int d = nd - 1; d >= 0; d--) {
        if (++idx[d] < Y->dims[d]) break;
        idx[d] = 0;
      }
    }
    Y->dtype = X->dtype;
    data = y;
    break;
  }
  default:
    return 0;
  }
  Y->data = data;
  Y->producer = -1;
  return 1;
}

static int fold_bn(mts_graph_t *g, char *dead, int bi) {
  mts_node_t *bn = &g->nodes[bi];
  int x = bn->inputs[0];
  int ci = g->tensors[x].producer;
  if (ci < 0 || dead[ci]) return 0;
  mts_node_t *cv = &g->nodes[ci];
  if (cv->op != MTS_OP_CONV || cv->n_post || cv->outputs[0] != x) return 0;
  if (uses(g, dead, x) != 1 || is_output(g, x)) return 0;
  for (int k = 1; k < 5; k++)
    if (!is_const(g, bn->inputs[k]) || g->tensors[bn->inputs[k]].dtype != MTS_F32) return 0;
  int wt = cv->inputs[1], bt = cv->n_inputs > 2 ? cv->inputs[2] : -1;
  if (!is_const(g, wt) || (bt >= 0 && !is_const(g, bt))) return 0;
  const mts_tensor_t *W = &g->tensors[wt];
  int64_t O = W->dims[0], per = mts_tensor_numel(W) / O;
  const float *sc = g->tensors[bn->inputs[1]].data, *sh = g->tensors[bn->inputs[2]].data;
  const float *mu = g->tensors[bn->inputs[3]].data, *var = g->tensors[bn->inputs[4]].data;
  const float *b = bt >= 0 ? g->tensors[bt].data : NULL;
  /* Weights read by this convolution alone are scaled in place (a copy of
   * ResNet-50's 100 MB cost ~0.1 s of its load, mostly first touches). */
  int own = uses(g, dead, wt) == 1 && !is_output(g, wt);
  float *w = W->data, *nw = own ? w : mts_xmalloc((size_t)(O * per) * 4), *nb = mts_xmalloc((size_t)O * 4);
  for (int64_t o = 0; o < O; o++) {
    float s = sc[o] / sqrtf(var[o] + bn->attr.epsilon);
    for (int64_t k = 0; k < per; k++) nw[o * per + k] = w[o * per + k] * s;
    nb[o] = ((b ? b[o] : 0.0f) - mu[o]) * s + sh[o];
  }
  char name[512];
  int64_t wd[MTS_MAX_DIMS];
  int wnd = W->ndim;
  memcpy(wd, W->dims, sizeof wd);
  int nwt = wt;
  if (!own) {
    snprintf(name, sizeof name, "%s.W_bnfold", cv->name);
    nwt = mts_graph_add_const(g, name, MTS_F32, wnd, wd, nw);
  }
  snprintf(name, sizeof name, "%s.B_bnfold", cv->name);
  int nbt = mts_graph_add_const(g, name, MTS_F32, 1, &O, nb);
  if (nwt < 0 || nbt < 0) return nwt < 0 ? nwt : nbt;
  /* g->nodes is stable (only tensors were appended) */
  cv = &g->nodes[ci];
  bn = &g->nodes[bi];
  cv->inputs[1] = nwt;
  cv->inputs[2] = nbt;
  cv->n_inputs = 3;
  cv->outputs[0] = bn->outputs[0];
  g->tensors[bn->outputs[0]].producer = ci;
  dead[bi] = 1;
  return 1;
}

static int fusable_producer(const mts_graph_t *g, const char *dead, int t) {
  int p = g->tensors[t].producer;
  if (p < 0 || dead[p]) return -1;
  const mts_node_t *n = &g->nodes[p];
  if (n->op != MTS_OP_CONV && n->op != MTS_OP_GEMM && n->op != MTS_OP_MATMUL) return -1;
  if (n->n_outputs != 1 || n->outputs[0] != t || n->n_post >= MTS_MAX_POSTOPS) return -1;
  if (uses(g, dead, t) != 1 || is_output(g, t)) return -1;
  return p;
}

static int same_shape(const mts_tensor_t *a, const mts_tensor_t *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

static int fuse_add(mts_graph_t *g, char *dead, int ai) {
  mts_node_t *ad = &g->nodes[ai];
  const mts_tensor_t *Y = &g->tensors[ad->outputs[0]];
  int best = -1, other = -1;
  for (int k = 0; k < 2; k++) {
    int t = ad->inputs[k], o = ad->inputs[1 - k];
    if (!same_shape(&g->tensors[t], Y) || !same_shape(&g->tensors[o], Y)) continue;
    int p = fusable_producer(g, dead, t);
    if (p < 0) continue;
    const mts_node_t *pn = &g->nodes[p];
    int has_sum = 0;
    for (int q = 0; q < pn->n_post; q++) has_sum |= pn->post[q].kind == MTS_POST_SUM;
    if (has_sum || pn->n_post) continue; /* oneDNN handles sum best as the first post-op */
    /* the other operand must exist when the producer runs */
    int op = g->tensors[o].producer;
    if (op >= p) continue;
    if (o == t) continue;
    if (best < 0 || p > best) {
      best = p;
      other = o;
    }
  }
  if (best < 0) return 0;
  mts_node_t *pn = &g->nodes[best];
  mts_postop_t *po = &pn->post[pn->n_post++];
  memset(po, 0, sizeof *po);
  po->kind = MTS_POST_SUM;
  po->tensor = other;
  po->unary = -1;
  pn->outputs[0] = ad->outputs[0];
  g->tensors[ad->outputs[0]].producer = best;
  dead[ai] = 1;
  return 1;
}

/* MatMul(x, W) + b with constant W and a constant b that varies only along
 * the last dim (a Linear layer as PyTorch exports it for rank > 2) -> the
 * MatMul carries b as a third input, its bias; only for the executor
 * (mts__graph_optimize_exec), since ONNX's MatMul has no bias input.  Lets
 * a following activation or residual Add fuse as a post-op too. */
static int fuse_bias(mts_graph_t *g, char *dead, int ai) {
  mts_node_t *ad = &g->nodes[ai];
  const mts_tensor_t *Y = &g->tensors[ad->outputs[0]];
  for (int k = 0; k < 2; k++) {
    int t = ad->inputs[k], c = ad->inputs[1 - k];
    if (!is_const(g, c) || g->tensors[c].dtype != MTS_F32 || !same_shape(&g->tensors[t], Y))
      continue;
    const mts_tensor_t *C = &g->tensors[c];
    int64_t N = Y->dims[Y->ndim - 1];
    if (C->ndim < 1 || C->ndim > Y->ndim || C->dims[C->ndim - 1] != N || mts_tensor_numel(C) != N)
      continue;
    int p = fusable_producer(g, dead, t);
    if (p < 0) continue;
    mts_node_t *pn = &g->nodes[p];
    if (pn->op != MTS_OP_MATMUL || pn->n_inputs != 2 || pn->n_post || !is_const(g, pn->inputs[1]))
      continue;
    pn->inputs[pn->n_inputs++] = c;
    pn->outputs[0] = ad->outputs[0];
    g->tensors[ad->outputs[0]].producer = p;
    dead[ai] = 1;
    return 1;
  }
  return 0;
}

static int fuse_unary(mts_graph_t *g, char *dead, int ui) {
  mts_node_t *un = &g->nodes[ui];
  if (!mts__unary_is_eltwise(un->attr.unary)) return 0;
  int p = fusable_producer(g, dead, un->inputs[0]);
  if (p < 0) return 0;
  mts_node_t *pn = &g->nodes[p];
  mts_postop_t *po = &pn->post[pn->n_post++];
  memset(po, 0, sizeof *po);
  po->kind = MTS_POST_UNARY;
  po->unary = un->attr.unary;
  po->alpha = un->attr.alpha;
  po->beta = un->attr.beta;
  po->tensor = -1;
  pn->outputs[0] = un->outputs[0];
  g->tensors[un->outputs[0]].producer = p;
  dead[ui] = 1;
  return 1;
}

/* x op c (or c op x) with a constant scalar c -> a unary node, and x * x ->
 * Pow 2; 1 if done. */
static int scalar_to_unary(mts_graph_t *g, int ni) {
  mts_node_t *n = &g->nodes[ni];
  if (n->op != MTS_OP_BINARY || n->n_inputs != 2) return 0;
  if (n->attr.binary == MTS_BINARY_MUL && n->inputs[0] == n->inputs[1]) { /* x * x */
    n->op = MTS_OP_UNARY;
    n->n_inputs = 1;
    memset(&n->attr, 0, sizeof n->attr);
    n->attr.unary = MTS_UNARY_POW;
    n->attr.alpha = 2.0f;
    return 1;
  }
  int ci = -1;
  for (int k = 0; k < 2; k++) {
    const mts_tensor_t *T = &g->tensors[n->inputs[k]];
    if (T->data && T->dtype == MTS_F32 && mts_tensor_numel(T) == 1) ci = k;
  }
  if (ci < 0) return 0;
  int xi = n->inputs[1 - ci];
  if (is_const(g, xi) || !same_shape(&g->tensors[xi], &g->tensors[n->outputs[0]])) return 0;
  float c = *(const float *)g->tensors[n->inputs[ci]].data;
  int u = MTS_UNARY_LINEAR;
  float a = 1, b = 0;
  switch (n->attr.binary) {
  case MTS_BINARY_ADD: b = c; break;
  case MTS_BINARY_SUB: a = ci == 1 ? 1 : -1; b = ci == 1 ? -c : c; break;
  case MTS_BINARY_MUL: a = c; break;
  case MTS_BINARY_DIV:
    if (ci == 0 || c == 0) return 0;
    a = 1.0f / c;
    break;
  case MTS_BINARY_POW:
    if (ci == 0) return 0;
    u = MTS_UNARY_POW;
    a = c;
    break;
  case MTS_BINARY_MAX: u = MTS_UNARY_CLIP; a = c; b = INFINITY; break;
  case MTS_BINARY_MIN: u = MTS_UNARY_CLIP; a = -INFINITY; b = c; break;
  default: return 0;
  }
  n->op = MTS_OP_UNARY;
  n->n_inputs = 1;
  n->inputs[0] = xi;
  memset(&n->attr, 0, sizeof n->attr);
  n->attr.unary = u;
  n->attr.alpha = a;
  n->attr.beta = b;
  return 1;
}

/* Linear(Linear(x)) -> one Linear, when the inner result has no other use. */
static int merge_linear(mts_graph_t *g, char *dead, int ni) {
  mts_node_t *n = &g->nodes[ni];
  if (n->op != MTS_OP_UNARY || n->attr.unary != MTS_UNARY_LINEAR) return 0;
  int x = n->inputs[0], p = g->tensors[x].producer;
  if (p < 0 || dead[p]) return 0;
  mts_node_t *pn = &g->nodes[p];
  if (pn->op != MTS_OP_UNARY || pn->attr.unary != MTS_UNARY_LINEAR || pn->n_post) return 0;
  if (uses(g, dead, x) != 1 || is_output(g, x)) return 0;
  /* a2 (a1 x + b1) + b2 */
  float a1 = pn->attr.alpha, b1 = pn->attr.beta;
  n->attr.beta = n->attr.alpha * b1 + n->attr.beta;
  n->attr.alpha *= a1;
  n->inputs[0] = pn->inputs[0];
  dead[p] = 1;
  return 1;
}

/* ---- decomposed LayerNorm / GELU (exports before opset 17 / 20) ---------- */

/* The node consuming t when it has exactly one consumer; -1 otherwise. */
static int only_consumer(const mts_graph_t *g, const char *dead, int t) {
  if (is_output(g, t) || uses(g, dead, t) != 1) return -1;
  for (int i = 0; i < g->n_nodes; i++) {
    if (dead[i]) continue;
    for (int k = 0; k < g->nodes[i].n_inputs; k++)
      if (g->nodes[i].inputs[k] == t) return i;
  }
  return -1;
}

static int is_unary(const mts_graph_t *g, int ni, int u) {
  return ni >= 0 && g->nodes[ni].op == MTS_OP_UNARY && g->nodes[ni].attr.unary == u &&
         !g->nodes[ni].n_post;
}

static int is_binary(const mts_graph_t *g, int ni, int b) {
  return ni >= 0 && g->nodes[ni].op == MTS_OP_BINARY && g->nodes[ni].attr.binary == b;
}

/* ReduceMean over the last axis only, keepdims. */
static int is_mean_last(const mts_graph_t *g, int ni) {
  if (ni < 0 || g->nodes[ni].op != MTS_OP_REDUCE_MEAN) return 0;
  const mts_attr_t *a = &g->nodes[ni].attr;
  int r = g->tensors[g->nodes[ni].inputs[0]].ndim;
  return a->keepdims && a->n_ints == 1 && (a->ints[0] == -1 || a->ints[0] == r - 1);
}

/* per-channel constant of the last dim's size */
static int is_vec_const(const mts_graph_t *g, int t, int64_t c) {
  return is_const(g, t) && g->tensors[t].dtype == MTS_F32 && mts_tensor_numel(&g->tensors[t]) == c;
}

/* mean = RM(x); d = x - mean; v = RM(d^2); n = d / sqrt(v + eps);
 * [y = n * gamma]; [y = y + beta]  ->  LayerNormalization(x, gamma, beta) */
static int fuse_layernorm(mts_graph_t *g, char *dead, int r1) {
  if (!is_mean_last(g, r1)) return 0;
  int x = g->nodes[r1].inputs[0], mean = g->nodes[r1].outputs[0];
  int sub = only_consumer(g, dead, mean);
  if (!is_binary(g, sub, MTS_BINARY_SUB) || g->nodes[sub].inputs[0] != x) return 0;
  int d = g->nodes[sub].outputs[0];
  if (is_output(g, d) || uses(g, dead, d) != 2) return 0;
  int pw = -1, dv = -1;
  for (int i = 0; i < g->n_nodes; i++) {
    if (dead[i]) continue;
    const mts_node_t *n = &g->nodes[i];
    if (n->inputs[0] != d) continue;
    if (is_unary(g, i, MTS_UNARY_POW) && n->attr.alpha == 2.0f) pw = i;
    else if (is_binary(g, i, MTS_BINARY_DIV)) dv = i;
  }
  if (pw < 0 || dv < 0) return 0;
  int r2 = only_consumer(g, dead, g->nodes[pw].outputs[0]);
  if (!is_mean_last(g, r2)) return 0;
  int ae = only_consumer(g, dead, g->nodes[r2].outputs[0]);
  if (!is_unary(g, ae, MTS_UNARY_LINEAR) || g->nodes[ae].attr.alpha != 1.0f) return 0;
  int sq = only_consumer(g, dead, g->nodes[ae].outputs[0]);
  if (!is_unary(g, sq, MTS_UNARY_SQRT) || only_consumer(g, dead, g->nodes[sq].outputs[0]) != dv ||
      g->nodes[dv].inputs[1] != g->nodes[sq].outputs[0])
    return 0;
  const mts_tensor_t *X = &g->tensors[x];
  int64_t c = X->dims[X->ndim - 1];
  int last = dv, gamma = -1, beta = -1;
  int ml = only_consumer(g, dead, g->nodes[dv].outputs[0]);
  if (is_binary(g, ml, MTS_BINARY_MUL)) {
    const mts_node_t *n = &g->nodes[ml];
    int o = n->inputs[0] == g->nodes[dv].outputs[0] ? n->inputs[1] : n->inputs[0];
    if (is_vec_const(g, o, c)) {
      gamma = o;
      last = ml;
      int ad = only_consumer(g, dead, n->outputs[0]);
      if (is_binary(g, ad, MTS_BINARY_ADD)) {
        const mts_node_t *m = &g->nodes[ad];
        int b = m->inputs[0] == n->outputs[0] ? m->inputs[1] : m->inputs[0];
        if (is_vec_const(g, b, c)) {
          beta = b;
          last = ad;
        }
      }
    }
  }
  if (last == dv) gamma = -1;
  if (gamma < 0) { /* no scale: use ones */
    float *ones = mts_xmalloc((size_t)c * sizeof(float));
    for (int64_t i = 0; i < c; i++) ones[i] = 1.0f;
    char nm[300];
    snprintf(nm, sizeof nm, "%s.ln_scale", g->nodes[r1].name);
    gamma = mts_graph_add_const(g, nm, MTS_F32, 1, &c, ones);
    if (gamma < 0) return gamma;
  }
  /* reuse the first node as the LayerNorm */
  mts_node_t *n = &g->nodes[r1];
  int y = g->nodes[last].outputs[0];
  float eps = g->nodes[ae].attr.beta;
  int kill[6] = {sub, pw, r2, ae, sq, dv};
  for (int i = 0; i < 6; i++) dead[kill[i]] = 1;
  if (last != dv) dead[ml] = 1; /* the scale was matched */
  if (last != dv && last != ml) dead[last] = 1; /* and the shift */
  memset(&n->attr, 0, sizeof n->attr);
  n->op = MTS_OP_LAYERNORM;
  n->attr.axis = -1;
  n->attr.epsilon = eps;
  n->n_inputs = beta >= 0 ? 3 : 2;
  n->inputs[0] = x;
  n->inputs[1] = gamma;
  n->inputs[2] = beta;
  n->outputs[0] = y;
  g->tensors[y].producer = r1;
  return 1;
}

static int is_linear(const mts_graph_t *g, int ni, float a, float b) {
  return is_unary(g, ni, MTS_UNARY_LINEAR) && fabsf(g->nodes[ni].attr.alpha - a) < 1e-4f &&
         fabsf(g->nodes[ni].attr.beta - b) < 1e-6f;
}

static void make_gelu(mts_graph_t *g, int ni, int x) {
  mts_node_t *n = &g->nodes[ni];
  n->op = MTS_OP_UNARY;
  n->n_inputs = 1;
  n->inputs[0] = x;
  memset(&n->attr, 0, sizeof n->attr);
  n->attr.unary = MTS_UNARY_GELU;
}

/* x * 0.5 * (1 + erf(x / sqrt 2)) in its usual exported orders -> Gelu. */
static int fuse_gelu(mts_graph_t *g, char *dead, int ei) {
  if (!is_unary(g, ei, MTS_UNARY_ERF)) return 0;
  int l1 = g->tensors[g->nodes[ei].inputs[0]].producer;
  if (l1 < 0 || dead[l1] || !is_linear(g, l1, 0.70710678f, 0) ||
      only_consumer(g, dead, g->nodes[l1].outputs[0]) != ei)
    return 0;
  int x = g->nodes[l1].inputs[0];
  int l2 = only_consumer(g, dead, g->nodes[ei].outputs[0]);
  int half = is_linear(g, l2, 0.5f, 0.5f);
  if (!half && !is_linear(g, l2, 1, 1)) return 0;
  int m = only_consumer(g, dead, g->nodes[l2].outputs[0]);
  if (!is_binary(g, m, MTS_BINARY_MUL)) return 0;
  const mts_node_t *M = &g->nodes[m];
  int o = M->inputs[0] == g->nodes[l2].outputs[0] ? M->inputs[1] : M->inputs[0];
  if (half) {
    if (o != x) return 0;
    make_gelu(g, m, x);
  } else if (o == x) {
    int l3 = only_consumer(g, dead, M->outputs[0]);
    if (!is_linear(g, l3, 0.5f, 0)) return 0;
    dead[m] = 1;
    make_gelu(g, l3, x);
  } else {
    int h = g->tensors[o].producer;
    if (h < 0 || dead[h] || !is_linear(g, h, 0.5f, 0) || g->nodes[h].inputs[0] != x ||
        only_consumer(g, dead, o) != m)
      return 0;
    dead[h] = 1;
    make_gelu(g, m, x);
  }
  dead[l1] = dead[ei] = dead[l2] = 1;
  return 1;
}

static int drop_identity(mts_graph_t *g, char *dead, int ii) {
  mts_node_t *n = &g->nodes[ii];
  int x = n->inputs[0], y = n->outputs[0];
  int px = g->tensors[x].producer;
  if (!is_output(g, y)) {
    replace_uses(g, dead, y, x);
  } else if (px >= 0 && !is_output(g, x) && g->nodes[px].n_outputs == 1) {
    /* y is observable: let x's producer write y directly */
    dead[ii] = 1;
    replace_uses(g, dead, x, y);
    g->nodes[px].outputs[0] = y;
    g->tensors[y].producer = px;
    return 1;
  } else {
    return 0;
  }
  dead[ii] = 1;
  return 1;
}

static int optimize(mts_graph_t *g, int exec) {
  int rc = mts_graph_infer_shapes(g);
  if (rc) return rc;
  char *dead = mts_xcalloc((size_t)g->n_nodes + 1, 1);
  for (int i = 0; i < g->n_nodes; i++)
    if (fold_const(g, i)) dead[i] = 1;
  for (int i = 0; i < g->n_nodes; i++)
    if (!dead[i]) scalar_to_unary(g, i);
  for (int i = 0; i < g->n_nodes; i++)
    if (!dead[i]) merge_linear(g, dead, i);
  for (int i = 0; i < g->n_nodes; i++)
    if (!dead[i] && g->nodes[i].op == MTS_OP_IDENTITY) drop_identity(g, dead, i);
  for (int i = 0; i < g->n_nodes; i++) {
    if (dead[i]) continue;
    int r = fuse_layernorm(g, dead, i);
    if (r < 0) {
      rc = r;
      goto out;
    }
    if (!r) fuse_gelu(g, dead, i);
  }
  for (int i = 0; i < g->n_nodes; i++) {
    if (dead[i]) continue;
    mts_op_t op = g->nodes[i].op;
    int r = 0;
    if (op == MTS_OP_BATCHNORM) r = fold_bn(g, dead, i);
    else if (op == MTS_OP_BINARY && g->nodes[i].attr.binary == MTS_BINARY_ADD)
      r = (exec && fuse_bias(g, dead, i)) || fuse_add(g, dead, i);
    else if (op == MTS_OP_UNARY) r = fuse_unary(g, dead, i);
    if (r < 0) {
      rc = r;
      goto out;
    }
  }
  /* compact */
  int w = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    if (dead[i]) {
      free(g->nodes[i].name);
      continue;
    }
    g->nodes[w++] = g->nodes[i];
  }
  g->n_nodes = w;
  for (int t = 0; t < g->n_tensors; t++)
    if (!g->tensors[t].data) g->tensors[t].producer = -1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_outputs; k++) g->tensors[g->nodes[i].outputs[k]].producer = i;
out:
  free(dead);
  return rc;
}

int mts_graph_optimize(mts_graph_t *g) { return optimize(g, 0); }

int mts__graph_optimize_exec(mts_graph_t *g) { return optimize(g, 1); }
