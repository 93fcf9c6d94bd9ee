/* export.c — writes a graph as an ONNX model (opset 13, ir_version 7) that
 * ONNX Runtime can run: one NodeProto per IR node (a few for ops opset 13
 * lacks: HardSwish, Gelu, LayerNormalization, linear), fused post-ops
 * emitted again as separate nodes, constants as raw_data initializers.
 *
 * The protobuf-c messages are built on the heap; every allocation goes into
 * one list (ex_t.mem) that is freed after packing, so the error paths need no
 * per-message bookkeeping. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/onnx.h"
#include "runtime/onnx/onnx_int.h"

typedef struct {
  const mts_graph_t *g;
  void **mem;
  size_t n_mem, cap_mem;
  Onnx__NodeProto **nodes;
  size_t n_nodes, cap_nodes;
  Onnx__TensorProto **inits;
  size_t n_inits, cap_inits;
  int counter;
} ex_t;

static void *track(ex_t *ex, void *p) {
  if (ex->n_mem == ex->cap_mem) {
    ex->cap_mem = ex->cap_mem ? 2 * ex->cap_mem : 256;
    ex->mem = mts_xrealloc(ex->mem, ex->cap_mem * sizeof *ex->mem);
  }
  ex->mem[ex->n_mem++] = p;
  return p;
}

static void *ex_alloc(ex_t *ex, size_t n) {
  return track(ex, mts_xcalloc(1, n ? n : 1));
}

static char *ex_str(ex_t *ex, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *ex_str(ex_t *ex, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = ex_alloc(ex, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

static const char *tname(ex_t *ex, int t) {
  const char *n = ex->g->tensors[t].name;
  return n && n[0] ? n : ex_str(ex, "t%d", t);
}

static char *fresh(ex_t *ex, const char *base) {
  return ex_str(ex, "%s:x%d", base, ex->counter++);
}

static Onnx__NodeProto *node(ex_t *ex, const char *op, const char *name,
                             int n_in, const char *const *in, const char *out) {
  Onnx__NodeProto *n = ex_alloc(ex, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = (char *)op;
  n->name = ex_str(ex, "%s:%d", name, ex->counter++);
  n->n_input = (size_t)n_in;
  n->input = ex_alloc(ex, sizeof(char *) * (size_t)n_in);
  for (int i = 0; i < n_in; i++) n->input[i] = (char *)in[i];
  n->n_output = 1;
  n->output = ex_alloc(ex, sizeof(char *));
  n->output[0] = (char *)out;
  if (ex->n_nodes == ex->cap_nodes) {
    ex->cap_nodes = ex->cap_nodes ? 2 * ex->cap_nodes : 64;
    ex->nodes = mts_xrealloc(ex->nodes, ex->cap_nodes * sizeof *ex->nodes);
  }
  ex->nodes[ex->n_nodes++] = n;
  return n;
}

static Onnx__AttributeProto *attr(ex_t *ex, Onnx__NodeProto *n,
                                  const char *name) {
  Onnx__AttributeProto *a = ex_alloc(ex, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  Onnx__AttributeProto **na =
      ex_alloc(ex, sizeof *na * (n->n_attribute + 1));
  if (n->n_attribute) memcpy(na, n->attribute, sizeof *na * n->n_attribute);
  na[n->n_attribute++] = a;
  n->attribute = na;
  a->has_type = 1;
  return a;
}

static void attr_i(ex_t *ex, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = attr(ex, n, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = 1;
  a->i = v;
}

static void attr_f(ex_t *ex, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = attr(ex, n, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  a->has_f = 1;
  a->f = v;
}

static void attr_ints(ex_t *ex, Onnx__NodeProto *n, const char *name,
                      int cnt, const int64_t *v) {
  Onnx__AttributeProto *a = attr(ex, n, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = (size_t)cnt;
  a->ints = ex_alloc(ex, sizeof(int64_t) * (size_t)cnt);
  if (cnt) memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}

static void attr_s(ex_t *ex, Onnx__NodeProto *n, const char *name,
                   const char *s) {
  Onnx__AttributeProto *a = attr(ex, n, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  a->has_s = 1;
  a->s.data = (uint8_t *)s;
  a->s.len = strlen(s);
}

static int onnx_type(mts_dtype_t dt) {
  switch (dt) {
  case MTS_F32: return 1;
  case MTS_I64: return 7;
  case MTS_I32: return 6;
  case MTS_U8: return 2;
  case MTS_BOOL: return 9;
  default: return 0;
  }
}

/* Adds an initializer; data is copied little-endian into raw_data. */
static const char *init(ex_t *ex, const char *name, mts_dtype_t dt, int ndim,
                        const int64_t *dims, const void *data) {
  Onnx__TensorProto *t = ex_alloc(ex, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = onnx_type(dt);
  t->n_dims = (size_t)ndim;
  t->dims = ex_alloc(ex, sizeof(int64_t) * (size_t)(ndim ? ndim : 1));
  if (ndim) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
  int64_t n = mts__numel(ndim, dims);
  size_t es = mts_dtype_size(dt), bytes = (size_t)(n < 0 ? 0 : n) * es;
  uint8_t *raw = ex_alloc(ex, bytes);
  const uint8_t *src = data;
  /* Stored little-endian whatever the host order. */
  for (size_t i = 0; i < bytes; i += es)
    for (size_t b = 0; b < es; b++) {
      union { uint16_t u; uint8_t c[2]; } probe = {1};
      raw[i + b] = probe.c[0] ? src[i + b] : src[i + es - 1 - b];
    }
  t->has_raw_data = 1;
  t->raw_data.data = raw;
  t->raw_data.len = bytes;
  if (ex->n_inits == ex->cap_inits) {
    ex->cap_inits = ex->cap_inits ? 2 * ex->cap_inits : 64;
    ex->inits = mts_xrealloc(ex->inits, ex->cap_inits * sizeof *ex->inits);
  }
  ex->inits[ex->n_inits++] = t;
  return name;
}

static const char *scalar(ex_t *ex, const char *base, float v) {
  return init(ex, fresh(ex, base), MTS_F32, 0, NULL, &v);
}

static const char *ints_init(ex_t *ex, const char *base, int n,
                             const int64_t *v) {
  int64_t d = n;
  return init(ex, fresh(ex, base), MTS_I64, 1, &d, v);
}

/* Emits unary op u from `in` to `out`, decomposing what opset 13 lacks. */
static int emit_unary(ex_t *ex, const char *nm, int u, float al, float be,
                      const char *in, const char *out) {
  static const char *const simple[MTS_UNARY_COUNT] = {
      [MTS_UNARY_SIGMOID] = "Sigmoid", [MTS_UNARY_TANH] = "Tanh",
      [MTS_UNARY_ERF] = "Erf", [MTS_UNARY_SQRT] = "Sqrt",
      [MTS_UNARY_EXP] = "Exp", [MTS_UNARY_LOG] = "Log",
      [MTS_UNARY_ABS] = "Abs", [MTS_UNARY_NEG] = "Neg",
      [MTS_UNARY_RECIPROCAL] = "Reciprocal"};
  if (u < 0 || u >= MTS_UNARY_COUNT)
    return mts_seterr(MTS_EINVAL, "node '%s': bad unary op %d", nm, u);
  if (simple[u]) {
    node(ex, simple[u], nm, 1, &in, out);
    return 0;
  }
  Onnx__NodeProto *n;
  switch (u) {
  case MTS_UNARY_RELU:
    if (al == 0) {
      node(ex, "Relu", nm, 1, &in, out);
    } else {
      n = node(ex, "LeakyRelu", nm, 1, &in, out);
      attr_f(ex, n, "alpha", al);
    }
    return 0;
  case MTS_UNARY_CLIP: {
    const char *ins[3] = {in, scalar(ex, nm, al), scalar(ex, nm, be)};
    node(ex, "Clip", nm, 3, ins, out);
    return 0;
  }
  case MTS_UNARY_HARDSIGMOID:
    n = node(ex, "HardSigmoid", nm, 1, &in, out);
    attr_f(ex, n, "alpha", al);
    attr_f(ex, n, "beta", be);
    return 0;
  case MTS_UNARY_HARDSWISH: {
    /* HardSwish (opset 14) = x * HardSigmoid(x; 1/6, 1/2). */
    const char *hs = fresh(ex, nm);
    n = node(ex, "HardSigmoid", nm, 1, &in, hs);
    attr_f(ex, n, "alpha", 1.0f / 6);
    attr_f(ex, n, "beta", 0.5f);
    const char *ins[2] = {in, hs};
    node(ex, "Mul", nm, 2, ins, out);
    return 0;
  }
  case MTS_UNARY_GELU: {
    /* Gelu (opset 20) = 0.5 * x * (1 + erf(x / sqrt(2))). */
    const char *t1 = fresh(ex, nm), *t2 = fresh(ex, nm), *t3 = fresh(ex, nm),
               *t4 = fresh(ex, nm);
    const char *a1[2] = {in, scalar(ex, nm, (float)M_SQRT2)};
    node(ex, "Div", nm, 2, a1, t1);
    node(ex, "Erf", nm, 1, &t1, t2);
    const char *a2[2] = {t2, scalar(ex, nm, 1.0f)};
    node(ex, "Add", nm, 2, a2, t3);
    const char *a3[2] = {in, t3};
    node(ex, "Mul", nm, 2, a3, t4);
    const char *a4[2] = {t4, scalar(ex, nm, 0.5f)};
    node(ex, "Mul", nm, 2, a4, out);
    return 0;
  }
  case MTS_UNARY_POW: {
    const char *ins[2] = {in, scalar(ex, nm, al)};
    node(ex, "Pow", nm, 2, ins, out);
    return 0;
  }
  case MTS_UNARY_LINEAR: {
    const char *t = fresh(ex, nm);
    const char *a1[2] = {in, scalar(ex, nm, al)};
    node(ex, "Mul", nm, 2, a1, t);
    const char *a2[2] = {t, scalar(ex, nm, be)};
    node(ex, "Add", nm, 2, a2, out);
    return 0;
  }
  }
  return mts_seterr(MTS_EUNSUPPORTED, "node '%s': unary op %d cannot be "
                    "exported", nm, u);
}

static int emit_layernorm(ex_t *ex, const mts_node_t *n, const char *out) {
  const mts_tensor_t *X = &ex->g->tensors[n->inputs[0]];
  const char *nm = n->name ? n->name : "layernorm";
  int64_t axes[MTS_MAX_DIMS];
  int na = 0, r = X->ndim;
  int64_t ax = n->attr.axis < 0 ? n->attr.axis + r : n->attr.axis;
  if (ax < 0 || ax >= r)
    return mts_seterr(MTS_EINVAL, "node '%s': bad LayerNorm axis", nm);
  for (int64_t i = ax; i < r; i++) axes[na++] = i;
  const char *x = tname(ex, n->inputs[0]);
  const char *mean = fresh(ex, nm), *d = fresh(ex, nm), *sq = fresh(ex, nm),
             *var = fresh(ex, nm), *ve = fresh(ex, nm), *sd = fresh(ex, nm),
             *nrm = fresh(ex, nm);
  Onnx__NodeProto *p = node(ex, "ReduceMean", nm, 1, &x, mean);
  attr_ints(ex, p, "axes", na, axes);
  const char *a1[2] = {x, mean};
  node(ex, "Sub", nm, 2, a1, d);
  const char *a2[2] = {d, d};
  node(ex, "Mul", nm, 2, a2, sq);
  p = node(ex, "ReduceMean", nm, 1, &sq, var);
  attr_ints(ex, p, "axes", na, axes);
  const char *a3[2] = {var, scalar(ex, nm, n->attr.epsilon)};
  node(ex, "Add", nm, 2, a3, ve);
  node(ex, "Sqrt", nm, 1, &ve, sd);
  const char *a4[2] = {d, sd};
  node(ex, "Div", nm, 2, a4, nrm);
  int has_bias = n->n_inputs > 2 && n->inputs[2] >= 0;
  const char *scaled = has_bias ? fresh(ex, nm) : out;
  const char *a5[2] = {nrm, tname(ex, n->inputs[1])};
  node(ex, "Mul", nm, 2, a5, scaled);
  if (has_bias) {
    const char *a6[2] = {scaled, tname(ex, n->inputs[2])};
    node(ex, "Add", nm, 2, a6, out);
  }
  return 0;
}

static int emit_node(ex_t *ex, const mts_node_t *n) {
  const mts_attr_t *a = &n->attr;
  const char *nm = n->name && n->name[0] ? n->name : mts_op_name(n->op);
  const char *in[MTS_MAX_INPUTS + 4];
  int nin = 0;
  for (int i = 0; i < n->n_inputs; i++) {
    if (n->inputs[i] < 0) {
      /* Optional input absent: only trailing ones may be dropped. */
      int later = 0;
      for (int j = i + 1; j < n->n_inputs; j++) later |= n->inputs[j] >= 0;
      if (!later) break;
      in[nin++] = "";
    } else {
      in[nin++] = tname(ex, n->inputs[i]);
    }
  }
  if (n->n_outputs < 1)
    return mts_seterr(MTS_EINVAL, "node '%s' has no outputs", nm);
  const char *final = tname(ex, n->outputs[0]);
  const char *out = n->n_post ? fresh(ex, final) : final;
  Onnx__NodeProto *p = NULL;
  int nsp = a->nsp, rc = 0;
  switch (n->op) {
  case MTS_OP_CONV:
    p = node(ex, "Conv", nm, nin, in, out);
    attr_ints(ex, p, "kernel_shape", nsp, a->kernel);
    attr_ints(ex, p, "strides", nsp, a->stride);
    attr_ints(ex, p, "dilations", nsp, a->dilation);
    attr_ints(ex, p, "pads", 2 * nsp, a->pad);
    attr_i(ex, p, "group", a->group > 0 ? a->group : 1);
    break;
  case MTS_OP_MAXPOOL:
  case MTS_OP_AVGPOOL: {
    int mx = n->op == MTS_OP_MAXPOOL;
    p = node(ex, mx ? "MaxPool" : "AveragePool", nm, 1, in, out);
    attr_ints(ex, p, "kernel_shape", nsp, a->kernel);
    attr_ints(ex, p, "strides", nsp, a->stride);
    attr_ints(ex, p, "pads", 2 * nsp, a->pad);
    if (mx) {
      int64_t dil[3];
      for (int i = 0; i < nsp; i++) dil[i] = a->dilation[i] > 0 ? a->dilation[i] : 1;
      attr_ints(ex, p, "dilations", nsp, dil);
    } else {
      attr_i(ex, p, "count_include_pad", a->count_include_pad);
    }
    attr_i(ex, p, "ceil_mode", a->ceil_mode);
    break;
  }
  case MTS_OP_GLOBAL_AVGPOOL:
    node(ex, "GlobalAveragePool", nm, 1, in, out);
    break;
  case MTS_OP_GEMM:
    p = node(ex, "Gemm", nm, nin, in, out);
    attr_i(ex, p, "transA", a->trans_a);
    attr_i(ex, p, "transB", a->trans_b);
    attr_f(ex, p, "alpha", a->alpha);
    attr_f(ex, p, "beta", a->beta);
    break;
  case MTS_OP_MATMUL:
    node(ex, "MatMul", nm, 2, in, out);
    break;
  case MTS_OP_UNARY:
    rc = emit_unary(ex, nm, a->unary, a->alpha, a->beta, in[0], out);
    break;
  case MTS_OP_BINARY: {
    static const char *const bn[MTS_BINARY_COUNT] = {"Add", "Sub", "Mul",
                                                     "Div", "Pow", "Max", "Min"};
    if (a->binary < 0 || a->binary >= MTS_BINARY_COUNT)
      return mts_seterr(MTS_EINVAL, "node '%s': bad binary op", nm);
    node(ex, bn[a->binary], nm, 2, in, out);
    break;
  }
  case MTS_OP_BATCHNORM:
    p = node(ex, "BatchNormalization", nm, nin, in, out);
    attr_f(ex, p, "epsilon", a->epsilon);
    break;
  case MTS_OP_CONCAT:
    p = node(ex, "Concat", nm, nin, in, out);
    attr_i(ex, p, "axis", a->axis);
    break;
  case MTS_OP_SPLIT: {
    if (n->n_post)
      return mts_seterr(MTS_EUNSUPPORTED, "node '%s': Split with post-ops", nm);
    in[1] = ints_init(ex, nm, a->n_ints, a->ints);
    p = node(ex, "Split", nm, 2, in, out);
    p->n_output = (size_t)n->n_outputs;
    p->output = ex_alloc(ex, sizeof(char *) * (size_t)n->n_outputs);
    for (int i = 0; i < n->n_outputs; i++) p->output[i] = (char *)tname(ex, n->outputs[i]);
    attr_i(ex, p, "axis", a->axis);
    break;
  }
  case MTS_OP_SLICE: {
    int r = a->n_ints;
    int64_t axes[MTS_MAX_DIMS];
    for (int i = 0; i < r; i++) axes[i] = i;
    in[1] = ints_init(ex, nm, r, a->ints);
    in[2] = ints_init(ex, nm, r, a->ints + r);
    in[3] = ints_init(ex, nm, r, axes);
    in[4] = ints_init(ex, nm, r, a->ints + 2 * r);
    node(ex, "Slice", nm, 5, in, out);
    break;
  }
  case MTS_OP_RESHAPE: {
    const mts_tensor_t *Y = &ex->g->tensors[n->outputs[0]];
    in[1] = ints_init(ex, nm, Y->ndim, Y->dims);
    node(ex, "Reshape", nm, 2, in, out);
    break;
  }
  case MTS_OP_TRANSPOSE:
    p = node(ex, "Transpose", nm, 1, in, out);
    attr_ints(ex, p, "perm", a->n_ints, a->ints);
    break;
  case MTS_OP_GATHER:
    p = node(ex, "Gather", nm, 2, in, out);
    attr_i(ex, p, "axis", a->axis);
    break;
  case MTS_OP_SOFTMAX:
    p = node(ex, "Softmax", nm, 1, in, out);
    attr_i(ex, p, "axis", a->axis);
    break;
  case MTS_OP_LAYERNORM:
    rc = emit_layernorm(ex, n, out);
    break;
  case MTS_OP_REDUCE_MEAN:
    p = node(ex, "ReduceMean", nm, 1, in, out);
    if (a->n_ints) attr_ints(ex, p, "axes", a->n_ints, a->ints);
    attr_i(ex, p, "keepdims", a->keepdims);
    break;
  case MTS_OP_PAD: {
    int r = ex->g->tensors[n->inputs[0]].ndim;
    const int64_t *pp = a->n_ints == 2 * r ? a->ints : a->pad;
    if (a->n_ints != 2 * r && r > 3)
      return mts_seterr(MTS_EINVAL, "node '%s': Pad without pads", nm);
    in[1] = ints_init(ex, nm, 2 * r, pp);
    in[2] = scalar(ex, nm, a->alpha);
    p = node(ex, "Pad", nm, 3, in, out);
    attr_s(ex, p, "mode", "constant");
    break;
  }
  case MTS_OP_LRN:
    p = node(ex, "LRN", nm, 1, in, out);
    attr_i(ex, p, "size", a->size);
    attr_f(ex, p, "alpha", a->alpha);
    attr_f(ex, p, "beta", a->beta);
    attr_f(ex, p, "bias", a->bias);
    break;
  case MTS_OP_IDENTITY:
    node(ex, "Identity", nm, 1, in, out);
    break;
  default:
    return mts_seterr(MTS_EUNSUPPORTED, "node '%s': op %d cannot be exported",
                      nm, (int)n->op);
  }
  if (rc) return rc;
  /* Fused post-ops become separate nodes again, in order. */
  const char *cur = out;
  for (int k = 0; k < n->n_post; k++) {
    const mts_postop_t *po = &n->post[k];
    const char *dst = k == n->n_post - 1 ? final : fresh(ex, final);
    if (po->kind == MTS_POST_SUM) {
      if (po->tensor < 0 || po->tensor >= ex->g->n_tensors)
        return mts_seterr(MTS_EINVAL, "node '%s': bad post-op tensor", nm);
      const char *ins[2] = {cur, tname(ex, po->tensor)};
      node(ex, "Add", nm, 2, ins, dst);
    } else if ((rc = emit_unary(ex, nm, po->unary, po->alpha, po->beta, cur,
                                dst))) {
      return rc;
    }
    cur = dst;
  }
  return 0;
}

static Onnx__ValueInfoProto *value_info(ex_t *ex, int t) {
  const mts_tensor_t *T = &ex->g->tensors[t];
  Onnx__ValueInfoProto *v = ex_alloc(ex, sizeof *v);
  onnx__value_info_proto__init(v);
  v->name = (char *)tname(ex, t);
  Onnx__TypeProto *tp = ex_alloc(ex, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = ex_alloc(ex, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = onnx_type(T->dtype);
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  v->type = tp;
  if (T->ndim > 0) {
    Onnx__TensorShapeProto *sh = ex_alloc(ex, sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)T->ndim;
    sh->dim = ex_alloc(ex, sizeof *sh->dim * (size_t)T->ndim);
    for (int i = 0; i < T->ndim; i++) {
      Onnx__TensorShapeProto__Dimension *d = ex_alloc(ex, sizeof *d);
      onnx__tensor_shape_proto__dimension__init(d);
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = T->dims[i];
      sh->dim[i] = d;
    }
    tt->shape = sh;
  }
  return v;
}

int mts_onnx_save(const mts_graph_t *g, const char *path) {
  ex_t ex;
  uint8_t *buf = NULL;
  FILE *f = NULL;
  int rc = 0;
  memset(&ex, 0, sizeof ex);
  if (!g || !path) return mts_seterr(MTS_EINVAL, "mts_onnx_save: bad arguments");
  ex.g = g;
  char *used = mts_xcalloc((size_t)(g->n_tensors ? g->n_tensors : 1), 1);
  for (int i = 0; i < g->n_nodes && !rc; i++) {
    const mts_node_t *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0 && n->inputs[k] < g->n_tensors) used[n->inputs[k]] = 1;
    for (int k = 0; k < n->n_post; k++)
      if (n->post[k].kind == MTS_POST_SUM && n->post[k].tensor >= 0 &&
          n->post[k].tensor < g->n_tensors)
        used[n->post[k].tensor] = 1;
    rc = emit_node(&ex, n);
  }
  if (rc) goto out;
  for (int i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = 1;
  for (int t = 0; t < g->n_tensors; t++) {
    const mts_tensor_t *T = &g->tensors[t];
    if (!used[t] || !T->data) continue;
    if (!onnx_type(T->dtype)) {
      rc = mts_seterr(MTS_EUNSUPPORTED, "%s: constant '%s' has an "
                      "unsupported type", path, T->name);
      goto out;
    }
    init(&ex, tname(&ex, t), T->dtype, T->ndim, T->dims, T->data);
  }
  Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
  gp.name = (char *)(g->name ? g->name : "mtserve");
  gp.n_node = ex.n_nodes;
  gp.node = ex.nodes;
  gp.n_initializer = ex.n_inits;
  gp.initializer = ex.inits;
  gp.n_input = (size_t)g->n_inputs;
  gp.input = ex_alloc(&ex, sizeof(void *) * (size_t)g->n_inputs);
  for (int i = 0; i < g->n_inputs; i++) gp.input[i] = value_info(&ex, g->inputs[i]);
  gp.n_output = (size_t)g->n_outputs;
  gp.output = ex_alloc(&ex, sizeof(void *) * (size_t)g->n_outputs);
  for (int i = 0; i < g->n_outputs; i++) gp.output[i] = value_info(&ex, g->outputs[i]);

  Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  op.domain = (char *)"";
  op.has_version = 1;
  op.version = 13;
  Onnx__OperatorSetIdProto *ops[1] = {&op};
  Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
  m.has_ir_version = 1;
  m.ir_version = 7;
  m.n_opset_import = 1;
  m.opset_import = ops;
  m.producer_name = (char *)"mtserve";
  m.producer_version = (char *)"0.1.0";
  m.graph = &gp;

  size_t len = onnx__model_proto__get_packed_size(&m);
  buf = malloc(len ? len : 1);
  if (!buf) {
    rc = mts_seterr(MTS_ENOMEM, "%s: out of memory (%zu bytes)", path, len);
    goto out;
  }
  onnx__model_proto__pack(&m, buf);
  f = fopen(path, "wb");
  if (!f) {
    rc = mts_seterr(MTS_EIO, "%s: cannot create: %s", path, strerror(errno));
    goto out;
  }
  if (fwrite(buf, 1, len, f) != len) {
    rc = mts_seterr(MTS_EIO, "%s: write failed: %s", path, strerror(errno));
    goto out;
  }
out:
  if (f && fclose(f) != 0 && !rc)
    rc = mts_seterr(MTS_EIO, "%s: write failed: %s", path, strerror(errno));
  free(buf);
  free(used);
  for (size_t i = 0; i < ex.n_mem; i++) free(ex.mem[i]);
  free(ex.mem);
  free(ex.nodes);
  free(ex.inits);
  return rc;
}
