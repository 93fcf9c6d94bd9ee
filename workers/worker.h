/* worker.h — ranks >= 1 of `mtserve serve`.
 *
 * A worker says Hello (host, topology), waits for Load, binds itself to its
 * home cores, loads and compiles the models for every core count of its home
 * (one primitive set per count), measures solo latency per layer and core
 * count, answers Ready, then executes dispatched blocks on exactly the
 * granted cores until Shutdown.  It never blocks inside MPI (busy polling):
 * it polls and sleeps, backing off to WORKER_IDLE_MAX_US when idle.
 *
 * Query contexts (activation arenas) are pooled per model: a query takes
 * one at its first block and returns it after its last (Dispatch.release),
 * so no block allocates.  Each block appends one JSON line to the rank log. */
#ifndef MTS_WORKER_H
#define MTS_WORKER_H

/* Runs the worker; MPI must be initialised.  Returns the exit code. */
int mts_worker_main(int rank);

#endif
