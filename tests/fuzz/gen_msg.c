/* gen_msg.c — writes packed example messages (one file each) into a
 * directory: valid Load/Dispatch/Shutdown/Release messages (seed corpus for
 * fuzz_msg) and with -b the bad ones kept in tests/corpus/msg/ (truncated,
 * wrong kind, bad core, bad layer range, unknown model ...).  The worker
 * state they are meant for is tests/fuzz/msg_limits.h.
 *
 *   gen_msg DIR        good seeds: load.bin dispatch.bin ...
 *   gen_msg -b DIR     the corpus cases (tests/fuzz/build.sh uses both) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtserve.pb-c.h"

static const char *dir;

static void put(const char *name, const uint8_t *buf, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

/* Packs m; keep bytes of it (all if keep is (size_t)-1). */
static void write_msg(const char *name, const Mts__Msg *m, size_t keep) {
  size_t n = mts__msg__get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  mts__msg__pack(m, buf);
  put(name, buf, keep < n ? keep : n);
  free(buf);
}

static void dispatch(const char *name, int model, int first, int last,
                     const int32_t *cores, size_t n_cores) {
  Mts__Msg m = MTS__MSG__INIT;
  Mts__Dispatch d = MTS__DISPATCH__INIT;
  d.query = 42;
  d.model = model;
  d.first = first;
  d.last = last;
  d.cores = (int32_t *)cores;
  d.n_cores = n_cores;
  d.sent_us = 123456;
  m.body_case = MTS__MSG__BODY_DISPATCH;
  m.dispatch = &d;
  write_msg(name, &m, (size_t)-1);
}

static void load(const char *name, const int32_t *home, size_t n_home,
                 const int32_t *cc, size_t n_cc, const char *fault,
                 size_t keep) {
  Mts__Msg m = MTS__MSG__INIT;
  Mts__Load ld = MTS__LOAD__INIT;
  Mts__ModelSpec s0 = MTS__MODEL_SPEC__INIT, s1 = MTS__MODEL_SPEC__INIT;
  Mts__ModelSpec *sp[2] = {&s0, &s1};
  s0.id = 0;
  s0.name = "tiny";
  s1.id = 1;
  s1.name = "models/x.onnx";
  ld.home_cores = (int32_t *)home;
  ld.n_home_cores = n_home;
  ld.core_counts = (int32_t *)cc;
  ld.n_core_counts = n_cc;
  ld.models = sp;
  ld.n_models = 2;
  ld.solo_iters = 7;
  ld.log_path = "out/rank-1.jsonl";
  ld.coord_host = "localhost";
  ld.coord_pid = 1234;
  ld.fault = (char *)fault;
  m.body_case = MTS__MSG__BODY_LOAD;
  m.load = &ld;
  write_msg(name, &m, keep);
}

int main(int argc, char **argv) {
  int bad = argc == 3 && !strcmp(argv[1], "-b");
  if (argc != 2 && !bad) {
    fprintf(stderr, "usage: gen_msg [-b] DIR\n");
    return 2;
  }
  dir = argv[argc - 1];
  const int32_t home[] = {0, 1}, cc[] = {1, 2}, one[] = {1}, far[] = {0, 7},
                twice[] = {1, 1}, cc3[] = {1, 3};
  if (!bad) {
    Mts__Msg m = MTS__MSG__INIT;
    Mts__Shutdown s = MTS__SHUTDOWN__INIT;
    load("load.bin", home, 2, cc, 2, "", (size_t)-1);
    load("load_fault.bin", home, 2, cc, 2, "hang", (size_t)-1);
    dispatch("dispatch.bin", 0, 0, 10, home, 2);
    dispatch("dispatch_one.bin", 1, 2, 5, one, 1);
    s.reason = "done";
    m.body_case = MTS__MSG__BODY_SHUTDOWN;
    m.shutdown = &s;
    write_msg("shutdown.bin", &m, (size_t)-1);
    Mts__Release r = MTS__RELEASE__INIT;
    r.query = 7;
    m.body_case = MTS__MSG__BODY_RELEASE;
    m.release = &r;
    write_msg("release.bin", &m, (size_t)-1);
    return 0;
  }
  /* Corpus cases: the expected errors are in tests/corpus/expected.tsv. */
  load("truncated_load.bin", home, 2, cc, 2, "", 9);
  load("load_empty_home.bin", home, 0, cc, 2, "", (size_t)-1);
  load("load_core_count.bin", home, 2, cc3, 2, "", (size_t)-1);
  load("load_unknown_fault.bin", home, 2, cc, 2, "segv", (size_t)-1);
  dispatch("bad_core.bin", 0, 0, 10, far, 2);
  dispatch("core_twice.bin", 0, 0, 10, twice, 2);
  dispatch("no_cores.bin", 0, 0, 10, home, 0);
  dispatch("bad_layer_range.bin", 0, 4, 4, home, 2);
  dispatch("layer_past_end.bin", 1, 0, 6, home, 2);
  dispatch("unknown_model.bin", 2, 0, 1, home, 2);
  dispatch("negative_model.bin", -1, 0, 1, home, 2);
  {
    Mts__Msg m = MTS__MSG__INIT;
    Mts__Completion c = MTS__COMPLETION__INIT;
    c.query = 42;
    m.body_case = MTS__MSG__BODY_COMPLETION;
    m.completion = &c;
    write_msg("wrong_type.bin", &m, (size_t)-1);
    Mts__Msg e = MTS__MSG__INIT;
    write_msg("no_body.bin", &e, (size_t)-1);
  }
  {
    /* A truncated Dispatch: cut inside its packed cores field. */
    Mts__Msg m = MTS__MSG__INIT;
    Mts__Dispatch d = MTS__DISPATCH__INIT;
    d.model = 0;
    d.last = 10;
    d.cores = (int32_t *)home;
    d.n_cores = 2;
    m.body_case = MTS__MSG__BODY_DISPATCH;
    m.dispatch = &d;
    write_msg("truncated_dispatch.bin", &m, mts__msg__get_packed_size(&m) - 1);
  }
  /* Not protobuf at all. */
  const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                             0xff, 0xff, 0xff, 0x01, 0x47};
  put("garbage.bin", garbage, sizeof garbage);
  return 0;
}
