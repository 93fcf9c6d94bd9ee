/* metrics.h — statistics and reports from the query table: per tenant and
 * overall, MLPerf-LoadGen style.
 *
 * Only queries with warmup == 0 enter the statistics; the accounting
 * identity arrived = completed + dropped + failed is checked over all
 * queries (and over measured ones) per tenant. */
#ifndef MTS_METRICS_H
#define MTS_METRICS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "coordinator/query.h"
#include "coordinator/workload.h"

typedef struct {
  int64_t arrived, completed, dropped, failed;
  int64_t reasons[MTS_REASON_COUNT];  /* drops + failures by reason */
  int64_t satisfied;                  /* completed within QoS */
  double satisfaction;                /* satisfied / arrived (1 if none) */
  double p50_ms, p90_ms, p99_ms, p999_ms, mean_ms, max_ms;
  double qos_ms;                      /* resolved target (0 for overall) */
  double sched_qps, done_qps;         /* arrived / window, completed / window */
  int valid;                          /* p99 <= qos (MLPerf VALID) */
} mts_stats_t;

typedef struct {
  int n_tenants;
  mts_stats_t tenant[64];
  mts_stats_t overall;
  double window_s;                    /* measured window (duration - warmup) */
} mts_report_t;

/* Linear-interpolated percentile (p in [0,100]) of v (sorted in place). */
double mts_percentile(double *v, size_t n, double p);

/* Computes the report.  qos_ms[t] is tenant t's resolved target. */
int mts_report_compute(const mts_workload_t *w, const double *qos_ms,
                       const mts_query_t *q, size_t nq, double window_s,
                       mts_report_t *out);
/* 0 if arrived = completed + dropped + failed for every tenant and
 * overall (counting every query), else MTS_ESTATE with a message naming the
 * tenant and the numbers. */
int mts_report_check_books(const mts_workload_t *w, const mts_query_t *q,
                           size_t nq);

/* summary.json: {"workload", "policy", "window_s", "tenants": [{name, model,
 * qos_ms, arrived, completed, dropped, failed, reasons{...}, satisfied,
 * satisfaction, p50_ms, p90_ms, p99_ms, p999_ms, mean_ms, max_ms, sched_qps,
 * done_qps, valid}], "overall": {...}, "extra": <caller's object>}.
 * `extra` (a jansson json_t*, may be NULL) is stolen by the call. */
int mts_report_write_json(const char *path, const mts_workload_t *w,
                          const char *policy, const mts_report_t *r,
                          void *extra);
/* queries.csv: id,tenant,model,warmup,state,reason,worker,arrival_us,
 * first_start_us,done_us,latency_ms,qos_ms,met,blocks,conflicts,exec_ms */
int mts_report_write_queries(const char *path, const mts_workload_t *w,
                             const double *qos_ms, const mts_query_t *q,
                             size_t nq);
/* Human-readable table on f. */
void mts_report_print(FILE *f, const mts_workload_t *w, const mts_report_t *r);

#endif
