/* arrivals.c — arrival schedules: a small deterministic RNG (xoshiro256**
 * seeded by splitmix64), exponential and gamma variates, Poisson and bursty
 * generators, and CSV trace replay (see arrivals.h).
 *
 * Everything here is a pure function of the workload, the seed and the
 * trace file, so a run's offered load can be reproduced exactly and the
 * generators can be tested statistically. */
#include "coordinator/arrivals.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mts.h"

/* A typo such as rate_qps 1e9 would otherwise ask for billions of entries. */
#define MAX_ARRIVALS ((size_t)100 * 1000 * 1000)

/* ---- RNG ---------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mts_rng_seed(mts_rng_t *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t mts_rng_next(mts_rng_t *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double mts_rng_uniform(mts_rng_t *r) {
  /* 53 random bits centred in their cell: never exactly 0 or 1, so log()
   * and pow() below stay finite. */
  return ((double)(mts_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

double mts_rng_exp(mts_rng_t *r, double mean) {
  return -mean * log(mts_rng_uniform(r));
}

static double rng_normal(mts_rng_t *r) {
  /* Box-Muller, one of the pair: keeps the RNG state the only state. */
  double u1 = mts_rng_uniform(r), u2 = mts_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double mts_rng_gamma(mts_rng_t *r, double shape, double scale) {
  if (!(shape > 0) || !(scale > 0)) return 0.0;
  if (shape < 1.0) {
    /* Boost: G(a) = G(a + 1) * U^(1/a). */
    double u = mts_rng_uniform(r);
    return mts_rng_gamma(r, shape + 1.0, scale) * pow(u, 1.0 / shape);
  }
  /* Marsaglia & Tsang (2000). */
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = rng_normal(r);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    double u = mts_rng_uniform(r);
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * scale;
    if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v * scale;
  }
}

/* ---- schedule helpers ----------------------------------------------------- */

typedef struct {
  mts_arrival_t *a;
  size_t n, cap;
} vec_t;

static int vec_push(vec_t *v, int64_t t, int tenant) {
  if (v->n == v->cap) {
    if (v->n >= MAX_ARRIVALS)
      return mts_seterr(MTS_EINVAL, "more than %zu arrivals: check rate_qps "
                        "and duration_s", MAX_ARRIVALS);
    size_t cap = v->cap ? 2 * v->cap : 1024;
    mts_arrival_t *p = realloc(v->a, cap * sizeof *p);
    if (!p) return mts_seterr(MTS_ENOMEM, "arrival schedule: out of memory");
    v->a = p;
    v->cap = cap;
  }
  /* zeroed padding keeps schedules comparable with memcmp() */
  memset(&v->a[v->n], 0, sizeof v->a[v->n]);
  v->a[v->n].t_us = t;
  v->a[v->n].tenant = tenant;
  v->n++;
  return 0;
}

static int arrival_less(const mts_arrival_t *x, const mts_arrival_t *y) {
  return x->t_us < y->t_us || (x->t_us == y->t_us && x->tenant < y->tenant);
}

/* Stable merge sort by (time, tenant): equal keys keep their input order,
 * which qsort does not promise. */
static int sort_arrivals(mts_arrival_t *a, size_t n) {
  if (n < 2) return 0;
  mts_arrival_t *tmp = malloc(n * sizeof *tmp);
  if (!tmp) return mts_seterr(MTS_ENOMEM, "arrival schedule: out of memory");
  mts_arrival_t *src = a, *dst = tmp;
  for (size_t w = 1; w < n; w *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * w) {
      size_t mid = lo + w < n ? lo + w : n;
      size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi)
        dst[k++] = arrival_less(&src[j], &src[i]) ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    mts_arrival_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
  free(tmp);
  return 0;
}

/* ---- trace ---------------------------------------------------------------- */

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

/* Parses one trace line (already trimmed, non-empty, not a comment).
 * Returns 0 (row pushed or header skipped) or an error. */
static int trace_line(char *s, const char *path, int lineno, int *seen_row,
                      const mts_workload_t *w, vec_t *v) {
  char *comma = strchr(s, ',');
  if (!comma)
    return mts_seterr(MTS_EPARSE, "%s:%d: too few columns (expected "
                      "arrival_us,tenant)", path, lineno);
  *comma = '\0';
  char *ts = trim(s), *name = trim(comma + 1);
  if (strchr(name, ','))
    return mts_seterr(MTS_EPARSE, "%s:%d: too many columns (expected "
                      "arrival_us,tenant)", path, lineno);
  /* A header is allowed only as the first row, and only the expected one:
   * anything else non-numeric is a typo the user should hear about. */
  if (!*seen_row && strcmp(ts, "arrival_us") == 0) {
    *seen_row = 1;
    return 0;
  }
  *seen_row = 1;
  if (strlen(name) >= 2 && name[0] == '"' && name[strlen(name) - 1] == '"') {
    name[strlen(name) - 1] = '\0';
    name++;
  }
  char *end;
  errno = 0;
  double t = strtod(ts, &end);
  if (!*ts || *end || errno == ERANGE || !isfinite(t))
    return mts_seterr(MTS_EPARSE, "%s:%d: bad arrival time '%s'", path, lineno,
                      ts);
  if (t < 0)
    return mts_seterr(MTS_EPARSE, "%s:%d: negative arrival time %s", path,
                      lineno, ts);
  if (t > 9.0e18)
    return mts_seterr(MTS_EPARSE, "%s:%d: arrival time %s out of range", path,
                      lineno, ts);
  if (!*name)
    return mts_seterr(MTS_EPARSE, "%s:%d: empty tenant name", path, lineno);
  int ti = mts_workload_tenant(w, name);
  if (ti < 0)
    return mts_seterr(MTS_EPARSE, "%s:%d: unknown tenant '%s'", path, lineno,
                      name);
  if (w->tenants[ti].arrival != MTS_ARRIVAL_TRACE)
    return mts_seterr(MTS_EPARSE, "%s:%d: tenant '%s' does not use arrival "
                      "process \"trace\"", path, lineno, name);
  return vec_push(v, (int64_t)llround(t), ti);
}

int mts_trace_parse(const char *text, size_t len, const char *path,
                    const mts_workload_t *w, mts_arrival_t **out, size_t *n) {
  char *line = NULL;
  size_t lcap = 0;
  vec_t v = {0};
  int rc = 0, lineno = 0, seen_row = 0;

  *out = NULL;
  *n = 0;
  if (!path) path = "<trace>";
  /* A UTF-8 byte-order mark (spreadsheets write one) is not a header. */
  size_t start = len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0;
  for (size_t pos = start; pos < len;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
    lineno++;
    /* Lines are copied so that the row parser may cut them in place. */
    if (ll + 1 > lcap) {
      lcap = ll + 1;
      line = mts_xrealloc(line, lcap);
    }
    memcpy(line, text + pos, ll);
    line[ll] = '\0';
    pos += ll + (nl ? 1 : 0);
    if (strlen(line) != ll) {
      rc = mts_seterr(MTS_EPARSE, "%s:%d: contains a NUL byte (not a text "
                      "file?)", path, lineno);
      goto out;
    }
    char *s = trim(line);
    if (!*s || *s == '#') continue;
    if ((rc = trace_line(s, path, lineno, &seen_row, w, &v)) < 0) goto out;
  }
  if (v.n == 0) {
    rc = mts_seterr(MTS_EPARSE, "%s: trace has no arrivals", path);
    goto out;
  }
  if ((rc = sort_arrivals(v.a, v.n)) < 0) goto out;
  *out = v.a;
  *n = v.n;
  v.a = NULL;
out:
  free(v.a);
  free(line);
  return rc;
}

int mts_trace_read(const char *path, const mts_workload_t *w,
                   mts_arrival_t **out, size_t *n) {
  char *buf = NULL;
  size_t len = 0;
  *out = NULL;
  *n = 0;
  int rc = mts_read_file(path, &buf, &len);
  if (rc == 0) rc = mts_trace_parse(buf, len, path, w, out, n);
  free(buf);
  return rc;
}

/* ---- schedule ------------------------------------------------------------- */

/* Per-tenant seed: mixing (seed, tenant) through splitmix64 keeps streams
 * of different tenants unrelated and independent of the tenant count. */
static uint64_t tenant_seed(uint64_t seed, int t) {
  uint64_t x = seed;
  uint64_t h = splitmix64(&x);
  uint64_t y = (uint64_t)t ^ 0x5851f42d4c957f2dULL;
  return h ^ splitmix64(&y);
}

int mts_arrivals_build(const mts_workload_t *w, double rate_scale, uint64_t seed,
                       mts_arrival_t **out, size_t *n) {
  vec_t v = {0};
  mts_arrival_t *tr = NULL;
  size_t ntr = 0;
  int rc = 0, has_trace = 0;

  *out = NULL;
  *n = 0;
  if (!(rate_scale > 0) || !isfinite(rate_scale)) {
    rc = mts_seterr(MTS_EINVAL, "rate scale must be a positive number (got %g)",
                    rate_scale);
    goto out;
  }
  const double dur_us = w->duration_s * 1e6;
  for (int t = 0; t < w->n_tenants; t++) {
    const mts_tenant_t *tn = &w->tenants[t];
    if (tn->arrival == MTS_ARRIVAL_TRACE) {
      has_trace = 1;
      continue;
    }
    const double rate = tn->rate_qps * rate_scale;
    if (!(rate > 0)) {
      rc = mts_seterr(MTS_EINVAL, "tenant '%s': rate must be positive",
                      tn->name);
      goto out;
    }
    if (rate * w->duration_s > (double)MAX_ARRIVALS) {
      rc = mts_seterr(MTS_EINVAL, "tenant '%s': %.3g qps for %g s is more "
                      "than %zu arrivals", tn->name, rate, w->duration_s,
                      MAX_ARRIVALS);
      goto out;
    }
    const double mean = 1e6 / rate;
    /* Bursty: gamma gaps with the same mean and CV = cv, i.e. shape 1/cv^2
     * and scale mean*cv^2 (cv = 1 is Poisson again). */
    const double shape = tn->arrival == MTS_ARRIVAL_BURSTY ? 1.0 / (tn->cv * tn->cv) : 1;
    const double scale = mean / shape;
    mts_rng_t r;
    mts_rng_seed(&r, tenant_seed(seed, t));
    double now = 0;
    for (;;) {
      now += tn->arrival == MTS_ARRIVAL_BURSTY ? mts_rng_gamma(&r, shape, scale)
                                               : mts_rng_exp(&r, mean);
      if (now >= dur_us) break;
      if ((rc = vec_push(&v, (int64_t)now, t)) < 0) goto out;
    }
  }
  if (has_trace) {
    if (!w->trace) {
      rc = mts_seterr(MTS_EINVAL, "workload '%s' has trace tenants but no "
                      "trace file", w->name);
      goto out;
    }
    if ((rc = mts_trace_read(w->trace, w, &tr, &ntr)) < 0) goto out;
    for (size_t i = 0; i < ntr; i++) {
      double t = (double)tr[i].t_us / rate_scale;
      if (t >= dur_us) continue;  /* traces may run past the duration */
      if ((rc = vec_push(&v, (int64_t)llround(t), tr[i].tenant)) < 0) goto out;
    }
  }
  if ((rc = sort_arrivals(v.a, v.n)) < 0) goto out;
  *out = v.a;
  *n = v.n;
  v.a = NULL;
out:
  free(v.a);
  free(tr);
  return rc;
}
