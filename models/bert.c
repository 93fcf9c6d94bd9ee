/* bert.c — a BERT-base encoder (12 layers, hidden 768, 12 heads, FFN 3072,
 * sequence 128, post-LayerNorm, GELU with erf), as a PyTorch export writes
 * it: Gemm projections, Reshape/Transpose into heads, batched MatMul,
 * scaled Softmax, residual Add + LayerNorm.  Input: the 1x128x768 float
 * embeddings (the token/position embedding lookup is left out). */
#include <math.h>

#include "models/builder.h"
#include "models/zoo_int.h"

enum { SEQ = 128, HID = 768, HEADS = 12, HD = 64, FFN = 3072, LAYERS = 12 };

/* [SEQ, HID] -> [1, HEADS, SEQ, HD] (perm 0213), or its transpose for K */
static int heads(mb_t *b, int x, int key) {
  int64_t d4[4] = {1, SEQ, HEADS, HD};
  int64_t p[4] = {0, 2, 1, 3}, pk[4] = {0, 2, 3, 1};
  return mb_transpose(b, mb_reshape(b, x, 4, d4), 4, key ? pk : p);
}

int mts__zoo_bert_base(mts_graph_t **out) {
  mb_t b;
  int rc = mb_init(&b, "bert_base", 0xbe27);
  if (rc) return rc;
  int64_t in[3] = {1, SEQ, HID};
  int x = mb_input(&b, "input", 3, in);
  int64_t d2[2] = {SEQ, HID};
  x = mb_reshape(&b, x, 2, d2);
  for (int l = 0; l < LAYERS; l++) {
    mb_prefix(&b, "encoder.layer.%d", l);
    int q = heads(&b, mb_fc(&b, "attention.query", x, HID), 0);
    int k = heads(&b, mb_fc(&b, "attention.key", x, HID), 1);
    int v = heads(&b, mb_fc(&b, "attention.value", x, HID), 0);
    int s = mb_matmul(&b, q, k);
    s = mb_unary(&b, s, MTS_UNARY_LINEAR, 1.0f / sqrtf((float)HD), 0.0f);
    s = mb_softmax(&b, s, -1);
    int c = mb_matmul(&b, s, v); /* [1, HEADS, SEQ, HD] */
    int64_t p[4] = {0, 2, 1, 3};
    c = mb_reshape(&b, mb_transpose(&b, c, 4, p), 2, d2);
    int a = mb_fc(&b, "attention.output.dense", c, HID);
    a = mb_binary(&b, MTS_BINARY_ADD, a, x);
    a = mb_layernorm(&b, "attention.output.LayerNorm", a, 1e-12f);
    int f = mb_fc(&b, "intermediate.dense", a, FFN);
    f = mb_unary(&b, f, MTS_UNARY_GELU, 0, 0);
    f = mb_fc(&b, "output.dense", f, HID);
    f = mb_binary(&b, MTS_BINARY_ADD, f, a);
    x = mb_layernorm(&b, "output.LayerNorm", f, 1e-12f);
  }
  mb_prefix(&b, "%s", "");
  x = mb_reshape(&b, x, 3, in);
  return mb_finish(&b, x, out);
}
