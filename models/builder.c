/* builder.c — the zoo's builder API (see builder.h). */
#include "models/builder.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/graph_int.h"
#include "runtime/mts.h"

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

float mb_uniform(mb_t *b) { return (float)(splitmix64(&b->rng) >> 40) / 16777216.0f; }

int mb_init(mb_t *b, const char *name, uint64_t seed) {
  memset(b, 0, sizeof *b);
  b->rng = seed;
  return mts_graph_create(name, &b->g);
}

void mb_prefix(mb_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->prefix, sizeof b->prefix, fmt, ap);
  va_end(ap);
}

static const char *nm(mb_t *b, const char *name, char *buf, size_t n) {
  if (!name) return NULL;
  if (b->prefix[0]) snprintf(buf, n, "%s.%s", b->prefix, name);
  else snprintf(buf, n, "%s", name);
  return buf;
}

static int fail(mb_t *b, int rc) {
  if (!b->err) b->err = rc < 0 ? rc : MTS_EINVAL;
  return -1;
}

const mts_tensor_t *mb_t_(mb_t *b, int t) { return &b->g->tensors[t]; }

int mb_finish(mb_t *b, int out, mts_graph_t **g) {
  *g = NULL;
  if (!b->err && out >= 0) {
    int in = 0;
    int rc = mts_graph_set_io(b->g, 1, &in, 1, &out);
    if (!rc) rc = mts_graph_infer_shapes(b->g);
    if (rc) b->err = rc;
  }
  if (b->err) {
    mts_graph_destroy(b->g);
    b->g = NULL;
    return b->err;
  }
  *g = b->g;
  b->g = NULL;
  return 0;
}

int mb_input(mb_t *b, const char *name, int ndim, const int64_t *dims) {
  if (b->err) return -1;
  int t = mts_graph_add_tensor(b->g, name, MTS_F32, ndim, dims);
  return t < 0 ? fail(b, t) : t;
}

int mb_const(mb_t *b, const char *name, int ndim, const int64_t *dims, float lo, float hi) {
  if (b->err) return -1;
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= dims[i];
  float *d = malloc((size_t)(n ? n : 1) * sizeof(float));
  if (!d) return fail(b, mts_seterr(MTS_ENOMEM, "builder: constant of %lld floats", (long long)n));
  for (int64_t i = 0; i < n; i++) d[i] = lo + (hi - lo) * mb_uniform(b);
  char buf[160];
  int t = mts_graph_add_const(b->g, nm(b, name, buf, sizeof buf), MTS_F32, ndim, dims, d);
  return t < 0 ? fail(b, t) : t;
}

int mb_node(mb_t *b, const char *name, mts_op_t op, int n_in, const int *in,
            const mts_attr_t *attr) {
  if (b->err) return -1;
  char buf[160], uniq[200], tb[220];
  const char *nn = nm(b, name ? name : mts_op_name(op), buf, sizeof buf);
  if (!name) {
    snprintf(uniq, sizeof uniq, "%s_%d", buf, b->g->n_nodes);
    nn = uniq;
  }
  snprintf(tb, sizeof tb, "%s:0", nn);
  int y = mts_graph_add_tensor(b->g, tb, MTS_F32, 0, NULL);
  if (y < 0) return fail(b, y);
  int ni = mts_graph_add_node(b->g, nn, op, n_in, in, 1, &y, attr);
  if (ni < 0) return fail(b, ni);
  if (op != MTS_OP_RESHAPE) {
    int rc = mts__infer_node(b->g, ni);
    if (rc) return fail(b, rc);
  }
  return y;
}

int mb_reshape(mb_t *b, int x, int ndim, const int64_t *dims) {
  if (b->err) return -1;
  int y = mb_node(b, NULL, MTS_OP_RESHAPE, 1, &x, NULL);
  if (y < 0) return -1;
  mts_tensor_t *Y = &b->g->tensors[y];
  Y->ndim = ndim;
  memcpy(Y->dims, dims, sizeof(int64_t) * (size_t)ndim);
  int rc = mts__infer_node(b->g, b->g->n_nodes - 1);
  return rc ? fail(b, rc) : y;
}

int mb_conv(mb_t *b, const char *name, int x, int64_t cout, int64_t k, int64_t stride,
            int64_t pad, int64_t group, int bias) {
  if (b->err) return -1;
  const mts_tensor_t *X = mb_t_(b, x);
  int64_t cin = X->dims[1] / group;
  int64_t wd[4] = {cout, cin, k, k};
  /* He-uniform: var = 2 / fan_in */
  float a = sqrtf(6.0f / (float)(cin * k * k));
  char wn[128];
  snprintf(wn, sizeof wn, "%s.weight", name);
  int in[3] = {x, mb_const(b, wn, 4, wd, -a, a), -1};
  int nin = 2;
  if (bias) {
    snprintf(wn, sizeof wn, "%s.bias", name);
    in[2] = mb_const(b, wn, 1, &cout, -0.05f, 0.05f);
    nin = 3;
  }
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.nsp = 2;
  at.kernel[0] = at.kernel[1] = k;
  at.stride[0] = at.stride[1] = stride;
  at.dilation[0] = at.dilation[1] = 1;
  for (int i = 0; i < 4; i++) at.pad[i] = pad;
  at.group = group;
  return mb_node(b, name, MTS_OP_CONV, nin, in, &at);
}

int mb_bn(mb_t *b, const char *name, int x, float glo, float ghi, float eps) {
  if (b->err) return -1;
  int64_t c = mb_t_(b, x)->dims[1];
  char n1[128], n2[128], n3[128], n4[128];
  snprintf(n1, sizeof n1, "%s.weight", name);
  snprintf(n2, sizeof n2, "%s.bias", name);
  snprintf(n3, sizeof n3, "%s.running_mean", name);
  snprintf(n4, sizeof n4, "%s.running_var", name);
  int in[5] = {x, mb_const(b, n1, 1, &c, glo, ghi), mb_const(b, n2, 1, &c, -0.1f, 0.1f),
               mb_const(b, n3, 1, &c, -0.1f, 0.1f), mb_const(b, n4, 1, &c, 0.5f, 1.5f)};
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.epsilon = eps;
  return mb_node(b, name, MTS_OP_BATCHNORM, 5, in, &at);
}

int mb_unary(mb_t *b, int x, int u, float alpha, float beta) {
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.unary = u;
  at.alpha = alpha;
  at.beta = beta;
  return mb_node(b, NULL, MTS_OP_UNARY, 1, &x, &at);
}

int mb_act(mb_t *b, int x, int act) {
  if (act == MB_RELU) return mb_unary(b, x, MTS_UNARY_RELU, 0, 0);
  if (act == MB_RELU6) return mb_unary(b, x, MTS_UNARY_CLIP, 0, 6);
  return x;
}

int mb_conv_bn(mb_t *b, const char *name, int x, int64_t cout, int64_t k, int64_t stride,
               int64_t pad, int64_t group, int act) {
  char cn[128], bn[128];
  snprintf(cn, sizeof cn, "%s.conv", name);
  snprintf(bn, sizeof bn, "%s.bn", name);
  int y = mb_conv(b, cn, x, cout, k, stride, pad, group, 0);
  y = mb_bn(b, bn, y, 0.8f, 1.2f, 1e-5f);
  return mb_act(b, y, act);
}

int mb_pool(mb_t *b, mts_op_t op, int x, int64_t k, int64_t stride, int64_t pad, int ceil) {
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.nsp = 2;
  at.kernel[0] = at.kernel[1] = k;
  at.stride[0] = at.stride[1] = stride;
  at.dilation[0] = at.dilation[1] = 1;
  for (int i = 0; i < 4; i++) at.pad[i] = pad;
  at.ceil_mode = ceil;
  return mb_node(b, NULL, op, 1, &x, &at);
}

int mb_gap(mb_t *b, int x) { return mb_node(b, NULL, MTS_OP_GLOBAL_AVGPOOL, 1, &x, NULL); }

int mb_binary(mb_t *b, int bop, int x, int y) {
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.binary = bop;
  int in[2] = {x, y};
  return mb_node(b, NULL, MTS_OP_BINARY, 2, in, &at);
}

int mb_concat(mb_t *b, int n, const int *xs, int64_t axis) {
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.axis = axis;
  return mb_node(b, NULL, MTS_OP_CONCAT, n, xs, &at);
}

int mb_flatten(mb_t *b, int x) {
  if (b->err) return -1;
  const mts_tensor_t *X = mb_t_(b, x);
  int64_t d[2] = {X->dims[0], mts_tensor_numel(X) / X->dims[0]};
  return mb_reshape(b, x, 2, d);
}

int mb_fc(mb_t *b, const char *name, int x, int64_t nout) {
  if (b->err) return -1;
  int64_t k = mb_t_(b, x)->dims[1];
  int64_t wd[2] = {nout, k};
  float a = sqrtf(3.0f / (float)k);
  char wn[128], bn[128];
  snprintf(wn, sizeof wn, "%s.weight", name);
  snprintf(bn, sizeof bn, "%s.bias", name);
  int in[3] = {x, mb_const(b, wn, 2, wd, -a, a), mb_const(b, bn, 1, &nout, -0.05f, 0.05f)};
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.alpha = 1.0f;
  at.beta = 1.0f;
  at.trans_b = 1;
  return mb_node(b, name, MTS_OP_GEMM, 3, in, &at);
}

int mb_matmul(mb_t *b, int x, int y) {
  int in[2] = {x, y};
  return mb_node(b, NULL, MTS_OP_MATMUL, 2, in, NULL);
}

int mb_transpose(mb_t *b, int x, int n, const int64_t *perm) {
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.n_ints = n;
  for (int i = 0; i < n; i++) at.ints[i] = perm[i];
  return mb_node(b, NULL, MTS_OP_TRANSPOSE, 1, &x, &at);
}

int mb_softmax(mb_t *b, int x, int64_t axis) {
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.axis = axis;
  return mb_node(b, NULL, MTS_OP_SOFTMAX, 1, &x, &at);
}

int mb_layernorm(mb_t *b, const char *name, int x, float eps) {
  if (b->err) return -1;
  const mts_tensor_t *X = mb_t_(b, x);
  int64_t c = X->dims[X->ndim - 1];
  char n1[128], n2[128];
  snprintf(n1, sizeof n1, "%s.weight", name);
  snprintf(n2, sizeof n2, "%s.bias", name);
  int in[3] = {x, mb_const(b, n1, 1, &c, 0.8f, 1.2f), mb_const(b, n2, 1, &c, -0.1f, 0.1f)};
  mts_attr_t at;
  memset(&at, 0, sizeof at);
  at.axis = -1;
  at.epsilon = eps;
  return mb_node(b, name, MTS_OP_LAYERNORM, 3, in, &at);
}
