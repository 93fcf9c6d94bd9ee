/* exec_cops.c — layers that run as plain C loops on row-major tensors, for
 * ops oneDNN 2.6 has no primitive for: Split, Slice, Gather, Pad, average
 * pooling that counts padding in ceil mode, unary ops
 * without an eltwise algorithm (Erf, HardSigmoid), binary Pow and
 * broadcasts oneDNN's binary cannot express (first operand broadcast for a
 * non-commutative op, or a constant first operand).
 *
 * These ops are memory-bound and small in the supported models, so the
 * loops are serial and simple; each step gets its inputs (then outputs) as
 * data pointers in argument order.
 *
 * One exception is tuned: 2-D max pooling on the 8-channel blocked layout
 * (aBcd8b) that oneDNN's AVX2 convolutions produce.  oneDNN 2.6's jit
 * pooling computes one output vector at a time, a chain of K*K dependent
 * max operations, and runs latency-bound (GoogLeNet: ~2.6 ms of pooling vs
 * ONNX Runtime's 0.9 ms); here four neighbouring outputs are reduced as
 * independent chains (2.2-2.5x faster), rows split over the OpenMP team. */
#include <stdlib.h>
#include <string.h>
#ifdef __AVX__
#include <immintrin.h>
#endif

#include "runtime/exec_int.h"
#include "runtime/graph_int.h"
#include "runtime/mts.h"

static int64_t numel(int nd, const int64_t *d) {
  int64_t n = 1;
  for (int i = 0; i < nd; i++) n *= d[i];
  return n;
}

static void strides(int nd, const int64_t *d, int64_t *s) {
  if (nd == 0) return;
  s[nd - 1] = 1;
  for (int i = nd - 2; i >= 0; i--) s[i] = s[i + 1] * d[i + 1];
}

static void next_idx(int nd, const int64_t *d, int64_t *idx) {
  for (int i = nd - 1; i >= 0; i--) {
    if (++idx[i] < d[i]) return;
    idx[i] = 0;
  }
}

static void c_unary(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  const float *x = p[0];
  float *y = p[1];
  int64_t n = numel(c->ndim[1], c->dims[1]);
  for (int64_t i = 0; i < n; i++) y[i] = mts__unary_eval(c->attr.unary, c->attr.alpha, c->attr.beta, x[i]);
}

static void c_binary(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  const float *a = p[0], *b = p[1];
  float *y = p[2];
  int nd = c->ndim[2];
  int64_t n = numel(nd, c->dims[2]), idx[MTS_MAX_DIMS] = {0};
  for (int64_t i = 0; i < n; i++) {
    float va = a[mts__bcast_offset(nd, idx, c->ndim[0], c->dims[0])];
    float vb = b[mts__bcast_offset(nd, idx, c->ndim[1], c->dims[1])];
    y[i] = mts__binary_eval(c->attr.binary, va, vb);
    next_idx(nd, c->dims[2], idx);
  }
}

/* Split: outer x (size along axis) x inner blocks. */
static void c_split(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  int nd = c->ndim[0];
  int64_t ax = c->attr.axis < 0 ? c->attr.axis + nd : c->attr.axis;
  int64_t outer = numel((int)ax, c->dims[0]), inner = numel(nd - (int)ax - 1, c->dims[0] + ax + 1);
  const float *x = p[0];
  int64_t off = 0, A = c->dims[0][ax];
  for (int o = 0; o < c->n_out; o++) {
    int64_t sz = c->dims[1 + o][ax];
    float *y = p[1 + o];
    for (int64_t i = 0; i < outer; i++)
      memcpy(y + i * sz * inner, x + (i * A + off) * inner, (size_t)(sz * inner) * sizeof(float));
    off += sz;
  }
}

static void c_slice(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  int nd = c->ndim[0];
  int64_t xs[MTS_MAX_DIMS], st[MTS_MAX_DIMS], sp[MTS_MAX_DIMS], idx[MTS_MAX_DIMS] = {0};
  strides(nd, c->dims[0], xs);
  for (int i = 0; i < nd; i++) {
    int64_t dim = c->dims[0][i], b = c->attr.ints[i];
    sp[i] = c->attr.ints[2 * nd + i];
    if (b < 0) b += dim;
    if (sp[i] > 0) b = b < 0 ? 0 : b > dim ? dim : b;
    else b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
    st[i] = b;
  }
  const float *x = p[0];
  float *y = p[1];
  int64_t n = numel(c->ndim[1], c->dims[1]);
  if (nd >= 1 && sp[nd - 1] == 1) { /* unit step innermost: copy whole rows */
    int64_t row = c->dims[1][nd - 1];
    if (row <= 0) return;
    for (int64_t r = 0; r < n / row; r++) {
      int64_t off = st[nd - 1];
      for (int d = 0; d < nd - 1; d++) off += (st[d] + idx[d] * sp[d]) * xs[d];
      memcpy(y + r * row, x + off, (size_t)row * sizeof(float));
      if (nd > 1) next_idx(nd - 1, c->dims[1], idx);
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < nd; d++) off += (st[d] + idx[d] * sp[d]) * xs[d];
    y[i] = x[off];
    next_idx(nd, c->dims[1], idx);
  }
}

static void c_gather(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  int nd = c->ndim[0];
  int64_t ax = c->attr.axis < 0 ? c->attr.axis + nd : c->attr.axis;
  int64_t outer = numel((int)ax, c->dims[0]), inner = numel(nd - (int)ax - 1, c->dims[0] + ax + 1);
  int64_t A = c->dims[0][ax], ni = numel(c->ndim[1], c->dims[1]);
  const float *x = p[0];
  float *y = p[2];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < ni; j++) {
      int64_t k = c->in_i64 ? ((const int64_t *)p[1])[j] : ((const int32_t *)p[1])[j];
      if (k < 0) k += A;
      if (k < 0 || k >= A) k = 0; /* validated at compile for constants */
      memcpy(y + (o * ni + j) * inner, x + (o * A + k) * inner, (size_t)inner * sizeof(float));
    }
}

static void c_pad(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  int nd = c->ndim[0];
  const int64_t *pads = mts__pad_list(&c->attr, nd);
  int64_t xs[MTS_MAX_DIMS], idx[MTS_MAX_DIMS] = {0};
  strides(nd, c->dims[0], xs);
  const float *x = p[0];
  float *y = p[1];
  int64_t n = numel(c->ndim[1], c->dims[1]);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    int in = 1;
    for (int d = 0; d < nd; d++) {
      int64_t k = idx[d] - pads[d];
      if (k < 0 || k >= c->dims[0][d]) {
        in = 0;
        break;
      }
      off += k * xs[d];
    }
    y[i] = in ? x[off] : c->attr.alpha;
    next_idx(nd, c->dims[1], idx);
  }
}

/* 2-D average pooling, count_include_pad with ceil_mode: the divisor
 * counts the window's positions inside input + declared padding. */
static void c_avgpool(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  const mts_attr_t *a = &c->attr;
  const float *x = p[0];
  float *y = p[1];
  int64_t NC = c->dims[0][0] * c->dims[0][1], H = c->dims[0][2], W = c->dims[0][3];
  int64_t OH = c->dims[1][2], OW = c->dims[1][3];
  for (int64_t i = 0; i < NC; i++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        float acc = 0;
        int64_t cnt = 0;
        for (int64_t kh = 0; kh < a->kernel[0]; kh++)
          for (int64_t kw = 0; kw < a->kernel[1]; kw++) {
            int64_t ih = oh * a->stride[0] - a->pad[0] + kh, iw = ow * a->stride[1] - a->pad[1] + kw;
            if (ih < H + a->pad[2] && iw < W + a->pad[3]) cnt++;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) acc += x[(i * H + ih) * W + iw];
          }
        y[(i * OH + oh) * OW + ow] = cnt ? acc / (float)cnt : 0;
      }
}

/* ---- max pooling, aBcd8b -------------------------------------------------- */

#ifdef __AVX__
typedef __m256 v8_t;
#define V8_NINF() _mm256_set1_ps(-__builtin_inff())
#define V8_MAX(a, p) _mm256_max_ps((a), _mm256_loadu_ps(p))
#define V8_STORE(p, a) _mm256_storeu_ps((p), (a))
#else
typedef struct {
  float v[8];
} v8_t;
static inline v8_t v8_ninf(void) {
  v8_t a;
  for (int i = 0; i < 8; i++) a.v[i] = -__builtin_inff();
  return a;
}
static inline v8_t v8_max(v8_t a, const float *p) {
  for (int i = 0; i < 8; i++) a.v[i] = a.v[i] > p[i] ? a.v[i] : p[i];
  return a;
}
#define V8_NINF() v8_ninf()
#define V8_MAX(a, p) v8_max((a), (p))
#define V8_STORE(p, a) memcpy((p), (a).v, sizeof(a).v)
#endif

/* One output row: windows clipped to the input (padding never wins a max). */
static void maxpool8_row(const float *xc, float *yr, int64_t W, int64_t OW, int64_t h0,
                         int64_t h1, int64_t K, int64_t S, int64_t P) {
  int64_t ow = 0;
  for (int pass = 0; pass < 2; pass++) {
    /* pass 0: left border up to the first block of 4 interior outputs;
     * pass 1: what the interior loop left at the right */
    for (; ow < OW; ow++) {
      int64_t w0 = ow * S - P, w1 = w0 + K;
      if (!pass && w0 >= 0 && ow + 4 <= OW && (ow + 3) * S - P + K <= W) break;
      if (w0 < 0) w0 = 0;
      if (w1 > W) w1 = W;
      v8_t a = V8_NINF();
      for (int64_t h = h0; h < h1; h++)
        for (int64_t w = w0; w < w1; w++) a = V8_MAX(a, xc + (h * W + w) * 8);
      V8_STORE(yr + ow * 8, a);
    }
    if (pass) break;
    for (; ow + 4 <= OW && (ow + 3) * S - P + K <= W; ow += 4) {
      v8_t a0 = V8_NINF(), a1 = V8_NINF(), a2 = V8_NINF(), a3 = V8_NINF();
      for (int64_t h = h0; h < h1; h++) {
        const float *r = xc + (h * W + ow * S - P) * 8;
        for (int64_t k = 0; k < K; k++) {
          a0 = V8_MAX(a0, r + k * 8);
          a1 = V8_MAX(a1, r + (S + k) * 8);
          a2 = V8_MAX(a2, r + (2 * S + k) * 8);
          a3 = V8_MAX(a3, r + (3 * S + k) * 8);
        }
      }
      V8_STORE(yr + ow * 8, a0);
      V8_STORE(yr + ow * 8 + 8, a1);
      V8_STORE(yr + ow * 8 + 16, a2);
      V8_STORE(yr + ow * 8 + 24, a3);
    }
  }
}

/* dims[0] = {N, C padded to 8, H, W}, dims[1] = {N, C8, OH, OW} */
static void c_maxpool8(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  const float *x = p[0];
  float *y = p[1];
  int64_t NC = c->dims[0][0] * c->dims[0][1] / 8, H = c->dims[0][2], W = c->dims[0][3];
  int64_t OH = c->dims[1][2], OW = c->dims[1][3];
  int64_t K0 = c->attr.kernel[0], K1 = c->attr.kernel[1], S0 = c->attr.stride[0],
          S1 = c->attr.stride[1], P0 = c->attr.pad[0], P1 = c->attr.pad[1];
  int64_t rows = NC * OH;
#pragma omp parallel for schedule(static) if (rows * OW >= 2048)
  for (int64_t r = 0; r < rows; r++) {
    int64_t cb = r / OH, oh = r % OH;
    int64_t h0 = oh * S0 - P0, h1 = h0 + K0;
    if (h0 < 0) h0 = 0;
    if (h1 > H) h1 = H;
    maxpool8_row(x + cb * H * W * 8, y + (cb * OH + oh) * OW * 8, W, OW, h0, h1, K1, S1, P1);
  }
}

int mts__build_maxpool8(mts__cs_t *cs, const dnnl_memory_desc_t *smd, int sk, int sid) {
  const mts_graph_t *g = cs->g;
  const mts_node_t *n = &g->nodes[cs->node];
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Y = &g->tensors[n->outputs[0]];
  if (n->op != MTS_OP_MAXPOOL || X->ndim != 4 || n->n_outputs != 1) return 1;
  for (int s = 0; s < 2; s++)
    if ((n->attr.dilation[s] && n->attr.dilation[s] != 1) || n->attr.kernel[s] < 1 ||
        n->attr.stride[s] < 1 || n->attr.pad[s] < 0 || n->attr.pad[s] >= n->attr.kernel[s])
      return 1;
  dnnl_memory_desc_t want, ymd;
  dnnl_dims_t xd = {X->dims[0], X->dims[1], X->dims[2], X->dims[3]};
  dnnl_dims_t yd = {Y->dims[0], Y->dims[1], Y->dims[2], Y->dims[3]};
  if (dnnl_memory_desc_init_by_tag(&want, 4, xd, dnnl_f32, dnnl_aBcd8b) != dnnl_success ||
      !dnnl_memory_desc_equal(&want, smd) ||
      dnnl_memory_desc_init_by_tag(&ymd, 4, yd, dnnl_f32, dnnl_aBcd8b) != dnnl_success)
    return 1;
  mts__step_t tmp;
  memset(&tmp, 0, sizeof tmp);
  tmp.kind = MTS__STEP_C;
  tmp.fn = c_maxpool8;
  mts__cop_t *c = &tmp.cop;
  c->op = n->op;
  c->attr = n->attr;
  c->n_in = 1;
  c->n_out = 1;
  c->ndim[0] = c->ndim[1] = 4;
  memcpy(c->dims[0], X->dims, 4 * sizeof(int64_t));
  memcpy(c->dims[1], Y->dims, 4 * sizeof(int64_t));
  c->dims[0][1] = c->dims[1][1] = want.padded_dims[1];
  mts__step_arg(&tmp, 0, smd, sk, sid);
  int b = mts__set_output(cs, n->outputs[0], &ymd);
  mts__step_arg(&tmp, 1, &ymd, MTS__REF_BUF, b);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_C);
  *s = tmp;
  return 0;
}

int mts__build_cop(mts__cs_t *cs) {
  const mts_graph_t *g = cs->g;
  const mts_node_t *n = &g->nodes[cs->node];
  mts__cfn_t fn = NULL;
  int n_in = n->n_inputs;
  switch (n->op) {
  case MTS_OP_UNARY: fn = c_unary; break;
  case MTS_OP_BINARY: fn = c_binary; break;
  case MTS_OP_SPLIT: fn = c_split; break;
  case MTS_OP_SLICE: fn = c_slice; n_in = 1; break;
  case MTS_OP_GATHER: fn = c_gather; break;
  case MTS_OP_PAD: fn = c_pad; n_in = 1; break;
  case MTS_OP_AVGPOOL: fn = c_avgpool; break;
  default:
    return mts_seterr(MTS_EUNSUPPORTED, "layer '%s': %s is not supported here (constant input?)",
                      n->name, mts_op_name(n->op));
  }
  if (n->op == MTS_OP_PAD && !mts__pad_list(&n->attr, g->tensors[n->inputs[0]].ndim))
    return mts_seterr(MTS_EUNSUPPORTED, "layer '%s': bad pads", n->name);
  mts__step_t tmp;
  memset(&tmp, 0, sizeof tmp);
  tmp.kind = MTS__STEP_C;
  tmp.fn = fn;
  mts__cop_t *c = &tmp.cop;
  c->op = n->op;
  c->attr = n->attr;
  c->n_in = n_in;
  c->n_out = n->n_outputs;
  for (int i = 0; i < n_in; i++) {
    int kind, id, t = n->inputs[i];
    dnnl_memory_desc_t md;
    const mts_tensor_t *T = &g->tensors[t];
    if (n->op == MTS_OP_GATHER && i == 1) {
      if (!T->data || (T->dtype != MTS_I64 && T->dtype != MTS_I32))
        return mts_seterr(MTS_EUNSUPPORTED, "layer '%s': Gather indices must be constant ints",
                          n->name);
      int64_t A = g->tensors[n->inputs[0]].dims[n->attr.axis < 0 ? n->attr.axis + g->tensors[n->inputs[0]].ndim : n->attr.axis];
      for (int64_t j = 0; j < mts_tensor_numel(T); j++) {
        int64_t k = T->dtype == MTS_I64 ? ((const int64_t *)T->data)[j] : ((const int32_t *)T->data)[j];
        if (k < -A || k >= A)
          return mts_seterr(MTS_EINVAL, "layer '%s': Gather index %lld out of range [%lld,%lld)",
                            n->name, (long long)k, (long long)-A, (long long)A);
      }
      c->in_i64 = T->dtype == MTS_I64;
    } else if (T->dtype != MTS_F32) {
      return mts_seterr(MTS_EUNSUPPORTED, "layer '%s': input '%s' is not f32", n->name, T->name);
    }
    int rc = mts__tensor_plain(cs, t, &kind, &id, &md);
    if (rc) return rc;
    c->ndim[i] = T->ndim;
    memcpy(c->dims[i], T->dims, sizeof T->dims);
    mts__step_arg(&tmp, i, &md, kind, id);
  }
  for (int o = 0; o < n->n_outputs; o++) {
    int t = n->outputs[o];
    const mts_tensor_t *T = &g->tensors[t];
    dnnl_memory_desc_t md;
    mts__plain_md(&md, T->ndim, T->dims);
    int b = mts__set_output(cs, t, &md);
    c->ndim[n_in + o] = T->ndim;
    memcpy(c->dims[n_in + o], T->dims, sizeof T->dims);
    mts__step_arg(&tmp, n_in + o, &md, MTS__REF_BUF, b);
  }
  /* split's dims table is indexed 0 = input, 1.. = outputs */
  mts__step_t *s = mts__add_step(cs, MTS__STEP_C);
  *s = tmp;
  return 0;
}
