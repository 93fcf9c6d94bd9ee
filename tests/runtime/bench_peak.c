/* bench_peak.c — the attainable f32 throughput of this machine through the
 * executor: one large 3x3 convolution (the densest layer kind, 1x256x56x56
 * -> 256 channels, 3.7 GFLOP) and one large matrix product (BERT's FFN,
 * 128x768 by 768x3072), each timed alone at 1 and 2 threads.  The 3x3
 * figure with oneDNN's direct convolution is the "peak" model efficiencies
 * are quoted against; the same layer through mtserve's Winograd
 * convolution (exec_wino.c, the default) is printed too, its GFLOP/s
 * counted as the direct convolution's FLOPs over its time.
 * Usage: bench_peak [ITERS [C K HW]]   (default 20; C K HW: time a 3x3
 * convolution C -> K channels on HW x HW instead of the default one) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/builder.h"
#include "runtime/affinity.h"
#include "runtime/exec.h"
#include "runtime/mts.h"

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int conv_c = 256, conv_k = 256, conv_hw = 56;

static int build(int which, mts_graph_t **g) {
  mb_t b;
  char name[64];
  snprintf(name, sizeof name, "conv3x3_%d_%dx%dx%d", conv_k, conv_c, conv_hw, conv_hw);
  int rc = mb_init(&b, which ? "gemm_128x768x3072" : name, 0x9e41);
  if (rc) return rc;
  int y;
  if (which == 0) {
    int64_t d[4] = {1, conv_c, conv_hw, conv_hw};
    y = mb_conv(&b, "conv", mb_input(&b, "x", 4, d), conv_k, 3, 1, 1, 1, 1);
  } else {
    int64_t d[2] = {128, 768};
    y = mb_fc(&b, "fc", mb_input(&b, "x", 2, d), 3072);
  }
  return mb_finish(&b, y, g);
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 20;
  if (iters < 1) iters = 20;
  int conv_only = argc > 4;
  if (conv_only) {
    conv_c = atoi(argv[2]);
    conv_k = atoi(argv[3]);
    conv_hw = atoi(argv[4]);
    if (conv_c < 1 || conv_k < 1 || conv_hw < 1) {
      fprintf(stderr, "usage: bench_peak [ITERS [C K HW]]\n");
      return 2;
    }
  }
  int cores[2] = {0, 1}, rc = 0;
  if (mts_bind_omp_team(cores, 2)) fprintf(stderr, "bench_peak: not pinned: %s\n", mts_errmsg());
  double *t = calloc((size_t)iters, sizeof *t);
  static const char *const label[3] = {"direct", "winograd", ""};
  for (int run = 0; run < (conv_only ? 2 : 3) && !rc; run++) {
    int which = run == 2;
    mts_graph_t *g = NULL;
    mts_model_t *m = NULL;
    mts_ctx_t *c = NULL;
    mts_compile_opts_t o = {.n_core_counts = 2, .core_counts = {1, 2}};
    setenv("MTS_WINOGRAD", run == 0 ? "0" : "1", 1); /* read at compile time */
    if ((rc = build(which, &g)) || (rc = mts_model_compile(g, &o, &m)) ||
        (rc = mts_ctx_create(m, &c)))
      goto next;
    double flops = 0;
    int nl = mts_model_n_layers(m);
    for (int l = 0; l < nl; l++) flops += mts_model_layer_flops(m, l);
    for (int k = 1; k <= 2; k++) {
      for (int i = 0; i < 3; i++)
        if ((rc = mts_model_run(m, c, 0, nl, k, 0, NULL))) goto next;
      for (int i = 0; i < iters; i++) {
        int64_t s = mts_now_ns();
        if ((rc = mts_model_run(m, c, 0, nl, k, 0, NULL))) goto next;
        t[i] = (double)(mts_now_ns() - s) / 1e6;
      }
      qsort(t, (size_t)iters, sizeof *t, cmp_d);
      char name[64];
      snprintf(name, sizeof name, "%s%s%s", mts_model_name(m), label[run][0] ? " " : "", label[run]);
      printf("%-30s %.3f GFLOP, %d thread(s): median %.2f ms = %.1f GFLOP/s, best %.2f ms = "
             "%.1f GFLOP/s\n", name, flops / 1e9, k, t[iters / 2],
             flops / 1e6 / t[iters / 2], t[0], flops / 1e6 / t[0]);
    }
  next:
    mts_ctx_destroy(c);
    mts_model_destroy(m);
    mts_graph_destroy(g);
  }
  free(t);
  if (rc) fprintf(stderr, "bench_peak: %s\n", mts_errmsg());
  return rc ? 1 : 0;
}
