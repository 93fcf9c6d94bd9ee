/* timeline.h — per-block records of a run and their export as a Chrome
 * trace-event file (timeline.json; opens in Perfetto or chrome://tracing).
 *
 * One "complete" event per block and granted core: process = node, thread
 * = core, so the view is a per-core timeline; the event's args carry the
 * query, tenant, layer range, version and cores.  Times are microseconds
 * from the run's start.  The log grows by doubling; it is owned by the
 * caller (mts_timeline_free). */
#ifndef MTS_TIMELINE_H
#define MTS_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/workload.h"

typedef struct {
  uint64_t query;
  int tenant, worker, node;
  int first, last, version, ok;
  int n_cores;
  int cores[16];          /* first 16 granted cores (events per core) */
  int64_t start_us, end_us;
} mts_block_rec_t;

/* Blocks that timeline.json keeps (the first ones): Perfetto opens that
 * comfortably, and a long run's memory stays bounded. */
#define MTS_TIMELINE_BLOCKS 50000

typedef struct {
  mts_block_rec_t *v;
  size_t n, cap;
  size_t max;             /* 0: unbounded; else the first max blocks are kept */
  size_t left_out;        /* blocks past max, not recorded */
} mts_timeline_t;

/* Bounds the log to its first max blocks and allocates (and touches) room
 * for them now, so that a long run's memory does not grow with it. */
void mts_timeline_reserve(mts_timeline_t *t, size_t max);
void mts_timeline_add(mts_timeline_t *t, const mts_block_rec_t *r);
void mts_timeline_free(mts_timeline_t *t);
/* Writes the trace; `source` says where times come from (e.g. "worker
 * clocks (CLOCK_MONOTONIC, one node)" or "sim virtual time"). */
int mts_timeline_write(const char *path, const mts_timeline_t *t,
                       const mts_workload_t *w, const char *source);

#endif
