/* engine.h — the coordinator's run loop, independent of the transport:
 * admits arrivals from a schedule into the query table, feeds events to the
 * scheduler, hands its dispatch decisions to the transport and its
 * completions back to the scheduler, until every query is finished or the
 * drain grace period ends.
 *
 * Transports: `mpi` (live, transport_mpi.c) and, later, `sim` (virtual
 * time).  Times are microseconds since the run's start on the transport's
 * clock.  The engine owns the query table it returns. */
#ifndef MTS_ENGINE_H
#define MTS_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coordinator/arrivals.h"
#include "coordinator/sched.h"

typedef struct {
  size_t query;
  int ok;
  double exec_us;          /* block execution time on the worker */
  char error[256];         /* when !ok */
} mts_completion_ev_t;

typedef struct {
  void *impl;
  /* Microseconds since the run's start. */
  int64_t (*now)(void *impl);
  /* Carries a dispatch decision out (q is the query it concerns). */
  int (*dispatch)(void *impl, const mts_decision_t *d, const mts_query_t *q);
  /* Waits until a completion arrives (returns 1, *ev filled) or deadline_us
   * passes (returns 0).  expect_us is the earliest predicted completion of a
   * running block (< 0 when none run): a transport may sleep coarsely before
   * it and poll finely after it.  Negative on transport errors. */
  int (*wait)(void *impl, int64_t deadline_us, int64_t expect_us, mts_completion_ev_t *ev);
  /* Optional: the engine gave up on a worker (a block overran its
   * timeout); the transport stops expecting anything from it. */
  void (*lost)(void *impl, int worker);
  /* Optional: query q, bound to worker `worker`, was dropped after some of
   * its blocks ran; the worker may free what it holds for it. */
  int (*release)(void *impl, int worker, const mts_query_t *q);
} mts_transport_t;

typedef struct {
  const mts_workload_t *w;
  const double *qos_us;          /* per tenant */
  const int *tenant_model;       /* per tenant */
  const mts_arrival_t *arrivals; /* sorted */
  size_t n_arrivals;
  double duration_s, warmup_s;
  double grace_s;                /* drain time after the last arrival */
  FILE *progress;                /* live progress line (NULL: none) */
  int progress_tty;
  /* Set asynchronously (signal handler) to stop: no more admissions, the
   * running and waiting queries get stop_grace_s to finish, then they are
   * dropped with reason "shutdown". */
  volatile int *stop;
  double stop_grace_s;
  /* A block running longer than max(block_timeout_s, 10 x its prediction)
   * means its worker hung or died: the worker is declared lost, its queries
   * fail (reason worker_lost) and it gets no more work.  0: never. */
  double block_timeout_s;              /* rewrite one line (\r) twice a second; else a line every 5 s */
} mts_engine_config_t;

typedef struct {
  mts_query_t *queries;          /* owned by the caller after the run (free()) */
  size_t n_queries;
  double decide_us_p50, decide_us_p99; /* scheduler decision time per event */
  int64_t events;
  double run_s;                  /* wall (or virtual) run time */
  int stopped;                   /* the run was stopped early (cfg->stop) */
  int64_t released;              /* queries dropped part-way (their worker told to free them) */
  int n_lost;                    /* workers declared lost */
  int lost[MTS_SCHED_MAX_WORKERS];
  double arrivals_until_s;       /* end of the arrival window actually served */
  char error[512];               /* transport error, if the run stopped on one */
} mts_engine_result_t;

int mts_engine_run(const mts_engine_config_t *cfg, mts_sched_t *s,
                   const mts_transport_t *t, mts_engine_result_t *res);

#endif
