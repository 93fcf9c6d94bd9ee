/* sweep.c — the load sweep behind `mtserve sweep` (see sweep.h): for each
 * policy and seed, a bracket-and-bisect search over the arrival-rate scale
 * for the highest load that still meets the satisfaction target, then one
 * run per policy at the baseline's maximum so latencies compare at equal
 * load.
 *
 * The search treats "passes" as monotone in the load, which it is only
 * approximately (a bursty schedule at a higher rate is a different
 * schedule); every point is written to points.csv, so a non-monotone curve
 * is visible rather than hidden. */
#include "coordinator/sweep.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "coordinator/sim.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"

typedef struct {
  double sat, worst_sat, mean_ms, p99_ms, util;
  int worst_tenant, pass;
  int64_t arrived, completed, dropped;
  int64_t worst_arrived, worst_missed; /* the worst tenant's measured queries and misses: a
                                          verdict on a few dozen queries rests on one or two */
} point_t;

typedef struct {
  const mts_sweep_opts_t *o;
  mts_workload_t *w;
  mts_profile_t *prof;
  int mpi;
  char exe[4096], mpirun[9000];
  FILE *points;
  double rate_sum;      /* offered qps at scale 1 (generated tenants) */
  int seq;              /* point counter (mpi directory names) */
  char wl_path[8192];   /* mpi: the workload file the points run (QoS fixed in ms) */
  double qos_ms[MTS_MAX_TENANTS];
} ctx_t;

static int mkdir_p(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* Pass rule and summary numbers from a per-tenant report. */
static void judge(ctx_t *c, const mts_stats_t *overall, const mts_stats_t *tenant, int n, double util,
                  point_t *pt) {
  pt->sat = overall->satisfaction;
  pt->mean_ms = overall->mean_ms;
  pt->p99_ms = overall->p99_ms;
  pt->arrived = overall->arrived;
  pt->completed = overall->completed;
  pt->dropped = overall->dropped + overall->failed;
  pt->util = util;
  pt->worst_sat = 1.0;
  pt->worst_tenant = 0;
  for (int t = 0; t < n; t++)
    if (tenant[t].satisfaction < pt->worst_sat) {
      pt->worst_sat = tenant[t].satisfaction;
      pt->worst_tenant = t;
    }
  pt->worst_arrived = n > 0 ? tenant[pt->worst_tenant].arrived : 0;
  pt->worst_missed = n > 0 ? tenant[pt->worst_tenant].arrived - tenant[pt->worst_tenant].satisfied : 0;
  /* An empty run proves nothing: it does not pass. */
  pt->pass = pt->arrived > 0 && pt->sat >= c->o->target && pt->worst_sat >= c->o->target;
}

static int run_sim(ctx_t *c, const char *policy, uint64_t seed, double scale, const char *keep_dir,
                   point_t *pt) {
  const mts_sweep_opts_t *o = c->o;
  mts_sim_opts_t so;
  mts_sim_result_t res;
  memset(&so, 0, sizeof so);
  so.wl = c->w;
  so.workload = c->w->name;
  so.policy = policy;
  so.profile = c->prof;
  so.out_dir = keep_dir;
  so.cores = o->cores;
  so.nodes = o->nodes;
  so.llc_domains = o->llc_domains;
  so.duration_s = o->duration_s;
  so.rate_scale = scale;
  so.seed = seed;
  so.noise = o->noise;
  so.dispatch_us = o->dispatch_us;
  so.truth = o->truth;
  so.model = o->model;
  so.horizon = o->horizon;
  so.cores_per_query = o->cores_per_query;
  so.max_inflight = o->max_inflight;
  so.quiet = 1;
  int rc = mts_sim_run(&so, &res);
  if (rc == 0) judge(c, &res.rep.overall, res.rep.tenant, res.rep.n_tenants, res.core_utilisation, pt);
  mts_sim_result_free(&res);
  return rc;
}

/* Reads summary.json of a serve run into pt. */
static int read_summary(ctx_t *c, const char *dir, point_t *pt) {
  char path[8192];
  json_error_t je;
  if (snprintf(path, sizeof path, "%s/summary.json", dir) >= (int)sizeof path)
    return mts_seterr(MTS_EINVAL, "path too long: %s", dir);
  json_t *root = json_load_file(path, 0, &je);
  if (!root) return mts_seterr(MTS_EIO, "%s: %s (see %s/log.txt)", path, je.text, dir);
  mts_stats_t ov, tn[MTS_MAX_TENANTS];
  int n = 0, rc = 0;
  json_t *ts = json_object_get(root, "tenants"), *v;
  size_t i;
  memset(&ov, 0, sizeof ov);
  memset(tn, 0, sizeof tn);
  json_t *ovj = json_object_get(root, "overall");
  if (!json_is_array(ts) || !json_is_object(ovj)) {
    rc = mts_seterr(MTS_EPARSE, "%s: no tenants/overall", path);
    goto out;
  }
  ov.satisfaction = json_number_value(json_object_get(ovj, "satisfaction"));
  ov.mean_ms = json_number_value(json_object_get(ovj, "mean_ms"));
  ov.p99_ms = json_number_value(json_object_get(ovj, "p99_ms"));
  ov.arrived = json_integer_value(json_object_get(ovj, "arrived"));
  ov.completed = json_integer_value(json_object_get(ovj, "completed"));
  ov.dropped = json_integer_value(json_object_get(ovj, "dropped"));
  ov.failed = json_integer_value(json_object_get(ovj, "failed"));
  json_array_foreach(ts, i, v) {
    if (n >= MTS_MAX_TENANTS) break;
    tn[n].satisfaction = json_number_value(json_object_get(v, "satisfaction"));
    tn[n].arrived = json_integer_value(json_object_get(v, "arrived"));
    tn[n++].satisfied = json_integer_value(json_object_get(v, "satisfied"));
  }
  double util = json_number_value(json_object_get(json_object_get(root, "extra"), "core_utilisation"));
  judge(c, &ov, tn, n, util, pt);
  if (!json_is_true(json_object_get(root, "books_ok"))) pt->pass = 0;
out:
  json_decref(root);
  return rc;
}

static int run_mpi(ctx_t *c, const char *policy, uint64_t seed, double scale, const char *dir, point_t *pt) {
  const mts_sweep_opts_t *o = c->o;
  char np[16], rs[32], sd[32], du[32], si[16], logp[8192];
  const char *argv[40];
  int k = 0, status;
  if (mkdir_p(dir) != 0) return mts_seterr(MTS_EIO, "cannot create %s: %s", dir, strerror(errno));
  snprintf(np, sizeof np, "%d", o->ranks);
  snprintf(rs, sizeof rs, "%.6g", scale);
  snprintf(sd, sizeof sd, "%llu", (unsigned long long)seed);
  if (snprintf(logp, sizeof logp, "%s/log.txt", dir) >= (int)sizeof logp)
    return mts_seterr(MTS_EINVAL, "path too long: %s", dir);
  argv[k++] = c->mpirun;
  argv[k++] = "-np";
  argv[k++] = np;
  argv[k++] = c->exe;
  argv[k++] = "serve";
  argv[k++] = "--workload";
  argv[k++] = c->wl_path[0] ? c->wl_path : o->workload;
  argv[k++] = "--policy";
  argv[k++] = policy;
  argv[k++] = "--rate-scale";
  argv[k++] = rs;
  argv[k++] = "--seed";
  argv[k++] = sd;
  if (o->duration_s > 0) {
    snprintf(du, sizeof du, "%.6g", o->duration_s);
    argv[k++] = "--duration";
    argv[k++] = du;
  }
  if (o->home_mode) {
    argv[k++] = "--home";
    argv[k++] = o->home_mode;
  }
  if (o->solo_iters > 0) {
    snprintf(si, sizeof si, "%d", o->solo_iters);
    argv[k++] = "--solo-iters";
    argv[k++] = si;
  }
  char hz[32];
  if (o->horizon != 0) {
    snprintf(hz, sizeof hz, "%.6g", o->horizon > 0 ? o->horizon : 0.0);
    argv[k++] = "--horizon";
    argv[k++] = hz;
  }
  char cq[32], mi[32];
  if (o->cores_per_query > 0) {
    snprintf(cq, sizeof cq, "%d", o->cores_per_query);
    argv[k++] = "--cores-per-query";
    argv[k++] = cq;
  }
  if (o->max_inflight != 0) {
    snprintf(mi, sizeof mi, "%d", o->max_inflight > 0 ? o->max_inflight : 0);
    argv[k++] = "--max-inflight";
    argv[k++] = mi;
  }
  argv[k++] = "--quiet";
  argv[k++] = "--out";
  argv[k++] = dir;
  argv[k] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return mts_seterr(MTS_EIO, "fork: %s", strerror(errno));
  if (pid == 0) {
    int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return mts_seterr(MTS_EIO, "waitpid: %s", strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return mts_seterr(MTS_EIO, "serve run (policy %s, rate scale %s) failed with status %d; see %s", policy, rs,
                      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), logp);
  return read_summary(c, dir, pt);
}

/* One point: runs it and appends it to points.csv.  keep: for sim, write
 * a results directory there (NULL: none); mpi always writes one. */
static int point(ctx_t *c, const char *policy, uint64_t seed, double scale, const char *phase, const char *keep,
                 point_t *pt) {
  char dir[8192];
  int rc;
  memset(pt, 0, sizeof *pt);
  if (c->mpi) {
    if (keep) snprintf(dir, sizeof dir, "%s", keep);
    else snprintf(dir, sizeof dir, "%s/points/%03d-%s-s%llu", c->o->out_dir, ++c->seq, policy,
                  (unsigned long long)seed);
    rc = run_mpi(c, policy, seed, scale, dir, pt);
  } else {
    rc = run_sim(c, policy, seed, scale, keep, pt);
  }
  if (rc) return rc;
  fprintf(c->points, "%s,%llu,%s,%.6g,%.6g,%.6f,%s,%.6f,%d,%.4f,%.4f,%lld,%lld,%lld,%.4f,%lld,%lld\n", policy,
          (unsigned long long)seed, phase, scale, scale * c->rate_sum, pt->sat,
          c->w->tenants[pt->worst_tenant].name, pt->worst_sat, pt->pass, pt->mean_ms, pt->p99_ms,
          (long long)pt->arrived, (long long)pt->completed, (long long)pt->dropped, pt->util,
          (long long)pt->worst_arrived, (long long)pt->worst_missed);
  fflush(c->points);
  if (!c->o->quiet)
    fprintf(stderr, "  %-8s seed %llu  %-7s load x%-8.4g sat %.4f (worst %s %.4f: %lld of %lld missed) %s\n",
            policy, (unsigned long long)seed, phase, scale, pt->sat, c->w->tenants[pt->worst_tenant].name,
            pt->worst_sat, (long long)pt->worst_missed, (long long)pt->worst_arrived, pt->pass ? "pass" : "FAIL");
  return 0;
}

/* Highest passing scale for (policy, seed); *max = 0 if even a tiny load fails. */
static int search(ctx_t *c, const char *policy, uint64_t seed, double start, double step, double *max) {
  const mts_sweep_opts_t *o = c->o;
  point_t pt;
  double lo = 0, hi = 0, s = start;
  int rc;
  if ((rc = point(c, policy, seed, s, "bracket", NULL, &pt))) return rc;
  if (pt.pass) {
    lo = s;
    for (int i = 0; i < 20 && hi == 0; i++) {
      s *= step;
      if ((rc = point(c, policy, seed, s, "bracket", NULL, &pt))) return rc;
      if (pt.pass) lo = s;
      else hi = s;
    }
    if (hi == 0) { /* never failed: report the highest tried */
      *max = lo;
      return 0;
    }
  } else {
    hi = s;
    for (int i = 0; i < 20 && lo == 0; i++) {
      s /= step;
      if ((rc = point(c, policy, seed, s, "bracket", NULL, &pt))) return rc;
      if (pt.pass) lo = s;
      else hi = s;
    }
    if (lo == 0) {
      *max = 0;
      return 0;
    }
  }
  for (int i = 0; i < o->max_bisect && (hi - lo) / lo > o->tol; i++) {
    s = sqrt(lo * hi); /* geometric middle: loads span orders of magnitude */
    if ((rc = point(c, policy, seed, s, "bisect", NULL, &pt))) return rc;
    if (pt.pass) lo = s;
    else hi = s;
  }
  *max = lo;
  return 0;
}

/* Live runs resolve "qos_x_solo" from the solo profile each run measures,
 * and on a shared machine that measurement moves from run to run (the same
 * model measured 8 ms in one run and 17 ms in the next here), which would
 * move the target between the points and policies being compared.  So one
 * short calibration run resolves the targets once and every point runs
 * DIR/workload.json: the workload with those targets in ms. */
static int calibrate(ctx_t *c, const char *policy) {
  const mts_sweep_opts_t *o = c->o;
  mts_sweep_opts_t short_o = *o;
  ctx_t cc = *c;
  char dir[8192], path[8192];
  point_t pt;
  json_error_t je;
  int rc;
  short_o.duration_s = o->duration_s > 0 && o->duration_s < 3 ? o->duration_s : 3;
  cc.o = &short_o;
  snprintf(dir, sizeof dir, "%s/calibration", o->out_dir);
  if ((rc = run_mpi(&cc, policy, o->seed0, o->start_scale, dir, &pt))) return rc;
  if (snprintf(path, sizeof path, "%s/summary.json", dir) >= (int)sizeof path)
    return mts_seterr(MTS_EINVAL, "path too long: %s", dir);
  json_t *r = json_load_file(path, 0, &je), *v;
  if (!r) return mts_seterr(MTS_EIO, "%s: %s", path, je.text);
  size_t i;
  json_array_foreach(json_object_get(r, "tenants"), i, v) {
    if ((int)i < c->w->n_tenants) c->qos_ms[i] = json_number_value(json_object_get(v, "qos_ms"));
  }
  json_decref(r);
  /* The workload again, with every target in ms. */
  const mts_workload_t *w = c->w;
  static const char *const proc[] = {"poisson", "bursty", "trace"};
  json_t *root = json_object(), *ts = json_array();
  json_object_set_new(root, "name", json_string(w->name));
  json_object_set_new(root, "duration_s", json_real(w->duration_s));
  json_object_set_new(root, "warmup_s", json_real(w->warmup_s));
  json_object_set_new(root, "seed", json_integer((json_int_t)w->seed));
  json_object_set_new(root, "cores_per_query", json_integer(o->cores_per_query > 0 ? o->cores_per_query : w->cores_per_query));
  if (w->trace) json_object_set_new(root, "trace", json_string(w->trace));
  for (int t = 0; t < w->n_tenants; t++) {
    const mts_tenant_t *tn = &w->tenants[t];
    json_t *o2 = json_object(), *a = json_object();
    if (!(c->qos_ms[t] > 0)) {
      json_decref(root);
      json_decref(ts);
      json_decref(o2);
      json_decref(a);
      return mts_seterr(MTS_EPARSE, "%s: tenant %s has no resolved qos_ms", path, tn->name);
    }
    json_object_set_new(o2, "name", json_string(tn->name));
    json_object_set_new(o2, "model", json_string(tn->model));
    json_object_set_new(o2, "qos_ms", json_real(c->qos_ms[t]));
    json_object_set_new(a, "process", json_string(proc[tn->arrival]));
    if (tn->arrival != MTS_ARRIVAL_TRACE) json_object_set_new(a, "rate_qps", json_real(tn->rate_qps));
    if (tn->arrival == MTS_ARRIVAL_BURSTY) json_object_set_new(a, "cv", json_real(tn->cv));
    json_object_set_new(o2, "arrival", a);
    json_array_append_new(ts, o2);
  }
  json_object_set_new(root, "tenants", ts);
  snprintf(c->wl_path, sizeof c->wl_path, "%s/workload.json", o->out_dir);
  rc = json_dump_file(root, c->wl_path, JSON_INDENT(1)) ? mts_seterr(MTS_EIO, "cannot write %s", c->wl_path) : 0;
  json_decref(root);
  if (!rc && !o->quiet) {
    fprintf(stderr, "sweep: QoS targets from the calibration run (%s):", dir);
    for (int t = 0; t < w->n_tenants; t++) fprintf(stderr, " %s %.1f ms", w->tenants[t].name, c->qos_ms[t]);
    fprintf(stderr, "\n");
  }
  return rc;
}

static int split_policies(const char *list, char names[][32], int *n) {
  *n = 0;
  const char *p = list;
  while (*p) {
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= 32) return mts_seterr(MTS_EINVAL, "bad policy list '%s'", list);
    if (*n >= MTS_SWEEP_MAX_POLICIES) return mts_seterr(MTS_EINVAL, "at most %d policies", MTS_SWEEP_MAX_POLICIES);
    memcpy(names[*n], p, len);
    names[*n][len] = 0;
    if (!mts_policy_find(names[*n])) return mts_seterr(MTS_EINVAL, "unknown policy '%s'", names[*n]);
    (*n)++;
    p += len;
    if (*p == ',') p++;
  }
  return *n ? 0 : mts_seterr(MTS_EINVAL, "empty policy list");
}

/* The wrapper next to the build: EXE = .../BUILD/cli/mtserve, so the
 * source tree is two levels up (meson keeps builds inside the tree here). */
static void find_mpirun(ctx_t *c) {
  if (c->o->mpirun) {
    snprintf(c->mpirun, sizeof c->mpirun, "%s", c->o->mpirun);
    return;
  }
  char d[4096];
  snprintf(d, sizeof d, "%s", c->exe);
  for (int up = 0; up < 3; up++) {
    char *sl = strrchr(d, '/');
    if (!sl) break;
    *sl = 0;
    char cand[4200];
    snprintf(cand, sizeof cand, "%s/scripts/mpirun", d);
    if (access(cand, X_OK) == 0) {
      snprintf(c->mpirun, sizeof c->mpirun, "%s", cand);
      return;
    }
  }
  snprintf(c->mpirun, sizeof c->mpirun, "%s", access("scripts/mpirun", X_OK) == 0 ? "scripts/mpirun" : "mpirun");
}

static int write_meta(ctx_t *c, char pol[][32], int np) {
  const mts_sweep_opts_t *o = c->o;
  char path[8192];
  json_t *m = json_object(), *pa = json_array();
  for (int i = 0; i < np; i++) json_array_append_new(pa, json_string(pol[i]));
  json_object_set_new(m, "workload", json_string(c->w->name));
  json_object_set_new(m, "workload_path", json_string(c->w->path));
  json_object_set_new(m, "backend", json_string(c->mpi ? "mpi" : "sim"));
  json_object_set_new(m, "policies", pa);
  json_object_set_new(m, "baseline", json_string(pol[0]));
  json_object_set_new(m, "target", json_real(o->target));
  json_object_set_new(m, "seeds", json_integer(o->n_seeds));
  json_object_set_new(m, "seed0", json_integer((json_int_t)o->seed0));
  json_object_set_new(m, "duration_s", json_real(o->duration_s > 0 ? o->duration_s : c->w->duration_s));
  json_object_set_new(m, "warmup_s", json_real(c->w->warmup_s));
  json_object_set_new(m, "offered_qps_at_scale_1", json_real(c->rate_sum));
  json_object_set_new(m, "tol", json_real(o->tol));
  json_object_set_new(m, "max_bisect", json_integer(o->max_bisect));
  if (c->wl_path[0]) {
    json_t *q = json_object();
    for (int t = 0; t < c->w->n_tenants; t++) json_object_set_new(q, c->w->tenants[t].name, json_real(c->qos_ms[t]));
    json_object_set_new(m, "qos_ms", q);
    json_object_set_new(m, "qos_from", json_string("calibration/summary.json (targets fixed in ms for every point: "
                                                   "workload.json)"));
  }
  json_object_set_new(m, "horizon", o->horizon == 0 ? json_string("default") : json_real(o->horizon > 0 ? o->horizon : 0));
  json_object_set_new(m, "max_inflight", o->max_inflight == 0 ? json_string("default") : json_integer(o->max_inflight > 0 ? o->max_inflight : 0));
  if (c->mpi) {
    json_object_set_new(m, "ranks", json_integer(o->ranks));
    json_object_set_new(m, "home", json_string(o->home_mode ? o->home_mode : "llc"));
    json_object_set_new(m, "mpirun", json_string(c->mpirun));
    json_object_set_new(m, "online_cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  } else {
    json_object_set_new(m, "cores", json_integer(o->cores));
    json_object_set_new(m, "llc_domains", json_integer(o->llc_domains));
    json_object_set_new(m, "nodes", json_integer(o->nodes));
    json_object_set_new(m, "noise", json_real(o->noise));
    json_object_set_new(m, "dispatch_us", json_real(o->dispatch_us));
    json_object_set_new(m, "interference", json_pack("[f,f]", o->truth ? o->truth->k_node : MTS_INTERF_K_NODE,
                                                     o->truth ? o->truth->k_llc : MTS_INTERF_K_LLC));
    json_object_set_new(m, "model_interference", json_pack("[f,f]", o->model ? o->model->k_node : MTS_INTERF_K_NODE,
                                                           o->model ? o->model->k_llc : MTS_INTERF_K_LLC));
    json_object_set_new(m, "profile", json_string(o->profile_path));
    json_object_set_new(m, "profile_source", json_string(c->prof->source));
    json_object_set_new(m, "profile_extrapolation", json_string(c->prof->extrapolation));
  }
  snprintf(path, sizeof path, "%s/sweep.json", o->out_dir);
  int rc = json_dump_file(m, path, JSON_INDENT(1)) ? mts_seterr(MTS_EIO, "cannot write %s", path) : 0;
  json_decref(m);
  return rc;
}

static double mean_of(const double *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += v[i];
  return n ? s / n : 0;
}
static double min_of(const double *v, int n) {
  double m = n ? v[0] : 0;
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}
static double max_of(const double *v, int n) {
  double m = n ? v[0] : 0;
  for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
  return m;
}

int mts_sweep_run(const mts_sweep_opts_t *o_in) {
  mts_sweep_opts_t o = *o_in;
  ctx_t c;
  char pol[MTS_SWEEP_MAX_POLICIES][32], path[8192];
  int np = 0, rc;
  FILE *sw = NULL, *sm = NULL;
  double maxs[MTS_SWEEP_MAX_POLICIES][MTS_SWEEP_MAX_SEEDS] = {{0}};
  point_t at_base[MTS_SWEEP_MAX_POLICIES][MTS_SWEEP_MAX_SEEDS];
  memset(&c, 0, sizeof c);
  memset(at_base, 0, sizeof at_base);
  c.o = &o;

  if (!o.backend) o.backend = "sim";
  if (strcmp(o.backend, "sim") && strcmp(o.backend, "mpi"))
    return mts_seterr(MTS_EINVAL, "backend must be sim or mpi, not '%s'", o.backend);
  c.mpi = strcmp(o.backend, "mpi") == 0;
  if (!o.out_dir) return mts_seterr(MTS_EINVAL, "no output directory");
  if (!o.policies) o.policies = "fcfs,mts";
  if (!o.target) o.target = 0.99;
  if (!(o.target > 0 && o.target <= 1)) return mts_seterr(MTS_EINVAL, "target must be in (0, 1]");
  if (!o.n_seeds) o.n_seeds = c.mpi ? 1 : 3;
  if (o.n_seeds < 1 || o.n_seeds > MTS_SWEEP_MAX_SEEDS)
    return mts_seterr(MTS_EINVAL, "seeds must be 1..%d", MTS_SWEEP_MAX_SEEDS);
  if (!(o.start_scale > 0)) o.start_scale = 1.0;
  if (!(o.tol > 0)) o.tol = c.mpi ? 0.08 : 0.03;
  if (o.max_bisect <= 0) o.max_bisect = c.mpi ? 3 : 12;
  if (o.grid < 0) o.grid = 0;
  if (o.cores <= 0) o.cores = 16;
  if (o.llc_domains <= 0) o.llc_domains = 1;
  if (o.nodes <= 0) o.nodes = 1;
  if (o.ranks <= 0) o.ranks = (int)sysconf(_SC_NPROCESSORS_ONLN) + 1;
  if ((rc = split_policies(o.policies, pol, &np))) return rc;
  if ((rc = mts_workload_open(o.workload, &c.w))) goto out;
  if (!o.seed0) o.seed0 = c.w->seed ? c.w->seed : 1;
  for (int t = 0; t < c.w->n_tenants; t++) c.rate_sum += c.w->tenants[t].rate_qps;
  if (c.mpi) {
    ssize_t n = readlink("/proc/self/exe", c.exe, sizeof c.exe - 1);
    if (n <= 0) {
      rc = mts_seterr(MTS_EIO, "cannot find this executable (/proc/self/exe): %s", strerror(errno));
      goto out;
    }
    c.exe[n] = 0;
    find_mpirun(&c);
  } else {
    if (!o.profile_path) {
      rc = mts_seterr(MTS_EINVAL, "the sim backend needs a profile (--profile profile.json from a serve run, "
                                  "or the 3990X data directory)");
      goto out;
    }
    int per_dom = (o.cores + o.llc_domains - 1) / o.llc_domains;
    if ((rc = mts_profile_load(o.profile_path, per_dom, o.ref_dir, &c.prof))) goto out;
  }
  if (mkdir_p(o.out_dir) != 0) {
    rc = mts_seterr(MTS_EIO, "cannot create %s: %s", o.out_dir, strerror(errno));
    goto out;
  }
  if ((rc = write_meta(&c, pol, np))) goto out;
  snprintf(path, sizeof path, "%s/points.csv", o.out_dir);
  if (!(c.points = fopen(path, "w"))) {
    rc = mts_seterr(MTS_EIO, "cannot write %s: %s", path, strerror(errno));
    goto out;
  }
  fprintf(c.points, "policy,seed,phase,rate_scale,offered_qps,satisfaction,worst_tenant,worst_satisfaction,pass,"
                    "mean_ms,p99_ms,arrived,completed,dropped,core_utilisation,worst_tenant_arrived,"
                    "worst_tenant_missed\n");

  if (c.mpi && (rc = calibrate(&c, pol[0]))) goto out;
  if (c.mpi && (rc = write_meta(&c, pol, np))) goto out;

  /* 1. The search, policy by policy; seeds after the first start near the
   *    previous answer. */
  for (int p = 0; p < np; p++) {
    double start = o.start_scale, step = 2.0;
    for (int s = 0; s < o.n_seeds; s++) {
      if (!o.quiet) fprintf(stderr, "sweep: %s seed %llu\n", pol[p], (unsigned long long)(o.seed0 + s));
      if ((rc = search(&c, pol[p], o.seed0 + (uint64_t)s, start, step, &maxs[p][s]))) goto out;
      if (maxs[p][s] > 0) {
        start = maxs[p][s];
        step = 1.25;
      }
    }
  }
  /* 2. Every policy at the baseline's maximum (per seed); the first seed's
   *    run is kept as a results directory. */
  for (int s = 0; s < o.n_seeds; s++) {
    double scale = maxs[0][s] > 0 ? maxs[0][s] : o.start_scale;
    for (int p = 0; p < np; p++) {
      char keep[8192];
      snprintf(keep, sizeof keep, "%s/runs/%s", o.out_dir, pol[p]);
      if ((rc = point(&c, pol[p], o.seed0 + (uint64_t)s, scale, "at_base", s == 0 ? keep : NULL,
                      &at_base[p][s])))
        goto out;
    }
  }
  /* 3. The load curve: a geometric grid around all the maxima. */
  if (o.grid > 0) {
    double lo = 1e300, hi = 0;
    for (int p = 0; p < np; p++)
      for (int s = 0; s < o.n_seeds; s++)
        if (maxs[p][s] > 0) {
          lo = fmin(lo, maxs[p][s]);
          hi = fmax(hi, maxs[p][s]);
        }
    if (hi > 0) {
      lo *= 0.5;
      hi *= 1.5;
      for (int p = 0; p < np; p++)
        for (int s = 0; s < o.n_seeds; s++)
          for (int g = 0; g < o.grid; g++) {
            point_t pt;
            double x = o.grid > 1 ? lo * pow(hi / lo, (double)g / (o.grid - 1)) : lo;
            if ((rc = point(&c, pol[p], o.seed0 + (uint64_t)s, x, "grid", NULL, &pt))) goto out;
          }
    }
  }

  /* 4. Tables. */
  snprintf(path, sizeof path, "%s/sweep.csv", o.out_dir);
  if (!(sw = fopen(path, "w"))) {
    rc = mts_seterr(MTS_EIO, "cannot write %s: %s", path, strerror(errno));
    goto out;
  }
  fprintf(sw, "policy,seed,max_rate_scale,max_qps,rate_scale_at_base,satisfaction_at_base,mean_ms_at_base,"
              "p99_ms_at_base\n");
  for (int p = 0; p < np; p++)
    for (int s = 0; s < o.n_seeds; s++)
      fprintf(sw, "%s,%llu,%.6g,%.6g,%.6g,%.6f,%.4f,%.4f\n", pol[p], (unsigned long long)(o.seed0 + s), maxs[p][s],
              maxs[p][s] * c.rate_sum, maxs[0][s] > 0 ? maxs[0][s] : o.start_scale, at_base[p][s].sat,
              at_base[p][s].mean_ms, at_base[p][s].p99_ms);
  snprintf(path, sizeof path, "%s/summary.csv", o.out_dir);
  if (!(sm = fopen(path, "w"))) {
    rc = mts_seterr(MTS_EIO, "cannot write %s: %s", path, strerror(errno));
    goto out;
  }
  fprintf(sm, "policy,seeds,max_scale_mean,max_scale_min,max_scale_max,max_qps_mean,ratio_vs_%s_mean,"
              "ratio_vs_%s_min,ratio_vs_%s_max,mean_ms_at_base,mean_ms_ratio_vs_%s\n",
          pol[0], pol[0], pol[0], pol[0]);
  for (int p = 0; p < np; p++) {
    double ratio[MTS_SWEEP_MAX_SEEDS], lat[MTS_SWEEP_MAX_SEEDS], blat[MTS_SWEEP_MAX_SEEDS];
    for (int s = 0; s < o.n_seeds; s++) {
      ratio[s] = maxs[0][s] > 0 ? maxs[p][s] / maxs[0][s] : 0;
      lat[s] = at_base[p][s].mean_ms;
      blat[s] = at_base[0][s].mean_ms;
    }
    double ml = mean_of(lat, o.n_seeds), mb = mean_of(blat, o.n_seeds);
    fprintf(sm, "%s,%d,%.6g,%.6g,%.6g,%.6g,%.4f,%.4f,%.4f,%.4f,%.4f\n", pol[p], o.n_seeds,
            mean_of(maxs[p], o.n_seeds), min_of(maxs[p], o.n_seeds), max_of(maxs[p], o.n_seeds),
            mean_of(maxs[p], o.n_seeds) * c.rate_sum, mean_of(ratio, o.n_seeds), min_of(ratio, o.n_seeds),
            max_of(ratio, o.n_seeds), ml, mb > 0 ? ml / mb : 0);
  }
  rc = 0;
out:
  if (c.points) fclose(c.points);
  if (sw && fclose(sw) != 0 && !rc) rc = mts_seterr(MTS_EIO, "cannot write sweep.csv");
  if (sm && fclose(sm) != 0 && !rc) rc = mts_seterr(MTS_EIO, "cannot write summary.csv");
  mts_profile_destroy(c.prof);
  mts_workload_destroy(c.w);
  return rc;
}
