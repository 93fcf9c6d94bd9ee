/* import_shape.c — ONNX shape-manipulating operators (Reshape, Flatten,
 * Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Gather, Expand, Pad)
 * and the shape helpers the importer shares.
 *
 * Each converter first computes the output shape from the input shapes
 * (which the importer always knows), then either emits an IR node or, when
 * the data input is constant, computes the result right away.  The second
 * path is what folds PyTorch's Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape chains into constant shape tensors. */
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/onnx_int.h"

int64_t mts__numel(int ndim, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0 || dims[i] > MTS__ONNX_MAX_DIM) return -1;
    if (dims[i] && n > MTS__ONNX_MAX_NUMEL / dims[i]) return -1;
    n *= dims[i];
  }
  return n;
}

int mts__bcast(mts__imp_t *im, int na, const int64_t *a, int nb,
               const int64_t *b, int *nout, int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int64_t da = i < n - na ? 1 : a[i - (n - na)];
    int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
    if (da != db && da != 1 && db != 1)
      return mts__imp_err(im, MTS_ESHAPE, "shapes cannot be broadcast (dim "
                          "%d: %lld vs %lld)", i, (long long)da, (long long)db);
    out[i] = da == 1 ? db : da;
  }
  *nout = n;
  return 0;
}

int mts__axis(mts__imp_t *im, int64_t axis, int r, const char *what,
              int64_t *out) {
  if (axis < -r || axis >= r)
    return mts__imp_err(im, MTS_EPARSE, "%s %lld is out of range for rank %d",
                        what, (long long)axis, r);
  *out = axis < 0 ? axis + r : axis;
  return 0;
}

/* Shape of input k (required). */
static int in_shape(mts__imp_t *im, int k, int *t, int *nd, int64_t *dims) {
  int rc = mts__in_req(im, k, t);
  if (rc) return rc;
  const mts_tensor_t *tt = &im->g->tensors[*t];
  *nd = tt->ndim;
  memcpy(dims, tt->dims, sizeof(int64_t) * MTS_MAX_DIMS);
  return 0;
}

static void *alloc_elems(mts__imp_t *im, int64_t n, mts_dtype_t dt) {
  if (n > MTS__ONNX_MAX_FOLD) {
    mts__imp_err(im, MTS_EUNSUPPORTED, "constant result of %lld elements is "
                 "too large to fold", (long long)n);
    return NULL;
  }
  void *p = malloc((size_t)(n ? n : 1) * mts_dtype_size(dt));
  if (!p) mts__imp_err(im, MTS_ENOMEM, "out of memory");
  return p;
}

/* Output 0 as a copy of constant input t with a new shape (same count). */
static int const_reshaped(mts__imp_t *im, int t, int nd, const int64_t *dims) {
  const mts_tensor_t *tt = &im->g->tensors[t];
  int64_t n = mts__numel(tt->ndim, tt->dims);
  void *d = alloc_elems(im, n, tt->dtype);
  if (!d) return im->last_rc;
  memcpy(d, tt->data, (size_t)n * mts_dtype_size(tt->dtype));
  return mts__out_const(im, 0, tt->dtype, nd, dims, d);
}

/* A reshape-like result: constant or a RESHAPE node. */
static int finish_reshape(mts__imp_t *im, int x, int nd, const int64_t *dims) {
  const mts_tensor_t *tt = &im->g->tensors[x];
  if (mts__numel(nd, dims) != mts__numel(tt->ndim, tt->dims))
    return mts__imp_err(im, MTS_ESHAPE, "cannot reshape %lld elements into "
                        "%lld", (long long)mts__numel(tt->ndim, tt->dims),
                        (long long)mts__numel(nd, dims));
  if (mts__is_const(im, x)) return const_reshaped(im, x, nd, dims);
  int y, rc = mts__add_out(im, 0, nd, dims, &y);
  if (rc) return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  return mts__emit(im, NULL, MTS_OP_RESHAPE, 1, &x, 1, &y, &a);
}

int mts__cv_reshape(mts__imp_t *im) {
  int x, nd, ns, rc;
  int64_t dims[MTS_MAX_DIMS], sh[MTS_MAX_DIMS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if (im->opset < 5) {
    if ((rc = mts__attr_ints(im, "shape", sh, MTS_MAX_DIMS, &ns))) return rc;
    if (ns < 0) return mts__imp_err(im, MTS_EPARSE, "missing 'shape'");
  } else if ((rc = mts__in_ints(im, 1, sh, MTS_MAX_DIMS, &ns))) {
    return rc;
  }
  int allowzero = (int)mts__attr_i(im, "allowzero", 0);
  int neg = -1;
  int64_t known = 1, total = mts__numel(nd, dims);
  for (int i = 0; i < ns; i++) {
    if (sh[i] == 0 && !allowzero) {
      if (i >= nd)
        return mts__imp_err(im, MTS_ESHAPE, "shape[%d] = 0 copies a dim the "
                            "input (rank %d) lacks", i, nd);
      sh[i] = dims[i];
    }
    if (sh[i] == -1) {
      if (neg >= 0)
        return mts__imp_err(im, MTS_EPARSE, "more than one -1 in shape");
      neg = i;
    } else if (sh[i] < 0 || sh[i] > MTS__ONNX_MAX_DIM) {
      return mts__imp_err(im, MTS_EPARSE, "bad shape value %lld",
                          (long long)sh[i]);
    } else {
      if (sh[i] && known > MTS__ONNX_MAX_NUMEL / sh[i])
        return mts__imp_err(im, MTS_ESHAPE, "shape too large");
      known *= sh[i];
    }
  }
  if (neg >= 0) {
    if (known == 0 || total % known)
      return mts__imp_err(im, MTS_ESHAPE, "cannot infer -1: %lld elements "
                          "into blocks of %lld", (long long)total,
                          (long long)known);
    sh[neg] = total / known;
  }
  return finish_reshape(im, x, ns, sh);
}

int mts__cv_flatten(mts__imp_t *im) {
  int x, nd, rc;
  int64_t dims[MTS_MAX_DIMS], ax, out[2] = {1, 1};
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  ax = mts__attr_i(im, "axis", 1);
  if (ax < -nd || ax > nd)
    return mts__imp_err(im, MTS_EPARSE, "attribute 'axis' = %lld is out of "
                        "range for rank %d", (long long)ax, nd);
  if (ax < 0) ax += nd;
  for (int i = 0; i < nd; i++) out[i < ax ? 0 : 1] *= dims[i];
  return finish_reshape(im, x, 2, out);
}

/* Axes from the 'axes' attribute (opset < 13) or input 1. */
static int get_axes(mts__imp_t *im, int64_t *axes, int *n) {
  if (im->opset < 13) return mts__attr_ints(im, "axes", axes, MTS_MAX_DIMS, n);
  int t, rc = mts__in(im, 1, &t);
  if (rc) return rc;
  *n = -1;
  if (t < 0) return 0;
  return mts__in_ints(im, 1, axes, MTS_MAX_DIMS, n);
}

int mts__cv_squeeze(mts__imp_t *im) {
  int x, nd, n, rc, drop[MTS_MAX_DIMS] = {0}, no = 0;
  int64_t dims[MTS_MAX_DIMS], axes[MTS_MAX_DIMS], out[MTS_MAX_DIMS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if ((rc = get_axes(im, axes, &n))) return rc;
  if (n < 0) {
    for (int i = 0; i < nd; i++) drop[i] = dims[i] == 1;
  } else {
    for (int i = 0; i < n; i++) {
      int64_t a;
      if ((rc = mts__axis(im, axes[i], nd, "squeeze axis", &a))) return rc;
      if (dims[a] != 1)
        return mts__imp_err(im, MTS_ESHAPE, "cannot squeeze axis %lld of "
                            "size %lld", (long long)a, (long long)dims[a]);
      drop[a] = 1;
    }
  }
  for (int i = 0; i < nd; i++)
    if (!drop[i]) out[no++] = dims[i];
  return finish_reshape(im, x, no, out);
}

int mts__cv_unsqueeze(mts__imp_t *im) {
  int x, nd, n, rc, ins[MTS_MAX_DIMS] = {0};
  int64_t dims[MTS_MAX_DIMS], axes[MTS_MAX_DIMS], out[MTS_MAX_DIMS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if ((rc = get_axes(im, axes, &n))) return rc;
  if (n < 0) return mts__imp_err(im, MTS_EPARSE, "missing axes");
  int r = nd + n;
  if (r > MTS_MAX_DIMS)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "result rank %d (max %d)", r,
                        MTS_MAX_DIMS);
  for (int i = 0; i < n; i++) {
    int64_t a;
    if ((rc = mts__axis(im, axes[i], r, "unsqueeze axis", &a))) return rc;
    if (ins[a]) return mts__imp_err(im, MTS_EPARSE, "repeated axis %lld",
                                    (long long)a);
    ins[a] = 1;
  }
  for (int i = 0, j = 0; i < r; i++) out[i] = ins[i] ? 1 : dims[j++];
  return finish_reshape(im, x, r, out);
}

/* Copies a constant through an index map: out element i takes input
 * element src(i), computed from per-dim input strides. */
static int const_strided(mts__imp_t *im, int x, int nd, const int64_t *odims,
                         const int64_t *base, const int64_t *istride) {
  const mts_tensor_t *tt = &im->g->tensors[x];
  mts_dtype_t dt = tt->dtype;
  size_t es = mts_dtype_size(dt);
  int64_t n = mts__numel(nd, odims), idx[MTS_MAX_DIMS] = {0};
  uint8_t *d = alloc_elems(im, n, dt);
  const uint8_t *src = tt->data;
  if (!d) return im->last_rc;
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int k = 0; k < nd; k++) off += base[k] + idx[k] * istride[k];
    memcpy(d + (size_t)i * es, src + (size_t)off * es, es);
    for (int k = nd - 1; k >= 0; k--) {
      if (++idx[k] < odims[k]) break;
      idx[k] = 0;
    }
  }
  return mts__out_const(im, 0, dt, nd, odims, d);
}

static void strides_of(int nd, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    st[i] = s;
    s *= dims[i];
  }
}

int mts__cv_transpose(mts__imp_t *im) {
  int x, nd, n, rc, seen[MTS_MAX_DIMS] = {0};
  int64_t dims[MTS_MAX_DIMS], perm[MTS_MAX_DIMS], out[MTS_MAX_DIMS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if ((rc = mts__attr_ints(im, "perm", perm, MTS_MAX_DIMS, &n))) return rc;
  if (n < 0) {
    n = nd;
    for (int i = 0; i < nd; i++) perm[i] = nd - 1 - i;
  }
  if (n != nd)
    return mts__imp_err(im, MTS_EPARSE, "attribute 'perm' has %d values for "
                        "rank %d", n, nd);
  for (int i = 0; i < nd; i++) {
    if (perm[i] < 0 || perm[i] >= nd || seen[perm[i]]++)
      return mts__imp_err(im, MTS_EPARSE, "attribute 'perm' is not a "
                          "permutation");
    out[i] = dims[perm[i]];
  }
  if (mts__is_const(im, x)) {
    int64_t ist[MTS_MAX_DIMS], st[MTS_MAX_DIMS], base[MTS_MAX_DIMS] = {0};
    strides_of(nd, dims, ist);
    for (int i = 0; i < nd; i++) st[i] = ist[perm[i]];
    return const_strided(im, x, nd, out, base, st);
  }
  int y;
  if ((rc = mts__add_out(im, 0, nd, out, &y))) return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.n_ints = nd;
  memcpy(a.ints, perm, sizeof(int64_t) * (size_t)nd);
  return mts__emit(im, NULL, MTS_OP_TRANSPOSE, 1, &x, 1, &y, &a);
}

int mts__cv_concat(mts__imp_t *im) {
  int n = mts__n_in(im), rc, nd0 = 0, allc = 1;
  int ts[256];
  int64_t d0[MTS_MAX_DIMS], ax, sum = 0;
  if (n < 1) return mts__imp_err(im, MTS_EPARSE, "needs at least one input");
  if (n > 256) return mts__imp_err(im, MTS_EUNSUPPORTED, "%d inputs (max 256)", n);
  if (!mts__attr(im, "axis"))
    return mts__imp_err(im, MTS_EPARSE, "missing attribute 'axis'");
  for (int k = 0; k < n; k++) {
    int nd;
    int64_t dims[MTS_MAX_DIMS];
    if ((rc = in_shape(im, k, &ts[k], &nd, dims))) return rc;
    if (k == 0) {
      nd0 = nd;
      memcpy(d0, dims, sizeof d0);
      if ((rc = mts__axis(im, mts__attr_i(im, "axis", 0), nd, "attribute "
                          "'axis'", &ax)))
        return rc;
    } else if (nd != nd0) {
      return mts__imp_err(im, MTS_ESHAPE, "input %d has rank %d, input 0 "
                          "rank %d", k, nd, nd0);
    }
    for (int i = 0; i < nd; i++)
      if (i != ax && dims[i] != d0[i])
        return mts__imp_err(im, MTS_ESHAPE, "input %d: dim %d is %lld, "
                            "expected %lld", k, i, (long long)dims[i],
                            (long long)d0[i]);
    sum += dims[ax];
    if (sum > MTS__ONNX_MAX_DIM)
      return mts__imp_err(im, MTS_ESHAPE, "result too large");
    allc &= mts__is_const(im, ts[k]);
  }
  int64_t out[MTS_MAX_DIMS];
  memcpy(out, d0, sizeof out);
  out[ax] = sum;
  if (allc) {
    mts_dtype_t dt = im->g->tensors[ts[0]].dtype;
    for (int k = 1; k < n; k++)
      if (im->g->tensors[ts[k]].dtype != dt)
        return mts__imp_err(im, MTS_EPARSE, "inputs have different types");
    size_t es = mts_dtype_size(dt);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ax; i++) outer *= d0[i];
    for (int i = (int)ax + 1; i < nd0; i++) inner *= d0[i];
    uint8_t *d = alloc_elems(im, mts__numel(nd0, out), dt), *p = d;
    if (!d) return im->last_rc;
    for (int64_t o = 0; o < outer; o++)
      for (int k = 0; k < n; k++) {
        const mts_tensor_t *tt = &im->g->tensors[ts[k]];
        size_t blk = (size_t)(tt->dims[ax] * inner) * es;
        memcpy(p, (const uint8_t *)tt->data + (size_t)o * blk, blk);
        p += blk;
      }
    return mts__out_const(im, 0, dt, nd0, out, d);
  }
  /* The IR takes up to MTS_MAX_INPUTS inputs: chain wider concats. */
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.axis = ax;
  int done = 0, prev = -1;
  int64_t acc = 0;
  while (done < n) {
    int in[MTS_MAX_INPUTS], m = 0, y;
    if (prev >= 0) in[m++] = prev;
    while (m < MTS_MAX_INPUTS && done < n) {
      acc += im->g->tensors[ts[done]].dims[ax];
      in[m++] = ts[done++];
    }
    int64_t od[MTS_MAX_DIMS];
    memcpy(od, d0, sizeof od);
    od[ax] = acc;
    if (done == n) rc = mts__add_out(im, 0, nd0, od, &y);
    else rc = mts__add_tmp(im, nd0, od, &y);
    if (rc) return rc;
    if ((rc = mts__emit(im, done == n ? NULL : ":part", MTS_OP_CONCAT, m, in,
                        1, &y, &a)))
      return rc;
    prev = y;
  }
  return 0;
}

int mts__cv_split(mts__imp_t *im) {
  int x, nd, rc, ns = -1, nout = (int)im->node->n_output;
  int64_t dims[MTS_MAX_DIMS], ax, sz[MTS_MAX_OUTPUTS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if ((rc = mts__axis(im, mts__attr_i(im, "axis", 0), nd, "attribute 'axis'",
                      &ax)))
    return rc;
  if (nout < 1 || nout > MTS_MAX_OUTPUTS)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "%d outputs (supported: 1-%d)",
                        nout, MTS_MAX_OUTPUTS);
  if (im->opset < 13) {
    if ((rc = mts__attr_ints(im, "split", sz, MTS_MAX_OUTPUTS, &ns))) return rc;
  } else {
    int t;
    if ((rc = mts__in(im, 1, &t))) return rc;
    if (t >= 0 && (rc = mts__in_ints(im, 1, sz, MTS_MAX_OUTPUTS, &ns)))
      return rc;
  }
  if (ns < 0) {
    int64_t chunk = (dims[ax] + nout - 1) / nout;
    for (int i = 0; i < nout; i++) {
      int64_t left = dims[ax] - chunk * i;
      sz[i] = left < 0 ? 0 : (left < chunk ? left : chunk);
    }
    ns = nout;
  }
  if (ns != nout)
    return mts__imp_err(im, MTS_EPARSE, "%d split sizes for %d outputs", ns,
                        nout);
  int64_t sum = 0;
  for (int i = 0; i < ns; i++) {
    if (sz[i] < 0 || sz[i] > dims[ax])
      return mts__imp_err(im, MTS_EPARSE, "bad split size %lld",
                          (long long)sz[i]);
    sum += sz[i];
  }
  if (sum != dims[ax])
    return mts__imp_err(im, MTS_ESHAPE, "split sizes sum to %lld, axis has "
                        "%lld", (long long)sum, (long long)dims[ax]);
  int ys[MTS_MAX_OUTPUTS];
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.axis = ax;
  a.n_ints = ns;
  for (int i = 0; i < ns; i++) {
    int64_t od[MTS_MAX_DIMS];
    memcpy(od, dims, sizeof od);
    od[ax] = sz[i];
    a.ints[i] = sz[i];
    if ((rc = mts__add_out(im, i, nd, od, &ys[i]))) return rc;
  }
  return mts__emit(im, NULL, MTS_OP_SPLIT, 1, &x, nout, ys, &a);
}

/* Clamps one slice axis per ONNX rules to start in [0, d] (or [0, d-1] for
 * negative steps) and end in [0, d] (or [-1, d-1]); -1 as an end then means
 * "through element 0", never "the last element". */
static int64_t slice_len(int64_t d, int64_t *st, int64_t *en, int64_t step) {
  int64_t s = *st, e = *en;
  if (s < 0) s += d;
  if (e < 0) e += d;
  if (step > 0) {
    s = s < 0 ? 0 : (s > d ? d : s);
    e = e < 0 ? 0 : (e > d ? d : e);
  } else {
    s = s < 0 ? -1 : (s > d - 1 ? d - 1 : s);
    e = e < -1 ? -1 : (e > d - 1 ? d - 1 : e);
  }
  *st = s;
  *en = e;
  int64_t n = step > 0 ? (e - s + step - 1) / step : (s - e + (-step) - 1) / (-step);
  return n < 0 ? 0 : n;
}

int mts__cv_slice(mts__imp_t *im) {
  int x, nd, rc, ns, ne, na = -1, nst = -1;
  int64_t dims[MTS_MAX_DIMS], st[MTS_MAX_DIMS], en[MTS_MAX_DIMS],
      ax[MTS_MAX_DIMS], sp[MTS_MAX_DIMS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if (im->opset < 10) {
    if ((rc = mts__attr_ints(im, "starts", st, MTS_MAX_DIMS, &ns)) ||
        (rc = mts__attr_ints(im, "ends", en, MTS_MAX_DIMS, &ne)) ||
        (rc = mts__attr_ints(im, "axes", ax, MTS_MAX_DIMS, &na)))
      return rc;
    if (ns < 0 || ne < 0)
      return mts__imp_err(im, MTS_EPARSE, "missing 'starts'/'ends'");
  } else {
    int t;
    if ((rc = mts__in_ints(im, 1, st, MTS_MAX_DIMS, &ns)) ||
        (rc = mts__in_ints(im, 2, en, MTS_MAX_DIMS, &ne)))
      return rc;
    if ((rc = mts__in(im, 3, &t))) return rc;
    if (t >= 0 && (rc = mts__in_ints(im, 3, ax, MTS_MAX_DIMS, &na))) return rc;
    if ((rc = mts__in(im, 4, &t))) return rc;
    if (t >= 0 && (rc = mts__in_ints(im, 4, sp, MTS_MAX_DIMS, &nst))) return rc;
  }
  if (ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
    return mts__imp_err(im, MTS_EPARSE, "starts/ends/axes/steps lengths "
                        "differ");
  int64_t S[MTS_MAX_DIMS], E[MTS_MAX_DIMS], P[MTS_MAX_DIMS], out[MTS_MAX_DIMS];
  int seen[MTS_MAX_DIMS] = {0};
  for (int i = 0; i < nd; i++) {
    S[i] = 0;
    E[i] = dims[i];
    P[i] = 1;
  }
  for (int i = 0; i < ns; i++) {
    int64_t a = na >= 0 ? ax[i] : i;
    if ((rc = mts__axis(im, a, nd, "slice axis", &a))) return rc;
    if (seen[a]++) return mts__imp_err(im, MTS_EPARSE, "repeated axis %lld",
                                       (long long)a);
    int64_t step = nst >= 0 ? sp[i] : 1;
    if (step == 0 || step == INT64_MIN)
      return mts__imp_err(im, MTS_EPARSE, "slice step must not be 0");
    S[a] = st[i];
    E[a] = en[i];
    P[a] = step;
  }
  for (int i = 0; i < nd; i++) {
    /* Clamp huge values first so the arithmetic below cannot overflow. */
    int64_t lim = MTS__ONNX_MAX_DIM * 2;
    S[i] = S[i] > lim ? lim : (S[i] < -lim ? -lim : S[i]);
    E[i] = E[i] > lim ? lim : (E[i] < -lim ? -lim : E[i]);
    if (P[i] > lim) P[i] = lim;
    if (P[i] < -lim) P[i] = -lim;
    out[i] = slice_len(dims[i], &S[i], &E[i], P[i]);
  }
  if (mts__is_const(im, x)) {
    int64_t ist[MTS_MAX_DIMS], base[MTS_MAX_DIMS], step[MTS_MAX_DIMS];
    strides_of(nd, dims, ist);
    for (int i = 0; i < nd; i++) {
      base[i] = out[i] ? S[i] * ist[i] : 0;
      step[i] = P[i] * ist[i];
    }
    return const_strided(im, x, nd, out, base, step);
  }
  int y;
  if ((rc = mts__add_out(im, 0, nd, out, &y))) return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.n_ints = nd;
  for (int i = 0; i < nd; i++) {
    a.ints[i] = S[i];
    /* The IR reads a negative end as counting from the back (as ONNX
     * does), so "through element 0" of a reversed slice is -dim-1. */
    a.ints[nd + i] = E[i] < 0 ? -dims[i] - 1 : E[i];
    a.ints[2 * nd + i] = P[i];
  }
  return mts__emit(im, NULL, MTS_OP_SLICE, 1, &x, 1, &y, &a);
}

int mts__cv_gather(mts__imp_t *im) {
  int x, nd, t, ni, rc;
  int64_t dims[MTS_MAX_DIMS], idims[MTS_MAX_DIMS], ax, out[MTS_MAX_DIMS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if ((rc = in_shape(im, 1, &t, &ni, idims))) return rc;
  if (nd < 1) return mts__imp_err(im, MTS_ESHAPE, "data must have rank >= 1");
  if ((rc = mts__axis(im, mts__attr_i(im, "axis", 0), nd, "attribute 'axis'",
                      &ax)))
    return rc;
  if (!mts__is_const(im, t))
    return mts__imp_err(im, MTS_EUNSUPPORTED, "input 1 (indices) must be a "
                        "constant");
  if (im->g->tensors[t].dtype != MTS_I64)
    return mts__imp_err(im, MTS_EPARSE, "indices must be integers");
  if (nd - 1 + ni > MTS_MAX_DIMS)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "result rank %d (max %d)",
                        nd - 1 + ni, MTS_MAX_DIMS);
  int on = 0;
  for (int i = 0; i < ax; i++) out[on++] = dims[i];
  for (int i = 0; i < ni; i++) out[on++] = idims[i];
  for (int i = (int)ax + 1; i < nd; i++) out[on++] = dims[i];
  int64_t nidx = mts__numel(ni, idims);
  int64_t *idx = alloc_elems(im, nidx, MTS_I64);
  if (!idx) return im->last_rc;
  const int64_t *src = im->g->tensors[t].data;
  for (int64_t i = 0; i < nidx; i++) {
    int64_t v = src[i];
    if (v < -dims[ax] || v >= dims[ax]) {
      free(idx);
      return mts__imp_err(im, MTS_EPARSE, "index %lld is out of range for "
                          "dim %lld of size %lld", (long long)v,
                          (long long)ax, (long long)dims[ax]);
    }
    idx[i] = v < 0 ? v + dims[ax] : v;
  }
  if (mts__is_const(im, x)) {
    const mts_tensor_t *tt = &im->g->tensors[x];
    size_t es = mts_dtype_size(tt->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ax; i++) outer *= dims[i];
    for (int i = (int)ax + 1; i < nd; i++) inner *= dims[i];
    uint8_t *d = alloc_elems(im, mts__numel(on, out), tt->dtype), *p = d;
    if (!d) {
      free(idx);
      return im->last_rc;
    }
    for (int64_t o = 0; o < outer; o++)
      for (int64_t j = 0; j < nidx; j++) {
        size_t blk = (size_t)inner * es;
        memcpy(p, (const uint8_t *)tt->data +
                      ((size_t)(o * dims[ax] + idx[j])) * blk, blk);
        p += blk;
      }
    mts_dtype_t dt = tt->dtype;
    free(idx);
    return mts__out_const(im, 0, dt, on, out, d);
  }
  /* The IR wants normalised (non-negative) constant indices. */
  int ti, y;
  rc = mts__add_const_copy(im, im->g->tensors[t].name, MTS_I64, ni, idims,
                           idx, &ti);
  free(idx);
  if (rc) return rc;
  if ((rc = mts__add_out(im, 0, on, out, &y))) return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.axis = ax;
  int in[2] = {x, ti};
  return mts__emit(im, NULL, MTS_OP_GATHER, 2, in, 1, &y, &a);
}

int mts__cv_expand(mts__imp_t *im) {
  int x, nd, ns, rc, on;
  int64_t dims[MTS_MAX_DIMS], sh[MTS_MAX_DIMS], out[MTS_MAX_DIMS];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  if ((rc = mts__in_ints(im, 1, sh, MTS_MAX_DIMS, &ns))) return rc;
  for (int i = 0; i < ns; i++)
    if (sh[i] < 0 || sh[i] > MTS__ONNX_MAX_DIM)
      return mts__imp_err(im, MTS_EPARSE, "bad shape value %lld",
                          (long long)sh[i]);
  if ((rc = mts__bcast(im, nd, dims, ns, sh, &on, out))) return rc;
  if (mts__numel(on, out) < 0)
    return mts__imp_err(im, MTS_ESHAPE, "result too large");
  if (mts__is_const(im, x)) {
    int64_t ist[MTS_MAX_DIMS], st[MTS_MAX_DIMS], base[MTS_MAX_DIMS] = {0};
    strides_of(nd, dims, ist);
    for (int i = 0; i < on; i++) {
      int j = i - (on - nd);
      st[i] = (j < 0 || dims[j] == 1) ? 0 : ist[j];
    }
    return const_strided(im, x, on, out, base, st);
  }
  /* A run-time Expand is an Add of zeros of the requested shape. */
  int64_t n = mts__numel(ns, sh);
  if (n < 0 || n > MTS__ONNX_MAX_FOLD)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "Expand to a shape of %lld "
                        "elements is too large", (long long)n);
  float *z = calloc((size_t)(n ? n : 1), sizeof(float));
  if (!z) return mts__imp_err(im, MTS_ENOMEM, "out of memory");
  int zt, y;
  rc = mts__add_const_copy(im, im->node_name, MTS_F32, ns, sh, z, &zt);
  free(z);
  if (rc) return rc;
  if ((rc = mts__add_out(im, 0, on, out, &y))) return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.binary = MTS_BINARY_ADD;
  int in[2] = {x, zt};
  return mts__emit(im, NULL, MTS_OP_BINARY, 2, in, 1, &y, &a);
}

int mts__cv_pad(mts__imp_t *im) {
  int x, nd, rc, np = -1, na = -1;
  int64_t dims[MTS_MAX_DIMS], pads[2 * MTS_MAX_DIMS], axes[MTS_MAX_DIMS];
  float value = 0;
  char mode[32];
  if ((rc = in_shape(im, 0, &x, &nd, dims))) return rc;
  mts__attr_s(im, "mode", "constant", mode, sizeof mode);
  if (strcmp(mode, "constant") != 0)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute 'mode' = '%s' is "
                        "not supported (only 'constant')", mode);
  if (im->opset < 11) {
    if ((rc = mts__attr_ints(im, "pads", pads, 2 * MTS_MAX_DIMS, &np)))
      return rc;
    value = mts__attr_f(im, "value", 0);
  } else {
    int t, present;
    if ((rc = mts__in_ints(im, 1, pads, 2 * MTS_MAX_DIMS, &np))) return rc;
    if ((rc = mts__in_scalar(im, 2, &value, &present))) return rc;
    if ((rc = mts__in(im, 3, &t))) return rc;
    if (t >= 0 && (rc = mts__in_ints(im, 3, axes, MTS_MAX_DIMS, &na)))
      return rc;
  }
  int64_t full[2 * MTS_MAX_DIMS] = {0};
  if (na >= 0) {
    if (np != 2 * na)
      return mts__imp_err(im, MTS_EPARSE, "%d pads for %d axes", np, na);
    for (int i = 0; i < na; i++) {
      int64_t a;
      if ((rc = mts__axis(im, axes[i], nd, "pad axis", &a))) return rc;
      full[a] = pads[i];
      full[nd + a] = pads[na + i];
    }
  } else {
    if (np != 2 * nd)
      return mts__imp_err(im, MTS_EPARSE, "%d pads for rank %d", np, nd);
    memcpy(full, pads, sizeof(int64_t) * (size_t)np);
  }
  int64_t out[MTS_MAX_DIMS];
  for (int i = 0; i < nd; i++) {
    if (full[i] < 0 || full[nd + i] < 0 || full[i] > MTS__ONNX_MAX_DIM ||
        full[nd + i] > MTS__ONNX_MAX_DIM)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "pads must be in [0, 2^32] "
                          "(negative pads crop)");
    out[i] = dims[i] + full[i] + full[nd + i];
  }
  int y;
  if ((rc = mts__add_out(im, 0, nd, out, &y))) return rc;
  mts_attr_t a;
  memset(&a, 0, sizeof a);
  a.alpha = value;
  a.n_ints = 2 * nd;
  memcpy(a.ints, full, sizeof(int64_t) * (size_t)(2 * nd));
  if (2 * nd <= 6) memcpy(a.pad, full, sizeof(int64_t) * (size_t)(2 * nd));
  return mts__emit(im, NULL, MTS_OP_PAD, 1, &x, 1, &y, &a);
}
