/* serve.c — rank 0 of `mtserve serve` (see serve.h): MPI handshake, homes,
 * QoS resolution, the MPI transport for the engine, shutdown and reports. */
#include "coordinator/serve.h"
#include "runtime/affinity.h"

#include <errno.h>
#include <jansson.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/arrivals.h"
#include "coordinator/engine.h"
#include "coordinator/metrics.h"
#include "coordinator/sched.h"
#include "coordinator/timeline.h"
#include "coordinator/workload.h"
#include "proto/msg.h"
#include "runtime/mts.h"

#define HELLO_TIMEOUT_US (60LL * 1000000)
#define READY_TIMEOUT_US (600LL * 1000000)
#define BYE_TIMEOUT_US (10LL * 1000000)

typedef struct {
  int rank;
  int node;
  char host[256];
  int pid;
  int ring;            /* we ring its doorbell */
  int rings;           /* it rings ours */
  int n_cores;
  int cores[MTS_SCHED_MAX_HOME];
  int llc_of[MTS_SCHED_MAX_HOME];
  int n_home;
  int home[MTS_SCHED_MAX_HOME];
  double load_ms;
  double cpu_ms, wall_ms, busy_ms, max_rss_mb;
  int64_t blocks;
  int said_bye;
  int lost;            /* declared lost during the run (hung or dead) */
} wk_t;

typedef struct {
  int n_models;
  char *names[MTS_MAX_TENANTS];
  mts_model_prof_t prof[MTS_MAX_TENANTS];
  double *layer_us[MTS_MAX_TENANTS];
  char **layer_names[MTS_MAX_TENANTS];
} models_t;

/* ---- MPI transport ----------------------------------------------------- */

typedef struct {
  int64_t t0;       /* mts_now_us() at run start */
  mts_block_rec_t *running; /* per worker: the block in flight (one at a time) */
  mts_timeline_t timeline;
  wk_t *wk;
  int n_wk;
  int size;
  int all_ring;     /* every worker rings our doorbell */
} mpi_tr_t;

static int64_t tr_now(void *impl) {
  mpi_tr_t *t = impl;
  return mts_now_us() - t->t0;
}

static int tr_dispatch(void *impl, const mts_decision_t *d, const mts_query_t *q) {
  mpi_tr_t *t = impl;
  Mts__Msg m = MTS__MSG__INIT;
  Mts__Dispatch di = MTS__DISPATCH__INIT;
  int32_t cores[MTS_SCHED_MAX_HOME];
  for (int i = 0; i < d->n_cores; i++) cores[i] = d->cores[i];
  di.query = d->query;
  di.model = q->model;
  di.first = d->first;
  di.last = d->last;
  di.n_cores = (size_t)d->n_cores;
  di.cores = cores;
  di.version = d->version;
  di.release = d->release;
  di.sent_us = mts_now_us();
  mts_block_rec_t *r = &t->running[d->worker];
  memset(r, 0, sizeof *r);
  r->query = d->query;
  r->tenant = q->tenant;
  r->worker = t->wk[d->worker].rank;
  r->node = t->wk[d->worker].node;
  r->first = d->first;
  r->last = d->last;
  r->version = d->version;
  r->n_cores = d->n_cores < 16 ? d->n_cores : 16;
  memcpy(r->cores, d->cores, (size_t)r->n_cores * sizeof(int));
  m.body_case = MTS__MSG__BODY_DISPATCH;
  m.dispatch = &di;
  return mts_msg_send(&m, t->wk[d->worker].rank);
}

static int tr_release(void *impl, int worker, const mts_query_t *q) {
  mpi_tr_t *t = impl;
  if (t->wk[worker].lost) return 0;
  Mts__Msg m = MTS__MSG__INIT;
  Mts__Release rl = MTS__RELEASE__INIT;
  rl.query = q->id;
  m.body_case = MTS__MSG__BODY_RELEASE;
  m.release = &rl;
  return mts_msg_send(&m, t->wk[worker].rank);
}

/* A worker overran a block: it is hung or dead.  On this host it is killed
 * (a hung rank would otherwise hold up everyone's MPI_Finalize).  Under
 * mpirun --enable-recovery the job goes on without it; otherwise mpirun
 * aborts the job and our SIGTERM handler ends the run with a report. */
static void tr_lost(void *impl, int worker) {
  mpi_tr_t *t = impl;
  wk_t *x = &t->wk[worker];
  x->lost = 1;
  if (x->ring && x->pid > 0) kill(x->pid, SIGKILL);
  fprintf(stderr, "mtserve serve: worker rank %d (%s, pid %d) stopped answering: its queries fail, it gets no more work\n",
          x->rank, x->host, x->pid);
}

static int tr_wait(void *impl, int64_t deadline, int64_t expect, mts_completion_ev_t *ev) {
  mpi_tr_t *t = impl;
  for (;;) {
    Mts__Msg *m = NULL;
    int src = -1;
    /* With doorbells from every worker, sleep on ours until the deadline;
     * else poll, coarsely before the predicted completion, finely after. */
    int rc = t->all_ring ? mts_msg_wait(&m, &src, t->t0 + deadline, 25, 1000) : mts_msg_poll(&m, &src);
    if (rc < 0) return rc;
    if (rc == 1) {
      if (m->body_case == MTS__MSG__BODY_COMPLETION) {
        Mts__Completion *c = m->completion;
        ev->query = (size_t)c->query;
        ev->ok = c->status == MTS__STATUS__STATUS_OK;
        ev->exec_us = (double)(c->end_us - c->start_us);
        snprintf(ev->error, sizeof ev->error, "%s", c->error ? c->error : "");
        int wi = -1;
        for (int i = 0; i < t->n_wk; i++)
          if (t->wk[i].rank == src) wi = i;
        if (wi >= 0 && t->running[wi].query == ev->query) {
          /* worker clock = our clock on the same node (CLOCK_MONOTONIC) */
          mts_block_rec_t *r = &t->running[wi];
          r->ok = ev->ok;
          r->start_us = c->start_us ? c->start_us - t->t0 : 0;
          r->end_us = c->end_us ? c->end_us - t->t0 : r->start_us;
          mts_timeline_add(&t->timeline, r);
        }
        mts_msg_free(m);
        return 1;
      }
      MTS_LOG(MTS_LOG_WARN, "unexpected message %d from rank %d during the run", (int)m->body_case, src);
      mts_msg_free(m);
      continue;
    }
    int64_t now = tr_now(t);
    if (now >= deadline) return 0;
    /* Sleep coarsely until shortly before the predicted completion, then
     * poll finely; never past the deadline.  Idle: up to 1 ms. */
    int64_t nap;
    if (expect < 0) nap = 1000;
    else if (now < expect - 300) nap = expect - 200 - now;
    else if (now < expect + 3000) nap = 25;
    else nap = 200;
    if (nap > 2000) nap = 2000;
    if (nap > deadline - now) nap = deadline - now;
    mts_sleep_us(nap);
  }
}

/* ---- helpers ------------------------------------------------------------ */
static void shutdown_all(int size, const char *reason) {
  Mts__Msg m = MTS__MSG__INIT;
  Mts__Shutdown sd = MTS__SHUTDOWN__INIT;
  sd.reason = (char *)reason;
  m.body_case = MTS__MSG__BODY_SHUTDOWN;
  m.shutdown = &sd;
  for (int r = 1; r < size; r++) mts_msg_send(&m, r);
}

/* Gives every worker a home.  "llc": the node's LLC domains are dealt out
 * round-robin (a worker gets several domains when there are more domains
 * than workers; several workers share a domain when there are fewer, and the
 * core map keeps their grants apart).  "node": every worker's home is the
 * whole node. */
static void assign_homes(wk_t *wk, int n_wk, const char *mode) {
  for (int i = 0; i < n_wk; i++) wk[i].node = -1;
  int n_nodes = 0;
  for (int i = 0; i < n_wk; i++) {
    if (wk[i].node >= 0) continue;
    int members[MTS_SCHED_MAX_WORKERS], nm = 0;
    for (int j = i; j < n_wk; j++)
      if (wk[j].node < 0 && !strcmp(wk[j].host, wk[i].host)) {
        wk[j].node = n_nodes;
        members[nm++] = j;
      }
    n_nodes++;
    const wk_t *ref = &wk[i];
    int n_llc = 0;
    for (int c = 0; c < ref->n_cores; c++)
      if (ref->llc_of[c] + 1 > n_llc) n_llc = ref->llc_of[c] + 1;
    for (int k = 0; k < nm; k++) {
      wk_t *w = &wk[members[k]];
      w->n_home = 0;
      for (int c = 0; c < ref->n_cores; c++) {
        int dom = ref->llc_of[c];
        int mine = !strcmp(mode, "node") ? 1
                   : nm <= n_llc         ? dom % nm == k
                                         : dom == k % n_llc;
        if (mine) w->home[w->n_home++] = ref->cores[c];
      }
    }
  }
}

static void models_free(models_t *m) {
  for (int i = 0; i < m->n_models; i++) {
    free(m->layer_us[i]);
    if (m->layer_names[i])
      for (int l = 0; l < m->prof[i].n_layers; l++) free(m->layer_names[i][l]);
    free(m->layer_names[i]);
  }
}

static int model_index(models_t *m, const char *name) {
  for (int i = 0; i < m->n_models; i++)
    if (!strcmp(m->names[i], name)) return i;
  m->names[m->n_models] = (char *)name;
  return m->n_models++;
}

/* Takes the solo profile (per layer and core count) from a Ready, with
 * the versions when the worker profiled them: ver_us [version][layer][core
 * count] shares md->layer_us's allocation (version 0 first, so layer_us is
 * its first block); a layer with fewer versions runs version 0 for the
 * others (mts_model_run), so its version-0 times fill them.  ver_sens[v]
 * is version v's measured sensitivity to the co-runner relative to version
 * 0's: (E_v + 0.1 W) / (E_0 + 0.1 W), where E_v is the time-weighted sum
 * over layers of (slowdown_v - 1) at the core counts where a slowdown was
 * measured and W the sum of the weights (1 where none was).  The 0.1 W
 * prior (a 10 % slowdown, about the noise of one co-run timing on a shared
 * machine) keeps a model that barely notices the co-runner (version 0 at
 * 1.03x) from turning noise in another version into a 7x sensitivity. */
static void ready_profile(models_t *md, const Mts__Ready *r) {
  for (size_t k = 0; k < r->n_models && (int)k < md->n_models; k++) {
    const Mts__ModelInfo *mi = r->models[k];
    int id = mi->id;
    if (id < 0 || id >= md->n_models) continue;
    mts_model_prof_t *p = &md->prof[id];
    p->n_layers = (int)mi->n_layers;
    p->n_cc = (int)mi->n_solo_us;
    int nv = 1, ncc = p->n_cc;
    for (int l = 0; l < p->n_layers && ncc > 0; l++) {
      const Mts__LayerInfo *li = mi->layers[l];
      int lv = (int)(li->n_ver_us / (size_t)ncc);
      if (li->n_ver_us % (size_t)ncc == 0 && li->n_ver_sens == li->n_ver_us && lv > nv) nv = lv;
    }
    if (nv > MTS_SCHED_MAX_VERSIONS) nv = MTS_SCHED_MAX_VERSIONS;
    size_t blk = (size_t)p->n_layers * (size_t)ncc;
    md->layer_us[id] = mts_xcalloc((size_t)nv * blk + 1, sizeof(double));
    md->layer_names[id] = mts_xcalloc((size_t)p->n_layers + 1, sizeof(char *));
    double num[MTS_SCHED_MAX_VERSIONS] = {0}, wsum = 0;
    for (int l = 0; l < p->n_layers; l++) {
      const Mts__LayerInfo *li = mi->layers[l];
      int lv = ncc > 0 && li->n_ver_sens == li->n_ver_us ? (int)(li->n_ver_us / (size_t)ncc) : 0;
      md->layer_names[id][l] = mts_xstrdup(li->name);
      for (int c = 0; c < ncc && c < (int)li->n_solo_us; c++) md->layer_us[id][l * ncc + c] = li->solo_us[c];
      for (int v = 1; v < nv; v++)
        for (int c = 0; c < ncc; c++)
          md->layer_us[id][(size_t)v * blk + (size_t)(l * ncc + c)] =
              v < lv ? li->ver_us[v * ncc + c] : md->layer_us[id][l * ncc + c];
      for (int c = 0; c < ncc && lv > 0; c++) {
        double s0 = li->ver_sens[c], w = li->ver_us[c];
        if (!(s0 > 0)) continue; /* not measured at this count */
        wsum += w;
        for (int v = 0; v < nv; v++) {
          double sv = v < lv && li->ver_sens[v * ncc + c] > 0 ? li->ver_sens[v * ncc + c] : s0;
          num[v] += w * (sv > 1 ? sv - 1 : 0);
        }
      }
    }
    for (int c = 0; c < ncc && c < MTS_SCHED_MAX_CC; c++) p->model_us[c] = mi->solo_us[c];
    p->layer_us = md->layer_us[id];
    if (nv > 1) {
      p->n_versions = nv;
      p->ver_us = md->layer_us[id];
      for (int v = 0; v < nv; v++) {
        double s = wsum > 0 ? (num[v] + 0.1 * wsum) / (num[0] + 0.1 * wsum) : 1.0;
        p->ver_sens[v] = s < 0.05 ? 0.05 : s; /* profile.json wants positive numbers */
      }
    }
  }
}

static double cpu_ms_self(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
         (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

/* SIGINT/SIGTERM (mpirun forwards them to every rank, then SIGKILLs 1 s
 * later unless odls_base_sigkill_timeout says otherwise): stop admitting,
 * drain briefly, report. */
static volatile int stop_flag;
static void on_stop_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

/* ---- main -------------------------------------------------------------- */
int mts_coordinator_main(const mts_serve_opts_t *o) {
  int size = 1, rc = 0, exit_code = 0;
  mts_workload_t *w = NULL;
  wk_t *wk = NULL;
  models_t md = {0};
  mts_arrival_t *arr = NULL;
  size_t n_arr = 0;
  mts_sched_t *sched = NULL;
  mts_engine_result_t res = {0};
  mpi_tr_t tr = {0};
  mts_worker_desc_t *wdesc = NULL;
  char out_dir[4096], path[4200];
  const char *policy = o->policy ? o->policy : "fcfs";
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  if (size < 2) {
    fprintf(stderr, "mtserve serve: needs at least 2 MPI ranks (rank 0 coordinates, ranks >= 1 run "
                    "models); got %d.\n  e.g. mpirun --allow-run-as-root --oversubscribe -np 3 mtserve serve "
                    "--workload demo\n", size);
    return 2;
  }
  if (!mts_policy_find(policy)) {
    fprintf(stderr, "mtserve serve: unknown policy '%s' (available:", policy);
    for (const char *const *p = mts_policy_names(); *p; p++) fprintf(stderr, " %s", *p);
    fprintf(stderr, ")\n");
    shutdown_all(size, "bad arguments");
    return 2;
  }
  /* --inject-fault KIND:RANK[:AFTER] */
  char fault_kind[16] = "";
  int fault_rank = -1, fault_after = 5;
  if (o->inject_fault) {
    int n = 0;
    if (sscanf(o->inject_fault, "%15[a-z]:%d%n", fault_kind, &fault_rank, &n) != 2 ||
        (o->inject_fault[n] && sscanf(o->inject_fault + n, ":%d", &fault_after) != 1) ||
        (strcmp(fault_kind, "error") && strcmp(fault_kind, "alloc") && strcmp(fault_kind, "hang") &&
         strcmp(fault_kind, "exit")) ||
        fault_rank < 1 || fault_rank >= size || fault_after < 1) {
      fprintf(stderr, "mtserve serve: --inject-fault '%s': expected KIND:RANK[:AFTER] with KIND error, alloc, "
                      "hang or exit, RANK a worker (1..%d), AFTER >= 1\n", o->inject_fault, size - 1);
      shutdown_all(size, "bad arguments");
      return 2;
    }
  }
  if ((rc = mts_workload_open(o->workload, &w)) != 0) {
    fprintf(stderr, "mtserve serve: %s\n", mts_errmsg());
    shutdown_all(size, "bad workload");
    return 2;
  }
  double duration = o->duration_s > 0 ? o->duration_s : w->duration_s;
  double warmup = w->warmup_s < duration ? w->warmup_s : 0;
  uint64_t seed = o->seed ? o->seed : w->seed;
  int cpq = o->cores_per_query > 0 ? o->cores_per_query : w->cores_per_query > 0 ? w->cores_per_query : 1;
  w->duration_s = duration;
  w->seed = seed;
  /* Arrivals (and trace errors) before any model is loaded. */
  if ((rc = mts_arrivals_build(w, o->rate_scale > 0 ? o->rate_scale : 1.0, seed, &arr, &n_arr)) != 0) {
    fprintf(stderr, "mtserve serve: %s\n", mts_errmsg());
    shutdown_all(size, "bad workload");
    exit_code = 2;
    goto out;
  }

  /* Output directory. */
  if (o->out_dir) {
    snprintf(out_dir, sizeof out_dir, "%s", o->out_dir);
  } else {
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(out_dir, sizeof out_dir, "results/%Y%m%d-%H%M%S", &tm);
  }
  if (mts_mkdir_p(out_dir) != 0) {
    fprintf(stderr, "mtserve serve: cannot create output directory %s: %s\n", out_dir, strerror(errno));
    shutdown_all(size, "bad output directory");
    exit_code = 2;
    goto out;
  }

  /* Hello from every worker. */
  int n_wk = size - 1;
  wk = mts_xcalloc((size_t)n_wk, sizeof *wk);
  for (int got = 0; got < n_wk;) {
    Mts__Msg *m = NULL;
    int src = -1;
    rc = mts_msg_wait(&m, &src, mts_now_us() + HELLO_TIMEOUT_US, 50, 2000);
    if (rc <= 0) {
      fprintf(stderr, "mtserve serve: %s\n", rc == 0 ? "timed out waiting for workers to start" : mts_errmsg());
      shutdown_all(size, "start-up failed");
      exit_code = 1;
      goto out;
    }
    if (m->body_case == MTS__MSG__BODY_HELLO && src >= 1 && src < size && m->hello->topology) {
      wk_t *x = &wk[src - 1];
      Mts__Topology *tp = m->hello->topology;
      x->rank = src;
      x->pid = m->hello->pid;
      snprintf(x->host, sizeof x->host, "%s", tp->host);
      x->n_cores = (int)(tp->n_cores < MTS_SCHED_MAX_HOME ? tp->n_cores : MTS_SCHED_MAX_HOME);
      for (int c = 0; c < x->n_cores; c++) {
        x->cores[c] = tp->cores[c];
        x->llc_of[c] = c < (int)tp->n_llc_of ? tp->llc_of[c] : 0;
      }
      got++;
    }
    mts_msg_free(m);
  }
  assign_homes(wk, n_wk, o->home_mode ? o->home_mode : "llc");
  /* Doorbells with same-host workers (see proto/msg.h). */
  char my_host[256] = "";
  gethostname(my_host, sizeof my_host - 1);
  int have_bell = mts_doorbell_open_own() == 0;
  for (int i = 0; i < n_wk; i++)
    wk[i].ring = !strcmp(wk[i].host, my_host) && mts_doorbell_attach(wk[i].rank, wk[i].pid) == 0;

  /* Models: one index per distinct model name. */
  int tenant_model[MTS_MAX_TENANTS];
  for (int t = 0; t < w->n_tenants; t++) tenant_model[t] = model_index(&md, w->tenants[t].model);
  int max_home = 0;
  for (int i = 0; i < n_wk; i++)
    if (wk[i].n_home > max_home) max_home = wk[i].n_home;

  /* Load on every worker, then profile on one.  Solo latency is measured
   * by a single worker (the largest home) after the others have finished
   * compiling, so that no measurement shares its cores with other work. */
  int prof_from = 0;
  for (int i = 1; i < n_wk; i++)
    if (wk[i].n_home > wk[prof_from].n_home) prof_from = i;
  Mts__ModelSpec specs[MTS_MAX_TENANTS], *sp[MTS_MAX_TENANTS];
  for (int i = 0; i < md.n_models; i++) {
    Mts__ModelSpec s0 = MTS__MODEL_SPEC__INIT;
    specs[i] = s0;
    specs[i].id = i;
    specs[i].name = md.names[i];
    sp[i] = &specs[i];
  }
  if (!o->quiet) printf("mtserve: %d workers loading %d models, then profiling solo latency on rank %d...\n",
                        n_wk, md.n_models, wk[prof_from].rank);
  /* unfinished queries per worker and model: the contexts each worker makes */
  int max_bound = o->max_inflight > 0 ? o->max_inflight : o->max_inflight < 0 ? 0 : MTS_SCHED_DEFAULT_MAX_BOUND;
  for (int phase = 0; phase < 2 && !exit_code; phase++) {
    int sent = 0;
    for (int i = 0; i < n_wk; i++) {
      if ((i == prof_from) != (phase == 1)) continue;
      Mts__Msg m = MTS__MSG__INIT;
      Mts__Load ld = MTS__LOAD__INIT;
      int32_t home[MTS_SCHED_MAX_HOME], cc[MTS_SCHED_MAX_HOME];
      for (int c = 0; c < wk[i].n_home; c++) {
        home[c] = wk[i].home[c];
        cc[c] = c + 1;
      }
      snprintf(path, sizeof path, "%s/rank-%d.jsonl", out_dir, wk[i].rank);
      ld.n_home_cores = (size_t)wk[i].n_home;
      ld.home_cores = home;
      ld.n_models = (size_t)md.n_models;
      ld.models = sp;
      ld.n_core_counts = (size_t)wk[i].n_home;
      ld.core_counts = cc;
      ld.solo_iters = o->solo_iters > 0 ? o->solo_iters : 7;
      ld.profile = phase == 1;
      ld.log_path = path;
      ld.seed = seed;
      ld.coord_host = my_host;
      ld.coord_pid = have_bell ? (int32_t)getpid() : 0;
      ld.ring = wk[i].ring;
      ld.contexts = max_bound;
      if (fault_rank == wk[i].rank) {
        ld.fault = fault_kind;
        ld.fault_after = fault_after;
      }
      m.body_case = MTS__MSG__BODY_LOAD;
      m.load = &ld;
      if ((rc = mts_msg_send(&m, wk[i].rank)) != 0) {
        fprintf(stderr, "mtserve serve: %s\n", mts_errmsg());
        shutdown_all(size, "start-up failed");
        exit_code = 1;
        goto out;
      }
      sent++;
    }
    for (int got = 0, failed = 0; got < sent;) {
      Mts__Msg *m = NULL;
      int src = -1;
      rc = mts_msg_wait(&m, &src, mts_now_us() + READY_TIMEOUT_US, 100, 2000);
      if (rc <= 0) {
        fprintf(stderr, "mtserve serve: %s\n", rc == 0 ? "timed out waiting for workers to load models" : mts_errmsg());
        shutdown_all(size, "start-up failed");
        exit_code = 1;
        goto out;
      }
      if (m->body_case != MTS__MSG__BODY_READY) {
        mts_msg_free(m);
        continue;
      }
      got++;
      Mts__Ready *r = m->ready;
      wk_t *x = &wk[src - 1];
      x->rings = r->ring;
      if (!r->ok) {
        if (!failed++) fprintf(stderr, "mtserve serve: workload %s: %s\n", w->path, r->error);
        exit_code = 2;
      } else {
        x->load_ms = r->load_ms;
        if (src - 1 == prof_from) ready_profile(&md, r);
      }
      mts_msg_free(m);
    }
  }
  if (exit_code) {
    shutdown_all(size, "model load failed");
    goto out;
  }
  mts_doorbell_unlink_own(); /* every worker has attached by now */
  {
    int all = have_bell;
    for (int i = 0; i < n_wk; i++) all &= wk[i].rings;
    mts_msg_set_all_ring(all);
  }
  /* The coordinator sleeps almost always; when a completion or an arrival
   * wakes it, it must not wait behind inference threads for a time slice
   * (on a busy 2-core VM: completion seen 88 us after the block's end at
   * p50, 225 us at p99 with SCHED_RR; 1.8 and 6.7 ms without). */
  char prio_how[128];
  mts_raise_priority(prio_how, sizeof prio_how);

  /* profile.json: the measured solo profile the scheduler used (input for
   * `mtserve sim` and for reports). */
  {
    json_t *root = json_object(), *ma = json_array();
    json_object_set_new(root, "host", json_string(wk[prof_from].host));
    json_object_set_new(root, "home_cores", json_integer(wk[prof_from].n_home));
    for (int i = 0; i < md.n_models; i++) {
      const mts_model_prof_t *p = &md.prof[i];
      json_t *x = json_object(), *la = json_array(), *mu = json_array();
      for (int c = 0; c < p->n_cc; c++) json_array_append_new(mu, json_real(p->model_us[c]));
      for (int l = 0; l < p->n_layers; l++) {
        json_t *lj = json_object(), *su = json_array();
        for (int c = 0; c < p->n_cc; c++) json_array_append_new(su, json_real(p->layer_us[l * p->n_cc + c]));
        json_object_set_new(lj, "name", json_string(md.layer_names[i][l]));
        json_object_set_new(lj, "solo_us", su);
        if (p->n_versions > 1) { /* versions 1.. (coordinator/profile.h) */
          json_t *va = json_array();
          for (int v = 1; v < p->n_versions; v++) {
            json_t *vu = json_array();
            for (int c = 0; c < p->n_cc; c++)
              json_array_append_new(vu, json_real(p->ver_us[((size_t)v * (size_t)p->n_layers + (size_t)l) * (size_t)p->n_cc + (size_t)c]));
            json_array_append_new(va, vu);
          }
          json_object_set_new(lj, "versions_us", va);
        }
        json_array_append_new(la, lj);
      }
      if (p->n_versions > 1) {
        json_t *vs = json_array();
        for (int v = 0; v < p->n_versions; v++) json_array_append_new(vs, json_real(p->ver_sens[v]));
        json_object_set_new(x, "version_sens", vs);
      }
      json_object_set_new(x, "name", json_string(md.names[i]));
      json_object_set_new(x, "model_us", mu);
      json_object_set_new(x, "layers", la);
      json_array_append_new(ma, x);
    }
    json_object_set_new(root, "models", ma);
    snprintf(path, sizeof path, "%s/profile.json", out_dir);
    if (json_dump_file(root, path, JSON_INDENT(1)) != 0)
      fprintf(stderr, "mtserve serve: cannot write %s\n", path);
    json_decref(root);
  }

  /* QoS targets: ms, or a multiple of the model's solo latency on one query's cores. */
  double qos_us[MTS_MAX_TENANTS], qos_ms[MTS_MAX_TENANTS];
  int cpq_eff = cpq < max_home ? cpq : max_home;
  for (int t = 0; t < w->n_tenants; t++) {
    const mts_tenant_t *tn = &w->tenants[t];
    const mts_model_prof_t *p = &md.prof[tenant_model[t]];
    int c = cpq_eff <= p->n_cc ? cpq_eff : p->n_cc;
    qos_us[t] = tn->qos_ms > 0 ? tn->qos_ms * 1000.0 : tn->qos_x_solo * p->model_us[c - 1];
    qos_ms[t] = qos_us[t] / 1000.0;
  }

  /* Scheduler. */
  wdesc = mts_xcalloc((size_t)n_wk, sizeof *wdesc);
  int n_nodes = 0, max_core = 0;
  for (int i = 0; i < n_wk; i++) {
    wdesc[i].rank = wk[i].rank;
    wdesc[i].node = wk[i].node;
    wdesc[i].n_home = wk[i].n_home;
    memcpy(wdesc[i].home, wk[i].home, (size_t)wk[i].n_home * sizeof(int));
    if (wk[i].node + 1 > n_nodes) n_nodes = wk[i].node + 1;
    for (int c = 0; c < wk[i].n_home; c++)
      if (wk[i].home[c] + 1 > max_core) max_core = wk[i].home[c] + 1;
  }
  double rate_qps[MTS_MAX_TENANTS];
  for (int t = 0; t < w->n_tenants; t++) rate_qps[t] = w->tenants[t].rate_qps * (o->rate_scale > 0 ? o->rate_scale : 1.0);
  mts_sched_config_t sc = {
      .tenant_rate_qps = rate_qps,
      .queue_limit = o->queue_limit,
      .reject_oldest = o->reject_oldest,
      .admission = o->admission,
      .horizon = o->horizon,
      .max_bound = max_bound,
      .policy = policy,
      .cores_per_query = cpq,
      .drop_hopeless = o->drop_hopeless > 0,
      .n_models = md.n_models,
      .models = md.prof,
      .n_workers = n_wk,
      .workers = wdesc,
      .n_tenants = w->n_tenants,
      .tenant_qos_us = qos_us,
      .tenant_model = tenant_model,
      .max_cores_node = max_core,
      .n_nodes = n_nodes,
  };
  if ((rc = mts_sched_create(&sc, &sched)) != 0) {
    fprintf(stderr, "mtserve serve: %s\n", mts_errmsg());
    shutdown_all(size, "scheduler");
    exit_code = 1;
    goto out;
  }
  if (!o->quiet) {
    printf("mtserve: workload %s, policy %s, %d workers, %zu arrivals over %.1f s (warm-up %.1f s), seed %llu\n",
           w->name, policy, n_wk, n_arr, duration, warmup, (unsigned long long)seed);
    for (int i = 0; i < n_wk; i++) {
      printf("  worker rank %d on %s: home cores", wk[i].rank, wk[i].host);
      for (int c = 0; c < wk[i].n_home; c++) printf(" %d", wk[i].home[c]);
      printf(" (load %.0f ms)\n", wk[i].load_ms);
    }
    printf("  coordinator priority: %s\n", prio_how);
    for (int t = 0; t < w->n_tenants; t++)
      printf("  tenant %-12s %-14s solo %.2f ms on %d core(s), QoS %.2f ms\n", w->tenants[t].name,
             w->tenants[t].model, md.prof[tenant_model[t]].model_us[(cpq_eff <= md.prof[tenant_model[t]].n_cc ? cpq_eff : md.prof[tenant_model[t]].n_cc) - 1] / 1000.0,
             cpq_eff, qos_ms[t]);
  }

  /* Run. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  double cpu0 = cpu_ms_self();
  tr.t0 = mts_now_us();
  tr.wk = wk;
  tr.running = mts_xcalloc((size_t)n_wk, sizeof *tr.running);
  /* timeline.json's room is taken now, so a long run's memory stays flat */
  mts_timeline_reserve(&tr.timeline, MTS_TIMELINE_BLOCKS);
  tr.n_wk = n_wk;
  tr.size = size;
  tr.all_ring = 1;
  for (int i = 0; i < n_wk; i++) tr.all_ring &= wk[i].rings && have_bell;
  mts_transport_t transport = {.impl = &tr, .now = tr_now, .dispatch = tr_dispatch, .wait = tr_wait, .lost = tr_lost,
                               .release = tr_release};
  mts_engine_config_t ec = {
      .w = w, .qos_us = qos_us, .tenant_model = tenant_model, .arrivals = arr, .n_arrivals = n_arr,
      .duration_s = duration, .warmup_s = warmup, .grace_s = 10.0,
      .stop = &stop_flag, .stop_grace_s = o->stop_grace_s > 0 ? o->stop_grace_s : 0.5,
      .block_timeout_s = o->block_timeout_s > 0 ? o->block_timeout_s : 5.0,
      .progress = o->quiet ? NULL : stdout, .progress_tty = isatty(fileno(stdout)) && !getenv("CI"),
  };
  rc = mts_engine_run(&ec, sched, &transport, &res);
  double coord_cpu_ms = cpu_ms_self() - cpu0;
  if (rc) {
    fprintf(stderr, "mtserve serve: run stopped: %s\n", res.error);
    exit_code = 1;
  }

  /* Shutdown and Bye (late completions of aborted blocks are discarded). */
  shutdown_all(size, res.stopped ? "stopped by signal" : "run finished");
  /* after a signal, mpirun's SIGKILL is near: do not wait long */
  int64_t bye_deadline = mts_now_us() + (res.stopped ? BYE_TIMEOUT_US / 20 : BYE_TIMEOUT_US);
  int n_live = 0;
  for (int i = 0; i < n_wk; i++) n_live += !wk[i].lost;
  for (int got = 0; got < n_live;) {
    Mts__Msg *m = NULL;
    int src = -1;
    rc = mts_msg_wait(&m, &src, bye_deadline, 50, 2000);
    if (rc <= 0) {
      fprintf(stderr, "mtserve serve: %d worker(s) did not confirm shutdown\n", n_live - got);
      break;
    }
    if (m->body_case == MTS__MSG__BODY_BYE && src >= 1 && src < size && !wk[src - 1].lost) {
      wk_t *x = &wk[src - 1];
      x->blocks = m->bye->blocks;
      x->busy_ms = m->bye->busy_ms;
      x->cpu_ms = m->bye->cpu_ms;
      x->wall_ms = m->bye->wall_ms;
      x->max_rss_mb = m->bye->max_rss_mb;
      x->said_bye = 1;
      got++;
    }
    mts_msg_free(m);
  }

  /* Report. */
  {
    mts_report_t rep;
    double window = (res.stopped ? res.arrivals_until_s : duration) - warmup;
    if (window <= 0) window = res.arrivals_until_s > 0 ? res.arrivals_until_s : duration;
    mts_report_compute(w, qos_ms, res.queries, res.n_queries, window, &rep);
    int books = mts_report_check_books(w, res.queries, res.n_queries);
    json_t *extra = json_object();
    json_object_set_new(extra, "seed", json_integer((json_int_t)seed));
    json_object_set_new(extra, "stopped_by_signal", json_boolean(res.stopped));
    json_object_set_new(extra, "ranks", json_integer(size));
    json_object_set_new(extra, "cores_per_query", json_integer(cpq_eff));
    json_object_set_new(extra, "home_mode", json_string(o->home_mode ? o->home_mode : "llc"));
    json_object_set_new(extra, "duration_s", json_real(duration));
    json_object_set_new(extra, "warmup_s", json_real(warmup));
    json_object_set_new(extra, "rate_scale", json_real(o->rate_scale > 0 ? o->rate_scale : 1.0));
    json_object_set_new(extra, "dispatches", json_integer(mts_sched_dispatches(sched)));
    json_object_set_new(extra, "final_correction", json_real(mts_sched_correction(sched)));
    json_object_set_new(extra, "interference_scale", json_real(mts_sched_interference_scale(sched)));
    json_object_set_new(extra, "conflicts", json_integer(mts_sched_conflicts(sched)));
    json_object_set_new(extra, "decide_us_p50", json_real(res.decide_us_p50));
    json_object_set_new(extra, "decide_us_p99", json_real(res.decide_us_p99));
    {
      struct rusage ru;
      getrusage(RUSAGE_SELF, &ru);
      json_object_set_new(extra, "coordinator_max_rss_mb", json_real((double)ru.ru_maxrss / 1024.0));
    }
    json_object_set_new(extra, "coordinator_priority", json_string(prio_how));
    json_object_set_new(extra, "coordinator_pid", json_integer(getpid()));
    json_object_set_new(extra, "max_inflight", json_integer(max_bound));
    json_object_set_new(extra, "released_part_way", json_integer((json_int_t)res.released));
    json_object_set_new(extra, "timeline_blocks", json_integer((json_int_t)tr.timeline.n));
    json_object_set_new(extra, "timeline_blocks_left_out", json_integer((json_int_t)tr.timeline.left_out));
    json_object_set_new(extra, "queue_limit", json_integer(o->queue_limit));
    json_object_set_new(extra, "workers_lost", json_integer(res.n_lost));
    json_object_set_new(extra, "inject_fault", o->inject_fault ? json_string(o->inject_fault) : json_null());
    json_object_set_new(extra, "reject", json_string(o->reject_oldest ? "oldest" : "newest"));
    json_object_set_new(extra, "coordinator_cpu_pct", json_real(res.run_s > 0 ? coord_cpu_ms / (res.run_s * 10.0) : 0));
    int total_cores = 0;
    double busy = 0;
    json_t *wa = json_array();
    for (int i = 0; i < n_wk; i++) {
      json_t *x = json_object();
      json_t *home = json_array();
      for (int c = 0; c < wk[i].n_home; c++) json_array_append_new(home, json_integer(wk[i].home[c]));
      json_object_set_new(x, "rank", json_integer(wk[i].rank));
      json_object_set_new(x, "pid", json_integer(wk[i].pid));
      json_object_set_new(x, "host", json_string(wk[i].host));
      json_object_set_new(x, "home", home);
      json_object_set_new(x, "load_ms", json_real(wk[i].load_ms));
      json_object_set_new(x, "blocks", json_integer(wk[i].blocks));
      json_object_set_new(x, "busy_core_ms", json_real(wk[i].busy_ms));
      json_object_set_new(x, "cpu_pct", json_real(wk[i].wall_ms > 0 ? 100.0 * wk[i].cpu_ms / wk[i].wall_ms : 0));
      json_object_set_new(x, "max_rss_mb", json_real(wk[i].max_rss_mb));
      json_object_set_new(x, "lost", json_boolean(wk[i].lost));
      json_array_append_new(wa, x);
      busy += wk[i].busy_ms;
    }
    for (int c = 0; c < max_core; c++) {
      for (int i = 0; i < n_wk; i++) {
        int has = 0;
        for (int k = 0; k < wk[i].n_home; k++) has |= wk[i].home[k] == c;
        if (has) {
          total_cores++;
          break;
        }
      }
    }
    json_object_set_new(extra, "workers", wa);
    /* workers report busy core-milliseconds (block time x granted cores) */
    json_object_set_new(extra, "core_utilisation", json_real(total_cores && res.run_s > 0
        ? busy / (res.run_s * 1e3 * total_cores) : 0));
    json_t *ma = json_array();
    for (int i = 0; i < md.n_models; i++) {
      json_t *x = json_object();
      json_t *solo = json_array();
      for (int c = 0; c < md.prof[i].n_cc; c++) json_array_append_new(solo, json_real(md.prof[i].model_us[c] / 1000.0));
      json_object_set_new(x, "name", json_string(md.names[i]));
      json_object_set_new(x, "layers", json_integer(md.prof[i].n_layers));
      json_object_set_new(x, "solo_ms_by_cores", solo);
      json_array_append_new(ma, x);
    }
    json_object_set_new(extra, "models", ma);
    json_object_set_new(extra, "books_ok", json_boolean(books == 0));
    snprintf(path, sizeof path, "%s/summary.json", out_dir);
    if (mts_report_write_json(path, w, policy, &rep, extra) != 0) {
      fprintf(stderr, "mtserve serve: %s\n", mts_errmsg());
      exit_code = exit_code ? exit_code : 1;
    }
    snprintf(path, sizeof path, "%s/timeline.json", out_dir);
    if (mts_timeline_write(path, &tr.timeline, w, n_nodes > 1 ? "worker clocks (CLOCK_MONOTONIC of each node: nodes are not aligned)"
                                                            : "worker clocks (CLOCK_MONOTONIC, one node)") != 0) {
      fprintf(stderr, "mtserve serve: %s\n", mts_errmsg());
      exit_code = exit_code ? exit_code : 1;
    }
    snprintf(path, sizeof path, "%s/queries.csv", out_dir);
    if (mts_report_write_queries(path, w, qos_ms, res.queries, res.n_queries) != 0) {
      fprintf(stderr, "mtserve serve: %s\n", mts_errmsg());
      exit_code = exit_code ? exit_code : 1;
    }
    if (!o->quiet) {
      mts_report_print(stdout, w, &rep);
      printf("conflicts %lld, dispatches %lld, scheduler decision p50 %.1f us / p99 %.1f us, coordinator CPU %.1f%%\n",
             (long long)mts_sched_conflicts(sched), (long long)mts_sched_dispatches(sched), res.decide_us_p50,
             res.decide_us_p99, res.run_s > 0 ? coord_cpu_ms / (res.run_s * 10.0) : 0);
      printf("results: %s\n", out_dir);
    }
    if (books != 0) {
      fprintf(stderr, "mtserve serve: ACCOUNTING ERROR: %s\n", mts_errmsg());
      exit_code = 3;
    }
  }

out:
  mts_doorbell_close_all();
  mts_timeline_free(&tr.timeline);
  free(tr.running);
  free(res.queries);
  mts_sched_destroy(sched);
  free(wdesc);
  free(arr);
  models_free(&md);
  free(wk);
  mts_workload_destroy(w);
  return exit_code;
}
