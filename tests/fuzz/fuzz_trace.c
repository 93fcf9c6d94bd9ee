/* fuzz_trace.c — libFuzzer target for the CSV trace parser: every input is
 * parsed by mts_trace_parse() against a fixed workload with two trace
 * tenants ("a", "b") and one Poisson tenant ("c").  The parser must return
 * an error or a schedule sorted by time with only trace tenants in it,
 * never crash, leak or hit undefined behaviour (ASan + UBSan). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/arrivals.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char workload_text[] =
    "{\"name\": \"fuzz\", \"duration_s\": 2, \"trace\": \"t.csv\", \"tenants\": [\n"
    " {\"name\": \"a\", \"model\": \"tiny\", \"qos_ms\": 20, \"arrival\": {\"process\": \"trace\"}},\n"
    " {\"name\": \"b\", \"model\": \"tiny\", \"qos_ms\": 30, \"arrival\": {\"process\": \"trace\"}},\n"
    " {\"name\": \"c\", \"model\": \"tiny\", \"qos_ms\": 40,\n"
    "  \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 50}}]}\n";

static mts_workload_t *wl;

static void fail(const char *what) {
  fprintf(stderr, "fuzz_trace: %s\n", what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!wl && mts_workload_parse(workload_text, "fuzz/w.json", &wl) != 0)
    fail(mts_errmsg());
  /* A private copy without a terminator: the parser must respect len. */
  char *text = malloc(size ? size : 1);
  if (!text) return 0;
  memcpy(text, data, size);
  mts_arrival_t *a = NULL;
  size_t n = 0;
  int rc = mts_trace_parse(text, size, "fuzz/t.csv", wl, &a, &n);
  if (rc == 0) {
    if (!a || n == 0) fail("success without arrivals");
    for (size_t i = 0; i < n; i++) {
      if (a[i].t_us < 0) fail("negative time");
      if (a[i].tenant != 0 && a[i].tenant != 1) fail("non-trace tenant");
      if (i && a[i].t_us < a[i - 1].t_us) fail("not sorted");
    }
  } else {
    if (a || n) fail("an error must leave no schedule");
    if (strncmp(mts_errmsg(), "fuzz/t.csv", 10) != 0) fail("message without file name");
  }
  free(a);
  free(text);
  return 0;
}
