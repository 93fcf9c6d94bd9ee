/* metrics.c — statistics and reports from the query table (see metrics.h):
 * per-tenant and overall counts, QoS satisfaction, latency percentiles,
 * the MLPerf-style VALID verdict, the accounting check, and the
 * summary.json / queries.csv / console outputs.
 *
 * Latency is done_us - arrival_us of completed queries, measured from the
 * scheduled arrival.  A dropped or failed query is never "satisfied", so
 * shedding load cannot improve the satisfaction rate. */
#include "coordinator/metrics.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mts.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double mts_percentile(double *v, size_t n, double p) {
  if (n == 0) return 0.0;
  qsort(v, n, sizeof *v, cmp_double);
  if (p <= 0) return v[0];
  if (p >= 100) return v[n - 1];
  double rank = p / 100.0 * (double)(n - 1);
  size_t lo = (size_t)floor(rank);
  size_t hi = lo + 1 < n ? lo + 1 : lo;
  return v[lo] + (rank - (double)lo) * (v[hi] - v[lo]);
}

static double tenant_qos(const mts_workload_t *w, const double *qos_ms, int t) {
  return qos_ms ? qos_ms[t] : w->tenants[t].qos_ms;
}

/* Adds measured query q to s; lat gets its latency if it completed. */
static void account(mts_stats_t *s, const mts_query_t *q, double qos,
                    double *lat, size_t *nlat) {
  s->arrived++;
  if (q->state == MTS_Q_COMPLETED) {
    double ms = (double)(q->done_us - q->arrival_us) / 1000.0;
    s->completed++;
    lat[(*nlat)++] = ms;
    if (ms <= qos) s->satisfied++;
  } else if (q->state == MTS_Q_DROPPED || q->state == MTS_Q_FAILED) {
    if (q->state == MTS_Q_DROPPED) s->dropped++;
    else s->failed++;
    if (q->reason >= 0 && q->reason < MTS_REASON_COUNT) s->reasons[q->reason]++;
  }
}

/* Latency figures and rates; sorts lat. */
static void finish(mts_stats_t *s, double *lat, size_t n, double window_s) {
  s->satisfaction = s->arrived ? (double)s->satisfied / (double)s->arrived : 1.0;
  s->p50_ms = mts_percentile(lat, n, 50);
  s->p90_ms = mts_percentile(lat, n, 90);
  s->p99_ms = mts_percentile(lat, n, 99);
  s->p999_ms = mts_percentile(lat, n, 99.9);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += lat[i];
  s->mean_ms = n ? sum / (double)n : 0.0;
  s->max_ms = n ? lat[n - 1] : 0.0;
  s->sched_qps = window_s > 0 ? (double)s->arrived / window_s : 0.0;
  s->done_qps = window_s > 0 ? (double)s->completed / window_s : 0.0;
}

int mts_report_compute(const mts_workload_t *w, const double *qos_ms,
                       const mts_query_t *q, size_t nq, double window_s,
                       mts_report_t *out) {
  double *lat = NULL;
  int rc = 0;

  memset(out, 0, sizeof *out);
  if (w->n_tenants > (int)(sizeof out->tenant / sizeof out->tenant[0])) {
    rc = mts_seterr(MTS_EINVAL, "report: too many tenants (%d)", w->n_tenants);
    goto out;
  }
  for (size_t i = 0; i < nq; i++) {
    if (q[i].tenant < 0 || q[i].tenant >= w->n_tenants) {
      rc = mts_seterr(MTS_EINVAL, "report: query %llu has tenant %d (of %d)",
                      (unsigned long long)q[i].id, q[i].tenant, w->n_tenants);
      goto out;
    }
  }
  lat = malloc((nq ? nq : 1) * sizeof *lat);
  if (!lat) {
    rc = mts_seterr(MTS_ENOMEM, "report: out of memory");
    goto out;
  }
  out->n_tenants = w->n_tenants;
  out->window_s = window_s;

  int any = 0, all_valid = 1;
  for (int t = 0; t < w->n_tenants; t++) {
    mts_stats_t *s = &out->tenant[t];
    size_t nl = 0;
    s->qos_ms = tenant_qos(w, qos_ms, t);
    for (size_t i = 0; i < nq; i++)
      if (q[i].tenant == t && !q[i].warmup) account(s, &q[i], s->qos_ms, lat, &nl);
    finish(s, lat, nl, window_s);
    /* MLPerf judges the tail of what completed; with nothing completed
     * there is no evidence of meeting the bound. */
    s->valid = s->completed > 0 && s->p99_ms <= s->qos_ms;
    if (s->arrived) {
      any = 1;
      all_valid &= s->valid;
    }
  }
  /* Overall: satisfaction against each query's own tenant target; VALID
   * when every tenant that received load is VALID. */
  mts_stats_t *o = &out->overall;
  size_t nl = 0;
  for (size_t i = 0; i < nq; i++)
    if (!q[i].warmup)
      account(o, &q[i], tenant_qos(w, qos_ms, q[i].tenant), lat, &nl);
  finish(o, lat, nl, window_s);
  o->qos_ms = 0;
  o->valid = any && all_valid;
out:
  free(lat);
  return rc;
}

/* One books line: arrived vs. the three terminal states. */
static int books(const char *who, const char *scope, int64_t a, int64_t c,
                 int64_t d, int64_t f) {
  if (a == c + d + f) return 0;
  return mts_seterr(MTS_ESTATE,
                    "books do not balance for %s (%s): arrived %lld != "
                    "completed %lld + dropped %lld + failed %lld "
                    "(%lld unaccounted)",
                    who, scope, (long long)a, (long long)c, (long long)d,
                    (long long)f, (long long)(a - c - d - f));
}

int mts_report_check_books(const mts_workload_t *w, const mts_query_t *q,
                           size_t nq) {
  /* [tenant][scope]: scope 0 = all queries, 1 = measured only; the last
   * tenant row is the overall total. */
  int64_t cnt[MTS_MAX_TENANTS + 1][2][4];
  memset(cnt, 0, sizeof cnt);
  for (size_t i = 0; i < nq; i++) {
    int t = q[i].tenant;
    if (t < 0 || t >= w->n_tenants)
      return mts_seterr(MTS_ESTATE, "query %llu has unknown tenant %d",
                        (unsigned long long)q[i].id, t);
    int k = q[i].state == MTS_Q_COMPLETED ? 1
            : q[i].state == MTS_Q_DROPPED ? 2
            : q[i].state == MTS_Q_FAILED  ? 3
                                          : -1;
    for (int scope = 0; scope < 2; scope++) {
      if (scope == 1 && q[i].warmup) continue;
      int rows[2] = {t, MTS_MAX_TENANTS};
      for (int r = 0; r < 2; r++) {
        cnt[rows[r]][scope][0]++;
        if (k > 0) cnt[rows[r]][scope][k]++;
      }
    }
  }
  static const char *const scopes[2] = {"all queries", "measured queries"};
  for (int scope = 0; scope < 2; scope++) {
    for (int t = 0; t <= w->n_tenants; t++) {
      int row = t < w->n_tenants ? t : MTS_MAX_TENANTS;
      char who[160];
      if (t < w->n_tenants)
        snprintf(who, sizeof who, "tenant '%s'", w->tenants[t].name);
      else
        snprintf(who, sizeof who, "overall");
      int64_t *c = cnt[row][scope];
      int rc = books(who, scopes[scope], c[0], c[1], c[2], c[3]);
      if (rc < 0) return rc;
    }
  }
  return 0;
}

/* ---- summary.json --------------------------------------------------------- */

/* JSON has no NaN or infinity; such a value means "not measured". */
static json_t *jreal(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *stats_json(const mts_stats_t *s) {
  json_t *o = json_object();
  json_t *reasons = json_object();
  for (int r = 0; r < MTS_REASON_COUNT; r++)
    if (r != MTS_REASON_NONE || s->reasons[r])
      json_object_set_new(reasons, mts_reason_name(r), json_integer(s->reasons[r]));
  json_object_set_new(o, "qos_ms", jreal(s->qos_ms));
  json_object_set_new(o, "arrived", json_integer(s->arrived));
  json_object_set_new(o, "completed", json_integer(s->completed));
  json_object_set_new(o, "dropped", json_integer(s->dropped));
  json_object_set_new(o, "failed", json_integer(s->failed));
  json_object_set_new(o, "reasons", reasons);
  json_object_set_new(o, "satisfied", json_integer(s->satisfied));
  json_object_set_new(o, "satisfaction", jreal(s->satisfaction));
  json_object_set_new(o, "p50_ms", jreal(s->p50_ms));
  json_object_set_new(o, "p90_ms", jreal(s->p90_ms));
  json_object_set_new(o, "p99_ms", jreal(s->p99_ms));
  json_object_set_new(o, "p999_ms", jreal(s->p999_ms));
  json_object_set_new(o, "mean_ms", jreal(s->mean_ms));
  json_object_set_new(o, "max_ms", jreal(s->max_ms));
  json_object_set_new(o, "sched_qps", jreal(s->sched_qps));
  json_object_set_new(o, "done_qps", jreal(s->done_qps));
  json_object_set_new(o, "valid", json_boolean(s->valid));
  return o;
}

static int stats_balanced(const mts_stats_t *s) {
  return s->arrived == s->completed + s->dropped + s->failed;
}

int mts_report_write_json(const char *path, const mts_workload_t *w,
                          const char *policy, const mts_report_t *r,
                          void *extra) {
  json_t *root = json_object();
  json_t *tenants = json_array();
  int books_ok = stats_balanced(&r->overall);
  int rc = 0;

  json_object_set_new(root, "workload", json_string(w->name));
  json_object_set_new(root, "workload_path", w->path ? json_string(w->path) : json_null());
  json_object_set_new(root, "policy", policy ? json_string(policy) : json_null());
  json_object_set_new(root, "duration_s", jreal(w->duration_s));
  json_object_set_new(root, "warmup_s", jreal(w->warmup_s));
  json_object_set_new(root, "seed", json_integer((json_int_t)w->seed));
  json_object_set_new(root, "window_s", jreal(r->window_s));
  for (int t = 0; t < r->n_tenants && t < w->n_tenants; t++) {
    json_t *o = stats_json(&r->tenant[t]);
    /* name and model first: json objects keep insertion order on dump */
    json_t *tj = json_object();
    json_object_set_new(tj, "name", json_string(w->tenants[t].name));
    json_object_set_new(tj, "model", json_string(w->tenants[t].model));
    json_object_update(tj, o);
    json_decref(o);
    json_array_append_new(tenants, tj);
    books_ok &= stats_balanced(&r->tenant[t]);
  }
  json_object_set_new(root, "tenants", tenants);
  json_object_set_new(root, "overall", stats_json(&r->overall));
  json_object_set_new(root, "books_ok", json_boolean(books_ok));
  if (extra) json_object_set_new(root, "extra", (json_t *)extra);
  if (json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0)
    rc = mts_seterr(MTS_EIO, "%s: cannot write: %s", path, strerror(errno));
  json_decref(root);
  return rc;
}

/* ---- queries.csv ---------------------------------------------------------- */

/* CSV field, quoted when it holds a delimiter (model paths may). */
static void csv_str(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n\r")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

int mts_report_write_queries(const char *path, const mts_workload_t *w,
                             const double *qos_ms, const mts_query_t *q,
                             size_t nq) {
  FILE *f = fopen(path, "w");
  int rc = 0;
  if (!f) return mts_seterr(MTS_EIO, "%s: cannot write: %s", path, strerror(errno));
  fputs("id,tenant,model,warmup,state,reason,worker,arrival_us,first_start_us,"
        "done_us,latency_ms,qos_ms,met,blocks,conflicts,exec_ms\n", f);
  for (size_t i = 0; i < nq; i++) {
    const mts_query_t *x = &q[i];
    int ok_t = x->tenant >= 0 && x->tenant < w->n_tenants;
    double qos = ok_t ? tenant_qos(w, qos_ms, x->tenant) : 0.0;
    fprintf(f, "%llu,", (unsigned long long)x->id);
    csv_str(f, ok_t ? w->tenants[x->tenant].name : "?");
    fputc(',', f);
    csv_str(f, ok_t ? w->tenants[x->tenant].model : "?");
    fprintf(f, ",%d,%s,%s,%d,%lld,%lld,%lld,", x->warmup,
            mts_qstate_name(x->state), mts_reason_name(x->reason), x->worker,
            (long long)x->arrival_us, (long long)x->first_start_us,
            (long long)x->done_us);
    int met = 0;
    if (x->state == MTS_Q_COMPLETED) {
      double ms = (double)(x->done_us - x->arrival_us) / 1000.0;
      met = ms <= qos;
      fprintf(f, "%.3f", ms);
    }
    fprintf(f, ",%.3f,%d,%d,%d,%.3f\n", qos, met, x->blocks, x->conflicts,
            x->exec_us / 1000.0);
  }
  if (ferror(f)) rc = mts_seterr(MTS_EIO, "%s: write error", path);
  if (fclose(f) != 0 && rc == 0)
    rc = mts_seterr(MTS_EIO, "%s: cannot write: %s", path, strerror(errno));
  return rc;
}

/* ---- console table -------------------------------------------------------- */

static void print_row(FILE *f, const char *name, const char *model,
                      const mts_stats_t *s, int overall) {
  char qos[16];
  if (overall) snprintf(qos, sizeof qos, "-");
  else snprintf(qos, sizeof qos, "%.1f", s->qos_ms);
  fprintf(f,
          "%-16.16s %-16.16s %8s %8lld %8lld %6lld %6lld %6.1f %8.2f %8.2f "
          "%8.2f %8.2f %8.2f  %s\n",
          name, model, qos, (long long)s->arrived, (long long)s->completed,
          (long long)s->dropped, (long long)s->failed, 100.0 * s->satisfaction,
          s->p50_ms, s->p90_ms, s->p99_ms, s->p999_ms, s->done_qps,
          s->valid ? "VALID" : "INVALID");
}

void mts_report_print(FILE *f, const mts_workload_t *w, const mts_report_t *r) {
  fprintf(f, "workload %s: measured window %.2f s (latencies in ms)\n",
          w->name, r->window_s);
  fprintf(f,
          "%-16s %-16s %8s %8s %8s %6s %6s %6s %8s %8s %8s %8s %8s  %s\n",
          "tenant", "model", "qos_ms", "arrived", "done", "drop", "fail",
          "sat%", "p50", "p90", "p99", "p99.9", "qps", "verdict");
  for (int t = 0; t < r->n_tenants && t < w->n_tenants; t++) {
    const char *model = w->tenants[t].model;
    const char *slash = strrchr(model, '/');
    print_row(f, w->tenants[t].name, slash ? slash + 1 : model, &r->tenant[t], 0);
  }
  print_row(f, "overall", "", &r->overall, 1);
  int any = 0;
  for (int k = 1; k < MTS_REASON_COUNT; k++) any |= r->overall.reasons[k] != 0;
  if (any) {
    fprintf(f, "drops/failures by reason:");
    for (int k = 1; k < MTS_REASON_COUNT; k++)
      if (r->overall.reasons[k])
        fprintf(f, " %s=%lld", mts_reason_name(k), (long long)r->overall.reasons[k]);
    fputc('\n', f);
  }
}
