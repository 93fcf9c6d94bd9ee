/* test_proto.c — protocol messages: pack -> unpack round trips for every
 * message kind, golden bytes for a Dispatch (wire compatibility between
 * builds), and garbage is rejected rather than misread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mtserve.pb-c.h"

static Mts__Msg *roundtrip(const Mts__Msg *m) {
  size_t n = mts__msg__get_packed_size(m);
  uint8_t *buf = malloc(n);
  assert_int_equal(mts__msg__pack(m, buf), n);
  Mts__Msg *u = mts__msg__unpack(NULL, n, buf);
  free(buf);
  assert_non_null(u);
  assert_int_equal(u->body_case, m->body_case);
  return u;
}

static void test_dispatch_roundtrip_and_golden(void **state) {
  (void)state;
  Mts__Msg m = MTS__MSG__INIT;
  Mts__Dispatch d = MTS__DISPATCH__INIT;
  int32_t cores[2] = {3, 5};
  d.query = 42;
  d.model = 1;
  d.first = 2;
  d.last = 9;
  d.n_cores = 2;
  d.cores = cores;
  d.version = 1;
  d.release = 1;
  m.body_case = MTS__MSG__BODY_DISPATCH;
  m.dispatch = &d;
  /* golden: Msg.dispatch (field 4, len 16) { query 42, model 1, first 2,
   * last 9, cores packed [3,5], version 1, release true } */
  static const uint8_t golden[] = {0x22, 0x10, 0x08, 0x2a, 0x10, 0x01, 0x18, 0x02, 0x20, 0x09,
                                   0x2a, 0x02, 0x03, 0x05, 0x30, 0x01, 0x38, 0x01};
  uint8_t buf[64];
  size_t n = mts__msg__pack(&m, buf);
  assert_int_equal(n, sizeof golden);
  assert_memory_equal(buf, golden, sizeof golden);
  Mts__Msg *u = roundtrip(&m);
  assert_int_equal(u->dispatch->query, 42);
  assert_int_equal(u->dispatch->last, 9);
  assert_int_equal(u->dispatch->n_cores, 2);
  assert_int_equal(u->dispatch->cores[1], 5);
  assert_true(u->dispatch->release);
  mts__msg__free_unpacked(u, NULL);
}

static void test_completion_ready_hello_roundtrip(void **state) {
  (void)state;
  Mts__Msg m = MTS__MSG__INIT;
  Mts__Completion c = MTS__COMPLETION__INIT;
  double lus[3] = {1.5, 2.25, 3.0};
  c.query = 7;
  c.status = MTS__STATUS__STATUS_ERROR;
  c.error = "layer conv1: oneDNN error";
  c.start_us = 100;
  c.end_us = 250;
  c.n_layer_us = 3;
  c.layer_us = lus;
  m.body_case = MTS__MSG__BODY_COMPLETION;
  m.completion = &c;
  Mts__Msg *u = roundtrip(&m);
  assert_int_equal(u->completion->status, MTS__STATUS__STATUS_ERROR);
  assert_string_equal(u->completion->error, "layer conv1: oneDNN error");
  assert_int_equal(u->completion->n_layer_us, 3);
  assert_true(u->completion->layer_us[1] == 2.25);
  assert_int_equal(u->completion->end_us - u->completion->start_us, 150);
  mts__msg__free_unpacked(u, NULL);

  Mts__Msg h = MTS__MSG__INIT;
  Mts__Hello he = MTS__HELLO__INIT;
  Mts__Topology tp = MTS__TOPOLOGY__INIT;
  int32_t cores[4] = {0, 1, 2, 3}, llc[4] = {0, 0, 1, 1};
  tp.host = "node-a";
  tp.n_cores = 4;
  tp.cores = cores;
  tp.n_llc_of = 4;
  tp.llc_of = llc;
  tp.n_llc = 2;
  he.rank = 3;
  he.topology = &tp;
  h.body_case = MTS__MSG__BODY_HELLO;
  h.hello = &he;
  u = roundtrip(&h);
  assert_string_equal(u->hello->topology->host, "node-a");
  assert_int_equal(u->hello->topology->llc_of[3], 1);
  mts__msg__free_unpacked(u, NULL);

  Mts__Msg r = MTS__MSG__INIT;
  Mts__Ready rd = MTS__READY__INIT;
  Mts__ModelInfo mi = MTS__MODEL_INFO__INIT, *mis[1] = {&mi};
  Mts__LayerInfo li = MTS__LAYER_INFO__INIT, *lis[1] = {&li};
  double solo[2] = {10, 6};
  li.name = "conv1";
  li.n_solo_us = 2;
  li.solo_us = solo;
  mi.n_layers = 1;
  mi.layers = lis;
  rd.ok = 1;
  rd.n_models = 1;
  rd.models = mis;
  r.body_case = MTS__MSG__BODY_READY;
  r.ready = &rd;
  u = roundtrip(&r);
  assert_true(u->ready->ok);
  assert_string_equal(u->ready->models[0]->layers[0]->name, "conv1");
  assert_true(u->ready->models[0]->layers[0]->solo_us[1] == 6);
  mts__msg__free_unpacked(u, NULL);
}

static void test_garbage_rejected(void **state) {
  (void)state;
  static const uint8_t bad1[] = {0x22, 0x7f, 0x08}; /* length past the end */
  static const uint8_t bad2[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  assert_null(mts__msg__unpack(NULL, sizeof bad1, bad1));
  assert_null(mts__msg__unpack(NULL, sizeof bad2, bad2));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dispatch_roundtrip_and_golden),
      cmocka_unit_test(test_completion_ready_hello_roundtrip),
      cmocka_unit_test(test_garbage_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
