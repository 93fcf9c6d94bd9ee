/* exec_int.h — private structures of the executor (exec.c, exec_ops.c,
 * exec_cops.c).
 *
 * DESIGN
 * A layer is a short list of steps: oneDNN primitives (one per compiled core
 * count, all created from the same concrete memory descriptors) or C loops.
 * Each step argument names a memory descriptor and a reference: an arena
 * buffer (activations and per-layer temporaries, placed by liveness at
 * compile) or a model constant (weights, reordered once at compile).
 *
 * Every activation tensor has exactly one layout (memory descriptor), chosen
 * by its producer from the FIRST core count's primitive descriptor; the
 * primitives for the other core counts are created from descriptors patched
 * to those concrete layouts.  So a tensor crossing a block boundary is valid
 * for whatever core count runs the next block.  Consumers that need another
 * layout reorder into a temporary inside their own layer.
 *
 * Compile-time switches for A/B measurements (environment, read while a
 * layer is built): MTS_NO_INPLACE_CONCAT=1 copies every Concat;
 * MTS_DNNL_MAXPOOL=1 uses oneDNN's pooling for MaxPool on aBcd8b;
 * MTS_FC_MATMUL=1 runs fully-connected layers through the matmul primitive
 * instead of the 1x1 convolution. */
#ifndef MTS_EXEC_INT_H
#define MTS_EXEC_INT_H

#include <dnnl.h>

#include "runtime/exec.h"
#include "runtime/graph.h"

#define MTS__MAX_STEP_ARGS (MTS_MAX_INPUTS + MTS_MAX_OUTPUTS + 4)
#define MTS__MAX_CC 64
#define MTS__MAX_VER 4

enum { MTS__REF_BUF = 0, MTS__REF_CONST };
enum { MTS__STEP_PRIM = 0, MTS__STEP_C };

typedef struct {
  int arg;                  /* DNNL_ARG_* (C steps: position) */
  dnnl_memory_desc_t md;
  int kind;                 /* MTS__REF_* */
  int id;                   /* buffer or constant index */
} mts__arg_t;

struct mts__step;
typedef void (*mts__cfn_t)(const struct mts__step *s, void *const *ptrs);

/* Shapes a C step needs (copied: the graph may be freed after compile). */
typedef struct {
  mts_op_t op;
  mts_attr_t attr;
  int n_in, n_out;
  int ndim[MTS_MAX_INPUTS + MTS_MAX_OUTPUTS];
  int64_t dims[MTS_MAX_INPUTS + MTS_MAX_OUTPUTS][MTS_MAX_DIMS];
  int in_i64;               /* gather: indices are int64 (else int32) */
  int n_post;               /* fused post-ops (Winograd convolution) */
  mts_postop_t post[MTS_MAX_POSTOPS];
} mts__cop_t;

enum { MTS__REMAKE_DESC = 0, MTS__REMAKE_REORDER, MTS__REMAKE_CONCAT };

typedef struct mts__step {
  int kind;
  int remake;               /* how to re-create the pd for other core counts */
  int axis;                 /* concat axis */
  char impl[48];            /* if set: the implementation to pick (versions) */
  dnnl_primitive_t prim[MTS__MAX_CC];  /* per core-count index */
  int n_args;
  mts__arg_t args[MTS__MAX_STEP_ARGS];
  mts__cfn_t fn;
  mts__cop_t cop;
} mts__step_t;

typedef struct {
  char *name;
  mts_op_t op;
  double flops;
  int n_ver;                /* versions: same input and output layouts */
  int s0[MTS__MAX_VER], s1[MTS__MAX_VER]; /* steps of version v: [s0, s1) */
  char impl[MTS__MAX_VER][48];            /* main primitive's implementation */
} mts__layer_t;

typedef struct {
  size_t size, off;
  int first, last;          /* layer range that touches it */
  int last_use;             /* last node reading any tensor held in it */
  int pinned;               /* holds a graph input: never written in place */
  int alias;                /* 1 + index of the buffer this one lies inside
                               (an in-place concat's output), 0: placed alone */
  size_t alias_off;         /* its byte offset inside that buffer */
} mts__buf_t;

typedef struct {
  void *data;               /* owned, 64-byte aligned */
  dnnl_memory_desc_t md;
  dnnl_memory_t mem;        /* NULL for non-f32 data (C steps only) */
} mts__const_t;

typedef struct {
  int tensor;               /* graph tensor index (in the optimised graph) */
  int buf;
  int ndim;
  int64_t dims[MTS_MAX_DIMS];
  dnnl_memory_desc_t md;    /* its layout in the arena */
  dnnl_primitive_t to_plain;/* outputs in a blocked layout: reorder to NCHW */
} mts__io_t;

struct mts_model {
  char *name;
  uint64_t hash;
  dnnl_engine_t eng;
  int n_cc;
  int cc[MTS__MAX_CC];
  int n_layers;
  mts__layer_t *layers;
  int n_steps, cap_steps;
  mts__step_t *steps;
  int n_bufs, cap_bufs;
  mts__buf_t *bufs;
  int n_consts, cap_consts;
  mts__const_t *consts;
  size_t arena_size;
  int n_in, n_out;
  mts__io_t in[MTS_MAX_INPUTS], out[MTS_MAX_OUTPUTS];
};

struct mts_ctx {
  const mts_model_t *m;
  char *arena;
  dnnl_stream_t stream;
  dnnl_memory_t *mems;      /* per step argument (NULL where not needed) */
  dnnl_exec_arg_t *xargs;   /* per step argument */
  void **ptrs;              /* per step argument: data pointer */
  int *arg0;                /* first argument index of each step */
};

/* Compile state shared by the layer builders. */
typedef struct {
  mts_model_t *m;
  mts_graph_t *g;
  int node;                 /* node (= layer) being built */
  int *tbuf;                /* tensor -> buffer, -1 unknown */
  dnnl_memory_desc_t *tmd;  /* tensor -> layout */
  char *thas_md;
  int *tconst;              /* tensor -> constant index, -1 none */
  int *last_use;            /* tensor -> last consuming node (n_nodes: output) */
  dnnl_stream_t stream;     /* for compile-time weight reorders */
  int all_versions;
} mts__cs_t;

#define MTS__DNNL(call, what)                                                     \
  do {                                                                            \
    dnnl_status_t st_ = (call);                                                   \
    if (st_ != dnnl_success) {                                                    \
      rc = mts_seterr(MTS_EDNNL, "layer '%s': %s failed: %s (%s:%d)", (what),     \
                      #call, mts__dnnl_str(st_), __FILE__, __LINE__);             \
      goto out;                                                                   \
    }                                                                             \
  } while (0)

const char *mts__dnnl_str(dnnl_status_t st);

/* exec.c helpers for the builders */
void mts__plain_md(dnnl_memory_desc_t *md, int ndim, const int64_t *dims);
int mts__is_plain(const dnnl_memory_desc_t *md);
int mts__new_buf(mts__cs_t *cs, const dnnl_memory_desc_t *md);
int mts__new_const(mts__cs_t *cs, const dnnl_memory_desc_t *md, void *data);
mts__step_t *mts__add_step(mts__cs_t *cs, int kind);
void mts__step_arg(mts__step_t *s, int arg, const dnnl_memory_desc_t *md, int kind, int id);
/* Reference to tensor t as it is stored (activation buffer or constant). */
int mts__tensor_ref(mts__cs_t *cs, int t, int *kind, int *id, dnnl_memory_desc_t *md);
/* Same, but guaranteed plain row-major (reorders into a temporary). */
int mts__tensor_plain(mts__cs_t *cs, int t, int *kind, int *id, dnnl_memory_desc_t *md);
int mts__add_reorder(mts__cs_t *cs, const dnnl_memory_desc_t *smd, int skind, int sid,
                     const dnnl_memory_desc_t *dmd, int dkind, int did);
/* Creates the step's primitives for every core count: pd0 (made under the
 * first count) is used for it; for the others, desc (patched to concrete
 * layouts by the caller) is re-created under omp_set_num_threads(k).
 * Takes ownership of pd0. */
int mts__make_prims(mts__cs_t *cs, mts__step_t *s, const void *desc,
                    const_dnnl_primitive_attr_t attr, dnnl_primitive_desc_t pd0);
/* The primitive descriptor of a given implementation (by impl_info_str). */
/* 1 when pd is one of oneDNN's reference implementations (or has no name):
 * too slow to be a version or a fallback. */
int mts__is_ref(const_dnnl_primitive_desc_t pd);
/* 1 when, with the memory descriptors of desc fixed, every core count of
 * the model but the first has a non-reference implementation. */
int mts__fast_at_all_cc(mts__cs_t *cs, const void *desc, const_dnnl_primitive_attr_t attr);
int mts__pd_for_impl(mts__cs_t *cs, const void *desc, const_dnnl_primitive_attr_t attr,
                     const char *impl, dnnl_primitive_desc_t *out);
/* Drops the steps from index `from` on (a version that could not be made). */
void mts__drop_steps(mts__cs_t *cs, int from);
/* Sets the output tensor's layout; allocates its buffer. */
int mts__set_output(mts__cs_t *cs, int t, const dnnl_memory_desc_t *md);
/* Reorders a constant (user layout umd, data) to layout md once; returns
 * the constant index. */
int mts__const_reordered(mts__cs_t *cs, const dnnl_memory_desc_t *umd, const void *data,
                         const dnnl_memory_desc_t *md);
void mts__set_threads(int k);

/* exec_ops.c */
int mts__build_layer(mts__cs_t *cs);
/* Primitive attributes with the node's post-ops (pre_alpha != 1: an extra
 * linear scale first). */
int mts__make_attr(mts__cs_t *cs, const mts_node_t *n, dnnl_primitive_attr_t *attr,
                   float pre_alpha);
/* Allocates (or, for an in-place sum, shares) the node's output buffer; with
 * a sum post-op, the summed tensor is in the destination afterwards. */
int mts__bind_output(mts__cs_t *cs, const mts_node_t *n, const dnnl_memory_desc_t *dmd);
/* 64-byte aligned memory (free() it), NULL when out of memory. */
void *mts__aligned(size_t n);
/* exec_conv.c */
int mts__build_conv(mts__cs_t *cs, const mts_node_t *n);
/* exec_cops.c */
int mts__build_cop(mts__cs_t *cs);
/* MaxPool over an aBcd8b input as a tuned C loop; 1 when not applicable. */
/* Winograd F(4x4, 3x3) / F(2x2, 3x3) convolution on aBcd8b (exec_wino.c):
 * whether node n qualifies with these input/output layouts, and its step
 * (input src in (sk, sid), output into buffer yb; impl gets its name). */
int mts__wino_eligible(const mts__cs_t *cs, const mts_node_t *n, const dnnl_memory_desc_t *src,
                       const dnnl_memory_desc_t *dst);
/* Whether the Winograd version should be node n's default (version 0). */
int mts__wino_preferred(const mts__cs_t *cs, const mts_node_t *n);
int mts__wino_add(mts__cs_t *cs, const mts_node_t *n, const dnnl_memory_desc_t *src, int sk, int sid,
                  const dnnl_memory_desc_t *dst, int yb, char *impl, size_t impl_n);
int mts__build_maxpool8(mts__cs_t *cs, const dnnl_memory_desc_t *smd, int sk, int sid);

#endif
