/* test_metrics.c — percentiles on known vectors, satisfaction and VALID on
 * a hand-made query table, the accounting check, and the summary.json /
 * queries.csv / console outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/metrics.h"
#include "coordinator/query.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_percentile(void **state) {
  (void)state;
  double v[] = {5, 3, 1, 4, 2};  /* unsorted: the call sorts */
  NEAR(mts_percentile(v, 5, 50), 3);
  assert_true(v[0] == 1 && v[4] == 5);
  NEAR(mts_percentile(v, 5, 0), 1);
  NEAR(mts_percentile(v, 5, 100), 5);
  NEAR(mts_percentile(v, 5, 25), 2);
  NEAR(mts_percentile(v, 5, 90), 4.6);    /* rank 3.6 */
  NEAR(mts_percentile(v, 5, 99), 4.96);
  double two[] = {10, 20};
  NEAR(mts_percentile(two, 2, 50), 15);
  NEAR(mts_percentile(two, 2, 99.9), 19.99);
  double one[] = {7};
  NEAR(mts_percentile(one, 1, 0), 7);
  NEAR(mts_percentile(one, 1, 99), 7);
  NEAR(mts_percentile(one, 0, 50), 0);    /* empty: 0 */
}

static mts_workload_t *two_tenants(void) {
  const char *text =
      "{\"name\": \"mtest\", \"duration_s\": 11, \"warmup_s\": 1, \"tenants\": ["
      "{\"name\": \"a\", \"model\": \"tiny\", \"qos_ms\": 10, \"arrival\": "
      "{\"process\": \"poisson\", \"rate_qps\": 1}},"
      "{\"name\": \"b\", \"model\": \"nets/x,y.onnx\", \"qos_ms\": 100, \"arrival\": "
      "{\"process\": \"poisson\", \"rate_qps\": 1}}]}";
  mts_workload_t *w = NULL;
  assert_int_equal(mts_workload_parse(text, "m.json", &w), 0);
  return w;
}

static mts_query_t mkq(int tenant, int warmup, int state, int reason,
                       int64_t arrival_us, double latency_ms) {
  static uint64_t id;
  mts_query_t q = {0};
  q.id = id++;
  q.tenant = tenant;
  q.warmup = warmup;
  q.state = state;
  q.reason = reason;
  q.worker = state == MTS_Q_COMPLETED ? 1 : -1;
  q.arrival_us = arrival_us;
  q.first_start_us = state == MTS_Q_COMPLETED ? arrival_us + 100 : -1;
  q.done_us = latency_ms >= 0 ? arrival_us + (int64_t)(latency_ms * 1000) : -1;
  q.blocks = 2;
  q.exec_us = 1500;
  return q;
}

/* a: warm-up query (ignored); measured 2,4,6,8,12 ms (12 misses 10 ms),
 *    one deadline drop, one worker failure.
 * b: 50, 60 ms; one queue-full drop. */
static size_t table(mts_query_t *q) {
  size_t n = 0;
  q[n++] = mkq(0, 1, MTS_Q_COMPLETED, MTS_REASON_NONE, 0, 500);
  const double la[] = {2, 4, 6, 8, 12};
  for (int i = 0; i < 5; i++)
    q[n++] = mkq(0, 0, MTS_Q_COMPLETED, MTS_REASON_NONE, 1000000 + i * 1000, la[i]);
  q[n++] = mkq(0, 0, MTS_Q_DROPPED, MTS_REASON_DEADLINE, 2000000, 11);
  q[n++] = mkq(0, 0, MTS_Q_FAILED, MTS_REASON_WORKER_ERROR, 2100000, 3);
  q[n++] = mkq(1, 0, MTS_Q_COMPLETED, MTS_REASON_NONE, 3000000, 60);
  q[n++] = mkq(1, 0, MTS_Q_COMPLETED, MTS_REASON_NONE, 3100000, 50);
  q[n++] = mkq(1, 0, MTS_Q_DROPPED, MTS_REASON_QUEUE_FULL, 3200000, 0);
  return n;
}

static void test_report(void **state) {
  (void)state;
  mts_workload_t *w = two_tenants();
  mts_query_t q[16];
  size_t n = table(q);
  const double qos[2] = {10, 100};
  mts_report_t r;
  assert_int_equal(mts_report_compute(w, qos, q, n, 10.0, &r), 0);
  assert_int_equal(r.n_tenants, 2);

  const mts_stats_t *a = &r.tenant[0], *b = &r.tenant[1], *o = &r.overall;
  assert_int_equal(a->arrived, 7);
  assert_int_equal(a->completed, 5);
  assert_int_equal(a->dropped, 1);
  assert_int_equal(a->failed, 1);
  assert_int_equal(a->satisfied, 4);
  NEAR(a->satisfaction, 4.0 / 7.0);
  NEAR(a->p50_ms, 6);
  NEAR(a->p90_ms, 10.4);
  NEAR(a->p99_ms, 11.84);
  NEAR(a->mean_ms, 6.4);
  NEAR(a->max_ms, 12);
  NEAR(a->qos_ms, 10);
  assert_int_equal(a->valid, 0);  /* p99 11.84 > 10 */
  assert_int_equal(a->reasons[MTS_REASON_DEADLINE], 1);
  assert_int_equal(a->reasons[MTS_REASON_WORKER_ERROR], 1);
  NEAR(a->sched_qps, 0.7);
  NEAR(a->done_qps, 0.5);

  assert_int_equal(b->arrived, 3);
  assert_int_equal(b->satisfied, 2);
  NEAR(b->p99_ms, 59.9);
  assert_int_equal(b->valid, 1);
  assert_int_equal(b->reasons[MTS_REASON_QUEUE_FULL], 1);

  assert_int_equal(o->arrived, 10);
  assert_int_equal(o->completed, 7);
  assert_int_equal(o->dropped, 2);
  assert_int_equal(o->failed, 1);
  assert_int_equal(o->satisfied, 6);
  NEAR(o->satisfaction, 0.6);
  assert_int_equal(o->valid, 0);  /* a is INVALID */
  NEAR(o->max_ms, 60);

  /* a looser target for a makes every tenant VALID */
  const double loose[2] = {12, 100};
  assert_int_equal(mts_report_compute(w, loose, q, n, 10.0, &r), 0);
  assert_int_equal(r.tenant[0].valid, 1);
  assert_int_equal(r.tenant[0].satisfied, 5);
  assert_int_equal(r.overall.valid, 1);

  /* nothing completed: no evidence, INVALID; satisfaction 0 */
  mts_query_t d[2] = {mkq(0, 0, MTS_Q_DROPPED, MTS_REASON_DEADLINE, 0, 1),
                      mkq(1, 0, MTS_Q_FAILED, MTS_REASON_WORKER_LOST, 0, 1)};
  assert_int_equal(mts_report_compute(w, qos, d, 2, 10.0, &r), 0);
  assert_int_equal(r.tenant[0].valid, 0);
  NEAR(r.tenant[0].satisfaction, 0);
  /* no queries at all: satisfaction 1 by definition, not VALID */
  assert_int_equal(mts_report_compute(w, qos, NULL, 0, 10.0, &r), 0);
  NEAR(r.overall.satisfaction, 1);
  assert_int_equal(r.overall.valid, 0);

  /* a query of an unknown tenant is an error */
  d[0].tenant = 5;
  assert_int_equal(mts_report_compute(w, qos, d, 2, 10.0, &r), MTS_EINVAL);
  mts_workload_destroy(w);
}

static void test_books(void **state) {
  (void)state;
  mts_workload_t *w = two_tenants();
  mts_query_t q[16];
  size_t n = table(q);
  assert_int_equal(mts_report_check_books(w, q, n), 0);

  q[n++] = mkq(1, 0, MTS_Q_PENDING, MTS_REASON_NONE, 4000000, -1);
  assert_int_equal(mts_report_check_books(w, q, n), MTS_ESTATE);
  assert_string_equal(mts_errmsg(),
                      "books do not balance for tenant 'b' (all queries): "
                      "arrived 4 != completed 2 + dropped 1 + failed 0 "
                      "(1 unaccounted)");
  /* an unfinished warm-up query unbalances "all queries" only */
  n = table(q);
  q[0].state = MTS_Q_RUNNING;
  assert_int_equal(mts_report_check_books(w, q, n), MTS_ESTATE);
  assert_non_null(strstr(mts_errmsg(), "tenant 'a' (all queries): arrived 8"));
  mts_workload_destroy(w);
}

static char *tmpfile_path(const char *suffix) {
  static char buf[2][256];
  static int k;
  char *p = buf[k++ % 2];
  snprintf(p, sizeof buf[0], "/tmp/mts_test_metrics_%d_%s", (int)getpid(), suffix);
  return p;
}

static void test_summary_json(void **state) {
  (void)state;
  mts_workload_t *w = two_tenants();
  mts_query_t q[16];
  size_t n = table(q);
  const double qos[2] = {10, 100};
  mts_report_t r;
  assert_int_equal(mts_report_compute(w, qos, q, n, 10.0, &r), 0);
  const char *path = tmpfile_path("summary.json");
  json_t *extra = json_pack("{s:s, s:i}", "note", "hello", "workers", 3);
  assert_int_equal(mts_report_write_json(path, w, "fcfs", &r, extra), 0);

  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  if (!root) print_error("%s:%d: %s\n", path, err.line, err.text);
  assert_non_null(root);
  assert_string_equal(json_string_value(json_object_get(root, "workload")), "mtest");
  assert_string_equal(json_string_value(json_object_get(root, "policy")), "fcfs");
  NEAR(json_number_value(json_object_get(root, "window_s")), 10);
  assert_true(json_is_true(json_object_get(root, "books_ok")));
  json_t *ts = json_object_get(root, "tenants");
  assert_int_equal(json_array_size(ts), 2);
  json_t *a = json_array_get(ts, 0), *b = json_array_get(ts, 1);
  assert_string_equal(json_string_value(json_object_get(a, "name")), "a");
  assert_string_equal(json_string_value(json_object_get(a, "model")), "tiny");
  assert_int_equal(json_integer_value(json_object_get(a, "arrived")), 7);
  assert_int_equal(json_integer_value(json_object_get(a, "completed")), 5);
  assert_int_equal(json_integer_value(json_object_get(a, "dropped")), 1);
  assert_int_equal(json_integer_value(json_object_get(a, "failed")), 1);
  assert_int_equal(json_integer_value(json_object_get(a, "satisfied")), 4);
  json_t *reasons = json_object_get(a, "reasons");
  assert_true(json_is_object(reasons));
  assert_int_equal(json_integer_value(json_object_get(reasons, "deadline")), 1);
  assert_int_equal(json_integer_value(json_object_get(reasons, "worker_error")), 1);
  assert_int_equal(json_integer_value(json_object_get(reasons, "queue_full")), 0);
  NEAR(json_number_value(json_object_get(a, "satisfaction")), 4.0 / 7.0);
  NEAR(json_number_value(json_object_get(a, "p99_ms")), 11.84);
  NEAR(json_number_value(json_object_get(a, "qos_ms")), 10);
  assert_true(json_is_false(json_object_get(a, "valid")));
  assert_true(json_is_true(json_object_get(b, "valid")));
  NEAR(json_number_value(json_object_get(b, "p50_ms")), 55);
  json_t *o = json_object_get(root, "overall");
  assert_int_equal(json_integer_value(json_object_get(o, "arrived")), 10);
  NEAR(json_number_value(json_object_get(o, "satisfaction")), 0.6);
  NEAR(json_number_value(json_object_get(o, "done_qps")), 0.7);
  json_t *x = json_object_get(root, "extra");
  assert_string_equal(json_string_value(json_object_get(x, "note")), "hello");
  assert_int_equal(json_integer_value(json_object_get(x, "workers")), 3);
  json_decref(root);
  unlink(path);

  /* books_ok false when the stats do not balance */
  r.tenant[1].arrived++;
  assert_int_equal(mts_report_write_json(path, w, NULL, &r, NULL), 0);
  root = json_load_file(path, 0, &err);
  assert_non_null(root);
  assert_true(json_is_false(json_object_get(root, "books_ok")));
  assert_true(json_is_null(json_object_get(root, "policy")));
  assert_null(json_object_get(root, "extra"));
  json_decref(root);
  unlink(path);

  assert_int_equal(mts_report_write_json("/nonexistent-dir/s.json", w, "x", &r, NULL),
                   MTS_EIO);
  mts_workload_destroy(w);
}

static void test_queries_csv(void **state) {
  (void)state;
  mts_workload_t *w = two_tenants();
  mts_query_t q[16];
  size_t n = table(q);
  const double qos[2] = {10, 100};
  const char *path = tmpfile_path("queries.csv");
  assert_int_equal(mts_report_write_queries(path, w, qos, q, n), 0);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[1024];
  size_t rows = 0;
  char first[1024] = "", b_row[1024] = "";
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line,
                      "id,tenant,model,warmup,state,reason,worker,arrival_us,"
                      "first_start_us,done_us,latency_ms,qos_ms,met,blocks,"
                      "conflicts,exec_ms\n");
  while (fgets(line, sizeof line, f)) {
    if (rows == 0) snprintf(first, sizeof first, "%s", line);
    if (rows == 8) snprintf(b_row, sizeof b_row, "%s", line);
    rows++;
  }
  fclose(f);
  unlink(path);
  assert_int_equal(rows, n);  /* warm-up included */
  char want[256];
  snprintf(want, sizeof want,
           "%llu,a,tiny,1,completed,none,1,0,100,500000,500.000,10.000,0,2,0,1.500\n",
           (unsigned long long)q[0].id);
  assert_string_equal(first, want);
  /* a model path with a comma is quoted */
  snprintf(want, sizeof want,
           "%llu,b,\"nets/x,y.onnx\",0,completed,none,1,3000000,3000100,3060000,"
           "60.000,100.000,1,2,0,1.500\n",
           (unsigned long long)q[8].id);
  assert_string_equal(b_row, want);
  mts_workload_destroy(w);
}

static void test_print_and_names(void **state) {
  (void)state;
  mts_workload_t *w = two_tenants();
  mts_query_t q[16];
  size_t n = table(q);
  const double qos[2] = {10, 100};
  mts_report_t r;
  assert_int_equal(mts_report_compute(w, qos, q, n, 10.0, &r), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  mts_report_print(f, w, &r);
  fclose(f);
  assert_non_null(strstr(buf, "tenant"));
  assert_non_null(strstr(buf, "p99.9"));
  assert_non_null(strstr(buf, "INVALID"));
  assert_non_null(strstr(buf, "overall"));
  assert_non_null(strstr(buf, "deadline=1"));
  /* one header line + title + 2 tenants + overall + reasons */
  int lines = 0;
  for (char *p = buf; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 6);
  free(buf);

  assert_string_equal(mts_qstate_name(MTS_Q_COMPLETED), "completed");
  assert_string_equal(mts_qstate_name(MTS_Q_STATE_COUNT), "?");
  assert_string_equal(mts_reason_name(MTS_REASON_QUEUE_FULL), "queue_full");
  assert_string_equal(mts_reason_name(MTS_REASON_SHUTDOWN), "shutdown");
  assert_string_equal(mts_reason_name(-1), "?");
  mts_workload_destroy(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_percentile),
      cmocka_unit_test(test_report),
      cmocka_unit_test(test_books),
      cmocka_unit_test(test_summary_json),
      cmocka_unit_test(test_queries_csv),
      cmocka_unit_test(test_print_and_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
