/* test_arrivals.c — RNG and arrival generators checked statistically for a
 * fixed seed (mean, variance and CV of the gaps within a few standard
 * errors), determinism, the merged schedule's order, and CSV trace replay
 * with exact error lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/arrivals.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"

static const char *datadir(void) {
  const char *d = getenv("MTS_TESTDATA");
  return d ? d : "tests/data";
}

typedef struct {
  double mean, var, cv;
} moments_t;

static moments_t moments(const double *x, size_t n) {
  double s = 0, ss = 0;
  for (size_t i = 0; i < n; i++) s += x[i];
  double m = s / (double)n;
  for (size_t i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
  double v = ss / (double)(n - 1);
  return (moments_t){m, v, sqrt(v) / m};
}

/* Checks sample mean/variance of n gamma(k, theta) draws (k = 1: the
 * exponential) against 4 standard errors.  Var(s^2) ~ (mu4 - sigma^4)/n with
 * mu4 = 3k(k+2)theta^4 for the gamma distribution. */
static void check_gamma_moments(const double *x, size_t n, double k,
                                double theta) {
  moments_t m = moments(x, n);
  double mean = k * theta, var = k * theta * theta;
  double se_mean = sqrt(var / (double)n);
  double mu4 = 3 * k * (k + 2) * pow(theta, 4);
  double se_var = sqrt((mu4 - var * var) / (double)n);
  if (fabs(m.mean - mean) > 4 * se_mean || fabs(m.var - var) > 4 * se_var)
    print_error("k=%g theta=%g: mean %g (want %g +- %g) var %g (want %g +- %g)\n",
                k, theta, m.mean, mean, 4 * se_mean, m.var, var, 4 * se_var);
  assert_true(fabs(m.mean - mean) <= 4 * se_mean);
  assert_true(fabs(m.var - var) <= 4 * se_var);
}

static void test_rng_basics(void **state) {
  (void)state;
  mts_rng_t a, b, c;
  mts_rng_seed(&a, 7);
  mts_rng_seed(&b, 7);
  mts_rng_seed(&c, 8);
  int differ = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = mts_rng_next(&a), y = mts_rng_next(&b), z = mts_rng_next(&c);
    assert_true(x == y);
    differ += x != z;
  }
  assert_true(differ > 990);
  /* seed 0 must not give the all-zero (stuck) state */
  mts_rng_seed(&a, 0);
  assert_true(mts_rng_next(&a) != 0 || mts_rng_next(&a) != 0);
  double s = 0;
  for (int i = 0; i < 100000; i++) {
    double u = mts_rng_uniform(&a);
    assert_true(u > 0.0 && u < 1.0);
    s += u;
  }
  assert_true(fabs(s / 100000 - 0.5) < 4 * sqrt(1.0 / 12 / 100000));
}

static void test_exponential(void **state) {
  (void)state;
  enum { N = 20000 };
  double *x = malloc(N * sizeof *x);
  mts_rng_t r;
  mts_rng_seed(&r, 12345);
  for (int i = 0; i < N; i++) x[i] = mts_rng_exp(&r, 250.0);
  check_gamma_moments(x, N, 1.0, 250.0);
  assert_true(fabs(moments(x, N).cv - 1.0) < 0.05);
  free(x);
}

static void test_gamma(void **state) {
  (void)state;
  enum { N = 50000 };
  double *x = malloc(N * sizeof *x);
  /* shape < 1 takes the boost path, shape >= 1 Marsaglia-Tsang directly */
  const double shapes[] = {0.25, 0.7, 1.0, 4.0, 30.0};
  mts_rng_t r;
  mts_rng_seed(&r, 99);
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int i = 0; i < N; i++) {
      x[i] = mts_rng_gamma(&r, shapes[s], 3.0);
      assert_true(x[i] >= 0 && isfinite(x[i]));
    }
    check_gamma_moments(x, N, shapes[s], 3.0);
  }
  free(x);
}

static mts_workload_t *one_tenant(const char *arrival) {
  char text[512];
  snprintf(text, sizeof text,
           "{\"duration_s\": 200, \"tenants\": [{\"name\": \"a\", \"model\": "
           "\"m\", \"qos_ms\": 10, \"arrival\": %s}]}", arrival);
  mts_workload_t *w = NULL;
  int rc = mts_workload_parse(text, "t.json", &w);
  if (rc) print_error("%s\n", mts_errmsg());
  assert_int_equal(rc, 0);
  return w;
}

static double *gaps(const mts_arrival_t *a, size_t n) {
  double *g = malloc(n * sizeof *g);
  g[0] = (double)a[0].t_us;
  for (size_t i = 1; i < n; i++) g[i] = (double)(a[i].t_us - a[i - 1].t_us);
  return g;
}

static void test_poisson_schedule(void **state) {
  (void)state;
  mts_workload_t *w = one_tenant("{\"process\": \"poisson\", \"rate_qps\": 100}");
  mts_arrival_t *a = NULL;
  size_t n = 0;
  assert_int_equal(mts_arrivals_build(w, 1.0, 5, &a, &n), 0);
  /* count ~ Poisson(20000) */
  assert_true(fabs((double)n - 20000) < 4 * sqrt(20000));
  double *g = gaps(a, n);
  check_gamma_moments(g, n, 1.0, 10000.0);  /* microseconds */
  assert_true(fabs(moments(g, n).cv - 1.0) < 0.05);
  for (size_t i = 0; i < n; i++) {
    assert_true(a[i].t_us >= 0 && a[i].t_us < 200 * 1000000LL);
    assert_int_equal(a[i].tenant, 0);
    if (i) assert_true(a[i].t_us >= a[i - 1].t_us);
  }
  free(g);
  free(a);

  /* rate_scale multiplies the rate */
  assert_int_equal(mts_arrivals_build(w, 0.5, 5, &a, &n), 0);
  assert_true(fabs((double)n - 10000) < 4 * sqrt(10000));
  free(a);
  assert_int_equal(mts_arrivals_build(w, 0.0, 5, &a, &n), MTS_EINVAL);
  assert_null(a);
  mts_workload_destroy(w);
}

static void test_bursty_schedule(void **state) {
  (void)state;
  const double cvs[] = {0.5, 2.0, 3.0};
  for (size_t k = 0; k < 3; k++) {
    char arr[128];
    snprintf(arr, sizeof arr,
             "{\"process\": \"bursty\", \"rate_qps\": 100, \"cv\": %g}", cvs[k]);
    mts_workload_t *w = one_tenant(arr);
    mts_arrival_t *a = NULL;
    size_t n = 0;
    assert_int_equal(mts_arrivals_build(w, 1.0, 11, &a, &n), 0);
    double *g = gaps(a, n);
    moments_t m = moments(g, n);
    /* mean gap 10 ms; the count of a renewal process has variance
     * ~ cv^2 * expected count, hence the wider bound for large cv */
    assert_true(fabs((double)n - 20000) < 4 * cvs[k] * sqrt(20000));
    assert_true(fabs(m.mean - 10000) < 4 * cvs[k] * 10000 / sqrt((double)n));
    if (fabs(m.cv - cvs[k]) > 0.06 * cvs[k])
      print_error("cv %g: got %g\n", cvs[k], m.cv);
    assert_true(fabs(m.cv - cvs[k]) <= 0.06 * cvs[k]);
    free(g);
    free(a);
    mts_workload_destroy(w);
  }
}

static void test_determinism_and_merge(void **state) {
  (void)state;
  const char *two =
      "{\"duration_s\": 20, \"tenants\": ["
      "{\"name\": \"a\", \"model\": \"m\", \"qos_ms\": 10, \"arrival\": "
      "{\"process\": \"poisson\", \"rate_qps\": 50}},"
      "{\"name\": \"b\", \"model\": \"m\", \"qos_ms\": 10, \"arrival\": "
      "{\"process\": \"bursty\", \"rate_qps\": 30, \"cv\": 2}}]}";
  const char *one =
      "{\"duration_s\": 20, \"tenants\": ["
      "{\"name\": \"a\", \"model\": \"m\", \"qos_ms\": 10, \"arrival\": "
      "{\"process\": \"poisson\", \"rate_qps\": 50}}]}";
  mts_workload_t *w2 = NULL, *w1 = NULL;
  assert_int_equal(mts_workload_parse(two, "two.json", &w2), 0);
  assert_int_equal(mts_workload_parse(one, "one.json", &w1), 0);
  mts_arrival_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  size_t na, nb, nc, nd;
  assert_int_equal(mts_arrivals_build(w2, 1.0, 3, &a, &na), 0);
  assert_int_equal(mts_arrivals_build(w2, 1.0, 3, &b, &nb), 0);
  assert_int_equal(mts_arrivals_build(w2, 1.0, 4, &c, &nc), 0);
  assert_int_equal(mts_arrivals_build(w1, 1.0, 3, &d, &nd), 0);
  /* same seed, same schedule */
  assert_int_equal(na, nb);
  for (size_t i = 0; i < na; i++)
    assert_true(a[i].t_us == b[i].t_us && a[i].tenant == b[i].tenant);
  /* different seed, different schedule */
  int same = na == nc;
  for (size_t i = 0; same && i < na; i++)
    same = a[i].t_us == c[i].t_us && a[i].tenant == c[i].tenant;
  assert_false(same);
  /* merged: sorted by time, ties by tenant, both tenants present */
  size_t per[2] = {0, 0};
  for (size_t i = 0; i < na; i++) {
    per[a[i].tenant]++;
    if (i)
      assert_true(a[i].t_us > a[i - 1].t_us ||
                  (a[i].t_us == a[i - 1].t_us && a[i].tenant >= a[i - 1].tenant));
  }
  assert_true(per[0] > 700 && per[1] > 300);
  /* tenant a's arrivals do not depend on tenant b being there */
  assert_int_equal(per[0], nd);
  size_t j = 0;
  for (size_t i = 0; i < na; i++)
    if (a[i].tenant == 0) assert_true(a[i].t_us == d[j++].t_us);
  free(a);
  free(b);
  free(c);
  free(d);
  mts_workload_destroy(w1);
  mts_workload_destroy(w2);
}

static mts_workload_t *trace_workload(void) {
  char p[1024];
  snprintf(p, sizeof p, "%s/workloads/good/trace.json", datadir());
  mts_workload_t *w = NULL;
  int rc = mts_workload_load(p, &w);
  if (rc) print_error("%s\n", mts_errmsg());
  assert_int_equal(rc, 0);
  return w;
}

static void test_trace_read_good(void **state) {
  (void)state;
  mts_workload_t *w = trace_workload();
  mts_arrival_t *a = NULL;
  size_t n = 0;
  assert_int_equal(mts_trace_read(w->trace, w, &a, &n), 0);
  const mts_arrival_t want[] = {
      {100000, 0}, {100000, 1}, {500000, 0}, {1500000, 0}, {2500000, 1}};
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(a[i].t_us, want[i].t_us);
    assert_int_equal(a[i].tenant, want[i].tenant);
  }
  free(a);

  /* the schedule: trace rows inside [0, 2 s) plus tenant c's Poisson */
  assert_int_equal(mts_arrivals_build(w, 1.0, 1, &a, &n), 0);
  size_t per[3] = {0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    per[a[i].tenant]++;
    assert_true(a[i].t_us < 2000000);
    if (i) assert_true(a[i].t_us >= a[i - 1].t_us);
  }
  assert_int_equal(per[0], 3);
  assert_int_equal(per[1], 1);
  assert_true(per[2] > 60 && per[2] < 140);  /* ~100 */
  free(a);

  /* rate_scale 2 halves trace times: the 2.5 s row now lands at 1.25 s */
  assert_int_equal(mts_arrivals_build(w, 2.0, 1, &a, &n), 0);
  size_t nb = 0;
  int found = 0;
  for (size_t i = 0; i < n; i++) {
    if (a[i].tenant == 1) {
      nb++;
      found |= a[i].t_us == 1250000;
    }
    if (a[i].tenant == 0 && a[i].t_us == 50000) found |= 2;
  }
  assert_int_equal(nb, 2);
  assert_int_equal(found, 3);
  free(a);
  mts_workload_destroy(w);
}

static void test_trace_read_bad(void **state) {
  (void)state;
  static const struct {
    const char *file, *msg;
    int rc;
  } cases[] = {
      {"bad_number.csv", ":4: bad arrival time '1x00'", MTS_EPARSE},
      {"negative.csv", ":2: negative arrival time -5", MTS_EPARSE},
      {"unknown_tenant.csv", ":5: unknown tenant 'zed'", MTS_EPARSE},
      {"few_columns.csv", ":3: too few columns (expected arrival_us,tenant)",
       MTS_EPARSE},
      {"many_columns.csv", ":1: too many columns (expected arrival_us,tenant)",
       MTS_EPARSE},
      {"empty.csv", ": trace has no arrivals", MTS_EPARSE},
      {"not_trace_tenant.csv",
       ":3: tenant 'c' does not use arrival process \"trace\"", MTS_EPARSE},
      {"late_header.csv", ":2: bad arrival time 'arrival_us'", MTS_EPARSE},
      {"does_not_exist.csv", ": cannot open: No such file or directory", MTS_EIO},
  };
  mts_workload_t *w = trace_workload();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char p[1024], want[2048];
    snprintf(p, sizeof p, "%s/workloads/traces/%s", datadir(), cases[i].file);
    snprintf(want, sizeof want, "%s%s", p, cases[i].msg);
    mts_arrival_t *a = (mts_arrival_t *)1;
    size_t n = 1;
    int rc = mts_trace_read(p, w, &a, &n);
    if (rc != cases[i].rc || strcmp(mts_errmsg(), want))
      print_error("%s: rc %d\n  got:  %s\n  want: %s\n", cases[i].file, rc,
                  mts_errmsg(), want);
    assert_int_equal(rc, cases[i].rc);
    assert_string_equal(mts_errmsg(), want);
    assert_null(a);
    assert_int_equal(n, 0);
  }
  mts_workload_destroy(w);
}

/* mts_trace_parse: the same rows from memory as from the file; the buffer
 * is not NUL-terminated (only len bytes are read: the canary after them
 * would otherwise join the last row), a NUL inside is an error, CRLF line
 * ends and a last line without a newline are fine. */
static void test_trace_parse_memory(void **state) {
  (void)state;
  mts_workload_t *w = trace_workload();
  mts_arrival_t *a = NULL;
  size_t n = 0;
  static const char text[] = "arrival_us,tenant\r\n300,b\r\n100,a\n200,a";
  char *buf = malloc(sizeof text + 8);
  memcpy(buf, text, sizeof text - 1);
  memcpy(buf + sizeof text - 1, "9,zzz\n", 6);  /* canary past len */
  assert_int_equal(mts_trace_parse(buf, sizeof text - 1, "mem.csv", w, &a, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(a[0].t_us, 100);
  assert_int_equal(a[1].t_us, 200);
  assert_int_equal(a[2].t_us, 300);
  assert_int_equal(a[2].tenant, 1);
  free(a);

  static const char nul[] = "100,a\n200,b\0junk\n";
  a = (mts_arrival_t *)1;
  n = 1;
  assert_int_equal(mts_trace_parse(nul, sizeof nul - 1, "nul.csv", w, &a, &n),
                   MTS_EPARSE);
  assert_string_equal(mts_errmsg(), "nul.csv:2: contains a NUL byte (not a text file?)");
  assert_null(a);
  assert_int_equal(n, 0);

  /* a UTF-8 byte-order mark before the header (spreadsheet export) */
  static const char bom[] = "\xEF\xBB\xBF" "arrival_us,tenant\n7,b\n";
  assert_int_equal(mts_trace_parse(bom, sizeof bom - 1, "bom.csv", w, &a, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(a[0].t_us, 7);
  free(a);

  assert_int_equal(mts_trace_parse("", 0, "empty.csv", w, &a, &n), MTS_EPARSE);
  assert_string_equal(mts_errmsg(), "empty.csv: trace has no arrivals");
  free(buf);
  mts_workload_destroy(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trace_parse_memory),
      cmocka_unit_test(test_rng_basics),
      cmocka_unit_test(test_exponential),
      cmocka_unit_test(test_gamma),
      cmocka_unit_test(test_poisson_schedule),
      cmocka_unit_test(test_bursty_schedule),
      cmocka_unit_test(test_determinism_and_merge),
      cmocka_unit_test(test_trace_read_good),
      cmocka_unit_test(test_trace_read_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
