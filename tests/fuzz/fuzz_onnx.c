/* fuzz_onnx.c — libFuzzer target for the ONNX importer: every input is
 * handed to mts_onnx_load_buffer() as a model file.  The importer must
 * return an error or a graph, never crash, leak or hit undefined
 * behaviour (the build uses ASan + UBSan, see build.sh).  A graph that
 * imports is also run through the IR's shape inference, which must accept
 * what the importer produced (the two compute shapes independently). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/graph.h"
#include "runtime/mts.h"
#include "runtime/onnx/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mts_graph_t *g = NULL;
  /* The name has no directory, so external data resolves against the
   * current one (the fuzzer's working directory holds no data files). */
  int rc = mts_onnx_load_buffer(data, size, "fuzz.onnx", &g);
  if (rc == 0) {
    if (!g) abort();
    if (mts_graph_infer_shapes(g) != 0 && getenv("FUZZ_STRICT")) {
      fprintf(stderr, "shape inference rejects an imported graph: %s\n",
              mts_errmsg());
      abort();
    }
  } else if (g) {
    abort(); /* an error must leave *out NULL */
  }
  mts_graph_destroy(g);
  return 0;
}
