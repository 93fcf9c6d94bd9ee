/* fold.c — constant evaluation at import: Constant, Shape, Size,
 * ConstantOfShape, Range, Cast, and elementwise arithmetic, comparison and
 * Where on constant inputs.  Together with the constant paths of the shape
 * converters this folds the shape subgraphs exporters emit (Shape -> Gather
 * -> Unsqueeze -> Concat -> Reshape, Shape -> ConstantOfShape -> Equal ->
 * Where -> Expand, ...) into constant tensors, so the IR never sees int64
 * arithmetic at run time.
 *
 * Values are F32 or I64 (see onnx_int.h); integer arithmetic stays in
 * int64 so that INT64_MAX-style sentinels survive. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/onnx_int.h"

typedef struct {
  mts_dtype_t dt;
  int ndim;
  int64_t dims[MTS_MAX_DIMS];
  const void *data;
} cv_t;

static void get(const mts__imp_t *im, int t, cv_t *v) {
  const mts_tensor_t *tt = &im->g->tensors[t];
  v->dt = tt->dtype;
  v->ndim = tt->ndim;
  memcpy(v->dims, tt->dims, sizeof v->dims);
  v->data = tt->data;
}

static double fval(const cv_t *v, int64_t i) {
  return v->dt == MTS_F32 ? ((const float *)v->data)[i]
                          : (double)((const int64_t *)v->data)[i];
}

static int64_t ival(const cv_t *v, int64_t i) {
  if (v->dt != MTS_F32) return ((const int64_t *)v->data)[i];
  return mts__f2i(((const float *)v->data)[i]);
}

static void *alloc_out(mts__imp_t *im, int64_t n, mts_dtype_t dt) {
  if (n > MTS__ONNX_MAX_FOLD) {
    mts__imp_err(im, MTS_EUNSUPPORTED, "constant result of %lld elements is "
                 "too large to fold", (long long)n);
    return NULL;
  }
  void *p = calloc((size_t)(n ? n : 1), mts_dtype_size(dt));
  if (!p) mts__imp_err(im, MTS_ENOMEM, "out of memory");
  return p;
}

/* Offset into an input of shape (nd, dims) for output multi-index idx of
 * rank on (numpy broadcasting). */
static int64_t bidx(int on, const int64_t *idx, int nd, const int64_t *dims) {
  int64_t off = 0;
  for (int i = 0; i < nd; i++) {
    int j = i + on - nd;
    off = off * dims[i] + (dims[i] == 1 ? 0 : idx[j]);
  }
  return off;
}

static int all_const(mts__imp_t *im) {
  int n = (int)im->node->n_input, any = 0;
  for (int k = 0; k < n; k++) {
    int t;
    if (mts__in(im, k, &t)) return -1;
    if (t < 0) continue;
    if (!mts__is_const(im, t)) return 0;
    any = 1;
  }
  return any;
}

enum { E_ADD, E_SUB, E_MUL, E_DIV, E_POW, E_MAX, E_MIN, E_EQ, E_LT, E_GT,
       E_LE, E_GE, E_AND, E_OR, E_MOD, E_WHERE };

static const struct { const char *name; int op; } elt_ops[] = {
    {"Add", E_ADD}, {"Sub", E_SUB}, {"Mul", E_MUL}, {"Div", E_DIV},
    {"Pow", E_POW}, {"Max", E_MAX}, {"Min", E_MIN}, {"Equal", E_EQ},
    {"Less", E_LT}, {"Greater", E_GT}, {"LessOrEqual", E_LE},
    {"GreaterOrEqual", E_GE}, {"And", E_AND}, {"Or", E_OR}, {"Mod", E_MOD},
    {"Where", E_WHERE},
};

static int64_t idiv(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return a == INT64_MIN ? INT64_MIN : -a;
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--; /* numpy floor division */
  return q;
}

static int fold_elementwise(mts__imp_t *im, int op) {
  int n = mts__n_in(im), rc, on = 0;
  int cmod = op == E_MOD && mts__attr_i(im, "fmod", 0) != 0;
  int want = op == E_WHERE ? 3 : 2;
  cv_t v[3];
  int64_t od[MTS_MAX_DIMS];
  if (n != want && !((op == E_MAX || op == E_MIN || op == E_ADD) && n == 2))
    return mts__imp_err(im, MTS_EUNSUPPORTED, "constant folding needs %d "
                        "inputs, has %d", want, n);
  for (int k = 0; k < n; k++) {
    int t;
    if ((rc = mts__in_req(im, k, &t))) return rc;
    get(im, t, &v[k]);
    if (k == 0) {
      on = v[0].ndim;
      memcpy(od, v[0].dims, sizeof od);
    } else if ((rc = mts__bcast(im, on, od, v[k].ndim, v[k].dims, &on, od))) {
      return rc;
    }
  }
  int64_t cnt = mts__numel(on, od);
  if (cnt < 0) return mts__imp_err(im, MTS_ESHAPE, "result too large");
  int cmp = op >= E_EQ && op <= E_OR;
  mts_dtype_t dt = cmp ? MTS_I64
                   : op == E_WHERE ? v[1].dt
                   : (v[0].dt == MTS_I64 && v[1].dt == MTS_I64) ? MTS_I64
                                                                : MTS_F32;
  void *res = alloc_out(im, cnt, dt);
  if (!res) return im->last_rc;
  int64_t idx[MTS_MAX_DIMS] = {0};
  for (int64_t i = 0; i < cnt; i++) {
    int64_t o0 = bidx(on, idx, v[0].ndim, v[0].dims);
    int64_t o1 = bidx(on, idx, v[1].ndim, v[1].dims);
    if (op == E_WHERE) {
      int64_t o2 = bidx(on, idx, v[2].ndim, v[2].dims);
      int c = fval(&v[0], o0) != 0;
      if (dt == MTS_I64) ((int64_t *)res)[i] = c ? ival(&v[1], o1) : ival(&v[2], o2);
      else ((float *)res)[i] = (float)(c ? fval(&v[1], o1) : fval(&v[2], o2));
    } else if (cmp) {
      double a = fval(&v[0], o0), b = fval(&v[1], o1);
      int r = 0;
      if (v[0].dt == MTS_I64 && v[1].dt == MTS_I64) {
        int64_t x = ival(&v[0], o0), y = ival(&v[1], o1);
        r = op == E_EQ ? x == y : op == E_LT ? x < y : op == E_GT ? x > y
            : op == E_LE ? x <= y : op == E_GE ? x >= y
            : op == E_AND ? (x && y) : (x || y);
      } else {
        r = op == E_EQ ? a == b : op == E_LT ? a < b : op == E_GT ? a > b
            : op == E_LE ? a <= b : op == E_GE ? a >= b
            : op == E_AND ? (a != 0 && b != 0) : (a != 0 || b != 0);
      }
      ((int64_t *)res)[i] = r;
    } else if (dt == MTS_I64) {
      int64_t a = ival(&v[0], o0), b = ival(&v[1], o1), r = 0;
      /* Wrap-around instead of undefined behaviour on overflow. */
      uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
      switch (op) {
      case E_ADD: r = (int64_t)(ua + ub); break;
      case E_SUB: r = (int64_t)(ua - ub); break;
      case E_MUL: r = (int64_t)(ua * ub); break;
      case E_DIV: r = b ? (b == -1 ? (int64_t)(0 - ua) : a / b) : 0; break;
      case E_MOD:
        r = b == 0 || b == -1 ? 0 : (cmod ? a % b : a - idiv(a, b) * b);
        break;
      case E_POW: {
        r = 1;
        for (int64_t e = 0; e < b && e < 64; e++) r = (int64_t)((uint64_t)r * ua);
        break;
      }
      case E_MAX: r = a > b ? a : b; break;
      case E_MIN: r = a < b ? a : b; break;
      }
      ((int64_t *)res)[i] = r;
    } else {
      double a = fval(&v[0], o0), b = fval(&v[1], o1), r = 0;
      switch (op) {
      case E_ADD: r = a + b; break;
      case E_SUB: r = a - b; break;
      case E_MUL: r = a * b; break;
      case E_DIV: r = a / b; break;
      case E_MOD: r = cmod ? fmod(a, b) : a - floor(a / b) * b; break;
      case E_POW: r = pow(a, b); break;
      case E_MAX: r = a > b ? a : b; break;
      case E_MIN: r = a < b ? a : b; break;
      }
      ((float *)res)[i] = (float)r;
    }
    for (int k = on - 1; k >= 0; k--) {
      if (++idx[k] < od[k]) break;
      idx[k] = 0;
    }
  }
  return mts__out_const(im, 0, dt, on, od, res);
}

static int fold_unary(mts__imp_t *im, const char *op) {
  int t, rc;
  cv_t v;
  if ((rc = mts__in_req(im, 0, &t))) return rc;
  get(im, t, &v);
  int64_t n = mts__numel(v.ndim, v.dims);
  int isnot = !strcmp(op, "Not");
  mts_dtype_t dt = isnot ? MTS_I64 : v.dt;
  void *res = alloc_out(im, n, dt);
  if (!res) return im->last_rc;
  for (int64_t i = 0; i < n; i++) {
    if (dt == MTS_I64) {
      int64_t a = ival(&v, i), r;
      if (isnot) r = !a;
      else if (!strcmp(op, "Neg")) r = (int64_t)(0 - (uint64_t)a);
      else if (!strcmp(op, "Abs")) r = a < 0 ? (int64_t)(0 - (uint64_t)a) : a;
      else if (!strcmp(op, "Relu")) r = a < 0 ? 0 : a;
      else r = a; /* Floor, Ceil, Identity of integers */
      ((int64_t *)res)[i] = r;
    } else {
      double a = fval(&v, i), r;
      if (!strcmp(op, "Neg")) r = -a;
      else if (!strcmp(op, "Abs")) r = fabs(a);
      else if (!strcmp(op, "Sqrt")) r = sqrt(a);
      else if (!strcmp(op, "Floor")) r = floor(a);
      else if (!strcmp(op, "Ceil")) r = ceil(a);
      else if (!strcmp(op, "Exp")) r = exp(a);
      else if (!strcmp(op, "Log")) r = log(a);
      else if (!strcmp(op, "Reciprocal")) r = 1.0 / a;
      else if (!strcmp(op, "Relu")) r = a < 0 ? 0 : a;
      else if (!strcmp(op, "Sigmoid")) r = 1.0 / (1.0 + exp(-a));
      else if (!strcmp(op, "Tanh")) r = tanh(a);
      else r = erf(a);
      ((float *)res)[i] = (float)r;
    }
  }
  return mts__out_const(im, 0, dt, v.ndim, v.dims, res);
}

static int fold_constant(mts__imp_t *im) {
  const Onnx__AttributeProto *a;
  int64_t one = 1;
  if ((a = mts__attr(im, "value")) && a->t) {
    mts_dtype_t dt;
    int nd;
    int64_t dims[MTS_MAX_DIMS];
    void *d;
    int rc = mts__tensor_decode(a->t, im->file, im->dir, &dt, &nd, dims, &d);
    if (rc) return rc;
    return mts__out_const(im, 0, dt, nd, dims, d);
  }
  if ((a = mts__attr(im, "value_float")) && a->has_f) {
    float *d = alloc_out(im, 1, MTS_F32);
    if (!d) return im->last_rc;
    d[0] = a->f;
    return mts__out_const(im, 0, MTS_F32, 0, &one, d);
  }
  if ((a = mts__attr(im, "value_int")) && a->has_i) {
    int64_t *d = alloc_out(im, 1, MTS_I64);
    if (!d) return im->last_rc;
    d[0] = a->i;
    return mts__out_const(im, 0, MTS_I64, 0, &one, d);
  }
  if ((a = mts__attr(im, "value_floats"))) {
    int64_t n = (int64_t)a->n_floats;
    float *d = alloc_out(im, n, MTS_F32);
    if (!d) return im->last_rc;
    if (n) memcpy(d, a->floats, sizeof(float) * (size_t)n);
    return mts__out_const(im, 0, MTS_F32, 1, &n, d);
  }
  if ((a = mts__attr(im, "value_ints"))) {
    int64_t n = (int64_t)a->n_ints;
    int64_t *d = alloc_out(im, n, MTS_I64);
    if (!d) return im->last_rc;
    if (n) memcpy(d, a->ints, sizeof(int64_t) * (size_t)n);
    return mts__out_const(im, 0, MTS_I64, 1, &n, d);
  }
  return mts__imp_err(im, MTS_EUNSUPPORTED, "only attributes value, "
                      "value_float(s) and value_int(s) are supported");
}

static int fold_shape(mts__imp_t *im, int size_only) {
  int t, rc;
  cv_t v;
  if ((rc = mts__in_req(im, 0, &t))) return rc;
  get(im, t, &v);
  if (size_only) {
    int64_t *d = alloc_out(im, 1, MTS_I64), one = 1;
    if (!d) return im->last_rc;
    d[0] = mts__numel(v.ndim, v.dims);
    return mts__out_const(im, 0, MTS_I64, 0, &one, d);
  }
  int64_t s = mts__attr_i(im, "start", 0), e = mts__attr_i(im, "end", v.ndim);
  int64_t r = v.ndim;
  if (s < 0) s += r;
  if (e < 0) e += r;
  s = s < 0 ? 0 : (s > r ? r : s);
  e = e < 0 ? 0 : (e > r ? r : e);
  int64_t n = e > s ? e - s : 0;
  int64_t *d = alloc_out(im, n, MTS_I64);
  if (!d) return im->last_rc;
  for (int64_t i = 0; i < n; i++) d[i] = v.dims[s + i];
  return mts__out_const(im, 0, MTS_I64, 1, &n, d);
}

static int fold_constant_of_shape(mts__imp_t *im) {
  int64_t sh[MTS_MAX_DIMS];
  int ns, rc = mts__in_ints(im, 0, sh, MTS_MAX_DIMS, &ns);
  if (rc) return rc;
  for (int i = 0; i < ns; i++)
    if (sh[i] < 0 || sh[i] > MTS__ONNX_MAX_DIM)
      return mts__imp_err(im, MTS_EPARSE, "bad shape value %lld",
                          (long long)sh[i]);
  int64_t n = mts__numel(ns, sh);
  if (n < 0) return mts__imp_err(im, MTS_ESHAPE, "result too large");
  mts_dtype_t dt = MTS_F32;
  double fv = 0;
  int64_t iv = 0;
  const Onnx__AttributeProto *a = mts__attr(im, "value");
  if (a && a->t) {
    mts_dtype_t vdt;
    int nd;
    int64_t dims[MTS_MAX_DIMS];
    void *d;
    if ((rc = mts__tensor_decode(a->t, im->file, im->dir, &vdt, &nd, dims, &d)))
      return rc;
    if (mts__numel(nd, dims) != 1) {
      free(d);
      return mts__imp_err(im, MTS_EPARSE, "attribute 'value' must hold one "
                          "element");
    }
    dt = vdt;
    if (dt == MTS_F32) fv = ((float *)d)[0];
    else iv = ((int64_t *)d)[0];
    free(d);
  }
  void *res = alloc_out(im, n, dt);
  if (!res) return im->last_rc;
  for (int64_t i = 0; i < n; i++) {
    if (dt == MTS_F32) ((float *)res)[i] = (float)fv;
    else ((int64_t *)res)[i] = iv;
  }
  return mts__out_const(im, 0, dt, ns, sh, res);
}

static int fold_range(mts__imp_t *im) {
  cv_t v[3];
  for (int k = 0; k < 3; k++) {
    int t, rc = mts__in_req(im, k, &t);
    if (rc) return rc;
    if (!mts__is_const(im, t))
      return mts__imp_err(im, MTS_EUNSUPPORTED, "input %d must be a constant",
                          k);
    get(im, t, &v[k]);
    if (mts__numel(v[k].ndim, v[k].dims) != 1)
      return mts__imp_err(im, MTS_EPARSE, "input %d must be a scalar", k);
  }
  mts_dtype_t dt = v[0].dt;
  double s = fval(&v[0], 0), l = fval(&v[1], 0), d = fval(&v[2], 0);
  if (d == 0) return mts__imp_err(im, MTS_EPARSE, "delta must not be 0");
  double cnt = ceil((l - s) / d);
  if (!(cnt >= 0)) cnt = 0;
  if (cnt > 1e8) return mts__imp_err(im, MTS_ESHAPE, "range too long");
  int64_t n = (int64_t)cnt;
  void *res = alloc_out(im, n, dt);
  if (!res) return im->last_rc;
  for (int64_t i = 0; i < n; i++) {
    if (dt == MTS_F32) ((float *)res)[i] = (float)(s + (double)i * d);
    else /* wraps instead of overflowing */
      ((int64_t *)res)[i] = (int64_t)((uint64_t)ival(&v[0], 0) +
                                      (uint64_t)i * (uint64_t)ival(&v[2], 0));
  }
  return mts__out_const(im, 0, dt, 1, &n, res);
}

static int is_float_onnx_type(int64_t t) {
  return t == 1 || t == 10 || t == 11 || t == 16;
}

/* Rounds to the nearest float16 (to_bf16 = 0) or bfloat16 value, ties to
 * even, so that a folded Cast gives the values the cast type can hold. */
static float round_half(float f, int to_bf16) {
  if (!isfinite(f)) return f;
  if (to_bf16) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
  }
  double a = fabs(f);
  if (a >= 65520.0) return f > 0 ? INFINITY : -INFINITY;
  int e;
  frexp(a, &e);           /* a = m * 2^e, m in [0.5, 1) */
  if (e < -13) e = -13;   /* subnormals: fixed quantum 2^-24 */
  double q = ldexp(1.0, e - 11);
  double r = nearbyint(a / q) * q; /* default rounding: ties to even */
  return (float)(f < 0 ? -r : r);
}

/* Types a run-time f32 tensor can be cast to without changing values. */
static int is_f32_exact_type(int64_t t) { return t == 1 || t == 11; }

static int fold_cast(mts__imp_t *im, int *done) {
  int t, rc;
  cv_t v;
  if ((rc = mts__in_req(im, 0, &t))) return rc;
  int64_t to = mts__attr_i(im, "to", 0);
  if (to == 8 || to == 14 || to == 15 || to <= 0 || to > 16)
    return mts__imp_err(im, MTS_EUNSUPPORTED, "attribute 'to' = %lld is not "
                        "supported", (long long)to);
  if (!mts__is_const(im, t)) {
    if (!is_f32_exact_type(to))
      return mts__imp_err(im, MTS_EUNSUPPORTED, "cast of a run-time tensor to "
                          "type %lld is not supported", (long long)to);
    *done = 0; /* converted as Identity by the caller */
    return 0;
  }
  get(im, t, &v);
  int64_t n = mts__numel(v.ndim, v.dims);
  mts_dtype_t dt = is_float_onnx_type(to) ? MTS_F32 : MTS_I64;
  void *res = alloc_out(im, n, dt);
  if (!res) return im->last_rc;
  for (int64_t i = 0; i < n; i++) {
    if (dt == MTS_F32) {
      float f = (float)fval(&v, i);
      if (to == 10 || to == 16) f = round_half(f, to == 16);
      ((float *)res)[i] = f;
    } else {
      int64_t x = ival(&v, i);
      if (to == 9) x = x != 0 || fval(&v, i) != 0; /* bool */
      ((int64_t *)res)[i] = x;
    }
  }
  *done = 1;
  return mts__out_const(im, 0, dt, v.ndim, v.dims, res);
}

int mts__fold_node(mts__imp_t *im, int *done) {
  const char *op = im->node->op_type;
  *done = 1;
  if (!strcmp(op, "Constant")) return fold_constant(im);
  if (!strcmp(op, "Shape")) return fold_shape(im, 0);
  if (!strcmp(op, "Size")) return fold_shape(im, 1);
  if (!strcmp(op, "ConstantOfShape")) return fold_constant_of_shape(im);
  if (!strcmp(op, "Range")) return fold_range(im);
  if (!strcmp(op, "Cast")) {
    int rc = fold_cast(im, done);
    if (rc || *done) return rc;
    /* A float-to-float cast of an activation is a copy. */
    *done = 1;
    int x, y;
    if ((rc = mts__in_req(im, 0, &x))) return rc;
    const mts_tensor_t *tt = &im->g->tensors[x];
    int64_t dims[MTS_MAX_DIMS];
    int nd = tt->ndim;
    memcpy(dims, tt->dims, sizeof dims);
    if ((rc = mts__add_out(im, 0, nd, dims, &y))) return rc;
    mts_attr_t a;
    memset(&a, 0, sizeof a);
    return mts__emit(im, NULL, MTS_OP_IDENTITY, 1, &x, 1, &y, &a);
  }
  int ac = all_const(im);
  if (ac < 0) return MTS_EPARSE; /* message set by mts__in */
  for (size_t i = 0; i < sizeof elt_ops / sizeof elt_ops[0]; i++) {
    if (strcmp(elt_ops[i].name, op)) continue;
    if (ac) return fold_elementwise(im, elt_ops[i].op);
    if (elt_ops[i].op >= E_EQ)
      return mts__imp_err(im, MTS_EUNSUPPORTED, "supported only on constant "
                          "inputs (shape computations)");
    *done = 0;
    return 0;
  }
  static const char *const unary[] = {"Neg", "Abs", "Sqrt", "Floor", "Ceil",
                                      "Exp", "Log", "Reciprocal", "Relu",
                                      "Sigmoid", "Tanh", "Erf", "Not"};
  for (size_t i = 0; i < sizeof unary / sizeof unary[0]; i++) {
    if (strcmp(unary[i], op)) continue;
    if (ac) return fold_unary(im, op);
    if (!strcmp(op, "Not") || !strcmp(op, "Floor") || !strcmp(op, "Ceil"))
      return mts__imp_err(im, MTS_EUNSUPPORTED, "supported only on constant "
                          "inputs (shape computations)");
  }
  *done = 0;
  return 0;
}
