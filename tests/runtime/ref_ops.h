/* ref_ops.h — naive reference interpreter for the runtime tests. */
#ifndef MTS_TESTS_REF_OPS_H
#define MTS_TESTS_REF_OPS_H

#include "runtime/graph.h"

/* Evaluates g (shapes inferred, any optimisation state) on the given inputs
 * (graph input order); writes each graph output (plain) to outputs[i]. */
int ref_eval(const mts_graph_t *g, const float *const *inputs, float **outputs);

#endif
