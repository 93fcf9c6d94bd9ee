/* query.c — names of query states and drop/fail reasons, as they appear in
 * reports (queries.csv, summary.json) and logs. */
#include "coordinator/query.h"

#include <assert.h>

static const char *const qstate_names[] = {
    [MTS_Q_PENDING] = "pending",     [MTS_Q_RUNNING] = "running",
    [MTS_Q_COMPLETED] = "completed", [MTS_Q_DROPPED] = "dropped",
    [MTS_Q_FAILED] = "failed",
};
static_assert(sizeof qstate_names / sizeof qstate_names[0] == MTS_Q_STATE_COUNT,
              "qstate_names must name every mts_qstate_t");

static const char *const reason_names[] = {
    [MTS_REASON_NONE] = "none",
    [MTS_REASON_DEADLINE] = "deadline",
    [MTS_REASON_QUEUE_FULL] = "queue_full",
    [MTS_REASON_WORKER_ERROR] = "worker_error",
    [MTS_REASON_WORKER_LOST] = "worker_lost",
    [MTS_REASON_SHUTDOWN] = "shutdown",
};
static_assert(sizeof reason_names / sizeof reason_names[0] == MTS_REASON_COUNT,
              "reason_names must name every mts_reason_t");

const char *mts_qstate_name(int s) {
  return s >= 0 && s < MTS_Q_STATE_COUNT ? qstate_names[s] : "?";
}

const char *mts_reason_name(int r) {
  return r >= 0 && r < MTS_REASON_COUNT ? reason_names[r] : "?";
}
