/* export.c — `mtserve export`: builds a zoo model (or loads an .onnx file)
 * and writes it as an ONNX model, so that peers such as ONNX Runtime run
 * exactly the network mtserve serves (same weights, same structure).
 *
 * Exit codes: 0 written, 1 runtime error (build/infer/write), 2 usage. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "models/zoo.h"
#include "runtime/graph.h"
#include "runtime/mts.h"
#include "runtime/onnx/onnx.h"

static void usage(FILE *f) {
  const char *const *names = mts_zoo_names();
  fprintf(f,
          "usage: mtserve export --model NAME -o FILE.onnx [--optimized]\n"
          "\n"
          "Writes a model as ONNX (opset 13, initializers as raw data).\n"
          "  -m, --model NAME   zoo model name, or a path ending in .onnx\n"
          "  -o, --output FILE  where to write the .onnx file\n"
          "  --optimized        export after graph optimisation (fused\n"
          "                     post-ops are written as separate nodes)\n"
          "  -h, --help         this text\n"
          "\nzoo models:");
  for (int i = 0; names && names[i]; i++) fprintf(f, " %s", names[i]);
  fprintf(f, "\n");
}

int mts_cli_export(int argc, char **argv) {
  const char *model = NULL, *out = NULL;
  int optimized = 0, rc;
  mts_graph_t *g = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) {
      model = argv[++i];
    } else if (!strncmp(a, "--model=", 8)) {
      model = a + 8;
    } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
      out = argv[++i];
    } else if (!strncmp(a, "--output=", 9)) {
      out = a + 9;
    } else if (!strcmp(a, "--optimized")) {
      optimized = 1;
    } else {
      fprintf(stderr, "mtserve export: unexpected argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (!model || !out) {
    fprintf(stderr, "mtserve export: --model and -o are required\n");
    usage(stderr);
    return 2;
  }
  rc = mts_model_graph_load(model, &g);
  if (rc) {
    fprintf(stderr, "mtserve export: %s\n", mts_errmsg());
    return rc == MTS_ENOTFOUND ? 2 : 1;
  }
  /* Graph outputs need shapes in the file, so infer them first. */
  rc = mts_graph_infer_shapes(g);
  if (!rc && optimized) rc = mts_graph_optimize(g);
  if (!rc) rc = mts_onnx_save(g, out);
  if (rc) {
    fprintf(stderr, "mtserve export: %s\n", mts_errmsg());
    mts_graph_destroy(g);
    return 1;
  }
  printf("wrote %s (%d nodes)\n", out, g->n_nodes);
  mts_graph_destroy(g);
  return 0;
}
