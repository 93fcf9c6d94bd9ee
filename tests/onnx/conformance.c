/* conformance.c — ONNX node-test conformance of importer + executor.
 *
 * For every directory under DATA/node/ (Debian's libonnx-testdata layout:
 * model.onnx and test_data_set_0/{input,output}_N.pb) the program imports
 * the model, compiles it for one core, runs it on the inputs and compares
 * with the expected outputs.  Tests whose model the importer or executor
 * rejects as unsupported are skipped, each with the reason; a test that
 * imports and compiles but computes wrong values (or fails otherwise) is a
 * failure, and any failure makes the exit status 1.
 *
 * Node tests feed everything, including shapes and indices, as graph
 * inputs.  The IR wants those as constants, so integer inputs are injected
 * as initializers from their .pb files; if the model is still unsupported,
 * every input but the first is injected (e.g. Clip's min/max).
 *
 * Usage: onnx_conformance [DATA_DIR] [-v] [-k SUBSTRING] */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "runtime/exec.h"
#include "runtime/mts.h"
#include "runtime/onnx/onnx.h"

#define MAX_TESTS 2048

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

static int is_init(const Onnx__GraphProto *g, const char *name) {
  for (size_t i = 0; i < g->n_initializer; i++)
    if (!strcmp(g->initializer[i]->name, name)) return 1;
  return 0;
}

static int input_elem_type(const Onnx__ValueInfoProto *v) {
  if (!v->type || v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    return -1;
  return v->type->tensor_type->has_elem_type ? v->type->tensor_type->elem_type : 0;
}

/* Injects the data inputs selected by `mode` (1: integer-typed ones, 2: all
 * but the first) as initializers; fills which graph-input positions (in
 * the test files' numbering) remain inputs.  Returns packed model bytes. */
static uint8_t *inject(const uint8_t *buf, size_t len, const char *dir,
                       int mode, size_t *out_len, int *remain, int *n_remain,
                       int *n_total) {
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
  if (!m || !m->graph) {
    if (m) onnx__model_proto__free_unpacked(m, NULL);
    return NULL;
  }
  Onnx__GraphProto *g = m->graph;
  Onnx__TensorProto *added[64];
  int n_added = 0, pos = 0, first = 1;
  size_t old_n = g->n_initializer;
  Onnx__TensorProto **old = g->initializer;
  Onnx__TensorProto **inits = calloc(old_n + 64, sizeof *inits);
  if (old_n) memcpy(inits, old, old_n * sizeof *inits);
  char *orig_names[64];
  *n_remain = 0;
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *v = g->input[i];
    if (is_init(g, v->name)) continue;
    int k = pos++;
    int et = input_elem_type(v);
    int want = mode == 1 ? (et > 0 && et != 1) : (!first && et > 0);
    if (mode == 0) want = 0;
    first = 0;
    if (want && n_added < 64) {
      char p[4200];
      size_t tl;
      snprintf(p, sizeof p, "%s/test_data_set_0/input_%d.pb", dir, k);
      uint8_t *tb = slurp(p, &tl);
      Onnx__TensorProto *t = tb ? onnx__tensor_proto__unpack(NULL, tl, tb) : NULL;
      free(tb);
      /* The test files store (b)float16 as uint16 bit patterns. */
      if (t && (et == 10 || et == 16) && t->data_type == 4) t->data_type = et;
      if (t) {
        orig_names[n_added] = t->name;
        t->name = v->name; /* borrowed; restored before free */
        added[n_added++] = t;
        inits[old_n + (size_t)n_added - 1] = t;
        continue;
      }
    }
    remain[(*n_remain)++] = k;
  }
  *n_total = pos;
  g->initializer = inits;
  g->n_initializer = old_n + (size_t)n_added;
  *out_len = onnx__model_proto__get_packed_size(m);
  uint8_t *res = malloc(*out_len + 1);
  onnx__model_proto__pack(m, res);
  g->initializer = old;
  g->n_initializer = old_n;
  free(inits);
  for (int i = 0; i < n_added; i++) {
    added[i]->name = orig_names[i];
    onnx__tensor_proto__free_unpacked(added[i], NULL);
  }
  onnx__model_proto__free_unpacked(m, NULL);
  return res;
}

/* Looser tolerance for transcendental ops that oneDNN approximates. */
static double tolerance(const char *test) {
  static const char *const loose[] = {"erf", "gelu", "pow", "exp", "log",
                                      "softmax", "sigmoid", "tanh", "lrn",
                                      "layer_norm", "hardswish", NULL};
  for (int i = 0; loose[i]; i++)
    if (strstr(test, loose[i])) return 1e-3;
  return 1e-4;
}

typedef enum { R_PASS, R_FAIL, R_SKIP } result_t;

/* Compares output o with output_o.pb; 0 when within tolerance. */
static int compare(const char *dir, int o, const float *got, int64_t n,
                   double tol, char *why, size_t cap) {
  char path[4200];
  float *want;
  int nd;
  int64_t dims[MTS_MAX_DIMS], wn = 1;
  snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, o);
  if (mts_tensor_file_read(path, &want, &nd, dims)) {
    snprintf(why, cap, "output %d: %s", o, mts_errmsg());
    return -1;
  }
  for (int k = 0; k < nd; k++) wn *= dims[k];
  int rc = 0;
  if (wn != n) {
    snprintf(why, cap, "output %d has %lld elements, expected %lld", o,
             (long long)n, (long long)wn);
    rc = -1;
  }
  for (int64_t i = 0; i < n && !rc; i++) {
    double a = got[i], b = want[i];
    if (a != b && (isnan(b) ? !isnan(a) : !(fabs(a - b) <= tol + tol * fabs(b)))) {
      snprintf(why, cap, "output %d element %lld: got %g, expected %g (tol %g)",
               o, (long long)i, a, b, tol);
      rc = -1;
    }
  }
  free(want);
  return rc;
}

/* One attempt with injection mode `mode`; R_SKIP means "unsupported". */
static result_t run_mode(const char *dir, const char *test,
                         const uint8_t *buf, size_t len, int mode, char *why,
                         size_t cap) {
  char path[4200];
  mts_graph_t *g = NULL;
  mts_model_t *m = NULL;
  mts_ctx_t *c = NULL;
  result_t res = R_FAIL;
  int remain[64], n_remain = 0, n_total = 0, rc;
  size_t ml;
  double tol = tolerance(test);
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  uint8_t *mb = inject(buf, len, dir, mode, &ml, remain, &n_remain, &n_total);
  if (!mb) {
    snprintf(why, cap, "model does not decode");
    return R_FAIL;
  }
  rc = mts_onnx_load_buffer(mb, ml, path, &g);
  free(mb);
  if (rc) {
    snprintf(why, cap, "%s: %s", rc == MTS_EUNSUPPORTED ? "unsupported" :
             "import failed", mts_errmsg());
    return rc == MTS_EUNSUPPORTED ? R_SKIP : R_FAIL;
  }
  int n_const = 0;
  for (int o = 0; o < g->n_outputs; o++) {
    const mts_tensor_t *T = &g->tensors[g->outputs[o]];
    if (!T->data) continue;
    /* Folded at import: compare the constant itself. */
    n_const++;
    int64_t n = mts_tensor_numel(T);
    float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
      f[i] = T->dtype == MTS_F32 ? ((const float *)T->data)[i]
                                 : (float)((const int64_t *)T->data)[i];
    rc = compare(dir, o, f, n, tol, why, cap);
    free(f);
    if (rc) goto out;
  }
  if (n_const == g->n_outputs) {
    res = R_PASS;
    goto out;
  }
  if (n_const) {
    snprintf(why, cap, "unsupported: some outputs fold to constants");
    res = R_SKIP;
    goto out;
  }
  if (g->n_inputs == 0) {
    snprintf(why, cap, "unsupported: no run-time inputs");
    res = R_SKIP;
    goto out;
  }
  mts_compile_opts_t opts;
  memset(&opts, 0, sizeof opts);
  opts.n_core_counts = 1;
  opts.core_counts[0] = 1;
  rc = mts_model_compile(g, &opts, &m);
  if (rc == MTS_EUNSUPPORTED) {
    snprintf(why, cap, "unsupported by executor: %s", mts_errmsg());
    res = R_SKIP;
    goto out;
  }
  if (rc) {
    snprintf(why, cap, "compile failed: %s", mts_errmsg());
    goto out;
  }
  if ((rc = mts_ctx_create(m, &c))) {
    snprintf(why, cap, "ctx failed: %s", mts_errmsg());
    goto out;
  }
  if (mts_model_n_inputs(m) != n_remain) {
    snprintf(why, cap, "model has %d inputs, test feeds %d",
             mts_model_n_inputs(m), n_remain);
    goto out;
  }
  for (int i = 0; i < n_remain; i++) {
    float *d;
    int nd;
    int64_t dims[MTS_MAX_DIMS];
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, remain[i]);
    if (mts_tensor_file_read(path, &d, &nd, dims)) {
      snprintf(why, cap, "input %d: %s", remain[i], mts_errmsg());
      goto out;
    }
    int64_t n = 1;
    for (int k = 0; k < nd; k++) n *= dims[k];
    rc = mts_ctx_set_input(c, i, d, (size_t)n);
    free(d);
    if (rc) {
      snprintf(why, cap, "set input %d: %s", i, mts_errmsg());
      goto out;
    }
  }
  if ((rc = mts_model_run(m, c, 0, mts_model_n_layers(m), 1, 0, NULL))) {
    snprintf(why, cap, "run failed: %s", mts_errmsg());
    goto out;
  }
  for (int o = 0, eo = 0; o < g->n_outputs; o++) {
    int gnd;
    int64_t gd[MTS_MAX_DIMS], gn = 1;
    mts_model_output_shape(m, eo, &gnd, gd);
    for (int k = 0; k < gnd; k++) gn *= gd[k];
    float *got = malloc((size_t)(gn ? gn : 1) * sizeof(float));
    rc = mts_ctx_get_output(c, eo++, got, (size_t)gn);
    if (rc) snprintf(why, cap, "get output %d: %s", o, mts_errmsg());
    else rc = compare(dir, o, got, gn, tol, why, cap);
    free(got);
    if (rc) goto out;
  }
  res = R_PASS;
out:
  mts_ctx_destroy(c);
  mts_model_destroy(m);
  mts_graph_destroy(g);
  return res;
}

static result_t run_test(const char *root, const char *test, char *why,
                         size_t cap) {
  char dir[2048], path[4200];
  snprintf(dir, sizeof dir, "%s/%s", root, test);
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  size_t len;
  uint8_t *buf = slurp(path, &len);
  if (!buf) {
    snprintf(why, cap, "cannot read model.onnx");
    return R_SKIP;
  }
  result_t r = R_SKIP;
  for (int mode = 0; mode < 3 && r == R_SKIP; mode++)
    r = run_mode(dir, test, buf, len, mode, why, cap);
  free(buf);
  return r;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  const char *data = "/usr/share/libonnx-testdata/data/node";
  const char *filter = NULL;
  int verbose = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-v")) verbose = 1;
    else if (!strcmp(argv[i], "-k") && i + 1 < argc) filter = argv[++i];
    else data = argv[i];
  }
  DIR *d = opendir(data);
  if (!d) {
    printf("SKIP: %s not found (install libonnx-testdata)\n", data);
    return 77;
  }
  char *names[MAX_TESTS];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < MAX_TESTS)
    if (e->d_name[0] != '.' && (!filter || strstr(e->d_name, filter)))
      names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  int cnt[3] = {0, 0, 0};
  char why[1024];
  for (int i = 0; i < n; i++) {
    why[0] = 0;
    result_t r = run_test(data, names[i], why, sizeof why);
    cnt[r]++;
    if (r == R_PASS) printf("PASS %s\n", names[i]);
    else if (r == R_FAIL) printf("FAIL %s: %s\n", names[i], why);
    else if (verbose || 1) printf("SKIP %s: %s\n", names[i], why);
    free(names[i]);
  }
  printf("\nconformance: %d passed, %d failed, %d skipped (of %d)\n", cnt[R_PASS],
         cnt[R_FAIL], cnt[R_SKIP], n);
  return cnt[R_FAIL] ? 1 : 0;
}
