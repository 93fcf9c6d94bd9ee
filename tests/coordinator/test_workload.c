/* test_workload.c — workload parser: every good example loads with the
 * right fields, the built-ins load, and every bad example is rejected with
 * the exact "FILE:LINE: path: reason" message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/workload.h"
#include "runtime/mts.h"

static const char *datadir(void) {
  const char *d = getenv("MTS_TESTDATA");
  return d ? d : "tests/data";
}

static char *wpath(const char *sub, const char *name) {
  static char buf[4][1024];
  static int k;
  char *b = buf[k++ % 4];
  snprintf(b, sizeof buf[0], "%s/workloads/%s/%s", datadir(), sub, name);
  return b;
}

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Expected message after "<path>" for each bad file.  Keep in sync with
 * tests/data/workloads/bad/: test_bad_table_covers_dir checks that. */
static const struct {
  const char *file, *msg;
} bad_cases[] = {
    {"syntax.json", ":5:5: ']' expected near '{'"},
    {"duplicate_key.json", ":3:14: duplicate object key near '\"duration_s\"'"},
    {"not_object.json", ":1: (top level): must be an object, not an array"},
    {"missing_duration.json", ":1: (top level): missing key \"duration_s\""},
    {"missing_model.json", ":6: tenants[1]: missing key \"model\""},
    {"wrong_type.json", ":2: duration_s: must be a number, not a string"},
    {"unknown_key.json",
     ":7: tenants[0].qos: unknown key (allowed: name, model, qos_ms, "
     "qos_x_solo, arrival)"},
    {"negative_rate.json",
     ":9: tenants[1].arrival.rate_qps: must be a positive number"},
    {"both_qos.json",
     ":6: tenants[0].qos_x_solo: give either qos_ms or qos_x_solo, not both"},
    {"no_qos.json",
     ":5: tenants[0]: missing QoS target: give qos_ms or qos_x_solo"},
    {"zero_qos.json", ":4: tenants[0].qos_x_solo: must be a positive number"},
    {"duplicate_tenant.json",
     ":7: tenants[1].name: duplicate tenant name \"a\" (also tenants[0])"},
    {"unknown_process.json",
     ":5: tenants[0].arrival.process: unknown arrival process \"poison\" "
     "(expected poisson, bursty or trace)"},
    {"missing_trace.json",
     ":7: tenants[1].arrival.process: process \"trace\" needs a "
     "workload-level \"trace\" file"},
    {"trace_unused.json", ":3: trace: no tenant uses process \"trace\""},
    {"empty_trace_name.json", ":3: trace: must not be empty"},
    {"bursty_no_cv.json", ":5: tenants[0].arrival: missing key \"cv\""},
    {"cv_with_poisson.json",
     ":5: tenants[0].arrival.cv: only used with process \"bursty\""},
    {"no_tenants.json", ":3: tenants: needs at least one tenant"},
    {"warmup_too_long.json",
     ":3: warmup_s: must be >= 0 and less than duration_s (10)"},
    {"bad_seed.json", ":3: seed: must be an integer, not 1.5"},
    {"comma_name.json",
     ":5: tenants[0].name: \"a,b\": must not contain ',', '\"', '#', line "
     "breaks or leading/trailing spaces"},
    {"tenant_not_object.json",
     ":4: tenants[0]: must be an object, not a string"},
};
#define N_BAD (sizeof bad_cases / sizeof bad_cases[0])

static void test_bad_files(void **state) {
  (void)state;
  for (size_t i = 0; i < N_BAD; i++) {
    const char *p = wpath("bad", bad_cases[i].file);
    mts_workload_t *w = (mts_workload_t *)1;
    int rc = mts_workload_load(p, &w);
    char want[2048];
    snprintf(want, sizeof want, "%s%s", p, bad_cases[i].msg);
    if (rc != MTS_EPARSE || strcmp(mts_errmsg(), want) != 0)
      print_error("%s: rc %d\n  got:  %s\n  want: %s\n", bad_cases[i].file, rc,
                  mts_errmsg(), want);
    assert_int_equal(rc, MTS_EPARSE);
    assert_null(w);
    assert_string_equal(mts_errmsg(), want);
  }
}

/* Every file in bad/ must have an expected message, so a new bad example
 * cannot silently go untested. */
static void test_bad_table_covers_dir(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/workloads/bad", datadir());
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int found = 0;
    for (size_t i = 0; i < N_BAD; i++) found |= !strcmp(bad_cases[i].file, e->d_name);
    if (!found) print_error("bad/%s has no expected message\n", e->d_name);
    assert_true(found);
    n++;
  }
  closedir(d);
  assert_int_equal(n, (int)N_BAD);
}

static void test_good_files(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/workloads/good", datadir());
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    if (!ends_with(e->d_name, ".json")) continue;
    mts_workload_t *w = NULL;
    int rc = mts_workload_load(wpath("good", e->d_name), &w);
    if (rc) print_error("%s: %s\n", e->d_name, mts_errmsg());
    assert_int_equal(rc, 0);
    assert_non_null(w);
    assert_true(w->n_tenants > 0);
    assert_true(w->duration_s > 0);
    mts_workload_destroy(w);
    n++;
  }
  closedir(d);
  assert_true(n >= 3);
}

static void test_good_fields(void **state) {
  (void)state;
  mts_workload_t *w = NULL;
  char want[1200];

  assert_int_equal(mts_workload_load(wpath("good", "mixed.json"), &w), 0);
  assert_string_equal(w->name, "mixed");
  assert_string_equal(w->path, wpath("good", "mixed.json"));
  assert_true(w->duration_s == 30 && w->warmup_s == 1.5);
  assert_int_equal(w->seed, 42);
  assert_int_equal(w->cores_per_query, 2);
  assert_null(w->trace);
  assert_int_equal(w->n_tenants, 2);
  assert_string_equal(w->tenants[0].name, "steady");
  assert_string_equal(w->tenants[0].model, "resnet50");  /* zoo name kept */
  assert_true(w->tenants[0].qos_x_solo == 3.5 && w->tenants[0].qos_ms == 0);
  assert_int_equal(w->tenants[0].arrival, MTS_ARRIVAL_POISSON);
  assert_true(w->tenants[0].rate_qps == 5);
  snprintf(want, sizeof want, "%s/workloads/good/../models/net.onnx", datadir());
  assert_string_equal(w->tenants[1].model, want);  /* relative to the file */
  assert_true(w->tenants[1].qos_ms == 80 && w->tenants[1].qos_x_solo == 0);
  assert_int_equal(w->tenants[1].arrival, MTS_ARRIVAL_BURSTY);
  assert_true(w->tenants[1].rate_qps == 12.5 && w->tenants[1].cv == 2);
  assert_int_equal(mts_workload_tenant(w, "spiky"), 1);
  assert_int_equal(mts_workload_tenant(w, "nobody"), -1);
  mts_workload_destroy(w);

  /* defaults */
  assert_int_equal(mts_workload_load(wpath("good", "minimal.json"), &w), 0);
  assert_string_equal(w->name, "minimal");
  assert_true(w->warmup_s == 0);
  assert_int_equal(w->seed, 1);
  assert_int_equal(w->cores_per_query, 1);
  mts_workload_destroy(w);

  assert_int_equal(mts_workload_load(wpath("good", "trace.json"), &w), 0);
  snprintf(want, sizeof want, "%s/workloads/good/trace.csv", datadir());
  assert_string_equal(w->trace, want);
  assert_int_equal(w->tenants[0].arrival, MTS_ARRIVAL_TRACE);
  assert_int_equal(w->tenants[2].arrival, MTS_ARRIVAL_POISSON);
  mts_workload_destroy(w);
}

static void test_builtins(void **state) {
  (void)state;
  const char *const *names = mts_workload_builtin_names();
  int n = 0;
  for (; names[n]; n++) {
    mts_workload_t *w = NULL;
    int rc = mts_workload_builtin(names[n], &w);
    if (rc) print_error("%s: %s\n", names[n], mts_errmsg());
    assert_int_equal(rc, 0);
    assert_string_equal(w->name, names[n]);
    char pseudo[64];
    snprintf(pseudo, sizeof pseudo, "<builtin:%s>", names[n]);
    assert_string_equal(w->path, pseudo);
    mts_workload_destroy(w);
  }
  assert_int_equal(n, 5);

  mts_workload_t *w = NULL;
  assert_int_equal(mts_workload_builtin("demo", &w), 0);
  assert_int_equal(w->n_tenants, 3);
  assert_string_equal(w->tenants[0].model, "resnet50");
  assert_string_equal(w->tenants[1].model, "mobilenet_v2");
  assert_string_equal(w->tenants[2].model, "squeezenet1_1");
  for (int t = 0; t < 3; t++) assert_true(w->tenants[t].qos_x_solo == 4);
  assert_true(w->duration_s == 45 && w->warmup_s == 2);
  mts_workload_destroy(w);

  assert_int_equal(mts_workload_builtin("tiny", &w), 0);
  assert_int_equal(w->n_tenants, 2);
  assert_string_equal(w->tenants[0].model, "tiny");
  assert_true(w->tenants[0].qos_ms == 20 && w->tenants[1].qos_ms == 20);
  assert_true(w->duration_s == 5 && w->warmup_s == 0.5);
  mts_workload_destroy(w);

  /* The evaluation workloads: the zoo models, QoS as multiples of
   * solo latency, and one bursty tenant (CV > 1) each. */
  static const char *const eval[3][4] = {{"light", "mobilenet_v2", "squeezenet1_1", "googlenet"},
                                         {"medium", "resnet50", "googlenet", "mobilenet_v2"},
                                         {"heavy", "resnet50", "vgg16", "bert_base"}};
  for (int k = 0; k < 3; k++) {
    assert_int_equal(mts_workload_builtin(eval[k][0], &w), 0);
    assert_int_equal(w->n_tenants, 3);
    int bursty = 0;
    for (int t = 0; t < 3; t++) {
      assert_string_equal(w->tenants[t].model, eval[k][t + 1]);
      assert_true(w->tenants[t].qos_x_solo > 1 && w->tenants[t].qos_ms == 0);
      bursty += w->tenants[t].arrival == MTS_ARRIVAL_BURSTY && w->tenants[t].cv > 1;
    }
    assert_int_equal(bursty, 1);
    mts_workload_destroy(w);
  }

  assert_int_equal(mts_workload_builtin("nope", &w), MTS_ENOTFOUND);
  assert_null(w);
}

static void test_open(void **state) {
  (void)state;
  mts_workload_t *w = NULL;
  assert_int_equal(mts_workload_open("tiny", &w), 0);
  assert_string_equal(w->path, "<builtin:tiny>");
  mts_workload_destroy(w);

  assert_int_equal(mts_workload_open(wpath("good", "minimal.json"), &w), 0);
  assert_string_equal(w->name, "minimal");
  mts_workload_destroy(w);

  assert_int_equal(mts_workload_open("demo-typo", &w), MTS_ENOTFOUND);
  assert_null(w);
  assert_string_equal(mts_errmsg(),
                      "unknown workload 'demo-typo' (not a file; built-ins: "
                      "demo, tiny, light, medium, heavy)");
  /* looks like a file: reported as one */
  assert_int_equal(mts_workload_open("no/such/dir/w.json", &w), MTS_EIO);
  assert_string_equal(mts_errmsg(),
                      "no/such/dir/w.json: cannot open: No such file or directory");
  assert_int_equal(mts_workload_open("absent.json", &w), MTS_EIO);
  assert_null(w);
}

/* The position index must skip braces, brackets, escaped quotes and
 * escaped newlines inside strings when it counts lines. */
static void test_positions_in_tricky_text(void **state) {
  (void)state;
  const char *text =
      "{\"name\": \"odd {[\\\"\\n]} name\",\n"          /* 1 */
      " \"duration_s\": 1,\n"                          /* 2 */
      " \"tenants\": [{\"name\": \"x}\", \"model\": \"m\",\n" /* 3 */
      "   \"qos_ms\": 5, \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 1}},\n"
      "   {\"name\": \"y\", \"model\": \"m\", \"qos_ms\": 5,\n" /* 5 */
      "\n"
      "    \"arrival\": {\"process\": \"poisson\",\n"  /* 7 */
      "     \"rate_qps\": 0}}]}\n";                    /* 8 */
  mts_workload_t *w = NULL;
  assert_int_equal(mts_workload_parse(text, "mem.json", &w), MTS_EPARSE);
  assert_null(w);
  assert_string_equal(mts_errmsg(),
                      "mem.json:8: tenants[1].arrival.rate_qps: must be a "
                      "positive number");
  /* relative model paths resolve against the file's directory */
  const char *ok =
      "{\"duration_s\": 1, \"tenants\": [{\"name\": \"a\", \"model\": "
      "\"nets/a.onnx\", \"qos_ms\": 5, \"arrival\": {\"process\": \"poisson\", "
      "\"rate_qps\": 1}}]}";
  assert_int_equal(mts_workload_parse(ok, "/srv/w/load.json", &w), 0);
  assert_string_equal(w->tenants[0].model, "/srv/w/nets/a.onnx");
  assert_string_equal(w->name, "load");
  mts_workload_destroy(w);
  assert_int_equal(mts_workload_parse(ok, "load.json", &w), 0);
  assert_string_equal(w->tenants[0].model, "nets/a.onnx");
  mts_workload_destroy(w);
}

/* A UTF-8 byte-order mark (Windows editors) is skipped, not reported as an
 * invisible bad token; line numbers are unchanged by it. */
static void test_byte_order_mark(void **state) {
  (void)state;
  const char *text =
      "\xEF\xBB\xBF{\"duration_s\": 1,\n"
      " \"tenants\": [{\"name\": \"a\", \"model\": \"m\", \"qos_ms\": 5,\n"
      "   \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 1}}]}\n";
  mts_workload_t *w = NULL;
  assert_int_equal(mts_workload_parse(text, "bom.json", &w), 0);
  assert_int_equal(w->n_tenants, 1);
  mts_workload_destroy(w);
  const char *bad =
      "\xEF\xBB\xBF{\"duration_s\": 1,\n"
      " \"tenants\": [{\"name\": \"a\", \"model\": \"m\", \"qos_ms\": -5,\n"
      "   \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 1}}]}\n";
  assert_int_equal(mts_workload_parse(bad, "bom.json", &w), MTS_EPARSE);
  assert_string_equal(mts_errmsg(), "bom.json:2: tenants[0].qos_ms: must be a positive number");
  /* only at the very start */
  assert_int_equal(mts_workload_parse("\n\xEF\xBB\xBF{}", "bom.json", &w), MTS_EPARSE);
  assert_null(w);
}

static void test_too_many_tenants(void **state) {
  (void)state;
  size_t cap = 65536, len = 0;
  char *t = malloc(cap);
  len += (size_t)snprintf(t + len, cap - len, "{\"duration_s\": 1, \"tenants\": [\n");
  for (int i = 0; i <= MTS_MAX_TENANTS; i++)
    len += (size_t)snprintf(t + len, cap - len,
                            "%s{\"name\": \"t%d\", \"model\": \"m\", \"qos_ms\": 1, "
                            "\"arrival\": {\"process\": \"poisson\", \"rate_qps\": 1}}\n",
                            i ? "," : "", i);
  snprintf(t + len, cap - len, "]}\n");
  mts_workload_t *w = NULL;
  assert_int_equal(mts_workload_parse(t, "many.json", &w), MTS_EPARSE);
  assert_string_equal(mts_errmsg(), "many.json:1: tenants: at most 64 tenants (got 65)");
  free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_bad_table_covers_dir),
      cmocka_unit_test(test_good_files),
      cmocka_unit_test(test_good_fields),
      cmocka_unit_test(test_builtins),
      cmocka_unit_test(test_open),
      cmocka_unit_test(test_positions_in_tricky_text),
      cmocka_unit_test(test_too_many_tenants),
      cmocka_unit_test(test_byte_order_mark),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
