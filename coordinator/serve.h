/* serve.h — rank 0 of `mtserve serve`: the coordinator over MPI.
 *
 * Handshake: every worker sends Hello (host, topology); the coordinator
 * groups workers by host into nodes, gives each a home (LLC domains, or the
 * whole node), sends Load (home, models, core counts) and waits for Ready
 * (per-layer solo profile).  Then it replays the workload through the
 * engine with the MPI transport, sends Shutdown, collects Bye, and writes
 * the results directory.  Any error before or during the run is reported
 * with its context, every worker is told to shut down, and the return value
 * is the process exit code. */
#ifndef MTS_SERVE_H
#define MTS_SERVE_H

#include <stdint.h>

typedef struct {
  const char *workload;      /* file or built-in name */
  const char *policy;        /* default "fcfs" */
  const char *out_dir;       /* NULL: results/<timestamp> */
  const char *home_mode;     /* "llc" (default) or "node" */
  double duration_s;         /* <= 0: the workload's */
  double rate_scale;         /* arrival rates x this (default 1) */
  uint64_t seed;             /* 0: the workload's */
  int cores_per_query;       /* 0: the workload's */
  int drop_hopeless;         /* -1: policy default */
  int admission;             /* 0: policy default, 1 on, -1 off */
  int queue_limit;           /* per tenant, queries waiting to start (0: unbounded) */
  int reject_oldest;         /* full queue: drop the oldest waiting, not the newcomer */
  int solo_iters;            /* solo-latency iterations per model and core count */
  double horizon;            /* mts block-length cap, x the tightest QoS (0: default, < 0: none) */
  int max_inflight;          /* per worker and model, unfinished queries (0: default 4, < 0: no cap) */
  int quiet;                 /* no live progress line */
  double stop_grace_s;       /* drain time after SIGINT/SIGTERM (default 0.5) */
  double block_timeout_s;    /* a block overrunning max(this, 10x predicted) loses its worker (default 5) */
  const char *inject_fault;  /* "KIND:RANK[:AFTER]", KIND = error|alloc|hang|exit (testing) */
} mts_serve_opts_t;

/* Runs rank 0; MPI must be initialised.  Returns the exit code. */
int mts_coordinator_main(const mts_serve_opts_t *o);

#endif
