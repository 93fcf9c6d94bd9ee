/* exec_wino.c — 3x3 stride-1 convolutions by Winograd's minimal filtering
 * F(4x4, 3x3) and F(2x2, 3x3), on the layouts oneDNN's own convolutions
 * pick: the channel-blocked one (aBcd8b on AVX2, aBcd16b on AVX-512) and
 * nhwc (acdb: oneDNN 2.6's brgemm convolutions on AVX-512).
 *
 * Why: oneDNN 2.6 has no Winograd on AVX2 and picks none by itself on
 * AVX-512; its direct 3x3 convolutions run near the FMA peak, as do ONNX
 * Runtime's, and the 3x3 layers are ~40% of ResNet-50's
 * time, ~60% of GoogLeNet's and nearly all of VGG-16's.  F(4x4, 3x3)
 * computes a 4x4 output tile from a 6x6 input tile with 36 multiplications
 * per channel pair instead of 144 (F(2x2, 3x3): 16 instead of 36): the
 * work becomes 36 (16) independent matrix products (tiles x input
 * channels) . (input channels x output channels), plus cheap transforms
 * in and out.
 *
 * How (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016, for the transform matrices B, G, A):
 * - one source for both vector widths: VL floats per vector (8: AVX2,
 *   16: AVX-512), chosen by the build's -march;
 * - weights: U[xi] = (G g G^T)[xi] for each (out, in) channel pair, made
 *   once at compile time, packed as [xi][out/VL][in][VL] panels;
 * - per chunk of tiles: V[xi][tile][in] = (B^T d B) of each input patch,
 *   VL channels per vector; M[xi] = V[xi] . U[xi] by an MR x 2VL
 *   register-blocked FMA kernel; each output tile = A^T m A + bias, then
 *   the layer's fused post-ops (sum, ReLU, clip), written straight into
 *   the output;
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
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#include <omp.h>

#include "runtime/exec_int.h"
#include "runtime/graph_int.h"
#include "runtime/mts.h"

#define XI 36      /* transform points at most: 6 x 6 */

/* Parameters, kept in the step's cop: dims[0] = input {N, C, H, W},
 * dims[1] = output {N, K, OH, OW}, dims[2] = {pad top, pad left, tiles per
 * chunk, output tile m: 4 or 2}, dims[3] = {input layout, output layout
 * (WL_*), C padded to VL, K padded to VL}. */
enum { WL_BLOCKED = 0, WL_NHWC = 1 };

#if defined(__AVX512F__)
#define WINO_ISA "avx512"
#define F2_MAX_HW 196 /* F(2x2) on maps of at most this many outputs */
#define VL 16
#define MR 8       /* kernel rows (tiles): 8 x 2 accumulators of 32 */
typedef __m512 vf;
#define vload _mm512_loadu_ps
#define vstore _mm512_storeu_ps
#define vset1 _mm512_set1_ps
#define vzero _mm512_setzero_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vmax _mm512_max_ps
#define vmin _mm512_min_ps
#define vfmadd _mm512_fmadd_ps
#define vfnmadd _mm512_fnmadd_ps
static inline vf vloadn(const float *p, int n) {
  return n >= VL ? vload(p) : _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
}
static inline void vstoren(float *p, vf v, int n) {
  if (n >= VL) vstore(p, v);
  else _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v);
}
#elif defined(__AVX2__) && defined(__FMA__)
#define WINO_ISA "avx2"
#define F2_MAX_HW 64
#define VL 8
#define MR 6       /* kernel rows (tiles): 6 x 2 accumulators of 16 */
typedef __m256 vf;
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vmax _mm256_max_ps
#define vmin _mm256_min_ps
#define vfmadd _mm256_fmadd_ps
#define vfnmadd _mm256_fnmadd_ps
static inline __m256i mask8(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline vf vloadn(const float *p, int n) { return n >= VL ? vload(p) : _mm256_maskload_ps(p, mask8(n)); }
static inline void vstoren(float *p, vf v, int n) {
  if (n >= VL) vstore(p, v);
  else _mm256_maskstore_ps(p, mask8(n), v);
}
#endif

#ifdef VL
#define VL_ISA VL
#else
#define VL_ISA 0
#endif

#ifdef VL
/* 1-D input transform (a row or column of B^T d B). */
static inline void bt6(const vf *z, vf *r) {
  const vf four = vset1(4.f), five = vset1(5.f), two = vset1(2.f);
  vf t0 = vfnmadd(four, z[2], z[4]); /* z4 - 4 z2 */
  vf t1 = vfnmadd(four, z[1], z[3]); /* z3 - 4 z1 */
  vf t2 = vsub(z[4], z[2]);          /* z4 - z2 */
  vf t3 = vmul(two, vsub(z[3], z[1])); /* 2 (z3 - z1) */
  r[0] = vfmadd(four, z[0], vfnmadd(five, z[2], z[4]));
  r[1] = vadd(t0, t1);
  r[2] = vsub(t0, t1);
  r[3] = vadd(t2, t3);
  r[4] = vsub(t2, t3);
  r[5] = vfmadd(four, z[1], vfnmadd(five, z[3], z[5]));
}

/* 1-D output transform (A^T m): 6 values to 4. */
static inline void at6(const vf *m, vf *o) {
  const vf two = vset1(2.f), four = vset1(4.f), eight = vset1(8.f);
  vf s12 = vadd(m[1], m[2]), d12 = vsub(m[1], m[2]);
  vf s34 = vadd(m[3], m[4]), d34 = vsub(m[3], m[4]);
  o[0] = vadd(vadd(m[0], s12), s34);
  o[1] = vfmadd(two, d34, d12);
  o[2] = vfmadd(four, s34, s12);
  o[3] = vadd(vfmadd(eight, d34, d12), m[5]);
}

/* F(2x2, 3x3): the 1-D input transform (4 values) and output transform
 * (4 to 2). */
static inline void bt4(const vf *z, vf *r) {
  r[0] = vsub(z[0], z[2]);
  r[1] = vadd(z[1], z[2]);
  r[2] = vsub(z[2], z[1]);
  r[3] = vsub(z[1], z[3]);
}

static inline void at4(const vf *m, vf *o) {
  o[0] = vadd(vadd(m[0], m[1]), m[2]);
  o[1] = vsub(vsub(m[1], m[2]), m[3]);
}

/* c[MR][2 VL] = a[MR][K] (rows lda apart) . [b0 | b1] (two [K][VL]
 * panels); with b1 NULL only c[MR][VL] from b0. */
static void kernel(const float *a, int64_t lda, const float *b0, const float *b1, int64_t K, float *c,
                   int64_t ldc) {
  vf c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = vzero();
  if (b1) {
    for (int64_t k = 0; k < K; k++) {
      vf x0 = vload(b0 + k * VL), x1 = vload(b1 + k * VL);
#pragma GCC unroll 16
      for (int r = 0; r < MR; r++) {
        vf s = vset1(a[r * lda + k]);
        c0[r] = vfmadd(s, x0, c0[r]);
        c1[r] = vfmadd(s, x1, c1[r]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
      vstore(c + r * ldc, c0[r]);
      vstore(c + r * ldc + VL, c1[r]);
    }
    return;
  }
  for (int64_t k = 0; k < K; k++) {
    vf x0 = vload(b0 + k * VL);
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) c0[r] = vfmadd(vset1(a[r * lda + k]), x0, c0[r]);
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++) vstore(c + r * ldc, c0[r]);
}

/* The fused post-ops, in the layer's order, on one output vector of n
 * channels; y is where it goes (for a sum, it holds the summand). */
static inline vf post_ops(const mts__cop_t *c, vf o, const float *y, int n) {
  for (int k = 0; k < c->n_post; k++) {
    const mts_postop_t *p = &c->post[k];
    if (p->kind == MTS_POST_SUM) {
      o = vadd(o, vloadn(y, n));
    } else if (p->unary == MTS_UNARY_RELU) {
      vf z = vzero();
      o = p->alpha == 0.f ? vmax(o, z) : vadd(vmax(o, z), vmul(vset1(p->alpha), vmin(o, z)));
    } else { /* clip */
      o = vmin(vmax(o, vset1(p->alpha)), vset1(p->beta));
    }
  }
  return o;
}

/* The shape of one Winograd step (see the dims kept in its cop).  Element
 * (n, channel block b, h, w, lane) of the input is at
 * x + n xn + b xcb + (h W + w) xps + lane; the same for y. */
typedef struct {
  const float *x, *U, *bias;
  float *y;
  int64_t C, CP, H, W, K, KP, OH, OW, pt, pl, tb, TH, TW, tiles;
  int64_t xn, xcb, xps, yn, ycb, yps;
  int64_t xc, yc;            /* channels present in memory (C or CP; K or KP) */
  int m, a, nxi;             /* output tile, input tile (m + 2), points (a * a) */
} wshape_t;

/* V rows of tile t (global tile g) for input channel block cb. */
static void in_tile(const wshape_t *w, float *V, int64_t t, int64_t g, int64_t cb) {
  int64_t n = g / (w->TH * w->TW), ty = g / w->TW % w->TH, tx = g % w->TW;
  const int a = w->a;
  int64_t h0 = ty * w->m - w->pt, w0 = tx * w->m - w->pl, left = w->xc - cb * VL;
  int nc = left < VL ? (int)left : VL;
  int inside = h0 >= 0 && w0 >= 0 && h0 + a <= w->H && w0 + a <= w->W;
  const float *xc = w->x + n * w->xn + cb * w->xcb;
  vf d[6][6], r[6][6], col[6], tr[6];
  for (int i = 0; i < a; i++)
    for (int j = 0; j < a; j++) {
      int64_t h = h0 + i, ww = w0 + j;
      d[i][j] = inside || (h >= 0 && h < w->H && ww >= 0 && ww < w->W) ? vloadn(xc + (h * w->W + ww) * w->xps, nc)
                                                                        : vzero();
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
    for (int j = 0; j < a; j++) vstore(V + ((i * a + j) * w->tb + t) * w->CP + cb * VL, tr[j]);
  }
}

/* Rows the kernel computes but nobody reads: zeros, not garbage. */
static void in_zero(const wshape_t *w, float *V, int64_t t) {
  for (int xi = 0; xi < w->nxi; xi++) memset(V + (xi * w->tb + t) * w->CP, 0, (size_t)w->CP * sizeof(float));
}

/* M[xi] columns of output panels 2p and 2p + 1 (VL channels each), rows
 * [0, ntr). */
static void gemm_xi(const wshape_t *w, const float *V, float *M, int xi, int64_t p, int64_t ntr) {
  int64_t np = w->KP / VL, p0 = 2 * p;
  const float *b0 = w->U + ((size_t)xi * (size_t)np + (size_t)p0) * (size_t)w->CP * VL;
  const float *b1 = p0 + 1 < np ? b0 + w->CP * VL : NULL;
  for (int64_t t = 0; t < ntr; t += MR)
    kernel(V + (xi * w->tb + t) * w->CP, w->CP, b0, b1, w->CP, M + (xi * w->tb + t) * w->KP + p0 * VL, w->KP);
}

/* Output tile t (global g), channel block kb: A^T m A + bias, post-ops. */
static void out_tile(const wshape_t *w, const mts__cop_t *c, const float *M, int64_t t, int64_t g, int64_t kb) {
  int64_t n = g / (w->TH * w->TW), ty = g / w->TW % w->TH, tx = g % w->TW;
  const int a = w->a, mo = w->m;
  int64_t oh0 = ty * mo, ow0 = tx * mo, left = w->yc - kb * VL;
  int nc = left < VL ? (int)left : VL;
  vf m[6][6], q[4][6], col[6], o4[4];
  for (int i = 0; i < a; i++)
    for (int j = 0; j < a; j++) m[i][j] = vload(M + ((i * a + j) * w->tb + t) * w->KP + kb * VL);
  for (int j = 0; j < a; j++) {
    for (int i = 0; i < a; i++) col[i] = m[i][j];
    if (a == 6) at6(col, o4);
    else at4(col, o4);
    for (int i = 0; i < mo; i++) q[i][j] = o4[i];
  }
  vf bv = vload(w->bias + kb * VL);
  float *yc = w->y + n * w->yn + kb * w->ycb;
  for (int i = 0; i < mo && oh0 + i < w->OH; i++) {
    if (a == 6) at6(q[i], o4);
    else at4(q[i], o4);
    for (int j = 0; j < mo && ow0 + j < w->OW; j++) {
      float *yp = yc + ((oh0 + i) * w->OW + ow0 + j) * w->yps;
      vstoren(yp, post_ops(c, vadd(o4[j], bv), yp, nc), nc);
    }
  }
}

/* Where a tensor of C channels (CP padded) on hw pixels keeps them in
 * layout WL_*: channels present, and the strides of a pixel, a channel
 * block and an image. */
static void strides_of(int layout, int64_t C, int64_t CP, int64_t hw, int64_t *present, int64_t *ps, int64_t *cb,
                       int64_t *img) {
  int nhwc = layout == WL_NHWC;
  *present = nhwc ? C : CP;
  *ps = nhwc ? C : VL;
  *cb = nhwc ? VL : hw * VL;
  *img = (nhwc ? C : CP) * hw;
}

/* Two ways to share the work among the team:
 * - many chunks: each thread takes whole chunks (its own V and M, which
 *   stay in its L2);
 * - few chunks (deep layers: few tiles, many channels): every thread works
 *   on each chunk, splitting its input transform by (tile, channel block),
 *   its products by (point, output panel pair) and its output transform by
 *   (tile, channel block).  Measured on ResNet-50's 7x7x512 layers at 2
 *   threads (AVX2): whole chunks per thread ran no faster than 1 thread
 *   (one chunk of 4 tiles), shared chunks ran ~1.9x faster. */
static void c_wino(const mts__step_t *s, void *const *p) {
  const mts__cop_t *c = &s->cop;
  wshape_t w = {.x = p[0], .U = p[1], .bias = p[2], .y = p[4],
                .C = c->dims[0][1], .H = c->dims[0][2], .W = c->dims[0][3],
                .K = c->dims[1][1], .OH = c->dims[1][2], .OW = c->dims[1][3],
                .pt = c->dims[2][0], .pl = c->dims[2][1], .tb = c->dims[2][2],
                .CP = c->dims[3][2], .KP = c->dims[3][3]};
  float *scratch = p[3];
  w.m = (int)c->dims[2][3];
  w.a = w.m + 2;
  w.nxi = w.a * w.a;
  w.TH = (w.OH + w.m - 1) / w.m;
  w.TW = (w.OW + w.m - 1) / w.m;
  w.tiles = c->dims[0][0] * w.TH * w.TW;
  strides_of((int)c->dims[3][0], w.C, w.CP, w.H * w.W, &w.xc, &w.xps, &w.xcb, &w.xn);
  strides_of((int)c->dims[3][1], w.K, w.KP, w.OH * w.OW, &w.yc, &w.yps, &w.ycb, &w.yn);
  const int nthr = omp_get_max_threads();
  const int64_t per_thread = w.nxi * w.tb * (w.CP + w.KP); /* scratch slices: the planned chunk size */
  if (nthr > 1 && (w.tiles + w.tb - 1) / w.tb >= 2 * nthr) {
    /* Whole chunks per thread: chunks that the team shares evenly (7 chunks
     * of ResNet-50's 56x56 layers on 2 threads left one idle an eighth of
     * the time): the smallest per-thread share of tiles, with chunks of at
     * least half the planned size (each chunk reads all of U). */
    int64_t best = w.tb, best_load = ((w.tiles + w.tb - 1) / w.tb + nthr - 1) / nthr * w.tb;
    for (int64_t t2 = w.tb - MR; t2 >= MR && 2 * t2 >= w.tb; t2 -= MR) {
      int64_t load = ((w.tiles + t2 - 1) / t2 + nthr - 1) / nthr * t2;
      if (load < best_load) best = t2, best_load = load;
    }
    w.tb = best;
  }
  const int64_t tb = w.tb, n_chunks = (w.tiles + tb - 1) / tb;
  const int64_t ncb = w.CP / VL, nkb = w.KP / VL, nop = (nkb + 1) / 2;
  if (n_chunks >= 2 * nthr) {
#pragma omp parallel
    {
      float *V = scratch + (size_t)omp_get_thread_num() * (size_t)per_thread, *M = V + w.nxi * tb * w.CP;
#pragma omp for schedule(dynamic, 1)
      for (int64_t ch = 0; ch < n_chunks; ch++) {
        int64_t t0 = ch * tb, nt = w.tiles - t0 < tb ? w.tiles - t0 : tb, ntr = (nt + MR - 1) / MR * MR;
        for (int64_t t = 0; t < ntr; t++) {
          if (t >= nt) in_zero(&w, V, t);
          else
            for (int64_t cb = 0; cb < ncb; cb++) in_tile(&w, V, t, t0 + t, cb);
        }
        for (int xi = 0; xi < w.nxi; xi++)
          for (int64_t op = 0; op < nop; op++) gemm_xi(&w, V, M, xi, op, ntr);
        for (int64_t t = 0; t < nt; t++)
          for (int64_t kb = 0; kb < nkb; kb++) out_tile(&w, c, M, t, t0 + t, kb);
      }
    }
    return;
  }
  float *V = scratch, *M = V + w.nxi * tb * w.CP;
#pragma omp parallel
  for (int64_t ch = 0; ch < n_chunks; ch++) {
    int64_t t0 = ch * tb, nt = w.tiles - t0 < tb ? w.tiles - t0 : tb, ntr = (nt + MR - 1) / MR * MR;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < ntr * ncb; i++) {
      int64_t t = i / ncb, cb = i % ncb;
      if (t < nt) in_tile(&w, V, t, t0 + t, cb);
      else if (cb == 0) in_zero(&w, V, t);
    }
#pragma omp for schedule(static)
    for (int64_t i = 0; i < w.nxi * nop; i++) gemm_xi(&w, V, M, (int)(i / nop), i % nop, ntr);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < nt * nkb; i++) out_tile(&w, c, M, i / nkb, t0 + i / nkb, i % nkb);
  }
}

/* WL_BLOCKED or WL_NHWC when md (dims d) is in one of them, else -1. */
static int layout_of(const dnnl_memory_desc_t *md, const int64_t *d) {
  dnnl_memory_desc_t want;
  dnnl_dims_t dd = {d[0], d[1], d[2], d[3]};
  if (dnnl_memory_desc_init_by_tag(&want, 4, dd, dnnl_f32, VL == 16 ? dnnl_aBcd16b : dnnl_aBcd8b) == dnnl_success &&
      dnnl_memory_desc_equal(&want, md))
    return WL_BLOCKED;
  if (dnnl_memory_desc_init_by_tag(&want, 4, dd, dnnl_f32, dnnl_nhwc) == dnnl_success &&
      dnnl_memory_desc_equal(&want, md))
    return WL_NHWC;
  return -1;
}
#endif /* VL */

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
#ifndef VL
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
  return layout_of(src, X->dims) >= 0 && layout_of(dst, Y->dims) >= 0;
#endif
}

int mts__wino_preferred(const mts__cs_t *cs, const mts_node_t *n) {
  const char *e = getenv("MTS_WINOGRAD");
  if (e && !strcmp(e, "0")) return 0;
  /* Where Winograd is not the default it stays a version for the
   * scheduler.  On AVX-512 (twice AVX2's direct throughput), on 7x7 maps
   * F(2x2)'s U (16 C K floats: 17 MB for ResNet-50's 512 -> 512 layers)
   * streams from memory on every run and costs what the fewer
   * multiplications save: oneDNN's direct convolution stays the default
   * there (ResNet-50 and GoogLeNet both 1-3% faster, 1 thread). */
  const mts_tensor_t *X = &cs->g->tensors[n->inputs[0]], *Y = &cs->g->tensors[n->outputs[0]];
  int64_t C = X->dims[1], K = Y->dims[1], hw = Y->dims[2] * Y->dims[3];
  /* Few channels waste most of each vector and the transforms dominate
   * (bench_peak 1 thread, 3x3 convolutions, direct-equivalent GFLOP/s,
   * direct / Winograd: 3 -> 64 at 56x56 177 / 54; 24 -> 64 at 14x14 204 /
   * 140; 16 -> 32 at 28x28 199 / 210; 32 -> 32 at 28x28 193 / 241;
   * 64 -> 64 at 14x14 208 / 215, 256 -> 256 at 14x14 216 / 374). */
  if (VL_ISA == 16) return hw >= 64 && C >= 32 && K >= 32 && (hw > 196 || C * K >= 128 * 128);
  return 1;
}

int mts__wino_add(mts__cs_t *cs, const mts_node_t *n, const dnnl_memory_desc_t *src, int sk, int sid,
                  const dnnl_memory_desc_t *dst, int yb, char *impl, size_t impl_n) {
#ifndef VL
  (void)cs;
  (void)n;
  (void)src;
  (void)sk;
  (void)sid;
  (void)dst;
  (void)yb;
  (void)impl;
  (void)impl_n;
  return mts_seterr(MTS_EUNSUPPORTED, "Winograd convolution needs AVX2 or AVX-512");
#else
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Wt = &g->tensors[n->inputs[1]], *Y = &g->tensors[n->outputs[0]];
  const float *wsrc = Wt->data, *bsrc = n->n_inputs > 2 && n->inputs[2] >= 0 ? g->tensors[n->inputs[2]].data : NULL;
  int64_t C = X->dims[1], K = Y->dims[1], CP = (C + VL - 1) / VL * VL, KP = (K + VL - 1) / VL * VL;
  int64_t OH = Y->dims[2], OW = Y->dims[3];
  int xl = layout_of(src, X->dims), yl = layout_of(dst, Y->dims);
  if (xl < 0 || yl < 0) return mts_seterr(MTS_EUNSUPPORTED, "layer '%s': no Winograd for these layouts", n->name);
  /* F(4x4, 3x3) does 4x fewer multiplications, F(2x2, 3x3) 2.25x, but its
   * U has 16 points instead of 36: on small maps with many channels (7x7x512
   * in ResNet-50: 4 tiles of 4x4 and a 38 MB U to stream) U's traffic
   * decides, and F(2x2) is the faster one.  On AVX-512, whose direct
   * convolution is twice as fast, that holds up to 14x14 (ResNet-50's
   * 14x14x256 layers: 9.4 MB of U per run with F(4x4)). */
  int mt = OH * OW <= F2_MAX_HW ? 2 : 4, nxi = (mt + 2) * (mt + 2);
  int64_t tiles = X->dims[0] * ((OH + mt - 1) / mt) * ((OW + mt - 1) / mt);
  snprintf(impl, impl_n, "winograd_f%dx%d_%s", mt, mt, WINO_ISA);
  int max_threads = 1;
  for (int i = 0; i < cs->m->n_cc; i++)
    if (cs->m->cc[i] > max_threads) max_threads = cs->m->cc[i];
  /* Tiles per chunk.  A chunk reads all of U (36 C K floats) once and
   * its V and M (36 tb (C + K)); tb near C K / (C + K) keeps U from
   * dominating the traffic (ResNet-50's 14x14x256 layers in chunks of 6
   * tiles ran 0.75x the direct convolution's time, one chunk of 18 tiles
   * does better), but not past the tiles there are. */
  int64_t tb = (CP * KP / (CP + KP) + MR - 1) / MR * MR, all = (tiles + MR - 1) / MR * MR;
  if (tb > all) tb = all;
  if (tb < MR) tb = MR;
  /* U: [xi][KP / VL][CP][VL] */
  size_t un = (size_t)nxi * (size_t)CP * (size_t)KP;
  float *u = mts__aligned(un * sizeof(float)), *bias = mts__aligned((size_t)KP * sizeof(float));
  if (!u || !bias) {
    free(u);
    free(bias);
    return mts_seterr(MTS_ENOMEM, "layer '%s': Winograd weights (%zu floats)", n->name, un);
  }
  memset(u, 0, un * sizeof(float));
  memset(bias, 0, (size_t)KP * sizeof(float));
  for (int64_t k = 0; k < K; k++) {
    if (bsrc) bias[k] = bsrc[k];
    for (int64_t ci = 0; ci < C; ci++) {
      double t[XI];
      weight_transform(wsrc + (k * C + ci) * 9, mt, t);
      for (int xi = 0; xi < nxi; xi++)
        u[(((size_t)xi * (size_t)(KP / VL) + (size_t)(k / VL)) * (size_t)CP + (size_t)ci) * VL + (size_t)(k % VL)] =
            (float)t[xi];
    }
  }
  dnnl_memory_desc_t umd, bmd, smd;
  dnnl_dims_t ud = {(dnnl_dim_t)un}, bd = {KP}, sd = {(dnnl_dim_t)max_threads * nxi * tb * (CP + KP)};
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
  int64_t d0[4] = {X->dims[0], C, X->dims[2], X->dims[3]}, d1[4] = {Y->dims[0], K, OH, OW},
          d2[4] = {n->attr.pad[0], n->attr.pad[1], tb, mt}, d3[4] = {xl, yl, CP, KP};
  c->ndim[0] = c->ndim[1] = c->ndim[2] = c->ndim[3] = 4;
  memcpy(c->dims[0], d0, sizeof d0);
  memcpy(c->dims[1], d1, sizeof d1);
  memcpy(c->dims[2], d2, sizeof d2);
  memcpy(c->dims[3], d3, sizeof d3);
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
