/* exec.h — the oneDNN executor: compiles an optimised graph into "layers"
 * (one per remaining node) with one primitive set per core count, and runs a
 * range of layers for one query context.
 *
 * Core counts: oneDNN (OpenMP build) fixes a primitive's thread count when
 * the primitive is created, so mts_model_compile() creates every layer once
 * per requested core count, under omp_set_num_threads(k).  mts_model_run()
 * with ncores = k uses those primitives; it does not pin threads (the caller
 * pins with affinity.h when the granted cores change).
 *
 * Versions: a version of a layer is (implementation, memory layout) at a
 * given core count.  Version 0 is the default (oneDNN's first choice with
 * blocked "any" layouts); mts_model_n_versions() tells how many a layer has.
 *
 * Ownership and threads: a model is immutable after compile and may be
 * shared by many contexts; a context holds one query's activations and is
 * used by one thread at a time.  mts_model_run() must be called from the
 * thread that owns the OpenMP team (the process's main thread in workers). */
#ifndef MTS_EXEC_H
#define MTS_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/graph.h"

typedef struct mts_model mts_model_t;
typedef struct mts_ctx mts_ctx_t;

typedef struct {
  int n_core_counts;     /* compile primitives for each of these counts */
  int core_counts[64];   /* e.g. {1, 2}; each >= 1 */
  int all_versions;      /* 0: version 0 only; 1: every useful version */
} mts_compile_opts_t;

/* Compiles g (optimised first if not already).  The graph is borrowed and
 * may be destroyed after the call. */
int mts_model_compile(mts_graph_t *g, const mts_compile_opts_t *opts,
                      mts_model_t **out);
void mts_model_destroy(mts_model_t *m);

const char *mts_model_name(const mts_model_t *m);
uint64_t mts_model_hash(const mts_model_t *m);
int mts_model_n_layers(const mts_model_t *m);
const char *mts_model_layer_name(const mts_model_t *m, int layer);
mts_op_t mts_model_layer_op(const mts_model_t *m, int layer);
double mts_model_layer_flops(const mts_model_t *m, int layer);
/* Number of versions of a layer at a core count (>= 1 if compiled). */
int mts_model_n_versions(const mts_model_t *m, int layer, int ncores);
/* A short description of a version (the main primitive's oneDNN
 * implementation, or "nhwc" for the nhwc-layout variant); NULL if out of
 * range. */
const char *mts_model_version_name(const mts_model_t *m, int layer, int version);
/* Whether primitives exist for this core count. */
int mts_model_has_cores(const mts_model_t *m, int ncores);

/* Graph inputs/outputs (f32 tensors; shape with the batch dimension). */
int mts_model_n_inputs(const mts_model_t *m);
int mts_model_n_outputs(const mts_model_t *m);
int mts_model_input_shape(const mts_model_t *m, int i, int *ndim, int64_t *dims);
int mts_model_output_shape(const mts_model_t *m, int i, int *ndim, int64_t *dims);

/* Bytes of one context's activation arena, and of the model's constants
 * (reordered weights, shared by all contexts and core counts). */
size_t mts_model_arena_bytes(const mts_model_t *m);
size_t mts_model_weight_bytes(const mts_model_t *m);

/* A query context: its activation arena (planned by liveness at compile). */
int mts_ctx_create(const mts_model_t *m, mts_ctx_t **out);
void mts_ctx_destroy(mts_ctx_t *c);
/* Copies n floats (plain NCHW) into input i. */
int mts_ctx_set_input(mts_ctx_t *c, int i, const float *data, size_t n);
/* Copies output i (plain NCHW) into buf of capacity n floats. */
int mts_ctx_get_output(mts_ctx_t *c, int i, float *buf, size_t n);

/* Runs layers [first, last) with the primitives for ncores and the given
 * version (out of range: version 0).  If layer_us is not NULL it receives
 * last - first per-layer wall times in microseconds.  Errors carry the layer
 * name in mts_errmsg(). */
int mts_model_run(const mts_model_t *m, mts_ctx_t *c, int first, int last,
                  int ncores, int version, double *layer_us);

#endif
