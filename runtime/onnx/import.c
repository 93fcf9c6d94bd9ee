/* import.c — ONNX model loading: decodes the ModelProto, checks the opset,
 * turns initializers and graph inputs into graph tensors, converts the nodes
 * in file order (ONNX requires topological order) through import_ops.c, and
 * binds the graph outputs.  Also the helpers the converters share: attribute
 * access, input lookup and the error messages that name file and node.
 *
 * Everything in the file is untrusted: names may be missing, counts and dims
 * arbitrary.  Every index is checked, and failures are reported, never
 * asserted. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/onnx/onnx.h"
#include "runtime/onnx/onnx_int.h"

#define MIN_OPSET 1
#define MAX_OPSET 18

int mts__imp_err(mts__imp_t *im, int code, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  im->last_rc = code;
  if (im->node)
    return mts_seterr(code, "%s: node '%s' (%s): %s", im->file, im->node_name,
                      im->node->op_type ? im->node->op_type : "?", msg);
  return mts_seterr(code, "%s: %s", im->file, msg);
}

/* ---- attributes ------------------------------------------------------ */

const Onnx__AttributeProto *mts__attr(const mts__imp_t *im, const char *name) {
  const Onnx__NodeProto *n = im->node;
  for (size_t i = 0; i < n->n_attribute; i++) {
    const Onnx__AttributeProto *a = n->attribute[i];
    if (a && a->name && strcmp(a->name, name) == 0) return a;
  }
  return NULL;
}

int64_t mts__attr_i(const mts__imp_t *im, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = mts__attr(im, name);
  return a && a->has_i ? a->i : def;
}

float mts__attr_f(const mts__imp_t *im, const char *name, float def) {
  const Onnx__AttributeProto *a = mts__attr(im, name);
  return a && a->has_f ? a->f : def;
}

void mts__attr_s(const mts__imp_t *im, const char *name, const char *def,
                 char *buf, size_t cap) {
  const Onnx__AttributeProto *a = mts__attr(im, name);
  if (a && a->has_s) {
    size_t n = a->s.len < cap - 1 ? a->s.len : cap - 1;
    if (n) memcpy(buf, a->s.data, n);
    buf[n] = 0;
    /* An embedded NUL would make the value look shorter than it is. */
    if (memchr(buf, 0, n)) buf[0] = '?';
  } else {
    snprintf(buf, cap, "%s", def);
  }
}

int mts__attr_ints(mts__imp_t *im, const char *name, int64_t *out, int max,
                   int *n) {
  const Onnx__AttributeProto *a = mts__attr(im, name);
  *n = -1;
  if (!a) return 0;
  if (a->n_ints > (size_t)max)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute '%s' has %zu values "
                        "(max %d)", name, a->n_ints, max);
  for (size_t i = 0; i < a->n_ints; i++) out[i] = a->ints[i];
  *n = (int)a->n_ints;
  return 0;
}

/* ---- inputs / outputs ------------------------------------------------ */

int mts__n_in(const mts__imp_t *im) {
  int n = (int)im->node->n_input;
  while (n > 0 && !(im->node->input[n - 1] && im->node->input[n - 1][0])) n--;
  return n;
}

int mts__in(mts__imp_t *im, int k, int *t) {
  *t = -1;
  if (k < 0 || (size_t)k >= im->node->n_input) return 0;
  const char *nm = im->node->input[k];
  if (!nm || !nm[0]) return 0;
  int i = mts_graph_find_tensor(im->g, nm);
  if (i < 0)
    return mts__imp_err(im, MTS_EPARSE, "input %d '%s' is not defined (no "
                        "initializer, graph input or earlier node output)", k,
                        nm);
  *t = i;
  return 0;
}

int mts__in_req(mts__imp_t *im, int k, int *t) {
  int rc = mts__in(im, k, t);
  if (rc) return rc;
  if (*t < 0)
    return mts__imp_err(im, MTS_EPARSE, "missing required input %d", k);
  return 0;
}

int mts__in_ints(mts__imp_t *im, int k, int64_t *out, int max, int *n) {
  int t, rc = mts__in_req(im, k, &t);
  if (rc) return rc;
  const mts_tensor_t *tt = &im->g->tensors[t];
  if (!tt->data)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "input %d '%s' must be a "
                        "constant (it is computed at run time)", k, tt->name);
  int64_t cnt = mts__numel(tt->ndim, tt->dims);
  if (cnt < 0 || cnt > max)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "input %d '%s' has %lld values "
                        "(max %d)", k, tt->name, (long long)cnt, max);
  for (int64_t i = 0; i < cnt; i++)
    out[i] = tt->dtype == MTS_F32 ? mts__f2i(((const float *)tt->data)[i])
                                  : ((const int64_t *)tt->data)[i];
  *n = (int)cnt;
  return 0;
}

int mts__in_scalar(mts__imp_t *im, int k, float *v, int *present) {
  int t, rc = mts__in(im, k, &t);
  *present = 0;
  if (rc || t < 0) return rc;
  const mts_tensor_t *tt = &im->g->tensors[t];
  if (!tt->data)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "input %d '%s' must be a "
                        "constant", k, tt->name);
  if (mts__numel(tt->ndim, tt->dims) != 1)
    return mts__imp_err(im, MTS_EPARSE, "input %d '%s' must be a scalar", k,
                        tt->name);
  *v = tt->dtype == MTS_F32 ? ((const float *)tt->data)[0]
                            : (float)((const int64_t *)tt->data)[0];
  *present = 1;
  return 0;
}

int mts__is_const(const mts__imp_t *im, int t) {
  return t >= 0 && im->g->tensors[t].data != NULL;
}

int mts__out_used(const mts__imp_t *im, int k) {
  return k >= 0 && (size_t)k < im->node->n_output && im->node->output[k] &&
         im->node->output[k][0];
}

/* The IR reads rank 0 as "shape unknown", so scalars are held as [1]; the
 * element count and every broadcast against a ranked tensor are the same. */
static const int64_t one_dim[1] = {1};
#define SCALAR_AS_1D(ndim, dims) \
  do {                            \
    if ((ndim) == 0) {            \
      (ndim) = 1;                 \
      (dims) = one_dim;           \
    }                             \
  } while (0)

static int check_shape(mts__imp_t *im, int ndim, const int64_t *dims) {
  if (ndim < 0 || ndim > MTS_MAX_DIMS)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "result has rank %d (max %d)",
                        ndim, MTS_MAX_DIMS);
  if (mts__numel(ndim, dims) < 0)
    return mts__imp_err(im, MTS_ESHAPE, "result shape is invalid or too "
                        "large");
  return 0;
}

static int out_name(mts__imp_t *im, int k, char *buf, size_t cap) {
  if (mts__out_used(im, k)) {
    const char *nm = im->node->output[k];
    if (mts_graph_find_tensor(im->g, nm) >= 0)
      return mts__imp_err(im, MTS_EPARSE, "output '%s' is defined twice", nm);
    snprintf(buf, cap, "%s", nm);
  } else {
    snprintf(buf, cap, "%s:unused%d", im->node_name, im->n_anon++);
  }
  return 0;
}

int mts__add_out(mts__imp_t *im, int k, int ndim, const int64_t *dims,
                 int *t) {
  char nm[512];
  SCALAR_AS_1D(ndim, dims);
  int rc = check_shape(im, ndim, dims);
  if (!rc) rc = out_name(im, k, nm, sizeof nm);
  if (rc) return rc;
  int i = mts_graph_add_tensor(im->g, nm, MTS_F32, ndim, dims);
  if (i < 0) return mts__imp_err(im, i, "cannot add tensor '%s'", nm);
  *t = i;
  return 0;
}

int mts__add_tmp(mts__imp_t *im, int ndim, const int64_t *dims, int *t) {
  char nm[256];
  SCALAR_AS_1D(ndim, dims);
  int rc = check_shape(im, ndim, dims);
  if (rc) return rc;
  snprintf(nm, sizeof nm, "%s:tmp%d", im->node_name, im->n_anon++);
  int i = mts_graph_add_tensor(im->g, nm, MTS_F32, ndim, dims);
  if (i < 0) return mts__imp_err(im, i, "cannot add tensor '%s'", nm);
  *t = i;
  return 0;
}

int mts__add_const_copy(mts__imp_t *im, const char *base, mts_dtype_t dt,
                        int ndim, const int64_t *dims, const void *data,
                        int *t) {
  char nm[512];
  int64_t n = mts__numel(ndim, dims);
  if (n < 0) return mts__imp_err(im, MTS_ESHAPE, "bad constant shape");
  size_t bytes = (size_t)n * mts_dtype_size(dt);
  void *d = malloc(bytes ? bytes : 1);
  if (!d) return mts__imp_err(im, MTS_ENOMEM, "out of memory");
  if (bytes) memcpy(d, data, bytes);
  snprintf(nm, sizeof nm, "%s:c%d", base, im->n_anon++);
  int i = mts_graph_add_const(im->g, nm, dt, ndim, dims, d);
  if (i < 0) return mts__imp_err(im, i, "cannot add constant '%s'", nm);
  *t = i;
  return 0;
}

int mts__out_const(mts__imp_t *im, int k, mts_dtype_t dt, int ndim,
                   const int64_t *dims, void *data) {
  char nm[512];
  int rc = check_shape(im, ndim, dims);
  if (!rc) rc = out_name(im, k, nm, sizeof nm);
  if (rc) {
    free(data);
    return rc;
  }
  int i = mts_graph_add_const(im->g, nm, dt, ndim, dims, data);
  if (i < 0) return mts__imp_err(im, i, "cannot add constant '%s'", nm);
  return 0;
}

/* Integer constants feed float ops as floats (the IR computes in f32). */
static int as_float_input(mts__imp_t *im, int *t) {
  const mts_tensor_t *tt = &im->g->tensors[*t];
  if (!tt->data || tt->dtype == MTS_F32) return 0;
  int64_t n = mts__numel(tt->ndim, tt->dims);
  float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
  if (!f) return mts__imp_err(im, MTS_ENOMEM, "out of memory");
  for (int64_t i = 0; i < n; i++) f[i] = (float)((const int64_t *)tt->data)[i];
  char nm[512];
  snprintf(nm, sizeof nm, "%s:f32", tt->name);
  int i = mts_graph_find_tensor(im->g, nm);
  if (i >= 0) {
    free(f);
    *t = i;
    return 0;
  }
  int ndim = tt->ndim;
  int64_t dims[MTS_MAX_DIMS];
  memcpy(dims, tt->dims, sizeof dims);
  i = mts_graph_add_const(im->g, nm, MTS_F32, ndim, dims, f);
  if (i < 0) return mts__imp_err(im, i, "cannot add constant '%s'", nm);
  *t = i;
  return 0;
}

int mts__emit(mts__imp_t *im, const char *suffix, mts_op_t op, int n_in,
              const int *in, int n_out, const int *out, const mts_attr_t *a) {
  int ins[MTS_MAX_INPUTS];
  char nm[256];
  if (n_in > MTS_MAX_INPUTS || n_out > MTS_MAX_OUTPUTS)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "too many inputs/outputs");
  for (int k = 0; k < n_in; k++) {
    ins[k] = in[k];
    if (ins[k] < 0 || (op == MTS_OP_GATHER && k == 1)) continue;
    int rc = as_float_input(im, &ins[k]);
    if (rc) return rc;
  }
  snprintf(nm, sizeof nm, "%s%s", im->node_name, suffix ? suffix : "");
  int i = mts_graph_add_node(im->g, nm, op, n_in, ins, n_out, out, a);
  if (i < 0) return mts__imp_err(im, i, "cannot add node");
  return 0;
}

/* ---- model ----------------------------------------------------------- */

static int find_opset(const Onnx__ModelProto *m, const char *file, int *op) {
  *op = -1;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[i];
    if (!o) continue;
    if (!o->domain || !o->domain[0] || strcmp(o->domain, "ai.onnx") == 0)
      *op = o->has_version ? (int)(o->version > 1000 ? 1000 : o->version) : 1;
  }
  if (*op < 0)
    return mts_seterr(m->n_opset_import ? MTS_EUNSUPPORTED : MTS_EPARSE,
                      "%s: the model imports no default-domain (ai.onnx) "
                      "opset", file);
  if (*op < MIN_OPSET || *op > MAX_OPSET)
    return mts_seterr(MTS_EUNSUPPORTED, "%s: opset %d is not supported "
                      "(supported: %d-%d)", file, *op, MIN_OPSET, MAX_OPSET);
  return 0;
}

static int is_initializer(const Onnx__GraphProto *gp, const char *name) {
  for (size_t i = 0; i < gp->n_initializer; i++)
    if (gp->initializer[i] && gp->initializer[i]->name &&
        strcmp(gp->initializer[i]->name, name) == 0)
      return 1;
  return 0;
}

static int add_initializers(mts__imp_t *im, const Onnx__GraphProto *gp) {
  for (size_t i = 0; i < gp->n_initializer; i++) {
    Onnx__TensorProto *tp = gp->initializer[i]; /* (ours: unpacked by mts_onnx_load_buffer) */
    mts_dtype_t dt;
    int ndim;
    int64_t dims[MTS_MAX_DIMS];
    void *data;
    if (!tp || !tp->name || !tp->name[0])
      return mts__imp_err(im, MTS_EPARSE, "initializer %zu has no name", i);
    if (mts_graph_find_tensor(im->g, tp->name) >= 0)
      return mts__imp_err(im, MTS_EPARSE, "initializer '%s' is defined twice",
                          tp->name);
    int rc = mts__tensor_take(tp, im->file, im->dir, &dt, &ndim, dims, &data);
    if (rc) return rc;
    int t = mts_graph_add_const(im->g, tp->name, dt, ndim, dims, data);
    if (t < 0) return mts__imp_err(im, t, "cannot add '%s'", tp->name);
  }
  return 0;
}

static int add_inputs(mts__imp_t *im, const Onnx__GraphProto *gp, int *n,
                      int *ins) {
  *n = 0;
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi || !vi->name || !vi->name[0])
      return mts__imp_err(im, MTS_EPARSE, "graph input %zu has no name", i);
    if (is_initializer(gp, vi->name)) continue;
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !tp->tensor_type)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "graph input '%s' is not a "
                          "tensor", vi->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    /* double inputs are served as float (the IR computes in f32). */
    if (!tt->has_elem_type || (tt->elem_type != 1 && tt->elem_type != 11))
      return mts__imp_err(im, MTS_EUNSUPPORTED, "graph input '%s' has data "
                          "type %d (only float and double are supported)",
                          vi->name, tt->has_elem_type ? tt->elem_type : 0);
    if (!tt->shape)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "graph input '%s' has no "
                          "shape", vi->name);
    if (tt->shape->n_dim > MTS_MAX_DIMS)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "graph input '%s' has rank "
                          "%zu (max %d)", vi->name, tt->shape->n_dim,
                          MTS_MAX_DIMS);
    int64_t dims[MTS_MAX_DIMS];
    int nd = (int)tt->shape->n_dim;
    for (int d = 0; d < nd; d++) {
      const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[d];
      /* Symbolic (batch) dims are served as 1. */
      dims[d] = 1;
      if (dm && dm->value_case ==
                    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
        if (dm->dim_value < 0 || dm->dim_value > MTS__ONNX_MAX_DIM)
          return mts__imp_err(im, MTS_EPARSE, "graph input '%s': bad dim "
                              "%lld", vi->name, (long long)dm->dim_value);
        dims[d] = dm->dim_value;
      }
    }
    if (mts__numel(nd, dims) < 0)
      return mts__imp_err(im, MTS_EPARSE, "graph input '%s' is too large",
                          vi->name);
    if (nd == 0) dims[nd++] = 1; /* scalar: see SCALAR_AS_1D */
    if (*n >= MTS_MAX_INPUTS)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "more than %d graph inputs",
                          MTS_MAX_INPUTS);
    if (mts_graph_find_tensor(im->g, vi->name) >= 0)
      return mts__imp_err(im, MTS_EPARSE, "graph input '%s' is defined twice",
                          vi->name);
    int t = mts_graph_add_tensor(im->g, vi->name, MTS_F32, nd, dims);
    if (t < 0) return mts__imp_err(im, t, "cannot add '%s'", vi->name);
    ins[(*n)++] = t;
  }
  return 0;
}

static int convert_nodes(mts__imp_t *im, const Onnx__GraphProto *gp) {
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *n = gp->node[i];
    if (!n) continue;
    im->node = n;
    if (!n->op_type || !n->op_type[0]) {
      snprintf(im->node_name, sizeof im->node_name, "#%zu", i);
      im->node = NULL;
      return mts__imp_err(im, MTS_EPARSE, "node #%zu has no op_type", i);
    }
    if (n->name && n->name[0])
      snprintf(im->node_name, sizeof im->node_name, "%s", n->name);
    else
      snprintf(im->node_name, sizeof im->node_name, "%s_%zu", n->op_type, i);
    for (size_t k = 0; k < n->n_input; k++)
      if (!n->input[k])
        return mts__imp_err(im, MTS_EPARSE, "input %zu has no name", k);
    for (size_t k = 0; k < n->n_output; k++)
      if (!n->output[k])
        return mts__imp_err(im, MTS_EPARSE, "output %zu has no name", k);
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "unsupported operator "
                          "(domain '%s')", n->domain);
    int rc = mts__convert_node(im);
    if (rc) return rc;
  }
  im->node = NULL;
  return 0;
}

static int bind_outputs(mts__imp_t *im, const Onnx__GraphProto *gp, int *n,
                        int *outs) {
  *n = 0;
  if (gp->n_output == 0)
    return mts__imp_err(im, MTS_EPARSE, "the graph has no outputs");
  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    if (!vi || !vi->name || !vi->name[0])
      return mts__imp_err(im, MTS_EPARSE, "graph output %zu has no name", i);
    int t = mts_graph_find_tensor(im->g, vi->name);
    if (t < 0)
      return mts__imp_err(im, MTS_EPARSE, "graph output '%s' is not produced "
                          "by any node", vi->name);
    if (*n >= MTS_MAX_OUTPUTS)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "more than %d graph outputs",
                          MTS_MAX_OUTPUTS);
    outs[(*n)++] = t;
  }
  return 0;
}

/* Rebuilds the graph with only the tensors nodes and graph I/O reference:
 * folding leaves the shape tensors and the original forms of transformed
 * constants behind, and those should not cost memory in the served model.
 * Constant data moves to the new graph (no copy). */
static int compact(mts__imp_t *im, int n_in, const int *ins, int n_out,
                   const int *outs, mts_graph_t **res) {
  mts_graph_t *g = im->g, *ng = NULL;
  int *map = mts_xmalloc(sizeof(int) * (size_t)(g->n_tensors ? g->n_tensors : 1));
  char *used = mts_xcalloc((size_t)(g->n_tensors ? g->n_tensors : 1), 1);
  int rc, mi[MTS_MAX_INPUTS], mo[MTS_MAX_OUTPUTS];
  *res = NULL;
  for (int i = 0; i < g->n_nodes; i++) {
    const mts_node_t *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0) used[n->inputs[k]] = 1;
    for (int k = 0; k < n->n_outputs; k++) used[n->outputs[k]] = 1;
  }
  for (int i = 0; i < n_in; i++) used[ins[i]] = 1;
  for (int i = 0; i < n_out; i++) used[outs[i]] = 1;
  if ((rc = mts_graph_create(g->name, &ng))) goto out;
  for (int t = 0; t < g->n_tensors; t++) {
    mts_tensor_t *T = &g->tensors[t];
    map[t] = -1;
    if (!used[t]) continue;
    int nt = T->data ? mts_graph_add_const(ng, T->name, T->dtype, T->ndim,
                                           T->dims, T->data)
                     : mts_graph_add_tensor(ng, T->name, T->dtype, T->ndim,
                                            T->dims);
    if (T->data) T->data = NULL; /* owned by ng now (or freed on error) */
    if (nt < 0) {
      rc = nt;
      goto out;
    }
    map[t] = nt;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const mts_node_t *n = &g->nodes[i];
    int in[MTS_MAX_INPUTS], o[MTS_MAX_OUTPUTS];
    for (int k = 0; k < n->n_inputs; k++)
      in[k] = n->inputs[k] >= 0 ? map[n->inputs[k]] : -1;
    for (int k = 0; k < n->n_outputs; k++) o[k] = map[n->outputs[k]];
    int r = mts_graph_add_node(ng, n->name, n->op, n->n_inputs, in,
                               n->n_outputs, o, &n->attr);
    if (r < 0) {
      rc = r;
      goto out;
    }
  }
  for (int i = 0; i < n_in; i++) mi[i] = map[ins[i]];
  for (int i = 0; i < n_out; i++) mo[i] = map[outs[i]];
  rc = mts_graph_set_io(ng, n_in, mi, n_out, mo);
out:
  free(map);
  free(used);
  if (rc) {
    mts_graph_destroy(ng);
    return mts__imp_err(im, rc, "cannot rebuild the graph: %s", mts_errmsg());
  }
  *res = ng;
  return 0;
}

static int load_model(const void *buf, size_t len, const char *file,
                      const char *dir, mts_graph_t **out) {
  Onnx__ModelProto *m = NULL;
  mts__imp_t im;
  int rc, n_in = 0, n_out = 0, ins[MTS_MAX_INPUTS], outs[MTS_MAX_OUTPUTS];
  memset(&im, 0, sizeof im);
  im.file = file;
  im.dir = dir;
  *out = NULL;
  m = onnx__model_proto__unpack(NULL, len, buf);
  if (!m)
    return mts_seterr(MTS_EPARSE, "%s: not a valid ONNX model (protobuf "
                      "decode failed)", file);
  if (!m->graph) {
    rc = mts_seterr(MTS_EPARSE, "%s: not a valid ONNX model (no graph)", file);
    goto out;
  }
  rc = find_opset(m, file, &im.opset);
  if (rc) goto out;
  const char *gname = m->graph->name && m->graph->name[0] ? m->graph->name
                                                          : file;
  rc = mts_graph_create(gname, &im.g);
  if (rc) goto out;
  rc = add_initializers(&im, m->graph);
  if (!rc) rc = add_inputs(&im, m->graph, &n_in, ins);
  if (!rc) rc = convert_nodes(&im, m->graph);
  if (!rc) rc = bind_outputs(&im, m->graph, &n_out, outs);
  if (rc) goto out;
  rc = compact(&im, n_in, ins, n_out, outs, out);
out:
  mts_graph_destroy(im.g);
  onnx__model_proto__free_unpacked(m, NULL);
  return rc;
}

/* Directory part of a path ("" when it has none). */
static char *dir_of(const char *path) {
  const char *s = path ? strrchr(path, '/') : NULL;
  if (!s) return mts_xstrdup("");
  if (s == path) return mts_xstrdup("/");
  size_t n = (size_t)(s - path);
  char *d = mts_xmalloc(n + 1);
  memcpy(d, path, n);
  d[n] = 0;
  return d;
}

int mts_onnx_load_buffer(const void *buf, size_t len, const char *name,
                         mts_graph_t **out) {
  if (out) *out = NULL;
  if (!out || (!buf && len))
    return mts_seterr(MTS_EINVAL, "mts_onnx_load_buffer: bad arguments");
  const char *file = name ? name : "<buffer>";
  char *dir = dir_of(name);
  int rc = load_model(buf, len, file, dir, out);
  free(dir);
  return rc;
}

int mts_onnx_load(const char *path, mts_graph_t **out) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (out) *out = NULL;
  if (!path || !out) return mts_seterr(MTS_EINVAL, "mts_onnx_load: bad arguments");
  /* A regular file is mapped, its pages read in at once (MAP_POPULATE):
   * reading it into a heap buffer copied ResNet-50's 100 MB once more and
   * faulted in every page of the copy one by one. */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (map != MAP_FAILED) {
      int rc = mts_onnx_load_buffer(map, (size_t)st.st_size, path, out);
      munmap(map, (size_t)st.st_size);
      return rc;
    }
  } else if (fd >= 0) {
    close(fd);
  }
  int rc = mts__read_file(path, &buf, &len);
  if (rc) return rc;
  rc = mts_onnx_load_buffer(buf, len, path, out);
  free(buf);
  return rc;
}
