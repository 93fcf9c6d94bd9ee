/* graph.c — the graph IR: construction, shape inference, topological sort,
 * content hash and FLOP counts (see graph.h).  The inference optimisations
 * (BatchNorm folding, post-op fusion, constant folding) live in graph_opt.c.
 *
 * Shape inference follows ONNX semantics for every op in mts_op_t; it runs in
 * node order, so frontends call mts_graph_toposort() first when they emit
 * nodes out of order. */
#include "runtime/graph.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/graph_int.h"
#include "runtime/mts.h"

static const char *const op_names[] = {
    "Conv",      "MaxPool",   "AveragePool", "GlobalAveragePool",
    "Gemm",      "MatMul",    "Unary",       "Binary",
    "BatchNormalization",     "Concat",      "Split",
    "Slice",     "Reshape",   "Transpose",   "Gather",
    "Softmax",   "LayerNormalization",       "ReduceMean",
    "Pad",       "LRN",       "Identity"};
static_assert(sizeof op_names / sizeof op_names[0] == MTS_OP_COUNT, "op names");

static const char *const unary_names[] = {
    "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
    "Erf",  "Gelu", "Sqrt",    "Exp",         "Log",       "Abs",
    "Neg",  "Reciprocal",      "Pow",         "Linear"};
static_assert(sizeof unary_names / sizeof unary_names[0] == MTS_UNARY_COUNT,
              "unary names");

static const char *const binary_names[] = {"Add", "Sub", "Mul", "Div",
                                           "Pow", "Max", "Min"};
static_assert(sizeof binary_names / sizeof binary_names[0] == MTS_BINARY_COUNT,
              "binary names");

const char *mts_op_name(mts_op_t op) {
  return (unsigned)op < MTS_OP_COUNT ? op_names[op] : "?";
}
const char *mts_unary_name(int u) {
  return (unsigned)u < MTS_UNARY_COUNT ? unary_names[u] : "?";
}
const char *mts_binary_name(int b) {
  return (unsigned)b < MTS_BINARY_COUNT ? binary_names[b] : "?";
}

size_t mts_dtype_size(mts_dtype_t t) {
  switch (t) {
  case MTS_F32: return 4;
  case MTS_I64: return 8;
  case MTS_I32: return 4;
  case MTS_U8: return 1;
  case MTS_BOOL: return 1;
  default: return 0;
  }
}

int mts_graph_create(const char *name, mts_graph_t **out) {
  *out = NULL;
  mts_graph_t *g = mts_xcalloc(1, sizeof *g);
  g->name = mts_xstrdup(name ? name : "graph");
  *out = g;
  return 0;
}

void mts_graph_destroy(mts_graph_t *g) {
  if (!g) return;
  for (int i = 0; i < g->n_tensors; i++) {
    free(g->tensors[i].name);
    free(g->tensors[i].data);
  }
  for (int i = 0; i < g->n_nodes; i++) free(g->nodes[i].name);
  free(g->tensors);
  free(g->nodes);
  free(g->name);
  free(g);
}

static int add_tensor(mts_graph_t *g, const char *name, mts_dtype_t dtype,
                      int ndim, const int64_t *dims, void *data) {
  if (ndim < 0 || ndim > MTS_MAX_DIMS || (unsigned)dtype >= MTS_DTYPE_COUNT)
    return mts_seterr(MTS_EINVAL, "tensor '%s': bad rank %d or dtype %d",
                      name ? name : "?", ndim, (int)dtype);
  if (g->n_tensors == g->cap_tensors) {
    g->cap_tensors = g->cap_tensors ? 2 * g->cap_tensors : 64;
    g->tensors = mts_xrealloc(g->tensors, (size_t)g->cap_tensors * sizeof *g->tensors);
  }
  mts_tensor_t *t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof *t);
  char buf[32];
  if (!name) {
    snprintf(buf, sizeof buf, "t%d", g->n_tensors);
    name = buf;
  }
  t->name = mts_xstrdup(name);
  t->dtype = dtype;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) t->dims[i] = dims ? dims[i] : 0;
  t->data = data;
  t->producer = -1;
  return g->n_tensors++;
}

int mts_graph_add_tensor(mts_graph_t *g, const char *name, mts_dtype_t dtype,
                         int ndim, const int64_t *dims) {
  return add_tensor(g, name, dtype, ndim, dims, NULL);
}

int mts_graph_add_const(mts_graph_t *g, const char *name, mts_dtype_t dtype,
                        int ndim, const int64_t *dims, void *data) {
  if (!data) return mts_seterr(MTS_EINVAL, "constant '%s' without data", name ? name : "?");
  int r = add_tensor(g, name, dtype, ndim, dims, data);
  if (r < 0) free(data);
  return r;
}

int mts_graph_find_tensor(const mts_graph_t *g, const char *name) {
  for (int i = 0; i < g->n_tensors; i++)
    if (!strcmp(g->tensors[i].name, name)) return i;
  return -1;
}

int mts_graph_add_node(mts_graph_t *g, const char *name, mts_op_t op,
                       int n_in, const int *in, int n_out, const int *out,
                       const mts_attr_t *attr) {
  if ((unsigned)op >= MTS_OP_COUNT || n_in < 0 || n_in > MTS_MAX_INPUTS ||
      n_out < 1 || n_out > MTS_MAX_OUTPUTS)
    return mts_seterr(MTS_EINVAL, "node '%s': bad op or arity", name ? name : "?");
  for (int i = 0; i < n_in; i++)
    if (in[i] < -1 || in[i] >= g->n_tensors)
      return mts_seterr(MTS_EINVAL, "node '%s': input %d out of range", name ? name : "?", i);
  for (int i = 0; i < n_out; i++)
    if (out[i] < 0 || out[i] >= g->n_tensors)
      return mts_seterr(MTS_EINVAL, "node '%s': output %d out of range", name ? name : "?", i);
  if (g->n_nodes == g->cap_nodes) {
    g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 64;
    g->nodes = mts_xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
  }
  int idx = g->n_nodes;
  mts_node_t *n = &g->nodes[idx];
  memset(n, 0, sizeof *n);
  char buf[48];
  if (!name) {
    snprintf(buf, sizeof buf, "%s_%d", mts_op_name(op), idx);
    name = buf;
  }
  n->name = mts_xstrdup(name);
  n->op = op;
  n->n_inputs = n_in;
  n->n_outputs = n_out;
  for (int i = 0; i < n_in; i++) n->inputs[i] = in[i];
  for (int i = 0; i < n_out; i++) {
    n->outputs[i] = out[i];
    g->tensors[out[i]].producer = idx;
  }
  if (attr) n->attr = *attr;
  g->n_nodes++;
  return idx;
}

int mts_graph_set_io(mts_graph_t *g, int n_in, const int *in, int n_out,
                     const int *out) {
  if (n_in < 0 || n_in > MTS_MAX_INPUTS || n_out < 0 || n_out > MTS_MAX_OUTPUTS)
    return mts_seterr(MTS_EINVAL, "graph '%s': too many inputs/outputs", g->name);
  for (int i = 0; i < n_in; i++) {
    if (in[i] < 0 || in[i] >= g->n_tensors)
      return mts_seterr(MTS_EINVAL, "graph '%s': input %d out of range", g->name, i);
    g->inputs[i] = in[i];
  }
  for (int i = 0; i < n_out; i++) {
    if (out[i] < 0 || out[i] >= g->n_tensors)
      return mts_seterr(MTS_EINVAL, "graph '%s': output %d out of range", g->name, i);
    g->outputs[i] = out[i];
  }
  g->n_inputs = n_in;
  g->n_outputs = n_out;
  return 0;
}

int64_t mts_tensor_numel(const mts_tensor_t *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
  return n;
}

/* ---- shape inference ---------------------------------------------------- */

#define SHAPE_ERR(...) mts_seterr(MTS_ESHAPE, __VA_ARGS__)

static int set_shape(mts_graph_t *g, int t, int ndim, const int64_t *dims) {
  mts_tensor_t *T = &g->tensors[t];
  T->ndim = ndim;
  for (int i = 0; i < ndim; i++) T->dims[i] = dims[i];
  return 0;
}

static int64_t norm_axis(int64_t axis, int rank) {
  return axis < 0 ? axis + rank : axis;
}

/* Output size of a pooling/conv window along one spatial dim. */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t d,
                          int64_t pb, int64_t pe, int ceil_mode) {
  int64_t eff = (k - 1) * d + 1;
  int64_t span = in + pb + pe - eff;
  if (span < 0) return -1;
  int64_t o = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
  /* ONNX/PyTorch: the last window must start inside the input or begin pad */
  if (ceil_mode && (o - 1) * s >= in + pb) o--;
  return o;
}

int mts__broadcast(int na, const int64_t *a, int nb, const int64_t *b,
                   int *nout, int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int64_t da = i < n - na ? 1 : a[i - (n - na)];
    int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
    if (da != db && da != 1 && db != 1) return -1;
    out[i] = da == 1 ? db : da;
  }
  *nout = n;
  return 0;
}

/* Pad amounts (begin[r], end[r]): attr.pad for rank <= 3, else attr.ints
 * holding 2*rank values (attr.pad has room for 6 only). */
const int64_t *mts__pad_list(const mts_attr_t *a, int rank) {
  if (a->n_ints == 2 * rank) return a->ints;
  if (rank <= 3 && a->n_ints == 0) return a->pad;
  return NULL;
}

int mts__infer_node(mts_graph_t *g, int ni) {
  mts_node_t *n = &g->nodes[ni];
  const mts_attr_t *a = &n->attr;
  const char *nm = n->name;
  for (int i = 0; i < n->n_inputs; i++) {
    int t = n->inputs[i];
    if (t < 0) continue;
    const mts_tensor_t *T = &g->tensors[t];
    if (T->ndim == 0 && !T->data && T->producer < 0) {
      int is_in = 0;
      for (int k = 0; k < g->n_inputs; k++) is_in |= g->inputs[k] == t;
      if (!is_in)
        return SHAPE_ERR("node '%s' (%s): input '%s' has no shape", nm,
                         mts_op_name(n->op), T->name);
    }
  }
  const mts_tensor_t *X = n->n_inputs > 0 && n->inputs[0] >= 0 ? &g->tensors[n->inputs[0]] : NULL;
  if (!X && n->op != MTS_OP_CONCAT)
    return SHAPE_ERR("node '%s' (%s): missing first input", nm, mts_op_name(n->op));
  int64_t d[MTS_MAX_DIMS];
  int nd = 0;
  switch (n->op) {
  case MTS_OP_CONV:
  case MTS_OP_MAXPOOL:
  case MTS_OP_AVGPOOL: {
    int nsp = a->nsp;
    if (nsp < 1 || nsp > 3 || X->ndim != nsp + 2)
      return SHAPE_ERR("node '%s' (%s): input '%s' rank %d does not match %d spatial dims",
                       nm, mts_op_name(n->op), X->name, X->ndim, nsp);
    d[0] = X->dims[0];
    d[1] = X->dims[1];
    const int64_t *ks = a->kernel;
    if (n->op == MTS_OP_CONV) {
      if (n->n_inputs < 2 || n->inputs[1] < 0)
        return SHAPE_ERR("node '%s' (Conv): no weights", nm);
      const mts_tensor_t *W = &g->tensors[n->inputs[1]];
      int64_t grp = a->group > 0 ? a->group : 1;
      if (W->ndim != nsp + 2 || W->dims[1] * grp != X->dims[1] || W->dims[0] % grp)
        return SHAPE_ERR("node '%s' (Conv): weights '%s' [%lld,%lld,...] do not fit input "
                         "channels %lld with group %lld",
                         nm, W->name, (long long)W->dims[0], (long long)W->dims[1],
                         (long long)X->dims[1], (long long)grp);
      for (int s = 0; s < nsp; s++)
        if (a->kernel[s] && a->kernel[s] != W->dims[2 + s])
          return SHAPE_ERR("node '%s' (Conv): kernel attr differs from weights", nm);
      ks = W->dims + 2;
      d[1] = W->dims[0];
      if (n->n_inputs > 2 && n->inputs[2] >= 0 &&
          mts_tensor_numel(&g->tensors[n->inputs[2]]) != W->dims[0])
        return SHAPE_ERR("node '%s' (Conv): bias size != %lld output channels", nm,
                         (long long)W->dims[0]);
    }
    for (int s = 0; s < nsp; s++) {
      int64_t st = a->stride[s] ? a->stride[s] : 1;
      int64_t dl = a->dilation[s] ? a->dilation[s] : 1;
      int64_t o = window_out(X->dims[2 + s], ks[s], st, dl, a->pad[s], a->pad[nsp + s],
                             n->op != MTS_OP_CONV && a->ceil_mode);
      if (o <= 0 || ks[s] <= 0)
        return SHAPE_ERR("node '%s' (%s): window %lld larger than padded input %lld",
                         nm, mts_op_name(n->op), (long long)ks[s], (long long)X->dims[2 + s]);
      d[2 + s] = o;
    }
    nd = nsp + 2;
    break;
  }
  case MTS_OP_GLOBAL_AVGPOOL:
    if (X->ndim < 3) return SHAPE_ERR("node '%s': GlobalAveragePool needs rank >= 3", nm);
    nd = X->ndim;
    d[0] = X->dims[0];
    d[1] = X->dims[1];
    for (int i = 2; i < nd; i++) d[i] = 1;
    break;
  case MTS_OP_GEMM: {
    if (n->n_inputs < 2) return SHAPE_ERR("node '%s' (Gemm): needs A and B", nm);
    const mts_tensor_t *B = &g->tensors[n->inputs[1]];
    if (X->ndim != 2 || B->ndim != 2)
      return SHAPE_ERR("node '%s' (Gemm): A '%s' and B '%s' must be 2-D (rank %d, %d)",
                       nm, X->name, B->name, X->ndim, B->ndim);
    int64_t M = a->trans_a ? X->dims[1] : X->dims[0];
    int64_t K = a->trans_a ? X->dims[0] : X->dims[1];
    int64_t K2 = a->trans_b ? B->dims[1] : B->dims[0];
    int64_t N = a->trans_b ? B->dims[0] : B->dims[1];
    if (K != K2)
      return SHAPE_ERR("node '%s' (Gemm): inner dims differ (%lld vs %lld)", nm,
                       (long long)K, (long long)K2);
    if (n->n_inputs > 2 && n->inputs[2] >= 0) {
      const mts_tensor_t *C = &g->tensors[n->inputs[2]];
      int64_t mn[2] = {M, N}, tmp[MTS_MAX_DIMS];
      int nt;
      if (mts__broadcast(2, mn, C->ndim, C->dims, &nt, tmp) || nt != 2 || tmp[0] != M ||
          tmp[1] != N)
        return SHAPE_ERR("node '%s' (Gemm): C '%s' does not broadcast to [%lld,%lld]", nm,
                         C->name, (long long)M, (long long)N);
    }
    nd = 2;
    d[0] = M;
    d[1] = N;
    break;
  }
  case MTS_OP_MATMUL: {
    if (n->n_inputs < 2) return SHAPE_ERR("node '%s' (MatMul): needs A and B", nm);
    const mts_tensor_t *B = &g->tensors[n->inputs[1]];
    if (X->ndim < 2 || B->ndim < 2)
      return SHAPE_ERR("node '%s' (MatMul): 1-D operands are not supported", nm);
    if (X->dims[X->ndim - 1] != B->dims[B->ndim - 2])
      return SHAPE_ERR("node '%s' (MatMul): inner dims differ (%lld vs %lld)", nm,
                       (long long)X->dims[X->ndim - 1], (long long)B->dims[B->ndim - 2]);
    if (mts__broadcast(X->ndim - 2, X->dims, B->ndim - 2, B->dims, &nd, d))
      return SHAPE_ERR("node '%s' (MatMul): batch dims of '%s' and '%s' do not broadcast",
                       nm, X->name, B->name);
    d[nd++] = X->dims[X->ndim - 2];
    d[nd++] = B->dims[B->ndim - 1];
    break;
  }
  case MTS_OP_UNARY:
  case MTS_OP_IDENTITY:
  case MTS_OP_SOFTMAX:
  case MTS_OP_LRN:
    nd = X->ndim;
    memcpy(d, X->dims, sizeof(int64_t) * (size_t)nd);
    if (n->op == MTS_OP_SOFTMAX && (norm_axis(a->axis, nd) < 0 || norm_axis(a->axis, nd) >= nd))
      return SHAPE_ERR("node '%s' (Softmax): axis %lld out of range", nm, (long long)a->axis);
    break;
  case MTS_OP_BATCHNORM:
  case MTS_OP_LAYERNORM:
    nd = X->ndim;
    memcpy(d, X->dims, sizeof(int64_t) * (size_t)nd);
    if (n->op == MTS_OP_BATCHNORM) {
      if (n->n_inputs != 5 || X->ndim < 2)
        return SHAPE_ERR("node '%s' (BatchNormalization): needs 5 inputs and rank >= 2", nm);
      for (int i = 1; i < 5; i++)
        if (mts_tensor_numel(&g->tensors[n->inputs[i]]) != X->dims[1])
          return SHAPE_ERR("node '%s' (BatchNormalization): parameter '%s' size != C=%lld",
                           nm, g->tensors[n->inputs[i]].name, (long long)X->dims[1]);
    } else {
      int64_t ax = norm_axis(a->axis, nd), inner = 1;
      if (ax < 0 || ax >= nd) return SHAPE_ERR("node '%s' (LayerNorm): bad axis", nm);
      for (int i = (int)ax; i < nd; i++) inner *= X->dims[i];
      for (int i = 1; i < n->n_inputs; i++)
        if (n->inputs[i] >= 0 && mts_tensor_numel(&g->tensors[n->inputs[i]]) != inner)
          return SHAPE_ERR("node '%s' (LayerNorm): '%s' size != %lld", nm,
                           g->tensors[n->inputs[i]].name, (long long)inner);
    }
    break;
  case MTS_OP_BINARY: {
    if (n->n_inputs != 2) return SHAPE_ERR("node '%s' (Binary): needs 2 inputs", nm);
    const mts_tensor_t *B = &g->tensors[n->inputs[1]];
    if (mts__broadcast(X->ndim, X->dims, B->ndim, B->dims, &nd, d))
      return SHAPE_ERR("node '%s' (%s): shapes of '%s' and '%s' do not broadcast", nm,
                       mts_binary_name(a->binary), X->name, B->name);
    break;
  }
  case MTS_OP_CONCAT: {
    const mts_tensor_t *F = &g->tensors[n->inputs[0]];
    nd = F->ndim;
    int64_t ax = norm_axis(a->axis, nd);
    if (ax < 0 || ax >= nd) return SHAPE_ERR("node '%s' (Concat): bad axis", nm);
    memcpy(d, F->dims, sizeof(int64_t) * (size_t)nd);
    d[ax] = 0;
    for (int i = 0; i < n->n_inputs; i++) {
      const mts_tensor_t *T = &g->tensors[n->inputs[i]];
      if (T->ndim != nd) return SHAPE_ERR("node '%s' (Concat): rank of '%s' differs", nm, T->name);
      for (int k = 0; k < nd; k++)
        if (k != ax && T->dims[k] != F->dims[k])
          return SHAPE_ERR("node '%s' (Concat): dim %d of '%s' is %lld, expected %lld", nm, k,
                           T->name, (long long)T->dims[k], (long long)F->dims[k]);
      d[ax] += T->dims[ax];
    }
    break;
  }
  case MTS_OP_SPLIT: {
    int64_t ax = norm_axis(a->axis, X->ndim), tot = 0;
    if (ax < 0 || ax >= X->ndim) return SHAPE_ERR("node '%s' (Split): bad axis", nm);
    for (int o = 0; o < n->n_outputs; o++) {
      int64_t sz = a->n_ints ? a->ints[o] : X->dims[ax] / n->n_outputs;
      if (a->n_ints && a->n_ints != n->n_outputs)
        return SHAPE_ERR("node '%s' (Split): %d sizes for %d outputs", nm, a->n_ints, n->n_outputs);
      int64_t dd[MTS_MAX_DIMS];
      memcpy(dd, X->dims, sizeof dd);
      dd[ax] = sz;
      tot += sz;
      set_shape(g, n->outputs[o], X->ndim, dd);
    }
    if (tot != X->dims[ax])
      return SHAPE_ERR("node '%s' (Split): sizes sum to %lld, axis has %lld", nm,
                       (long long)tot, (long long)X->dims[ax]);
    return 0;
  }
  case MTS_OP_SLICE: {
    nd = X->ndim;
    if (a->n_ints != nd)
      return SHAPE_ERR("node '%s' (Slice): %d axes given for rank %d", nm, a->n_ints, nd);
    for (int i = 0; i < nd; i++) {
      int64_t dim = X->dims[i], st = a->ints[i], en = a->ints[nd + i], sp = a->ints[2 * nd + i];
      if (sp == 0) return SHAPE_ERR("node '%s' (Slice): step 0", nm);
      if (st < 0) st += dim;
      if (en < 0) en += dim;
      if (sp > 0) {
        st = st < 0 ? 0 : st > dim ? dim : st;
        en = en < 0 ? 0 : en > dim ? dim : en;
        d[i] = en > st ? (en - st + sp - 1) / sp : 0;
      } else {
        st = st < 0 ? 0 : st > dim - 1 ? dim - 1 : st;
        en = en < -1 ? -1 : en > dim - 1 ? dim - 1 : en;
        d[i] = st > en ? (st - en + (-sp) - 1) / (-sp) : 0;
      }
    }
    break;
  }
  case MTS_OP_RESHAPE: {
    const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
    if (mts_tensor_numel(Y) != mts_tensor_numel(X) || Y->ndim == 0)
      return SHAPE_ERR("node '%s' (Reshape): output '%s' has %lld elements, input '%s' %lld",
                       nm, Y->name, (long long)mts_tensor_numel(Y), X->name,
                       (long long)mts_tensor_numel(X));
    return 0;
  }
  case MTS_OP_TRANSPOSE: {
    nd = X->ndim;
    if (a->n_ints != nd) return SHAPE_ERR("node '%s' (Transpose): perm rank != %d", nm, nd);
    unsigned seen = 0;
    for (int i = 0; i < nd; i++) {
      int64_t p = a->ints[i];
      if (p < 0 || p >= nd || (seen & (1u << p)))
        return SHAPE_ERR("node '%s' (Transpose): bad perm", nm);
      seen |= 1u << p;
      d[i] = X->dims[p];
    }
    break;
  }
  case MTS_OP_GATHER: {
    if (n->n_inputs != 2) return SHAPE_ERR("node '%s' (Gather): needs data, indices", nm);
    const mts_tensor_t *I = &g->tensors[n->inputs[1]];
    int64_t ax = norm_axis(a->axis, X->ndim);
    if (ax < 0 || ax >= X->ndim || X->ndim + I->ndim - 1 > MTS_MAX_DIMS)
      return SHAPE_ERR("node '%s' (Gather): bad axis or rank", nm);
    for (int i = 0; i < ax; i++) d[nd++] = X->dims[i];
    for (int i = 0; i < I->ndim; i++) d[nd++] = I->dims[i];
    for (int i = (int)ax + 1; i < X->ndim; i++) d[nd++] = X->dims[i];
    break;
  }
  case MTS_OP_REDUCE_MEAN: {
    int red[MTS_MAX_DIMS] = {0};
    for (int i = 0; i < a->n_ints; i++) {
      int64_t ax = norm_axis(a->ints[i], X->ndim);
      if (ax < 0 || ax >= X->ndim) return SHAPE_ERR("node '%s' (ReduceMean): bad axis", nm);
      red[ax] = 1;
    }
    if (a->n_ints == 0)
      for (int i = 0; i < X->ndim; i++) red[i] = 1;
    for (int i = 0; i < X->ndim; i++) {
      if (!red[i]) d[nd++] = X->dims[i];
      else if (a->keepdims) d[nd++] = 1;
    }
    break;
  }
  case MTS_OP_PAD: {
    nd = X->ndim;
    const int64_t *pp = mts__pad_list(a, nd);
    if (!pp) return SHAPE_ERR("node '%s' (Pad): rank %d needs 2*rank pads in ints", nm, nd);
    for (int i = 0; i < nd; i++) {
      d[i] = X->dims[i] + pp[i] + pp[nd + i];
      if (d[i] < 0) return SHAPE_ERR("node '%s' (Pad): negative output dim", nm);
    }
    break;
  }
  default:
    return SHAPE_ERR("node '%s': unknown op %d", nm, (int)n->op);
  }
  return set_shape(g, n->outputs[0], nd, d);
}

int mts_graph_infer_shapes(mts_graph_t *g) {
  for (int i = 0; i < g->n_inputs; i++)
    if (g->tensors[g->inputs[i]].ndim == 0)
      return SHAPE_ERR("graph '%s': input '%s' has no shape", g->name,
                       g->tensors[g->inputs[i]].name);
  for (int i = 0; i < g->n_nodes; i++) {
    int r = mts__infer_node(g, i);
    if (r) return r;
  }
  return 0;
}

/* ---- topological sort --------------------------------------------------- */

int mts_graph_toposort(mts_graph_t *g) {
  int nn = g->n_nodes, rc = 0;
  int *ready = mts_xcalloc((size_t)nn + 1, sizeof(int));
  int *deps = mts_xcalloc((size_t)nn + 1, sizeof(int));
  int *order = mts_xcalloc((size_t)nn + 1, sizeof(int));
  int *prod = mts_xcalloc((size_t)g->n_tensors + 1, sizeof(int));
  mts_node_t *sorted = NULL;
  for (int t = 0; t < g->n_tensors; t++) prod[t] = -1;
  for (int i = 0; i < nn; i++)
    for (int k = 0; k < g->nodes[i].n_outputs; k++) {
      int t = g->nodes[i].outputs[k];
      if (prod[t] >= 0) {
        rc = mts_seterr(MTS_ETOPO, "graph '%s': tensor '%s' produced by two nodes", g->name,
                        g->tensors[t].name);
        goto out;
      }
      prod[t] = i;
    }
  for (int i = 0; i < nn; i++) {
    const mts_node_t *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0 && prod[n->inputs[k]] >= 0) deps[i]++;
    for (int k = 0; k < n->n_post; k++)
      if (n->post[k].kind == MTS_POST_SUM && prod[n->post[k].tensor] >= 0) deps[i]++;
  }
  /* Kahn with the smallest original index first, so a sorted graph keeps
   * its order (O(n^2) scan; graphs have at most a few thousand nodes). */
  int done = 0;
  char *used = mts_xcalloc((size_t)nn + 1, 1);
  while (done < nn) {
    int pick = -1;
    for (int i = 0; i < nn; i++)
      if (!used[i] && deps[i] == 0) {
        pick = i;
        break;
      }
    if (pick < 0) {
      free(used);
      rc = mts_seterr(MTS_ETOPO, "graph '%s': cycle among nodes", g->name);
      goto out;
    }
    used[pick] = 1;
    order[done++] = pick;
    const mts_node_t *p = &g->nodes[pick];
    for (int i = 0; i < nn; i++) {
      if (used[i]) continue;
      const mts_node_t *n = &g->nodes[i];
      for (int k = 0; k < n->n_inputs; k++)
        for (int o = 0; o < p->n_outputs; o++)
          if (n->inputs[k] == p->outputs[o]) deps[i]--;
      for (int k = 0; k < n->n_post; k++)
        for (int o = 0; o < p->n_outputs; o++)
          if (n->post[k].kind == MTS_POST_SUM && n->post[k].tensor == p->outputs[o]) deps[i]--;
    }
  }
  free(used);
  sorted = mts_xmalloc((size_t)(nn ? nn : 1) * sizeof *sorted);
  for (int i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
  memcpy(g->nodes, sorted, (size_t)nn * sizeof *sorted);
  for (int i = 0; i < nn; i++)
    for (int k = 0; k < g->nodes[i].n_outputs; k++) g->tensors[g->nodes[i].outputs[k]].producer = i;
out:
  free(sorted);
  free(ready);
  free(deps);
  free(order);
  free(prod);
  return rc;
}

/* ---- hash and flops ----------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}
/* Bulk tensor data: four independent lanes of 8-byte words, folded into
 * h at the end (the byte-wise chain above runs at ~1 GB/s: a fifth of
 * ResNet-50's load time went into hashing its weights). */
static uint64_t hash_bulk(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t l[4] = {h, h ^ 0x9e3779b97f4a7c15ull, h ^ 0xc2b2ae3d27d4eb4full, h ^ 0x165667b19e3779f9ull};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; k++) {
      uint64_t w;
      memcpy(&w, b + i + 8 * (size_t)k, sizeof w);
      l[k] = (l[k] ^ w) * 1099511628211ull;
      l[k] ^= l[k] >> 29;
    }
  h = fnv(h, l, sizeof l);
  return fnv(h, b + i, n - i);
}

#define FNV_VAL(h, v)             \
  do {                            \
    int64_t tmp_ = (int64_t)(v);  \
    h = fnv(h, &tmp_, sizeof tmp_); \
  } while (0)
#define FNV_F(h, v)               \
  do {                            \
    float tmp_ = (v);             \
    h = fnv(h, &tmp_, sizeof tmp_); \
  } while (0)

uint64_t mts_graph_hash(const mts_graph_t *g) {
  uint64_t h = 14695981039346656037ull;
  FNV_VAL(h, g->n_tensors);
  for (int i = 0; i < g->n_tensors; i++) {
    const mts_tensor_t *t = &g->tensors[i];
    FNV_VAL(h, t->dtype);
    FNV_VAL(h, t->ndim);
    for (int k = 0; k < t->ndim; k++) FNV_VAL(h, t->dims[k]);
    FNV_VAL(h, t->data != NULL);
    if (t->data) h = hash_bulk(h, t->data, (size_t)mts_tensor_numel(t) * mts_dtype_size(t->dtype));
  }
  FNV_VAL(h, g->n_nodes);
  for (int i = 0; i < g->n_nodes; i++) {
    const mts_node_t *n = &g->nodes[i];
    const mts_attr_t *a = &n->attr;
    FNV_VAL(h, n->op);
    FNV_VAL(h, n->n_inputs);
    for (int k = 0; k < n->n_inputs; k++) FNV_VAL(h, n->inputs[k]);
    FNV_VAL(h, n->n_outputs);
    for (int k = 0; k < n->n_outputs; k++) FNV_VAL(h, n->outputs[k]);
    /* attributes field by field: the struct has padding */
    FNV_VAL(h, a->nsp);
    for (int k = 0; k < 3; k++) {
      FNV_VAL(h, a->kernel[k]);
      FNV_VAL(h, a->stride[k]);
      FNV_VAL(h, a->dilation[k]);
    }
    for (int k = 0; k < 6; k++) FNV_VAL(h, a->pad[k]);
    FNV_VAL(h, a->group);
    FNV_VAL(h, a->ceil_mode);
    FNV_VAL(h, a->count_include_pad);
    FNV_VAL(h, a->unary);
    FNV_VAL(h, a->binary);
    FNV_F(h, a->alpha);
    FNV_F(h, a->beta);
    FNV_F(h, a->bias);
    FNV_F(h, a->epsilon);
    FNV_VAL(h, a->axis);
    FNV_VAL(h, a->size);
    FNV_VAL(h, a->trans_a);
    FNV_VAL(h, a->trans_b);
    FNV_VAL(h, a->keepdims);
    FNV_VAL(h, a->n_ints);
    for (int k = 0; k < a->n_ints * 3 && k < MTS_MAX_INTS * 3; k++) FNV_VAL(h, a->ints[k]);
    FNV_VAL(h, n->n_post);
    for (int k = 0; k < n->n_post; k++) {
      FNV_VAL(h, n->post[k].kind);
      FNV_VAL(h, n->post[k].unary);
      FNV_F(h, n->post[k].alpha);
      FNV_F(h, n->post[k].beta);
      FNV_VAL(h, n->post[k].kind == MTS_POST_SUM ? n->post[k].tensor : -1);
    }
  }
  FNV_VAL(h, g->n_inputs);
  for (int i = 0; i < g->n_inputs; i++) FNV_VAL(h, g->inputs[i]);
  FNV_VAL(h, g->n_outputs);
  for (int i = 0; i < g->n_outputs; i++) FNV_VAL(h, g->outputs[i]);
  return h;
}

double mts_node_flops(const mts_graph_t *g, int i) {
  if (i < 0 || i >= g->n_nodes) return 0;
  const mts_node_t *n = &g->nodes[i];
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  const mts_tensor_t *X = n->n_inputs > 0 && n->inputs[0] >= 0 ? &g->tensors[n->inputs[0]] : NULL;
  double out = (double)mts_tensor_numel(Y);
  switch (n->op) {
  case MTS_OP_CONV: {
    const mts_tensor_t *W = &g->tensors[n->inputs[1]];
    double k = 1;
    for (int d = 1; d < W->ndim; d++) k *= (double)W->dims[d];
    return 2.0 * out * k;
  }
  case MTS_OP_GEMM:
    return 2.0 * out * (double)(n->attr.trans_a ? X->dims[0] : X->dims[1]);
  case MTS_OP_MATMUL:
    return 2.0 * out * (double)X->dims[X->ndim - 1];
  default:
    /* not MAC-based: count one operation per output element, so that
     * time/flop ratios stay finite */
    return out;
  }
}
