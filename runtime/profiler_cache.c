/* profiler_cache.c — profiles on disk (proto/profile.proto): one file per
 * (model hash, CPU model, core counts, oneDNN version, format version).
 * A cached profile is used only if its key matches and its layers and
 * versions are those of the compiled model (the executor may have grown new
 * versions since); anything else is ignored with a warning and overwritten
 * by the next save. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile.pb-c.h"
#include "runtime/mts.h"
#include "runtime/profiler_int.h"

#define MAX_CACHE_FILE (256u << 20)

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void mts_prof_cache_dir(char *buf, size_t n) {
  const char *env = getenv("MTS_CACHE"), *home = getenv("HOME");
  if (env && env[0]) snprintf(buf, n, "%s", env);
  else snprintf(buf, n, "%s/.cache/mtserve/profiles", home && home[0] ? home : "/tmp");
}

void mts_prof_cache_path(const mts_prof_t *key, char *buf, size_t n) {
  char dir[2048], name[64], ccs[256];
  size_t o = 0, k = 0;
  mts_prof_cache_dir(dir, sizeof dir);
  /* a readable prefix; the hashes make the name unique */
  for (const char *s = key->model_name ? key->model_name : "model"; *s && k + 1 < sizeof name && k < 40; s++)
    name[k++] = (char)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ? *s : '_');
  name[k] = 0;
  ccs[0] = 0;
  for (int i = 0; i < key->n_cc && o < sizeof ccs - 12; i++)
    o += (size_t)snprintf(ccs + o, sizeof ccs - o, "%s%d", i ? "_" : "", key->cc[i]);
  snprintf(buf, n, "%s/%s-%016llx-cpu%08llx-c%s-dnnl%s-f%d.pb", dir, name, (unsigned long long)key->model_hash,
           (unsigned long long)(fnv1a(key->cpu_model) & 0xffffffffull), ccs, key->dnnl_version, MTS_PROF_FORMAT);
}

/* ---- pack / unpack ---------------------------------------------------------- */

int mts_prof_pack(const mts_prof_t *p, uint8_t **buf, size_t *len) {
  Mts__Prof__Profile pf = MTS__PROF__PROFILE__INIT;
  Mts__Prof__Key key = MTS__PROF__KEY__INIT;
  int32_t cc[MTS_PROF_MAX_CC];
  char *levels[MTS_PROF_MAX_LEVELS];
  size_t nc = (size_t)p->n_cc, nlev = (size_t)p->n_levels;
  *buf = NULL;
  for (int i = 0; i < p->n_cc; i++) cc[i] = p->cc[i];
  key.model_hash = p->model_hash;
  key.cpu_model = (char *)p->cpu_model;
  key.n_core_counts = nc;
  key.core_counts = cc;
  key.dnnl_version = (char *)p->dnnl_version;
  key.format = MTS_PROF_FORMAT;
  pf.key = &key;
  pf.model_name = p->model_name ? p->model_name : (char *)"";
  for (int k = 0; k < p->n_levels; k++) levels[k] = (char *)p->level_name[k];
  pf.n_levels = nlev;
  pf.levels = levels;
  pf.n_model_us = nc;
  pf.model_us = (double *)p->model_us;
  pf.counters = p->counters;
  pf.notes = (char *)p->notes;
  pf.profile_s = p->profile_s;
  pf.created_us = mts_wall_us();
  /* every layer's messages in one allocation each */
  Mts__Prof__Layer *ls = mts_xcalloc((size_t)p->n_layers + 1, sizeof *ls);
  Mts__Prof__Layer **lp = mts_xcalloc((size_t)p->n_layers + 1, sizeof *lp);
  Mts__Prof__Version *vs = mts_xcalloc((size_t)p->n_layers * MTS_PROF_MAX_VER + 1, sizeof *vs);
  Mts__Prof__Version **vp = mts_xcalloc((size_t)p->n_layers * MTS_PROF_MAX_VER + 1, sizeof *vp);
  for (int l = 0; l < p->n_layers; l++) {
    const mts_prof_layer_t *L = &p->layers[l];
    Mts__Prof__Layer *x = &ls[l];
    mts__prof__layer__init(x);
    x->name = L->name;
    x->op = L->op;
    x->flops = L->flops;
    x->n_useful = nc;
    x->useful = (uint32_t *)L->useful;
    x->n_versions = (size_t)L->n_ver;
    x->versions = &vp[(size_t)l * MTS_PROF_MAX_VER];
    for (int v = 0; v < L->n_ver; v++) {
      Mts__Prof__Version *y = &vs[(size_t)l * MTS_PROF_MAX_VER + (size_t)v];
      mts__prof__version__init(y);
      y->name = L->ver_name[v];
      y->n_solo_us = nc;
      y->solo_us = &L->solo_us[(size_t)v * nc];
      y->n_slowdown = nc * nlev;
      y->slowdown = &L->slowdown[(size_t)v * nc * nlev];
      y->bytes = L->bytes[v];
      if (L->llc_bytes) {
        y->n_llc_bytes = nc;
        y->llc_bytes = &L->llc_bytes[(size_t)v * nc];
      }
      x->versions[v] = y;
    }
    lp[l] = x;
  }
  pf.n_layers = (size_t)p->n_layers;
  pf.layers = lp;
  *len = mts__prof__profile__get_packed_size(&pf);
  *buf = malloc(*len ? *len : 1);
  int rc = 0;
  if (!*buf) rc = mts_seterr(MTS_ENOMEM, "profile: %zu bytes", *len);
  else mts__prof__profile__pack(&pf, *buf);
  free(ls);
  free(lp);
  free(vs);
  free(vp);
  return rc;
}

static char *dup_or_empty(const char *s) { return mts_xstrdup(s ? s : ""); }

int mts_prof_unpack(const uint8_t *buf, size_t len, mts_prof_t **out) {
  int rc = 0;
  *out = NULL;
  Mts__Prof__Profile *pf = mts__prof__profile__unpack(NULL, len, buf);
  if (!pf) return mts_seterr(MTS_EPARSE, "not a profile (protobuf unpack failed)");
  mts_prof_t *p = mts_xcalloc(1, sizeof *p);
  if (!pf->key || pf->key->n_core_counts < 1 || pf->key->n_core_counts > MTS_PROF_MAX_CC ||
      pf->n_levels > MTS_PROF_MAX_LEVELS || pf->n_model_us != pf->key->n_core_counts) {
    rc = mts_seterr(MTS_EPARSE, "profile: missing key, or bad core counts / levels");
    goto out;
  }
  p->model_name = dup_or_empty(pf->model_name);
  p->model_hash = pf->key->model_hash;
  snprintf(p->cpu_model, sizeof p->cpu_model, "%s", pf->key->cpu_model ? pf->key->cpu_model : "");
  snprintf(p->dnnl_version, sizeof p->dnnl_version, "%s", pf->key->dnnl_version ? pf->key->dnnl_version : "");
  if (pf->key->format != MTS_PROF_FORMAT) {
    rc = mts_seterr(MTS_EPARSE, "profile: format %d, expected %d", pf->key->format, MTS_PROF_FORMAT);
    goto out;
  }
  p->n_cc = (int)pf->key->n_core_counts;
  for (int i = 0; i < p->n_cc; i++) {
    p->cc[i] = pf->key->core_counts[i];
    p->model_us[i] = pf->model_us[i];
  }
  p->n_levels = (int)pf->n_levels;
  for (int k = 0; k < p->n_levels; k++)
    snprintf(p->level_name[k], sizeof p->level_name[k], "%s", pf->levels[k] ? pf->levels[k] : "");
  p->counters = pf->counters;
  snprintf(p->notes, sizeof p->notes, "%s", pf->notes ? pf->notes : "");
  p->profile_s = pf->profile_s;
  p->layers = mts_xcalloc(pf->n_layers + 1, sizeof *p->layers);
  size_t nc = (size_t)p->n_cc, nlev = (size_t)p->n_levels;
  for (size_t l = 0; l < pf->n_layers; l++) {
    const Mts__Prof__Layer *x = pf->layers[l];
    mts_prof_layer_t *L = &p->layers[l];
    p->n_layers = (int)l + 1; /* freed by destroy even if this layer is bad */
    L->name = dup_or_empty(x->name);
    L->op = dup_or_empty(x->op);
    L->flops = x->flops;
    if (x->n_versions < 1 || x->n_versions > MTS_PROF_MAX_VER || x->n_useful != nc) {
      rc = mts_seterr(MTS_EPARSE, "profile: layer %zu: %zu versions, %zu useful sets", l, x->n_versions, x->n_useful);
      goto out;
    }
    L->n_ver = (int)x->n_versions;
    int with_llc = p->counters && x->versions[0]->n_llc_bytes == nc;
    mts__prof_alloc_layer(p, L, with_llc);
    for (size_t c = 0; c < nc; c++) L->useful[c] = x->useful[c];
    for (int v = 0; v < L->n_ver; v++) {
      const Mts__Prof__Version *y = x->versions[v];
      L->ver_name[v] = dup_or_empty(y->name);
      if (y->n_solo_us != nc || y->n_slowdown != nc * nlev || (with_llc && y->n_llc_bytes != nc)) {
        rc = mts_seterr(MTS_EPARSE, "profile: layer %zu version %d: array sizes do not match the core counts", l, v);
        goto out;
      }
      memcpy(&L->solo_us[(size_t)v * nc], y->solo_us, nc * sizeof(double));
      if (nlev) memcpy(&L->slowdown[(size_t)v * nc * nlev], y->slowdown, nc * nlev * sizeof(double));
      if (with_llc) memcpy(&L->llc_bytes[(size_t)v * nc], y->llc_bytes, nc * sizeof(double));
      L->bytes[v] = y->bytes;
    }
  }
out:
  mts__prof__profile__free_unpacked(pf, NULL);
  if (rc) {
    mts_prof_destroy(p);
    return rc;
  }
  *out = p;
  return 0;
}

/* ---- files --------------------------------------------------------------------- */

/* Whether the cached profile c describes model m as compiled: the same
 * layers, each with the same versions. */
static int matches_model(const mts_prof_t *c, const mts_model_t *m, int cc0, char *why, size_t n) {
  if (c->n_layers != mts_model_n_layers(m)) {
    snprintf(why, n, "%d layers, the model has %d", c->n_layers, mts_model_n_layers(m));
    return 0;
  }
  for (int l = 0; l < c->n_layers; l++) {
    int nv = mts_model_n_versions(m, l, cc0);
    if (nv > MTS_PROF_MAX_VER) nv = MTS_PROF_MAX_VER;
    const char *ln = mts_model_layer_name(m, l);
    if (strcmp(c->layers[l].name, ln ? ln : "")) {
      snprintf(why, n, "layer %d is '%s', the model's is '%s'", l, c->layers[l].name, ln ? ln : "");
      return 0;
    }
    if (nv != c->layers[l].n_ver) {
      snprintf(why, n, "layer '%s' has %d versions, the model's has %d (compiled without all_versions?)",
               c->layers[l].name, c->layers[l].n_ver, nv);
      return 0;
    }
    for (int v = 0; v < nv; v++) {
      const char *vn = mts_model_version_name(m, l, v);
      if (strcmp(c->layers[l].ver_name[v], vn ? vn : "?")) {
        snprintf(why, n, "layer '%s' version %d is '%s', the model's is '%s'", c->layers[l].name, v,
                 c->layers[l].ver_name[v], vn ? vn : "?");
        return 0;
      }
    }
  }
  return 1;
}

int mts_prof_cache_load(const mts_model_t *m, const int *cc, int n_cc, mts_prof_t **out) {
  mts_prof_t key = {0};
  char path[4096], why[512] = "";
  uint8_t *buf = NULL;
  mts_prof_t *p = NULL;
  int rc = MTS_ENOTFOUND;
  *out = NULL;
  mts_prof_key(&key, m, cc, n_cc);
  mts_prof_cache_path(&key, path, sizeof path);
  FILE *f = fopen(path, "rb");
  if (!f) {
    rc = mts_seterr(MTS_ENOTFOUND, "%s: %s", path, strerror(errno));
    goto out;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || sb.st_size <= 0 || (size_t)sb.st_size > MAX_CACHE_FILE) {
    snprintf(why, sizeof why, "empty or too large");
    goto bad;
  }
  buf = malloc((size_t)sb.st_size);
  if (!buf || fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
    snprintf(why, sizeof why, "cannot read it");
    goto bad;
  }
  if (mts_prof_unpack(buf, (size_t)sb.st_size, &p) != 0) {
    snprintf(why, sizeof why, "%s", mts_errmsg());
    goto bad;
  }
  /* the name carries the key, but a renamed or hash-colliding file must
   * not pass for another model's profile */
  int same_cc = p->n_cc == key.n_cc;
  for (int i = 0; same_cc && i < p->n_cc; i++) same_cc = p->cc[i] == key.cc[i];
  if (p->model_hash != key.model_hash || strcmp(p->cpu_model, key.cpu_model) ||
      strcmp(p->dnnl_version, key.dnnl_version) || !same_cc) {
    snprintf(why, sizeof why, "its key (model hash, CPU, core counts, oneDNN version) differs");
    goto bad;
  }
  if (!matches_model(p, m, cc[0], why, sizeof why)) goto bad;
  *out = p;
  p = NULL;
  rc = 0;
  goto out;
bad:
  MTS_LOG(MTS_LOG_WARN, "profile cache %s ignored (stale or corrupt: %s); it will be rewritten", path, why);
  rc = mts_seterr(MTS_ENOTFOUND, "%s: stale or corrupt: %s", path, why);
out:
  if (f) fclose(f);
  free(buf);
  mts_prof_destroy(p);
  free(key.model_name);
  return rc;
}

int mts_prof_cache_save(const mts_prof_t *p) {
  char dir[2048], path[4096], tmp[4200];
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc;
  if (p->others_cpu > MTS_PROF_MAX_OTHERS)
    return mts_seterr(MTS_ESTATE,
                      "profile of %s not cached: other processes took %.0f%% of the measured cores while it was "
                      "measured (limit %.0f%%); the next run measures it again",
                      p->model_name, 100 * p->others_cpu, 100 * MTS_PROF_MAX_OTHERS);
  mts_prof_cache_dir(dir, sizeof dir);
  if (mts_mkdir_p(dir) != 0) return mts_seterr(MTS_EIO, "profile cache %s: %s", dir, strerror(errno));
  mts_prof_cache_path(p, path, sizeof path);
  if ((rc = mts_prof_pack(p, &buf, &len)) != 0) return rc;
  /* write then rename: a reader never sees half a file */
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    rc = mts_seterr(MTS_EIO, "profile cache %s: %s", tmp, strerror(errno));
    goto out;
  }
  size_t w = fwrite(buf, 1, len, f);
  if (fclose(f) != 0 || w != len) {
    rc = mts_seterr(MTS_EIO, "profile cache %s: write failed", tmp);
    unlink(tmp);
    goto out;
  }
  if (rename(tmp, path) != 0) {
    rc = mts_seterr(MTS_EIO, "profile cache %s: %s", path, strerror(errno));
    unlink(tmp);
  }
out:
  free(buf);
  return rc;
}
