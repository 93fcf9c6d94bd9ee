/* cnn.c — the zoo's other torchvision CNNs: MobileNetV2 (depthwise convs,
 * ReLU6 as Clip, inverted residuals), SqueezeNet 1.1 (fire modules, concat,
 * ceil-mode max pooling), GoogLeNet (Inception v1 with BatchNorm, no aux
 * heads) and VGG-16.  All 1x3x224x224 -> 1000 classes. */
#include <stdio.h>

#include "models/builder.h"
#include "models/zoo_int.h"

/* ---- MobileNetV2 ---------------------------------------------------------- */

int mts__zoo_mobilenet_v2(mts_graph_t **out) {
  static const int cfg[7][4] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
  mb_t b;
  int rc = mb_init(&b, "mobilenet_v2", 0x30b11e);
  if (rc) return rc;
  int64_t in[4] = {1, 3, 224, 224};
  int x = mb_input(&b, "input", 4, in);
  mb_prefix(&b, "features.0");
  x = mb_conv_bn(&b, "0", x, 32, 3, 2, 1, 1, MB_RELU6);
  int64_t cin = 32;
  int idx = 1;
  for (int s = 0; s < 7; s++)
    for (int i = 0; i < cfg[s][2]; i++, idx++) {
      int64_t hidden = cin * cfg[s][0], cout = cfg[s][1], stride = i == 0 ? cfg[s][3] : 1;
      mb_prefix(&b, "features.%d", idx);
      int y = x;
      if (cfg[s][0] != 1) y = mb_conv_bn(&b, "expand", y, hidden, 1, 1, 0, 1, MB_RELU6);
      y = mb_conv_bn(&b, "dw", y, hidden, 3, stride, 1, hidden, MB_RELU6);
      y = mb_conv(&b, "project.conv", y, cout, 1, 1, 0, 1, 0);
      y = mb_bn(&b, "project.bn", y, 0.3f, 0.6f, 1e-5f);
      if (stride == 1 && cin == cout) y = mb_binary(&b, MTS_BINARY_ADD, y, x);
      x = y;
      cin = cout;
    }
  mb_prefix(&b, "features.18");
  x = mb_conv_bn(&b, "0", x, 1280, 1, 1, 0, 1, MB_RELU6);
  mb_prefix(&b, "%s", "");
  x = mb_gap(&b, x);
  x = mb_flatten(&b, x);
  x = mb_fc(&b, "classifier.1", x, 1000);
  return mb_finish(&b, x, out);
}

/* ---- SqueezeNet 1.1 ------------------------------------------------------- */

static int fire(mb_t *b, int x, int64_t sq, int64_t e1, int64_t e3) {
  int s = mb_act(b, mb_conv(b, "squeeze", x, sq, 1, 1, 0, 1, 1), MB_RELU);
  int br[2];
  br[0] = mb_act(b, mb_conv(b, "expand1x1", s, e1, 1, 1, 0, 1, 1), MB_RELU);
  br[1] = mb_act(b, mb_conv(b, "expand3x3", s, e3, 3, 1, 1, 1, 1), MB_RELU);
  return mb_concat(b, 2, br, 1);
}

int mts__zoo_squeezenet1_1(mts_graph_t **out) {
  static const int fires[8][3] = {{16, 64, 64},   {16, 64, 64},   {32, 128, 128}, {32, 128, 128},
                                  {48, 192, 192}, {48, 192, 192}, {64, 256, 256}, {64, 256, 256}};
  static const int fidx[8] = {3, 4, 6, 7, 9, 10, 11, 12};
  mb_t b;
  int rc = mb_init(&b, "squeezenet1_1", 0x5c0eee);
  if (rc) return rc;
  int64_t in[4] = {1, 3, 224, 224};
  int x = mb_input(&b, "input", 4, in);
  x = mb_act(&b, mb_conv(&b, "features.0", x, 64, 3, 2, 0, 1, 1), MB_RELU);
  x = mb_pool(&b, MTS_OP_MAXPOOL, x, 3, 2, 0, 1);
  for (int i = 0; i < 8; i++) {
    mb_prefix(&b, "features.%d", fidx[i]);
    x = fire(&b, x, fires[i][0], fires[i][1], fires[i][2]);
    if (i == 1 || i == 3) x = mb_pool(&b, MTS_OP_MAXPOOL, x, 3, 2, 0, 1);
  }
  mb_prefix(&b, "%s", "");
  x = mb_act(&b, mb_conv(&b, "classifier.1", x, 1000, 1, 1, 0, 1, 1), MB_RELU);
  x = mb_gap(&b, x);
  x = mb_flatten(&b, x);
  return mb_finish(&b, x, out);
}

/* ---- GoogLeNet ------------------------------------------------------------ */

static int basic(mb_t *b, const char *name, int x, int64_t cout, int64_t k, int64_t s,
                 int64_t p) {
  char cn[128], bn[128];
  snprintf(cn, sizeof cn, "%s.conv", name);
  snprintf(bn, sizeof bn, "%s.bn", name);
  int y = mb_conv(b, cn, x, cout, k, s, p, 1, 0);
  y = mb_bn(b, bn, y, 0.8f, 1.2f, 1e-3f);
  return mb_act(b, y, MB_RELU);
}

static int inception(mb_t *b, int x, const int c[6]) {
  int br[4];
  br[0] = basic(b, "branch1", x, c[0], 1, 1, 0);
  br[1] = basic(b, "branch2.1", basic(b, "branch2.0", x, c[1], 1, 1, 0), c[2], 3, 1, 1);
  /* torchvision uses a 3x3 (not 5x5) conv in branch 3 */
  br[2] = basic(b, "branch3.1", basic(b, "branch3.0", x, c[3], 1, 1, 0), c[4], 3, 1, 1);
  br[3] = basic(b, "branch4.1", mb_pool(b, MTS_OP_MAXPOOL, x, 3, 1, 1, 1), c[5], 1, 1, 0);
  return mb_concat(b, 4, br, 1);
}

int mts__zoo_googlenet(mts_graph_t **out) {
  static const int inc[9][6] = {{64, 96, 128, 16, 32, 32},     {128, 128, 192, 32, 96, 64},
                                {192, 96, 208, 16, 48, 64},    {160, 112, 224, 24, 64, 64},
                                {128, 128, 256, 24, 64, 64},   {112, 144, 288, 32, 64, 64},
                                {256, 160, 320, 32, 128, 128}, {256, 160, 320, 32, 128, 128},
                                {384, 192, 384, 48, 128, 128}};
  static const char *names[9] = {"inception3a", "inception3b", "inception4a",
                                 "inception4b", "inception4c", "inception4d",
                                 "inception4e", "inception5a", "inception5b"};
  mb_t b;
  int rc = mb_init(&b, "googlenet", 0x6006e);
  if (rc) return rc;
  int64_t in[4] = {1, 3, 224, 224};
  int x = mb_input(&b, "input", 4, in);
  x = basic(&b, "conv1", x, 64, 7, 2, 3);
  x = mb_pool(&b, MTS_OP_MAXPOOL, x, 3, 2, 0, 1);
  x = basic(&b, "conv2", x, 64, 1, 1, 0);
  x = basic(&b, "conv3", x, 192, 3, 1, 1);
  x = mb_pool(&b, MTS_OP_MAXPOOL, x, 3, 2, 0, 1);
  for (int i = 0; i < 9; i++) {
    mb_prefix(&b, "%s", names[i]);
    x = inception(&b, x, inc[i]);
    mb_prefix(&b, "%s", "");
    if (i == 1) x = mb_pool(&b, MTS_OP_MAXPOOL, x, 3, 2, 0, 1);
    if (i == 6) x = mb_pool(&b, MTS_OP_MAXPOOL, x, 2, 2, 0, 1);
  }
  x = mb_gap(&b, x);
  x = mb_flatten(&b, x);
  x = mb_fc(&b, "fc", x, 1000);
  return mb_finish(&b, x, out);
}

/* ---- VGG-16 --------------------------------------------------------------- */

int mts__zoo_vgg16(mts_graph_t **out) {
  static const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0,
                            512, 512, 512, 0, 512, 512, 512, 0};
  mb_t b;
  int rc = mb_init(&b, "vgg16", 0x7a616);
  if (rc) return rc;
  int64_t in[4] = {1, 3, 224, 224};
  int x = mb_input(&b, "input", 4, in);
  for (int i = 0; i < (int)(sizeof cfg / sizeof cfg[0]); i++) {
    char nm[32];
    snprintf(nm, sizeof nm, "features.%d", i);
    if (!cfg[i]) x = mb_pool(&b, MTS_OP_MAXPOOL, x, 2, 2, 0, 0);
    else x = mb_act(&b, mb_conv(&b, nm, x, cfg[i], 3, 1, 1, 1, 1), MB_RELU);
  }
  /* the adaptive 7x7 average pool is an identity at 224x224 input */
  x = mb_flatten(&b, x);
  x = mb_act(&b, mb_fc(&b, "classifier.0", x, 4096), MB_RELU);
  x = mb_act(&b, mb_fc(&b, "classifier.3", x, 4096), MB_RELU);
  x = mb_fc(&b, "classifier.6", x, 1000);
  return mb_finish(&b, x, out);
}
