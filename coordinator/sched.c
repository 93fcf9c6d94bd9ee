/* sched.c — the scheduler core (see sched.h): ready list, worker choice,
 * core map and grants, accounting of conflicts.  Policies decide order and
 * block shape; this file makes sure the decisions are legal: a core is
 * granted to at most one running block, a worker runs one block at a time,
 * and a query stays on the worker that ran its first block. */
#include "coordinator/sched.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mts.h"

typedef struct {
  int busy;            /* running a block */
  int lost;
  size_t running;      /* query index when busy */
  int n_last;          /* cores of the last grant: preferred again (no re-pin) */
  int last[MTS_SCHED_MAX_HOME];
  double raw_us;       /* uncorrected prediction of the running block */
  double solo_us;      /* its profiled solo time (no interference, no correction) */
  double x;            /* its interference exposure at dispatch: sens (k_node f_node + k_llc f_llc) */
  int version, n_cores; /* of the running block */
  int n_bound;         /* unfinished queries bound here (live contexts) */
} worker_state_t;

/* The correction factor is the median of the last CORR_WIN blocks'
 * observed/predicted times.  (An average of them, as it was, let a few
 * blocks that a shared VM slowed 3-5x move it to ~2: mts then dropped as
 * hopeless queries that would have met their targets — medium, live, load
 * 1: 9 MobileNetV2 drops in 30 s where fcfs, which drops nothing, met QoS.) */
#define CORR_WIN 31

/* The interference scale alpha multiplies the configured model's k_node and
 * k_llc: machines differ (DESIGN.md's 3990X: four GoogLeNets 1.8x slower;
 * this project's 2-vCPU VM: about 1.05x beside a busy node), and no
 * counters tell which one this is.  It is learned from completions: y =
 * observed / profiled solo time against the block's exposure x (the mean of
 * its exposure at dispatch and at completion: co-runners come and go).  The
 * last IF_WIN blocks that ran alone (x < 5% of its maximum) and the last
 * IF_WIN that ran beside others (x >= 25%) are kept apart (under greedy
 * grants few blocks share, and they must not be crowded out); with IF_MIN of
 * each, alpha = median of (y / median(y alone) - 1) / x, clamped to [0, 2].
 * Medians: a shared VM's stalled blocks (3-10x) do not move it.  Until then
 * alpha is 1. */
#define IF_WIN 31
#define IF_MIN 8
#define IF_EVERY 16

struct mts_sched {
  mts_sched_config_t cfg;
  const mts_policy_t *policy;
  mts_query_t *q;
  size_t nq;
  /* core map: owner[node * stride + core] = query index + 1, 0 when free */
  size_t *owner;
  int stride;
  worker_state_t *w;
  /* ready list (PENDING queries), unordered; sorted at each decision */
  size_t *ready;
  size_t n_ready, cap_ready;
  double **suffix;     /* per model: [(n_layers + 1) * n_cc] remaining solo time */
  size_t n_running;
  int64_t conflicts, dispatches;
  double core_busy_us;
  /* scratch for ordering */
  double *keys;
  size_t cap_keys;
  size_t *kept;
  size_t cap_kept;
  /* policy support */
  void *pstate;
  int plan_w;
  /* static partitions: allow[(t * n_nodes + node) * stride + core]; a
   * (tenant, node) pair with restricted[...] == 0 may use every core */
  unsigned char *allow, *restricted;
  int *node_busy, *node_cores;
  int busy_total, total_cores, n_avail;
  double corr, conf_rate;
  double corr_win[CORR_WIN];    /* the last CORR_WIN observed/predicted ratios (a ring) */
  int corr_n, corr_i;
  double alpha;                 /* learned interference scale (see IF_WIN) */
  double if_lo[IF_WIN];          /* observed/solo of the last blocks that ran alone */
  double if_x[IF_WIN], if_y[IF_WIN]; /* exposure and observed/solo of the last that ran beside others */
  int if_lo_n, if_lo_i, if_hi_n, if_hi_i, if_new;
  mts_interf_model_t im;
  int *grp, *grp_pend, n_grp;   /* workers with the same home form a group */
  int heap_ok;                  /* const_priority: ready[] is a heap */
  int *bound_m;                 /* [worker * n_models + model]: unfinished queries bound */
  size_t reserved;              /* mts_sched_reserve: queries the caller's table holds */
};

#define EWMA_A 0.1

const mts_sched_config_t *mts_sched_config(const mts_sched_t *s) { return &s->cfg; }
const mts_model_prof_t *mts_sched_model(const mts_sched_t *s, int m) { return &s->cfg.models[m]; }
size_t mts_sched_n_running(const mts_sched_t *s) { return s->n_running; }
size_t mts_sched_n_waiting(const mts_sched_t *s) { return s->n_ready; }
int64_t mts_sched_conflicts(const mts_sched_t *s) { return s->conflicts; }
int64_t mts_sched_dispatches(const mts_sched_t *s) { return s->dispatches; }
double mts_sched_core_busy_us(const mts_sched_t *s) { return s->core_busy_us; }

int mts_sched_create(const mts_sched_config_t *cfg, mts_sched_t **out) {
  *out = NULL;
  const mts_policy_t *p = mts_policy_find(cfg->policy ? cfg->policy : "fcfs");
  if (!p) return mts_seterr(MTS_EINVAL, "unknown policy '%s'", cfg->policy);
  if (cfg->n_workers <= 0 || cfg->n_workers > MTS_SCHED_MAX_WORKERS)
    return mts_seterr(MTS_EINVAL, "scheduler: %d workers (need 1..%d)", cfg->n_workers, MTS_SCHED_MAX_WORKERS);
  if (cfg->n_nodes <= 0 || cfg->max_cores_node <= 0)
    return mts_seterr(MTS_EINVAL, "scheduler: no nodes or cores");
  for (int i = 0; i < cfg->n_workers; i++) {
    const mts_worker_desc_t *wd = &cfg->workers[i];
    if (wd->n_home <= 0 || wd->node < 0 || wd->node >= cfg->n_nodes)
      return mts_seterr(MTS_EINVAL, "scheduler: worker %d has an empty home or bad node", i);
    for (int c = 0; c < wd->n_home; c++)
      if (wd->home[c] < 0 || wd->home[c] >= cfg->max_cores_node)
        return mts_seterr(MTS_EINVAL, "scheduler: worker %d home core %d out of range", i, wd->home[c]);
  }
  for (int m = 0; m < cfg->n_models; m++) {
    if (cfg->models[m].n_layers <= 0 || cfg->models[m].n_cc <= 0 || !cfg->models[m].layer_us)
      return mts_seterr(MTS_EINVAL, "scheduler: model %d has no profile", m);
    if (cfg->models[m].n_cc > MTS_SCHED_MAX_CC || cfg->models[m].n_versions > MTS_SCHED_MAX_VERSIONS ||
        (cfg->models[m].n_versions > 1 && !cfg->models[m].ver_us))
      return mts_seterr(MTS_EINVAL, "scheduler: model %d: bad core counts or versions", m);
  }

  mts_sched_t *s = mts_xcalloc(1, sizeof *s);
  s->cfg = *cfg;
  s->policy = p;
  s->stride = cfg->max_cores_node;
  s->owner = mts_xcalloc((size_t)cfg->n_nodes * (size_t)s->stride, sizeof *s->owner);
  s->w = mts_xcalloc((size_t)cfg->n_workers, sizeof *s->w);
  s->bound_m = mts_xcalloc((size_t)cfg->n_workers * (size_t)(cfg->n_models > 0 ? cfg->n_models : 1), sizeof *s->bound_m);
  s->suffix = mts_xcalloc((size_t)cfg->n_models, sizeof *s->suffix);
  for (int m = 0; m < cfg->n_models; m++) {
    const mts_model_prof_t *mp = &cfg->models[m];
    double *sf = mts_xcalloc((size_t)(mp->n_layers + 1) * (size_t)mp->n_cc, sizeof *sf);
    for (int c = 0; c < mp->n_cc; c++)
      for (int l = mp->n_layers - 1; l >= 0; l--)
        sf[l * mp->n_cc + c] = sf[(l + 1) * mp->n_cc + c] + mp->layer_us[l * mp->n_cc + c];
    s->suffix[m] = sf;
  }
  s->node_busy = mts_xcalloc((size_t)cfg->n_nodes, sizeof *s->node_busy);
  s->node_cores = mts_xcalloc((size_t)cfg->n_nodes, sizeof *s->node_cores);
  {
    unsigned char *seen = mts_xcalloc((size_t)cfg->n_nodes * (size_t)s->stride, 1);
    for (int i = 0; i < cfg->n_workers; i++)
      for (int c = 0; c < cfg->workers[i].n_home; c++) {
        unsigned char *x = &seen[(size_t)cfg->workers[i].node * (size_t)s->stride + (size_t)cfg->workers[i].home[c]];
        if (!*x) s->node_cores[cfg->workers[i].node]++;
        *x = 1;
      }
    free(seen);
  }
  for (int n = 0; n < cfg->n_nodes; n++) s->total_cores += s->node_cores[n];
  s->n_avail = cfg->n_workers;
  s->grp = mts_xcalloc((size_t)cfg->n_workers, sizeof *s->grp);
  s->grp_pend = mts_xcalloc((size_t)cfg->n_workers, sizeof *s->grp_pend);
  for (int w = 0; w < cfg->n_workers; w++) {
    const mts_worker_desc_t *a = &cfg->workers[w];
    int g = -1;
    for (int v = 0; v < w && g < 0; v++) {
      const mts_worker_desc_t *b = &cfg->workers[v];
      if (b->node == a->node && b->n_home == a->n_home && !memcmp(b->home, a->home, (size_t)a->n_home * sizeof(int)))
        g = s->grp[v];
    }
    s->grp[w] = g >= 0 ? g : s->n_grp++;
  }
  s->corr = 1.0;
  s->alpha = 1.0;
  s->heap_ok = 1; /* an empty list is a heap */
  s->im = cfg->interference ? *cfg->interference
                            : (mts_interf_model_t){.k_node = MTS_INTERF_K_NODE, .k_llc = MTS_INTERF_K_LLC};
  s->plan_w = -1;
  if (p->init) {
    int rc = p->init(s, &s->pstate);
    if (rc) {
      mts_sched_destroy(s);
      return rc;
    }
  }
  *out = s;
  return 0;
}

void mts_sched_destroy(mts_sched_t *s) {
  if (!s) return;
  if (s->policy->fini) s->policy->fini(s->pstate);
  free(s->allow);
  free(s->restricted);
  free(s->node_busy);
  free(s->node_cores);
  free(s->grp);
  free(s->grp_pend);
  for (int m = 0; m < s->cfg.n_models; m++) free(s->suffix[m]);
  free(s->suffix);
  free(s->owner);
  free(s->w);
  free(s->bound_m);
  free(s->ready);
  free(s->keys);
  free(s->kept);
  free(s);
}

void mts_sched_reserve(mts_sched_t *s, size_t n) {
  if (s->cap_keys < n) {
    s->keys = mts_xrealloc(s->keys, n * sizeof *s->keys);
    memset(s->keys + s->cap_keys, 0, (n - s->cap_keys) * sizeof *s->keys);
    s->cap_keys = n;
  }
  if (n > s->reserved) s->reserved = n;
}

size_t mts_sched_reserved(const mts_sched_t *s) { return s->reserved; }

void mts_sched_set_queries(mts_sched_t *s, mts_query_t *q, size_t n) {
  s->q = q;
  s->nq = n;
}

double mts_sched_remaining_us(const mts_sched_t *s, const mts_query_t *q, int c) {
  const mts_model_prof_t *mp = &s->cfg.models[q->model];
  if (c < 1) c = 1;
  if (c > mp->n_cc) c = mp->n_cc;
  int l = q->next_layer < 0 ? 0 : q->next_layer > mp->n_layers ? mp->n_layers : q->next_layer;
  return s->suffix[q->model][l * mp->n_cc + (c - 1)];
}

/* Priority order: key, then table index (a total order, so the result does
 * not depend on how the ready list happens to be arranged). */
static inline int before(const mts_sched_t *s, size_t a, size_t b) {
  double ka = s->keys[a], kb = s->keys[b];
  return ka < kb || (ka == kb && a < b);
}

static void sift_up(const mts_sched_t *s, size_t *h, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(s, h[i], h[p])) return;
    size_t t = h[i];
    h[i] = h[p];
    h[p] = t;
    i = p;
  }
}

static void sift_down(const mts_sched_t *s, size_t *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    if (l < n && before(s, h[l], h[m])) m = l;
    if (l + 1 < n && before(s, h[l + 1], h[m])) m = l + 1;
    if (m == i) return;
    size_t t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

static void keys_reserve(mts_sched_t *s, size_t n) {
  if (s->cap_keys < n) {
    s->cap_keys = n * 2 > 1024 ? n * 2 : 1024;
    s->keys = mts_xrealloc(s->keys, s->cap_keys * sizeof *s->keys);
  }
}

/* With a constant priority (const_priority) the ready list is kept as a
 * heap between decisions (heap_ok), keyed when a query becomes ready. */
static void ready_push(mts_sched_t *s, size_t qi, int64_t now_us) {
  if (s->n_ready == s->cap_ready) {
    s->cap_ready = s->cap_ready ? s->cap_ready * 2 : 64;
    s->ready = mts_xrealloc(s->ready, s->cap_ready * sizeof *s->ready);
  }
  s->ready[s->n_ready++] = qi;
  if (s->policy->const_priority) {
    keys_reserve(s, qi + 1);
    s->keys[qi] = s->policy->priority(s, &s->q[qi], now_us);
    if (s->heap_ok) sift_up(s, s->ready, s->n_ready - 1);
  }
}

static void ready_remove_at(mts_sched_t *s, size_t i) {
  s->ready[i] = s->ready[--s->n_ready];
  s->heap_ok = 0;
}

static void drop_queued(mts_query_t *q, int reason, int64_t now_us) {
  q->state = MTS_Q_DROPPED;
  q->reason = reason;
  q->done_us = now_us;
}

int mts_sched_arrive(mts_sched_t *s, size_t qi, int64_t now_us) {
  mts_query_t *q = &s->q[qi];
  q->worker = -1;
  q->next_layer = 0;
  if (s->cfg.queue_limit > 0) {
    /* The ready list is short when queues are bounded: scan it. */
    int queued = 0;
    size_t oldest = SIZE_MAX;
    for (size_t i = 0; i < s->n_ready; i++) {
      const mts_query_t *o = &s->q[s->ready[i]];
      if (o->tenant != q->tenant || o->first_start_us >= 0) continue;
      queued++;
      if (oldest == SIZE_MAX || o->arrival_us < s->q[s->ready[oldest]].arrival_us) oldest = i;
    }
    if (queued >= s->cfg.queue_limit) {
      if (!s->cfg.reject_oldest) {
        drop_queued(q, MTS_REASON_QUEUE_FULL, now_us);
        return 0;
      }
      drop_queued(&s->q[s->ready[oldest]], MTS_REASON_QUEUE_FULL, now_us);
      ready_remove_at(s, oldest);
    }
  }
  q->state = MTS_Q_PENDING;
  ready_push(s, qi, now_us);
  return 1;
}

/* Unfinished queries of a model bound to worker w (its contexts in use). */
static int *bound_of(mts_sched_t *s, int w, int model) {
  return &s->bound_m[(size_t)w * (size_t)s->cfg.n_models + (size_t)model];
}

/* q leaves the live set: its worker holds one context fewer. */
static void unbind(mts_sched_t *s, mts_query_t *q) {
  if (q->worker >= 0 && s->w[q->worker].n_bound > 0) s->w[q->worker].n_bound--;
  if (q->worker >= 0 && *bound_of(s, q->worker, q->model) > 0) (*bound_of(s, q->worker, q->model))--;
}

static size_t *owner_of(mts_sched_t *s, int worker, int core) {
  return &s->owner[(size_t)s->cfg.workers[worker].node * (size_t)s->stride + (size_t)core];
}

static void free_cores_of(mts_sched_t *s, size_t qi) {
  mts_query_t *q = &s->q[qi];
  if (q->worker < 0) return;
  const mts_worker_desc_t *wd = &s->cfg.workers[q->worker];
  for (int c = 0; c < wd->n_home; c++) {
    size_t *o = owner_of(s, q->worker, wd->home[c]);
    if (*o == qi + 1) {
      *o = 0;
      s->node_busy[wd->node]--;
      s->busy_total--;
    }
  }
  worker_state_t *ws = &s->w[q->worker];
  if (ws->busy && ws->running == qi) {
    ws->busy = 0;
    if (!ws->lost) s->n_avail++;
  }
}

/* Profiled solo time of layers [a, b) of model m, version v, on n cores. */
static double block_solo_us(const mts_sched_t *s, int m, int a, int b, int v, int n) {
  const mts_model_prof_t *mp = &s->cfg.models[m];
  int c = n < 1 ? 0 : n > mp->n_cc ? mp->n_cc - 1 : n - 1;
  if (mp->n_versions > 1 && v > 0 && v < mp->n_versions) {
    const double *lu = mp->ver_us + (size_t)v * (size_t)mp->n_layers * (size_t)mp->n_cc;
    double t = 0;
    for (int l = a; l < b; l++) t += lu[l * mp->n_cc + c];
    return t;
  }
  return s->suffix[m][a * mp->n_cc + c] - s->suffix[m][b * mp->n_cc + c];
}

static double version_sens(const mts_sched_t *s, int m, int v) {
  const mts_model_prof_t *mp = &s->cfg.models[m];
  return mp->n_versions > 1 && v >= 0 && v < mp->n_versions && mp->ver_sens[v] > 0 ? mp->ver_sens[v] : 1.0;
}

/* Interference exposure sens (k_node f_node + k_llc f_llc) of a block on
 * worker w whose own `own` cores are already counted busy, plus `extra`
 * more of w's home cores that others would take. */
static double exposure_with(const mts_sched_t *s, int w, double sens, int own, int extra) {
  int nb, hb;
  mts_sched_busy(s, w, &nb, &hb);
  const mts_worker_desc_t *wd = &s->cfg.workers[w];
  double fn = s->node_cores[wd->node] ? (double)(nb - own + extra) / s->node_cores[wd->node] : 0;
  double fl = (double)(hb - own + extra) / wd->n_home;
  fn = fn < 0 ? 0 : fn > 1 ? 1 : fn;
  fl = fl < 0 ? 0 : fl > 1 ? 1 : fl;
  return (sens > 0 ? sens : 1) * (s->im.k_node * fn + s->im.k_llc * fl);
}

static double exposure(const mts_sched_t *s, int w, int m, int v, int own) {
  return exposure_with(s, w, version_sens(s, m, v), own, 0);
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median_of(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_dbl);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One completed block (observed/solo y at exposure x) into alpha. */
static void learn_interference(mts_sched_t *s, double x, double y) {
  double kmax = s->im.k_node + s->im.k_llc, v[IF_WIN];
  if (kmax <= 0) return;
  if (x < 0.05 * kmax) {
    s->if_lo[s->if_lo_i] = y;
    s->if_lo_i = (s->if_lo_i + 1) % IF_WIN;
    if (s->if_lo_n < IF_WIN) s->if_lo_n++;
  } else if (x >= 0.25 * kmax) {
    s->if_x[s->if_hi_i] = x;
    s->if_y[s->if_hi_i] = y;
    s->if_hi_i = (s->if_hi_i + 1) % IF_WIN;
    if (s->if_hi_n < IF_WIN) s->if_hi_n++;
  } else {
    return;
  }
  /* the medians move slowly: recomputed every IF_EVERY samples, not at
   * each completion (two sorts per completion halved the sim's dispatch
   * rate in bench_sched) */
  if (s->if_lo_n < IF_MIN || s->if_hi_n < IF_MIN || ++s->if_new < IF_EVERY) return;
  s->if_new = 0;
  memcpy(v, s->if_lo, (size_t)s->if_lo_n * sizeof *v);
  double base = median_of(v, s->if_lo_n);
  for (int i = 0; i < s->if_hi_n; i++) v[i] = (s->if_y[i] / base - 1) / s->if_x[i];
  double a = median_of(v, s->if_hi_n);
  s->alpha = a < 0 ? 0 : a > 2 ? 2 : a;
}

void mts_sched_complete(mts_sched_t *s, size_t qi, int ok, int64_t now_us, double exec_us) {
  mts_query_t *q = &s->q[qi];
  if (q->state != MTS_Q_RUNNING) return; /* late completion of an aborted query */
  if (ok && q->worker >= 0 && s->w[q->worker].raw_us > 0 && exec_us > 0) {
    double r = exec_us / s->w[q->worker].raw_us, sorted[CORR_WIN];
    r = r < 0.2 ? 0.2 : r > 5 ? 5 : r;
    s->corr_win[s->corr_i] = r;
    s->corr_i = (s->corr_i + 1) % CORR_WIN;
    if (s->corr_n < CORR_WIN) s->corr_n++;
    memcpy(sorted, s->corr_win, (size_t)s->corr_n * sizeof *sorted);
    for (int i = 1; i < s->corr_n; i++) /* insertion sort: at most 31 */
      for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
        double t = sorted[j];
        sorted[j] = sorted[j - 1];
        sorted[j - 1] = t;
      }
    s->corr = s->corr_n % 2 ? sorted[s->corr_n / 2] : 0.5 * (sorted[s->corr_n / 2 - 1] + sorted[s->corr_n / 2]);
  }
  if (ok && q->worker >= 0 && s->w[q->worker].solo_us > 0 && exec_us > 0) {
    worker_state_t *ws = &s->w[q->worker];
    double x_end = exposure(s, q->worker, q->model, ws->version, ws->n_cores);
    learn_interference(s, 0.5 * (ws->x + x_end), exec_us / ws->solo_us);
  }
  free_cores_of(s, qi);
  s->n_running--;
  q->exec_us += exec_us;
  if (!ok) {
    q->state = MTS_Q_FAILED;
    unbind(s, q);
    q->reason = MTS_REASON_WORKER_ERROR;
    q->done_us = now_us;
    return;
  }
  if (q->next_layer >= s->cfg.models[q->model].n_layers) {
    q->state = MTS_Q_COMPLETED;
    unbind(s, q);
    q->done_us = now_us;
  } else {
    q->state = MTS_Q_PENDING;
    ready_push(s, qi, now_us);
  }
}

int mts_sched_worker_lost(mts_sched_t *s, int worker, int64_t now_us) {
  int n = 0;
  if (!s->w[worker].lost) {
    if (!s->w[worker].busy) s->n_avail--;
    s->w[worker].lost = 1;
  }
  for (size_t i = 0; i < s->nq; i++) {
    mts_query_t *q = &s->q[i];
    if (q->worker != worker || (q->state != MTS_Q_PENDING && q->state != MTS_Q_RUNNING)) continue;
    if (q->state == MTS_Q_RUNNING) {
      free_cores_of(s, i);
      s->n_running--;
    } else {
      for (size_t r = 0; r < s->n_ready; r++)
        if (s->ready[r] == i) {
          ready_remove_at(s, r);
          break;
        }
    }
    q->state = MTS_Q_FAILED;
    unbind(s, q);
    q->reason = MTS_REASON_WORKER_LOST;
    q->done_us = now_us;
    n++;
  }
  s->w[worker].busy = 0;
  return n;
}

int mts_sched_tenant_allows(const mts_sched_t *s, int t, int node, int core) {
  if (!s->restricted || t < 0 || t >= s->cfg.n_tenants || !s->restricted[t * s->cfg.n_nodes + node]) return 1;
  return s->allow[((size_t)t * (size_t)s->cfg.n_nodes + (size_t)node) * (size_t)s->stride + (size_t)core];
}

void mts_sched_set_tenant_cores(mts_sched_t *s, int t, int node, const int *cores, int n) {
  if (t < 0 || t >= s->cfg.n_tenants || node < 0 || node >= s->cfg.n_nodes) return;
  if (!s->restricted) {
    s->restricted = mts_xcalloc((size_t)s->cfg.n_tenants * (size_t)s->cfg.n_nodes, 1);
    s->allow = mts_xcalloc((size_t)s->cfg.n_tenants * (size_t)s->cfg.n_nodes * (size_t)s->stride, 1);
  }
  unsigned char *a = &s->allow[((size_t)t * (size_t)s->cfg.n_nodes + (size_t)node) * (size_t)s->stride];
  memset(a, 0, (size_t)s->stride);
  for (int i = 0; i < n; i++)
    if (cores[i] >= 0 && cores[i] < s->stride) a[cores[i]] = 1;
  s->restricted[t * s->cfg.n_nodes + node] = 1;
}

/* Free cores of worker w's home that tenant t may use. */
static int count_free(mts_sched_t *s, int w, int t) {
  const mts_worker_desc_t *wd = &s->cfg.workers[w];
  int n = 0;
  for (int c = 0; c < wd->n_home; c++)
    n += *owner_of(s, w, wd->home[c]) == 0 && mts_sched_tenant_allows(s, t, wd->node, wd->home[c]);
  return n;
}

/* The worker for q: its bound worker if idle, else for an unbound query the
 * idle worker with the most free cores (ties: lowest index).  -1 if none. */
static int pick_worker(mts_sched_t *s, const mts_query_t *q, int *free_out) {
  if (q->worker >= 0) {
    worker_state_t *ws = &s->w[q->worker];
    if (ws->busy || ws->lost) return -1;
    *free_out = count_free(s, q->worker, q->tenant);
    return q->worker;
  }
  /* Queries bound to a home and waiting for their next block will claim
   * its free cores soon: score a worker by its free cores shared among
   * them and the newcomer (free / (1 + waiting)); ties: the worker with the
   * fewest live contexts, so that a query between two blocks does not find
   * its worker taken by a newcomer.  With one block per query (fcfs,
   * static) nobody waits bound, and the score is the free-core count. */
  int *pend = s->grp_pend;
  memset(pend, 0, (size_t)s->n_grp * sizeof *pend);
  for (int w = 0; w < s->cfg.n_workers; w++)
    if (!s->w[w].lost) pend[s->grp[w]] += s->w[w].n_bound - s->w[w].busy;
  int best = -1, best_free = 0;
  double best_score = 0;
  for (int w = 0; w < s->cfg.n_workers; w++) {
    if (s->w[w].busy || s->w[w].lost) continue;
    /* a worker holds at most max_bound unfinished queries of a model (its
     * context pool is that large): a newcomer waits for one to finish */
    if (s->cfg.max_bound > 0 && *bound_of(s, w, q->model) >= s->cfg.max_bound) continue;
    int f = count_free(s, w, q->tenant);
    if (f == 0) continue;
    double sc = (double)f / (1 + pend[s->grp[w]]);
    if (best < 0 || sc > best_score || (sc == best_score && s->w[w].n_bound < s->w[best].n_bound)) {
      best = w;
      best_free = f;
      best_score = sc;
    }
  }
  *free_out = best_free;
  return best;
}

/* Grants n cores of worker w's home to query qi: the worker's previous
 * cores first (its threads are already pinned there), then in home order. */
static int grant(mts_sched_t *s, int w, size_t qi, int n, int *cores) {
  worker_state_t *ws = &s->w[w];
  const mts_worker_desc_t *wd = &s->cfg.workers[w];
  int t = s->q[qi].tenant;
  int k = 0;
  for (int i = 0; i < ws->n_last && k < n; i++) {
    size_t *o = owner_of(s, w, ws->last[i]);
    if (*o == 0 && mts_sched_tenant_allows(s, t, wd->node, ws->last[i])) {
      *o = qi + 1;
      cores[k++] = ws->last[i];
    }
  }
  for (int c = 0; c < wd->n_home && k < n; c++) {
    size_t *o = owner_of(s, w, wd->home[c]);
    if (*o == 0 && mts_sched_tenant_allows(s, t, wd->node, wd->home[c])) {
      *o = qi + 1;
      cores[k++] = wd->home[c];
    }
  }
  s->node_busy[wd->node] += k;
  s->busy_total += k;
  memcpy(ws->last, cores, (size_t)k * sizeof *cores);
  ws->n_last = k;
  return k;
}

/* At most this many ready queries that cannot start are planned per
 * decision beyond the workers' count: the rest are lower priority, and
 * planning each would make a decision O(ready) under overload. */
#define MAX_FAILED_EXTRA 64

int mts_sched_decide(mts_sched_t *s, int64_t now_us, mts_decision_t *out, int max) {
  int n = 0;
  if (s->n_ready == 0 || max <= 0) return 0;
  keys_reserve(s, s->nq);
  if (s->cap_kept < s->cap_ready) {
    s->cap_kept = s->cap_ready;
    s->kept = mts_xrealloc(s->kept, s->cap_kept * sizeof *s->kept);
  }
  int admit = s->cfg.admission ? s->cfg.admission > 0 : s->policy->admission_default;
  int check = s->cfg.drop_hopeless || admit;
  int capacity = s->n_avail > 0 && s->busy_total < s->total_cores;
  /* Without capacity nothing starts: only the drop checks need to run. */
  if (!capacity && !check) return 0;

  /* Pop the ready list in priority order from a binary heap: a decision
   * usually starts a few queries, so ordering all of them is wasted. */
  size_t *h = s->ready, hn = s->n_ready, j = 0;
  int persistent = s->policy->const_priority;
  if (capacity && !persistent)
    for (size_t i = 0; i < hn; i++) s->keys[h[i]] = s->policy->priority(s, &s->q[h[i]], now_us);
  if ((capacity && !persistent) || (persistent && !s->heap_ok)) {
    for (size_t i = hn / 2; i-- > 0;) sift_down(s, h, hn, i);
    s->heap_ok = persistent;
  }
  uint64_t blocked = 0; /* strict_order 2: tenants (mod 64) whose head waits */
  int failed = 0, max_failed = s->cfg.n_workers + MAX_FAILED_EXTRA, stop = 0;
  /* pick_worker for unbound queries depends only on the tenant (and only
   * while nothing is granted): cache it per tenant for this decision */
  int cache_w[64], cache_free[64];
  uint64_t cached = 0;
  while (hn > 0 && n < max) {
    size_t qi;
    if (capacity && !stop) {
      qi = h[0];
      h[0] = h[--hn];
      sift_down(s, h, hn, 0);
    } else {
      qi = h[--hn]; /* unordered: drop checks only */
    }
    mts_query_t *q = &s->q[qi];
    const mts_model_prof_t *mp = &s->cfg.models[q->model];
    if (check && (s->policy->hopeless ? s->policy->hopeless(s, q, now_us)
                                      : now_us + (int64_t)mts_sched_remaining_us(s, q, mp->n_cc) > q->deadline_us)) {
      q->state = MTS_Q_DROPPED;
      unbind(s, q);
      q->reason = MTS_REASON_DEADLINE;
      q->done_us = now_us;
      out[n++] = (mts_decision_t){.kind = MTS_DEC_DROP, .query = qi, .worker = q->worker,
                                  .reason = MTS_REASON_DEADLINE};
      continue;
    }
    if (!capacity || stop) {
      s->kept[j++] = qi;
      if (!check) break;
      continue;
    }
    uint64_t tbit = (uint64_t)1 << ((unsigned)q->tenant & 63);
    int free_cores = 0, w = -1;
    mts_plan_t plan;
    memset(&plan, 0, sizeof plan);
    if (!(s->policy->strict_order == 2 && (blocked & tbit))) {
      if (q->worker < 0 && q->tenant >= 0 && q->tenant < 64 && (cached & tbit)) {
        w = cache_w[q->tenant];
        free_cores = cache_free[q->tenant];
      } else {
        w = pick_worker(s, q, &free_cores);
        if (q->worker < 0 && q->tenant >= 0 && q->tenant < 64) {
          cache_w[q->tenant] = w;
          cache_free[q->tenant] = free_cores;
          cached |= tbit;
        }
      }
    }
    s->plan_w = w;
    if (w < 0 || free_cores == 0 || !s->policy->plan(s, q, free_cores, now_us, &plan) ||
        plan.min_cores > free_cores || plan.last <= q->next_layer || plan.last > mp->n_layers) {
      s->plan_w = -1;
      s->kept[j++] = qi;
      if (s->policy->strict_order == 1) break;
      if (s->policy->strict_order == 2) blocked |= tbit;
      if (++failed >= max_failed) stop = 1;
      if (stop && !check) break;
      continue;
    }
    s->plan_w = -1;
    mts_decision_t *d = &out[n++];
    memset(d, 0, sizeof *d);
    d->kind = MTS_DEC_DISPATCH;
    d->query = qi;
    d->worker = w;
    d->first = q->next_layer;
    d->last = plan.last;
    d->version = plan.version;
    d->asked = plan.n_cores;
    d->n_cores = grant(s, w, qi, plan.n_cores < free_cores ? plan.n_cores : free_cores, d->cores);
    d->release = plan.last == mp->n_layers;
    d->predicted_us = plan.predicted_us;
    int conflict = d->n_cores < plan.n_cores;
    if (conflict) {
      s->conflicts++;
      q->conflicts++;
    }
    s->conf_rate = (1 - EWMA_A) * s->conf_rate + EWMA_A * conflict;
    s->w[w].busy = 1;
    s->w[w].running = qi;
    s->w[w].raw_us = plan.raw_us > 0 ? plan.raw_us : plan.predicted_us;
    s->w[w].solo_us = block_solo_us(s, q->model, d->first, d->last, d->version, d->n_cores);
    s->w[w].x = exposure(s, w, q->model, d->version, d->n_cores);
    s->w[w].version = d->version;
    s->w[w].n_cores = d->n_cores;
    s->n_avail--;
    if (q->worker < 0) {
      q->worker = w;
      q->first_start_us = now_us;
      s->w[w].n_bound++;
      (*bound_of(s, w, q->model))++;
    }
    q->state = MTS_Q_RUNNING;
    q->next_layer = plan.last;
    q->blocks++;
    s->n_running++;
    s->dispatches++;
    s->core_busy_us += plan.predicted_us * d->n_cores;
    cached = 0;
    if (s->n_avail == 0 || s->busy_total >= s->total_cores) {
      capacity = 0;
      if (!check) break;
    }
  }
  if (persistent) {
    /* the rest is still a heap: put the kept ones back into it */
    s->n_ready = hn;
    for (size_t i = 0; i < j; i++) {
      s->ready[s->n_ready++] = s->kept[i];
      sift_up(s, s->ready, s->n_ready - 1);
    }
    return n;
  }
  /* ready = what was kept, then what was not looked at */
  memmove(&s->ready[j], &s->ready[0], hn * sizeof *s->ready);
  memcpy(&s->ready[0], s->kept, j * sizeof *s->ready);
  s->n_ready = j + hn;
  return n;
}

int mts_sched_drop_waiting(mts_sched_t *s, int reason, int64_t now_us) {
  int n = (int)s->n_ready;
  for (size_t i = 0; i < s->n_ready; i++) {
    mts_query_t *q = &s->q[s->ready[i]];
    q->state = MTS_Q_DROPPED;
    unbind(s, q);
    q->reason = reason;
    q->done_us = now_us;
  }
  s->n_ready = 0;
  return n;
}

int mts_sched_abort_running(mts_sched_t *s, int reason, int64_t now_us) {
  int n = 0;
  for (size_t i = 0; i < s->nq; i++) {
    mts_query_t *q = &s->q[i];
    if (q->state != MTS_Q_RUNNING) continue;
    free_cores_of(s, i);
    s->n_running--;
    q->state = MTS_Q_DROPPED;
    unbind(s, q);
    q->reason = reason;
    q->done_us = now_us;
    n++;
  }
  return n;
}

void *mts_sched_policy_state(const mts_sched_t *s) { return s->pstate; }
size_t mts_sched_qindex(const mts_sched_t *s, const mts_query_t *q) { return (size_t)(q - s->q); }
int mts_sched_plan_worker(const mts_sched_t *s) { return s->plan_w; }
int mts_sched_node_cores(const mts_sched_t *s, int node) { return s->node_cores[node]; }
double mts_sched_correction(const mts_sched_t *s) { return s->corr; }
double mts_sched_conflict_rate(const mts_sched_t *s) { return s->conf_rate; }
double mts_sched_busy_fraction(const mts_sched_t *s) {
  return s->total_cores ? (double)s->busy_total / s->total_cores : 0;
}

void mts_sched_busy(const mts_sched_t *s, int w, int *node_busy, int *home_busy) {
  const mts_worker_desc_t *wd = &s->cfg.workers[w];
  int h = 0;
  for (int c = 0; c < wd->n_home; c++)
    h += s->owner[(size_t)wd->node * (size_t)s->stride + (size_t)wd->home[c]] != 0;
  *node_busy = s->node_busy[wd->node];
  *home_busy = h;
}

double mts_sched_slowdown(const mts_sched_t *s, int w, double sens) {
  if (w < 0) return s->corr;
  return (1 + s->alpha * exposure_with(s, w, sens, 0, 0)) * s->corr;
}

double mts_sched_slowdown_shared(const mts_sched_t *s, int w, double sens, int extra) {
  if (w < 0) return 1;
  return 1 + s->alpha * exposure_with(s, w, sens, 0, extra);
}

double mts_sched_interference_scale(const mts_sched_t *s) { return s->alpha; }

int mts_sched_check(const mts_sched_t *s) {
  size_t running = 0;
  int busy = 0;
  for (size_t i = 0; i < s->nq; i++) running += s->q[i].state == MTS_Q_RUNNING;
  if (running != s->n_running)
    return mts_seterr(MTS_ESTATE, "scheduler: %zu running queries, counter says %zu", running, s->n_running);
  /* every owned core belongs to a running query bound to a worker whose home has it */
  size_t cells = (size_t)s->cfg.n_nodes * (size_t)s->stride;
  for (size_t c = 0; c < cells; c++) {
    size_t o = s->owner[c];
    if (!o) continue;
    if (o - 1 >= s->nq || s->q[o - 1].state != MTS_Q_RUNNING)
      return mts_seterr(MTS_ESTATE, "scheduler: core %zu held by query %zu that is not running", c, o - 1);
    int node = (int)(c / (size_t)s->stride), core = (int)(c % (size_t)s->stride);
    if (!mts_sched_tenant_allows(s, s->q[o - 1].tenant, node, core))
      return mts_seterr(MTS_ESTATE, "scheduler: core %d of node %d granted outside tenant %d's partition", core,
                        node, s->q[o - 1].tenant);
    busy++;
  }
  if (s->policy->const_priority && s->heap_ok)
    for (size_t i = 1; i < s->n_ready; i++)
      if (before(s, s->ready[i], s->ready[(i - 1) / 2]))
        return mts_seterr(MTS_ESTATE, "scheduler: ready heap out of order at %zu", i);
  for (size_t i = 0; i < s->n_ready; i++)
    if (s->ready[i] >= s->nq || s->q[s->ready[i]].state != MTS_Q_PENDING)
      return mts_seterr(MTS_ESTATE, "scheduler: ready entry %zu is not a pending query", i);
  int avail = 0;
  for (int w = 0; w < s->cfg.n_workers; w++) avail += !s->w[w].busy && !s->w[w].lost;
  if (avail != s->n_avail)
    return mts_seterr(MTS_ESTATE, "scheduler: %d workers available, counter says %d", avail, s->n_avail);
  if (busy != s->busy_total)
    return mts_seterr(MTS_ESTATE, "scheduler: %d cores busy, counter says %d", busy, s->busy_total);
  for (int w = 0; w < s->cfg.n_workers; w++) {
    int held = 0, bound = 0;
    for (size_t i = 0; i < s->nq; i++) {
      held += s->q[i].state == MTS_Q_RUNNING && s->q[i].worker == w;
      bound += (s->q[i].state == MTS_Q_RUNNING || s->q[i].state == MTS_Q_PENDING) && s->q[i].worker == w;
    }
    for (int m = 0; m < s->cfg.n_models && !s->w[w].lost; m++) {
      int bm = 0;
      for (size_t i = 0; i < s->nq; i++)
        bm += (s->q[i].state == MTS_Q_RUNNING || s->q[i].state == MTS_Q_PENDING) && s->q[i].worker == w &&
              s->q[i].model == m;
      if (bm != s->bound_m[(size_t)w * (size_t)s->cfg.n_models + (size_t)m])
        return mts_seterr(MTS_ESTATE, "scheduler: worker %d holds %d queries of model %d, counter says %d", w, bm, m,
                          s->bound_m[(size_t)w * (size_t)s->cfg.n_models + (size_t)m]);
      if (s->cfg.max_bound > 0 && bm > s->cfg.max_bound)
        return mts_seterr(MTS_ESTATE, "scheduler: worker %d holds %d queries of model %d (at most %d)", w, bm, m,
                          s->cfg.max_bound);
    }
    if (held > 1) return mts_seterr(MTS_ESTATE, "scheduler: worker %d runs %d blocks at once", w, held);
    if (!s->w[w].lost && bound != s->w[w].n_bound)
      return mts_seterr(MTS_ESTATE, "scheduler: worker %d holds %d contexts, counter says %d", w, bound,
                        s->w[w].n_bound);
    if (s->w[w].busy && held != 1)
      return mts_seterr(MTS_ESTATE, "scheduler: worker %d is busy with %d blocks", w, held);
  }
  return 0;
}
