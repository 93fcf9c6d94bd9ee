/* affinity.h — machine topology (hwloc) and CPU binding.
 *
 * The topology lists the node's cores (one PU each: the first hardware
 * thread of every core) grouped by last-level-cache domain, by OS index.
 * Binding calls act on the calling process/threads.  Not thread-safe: call
 * from the main thread. */
#ifndef MTS_AFFINITY_H
#define MTS_AFFINITY_H

#include <stddef.h>
#include <stdint.h>

#define MTS_MAX_CORES 1024

typedef struct {
  char host[256];
  char cpu_model[128];
  int n_cores;
  int cores[MTS_MAX_CORES];       /* OS index of each core's first PU */
  int llc_of[MTS_MAX_CORES];      /* LLC domain index of cores[i] */
  int n_llc;
  int64_t llc_bytes;              /* size of one LLC domain (0 if unknown) */
} mts_topology_t;

int mts_topology_read(mts_topology_t *t);

/* Binds the whole process (all threads) to the given OS cores. */
int mts_bind_process(const int *cores, int n);
/* Runs an OpenMP parallel region of n threads and binds thread i to
 * cores[i].  Call before running primitives created for n threads, only
 * when the core set changes. */
int mts_bind_omp_team(const int *cores, int n);

/* Makes the calling thread preempt compute threads when it wakes: real-time
 * round-robin at the lowest priority where allowed (root, CAP_SYS_NICE or
 * RLIMIT_RTPRIO), else nice -10, else nothing.  For a thread that sleeps
 * almost always and must react within microseconds (the coordinator), on
 * cores that inference keeps busy.  Writes what it got ("SCHED_RR",
 * "nice -10" or "normal (...)") into how; returns 0 when raised. */
int mts_raise_priority(char *how, size_t n);

#endif
