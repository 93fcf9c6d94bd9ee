/* exec.c — the executor's driver (see exec.h and the DESIGN note in
 * exec_int.h): compile (optimise, build every layer's steps through
 * exec_ops.c / exec_cops.c, plan the activation arena by liveness), query
 * contexts, and running a layer range.
 *
 * The hot path (mts_model_run) does no allocation and creates nothing: each
 * context pre-creates one dnnl_memory_t per step argument pointing into its
 * arena, and the execute-argument arrays with them. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <dnnl_debug.h>

#include "runtime/exec_int.h"
#include "runtime/graph_int.h"
#include "runtime/mts.h"

const char *mts__dnnl_str(dnnl_status_t st) { return dnnl_status2str(st); }

void mts__set_threads(int k) { omp_set_num_threads(k); }

void mts__plain_md(dnnl_memory_desc_t *md, int ndim, const int64_t *dims) {
  static const dnnl_format_tag_t tags[] = {dnnl_a, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd,
                                           dnnl_abcde, dnnl_abcdef, dnnl_abcdefg,
                                           dnnl_abcdefgh};
  dnnl_dims_t d;
  int64_t one = 1;
  if (ndim == 0) {
    ndim = 1;
    dims = &one;
  }
  for (int i = 0; i < ndim; i++) d[i] = dims[i];
  dnnl_memory_desc_init_by_tag(md, ndim, d, dnnl_f32, tags[ndim]);
}

int mts__is_plain(const dnnl_memory_desc_t *md) {
  dnnl_memory_desc_t p;
  int64_t dims[DNNL_MAX_NDIMS];
  for (int i = 0; i < md->ndims; i++) dims[i] = md->dims[i];
  mts__plain_md(&p, md->ndims, dims);
  return dnnl_memory_desc_equal(&p, md);
}

int mts__new_buf(mts__cs_t *cs, const dnnl_memory_desc_t *md) {
  mts_model_t *m = cs->m;
  if (m->n_bufs == m->cap_bufs) {
    m->cap_bufs = m->cap_bufs ? 2 * m->cap_bufs : 64;
    m->bufs = mts_xrealloc(m->bufs, (size_t)m->cap_bufs * sizeof *m->bufs);
  }
  mts__buf_t *b = &m->bufs[m->n_bufs];
  memset(b, 0, sizeof *b);
  b->size = dnnl_memory_desc_get_size(md);
  b->first = cs->node;
  b->last = cs->node;
  b->last_use = cs->node;
  return m->n_bufs++;
}

void *mts__aligned(size_t n) {
  /* (Not on transparent huge pages: on these VMs a DAMON "pageout" scheme
   * runs, and with the weights and arenas on huge pages the blocks of a
   * live serve ran 3x their solo time at p90, against 1.2-1.3x on 4 KiB
   * pages: measured on the demo, 20 s, mts.) */
  void *p = NULL;
  n = n ? (n + 63) / 64 * 64 : 64;
  if (n < ((size_t)1 << 20)) return posix_memalign(&p, 64, n) ? NULL : p;
  /* Large blocks are faulted in by one call: in these VMs each 4 KiB page
   * fault is an exception the hypervisor sees, and first touches of the
   * weights (one copy per version's layout) were a third of ResNet-50's
   * load time.  (Advice only: older kernels refuse it, then pages fault
   * in as usual.) */
  size_t pg = 4096, len = (n + pg - 1) / pg * pg;
  if (posix_memalign(&p, pg, len)) return NULL;
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  (void)madvise(p, len, MADV_POPULATE_WRITE);
  return p;
}
#define aligned mts__aligned

int mts__new_const(mts__cs_t *cs, const dnnl_memory_desc_t *md, void *data) {
  mts_model_t *m = cs->m;
  if (m->n_consts == m->cap_consts) {
    m->cap_consts = m->cap_consts ? 2 * m->cap_consts : 64;
    m->consts = mts_xrealloc(m->consts, (size_t)m->cap_consts * sizeof *m->consts);
  }
  mts__const_t *c = &m->consts[m->n_consts];
  memset(c, 0, sizeof *c);
  c->md = *md;
  c->data = data;
  if (md->data_type == dnnl_f32 &&
      dnnl_memory_create(&c->mem, md, m->eng, data) != dnnl_success) {
    free(data);
    return mts_seterr(MTS_EDNNL, "constant memory for layer %d", cs->node);
  }
  return m->n_consts++;
}

mts__step_t *mts__add_step(mts__cs_t *cs, int kind) {
  mts_model_t *m = cs->m;
  if (m->n_steps == m->cap_steps) {
    m->cap_steps = m->cap_steps ? 2 * m->cap_steps : 64;
    m->steps = mts_xrealloc(m->steps, (size_t)m->cap_steps * sizeof *m->steps);
  }
  mts__step_t *s = &m->steps[m->n_steps++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  return s;
}

void mts__step_arg(mts__step_t *s, int arg, const dnnl_memory_desc_t *md, int kind, int id) {
  MTS_ASSERT(s->n_args < MTS__MAX_STEP_ARGS);
  mts__arg_t *a = &s->args[s->n_args++];
  a->arg = arg;
  a->md = *md;
  a->kind = kind;
  a->id = id;
}

static int tensor_const(mts__cs_t *cs, int t) {
  if (cs->tconst[t] >= 0) return cs->tconst[t];
  const mts_tensor_t *T = &cs->g->tensors[t];
  size_t bytes = (size_t)mts_tensor_numel(T) * mts_dtype_size(T->dtype);
  void *data = aligned(bytes);
  if (!data) return mts_seterr(MTS_ENOMEM, "constant '%s' (%zu bytes)", T->name, bytes);
  memcpy(data, T->data, bytes);
  dnnl_memory_desc_t md;
  mts__plain_md(&md, T->ndim, T->dims);
  if (T->dtype != MTS_F32) md.data_type = dnnl_data_type_undef;
  int c = mts__new_const(cs, &md, data);
  if (c >= 0) cs->tconst[t] = c;
  return c;
}

int mts__tensor_ref(mts__cs_t *cs, int t, int *kind, int *id, dnnl_memory_desc_t *md) {
  const mts_tensor_t *T = &cs->g->tensors[t];
  if (T->data) {
    int c = tensor_const(cs, t);
    if (c < 0) return c;
    *kind = MTS__REF_CONST;
    *id = c;
    *md = cs->m->consts[c].md;
    return 0;
  }
  if (cs->tbuf[t] < 0)
    return mts_seterr(MTS_ETOPO, "layer '%s': input '%s' is not computed before it",
                      cs->g->nodes[cs->node].name, T->name);
  mts__buf_t *b = &cs->m->bufs[cs->tbuf[t]];
  if (b->last < cs->node) b->last = cs->node;
  *kind = MTS__REF_BUF;
  *id = cs->tbuf[t];
  *md = cs->tmd[t];
  return 0;
}

int mts__tensor_plain(mts__cs_t *cs, int t, int *kind, int *id, dnnl_memory_desc_t *md) {
  int rc = mts__tensor_ref(cs, t, kind, id, md);
  if (rc || *kind == MTS__REF_CONST || mts__is_plain(md)) return rc;
  dnnl_memory_desc_t p;
  const mts_tensor_t *T = &cs->g->tensors[t];
  mts__plain_md(&p, T->ndim, T->dims);
  int tb = mts__new_buf(cs, &p);
  rc = mts__add_reorder(cs, md, *kind, *id, &p, MTS__REF_BUF, tb);
  if (rc) return rc;
  *kind = MTS__REF_BUF;
  *id = tb;
  *md = p;
  return 0;
}

int mts__is_ref(const_dnnl_primitive_desc_t pd) {
  const char *info = NULL;
  if (pd) dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info);
  return !info || !strncmp(info, "ref", 3);
}

/* The first implementation, in oneDNN's order, that is not a reference one
 * (NULL when there is none).  Memory descriptors fixed by the first core
 * count (weights reordered once, for its implementation) can rule out that
 * implementation at another thread count: oneDNN 2.6's brgemm convolution
 * blocks weights per thread count, and dnnl_primitive_desc_create then
 * returns its reference convolution (see conv_fix_layouts, exec_conv.c). */
static dnnl_primitive_desc_t pd_first_non_ref(mts__cs_t *cs, const void *desc, const_dnnl_primitive_attr_t attr) {
  dnnl_primitive_desc_iterator_t it = NULL;
  dnnl_primitive_desc_t got = NULL;
  if (dnnl_primitive_desc_iterator_create(&it, desc, attr, cs->m->eng, NULL) != dnnl_success) return NULL;
  do {
    dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
    if (!pd) break;
    if (!mts__is_ref(pd)) {
      got = pd;
      break;
    }
    dnnl_primitive_desc_destroy(pd);
  } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
  dnnl_primitive_desc_iterator_destroy(it);
  return got;
}

int mts__fast_at_all_cc(mts__cs_t *cs, const void *desc, const_dnnl_primitive_attr_t attr) {
  int ok = 1;
  for (int c = 1; c < cs->m->n_cc && ok; c++) {
    mts__set_threads(cs->m->cc[c]);
    dnnl_primitive_desc_t pd = pd_first_non_ref(cs, desc, attr);
    ok = pd != NULL;
    if (pd) dnnl_primitive_desc_destroy(pd);
  }
  mts__set_threads(cs->m->cc[0]);
  return ok;
}

int mts__make_prims(mts__cs_t *cs, mts__step_t *s, const void *desc,
                    const_dnnl_primitive_attr_t attr, dnnl_primitive_desc_t pd0) {
  mts_model_t *m = cs->m;
  const char *lname = cs->g->nodes[cs->node].name;
  int rc = 0;
  dnnl_primitive_desc_t pd = pd0;
  int ref0 = mts__is_ref(pd0);
  for (int c = 0; c < m->n_cc; c++) {
    mts__set_threads(m->cc[c]);
    if (c > 0) {
      if (s->remake == MTS__REMAKE_CONCAT) {
        dnnl_memory_desc_t srcs[MTS__MAX_STEP_ARGS];
        int n = s->n_args - 1;
        for (int i = 0; i < n; i++) srcs[i] = s->args[i].md;
        MTS__DNNL(dnnl_concat_primitive_desc_create(&pd, &s->args[n].md, n, s->axis, srcs, NULL,
                                                    m->eng), lname);
      } else if (s->remake == MTS__REMAKE_REORDER) {
        MTS__DNNL(dnnl_reorder_primitive_desc_create(&pd, &s->args[0].md, m->eng,
                                                     &s->args[1].md, m->eng, NULL), lname);
      } else if (s->impl[0]) { /* a version: the same implementation, else the first fast one */
        if (mts__pd_for_impl(cs, desc, attr, s->impl, &pd) != 0) {
          if (!(pd = pd_first_non_ref(cs, desc, attr))) {
            rc = mts_seterr(MTS_EUNSUPPORTED, "layer '%s': implementation %s not available at %d cores", lname,
                            s->impl, m->cc[c]);
            goto out;
          }
          mts_clearerr();
        }
      } else {
        MTS__DNNL(dnnl_primitive_desc_create(&pd, desc, attr, m->eng, NULL), lname);
        dnnl_primitive_desc_t fast = !ref0 && mts__is_ref(pd) ? pd_first_non_ref(cs, desc, attr) : NULL;
        if (fast) {
          dnnl_primitive_desc_destroy(pd);
          pd = fast;
        }
      }
    }
    dnnl_status_t st = dnnl_primitive_create(&s->prim[c], pd);
    dnnl_primitive_desc_destroy(pd);
    pd = NULL;
    if (st != dnnl_success) {
      rc = mts_seterr(MTS_EDNNL, "layer '%s': creating primitive for %d cores: %s", lname,
                      m->cc[c], mts__dnnl_str(st));
      goto out;
    }
  }
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  mts__set_threads(m->cc[0]);
  return rc;
}

int mts__pd_for_impl(mts__cs_t *cs, const void *desc, const_dnnl_primitive_attr_t attr,
                     const char *impl, dnnl_primitive_desc_t *out) {
  dnnl_primitive_desc_iterator_t it = NULL;
  const char *lname = cs->g->nodes[cs->node].name;
  int rc = 0;
  *out = NULL;
  MTS__DNNL(dnnl_primitive_desc_iterator_create(&it, desc, attr, cs->m->eng, NULL), lname);
  do {
    dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
    const char *info = NULL;
    if (!pd) break;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info);
    if (info && !strcmp(info, impl)) {
      *out = pd;
      goto out;
    }
    dnnl_primitive_desc_destroy(pd);
  } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
  rc = mts_seterr(MTS_EUNSUPPORTED, "layer '%s': implementation %s not available", lname, impl);
out:
  if (it) dnnl_primitive_desc_iterator_destroy(it);
  return rc;
}

void mts__drop_steps(mts__cs_t *cs, int from) {
  mts_model_t *m = cs->m;
  for (int i = from; i < m->n_steps; i++)
    for (int c = 0; c < m->n_cc; c++)
      if (m->steps[i].prim[c]) dnnl_primitive_destroy(m->steps[i].prim[c]);
  m->n_steps = from;
}

int mts__add_reorder(mts__cs_t *cs, const dnnl_memory_desc_t *smd, int skind, int sid,
                     const dnnl_memory_desc_t *dmd, int dkind, int did) {
  mts_model_t *m = cs->m;
  int rc = 0;
  dnnl_primitive_desc_t pd = NULL;
  const char *lname = cs->g->nodes[cs->node].name;
  mts__set_threads(m->cc[0]);
  MTS__DNNL(dnnl_reorder_primitive_desc_create(&pd, smd, m->eng, dmd, m->eng, NULL), lname);
  mts__step_t *s = mts__add_step(cs, MTS__STEP_PRIM);
  mts__step_arg(s, DNNL_ARG_FROM, smd, skind, sid);
  mts__step_arg(s, DNNL_ARG_TO, dmd, dkind, did);
  s->remake = MTS__REMAKE_REORDER;
  rc = mts__make_prims(cs, s, NULL, NULL, pd);
  pd = NULL;
out:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return rc;
}

int mts__set_output(mts__cs_t *cs, int t, const dnnl_memory_desc_t *md) {
  cs->tmd[t] = *md;
  cs->thas_md[t] = 1;
  cs->tbuf[t] = mts__new_buf(cs, md);
  cs->m->bufs[cs->tbuf[t]].last_use = cs->last_use[t];
  return cs->tbuf[t];
}

int mts__const_reordered(mts__cs_t *cs, const dnnl_memory_desc_t *umd, const void *data,
                         const dnnl_memory_desc_t *md) {
  mts_model_t *m = cs->m;
  int rc = 0;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t pr = NULL;
  dnnl_memory_t src = NULL, dst = NULL;
  const char *lname = cs->g->nodes[cs->node].name;
  size_t sz = dnnl_memory_desc_get_size(md);
  void *buf = aligned(sz);
  if (!buf) return mts_seterr(MTS_ENOMEM, "layer '%s': weights (%zu bytes)", lname, sz);
  memset(buf, 0, sz);
  MTS__DNNL(dnnl_memory_create(&src, umd, m->eng, (void *)data), lname);
  MTS__DNNL(dnnl_memory_create(&dst, md, m->eng, buf), lname);
  MTS__DNNL(dnnl_reorder_primitive_desc_create(&pd, umd, m->eng, md, m->eng, NULL), lname);
  MTS__DNNL(dnnl_primitive_create(&pr, pd), lname);
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  MTS__DNNL(dnnl_primitive_execute(pr, cs->stream, 2, args), lname);
  MTS__DNNL(dnnl_stream_wait(cs->stream), lname);
  rc = mts__new_const(cs, md, buf);
  buf = NULL;
out:
  free(buf);
  if (pr) dnnl_primitive_destroy(pr);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (src) dnnl_memory_destroy(src);
  if (dst) dnnl_memory_destroy(dst);
  return rc;
}

/* ---- arena planning ------------------------------------------------------ */

typedef struct {
  size_t off, end;
} span_t;

static int cmp_span(const void *a, const void *b) {
  const span_t *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Greedy best-fit by decreasing size: each buffer goes to the lowest offset
 * that overlaps no already-placed buffer with an overlapping lifetime. */
static void plan_arena(mts_model_t *m) {
  int n = m->n_bufs;
  int *order = mts_xcalloc((size_t)n + 1, sizeof(int));
  char *placed = mts_xcalloc((size_t)n + 1, 1);
  span_t *sp = mts_xcalloc((size_t)n + 1, sizeof *sp);
  for (int i = 0; i < n; i++) order[i] = i;
  for (int i = 1; i < n; i++) /* insertion sort, size desc (stable) */
    for (int j = i; j > 0 && m->bufs[order[j]].size > m->bufs[order[j - 1]].size; j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  /* a buffer inside another (in-place concat) is not placed itself: its
   * outermost container must be live over its whole lifetime */
  for (int i = 0; i < n; i++) {
    const mts__buf_t *c = &m->bufs[i];
    mts__buf_t *r = &m->bufs[i];
    while (r->alias) r = &m->bufs[r->alias - 1];
    if (c->first < r->first) r->first = c->first;
    if (c->last > r->last) r->last = c->last;
  }
  size_t total = 0;
  for (int oi = 0; oi < n; oi++) {
    mts__buf_t *b = &m->bufs[order[oi]];
    if (b->alias) continue;
    size_t size = (b->size + 63) / 64 * 64;
    int ns = 0;
    for (int j = 0; j < n; j++) {
      if (!placed[j] || m->bufs[j].alias) continue;
      const mts__buf_t *o = &m->bufs[j];
      if (o->last < b->first || o->first > b->last) continue;
      sp[ns].off = o->off;
      sp[ns].end = o->off + (o->size + 63) / 64 * 64;
      ns++;
    }
    qsort(sp, (size_t)ns, sizeof *sp, cmp_span);
    size_t off = 0;
    for (int k = 0; k < ns; k++) {
      if (sp[k].off >= off + size) break;
      if (sp[k].end > off) off = sp[k].end;
    }
    b->off = off;
    placed[order[oi]] = 1;
    if (off + size > total) total = off + size;
  }
  for (int i = 0; i < n; i++) {
    size_t off = 0;
    const mts__buf_t *r = &m->bufs[i];
    if (!r->alias) continue;
    for (; r->alias; r = &m->bufs[r->alias - 1]) off += r->alias_off;
    m->bufs[i].off = r->off + off;
  }
  m->arena_size = total;
  free(order);
  free(placed);
  free(sp);
}

/* ---- compile ------------------------------------------------------------- */

int mts_model_compile(mts_graph_t *g, const mts_compile_opts_t *opts, mts_model_t **out) {
  *out = NULL;
  int rc = 0;
  mts__cs_t cs;
  memset(&cs, 0, sizeof cs);
  if (!opts || opts->n_core_counts < 1 || opts->n_core_counts > MTS__MAX_CC)
    return mts_seterr(MTS_EINVAL, "compile '%s': need 1..%d core counts", g->name, MTS__MAX_CC);
  for (int i = 0; i < opts->n_core_counts; i++)
    if (opts->core_counts[i] < 1)
      return mts_seterr(MTS_EINVAL, "compile '%s': core count %d < 1", g->name,
                        opts->core_counts[i]);
  int saved_threads = omp_get_max_threads();
  /* quiet unless the user asks for oneDNN's trace explicitly */
  if (!getenv("ONEDNN_VERBOSE") && !getenv("DNNL_VERBOSE")) dnnl_set_verbose(0);
  if ((rc = mts_graph_toposort(g)) || (rc = mts__graph_optimize_exec(g))) return rc;

  mts_model_t *m = mts_xcalloc(1, sizeof *m);
  m->name = mts_xstrdup(g->name);
  m->hash = mts_graph_hash(g);
  for (int i = 0; i < opts->n_core_counts; i++) {
    int dup = 0;
    for (int j = 0; j < m->n_cc; j++) dup |= m->cc[j] == opts->core_counts[i];
    if (!dup) m->cc[m->n_cc++] = opts->core_counts[i];
  }
  int nt = g->n_tensors, nn = g->n_nodes;
  cs.m = m;
  cs.g = g;
  cs.tbuf = mts_xcalloc((size_t)nt, sizeof(int));
  cs.tmd = mts_xcalloc((size_t)nt, sizeof *cs.tmd);
  cs.thas_md = mts_xcalloc((size_t)nt, 1);
  cs.tconst = mts_xcalloc((size_t)nt, sizeof(int));
  cs.last_use = mts_xcalloc((size_t)nt, sizeof(int));
  for (int t = 0; t < nt; t++) {
    cs.tbuf[t] = -1;
    cs.tconst[t] = -1;
    cs.last_use[t] = -1;
  }
  for (int i = 0; i < nn; i++) {
    const mts_node_t *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0) cs.last_use[n->inputs[k]] = i;
    for (int k = 0; k < n->n_post; k++)
      if (n->post[k].kind == MTS_POST_SUM) cs.last_use[n->post[k].tensor] = i;
  }
  for (int i = 0; i < g->n_outputs; i++) cs.last_use[g->outputs[i]] = nn;
  if (dnnl_engine_create(&m->eng, dnnl_cpu, 0) != dnnl_success ||
      dnnl_stream_create(&cs.stream, m->eng, dnnl_stream_default_flags) != dnnl_success) {
    rc = mts_seterr(MTS_EDNNL, "compile '%s': cannot create the oneDNN CPU engine", g->name);
    goto out;
  }
  mts__set_threads(m->cc[0]);
  /* graph inputs: plain layout, live from the start, never overwritten */
  m->n_in = g->n_inputs;
  for (int i = 0; i < g->n_inputs; i++) {
    int t = g->inputs[i];
    const mts_tensor_t *T = &g->tensors[t];
    cs.node = 0;
    dnnl_memory_desc_t md;
    mts__plain_md(&md, T->ndim, T->dims);
    int b = mts__set_output(&cs, t, &md);
    m->bufs[b].pinned = 1;
    m->in[i].tensor = t;
    m->in[i].buf = b;
    m->in[i].ndim = T->ndim;
    memcpy(m->in[i].dims, T->dims, sizeof T->dims);
    m->in[i].md = md;
  }
  m->layers = mts_xcalloc((size_t)nn + 1, sizeof *m->layers);
  for (int i = 0; i < nn; i++) {
    cs.node = i;
    mts__layer_t *L = &m->layers[i];
    L->name = mts_xstrdup(g->nodes[i].name);
    L->op = g->nodes[i].op;
    L->flops = mts_node_flops(g, i);
    L->s0[0] = m->n_steps;
    m->n_layers = i + 1;
    cs.all_versions = opts->all_versions;
    rc = mts__build_layer(&cs);
    if (rc) goto out;
    if (!L->n_ver) { /* builders that make versions set these themselves */
      L->n_ver = 1;
      L->s1[0] = m->n_steps;
    }
  }
  m->n_out = g->n_outputs;
  for (int i = 0; i < g->n_outputs; i++) {
    int t = g->outputs[i];
    const mts_tensor_t *T = &g->tensors[t];
    if (cs.tbuf[t] < 0) {
      rc = mts_seterr(MTS_EUNSUPPORTED, "compile '%s': output '%s' is not computed", g->name,
                      T->name);
      goto out;
    }
    mts__io_t *o = &m->out[i];
    o->tensor = t;
    o->buf = cs.tbuf[t];
    o->ndim = T->ndim;
    memcpy(o->dims, T->dims, sizeof T->dims);
    o->md = cs.tmd[t];
    m->bufs[o->buf].last = nn;
    if (!mts__is_plain(&o->md)) {
      dnnl_memory_desc_t p;
      dnnl_primitive_desc_t pd = NULL;
      mts__plain_md(&p, T->ndim, T->dims);
      MTS__DNNL(dnnl_reorder_primitive_desc_create(&pd, &o->md, m->eng, &p, m->eng, NULL),
                T->name);
      dnnl_status_t st = dnnl_primitive_create(&o->to_plain, pd);
      dnnl_primitive_desc_destroy(pd);
      MTS__DNNL(st, T->name);
    }
  }
  /* inputs stay intact for the whole run, so that any layer range can be
   * re-run on the same context */
  for (int i = 0; i < m->n_in; i++) {
    m->bufs[m->in[i].buf].first = 0;
    m->bufs[m->in[i].buf].last = nn;
  }
  plan_arena(m);
  MTS_LOG(MTS_LOG_INFO, "compiled '%s': %d layers, %d steps, arena %.1f MiB", m->name,
          m->n_layers, m->n_steps, (double)m->arena_size / 1048576.0);
out:
  omp_set_num_threads(saved_threads);
  if (cs.stream) dnnl_stream_destroy(cs.stream);
  free(cs.tbuf);
  free(cs.tmd);
  free(cs.thas_md);
  free(cs.tconst);
  free(cs.last_use);
  if (rc) mts_model_destroy(m);
  else *out = m;
  return rc;
}

void mts_model_destroy(mts_model_t *m) {
  if (!m) return;
  for (int i = 0; i < m->n_steps; i++)
    for (int c = 0; c < m->n_cc; c++)
      if (m->steps[i].prim[c]) dnnl_primitive_destroy(m->steps[i].prim[c]);
  for (int i = 0; i < m->n_consts; i++) {
    if (m->consts[i].mem) dnnl_memory_destroy(m->consts[i].mem);
    free(m->consts[i].data);
  }
  for (int i = 0; i < m->n_out; i++)
    if (m->out[i].to_plain) dnnl_primitive_destroy(m->out[i].to_plain);
  for (int i = 0; i < m->n_layers; i++) free(m->layers[i].name);
  free(m->layers);
  free(m->steps);
  free(m->bufs);
  free(m->consts);
  if (m->eng) dnnl_engine_destroy(m->eng);
  free(m->name);
  free(m);
}

/* ---- accessors ----------------------------------------------------------- */

const char *mts_model_name(const mts_model_t *m) { return m->name; }
uint64_t mts_model_hash(const mts_model_t *m) { return m->hash; }
int mts_model_n_layers(const mts_model_t *m) { return m->n_layers; }
const char *mts_model_layer_name(const mts_model_t *m, int l) {
  return l >= 0 && l < m->n_layers ? m->layers[l].name : NULL;
}
mts_op_t mts_model_layer_op(const mts_model_t *m, int l) {
  return l >= 0 && l < m->n_layers ? m->layers[l].op : MTS_OP_COUNT;
}
double mts_model_layer_flops(const mts_model_t *m, int l) {
  return l >= 0 && l < m->n_layers ? m->layers[l].flops : 0;
}

static int cc_index(const mts_model_t *m, int ncores) {
  for (int c = 0; c < m->n_cc; c++)
    if (m->cc[c] == ncores) return c;
  return -1;
}

int mts_model_n_versions(const mts_model_t *m, int l, int ncores) {
  if (l < 0 || l >= m->n_layers || cc_index(m, ncores) < 0) return 0;
  return m->layers[l].n_ver;
}
const char *mts_model_version_name(const mts_model_t *m, int l, int v) {
  if (l < 0 || l >= m->n_layers || v < 0 || v >= m->layers[l].n_ver) return NULL;
  return m->layers[l].impl[v][0] ? m->layers[l].impl[v] : mts_op_name(m->layers[l].op);
}
size_t mts_model_arena_bytes(const mts_model_t *m) { return m->arena_size; }
size_t mts_model_weight_bytes(const mts_model_t *m) {
  size_t b = 0;
  for (int i = 0; i < m->n_consts; i++) b += dnnl_memory_desc_get_size(&m->consts[i].md);
  return b;
}
int mts_model_has_cores(const mts_model_t *m, int ncores) { return cc_index(m, ncores) >= 0; }
int mts_model_n_inputs(const mts_model_t *m) { return m->n_in; }
int mts_model_n_outputs(const mts_model_t *m) { return m->n_out; }

static int io_shape(const mts__io_t *io, int n, int i, int *ndim, int64_t *dims) {
  if (i < 0 || i >= n) return mts_seterr(MTS_EINVAL, "io index %d out of range (%d)", i, n);
  *ndim = io[i].ndim;
  memcpy(dims, io[i].dims, sizeof(int64_t) * (size_t)io[i].ndim);
  return 0;
}
int mts_model_input_shape(const mts_model_t *m, int i, int *ndim, int64_t *dims) {
  return io_shape(m->in, m->n_in, i, ndim, dims);
}
int mts_model_output_shape(const mts_model_t *m, int i, int *ndim, int64_t *dims) {
  return io_shape(m->out, m->n_out, i, ndim, dims);
}

/* ---- contexts ------------------------------------------------------------ */

int mts_ctx_create(const mts_model_t *m, mts_ctx_t **out) {
  *out = NULL;
  int rc = 0, na = 0;
  mts_ctx_t *c = mts_xcalloc(1, sizeof *c);
  c->m = m;
  c->arena = aligned(m->arena_size);
  if (!c->arena) {
    rc = mts_seterr(MTS_ENOMEM, "context for '%s': arena of %zu bytes", m->name, m->arena_size);
    goto out;
  }
  memset(c->arena, 0, m->arena_size);
  if (dnnl_stream_create(&c->stream, m->eng, dnnl_stream_default_flags) != dnnl_success) {
    rc = mts_seterr(MTS_EDNNL, "context for '%s': stream", m->name);
    goto out;
  }
  for (int s = 0; s < m->n_steps; s++) na += m->steps[s].n_args;
  c->mems = mts_xcalloc((size_t)na + 1, sizeof *c->mems);
  c->xargs = mts_xcalloc((size_t)na + 1, sizeof *c->xargs);
  c->ptrs = mts_xcalloc((size_t)na + 1, sizeof *c->ptrs);
  c->arg0 = mts_xcalloc((size_t)m->n_steps + 1, sizeof(int));
  na = 0;
  for (int s = 0; s < m->n_steps; s++) {
    const mts__step_t *st = &m->steps[s];
    c->arg0[s] = na;
    for (int k = 0; k < st->n_args; k++, na++) {
      const mts__arg_t *a = &st->args[k];
      c->xargs[na].arg = a->arg;
      if (a->kind == MTS__REF_CONST) {
        c->ptrs[na] = m->consts[a->id].data;
        c->xargs[na].memory = m->consts[a->id].mem;
        continue;
      }
      c->ptrs[na] = c->arena + m->bufs[a->id].off;
      if (st->kind == MTS__STEP_PRIM) {
        if (dnnl_memory_create(&c->mems[na], &a->md, m->eng, c->ptrs[na]) != dnnl_success) {
          rc = mts_seterr(MTS_EDNNL, "context for '%s': memory for layer step %d", m->name, s);
          goto out;
        }
        c->xargs[na].memory = c->mems[na];
      }
    }
  }
  c->arg0[m->n_steps] = na;
  *out = c;
  c = NULL;
out:
  mts_ctx_destroy(c);
  return rc;
}

void mts_ctx_destroy(mts_ctx_t *c) {
  if (!c) return;
  if (c->mems) {
    int na = c->arg0 ? c->arg0[c->m->n_steps] : 0;
    for (int i = 0; i < na; i++)
      if (c->mems[i]) dnnl_memory_destroy(c->mems[i]);
  }
  if (c->stream) dnnl_stream_destroy(c->stream);
  free(c->mems);
  free(c->xargs);
  free(c->ptrs);
  free(c->arg0);
  free(c->arena);
  free(c);
}

int mts_ctx_set_input(mts_ctx_t *c, int i, const float *data, size_t n) {
  const mts_model_t *m = c->m;
  if (i < 0 || i >= m->n_in)
    return mts_seterr(MTS_EINVAL, "model '%s': input %d out of range (%d)", m->name, i, m->n_in);
  size_t need = m->bufs[m->in[i].buf].size / sizeof(float);
  if (n != need)
    return mts_seterr(MTS_ESHAPE, "model '%s': input %d needs %zu floats, got %zu", m->name, i,
                      need, n);
  memcpy(c->arena + m->bufs[m->in[i].buf].off, data, n * sizeof(float));
  return 0;
}

int mts_ctx_get_output(mts_ctx_t *c, int i, float *buf, size_t n) {
  const mts_model_t *m = c->m;
  int rc = 0;
  if (i < 0 || i >= m->n_out)
    return mts_seterr(MTS_EINVAL, "model '%s': output %d out of range (%d)", m->name, i, m->n_out);
  const mts__io_t *o = &m->out[i];
  size_t need = 1;
  for (int d = 0; d < o->ndim; d++) need *= (size_t)o->dims[d];
  if (n < need)
    return mts_seterr(MTS_ESHAPE, "model '%s': output %d needs %zu floats, buffer has %zu",
                      m->name, i, need, n);
  void *src = c->arena + m->bufs[o->buf].off;
  if (!o->to_plain) {
    memcpy(buf, src, need * sizeof(float));
    return 0;
  }
  dnnl_memory_t ms = NULL, md = NULL;
  dnnl_memory_desc_t p;
  mts__plain_md(&p, o->ndim, o->dims);
  const char *nm = m->name;
  MTS__DNNL(dnnl_memory_create(&ms, &o->md, m->eng, src), nm);
  MTS__DNNL(dnnl_memory_create(&md, &p, m->eng, buf), nm);
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
  MTS__DNNL(dnnl_primitive_execute(o->to_plain, c->stream, 2, args), nm);
  MTS__DNNL(dnnl_stream_wait(c->stream), nm);
out:
  if (ms) dnnl_memory_destroy(ms);
  if (md) dnnl_memory_destroy(md);
  return rc;
}

/* ---- run ----------------------------------------------------------------- */

int mts_model_run(const mts_model_t *m, mts_ctx_t *c, int first, int last, int ncores,
                  int version, double *layer_us) {
  int rc = 0, prev_threads = 0;
  if (c->m != m) return mts_seterr(MTS_EINVAL, "run '%s': context belongs to another model", m->name);
  if (first < 0 || last > m->n_layers || first > last)
    return mts_seterr(MTS_EINVAL, "run '%s': layer range [%d,%d) outside [0,%d)", m->name, first,
                      last, m->n_layers);
  int ci = cc_index(m, ncores);
  if (ci < 0) {
    char list[256];
    size_t o = 0;
    list[0] = 0;
    for (int k = 0; k < m->n_cc && o < sizeof list - 16; k++)
      o += (size_t)snprintf(list + o, sizeof list - o, "%s%d", k ? "," : "", m->cc[k]);
    return mts_seterr(MTS_EINVAL, "run '%s': not compiled for %d cores (compiled for %s)",
                      m->name, ncores, list);
  }
  /* Jitted primitives keep the thread count they were created with, but
   * oneDNN's simple kernels (concat, reorders, eltwise, ...) and C loops
   * parallelise over omp_get_max_threads() at execution: pin that too. */
  prev_threads = omp_get_max_threads();
  if (prev_threads != ncores) omp_set_num_threads(ncores);
  for (int l = first; l < last; l++) {
    const mts__layer_t *L = &m->layers[l];
    int64_t t0 = layer_us ? mts_now_ns() : 0;
    int v = version >= 0 && version < L->n_ver ? version : 0;
    for (int s = L->s0[v]; s < L->s1[v]; s++) {
      const mts__step_t *st = &m->steps[s];
      int a0 = c->arg0[s];
      if (st->kind == MTS__STEP_C) {
        st->fn(st, c->ptrs + a0);
        continue;
      }
      MTS__DNNL(dnnl_primitive_execute(st->prim[ci], c->stream, st->n_args, c->xargs + a0),
                L->name);
    }
    if (layer_us) {
      MTS__DNNL(dnnl_stream_wait(c->stream), L->name);
      layer_us[l - first] = (double)(mts_now_ns() - t0) / 1000.0;
    }
  }
  MTS__DNNL(dnnl_stream_wait(c->stream), m->name);
out:
  if (prev_threads != ncores) omp_set_num_threads(prev_threads);
  return rc;
}
