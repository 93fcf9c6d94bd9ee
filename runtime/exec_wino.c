/* exec_wino.c — 3x3 stride-1 convolutions by Winograd's minimal filtering
 * F(4x4, 3x3) and F(2x2, 3x3), on the 8-channel blocked layout (aBcd8b)
 * that oneDNN's AVX2 convolutions use.
 *
 * Why: on this AVX2 machine oneDNN 2.6 has no Winograd (its implementation
 * needs AVX-512), and its direct 3x3 convolutions already run at ~90% of
 * the FMA peak, as do ONNX Runtime's; the 3x3 layers are ~45% of
 * ResNet-50's time, ~60% of GoogLeNet's and nearly all of VGG-16's.
 * F(4x4, 3x3) computes a 4x4 output tile from a 6x6 input tile with 36
 * multiplications per channel pair instead of 144 (F(2x2, 3x3): 16 instead
 * of 36): the work becomes 36 (16) independent matrix products
 * (tiles x input channels) . (input channels x output channels), plus
 * cheap transforms in and out.
 *
 * How (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016, for the transform matrices B, G, A):
 * - weights: U[xi] = (G g G^T)[xi] for each (out, in) channel pair, made
 *   once at compile time, packed as [xi][out/16][in][16] for the kernel;
 * - per chunk of tiles: V[xi][tile][in] = (B^T d B) of each input patch,
 *   eight channels per AVX vector; M[xi] = V[xi] . U[xi] by a 6x16
 *   register-blocked FMA kernel; each output tile = A^T m A + bias, then
 *   the layer's fused post-ops (sum, ReLU, clip), written straight into
 *   the blocked output;
 * - a chunk's V and M live in a scratch buffer of the activation arena
 *   (one slice per thread);
 * - F(2x2) on maps of at most 64 outputs, F(4x4) elsewhere (see
 *   mts__wino_add).
 * It is added as a version of the layer and made its default
 * (runtime/exec_conv.c; MTS_WINOGRAD=0 keeps oneDNN's direct convolution
 * as the default), so the profiler and the scheduler see both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif
#include <omp.h>

#include "runtime/exec_int.h"
#include "runtime/graph_int.h"
#include "runtime/mts.h"

#define XI 36      /* transform points at most: 6 x 6 */
#define MR 6       /* kernel rows: tiles */
#define NR 16      /* kernel columns: output channels */

/* Parameters, kept in the step's cop: dims[0] = input {N, C8, H, W},
 * dims[1] = output {N, K8, OH, OW}, dims[2] = {pad top, pad left, tiles
 * per chunk, K16}, dims[3] = {output tile m: 4 or 2}. */

#ifdef __AVX2__
typedef __m256 v8;

/* 1-D input transform (a row or column of B^T d B). */
static inline void bt6(const v8 *z, v8 *r) {
  const v8 four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f), two = _mm256_set1_ps(2.f);
  v8 t0 = _mm256_fnmadd_ps(four, z[2], z[4]); /* z4 - 4 z2 */
  v8 t1 = _mm256_fnmadd_ps(four, z[1], z[3]); /* z3 - 4 z1 */
  v8 t2 = _mm256_sub_ps(z[4], z[2]);          /* z4 - z2 */
  v8 t3 = _mm256_mul_ps(two, _mm256_sub_ps(z[3], z[1])); /* 2 (z3 - z1) */
  r[0] = _mm256_fmadd_ps(four, z[0], _mm256_fnmadd_ps(five, z[2], z[4]));
  r[1] = _mm256_add_ps(t0, t1);
  r[2] = _mm256_sub_ps(t0, t1);
  r[3] = _mm256_add_ps(t2, t3);
  r[4] = _mm256_sub_ps(t2, t3);
  r[5] = _mm256_fmadd_ps(four, z[1], _mm256_fnmadd_ps(five, z[3], z[5]));
}

/* 1-D output transform (A^T m): 6 values to 4. */
static inline void at6(const v8 *m, v8 *o) {
  const v8 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), eight = _mm256_set1_ps(8.f);
  v8 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
  v8 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
  o[1] = _mm256_fmadd_ps(two, d34, d12);
  o[2] = _mm256_fmadd_ps(four, s34, s12);
  o[3] = _mm256_add_ps(_mm256_fmadd_ps(eight, d34, d12), m[5]);
}

/* F(2x2, 3x3): the 1-D input transform (4 values) and output transform
 * (4 to 2). */
static inline void bt4(const v8 *z, v8 *r) {
  r[0] = _mm256_sub_ps(z[0], z[2]);
  r[1] = _mm256_add_ps(z[1], z[2]);
  r[2] = _mm256_sub_ps(z[2], z[1]);
  r[3] = _mm256_sub_ps(z[1], z[3]);
}

static inline void at4(const v8 *m, v8 *o) {
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], m[1]), m[2]);
  o[1] = _mm256_sub_ps(_mm256_sub_ps(m[1], m[2]), m[3]);
}

/* c[6][16] = a[6][K] (rows lda apart) . b[K][16] (packed). */
static void kernel_6x16(const float *a, int64_t lda, const float *b, int64_t K, float *c, int64_t ldc) {
  v8 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
     c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
  for (int64_t k = 0; k < K; k++, b += NR) {
    v8 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), x;
    x = _mm256_broadcast_ss(a0 + k);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a1 + k);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a2 + k);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a3 + k);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a4 + k);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a5 + k);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  _mm256_store_ps(c, c00);
  _mm256_store_ps(c + 8, c01);
  _mm256_store_ps(c + ldc, c10);
  _mm256_store_ps(c + ldc + 8, c11);
  _mm256_store_ps(c + 2 * ldc, c20);
  _mm256_store_ps(c + 2 * ldc + 8, c21);
  _mm256_store_ps(c + 3 * ldc, c30);
  _mm256_store_ps(c + 3 * ldc + 8, c31);
  _mm256_store_ps(c + 4 * ldc, c40);
  _mm256_store_ps(c + 4 * ldc + 8, c41);
  _mm256_store_ps(c + 5 * ldc, c50);
  _mm256_store_ps(c + 5 * ldc + 8, c51);
}

/* The fused post-ops, in the layer's order, on one output vector; y is
 * where it goes (for a sum, it holds the summand). */
static inline v8 post_ops(const mts__cop_t *c, v8 o, const float *y) {
  for (int k = 0; k < c->n_post; k++) {
    const mts_postop_t *p = &c->post[k];
    if (p->kind == MTS_POST_SUM) {
      o = _mm256_add_ps(o, _mm256_loadu_ps(y));
    } else if (p->unary == MTS_UNARY_RELU) {
      v8 z = _mm256_setzero_ps();
      o = p->alpha == 0.f ? _mm256_max_ps(o, z)
                          : _mm256_add_ps(_mm256_max_ps(o, z), _mm256_mul_ps(_mm256_set1_ps(p->alpha), _mm256_min_ps(o, z)));
    } else { /* clip */
      o = _mm256_min_ps(_mm256_max_ps(o, _mm256_set1_ps(p->alpha)), _mm256_set1_ps(p->beta));
    }
  }
  return o;
}

/* The shape of one Winograd step (see the dims kept in its cop). */
typedef struct {
  const float *x, *U, *bias;
  float *y;
  int64_t C8, H, W, K8, OH, OW, pt, pl, tb, K16, TH, TW, tiles;
  int m, a, nxi;             /* output tile, input tile (m + 2), points (a * a) */
} wshape_t;

/* V rows of tile t (global tile g) for input channel block cb. */
static void in_tile(const wshape_t *w, float *V, int64_t t, int64_t g, int64_t cb) {
  int64_t n = g / (w->TH * w->TW), ty = g / w->TW % w->TH, tx = g % w->TW;
  const int a = w->a;
  int64_t h0 = ty * w->m - w->pt, w0 = tx * w->m - w->pl;
  int inside = h0 >= 0 && w0 >= 0 && h0 + a <= w->H && w0 + a <= w->W;
  const float *xc = w->x + (n * (w->C8 / 8) + cb) * w->H * w->W * 8;
  v8 d[6][6], r[6][6], col[6], tr[6];
  for (int i = 0; i < a; i++)
    for (int j = 0; j < a; j++) {
      int64_t h = h0 + i, ww = w0 + j;
      d[i][j] = inside || (h >= 0 && h < w->H && ww >= 0 && ww < w->W) ? _mm256_loadu_ps(xc + (h * w->W + ww) * 8)
                                                                          : _mm256_setzero_ps();
    }
  for (int j = 0; j < a; j++) {
    for (int i = 0; i < a; i++) col[i] = d[i][j];
    if (a == 6) bt6(col, tr);
    else bt4(col, tr);
    for (int i = 0; i < a; i++) r[i][j] = tr[i];
  }
  for (int i = 0; i < a; i++) {
    if (a == 6) bt6(r[i], tr);
    else bt4(r[i], tr);
    for (int j = 0; j < a; j++) _mm256_store_ps(V + ((i * a + j) * w->tb + t) * w->C8 + cb * 8, tr[j]);
  }
}

/* Rows the kernel computes but nobody reads: zeros, not garbage. */
static void in_zero(const wshape_t *w, float *V, int64_t t) {
  for (int xi = 0; xi < w->nxi; xi++) memset(V + (xi * w->tb + t) * w->C8, 0, (size_t)w->C8 * sizeof(float));
}

/* M[xi] columns of output block cb (16 channels), rows [0, nt6). */
static void gemm_xi(const wshape_t *w, const float *V, float *M, int xi, int64_t cb, int64_t nt6) {
  const float *b = w->U + ((size_t)xi * (size_t)(w->K16 / NR) + (size_t)cb) * (size_t)w->C8 * NR;
  for (int64_t t = 0; t < nt6; t += MR)
    kernel_6x16(V + (xi * w->tb + t) * w->C8, w->C8, b, w->C8, M + (xi * w->tb + t) * w->K16 + cb * NR, w->K16);
}

/* Output tile t (global g), channel block kb: A^T m A + bias, post-ops. */
static void out_tile(const wshape_t *w, const mts__cop_t *c, const float *M, int64_t t, int64_t g, int64_t kb) {
  int64_t n = g / (w->TH * w->TW), ty = g / w->TW % w->TH, tx = g % w->TW;
  const int a = w->a, mo = w->m;
  int64_t oh0 = ty * mo, ow0 = tx * mo;
  v8 m[6][6], q[4][6], col[6], o4[4];
  for (int i = 0; i < a; i++)
    for (int j = 0; j < a; j++) m[i][j] = _mm256_load_ps(M + ((i * a + j) * w->tb + t) * w->K16 + kb * 8);
  for (int j = 0; j < a; j++) {
    for (int i = 0; i < a; i++) col[i] = m[i][j];
    if (a == 6) at6(col, o4);
    else at4(col, o4);
    for (int i = 0; i < mo; i++) q[i][j] = o4[i];
  }
  v8 bv = _mm256_load_ps(w->bias + kb * 8);
  float *yc = w->y + (n * (w->K8 / 8) + kb) * w->OH * w->OW * 8;
  for (int i = 0; i < mo && oh0 + i < w->OH; i++) {
    if (a == 6) at6(q[i], o4);
    else at4(q[i], o4);
    for (int j = 0; j < mo && ow0 + j < w->OW; j++) {
      float *yp = yc + ((oh0 + i) * w->OW + ow0 + j) * 8;
      _mm256_storeu_ps(yp, post_ops(c, _mm256_add_ps(o4[j], bv), yp));
    }
  }
}

/* Two ways to share the work among the team:
 * - many chunks: each thread takes whole chunks (its own V and M, which
 *   stay in its L2);
 * - few chunks (deep layers: few tiles, many channels): every thread works
 *   on each chunk, splitting its input transform by (tile, channel block),
 *   its 36 products by (point, output block) and its output transform by
 *   (tile, channel block).  Measured on ResNet-50's 7x7x512 layers at 2
 *   threads: whole chunks per thread ran no faster than 1 thread (one
 *   chunk of 4 tiles), shared chunks ran ~1.9x faster. */
static void c_wino(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  wshape_t w = {.x = p[0], .U = p[1], .bias = p[2], .y = p[4],
                .C8 = c->dims[0][1], .H = c->dims[0][2], .W = c->dims[0][3],
                .K8 = c->dims[1][1], .OH = c->dims[1][2], .OW = c->dims[1][3],
                .pt = c->dims[2][0], .pl = c->dims[2][1], .tb = c->dims[2][2], .K16 = c->dims[2][3]};
  float *scratch = p[3];
  w.m = (int)c->dims[3][0];
  w.a = w.m + 2;
  w.nxi = w.a * w.a;
  w.TH = (w.OH + w.m - 1) / w.m;
  w.TW = (w.OW + w.m - 1) / w.m;
  w.tiles = c->dims[0][0] * w.TH * w.TW;
  const int64_t tb = w.tb, n_chunks = (w.tiles + tb - 1) / tb, per_thread = w.nxi * tb * (w.C8 + w.K16);
  const int64_t ncb = w.C8 / 8, nkb = w.K8 / 8, nob = w.K16 / NR;
  if (n_chunks >= 2 * omp_get_max_threads()) {
#pragma omp parallel
    {
      float *V = scratch + (size_t)omp_get_thread_num() * (size_t)per_thread, *M = V + w.nxi * tb * w.C8;
#pragma omp for schedule(dynamic, 1)
      for (int64_t ch = 0; ch < n_chunks; ch++) {
        int64_t t0 = ch * tb, nt = w.tiles - t0 < tb ? w.tiles - t0 : tb, nt6 = (nt + MR - 1) / MR * MR;
        for (int64_t t = 0; t < nt6; t++) {
          if (t >= nt) in_zero(&w, V, t);
          else
            for (int64_t cb = 0; cb < ncb; cb++) in_tile(&w, V, t, t0 + t, cb);
        }
        for (int xi = 0; xi < w.nxi; xi++)
          for (int64_t cb = 0; cb < nob; cb++) gemm_xi(&w, V, M, xi, cb, nt6);
        for (int64_t t = 0; t < nt; t++)
          for (int64_t kb = 0; kb < nkb; kb++) out_tile(&w, c, M, t, t0 + t, kb);
      }
    }
    return;
  }
  float *V = scratch, *M = V + w.nxi * tb * w.C8;
#pragma omp parallel
  for (int64_t ch = 0; ch < n_chunks; ch++) {
    int64_t t0 = ch * tb, nt = w.tiles - t0 < tb ? w.tiles - t0 : tb, nt6 = (nt + MR - 1) / MR * MR;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < nt6 * ncb; i++) {
      int64_t t = i / ncb, cb = i % ncb;
      if (t < nt) in_tile(&w, V, t, t0 + t, cb);
      else if (cb == 0) in_zero(&w, V, t);
    }
#pragma omp for schedule(static)
    for (int64_t i = 0; i < w.nxi * nob; i++) gemm_xi(&w, V, M, (int)(i / nob), i % nob, nt6);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < nt * nkb; i++) out_tile(&w, c, M, i / nkb, t0 + i / nkb, i % nkb);
  }
}
#endif /* __AVX2__ */

/* G g G^T of one 3x3 kernel for output tile m (4 or 2): u[(m + 2)^2]
 * (double precision: the weights are made once). */
static void weight_transform(const float *g, int m, double *u) {
  static const double G6[6][3] = {{1.0 / 4, 0, 0},
                                  {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                  {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                  {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                  {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                  {0, 0, 1}};
  static const double G4[6][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  const double(*G)[3] = m == 4 ? G6 : G4;
  int a = m + 2;
  double t[6][3];
  for (int i = 0; i < a; i++)
    for (int j = 0; j < 3; j++) t[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
  for (int i = 0; i < a; i++)
    for (int j = 0; j < a; j++) u[i * a + j] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
}

int mts__wino_eligible(const mts__cs_t *cs, const mts_node_t *n, const dnnl_memory_desc_t *src,
                       const dnnl_memory_desc_t *dst) {
#ifndef __AVX2__
  (void)cs;
  (void)n;
  (void)src;
  (void)dst;
  return 0;
#else
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Wt = &g->tensors[n->inputs[1]], *Y = &g->tensors[n->outputs[0]];
  if (X->ndim != 4 || Wt->ndim != 4 || !Wt->data || (n->attr.group > 1) || n->attr.nsp != 2) return 0;
  if (Wt->dims[2] != 3 || Wt->dims[3] != 3) return 0;
  for (int s = 0; s < 2; s++)
    if ((n->attr.stride[s] && n->attr.stride[s] != 1) || (n->attr.dilation[s] && n->attr.dilation[s] != 1) ||
        n->attr.pad[s] < 0 || n->attr.pad[s] > 2 || n->attr.pad[2 + s] < 0 || n->attr.pad[2 + s] > 2)
      return 0;
  if (n->n_inputs > 2 && n->inputs[2] >= 0 && !g->tensors[n->inputs[2]].data) return 0;
  for (int k = 0; k < n->n_post; k++)
    if (n->post[k].kind != MTS_POST_SUM && n->post[k].unary != MTS_UNARY_RELU &&
        !(n->post[k].unary == MTS_UNARY_CLIP && n->post[k].alpha <= 0.f && n->post[k].beta >= 0.f))
      return 0; /* (a clip must keep the zero padding of the blocked layout zero) */
  dnnl_memory_desc_t want;
  dnnl_dims_t xd = {X->dims[0], X->dims[1], X->dims[2], X->dims[3]};
  dnnl_dims_t yd = {Y->dims[0], Y->dims[1], Y->dims[2], Y->dims[3]};
  if (dnnl_memory_desc_init_by_tag(&want, 4, xd, dnnl_f32, dnnl_aBcd8b) != dnnl_success ||
      !dnnl_memory_desc_equal(&want, src))
    return 0;
  if (dnnl_memory_desc_init_by_tag(&want, 4, yd, dnnl_f32, dnnl_aBcd8b) != dnnl_success ||
      !dnnl_memory_desc_equal(&want, dst))
    return 0;
  return 1;
#endif
}

int mts__wino_preferred(const mts__cs_t *cs, const mts_node_t *n) {
  const char *e = getenv("MTS_WINOGRAD");
  (void)cs;
  (void)n;
  return !(e && !strcmp(e, "0"));
}

int mts__wino_add(mts__cs_t *cs, const mts_node_t *n, const dnnl_memory_desc_t *src, int sk, int sid,
                  const dnnl_memory_desc_t *dst, int yb, char *impl, size_t impl_n) {
#ifndef __AVX2__
  (void)cs;
  (void)n;
  (void)src;
  (void)sk;
  (void)sid;
  (void)dst;
  (void)yb;
  (void)impl;
  (void)impl_n;
  return mts_seterr(MTS_EUNSUPPORTED, "Winograd convolution needs AVX2");
#else
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Wt = &g->tensors[n->inputs[1]], *Y = &g->tensors[n->outputs[0]];
  const float *wsrc = Wt->data, *bsrc = n->n_inputs > 2 && n->inputs[2] >= 0 ? g->tensors[n->inputs[2]].data : NULL;
  int64_t C = X->dims[1], K = Y->dims[1], C8 = src->padded_dims[1], K8 = dst->padded_dims[1];
  int64_t K16 = (K8 + NR - 1) / NR * NR;
  int64_t OH = Y->dims[2], OW = Y->dims[3];
  /* F(4x4, 3x3) does 4x fewer multiplications, F(2x2, 3x3) 2.25x, but its
   * U has 16 points instead of 36: on small maps with many channels (7x7x512
   * in ResNet-50: 4 tiles of 4x4 and a 38 MB U to stream) U's traffic
   * decides, and F(2x2) is the faster one. */
  int mt = OH * OW <= 64 ? 2 : 4, nxi = (mt + 2) * (mt + 2);
  int64_t tiles = X->dims[0] * ((OH + mt - 1) / mt) * ((OW + mt - 1) / mt);
  snprintf(impl, impl_n, "winograd_f%dx%d_avx2", mt, mt);
  int max_threads = 1;
  for (int i = 0; i < cs->m->n_cc; i++)
    if (cs->m->cc[i] > max_threads) max_threads = cs->m->cc[i];
  /* Tiles per chunk.  A chunk reads all of U (36 C K floats) once and
   * its V and M (36 tb (C + K)); tb near C K / (C + K) keeps U from
   * dominating the traffic (ResNet-50's 14x14x256 layers in chunks of 6
   * tiles ran 0.75x the direct convolution's time, one chunk of 18 tiles
   * does better), but not past the tiles there are. */
  int64_t tb = (C8 * K16 / (C8 + K16) + MR - 1) / MR * MR, all = (tiles + MR - 1) / MR * MR;
  if (tb > all) tb = all;
  if (tb < MR) tb = MR;
  /* U: [xi][K16 / 16][C8][16] */
  size_t un = (size_t)nxi * (size_t)C8 * (size_t)K16;
  float *u = NULL, *bias = NULL;
  if (posix_memalign((void **)&u, 64, un * sizeof(float)) || posix_memalign((void **)&bias, 64, (size_t)K16 * sizeof(float))) {
    free(u);
    return mts_seterr(MTS_ENOMEM, "layer '%s': Winograd weights (%zu floats)", n->name, un);
  }
  memset(u, 0, un * sizeof(float));
  memset(bias, 0, (size_t)K16 * sizeof(float));
  for (int64_t k = 0; k < K; k++) {
    if (bsrc) bias[k] = bsrc[k];
    for (int64_t ci = 0; ci < C; ci++) {
      double t[XI];
      weight_transform(wsrc + (k * C + ci) * 9, mt, t);
      for (int xi = 0; xi < nxi; xi++)
        u[(((size_t)xi * (size_t)(K16 / NR) + (size_t)(k / NR)) * (size_t)C8 + (size_t)ci) * NR + (size_t)(k % NR)] =
            (float)t[xi];
    }
  }
  dnnl_memory_desc_t umd, bmd, smd;
  dnnl_dims_t ud = {(dnnl_dim_t)un}, bd = {K16}, sd = {(dnnl_dim_t)max_threads * nxi * tb * (C8 + K16)};
  dnnl_memory_desc_init_by_tag(&umd, 1, ud, dnnl_f32, dnnl_a);
  dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a);
  dnnl_memory_desc_init_by_tag(&smd, 1, sd, dnnl_f32, dnnl_a);
  int uc = mts__new_const(cs, &umd, u);
  if (uc < 0) {
    free(bias);
    return uc;
  }
  int bc = mts__new_const(cs, &bmd, bias);
  if (bc < 0) return bc;
  int sb = mts__new_buf(cs, &smd);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_C);
  s->fn = c_wino;
  snprintf(s->impl, sizeof s->impl, "%s", impl);
  mts__cop_t *c = &s->cop;
  c->op = n->op;
  c->attr = n->attr;
  c->n_in = 4;
  c->n_out = 1;
  int64_t d0[4] = {X->dims[0], C8, X->dims[2], X->dims[3]}, d1[4] = {Y->dims[0], K8, OH, OW},
          d2[4] = {n->attr.pad[0], n->attr.pad[1], tb, K16};
  c->ndim[0] = c->ndim[1] = c->ndim[2] = 4;
  c->ndim[3] = 1;
  c->dims[3][0] = mt;
  memcpy(c->dims[0], d0, sizeof d0);
  memcpy(c->dims[1], d1, sizeof d1);
  memcpy(c->dims[2], d2, sizeof d2);
  c->n_post = n->n_post;
  memcpy(c->post, n->post, sizeof n->post);
  mts__step_arg(s, 0, src, sk, sid);
  mts__step_arg(s, 1, &umd, MTS__REF_CONST, uc);
  mts__step_arg(s, 2, &bmd, MTS__REF_CONST, bc);
  mts__step_arg(s, 3, &smd, MTS__REF_BUF, sb);
  mts__step_arg(s, 4, dst, MTS__REF_BUF, yb);
  return 0;
#endif
}
