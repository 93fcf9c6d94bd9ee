/* fuzz_workload.c — libFuzzer target for the workload parser: every input
 * is handed to mts_workload_parse() as the text of a workload file.  The
 * parser must return an error with a "FILE:LINE:" message or a workload
 * that satisfies the format's promises (workload.h), never crash, leak or
 * hit undefined behaviour (ASan + UBSan, see build.sh). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/workload.h"
#include "runtime/mts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what) {
  fprintf(stderr, "fuzz_workload: %s\n", what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The parser takes a C string: a NUL inside simply ends the text (the
   * file loader rejects such files before parsing). */
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  mts_workload_t *w = NULL;
  int rc = mts_workload_parse(text, "fuzz/w.json", &w);
  if (rc == 0) {
    if (!w || !w->name || !w->path) fail("success without a workload");
    if (w->n_tenants < 1 || w->n_tenants > MTS_MAX_TENANTS) fail("tenant count");
    if (!(w->duration_s > 0) || !isfinite(w->duration_s)) fail("duration");
    if (!(w->warmup_s >= 0 && w->warmup_s < w->duration_s)) fail("warmup");
    if (w->cores_per_query < 1) fail("cores_per_query");
    int n_trace = 0;
    for (int i = 0; i < w->n_tenants; i++) {
      const mts_tenant_t *t = &w->tenants[i];
      if (!t->name || !t->name[0] || !t->model || !t->model[0]) fail("names");
      if (mts_workload_tenant(w, t->name) != i) fail("duplicate tenant");
      if ((t->qos_ms > 0) == (t->qos_x_solo > 0)) fail("qos");
      if (t->arrival < 0 || t->arrival >= MTS_ARRIVAL_COUNT) fail("arrival");
      if (t->arrival == MTS_ARRIVAL_TRACE) n_trace++;
      else if (!(t->rate_qps > 0)) fail("rate");
      if (t->arrival == MTS_ARRIVAL_BURSTY && !(t->cv > 0)) fail("cv");
    }
    if ((n_trace > 0) != (w->trace != NULL)) fail("trace file vs trace tenants");
  } else {
    if (w) fail("an error must leave *out NULL");
    if (rc != MTS_EPARSE) fail("error other than MTS_EPARSE");
    if (strncmp(mts_errmsg(), "fuzz/w.json:", 12) != 0) fail("message without file name");
  }
  mts_workload_destroy(w);
  free(text);
  return 0;
}
