/* import_compose.c — ONNX operators the IR has no single op for, imported
 * as short chains of IR ops that compute the same values:
 *   ReduceSum        = ReduceMean, then a linear scale by the reduced count
 *   Mean (variadic)  = Add chain, then a linear scale by 1/n
 *   PRelu            = Relu(x) + slope * Min(x, 0)
 *   DepthToSpace     = Reshape, Transpose, Reshape (DCR and CRD modes)
 *   SpaceToDepth     = Reshape, Transpose, Reshape
 * LogSoftmax is deliberately not composed (log of a softmax underflows to
 * -inf where a fused log-softmax does not). */
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

static void attr0(mts_attr_t *a) { memset(a, 0, sizeof *a); }

static int linear(mts__imp_t *im, int x, int y, float alpha) {
  mts_attr_t a;
  attr0(&a);
  a.unary = MTS_UNARY_LINEAR;
  a.alpha = alpha;
  a.beta = 0;
  return mts__emit(im, ":scale", MTS_OP_UNARY, 1, &x, 1, &y, &a);
}

int mts__cv_reduce_sum(mts__imp_t *im) {
  int x, nd, rc, n = -1, sel[MTS_MAX_DIMS] = {0}, on = 0, mid, y;
  int64_t dims[MTS_MAX_DIMS], axes[MTS_MAX_DIMS], out[MTS_MAX_DIMS], cnt = 1;
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if (im->opset < 13) {
    if ((rc = mts__attr_ints(im, "axes", axes, MTS_MAX_DIMS, &n))) return rc;
  } else {
    int t;
    if ((rc = mts__in(im, 1, &t))) return rc;
    if (t >= 0 && (rc = mts__in_ints(im, 1, axes, MTS_MAX_DIMS, &n))) return rc;
  }
  int keep = mts__attr_i(im, "keepdims", 1) != 0;
  mts_attr_t a;
  attr0(&a);
  if (n <= 0) {
    if (mts__attr_i(im, "noop_with_empty_axes", 0)) {
      if ((rc = mts__add_out(im, 0, nd, dims, &y))) return rc;
      return mts__emit(im, NULL, MTS_OP_IDENTITY, 1, &x, 1, &y, &a);
    }
    for (int i = 0; i < nd; i++) sel[i] = 1;
  }
  for (int i = 0; i < n; i++) {
    int64_t v;
    if ((rc = mts__axis(im, axes[i], nd, "axis", &v))) return rc;
    sel[v] = 1;
  }
  for (int i = 0; i < nd; i++) {
    if (sel[i]) {
      a.ints[a.n_ints++] = i;
      cnt *= dims[i];
    }
    if (!sel[i]) out[on++] = dims[i];
    else if (keep) out[on++] = 1;
  }
  a.keepdims = keep;
  if ((rc = mts__add_tmp(im, on, out, &mid))) return rc;
  if ((rc = mts__emit(im, ":mean", MTS_OP_REDUCE_MEAN, 1, &x, 1, &mid, &a)))
    return rc;
  if ((rc = mts__add_out(im, 0, on, out, &y))) return rc;
  return linear(im, mid, y, (float)cnt);
}

int mts__cv_mean(mts__imp_t *im) {
  int n = mts__n_in(im), rc, prev, nd;
  int64_t dims[MTS_MAX_DIMS];
  if (n < 1) return mts__imp_err(im, MTS_EPARSE, "needs at least one input");
  if ((rc = in_shape(im, 0, &prev, &nd, dims))) return rc;
  for (int k = 1; k < n; k++) {
    int tb, nb, on, y;
    int64_t bd[MTS_MAX_DIMS], od[MTS_MAX_DIMS];
    if ((rc = in_shape(im, k, &tb, &nb, bd))) return rc;
    if ((rc = mts__bcast(im, nd, dims, nb, bd, &on, od))) return rc;
    if ((rc = mts__add_tmp(im, on, od, &y))) return rc;
    mts_attr_t a;
    attr0(&a);
    a.binary = MTS_BINARY_ADD;
    int in[2] = {prev, tb};
    if ((rc = mts__emit(im, ":sum", MTS_OP_BINARY, 2, in, 1, &y, &a))) return rc;
    prev = y;
    nd = on;
    memcpy(dims, od, sizeof dims);
  }
  int y;
  if ((rc = mts__add_out(im, 0, nd, dims, &y))) return rc;
  return linear(im, prev, y, 1.0f / (float)n);
}

int mts__cv_prelu(mts__imp_t *im) {
  int x, s, nx, ns, rc, on, zero, neg, pos, prod, y;
  int64_t xd[MTS_MAX_DIMS], sd[MTS_MAX_DIMS], od[MTS_MAX_DIMS], one = 1;
  float z = 0;
  if ((rc = in_shape(im, 0, &x, &nx, xd)) || (rc = in_shape(im, 1, &s, &ns, sd)))
    return rc;
  /* Before opset 7 a 1-D slope of C values applies per channel. */
  if (im->opset < 7 && ns == 1 && nx > 2 && sd[0] == xd[1] && sd[0] != 1) {
    const mts_tensor_t *st = &im->g->tensors[s];
    if (!st->data)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "per-channel slope must be a "
                          "constant");
    ns = nx - 1;
    for (int i = 1; i < ns; i++) sd[i] = 1;
    if ((rc = mts__add_const_copy(im, st->name, st->dtype, ns, sd, st->data, &s)))
      return rc;
  }
  /* The slope broadcasts to x (unidirectionally). */
  if ((rc = mts__bcast(im, nx, xd, ns, sd, &on, od))) return rc;
  if (on != nx || memcmp(od, xd, sizeof(int64_t) * (size_t)nx))
    return mts__imp_err(im, MTS_ESHAPE, "slope does not broadcast to X");
  if ((rc = mts__add_const_copy(im, im->node_name, MTS_F32, 1, &one, &z, &zero)) ||
      (rc = mts__add_tmp(im, nx, xd, &neg)) || (rc = mts__add_tmp(im, nx, xd, &pos)) ||
      (rc = mts__add_tmp(im, nx, xd, &prod)))
    return rc;
  mts_attr_t a;
  attr0(&a);
  a.binary = MTS_BINARY_MIN;
  int in[2] = {x, zero};
  if ((rc = mts__emit(im, ":min", MTS_OP_BINARY, 2, in, 1, &neg, &a))) return rc;
  attr0(&a);
  a.unary = MTS_UNARY_RELU;
  if ((rc = mts__emit(im, ":relu", MTS_OP_UNARY, 1, &x, 1, &pos, &a))) return rc;
  attr0(&a);
  a.binary = MTS_BINARY_MUL;
  in[0] = neg;
  in[1] = s;
  if ((rc = mts__emit(im, ":mul", MTS_OP_BINARY, 2, in, 1, &prod, &a))) return rc;
  if ((rc = mts__add_out(im, 0, nx, xd, &y))) return rc;
  a.binary = MTS_BINARY_ADD;
  in[0] = pos;
  in[1] = prod;
  return mts__emit(im, NULL, MTS_OP_BINARY, 2, in, 1, &y, &a);
}

/* Reshape to r1, transpose by perm (rank 6), reshape to the output. */
static int shuffle(mts__imp_t *im, int x, const int64_t *r1,
                   const int64_t *perm, const int64_t *out) {
  int t1, t2, y, rc;
  int64_t r2[6];
  for (int i = 0; i < 6; i++) r2[i] = r1[perm[i]];
  if ((rc = mts__add_tmp(im, 6, r1, &t1)) || (rc = mts__add_tmp(im, 6, r2, &t2)))
    return rc;
  mts_attr_t a;
  attr0(&a);
  if ((rc = mts__emit(im, ":split", MTS_OP_RESHAPE, 1, &x, 1, &t1, &a))) return rc;
  a.n_ints = 6;
  memcpy(a.ints, perm, sizeof(int64_t) * 6);
  if ((rc = mts__emit(im, ":perm", MTS_OP_TRANSPOSE, 1, &t1, 1, &t2, &a))) return rc;
  attr0(&a);
  if ((rc = mts__add_out(im, 0, 4, out, &y))) return rc;
  return mts__emit(im, NULL, MTS_OP_RESHAPE, 1, &t2, 1, &y, &a);
}

int mts__cv_depth_to_space(mts__imp_t *im) {
  int x, nd, rc;
  int64_t d[MTS_MAX_DIMS], b = mts__attr_i(im, "blocksize", 0);
  char mode[16];
  if ((rc = in_shape(im, 0, &x, &nd, d))) return rc;
  mts__attr_s(im, "mode", "DCR", mode, sizeof mode);
  if (nd != 4) return mts__imp_err(im, MTS_ESHAPE, "input must be 4-D");
  if (b < 1 || b > 4096 || d[1] % (b * b))
    return mts__imp_err(im, MTS_EPARSE, "attribute 'blocksize' = %lld does "
                        "not divide %lld channels", (long long)b, (long long)d[1]);
  int64_t c = d[1] / (b * b), out[4] = {d[0], c, d[2] * b, d[3] * b};
  if (!strcmp(mode, "DCR")) {
    int64_t r1[6] = {d[0], b, b, c, d[2], d[3]}, p[6] = {0, 3, 4, 1, 5, 2};
    return shuffle(im, x, r1, p, out);
  }
  if (!strcmp(mode, "CRD")) {
    int64_t r1[6] = {d[0], c, b, b, d[2], d[3]}, p[6] = {0, 1, 4, 2, 5, 3};
    return shuffle(im, x, r1, p, out);
  }
  return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute 'mode' = '%s' is not "
                      "supported", mode);
}

int mts__cv_space_to_depth(mts__imp_t *im) {
  int x, nd, rc;
  int64_t d[MTS_MAX_DIMS], b = mts__attr_i(im, "blocksize", 0);
  if ((rc = in_shape(im, 0, &x, &nd, d))) return rc;
  if (nd != 4) return mts__imp_err(im, MTS_ESHAPE, "input must be 4-D");
  if (b < 1 || b > 4096 || d[2] % b || d[3] % b)
    return mts__imp_err(im, MTS_EPARSE, "attribute 'blocksize' = %lld does "
                        "not divide %lldx%lld", (long long)b, (long long)d[2],
                        (long long)d[3]);
  int64_t r1[6] = {d[0], d[1], d[2] / b, b, d[3] / b, b},
          p[6] = {0, 3, 5, 1, 2, 4},
          out[4] = {d[0], d[1] * b * b, d[2] / b, d[3] / b};
  return shuffle(im, x, r1, p, out);
}
