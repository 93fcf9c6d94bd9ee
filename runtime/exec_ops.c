/* exec_ops.c — builds one layer's steps from an IR node with oneDNN
 * primitives: convolution, pooling, matmul (Gemm and MatMul), eltwise,
 * binary, concat, softmax, layer/batch normalisation, LRN, reduction, and
 * reorders for Reshape/Transpose.  Ops without a oneDNN primitive go to
 * exec_cops.c.
 *
 * Layout policy: Conv picks its own layouts ("any", blocked nChw16c-style
 * in practice) and the ops that can work on any layout (pooling, eltwise,
 * same-shape binary, concat, batchnorm, LRN) keep their input's layout, so
 * a CNN stays blocked from the first conv to the classifier.  Ops with
 * axis semantics on flattened data (matmul, softmax, layernorm, reduce) work
 * on plain row-major tensors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec_int.h"
#include "runtime/graph_int.h"
#include "runtime/mts.h"

static int unary_alg(int u, float a, float b, dnnl_alg_kind_t *alg, float *alpha, float *beta) {
  *alpha = 0;
  *beta = 0;
  switch (u) {
  case MTS_UNARY_RELU: *alg = dnnl_eltwise_relu; *alpha = a; return 0;
  case MTS_UNARY_CLIP: *alg = dnnl_eltwise_clip_v2; *alpha = a; *beta = b; return 0;
  case MTS_UNARY_SIGMOID: *alg = dnnl_eltwise_logistic; return 0;
  case MTS_UNARY_HARDSWISH: *alg = dnnl_eltwise_hardswish; return 0;
  case MTS_UNARY_TANH: *alg = dnnl_eltwise_tanh; return 0;
  case MTS_UNARY_GELU: *alg = dnnl_eltwise_gelu_erf; return 0;
  case MTS_UNARY_SQRT: *alg = dnnl_eltwise_sqrt; return 0;
  case MTS_UNARY_EXP: *alg = dnnl_eltwise_exp; return 0;
  case MTS_UNARY_LOG: *alg = dnnl_eltwise_log; return 0;
  case MTS_UNARY_ABS: *alg = dnnl_eltwise_abs; return 0;
  case MTS_UNARY_NEG: *alg = dnnl_eltwise_linear; *alpha = -1; return 0;
  case MTS_UNARY_RECIPROCAL: *alg = dnnl_eltwise_pow; *alpha = 1; *beta = -1; return 0;
  case MTS_UNARY_POW: *alg = dnnl_eltwise_pow; *alpha = 1; *beta = a; return 0;
  case MTS_UNARY_LINEAR: *alg = dnnl_eltwise_linear; *alpha = a; *beta = b; return 0;
  default: return -1;
  }
}

/* Post-op attribute of a node; a node with a sum post-op first gets its
 * added tensor into the destination buffer (in place when legal). */
int mts__make_attr(mts__cs_t *cs, const mts_node_t *n, dnnl_primitive_attr_t *attr,
                    float pre_alpha) {
  int rc = 0;
  dnnl_post_ops_t po = NULL;
  *attr = NULL;
  MTS__DNNL(dnnl_primitive_attr_create(attr), n->name);
  if (!n->n_post && pre_alpha == 1.0f) goto out;
  MTS__DNNL(dnnl_post_ops_create(&po), n->name);
  if (pre_alpha != 1.0f)
    MTS__DNNL(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear, pre_alpha, 0), n->name);
  for (int k = 0; k < n->n_post; k++) {
    const mts_postop_t *p = &n->post[k];
    if (p->kind == MTS_POST_SUM) {
      MTS__DNNL(dnnl_post_ops_append_sum(po, 1.0f), n->name);
      continue;
    }
    dnnl_alg_kind_t alg;
    float a, b;
    if (unary_alg(p->unary, p->alpha, p->beta, &alg, &a, &b)) {
      rc = mts_seterr(MTS_EUNSUPPORTED, "layer '%s': post-op %s is not an eltwise op", n->name,
                      mts_unary_name(p->unary));
      goto out;
    }
    MTS__DNNL(dnnl_post_ops_append_eltwise(po, 1.0f, alg, a, b), n->name);
  }
  MTS__DNNL(dnnl_primitive_attr_set_post_ops(*attr, po), n->name);
out:
  (void)cs;
  if (po) dnnl_post_ops_destroy(po);
  return rc;
}

/* Output buffer of a node that may carry a sum post-op: with a sum, the
 * added tensor must be in the destination first.  Reuses its buffer when it
 * has no later reader and the same layout; otherwise copies it in. */
int mts__bind_output(mts__cs_t *cs, const mts_node_t *n, const dnnl_memory_desc_t *dmd) {
  int y = n->outputs[0], st = -1;
  for (int k = 0; k < n->n_post; k++)
    if (n->post[k].kind == MTS_POST_SUM) st = n->post[k].tensor;
  if (st < 0) return mts__set_output(cs, y, dmd) < 0 ? MTS_ENOMEM : 0;
  const mts_tensor_t *S = &cs->g->tensors[st];
  if (!S->data && cs->tbuf[st] >= 0) {
    mts__buf_t *b = &cs->m->bufs[cs->tbuf[st]];
    if (!b->pinned && b->last_use <= cs->node && dnnl_memory_desc_equal(&cs->tmd[st], dmd)) {
      cs->tbuf[y] = cs->tbuf[st];
      cs->tmd[y] = *dmd;
      cs->thas_md[y] = 1;
      b->last_use = cs->last_use[y];
      if (b->last < cs->node) b->last = cs->node;
      return 0;
    }
  }
  int kind, id;
  dnnl_memory_desc_t smd;
  int rc = mts__tensor_ref(cs, st, &kind, &id, &smd);
  if (rc) return rc;
  int yb = mts__set_output(cs, y, dmd);
  return mts__add_reorder(cs, &smd, kind, id, dmd, MTS__REF_BUF, yb);
}

static void dims_of(dnnl_dims_t d, const mts_tensor_t *T) {
  for (int i = 0; i < T->ndim; i++) d[i] = T->dims[i];
}

static int build_pool(mts__cs_t *cs, const mts_node_t *n) {
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Y = &g->tensors[n->outputs[0]];
  int rc = 0, nsp = X->ndim - 2;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_pooling_v2_desc_t pdsc;
  dnnl_memory_desc_t smd, dst_any;
  dnnl_dims_t yd, st, k, dl, pl, pr;
  dnnl_alg_kind_t alg = dnnl_pooling_max;
  int sk, sid;
  if ((rc = mts__tensor_ref(cs, n->inputs[0], &sk, &sid, &smd))) goto out;
  if (n->op == MTS_OP_MAXPOOL && !getenv("MTS_DNNL_MAXPOOL") &&
      (rc = mts__build_maxpool8(cs, &smd, sk, sid)) != 1)
    goto out;
  rc = 0;
  dims_of(yd, Y);
  for (int s = 0; s < nsp; s++) {
    if (n->op == MTS_OP_GLOBAL_AVGPOOL) {
      k[s] = X->dims[2 + s];
      st[s] = 1;
      dl[s] = 0;
      pl[s] = pr[s] = 0;
      continue;
    }
    k[s] = n->attr.kernel[s];
    st[s] = n->attr.stride[s] ? n->attr.stride[s] : 1;
    dl[s] = (n->attr.dilation[s] ? n->attr.dilation[s] : 1) - 1;
    pl[s] = n->attr.pad[s];
    pr[s] = n->attr.pad[nsp + s];
    int64_t eff = (k[s] - 1) * (dl[s] + 1) + 1;
    /* ceil_mode: extend the end padding so that floor division gives the
     * ceil-mode output size */
    if ((X->dims[2 + s] + pl[s] + pr[s] - eff) / st[s] + 1 != Y->dims[2 + s]) {
      pr[s] = (Y->dims[2 + s] - 1) * st[s] + eff - X->dims[2 + s] - pl[s];
      /* averaging over the extended part would count it as padding: ONNX
       * and PyTorch count only the declared padding; C loop instead */
      if (n->op == MTS_OP_AVGPOOL && n->attr.count_include_pad && nsp == 2 &&
          pr[s] > n->attr.pad[nsp + s])
        return 1;
    }
  }
  if (n->op == MTS_OP_AVGPOOL)
    alg = n->attr.count_include_pad ? dnnl_pooling_avg_include_padding
                                    : dnnl_pooling_avg_exclude_padding;
  else if (n->op == MTS_OP_GLOBAL_AVGPOOL)
    alg = dnnl_pooling_avg_exclude_padding;
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&dst_any, Y->ndim, yd, dnnl_f32, dnnl_format_tag_any),
            n->name);
  MTS__DNNL(dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, alg, &smd, &dst_any,
                                              st, k, dl, pl, pr), n->name);
  MTS__DNNL(dnnl_primitive_desc_create(&pd, &pdsc, NULL, cs->m->eng, NULL), n->name);
  pdsc.dst_desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  mts__set_output(cs, n->outputs[0], &pdsc.dst_desc);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(s, DNNL_ARG_SRC, &smd, sk, sid);
  mts__step_arg(s, DNNL_ARG_DST, &pdsc.dst_desc, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  rc = mts__make_prims(cs, s, &pdsc, NULL, pd);
  pd = NULL;
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return rc;
}

/* Plain md of rank r for a tensor of lower rank (leading 1s). */
static void plain_rank(dnnl_memory_desc_t *md, int r, const mts_tensor_t *T) {
  int64_t d[MTS_MAX_DIMS];
  int lead = r - T->ndim;
  for (int i = 0; i < r; i++) d[i] = i < lead ? 1 : T->dims[i - lead];
  mts__plain_md(md, r, d);
}

/* A fully-connected layer (Gemm, or MatMul with constant weights shared by
 * every batch) as a 1x1 convolution over a 1-D "image" of M pixels in nwc
 * layout: [1, K, M] nwc is the row-major [M, K] activation itself, and the
 * output [1, N, M] nwc the row-major [M, N], so no reorder is needed.
 * oneDNN 2.6's jit_1x1 AVX2 convolution (blocked weights) beats its f32
 * gemm here: 128x768x3072 6.8 vs 7.7 ms, 8x2048x1000 0.37 vs 1.04 ms, 1x2048
 * x1000 0.16 vs 0.17 ms (1 thread).  Returns 1 when it does not apply (then
 * the matmul primitive is used). */
static int fc_as_conv(mts__cs_t *cs, const mts_node_t *n) {
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *A = &g->tensors[n->inputs[0]], *B = &g->tensors[n->inputs[1]];
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  int gemm = n->op == MTS_OP_GEMM, ct = n->n_inputs > 2 ? n->inputs[2] : -1;
  if (!B->data || B->dtype != MTS_F32 || getenv("MTS_FC_MATMUL")) return 1;
  if (gemm && (n->attr.trans_a || A->ndim != 2)) return 1;
  if (!gemm && A->ndim < 2) return 1;
  for (int i = 0; i < B->ndim - 2; i++)
    if (B->dims[i] != 1) return 1;
  int64_t N = Y->dims[Y->ndim - 1], K = A->dims[A->ndim - 1], M = mts_tensor_numel(Y) / N;
  if (gemm && n->attr.trans_b ? B->dims[1] != K : B->dims[B->ndim - 2] != K) return 1;
  if (M * K != mts_tensor_numel(A)) return 1;
  const mts_tensor_t *C = ct >= 0 ? &g->tensors[ct] : NULL;
  /* C: a bias vector along N only (a [N, 1] C would vary along M) */
  if (C && (!C->data || C->dtype != MTS_F32 || mts_tensor_numel(C) != N ||
            C->ndim < 1 || C->dims[C->ndim - 1] != N))
    return 1;

  int rc = 0, ak, aid;
  float alpha = gemm ? n->attr.alpha : 1.0f, beta = gemm ? n->attr.beta : 1.0f;
  float *wtmp = NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_convolution_desc_t cd;
  dnnl_memory_desc_t amd, smd, wu, wany, bmd, dmd, ymd;
  dnnl_dims_t sd = {1, K, M}, wd = {N, K, 1}, bd = {N}, dd = {1, N, M}, one = {1}, zero = {0};
  int tb = gemm && n->attr.trans_b;
  dnnl_dims_t ws = {tb ? K : 1, tb ? 1 : N, 1};
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&smd, 3, sd, dnnl_f32, dnnl_acb), n->name);
  MTS__DNNL(dnnl_memory_desc_init_by_strides(&wu, 3, wd, dnnl_f32, ws), n->name);
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&wany, 3, wd, dnnl_f32, dnnl_format_tag_any), n->name);
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a), n->name);
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&dmd, 3, dd, dnnl_f32, dnnl_acb), n->name);
  MTS__DNNL(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                               dnnl_convolution_direct, &smd, &wany, &bmd, &dmd,
                                               one, zero, zero), n->name);
  if ((rc = mts__make_attr(cs, n, &attr, 1.0f))) goto out;
  if (dnnl_primitive_desc_create(&pd, &cd, attr, cs->m->eng, NULL) != dnnl_success) {
    pd = NULL;
    rc = 1; /* not supported: the matmul path */
    goto out;
  }
  const char *info = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info);
  if (!info || strncmp(info, "jit", 3)) { /* only a jitted kernel is worth it */
    rc = 1;
    goto out;
  }
  /* only now: a reorder of A to plain is a step of this layer */
  if ((rc = mts__tensor_plain(cs, n->inputs[0], &ak, &aid, &amd))) goto out;
  cd.weights_desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  const float *w = B->data;
  if (alpha != 1.0f) {
    int64_t nb = mts_tensor_numel(B);
    wtmp = mts_xmalloc((size_t)nb * sizeof *wtmp);
    for (int64_t i = 0; i < nb; i++) wtmp[i] = w[i] * alpha;
    w = wtmp;
  }
  int wid = mts__const_reordered(cs, &wu, w, &cd.weights_desc);
  if (wid < 0) {
    rc = wid;
    goto out;
  }
  void *bias = NULL;
  if (posix_memalign(&bias, 64, (size_t)N * sizeof(float) + 64)) {
    rc = mts_seterr(MTS_ENOMEM, "layer '%s': bias", n->name);
    goto out;
  }
  for (int64_t i = 0; i < N; i++) ((float *)bias)[i] = C ? ((const float *)C->data)[i] * beta : 0;
  int bid = mts__new_const(cs, &bmd, bias);
  if (bid < 0) {
    rc = bid;
    goto out;
  }
  mts__plain_md(&ymd, Y->ndim, Y->dims);
  if ((rc = mts__bind_output(cs, n, &ymd))) goto out;
  mts__step_t *st = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(st, DNNL_ARG_SRC, &smd, ak, aid);
  mts__step_arg(st, DNNL_ARG_WEIGHTS, &cd.weights_desc, MTS__REF_CONST, wid);
  mts__step_arg(st, DNNL_ARG_BIAS, &bmd, MTS__REF_CONST, bid);
  mts__step_arg(st, DNNL_ARG_DST, &dmd, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  rc = mts__make_prims(cs, st, &cd, attr, pd);
  pd = NULL;
out:
  free(wtmp);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return rc;
}

/* Gemm and MatMul through the matmul primitive.  Constant B goes in as
 * weights with format "any" (reordered once); Gemm alpha and beta are folded
 * into the constants where possible. */
static int build_matmul(mts__cs_t *cs, const mts_node_t *n) {
  int r0 = fc_as_conv(cs, n);
  if (r0 != 1) return r0;
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *A = &g->tensors[n->inputs[0]], *B = &g->tensors[n->inputs[1]];
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  int ct = n->n_inputs > 2 ? n->inputs[2] : -1;
  int rc = 0, r = Y->ndim, gemm = n->op == MTS_OP_GEMM;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_matmul_desc_t md;
  dnnl_memory_desc_t amd, bmd, cmd, ymd;
  float alpha = gemm ? n->attr.alpha : 1.0f, beta = gemm ? n->attr.beta : 1.0f;
  int ak, aid, bk = 0, bid = -1, cid = -1;
  float *tmp = NULL;
  /* A constant B shared by every batch (leading dims 1), as in x[S,1,D] @
   * W[D,E] from a seq-first attention projection: one [rows, K] x [K, N]
   * product over the plain (row-major) A instead of `rows/M` small ones
   * (measured 3x on BERT's 128x1x768 @ 768x2304). */
  int collapse = !gemm && B->data && r > 2;
  for (int i = 0; i < B->ndim - 2; i++)
    if (B->dims[i] != 1) collapse = 0;
  if ((rc = mts__tensor_plain(cs, n->inputs[0], &ak, &aid, &amd))) goto out;
  int64_t K = A->dims[A->ndim - 1], N = Y->dims[r - 1];
  if (gemm) {
    dnnl_dims_t ad = {Y->dims[0], A->dims[n->attr.trans_a ? 0 : 1]};
    dnnl_dims_t as = {n->attr.trans_a ? 1 : A->dims[1], n->attr.trans_a ? A->dims[1] : 1};
    MTS__DNNL(dnnl_memory_desc_init_by_strides(&amd, 2, ad, dnnl_f32, as), n->name);
    K = amd.dims[1];
  } else if (collapse) {
    int64_t d2[2] = {mts_tensor_numel(Y) / N, K};
    mts__plain_md(&amd, 2, d2);
    r = 2;
  } else {
    plain_rank(&amd, r, A);
  }
  /* B: user layout (with transposition as strides) */
  dnnl_memory_desc_t bu;
  if (gemm || collapse) {
    dnnl_dims_t bd = {K, N};
    int tb = gemm && n->attr.trans_b;
    dnnl_dims_t bs = {tb ? 1 : N, tb ? K : 1};
    MTS__DNNL(dnnl_memory_desc_init_by_strides(&bu, 2, bd, dnnl_f32, bs), n->name);
  } else {
    plain_rank(&bu, r, B);
  }
  int bconst = B->data != NULL;
  if (bconst) {
    dnnl_dims_t bd;
    for (int i = 0; i < r; i++) bd[i] = bu.dims[i];
    /* N x K ("transposed") weights: oneDNN's f32 gemm runs clearly faster
     * with them than with the K x N layout "any" picks (measured 1.5x on
     * 128x768x3072, AVX2) */
    static const dnnl_format_tag_t tt[] = {dnnl_ba, dnnl_ba, dnnl_ba, dnnl_acb, dnnl_abdc,
                                           dnnl_abced, dnnl_abcdfe};
    MTS__DNNL(dnnl_memory_desc_init_by_tag(&bmd, r, bd, dnnl_f32, tt[r]), n->name);
    if (alpha != 1.0f) {
      int64_t nb = mts_tensor_numel(B);
      tmp = mts_xmalloc((size_t)nb * 4);
      for (int64_t i = 0; i < nb; i++) tmp[i] = ((const float *)B->data)[i] * alpha;
      alpha = 1.0f;
    }
  } else {
    if ((rc = mts__tensor_plain(cs, n->inputs[1], &bk, &bid, &bmd))) goto out;
    bmd = bu;
  }
  /* C / bias */
  int has_bias = 0, c_sum = 0;
  if (ct >= 0) {
    const mts_tensor_t *C = &g->tensors[ct];
    if (C->data && !gemm) { /* MatMul + bias (fused by the compiler's
                               optimisation): a vector along N */
      int64_t cd[MTS_MAX_DIMS];
      for (int i = 0; i < r; i++) cd[i] = i == r - 1 ? N : 1;
      if (mts_tensor_numel(C) != N) {
        rc = mts_seterr(MTS_EUNSUPPORTED, "layer '%s': MatMul bias of %lld values, N = %lld",
                        n->name, (long long)mts_tensor_numel(C), (long long)N);
        goto out;
      }
      has_bias = 1;
      mts__plain_md(&cmd, r, cd);
    } else if (C->data) {
      has_bias = 1;
      plain_rank(&cmd, 2, C);
    } else {
      c_sum = 1;
    }
    if (!C->data && (n->n_post || alpha != 1.0f || beta != 1.0f ||
                     mts_tensor_numel(C) != mts_tensor_numel(Y))) {
      rc = mts_seterr(MTS_EUNSUPPORTED,
                      "layer '%s': Gemm with a non-constant C needs alpha=beta=1, full shape",
                      n->name);
      goto out;
    }
  }
  /* ymd: the output tensor's layout; yd: the same memory as the primitive
   * sees it (2-D when collapsed) */
  dnnl_memory_desc_t yd;
  mts__plain_md(&ymd, Y->ndim, Y->dims);
  yd = ymd;
  if (collapse) {
    int64_t d2[2] = {mts_tensor_numel(Y) / N, N};
    mts__plain_md(&yd, 2, d2);
  }
  MTS__DNNL(dnnl_matmul_desc_init(&md, &amd, &bmd, has_bias ? &cmd : NULL, &yd), n->name);
  {
    mts_node_t tmpn = *n;
    if (c_sum) { /* C is added like a residual: sum post-op with C copied in */
      tmpn.n_post = 1;
      tmpn.post[0].kind = MTS_POST_SUM;
      tmpn.post[0].tensor = ct;
    }
    if ((rc = mts__make_attr(cs, &tmpn, &attr, alpha))) goto out;
    MTS__DNNL(dnnl_primitive_desc_create(&pd, &md, attr, cs->m->eng, NULL), n->name);
    if (bconst) {
      md.weights_desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
      bid = mts__const_reordered(cs, &bu, tmp ? tmp : B->data, &md.weights_desc);
      if (bid < 0) {
        rc = bid;
        goto out;
      }
      bk = MTS__REF_CONST;
      bmd = md.weights_desc;
    }
    if (has_bias) {
      const mts_tensor_t *C = &g->tensors[ct];
      int64_t nc = mts_tensor_numel(C);
      float *cb = mts_xmalloc((size_t)nc * 4 + 64);
      for (int64_t i = 0; i < nc; i++) cb[i] = ((const float *)C->data)[i] * beta;
      void *al = NULL;
      if (posix_memalign(&al, 64, (size_t)nc * 4 + 64)) {
        free(cb);
        rc = mts_seterr(MTS_ENOMEM, "layer '%s': bias", n->name);
        goto out;
      }
      memcpy(al, cb, (size_t)nc * 4);
      free(cb);
      cid = mts__new_const(cs, &cmd, al);
      if (cid < 0) {
        rc = cid;
        goto out;
      }
    }
    if ((rc = mts__bind_output(cs, &tmpn, &ymd))) goto out;
  }
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(s, DNNL_ARG_SRC, &amd, ak, aid);
  mts__step_arg(s, DNNL_ARG_WEIGHTS, &bmd, bk, bid);
  if (has_bias) mts__step_arg(s, DNNL_ARG_BIAS, &cmd, MTS__REF_CONST, cid);
  mts__step_arg(s, DNNL_ARG_DST, &yd, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  rc = mts__make_prims(cs, s, &md, attr, pd);
  pd = NULL;
out:
  free(tmp);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return rc;
}

static int build_eltwise(mts__cs_t *cs, const mts_node_t *n) {
  int rc = 0, sk, sid;
  dnnl_memory_desc_t smd;
  dnnl_eltwise_desc_t ed;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_alg_kind_t alg;
  float a, b;
  if (unary_alg(n->attr.unary, n->attr.alpha, n->attr.beta, &alg, &a, &b)) return 1;
  if ((rc = mts__tensor_ref(cs, n->inputs[0], &sk, &sid, &smd))) goto out;
  if (sk == MTS__REF_CONST) return 1;
  MTS__DNNL(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, alg, &smd, a, b), n->name);
  MTS__DNNL(dnnl_primitive_desc_create(&pd, &ed, NULL, cs->m->eng, NULL), n->name);
  mts__set_output(cs, n->outputs[0], &smd);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(s, DNNL_ARG_SRC, &smd, sk, sid);
  mts__step_arg(s, DNNL_ARG_DST, &smd, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  rc = mts__make_prims(cs, s, &ed, NULL, pd);
  pd = NULL;
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return rc;
}

/* dst := src's dims in the blocked format of `like` (one of the usual
 * channel-blocked tags); nonzero if `like` has none of them. */
static int same_tag_as(dnnl_memory_desc_t *dst, const dnnl_memory_desc_t *src,
                       const dnnl_memory_desc_t *like) {
  static const dnnl_format_tag_t tags[] = {dnnl_aBcd8b, dnnl_aBcd16b, dnnl_aBcd4b, dnnl_acdb,
                                           dnnl_aBc8b,  dnnl_aBc16b,  dnnl_aBcde8b, dnnl_aBcde16b};
  dnnl_dims_t ld, sd;
  for (int i = 0; i < like->ndims; i++) ld[i] = like->dims[i];
  for (int i = 0; i < src->ndims; i++) sd[i] = src->dims[i];
  if (src->ndims != like->ndims) return -1;
  for (size_t k = 0; k < sizeof tags / sizeof tags[0]; k++) {
    dnnl_memory_desc_t t;
    if (dnnl_memory_desc_init_by_tag(&t, like->ndims, ld, dnnl_f32, tags[k]) != dnnl_success ||
        !dnnl_memory_desc_equal(&t, like))
      continue;
    return dnnl_memory_desc_init_by_tag(dst, src->ndims, sd, dnnl_f32, tags[k]) != dnnl_success;
  }
  return -1;
}

/* Binary: same-shape operands keep the first one's layout; broadcasting
 * goes plain with the smaller operand second.  Returns 1 when a C loop must
 * do it (Pow, or a non-commutative op whose first operand broadcasts). */
static int build_binary(mts__cs_t *cs, const mts_node_t *n) {
  static const dnnl_alg_kind_t algs[] = {dnnl_binary_add, dnnl_binary_sub, dnnl_binary_mul,
                                         dnnl_binary_div, dnnl_alg_kind_undef, dnnl_binary_max,
                                         dnnl_binary_min};
  const mts_graph_t *g = cs->g;
  int bop = n->attr.binary, rc = 0;
  if ((unsigned)bop >= MTS_BINARY_COUNT || algs[bop] == dnnl_alg_kind_undef) return 1;
  int i0 = n->inputs[0], i1 = n->inputs[1];
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  int full0 = mts_tensor_numel(&g->tensors[i0]) == mts_tensor_numel(Y) && g->tensors[i0].ndim == Y->ndim;
  int full1 = mts_tensor_numel(&g->tensors[i1]) == mts_tensor_numel(Y) && g->tensors[i1].ndim == Y->ndim;
  int comm = bop == MTS_BINARY_ADD || bop == MTS_BINARY_MUL || bop == MTS_BINARY_MAX ||
             bop == MTS_BINARY_MIN;
  if (!full0) {
    if (!comm || !full1) return 1;
    int t = i0;
    i0 = i1;
    i1 = t;
  }
  if (g->tensors[i0].data) return 1; /* constant full operand: C */
  dnnl_memory_desc_t m0, m1, dmd;
  int k0, id0, k1, id1;
  dnnl_binary_desc_t bd;
  dnnl_primitive_desc_t pd = NULL;
  int same = full0 && full1;
  if (same) {
    if ((rc = mts__tensor_ref(cs, i0, &k0, &id0, &m0))) goto out;
    if ((rc = mts__tensor_ref(cs, i1, &k1, &id1, &m1))) goto out;
    dmd = m0;
  } else {
    /* A blocked full operand (a conv output times a per-channel scale or
     * gate) stays blocked when the broadcast operand can be put in the
     * same format, which oneDNN's jit kernel needs; otherwise both plain. */
    if ((rc = mts__tensor_ref(cs, i0, &k0, &id0, &m0))) goto out;
    dnnl_memory_desc_t m1p, m1b, m1a;
    plain_rank(&m1p, Y->ndim, &g->tensors[i1]);
    if (!mts__is_plain(&m0) && !same_tag_as(&m1b, &m1p, &m0)) {
      if ((rc = mts__tensor_ref(cs, i1, &k1, &id1, &m1a))) goto out;
      if (k1 == MTS__REF_CONST) {
        id1 = mts__const_reordered(cs, &m1p, cs->m->consts[id1].data, &m1b);
        if (id1 < 0) {
          rc = id1;
          goto out;
        }
      } else if (!(m1a.ndims == m1b.ndims && dnnl_memory_desc_equal(&m1a, &m1b))) {
        int tb = mts__new_buf(cs, &m1b);
        dnnl_memory_desc_t src = m1a;
        if (mts__is_plain(&m1a)) src = m1p; /* same bytes, output rank */
        if (src.ndims != m1b.ndims) goto plain;
        if ((rc = mts__add_reorder(cs, &src, k1, id1, &m1b, MTS__REF_BUF, tb))) goto out;
        k1 = MTS__REF_BUF;
        id1 = tb;
      }
      dmd = m0;
      if (dnnl_binary_desc_init(&bd, algs[bop], &m0, &m1b, &dmd) == dnnl_success &&
          dnnl_primitive_desc_create(&pd, &bd, NULL, cs->m->eng, NULL) == dnnl_success) {
        if (!mts__is_ref(pd)) {
          m1 = m1b;
          goto have_pd;
        }
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
      }
    }
  plain:
    if ((rc = mts__tensor_plain(cs, i1, &k1, &id1, &m1))) goto out;
    m1 = m1p;
    if ((rc = mts__tensor_plain(cs, i0, &k0, &id0, &m0))) goto out;
    dmd = m0;
  }
  MTS__DNNL(dnnl_binary_desc_init(&bd, algs[bop], &m0, &m1, &dmd), n->name);
  MTS__DNNL(dnnl_primitive_desc_create(&pd, &bd, NULL, cs->m->eng, NULL), n->name);
have_pd:
  mts__set_output(cs, n->outputs[0], &dmd);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(s, DNNL_ARG_SRC_0, &m0, k0, id0);
  mts__step_arg(s, DNNL_ARG_SRC_1, &m1, k1, id1);
  mts__step_arg(s, DNNL_ARG_DST, &dmd, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  rc = mts__make_prims(cs, s, &bd, NULL, pd);
  pd = NULL;
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return rc;
}

/* Concat without a copy: when every input is an activation whose buffer
 * has no reader after this node, and each input's layout is exactly its
 * slice of the output's layout (all dims before the axis 1, the same inner
 * blocks, the same strides, no padding, slice starts on a block boundary),
 * the input buffers are placed inside the output buffer (mts__buf_t.alias)
 * and their producers write the concatenated tensor directly.  The layer
 * then has no step.  Returns 1 when it does not apply. */
static int concat_inplace(mts__cs_t *cs, const mts_node_t *n, int ax, const dnnl_memory_desc_t *srcs,
                          const int *kinds, const int *ids, const dnnl_memory_desc_t *dst) {
  const dnnl_blocking_desc_t *db = &dst->format_desc.blocking;
  if (dst->format_kind != dnnl_blocked || dst->offset0 || dst->extra.flags) return 1;
  for (int d = 0; d < dst->ndims; d++)
    if (dst->padded_dims[d] != dst->dims[d] || (d < ax && dst->dims[d] != 1)) return 1;
  int64_t blk = 1;
  for (int k = 0; k < db->inner_nblks; k++)
    if (db->inner_idxs[k] == ax) blk *= db->inner_blks[k];
  size_t offs[MTS_MAX_INPUTS];
  int64_t c0 = 0;
  for (int i = 0; i < n->n_inputs; i++) {
    const dnnl_memory_desc_t *x = &srcs[i];
    const dnnl_blocking_desc_t *xb = &x->format_desc.blocking;
    if (kinds[i] != MTS__REF_BUF || x->format_kind != dnnl_blocked || x->offset0 ||
        x->extra.flags || x->ndims != dst->ndims || x->data_type != dst->data_type)
      return 1;
    const mts__buf_t *b = &cs->m->bufs[ids[i]];
    if (b->pinned || b->alias || b->last_use > cs->node ||
        b->size != dnnl_memory_desc_get_size(x))
      return 1;
    for (int j = 0; j < i; j++)
      if (ids[j] == ids[i]) return 1;
    if (xb->inner_nblks != db->inner_nblks || c0 % blk) return 1;
    for (int k = 0; k < db->inner_nblks; k++)
      if (xb->inner_idxs[k] != db->inner_idxs[k] || xb->inner_blks[k] != db->inner_blks[k])
        return 1;
    for (int d = 0; d < x->ndims; d++)
      if (x->padded_dims[d] != x->dims[d] || (x->dims[d] > 1 && xb->strides[d] != db->strides[d]))
        return 1;
    offs[i] = (size_t)(c0 / blk * db->strides[ax]) * sizeof(float);
    c0 += x->dims[ax];
  }
  int y = mts__set_output(cs, n->outputs[0], dst);
  for (int i = 0; i < n->n_inputs; i++) {
    cs->m->bufs[ids[i]].alias = y + 1;
    cs->m->bufs[ids[i]].alias_off = offs[i];
  }
  return 0;
}

static int build_concat(mts__cs_t *cs, const mts_node_t *n) {
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  int rc = 0, ax = (int)(n->attr.axis < 0 ? n->attr.axis + Y->ndim : n->attr.axis);
  dnnl_memory_desc_t srcs[MTS_MAX_INPUTS], dany;
  int kinds[MTS_MAX_INPUTS], ids[MTS_MAX_INPUTS];
  dnnl_primitive_desc_t pd = NULL;
  dnnl_dims_t yd;
  for (int i = 0; i < n->n_inputs; i++)
    if ((rc = mts__tensor_ref(cs, n->inputs[i], &kinds[i], &ids[i], &srcs[i]))) goto out;
  dims_of(yd, Y);
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&dany, Y->ndim, yd, dnnl_f32, dnnl_format_tag_any), n->name);
  MTS__DNNL(dnnl_concat_primitive_desc_create(&pd, &dany, n->n_inputs, ax, srcs, NULL, cs->m->eng),
            n->name);
  dany = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  if (!getenv("MTS_NO_INPLACE_CONCAT") && !concat_inplace(cs, n, ax, srcs, kinds, ids, &dany))
    goto out;
  mts__set_output(cs, n->outputs[0], &dany);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  s->remake = MTS__REMAKE_CONCAT;
  s->axis = ax;
  for (int i = 0; i < n->n_inputs; i++)
    mts__step_arg(s, DNNL_ARG_MULTIPLE_SRC + i, &srcs[i], kinds[i], ids[i]);
  mts__step_arg(s, DNNL_ARG_DST, &dany, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  rc = mts__make_prims(cs, s, NULL, NULL, pd);
  pd = NULL;
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return rc;
}

/* Softmax, LayerNorm and ReduceMean on plain tensors. */
static int build_plain_op(mts__cs_t *cs, const mts_node_t *n) {
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Y = &g->tensors[n->outputs[0]];
  int rc = 0, sk, sid;
  dnnl_memory_desc_t smd, dmd;
  dnnl_primitive_desc_t pd = NULL;
  union {
    dnnl_softmax_v2_desc_t sm;
    dnnl_layer_normalization_desc_t ln;
    dnnl_reduction_desc_t rd;
  } d;
  if ((rc = mts__tensor_plain(cs, n->inputs[0], &sk, &sid, &smd))) goto out;
  if (sk == MTS__REF_CONST) return 1;
  mts__plain_md(&dmd, Y->ndim, Y->dims);
  int sc = -1, sh = -1;
  dnnl_memory_desc_t vmd;
  if (n->op == MTS_OP_SOFTMAX) {
    int ax = (int)(n->attr.axis < 0 ? n->attr.axis + X->ndim : n->attr.axis);
    MTS__DNNL(dnnl_softmax_v2_forward_desc_init(&d.sm, dnnl_forward_inference,
                                                dnnl_softmax_accurate, &smd, &smd, ax), n->name);
    dmd = smd;
  } else if (n->op == MTS_OP_LAYERNORM) {
    int ax = (int)(n->attr.axis < 0 ? n->attr.axis + X->ndim : n->attr.axis);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < X->ndim; i++) {
      if (i < ax) outer *= X->dims[i];
      else inner *= X->dims[i];
    }
    int64_t d2[2] = {outer, inner};
    mts__plain_md(&smd, 2, d2);
    dmd = smd;
    mts__plain_md(&vmd, 1, &inner);
    unsigned flags = dnnl_use_scale;
    int kk;
    dnnl_memory_desc_t tmp;
    if ((rc = mts__tensor_ref(cs, n->inputs[1], &kk, &sc, &tmp))) goto out;
    if (kk != MTS__REF_CONST) {
      rc = mts_seterr(MTS_EUNSUPPORTED, "layer '%s': LayerNorm scale must be constant", n->name);
      goto out;
    }
    if (n->n_inputs > 2 && n->inputs[2] >= 0) {
      if ((rc = mts__tensor_ref(cs, n->inputs[2], &kk, &sh, &tmp))) goto out;
      if (kk != MTS__REF_CONST) {
        rc = mts_seterr(MTS_EUNSUPPORTED, "layer '%s': LayerNorm bias must be constant", n->name);
        goto out;
      }
      flags |= dnnl_use_shift;
    }
    MTS__DNNL(dnnl_layer_normalization_forward_desc_init(&d.ln, dnnl_forward_inference, &smd, NULL,
                                                         n->attr.epsilon, flags), n->name);
  } else { /* ReduceMean: keep the input's rank with 1s; same bytes as Y */
    int64_t rd[MTS_MAX_DIMS];
    int red[MTS_MAX_DIMS] = {0};
    for (int i = 0; i < n->attr.n_ints; i++)
      red[n->attr.ints[i] < 0 ? n->attr.ints[i] + X->ndim : n->attr.ints[i]] = 1;
    for (int i = 0; i < X->ndim; i++) rd[i] = (red[i] || !n->attr.n_ints) ? 1 : X->dims[i];
    mts__plain_md(&dmd, X->ndim, rd);
    MTS__DNNL(dnnl_reduction_desc_init(&d.rd, dnnl_reduction_mean, &smd, &dmd, 0, 0), n->name);
  }
  MTS__DNNL(dnnl_primitive_desc_create(&pd, &d, NULL, cs->m->eng, NULL), n->name);
  dnnl_memory_desc_t ymd;
  mts__plain_md(&ymd, Y->ndim, Y->dims);
  mts__set_output(cs, n->outputs[0], &ymd);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(s, DNNL_ARG_SRC, &smd, sk, sid);
  if (sc >= 0) mts__step_arg(s, DNNL_ARG_SCALE, &vmd, MTS__REF_CONST, sc);
  if (sh >= 0) mts__step_arg(s, DNNL_ARG_SHIFT, &vmd, MTS__REF_CONST, sh);
  mts__step_arg(s, DNNL_ARG_DST, &dmd, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  rc = mts__make_prims(cs, s, &d, NULL, pd);
  pd = NULL;
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return rc;
}

/* BatchNorm (not folded) and LRN keep the input layout. */
static int build_norm(mts__cs_t *cs, const mts_node_t *n) {
  int rc = 0, sk, sid;
  dnnl_memory_desc_t smd;
  dnnl_primitive_desc_t pd = NULL;
  union {
    dnnl_batch_normalization_desc_t bn;
    dnnl_lrn_desc_t lrn;
  } d;
  int cid[4] = {-1, -1, -1, -1};
  dnnl_memory_desc_t vmd;
  if ((rc = mts__tensor_ref(cs, n->inputs[0], &sk, &sid, &smd))) goto out;
  if (sk == MTS__REF_CONST) return 1;
  if (n->op == MTS_OP_BATCHNORM) {
    for (int i = 0; i < 4; i++) {
      int kk;
      if ((rc = mts__tensor_ref(cs, n->inputs[1 + i], &kk, &cid[i], &vmd))) goto out;
      if (kk != MTS__REF_CONST) {
        rc = mts_seterr(MTS_EUNSUPPORTED, "layer '%s': BatchNorm parameters must be constant",
                        n->name);
        goto out;
      }
    }
    mts__plain_md(&vmd, 1, &cs->g->tensors[n->inputs[0]].dims[1]);
    MTS__DNNL(dnnl_batch_normalization_forward_desc_init(
                  &d.bn, dnnl_forward_inference, &smd, n->attr.epsilon,
                  dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift), n->name);
  } else {
    MTS__DNNL(dnnl_lrn_forward_desc_init(&d.lrn, dnnl_forward_inference, dnnl_lrn_across_channels,
                                         &smd, n->attr.size, n->attr.alpha, n->attr.beta,
                                         n->attr.bias), n->name);
  }
  MTS__DNNL(dnnl_primitive_desc_create(&pd, &d, NULL, cs->m->eng, NULL), n->name);
  mts__set_output(cs, n->outputs[0], &smd);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(s, DNNL_ARG_SRC, &smd, sk, sid);
  if (n->op == MTS_OP_BATCHNORM) {
    mts__step_arg(s, DNNL_ARG_SCALE, &vmd, MTS__REF_CONST, cid[0]);
    mts__step_arg(s, DNNL_ARG_SHIFT, &vmd, MTS__REF_CONST, cid[1]);
    mts__step_arg(s, DNNL_ARG_MEAN, &vmd, MTS__REF_CONST, cid[2]);
    mts__step_arg(s, DNNL_ARG_VARIANCE, &vmd, MTS__REF_CONST, cid[3]);
  }
  mts__step_arg(s, DNNL_ARG_DST, &smd, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  rc = mts__make_prims(cs, s, &d, NULL, pd);
  pd = NULL;
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return rc;
}

/* Reshape/Identity: a plain input is shared (a view, no step); otherwise a
 * reorder to plain writes the output buffer. */
static int build_reshape(mts__cs_t *cs, const mts_node_t *n) {
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Y = &g->tensors[n->outputs[0]];
  int rc, sk, sid, y = n->outputs[0];
  dnnl_memory_desc_t smd, ymd, xp;
  if ((rc = mts__tensor_ref(cs, n->inputs[0], &sk, &sid, &smd))) return rc;
  mts__plain_md(&ymd, Y->ndim, Y->dims);
  if (sk == MTS__REF_BUF && mts__is_plain(&smd)) {
    mts__buf_t *b = &cs->m->bufs[sid];
    cs->tbuf[y] = sid;
    cs->tmd[y] = ymd;
    cs->thas_md[y] = 1;
    if (b->last_use < cs->last_use[y]) b->last_use = cs->last_use[y];
    return 0;
  }
  mts__plain_md(&xp, X->ndim, X->dims);
  int yb = mts__set_output(cs, y, &ymd);
  return mts__add_reorder(cs, &smd, sk, sid, &xp, MTS__REF_BUF, yb);
}

/* Transpose as a reorder: the source is described with the output's dims
 * and the input's strides permuted. */
static int build_transpose(mts__cs_t *cs, const mts_node_t *n) {
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *Y = &g->tensors[n->outputs[0]];
  int rc = 0, sk, sid, nd = X->ndim;
  dnnl_memory_desc_t smd, vmd, ymd;
  if ((rc = mts__tensor_plain(cs, n->inputs[0], &sk, &sid, &smd))) return rc;
  dnnl_dims_t xs, vd, vs;
  xs[nd - 1] = 1;
  for (int i = nd - 2; i >= 0; i--) xs[i] = xs[i + 1] * X->dims[i + 1];
  for (int i = 0; i < nd; i++) {
    vd[i] = Y->dims[i];
    vs[i] = xs[n->attr.ints[i]];
  }
  MTS__DNNL(dnnl_memory_desc_init_by_strides(&vmd, nd, vd, dnnl_f32, vs), n->name);
  mts__plain_md(&ymd, Y->ndim, Y->dims);
  int yb = mts__set_output(cs, n->outputs[0], &ymd);
  rc = mts__add_reorder(cs, &vmd, sk, sid, &ymd, MTS__REF_BUF, yb);
out:
  return rc;
}

int mts__build_layer(mts__cs_t *cs) {
  const mts_node_t *n = &cs->g->nodes[cs->node];
  for (int k = 0; k < n->n_outputs; k++)
    if (cs->g->tensors[n->outputs[k]].dtype != MTS_F32)
      return mts_seterr(MTS_EUNSUPPORTED, "layer '%s': output '%s' is not f32", n->name,
                        cs->g->tensors[n->outputs[k]].name);
  if (n->n_post && n->op != MTS_OP_CONV && n->op != MTS_OP_GEMM && n->op != MTS_OP_MATMUL)
    return mts_seterr(MTS_EUNSUPPORTED, "layer '%s': post-ops on %s", n->name, mts_op_name(n->op));
  int r;
  switch (n->op) {
  case MTS_OP_CONV: return mts__build_conv(cs, n);
  case MTS_OP_MAXPOOL:
  case MTS_OP_AVGPOOL:
  case MTS_OP_GLOBAL_AVGPOOL: r = build_pool(cs, n); break;
  case MTS_OP_GEMM:
  case MTS_OP_MATMUL: return build_matmul(cs, n);
  case MTS_OP_UNARY: r = build_eltwise(cs, n); break;
  case MTS_OP_BINARY: r = build_binary(cs, n); break;
  case MTS_OP_CONCAT: return build_concat(cs, n);
  case MTS_OP_SOFTMAX:
  case MTS_OP_LAYERNORM:
  case MTS_OP_REDUCE_MEAN: r = build_plain_op(cs, n); break;
  case MTS_OP_BATCHNORM:
  case MTS_OP_LRN: r = build_norm(cs, n); break;
  case MTS_OP_RESHAPE:
  case MTS_OP_IDENTITY: return build_reshape(cs, n);
  case MTS_OP_TRANSPOSE: return build_transpose(cs, n);
  default: r = 1; break;
  }
  if (r == 1) return mts__build_cop(cs);
  return r;
}
