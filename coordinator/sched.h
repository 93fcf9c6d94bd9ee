/* sched.h — the global QoS scheduler: pure logic, no MPI, no clock reads,
 * no I/O.  It receives events (arrival, completion) with the current time
 * and returns decisions (dispatch a block of a query to a worker with a set
 * of cores and a version; drop a query).  The transport (mpi or sim) carries
 * the decisions out and brings completions back.
 *
 * State it owns: the core map (per node: which running block holds each
 * core), the workers' state (idle/running, bound queries), and the ready
 * list.  The query table itself (mts_query_t array) belongs to the caller,
 * which passes a pointer that stays valid (may be reallocated between calls:
 * pass the new pointer with mts_sched_set_queries).
 *
 * Policies plug in through mts_policy_t: they order ready queries and plan
 * the next block of one query on one worker (layer range, core count,
 * version); the core does worker choice, core grants, binding and counting.
 *
 * Threading: none; one scheduler is used by one thread. */
#ifndef MTS_SCHED_H
#define MTS_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/query.h"

#define MTS_SCHED_MAX_CC 64      /* core counts per profile */
#define MTS_SCHED_MAX_WORKERS 256
#define MTS_SCHED_MAX_HOME 256   /* cores in one worker's home */
#define MTS_SCHED_MAX_VERSIONS 8 /* versions per layer */
#define MTS_SCHED_DEFAULT_MAX_BOUND 4 /* unfinished queries per worker and model */
#define MTS_GRAN_LEVELS 5        /* block granularities: 1 = layer-wise ... 5 = whole model */

/* Profile of one model as the scheduler sees it. */
typedef struct {
  int n_layers;
  int n_cc;                      /* core counts profiled: 1..n_cc */
  const double *layer_us;        /* [n_layers * n_cc]: solo latency of layer l on (c+1) cores */
  double model_us[MTS_SCHED_MAX_CC]; /* whole model, per core count */
  /* Versions ("adaptive compilation"): 0 or 1 means one version (layer_us).
   * Otherwise ver_us holds [n_versions][n_layers][n_cc] solo latencies
   * (version 0 first; it may equal layer_us) and ver_sens[v] how strongly
   * version v suffers from interference (multiplies the interference term;
   * 0 is read as 1). */
  int n_versions;
  const double *ver_us;
  double ver_sens[MTS_SCHED_MAX_VERSIONS];
} mts_model_prof_t;

/* Counter-free interference model: a block on a worker whose home has a
 * fraction f_llc of its cores busy with other blocks, on a node with a
 * fraction f_node busy, runs (1 + sens * (k_node * f_node + k_llc * f_llc))
 * times slower than solo.  Defaults (k_node 0.5, k_llc 0.3) are calibrated
 * on DESIGN.md section 1: four GoogLeNet tasks filling one CPU run 1.8x
 * slower than one.  The scheduler scales both by what it learns of the
 * machine (mts_sched_interference_scale) and multiplies the slowdown by a
 * correction factor, the median of recent observed/predicted block times. */
typedef struct {
  double k_node, k_llc;
} mts_interf_model_t;
#define MTS_INTERF_K_NODE 0.5
#define MTS_INTERF_K_LLC 0.3

typedef struct {
  int rank;                      /* MPI rank (or sim worker id) */
  int node;                      /* node index: cores are per node */
  int n_home;
  int home[MTS_SCHED_MAX_HOME];  /* OS core ids this worker may use */
} mts_worker_desc_t;

typedef struct {
  const char *policy;            /* "fcfs", ... */
  int cores_per_query;           /* fcfs/static: cores per block */
  int drop_hopeless;             /* drop queries that can no longer meet QoS */
  int n_models;
  const mts_model_prof_t *models;
  int n_workers;
  const mts_worker_desc_t *workers;
  int n_tenants;
  const double *tenant_qos_us;   /* per tenant */
  const int *tenant_model;       /* per tenant: model index */
  int max_cores_node;            /* size of the largest node core id + 1 */
  int n_nodes;
  /* Optional (zero/NULL: defaults), used by the policies beyond fcfs. */
  const double *tenant_rate_qps; /* per tenant: static partitions by rate x solo time (NULL: equal) */
  int admission;                 /* admission control: 0 policy default, 1 on, -1 off */
  int queue_limit;               /* per tenant: queries waiting to start (0: unbounded) */
  int reject_oldest;             /* full queue: drop the oldest waiting query, not the newcomer */
  const mts_interf_model_t *interference; /* NULL: MTS_INTERF_K_* */
  double min_block_us;           /* veltair: shortest block (0: 500 us) */
  int fixed_gran;                /* veltair/mts: 0 adaptive, 1..MTS_GRAN_LEVELS fixed level */
  int max_bound;                 /* per worker and model: unfinished queries bound at once
                                    (the worker's context pool; 0: unlimited) */
  double horizon;                /* mts: no block longer than horizon x the tightest QoS
                                    target (0: the policy's default, 0.3; < 0: no cap);
                                    veltair: only when given (> 0) */
} mts_sched_config_t;

typedef enum { MTS_DEC_DISPATCH = 0, MTS_DEC_DROP } mts_dec_kind_t;

typedef struct {
  mts_dec_kind_t kind;
  size_t query;                  /* index in the query table */
  int worker;                    /* index into config workers */
  int first, last;               /* layer range [first, last) */
  int version;
  int n_cores;
  int cores[MTS_SCHED_MAX_HOME]; /* granted OS core ids */
  int asked;                     /* cores the policy asked for */
  int release;                   /* last block: the worker frees the context */
  double predicted_us;           /* predicted block duration */
  int reason;                    /* MTS_DEC_DROP: mts_reason_t */
} mts_decision_t;

typedef struct mts_sched mts_sched_t;

/* What a policy plans for one query on one worker. */
typedef struct {
  int last;                      /* exclusive end of the block */
  int n_cores;                   /* cores asked for (>= 1) */
  int min_cores;                 /* fewest it accepts (conflict if < n_cores) */
  int version;
  double predicted_us;
  double raw_us;                 /* prediction before the correction factor
                                    (0: predicted_us); feeds the EWMA */
} mts_plan_t;

typedef struct {
  const char *name;
  /* Priority key of a ready query: smaller runs first. */
  double (*priority)(const mts_sched_t *s, const mts_query_t *q, int64_t now_us);
  /* Plans the next block of q given free_cores free cores on the chosen
   * worker; returns 1 with *out filled, 0 to let q wait. */
  int (*plan)(const mts_sched_t *s, const mts_query_t *q, int free_cores,
              int64_t now_us, mts_plan_t *out);
  int strict_order;              /* 1: stop at the first ready query that cannot
                                    run; 2: the same per tenant (others go on) */
  /* Optional hooks and flags (NULL/0 for fcfs). */
  int (*init)(mts_sched_t *s, void **state);  /* after the core is built */
  void (*fini)(void *state);
  /* 1 if q can no longer meet its deadline (replaces the core's test for
   * drop_hopeless and admission control). */
  int (*hopeless)(const mts_sched_t *s, const mts_query_t *q, int64_t now_us);
  int admission_default;         /* admission control on unless the config says -1 */
  /* priority(q) is fixed once q is ready (e.g. its arrival time): the core
   * then keeps the ready list ordered between decisions instead of
   * re-keying every ready query at each one (O(log n) instead of O(n)). */
  int const_priority;
} mts_policy_t;

/* Looks a policy up by name (NULL if unknown); names: see mts_policy_names. */
const mts_policy_t *mts_policy_find(const char *name);
const char *const *mts_policy_names(void);

int mts_sched_create(const mts_sched_config_t *cfg, mts_sched_t **out);
void mts_sched_destroy(mts_sched_t *s);
void mts_sched_set_queries(mts_sched_t *s, mts_query_t *q, size_t n);
/* The caller's query table will hold up to n queries: per-query state is
 * allocated (and touched) now, so memory does not grow as queries arrive. */
void mts_sched_reserve(mts_sched_t *s, size_t n);
size_t mts_sched_reserved(const mts_sched_t *s);

/* A query (already in the table at index qi) arrived.  With a queue limit,
 * a tenant holding queue_limit queries that have not started yet rejects
 * one: the newcomer (returns 0, query DROPPED with reason QUEUE_FULL) or,
 * with reject_oldest, its oldest waiting query (returns 1).  Returns 1 when
 * qi was admitted. */
int mts_sched_arrive(mts_sched_t *s, size_t qi, int64_t now_us);
/* The block of query qi running on its worker ended (ok = 0: failed).
 * Frees its cores; updates the query (next_layer, state COMPLETED when the
 * last layer ran, FAILED with reason WORKER_ERROR when !ok). */
void mts_sched_complete(mts_sched_t *s, size_t qi, int ok, int64_t now_us,
                        double exec_us);
/* Marks a worker lost: its running and bound queries fail (WORKER_LOST) and
 * it receives no more work.  Returns the number of queries failed. */
int mts_sched_worker_lost(mts_sched_t *s, int worker, int64_t now_us);
/* Computes decisions at now_us into out (up to max); returns the count.
 * Dispatch decisions are already applied (cores granted, query RUNNING);
 * drop decisions are applied too (query DROPPED). */
int mts_sched_decide(mts_sched_t *s, int64_t now_us, mts_decision_t *out, int max);
/* Drops every unfinished query that is not running (reason), returns count. */
int mts_sched_drop_waiting(mts_sched_t *s, int reason, int64_t now_us);
/* Fails/drops running queries too (at the end of a grace period). */
int mts_sched_abort_running(mts_sched_t *s, int reason, int64_t now_us);

/* Read-only views for policies and reports. */
const mts_sched_config_t *mts_sched_config(const mts_sched_t *s);
const mts_model_prof_t *mts_sched_model(const mts_sched_t *s, int model);
size_t mts_sched_n_running(const mts_sched_t *s);
size_t mts_sched_n_waiting(const mts_sched_t *s);
int64_t mts_sched_conflicts(const mts_sched_t *s);
int64_t mts_sched_dispatches(const mts_sched_t *s);
/* Remaining solo time of q from next_layer on c cores (c >= 1). */
double mts_sched_remaining_us(const mts_sched_t *s, const mts_query_t *q, int c);
/* Core-busy microseconds granted so far (for utilisation). */
double mts_sched_core_busy_us(const mts_sched_t *s);
/* ---- for policies (pure views of the core's state) ---------------------- */
void *mts_sched_policy_state(const mts_sched_t *s);
/* Index of q in the query table. */
size_t mts_sched_qindex(const mts_sched_t *s, const mts_query_t *q);
/* The worker the core is planning for during a policy's plan() call. */
int mts_sched_plan_worker(const mts_sched_t *s);
/* Restricts tenant t to the given cores of node (static partitions); grants
 * and free-core counts for t's queries then see only those cores.  Until a
 * tenant is restricted on a node it may use every core there. */
void mts_sched_set_tenant_cores(mts_sched_t *s, int tenant, int node, const int *cores, int n);
/* 1 if tenant t may use core c of node (always 1 without partitions). */
int mts_sched_tenant_allows(const mts_sched_t *s, int tenant, int node, int core);
/* Busy cores (granted to running blocks) on worker w's node and in its home. */
void mts_sched_busy(const mts_sched_t *s, int w, int *node_busy, int *home_busy);
/* Cores of node n (distinct cores in its workers' homes). */
int mts_sched_node_cores(const mts_sched_t *s, int node);
/* Predicted interference slowdown for a block of sensitivity sens on
 * worker w now, including the observed/predicted correction. */
double mts_sched_slowdown(const mts_sched_t *s, int w, double sens);
/* The slowdown (without the correction) it would see if `extra` more of w's
 * home cores were busy with other blocks. */
double mts_sched_slowdown_shared(const mts_sched_t *s, int w, double sens, int extra);
/* Learned scale of the interference model's k_node, k_llc (1 at start; see
 * IF_WIN in sched.c). */
double mts_sched_interference_scale(const mts_sched_t *s);
/* EWMA of observed/predicted block time (1 at start) and of the conflict
 * indicator per dispatch (0 at start). */
double mts_sched_correction(const mts_sched_t *s);
double mts_sched_conflict_rate(const mts_sched_t *s);
/* Fraction of all cores busy now. */
double mts_sched_busy_fraction(const mts_sched_t *s);

/* Checks internal invariants (no core granted twice, counts consistent);
 * 0 if they hold, else MTS_ESTATE with a message.  For tests. */
int mts_sched_check(const mts_sched_t *s);

#endif
