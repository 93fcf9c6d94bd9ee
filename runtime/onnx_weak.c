/* onnx_weak.c — weak fallbacks for the ONNX entry points that the zoo's
 * loader calls, so that the runtime links while runtime/onnx/ is being
 * written; the real definitions (runtime/onnx/import.c) override them. */
#include "runtime/mts.h"
#include "runtime/onnx/onnx.h"

__attribute__((weak)) int mts_onnx_load(const char *path, mts_graph_t **out) {
  *out = NULL;
  return mts_seterr(MTS_EUNSUPPORTED, "%s: ONNX import not built", path);
}

__attribute__((weak)) int mts_tensor_file_read(const char *path, float **data, int *ndim,
                                               int64_t *dims) {
  (void)ndim;
  (void)dims;
  *data = NULL;
  return mts_seterr(MTS_EUNSUPPORTED, "%s: tensor files not built", path);
}

__attribute__((weak)) int mts_tensor_file_write(const char *path, const char *name,
                                                const float *data, int ndim,
                                                const int64_t *dims) {
  (void)name;
  (void)data;
  (void)ndim;
  (void)dims;
  return mts_seterr(MTS_EUNSUPPORTED, "%s: tensor files not built", path);
}
