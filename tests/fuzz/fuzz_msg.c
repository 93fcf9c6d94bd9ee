/* fuzz_msg.c — libFuzzer target for the worker's message decoder: every
 * input is unpacked as a packed Msg (mts__msg__unpack, as mts_msg_poll does)
 * and, if it decodes, checked by mts_worker_validate() in four fixed worker
 * states (msg_limits.h: before Load, serving, and two variants).  Neither
 * may crash, leak or hit undefined behaviour; a Load or Dispatch the
 * validator accepts must really be safe to act on (checked again here,
 * independently of validate.c). */
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

static int in_list(int v, const int *a, int n) {
  for (int i = 0; i < n; i++)
    if (a[i] == v) return 1;
  return 0;
}

static void check_accepted_dispatch(const Mts__Dispatch *d,
                                    const mts_worker_limits_t *l) {
  if (!l->loaded) fail("dispatch accepted before Load");
  if (d->model < 0 || d->model >= l->n_models) fail("model accepted");
  if (d->n_cores < 1 || d->n_cores > (size_t)l->n_home ||
      d->n_cores > (size_t)l->max_cores)
    fail("core count accepted");
  if (l->n_core_counts && !in_list((int)d->n_cores, l->core_counts, l->n_core_counts))
    fail("uncompiled core count accepted");
  for (size_t i = 0; i < d->n_cores; i++) {
    if (!in_list(d->cores[i], l->home, l->n_home)) fail("foreign core accepted");
    for (size_t j = 0; j < i; j++)
      if (d->cores[j] == d->cores[i]) fail("repeated core accepted");
  }
  if (d->first < 0 || d->last <= d->first || d->last > l->n_layers[d->model])
    fail("layer range accepted");
}

static void check_accepted_load(const Mts__Load *ld, const mts_worker_limits_t *l) {
  if (l->loaded) fail("second Load accepted");
  if (ld->n_home_cores < 1 || ld->n_home_cores > (size_t)l->max_cores) fail("home accepted");
  if (ld->n_models < 1 || ld->n_models > (size_t)l->max_models) fail("model count accepted");
  for (size_t k = 0; k < ld->n_models; k++)
    if (!ld->models[k]->name[0]) fail("empty model name accepted");
  for (size_t i = 0; i < ld->n_core_counts; i++)
    if (ld->core_counts[i] < 1 || (size_t)ld->core_counts[i] > ld->n_home_cores)
      fail("core count accepted");
  if (ld->contexts < 0 || ld->contexts > 256) fail("context count accepted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Mts__Msg *m = mts__msg__unpack(NULL, size, data);
  if (!m) return 0; /* undecodable: mts_msg_poll reports it */
  /* Worker states: waiting for Load; serving (msg_limits.h); serving with
   * any core count allowed; a one-core, one-model worker. */
  mts_worker_limits_t states[4] = {test_msg_limits(0), test_msg_limits(1),
                                   test_msg_limits(1), test_msg_limits(1)};
  states[2].n_core_counts = 0;
  states[2].core_counts = NULL;
  states[3].n_models = 1;
  states[3].max_models = 1;
  states[3].n_home = 1;
  states[3].n_core_counts = 1;
  states[3].max_cores = 1;
  for (int k = 0; k < 4; k++) {
    const mts_worker_limits_t *l = &states[k];
    char err[256];
    int rc = mts_worker_validate(m, l, err, sizeof err);
    if (rc != 0 && (rc != MTS_EPROTO || !err[0])) fail("error without a message");
    if (rc == 0) {
      if (err[0]) fail("message on success");
      if (m->body_case == MTS__MSG__BODY_DISPATCH)
        check_accepted_dispatch(m->dispatch, l);
      else if (m->body_case == MTS__MSG__BODY_LOAD)
        check_accepted_load(m->load, l);
      else if (m->body_case == MTS__MSG__BODY_RELEASE) {
        if (!l->loaded) fail("Release accepted before Load");
      } else if (m->body_case != MTS__MSG__BODY_SHUTDOWN)
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
