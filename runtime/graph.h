/* graph.h — mtserve's graph IR: tensors and nodes in topological order.
 *
 * A graph owns its tensors (names, shapes, constant data) and its nodes.  It
 * is produced by a frontend (the zoo builders in models/, or the ONNX importer
 * in runtime/onnx/) and consumed by the executor (exec.h), which compiles each
 * node after optimisation into one "layer".
 *
 * Conventions
 * - Activations are NCHW (or N x ... for non-image tensors), f32.  Constant
 *   tensors (weights, shapes, indices) carry their data; activations don't.
 * - Conv weights are OIHW (O, I/group, KH, KW); Gemm follows ONNX (A, B, C,
 *   trans_a, trans_b, alpha, beta); MatMul follows numpy broadcasting.
 * - Padding is stored per spatial dim as begin/end: pad[0..nsp-1] begin,
 *   pad[nsp..2nsp-1] end (ONNX order), for 1-D/2-D/3-D spatial ops.
 * - Node inputs/outputs are tensor indices; -1 marks an absent optional
 *   input (e.g. no Conv bias).
 * - Post-ops (after fusion) are applied to a node's output in order: an
 *   eltwise op (relu, clip, ...) or a sum with another tensor (residual add).
 *
 * Ownership: mts_graph_destroy() frees everything reachable from the graph,
 * including constant data passed to mts_graph_add_const() (which takes
 * ownership of `data`).  Not thread-safe; a graph is built on one thread and
 * then only read. */
#ifndef MTS_GRAPH_H
#define MTS_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define MTS_MAX_DIMS 8
#define MTS_MAX_INPUTS 8
#define MTS_MAX_OUTPUTS 8
#define MTS_MAX_POSTOPS 4
#define MTS_MAX_INTS 16

typedef enum {
  MTS_F32 = 0,
  MTS_I64,
  MTS_I32,
  MTS_U8,
  MTS_BOOL,
  MTS_DTYPE_COUNT
} mts_dtype_t;

typedef enum {
  MTS_OP_CONV = 0,      /* X, W, [B]; attr: kernel, stride, dilation, pad, group */
  MTS_OP_MAXPOOL,       /* X; attr: kernel, stride, dilation, pad, ceil_mode */
  MTS_OP_AVGPOOL,       /* X; attr: kernel, stride, pad, ceil_mode, count_include_pad */
  MTS_OP_GLOBAL_AVGPOOL,/* X */
  MTS_OP_GEMM,          /* A, B, [C]; attr: trans_a, trans_b, alpha, beta */
  MTS_OP_MATMUL,        /* A, B (batched, broadcasting) */
  MTS_OP_UNARY,         /* X; attr: unary, alpha, beta */
  MTS_OP_BINARY,        /* A, B (numpy broadcasting); attr: binary */
  MTS_OP_BATCHNORM,     /* X, scale, bias, mean, var; attr: epsilon */
  MTS_OP_CONCAT,        /* X0..Xn; attr: axis */
  MTS_OP_SPLIT,         /* X -> Y0..Yn; attr: axis, ints = split sizes */
  MTS_OP_SLICE,         /* X; attr: ints = starts[r], ends[r], steps[r] per axis (r = rank) */
                        /*   packed: ints[0..r) starts, [r..2r) ends, [2r..3r) steps,
                         *   n_ints = r; negative starts/ends count from the back */
  MTS_OP_RESHAPE,       /* X -> Y with the output tensor's shape (Flatten, Squeeze, ...) */
  MTS_OP_TRANSPOSE,     /* X; attr: ints = perm */
  MTS_OP_GATHER,        /* data, indices(const); attr: axis */
  MTS_OP_SOFTMAX,       /* X; attr: axis */
  MTS_OP_LAYERNORM,     /* X, scale, [bias]; attr: axis, epsilon */
  MTS_OP_REDUCE_MEAN,   /* X; attr: ints = axes, keepdims */
  MTS_OP_PAD,           /* X; attr: pad (begin.., end..) over all dims, alpha = value */
                        /*   rank > 3: the 2*rank pads in ints (n_ints = 2*rank), which
                         *   are read first whenever n_ints == 2*rank */
  MTS_OP_LRN,           /* X; attr: size, alpha, beta, bias */
  MTS_OP_IDENTITY,      /* X -> Y copy (Dropout at inference too) */
  MTS_OP_COUNT
} mts_op_t;

typedef enum {
  MTS_UNARY_RELU = 0,   /* alpha = negative slope (LeakyRelu), 0 for Relu */
  MTS_UNARY_CLIP,       /* alpha = min, beta = max */
  MTS_UNARY_SIGMOID,
  MTS_UNARY_HARDSIGMOID,/* alpha, beta as ONNX */
  MTS_UNARY_HARDSWISH,
  MTS_UNARY_TANH,
  MTS_UNARY_ERF,
  MTS_UNARY_GELU,       /* erf form */
  MTS_UNARY_SQRT,
  MTS_UNARY_EXP,
  MTS_UNARY_LOG,
  MTS_UNARY_ABS,
  MTS_UNARY_NEG,
  MTS_UNARY_RECIPROCAL,
  MTS_UNARY_POW,        /* x ^ alpha (Pow with a scalar constant exponent) */
  MTS_UNARY_LINEAR,     /* alpha * x + beta (scalar Mul/Add/Sub/Div folded) */
  MTS_UNARY_COUNT
} mts_unary_t;

typedef enum {
  MTS_BINARY_ADD = 0,
  MTS_BINARY_SUB,
  MTS_BINARY_MUL,
  MTS_BINARY_DIV,
  MTS_BINARY_POW,
  MTS_BINARY_MAX,
  MTS_BINARY_MIN,
  MTS_BINARY_COUNT
} mts_binary_t;

typedef struct {
  int nsp;                       /* number of spatial dims (conv/pool) */
  int64_t kernel[3], stride[3], dilation[3];
  int64_t pad[6];                /* begin[nsp], end[nsp] */
  int64_t group;
  int ceil_mode, count_include_pad;
  int unary, binary;             /* mts_unary_t / mts_binary_t */
  float alpha, beta, bias, epsilon;
  int64_t axis, size;
  int trans_a, trans_b, keepdims;
  int n_ints;
  int64_t ints[MTS_MAX_INTS * 3]; /* perm / axes / split sizes / slice starts,ends,steps */
} mts_attr_t;

typedef enum { MTS_POST_UNARY = 0, MTS_POST_SUM } mts_post_kind_t;

typedef struct {
  mts_post_kind_t kind;
  int unary;       /* MTS_POST_UNARY: mts_unary_t */
  float alpha, beta;
  int tensor;      /* MTS_POST_SUM: tensor added to the output (same shape) */
} mts_postop_t;

typedef struct {
  char *name;
  mts_dtype_t dtype;
  int ndim;
  int64_t dims[MTS_MAX_DIMS];
  void *data;      /* constant data (owned), NULL for activations */
  int producer;    /* index of the producing node, -1 for inputs/constants */
} mts_tensor_t;

typedef struct {
  char *name;
  mts_op_t op;
  int n_inputs, n_outputs;
  int inputs[MTS_MAX_INPUTS];
  int outputs[MTS_MAX_OUTPUTS];
  mts_attr_t attr;
  int n_post;
  mts_postop_t post[MTS_MAX_POSTOPS];
} mts_node_t;

typedef struct {
  char *name;
  int n_tensors, cap_tensors;
  mts_tensor_t *tensors;
  int n_nodes, cap_nodes;
  mts_node_t *nodes;
  int n_inputs, n_outputs;
  int inputs[MTS_MAX_INPUTS];    /* graph inputs (activations fed by the user) */
  int outputs[MTS_MAX_OUTPUTS];
} mts_graph_t;

/* Name tables (indexed by enum value; static_assert'ed against _COUNT). */
const char *mts_op_name(mts_op_t op);
const char *mts_unary_name(int u);
const char *mts_binary_name(int b);
size_t mts_dtype_size(mts_dtype_t t);

int mts_graph_create(const char *name, mts_graph_t **out);
void mts_graph_destroy(mts_graph_t *g);

/* Adds an activation tensor (no data); ndim may be 0 with dims unknown until
 * shape inference.  Returns the tensor index (>= 0) or a negative error. */
int mts_graph_add_tensor(mts_graph_t *g, const char *name, mts_dtype_t dtype,
                         int ndim, const int64_t *dims);
/* Adds a constant tensor; takes ownership of data (malloc'd). */
int mts_graph_add_const(mts_graph_t *g, const char *name, mts_dtype_t dtype,
                        int ndim, const int64_t *dims, void *data);
/* Looks a tensor up by name; -1 when absent. */
int mts_graph_find_tensor(const mts_graph_t *g, const char *name);
/* Appends a node; inputs/outputs are tensor indices.  Returns node index. */
int mts_graph_add_node(mts_graph_t *g, const char *name, mts_op_t op,
                       int n_in, const int *in, int n_out, const int *out,
                       const mts_attr_t *attr);
int mts_graph_set_io(mts_graph_t *g, int n_in, const int *in, int n_out,
                     const int *out);

int64_t mts_tensor_numel(const mts_tensor_t *t);

/* Infers every activation's shape from the graph inputs, in node order;
 * errors name the node and the mismatch. */
int mts_graph_infer_shapes(mts_graph_t *g);
/* Sorts nodes topologically (frontends may emit any order). */
int mts_graph_toposort(mts_graph_t *g);
/* Inference optimisations: drop Identity, fold BatchNorm into a preceding
 * Conv, fuse unary ops and residual adds into post-ops where legal, fold
 * nodes whose inputs are all constant.  Leaves unused tensors in place. */
int mts_graph_optimize(mts_graph_t *g);
/* Content hash of structure and weights (FNV-1a 64), for profile caches. */
uint64_t mts_graph_hash(const mts_graph_t *g);
/* Total multiply-accumulate-based FLOPs (2 per MAC) of node i. */
double mts_node_flops(const mts_graph_t *g, int i);

#endif
