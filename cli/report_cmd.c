/* report_cmd.c — `mtserve report DIR`: prints the tables of a results
 * directory (one run of serve or sim) or of a sweep directory, and draws
 * its plots as PNG with gnuplot.
 *
 * Run directory (summary.json): per-tenant table with MLPerf VALID/INVALID
 * at the p99 bound; plots latency_cdf.png (per tenant, latency / QoS target,
 * so every tenant's bound is at 1 and dropped queries keep the curve below
 * 100%), timeline.png (per-core blocks over a window after warm-up) and
 * utilisation.png (busy fraction per core and time bin), from
 * timeline.json (serve) or sim-N.jsonl + queries.csv (sim).
 * Sweep directory (sweep.csv): the max-load table; plots
 * satisfaction_vs_load.png and max_load.png; then each runs/POLICY.
 *
 * The data and the gnuplot script of every plot are kept next to it in
 * DIR/plots/, so a figure can be restyled and redrawn by hand. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/mts.h"

#define MAXT 64

typedef struct {
  int core, tenant;
  double t0, t1; /* seconds */
} blk_t;

typedef struct {
  const char *dir;
  char pdir[8192];
  double window_s;
  int plots;
  int n_tenants;
  char names[MAXT][128];
  double qos_ms[MAXT];
  double warmup_s;
} rctx_t;

static int file_exists(const char *dir, const char *name) {
  char p[8192];
  struct stat st;
  if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) return 0;
  return stat(p, &st) == 0;
}

/* Splits a CSV line in place (no quoting in mtserve's files). */
static int split(char *line, char **f, int max) {
  int n = 0;
  line[strcspn(line, "\r\n")] = 0;
  for (char *p = line; n < max;) {
    f[n++] = p;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = 0;
    p = c + 1;
  }
  return n;
}

static int col(char **hdr, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(hdr[i], name)) return i;
  return -1;
}

/* Runs gnuplot on DIR/plots/NAME.gp. */
static int gnuplot(rctx_t *c, const char *name) {
  char gp[9000];
  int status;
  snprintf(gp, sizeof gp, "%s/%s.gp", c->pdir, name);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return mts_seterr(MTS_EIO, "fork: %s", strerror(errno));
  if (pid == 0) {
    /* in the plots directory (the scripts name their data files relative
     * to it), so the script by its own name: gp may be a relative path */
    char base[512];
    snprintf(base, sizeof base, "%s.gp", name);
    if (chdir(c->pdir) != 0) _exit(126);
    execlp("gnuplot", "gnuplot", base, (char *)NULL);
    fprintf(stderr, "mtserve report: cannot run gnuplot: %s (install gnuplot-nox; scripts/setup does)\n",
            strerror(errno));
    _exit(127);
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return mts_seterr(MTS_EIO, "waitpid: %s", strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return mts_seterr(MTS_EIO, "gnuplot failed on %s", gp);
  printf("plot: %s/%s.png\n", c->pdir, name);
  return 0;
}

static FILE *pfile(rctx_t *c, const char *name, const char *ext) {
  char p[9000];
  snprintf(p, sizeof p, "%s/%s%s", c->pdir, name, ext);
  FILE *f = fopen(p, "w");
  if (!f) mts_seterr(MTS_EIO, "cannot write %s: %s", p, strerror(errno));
  return f;
}

static void gp_head(FILE *g, const char *png, int w, int h, const char *title) {
  fprintf(g, "set terminal pngcairo size %d,%d font 'sans,10'\nset output '%s.png'\nset title \"%s\" noenhanced\n"
             "set grid\nset key outside right top noenhanced\n",
          w, h, png, title);
}

/* ---- run directory -------------------------------------------------------- */

static int load_summary(rctx_t *c, json_t **out) {
  char p[8192];
  json_error_t je;
  snprintf(p, sizeof p, "%s/summary.json", c->dir);
  json_t *r = json_load_file(p, 0, &je);
  if (!r) return mts_seterr(MTS_EIO, "%s: %s", p, je.text);
  json_t *ts = json_object_get(r, "tenants"), *v;
  size_t i;
  c->n_tenants = 0;
  json_array_foreach(ts, i, v) {
    if (c->n_tenants >= MAXT) break;
    const char *n = json_string_value(json_object_get(v, "name"));
    snprintf(c->names[c->n_tenants], sizeof c->names[0], "%s", n ? n : "?");
    c->qos_ms[c->n_tenants++] = json_number_value(json_object_get(v, "qos_ms"));
  }
  c->warmup_s = json_number_value(json_object_get(r, "warmup_s"));
  json_t *ex = json_object_get(r, "extra");
  if (json_is_number(json_object_get(ex, "warmup_s"))) c->warmup_s = json_number_value(json_object_get(ex, "warmup_s"));
  *out = r;
  return 0;
}

static double num(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static void print_row(const char *name, json_t *s) {
  double sat = num(s, "satisfaction");
  printf("%-16s %9.1f %7lld %7lld %6lld %7.2f%% %8.1f %8.1f %8.1f %8.1f %8.1f  %s\n", name, num(s, "qos_ms"),
         (long long)json_integer_value(json_object_get(s, "arrived")),
         (long long)json_integer_value(json_object_get(s, "completed")),
         (long long)(json_integer_value(json_object_get(s, "dropped")) +
                     json_integer_value(json_object_get(s, "failed"))),
         100 * sat, num(s, "p50_ms"), num(s, "p90_ms"), num(s, "p99_ms"), num(s, "p999_ms"), num(s, "mean_ms"),
         json_is_true(json_object_get(s, "valid")) ? "VALID" : "INVALID");
}

static void print_run(rctx_t *c, json_t *r) {
  json_t *ex = json_object_get(r, "extra"), *v;
  size_t i;
  const char *backend = json_string_value(json_object_get(ex, "backend"));
  printf("%s: workload %s, policy %s, backend %s, window %.1f s\n", c->dir,
         json_string_value(json_object_get(r, "workload")), json_string_value(json_object_get(r, "policy")),
         backend ? backend : "mpi", num(r, "window_s"));
  printf("%-16s %9s %7s %7s %6s %8s %8s %8s %8s %8s %8s  %s\n", "tenant", "qos_ms", "arrived", "done", "drop",
         "sat", "p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "mean_ms", "p99<=QoS");
  json_array_foreach(json_object_get(r, "tenants"), i, v) print_row(json_string_value(json_object_get(v, "name")), v);
  print_row("overall", json_object_get(r, "overall"));
  printf("core utilisation %.1f%%, dispatches %lld, conflicts %lld, decision p50 %.2f us / p99 %.2f us\n",
         100 * num(ex, "core_utilisation"), (long long)json_integer_value(json_object_get(ex, "dispatches")),
         (long long)json_integer_value(json_object_get(ex, "conflicts")), num(ex, "decide_us_p50"),
         num(ex, "decide_us_p99"));
  if (json_is_string(json_object_get(ex, "profile_source")))
    printf("profile: %s\n", json_string_value(json_object_get(ex, "profile_source")));
}

static int tenant_index(rctx_t *c, const char *name) {
  for (int t = 0; t < c->n_tenants; t++)
    if (!strcmp(c->names[t], name)) return t;
  return -1;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* latency_cdf.png: per tenant, measured queries, x = latency / QoS target. */
static int plot_cdf(rctx_t *c, int64_t *qtenant, size_t nq_cap) {
  char p[8192], line[8192], *f[32];
  snprintf(p, sizeof p, "%s/queries.csv", c->dir);
  FILE *in = fopen(p, "r");
  if (!in) return mts_seterr(MTS_EIO, "cannot read %s: %s", p, strerror(errno));
  double *lat[MAXT] = {0};
  size_t n[MAXT] = {0}, cap[MAXT] = {0}, arrived[MAXT] = {0};
  int rc = 0, ci[6];
  if (!fgets(line, sizeof line, in) || split(line, f, 32) < 13) {
    rc = mts_seterr(MTS_EPARSE, "%s: no header", p);
    goto out;
  }
  {
    const char *want[6] = {"id", "tenant", "warmup", "state", "latency_ms", "qos_ms"};
    for (int k = 0; k < 6; k++)
      if ((ci[k] = col(f, 13, want[k])) < 0) {
        rc = mts_seterr(MTS_EPARSE, "%s: no column %s", p, want[k]);
        goto out;
      }
  }
  while (fgets(line, sizeof line, in)) {
    if (split(line, f, 32) < 13) continue;
    int t = tenant_index(c, f[ci[1]]);
    long long id = atoll(f[ci[0]]);
    if (t < 0) continue;
    if (qtenant && id >= 0 && (size_t)id < nq_cap) qtenant[id] = t;
    if (atoi(f[ci[2]])) continue;
    arrived[t]++;
    if (strcmp(f[ci[3]], "completed")) continue;
    double q = atof(f[ci[5]]);
    if (n[t] == cap[t]) lat[t] = mts_xrealloc(lat[t], (cap[t] = cap[t] ? 2 * cap[t] : 1024) * sizeof(double));
    lat[t][n[t]++] = q > 0 ? atof(f[ci[4]]) / q : atof(f[ci[4]]);
  }
  if (!c->plots) goto out;
  FILE *g = pfile(c, "latency_cdf", ".gp");
  if (!g) {
    rc = MTS_EIO;
    goto out;
  }
  gp_head(g, "latency_cdf", 900, 540, "Latency CDF per tenant (measured queries; drops keep a curve below 100%)");
  fprintf(g, "set logscale x\nset xlabel 'latency / QoS target'\nset ylabel 'queries (%%)'\nset yrange [0:101]\n"
             "set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 dt 2 lc 'red'\nplot ");
  int first = 1;
  for (int t = 0; t < c->n_tenants; t++) {
    if (!n[t]) continue;
    char dn[64];
    snprintf(dn, sizeof dn, "cdf-%d", t);
    FILE *d = pfile(c, dn, ".dat");
    if (!d) {
      fclose(g);
      rc = MTS_EIO;
      goto out;
    }
    qsort(lat[t], n[t], sizeof(double), cmp_dbl);
    for (size_t i = 0; i < n[t]; i++)
      fprintf(d, "%.6g %.6g\n", fmax(lat[t][i], 1e-4), 100.0 * (double)(i + 1) / (double)arrived[t]);
    fclose(d);
    fprintf(g, "%s'%s.dat' using 1:2 with steps lw 2 title '%s (QoS %.1f ms)'", first ? "" : ", \\\n  ", dn,
            c->names[t], c->qos_ms[t]);
    first = 0;
  }
  if (first) fprintf(g, "NaN title 'no completed queries'");
  fprintf(g, "\n");
  fclose(g);
  rc = gnuplot(c, "latency_cdf");
out:
  for (int t = 0; t < MAXT; t++) free(lat[t]);
  fclose(in);
  return rc;
}

/* Block records from timeline.json (serve) or sim-N.jsonl (sim). */
static int load_blocks(rctx_t *c, const int64_t *qtenant, size_t nq, blk_t **out, size_t *n_out) {
  char p[8192];
  blk_t *b = NULL;
  size_t n = 0, cap = 0;
  json_error_t je;
  *out = NULL;
  *n_out = 0;
#define PUSH(CORE, TEN, T0, T1)                                                     \
  do {                                                                              \
    if (n == cap) b = mts_xrealloc(b, (cap = cap ? 2 * cap : 4096) * sizeof *b);    \
    b[n++] = (blk_t){.core = (CORE), .tenant = (TEN), .t0 = (T0), .t1 = (T1)};      \
  } while (0)
  if (file_exists(c->dir, "timeline.json")) {
    snprintf(p, sizeof p, "%s/timeline.json", c->dir);
    json_t *r = json_load_file(p, 0, &je), *e;
    if (!r) return mts_seterr(MTS_EPARSE, "%s: %s", p, je.text);
    size_t i;
    json_array_foreach(json_object_get(r, "traceEvents"), i, e) {
      const char *ph = json_string_value(json_object_get(e, "ph"));
      if (!ph || strcmp(ph, "X")) continue;
      const char *tn = json_string_value(json_object_get(json_object_get(e, "args"), "tenant"));
      int core = (int)json_integer_value(json_object_get(e, "tid")) +
                 1000 * (int)json_integer_value(json_object_get(e, "pid"));
      double ts = num(e, "ts") / 1e6;
      PUSH(core, tn ? tenant_index(c, tn) : -1, ts, ts + num(e, "dur") / 1e6);
    }
    json_decref(r);
  } else {
    DIR *d = opendir(c->dir);
    struct dirent *de;
    if (!d) return mts_seterr(MTS_EIO, "%s: %s", c->dir, strerror(errno));
    while ((de = readdir(d))) {
      if (strncmp(de->d_name, "sim-", 4) || !strstr(de->d_name, ".jsonl")) continue;
      snprintf(p, sizeof p, "%s/%s", c->dir, de->d_name);
      FILE *f = fopen(p, "r");
      char line[4096];
      if (!f) continue;
      while (fgets(line, sizeof line, f)) {
        json_t *e = json_loads(line, 0, &je), *cv;
        if (!e) continue;
        int64_t q = json_integer_value(json_object_get(e, "query"));
        int t = q >= 0 && (size_t)q < nq ? (int)qtenant[q] : -1;
        double t0 = num(e, "start_us") / 1e6, t1 = num(e, "end_us") / 1e6;
        size_t k;
        json_array_foreach(json_object_get(e, "cores"), k, cv) PUSH((int)json_integer_value(cv), t, t0, t1);
        json_decref(e);
      }
      fclose(f);
    }
    closedir(d);
  }
#undef PUSH
  *out = b;
  *n_out = n;
  return 0;
}

static int row_of(const int *ids, int nid, int core) {
  int lo = 0, hi = nid - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (ids[mid] < core) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* timeline.png and utilisation.png. */
static int plot_cores(rctx_t *c, const blk_t *b, size_t n) {
  if (!n) {
    printf("(no block records: no timeline or utilisation plot)\n");
    return 0;
  }
  /* Cores are renumbered densely (node * 1000 + core in timeline.json). */
  int ids[4096], nid = 0, rc;
  double end = 0;
  for (size_t i = 0; i < n; i++) {
    int k = 0;
    while (k < nid && ids[k] != b[i].core) k++;
    if (k == nid && nid < 4096) ids[nid++] = b[i].core;
    end = fmax(end, b[i].t1);
  }
  for (int i = 1; i < nid; i++)
    for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
      int x = ids[j];
      ids[j] = ids[j - 1];
      ids[j - 1] = x;
    }
  /* Timeline: a window after warm-up; by default one that holds about
   * 150 blocks per core, so boxes stay distinguishable. */
  double win = c->window_s;
  if (!(win > 0)) win = fmin(2.0, fmax(0.01, 150.0 * nid * end / (double)n));
  double w0 = c->warmup_s < end ? c->warmup_s : 0, w1 = fmin(end, w0 + win);
  FILE *g = pfile(c, "timeline", ".gp");
  if (!g) return MTS_EIO;
  char title[256];
  snprintf(title, sizeof title, "Per-core timeline, %.2f-%.2f s (one box per block and core)", w0, w1);
  gp_head(g, "timeline", 1200, 160 + 22 * (nid < 64 ? nid : 64), title);
  fprintf(g, "set xlabel 'time (s)'\nset ylabel 'core'\nset xrange [%g:%g]\nset yrange [-0.6:%g]\n"
             "set ytics %d\nset style fill solid 0.85 noborder\nplot ", w0, w1, nid - 0.4, nid > 32 ? nid / 16 : 1);
  int first = 1;
  for (int t = -1; t < c->n_tenants; t++) {
    char dn[64];
    snprintf(dn, sizeof dn, "tl-%d", t + 1);
    FILE *d = pfile(c, dn, ".dat");
    if (!d) {
      fclose(g);
      return MTS_EIO;
    }
    int any = 0;
    for (size_t i = 0; i < n; i++) {
      if (b[i].tenant != t || b[i].t1 < w0 || b[i].t0 > w1) continue;
      fprintf(d, "%.6f %d %.6f 0.4\n", (b[i].t0 + b[i].t1) / 2, row_of(ids, nid, b[i].core), (b[i].t1 - b[i].t0) / 2);
      any = 1;
    }
    fclose(d);
    if (!any) continue;
    fprintf(g, "%s'%s.dat' using 1:2:3:4 with boxxyerror title '%s'", first ? "" : ", \\\n  ", dn,
            t < 0 ? "unknown" : c->names[t]);
    first = 0;
  }
  if (first) fprintf(g, "NaN title 'no blocks in the window'");
  fprintf(g, "\n");
  fclose(g);
  if ((rc = gnuplot(c, "timeline"))) return rc;

  /* Utilisation: busy fraction per core and time bin over the whole run. */
  int nb = 100;
  double bw = end / nb;
  double *u = mts_xcalloc((size_t)nid * nb, sizeof *u), tot = 0;
  for (size_t i = 0; i < n; i++) {
    int r = row_of(ids, nid, b[i].core);
    tot += b[i].t1 - b[i].t0;
    for (int k = (int)(b[i].t0 / bw); k < nb && k * bw < b[i].t1; k++) {
      double ov = fmin(b[i].t1, (k + 1) * bw) - fmax(b[i].t0, k * bw);
      if (ov > 0) u[r * nb + k] += ov / bw;
    }
  }
  FILE *d = pfile(c, "utilisation", ".dat");
  if (!d) {
    free(u);
    return MTS_EIO;
  }
  for (int r = 0; r < nid; r++) {
    for (int k = 0; k < nb; k++) fprintf(d, "%s%.4f", k ? " " : "", fmin(1.0, u[r * nb + k]));
    fprintf(d, "\n");
  }
  fclose(d);
  free(u);
  g = pfile(c, "utilisation", ".gp");
  if (!g) return MTS_EIO;
  snprintf(title, sizeof title, "Core utilisation (busy fraction per %.3g s bin; mean %.1f%% over %d cores)", bw,
           100 * tot / (end * nid), nid);
  gp_head(g, "utilisation", 1000, 200 + 14 * (nid < 64 ? nid : 64), title);
  fprintf(g, "unset grid\nset xlabel 'time (s)'\nset ylabel 'core'\nset cblabel 'busy'\nset cbrange [0:1]\n"
             "set palette defined (0 'white', 0.5 '#6baed6', 1 '#08306b')\nset xrange [0:%g]\nset yrange [-0.5:%g]\n"
             "plot 'utilisation.dat' matrix using (($1+0.5)*%g):2:3 with image notitle\n",
          end, nid - 0.5, bw);
  fclose(g);
  return gnuplot(c, "utilisation");
}

static int report_run(rctx_t *c) {
  json_t *r = NULL;
  int64_t *qtenant = NULL;
  blk_t *b = NULL;
  size_t nb = 0, nq = 0;
  int rc;
  if ((rc = load_summary(c, &r))) goto out;
  print_run(c, r);
  nq = (size_t)json_integer_value(json_object_get(json_object_get(r, "overall"), "arrived")) * 2 + 65536;
  {
    /* queries.csv ids run over all queries (warm-up included); size the map from the file. */
    char p[8192], line[4096];
    snprintf(p, sizeof p, "%s/queries.csv", c->dir);
    FILE *f = fopen(p, "r");
    size_t rows = 0;
    if (f) {
      while (fgets(line, sizeof line, f)) rows++;
      fclose(f);
    }
    if (rows + 16 > nq) nq = rows + 16;
  }
  qtenant = mts_xmalloc(nq * sizeof *qtenant);
  for (size_t i = 0; i < nq; i++) qtenant[i] = -1;
  if ((rc = plot_cdf(c, qtenant, nq))) goto out;
  if (!c->plots) goto out;
  if ((rc = load_blocks(c, qtenant, nq, &b, &nb))) goto out;
  rc = plot_cores(c, b, nb);
out:
  free(b);
  free(qtenant);
  json_decref(r);
  return rc;
}

/* ---- sweep directory ---------------------------------------------------------- */

static int cat_table(const char *dir, const char *name) {
  char p[8192], line[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "r");
  if (!f) return mts_seterr(MTS_EIO, "cannot read %s: %s", p, strerror(errno));
  while (fgets(line, sizeof line, f)) {
    char *fl[32];
    int n = split(line, fl, 32);
    for (int i = 0; i < n; i++) printf("%s%*s", i ? " " : "", i ? -12 : -10, fl[i]);
    printf("\n");
  }
  fclose(f);
  return 0;
}

static int report_sweep(rctx_t *c) {
  char p[8192], line[4096], *f[32], pol[8][32];
  int npol = 0, rc;
  json_error_t je;
  snprintf(p, sizeof p, "%s/sweep.json", c->dir);
  json_t *m = json_load_file(p, 0, &je);
  double target = 0.99;
  if (m) {
    target = num(m, "target");
    printf("%s: sweep of workload %s on backend %s, %lld seed(s), target %.1f%% of queries within QoS\n", c->dir,
           json_string_value(json_object_get(m, "workload")), json_string_value(json_object_get(m, "backend")),
           (long long)json_integer_value(json_object_get(m, "seeds")), 100 * target);
    if (json_is_string(json_object_get(m, "profile_source")))
      printf("profile: %s\n", json_string_value(json_object_get(m, "profile_source")));
    json_decref(m);
  }
  printf("\nmax load (rate scale) per policy and seed:\n");
  if ((rc = cat_table(c->dir, "sweep.csv"))) return rc;
  printf("\nsummary (spread over seeds):\n");
  if ((rc = cat_table(c->dir, "summary.csv"))) return rc;
  if (!c->plots) return 0;

  /* Points per policy, for satisfaction vs load. */
  snprintf(p, sizeof p, "%s/points.csv", c->dir);
  FILE *in = fopen(p, "r");
  if (!in) return mts_seterr(MTS_EIO, "cannot read %s: %s", p, strerror(errno));
  FILE *d[8] = {0};
  if (!fgets(line, sizeof line, in)) {
    fclose(in);
    return mts_seterr(MTS_EPARSE, "%s: empty", p);
  }
  while (fgets(line, sizeof line, in)) {
    if (split(line, f, 32) < 15) continue;
    int k = 0;
    while (k < npol && strcmp(pol[k], f[0])) k++;
    if (k == npol) {
      if (npol == 8) continue;
      snprintf(pol[npol++], sizeof pol[0], "%s", f[0]);
      char dn[64];
      snprintf(dn, sizeof dn, "sat-%d", k);
      if (!(d[k] = pfile(c, dn, ".dat"))) break;
    }
    fprintf(d[k], "%s %s %s %s\n", f[3], f[5], f[7], f[2]); /* scale sat worst phase */
  }
  fclose(in);
  for (int k = 0; k < npol; k++)
    if (d[k]) fclose(d[k]);
  FILE *g = pfile(c, "satisfaction_vs_load", ".gp");
  if (!g) return MTS_EIO;
  gp_head(g, "satisfaction_vs_load", 900, 540, "QoS satisfaction vs load (every run of the sweep; line: worst tenant)");
  fprintf(g, "set logscale x\nset xlabel 'load (arrival-rate scale)'\nset ylabel 'queries within QoS (%%)'\n"
             "set yrange [*:100.5]\nset arrow from graph 0, first %g to graph 1, first %g nohead dt 2 lc 'red'\nplot ",
          100 * target, 100 * target);
  for (int k = 0; k < npol; k++)
    fprintf(g, "%s'< sort -g sat-%d.dat' using 1:($2*100) with points pt 7 ps 0.7 lc %d title '%s overall', \\\n"
               "  '< sort -g sat-%d.dat' using 1:($3*100) with lines lw 1.5 lc %d title '%s worst tenant'",
            k ? ", \\\n  " : "", k, k + 1, pol[k], k, k + 1, pol[k]);
  fprintf(g, "\n");
  fclose(g);
  if ((rc = gnuplot(c, "satisfaction_vs_load"))) return rc;

  /* Max load bars with the spread over seeds. */
  snprintf(p, sizeof p, "%s/summary.csv", c->dir);
  in = fopen(p, "r");
  if (!in) return mts_seterr(MTS_EIO, "cannot read %s", p);
  FILE *md = pfile(c, "max_load", ".dat");
  if (!md) {
    fclose(in);
    return MTS_EIO;
  }
  if (fgets(line, sizeof line, in))
    while (fgets(line, sizeof line, in))
      if (split(line, f, 32) >= 6) fprintf(md, "%s %s %s %s\n", f[0], f[2], f[3], f[4]);
  fclose(in);
  fclose(md);
  g = pfile(c, "max_load", ".gp");
  if (!g) return MTS_EIO;
  gp_head(g, "max_load", 700, 450, "Max load at >= target QoS satisfaction (bar: mean, whiskers: min-max over seeds)");
  fprintf(g, "unset key\nset ylabel 'max load (arrival-rate scale)'\nset yrange [0:*]\nset boxwidth 0.6\n"
             "set style fill solid 0.6\nset xrange [-0.6:%d.6]\nplot 'max_load.dat' using 0:2:xtic(1) with boxes, "
             "'' using 0:2:3:4 with yerrorbars lc 'black' pt 0 lw 1.5\n", npol - 1);
  fclose(g);
  if ((rc = gnuplot(c, "max_load"))) return rc;

  /* The kept runs. */
  for (int k = 0; k < npol; k++) {
    rctx_t rc2 = *c;
    char rd[8192];
    snprintf(rd, sizeof rd, "%s/runs/%s", c->dir, pol[k]);
    if (!file_exists(rd, "summary.json")) continue;
    printf("\n");
    rc2.dir = rd;
    if (snprintf(rc2.pdir, sizeof rc2.pdir, "%s/plots", rd) >= (int)sizeof rc2.pdir)
      return mts_seterr(MTS_EINVAL, "path too long: %s", rd);
    if (mkdir(rc2.pdir, 0755) != 0 && errno != EEXIST)
      return mts_seterr(MTS_EIO, "cannot create %s: %s", rc2.pdir, strerror(errno));
    if ((rc = report_run(&rc2))) return rc;
  }
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: mtserve report DIR [--window S] [--no-plots]\n"
             "\n"
             "Prints the tables of a results directory (serve or sim run: summary.json) or of a\n"
             "sweep directory (sweep.csv), and writes PNG plots with gnuplot into DIR/plots/:\n"
             "  run:   latency_cdf.png (per tenant), timeline.png (per-core blocks), utilisation.png\n"
             "  sweep: satisfaction_vs_load.png, max_load.png, and the run plots of DIR/runs/POLICY\n"
             "Each plot's data (.dat) and gnuplot script (.gp) stay next to it.\n"
             "\n"
             "  --window S    seconds of the per-core timeline, from the end of warm-up\n"
             "                (default: about 150 blocks per core, at most 2 s)\n"
             "  --no-plots    tables only\n");
}

int mts_cli_report(int argc, char **argv) {
  static const struct option longopts[] = {{"window", required_argument, 0, 'W'},
                                            {"no-plots", no_argument, 0, 'n'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
  rctx_t c;
  int ch, rc;
  char *end;
  memset(&c, 0, sizeof c);
  c.window_s = 0; /* automatic */
  c.plots = 1;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'W':
      c.window_s = strtod(optarg, &end);
      if (*end || !(c.window_s > 0)) {
        fprintf(stderr, "mtserve report: --window needs a positive number, not '%s'\n", optarg);
        return 2;
      }
      break;
    case 'n': c.plots = 0; break;
    case 'h': usage(stdout); return 0;
    default: return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "mtserve report: give one results or sweep directory; see --help\n");
    return 2;
  }
  c.dir = argv[optind];
  int sweep = file_exists(c.dir, "sweep.csv");
  if (!sweep && !file_exists(c.dir, "summary.json")) {
    fprintf(stderr, "mtserve report: %s has neither summary.json (a run) nor sweep.csv (a sweep)\n", c.dir);
    return 2;
  }
  snprintf(c.pdir, sizeof c.pdir, "%s/plots", c.dir);
  if (c.plots && mkdir(c.pdir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "mtserve report: cannot create %s: %s\n", c.pdir, strerror(errno));
    return 1;
  }
  rc = sweep ? report_sweep(&c) : report_run(&c);
  if (rc) {
    fprintf(stderr, "mtserve report: %s\n", mts_errmsg());
    return rc == MTS_EPARSE ? 2 : 1;
  }
  return 0;
}
