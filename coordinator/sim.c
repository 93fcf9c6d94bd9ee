/* sim.c — the virtual-time transport (see sim.h for the block model).
 * mts_sim_run, which builds a run around it, is in sim_run.c. */
#include "coordinator/sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/arrivals.h"
#include "runtime/mts.h"

typedef struct {
  size_t query;
  int worker, model, tenant, first, last, version, asked, n;
  int cores[MTS_SCHED_MAX_HOME];
  double work;        /* solo-time microseconds left */
  double slow;        /* current slowdown */
  double pred;        /* scheduler's prediction */
  int64_t start;
} blk_t;

struct mts_sim {
  const mts_sched_config_t *cfg;
  mts_sim_params_t p;
  mts_interf_model_t im;
  mts_rng_t rng;
  int64_t now;
  blk_t *run;         /* running blocks, at most one per worker */
  int n_run;
  int *dom_of;        /* worker -> domain id (workers with the same home) */
  int n_dom;
  int *dom_busy, *dom_size, *node_busy, *node_cores;
  FILE **log;         /* per worker, opened on first use */
  double busy_us;
  int64_t blocks;
  mts_timeline_t timeline;
};

int mts_sim_create(const mts_sched_config_t *cfg, const mts_sim_params_t *p, mts_sim_t **out) {
  *out = NULL;
  if (cfg->n_workers <= 0 || cfg->n_nodes <= 0)
    return mts_seterr(MTS_EINVAL, "sim: no workers or nodes");
  mts_sim_t *s = mts_xcalloc(1, sizeof *s);
  s->cfg = cfg;
  s->p = *p;
  s->im = p->truth ? *p->truth : (mts_interf_model_t){.k_node = MTS_INTERF_K_NODE, .k_llc = MTS_INTERF_K_LLC};
  mts_rng_seed(&s->rng, p->seed ^ 0x5eed5eedULL);
  s->run = mts_xcalloc((size_t)cfg->n_workers, sizeof *s->run);
  s->dom_of = mts_xcalloc((size_t)cfg->n_workers, sizeof *s->dom_of);
  s->dom_size = mts_xcalloc((size_t)cfg->n_workers, sizeof *s->dom_size);
  s->dom_busy = mts_xcalloc((size_t)cfg->n_workers, sizeof *s->dom_busy);
  s->node_busy = mts_xcalloc((size_t)cfg->n_nodes, sizeof *s->node_busy);
  s->node_cores = mts_xcalloc((size_t)cfg->n_nodes, sizeof *s->node_cores);
  s->log = mts_xcalloc((size_t)cfg->n_workers, sizeof *s->log);
  s->timeline.max = MTS_TIMELINE_BLOCKS; /* grown on demand: sim memory need not be flat */
  for (int w = 0; w < cfg->n_workers; w++) {
    const mts_worker_desc_t *a = &cfg->workers[w];
    int d = -1;
    for (int v = 0; v < w && d < 0; v++) {
      const mts_worker_desc_t *b = &cfg->workers[v];
      if (b->node == a->node && b->n_home == a->n_home && !memcmp(b->home, a->home, (size_t)a->n_home * sizeof(int)))
        d = s->dom_of[v];
    }
    if (d < 0) {
      d = s->n_dom++;
      s->dom_size[d] = a->n_home;
      s->node_cores[a->node] += a->n_home; /* homes of distinct domains are disjoint in sim machines */
    }
    s->dom_of[w] = d;
  }
  *out = s;
  return 0;
}

void mts_sim_destroy(mts_sim_t *s) {
  if (!s) return;
  for (int w = 0; w < s->cfg->n_workers; w++)
    if (s->log[w]) fclose(s->log[w]);
  free(s->log);
  free(s->run);
  free(s->dom_of);
  free(s->dom_size);
  free(s->dom_busy);
  free(s->node_busy);
  free(s->node_cores);
  mts_timeline_free(&s->timeline);
  free(s);
}

const mts_timeline_t *mts_sim_timeline(const mts_sim_t *s) { return &s->timeline; }

double mts_sim_core_busy_us(const mts_sim_t *s) { return s->busy_us; }
int64_t mts_sim_blocks(const mts_sim_t *s) { return s->blocks; }

static void restime(mts_sim_t *s) {
  for (int i = 0; i < s->n_run; i++) {
    blk_t *b = &s->run[i];
    const mts_worker_desc_t *wd = &s->cfg->workers[b->worker];
    const mts_model_prof_t *mp = &s->cfg->models[b->model];
    int d = s->dom_of[b->worker];
    double fn = s->node_cores[wd->node] > 0 ? (double)(s->node_busy[wd->node] - b->n) / s->node_cores[wd->node] : 0;
    double fl = s->dom_size[d] > 0 ? (double)(s->dom_busy[d] - b->n) / s->dom_size[d] : 0;
    double sens = mp->n_versions > 1 && mp->ver_sens[b->version] > 0 ? mp->ver_sens[b->version] : 1.0;
    b->slow = 1 + sens * (s->im.k_node * fn + s->im.k_llc * fl);
  }
}

static void advance(mts_sim_t *s, int64_t to) {
  if (to <= s->now) return;
  double dt = (double)(to - s->now);
  for (int i = 0; i < s->n_run; i++) {
    s->run[i].work -= dt / s->run[i].slow;
    if (s->run[i].work < 0) s->run[i].work = 0;
  }
  s->now = to;
}

static int64_t finish_of(const mts_sim_t *s, const blk_t *b) {
  return s->now + (int64_t)ceil(b->work * b->slow - 1e-6);
}

static int64_t sim_now(void *impl) { return ((mts_sim_t *)impl)->now; }

static double normal(mts_rng_t *r) {
  double u1 = mts_rng_uniform(r), u2 = mts_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int sim_dispatch(void *impl, const mts_decision_t *d, const mts_query_t *q) {
  mts_sim_t *s = impl;
  if (s->n_run >= s->cfg->n_workers)
    return mts_seterr(MTS_ESTATE, "sim: more running blocks than workers");
  for (int i = 0; i < s->n_run; i++)
    if (s->run[i].worker == d->worker)
      return mts_seterr(MTS_ESTATE, "sim: worker %d got a block while running one", d->worker);
  const mts_model_prof_t *mp = &s->cfg->models[q->model];
  int c = d->n_cores < 1 ? 1 : d->n_cores > mp->n_cc ? mp->n_cc : d->n_cores;
  const double *t = mp->layer_us;
  if (mp->n_versions > 1 && d->version > 0 && d->version < mp->n_versions)
    t = mp->ver_us + (size_t)d->version * (size_t)mp->n_layers * (size_t)mp->n_cc;
  double solo = 0;
  for (int l = d->first; l < d->last; l++) solo += t[l * mp->n_cc + c - 1];
  if (s->p.noise > 0) solo *= exp(s->p.noise * normal(&s->rng));
  blk_t *b = &s->run[s->n_run++];
  memset(b, 0, sizeof *b);
  b->query = d->query;
  b->worker = d->worker;
  b->model = q->model;
  b->tenant = q->tenant;
  b->first = d->first;
  b->last = d->last;
  b->version = d->version;
  b->asked = d->asked;
  b->n = d->n_cores;
  memcpy(b->cores, d->cores, (size_t)d->n_cores * sizeof *d->cores);
  b->work = solo + (s->p.dispatch_us > 0 ? s->p.dispatch_us : 0);
  b->pred = d->predicted_us;
  b->start = s->now;
  s->node_busy[s->cfg->workers[d->worker].node] += b->n;
  s->dom_busy[s->dom_of[d->worker]] += b->n;
  restime(s);
  return 0;
}

static void log_block(mts_sim_t *s, const blk_t *b, int64_t end) {
  if (!s->p.log_dir) return;
  mts_block_rec_t r = {.query = b->query, .tenant = b->tenant, .worker = s->cfg->workers[b->worker].rank,
                       .node = s->cfg->workers[b->worker].node, .first = b->first, .last = b->last,
                       .version = b->version, .ok = 1, .n_cores = b->n < 16 ? b->n : 16,
                       .start_us = b->start, .end_us = end};
  memcpy(r.cores, b->cores, (size_t)r.n_cores * sizeof(int));
  mts_timeline_add(&s->timeline, &r);
  FILE **f = &s->log[b->worker];
  if (!*f) {
    char path[4200];
    snprintf(path, sizeof path, "%s/sim-%d.jsonl", s->p.log_dir, s->cfg->workers[b->worker].rank);
    *f = fopen(path, "w");
    if (!*f) {
      MTS_LOG(MTS_LOG_WARN, "sim: cannot write %s", path);
      return;
    }
  }
  fprintf(*f, "{\"rank\":%d,\"query\":%zu,\"model\":%d,\"first\":%d,\"last\":%d,\"version\":%d,\"asked\":%d,\"cores\":[",
          s->cfg->workers[b->worker].rank, b->query, b->model, b->first, b->last, b->version, b->asked);
  for (int i = 0; i < b->n; i++) fprintf(*f, "%s%d", i ? "," : "", b->cores[i]);
  fprintf(*f, "],\"start_us\":%lld,\"end_us\":%lld,\"predicted_us\":%.1f,\"status\":\"ok\"}\n", (long long)b->start,
          (long long)end, b->pred);
}

static int sim_wait(void *impl, int64_t deadline, int64_t expect, mts_completion_ev_t *ev) {
  mts_sim_t *s = impl;
  (void)expect;
  int best = -1;
  int64_t bf = 0;
  for (int i = 0; i < s->n_run; i++) {
    int64_t f = finish_of(s, &s->run[i]);
    if (best < 0 || f < bf || (f == bf && s->run[i].query < s->run[best].query)) {
      best = i;
      bf = f;
    }
  }
  if (best >= 0 && bf <= (deadline > s->now ? deadline : s->now)) {
    advance(s, bf);
    blk_t b = s->run[best];
    s->run[best] = s->run[--s->n_run];
    s->node_busy[s->cfg->workers[b.worker].node] -= b.n;
    s->dom_busy[s->dom_of[b.worker]] -= b.n;
    restime(s);
    memset(ev, 0, sizeof *ev);
    ev->query = b.query;
    ev->ok = 1;
    ev->exec_us = (double)(s->now - b.start);
    s->busy_us += ev->exec_us * b.n;
    s->blocks++;
    log_block(s, &b, s->now);
    return 1;
  }
  advance(s, deadline);
  return 0;
}

void mts_sim_transport(mts_sim_t *s, mts_transport_t *t) {
  t->impl = s;
  t->now = sim_now;
  t->dispatch = sim_dispatch;
  t->wait = sim_wait;
}
