/* workload.h — workload description (JSON) and its parser.
 *
 * Format (all times in the units their names say):
 *   {
 *     "name": "demo",                // optional, default: file name
 *     "duration_s": 60,              // arrivals are generated over [0, duration)
 *     "warmup_s": 2,                 // optional; queries arriving earlier are not counted in stats
 *     "seed": 1,                     // optional, default 1
 *     "cores_per_query": 1,          // optional, fcfs/static: cores per query (default 1)
 *     "trace": "arrivals.csv",       // optional: replay a CSV trace for all tenants
 *     "tenants": [
 *       { "name": "resnet", "model": "resnet50",          // zoo name or path to .onnx
 *         "qos_ms": 100,              // or "qos_x_solo": 3.0 (x solo latency on one query's cores)
 *         "arrival": { "process": "poisson", "rate_qps": 10 }
 *            // or {"process": "bursty", "rate_qps": 10, "cv": 2.0}   (gamma gaps, CV > 0)
 *            // or {"process": "trace"} (this tenant's rows of the workload's "trace")
 *       } ]
 *   }
 * Relative paths (trace, .onnx models) are resolved against the workload
 * file's directory.  Unknown keys are errors (catches typos).
 *
 * Errors: MTS_EPARSE with a message "FILE:LINE: JSON-PATH: reason", e.g.
 *   "w.json:7: tenants[1].qos_ms: must be a positive number".
 * Ownership: the workload owns all its strings; free with
 * mts_workload_destroy(). */
#ifndef MTS_WORKLOAD_H
#define MTS_WORKLOAD_H

#include <stdint.h>

#define MTS_MAX_TENANTS 64

typedef enum {
  MTS_ARRIVAL_POISSON = 0,
  MTS_ARRIVAL_BURSTY,
  MTS_ARRIVAL_TRACE,
  MTS_ARRIVAL_COUNT
} mts_arrival_kind_t;

typedef struct {
  char *name;
  char *model;            /* zoo name or resolved .onnx path */
  double qos_ms;          /* > 0 if given in ms */
  double qos_x_solo;      /* > 0 if given as a multiple of solo latency */
  int arrival;            /* mts_arrival_kind_t */
  double rate_qps;
  double cv;              /* bursty: coefficient of variation of gaps */
} mts_tenant_t;

typedef struct {
  char *name;
  char *path;             /* file it came from ("<builtin:NAME>" for built-ins) */
  double duration_s;
  double warmup_s;
  uint64_t seed;
  int cores_per_query;
  char *trace;            /* resolved path or NULL */
  int n_tenants;
  mts_tenant_t tenants[MTS_MAX_TENANTS];
} mts_workload_t;

/* Parses a workload from a file. */
int mts_workload_load(const char *path, mts_workload_t **out);
/* Parses from a string; `path` names it in messages and is the base for
 * relative paths (may be a pseudo name such as "<builtin:demo>"). */
int mts_workload_parse(const char *text, const char *path, mts_workload_t **out);
/* Built-in workloads by name ("demo", "tiny", ...); MTS_ENOTFOUND otherwise. */
int mts_workload_builtin(const char *name, mts_workload_t **out);
const char *const *mts_workload_builtin_names(void);
/* A file path if it exists (or contains '/' or ends in .json), else a built-in. */
int mts_workload_open(const char *file_or_name, mts_workload_t **out);
void mts_workload_destroy(mts_workload_t *w);
/* Index of tenant by name, -1 if none. */
int mts_workload_tenant(const mts_workload_t *w, const char *name);

#endif
