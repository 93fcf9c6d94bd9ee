/* tiny.c — a tiny CNN for tests: 1x3x32x32 -> conv+BN+relu -> conv+BN,
 * residual add, relu -> maxpool -> conv+relu -> GAP -> FC(10).  It exercises
 * BatchNorm folding, both post-op kinds, pooling and Gemm in well under a
 * millisecond. */
#include "models/builder.h"
#include "models/zoo_int.h"

int mts__zoo_tiny(mts_graph_t **out) {
  mb_t b;
  int rc = mb_init(&b, "tiny", 0x7117);
  if (rc) return rc;
  int64_t in[4] = {1, 3, 32, 32};
  int x = mb_input(&b, "input", 4, in);
  int a = mb_conv_bn(&b, "stem", x, 16, 3, 1, 1, 1, MB_RELU);
  int y = mb_conv_bn(&b, "block.a", a, 16, 3, 1, 1, 1, MB_RELU);
  y = mb_conv_bn(&b, "block.b", y, 16, 3, 1, 1, 1, MB_NONE);
  y = mb_binary(&b, MTS_BINARY_ADD, y, a);
  y = mb_act(&b, y, MB_RELU);
  y = mb_pool(&b, MTS_OP_MAXPOOL, y, 2, 2, 0, 0);
  y = mb_conv(&b, "head", y, 32, 3, 1, 1, 1, 1);
  y = mb_act(&b, y, MB_RELU);
  y = mb_gap(&b, y);
  y = mb_flatten(&b, y);
  y = mb_fc(&b, "fc", y, 10);
  return mb_finish(&b, y, out);
}
