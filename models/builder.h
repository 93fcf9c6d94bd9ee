/* builder.h — a small API the zoo builders share: it adds nodes with
 * deterministic random weights (splitmix64 -> uniform), infers each node's
 * shape as it goes, and keeps the first error ("sticky"), so a builder is a
 * straight list of calls checked once at the end by mb_finish().
 *
 * Every function returns the output tensor index, or -1 once an error has
 * been recorded (later calls then do nothing). */
#ifndef MTS_MODELS_BUILDER_H
#define MTS_MODELS_BUILDER_H

#include <stdint.h>

#include "runtime/graph.h"

typedef struct {
  mts_graph_t *g;
  uint64_t rng;
  int err;
  char prefix[96];
} mb_t;

enum { MB_NONE = 0, MB_RELU, MB_RELU6 };

int mb_init(mb_t *b, const char *name, uint64_t seed);
/* Takes the graph out (inputs/outputs set, shapes inferred) or returns the
 * first error and frees it. */
int mb_finish(mb_t *b, int out, mts_graph_t **g);
void mb_prefix(mb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

float mb_uniform(mb_t *b); /* [0, 1) */
int mb_input(mb_t *b, const char *name, int ndim, const int64_t *dims);
/* constant with values uniform in [lo, hi) */
int mb_const(mb_t *b, const char *name, int ndim, const int64_t *dims, float lo, float hi);
int mb_node(mb_t *b, const char *name, mts_op_t op, int n_in, const int *in,
            const mts_attr_t *attr);
/* one node with one output whose shape is set by the caller (Reshape) */
int mb_reshape(mb_t *b, int x, int ndim, const int64_t *dims);

int mb_conv(mb_t *b, const char *name, int x, int64_t cout, int64_t k, int64_t stride,
            int64_t pad, int64_t group, int bias);
int mb_bn(mb_t *b, const char *name, int x, float gamma_lo, float gamma_hi, float eps);
int mb_unary(mb_t *b, int x, int u, float alpha, float beta);
int mb_act(mb_t *b, int x, int act);
/* conv (no bias) + BatchNorm + activation, as torchvision writes them */
int mb_conv_bn(mb_t *b, const char *name, int x, int64_t cout, int64_t k, int64_t stride,
               int64_t pad, int64_t group, int act);
int mb_pool(mb_t *b, mts_op_t op, int x, int64_t k, int64_t stride, int64_t pad, int ceil);
int mb_gap(mb_t *b, int x);
int mb_binary(mb_t *b, int bop, int x, int y);
int mb_concat(mb_t *b, int n, const int *xs, int64_t axis);
int mb_flatten(mb_t *b, int x);
/* x [M, K] -> [M, nout] with weights [nout, K] (trans_b) and bias */
int mb_fc(mb_t *b, const char *name, int x, int64_t nout);
int mb_matmul(mb_t *b, int x, int y);
int mb_transpose(mb_t *b, int x, int n, const int64_t *perm);
int mb_softmax(mb_t *b, int x, int64_t axis);
int mb_layernorm(mb_t *b, const char *name, int x, float eps);
const mts_tensor_t *mb_t_(mb_t *b, int t);

#endif
