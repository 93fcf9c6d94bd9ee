/* worker.c — a worker rank (see worker.h). */
#include "workers/worker.h"
#include "workers/validate.h"

#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "models/zoo.h"
#include "proto/msg.h"
#include "runtime/affinity.h"
#include "runtime/exec.h"
#include "runtime/mts.h"
#include "runtime/profiler.h"

#define WORKER_IDLE_MIN_US 20
#define WORKER_IDLE_MAX_US 250
#define MAX_MODELS 64
#define MAX_QUERIES 4096

typedef struct {
  mts_model_t *m;
  char *name;
  float *input;          /* deterministic input, copied into new contexts */
  size_t input_n;
  mts_ctx_t **pool;      /* free contexts */
  int n_pool, cap_pool;
} wmodel_t;

typedef struct {
  uint64_t query;
  int model;
  mts_ctx_t *ctx;
} live_t;

typedef struct {
  int rank;
  int n_models;
  wmodel_t models[MAX_MODELS];
  int n_cc;
  int cc[MTS_MAX_CORES];
  int n_home;
  int home[MTS_MAX_CORES];
  live_t live[MAX_QUERIES];
  int n_live;
  int bound_n;            /* current OpenMP team binding */
  int bound[MTS_MAX_CORES];
  FILE *log;
  int64_t blocks;
  double busy_core_ms;
  double *layer_us;       /* scratch, max layers */
  int max_layers;
  char fault[16];         /* injected fault (--inject-fault), "" for none */
  int fault_after;        /* ... at this block number (1-based) */
  int coord_pid;          /* coordinator on this host: watched, 0 if remote */
  int loaded;             /* a Load was accepted and the models are ready */
  int n_layers[MAX_MODELS];
} worker_t;

/* The coordinator died (same host only): nothing will shut us down. */
static int coordinator_gone(const worker_t *w) {
  return w->coord_pid > 0 && kill(w->coord_pid, 0) != 0 && errno == ESRCH;
}

/* Injected faults (off unless --inject-fault names this rank): make the
 * block fail, fail a context allocation, hang, or exit abruptly — for the
 * coordinator's fault handling and its tests.  Returns 1 with err filled
 * when the block must fail; hangs and exits do not return. */
static int inject_fault(worker_t *w, char *err, size_t n) {
  if (!w->fault[0] || w->blocks + 1 != w->fault_after) return 0;
  if (!strcmp(w->fault, "error")) {
    snprintf(err, n, "injected fault: block failed");
    return 1;
  }
  if (!strcmp(w->fault, "alloc")) {
    snprintf(err, n, "injected fault: cannot allocate a query context (out of memory)");
    return 1;
  }
  if (!strcmp(w->fault, "hang")) {
    MTS_LOG(MTS_LOG_WARN, "injected fault: hanging");
    while (!coordinator_gone(w)) mts_sleep_us(100000);
    _exit(1);
  }
  if (!strcmp(w->fault, "exit")) {
    MTS_LOG(MTS_LOG_WARN, "injected fault: exiting");
    _exit(3);
  }
  return 0;
}

static int64_t tv_us(const struct timeval *t) { return (int64_t)t->tv_sec * 1000000 + t->tv_usec; }

static double cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
         (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

/* The deterministic input shared with the peer harness (scripts/peer):
 * element i = ((i * 2654435761) mod 2^32) / 2^32 * 2 - 1. */
static void fill_input(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (float)((double)(uint32_t)(i * 2654435761u) / 4294967296.0 * 2.0 - 1.0);
}

static int ctx_take(worker_t *w, int mi, mts_ctx_t **out) {
  wmodel_t *wm = &w->models[mi];
  if (wm->n_pool > 0) {
    *out = wm->pool[--wm->n_pool];
  } else {
    int rc = mts_ctx_create(wm->m, out);
    if (rc) return rc;
  }
  return mts_ctx_set_input(*out, 0, wm->input, wm->input_n);
}

static void ctx_give(worker_t *w, int mi, mts_ctx_t *c) {
  wmodel_t *wm = &w->models[mi];
  if (wm->n_pool == wm->cap_pool) {
    wm->cap_pool = wm->cap_pool ? wm->cap_pool * 2 : 8;
    wm->pool = mts_xrealloc(wm->pool, (size_t)wm->cap_pool * sizeof *wm->pool);
  }
  wm->pool[wm->n_pool++] = c;
}

/* Live query li is done here: its context back to the pool. */
static void live_release(worker_t *w, int li) {
  ctx_give(w, w->live[li].model, w->live[li].ctx);
  w->live[li] = w->live[--w->n_live];
}

static int bind_team(worker_t *w, const int *cores, int n) {
  if (n == w->bound_n && !memcmp(cores, w->bound, (size_t)n * sizeof *cores)) return 0;
  int rc = mts_bind_omp_team(cores, n);
  if (rc) return rc;
  memcpy(w->bound, cores, (size_t)n * sizeof *cores);
  w->bound_n = n;
  return 0;
}

/* Every version of every model runs once at every core count of the home
 * before serving: the first run of a primitive (and the first touch of a
 * version's weights after load) is slow.  Without it the first GoogLeNet
 * query of a live run took 70 ms in three blocks against 15 ms later
 * (medium, mts, at low load: no query of it arrived during the warm-up,
 * and with a cached profile nothing had run). */
static int warm_up(worker_t *w) {
  for (int k = 0; k < w->n_models; k++) {
    wmodel_t *wm = &w->models[k];
    mts_ctx_t *c = NULL;
    int rc = ctx_take(w, k, &c), nl = mts_model_n_layers(wm->m);
    if (rc) return rc;
    if ((rc = mts_ctx_set_input(c, 0, wm->input, wm->input_n)) == 0)
      for (int i = 0; i < w->n_cc && rc == 0; i++) {
        int n = w->cc[i], nv = 1;
        if (n > w->n_home) break;
        for (int l = 0; l < nl; l++) {
          int v = mts_model_n_versions(wm->m, l, n);
          if (v > nv) nv = v;
        }
        if ((rc = bind_team(w, w->home, n)) != 0) break;
        for (int v = 0; v < nv && rc == 0; v++) rc = mts_model_run(wm->m, c, 0, nl, n, v, NULL);
      }
    ctx_give(w, k, c);
    if (rc) return mts_seterr(rc, "model '%s': warm-up: %s", wm->name, mts_errmsg());
  }
  return 0;
}

/* Progress of the profiler on stderr (one line per step: a worker's
 * stderr is a pipe through mpirun, not a terminal). */
static void profile_progress(void *arg, const char *model, int done, int total, const char *what) {
  const worker_t *w = arg;
  fprintf(stderr, "mtserve worker %d: profiling %s: step %d/%d, %s\n", w->rank, model, done, total, what);
}

/* The profile of one model: from the cache, else measured (and cached).
 * Solo latency, versions and slowdowns come from runtime/profiler.h. */
static int profile_one(worker_t *w, const Mts__Load *ld, wmodel_t *wm, mts_prof_t **out) {
  int rc;
  if (mts_prof_cache_load(wm->m, w->cc, w->n_cc, out) == 0) {
    char path[4096];
    mts_prof_cache_path(*out, path, sizeof path);
    fprintf(stderr, "mtserve worker %d: profile of %s loaded from %s\n", w->rank, wm->name, path);
    return 0;
  }
  /* the budget bounds a cold start on a busy machine (rounds are cut, and
   * the notes say so) */
  mts_prof_opts_t po = {.iters = ld->solo_iters > 0 ? ld->solo_iters : 5, .budget_s = 45};
  rc = mts_profile_model(wm->m, w->home, w->n_home, w->cc, w->n_cc, &po, profile_progress, w, out);
  w->bound_n = 0; /* the profiler re-bound the OpenMP team */
  if (rc) return rc;
  fprintf(stderr, "mtserve worker %d: profiled %s in %.1f s (other processes: %.1f%% of the cores)%s%s\n", w->rank,
          wm->name, (*out)->profile_s, 100 * (*out)->others_cpu, (*out)->notes[0] ? "; " : "", (*out)->notes);
  if (mts_prof_cache_save(*out) != 0) MTS_LOG(MTS_LOG_WARN, "%s", mts_errmsg());
  return 0;
}

/* Fills one layer's Ready entry from its profile.  ready_free() frees only
 * solo_us, so the version arrays are carved out of the same allocation:
 * solo_us[n_cc], ver_us[nv * n_cc], ver_sens[nv * n_cc], ver_useful[n_cc]. */
static void layer_from_profile(Mts__LayerInfo *li, const mts_prof_t *p, int l, int n_cc) {
  const mts_prof_layer_t *L = &p->layers[l];
  int nv = L->n_ver > 1 ? L->n_ver : 0;
  size_t nd = (size_t)n_cc + 2 * (size_t)nv * (size_t)n_cc;
  double *blk = mts_xcalloc(nd * sizeof(double) + (size_t)n_cc * sizeof(uint32_t), 1);
  li->n_solo_us = (size_t)n_cc;
  li->solo_us = blk;
  for (int c = 0; c < n_cc; c++) blk[c] = L->solo_us[c];
  if (!nv) return;
  li->n_ver_us = li->n_ver_sens = (size_t)nv * (size_t)n_cc;
  li->ver_us = blk + n_cc;
  li->ver_sens = li->ver_us + (size_t)nv * (size_t)n_cc;
  li->n_ver_useful = (size_t)n_cc;
  li->ver_useful = (uint32_t *)(blk + nd);
  for (int v = 0; v < nv; v++)
    for (int c = 0; c < n_cc; c++) {
      li->ver_us[v * n_cc + c] = L->solo_us[v * n_cc + c];
      li->ver_sens[v * n_cc + c] = mts_prof_slowdown_max(p, l, v, c);
    }
  for (int c = 0; c < n_cc; c++) li->ver_useful[c] = L->useful[c];
}

/* Loads, compiles and profiles every model; fills the Ready message.
 * Every worker compiles every version (a dispatch may name any); the
 * profiling worker takes each model's profile from the cache or measures
 * it (runtime/profiler.h). */
static int load_models(worker_t *w, const Mts__Load *ld, Mts__Ready *rd, double *load_ms) {
  int rc = 0;
  int64_t t0 = mts_now_us();
  mts_compile_opts_t opts = {.all_versions = 1};
  for (int i = 0; i < w->n_cc && i < 64; i++) opts.core_counts[opts.n_core_counts++] = w->cc[i];
  for (size_t k = 0; k < ld->n_models; k++) {
    mts_graph_t *g = NULL;
    wmodel_t *wm = &w->models[k];
    wm->name = mts_xstrdup(ld->models[k]->name);
    w->n_models = (int)k + 1; /* cleaned up at exit even if loading fails */
    if ((rc = mts_model_graph_load(wm->name, &g)) != 0)
      return mts_seterr(rc, "model '%s': %s", wm->name, mts_errmsg());
    rc = mts_model_compile(g, &opts, &wm->m);
    mts_graph_destroy(g);
    if (rc) return mts_seterr(rc, "model '%s': %s", wm->name, mts_errmsg());
    int nd = 0;
    int64_t dims[MTS_MAX_DIMS];
    mts_model_input_shape(wm->m, 0, &nd, dims);
    wm->input_n = 1;
    for (int d = 0; d < nd; d++) wm->input_n *= (size_t)dims[d];
    wm->input = mts_xmalloc(wm->input_n * sizeof(float));
    fill_input(wm->input, wm->input_n);
    int nl = mts_model_n_layers(wm->m);
    if (nl > w->max_layers) {
      w->max_layers = nl;
      w->layer_us = mts_xrealloc(w->layer_us, (size_t)nl * sizeof(double));
    }
  }
  *load_ms = (double)(mts_now_us() - t0) / 1e3;

  rd->n_models = (size_t)w->n_models;
  rd->models = mts_xcalloc((size_t)w->n_models, sizeof *rd->models);
  for (int k = 0; k < w->n_models; k++) {
    wmodel_t *wm = &w->models[k];
    int nl = mts_model_n_layers(wm->m);
    mts_prof_t *p = NULL;
    /* only the profiling worker measures; timing elsewhere would disturb it */
    if (ld->profile && (rc = profile_one(w, ld, wm, &p)) != 0)
      return mts_seterr(rc, "model '%s': profiling: %s", wm->name, mts_errmsg());
    if (p && (p->n_layers != nl || p->n_cc != w->n_cc)) {
      mts_prof_destroy(p);
      return mts_seterr(MTS_ESTATE, "model '%s': the profile does not match the compiled model", wm->name);
    }
    Mts__ModelInfo *mi = mts_xmalloc(sizeof *mi);
    mts__model_info__init(mi);
    mi->id = k;
    mi->hash = mts_model_hash(wm->m);
    mi->n_layers = (size_t)nl;
    mi->layers = mts_xcalloc((size_t)nl, sizeof *mi->layers);
    mi->n_solo_us = (size_t)w->n_cc;
    mi->solo_us = mts_xcalloc((size_t)w->n_cc, sizeof(double));
    for (int c = 0; p && c < w->n_cc; c++) mi->solo_us[c] = p->model_us[c];
    for (int l = 0; l < nl; l++) {
      Mts__LayerInfo *li = mts_xmalloc(sizeof *li);
      mts__layer_info__init(li);
      li->name = (char *)mts_model_layer_name(wm->m, l);
      li->op = (char *)mts_op_name(mts_model_layer_op(wm->m, l));
      li->flops = mts_model_layer_flops(wm->m, l);
      if (p) {
        layer_from_profile(li, p, l, w->n_cc);
      } else {
        li->n_solo_us = (size_t)w->n_cc;
        li->solo_us = mts_xcalloc((size_t)w->n_cc, sizeof(double));
      }
      mi->layers[l] = li;
    }
    rd->models[k] = mi;
    mts_prof_destroy(p);
  }
  return 0;
}

static void ready_free(Mts__Ready *rd) {
  for (size_t k = 0; k < rd->n_models; k++) {
    Mts__ModelInfo *mi = rd->models[k];
    if (!mi) continue;
    for (size_t l = 0; l < mi->n_layers; l++) {
      if (!mi->layers[l]) continue;
      free(mi->layers[l]->solo_us);
      free(mi->layers[l]);
    }
    free(mi->layers);
    free(mi->solo_us);
    free(mi);
  }
  free(rd->models);
}

static int live_find(worker_t *w, uint64_t q) {
  for (int i = 0; i < w->n_live; i++)
    if (w->live[i].query == q) return i;
  return -1;
}

/* Runs one dispatched block and replies with its completion. */
/* Runs one dispatched block and replies with its completion.  `invalid`
 * (from mts_worker_validate) fails the block without running it. */
static int run_block(worker_t *w, const Mts__Dispatch *d, int64_t recv_us, const char *invalid) {
  Mts__Msg m = MTS__MSG__INIT;
  Mts__Completion c = MTS__COMPLETION__INIT;
  char err[512] = "";
  int rc = 0, li = -1;
  int cores[MTS_MAX_CORES];
  int n = (int)d->n_cores;
  int64_t start = 0, end = 0, bind0 = 0;
  struct rusage ru0, ru1;
  int have_ru = 0;
  c.query = d->query;
  c.model = d->model;
  c.first = d->first;
  c.last = d->last;
  c.version = d->version;
  c.ncores = n;
  if (invalid) {
    snprintf(err, sizeof err, "%s", invalid);
    goto reply;
  }
  for (int i = 0; i < n; i++) cores[i] = d->cores[i];
  wmodel_t *wm = &w->models[d->model];
  if (inject_fault(w, err, sizeof err)) {
    w->blocks++;
    goto reply;
  }
  li = live_find(w, d->query);
  if (li < 0) {
    if (w->n_live == MAX_QUERIES) {
      snprintf(err, sizeof err, "too many live queries (%d)", MAX_QUERIES);
      goto reply;
    }
    li = w->n_live++;
    w->live[li].query = d->query;
    w->live[li].model = d->model;
    if ((rc = ctx_take(w, d->model, &w->live[li].ctx)) != 0) {
      snprintf(err, sizeof err, "%s", mts_errmsg());
      w->n_live--;
      li = -1;
      goto reply;
    }
  }
  if (w->log) have_ru = getrusage(RUSAGE_SELF, &ru0) == 0;
  bind0 = mts_now_us();
  if ((rc = bind_team(w, cores, n)) != 0) {
    snprintf(err, sizeof err, "%s", mts_errmsg());
    goto reply;
  }
  omp_set_num_threads(n);
  start = mts_now_us();
  rc = mts_model_run(wm->m, w->live[li].ctx, d->first, d->last, n, d->version, w->layer_us);
  end = mts_now_us();
  if (have_ru && getrusage(RUSAGE_SELF, &ru1) == 0) have_ru = 2;
  if (rc) snprintf(err, sizeof err, "%s", mts_errmsg());
  c.n_layer_us = (size_t)(d->last - d->first);
  c.layer_us = w->layer_us;
  w->blocks++;
  w->busy_core_ms += (double)(end - start) * n / 1e3;

reply:
  c.status = err[0] ? MTS__STATUS__STATUS_ERROR : MTS__STATUS__STATUS_OK;
  c.error = err;
  c.start_us = start;
  c.end_us = end;
  c.recv_us = recv_us;
  if (li >= 0 && (d->release || err[0])) {
    live_release(w, li);
  }
  m.body_case = MTS__MSG__BODY_COMPLETION;
  m.completion = &c;
  int src = mts_msg_send(&m, 0);
  if (w->log) {
    fprintf(w->log,
            "{\"rank\":%d,\"query\":%llu,\"model\":\"%s\",\"first\":%d,\"last\":%d,\"version\":%d,\"cores\":[",
            w->rank, (unsigned long long)d->query,
            d->model >= 0 && d->model < w->n_models ? w->models[d->model].name : "?", d->first, d->last,
            d->version);
    for (int i = 0; i < n && i < (int)d->n_cores; i++) fprintf(w->log, "%s%d", i ? "," : "", d->cores[i]);
    fprintf(w->log,
            "],\"sent_us\":%lld,\"recv_us\":%lld,\"bind_us\":%lld,\"start_us\":%lld,\"end_us\":%lld,\"status\":\"%s\"",
            (long long)d->sent_us, (long long)recv_us, (long long)bind0, (long long)start, (long long)end,
            err[0] ? "error" : "ok");
    if (have_ru == 2) /* the whole process from bind to end: where a stalled block's time went */
      fprintf(w->log, ",\"cpu_us\":%lld,\"nivcsw\":%ld,\"nvcsw\":%ld,\"minflt\":%ld,\"majflt\":%ld",
              (long long)(tv_us(&ru1.ru_utime) + tv_us(&ru1.ru_stime) - tv_us(&ru0.ru_utime) - tv_us(&ru0.ru_stime)),
              ru1.ru_nivcsw - ru0.ru_nivcsw, ru1.ru_nvcsw - ru0.ru_nvcsw, ru1.ru_minflt - ru0.ru_minflt,
              ru1.ru_majflt - ru0.ru_majflt);
    if (!err[0]) {
      fprintf(w->log, ",\"layer_us\":[");
      for (size_t i = 0; i < c.n_layer_us; i++) fprintf(w->log, "%s%.1f", i ? "," : "", c.layer_us[i]);
      fprintf(w->log, "]");
    } else {
      fprintf(w->log, ",\"error\":\"%s\"", "see coordinator log");
    }
    fprintf(w->log, "}\n");
  }
  return src;
}

int mts_worker_main(int rank) {
  worker_t *w = mts_xcalloc(1, sizeof *w);
  mts_topology_t *topo = mts_xcalloc(1, sizeof *topo);
  int rc = 0, exit_code = 0;
  w->rank = rank;
  int64_t wall0 = mts_now_us();
  double cpu0 = cpu_ms();

  /* SIGINT/SIGTERM are for the coordinator, which drains and then shuts us
   * down; a worker that quit on its own would lose in-flight queries. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);

  /* Doorbell first: its name is our pid, which Hello tells the coordinator. */
  if (mts_doorbell_open_own() != 0) MTS_LOG(MTS_LOG_INFO, "no doorbell, polling: %s", mts_errmsg());

  /* Hello. */
  {
    Mts__Msg m = MTS__MSG__INIT;
    Mts__Hello h = MTS__HELLO__INIT;
    Mts__Topology tp = MTS__TOPOLOGY__INIT;
    int32_t cores[MTS_MAX_CORES], llc[MTS_MAX_CORES];
    if ((rc = mts_topology_read(topo)) != 0) {
      fprintf(stderr, "mtserve worker %d: %s\n", rank, mts_errmsg());
      topo->n_cores = 0;
    }
    for (int i = 0; i < topo->n_cores; i++) {
      cores[i] = topo->cores[i];
      llc[i] = topo->llc_of[i];
    }
    tp.host = topo->host;
    tp.cpu_model = topo->cpu_model;
    tp.n_cores = (size_t)topo->n_cores;
    tp.cores = cores;
    tp.n_llc_of = (size_t)topo->n_cores;
    tp.llc_of = llc;
    tp.n_llc = topo->n_llc;
    tp.llc_bytes = topo->llc_bytes;
    h.rank = rank;
    h.pid = (int32_t)getpid();
    h.topology = &tp;
    m.body_case = MTS__MSG__BODY_HELLO;
    m.hello = &h;
    if ((rc = mts_msg_send(&m, 0)) != 0) {
      fprintf(stderr, "mtserve worker %d: %s\n", rank, mts_errmsg());
      exit_code = 1;
      goto out;
    }
  }

  int64_t nap_max = 2000; /* before Load: nothing urgent */
  for (;;) {
    Mts__Msg *m = NULL;
    rc = mts_msg_wait(&m, NULL, mts_now_us() + 1000000, WORKER_IDLE_MIN_US, nap_max);
    int64_t recv_us = mts_now_us();
    if (rc == 0) {
      if (coordinator_gone(w)) {
        fprintf(stderr, "mtserve worker %d: the coordinator (pid %d) is gone; exiting\n", rank, w->coord_pid);
        exit_code = 1;
        break;
      }
      continue;
    }
    if (rc < 0) {
      fprintf(stderr, "mtserve worker %d: %s\n", rank, mts_errmsg());
      exit_code = 1;
      break;
    }
    /* Check the message against what this worker has before acting on it. */
    char verr[256] = "";
    mts_worker_limits_t lim = {.loaded = w->loaded, .n_models = w->n_models, .n_layers = w->n_layers,
                               .n_home = w->n_home, .home = w->home, .n_core_counts = w->n_cc < 64 ? w->n_cc : 64, /* compiled: see load_models */
                               .core_counts = w->cc, .max_models = MAX_MODELS, .max_cores = MTS_MAX_CORES};
    int bad = mts_worker_validate(m, &lim, verr, sizeof verr) != 0;
    if (bad && m->body_case != MTS__MSG__BODY_DISPATCH && m->body_case != MTS__MSG__BODY_LOAD) {
      MTS_LOG(MTS_LOG_WARN, "worker %d: ignoring a message: %s", rank, verr);
      mts_msg_free(m);
      continue;
    }
    if (m->body_case == MTS__MSG__BODY_SHUTDOWN) {
      Mts__Msg r = MTS__MSG__INIT;
      Mts__Bye bye = MTS__BYE__INIT;
      bye.blocks = w->blocks;
      bye.busy_ms = w->busy_core_ms;
      bye.cpu_ms = cpu_ms() - cpu0;
      bye.wall_ms = (double)(mts_now_us() - wall0) / 1e3;
      struct rusage ru;
      getrusage(RUSAGE_SELF, &ru);
      bye.max_rss_mb = (double)ru.ru_maxrss / 1024.0;
      r.body_case = MTS__MSG__BODY_BYE;
      r.bye = &bye;
      mts_msg_send(&r, 0);
      mts_msg_free(m);
      break;
    }
    if (m->body_case == MTS__MSG__BODY_LOAD && bad) {
      /* refused before it changes anything (a second Load must not move the home) */
      Mts__Msg r = MTS__MSG__INIT;
      Mts__Ready rd = MTS__READY__INIT;
      rd.ok = 0;
      rd.error = verr;
      r.body_case = MTS__MSG__BODY_READY;
      r.ready = &rd;
      rc = mts_msg_send(&r, 0);
    } else if (m->body_case == MTS__MSG__BODY_LOAD) {
      const Mts__Load *ld = m->load;
      Mts__Msg r = MTS__MSG__INIT;
      Mts__Ready rd = MTS__READY__INIT;
      double load_ms = 0;
      /* Same host: ring the coordinator's doorbell, sleep on ours if it rings. */
      mts_doorbell_unlink_own(); /* the coordinator attached before sending Load */
      if (ld->coord_host && !strcmp(ld->coord_host, topo->host) && ld->coord_pid > 0) {
        rd.ring = mts_doorbell_attach(0, ld->coord_pid) == 0;
        w->coord_pid = ld->coord_pid;
      }
      if (ld->fault && ld->fault[0]) {
        snprintf(w->fault, sizeof w->fault, "%s", ld->fault);
        w->fault_after = ld->fault_after > 0 ? ld->fault_after : 1;
      }
      mts_msg_set_all_ring(ld->ring);
      w->n_home = 0;
      for (size_t i = 0; i < ld->n_home_cores && i < MTS_MAX_CORES; i++) w->home[w->n_home++] = ld->home_cores[i];
      w->n_cc = 0;
      for (size_t i = 0; i < ld->n_core_counts && i < MTS_MAX_CORES; i++) w->cc[w->n_cc++] = ld->core_counts[i];
      if ((rc = mts_bind_process(w->home, w->n_home)) == 0) {
        rc = load_models(w, ld, &rd, &load_ms);
      }
      if (rc == 0) {
        w->loaded = 1;
        for (int k = 0; k < w->n_models; k++) w->n_layers[k] = mts_model_n_layers(w->models[k].m);
        /* The contexts the coordinator may bind here, made (and touched)
         * now: serving then allocates nothing and memory stays flat. */
        for (int k = 0; k < w->n_models && rc == 0; k++) {
          for (int i = w->models[k].n_pool; i < ld->contexts && rc == 0; i++) {
            mts_ctx_t *c = NULL;
            if ((rc = mts_ctx_create(w->models[k].m, &c)) == 0) ctx_give(w, k, c);
          }
        }
        if (rc == 0) {
          int64_t t_warm = mts_now_us();
          rc = warm_up(w);
          MTS_LOG(MTS_LOG_INFO, "warm-up of %d models: %.0f ms", w->n_models, (double)(mts_now_us() - t_warm) / 1e3);
        }
        if (rc) w->loaded = 0;
      }
      char errbuf[1024];
      snprintf(errbuf, sizeof errbuf, "%s", rc ? mts_errmsg() : "");
      rd.ok = rc == 0;
      rd.error = errbuf;
      rd.load_ms = load_ms;
      if (ld->log_path && ld->log_path[0] && rc == 0) {
        w->log = fopen(ld->log_path, "w");
        if (!w->log) MTS_LOG(MTS_LOG_WARN, "cannot write %s", ld->log_path);
        else setvbuf(w->log, NULL, _IOLBF, 0); /* a line per block survives a crash */
      }
      r.body_case = MTS__MSG__BODY_READY;
      r.ready = &rd;
      rc = mts_msg_send(&r, 0);
      ready_free(&rd);
      /* Bye reports CPU use over the serving phase, not loading. */
      wall0 = mts_now_us();
      cpu0 = cpu_ms();
      nap_max = WORKER_IDLE_MAX_US;
    } else if (m->body_case == MTS__MSG__BODY_DISPATCH) {
      rc = run_block(w, m->dispatch, recv_us, bad ? verr : NULL);
    } else if (m->body_case == MTS__MSG__BODY_RELEASE) {
      /* dropped part-way: its context goes back to the pool (an unknown
       * query is not an error: it may have failed here already) */
      rc = 0;
      int li = live_find(w, m->release->query);
      if (li >= 0) live_release(w, li);
    }
    mts_msg_free(m);
    if (rc) {
      fprintf(stderr, "mtserve worker %d: %s\n", rank, mts_errmsg());
      exit_code = 1;
      break;
    }
  }

out:
  mts_doorbell_close_all();
  if (w->log) fclose(w->log);
  for (int i = 0; i < w->n_live; i++) ctx_give(w, w->live[i].model, w->live[i].ctx);
  for (int k = 0; k < w->n_models; k++) {
    for (int i = 0; i < w->models[k].n_pool; i++) mts_ctx_destroy(w->models[k].pool[i]);
    free(w->models[k].pool);
    mts_model_destroy(w->models[k].m);
    free(w->models[k].input);
    free(w->models[k].name);
  }
  free(w->layer_us);
  free(topo);
  free(w);
  return exit_code;
}
