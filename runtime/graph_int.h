/* graph_int.h — internal helpers shared by graph.c, graph_opt.c and the
 * executor (not part of the public IR contract). */
#ifndef MTS_GRAPH_INT_H
#define MTS_GRAPH_INT_H

#include "runtime/graph.h"

/* Shape inference of one node (inputs must have shapes). */
int mts__infer_node(mts_graph_t *g, int ni);
/* mts_graph_optimize plus rewrites only the executor understands (MatMul
 * with a bias input); the result may not be exportable as ONNX. */
int mts__graph_optimize_exec(mts_graph_t *g);
/* Numpy broadcast of two shapes; -1 when incompatible. */
int mts__broadcast(int na, const int64_t *a, int nb, const int64_t *b,
                   int *nout, int64_t *out);
/* Pad amounts of a Pad node (begin[rank], end[rank]): attr.pad for rank <= 3
 * with n_ints == 0, else attr.ints holding 2*rank values; NULL if neither. */
const int64_t *mts__pad_list(const mts_attr_t *a, int rank);
/* Whether a unary op maps onto a oneDNN eltwise algorithm (so it can run as
 * an eltwise primitive or be fused as a post-op). */
int mts__unary_is_eltwise(int u);
/* Scalar reference semantics of unary/binary ops (constant folding and the
 * executor's C fallbacks). */
float mts__unary_eval(int u, float alpha, float beta, float x);
float mts__binary_eval(int b, float x, float y);
/* Row-major offset into a broadcast operand (rank nd_in, dims_in) for the
 * output multi-index idx of rank nd (nd >= nd_in). */
int64_t mts__bcast_offset(int nd, const int64_t *idx, int nd_in, const int64_t *dims_in);

#endif
