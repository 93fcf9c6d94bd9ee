/* bench_exec.c — benchmark of the executor on a zoo model: compile time for
 * core counts {1,2}, then median/min latency at 1 and 2 threads.
 * Usage: bench_exec [MODEL] [ITERS]   (default resnet50, 30)
 * Env: MTS_PROFILE=1 per-layer times (=2: at 2 threads; MTS_PROFILE_VERSION=v:
 * of version v where a layer has it); MTS_VERSIONS=1 compile and time every
 * version index; MTS_NOPIN=1 leave threads unpinned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/zoo.h"
#include "runtime/affinity.h"
#include "runtime/exec.h"
#include "runtime/mts.h"

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "resnet50";
  int iters = argc > 2 ? atoi(argv[2]) : 30;
  mts_graph_t *g = NULL;
  mts_model_t *m = NULL;
  mts_ctx_t *c = NULL;
  int rc = 0;
  int64_t tl = mts_now_us();
  if ((rc = mts_model_graph_load(name, &g))) goto out;
  double load_ms = (double)(mts_now_us() - tl) / 1e3;
  mts_compile_opts_t o = {.n_core_counts = 2, .core_counts = {1, 2},
                          .all_versions = getenv("MTS_VERSIONS") != NULL};
  int64_t t0 = mts_now_us();
  if ((rc = mts_model_compile(g, &o, &m))) goto out;
  double gflop = 0;
  for (int l = 0; l < mts_model_n_layers(m); l++) gflop += mts_model_layer_flops(m, l) / 1e9;
  printf("%s: %d layers, %.2f GFLOP, load %.1f ms + compile {1,2} cores%s: %.1f ms, "
         "arena %.2f MiB, weights %.1f MiB\n", name, mts_model_n_layers(m), gflop, load_ms,
         o.all_versions ? " (all versions)" : "", (double)(mts_now_us() - t0) / 1e3, (double)mts_model_arena_bytes(m) / 1048576.0,
         (double)mts_model_weight_bytes(m) / 1048576.0);
  if ((rc = mts_ctx_create(m, &c))) goto out;
  int nd;
  int64_t dims[8];
  mts_model_input_shape(m, 0, &nd, dims);
  size_t n = 1;
  for (int i = 0; i < nd; i++) n *= (size_t)dims[i];
  float *in = malloc(n * sizeof *in);
  for (size_t i = 0; i < n; i++) in[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  mts_ctx_set_input(c, 0, in, n);
  free(in);
  double *t = calloc((size_t)iters, sizeof *t);
  /* pin like the workers and `mtserve run` do: thread i on core i */
  int cores[2] = {0, 1};
  if (!getenv("MTS_NOPIN") && mts_bind_omp_team(cores, 2))
    fprintf(stderr, "bench_exec: not pinned: %s\n", mts_errmsg());
  for (int k = 1; k <= 2; k++) {
    for (int i = 0; i < 3; i++)
      if ((rc = mts_model_run(m, c, 0, mts_model_n_layers(m), k, 0, NULL))) goto out;
    for (int i = 0; i < iters; i++) {
      int64_t s = mts_now_ns();
      if ((rc = mts_model_run(m, c, 0, mts_model_n_layers(m), k, 0, NULL))) goto out;
      t[i] = (double)(mts_now_ns() - s) / 1e6;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_d);
    printf("%s %d thread(s): median %.2f ms, min %.2f ms, %.1f GFLOP/s\n", name, k,
           t[iters / 2], t[0], gflop / (t[iters / 2] / 1e3));
  }
  free(t);
  if (o.all_versions) { /* each version index where a layer has it, else 0 */
    int nl = mts_model_n_layers(m), maxv = 1;
    for (int l = 0; l < nl; l++)
      if (mts_model_n_versions(m, l, 1) > maxv) maxv = mts_model_n_versions(m, l, 1);
    for (int v = 0; v < maxv; v++)
      for (int k = 1; k <= 2; k++) {
        double best = 1e30;
        for (int i = 0; i < iters; i++) {
          int64_t s = mts_now_ns();
          if ((rc = mts_model_run(m, c, 0, nl, k, v, NULL))) goto out;
          double ms = (double)(mts_now_ns() - s) / 1e6;
          if (ms < best) best = ms;
        }
        printf("version %d, %d thread(s): min %.2f ms  (e.g. %s)\n", v, k, best,
               mts_model_version_name(m, 2, v < mts_model_n_versions(m, 2, 1) ? v : 0));
      }
  }
  if (getenv("MTS_PROFILE")) { /* per-layer times at 1 (MTS_PROFILE=2: 2) threads, slowest first */
    int nl = mts_model_n_layers(m), pk = atoi(getenv("MTS_PROFILE")) == 2 ? 2 : 1;
    double *lu = calloc((size_t)nl, sizeof *lu), *acc = calloc((size_t)nl, sizeof *acc);
    for (int i = 0; i < 5; i++) {
      mts_model_run(m, c, 0, nl, pk, getenv("MTS_PROFILE_VERSION") ? atoi(getenv("MTS_PROFILE_VERSION")) : 0, lu);
      for (int l = 0; l < nl; l++) acc[l] += lu[l] / 5;
    }
    double by_op[MTS_OP_COUNT] = {0};
    for (int l = 0; l < nl; l++) by_op[mts_model_layer_op(m, l)] += acc[l];
    for (int op = 0; op < MTS_OP_COUNT; op++)
      if (by_op[op] > 0) printf("  total %-20s %8.3f ms\n", mts_op_name(op), by_op[op] / 1e3);
    for (int k = 0; k < 15 && k < nl; k++) {
      int best = 0;
      for (int l = 1; l < nl; l++)
        if (acc[l] > acc[best]) best = l;
      printf("  %-40s %-10s %8.3f ms %7.1f GFLOP/s\n", mts_model_layer_name(m, best),
             mts_op_name(mts_model_layer_op(m, best)), acc[best] / 1e3,
             mts_model_layer_flops(m, best) / acc[best] / 1e3);
      acc[best] = -1;
    }
    free(lu);
    free(acc);
  }
out:
  if (rc) fprintf(stderr, "bench_exec: %s\n", mts_errmsg());
  mts_ctx_destroy(c);
  mts_model_destroy(m);
  mts_graph_destroy(g);
  return rc ? 1 : 0;
}
