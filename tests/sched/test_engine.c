/* test_engine.c — the engine's run loop over a fake virtual-time transport:
 * every query is admitted at its scheduled time, finishes, and its latency
 * is measured from the scheduled arrival; queries left at the end of the
 * grace period are dropped with reason "shutdown"; transport errors stop
 * the run with the message; a query dropped part-way is released on its
 * worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "coordinator/engine.h"
#include "runtime/mts.h"

#define MAXR 16
typedef struct {
  int64_t now;
  int n;                    /* running blocks */
  size_t q[MAXR];
  int64_t end[MAXR];
  int64_t start[MAXR];
  double scale;             /* actual / predicted block time */
  int fail_dispatch_after;  /* -1: never */
  int dispatched;
  const char *policy;       /* NULL: fcfs */
  int released;             /* release() calls */
  size_t released_q;
} fake_t;

static int f_release(void *impl, int worker, const mts_query_t *q) {
  fake_t *f = impl;
  assert_true(worker >= 0 && worker < 2);
  assert_true(q->blocks > 0);
  f->released++;
  f->released_q = (size_t)q->id;
  return 0;
}

static int64_t f_now(void *impl) { return ((fake_t *)impl)->now; }

static int f_dispatch(void *impl, const mts_decision_t *d, const mts_query_t *q) {
  fake_t *f = impl;
  (void)q;
  if (f->fail_dispatch_after >= 0 && f->dispatched >= f->fail_dispatch_after)
    return mts_seterr(MTS_EMPI, "fake: link down");
  f->dispatched++;
  f->q[f->n] = d->query;
  f->end[f->n] = f->now + (int64_t)(d->predicted_us * f->scale);
  f->start[f->n] = f->now;
  f->n++;
  return 0;
}

static int f_wait(void *impl, int64_t deadline, int64_t expect, mts_completion_ev_t *ev) {
  fake_t *f = impl;
  (void)expect;
  int best = -1;
  for (int i = 0; i < f->n; i++)
    if (best < 0 || f->end[i] < f->end[best]) best = i;
  if (best >= 0 && f->end[best] <= (deadline > f->now ? deadline : f->now)) {
    if (f->end[best] > f->now) f->now = f->end[best];
    ev->query = f->q[best];
    ev->ok = 1;
    ev->exec_us = (double)(f->end[best] - f->start[best]); /* as a worker reports it */
    f->q[best] = f->q[f->n - 1];
    f->end[best] = f->end[f->n - 1];
    f->start[best] = f->start[f->n - 1];
    f->n--;
    return 1;
  }
  if (deadline > f->now) f->now = deadline;
  return 0;
}

static const double layer_us[2] = {300, 700};

static void run(fake_t *f, int n_arr, int64_t gap, double grace, mts_engine_result_t *res, int *rc) {
  mts_model_prof_t prof = {.n_layers = 2, .n_cc = 1, .layer_us = layer_us, .model_us = {1000}};
  mts_worker_desc_t wk[2] = {{.rank = 1, .node = 0, .n_home = 1, .home = {0}},
                             {.rank = 2, .node = 0, .n_home = 1, .home = {1}}};
  double qos[1] = {3000};
  int tm[1] = {0};
  mts_sched_config_t sc = {.policy = f->policy ? f->policy : "fcfs", .cores_per_query = 1, .n_models = 1, .models = &prof,
                           .n_workers = 2, .workers = wk, .n_tenants = 1, .tenant_qos_us = qos,
                           .tenant_model = tm, .max_cores_node = 2, .n_nodes = 1};
  mts_sched_t *s = NULL;
  assert_int_equal(mts_sched_create(&sc, &s), 0);
  mts_arrival_t *arr = calloc((size_t)n_arr, sizeof *arr);
  for (int i = 0; i < n_arr; i++) arr[i].t_us = i * gap;
  mts_workload_t w = {.name = "t", .n_tenants = 1};
  mts_transport_t t = {.impl = f, .now = f_now, .dispatch = f_dispatch, .wait = f_wait, .release = f_release};
  mts_engine_config_t ec = {.w = &w, .qos_us = qos, .tenant_model = tm, .arrivals = arr,
                            .n_arrivals = (size_t)n_arr, .duration_s = (double)(n_arr * gap) / 1e6,
                            .warmup_s = 0, .grace_s = grace};
  *rc = mts_engine_run(&ec, s, &t, res);
  assert_int_equal(mts_sched_check(s), 0);
  mts_sched_destroy(s);
  free(arr);
}

static void test_all_complete_latency_from_schedule(void **state) {
  (void)state;
  fake_t f = {.scale = 1.0, .fail_dispatch_after = -1};
  mts_engine_result_t res;
  int rc;
  run(&f, 20, 400, 5, &res, &rc); /* 2 workers x 1000 us blocks vs 400 us gaps: queueing */
  assert_int_equal(rc, 0);
  assert_int_equal(res.n_queries, 20);
  int64_t prev_start = -1;
  for (size_t i = 0; i < res.n_queries; i++) {
    mts_query_t *q = &res.queries[i];
    assert_int_equal(q->state, MTS_Q_COMPLETED);
    assert_int_equal(q->arrival_us, (int64_t)i * 400);
    assert_true(q->first_start_us >= q->arrival_us);
    assert_true(q->first_start_us >= prev_start); /* fcfs: starts in arrival order */
    prev_start = q->first_start_us;
    assert_int_equal(q->done_us - q->first_start_us, 1000);
  }
  /* the queue grows: the last query waits (latency > service time) */
  assert_true(res.queries[19].done_us - res.queries[19].arrival_us > 1000);
  free(res.queries);
}

static void test_grace_period_drops_with_reason(void **state) {
  (void)state;
  fake_t f = {.scale = 100.0, .fail_dispatch_after = -1}; /* blocks take 100 ms */
  mts_engine_result_t res;
  int rc;
  run(&f, 10, 100, 0.15, &res, &rc);
  assert_int_equal(rc, 0);
  int done = 0, dropped = 0;
  for (size_t i = 0; i < res.n_queries; i++) {
    if (res.queries[i].state == MTS_Q_COMPLETED) done++;
    if (res.queries[i].state == MTS_Q_DROPPED) {
      dropped++;
      assert_int_equal(res.queries[i].reason, MTS_REASON_SHUTDOWN);
    }
  }
  assert_int_equal(done + dropped, 10);
  assert_int_equal(done, 2); /* one block per worker fits in 0.15 s */
  free(res.queries);
}

static void test_transport_error_stops_run(void **state) {
  (void)state;
  fake_t f = {.scale = 1.0, .fail_dispatch_after = 3};
  mts_engine_result_t res;
  int rc;
  run(&f, 10, 400, 1, &res, &rc);
  assert_int_equal(rc, MTS_EMPI);
  assert_non_null(strstr(res.error, "link down"));
  free(res.queries);
}

/* mts cuts the 300 + 700 us model into two blocks (horizon 0.3 x 3 ms);
 * when the first runs 8x longer than predicted, the query can no longer
 * make its 3 ms target: it is dropped part-way (reason deadline) and its
 * worker is told to release what it holds for it. */
static void test_dropped_part_way_is_released(void **state) {
  (void)state;
  fake_t f = {.scale = 8.0, .fail_dispatch_after = -1, .policy = "mts"};
  mts_engine_result_t res;
  int rc;
  run(&f, 1, 1000, 1, &res, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(res.n_queries, 1);
  assert_int_equal(res.queries[0].state, MTS_Q_DROPPED);
  assert_int_equal(res.queries[0].reason, MTS_REASON_DEADLINE);
  assert_int_equal(res.queries[0].blocks, 1);
  assert_int_equal(f.released, 1);
  assert_int_equal(f.released_q, 0);
  assert_int_equal(res.released, 1);
  free(res.queries);
  /* on schedule: no release */
  fake_t g = {.scale = 1.0, .fail_dispatch_after = -1, .policy = "mts"};
  run(&g, 1, 1000, 1, &res, &rc);
  assert_int_equal(res.queries[0].state, MTS_Q_COMPLETED);
  assert_int_equal(res.queries[0].blocks, 2);
  assert_int_equal(g.released, 0);
  free(res.queries);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_complete_latency_from_schedule),
      cmocka_unit_test(test_grace_period_drops_with_reason),
      cmocka_unit_test(test_transport_error_stops_run),
      cmocka_unit_test(test_dropped_part_way_is_released),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
