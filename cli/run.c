/* run.c — `mtserve run`: builds or loads one model, compiles it for K
 * cores, binds the OpenMP team to cores 0..K-1 and times N runs on a
 * deterministic input (or an input TensorProto file), printing the median
 * and minimum latency and the achieved GFLOP/s.  Outside MPI; used to
 * compare against peers (ONNX Runtime) on the very same model. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "models/zoo.h"
#include "runtime/affinity.h"
#include "runtime/exec.h"
#include "runtime/mts.h"
#include "runtime/onnx/onnx.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: mtserve run --model NAME|FILE.onnx [--threads K] [--first-core C] [--iters N]\n"
          "                   [--warmup N] [--gap-ms G] [--input IN.pb] [--output OUT.pb]\n"
          "\n"
          "Runs one model outside MPI and reports its latency.\n"
          "  --model M    zoo name or ONNX file; zoo:");
  for (const char *const *n = mts_zoo_names(); *n; n++) fprintf(f, " %s", *n);
  fprintf(f,
          "\n"
          "  --threads K  cores to use, bound to cores C..C+K-1 (default 1)\n"
          "  --first-core C  the first of them (default 0)\n"
          "  --iters N    timed runs (default 20)\n"
          "  --warmup N   untimed runs first (default 3)\n"
          "  --gap-ms G   sleep G ms before each timed run (as a server between queries)\n"
          "  --input F    input TensorProto (default: a deterministic pattern)\n"
          "  --output F   write the output of the last run as a TensorProto\n");
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int parse_int(const char *s, int lo, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > 1 << 20) return -1;
  *out = (int)v;
  return 0;
}

int mts_cli_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"model", required_argument, NULL, 'm'},  {"threads", required_argument, NULL, 't'},
      {"iters", required_argument, NULL, 'n'},  {"warmup", required_argument, NULL, 'w'},
      {"input", required_argument, NULL, 'i'},  {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},         {"first-core", required_argument, NULL, 'c'},
      {"gap-ms", required_argument, NULL, 'g'}, {NULL, 0, NULL, 0}};
  const char *model = NULL, *inpath = NULL, *outpath = NULL;
  int threads = 1, iters = 20, warmup = 3, c, rc = 0, exit_code = 1, first_core = 0, gap_ms = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:t:n:w:i:o:hc:g:", opts, NULL)) != -1) {
    switch (c) {
    case 'g':
      if (parse_int(optarg, 0, &gap_ms)) goto bad;
      break;
    case 'c':
      if (parse_int(optarg, 0, &first_core)) goto bad;
      break;
    case 'm': model = optarg; break;
    case 't':
      if (parse_int(optarg, 1, &threads)) goto bad;
      break;
    case 'n':
      if (parse_int(optarg, 1, &iters)) goto bad;
      break;
    case 'w':
      if (parse_int(optarg, 0, &warmup)) goto bad;
      break;
    case 'i': inpath = optarg; break;
    case 'o': outpath = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (!model || optind != argc) {
    fprintf(stderr, "mtserve run: %s\n", model ? "unexpected argument" : "--model is required");
    usage(stderr);
    return 2;
  }

  mts_graph_t *g = NULL;
  mts_model_t *m = NULL;
  mts_ctx_t *ctx = NULL;
  float *in = NULL, *out = NULL;
  double *t = NULL;
  int64_t t0 = mts_now_us();
  if ((rc = mts_model_graph_load(model, &g))) goto out;
  mts_compile_opts_t co = {.n_core_counts = 1, .core_counts = {threads}};
  if ((rc = mts_model_compile(g, &co, &m))) goto out;
  double load_ms = (double)(mts_now_us() - t0) / 1e3;
  if ((rc = mts_ctx_create(m, &ctx))) goto out;

  int nd;
  int64_t dims[MTS_MAX_DIMS];
  size_t n = 1;
  if ((rc = mts_model_input_shape(m, 0, &nd, dims))) goto out;
  for (int i = 0; i < nd; i++) n *= (size_t)dims[i];
  if (inpath) {
    int fnd;
    int64_t fd[MTS_MAX_DIMS];
    if ((rc = mts_tensor_file_read(inpath, &in, &fnd, fd))) goto out;
    size_t fn = 1;
    for (int i = 0; i < fnd; i++) fn *= (size_t)fd[i];
    if (fn != n) {
      rc = mts_seterr(MTS_ESHAPE, "%s: %zu elements, model input needs %zu", inpath, fn, n);
      goto out;
    }
  } else {
    in = malloc(n * sizeof *in);
    if (!in) {
      rc = mts_seterr(MTS_ENOMEM, "input of %zu floats", n);
      goto out;
    }
    /* the peer harness's and the workers' pattern (scripts/peer/README.md):
     * x_i = ((i * 2654435761) mod 2^32) / 2^32 * 2 - 1, rounded once */
    for (size_t i = 0; i < n; i++)
      in[i] = (float)((double)(uint32_t)((uint32_t)i * 2654435761u) / 4294967296.0 * 2.0 - 1.0);
  }
  if ((rc = mts_ctx_set_input(ctx, 0, in, n))) goto out;

  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (first_core + threads <= ncpu) {
    int cores[MTS_MAX_CORES];
    for (int i = 0; i < threads && i < MTS_MAX_CORES; i++) cores[i] = first_core + i;
    if (mts_bind_omp_team(cores, threads))
      fprintf(stderr, "mtserve run: warning: not pinned (%s)\n", mts_errmsg());
  } else {
    fprintf(stderr, "mtserve run: warning: cores %d..%d on %ld CPUs, not pinned\n", first_core,
            first_core + threads - 1, ncpu);
  }
  int nl = mts_model_n_layers(m);
  double flops = 0;
  for (int l = 0; l < nl; l++) flops += mts_model_layer_flops(m, l);
  for (int i = 0; i < warmup; i++)
    if ((rc = mts_model_run(m, ctx, 0, nl, threads, 0, NULL))) goto out;
  t = malloc((size_t)iters * sizeof *t);
  for (int i = 0; i < iters; i++) {
    if (gap_ms) {
      struct timespec ts = {gap_ms / 1000, (long)(gap_ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    }
    int64_t s = mts_now_ns();
    if ((rc = mts_model_run(m, ctx, 0, nl, threads, 0, NULL))) goto out;
    t[i] = (double)(mts_now_ns() - s) / 1e6;
  }
  qsort(t, (size_t)iters, sizeof *t, cmp_d);
  double med = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
  printf("model %s: %d layers, %.3f GFLOP, load+compile %.1f ms\n", mts_model_name(m), nl,
         flops / 1e9, load_ms);
  printf("threads %d, iters %d: median %.3f ms, min %.3f ms, %.1f GFLOP/s\n", threads, iters, med,
         t[0], flops / 1e6 / med);
  if (gap_ms) printf("after %d ms idle each: p90 %.3f ms, max %.3f ms\n", gap_ms, t[iters * 9 / 10], t[iters - 1]);

  if (outpath) {
    int ond;
    int64_t od[MTS_MAX_DIMS];
    size_t on = 1;
    if ((rc = mts_model_output_shape(m, 0, &ond, od))) goto out;
    for (int i = 0; i < ond; i++) on *= (size_t)od[i];
    out = malloc(on * sizeof *out);
    if (!out) {
      rc = mts_seterr(MTS_ENOMEM, "output of %zu floats", on);
      goto out;
    }
    if ((rc = mts_ctx_get_output(ctx, 0, out, on))) goto out;
    if ((rc = mts_tensor_file_write(outpath, "output", out, ond, od))) goto out;
  }
  exit_code = 0;
out:
  if (rc) fprintf(stderr, "mtserve run: %s\n", mts_errmsg());
  free(t);
  free(in);
  free(out);
  mts_ctx_destroy(ctx);
  mts_model_destroy(m);
  mts_graph_destroy(g);
  return exit_code;
bad:
  fprintf(stderr, "mtserve run: bad value '%s' for -%c\n", optarg, c);
  usage(stderr);
  return 2;
}
