/* ref_ops.c — a naive reference interpreter of the IR for the tests: every
 * op written the obvious way (direct loops, double accumulation), written
 * from the ONNX operator definitions rather than from the executor, so the
 * two can disagree. */
#include "ref_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/graph_int.h"

static int64_t nel(const mts_tensor_t *t) { return mts_tensor_numel(t); }

static void next_idx(int nd, const int64_t *d, int64_t *idx) {
  for (int i = nd - 1; i >= 0; i--) {
    if (++idx[i] < d[i]) return;
    idx[i] = 0;
  }
}

static void strides(int nd, const int64_t *d, int64_t *s) {
  if (!nd) return;
  s[nd - 1] = 1;
  for (int i = nd - 2; i >= 0; i--) s[i] = s[i + 1] * d[i + 1];
}

static void conv(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *W = &g->tensors[n->inputs[1]];
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  const float *x = v[n->inputs[0]], *w = v[n->inputs[1]];
  const float *b = n->n_inputs > 2 && n->inputs[2] >= 0 ? v[n->inputs[2]] : NULL;
  float *y = v[n->outputs[0]];
  int64_t G = n->attr.group ? n->attr.group : 1;
  /* 1-D convolutions as 2-D ones with H = 1 */
  int one = X->ndim == 3, s0 = one ? -1 : 0, s1 = one ? 0 : 1;
  int64_t N = X->dims[0], C = X->dims[1], H = one ? 1 : X->dims[2], Wd = X->dims[2 + s1];
  int64_t O = Y->dims[1], OH = one ? 1 : Y->dims[2], OW = Y->dims[2 + s1];
  int64_t KH = one ? 1 : W->dims[2], KW = W->dims[2 + s1];
  int64_t cg = C / G, og = O / G;
  int64_t sh = one || !n->attr.stride[0] ? 1 : n->attr.stride[0];
  int64_t sw = n->attr.stride[s1] ? n->attr.stride[s1] : 1;
  int64_t dh = one || !n->attr.dilation[0] ? 1 : n->attr.dilation[0];
  int64_t dw = n->attr.dilation[s1] ? n->attr.dilation[s1] : 1;
  int64_t ph = one ? 0 : n->attr.pad[0], pw = n->attr.pad[s1];
  (void)s0;
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t o = 0; o < O; o++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double acc = b ? b[o] : 0;
          int64_t gi = o / og;
          for (int64_t c = 0; c < cg; c++)
            for (int64_t kh = 0; kh < KH; kh++)
              for (int64_t kw = 0; kw < KW; kw++) {
                int64_t ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                acc += (double)x[((nn * C + gi * cg + c) * H + ih) * Wd + iw] *
                       w[((o * cg + c) * KH + kh) * KW + kw];
              }
          y[((nn * O + o) * OH + oh) * OW + ow] = (float)acc;
        }
}

static void pool(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Y = &g->tensors[n->outputs[0]];
  const float *x = v[n->inputs[0]];
  float *y = v[n->outputs[0]];
  int64_t NC = X->dims[0] * X->dims[1], H = X->dims[2], W = X->dims[3];
  int64_t OH = Y->dims[2], OW = Y->dims[3];
  int glob = n->op == MTS_OP_GLOBAL_AVGPOOL;
  int64_t kh = glob ? H : n->attr.kernel[0], kw = glob ? W : n->attr.kernel[1];
  int64_t sh = glob ? 1 : n->attr.stride[0], sw = glob ? 1 : n->attr.stride[1];
  int64_t dh = glob || !n->attr.dilation[0] ? 1 : n->attr.dilation[0];
  int64_t dw = glob || !n->attr.dilation[1] ? 1 : n->attr.dilation[1];
  int64_t ph = glob ? 0 : n->attr.pad[0], pw = glob ? 0 : n->attr.pad[1];
  int64_t peh = glob ? 0 : n->attr.pad[2], pew = glob ? 0 : n->attr.pad[3];
  for (int64_t c = 0; c < NC; c++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        double acc = n->op == MTS_OP_MAXPOOL ? -INFINITY : 0;
        int64_t cnt = 0, cnt_pad = 0;
        for (int64_t i = 0; i < kh; i++)
          for (int64_t j = 0; j < kw; j++) {
            int64_t ih = oh * sh - ph + i * dh, iw = ow * sw - pw + j * dw;
            /* count_include_pad counts positions inside the declared pads */
            if (ih < H + peh && iw < W + pew) cnt_pad++;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            float xv = x[(c * H + ih) * W + iw];
            if (n->op == MTS_OP_MAXPOOL) acc = xv > acc ? xv : acc;
            else acc += xv;
            cnt++;
          }
        if (n->op != MTS_OP_MAXPOOL) acc /= (double)(n->attr.count_include_pad ? cnt_pad : cnt);
        y[(c * OH + oh) * OW + ow] = (float)acc;
      }
}

static void gemm(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *A = &g->tensors[n->inputs[0]], *Y = &g->tensors[n->outputs[0]];
  const float *a = v[n->inputs[0]], *b = v[n->inputs[1]];
  int ct = n->n_inputs > 2 ? n->inputs[2] : -1;
  float *y = v[n->outputs[0]];
  int64_t M = Y->dims[0], N = Y->dims[1], K = n->attr.trans_a ? A->dims[0] : A->dims[1];
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++) {
        float av = n->attr.trans_a ? a[k * M + i] : a[i * K + k];
        float bv = n->attr.trans_b ? b[j * K + k] : b[k * N + j];
        acc += (double)av * bv;
      }
      acc *= n->attr.alpha;
      if (ct >= 0) {
        const mts_tensor_t *C = &g->tensors[ct];
        int64_t idx[2] = {i, j};
        acc += (double)n->attr.beta * v[ct][mts__bcast_offset(2, idx, C->ndim, C->dims)];
      }
      y[i * N + j] = (float)acc;
    }
}

static void matmul(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *A = &g->tensors[n->inputs[0]], *B = &g->tensors[n->inputs[1]];
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  int nd = Y->ndim;
  int64_t M = Y->dims[nd - 2], N = Y->dims[nd - 1], K = A->dims[A->ndim - 1];
  int64_t batch = nel(Y) / (M * N), idx[MTS_MAX_DIMS] = {0};
  for (int64_t bi = 0; bi < batch; bi++) {
    /* batch offsets through broadcasting of the leading dims */
    int64_t oa = mts__bcast_offset(nd - 2, idx, A->ndim - 2, A->dims) * M * K;
    int64_t ob = mts__bcast_offset(nd - 2, idx, B->ndim - 2, B->dims) * K * N;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++)
          acc += (double)v[n->inputs[0]][oa + i * K + k] * v[n->inputs[1]][ob + k * N + j];
        v[n->outputs[0]][bi * M * N + i * N + j] = (float)acc;
      }
    next_idx(nd - 2, Y->dims, idx);
  }
}

static void softmax(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]];
  int64_t ax = n->attr.axis < 0 ? n->attr.axis + X->ndim : n->attr.axis;
  int64_t outer = 1, A = X->dims[ax], inner = 1;
  for (int i = 0; i < ax; i++) outer *= X->dims[i];
  for (int i = (int)ax + 1; i < X->ndim; i++) inner *= X->dims[i];
  const float *x = v[n->inputs[0]];
  float *y = v[n->outputs[0]];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      double mx = -INFINITY, s = 0;
      for (int64_t a = 0; a < A; a++) mx = fmax(mx, x[(o * A + a) * inner + in]);
      for (int64_t a = 0; a < A; a++) s += exp(x[(o * A + a) * inner + in] - mx);
      for (int64_t a = 0; a < A; a++)
        y[(o * A + a) * inner + in] = (float)(exp(x[(o * A + a) * inner + in] - mx) / s);
    }
}

static void layernorm(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]];
  int64_t ax = n->attr.axis < 0 ? n->attr.axis + X->ndim : n->attr.axis, inner = 1;
  for (int i = (int)ax; i < X->ndim; i++) inner *= X->dims[i];
  int64_t outer = nel(X) / inner;
  const float *x = v[n->inputs[0]], *sc = v[n->inputs[1]];
  const float *sh = n->n_inputs > 2 && n->inputs[2] >= 0 ? v[n->inputs[2]] : NULL;
  float *y = v[n->outputs[0]];
  for (int64_t o = 0; o < outer; o++) {
    double mu = 0, var = 0;
    for (int64_t i = 0; i < inner; i++) mu += x[o * inner + i];
    mu /= (double)inner;
    for (int64_t i = 0; i < inner; i++) var += (x[o * inner + i] - mu) * (x[o * inner + i] - mu);
    var /= (double)inner;
    for (int64_t i = 0; i < inner; i++)
      y[o * inner + i] = (float)((x[o * inner + i] - mu) / sqrt(var + n->attr.epsilon) * sc[i] +
                                 (sh ? sh[i] : 0));
  }
}

static void batchnorm(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]];
  int64_t N = X->dims[0], C = X->dims[1], S = nel(X) / (N * C);
  const float *x = v[n->inputs[0]], *sc = v[n->inputs[1]], *b = v[n->inputs[2]];
  const float *mu = v[n->inputs[3]], *var = v[n->inputs[4]];
  float *y = v[n->outputs[0]];
  for (int64_t i = 0; i < N * C; i++) {
    int64_t c = i % C;
    for (int64_t s = 0; s < S; s++)
      y[i * S + s] = (float)((x[i * S + s] - mu[c]) / sqrt(var[c] + n->attr.epsilon) * sc[c] + b[c]);
  }
}

static void lrn(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]];
  int64_t N = X->dims[0], C = X->dims[1], S = nel(X) / (N * C), sz = n->attr.size;
  const float *x = v[n->inputs[0]];
  float *y = v[n->outputs[0]];
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t s = 0; s < S; s++) {
        double sq = 0;
        for (int64_t k = c - (sz - 1) / 2; k <= c + sz / 2; k++)
          if (k >= 0 && k < C) sq += (double)x[(nn * C + k) * S + s] * x[(nn * C + k) * S + s];
        double d = pow(n->attr.bias + n->attr.alpha / (double)sz * sq, n->attr.beta);
        y[(nn * C + c) * S + s] = (float)(x[(nn * C + c) * S + s] / d);
      }
}

static void reduce_mean(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]];
  int red[MTS_MAX_DIMS] = {0};
  for (int i = 0; i < n->attr.n_ints; i++)
    red[n->attr.ints[i] < 0 ? n->attr.ints[i] + X->ndim : n->attr.ints[i]] = 1;
  int64_t rd[MTS_MAX_DIMS], idx[MTS_MAX_DIMS] = {0}, cnt = 1;
  for (int i = 0; i < X->ndim; i++) {
    if (!n->attr.n_ints) red[i] = 1;
    rd[i] = red[i] ? 1 : X->dims[i];
    if (red[i]) cnt *= X->dims[i];
  }
  int64_t ny = nel(&g->tensors[n->outputs[0]]);
  double *acc = calloc((size_t)ny, sizeof *acc);
  for (int64_t i = 0; i < nel(X); i++) {
    acc[mts__bcast_offset(X->ndim, idx, X->ndim, rd)] += v[n->inputs[0]][i];
    next_idx(X->ndim, X->dims, idx);
  }
  for (int64_t i = 0; i < ny; i++) v[n->outputs[0]][i] = (float)(acc[i] / (double)cnt);
  free(acc);
}

static void generic_index_op(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]];
  int nd = X->ndim;
  int64_t xs[MTS_MAX_DIMS], idx[MTS_MAX_DIMS] = {0};
  strides(nd, X->dims, xs);
  const float *x = v[n->inputs[0]];
  if (n->op == MTS_OP_SPLIT) {
    int64_t ax = n->attr.axis < 0 ? n->attr.axis + nd : n->attr.axis, base = 0;
    for (int o = 0; o < n->n_outputs; o++) {
      const mts_tensor_t *Y = &g->tensors[n->outputs[o]];
      memset(idx, 0, sizeof idx);
      for (int64_t i = 0; i < nel(Y); i++) {
        int64_t off = 0;
        for (int d = 0; d < nd; d++) off += (idx[d] + (d == ax ? base : 0)) * xs[d];
        v[n->outputs[o]][i] = x[off];
        next_idx(nd, Y->dims, idx);
      }
      base += Y->dims[ax];
    }
    return;
  }
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  float *y = v[n->outputs[0]];
  for (int64_t i = 0; i < nel(Y); i++) {
    int64_t off = 0;
    int inside = 1;
    switch (n->op) {
    case MTS_OP_TRANSPOSE:
      for (int d = 0; d < nd; d++) off += idx[d] * xs[n->attr.ints[d]];
      break;
    case MTS_OP_SLICE:
      for (int d = 0; d < nd; d++) {
        int64_t st = n->attr.ints[d], sp = n->attr.ints[2 * nd + d], dim = X->dims[d];
        if (st < 0) st += dim;
        st = sp > 0 ? (st < 0 ? 0 : st > dim ? dim : st) : (st < 0 ? 0 : st > dim - 1 ? dim - 1 : st);
        off += (st + idx[d] * sp) * xs[d];
      }
      break;
    case MTS_OP_PAD: {
      const int64_t *p = mts__pad_list(&n->attr, nd);
      for (int d = 0; d < nd; d++) {
        int64_t k = idx[d] - p[d];
        if (k < 0 || k >= X->dims[d]) inside = 0;
        off += k * xs[d];
      }
      break;
    }
    case MTS_OP_GATHER: {
      const mts_tensor_t *I = &g->tensors[n->inputs[1]];
      int64_t ax = n->attr.axis < 0 ? n->attr.axis + nd : n->attr.axis, flat = 0;
      int ni = I->ndim;
      for (int d = 0; d < ni; d++) flat = flat * I->dims[d] + idx[ax + d];
      int64_t k = I->dtype == MTS_I64 ? ((const int64_t *)I->data)[flat]
                                      : ((const int32_t *)I->data)[flat];
      if (k < 0) k += X->dims[ax];
      for (int d = 0; d < ax; d++) off += idx[d] * xs[d];
      off += k * xs[ax];
      for (int d = (int)ax + 1; d < nd; d++) off += idx[d + ni - 1] * xs[d];
      break;
    }
    default:
      break;
    }
    y[i] = inside ? x[off] : n->attr.alpha;
    next_idx(Y->ndim, Y->dims, idx);
  }
}

static void post(const mts_graph_t *g, const mts_node_t *n, float **v) {
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  float *y = v[n->outputs[0]];
  for (int k = 0; k < n->n_post; k++) {
    const mts_postop_t *p = &n->post[k];
    for (int64_t i = 0; i < nel(Y); i++)
      y[i] = p->kind == MTS_POST_SUM ? y[i] + v[p->tensor][i]
                                     : mts__unary_eval(p->unary, p->alpha, p->beta, y[i]);
  }
}

int ref_eval(const mts_graph_t *g, const float *const *inputs, float **outputs) {
  float **v = calloc((size_t)g->n_tensors, sizeof *v);
  char *own = calloc((size_t)g->n_tensors, 1);
  for (int t = 0; t < g->n_tensors; t++) {
    const mts_tensor_t *T = &g->tensors[t];
    if (T->data && T->dtype == MTS_F32) {
      v[t] = T->data;
    } else if (!T->data) {
      v[t] = calloc((size_t)(nel(T) ? nel(T) : 1), sizeof(float));
      own[t] = 1;
    }
  }
  for (int i = 0; i < g->n_inputs; i++)
    memcpy(v[g->inputs[i]], inputs[i], (size_t)nel(&g->tensors[g->inputs[i]]) * sizeof(float));
  for (int i = 0; i < g->n_nodes; i++) {
    const mts_node_t *n = &g->nodes[i];
    const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
    float *y = v[n->outputs[0]];
    switch (n->op) {
    case MTS_OP_CONV: conv(g, n, v); break;
    case MTS_OP_MAXPOOL:
    case MTS_OP_AVGPOOL:
    case MTS_OP_GLOBAL_AVGPOOL: pool(g, n, v); break;
    case MTS_OP_GEMM: gemm(g, n, v); break;
    case MTS_OP_MATMUL: matmul(g, n, v); break;
    case MTS_OP_UNARY:
      for (int64_t k = 0; k < nel(Y); k++)
        y[k] = mts__unary_eval(n->attr.unary, n->attr.alpha, n->attr.beta, v[n->inputs[0]][k]);
      break;
    case MTS_OP_BINARY: {
      const mts_tensor_t *A = &g->tensors[n->inputs[0]], *B = &g->tensors[n->inputs[1]];
      int64_t idx[MTS_MAX_DIMS] = {0};
      for (int64_t k = 0; k < nel(Y); k++) {
        y[k] = mts__binary_eval(n->attr.binary,
                                v[n->inputs[0]][mts__bcast_offset(Y->ndim, idx, A->ndim, A->dims)],
                                v[n->inputs[1]][mts__bcast_offset(Y->ndim, idx, B->ndim, B->dims)]);
        next_idx(Y->ndim, Y->dims, idx);
      }
      break;
    }
    case MTS_OP_BATCHNORM: batchnorm(g, n, v); break;
    case MTS_OP_CONCAT: {
      int64_t ax = n->attr.axis < 0 ? n->attr.axis + Y->ndim : n->attr.axis, outer = 1, base = 0;
      for (int d = 0; d < ax; d++) outer *= Y->dims[d];
      int64_t yrow = nel(Y) / outer;
      for (int k = 0; k < n->n_inputs; k++) {
        int64_t row = nel(&g->tensors[n->inputs[k]]) / outer;
        for (int64_t o = 0; o < outer; o++)
          memcpy(y + o * yrow + base, v[n->inputs[k]] + o * row, (size_t)row * sizeof(float));
        base += row;
      }
      break;
    }
    case MTS_OP_RESHAPE:
    case MTS_OP_IDENTITY:
      memcpy(y, v[n->inputs[0]], (size_t)nel(Y) * sizeof(float));
      break;
    case MTS_OP_SPLIT:
    case MTS_OP_SLICE:
    case MTS_OP_TRANSPOSE:
    case MTS_OP_GATHER:
    case MTS_OP_PAD: generic_index_op(g, n, v); break;
    case MTS_OP_SOFTMAX: softmax(g, n, v); break;
    case MTS_OP_LAYERNORM: layernorm(g, n, v); break;
    case MTS_OP_REDUCE_MEAN: reduce_mean(g, n, v); break;
    case MTS_OP_LRN: lrn(g, n, v); break;
    default: break;
    }
    post(g, n, v);
  }
  for (int i = 0; i < g->n_outputs; i++)
    memcpy(outputs[i], v[g->outputs[i]], (size_t)nel(&g->tensors[g->outputs[i]]) * sizeof(float));
  for (int t = 0; t < g->n_tensors; t++)
    if (own[t]) free(v[t]);
  free(v);
  free(own);
  return 0;
}
