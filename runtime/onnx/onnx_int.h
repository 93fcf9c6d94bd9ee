/* onnx_int.h — private declarations shared by the ONNX importer's files
 * (import.c: model/initializer/attribute handling and the node loop;
 * import_ops.c: one converter per operator; fold.c: constant folding of
 * shape subgraphs; shapes.c: the shape rules the importer needs to know every
 * activation's shape while it builds the graph).
 *
 * During import every ONNX value is a tensor of the graph being built.
 * Constants (initializers, Constant nodes, folded results) hold their data:
 * floating-point values as MTS_F32, every integer or boolean type as MTS_I64,
 * so the folding code deals with two element types only.  Activations are
 * MTS_F32 and their shapes are computed as the nodes are added, because a
 * later Shape node may need them. */
#ifndef MTS_ONNX_INT_H
#define MTS_ONNX_INT_H

#include <stdint.h>

#include "onnx.pb-c.h"
#include "runtime/graph.h"
#include "runtime/mts.h"

/* Bounds on what the importer accepts from a file (attacker-controlled):
 * one dimension and a tensor's element count. */
#define MTS__ONNX_MAX_DIM ((int64_t)1 << 32)
#define MTS__ONNX_MAX_NUMEL ((int64_t)1 << 34)
/* Largest constant the importer computes itself (folding, Expand of a
 * constant...): the file's size does not bound those. */
#define MTS__ONNX_MAX_FOLD ((int64_t)1 << 26)

typedef struct {
  const char *file;   /* name for messages */
  const char *dir;    /* directory for external data ("" = cwd) */
  int opset;          /* default-domain opset */
  mts_graph_t *g;
  const Onnx__NodeProto *node; /* node being converted (for messages) */
  char node_name[128];
  int n_anon;         /* counter for generated names */
  int last_rc;        /* code of the last mts__imp_err() */
} mts__imp_t;

/* Records an error naming the file and the current node; returns code. */
int mts__imp_err(mts__imp_t *im, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- attributes (of im->node) ---------------------------------------- */
const Onnx__AttributeProto *mts__attr(const mts__imp_t *im, const char *name);
int64_t mts__attr_i(const mts__imp_t *im, const char *name, int64_t def);
float mts__attr_f(const mts__imp_t *im, const char *name, float def);
/* Copies a string attribute (NUL-terminated, truncated to cap). */
void mts__attr_s(const mts__imp_t *im, const char *name, const char *def,
                 char *buf, size_t cap);
/* *n = number of ints (-1 if absent); error if more than max. */
int mts__attr_ints(mts__imp_t *im, const char *name, int64_t *out, int max,
                   int *n);

/* ---- inputs and outputs of im->node ---------------------------------- */
int mts__n_in(const mts__imp_t *im);  /* counting trailing empty names out */
/* Tensor index of input k, -1 when absent/empty; error when the name is
 * unknown. */
int mts__in(mts__imp_t *im, int k, int *t);
/* Input k that must be present. */
int mts__in_req(mts__imp_t *im, int k, int *t);
/* Input k must be a constant; copies up to max values as int64. n receives
 * the count. */
int mts__in_ints(mts__imp_t *im, int k, int64_t *out, int max, int *n);
/* Input k, if present, must be a constant scalar; *v receives it. */
int mts__in_scalar(mts__imp_t *im, int k, float *v, int *present);
/* Whether output k is consumed (non-empty name). */
int mts__out_used(const mts__imp_t *im, int k);

/* Makes an activation tensor for output k of the current node. */
int mts__add_out(mts__imp_t *im, int k, int ndim, const int64_t *dims, int *t);
/* Makes an intermediate activation with a generated name. */
int mts__add_tmp(mts__imp_t *im, int ndim, const int64_t *dims, int *t);
/* Adds a constant with a name derived from `base` (copies data). */
int mts__add_const_copy(mts__imp_t *im, const char *base, mts_dtype_t dt,
                        int ndim, const int64_t *dims, const void *data,
                        int *t);
/* Binds output k to a new constant (takes ownership of data). */
int mts__out_const(mts__imp_t *im, int k, mts_dtype_t dt, int ndim,
                   const int64_t *dims, void *data);
/* Appends an IR node named after the current node (suffix for helpers),
 * converting I64 constant data inputs to F32 where the op needs floats. */
int mts__emit(mts__imp_t *im, const char *suffix, mts_op_t op, int n_in,
              const int *in, int n_out, const int *out, const mts_attr_t *a);

/* Float to int64 without undefined behaviour: saturates, NaN -> 0. */
static inline int64_t mts__f2i(double d) {
  if (d != d) return 0;
  if (d >= 9.2e18) return INT64_MAX;
  if (d <= -9.2e18) return INT64_MIN;
  return (int64_t)d;
}

/* ---- shapes ---------------------------------------------------------- */
/* Checked element count; -1 when a dim is negative or too large. */
int64_t mts__numel(int ndim, const int64_t *dims);
/* numpy broadcasting of two shapes; MTS_ESHAPE via mts__imp_err. */
int mts__bcast(mts__imp_t *im, int na, const int64_t *a, int nb,
               const int64_t *b, int *nout, int64_t *out);
/* Normalises a possibly negative axis against rank r. */
int mts__axis(mts__imp_t *im, int64_t axis, int r, const char *what,
              int64_t *out);

/* ---- tensors --------------------------------------------------------- */
/* Decodes a TensorProto (raw_data, typed fields or external data resolved
 * against dir) into malloc'd MTS_F32 (floating types) or MTS_I64 (integer
 * and bool types) data.  `file` names the model in messages. */
int mts__tensor_decode(const Onnx__TensorProto *tp, const char *file,
                       const char *dir, mts_dtype_t *dt, int *ndim,
                       int64_t *dims, void **data);

/* The same, for a message this importer owns: a float raw_data payload is
 * taken over (tp no longer holds it) instead of copied. */
int mts__tensor_take(Onnx__TensorProto *tp, const char *file, const char *dir,
                     mts_dtype_t *dt, int *ndim, int64_t *dims, void **data);

/* Reads a whole file (malloc'd buffer). */
int mts__read_file(const char *path, uint8_t **buf, size_t *len);

/* ---- operators ------------------------------------------------------- */
/* Whether tensor t holds constant data. */
int mts__is_const(const mts__imp_t *im, int t);
/* Shape-manipulating ops (import_shape.c); each folds constant inputs. */
int mts__cv_reshape(mts__imp_t *im);
int mts__cv_flatten(mts__imp_t *im);
int mts__cv_squeeze(mts__imp_t *im);
int mts__cv_unsqueeze(mts__imp_t *im);
int mts__cv_transpose(mts__imp_t *im);
int mts__cv_concat(mts__imp_t *im);
int mts__cv_split(mts__imp_t *im);
int mts__cv_slice(mts__imp_t *im);
int mts__cv_gather(mts__imp_t *im);
int mts__cv_expand(mts__imp_t *im);
int mts__cv_pad(mts__imp_t *im);
/* Ops composed of several IR ops (import_compose.c). */
int mts__cv_reduce_sum(mts__imp_t *im);
int mts__cv_mean(mts__imp_t *im);
int mts__cv_prelu(mts__imp_t *im);
int mts__cv_depth_to_space(mts__imp_t *im);
int mts__cv_space_to_depth(mts__imp_t *im);
/* Converts the current node (im->node); folds it when its inputs are all
 * constant and the op is a shape/index op.  MTS_EUNSUPPORTED for ops the
 * IR cannot express. */
int mts__convert_node(mts__imp_t *im);
/* Tries to fold the current node; *done = 1 when it did. */
int mts__fold_node(mts__imp_t *im, int *done);

#endif
