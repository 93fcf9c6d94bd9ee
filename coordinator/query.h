/* query.h — one query's record in the coordinator's query table.
 *
 * Times are microseconds on the coordinator's monotonic clock relative to
 * the run's start (t = 0 is the first scheduled arrival instant).  Latency
 * is done_us - arrival_us: measured from the *scheduled* arrival, as MLPerf
 * LoadGen does, so a late generator counts against the system. */
#ifndef MTS_QUERY_H
#define MTS_QUERY_H

#include <stdint.h>

typedef enum {
  MTS_Q_PENDING = 0,  /* arrived, waiting for its next block */
  MTS_Q_RUNNING,      /* a block is executing */
  MTS_Q_COMPLETED,
  MTS_Q_DROPPED,
  MTS_Q_FAILED,
  MTS_Q_STATE_COUNT
} mts_qstate_t;

typedef enum {
  MTS_REASON_NONE = 0,
  MTS_REASON_DEADLINE,      /* dropped: target can no longer be met */
  MTS_REASON_QUEUE_FULL,    /* dropped: admission queue full */
  MTS_REASON_WORKER_ERROR,  /* failed: the worker reported an error */
  MTS_REASON_WORKER_LOST,   /* failed: worker died or hung */
  MTS_REASON_SHUTDOWN,      /* dropped: run ended before completion */
  MTS_REASON_COUNT
} mts_reason_t;

const char *mts_qstate_name(int s);
const char *mts_reason_name(int r);   /* "none", "deadline", "queue_full", ... */

typedef struct {
  uint64_t id;
  int tenant;
  int model;              /* model index (workload order of distinct models) */
  int warmup;             /* arrived during warm-up: excluded from statistics */
  int state;              /* mts_qstate_t */
  int reason;             /* mts_reason_t */
  int worker;             /* rank bound at first dispatch, -1 before */
  int next_layer;         /* first layer not yet run */
  int blocks;             /* blocks dispatched */
  int conflicts;          /* blocks granted fewer cores than asked */
  int64_t arrival_us;     /* scheduled arrival */
  int64_t deadline_us;    /* arrival + QoS target */
  int64_t first_start_us; /* first dispatch, -1 before */
  int64_t done_us;        /* completion/drop/fail time, -1 before */
  double exec_us;         /* sum of block execution times on the worker */
} mts_query_t;

#endif
