/* exec_conv.c — convolution layers: version 0 lets oneDNN pick blocked
 * layouts ("any"); with all_versions, alternatives are added: the other
 * non-reference oneDNN implementations of the same problem, and an nhwc
 * variant.  Weights are reordered once per distinct layout and shared by
 * every core count and version that uses that layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec_int.h"
#include "runtime/mts.h"

static void dims_of(dnnl_dims_t d, const mts_tensor_t *T) {
  for (int i = 0; i < T->ndim; i++) d[i] = T->dims[i];
}

/* ---- strided 1x1 convolutions ----------------------------------------------
 * A 1x1 convolution with stride s and no padding reads every s-th pixel:
 * it is a stride-1 convolution of the subsampled input.  oneDNN 2.6's
 * brgemm 1x1 convolution runs the strided form at ~140 GFLOP/s on AVX-512
 * (ResNet-50's three downsample layers: 1.45 ms each, 1 core) against
 * ~180 for stride 1, so the input is subsampled by a reorder that reads it
 * through a strided view (the same buffer, strides multiplied by s) into a
 * dense buffer (~0.05 ms), and the convolution runs with stride 1 (1.1 ms).
 * MTS_NO_SUBSAMPLE=1 keeps the strided convolution. */
static int subsampled(const mts_graph_t *g, const mts_node_t *n, int64_t sub[2]) {
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *W = &g->tensors[n->inputs[1]];
  if (getenv("MTS_NO_SUBSAMPLE") || X->ndim != 4 || n->attr.nsp != 2 || n->attr.group > 1 || W->dims[2] != 1 ||
      W->dims[3] != 1)
    return 0;
  int any = 0;
  for (int s = 0; s < 2; s++) {
    if (n->attr.pad[s] || n->attr.pad[2 + s] || (n->attr.dilation[s] && n->attr.dilation[s] != 1)) return 0;
    sub[s] = n->attr.stride[s] ? n->attr.stride[s] : 1;
    any |= sub[s] > 1;
  }
  return any;
}

/* md, a 4-d tensor's layout, becomes the view of every sub-th pixel (the
 * output's spatial dims yd); 1 when md is no strided layout. */
static int sub_view(dnnl_memory_desc_t *md, const int64_t sub[2], const dnnl_dims_t yd) {
  dnnl_blocking_desc_t *b = &md->format_desc.blocking;
  if (md->format_kind != dnnl_blocked || md->ndims != 4 || md->offset0 || md->extra.flags) return 1;
  for (int k = 0; k < b->inner_nblks; k++)
    if (b->inner_idxs[k] >= 2) return 1;
  for (int s = 0; s < 2; s++) {
    if (md->padded_offsets[2 + s]) return 1;
    md->dims[2 + s] = md->padded_dims[2 + s] = yd[2 + s];
    b->strides[2 + s] *= sub[s];
  }
  return 0;
}

/* ---- conv versions ----------------------------------------------------------
 * Every version reads the input in the layout it is stored in and writes the
 * output in version 0's layout, so versions (and core counts) can be mixed
 * freely across layer blocks. */

static int weights_for(mts__cs_t *cs, const dnnl_memory_desc_t *want, const dnnl_memory_desc_t *umd,
                       const void *data, int wc0) {
  if (dnnl_memory_desc_equal(want, &cs->m->consts[wc0].md)) return wc0;
  for (int i = 0; i < cs->m->n_consts; i++) /* another version's copy */
    if (cs->m->consts[i].data && dnnl_memory_desc_equal(want, &cs->m->consts[i].md) && i > wc0)
      return i;
  return mts__const_reordered(cs, umd, data, want);
}

/* Re-creates version 0's reorder steps (input to the conv's layout, the
 * summed tensor into the destination) for another version. */
static int copy_pre_steps(mts__cs_t *cs) {
  const mts__layer_t *L = &cs->m->layers[cs->node];
  for (int i = L->s0[0]; i < L->s1[0] - 1; i++) {
    mts__step_t st = cs->m->steps[i]; /* copy: the array may move */
    int rc = mts__add_reorder(cs, &st.args[0].md, st.args[0].kind, st.args[0].id,
                              &st.args[1].md, st.args[1].kind, st.args[1].id);
    if (rc) return rc;
  }
  return 0;
}

static int finish_version(mts__cs_t *cs, int from, int rc, const char *impl) {
  mts__layer_t *L = &cs->m->layers[cs->node];
  if (rc) {
    MTS_LOG(MTS_LOG_DEBUG, "layer '%s': version %s dropped: %s", L->name, impl, mts_errmsg());
    mts__drop_steps(cs, from);
    return rc;
  }
  L->s0[L->n_ver] = from;
  L->s1[L->n_ver] = cs->m->n_steps;
  snprintf(L->impl[L->n_ver], sizeof L->impl[0], "%s", impl);
  L->n_ver++;
  return 0;
}

/* cd with the src, weights and dst layouts pd chose. */
static dnnl_convolution_desc_t with_layouts(const dnnl_convolution_desc_t *cd, const_dnnl_primitive_desc_t pd) {
  dnnl_convolution_desc_t f = *cd;
  f.src_desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
  f.weights_desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  f.dst_desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  return f;
}

/* Fixes a version's layouts from pd (made at the first core count):
 * the first implementation, in oneDNN's order, whose layouts also have a
 * fast (non-reference) implementation at every other core count.  Weights
 * are reordered once, for one layout, and oneDNN 2.6's brgemm convolution
 * blocks them differently per thread count (GoogLeNet's 528 -> 256 1x1
 * layer: by 32 on one thread; on two only its reference convolution took
 * that layout, 0.3-0.5 s instead of 0.3 ms). */
static void conv_fix_layouts(mts__cs_t *cs, dnnl_convolution_desc_t *cd, const_dnnl_primitive_attr_t attr,
                             dnnl_primitive_desc_t *pd) {
  dnnl_convolution_desc_t any = *cd, f = with_layouts(cd, *pd);
  dnnl_primitive_desc_iterator_t it = NULL;
  if (cs->m->n_cc > 1 && !mts__fast_at_all_cc(cs, &f, attr) &&
      dnnl_primitive_desc_iterator_create(&it, &any, attr, cs->m->eng, NULL) == dnnl_success) {
    do {
      dnnl_primitive_desc_t c = dnnl_primitive_desc_iterator_fetch(it);
      if (!c) break;
      dnnl_convolution_desc_t g = with_layouts(&any, c);
      if (!mts__is_ref(c) && mts__fast_at_all_cc(cs, &g, attr)) {
        dnnl_primitive_desc_destroy(*pd);
        *pd = c;
        f = g;
        break;
      }
      dnnl_primitive_desc_destroy(c);
    } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
    dnnl_primitive_desc_iterator_destroy(it);
  }
  *cd = f;
}

/* Other oneDNN implementations of the same convolution (same input and
 * output layouts, weights in whatever layout each wants); "ref" ones are
 * too slow to be worth a version. */
static void conv_alt_impls(mts__cs_t *cs, const mts_node_t *n, const dnnl_convolution_desc_t *cd0,
                           const_dnnl_primitive_attr_t attr, const dnnl_memory_desc_t *w_user,
                           const void *wdata, int wc0) {
  (void)n;
  mts__layer_t *L = &cs->m->layers[cs->node];
  const mts__step_t v0 = cs->m->steps[L->s1[0] - 1];
  dnnl_convolution_desc_t cd = *cd0;
  dnnl_primitive_desc_iterator_t it = NULL;
  dnnl_dims_t wd;
  for (int i = 0; i < cd.weights_desc.ndims; i++) wd[i] = cd.weights_desc.dims[i];
  dnnl_memory_desc_init_by_tag(&cd.weights_desc, cd0->weights_desc.ndims, wd, dnnl_f32,
                               dnnl_format_tag_any);
  mts__set_threads(cs->m->cc[0]);
  if (dnnl_primitive_desc_iterator_create(&it, &cd, attr, cs->m->eng, NULL) != dnnl_success) return;
  do {
    if (L->n_ver >= MTS__MAX_VER - 1) break; /* leave room for nhwc */
    dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
    const char *info = NULL;
    if (!pd) break;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info);
    int seen = mts__is_ref(pd);
    for (int v = 0; v < L->n_ver && !seen; v++) seen = !strcmp(L->impl[v], info);
    if (seen) {
      dnnl_primitive_desc_destroy(pd);
      continue;
    }
    char impl[48];
    snprintf(impl, sizeof impl, "%s", info);
    dnnl_convolution_desc_t vd = cd;
    vd.weights_desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    int from = cs->m->n_steps, rc = copy_pre_steps(cs);
    int wc = rc ? -1 : weights_for(cs, &vd.weights_desc, w_user, wdata, wc0);
    if (!rc && wc < 0) rc = wc;
    if (!rc) {
      mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
      for (int a = 0; a < v0.n_args; a++) {
        const mts__arg_t *g = &v0.args[a];
        if (g->arg == DNNL_ARG_WEIGHTS) mts__step_arg(s, g->arg, &vd.weights_desc, MTS__REF_CONST, wc);
        else mts__step_arg(s, g->arg, &g->md, g->kind, g->id);
      }
      snprintf(s->impl, sizeof s->impl, "%s", impl);
      rc = mts__make_prims(cs, s, &vd, attr, pd);
      pd = NULL;
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    finish_version(cs, from, rc, impl);
  } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
  dnnl_primitive_desc_iterator_destroy(it);
}

/* The same convolution computed in nhwc: reorders in and out of the layer
 * keep the boundary layouts of version 0. */
static void conv_nhwc(mts__cs_t *cs, const mts_node_t *n, const dnnl_convolution_desc_t *cd0,
                      const_dnnl_primitive_attr_t attr, const dnnl_memory_desc_t *w_user,
                      const void *wdata, int wc0) {
  mts__layer_t *L = &cs->m->layers[cs->node];
  const mts__step_t v0 = cs->m->steps[L->s1[0] - 1];
  dnnl_convolution_desc_t cd = *cd0;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_dims_t d;
  int rc = 0, from = cs->m->n_steps, st = -1;
  const char *lname = n->name;
  if (L->n_ver >= MTS__MAX_VER) return;
  for (int i = 0; i < 4; i++) d[i] = cd0->src_desc.dims[i];
  dnnl_memory_desc_init_by_tag(&cd.src_desc, 4, d, dnnl_f32, dnnl_nhwc);
  for (int i = 0; i < 4; i++) d[i] = cd0->dst_desc.dims[i];
  dnnl_memory_desc_init_by_tag(&cd.dst_desc, 4, d, dnnl_f32, dnnl_nhwc);
  if (dnnl_memory_desc_equal(&cd.src_desc, &cd0->src_desc) ||
      dnnl_memory_desc_equal(&cd.dst_desc, &cd0->dst_desc))
    return; /* version 0 is nhwc already */
  for (int i = 0; i < cd.weights_desc.ndims; i++) d[i] = cd0->weights_desc.dims[i];
  dnnl_memory_desc_init_by_tag(&cd.weights_desc, cd0->weights_desc.ndims, d, dnnl_f32,
                               dnnl_format_tag_any);
  mts__set_threads(cs->m->cc[0]);
  MTS__DNNL(dnnl_primitive_desc_create(&pd, &cd, attr, cs->m->eng, NULL), lname);
  conv_fix_layouts(cs, &cd, attr, &pd);
  int wc = weights_for(cs, &cd.weights_desc, w_user, wdata, wc0);
  if (wc < 0) {
    rc = wc;
    goto out;
  }
  int xk, xid, yb = cs->tbuf[n->outputs[0]];
  dnnl_memory_desc_t xmd;
  if ((rc = mts__tensor_ref(cs, n->inputs[0], &xk, &xid, &xmd))) goto out;
  int64_t sub[2];
  if (subsampled(cs->g, n, sub) && sub_view(&xmd, sub, cd.src_desc.dims)) {
    rc = mts_seterr(MTS_EUNSUPPORTED, "layer '%s': no strided view of its input", lname);
    goto out;
  }
  int ta = mts__new_buf(cs, &cd.src_desc), tb = mts__new_buf(cs, &cd.dst_desc);
  if ((rc = mts__add_reorder(cs, &xmd, xk, xid, &cd.src_desc, MTS__REF_BUF, ta))) goto out;
  for (int k = 0; k < n->n_post; k++)
    if (n->post[k].kind == MTS_POST_SUM) st = n->post[k].tensor;
  if (st >= 0) {
    int sk, sid;
    dnnl_memory_desc_t smd;
    if ((rc = mts__tensor_ref(cs, st, &sk, &sid, &smd))) goto out;
    if ((rc = mts__add_reorder(cs, &smd, sk, sid, &cd.dst_desc, MTS__REF_BUF, tb))) goto out;
  }
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  for (int a = 0; a < v0.n_args; a++) {
    const mts__arg_t *g = &v0.args[a];
    if (g->arg == DNNL_ARG_WEIGHTS) mts__step_arg(s, g->arg, &cd.weights_desc, MTS__REF_CONST, wc);
    else if (g->arg == DNNL_ARG_SRC) mts__step_arg(s, g->arg, &cd.src_desc, MTS__REF_BUF, ta);
    else if (g->arg == DNNL_ARG_DST) mts__step_arg(s, g->arg, &cd.dst_desc, MTS__REF_BUF, tb);
    else mts__step_arg(s, g->arg, &g->md, g->kind, g->id);
  }
  rc = mts__make_prims(cs, s, &cd, attr, pd);
  pd = NULL;
  if (rc) goto out;
  rc = mts__add_reorder(cs, &cd.dst_desc, MTS__REF_BUF, tb, &cd0->dst_desc, MTS__REF_BUF, yb);
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  finish_version(cs, from, rc, "nhwc");
}

int mts__build_conv(mts__cs_t *cs, const mts_node_t *n) {
  const mts_graph_t *g = cs->g;
  const mts_tensor_t *X = &g->tensors[n->inputs[0]], *W = &g->tensors[n->inputs[1]];
  const mts_tensor_t *Y = &g->tensors[n->outputs[0]];
  int bt = n->n_inputs > 2 ? n->inputs[2] : -1;
  int rc = 0, nsp = n->attr.nsp, nd = X->ndim;
  int64_t grp = n->attr.group > 0 ? n->attr.group : 1;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_convolution_desc_t cd;
  dnnl_memory_desc_t src_any, w_any, b_md, dst_any, w_user;
  dnnl_dims_t xd, yd, wd, st, dl, pl, pr;
  if (!W->data || (bt >= 0 && !g->tensors[bt].data))
    return mts_seterr(MTS_EUNSUPPORTED, "layer '%s': Conv weights/bias must be constant", n->name);
  dims_of(xd, X);
  dims_of(yd, Y);
  int wnd = 0;
  if (grp > 1) wd[wnd++] = grp;
  wd[wnd++] = W->dims[0] / grp;
  for (int i = 1; i < W->ndim; i++) wd[wnd++] = W->dims[i];
  for (int s = 0; s < nsp; s++) {
    st[s] = n->attr.stride[s] ? n->attr.stride[s] : 1;
    dl[s] = (n->attr.dilation[s] ? n->attr.dilation[s] : 1) - 1;
    pl[s] = n->attr.pad[s];
    pr[s] = n->attr.pad[nsp + s];
    /* keep oneDNN's output-size equation exact */
    int64_t eff = (W->dims[2 + s] - 1) * (dl[s] + 1) + 1;
    int64_t need = (Y->dims[2 + s] - 1) * st[s] + eff - X->dims[2 + s] - pl[s];
    if ((X->dims[2 + s] + pl[s] + pr[s] - eff) / st[s] + 1 != Y->dims[2 + s]) pr[s] = need;
  }
  int64_t sub[2];
  int sk, sid, bc = -1;
  dnnl_memory_desc_t smd;
  if ((rc = mts__tensor_ref(cs, n->inputs[0], &sk, &sid, &smd))) goto out;
  if (subsampled(g, n, sub)) {
    dnnl_memory_desc_t view = smd;
    if (!sub_view(&view, sub, yd)) {
      smd = view;
      for (int s = 0; s < 2; s++) {
        xd[2 + s] = yd[2 + s];
        st[s] = 1;
        pl[s] = pr[s] = 0;
      }
    }
  }
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&src_any, nd, xd, dnnl_f32, dnnl_format_tag_any), n->name);
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&w_any, wnd, wd, dnnl_f32, dnnl_format_tag_any), n->name);
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&dst_any, nd, yd, dnnl_f32, dnnl_format_tag_any), n->name);
  dnnl_dims_t od = {W->dims[0]};
  MTS__DNNL(dnnl_memory_desc_init_by_tag(&b_md, 1, od, dnnl_f32, dnnl_a), n->name);
  {
    static const dnnl_format_tag_t plain[] = {dnnl_a, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd,
                                              dnnl_abcde, dnnl_abcdef};
    MTS__DNNL(dnnl_memory_desc_init_by_tag(&w_user, wnd, wd, dnnl_f32, plain[wnd]), n->name);
  }
  MTS__DNNL(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                                       dnnl_convolution_direct, &src_any, &w_any,
                                                       bt >= 0 ? &b_md : NULL, &dst_any, st, dl,
                                                       pl, pr), n->name);
  if ((rc = mts__make_attr(cs, n, &attr, 1.0f))) goto out;
  MTS__DNNL(dnnl_primitive_desc_create(&pd, &cd, attr, cs->m->eng, NULL), n->name);
  conv_fix_layouts(cs, &cd, attr, &pd);
  int wc = mts__const_reordered(cs, &w_user, W->data, &cd.weights_desc);
  if (wc < 0) {
    rc = wc;
    goto out;
  }
  if (!dnnl_memory_desc_equal(&smd, &cd.src_desc)) {
    int tb = mts__new_buf(cs, &cd.src_desc);
    if ((rc = mts__add_reorder(cs, &smd, sk, sid, &cd.src_desc, MTS__REF_BUF, tb))) goto out;
    sk = MTS__REF_BUF;
    sid = tb;
  }
  if (bt >= 0) {
    int bk;
    dnnl_memory_desc_t bmd;
    if ((rc = mts__tensor_ref(cs, bt, &bk, &bc, &bmd))) goto out;
  }
  if ((rc = mts__bind_output(cs, n, &cd.dst_desc))) goto out;
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(s, DNNL_ARG_SRC, &cd.src_desc, sk, sid);
  mts__step_arg(s, DNNL_ARG_WEIGHTS, &cd.weights_desc, MTS__REF_CONST, wc);
  if (bt >= 0) mts__step_arg(s, DNNL_ARG_BIAS, &b_md, MTS__REF_CONST, bc);
  mts__step_arg(s, DNNL_ARG_DST, &cd.dst_desc, MTS__REF_BUF, cs->tbuf[n->outputs[0]]);
  mts__layer_t *L = &cs->m->layers[cs->node];
  const char *info = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info);
  snprintf(L->impl[0], sizeof L->impl[0], "%s", info ? info : "?");
  rc = mts__make_prims(cs, s, &cd, attr, pd);
  pd = NULL;
  if (rc) goto out;
  L->n_ver = 1;
  L->s1[0] = cs->m->n_steps;
  /* Winograd first (alternatives stop when the version slots are full),
   * then made the default once every version has copied version 0. */
  int wv = -1; /* (without all_versions: only where it is to be the default) */
  if (mts__wino_eligible(cs, n, &cd.src_desc, &cd.dst_desc) && (cs->all_versions || mts__wino_preferred(cs, n))) {
    int from = cs->m->n_steps;
    char wimpl[48] = "winograd";
    rc = copy_pre_steps(cs);
    if (!rc) rc = mts__wino_add(cs, n, &cd.src_desc, sk, sid, &cd.dst_desc, cs->tbuf[n->outputs[0]], wimpl, sizeof wimpl);
    if (finish_version(cs, from, rc, wimpl) == 0) wv = L->n_ver - 1;
    rc = 0;
    mts_clearerr();
  }
  if (cs->all_versions) {
    conv_alt_impls(cs, n, &cd, attr, &w_user, W->data, wc);
    if (nd == 4) conv_nhwc(cs, n, &cd, attr, &w_user, W->data, wc);
    mts_clearerr();
  }
  if (wv > 0 && mts__wino_preferred(cs, n)) {
    int s0 = L->s0[0], s1 = L->s1[0];
    char impl[48];
    memcpy(impl, L->impl[0], sizeof impl);
    L->s0[0] = L->s0[wv];
    L->s1[0] = L->s1[wv];
    memcpy(L->impl[0], L->impl[wv], sizeof impl);
    L->s0[wv] = s0;
    L->s1[wv] = s1;
    memcpy(L->impl[wv], impl, sizeof impl);
  }
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return rc;
}

