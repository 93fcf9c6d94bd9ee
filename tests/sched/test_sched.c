/* test_sched.c — the scheduler core with the fcfs policy: grants never
 * overlap, strict arrival order, workers run one block at a time, hopeless
 * queries are dropped when configured, lost workers fail their queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "coordinator/sched.h"
#include "runtime/mts.h"

/* one model, 4 layers, profiled on 1 and 2 cores (us) */
static const double layer_us[4 * 2] = {100, 60, 200, 110, 300, 160, 400, 210};

typedef struct {
  mts_model_prof_t prof;
  mts_worker_desc_t wk[4];
  double qos[2];
  int tm[2];
  mts_sched_config_t cfg;
  mts_query_t q[256];
  size_t nq;
  mts_sched_t *s;
} fx_t;

/* shared = 1: both workers' home is {0, 1}; else worker i has {i}. */
static fx_t *fx_new(int cpq, int shared, int drop) {
  fx_t *f = calloc(1, sizeof *f);
  f->prof.n_layers = 4;
  f->prof.n_cc = 2;
  f->prof.layer_us = layer_us;
  f->prof.model_us[0] = 1000;
  f->prof.model_us[1] = 540;
  for (int i = 0; i < 2; i++) {
    f->wk[i].rank = i + 1;
    f->wk[i].node = 0;
    if (shared) {
      f->wk[i].n_home = 2;
      f->wk[i].home[0] = 0;
      f->wk[i].home[1] = 1;
    } else {
      f->wk[i].n_home = 1;
      f->wk[i].home[0] = i;
    }
  }
  f->qos[0] = f->qos[1] = 5000;
  f->cfg = (mts_sched_config_t){.policy = "fcfs", .cores_per_query = cpq, .drop_hopeless = drop,
                                .n_models = 1, .models = &f->prof, .n_workers = 2, .workers = f->wk,
                                .n_tenants = 2, .tenant_qos_us = f->qos, .tenant_model = f->tm,
                                .max_cores_node = 2, .n_nodes = 1};
  assert_int_equal(mts_sched_create(&f->cfg, &f->s), 0);
  return f;
}

static void fx_free(fx_t *f) {
  mts_sched_destroy(f->s);
  free(f);
}

static size_t arrive(fx_t *f, int64_t t, int tenant) {
  size_t i = f->nq++;
  memset(&f->q[i], 0, sizeof f->q[i]);
  f->q[i].id = i;
  f->q[i].tenant = tenant;
  f->q[i].arrival_us = t;
  f->q[i].deadline_us = t + (int64_t)f->qos[tenant];
  f->q[i].first_start_us = f->q[i].done_us = -1;
  mts_sched_set_queries(f->s, f->q, f->nq);
  mts_sched_arrive(f->s, i, t);
  return i;
}

static void test_fcfs_whole_model_one_core(void **state) {
  (void)state;
  fx_t *f = fx_new(1, 0, 0);
  mts_decision_t d[8];
  arrive(f, 0, 0);
  arrive(f, 1, 1);
  arrive(f, 2, 0);
  int n = mts_sched_decide(f->s, 10, d, 8);
  assert_int_equal(n, 2); /* two workers, one block each */
  for (int i = 0; i < n; i++) {
    assert_int_equal(d[i].kind, MTS_DEC_DISPATCH);
    assert_int_equal(d[i].first, 0);
    assert_int_equal(d[i].last, 4);
    assert_int_equal(d[i].n_cores, 1);
    assert_true(d[i].release);
    assert_int_equal(d[i].predicted_us, 1000);
  }
  assert_int_equal(d[0].query, 0); /* arrival order */
  assert_int_equal(d[1].query, 1);
  assert_int_not_equal(d[0].cores[0], d[1].cores[0]);
  assert_int_equal(mts_sched_check(f->s), 0);
  assert_int_equal(mts_sched_decide(f->s, 20, d, 8), 0); /* query 2 waits: no idle worker */
  mts_sched_complete(f->s, 1, 1, 900, 890);
  assert_int_equal(f->q[1].state, MTS_Q_COMPLETED);
  assert_int_equal(f->q[1].done_us, 900);
  n = mts_sched_decide(f->s, 900, d, 8);
  assert_int_equal(n, 1);
  assert_int_equal(d[0].query, 2);
  assert_int_equal(d[0].worker, f->q[1].worker); /* the worker that became free */
  assert_int_equal(mts_sched_check(f->s), 0);
  assert_int_equal(mts_sched_dispatches(f->s), 3);
  assert_int_equal(mts_sched_conflicts(f->s), 0);
  fx_free(f);
}

static void test_fcfs_strict_order_on_shared_cores(void **state) {
  (void)state;
  fx_t *f = fx_new(2, 1, 0); /* both workers share cores {0,1}; 2 cores per query */
  mts_decision_t d[8];
  arrive(f, 0, 0);
  arrive(f, 5, 1);
  int n = mts_sched_decide(f->s, 10, d, 8);
  assert_int_equal(n, 1); /* the second worker is idle but no core is free */
  assert_int_equal(d[0].n_cores, 2);
  assert_int_equal(d[0].predicted_us, 540);
  assert_int_equal(mts_sched_n_waiting(f->s), 1);
  mts_sched_complete(f->s, 0, 1, 600, 540);
  n = mts_sched_decide(f->s, 600, d, 8);
  assert_int_equal(n, 1);
  assert_int_equal(d[0].query, 1);
  assert_int_equal(mts_sched_check(f->s), 0);
  fx_free(f);
}

static void test_cores_per_query_capped_by_home(void **state) {
  (void)state;
  fx_t *f = fx_new(8, 0, 0); /* asks 8, homes have 1 core */
  mts_decision_t d[8];
  arrive(f, 0, 0);
  assert_int_equal(mts_sched_decide(f->s, 0, d, 8), 1);
  assert_int_equal(d[0].n_cores, 1);
  fx_free(f);
}

static void test_drop_hopeless(void **state) {
  (void)state;
  fx_t *f = fx_new(1, 0, 1);
  mts_decision_t d[8];
  arrive(f, 0, 0);          /* deadline 5000, needs >= 540 */
  arrive(f, 0, 1);
  arrive(f, 0, 0);
  int n = mts_sched_decide(f->s, 4700, d, 8); /* 4700 + 540 > 5000: all hopeless */
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(d[i].kind, MTS_DEC_DROP);
    assert_int_equal(f->q[d[i].query].state, MTS_Q_DROPPED);
    assert_int_equal(f->q[d[i].query].reason, MTS_REASON_DEADLINE);
  }
  assert_int_equal(mts_sched_n_waiting(f->s), 0);
  fx_free(f);
}

static void test_worker_lost_and_failure(void **state) {
  (void)state;
  fx_t *f = fx_new(1, 0, 0);
  mts_decision_t d[8];
  arrive(f, 0, 0);
  arrive(f, 0, 0);
  assert_int_equal(mts_sched_decide(f->s, 0, d, 8), 2);
  int w0 = d[0].worker;
  assert_int_equal(mts_sched_worker_lost(f->s, w0, 50), 1);
  assert_int_equal(f->q[d[0].query].state, MTS_Q_FAILED);
  assert_int_equal(f->q[d[0].query].reason, MTS_REASON_WORKER_LOST);
  mts_sched_complete(f->s, d[1].query, 0, 60, 10); /* the other block fails */
  assert_int_equal(f->q[d[1].query].state, MTS_Q_FAILED);
  assert_int_equal(f->q[d[1].query].reason, MTS_REASON_WORKER_ERROR);
  arrive(f, 100, 1);
  assert_int_equal(mts_sched_decide(f->s, 100, d, 8), 1);
  assert_int_not_equal(d[0].worker, w0); /* the lost worker gets nothing */
  assert_int_equal(mts_sched_check(f->s), 0);
  fx_free(f);
}

static void test_drop_waiting_and_abort(void **state) {
  (void)state;
  fx_t *f = fx_new(1, 0, 0);
  mts_decision_t d[8];
  for (int i = 0; i < 5; i++) arrive(f, i, i % 2);
  assert_int_equal(mts_sched_decide(f->s, 10, d, 8), 2);
  assert_int_equal(mts_sched_drop_waiting(f->s, MTS_REASON_SHUTDOWN, 99), 3);
  assert_int_equal(mts_sched_abort_running(f->s, MTS_REASON_SHUTDOWN, 99), 2);
  for (size_t i = 0; i < f->nq; i++) {
    assert_int_equal(f->q[i].state, MTS_Q_DROPPED);
    assert_int_equal(f->q[i].reason, MTS_REASON_SHUTDOWN);
  }
  assert_int_equal(mts_sched_n_running(f->s), 0);
  mts_sched_complete(f->s, 0, 1, 120, 100); /* late completion: ignored */
  assert_int_equal(f->q[0].state, MTS_Q_DROPPED);
  assert_int_equal(mts_sched_check(f->s), 0);
  fx_free(f);
}

/* Random arrivals and completions: invariants hold after every step. */
static void test_random_invariants(void **state) {
  (void)state;
  for (int shared = 0; shared < 2; shared++) {
    fx_t *f = fx_new(1 + shared, shared, 0);
    mts_decision_t d[8];
    uint64_t x = 12345;
    int64_t now = 0;
    for (int step = 0; step < 2000 && f->nq < 250; step++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      now += (int64_t)(x >> 58);
      if ((x >> 40) % 3 == 0) arrive(f, now, (int)((x >> 20) & 1));
      if ((x >> 30) % 2 == 0)
        for (size_t i = 0; i < f->nq; i++)
          if (f->q[i].state == MTS_Q_RUNNING) {
            mts_sched_complete(f->s, i, 1, now, 10);
            break;
          }
      mts_sched_decide(f->s, now, d, 8);
      assert_int_equal(mts_sched_check(f->s), 0);
    }
    fx_free(f);
  }
}

/* Bounded queues: a tenant with queue_limit queries waiting to start
 * rejects the newcomer, or its oldest waiting query with reject_oldest;
 * other tenants and started queries are unaffected. */
static void test_queue_limit(void **state) {
  (void)state;
  for (int oldest = 0; oldest < 2; oldest++) {
    fx_t *f = fx_new(1, 0, 0);
    mts_sched_destroy(f->s);
    f->cfg.queue_limit = 2;
    f->cfg.reject_oldest = oldest;
    assert_int_equal(mts_sched_create(&f->cfg, &f->s), 0);
    mts_decision_t d[8];
    arrive(f, 0, 0);
    arrive(f, 1, 0);
    assert_int_equal(mts_sched_decide(f->s, 2, d, 8), 2); /* both start: queue empty again */
    size_t a = arrive(f, 3, 0), b = arrive(f, 4, 0);
    size_t c = arrive(f, 5, 0);                           /* third waiting of tenant 0 */
    size_t other = arrive(f, 6, 1);                       /* tenant 1 has its own queue */
    assert_int_equal(f->q[other].state, MTS_Q_PENDING);
    size_t victim = oldest ? a : c;
    assert_int_equal(f->q[victim].state, MTS_Q_DROPPED);
    assert_int_equal(f->q[victim].reason, MTS_REASON_QUEUE_FULL);
    assert_int_equal(f->q[oldest ? c : a].state, MTS_Q_PENDING);
    assert_int_equal(f->q[b].state, MTS_Q_PENDING);
    assert_int_equal(mts_sched_n_waiting(f->s), 3);
    assert_int_equal(mts_sched_check(f->s), 0);
    fx_free(f);
  }
}

static void test_unknown_policy(void **state) {
  (void)state;
  fx_t *f = fx_new(1, 0, 0);
  mts_sched_config_t c = f->cfg;
  mts_sched_t *s = NULL;
  c.policy = "nope";
  assert_int_equal(mts_sched_create(&c, &s), MTS_EINVAL);
  assert_null(s);
  assert_non_null(strstr(mts_errmsg(), "nope"));
  fx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fcfs_whole_model_one_core),
      cmocka_unit_test(test_fcfs_strict_order_on_shared_cores),
      cmocka_unit_test(test_cores_per_query_capped_by_home),
      cmocka_unit_test(test_drop_hopeless),
      cmocka_unit_test(test_worker_lost_and_failure),
      cmocka_unit_test(test_drop_waiting_and_abort),
      cmocka_unit_test(test_random_invariants),
      cmocka_unit_test(test_queue_limit),
      cmocka_unit_test(test_unknown_policy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
