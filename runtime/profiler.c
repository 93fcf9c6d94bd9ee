/* profiler.c — measuring a model's per-layer profile (see profiler.h):
 * solo and co-run timings per core count and version, the traffic estimate
 * and optional LLC-miss counts, and the Pareto set of useful versions.
 * The co-runner threads and the perf counters live in profiler_load.c. */
#include "runtime/profiler.h"

#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/affinity.h"
#include "runtime/exec_int.h"
#include "runtime/mts.h"
#include "runtime/profiler_int.h"

#define PARETO_MARGIN 0.03
#define CORUN_SETTLE_US 3000

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The per-layer estimate over n runs: the minimum.  Noise on a shared
 * machine is one-sided (preemption, other tenants' cache and memory use
 * only ever add time), so the fastest run is the best estimate of both
 * the solo time and the time under our own, controlled co-runner; medians
 * of a handful of runs moved by tens of percent from one profile to the
 * next while other engineers' jobs ran here. */
static double estimate(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

uint32_t mts_prof_pareto_set(const double *solo, const double *loaded, int n) {
  int order[MTS_PROF_MAX_VER];
  uint32_t set = 0;
  if (n <= 0) return 0;
  if (n > MTS_PROF_MAX_VER) n = MTS_PROF_MAX_VER;
  for (int i = 0; i < n; i++) order[i] = i;
  /* by solo time (ties: lower index first) */
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && solo[order[j - 1]] > solo[order[j]]; j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  /* Walk from the fastest solo version: a slower one is kept only if it is
   * meaningfully faster under interference than every one kept so far. */
  set = 1u << order[0];
  double best = loaded[order[0]] > 0 ? loaded[order[0]] : 0;
  if (best <= 0) return set; /* no co-run measurement: the fastest solo only */
  for (int i = 1; i < n; i++) {
    int v = order[i];
    if (loaded[v] > 0 && loaded[v] < best * (1.0 - PARETO_MARGIN)) {
      set |= 1u << v;
      best = loaded[v];
    }
  }
  return set;
}

double mts_prof_slowdown_max(const mts_prof_t *p, int l, int v, int c) {
  const mts_prof_layer_t *L = &p->layers[l];
  double s = 0;
  if (v < 0 || v >= L->n_ver || c < 0 || c >= p->n_cc) return 0;
  for (int k = 0; k < p->n_levels; k++) {
    double x = L->slowdown[((size_t)v * (size_t)p->n_cc + (size_t)c) * (size_t)p->n_levels + (size_t)k];
    if (x > s) s = x;
  }
  return s;
}

void mts_prof_pareto(mts_prof_t *p) {
  for (int l = 0; l < p->n_layers; l++) {
    mts_prof_layer_t *L = &p->layers[l];
    for (int c = 0; c < p->n_cc; c++) {
      double solo[MTS_PROF_MAX_VER], loaded[MTS_PROF_MAX_VER];
      for (int v = 0; v < L->n_ver; v++) {
        solo[v] = L->solo_us[v * p->n_cc + c];
        double s = mts_prof_slowdown_max(p, l, v, c);
        loaded[v] = s > 0 ? solo[v] * s : 0;
      }
      L->useful[c] = mts_prof_pareto_set(solo, loaded, L->n_ver);
    }
  }
}

void mts_prof_summarize(const mts_prof_t *p, mts_prof_summary_t *s) {
  memset(s, 0, sizeof *s);
  for (int l = 0; l < p->n_layers; l++) {
    const mts_prof_layer_t *L = &p->layers[l];
    int multi = 0;
    if (L->n_ver > s->max_versions) s->max_versions = L->n_ver;
    for (int c = 0; c < p->n_cc; c++) {
      uint32_t u = L->useful[c];
      int nu = 0, bs = 0;
      for (int v = 0; v < L->n_ver; v++) nu += (u >> v) & 1;
      if (!(u & 1u)) s->layers_v0_dominated_cc[c]++;
      if (nu > 1) {
        s->layers_multi_cc[c]++;
        multi = 1;
      }
      double best_loaded = 0;
      for (int v = 0; v < L->n_ver; v++) {
        if (L->solo_us[v * p->n_cc + c] < L->solo_us[bs * p->n_cc + c]) bs = v;
        double sd = mts_prof_slowdown_max(p, l, v, c);
        double ld = L->solo_us[v * p->n_cc + c] * sd;
        if (sd > 0 && (best_loaded == 0 || ld < best_loaded)) best_loaded = ld;
      }
      s->v0_solo_us[c] += L->solo_us[c];
      s->best_solo_us[c] += L->solo_us[bs * p->n_cc + c];
      double sd0 = mts_prof_slowdown_max(p, l, 0, c);
      if (sd0 > 0) {
        s->v0_loaded_us[c] += L->solo_us[c] * sd0;
        s->best_loaded_us[c] += best_loaded;
      }
      for (int k = 0; k < p->n_levels; k++)
        s->slowdown[c][k] += L->solo_us[c] * L->slowdown[(size_t)c * (size_t)p->n_levels + (size_t)k];
      if (c == 0) {
        s->v0_bytes += L->bytes[0];
        s->best_solo_bytes += L->bytes[bs];
      }
    }
    s->layers_multi += multi;
  }
  for (int c = 0; c < p->n_cc; c++)
    for (int k = 0; k < p->n_levels; k++)
      s->slowdown[c][k] = s->v0_solo_us[c] > 0 ? s->slowdown[c][k] / s->v0_solo_us[c] : 0;
}

void mts_prof_destroy(mts_prof_t *p) {
  if (!p) return;
  for (int l = 0; l < p->n_layers && p->layers; l++) {
    mts_prof_layer_t *L = &p->layers[l];
    free(L->name);
    free(L->op);
    for (int v = 0; v < MTS_PROF_MAX_VER; v++) free(L->ver_name[v]);
    free(L->solo_us);
    free(L->slowdown);
    free(L->llc_bytes);
  }
  free(p->layers);
  free(p->model_name);
  free(p);
}

/* Allocates the per-layer arrays of a profile with n_layers layers; the
 * caller has set n_cc and n_levels and sets each layer's n_ver first. */
void mts__prof_alloc_layer(mts_prof_t *p, mts_prof_layer_t *L, int with_llc) {
  size_t nv = (size_t)(L->n_ver > 0 ? L->n_ver : 1), nc = (size_t)p->n_cc;
  size_t nlev = (size_t)(p->n_levels > 0 ? p->n_levels : 1);
  L->solo_us = mts_xcalloc(nv * nc, sizeof(double));
  L->slowdown = mts_xcalloc(nv * nc * nlev, sizeof(double));
  L->llc_bytes = with_llc ? mts_xcalloc(nv * nc, sizeof(double)) : NULL;
}

/* Bytes of every operand of every step of version v of layer l: what the
 * version would move if nothing stayed in cache (weights, activations, the
 * reorders of its layout).  An estimate; see profiler.h. */
static double version_bytes(const mts_model_t *m, int l, int v) {
  const mts__layer_t *L = &m->layers[l];
  double b = 0;
  if (v >= L->n_ver) v = 0;
  for (int s = L->s0[v]; s < L->s1[v]; s++) {
    const mts__step_t *st = &m->steps[s];
    for (int a = 0; a < st->n_args; a++) b += (double)dnnl_memory_desc_get_size(&st->args[a].md);
  }
  return b;
}

void mts_prof_key(mts_prof_t *p, const mts_model_t *m, const int *cc, int n_cc) {
  mts_topology_t *t = mts_xcalloc(1, sizeof *t);
  const dnnl_version_t *dv = dnnl_version();
  free(p->model_name);
  p->model_name = mts_xstrdup(mts_model_name(m));
  p->model_hash = mts_model_hash(m);
  if (mts_topology_read(t) != 0) snprintf(t->cpu_model, sizeof t->cpu_model, "unknown");
#ifndef MTS_BUILD_FLAVOR
#define MTS_BUILD_FLAVOR "unknown"
#endif
  /* the build flavour is part of the machine: sanitizer builds run slower */
  snprintf(p->cpu_model, sizeof p->cpu_model, "%.100s [%s]", t->cpu_model, MTS_BUILD_FLAVOR);
  snprintf(p->dnnl_version, sizeof p->dnnl_version, "%d.%d.%d", dv->major, dv->minor, dv->patch);
  p->n_cc = n_cc < MTS_PROF_MAX_CC ? n_cc : MTS_PROF_MAX_CC;
  for (int i = 0; i < p->n_cc; i++) p->cc[i] = cc[i];
  free(t);
}

/* The deterministic input pattern (the same as the worker's). */
static int fill_inputs(const mts_model_t *m, mts_ctx_t *ctx) {
  int nd = 0, rc;
  int64_t dims[MTS_MAX_DIMS];
  if ((rc = mts_model_input_shape(m, 0, &nd, dims)) != 0) return rc;
  size_t n = 1;
  for (int d = 0; d < nd; d++) n *= (size_t)dims[d];
  float *x = malloc(n * sizeof *x);
  if (!x) return mts_seterr(MTS_ENOMEM, "profile '%s': input of %zu floats", mts_model_name(m), n);
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((double)(uint32_t)(i * 2654435761u) / 4294967296.0 * 2.0 - 1.0);
  rc = mts_ctx_set_input(ctx, 0, x, n);
  free(x);
  return rc;
}

#define MAX_MODES (1 + MTS__CORUN_LEVELS)

typedef struct {
  const mts_model_t *m;
  mts_ctx_t *ctx;
  int nl, n_ver, n_modes, rounds;
  double *layer_us;   /* [nl] scratch */
  double *per;        /* [ver][mode][nl][rounds] */
  double *tot;        /* [ver][rounds]: solo whole runs */
  double *med;        /* [ver][mode][nl]: per-layer estimates (see estimate()) */
  double tmin[MTS_PROF_MAX_VER]; /* fastest whole solo run per version */
  int rounds_done, rounds_cut;   /* rounds measured; 1 if the budget cut them */
} meas_t;

#define PER(ms, v, md, l) \
  (&(ms)->per[((((size_t)(v) * (size_t)(ms)->n_modes + (size_t)(md)) * (size_t)(ms)->nl) + (size_t)(l)) * (size_t)(ms)->rounds])
#define MED(ms, v, md, l) \
  ((ms)->med[((size_t)(v) * (size_t)(ms)->n_modes + (size_t)(md)) * (size_t)(ms)->nl + (size_t)(l)])

/* Times every version on k cores: one warm-up run per version, then
 * `rounds` rounds; a round runs each version solo and then under each
 * co-runner level (mode m runs level m - 1; only in the first co_rounds
 * rounds).  Interleaving versions and levels run by run pairs every timing
 * with the others' taken moments apart: on a machine shared with other
 * work, comparisons between versions and solo/co-run ratios stay honest
 * while the background load comes and goes. */
static int measure(meas_t *ms, mts__corun_t *co, int k, int rounds, int co_rounds, int64_t deadline_us,
                   mts_prof_progress_fn progress, void *arg, const char *name, int *done, int total) {
  int rc = 0, nm = co ? ms->n_modes : 1, want = rounds;
  for (int it = -1; it < rounds && !rc; it++) {
    for (int v = 0; v < ms->n_ver && !rc; v++) {
      for (int md = 0; md < nm; md++) {
        if (md > 0 && (it < 0 || it >= co_rounds)) break;
        if (co) {
          mts__corun_set(co, md - 1);
          if (md > 0) mts_sleep_us(CORUN_SETTLE_US);
        }
        int64_t s = mts_now_us();
        if ((rc = mts_model_run(ms->m, ms->ctx, 0, ms->nl, k, v, ms->layer_us)) != 0) break;
        if (it < 0) continue;
        if (md == 0) ms->tot[(size_t)v * (size_t)ms->rounds + (size_t)it] = (double)(mts_now_us() - s);
        for (int l = 0; l < ms->nl; l++) PER(ms, v, md, l)[it] = ms->layer_us[l];
      }
    }
    if (co) mts__corun_set(co, -1);
    if (!rc && it >= 0 && progress) {
      char what[128];
      snprintf(what, sizeof what, "%d core%s, round %d/%d (%d versions%s)", k, k > 1 ? "s" : "", it + 1, rounds,
               ms->n_ver, co && it < co_rounds ? ", solo and co-run" : ", solo");
      progress(arg, name, ++*done, total, what);
    }
    /* over the time budget: stop after two rounds (one co-run round) */
    if (!rc && deadline_us > 0 && it >= 1 && it + 1 < rounds && mts_now_us() > deadline_us) {
      *done += rounds - (it + 1);
      if (progress) {
        char what[128];
        snprintf(what, sizeof what, "%d core%s, time budget reached after %d rounds", k, k > 1 ? "s" : "", it + 1);
        progress(arg, name, *done, total, what);
      }
      rounds = it + 1;
      if (co_rounds > rounds) co_rounds = rounds;
    }
  }
  if (rc) return rc;
  ms->rounds_done = rounds;
  ms->rounds_cut = rounds < want;
  for (int v = 0; v < ms->n_ver; v++) {
    for (int md = 0; md < nm; md++)
      for (int l = 0; l < ms->nl; l++) MED(ms, v, md, l) = estimate(PER(ms, v, md, l), md ? co_rounds : rounds);
    double *t = &ms->tot[(size_t)v * (size_t)ms->rounds];
    qsort(t, (size_t)rounds, sizeof *t, cmp_d);
    ms->tmin[v] = t[0];
  }
  return 0;
}

/* CPU seconds the given cores spent busy (anything but idle and iowait,
 * steal included) since boot, from /proc/stat; < 0 when unreadable. */
static double cores_busy_s(const int *cores, int n) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  char line[512];
  double busy = 0;
  int found = 0;
  long hz = sysconf(_SC_CLK_TCK);
  while (fgets(line, sizeof line, f)) {
    int cpu;
    unsigned long long v[8] = {0};
    if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7]) < 8)
      continue;
    for (int i = 0; i < n; i++)
      if (cores[i] == cpu) {
        /* user nice system [idle iowait] irq softirq steal */
        busy += (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
        found++;
      }
  }
  fclose(f);
  return found == n && hz > 0 ? busy / (double)hz : -1;
}

/* CPU seconds this process has used (all threads, the co-runner's too). */
static double self_cpu_s(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static void note(mts_prof_t *p, const char *s) {
  size_t o = strlen(p->notes);
  if (strstr(p->notes, s)) return;
  snprintf(p->notes + o, sizeof p->notes - o, "%s%s", o ? "; " : "", s);
}

int mts_profile_model(const mts_model_t *m, const int *cores, int n_cores, const int *cc, int n_cc,
                      const mts_prof_opts_t *opts, mts_prof_progress_fn progress, void *arg,
                      mts_prof_t **out) {
  mts_prof_opts_t o = opts ? *opts : (mts_prof_opts_t){0};
  int rc = 0, nl = mts_model_n_layers(m), max_ver = 1, saved_threads = omp_get_max_threads();
  int64_t t0 = mts_now_us();
  mts_prof_t *p = NULL;
  mts_ctx_t *ctx = NULL;
  mts__corun_t *co = NULL;
  mts__llc_counter_t *ctr = NULL;
  meas_t ms = {0};
  mts_topology_t *topo = mts_xcalloc(1, sizeof *topo);
  *out = NULL;
  if (o.iters <= 0) o.iters = 5;
  if (o.co_iters <= 0) o.co_iters = 3;
  if (o.n_levels == 0) o.n_levels = 3;
  if (o.n_levels < 0) o.n_levels = 0;
  if (o.n_levels > MTS__CORUN_LEVELS) o.n_levels = MTS__CORUN_LEVELS;
  if (n_cc < 1 || n_cc > MTS_PROF_MAX_CC || n_cores < 1) {
    rc = mts_seterr(MTS_EINVAL, "profile '%s': need 1..%d core counts and some cores", mts_model_name(m),
                    MTS_PROF_MAX_CC);
    goto out;
  }
  for (int i = 0; i < n_cc; i++)
    if (cc[i] < 1 || cc[i] > n_cores || !mts_model_has_cores(m, cc[i])) {
      rc = mts_seterr(MTS_EINVAL, "profile '%s': core count %d is not compiled or exceeds the %d cores given",
                      mts_model_name(m), cc[i], n_cores);
      goto out;
    }
  if ((rc = mts_topology_read(topo)) != 0) goto out;
  if (o.llc_bytes <= 0) o.llc_bytes = topo->llc_bytes > 0 ? topo->llc_bytes : 32ll << 20;

  p = mts_xcalloc(1, sizeof *p);
  mts_prof_key(p, m, cc, n_cc);
  p->n_levels = o.n_levels;
  for (int k = 0; k < p->n_levels; k++) snprintf(p->level_name[k], sizeof p->level_name[k], "%s", mts__corun_level_name(k));
  p->n_layers = nl;
  p->layers = mts_xcalloc((size_t)nl + 1, sizeof *p->layers);

  /* Counters: detected once; without them the traffic is the estimate only. */
  char why[256] = "";
  if (!o.no_counters && !(getenv("MTS_NO_PERF") && !strcmp(getenv("MTS_NO_PERF"), "1")))
    p->counters = mts__llc_counter_probe(why, sizeof why);
  else
    snprintf(why, sizeof why, "disabled");
  if (!p->counters) {
    char s[400];
    snprintf(s, sizeof s, "memory traffic is an estimate from operand sizes (no LLC-miss counters: %s)", why);
    note(p, s);
  }
  for (int l = 0; l < nl; l++) {
    mts_prof_layer_t *L = &p->layers[l];
    L->name = mts_xstrdup(mts_model_layer_name(m, l));
    L->op = mts_xstrdup(mts_op_name(mts_model_layer_op(m, l)));
    L->flops = mts_model_layer_flops(m, l);
    L->n_ver = mts_model_n_versions(m, l, cc[0]);
    if (L->n_ver > MTS_PROF_MAX_VER) L->n_ver = MTS_PROF_MAX_VER;
    if (L->n_ver < 1) L->n_ver = 1;
    if (L->n_ver > max_ver) max_ver = L->n_ver;
    for (int v = 0; v < L->n_ver; v++) {
      const char *vn = mts_model_version_name(m, l, v);
      L->ver_name[v] = mts_xstrdup(vn ? vn : "?");
      L->bytes[v] = version_bytes(m, l, v);
    }
    mts__prof_alloc_layer(p, L, p->counters);
  }

  if ((rc = mts_ctx_create(m, &ctx)) != 0 || (rc = fill_inputs(m, ctx)) != 0) goto out;
  ms.m = m;
  ms.ctx = ctx;
  ms.nl = nl;
  ms.n_ver = max_ver;
  ms.n_modes = 1 + p->n_levels;
  ms.rounds = o.iters > o.co_iters ? o.iters : o.co_iters;
  ms.layer_us = mts_xcalloc((size_t)nl, sizeof(double));
  ms.per = mts_xcalloc((size_t)max_ver * (size_t)ms.n_modes * (size_t)nl * (size_t)ms.rounds, sizeof(double));
  ms.tot = mts_xcalloc((size_t)max_ver * (size_t)ms.rounds, sizeof(double));
  ms.med = mts_xcalloc((size_t)max_ver * (size_t)ms.n_modes * (size_t)nl, sizeof(double));

  /* What other processes take from the measured cores meanwhile: their busy
   * time less ours (a quiet profile is what the cache may keep). */
  double busy0 = cores_busy_s(cores, n_cores), self0 = self_cpu_s();
  int64_t wall0 = mts_now_us();
  int total = n_cc * ms.rounds, done = 0;
  for (int c = 0; c < n_cc && !rc; c++) {
    int k = cc[c];
    /* Co-runner cores: the given cores this count leaves free, in the LLC
     * domain of the measured run. */
    int co_cores[MTS_MAX_CORES], n_co = 0, dom = -1;
    for (int i = 0; i < topo->n_cores; i++)
      if (topo->cores[i] == cores[0]) dom = topo->llc_of[i];
    for (int j = k; j < n_cores; j++)
      for (int i = 0; i < topo->n_cores; i++)
        if (topo->cores[i] == cores[j] && (dom < 0 || topo->llc_of[i] == dom)) co_cores[n_co++] = cores[j];
    if (p->n_levels > 0 && n_co == 0) {
      char s[160];
      snprintf(s, sizeof s, "no co-runner at %d core%s: no free core in the measured run's LLC domain", k,
               k > 1 ? "s" : "");
      note(p, s);
    }
    if (p->n_levels > 0 && n_co > 0 && (rc = mts__corun_start(&co, co_cores, n_co, o.llc_bytes)) != 0) break;
    if ((rc = mts_bind_omp_team(cores, k)) != 0) break;
    omp_set_num_threads(k);
    int co_rounds = co ? o.co_iters : 0;
    /* time budget: what is left, shared equally by the remaining counts */
    int64_t deadline = 0;
    if (o.budget_s > 0) {
      int64_t left = t0 + (int64_t)(o.budget_s * 1e6) - mts_now_us();
      deadline = mts_now_us() + (left > 0 ? left : 0) / (n_cc - c);
    }
    if ((rc = measure(&ms, co, k, ms.rounds, co_rounds, deadline, progress, arg, p->model_name, &done, total)) != 0)
      break;
    if (ms.rounds_cut) {
      char s[160];
      snprintf(s, sizeof s, "time budget %.0f s: %d core%s measured with %d of %d rounds", o.budget_s, k,
               k > 1 ? "s" : "", ms.rounds_done, ms.rounds);
      note(p, s);
    }
    for (int v = 0; v < max_ver; v++) {
      double sum = 0;
      for (int l = 0; l < nl; l++) sum += MED(&ms, v, 0, l);
      /* per-layer estimates rescaled to the fastest whole run (which also
       * holds what falls between layers) */
      double f = sum > 0 ? ms.tmin[v] / sum : 1.0;
      for (int l = 0; l < nl; l++) {
        mts_prof_layer_t *L = &p->layers[l];
        double s0 = MED(&ms, v, 0, l);
        if (v >= L->n_ver) continue;
        L->solo_us[v * n_cc + c] = s0 * f;
        for (int lev = 0; co && lev < p->n_levels; lev++)
          if (s0 > 0)
            L->slowdown[((size_t)v * (size_t)n_cc + (size_t)c) * (size_t)p->n_levels + (size_t)lev] =
                MED(&ms, v, 1 + lev, l) / s0;
      }
      if (v == 0) p->model_us[c] = ms.tmin[0];
      if (p->counters) {
        if ((rc = mts__llc_counter_open(&ctr, k)) != 0) break;
        for (int l = 0; l < nl; l++) {
          double before = mts__llc_counter_read(ctr);
          if ((rc = mts_model_run(m, ctx, l, l + 1, k, v, NULL)) != 0) break;
          mts_prof_layer_t *L = &p->layers[l];
          if (v < L->n_ver) L->llc_bytes[v * n_cc + c] = (mts__llc_counter_read(ctr) - before) * 64.0;
        }
        mts__llc_counter_close(ctr);
        ctr = NULL;
        if (rc) break;
      }
    }
    mts__corun_stop(co);
    co = NULL;
  }
  if (rc) goto out;
  double busy1 = cores_busy_s(cores, n_cores), wall_s = (double)(mts_now_us() - wall0) / 1e6;
  p->others_cpu = -1;
  if (busy0 >= 0 && busy1 >= 0 && wall_s > 0) {
    double others = (busy1 - busy0) - (self_cpu_s() - self0);
    /* Below MTS_PROF_MIN_OTHERS_S in all it is a blip (another rank
     * starting up beside a profile of a few tens of ms), not a co-runner. */
    p->others_cpu = others > MTS_PROF_MIN_OTHERS_S ? others / (wall_s * n_cores) : 0;
    if (p->others_cpu > MTS_PROF_MAX_OTHERS) {
      char s[200];
      snprintf(s, sizeof s, "other processes took %.0f%% of the measured cores: timings disturbed, not cached",
               100 * p->others_cpu);
      note(p, s);
    }
  }
  mts_prof_pareto(p);
  p->profile_s = (double)(mts_now_us() - t0) / 1e6;

out:
  if (co) mts__corun_stop(co);
  if (ctr) mts__llc_counter_close(ctr);
  omp_set_num_threads(saved_threads);
  mts_ctx_destroy(ctx);
  free(ms.layer_us);
  free(ms.per);
  free(ms.tot);
  free(ms.med);
  free(topo);
  if (rc) {
    if (p) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s", mts_errmsg()); /* seterr writes the buffer errmsg returns */
      rc = mts_seterr(rc, "profile '%s': %s", p->model_name, msg);
    }
    mts_prof_destroy(p);
    return rc;
  }
  *out = p;
  return 0;
}
