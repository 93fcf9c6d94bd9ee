/* import_ops.c — the operator table of the ONNX importer and the converters
 * for compute operators (Conv, pools, BatchNorm, Gemm, MatMul, elementwise,
 * Softmax, LayerNorm, LRN, ReduceMean, Identity).  Shape operators live in
 * import_shape.c, constant evaluation in fold.c.
 *
 * A converter validates the attributes it reads (naming node and attribute
 * when a value is unsupported), computes the output shape, adds the output
 * tensors and emits one or a few IR nodes. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/onnx_int.h"

static int in_shape(mts__imp_t *im, int k, int *t, int *nd, int64_t *dims) {
  int rc = mts__in_req(im, k, t);
  if (rc) return rc;
  const mts_tensor_t *tt = &im->g->tensors[*t];
  *nd = tt->ndim;
  memcpy(dims, tt->dims, sizeof(int64_t) * MTS_MAX_DIMS);
  return 0;
}

static int only_first_output(mts__imp_t *im) {
  for (int k = 1; k < (int)im->node->n_output; k++)
    if (mts__out_used(im, k))
      return mts__imp_err(im, MTS_EUNSUPPORTED, "output %d ('%s') is not "
                          "supported (inference uses output 0 only)", k,
                          im->node->output[k]);
  return 0;
}

/* One-input, one-output node with the input's shape. */
static int emit_same(mts__imp_t *im, mts_op_t op, const mts_attr_t *a) {
  int x, nd, y, rc;
  int64_t dims[MTS_MAX_DIMS];
  if ((rc = only_first_output(im))) return rc;
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if ((rc = mts__add_out(im, 0, nd, dims, &y))) return rc;
  return mts__emit(im, NULL, op, 1, &x, 1, &y, a);
}

/* ---- conv / pool geometry ------------------------------------------- */

static int read_dims_attr(mts__imp_t *im, const char *name, int nsp,
                          int64_t def, int64_t minv, int64_t *v) {
  int n, rc = mts__attr_ints(im, name, v, nsp, &n);
  if (rc) return rc;
  if (n < 0) {
    for (int i = 0; i < nsp; i++) v[i] = def;
    return 0;
  }
  if (n != nsp)
    return mts__imp_err(im, MTS_EPARSE, "attribute '%s' has %d values, "
                        "expected %d", name, n, nsp);
  for (int i = 0; i < nsp; i++)
    if (v[i] < minv || v[i] > ((int64_t)1 << 24))
      return mts__imp_err(im, MTS_EPARSE, "attribute '%s' has bad value "
                          "%lld", name, (long long)v[i]);
  return 0;
}

/* Fills stride/dilation/pad of a (kernel already set) and the output's
 * spatial dims, following ONNX's shape rules, auto_pad included. */
static int geometry(mts__imp_t *im, int nsp, const int64_t *in, mts_attr_t *a,
                    int ceil_mode, int has_dil, int64_t *out) {
  int rc;
  char ap[32];
  int64_t pads[6];
  if ((rc = read_dims_attr(im, "strides", nsp, 1, 1, a->stride))) return rc;
  if (has_dil) {
    if ((rc = read_dims_attr(im, "dilations", nsp, 1, 1, a->dilation)))
      return rc;
  } else {
    for (int i = 0; i < nsp; i++) a->dilation[i] = 1;
  }
  mts__attr_s(im, "auto_pad", "NOTSET", ap, sizeof ap);
  int same_upper = !strcmp(ap, "SAME_UPPER"), same_lower = !strcmp(ap, "SAME_LOWER");
  if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID") && !same_upper && !same_lower)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute 'auto_pad' = '%s' is "
                        "not supported", ap);
  if (!strcmp(ap, "NOTSET")) {
    if ((rc = read_dims_attr(im, "pads", 2 * nsp, 0, 0, pads))) return rc;
  } else {
    for (int i = 0; i < 2 * nsp; i++) pads[i] = 0;
  }
  a->nsp = nsp;
  for (int i = 0; i < nsp; i++) {
    int64_t ek = (a->kernel[i] - 1) * a->dilation[i] + 1, s = a->stride[i];
    if (same_upper || same_lower) {
      int64_t o = (in[i] + s - 1) / s;
      int64_t tot = (o - 1) * s + ek - in[i];
      if (tot < 0) tot = 0;
      pads[i] = same_upper ? tot / 2 : tot - tot / 2;
      pads[nsp + i] = tot - pads[i];
    }
    int64_t span = in[i] + pads[i] + pads[nsp + i] - ek;
    if (span < 0)
      return mts__imp_err(im, MTS_ESHAPE, "kernel (%lld) is larger than the "
                          "padded input (%lld) in spatial dim %d",
                          (long long)ek, (long long)(in[i] + pads[i] +
                                                     pads[nsp + i]), i);
    out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    /* As PyTorch and the executor: with ceil_mode the last window must
     * start inside the input or the begin padding. */
    if (ceil_mode && (out[i] - 1) * s >= in[i] + pads[i]) out[i]--;
  }
  memcpy(a->pad, pads, sizeof(int64_t) * (size_t)(2 * nsp));
  return 0;
}

static int cv_conv(mts__imp_t *im) {
  int x, w, b, nx, nw, rc, y;
  int64_t xd[MTS_MAX_DIMS], wd[MTS_MAX_DIMS], ks[3], out[MTS_MAX_DIMS];
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if ((rc = in_shape(im, 0, &x, &nx, xd)) || (rc = in_shape(im, 1, &w, &nw, wd)) ||
      (rc = mts__in(im, 2, &b)))
    return rc;
  if (nx < 3 || nx > 5 || nw != nx)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "input rank %d / weight rank %d "
                        "(1-D to 3-D convolutions are supported)", nx, nw);
  int nsp = nx - 2;
  a.group = mts__attr_i(im, "group", 1);
  if (a.group < 1 || a.group > xd[1] || xd[1] % a.group ||
      wd[1] * a.group != xd[1] || wd[0] % a.group)
    return mts__imp_err(im, MTS_ESHAPE, "attribute 'group' = %lld does not "
                        "fit %lld input channels and weight %lldx%lld",
                        (long long)a.group, (long long)xd[1],
                        (long long)wd[0], (long long)wd[1]);
  int n;
  if ((rc = mts__attr_ints(im, "kernel_shape", ks, 3, &n))) return rc;
  for (int i = 0; i < nsp; i++) {
    if (n >= 0 && (n != nsp || ks[i] != wd[2 + i]))
      return mts__imp_err(im, MTS_ESHAPE, "attribute 'kernel_shape' does not "
                          "match the weight shape");
    a.kernel[i] = wd[2 + i];
    if (a.kernel[i] < 1)
      return mts__imp_err(im, MTS_ESHAPE, "empty kernel");
  }
  if (b >= 0) {
    const mts_tensor_t *bt = &im->g->tensors[b];
    if (bt->ndim != 1 || bt->dims[0] != wd[0])
      return mts__imp_err(im, MTS_ESHAPE, "bias must have %lld elements",
                          (long long)wd[0]);
  }
  if ((rc = geometry(im, nsp, xd + 2, &a, 0, 1, out + 2))) return rc;
  out[0] = xd[0];
  out[1] = wd[0];
  if ((rc = mts__add_out(im, 0, nx, out, &y))) return rc;
  int in[3] = {x, w, b};
  return mts__emit(im, NULL, MTS_OP_CONV, 3, in, 1, &y, &a);
}

static int cv_pool(mts__imp_t *im, int is_max) {
  int x, nx, rc, y, n;
  int64_t xd[MTS_MAX_DIMS], out[MTS_MAX_DIMS];
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if ((rc = only_first_output(im))) return rc;
  if ((rc = in_shape(im, 0, &x, &nx, xd))) return rc;
  if (nx < 3 || nx > 5)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "input rank %d (1-D to 3-D "
                        "pooling is supported)", nx);
  int nsp = nx - 2;
  if ((rc = mts__attr_ints(im, "kernel_shape", a.kernel, 3, &n))) return rc;
  if (n != nsp)
    return mts__imp_err(im, MTS_EPARSE, "attribute 'kernel_shape' must have "
                        "%d values", nsp);
  for (int i = 0; i < nsp; i++)
    if (a.kernel[i] < 1 || a.kernel[i] > MTS__ONNX_MAX_DIM)
      return mts__imp_err(im, MTS_EPARSE, "attribute 'kernel_shape' has a "
                          "bad value");
  if (mts__attr_i(im, "storage_order", 0) != 0)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute 'storage_order' = 1 "
                        "is not supported");
  a.ceil_mode = mts__attr_i(im, "ceil_mode", 0) != 0;
  a.count_include_pad = mts__attr_i(im, "count_include_pad", 0) != 0;
  if ((rc = geometry(im, nsp, xd + 2, &a, a.ceil_mode, is_max, out + 2)))
    return rc;
  out[0] = xd[0];
  out[1] = xd[1];
  if ((rc = mts__add_out(im, 0, nx, out, &y))) return rc;
  return mts__emit(im, NULL, is_max ? MTS_OP_MAXPOOL : MTS_OP_AVGPOOL, 1, &x,
                   1, &y, &a);
}

static int cv_global_pool(mts__imp_t *im, int is_max) {
  int x, nx, rc, y;
  int64_t xd[MTS_MAX_DIMS], out[MTS_MAX_DIMS];
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if ((rc = in_shape(im, 0, &x, &nx, xd))) return rc;
  if (nx < 3 || nx > 5)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "input rank %d", nx);
  for (int i = 2; i < nx; i++)
    if (xd[i] < 1)
      return mts__imp_err(im, MTS_ESHAPE, "spatial dim %d is empty", i);
  for (int i = 0; i < nx; i++) out[i] = i < 2 ? xd[i] : 1;
  if ((rc = mts__add_out(im, 0, nx, out, &y))) return rc;
  if (!is_max) return mts__emit(im, NULL, MTS_OP_GLOBAL_AVGPOOL, 1, &x, 1, &y, &a);
  /* GlobalMaxPool is a MaxPool whose window is the whole image. */
  a.nsp = nx - 2;
  for (int i = 0; i < a.nsp; i++) {
    a.kernel[i] = xd[2 + i];
    a.stride[i] = a.dilation[i] = 1;
  }
  return mts__emit(im, NULL, MTS_OP_MAXPOOL, 1, &x, 1, &y, &a);
}

static int cv_batchnorm(mts__imp_t *im) {
  int t[5], nx, rc, y;
  int64_t xd[MTS_MAX_DIMS];
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if ((rc = only_first_output(im))) return rc;
  if (mts__attr_i(im, "training_mode", 0) != 0)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute 'training_mode' = 1 "
                        "is not supported");
  if (mts__attr_i(im, "spatial", 1) != 1)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute 'spatial' = 0 is not "
                        "supported");
  if ((rc = in_shape(im, 0, &t[0], &nx, xd))) return rc;
  if (nx < 2) return mts__imp_err(im, MTS_ESHAPE, "input rank %d", nx);
  for (int k = 1; k < 5; k++) {
    if ((rc = mts__in_req(im, k, &t[k]))) return rc;
    const mts_tensor_t *tt = &im->g->tensors[t[k]];
    if (tt->ndim != 1 || tt->dims[0] != xd[1])
      return mts__imp_err(im, MTS_ESHAPE, "input %d must have %lld elements",
                          k, (long long)xd[1]);
  }
  a.epsilon = mts__attr_f(im, "epsilon", 1e-5f);
  if ((rc = mts__add_out(im, 0, nx, xd, &y))) return rc;
  return mts__emit(im, NULL, MTS_OP_BATCHNORM, 5, t, 1, &y, &a);
}

static int cv_gemm(mts__imp_t *im) {
  int ta, tb, tc, na, nb, rc, y;
  int64_t ad[MTS_MAX_DIMS], bd[MTS_MAX_DIMS], out[2];
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if ((rc = in_shape(im, 0, &ta, &na, ad)) || (rc = in_shape(im, 1, &tb, &nb, bd)) ||
      (rc = mts__in(im, 2, &tc)))
    return rc;
  if (na != 2 || nb != 2)
    return mts__imp_err(im, MTS_ESHAPE, "A and B must be 2-D (ranks %d, %d)",
                        na, nb);
  a.trans_a = mts__attr_i(im, "transA", 0) != 0;
  a.trans_b = mts__attr_i(im, "transB", 0) != 0;
  a.alpha = mts__attr_f(im, "alpha", 1.0f);
  a.beta = mts__attr_f(im, "beta", 1.0f);
  int64_t m = a.trans_a ? ad[1] : ad[0], k = a.trans_a ? ad[0] : ad[1];
  int64_t k2 = a.trans_b ? bd[1] : bd[0], n = a.trans_b ? bd[0] : bd[1];
  if (k != k2)
    return mts__imp_err(im, MTS_ESHAPE, "inner dims differ (%lld vs %lld)",
                        (long long)k, (long long)k2);
  out[0] = m;
  out[1] = n;
  if (tc >= 0) {
    int on;
    int64_t bo[MTS_MAX_DIMS];
    const mts_tensor_t *ct = &im->g->tensors[tc];
    if (ct->ndim > 2 || (rc = mts__bcast(im, 2, out, ct->ndim, ct->dims, &on, bo)))
      return rc ? rc : mts__imp_err(im, MTS_ESHAPE, "C has rank %d", ct->ndim);
    if (bo[0] != m || bo[1] != n)
      return mts__imp_err(im, MTS_ESHAPE, "C does not broadcast to %lldx%lld",
                          (long long)m, (long long)n);
  }
  if ((rc = mts__add_out(im, 0, 2, out, &y))) return rc;
  int in[3] = {ta, tb, tc};
  return mts__emit(im, NULL, MTS_OP_GEMM, 3, in, 1, &y, &a);
}

/* t reshaped to (nd, dims): a constant copy, or a RESHAPE into a temp. */
static int reshape_to(mts__imp_t *im, int t, int nd, const int64_t *dims,
                      int *out) {
  const mts_tensor_t *tt = &im->g->tensors[t];
  if (tt->data)
    return mts__add_const_copy(im, tt->name, tt->dtype, nd, dims, tt->data, out);
  int rc = mts__add_tmp(im, nd, dims, out);
  if (rc) return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  return mts__emit(im, ":2d", MTS_OP_RESHAPE, 1, &t, 1, out, &a);
}

static int cv_matmul(mts__imp_t *im) {
  int ta, tb, na, nb, rc, y;
  int64_t ad[MTS_MAX_DIMS + 1], bd[MTS_MAX_DIMS + 1], out[MTS_MAX_DIMS + 1];
  if ((rc = in_shape(im, 0, &ta, &na, ad)) || (rc = in_shape(im, 1, &tb, &nb, bd)))
    return rc;
  if (na < 1 || nb < 1)
    return mts__imp_err(im, MTS_ESHAPE, "inputs must have rank >= 1");
  int va = na == 1, vb = nb == 1;
  if (va) { ad[1] = ad[0]; ad[0] = 1; na = 2; }
  if (vb) { bd[1] = 1; nb = 2; }
  if (ad[na - 1] != bd[nb - 2])
    return mts__imp_err(im, MTS_ESHAPE, "inner dims differ (%lld vs %lld)",
                        (long long)ad[na - 1], (long long)bd[nb - 2]);
  int on;
  if ((rc = mts__bcast(im, na - 2, ad, nb - 2, bd, &on, out))) return rc;
  if (!va) out[on++] = ad[na - 2];
  if (!vb) out[on++] = bd[nb - 1];
  if (on > MTS_MAX_DIMS) return mts__imp_err(im, MTS_EUNSUPPORTED, "rank too large");
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if (!va && !vb) {
    if ((rc = mts__add_out(im, 0, on, out, &y))) return rc;
    int in[2] = {ta, tb};
    return mts__emit(im, NULL, MTS_OP_MATMUL, 2, in, 1, &y, &a);
  }
  /* The IR's MatMul takes operands of rank >= 2: a 1-D operand becomes
   * [1, K] / [K, 1] and the unit dim is dropped from the result again. */
  if (va && (rc = reshape_to(im, ta, 2, ad, &ta))) return rc;
  if (vb && (rc = reshape_to(im, tb, 2, bd, &tb))) return rc;
  int64_t full[MTS_MAX_DIMS + 2];
  int fn = on - (va ? 0 : 1) - (vb ? 0 : 1);
  memcpy(full, out, sizeof(int64_t) * (size_t)fn);
  full[fn++] = ad[na - 2];
  full[fn++] = bd[nb - 1];
  int mid;
  if (fn > MTS_MAX_DIMS) return mts__imp_err(im, MTS_EUNSUPPORTED, "rank too large");
  if ((rc = mts__add_tmp(im, fn, full, &mid))) return rc;
  int in[2] = {ta, tb};
  if ((rc = mts__emit(im, NULL, MTS_OP_MATMUL, 2, in, 1, &mid, &a))) return rc;
  if ((rc = mts__add_out(im, 0, on, out, &y))) return rc;
  return mts__emit(im, ":squeeze", MTS_OP_RESHAPE, 1, &mid, 1, &y, &a);
}

static int cv_unary(mts__imp_t *im, int u, float alpha, float beta) {
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.unary = u;
  a.alpha = alpha;
  a.beta = beta;
  return emit_same(im, MTS_OP_UNARY, &a);
}

static int cv_clip(mts__imp_t *im) {
  float lo = -FLT_MAX, hi = FLT_MAX;
  int p, rc;
  if (im->opset < 11) {
    lo = mts__attr_f(im, "min", lo);
    hi = mts__attr_f(im, "max", hi);
  } else {
    if ((rc = mts__in_scalar(im, 1, &lo, &p))) return rc;
    if (!p) lo = -FLT_MAX;
    if ((rc = mts__in_scalar(im, 2, &hi, &p))) return rc;
    if (!p) hi = FLT_MAX;
  }
  return cv_unary(im, MTS_UNARY_CLIP, lo, hi);
}

/* Binary elementwise op with broadcasting (chained for variadic Max/Min/
 * Sum).  Pow with a scalar constant exponent becomes a unary op, which
 * oneDNN runs as an eltwise primitive. */
static int cv_binary(mts__imp_t *im, int op, int variadic) {
  int n = mts__n_in(im), rc, prev, nd;
  int64_t dims[MTS_MAX_DIMS];
  /* Before opset 7, broadcasting was explicit and aligned at 'axis'. */
  if (im->opset < 7 && (mts__attr(im, "axis") || mts__attr_i(im, "broadcast", 0)))
    return mts__imp_err(im, MTS_EUNSUPPORTED, "legacy broadcasting "
                        "(attributes 'broadcast'/'axis', opset < 7) is not "
                        "supported");
  if (n < 1 || (!variadic && n != 2))
    return mts__imp_err(im, MTS_EPARSE, "has %d inputs, expected %s", n,
                        variadic ? ">= 1" : "2");
  if (n == 1) {
    mts_attr_t a;
    memset(&a, 0, sizeof a);
    return emit_same(im, MTS_OP_IDENTITY, &a);
  }
  if ((rc = in_shape(im, 0, &prev, &nd, dims))) return rc;
  if (op == MTS_BINARY_POW) {
    int tb;
    if ((rc = mts__in_req(im, 1, &tb))) return rc;
    const mts_tensor_t *bt = &im->g->tensors[tb];
    if (bt->data && mts__numel(bt->ndim, bt->dims) == 1 && bt->ndim <= nd) {
      float e = bt->dtype == MTS_F32 ? ((const float *)bt->data)[0]
                                     : (float)((const int64_t *)bt->data)[0];
      return cv_unary(im, MTS_UNARY_POW, e, 0);
    }
  }
  for (int k = 1; k < n; k++) {
    int tb, nb, on, y;
    int64_t bd[MTS_MAX_DIMS], od[MTS_MAX_DIMS];
    if ((rc = in_shape(im, k, &tb, &nb, bd))) return rc;
    if ((rc = mts__bcast(im, nd, dims, nb, bd, &on, od))) return rc;
    if (k == n - 1) rc = mts__add_out(im, 0, on, od, &y);
    else rc = mts__add_tmp(im, on, od, &y);
    if (rc) return rc;
    mts_attr_t a;
    memset(&a, 0, sizeof a);
    a.binary = op;
    int in[2] = {prev, tb};
    if ((rc = mts__emit(im, k == n - 1 ? NULL : ":part", MTS_OP_BINARY, 2, in,
                        1, &y, &a)))
      return rc;
    prev = y;
    nd = on;
    memcpy(dims, od, sizeof dims);
  }
  return 0;
}

static int cv_softmax(mts__imp_t *im) {
  int x, nd, rc, y;
  int64_t dims[MTS_MAX_DIMS], ax;
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if (nd < 1) return mts__imp_err(im, MTS_ESHAPE, "input must have rank >= 1");
  if ((rc = mts__axis(im, mts__attr_i(im, "axis", im->opset < 13 ? 1 : -1),
                      nd, "attribute 'axis'", &ax)))
    return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if (im->opset >= 13 || ax == nd - 1) {
    a.axis = ax;
    if ((rc = mts__add_out(im, 0, nd, dims, &y))) return rc;
    return mts__emit(im, NULL, MTS_OP_SOFTMAX, 1, &x, 1, &y, &a);
  }
  /* Before opset 13 the input is coerced to 2-D at `axis` and the softmax
   * runs over the whole second dimension. */
  int64_t d2[2] = {1, 1};
  for (int i = 0; i < nd; i++) d2[i < ax ? 0 : 1] *= dims[i];
  int r1, r2;
  if ((rc = mts__add_tmp(im, 2, d2, &r1)) || (rc = mts__add_tmp(im, 2, d2, &r2)) ||
      (rc = mts__add_out(im, 0, nd, dims, &y)))
    return rc;
  if ((rc = mts__emit(im, ":to2d", MTS_OP_RESHAPE, 1, &x, 1, &r1, &a))) return rc;
  a.axis = 1;
  if ((rc = mts__emit(im, NULL, MTS_OP_SOFTMAX, 1, &r1, 1, &r2, &a))) return rc;
  a.axis = 0;
  return mts__emit(im, ":back", MTS_OP_RESHAPE, 1, &r2, 1, &y, &a);
}

/* LayerNormalization's optional outputs Mean (1) and InvStdDev (2), of
 * shape X.shape[:axis] + [1, ...], computed by their own small chain:
 * mean = ReduceMean(x); inv = 1 / sqrt(ReduceMean((x - mean)^2) + eps). */
static int layernorm_stats(mts__imp_t *im, int x, int nd, const int64_t *dims,
                           int64_t ax, float eps) {
  int64_t sd[MTS_MAX_DIMS];
  int rc, mean, d, sq, var, ve, sdv, inv;
  for (int i = 0; i < nd; i++) sd[i] = i < ax ? dims[i] : 1;
  mts_attr_t red, a;
  memset(&red, 0, sizeof red);
  red.keepdims = 1;
  for (int i = (int)ax; i < nd; i++) red.ints[red.n_ints++] = i;
  rc = mts__out_used(im, 1) ? mts__add_out(im, 1, nd, sd, &mean)
                            : mts__add_tmp(im, nd, sd, &mean);
  if (rc || (rc = mts__emit(im, ":mean", MTS_OP_REDUCE_MEAN, 1, &x, 1, &mean, &red)))
    return rc;
  if (!mts__out_used(im, 2)) return 0;
  if ((rc = mts__add_tmp(im, nd, dims, &d)) || (rc = mts__add_tmp(im, nd, dims, &sq)) ||
      (rc = mts__add_tmp(im, nd, sd, &var)) || (rc = mts__add_tmp(im, nd, sd, &ve)) ||
      (rc = mts__add_tmp(im, nd, sd, &sdv)) || (rc = mts__add_out(im, 2, nd, sd, &inv)))
    return rc;
  int in[2] = {x, mean};
  memset(&a, 0, sizeof a);
  a.binary = MTS_BINARY_SUB;
  if ((rc = mts__emit(im, ":d", MTS_OP_BINARY, 2, in, 1, &d, &a))) return rc;
  in[0] = in[1] = d;
  a.binary = MTS_BINARY_MUL;
  if ((rc = mts__emit(im, ":sq", MTS_OP_BINARY, 2, in, 1, &sq, &a))) return rc;
  if ((rc = mts__emit(im, ":var", MTS_OP_REDUCE_MEAN, 1, &sq, 1, &var, &red)))
    return rc;
  memset(&a, 0, sizeof a);
  a.unary = MTS_UNARY_LINEAR;
  a.alpha = 1;
  a.beta = eps;
  if ((rc = mts__emit(im, ":eps", MTS_OP_UNARY, 1, &var, 1, &ve, &a))) return rc;
  a.unary = MTS_UNARY_SQRT;
  a.alpha = a.beta = 0;
  if ((rc = mts__emit(im, ":std", MTS_OP_UNARY, 1, &ve, 1, &sdv, &a))) return rc;
  a.unary = MTS_UNARY_RECIPROCAL;
  return mts__emit(im, ":inv", MTS_OP_UNARY, 1, &sdv, 1, &inv, &a);
}

static int cv_layernorm(mts__imp_t *im) {
  int x, s, b, nd, rc, y;
  int64_t dims[MTS_MAX_DIMS], ax;
  if ((rc = in_shape(im, 0, &x, &nd, dims)) || (rc = mts__in_req(im, 1, &s)) ||
      (rc = mts__in(im, 2, &b)))
    return rc;
  if ((rc = mts__axis(im, mts__attr_i(im, "axis", -1), nd, "attribute 'axis'",
                      &ax)))
    return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.axis = ax;
  a.epsilon = mts__attr_f(im, "epsilon", 1e-5f);
  /* Scale and bias hold one value per normalised element (broadcasting
   * them from fewer values is not supported). */
  int64_t inner = mts__numel(nd - (int)ax, dims + ax);
  for (int k = 1; k < 3; k++) {
    int t = k == 1 ? s : b;
    if (t < 0) continue;
    const mts_tensor_t *tt = &im->g->tensors[t];
    if (mts__numel(tt->ndim, tt->dims) != inner || tt->ndim > nd - ax)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "input %d '%s' must have the "
                          "normalised shape (%lld elements)", k, tt->name,
                          (long long)inner);
  }
  if ((rc = mts__add_out(im, 0, nd, dims, &y))) return rc;
  int in[3] = {x, s, b};
  if ((rc = mts__emit(im, NULL, MTS_OP_LAYERNORM, 3, in, 1, &y, &a))) return rc;
  if (!mts__out_used(im, 1) && !mts__out_used(im, 2)) return 0;
  return layernorm_stats(im, x, nd, dims, ax, a.epsilon);
}

static int cv_lrn(mts__imp_t *im) {
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.size = mts__attr_i(im, "size", 0);
  if (a.size < 1 || a.size > 1024)
    return mts__imp_err(im, MTS_EPARSE, "attribute 'size' = %lld is invalid",
                        (long long)a.size);
  a.alpha = mts__attr_f(im, "alpha", 1e-4f);
  a.beta = mts__attr_f(im, "beta", 0.75f);
  a.bias = mts__attr_f(im, "bias", 1.0f);
  return emit_same(im, MTS_OP_LRN, &a);
}

static int cv_reduce_mean(mts__imp_t *im) {
  int x, nd, rc, n = -1, y, sel[MTS_MAX_DIMS] = {0}, on = 0;
  int64_t dims[MTS_MAX_DIMS], axes[MTS_MAX_DIMS], out[MTS_MAX_DIMS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if (im->opset < 18) {
    if ((rc = mts__attr_ints(im, "axes", axes, MTS_MAX_DIMS, &n))) return rc;
  } else {
    int t;
    if ((rc = mts__in(im, 1, &t))) return rc;
    if (t >= 0 && (rc = mts__in_ints(im, 1, axes, MTS_MAX_DIMS, &n))) return rc;
  }
  int keep = mts__attr_i(im, "keepdims", 1) != 0;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if (n <= 0) {
    if (mts__attr_i(im, "noop_with_empty_axes", 0))
      return emit_same(im, MTS_OP_IDENTITY, &a);
    for (int i = 0; i < nd; i++) sel[i] = 1;
  }
  for (int i = 0; i < n; i++) {
    int64_t v;
    if ((rc = mts__axis(im, axes[i], nd, "axis", &v))) return rc;
    sel[v] = 1;
  }
  for (int i = 0; i < nd; i++) {
    if (sel[i]) a.ints[a.n_ints++] = i;
    if (!sel[i]) out[on++] = dims[i];
    else if (keep) out[on++] = 1;
  }
  a.keepdims = keep;
  if ((rc = mts__add_out(im, 0, on, out, &y))) return rc;
  return mts__emit(im, NULL, MTS_OP_REDUCE_MEAN, 1, &x, 1, &y, &a);
}

static int cv_identity(mts__imp_t *im) {
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  if (im->opset >= 12) {
    float v;
    int p, rc = mts__in_scalar(im, 2, &v, &p);
    if (rc) return rc;
    if (p && v != 0)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "training_mode = true is not "
                          "supported");
  }
  int x, rc = mts__in_req(im, 0, &x);
  if (rc) return rc;
  if (mts__is_const(im, x)) {
    /* Identity of a constant is that constant (no node). */
    const mts_tensor_t *tt = &im->g->tensors[x];
    int64_t n = mts__numel(tt->ndim, tt->dims);
    size_t bytes = (size_t)n * mts_dtype_size(tt->dtype);
    void *d = malloc(bytes ? bytes : 1);
    if (!d) return mts__imp_err(im, MTS_ENOMEM, "out of memory");
    memcpy(d, tt->data, bytes);
    if ((rc = only_first_output(im))) {
      free(d);
      return rc;
    }
    int64_t dims[MTS_MAX_DIMS];
    memcpy(dims, tt->dims, sizeof dims);
    return mts__out_const(im, 0, tt->dtype, tt->ndim, dims, d);
  }
  return emit_same(im, MTS_OP_IDENTITY, &a);
}

static int cv_gelu(mts__imp_t *im) {
  char ap[32];
  mts__attr_s(im, "approximate", "none", ap, sizeof ap);
  if (strcmp(ap, "none"))
    return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute 'approximate' = "
                        "'%s' is not supported", ap);
  return cv_unary(im, MTS_UNARY_GELU, 0, 0);
}

typedef struct {
  const char *name;
  int (*fn)(mts__imp_t *im);
} op_entry_t;

#define UNARY_FN(nm, u, al, be) \
  static int cv_##nm(mts__imp_t *im) { return cv_unary(im, u, al, be); }
UNARY_FN(relu, MTS_UNARY_RELU, 0, 0)
UNARY_FN(sigmoid, MTS_UNARY_SIGMOID, 0, 0)
UNARY_FN(hardswish, MTS_UNARY_HARDSWISH, 0, 0)
UNARY_FN(tanh, MTS_UNARY_TANH, 0, 0)
UNARY_FN(erf, MTS_UNARY_ERF, 0, 0)
UNARY_FN(sqrt, MTS_UNARY_SQRT, 0, 0)
UNARY_FN(exp, MTS_UNARY_EXP, 0, 0)
UNARY_FN(log, MTS_UNARY_LOG, 0, 0)
UNARY_FN(abs, MTS_UNARY_ABS, 0, 0)
UNARY_FN(neg, MTS_UNARY_NEG, 0, 0)
UNARY_FN(reciprocal, MTS_UNARY_RECIPROCAL, 0, 0)
static int cv_leaky(mts__imp_t *im) {
  return cv_unary(im, MTS_UNARY_RELU, mts__attr_f(im, "alpha", 0.01f), 0);
}
static int cv_hardsigmoid(mts__imp_t *im) {
  return cv_unary(im, MTS_UNARY_HARDSIGMOID, mts__attr_f(im, "alpha", 0.2f),
                  mts__attr_f(im, "beta", 0.5f));
}
#define BINARY_FN(nm, b, v) \
  static int cv_##nm(mts__imp_t *im) { return cv_binary(im, b, v); }
BINARY_FN(add, MTS_BINARY_ADD, 0)
BINARY_FN(sub, MTS_BINARY_SUB, 0)
BINARY_FN(mul, MTS_BINARY_MUL, 0)
BINARY_FN(div, MTS_BINARY_DIV, 0)
BINARY_FN(pow, MTS_BINARY_POW, 0)
BINARY_FN(max, MTS_BINARY_MAX, 1)
BINARY_FN(min, MTS_BINARY_MIN, 1)
BINARY_FN(sum, MTS_BINARY_ADD, 1)
static int cv_maxpool(mts__imp_t *im) { return cv_pool(im, 1); }
static int cv_avgpool(mts__imp_t *im) { return cv_pool(im, 0); }
static int cv_gap(mts__imp_t *im) { return cv_global_pool(im, 0); }
static int cv_gmp(mts__imp_t *im) { return cv_global_pool(im, 1); }

static const op_entry_t ops[] = {
    {"Conv", cv_conv}, {"MaxPool", cv_maxpool}, {"AveragePool", cv_avgpool},
    {"GlobalAveragePool", cv_gap}, {"GlobalMaxPool", cv_gmp},
    {"BatchNormalization", cv_batchnorm}, {"Gemm", cv_gemm},
    {"MatMul", cv_matmul}, {"Relu", cv_relu}, {"LeakyRelu", cv_leaky},
    {"Clip", cv_clip}, {"Sigmoid", cv_sigmoid}, {"HardSigmoid", cv_hardsigmoid},
    {"HardSwish", cv_hardswish}, {"Tanh", cv_tanh}, {"Erf", cv_erf},
    {"Gelu", cv_gelu}, {"Sqrt", cv_sqrt}, {"Exp", cv_exp}, {"Log", cv_log},
    {"Abs", cv_abs}, {"Neg", cv_neg}, {"Reciprocal", cv_reciprocal},
    {"Add", cv_add}, {"Sub", cv_sub}, {"Mul", cv_mul}, {"Div", cv_div},
    {"Pow", cv_pow}, {"Max", cv_max}, {"Min", cv_min}, {"Sum", cv_sum},
    {"Softmax", cv_softmax},
    {"LayerNormalization", cv_layernorm}, {"LRN", cv_lrn},
    {"ReduceMean", cv_reduce_mean}, {"Identity", cv_identity},
    {"Dropout", cv_identity}, {"Reshape", mts__cv_reshape},
    {"Flatten", mts__cv_flatten}, {"Squeeze", mts__cv_squeeze},
    {"Unsqueeze", mts__cv_unsqueeze}, {"Transpose", mts__cv_transpose},
    {"Concat", mts__cv_concat}, {"Split", mts__cv_split},
    {"Slice", mts__cv_slice}, {"Gather", mts__cv_gather},
    {"Expand", mts__cv_expand}, {"Pad", mts__cv_pad},
    {"ReduceSum", mts__cv_reduce_sum}, {"Mean", mts__cv_mean},
    {"PRelu", mts__cv_prelu}, {"DepthToSpace", mts__cv_depth_to_space},
    {"SpaceToDepth", mts__cv_space_to_depth},
};

int mts__convert_node(mts__imp_t *im) {
  int done = 0, rc = mts__fold_node(im, &done);
  if (rc || done) return rc;
  const char *op = im->node->op_type;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(ops[i].name, op) == 0) return ops[i].fn(im);
  return mts__imp_err(im, MTS_EUNSUPPORTED, "unsupported operator");
}
