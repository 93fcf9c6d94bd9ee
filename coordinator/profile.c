/* profile.c — loading solo-latency profiles and filling the core counts a
 * source lacks (see profile.h for the sources and the methods). */
#include "coordinator/profile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/mts.h"

/* Built-in fallback reference curve: the 3990X ResNet-50 convolutions
 * summed per thread count (us at 8, 16, ..., 64 threads), computed from
 * ../shared/data/veltair-3990x/ResNet50.latency_us.csv. */
static const double builtin_ref[8] = {22376, 11456, 8293, 6331, 5559, 4886, 4342, 6606};

typedef struct {
  int n;              /* layers */
  double *t;          /* [n * 64]: filled curve, c = 1..64 */
  double *key;        /* [n]: sort key (time at 8 threads) */
} refset_t;

/* Fills out[0..63] (c = 1..64) from measurements at 8, 16, ... (m points). */
static void fill_3990x(const double *meas, int m, double *out) {
  double t8 = meas[0], t16 = m > 1 ? meas[1] : meas[0];
  double a = 2 * t16 - t8, b;
  if (a < 0) a = 0;
  b = (t8 - a) * 8;
  if (b < 0) b = 0;
  for (int c = 1; c < 8; c++) out[c - 1] = a + b / c;
  for (int c = 8; c <= 64; c++) {
    int j = c / 8 - 1, r = c % 8;
    if (j >= m - 1) {
      out[c - 1] = meas[m - 1];
    } else if (r == 0) {
      out[c - 1] = meas[j];
    } else {
      double s0 = 1.0 / meas[j], s1 = 1.0 / meas[j + 1];
      out[c - 1] = 1.0 / (s0 + (s1 - s0) * r / 8.0);
    }
  }
}

/* Reads one <Model>.latency_us.csv: rows of comma-separated numbers. */
static int read_csv(const char *path, double **rows, int *n_rows, int *n_cols) {
  FILE *f = fopen(path, "r");
  char line[4096];
  int cap = 64, n = 0, cols = -1, lineno = 0, rc = 0;
  double *v = NULL;
  *rows = NULL;
  if (!f) return mts_seterr(MTS_EIO, "%s: %s", path, strerror(errno));
  v = mts_xmalloc((size_t)cap * 16 * sizeof *v);
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *p = line, *end;
    double x[16];
    int k = 0;
    while (*p && *p != '\n' && *p != '\r') {
      x[k] = strtod(p, &end);
      if (end == p || !(x[k] > 0) || k >= 16) {
        rc = mts_seterr(MTS_EPARSE, "%s:%d: expected up to 16 positive numbers separated by commas", path, lineno);
        goto out;
      }
      k++;
      p = end;
      if (*p == ',') p++;
    }
    if (k == 0) continue;
    if (cols < 0) cols = k;
    if (k != cols) {
      rc = mts_seterr(MTS_EPARSE, "%s:%d: %d columns, earlier rows have %d", path, lineno, k, cols);
      goto out;
    }
    if (n == cap) {
      cap *= 2;
      v = mts_xrealloc(v, (size_t)cap * 16 * sizeof *v);
    }
    memcpy(&v[(size_t)n * 16], x, (size_t)k * sizeof *x);
    n++;
  }
  if (n == 0) rc = mts_seterr(MTS_EPARSE, "%s: no rows", path);
out:
  fclose(f);
  if (rc) {
    free(v);
    return rc;
  }
  *rows = v;
  *n_rows = n;
  *n_cols = cols;
  return 0;
}

static int is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists <dir>/<Model>.latency_us.csv model names, sorted. */
static int list_models(const char *dir, char **names, int max) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return -1;
  struct dirent *e;
  const char *suf = ".latency_us.csv";
  while ((e = readdir(d)) && n < max) {
    size_t l = strlen(e->d_name), ls = strlen(suf);
    if (l > ls && !strcmp(e->d_name + l - ls, suf)) {
      names[n] = mts_xstrdup(e->d_name);
      names[n][l - ls] = 0;
      n++;
    }
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  return n;
}

static void refset_free(refset_t *r) {
  free(r->t);
  free(r->key);
  memset(r, 0, sizeof *r);
}

/* Every layer of every model in a 3990X directory, filled to 64 counts. */
static int refset_load(const char *dir, refset_t *r) {
  char *names[32];
  int nm = list_models(dir, names, 32), rc = 0;
  memset(r, 0, sizeof *r);
  if (nm <= 0) return mts_seterr(MTS_EIO, "%s: no <Model>.latency_us.csv files", dir);
  for (int i = 0; i < nm && !rc; i++) {
    char path[4096];
    double *rows;
    int n, cols;
    snprintf(path, sizeof path, "%s/%s.latency_us.csv", dir, names[i]);
    if ((rc = read_csv(path, &rows, &n, &cols)) != 0) break;
    r->t = mts_xrealloc(r->t, (size_t)(r->n + n) * 64 * sizeof *r->t);
    r->key = mts_xrealloc(r->key, (size_t)(r->n + n) * sizeof *r->key);
    for (int l = 0; l < n; l++) {
      fill_3990x(&rows[(size_t)l * 16], cols, &r->t[(size_t)(r->n + l) * 64]);
      r->key[r->n + l] = rows[(size_t)l * 16];
    }
    r->n += n;
    free(rows);
  }
  for (int i = 0; i < nm; i++) free(names[i]);
  if (rc) refset_free(r);
  return rc;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Extends a model measured on 1..m core counts to n_cc counts: layer l
 * takes the curve of the reference layer at the same quantile of solo time.
 * v holds [n_layers * n_cc] with the first m columns filled (per row). */
static void extend(double *v, int n_layers, int m, int n_cc, const refset_t *ref) {
  if (n_cc <= m) return;
  double fallback[64];
  fill_3990x(builtin_ref, 8, fallback);
  /* rank layers by their time at m cores; rank reference layers by key */
  double *mine = mts_xmalloc((size_t)n_layers * sizeof *mine);
  for (int l = 0; l < n_layers; l++) mine[l] = v[l * n_cc + m - 1];
  double *sorted = mts_xmalloc((size_t)n_layers * sizeof *sorted);
  memcpy(sorted, mine, (size_t)n_layers * sizeof *sorted);
  qsort(sorted, (size_t)n_layers, sizeof *sorted, cmp_dbl);
  int *rorder = NULL;
  if (ref && ref->n > 0) {
    rorder = mts_xmalloc((size_t)ref->n * sizeof *rorder);
    for (int i = 0; i < ref->n; i++) rorder[i] = i;
    /* insertion sort by key: ~100 layers */
    for (int i = 1; i < ref->n; i++)
      for (int j = i; j > 0 && ref->key[rorder[j - 1]] > ref->key[rorder[j]]; j--) {
        int t = rorder[j];
        rorder[j] = rorder[j - 1];
        rorder[j - 1] = t;
      }
  }
  for (int l = 0; l < n_layers; l++) {
    const double *curve = fallback;
    if (rorder) {
      int rank = 0;
      while (rank < n_layers && sorted[rank] < mine[l]) rank++;
      double q = n_layers > 1 ? (double)rank / (n_layers - 1) : 0.5;
      int j = (int)(q * (ref->n - 1) + 0.5);
      curve = &ref->t[(size_t)rorder[j] * 64];
    }
    /* carry the layer's own measured scaling over: beta = its speed-up
     * from 1 to m cores relative to the curve's over the same range */
    double beta = 1.0;
    if (m >= 2 && curve[0] > curve[m - 1] && v[l * n_cc] > 0 && v[l * n_cc + m - 1] > 0) {
      beta = log(v[l * n_cc] / v[l * n_cc + m - 1]) / log(curve[0] / curve[m - 1]);
      beta = beta < 0 ? 0 : beta > 1.5 ? 1.5 : beta;
    }
    for (int c = m + 1; c <= n_cc; c++)
      v[l * n_cc + c - 1] = v[l * n_cc + m - 1] * pow(curve[c - 1] / curve[m - 1], beta);
  }
  free(rorder);
  free(sorted);
  free(mine);
}

static void norm_name(const char *in, char *out, size_t n) {
  const char *base = strrchr(in, '/');
  base = base ? base + 1 : in;
  size_t k = 0;
  for (const char *p = base; *p && k + 1 < n; p++) {
    if (!strcmp(p, ".onnx")) break;
    if (isalnum((unsigned char)*p)) out[k++] = (char)tolower((unsigned char)*p);
  }
  out[k] = 0;
}

int mts_profile_find(const mts_profile_t *p, const char *model) {
  char a[256], b[256];
  norm_name(model, a, sizeof a);
  for (int i = 0; i < p->n_models; i++) {
    norm_name(p->names[i], b, sizeof b);
    if (!strcmp(a, b)) return i;
  }
  return -1;
}

void mts_profile_destroy(mts_profile_t *p) {
  if (!p) return;
  for (int i = 0; i < p->n_models; i++) {
    free(p->names[i]);
    free((void *)p->prof[i].layer_us);
    free((void *)p->prof[i].ver_us);
  }
  free(p);
}

static void sum_model(mts_model_prof_t *mp) {
  for (int c = 0; c < mp->n_cc; c++) {
    double s = 0;
    for (int l = 0; l < mp->n_layers; l++) s += mp->layer_us[l * mp->n_cc + c];
    mp->model_us[c] = s;
  }
}

static int load_3990x(const char *dir, int n_cc, mts_profile_t *p) {
  char *names[MTS_MAX_TENANTS];
  int nm = list_models(dir, names, MTS_MAX_TENANTS), rc = 0;
  if (nm <= 0) return mts_seterr(MTS_EIO, "%s: no <Model>.latency_us.csv files (expected the 3990X data)", dir);
  for (int i = 0; i < nm; i++) {
    char path[4096];
    double *rows = NULL;
    int n, cols;
    snprintf(path, sizeof path, "%s/%s.latency_us.csv", dir, names[i]);
    if (!rc && (rc = read_csv(path, &rows, &n, &cols)) == 0) {
      mts_model_prof_t *mp = &p->prof[p->n_models];
      double *v = mts_xcalloc((size_t)n * (size_t)n_cc, sizeof *v);
      for (int l = 0; l < n; l++) {
        double full[64];
        fill_3990x(&rows[(size_t)l * 16], cols, full);
        for (int c = 0; c < n_cc; c++) v[l * n_cc + c] = full[c];
      }
      mp->n_layers = n;
      mp->n_cc = n_cc;
      mp->layer_us = v;
      sum_model(mp);
      p->measured_cc[p->n_models] = 8 * cols;
      p->names[p->n_models++] = names[i];
      names[i] = NULL;
      free(rows);
    }
    free(names[i]);
  }
  if (rc) return rc;
  snprintf(p->source, sizeof p->source,
           "%s: VELTAIR's per-layer measurements on an AMD Threadripper 3990X (64 cores, TVM AVX2 kernels, "
           "batch 1), convolutions only, 8..%d threads in steps of 8", dir, 8 * 8);
  snprintf(p->extrapolation, sizeof p->extrapolation,
           "1..7 cores: Amdahl fit a + b/c through the 8- and 16-thread points; between measured counts: "
           "speed (1/t) interpolated linearly; beyond the last measured count: held at the last value");
  return 0;
}

static int num_array(json_t *a, double *out, int max) {
  if (!json_is_array(a)) return -1;
  int n = (int)json_array_size(a);
  if (n > max) n = max;
  for (int i = 0; i < n; i++) {
    json_t *x = json_array_get(a, (size_t)i);
    if (!json_is_number(x) || !(json_number_value(x) > 0)) return -1;
    out[i] = json_number_value(x);
  }
  return n;
}

static int load_json(const char *path, int n_cc, const char *ref_dir, mts_profile_t *p) {
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je), *models;
  int rc = 0, m_min = 0;
  refset_t ref = {0};
  if (!root) {
    if (je.line < 1) return mts_seterr(MTS_EIO, "%s: %s (expected a profile.json or a 3990X data directory)", path,
                                       je.text);
    return mts_seterr(MTS_EPARSE, "%s:%d: %s", path, je.line, je.text);
  }
  models = json_object_get(root, "models");
  if (!json_is_array(models) || json_array_size(models) == 0) {
    rc = mts_seterr(MTS_EPARSE, "%s: no \"models\" array", path);
    goto out;
  }
  if (ref_dir && (rc = refset_load(ref_dir, &ref)) != 0) goto out;
  for (size_t i = 0; i < json_array_size(models) && p->n_models < MTS_MAX_TENANTS; i++) {
    json_t *mj = json_array_get(models, i), *layers = json_object_get(mj, "layers");
    const char *name = json_string_value(json_object_get(mj, "name"));
    if (!name || !json_is_array(layers) || json_array_size(layers) == 0) {
      rc = mts_seterr(MTS_EPARSE, "%s: models[%zu]: needs \"name\" and a non-empty \"layers\" array", path, i);
      goto out;
    }
    int L = (int)json_array_size(layers), m = -1, nv = 1;
    double sens[MTS_SCHED_MAX_VERSIONS] = {0};
    json_t *sj = json_object_get(mj, "version_sens");
    if (sj) {
      nv = num_array(sj, sens, MTS_SCHED_MAX_VERSIONS);
      if (nv < 1) {
        rc = mts_seterr(MTS_EPARSE, "%s: models[%zu].version_sens: positive numbers, at most %d", path, i,
                        MTS_SCHED_MAX_VERSIONS);
        goto out;
      }
    }
    int width = n_cc > MTS_SCHED_MAX_CC ? MTS_SCHED_MAX_CC : n_cc;
    double *v = mts_xcalloc((size_t)nv * (size_t)L * (size_t)MTS_SCHED_MAX_CC, sizeof *v);
    for (int l = 0; l < L && !rc; l++) {
      json_t *lj = json_array_get(layers, (size_t)l);
      double tmp[MTS_SCHED_MAX_CC];
      int k = num_array(json_object_get(lj, "solo_us"), tmp, MTS_SCHED_MAX_CC);
      if (k < 1 || (m >= 0 && k != m)) {
        rc = mts_seterr(MTS_EPARSE, "%s: models[%zu].layers[%d].solo_us: %s", path, i, l,
                        k < 1 ? "needs positive numbers (us per core count 1..n)" : "length differs from layer 0");
        break;
      }
      m = k;
      for (int c = 0; c < k && c < width; c++) v[(size_t)l * (size_t)width + (size_t)c] = tmp[c];
      json_t *vj = json_object_get(lj, "versions_us");
      for (int ver = 1; ver < nv && !rc; ver++) {
        int k2 = num_array(json_array_get(vj, (size_t)ver - 1), tmp, MTS_SCHED_MAX_CC);
        if (k2 != m) {
          rc = mts_seterr(MTS_EPARSE, "%s: models[%zu].layers[%d].versions_us[%d]: needs %d positive numbers",
                          path, i, l, ver - 1, m);
          break;
        }
        for (int c = 0; c < k2 && c < width; c++)
          v[((size_t)ver * (size_t)L + (size_t)l) * (size_t)width + (size_t)c] = tmp[c];
      }
    }
    if (rc) {
      free(v);
      goto out;
    }
    int measured = m < width ? m : width;
    for (int ver = 0; ver < nv; ver++)
      extend(v + (size_t)ver * (size_t)L * (size_t)width, L, measured, width, ref.n ? &ref : NULL);
    mts_model_prof_t *mp = &p->prof[p->n_models];
    mp->n_layers = L;
    mp->n_cc = width;
    if (nv > 1) {
      mp->n_versions = nv;
      mp->ver_us = v;
      double *v0 = mts_xmalloc((size_t)L * (size_t)width * sizeof *v0);
      memcpy(v0, v, (size_t)L * (size_t)width * sizeof *v0);
      mp->layer_us = v0;
      memcpy(mp->ver_sens, sens, sizeof sens);
    } else {
      mp->layer_us = v;
    }
    sum_model(mp);
    /* measured whole-model times include what the layers miss (glue,
     * dispatch); keep their ratio to the layer sum at every count */
    double mu[MTS_SCHED_MAX_CC];
    int km = num_array(json_object_get(mj, "model_us"), mu, MTS_SCHED_MAX_CC);
    if (km >= measured) {
      double ratio = mu[measured - 1] / mp->model_us[measured - 1];
      for (int c = 0; c < width; c++) mp->model_us[c] = c < km ? mu[c] : mp->model_us[c] * ratio;
    }
    p->measured_cc[p->n_models] = measured;
    if (m_min == 0 || measured < m_min) m_min = measured;
    p->names[p->n_models++] = mts_xstrdup(name);
  }
  {
    const char *host = json_string_value(json_object_get(root, "host"));
    snprintf(p->source, sizeof p->source, "%s: solo profile measured by mtserve serve on %s, 1..%d cores", path,
             host ? host : "an unknown host", m_min);
    if (m_min >= (n_cc > MTS_SCHED_MAX_CC ? MTS_SCHED_MAX_CC : n_cc))
      snprintf(p->extrapolation, sizeof p->extrapolation, "none (every core count measured)");
    else
      snprintf(p->extrapolation, sizeof p->extrapolation,
               "beyond %d cores: each layer follows the 3990X per-layer curve at the same quantile of solo "
               "time (%s), relative to the largest measured count, raised to the power beta = the layer's "
               "measured log speed-up over 1..%d cores / the curve's (0..1.5)",
               m_min, ref.n ? ref_dir : "built-in 3990X ResNet-50 summed curve; no reference directory given",
               m_min);
  }
out:
  refset_free(&ref);
  json_decref(root);
  return rc;
}

int mts_profile_load(const char *path, int n_cc, const char *ref_dir, mts_profile_t **out) {
  *out = NULL;
  if (n_cc < 1) n_cc = 1;
  if (n_cc > MTS_SCHED_MAX_CC) n_cc = MTS_SCHED_MAX_CC;
  mts_profile_t *p = mts_xcalloc(1, sizeof *p);
  int rc = is_dir(path) ? load_3990x(path, n_cc, p) : load_json(path, n_cc, ref_dir, p);
  if (rc) {
    mts_profile_destroy(p);
    return rc;
  }
  *out = p;
  return 0;
}
