/* fuzz_msg.c — libFuzzer target for the worker's message decoder: every
 * input is unpacked as a packed Msg (mts__msg__unpack, as mts_msg_poll does)
 * and, if it decodes, checked by mts_worker_validate() against a fixed worker
 * state (msg_limits.h), both before and after Load.  Neither may crash, leak
 * or hit undefined behaviour; a Dispatch the validator accepts must really
 * be safe to run (checked again here independently). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mts.h"
#include "tests/fuzz/msg_limits.h"
#include "workers/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what) {
  fprintf(stderr, "fuzz_msg: %s\n", what);
  abort();
}

static void check_accepted_dispatch(const Mts__Dispatch *d,
                                    const mts_worker_limits_t *l) {
  if (d->model < 0 || d->model >= l->n_models) fail("model accepted");
  if (d->n_cores < 1 || d->n_cores > (size_t)l->n_home) fail("core count accepted");
  for (size_t i = 0; i < d->n_cores; i++) {
    int ok = 0;
    for (int h = 0; h < l->n_home; h++) ok |= l->home[h] == d->cores[i];
    if (!ok) fail("foreign core accepted");
  }
  if (d->first < 0 || d->last <= d->first || d->last > l->n_layers[d->model])
    fail("layer range accepted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Mts__Msg *m = mts__msg__unpack(NULL, size, data);
  if (!m) return 0; /* undecodable: mts_msg_poll reports it */
  for (int loaded = 0; loaded < 2; loaded++) {
    mts_worker_limits_t l = test_msg_limits(loaded);
    char err[256];
    int rc = mts_worker_validate(m, &l, err, sizeof err);
    if (rc != 0 && (rc != MTS_EPROTO || !err[0])) fail("error without a message");
    if (rc == 0) {
      if (err[0]) fail("message on success");
      if (m->body_case == MTS__MSG__BODY_DISPATCH)
        check_accepted_dispatch(m->dispatch, &l);
      else if (m->body_case == MTS__MSG__BODY_LOAD && loaded)
        fail("second Load accepted");
      else if (m->body_case != MTS__MSG__BODY_LOAD &&
               m->body_case != MTS__MSG__BODY_SHUTDOWN)
        fail("unexpected kind accepted");
    }
  }
  /* What decoded must pack again (the coordinator side relies on it). */
  size_t n = mts__msg__get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  if (buf) {
    if (mts__msg__pack(m, buf) != n) fail("pack size");
    free(buf);
  }
  mts__msg__free_unpacked(m, NULL);
  return 0;
}
