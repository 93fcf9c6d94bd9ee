/* resnet50.c — torchvision ResNet-50 v1.5 (stride on the 3x3 conv of each
 * bottleneck), 1x3x224x224, with BatchNorm nodes as in the exported model
 * (optimize folds them).  The last BN of every bottleneck gets a small
 * gamma, as zero-init-residual training does, so that activations stay
 * bounded through 16 residual additions with random weights. */
#include "models/builder.h"
#include "models/zoo_int.h"

static int bottleneck(mb_t *b, int x, int64_t width, int64_t stride, int down) {
  int y = mb_conv_bn(b, "conv1", x, width, 1, 1, 0, 1, MB_RELU);
  y = mb_conv_bn(b, "conv2", y, width, 3, stride, 1, 1, MB_RELU);
  y = mb_conv(b, "conv3", y, width * 4, 1, 1, 0, 1, 0);
  y = mb_bn(b, "bn3", y, 0.1f, 0.3f, 1e-5f);
  int id = x;
  if (down) {
    id = mb_conv(b, "downsample.0", x, width * 4, 1, stride, 0, 1, 0);
    id = mb_bn(b, "downsample.1", id, 0.8f, 1.2f, 1e-5f);
  }
  y = mb_binary(b, MTS_BINARY_ADD, y, id);
  return mb_act(b, y, MB_RELU);
}

int mts__zoo_resnet50(mts_graph_t **out) {
  static const int blocks[4] = {3, 4, 6, 3};
  mb_t b;
  int rc = mb_init(&b, "resnet50", 0x5e5e7050);
  if (rc) return rc;
  int64_t in[4] = {1, 3, 224, 224};
  int x = mb_input(&b, "input", 4, in);
  x = mb_conv(&b, "conv1", x, 64, 7, 2, 3, 1, 0);
  x = mb_bn(&b, "bn1", x, 0.8f, 1.2f, 1e-5f);
  x = mb_act(&b, x, MB_RELU);
  x = mb_pool(&b, MTS_OP_MAXPOOL, x, 3, 2, 1, 0);
  int64_t width = 64;
  for (int l = 0; l < 4; l++, width *= 2)
    for (int i = 0; i < blocks[l]; i++) {
      mb_prefix(&b, "layer%d.%d", l + 1, i);
      x = bottleneck(&b, x, width, i == 0 && l > 0 ? 2 : 1, i == 0);
    }
  mb_prefix(&b, "%s", "");
  x = mb_gap(&b, x);
  x = mb_flatten(&b, x);
  x = mb_fc(&b, "fc", x, 1000);
  return mb_finish(&b, x, out);
}
