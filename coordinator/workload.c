/* workload.c — parses and validates workload descriptions (JSON, format in
 * workload.h) and holds the built-in workloads.
 *
 * jansson does the parsing; a position index built from the raw text
 * (jsonpos.c) lets every semantic error name the file, the line and the JSON
 * path of the offending value, because a workload is written by hand and a
 * message like "invalid workload" would leave the user guessing. */
#include "coordinator/workload.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coordinator/jsonpos.h"
#include "runtime/mts.h"

/* ---- built-in workloads ------------------------------------------------
 * The rates below are placeholders to be tuned on the target machine: the
 * demo should load the server noticeably without drowning it. */
static const char builtin_demo[] =
    "{\n"
    "  \"name\": \"demo\",\n"
    "  \"duration_s\": 45,\n"
    "  \"warmup_s\": 2,\n"
    "  \"seed\": 1,\n"
    "  \"tenants\": [\n"
    "    {\"name\": \"resnet50\", \"model\": \"resnet50\", \"qos_x_solo\": 4,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 4}},\n"
    "    {\"name\": \"mobilenet_v2\", \"model\": \"mobilenet_v2\", \"qos_x_solo\": 4,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 20}},\n"
    "    {\"name\": \"squeezenet1_1\", \"model\": \"squeezenet1_1\", \"qos_x_solo\": 4,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 20}}\n"
    "  ]\n"
    "}\n";

static const char builtin_tiny[] =
    "{\n"
    "  \"name\": \"tiny\",\n"
    "  \"duration_s\": 5,\n"
    "  \"warmup_s\": 0.5,\n"
    "  \"seed\": 1,\n"
    "  \"tenants\": [\n"
    "    {\"name\": \"tiny-a\", \"model\": \"tiny\", \"qos_ms\": 20,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 100}},\n"
    "    {\"name\": \"tiny-b\", \"model\": \"tiny\", \"qos_ms\": 20,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 50}}\n"
    "  ]\n"
    "}\n";

/* The evaluation workloads (README "Evaluation").  QoS targets are
 * multiples of each model's solo latency on one query's cores, so the same
 * file means the same thing on 2 or 64 cores; rates are written for this
 * 2-core machine at a moderate load (about a third of its cores busy
 * under fcfs) and `mtserve sweep` scales them.  Each mixes Poisson tenants
 * with one bursty tenant (gamma gaps, CV > 1). */
static const char builtin_light[] =
    "{\n"
    "  \"name\": \"light\",\n"
    "  \"duration_s\": 30,\n"
    "  \"warmup_s\": 2,\n"
    "  \"seed\": 1,\n"
    "  \"tenants\": [\n"
    "    {\"name\": \"mobilenet_v2\", \"model\": \"mobilenet_v2\", \"qos_x_solo\": 5,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 20}},\n"
    "    {\"name\": \"squeezenet1_1\", \"model\": \"squeezenet1_1\", \"qos_x_solo\": 5,\n"
    "     \"arrival\": {\"process\": \"bursty\", \"rate_qps\": 20, \"cv\": 2}},\n"
    "    {\"name\": \"googlenet\", \"model\": \"googlenet\", \"qos_x_solo\": 4,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 8}}\n"
    "  ]\n"
    "}\n";

static const char builtin_medium[] =
    "{\n"
    "  \"name\": \"medium\",\n"
    "  \"duration_s\": 30,\n"
    "  \"warmup_s\": 2,\n"
    "  \"seed\": 1,\n"
    "  \"tenants\": [\n"
    "    {\"name\": \"resnet50\", \"model\": \"resnet50\", \"qos_x_solo\": 4,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 2}},\n"
    "    {\"name\": \"googlenet\", \"model\": \"googlenet\", \"qos_x_solo\": 4,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 5}},\n"
    "    {\"name\": \"mobilenet_v2\", \"model\": \"mobilenet_v2\", \"qos_x_solo\": 5,\n"
    "     \"arrival\": {\"process\": \"bursty\", \"rate_qps\": 15, \"cv\": 2}}\n"
    "  ]\n"
    "}\n";

static const char builtin_heavy[] =
    "{\n"
    "  \"name\": \"heavy\",\n"
    "  \"duration_s\": 30,\n"
    "  \"warmup_s\": 2,\n"
    "  \"seed\": 1,\n"
    "  \"tenants\": [\n"
    "    {\"name\": \"resnet50\", \"model\": \"resnet50\", \"qos_x_solo\": 4,\n"
    "     \"arrival\": {\"process\": \"bursty\", \"rate_qps\": 2, \"cv\": 1.5}},\n"
    "    {\"name\": \"vgg16\", \"model\": \"vgg16\", \"qos_x_solo\": 3,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 0.5}},\n"
    "    {\"name\": \"bert_base\", \"model\": \"bert_base\", \"qos_x_solo\": 3,\n"
    "     \"arrival\": {\"process\": \"poisson\", \"rate_qps\": 0.5}}\n"
    "  ]\n"
    "}\n";

static const char *const builtin_names[] = {"demo", "tiny", "light", "medium", "heavy", NULL};
static const char *const builtin_texts[] = {builtin_demo, builtin_tiny, builtin_light, builtin_medium,
                                            builtin_heavy};

static const char *const process_names[MTS_ARRIVAL_COUNT] = {
    [MTS_ARRIVAL_POISSON] = "poisson",
    [MTS_ARRIVAL_BURSTY] = "bursty",
    [MTS_ARRIVAL_TRACE] = "trace",
};

/* ---- error reporting ---------------------------------------------------- */

typedef struct {
  const char *file;
  mts__jpos_t *pos;
} wctx_t;

/* Sets "FILE:LINE: PATH: reason" and returns MTS_EPARSE. */
static int perr(const wctx_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(const wctx_t *c, const char *path, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return mts_seterr(MTS_EPARSE, "%s:%d: %s: %s", c->file,
                    mts__jpos_line(c->pos, path), *path ? path : "(top level)",
                    msg);
}

/* buf = path.key (paths are short; an absurdly long key is cut). */
static void subpath(char *buf, size_t n, const char *path, const char *key) {
  size_t i = 0;
  for (const char *s = path; *s && i + 1 < n; s++) buf[i++] = *s;
  if (*path && i + 1 < n) buf[i++] = '.';
  for (const char *s = key; *s && i + 1 < n; s++) buf[i++] = *s;
  buf[i] = '\0';
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER:
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

/* Rejects keys of `obj` not in `allowed` (NULL-terminated). */
static int check_keys(const wctx_t *c, const json_t *obj, const char *path,
                      const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, key) == 0;
    if (!ok) {
      char list[256] = "", sp[256];
      for (const char *const *a = allowed; *a; a++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", *a);
      }
      subpath(sp, sizeof sp, path, key);
      return perr(c, sp, "unknown key (allowed: %s)", list);
    }
  }
  return 0;
}

/* Number member: *present says whether it was there; required ones that are
 * missing are errors naming the parent object. */
static int get_number(const wctx_t *c, const json_t *obj, const char *path,
                      const char *key, int required, double *out,
                      int *present) {
  char sp[256];
  json_t *v = json_object_get(obj, key);
  *present = v != NULL;
  if (!v) return required ? perr(c, path, "missing key \"%s\"", key) : 0;
  subpath(sp, sizeof sp, path, key);
  if (!json_is_number(v))
    return perr(c, sp, "must be a number, not %s", type_name(v));
  *out = json_number_value(v);
  if (!isfinite(*out)) return perr(c, sp, "must be a finite number");
  return 0;
}

static int get_string(const wctx_t *c, const json_t *obj, const char *path,
                      const char *key, int required, const char **out) {
  char sp[256];
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v) return required ? perr(c, path, "missing key \"%s\"", key) : 0;
  subpath(sp, sizeof sp, path, key);
  if (!json_is_string(v))
    return perr(c, sp, "must be a string, not %s", type_name(v));
  if (!*json_string_value(v)) return perr(c, sp, "must not be empty");
  *out = json_string_value(v);
  return 0;
}

static int get_integer(const wctx_t *c, const json_t *obj, const char *path,
                       const char *key, long long min, long long *out,
                       int *present) {
  char sp[256];
  json_t *v = json_object_get(obj, key);
  *present = v != NULL;
  if (!v) return 0;
  subpath(sp, sizeof sp, path, key);
  if (json_is_real(v))
    return perr(c, sp, "must be an integer, not %g", json_real_value(v));
  if (!json_is_integer(v))
    return perr(c, sp, "must be an integer, not %s", type_name(v));
  *out = json_integer_value(v);
  if (*out < min) return perr(c, sp, "must be >= %lld", min);
  return 0;
}

/* ---- paths -------------------------------------------------------------- */

/* Directory part of `file` with a trailing '/', or "" (current directory). */
static char *base_dir(const char *file) {
  const char *slash = strrchr(file, '/');
  if (!slash || file[0] == '<') return mts_xstrdup("");
  size_t len = (size_t)(slash - file) + 1;
  char *d = mts_xmalloc(len + 1);
  memcpy(d, file, len);
  d[len] = '\0';
  return d;
}

static char *resolve(const char *dir, const char *rel) {
  if (rel[0] == '/' || !*dir) return mts_xstrdup(rel);
  size_t len = strlen(dir) + strlen(rel) + 1;
  char *p = mts_xmalloc(len);
  snprintf(p, len, "%s%s", dir, rel);
  return p;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Default workload name: the file's base name without ".json". */
static char *default_name(const char *file) {
  const char *b = strrchr(file, '/');
  b = b ? b + 1 : file;
  char *n = mts_xstrdup(b);
  if (ends_with(n, ".json") && strlen(n) > 5) n[strlen(n) - 5] = '\0';
  return n;
}

/* ---- validation ---------------------------------------------------------- */

static int parse_arrival(const wctx_t *c, const json_t *a, const char *path,
                         mts_tenant_t *t) {
  static const char *const keys[] = {"process", "rate_qps", "cv", NULL};
  char sp[256];
  const char *proc;
  double rate = 0, cv = 0;
  int has_rate, has_cv, rc;

  if (!json_is_object(a))
    return perr(c, path, "must be an object, not %s", type_name(a));
  if ((rc = check_keys(c, a, path, keys)) < 0) return rc;
  if ((rc = get_string(c, a, path, "process", 1, &proc)) < 0) return rc;
  subpath(sp, sizeof sp, path, "process");
  t->arrival = -1;
  for (int k = 0; k < MTS_ARRIVAL_COUNT; k++)
    if (strcmp(proc, process_names[k]) == 0) t->arrival = k;
  if (t->arrival < 0)
    return perr(c, sp,
                "unknown arrival process \"%s\" (expected poisson, bursty "
                "or trace)", proc);
  if ((rc = get_number(c, a, path, "rate_qps", t->arrival != MTS_ARRIVAL_TRACE,
                       &rate, &has_rate)) < 0)
    return rc;
  if ((rc = get_number(c, a, path, "cv", t->arrival == MTS_ARRIVAL_BURSTY, &cv,
                       &has_cv)) < 0)
    return rc;
  subpath(sp, sizeof sp, path, "rate_qps");
  if (has_rate && t->arrival == MTS_ARRIVAL_TRACE)
    return perr(c, sp, "not used with process \"trace\" (the trace sets the rate)");
  if (has_rate && !(rate > 0)) return perr(c, sp, "must be a positive number");
  subpath(sp, sizeof sp, path, "cv");
  if (has_cv && t->arrival != MTS_ARRIVAL_BURSTY)
    return perr(c, sp, "only used with process \"bursty\"");
  if (has_cv && !(cv > 0)) return perr(c, sp, "must be a positive number");
  t->rate_qps = rate;
  t->cv = cv;
  return 0;
}

static int parse_tenant(const wctx_t *c, const json_t *o, const char *path,
                        const char *dir, mts_workload_t *w, int i) {
  static const char *const keys[] = {"name", "model", "qos_ms", "qos_x_solo",
                                     "arrival", NULL};
  mts_tenant_t *t = &w->tenants[i];
  const char *name, *model;
  double qms = 0, qx = 0;
  int has_ms, has_x, rc;
  char sp[256];

  if (!json_is_object(o))
    return perr(c, path, "must be an object, not %s", type_name(o));
  if ((rc = check_keys(c, o, path, keys)) < 0) return rc;
  if ((rc = get_string(c, o, path, "name", 1, &name)) < 0) return rc;
  subpath(sp, sizeof sp, path, "name");
  /* Tenant names appear as CSV fields in traces and queries.csv. */
  if (strpbrk(name, ",\"\n\r#") || name[0] == ' ' ||
      name[strlen(name) - 1] == ' ')
    return perr(c, sp, "\"%s\": must not contain ',', '\"', '#', line breaks "
                "or leading/trailing spaces", name);
  for (int j = 0; j < i; j++)
    if (strcmp(w->tenants[j].name, name) == 0)
      return perr(c, sp, "duplicate tenant name \"%s\" (also tenants[%d])",
                  name, j);
  t->name = mts_xstrdup(name);
  if ((rc = get_string(c, o, path, "model", 1, &model)) < 0) return rc;
  /* A path (has '/' or ends in .onnx) is relative to the workload file;
   * anything else is a zoo name. */
  if (strchr(model, '/') || ends_with(model, ".onnx"))
    t->model = resolve(dir, model);
  else
    t->model = mts_xstrdup(model);
  if ((rc = get_number(c, o, path, "qos_ms", 0, &qms, &has_ms)) < 0) return rc;
  if ((rc = get_number(c, o, path, "qos_x_solo", 0, &qx, &has_x)) < 0) return rc;
  if (has_ms && has_x) {
    subpath(sp, sizeof sp, path, "qos_x_solo");
    return perr(c, sp, "give either qos_ms or qos_x_solo, not both");
  }
  if (!has_ms && !has_x)
    return perr(c, path, "missing QoS target: give qos_ms or qos_x_solo");
  subpath(sp, sizeof sp, path, has_ms ? "qos_ms" : "qos_x_solo");
  if (!((has_ms ? qms : qx) > 0)) return perr(c, sp, "must be a positive number");
  t->qos_ms = has_ms ? qms : 0;
  t->qos_x_solo = has_x ? qx : 0;
  json_t *a = json_object_get(o, "arrival");
  if (!a) return perr(c, path, "missing key \"arrival\"");
  subpath(sp, sizeof sp, path, "arrival");
  return parse_arrival(c, a, sp, t);
}

static int parse_root(const wctx_t *c, const json_t *root, mts_workload_t *w) {
  static const char *const keys[] = {"name", "duration_s", "warmup_s", "seed",
                                     "cores_per_query", "trace", "tenants",
                                     NULL};
  const char *name, *trace;
  int present, rc;
  long long ll;
  char *dir = base_dir(c->file);

  if (!json_is_object(root)) {
    rc = perr(c, "", "must be an object, not %s", type_name(root));
    goto out;
  }
  if ((rc = check_keys(c, root, "", keys)) < 0) goto out;
  if ((rc = get_string(c, root, "", "name", 0, &name)) < 0) goto out;
  w->name = name ? mts_xstrdup(name) : default_name(c->file);
  if ((rc = get_number(c, root, "", "duration_s", 1, &w->duration_s,
                       &present)) < 0)
    goto out;
  if (!(w->duration_s > 0)) {
    rc = perr(c, "duration_s", "must be a positive number");
    goto out;
  }
  if ((rc = get_number(c, root, "", "warmup_s", 0, &w->warmup_s, &present)) < 0)
    goto out;
  if (present && !(w->warmup_s >= 0 && w->warmup_s < w->duration_s)) {
    rc = perr(c, "warmup_s", "must be >= 0 and less than duration_s (%g)",
              w->duration_s);
    goto out;
  }
  w->seed = 1;
  if ((rc = get_integer(c, root, "", "seed", 0, &ll, &present)) < 0) goto out;
  if (present) w->seed = (uint64_t)ll;
  w->cores_per_query = 1;
  if ((rc = get_integer(c, root, "", "cores_per_query", 1, &ll, &present)) < 0)
    goto out;
  if (present) {
    if (ll > 4096) {
      rc = perr(c, "cores_per_query", "must be <= 4096");
      goto out;
    }
    w->cores_per_query = (int)ll;
  }
  if ((rc = get_string(c, root, "", "trace", 0, &trace)) < 0) goto out;
  if (trace) w->trace = resolve(dir, trace);

  json_t *ts = json_object_get(root, "tenants");
  if (!ts) {
    rc = perr(c, "", "missing key \"tenants\"");
    goto out;
  }
  if (!json_is_array(ts)) {
    rc = perr(c, "tenants", "must be an array, not %s", type_name(ts));
    goto out;
  }
  if (json_array_size(ts) == 0) {
    rc = perr(c, "tenants", "needs at least one tenant");
    goto out;
  }
  if (json_array_size(ts) > MTS_MAX_TENANTS) {
    rc = perr(c, "tenants", "at most %d tenants (got %zu)", MTS_MAX_TENANTS,
              json_array_size(ts));
    goto out;
  }
  int n_trace = 0;
  for (size_t i = 0; i < json_array_size(ts); i++) {
    char sp[64];
    snprintf(sp, sizeof sp, "tenants[%zu]", i);
    w->n_tenants = (int)i + 1;  /* so destroy frees a partial tenant */
    if ((rc = parse_tenant(c, json_array_get(ts, i), sp, dir, w, (int)i)) < 0)
      goto out;
    if (w->tenants[i].arrival == MTS_ARRIVAL_TRACE) {
      n_trace++;
      if (!w->trace) {
        snprintf(sp, sizeof sp, "tenants[%zu].arrival.process", i);
        rc = perr(c, sp,
                  "process \"trace\" needs a workload-level \"trace\" file");
        goto out;
      }
    }
  }
  if (w->trace && n_trace == 0) {
    rc = perr(c, "trace", "no tenant uses process \"trace\"");
    goto out;
  }
  rc = 0;
out:
  free(dir);
  return rc;
}

/* ---- public API ---------------------------------------------------------- */

int mts_workload_parse(const char *text, const char *path,
                       mts_workload_t **out) {
  mts_workload_t *w = NULL;
  json_t *root = NULL;
  json_error_t jerr;
  wctx_t c = {.file = path ? path : "<string>", .pos = NULL};
  int rc;

  *out = NULL;
  /* Editors on Windows save UTF-8 with a byte-order mark, which JSON does
   * not allow and which jansson would report as an invisible bad token. */
  if (!strncmp(text, "\xEF\xBB\xBF", 3)) text += 3;
  root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    rc = mts_seterr(MTS_EPARSE, "%s:%d:%d: %s", c.file, jerr.line, jerr.column,
                    jerr.text);
    goto out;
  }
  if ((rc = mts__jpos_build(text, &c.pos)) < 0) goto out;
  w = mts_xcalloc(1, sizeof *w);
  w->path = mts_xstrdup(c.file);
  if ((rc = parse_root(&c, root, w)) < 0) goto out;
  *out = w;
  w = NULL;
out:
  mts_workload_destroy(w);
  mts__jpos_destroy(c.pos);
  json_decref(root);
  return rc;
}

int mts_workload_load(const char *path, mts_workload_t **out) {
  char *buf = NULL;
  size_t len = 0;
  *out = NULL;
  int rc = mts_read_file(path, &buf, &len);
  if (rc == 0 && strlen(buf) != len) rc = mts_seterr(MTS_EPARSE, "%s: contains a NUL byte", path);
  if (rc == 0) rc = mts_workload_parse(buf, path, out);
  free(buf);
  return rc;
}

int mts_workload_builtin(const char *name, mts_workload_t **out) {
  char pseudo[64];
  *out = NULL;
  for (int i = 0; builtin_names[i]; i++) {
    if (strcmp(builtin_names[i], name) == 0) {
      snprintf(pseudo, sizeof pseudo, "<builtin:%s>", name);
      return mts_workload_parse(builtin_texts[i], pseudo, out);
    }
  }
  return mts_seterr(MTS_ENOTFOUND, "unknown built-in workload '%s'", name);
}

const char *const *mts_workload_builtin_names(void) { return builtin_names; }

int mts_workload_open(const char *file_or_name, mts_workload_t **out) {
  struct stat st;
  *out = NULL;
  if (stat(file_or_name, &st) == 0 || strchr(file_or_name, '/') ||
      ends_with(file_or_name, ".json"))
    return mts_workload_load(file_or_name, out);
  for (int i = 0; builtin_names[i]; i++)
    if (strcmp(builtin_names[i], file_or_name) == 0)
      return mts_workload_builtin(file_or_name, out);
  char list[128] = "";
  for (int i = 0; builtin_names[i]; i++) {
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", builtin_names[i]);
  }
  return mts_seterr(MTS_ENOTFOUND,
                    "unknown workload '%s' (not a file; built-ins: %s)",
                    file_or_name, list);
}

void mts_workload_destroy(mts_workload_t *w) {
  if (!w) return;
  for (int i = 0; i < w->n_tenants; i++) {
    free(w->tenants[i].name);
    free(w->tenants[i].model);
  }
  free(w->name);
  free(w->path);
  free(w->trace);
  free(w);
}

int mts_workload_tenant(const mts_workload_t *w, const char *name) {
  for (int i = 0; i < w->n_tenants; i++)
    if (w->tenants[i].name && strcmp(w->tenants[i].name, name) == 0) return i;
  return -1;
}
