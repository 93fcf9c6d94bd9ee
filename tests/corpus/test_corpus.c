/* test_corpus.c — the bad-input corpus: every file under tests/corpus/
 * {onnx,workload,trace,msg}/ is a malformed input a user (or a broken
 * coordinator) could hand mtserve, and expected.tsv says, per file, the error
 * code it must produce and a substring of the message, so that the message
 * stays useful (names the file, line, node or field) and not only non-zero.
 *
 * expected.tsv: PATH<TAB>CODE<TAB>SUBSTRING, PATH relative to tests/corpus,
 * CODE an MTS_E* name; '#' lines are comments.  How each kind is loaded:
 *   onnx/      mts_onnx_load(path)
 *   workload/  mts_workload_load(path)
 *   trace/     mts_trace_read(path) against workload/trace_base.json.txt
 *              (tenants a and b replay the trace, c is Poisson)
 *   msg/       mts__msg__unpack (as mts_msg_poll: undecodable -> MTS_EPROTO
 *              "undecodable"), then mts_worker_validate() against
 *              tests/fuzz/msg_limits.h, Load before and the rest after Load.
 * The test also fails for a corpus file missing from the table and for a
 * table row without its file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/arrivals.h"
#include "coordinator/workload.h"
#include "runtime/graph.h"
#include "runtime/mts.h"
#include "runtime/onnx/onnx.h"
#include "tests/fuzz/msg_limits.h"
#include "workers/validate.h"

#ifndef CORPUS_DIR
#define CORPUS_DIR "tests/corpus"
#endif

#define MAX_ROWS 256

typedef struct {
  char path[1024];
  char code[1024];
  char substr[1024];
  int seen;
} row_t;

static row_t rows[MAX_ROWS];
static int n_rows;

static int code_of(const char *name) {
#define MTS_ERR_NAME(n, val, str) if (!strcmp(name, #n)) return (val);
  MTS_ERRORS(MTS_ERR_NAME)
#undef MTS_ERR_NAME
  fail_msg("expected.tsv: unknown code %s", name);
  return 1;
}

static void read_table(void) {
  char line[1024];
  FILE *f = fopen(CORPUS_DIR "/expected.tsv", "r");
  assert_non_null(f);
  n_rows = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0] || line[0] == '#') continue;
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t1 || !t2) fail_msg("expected.tsv: bad row '%s'", line);
    *t1 = *t2 = '\0';
    assert_true(n_rows < MAX_ROWS);
    row_t *r = &rows[n_rows++];
    snprintf(r->path, sizeof r->path, "%s", line);
    snprintf(r->code, sizeof r->code, "%s", t1 + 1);
    snprintf(r->substr, sizeof r->substr, "%s", t2 + 1);
    r->seen = 0;
  }
  fclose(f);
}

static int load_onnx(const char *path) {
  mts_graph_t *g = NULL;
  int rc = mts_onnx_load(path, &g);
  if (rc != 0) assert_null(g);
  mts_graph_destroy(g);
  return rc;
}

static int load_workload(const char *path) {
  mts_workload_t *w = NULL;
  int rc = mts_workload_load(path, &w);
  if (rc != 0) assert_null(w);
  mts_workload_destroy(w);
  return rc;
}

static int load_trace(const char *path) {
  mts_workload_t *w = NULL;
  mts_arrival_t *a = NULL;
  size_t n = 0;
  assert_int_equal(mts_workload_load(CORPUS_DIR "/trace/trace_base.json.txt", &w), 0);
  int rc = mts_trace_read(path, w, &a, &n);
  if (rc != 0) {
    assert_null(a);
    assert_int_equal(n, 0);
  }
  free(a);
  mts_workload_destroy(w);
  return rc;
}

static int load_msg(const char *path) {
  size_t n;
  char *buf = NULL;
  if (mts_read_file(path, &buf, &n) != 0) fail_msg("%s", mts_errmsg());
  Mts__Msg *m = mts__msg__unpack(NULL, n, (const uint8_t *)buf);
  free(buf);
  if (!m) return mts_seterr(MTS_EPROTO, "undecodable message of %zu bytes", n);
  mts_worker_limits_t lim = test_msg_limits(m->body_case != MTS__MSG__BODY_LOAD);
  char err[256];
  int rc = mts_worker_validate(m, &lim, err, sizeof err);
  /* the caller's buffer and the thread's message say the same */
  if (rc != 0) assert_string_equal(err, mts_errmsg());
  mts__msg__free_unpacked(m, NULL);
  return rc;
}

static void test_table(void **state) {
  (void)state;
  int bad = 0;
  read_table();
  assert_true(n_rows > 0);
  for (int i = 0; i < n_rows; i++) {
    row_t *r = &rows[i];
    char path[2048];
    if (snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, r->path) >=
        (int)sizeof path)
      fail_msg("path too long: %s", r->path);
    mts_clearerr();
    int rc = 1;
    if (!strncmp(r->path, "onnx/", 5)) rc = load_onnx(path);
    else if (!strncmp(r->path, "workload/", 9)) rc = load_workload(path);
    else if (!strncmp(r->path, "trace/", 6)) rc = load_trace(path);
    else if (!strncmp(r->path, "msg/", 4)) rc = load_msg(path);
    else fail_msg("expected.tsv: %s: unknown kind", r->path);
    const char *msg = mts_errmsg();
    /* every mismatch is listed before the test fails */
    if (rc != code_of(r->code) || !strstr(msg, r->substr)) {
      print_error("%s: got %d (%s) \"%s\", expected %s with \"%s\"\n",
                  r->path, rc, mts_strerror(rc), msg, r->code, r->substr);
      bad++;
    }
    r->seen = 1;
  }
  if (bad) fail_msg("%d of %d corpus cases give the wrong error", bad, n_rows);
}

/* Every corpus file has a row (a case without an expectation proves nothing). */
static void test_table_covers_files(void **state) {
  (void)state;
  static const char *const kinds[] = {"onnx", "workload", "trace", "msg"};
  read_table();
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", CORPUS_DIR, kinds[k]);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.' || strstr(e->d_name, "_base.")) continue;
      char p[1024];
      if (snprintf(p, sizeof p, "%s/%s", kinds[k], e->d_name) >= (int)sizeof p)
        fail_msg("name too long: %s", e->d_name);
      int found = 0;
      for (int i = 0; i < n_rows; i++) found |= !strcmp(rows[i].path, p);
      if (!found) fail_msg("%s has no row in expected.tsv", p);
      files++;
    }
    closedir(d);
    if (files == 0) fail_msg("no %s cases", kinds[k]);
  }
}

/* The validator must also accept what the coordinator really sends (a
 * validator that rejects everything would pass the table above) and apply
 * the state rules: Load only once, Dispatch only after it. */
static void test_validate_accepts(void **state) {
  (void)state;
  mts_worker_limits_t fresh = test_msg_limits(0), serving = test_msg_limits(1);
  char err[256];
  int32_t home[] = {1, 0}, cc[] = {1, 2}, one[] = {1};
  Mts__ModelSpec s0 = MTS__MODEL_SPEC__INIT, s1 = MTS__MODEL_SPEC__INIT;
  Mts__ModelSpec *sp[] = {&s0, &s1};
  s0.name = "tiny";
  s1.id = 1;
  s1.name = "resnet50";
  Mts__Load ld = MTS__LOAD__INIT;
  ld.n_home_cores = 2;
  ld.home_cores = home;
  ld.n_core_counts = 2;
  ld.core_counts = cc;
  ld.n_models = 2;
  ld.models = sp;
  ld.solo_iters = 7;
  Mts__Msg m = MTS__MSG__INIT;
  m.body_case = MTS__MSG__BODY_LOAD;
  m.load = &ld;
  assert_int_equal(mts_worker_validate(&m, &fresh, err, sizeof err), 0);
  assert_string_equal(err, "");
  assert_int_equal(mts_worker_validate(&m, &serving, err, sizeof err), MTS_EPROTO);
  assert_string_equal(err, "bad load: models are already loaded");
  s1.id = 0;
  assert_int_equal(mts_worker_validate(&m, &fresh, err, sizeof err), MTS_EPROTO);
  assert_string_equal(err, "bad load: model 1 ('resnet50') has id 0");
  s1.id = 1;
  ld.solo_iters = 1 << 30;
  assert_int_equal(mts_worker_validate(&m, &fresh, err, sizeof err), MTS_EPROTO);
  ld.solo_iters = 0;
  ld.fault = "exit";
  ld.fault_after = 3;
  assert_int_equal(mts_worker_validate(&m, &fresh, err, sizeof err), 0);

  Mts__Dispatch d = MTS__DISPATCH__INIT;
  d.model = 1;
  d.first = 4;
  d.last = 5; /* the last layer of a 5-layer model */
  d.n_cores = 2;
  d.cores = home;
  d.release = 1;
  m.body_case = MTS__MSG__BODY_DISPATCH;
  m.dispatch = &d;
  assert_int_equal(mts_worker_validate(&m, &serving, err, sizeof err), 0);
  assert_int_equal(mts_worker_validate(&m, &fresh, err, sizeof err), MTS_EPROTO);
  assert_string_equal(err, "bad dispatch: no models loaded yet");
  d.n_cores = 1;
  d.cores = one;
  assert_int_equal(mts_worker_validate(&m, &serving, err, sizeof err), 0);
  /* a core count that was never compiled */
  int only2[] = {2};
  serving.core_counts = only2;
  serving.n_core_counts = 1;
  assert_int_equal(mts_worker_validate(&m, &serving, err, sizeof err), MTS_EPROTO);
  assert_string_equal(err, "bad dispatch: 1 cores is not a compiled core count");
  serving = test_msg_limits(1);
  d.version = -1;
  assert_int_equal(mts_worker_validate(&m, &serving, err, sizeof err), MTS_EPROTO);
  assert_string_equal(err, "bad dispatch: version -1");

  Mts__Shutdown sd = MTS__SHUTDOWN__INIT;
  m.body_case = MTS__MSG__BODY_SHUTDOWN;
  m.shutdown = &sd;
  assert_int_equal(mts_worker_validate(&m, &fresh, err, sizeof err), 0);
  assert_int_equal(mts_worker_validate(&m, &serving, NULL, 0), 0);
  assert_int_equal(mts_worker_validate(NULL, &serving, NULL, 0), MTS_EPROTO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate_accepts),
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_table_covers_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
