/* policy_veltair.c — adaptive layer blocks with version selection (VELTAIR,
 * ASPLOS 2022), and the block planner that `layer` and `mts` share.
 *
 * DESIGN
 * - Budget: a query of tenant t (target Q) gives layer l the budget
 *   Q * solo(l) / solo(model), solo time taken at a reference core count
 *   cref = round(sqrt(largest home)) (shares barely move with the count;
 *   the middle of the range avoids both the serial and the saturated end).
 * - Minimal cores: minc(l) = fewest cores (up to the largest home) whose
 *   solo time fits the layer's budget; the fastest count when none does.
 * - Blocks, per tenant and level: level 1 is one layer per block; levels
 *   2..4 group consecutive layers whose minc are within a factor (1.5, 2,
 *   3) of each other, and never cut a block shorter than min_block_us x
 *   (1, 2, 4) (duration at the layers' minc); a short tail joins the block
 *   before it; level 5 is the whole model.  With a horizon (mts), no block
 *   at any level is longer than horizon x the tightest QoS target of any
 *   tenant (but for a single layer, or a tail shorter than horizon / 4
 *   joined to the block before it), and level 5 becomes "as long as the
 *   horizon allows".
 * - Granularity per query, chosen at its first block from the load (busy
 *   core fraction, backlog) and the recent conflict rate: under contention
 *   coarser blocks mean fewer dispatches and fewer fights over cores; at
 *   light load fine blocks follow the budget closely.
 * - Cores: the block's share of the query's remaining budget (deadline -
 *   now, split in proportion to solo time), times a margin (0.8: noise and
 *   interference make "exactly on schedule" late half the time), is its
 *   target; the block asks for the fewest cores whose predicted time (solo
 *   x predicted slowdown) meets it, else for the fastest count.  It accepts
 *   fewer, down to half (a conflict, counted by the core): accepting any
 *   count let blocks start on one core when they needed eight, which made
 *   their queries late (sim, 16 cores: satisfaction 0.35 vs 0.43).
 * - Version: per block, the version with the least predicted time under the
 *   interference expected on the worker's LLC domain and node.
 * The planner is pure: it reads the scheduler's views and its own tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/policy.h"
#include "runtime/mts.h"

typedef struct {
  int n_layers, n_cc, n_ver;
  double *pre;                 /* [n_ver][(n_layers + 1) * n_cc]: prefix sums of solo time */
  double *remmin;              /* [n_layers + 1]: sum of each layer's fastest time (any version) */
  double sens[MTS_SCHED_MAX_VERSIONS];
} vmodel_t;

typedef struct {
  double *budget;              /* [n_layers] */
  int *minc;                   /* [n_layers] */
  int *end[MTS_GRAN_LEVELS];   /* [n_layers]: end of the block containing l */
  int n_blocks[MTS_GRAN_LEVELS];
} vtenant_t;

typedef struct {
  mts__velt_opts_t o;
  int n_models, n_tenants;
  int cref, capmax;
  double min_block_us;
  vmodel_t *m;
  vtenant_t *t;
  unsigned char *qlev;         /* per query index: chosen level (0: none yet) */
  size_t cap_qlev;
} velt_t;

static inline double lt(const vmodel_t *vm, int v, int l, int c) {
  const double *p = vm->pre + (size_t)v * (size_t)(vm->n_layers + 1) * (size_t)vm->n_cc;
  return p[(l + 1) * vm->n_cc + c - 1] - p[l * vm->n_cc + c - 1];
}

/* Solo time of layers [a, b) with version v on c cores. */
static inline double bt(const vmodel_t *vm, int v, int a, int b, int c) {
  const double *p = vm->pre + (size_t)v * (size_t)(vm->n_layers + 1) * (size_t)vm->n_cc;
  if (c > vm->n_cc) c = vm->n_cc;
  return p[b * vm->n_cc + c - 1] - p[a * vm->n_cc + c - 1];
}

static void build_blocks(const vmodel_t *vm, const vtenant_t *vt, int level, double min_us, double max_us,
                         double tol, int *end, int *n_blocks) {
  int L = vm->n_layers;
  int nb = 0;
  if (level == 1 || level == MTS_GRAN_LEVELS) {
    for (int l = 0; l < L; l++) end[l] = level == 1 ? l + 1 : L;
    *n_blocks = level == 1 ? L : 1;
    return;
  }
  if (max_us < min_us) max_us = min_us;
  int start = 0, prev_start = -1;
  while (start < L) {
    int e = start + 1, lo = vt->minc[start], hi = lo;
    double dur = lt(vm, 0, start, lo);
    while (e < L) {
      int c = vt->minc[e];
      int nlo = c < lo ? c : lo, nhi = c > hi ? c : hi;
      double x = lt(vm, 0, e, c);
      /* cut when long enough and either the next layer needs a different
       * core count or the block would grow past the reaction horizon */
      if (dur >= min_us && ((double)nhi > tol * (double)nlo || dur + x > max_us)) break;
      lo = nlo;
      hi = nhi;
      dur += x;
      e++;
    }
    /* a tail shorter than the floor joins the block before it */
    if (e == L && dur < min_us && prev_start >= 0) {
      for (int l = prev_start; l < L; l++) end[l] = L;
      break;
    }
    for (int l = start; l < e; l++) end[l] = e;
    prev_start = start;
    start = e;
  }
  for (int l = 0; l < L; l = end[l]) nb++;
  *n_blocks = nb;
}

int mts__velt_init(mts_sched_t *s, const mts__velt_opts_t *o, void **state) {
  const mts_sched_config_t *cfg = mts_sched_config(s);
  velt_t *v = mts_xcalloc(1, sizeof *v);
  v->o = *o;
  v->n_models = cfg->n_models;
  v->n_tenants = cfg->n_tenants;
  for (int w = 0; w < cfg->n_workers; w++)
    if (cfg->workers[w].n_home > v->capmax) v->capmax = cfg->workers[w].n_home;
  v->cref = (int)lround(sqrt((double)v->capmax));
  if (v->cref < 1) v->cref = 1;
  v->min_block_us = cfg->min_block_us > 0 ? cfg->min_block_us : 500.0;
  v->m = mts_xcalloc((size_t)cfg->n_models, sizeof *v->m);
  for (int m = 0; m < cfg->n_models; m++) {
    const mts_model_prof_t *mp = &cfg->models[m];
    vmodel_t *vm = &v->m[m];
    vm->n_layers = mp->n_layers;
    vm->n_cc = mp->n_cc;
    vm->n_ver = mp->n_versions > 1 ? mp->n_versions : 1;
    size_t per = (size_t)(mp->n_layers + 1) * (size_t)mp->n_cc;
    vm->pre = mts_xcalloc((size_t)vm->n_ver * per, sizeof *vm->pre);
    for (int ver = 0; ver < vm->n_ver; ver++) {
      const double *src = vm->n_ver > 1 ? mp->ver_us + (size_t)ver * (size_t)mp->n_layers * (size_t)mp->n_cc
                                        : mp->layer_us;
      double *p = vm->pre + (size_t)ver * per;
      for (int c = 0; c < mp->n_cc; c++)
        for (int l = 0; l < mp->n_layers; l++)
          p[(l + 1) * mp->n_cc + c] = p[l * mp->n_cc + c] + src[l * mp->n_cc + c];
      vm->sens[ver] = mp->ver_sens[ver] > 0 ? mp->ver_sens[ver] : 1.0;
    }
    vm->remmin = mts_xcalloc((size_t)mp->n_layers + 1, sizeof *vm->remmin);
    int cap = v->capmax < mp->n_cc ? v->capmax : mp->n_cc;
    for (int l = mp->n_layers - 1; l >= 0; l--) {
      double best = -1;
      for (int ver = 0; ver < vm->n_ver; ver++)
        for (int c = 1; c <= cap; c++) {
          double x = lt(vm, ver, l, c);
          if (best < 0 || x < best) best = x;
        }
      vm->remmin[l] = vm->remmin[l + 1] + best;
    }
  }
  v->t = mts_xcalloc((size_t)cfg->n_tenants, sizeof *v->t);
  double hz = 0; /* the horizon: longest block, from the tightest target */
  if (v->o.horizon > 0) {
    for (int u = 0; u < cfg->n_tenants; u++)
      if (hz == 0 || cfg->tenant_qos_us[u] < hz) hz = cfg->tenant_qos_us[u];
    hz *= v->o.horizon;
  }
  for (int t = 0; t < cfg->n_tenants; t++) {
    const vmodel_t *vm = &v->m[cfg->tenant_model[t]];
    vtenant_t *vt = &v->t[t];
    int L = vm->n_layers, cap = v->capmax < vm->n_cc ? v->capmax : vm->n_cc;
    int cref = v->cref < vm->n_cc ? v->cref : vm->n_cc;
    double total = bt(vm, 0, 0, L, cref);
    vt->budget = mts_xcalloc((size_t)L, sizeof *vt->budget);
    vt->minc = mts_xcalloc((size_t)L, sizeof *vt->minc);
    for (int l = 0; l < L; l++) {
      vt->budget[l] = total > 0 ? cfg->tenant_qos_us[t] * lt(vm, 0, l, cref) / total : 0;
      int best = 1, found = 0;
      for (int c = 1; c <= cap; c++) {
        double x = lt(vm, 0, l, c);
        if (x < lt(vm, 0, l, best)) best = c;
        if (x <= vt->budget[l]) {
          vt->minc[l] = c;
          found = 1;
          break;
        }
      }
      if (!found) vt->minc[l] = best;
    }
    /* floor (x min_block_us), reaction horizon (x QoS), similarity */
    static const double floor_x[MTS_GRAN_LEVELS] = {0, 1, 2, 4, 4};
    static const double horizon[MTS_GRAN_LEVELS] = {0, 0.125, 0.25, 0.5, 0};
    static const double tol[MTS_GRAN_LEVELS] = {0, 1.5, 2, 3, 0};
    for (int g = 1; g <= MTS_GRAN_LEVELS; g++) {
      vt->end[g - 1] = mts_xcalloc((size_t)L, sizeof(int));
      double max_us = cfg->tenant_qos_us[t] * horizon[g - 1], tolg = tol[g - 1];
      if (hz > 0 && g > 1 && (g == MTS_GRAN_LEVELS || max_us > hz)) {
        max_us = hz;
        if (g == MTS_GRAN_LEVELS) tolg = 1e9; /* cut by length only */
      }
      double floor_us = v->min_block_us * floor_x[g - 1];
      if (hz > 0 && floor_us > hz / 4) floor_us = hz / 4; /* the horizon wins over the floor */
      build_blocks(vm, vt, g == MTS_GRAN_LEVELS && hz > 0 ? MTS_GRAN_LEVELS - 1 : g, floor_us, max_us, tolg,
                   vt->end[g - 1], &vt->n_blocks[g - 1]);
    }
  }
  *state = v;
  return 0;
}

void mts__velt_fini(void *state) {
  velt_t *v = state;
  if (!v) return;
  for (int m = 0; m < v->n_models; m++) {
    free(v->m[m].pre);
    free(v->m[m].remmin);
  }
  free(v->m);
  for (int t = 0; t < v->n_tenants; t++) {
    free(v->t[t].budget);
    free(v->t[t].minc);
    for (int g = 0; g < MTS_GRAN_LEVELS; g++) free(v->t[t].end[g]);
  }
  free(v->t);
  free(v->qlev);
  free(v);
}

static velt_t *st(const mts_sched_t *s) { return mts_sched_policy_state(s); }

static int choose_level(const mts_sched_t *s, const velt_t *v) {
  if (v->o.fixed_level > 0) return v->o.fixed_level;
  const mts_sched_config_t *cfg = mts_sched_config(s);
  if (cfg->fixed_gran > 0 && cfg->fixed_gran <= MTS_GRAN_LEVELS) return cfg->fixed_gran;
  double busy = mts_sched_busy_fraction(s), cr = mts_sched_conflict_rate(s);
  size_t backlog = mts_sched_n_waiting(s);
  int level = 2;
  if (busy > 0.75 || cr > 0.25) level = 3;
  if ((busy > 0.9 && cr > 0.5) || backlog > (size_t)cfg->n_workers) level = 4;
  if (v->o.coarse) {
    /* mts: once other queries compete for the cores (half of them busy, or
     * anyone waiting), a query that has started should not have to win
     * cores again at every block boundary: whole-model blocks.  Sim,
     * veltair profile, 16 cores at rate-scale 1.3: 0.78 -> 0.88; 64 cores
     * in 4 domains at 5.2: 0.71 -> 0.90. */
    level = busy > 0.5 || backlog > 0 ? MTS_GRAN_LEVELS : 3;
  }
  return level;
}

static int query_level(const mts_sched_t *s, velt_t *v, const mts_query_t *q) {
  size_t qi = mts_sched_qindex(s, q);
  if (qi >= v->cap_qlev) {
    size_t cap = v->cap_qlev ? v->cap_qlev : 1024;
    while (cap <= qi) cap *= 2;
    if (cap < mts_sched_reserved(s)) cap = mts_sched_reserved(s); /* once, at the table's size */
    v->qlev = mts_xrealloc(v->qlev, cap);
    memset(v->qlev + v->cap_qlev, 0, cap - v->cap_qlev);
    v->cap_qlev = cap;
  }
  /* chosen (again) until the first block is dispatched, then kept */
  if (q->blocks == 0 || !v->qlev[qi]) v->qlev[qi] = (unsigned char)choose_level(s, v);
  return v->qlev[qi];
}

int mts__velt_plan(const mts_sched_t *s, const mts_query_t *q, int free_cores, int64_t now_us,
                   mts_plan_t *out) {
  velt_t *v = st(s);
  const mts_sched_config_t *cfg = mts_sched_config(s);
  const vmodel_t *vm = &v->m[q->model];
  int w = mts_sched_plan_worker(s);
  int level = query_level(s, v, q);
  int a = q->next_layer, b = v->t[q->tenant].end[level - 1][a];
  int L = vm->n_layers;
  int cap = w >= 0 ? cfg->workers[w].n_home : v->capmax;
  if (cap > vm->n_cc) cap = vm->n_cc;
  int cref = v->cref < vm->n_cc ? v->cref : vm->n_cc;
  /* the block's share of what is left of the budget */
  double left = (double)(q->deadline_us - now_us);
  double rest = bt(vm, 0, a, L, cref), blk = bt(vm, 0, a, b, cref);
  double target = (rest > 0 ? left * blk / rest : left) * (v->o.margin > 0 ? v->o.margin : 1.0);
  int nv = v->o.versions ? vm->n_ver : 1;
  double slow[MTS_SCHED_MAX_VERSIONS];
  for (int ver = 0; ver < nv; ver++) slow[ver] = mts_sched_slowdown(s, w, vm->sens[ver]);
  int ask = -1, cbest = 1, exact = -1;
  double tbest = -1, margin = v->o.margin > 0 ? v->o.margin : 1.0;
  for (int c = 1; c <= cap; c++) {
    double tc = -1;
    for (int ver = 0; ver < nv; ver++) {
      double x = bt(vm, ver, a, b, c) * slow[ver];
      if (tc < 0 || x < tc) tc = x;
    }
    if (tbest < 0 || tc < tbest) {
      tbest = tc;
      cbest = c;
    }
    if (exact < 0 && tc * margin <= target) exact = c; /* on schedule without the margin */
    if (tc <= target) {
      ask = c;
      break;
    }
  }
  if (ask < 0) {
    /* The block's share of the budget cannot be met.  Rather than the
     * fastest count at any price (under overload every query is behind,
     * and taking all cores for a few percent halves throughput), ask for
     * the fewest cores that still meet the whole remaining slack, else the
     * fewest within 5% of the fastest. */
    for (int c = 1; c <= cap && ask < 0; c++) {
      double tc = -1;
      for (int ver = 0; ver < nv; ver++) {
        double x = bt(vm, ver, a, L, c) * slow[ver];
        if (tc < 0 || x < tc) tc = x;
      }
      if (tc <= left) ask = c;
    }
    for (int c = 1; c <= cbest && ask < 0; c++) {
      double tc = -1;
      for (int ver = 0; ver < nv; ver++) {
        double x = bt(vm, ver, a, b, c) * slow[ver];
        if (tc < 0 || x < tc) tc = x;
      }
      if (tc <= tbest * 1.05) ask = c;
    }
    if (ask < 0) ask = cbest;
  }
  if (exact < 0 || exact > ask) exact = ask;
  if (v->o.greedy > 0 && free_cores > ask) {
    /* Idle cores help nobody: take more of the free cores while they stay
     * efficient — core-time t(c) * c within 1/greedy_eff of the schedule-
     * keeping count's — and while they still speed the block up.  On
     * curves that scale well the block takes the whole domain and runs
     * without co-runners (no interference); where scaling flattens (the
     * 3990X beyond ~32 threads) it leaves the rest to others. */
    /* Not "leave a core to each other ready query": in the sim that took
     * light on 16 cores from 1.45x fcfs's max load to 1.07x, and on 2 from
     * 3.7x to 1.6x (a query alone on its cores runs without co-runner
     * interference; under a burst the queue drains as fast in sequence).
     * Where the extra cores scale badly the efficiency bound below already
     * keeps the block small (MobileNetV2, live: 3.9 ms on 1 core, 2.9 on 2:
     * 0.67 < 0.7). */
    /* How much core-time the extra cores may cost: what sharing would cost
     * instead — the slowdown of this block on `ask` cores if the free cores
     * it leaves went to others, under the interference the scheduler has
     * learned for this machine — and never more than 1/greedy_eff.  With
     * the default model that is 1.4 on 2 cores (1/0.7 = 1.43: unchanged);
     * on a machine where co-runners cost little (this project's 2-vCPU VM:
     * about 1.05x beside a busy node) a block keeps to the cores it
     * needs, leaving the rest to the next arrival instead of holding every
     * core with a block that runs at 58-86% efficiency. */
    int c2 = free_cores;
    if (c2 > cap) c2 = cap;
    double base = bt(vm, 0, a, b, ask) * ask, tb = bt(vm, 0, a, b, ask);
    double share = mts_sched_slowdown_shared(s, w, vm->sens[0], c2 - ask);
    double allow = v->o.greedy_eff > 0 && 1 / v->o.greedy_eff < share ? 1 / v->o.greedy_eff : share;
    int cb = ask;
    for (int c = ask + 1; c <= c2; c++) {
      double x = bt(vm, 0, a, b, c);
      if (x * c > base * allow) break;
      if (x < tb * 0.98) {
        tb = x;
        cb = c;
      }
    }
    ask = cb;
  }
  int got = ask < free_cores ? ask : free_cores;
  if (got < 1) got = 1;
  int vbest = 0;
  double pbest = -1;
  for (int ver = 0; ver < nv; ver++) {
    double x = bt(vm, ver, a, b, got) * slow[ver];
    if (pbest < 0 || x < pbest) {
      pbest = x;
      vbest = ver;
    }
  }
  int div = v->o.min_cores_div > 1 ? v->o.min_cores_div : 1;
  out->last = b;
  out->n_cores = ask;
  out->min_cores = v->o.min_cores_div < 0 ? exact : div > 1 ? (ask + div - 1) / div : 1;
  out->version = vbest;
  out->predicted_us = pbest;
  double corr = mts_sched_correction(s);
  out->raw_us = corr > 0 ? pbest / corr : pbest;
  return 1;
}

double mts__velt_remaining_us(const mts_sched_t *s, const mts_query_t *q) {
  velt_t *v = st(s);
  const vmodel_t *vm = &v->m[q->model];
  int cref = v->cref < vm->n_cc ? v->cref : vm->n_cc;
  return bt(vm, 0, q->next_layer, vm->n_layers, cref) * mts_sched_correction(s);
}

double mts__velt_best_remaining_us(const mts_sched_t *s, const mts_query_t *q) {
  velt_t *v = st(s);
  const vmodel_t *vm = &v->m[q->model];
  double minsens = vm->sens[0];
  for (int ver = 1; ver < vm->n_ver; ver++)
    if (vm->sens[ver] < minsens) minsens = vm->sens[ver];
  (void)minsens;
  return vm->remmin[q->next_layer] * mts_sched_correction(s);
}

double mts__velt_budget_us(const mts_sched_t *s, int tenant, int layer) {
  return st(s)->t[tenant].budget[layer];
}

int mts__velt_block_end(const mts_sched_t *s, int tenant, int level, int layer) {
  return st(s)->t[tenant].end[level - 1][layer];
}

int mts__velt_n_blocks(const mts_sched_t *s, int tenant, int level) {
  return st(s)->t[tenant].n_blocks[level - 1];
}

int mts__velt_query_level(const mts_sched_t *s, const mts_query_t *q) {
  velt_t *v = st(s);
  size_t qi = mts_sched_qindex(s, q);
  return qi < v->cap_qlev ? v->qlev[qi] : 0;
}

int mts__velt_cref(const mts_sched_t *s) { return st(s)->cref; }

/* ---- the veltair policy --------------------------------------------------
 * Ready queries in arrival order (a query that cannot run does not hold
 * back the others); blocks and cores from the planner above. */
static int veltair_init(mts_sched_t *s, void **state) {
  /* the paper's blocks by default; an explicit --horizon applies here too
   * (to measure what the horizon alone is worth) */
  double hz = mts_sched_config(s)->horizon;
  mts__velt_opts_t o = {.fixed_level = 0, .versions = 1, .min_cores_div = 2, .margin = 0.8, .horizon = hz > 0 ? hz : 0};
  return mts__velt_init(s, &o, state);
}

static double veltair_priority(const mts_sched_t *s, const mts_query_t *q, int64_t now_us) {
  (void)s;
  (void)now_us;
  return (double)q->arrival_us;
}

const mts_policy_t mts__policy_veltair = {
    .name = "veltair",
    .priority = veltair_priority,
    .plan = mts__velt_plan,
    .strict_order = 0,
    .init = veltair_init,
    .fini = mts__velt_fini,
    .const_priority = 1,
};
