/* profile_cmd.c — `mtserve profile`: compiles one model with every version
 * for the given core counts, loads its profile from the cache or measures
 * it (runtime/profiler.h), and prints a per-layer table and a summary: how
 * many layers have more than one useful version, and what choosing the
 * version well is worth, solo and under the co-runner. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "models/zoo.h"
#include "runtime/affinity.h"
#include "runtime/exec.h"
#include "runtime/mts.h"
#include "runtime/profiler.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: mtserve profile --model NAME|FILE.onnx [--cores LIST] [--iters N] [--co-iters N]\n"
          "                       [--levels N] [--budget S] [--home llc|node] [--no-cache]\n"
          "                       [--json OUT] [--quiet]\n"
          "\n"
          "Profiles a model per layer: solo latency for each core count and each version\n"
          "(oneDNN implementation / layout), slowdown under a synthetic co-runner on the\n"
          "other cores of the same cache domain (levels: llc = cache thrashing, bw50 =\n"
          "half memory-bandwidth load, bw = full), and each version's memory traffic.\n"
          "Results are cached in $MTS_CACHE (default ~/.cache/mtserve/profiles/).\n"
          "  --model M      zoo name or ONNX file\n"
          "  --cores LIST   core counts, e.g. 1,2 (default: 1..cores of the home)\n"
          "  --home H       llc: the first last-level-cache domain (default); node: the node\n"
          "  --iters N      solo runs per core count and version (default 5)\n"
          "  --co-iters N   runs per co-runner level (default 3)\n"
          "  --levels N     co-runner levels 0..3 (default 3)\n"
          "  --budget S     seconds of measurement before rounds are cut (default 45; 0: none)\n"
          "  --no-cache     measure again even if cached (the cache file is refreshed)\n"
          "  --json OUT     also write the profile as JSON\n"
          "  --quiet        no progress display\n");
}

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}

static int parse_list(const char *s, int *cc, int max) {
  int n = 0;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (n == max || parse_int(t, 1, MTS_MAX_CORES, &cc[n])) return -1;
    for (int i = 0; i < n; i++)
      if (cc[i] == cc[n]) return -1;
    n++;
  }
  return n;
}

typedef struct {
  int tty;
  int last_pct;
} prog_t;

static void on_progress(void *arg, const char *model, int done, int total, const char *what) {
  prog_t *pg = arg;
  int pct = total > 0 ? 100 * done / total : 100;
  if (pg->tty) {
    fprintf(stderr, "\rprofiling %s: step %d/%d (%3d%%) %-48s", model, done, total, pct, what);
    if (done == total) fputc('\n', stderr);
  } else if (pct / 10 != pg->last_pct / 10 || done == total) {
    fprintf(stderr, "profiling %s: step %d/%d (%d%%) %s\n", model, done, total, pct, what);
  }
  pg->last_pct = pct;
}

static int best_solo(const mts_prof_t *p, int l, int c) {
  const mts_prof_layer_t *L = &p->layers[l];
  int b = 0;
  for (int v = 1; v < L->n_ver; v++)
    if (L->solo_us[v * p->n_cc + c] < L->solo_us[b * p->n_cc + c]) b = v;
  return b;
}

static void print_table(const mts_prof_t *p) {
  /* the count whose slowdowns are shown: the first with a co-run measurement */
  int cs = -1;
  for (int c = 0; c < p->n_cc && cs < 0; c++)
    if (p->n_levels > 0 && mts_prof_slowdown_max(p, 0, 0, c) > 0) cs = c;
  printf("%-4s %-28s %-12s %3s", "#", "layer", "op", "ver");
  for (int c = 0; c < p->n_cc; c++) printf("  v0@%-2d us  best@%-2d", p->cc[c], p->cc[c]);
  if (cs >= 0)
    for (int k = 0; k < p->n_levels; k++) printf("  sd.%-4s", p->level_name[k]);
  printf("  useful  traffic(est)\n");
  for (int l = 0; l < p->n_layers; l++) {
    const mts_prof_layer_t *L = &p->layers[l];
    printf("%-4d %-28.28s %-12.12s %3d", l, L->name, L->op, L->n_ver);
    for (int c = 0; c < p->n_cc; c++) {
      int b = best_solo(p, l, c);
      printf("  %9.1f  ", L->solo_us[c]);
      if (b == 0) printf("%-7s", "v0");
      else printf("v%d %-4.0f", b, 100.0 * (1.0 - L->solo_us[b * p->n_cc + c] / L->solo_us[c]));
    }
    if (cs >= 0)
      for (int k = 0; k < p->n_levels; k++)
        printf("  %7.2f", L->slowdown[(size_t)cs * (size_t)p->n_levels + (size_t)k]);
    char u[64] = "";
    size_t o = 0;
    for (int c = 0; c < p->n_cc; c++) {
      o += (size_t)snprintf(u + o, sizeof u - o, "%s", c ? "/" : "");
      for (int v = 0; v < L->n_ver && o < sizeof u - 4; v++)
        if ((L->useful[c] >> v) & 1) o += (size_t)snprintf(u + o, sizeof u - o, "%d", v);
    }
    printf("  %-6s  %.2f MB\n", u, L->bytes[0] / 1e6);
  }
  printf("(best@k: the fastest solo version at k cores and %% saved vs v0; sd.*: version 0's slowdown at %d "
         "core%s under each co-runner level; useful: versions on the Pareto set per core count)\n",
         cs >= 0 ? p->cc[cs] : 0, cs >= 0 && p->cc[cs] > 1 ? "s" : "");
  printf("versions:");
  int shown = 0;
  for (int l = 0; l < p->n_layers && shown < 1; l++)
    if (p->layers[l].n_ver > 1) {
      for (int v = 0; v < p->layers[l].n_ver; v++) printf(" v%d=%s", v, p->layers[l].ver_name[v]);
      printf(" (layer %s)", p->layers[l].name);
      shown++;
    }
  printf("%s\n", shown ? "" : " one per layer");
}

static void print_summary(const mts_prof_t *p) {
  mts_prof_summary_t s;
  mts_prof_summarize(p, &s);
  printf("\nsummary: %s, %d layers, up to %d versions per layer\n", p->model_name, p->n_layers, s.max_versions);
  printf("  layers with more than one useful version: %d", s.layers_multi);
  for (int c = 0; c < p->n_cc; c++) printf("%s%d at %d core%s", c ? ", " : " (", s.layers_multi_cc[c], p->cc[c],
                                          p->cc[c] > 1 ? "s" : "");
  printf(")\n  layers where another version beats version 0 outright (v0 not useful):");
  for (int c = 0; c < p->n_cc; c++) printf("%s%d at %d core%s", c ? ", " : " ", s.layers_v0_dominated_cc[c], p->cc[c],
                                          p->cc[c] > 1 ? "s" : "");
  printf("\n");
  for (int c = 0; c < p->n_cc; c++) {
    printf("  %d core%s: solo, version 0 %.2f ms, best versions %.2f ms (%.1f%% saved)", p->cc[c],
           p->cc[c] > 1 ? "s" : "", s.v0_solo_us[c] / 1e3, s.best_solo_us[c] / 1e3,
           s.v0_solo_us[c] > 0 ? 100.0 * (1 - s.best_solo_us[c] / s.v0_solo_us[c]) : 0.0);
    if (s.v0_loaded_us[c] > 0) {
      printf("; under the strongest co-runner, version 0 %.2f ms, best %.2f ms (%.1f%% saved); slowdown",
             s.v0_loaded_us[c] / 1e3, s.best_loaded_us[c] / 1e3, 100.0 * (1 - s.best_loaded_us[c] / s.v0_loaded_us[c]));
      for (int k = 0; k < p->n_levels; k++) printf(" %s %.2fx", p->level_name[k], s.slowdown[c][k]);
      printf("\n");
    } else {
      printf("; no co-runner measurement\n");
    }
  }
  printf("  memory traffic (estimate from operand sizes, per run): version 0 %.1f MB, fastest versions %.1f MB\n",
         s.v0_bytes / 1e6, s.best_solo_bytes / 1e6);
  printf("  whole model, version 0, fastest run:");
  for (int c = 0; c < p->n_cc; c++) printf(" %.2f ms @%d", p->model_us[c] / 1e3, p->cc[c]);
  printf("\n");
  if (p->notes[0]) printf("  notes: %s\n", p->notes);
}

static int write_json(const mts_prof_t *p, const char *path) {
  json_t *root = json_object(), *la = json_array(), *cc = json_array(), *lv = json_array(), *mu = json_array();
  for (int c = 0; c < p->n_cc; c++) {
    json_array_append_new(cc, json_integer(p->cc[c]));
    json_array_append_new(mu, json_real(p->model_us[c]));
  }
  for (int k = 0; k < p->n_levels; k++) json_array_append_new(lv, json_string(p->level_name[k]));
  for (int l = 0; l < p->n_layers; l++) {
    const mts_prof_layer_t *L = &p->layers[l];
    json_t *lj = json_object(), *va = json_array(), *ua = json_array();
    for (int v = 0; v < L->n_ver; v++) {
      json_t *vj = json_object(), *so = json_array(), *sd = json_array();
      for (int c = 0; c < p->n_cc; c++) {
        json_array_append_new(so, json_real(L->solo_us[v * p->n_cc + c]));
        json_t *per = json_array();
        for (int k = 0; k < p->n_levels; k++)
          json_array_append_new(per, json_real(L->slowdown[((size_t)v * (size_t)p->n_cc + (size_t)c) * (size_t)p->n_levels + (size_t)k]));
        json_array_append_new(sd, per);
      }
      json_object_set_new(vj, "name", json_string(L->ver_name[v]));
      json_object_set_new(vj, "solo_us", so);
      json_object_set_new(vj, "slowdown", sd);
      json_object_set_new(vj, "bytes_estimate", json_real(L->bytes[v]));
      if (L->llc_bytes) {
        json_t *lb = json_array();
        for (int c = 0; c < p->n_cc; c++) json_array_append_new(lb, json_real(L->llc_bytes[v * p->n_cc + c]));
        json_object_set_new(vj, "llc_miss_bytes", lb);
      }
      json_array_append_new(va, vj);
    }
    for (int c = 0; c < p->n_cc; c++) json_array_append_new(ua, json_integer(L->useful[c]));
    json_object_set_new(lj, "name", json_string(L->name));
    json_object_set_new(lj, "op", json_string(L->op));
    json_object_set_new(lj, "flops", json_real(L->flops));
    json_object_set_new(lj, "versions", va);
    json_object_set_new(lj, "useful", ua);
    json_array_append_new(la, lj);
  }
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)p->model_hash);
  json_object_set_new(root, "model", json_string(p->model_name));
  json_object_set_new(root, "hash", json_string(hash));
  json_object_set_new(root, "cpu_model", json_string(p->cpu_model));
  json_object_set_new(root, "dnnl_version", json_string(p->dnnl_version));
  json_object_set_new(root, "core_counts", cc);
  json_object_set_new(root, "levels", lv);
  json_object_set_new(root, "model_us", mu);
  json_object_set_new(root, "counters", json_boolean(p->counters));
  json_object_set_new(root, "notes", json_string(p->notes));
  json_object_set_new(root, "profile_s", json_real(p->profile_s));
  json_object_set_new(root, "others_cpu", json_real(p->others_cpu));
  json_object_set_new(root, "layers", la);
  int rc = json_dump_file(root, path, JSON_INDENT(1)) == 0 ? 0 : mts_seterr(MTS_EIO, "cannot write %s", path);
  json_decref(root);
  return rc;
}

int mts_cli_profile(int argc, char **argv) {
  static const struct option opts[] = {
      {"model", required_argument, NULL, 'm'},    {"cores", required_argument, NULL, 'c'},
      {"iters", required_argument, NULL, 'n'},    {"co-iters", required_argument, NULL, 'k'},
      {"levels", required_argument, NULL, 'l'},   {"no-cache", no_argument, NULL, 'x'},
      {"json", required_argument, NULL, 'j'},     {"quiet", no_argument, NULL, 'q'},
      {"budget", required_argument, NULL, 'b'},   {"help", no_argument, NULL, 'h'},
      {"home", required_argument, NULL, 'H'},     {NULL, 0, NULL, 0}};
  const char *model = NULL, *json_out = NULL;
  int cc[MTS_PROF_MAX_CC], n_cc = 0, c, rc, exit_code = 1, no_cache = 0, quiet = 0, home_node = 0;
  mts_prof_opts_t po = {.budget_s = 45};
  mts_graph_t *g = NULL;
  mts_model_t *m = NULL;
  mts_prof_t *p = NULL;
  mts_topology_t *topo = mts_xcalloc(1, sizeof *topo);
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:c:n:k:l:b:xj:qhH:", opts, NULL)) != -1) {
    switch (c) {
    case 'H':
      if (strcmp(optarg, "llc") && strcmp(optarg, "node")) goto bad;
      home_node = !strcmp(optarg, "node");
      break;
    case 'm': model = optarg; break;
    case 'c':
      if ((n_cc = parse_list(optarg, cc, MTS_PROF_MAX_CC)) <= 0) goto bad;
      break;
    case 'n':
      if (parse_int(optarg, 1, 1000, &po.iters)) goto bad;
      break;
    case 'k':
      if (parse_int(optarg, 1, 1000, &po.co_iters)) goto bad;
      break;
    case 'l':
      if (parse_int(optarg, 0, 3, &po.n_levels)) goto bad;
      if (po.n_levels == 0) po.n_levels = -1;
      break;
    case 'b': {
      int b;
      if (parse_int(optarg, 0, 100000, &b)) goto bad;
      po.budget_s = b;
      break;
    }
    case 'x': no_cache = 1; break;
    case 'j': json_out = optarg; break;
    case 'q': quiet = 1; break;
    case 'h':
      usage(stdout);
      free(topo);
      return 0;
    default:
      usage(stderr);
      free(topo);
      return 2;
    }
  }
  if (!model || optind != argc) {
    fprintf(stderr, "mtserve profile: %s\n", model ? "unexpected argument" : "--model is required");
    usage(stderr);
    free(topo);
    return 2;
  }
  if ((rc = mts_topology_read(topo)) != 0) {
    fprintf(stderr, "mtserve profile: %s\n", mts_errmsg());
    goto out;
  }
  /* the home: the cores of the first LLC domain (hwloc keeps them
   * contiguous), or with --home node those of the node (as serve's) */
  int home[MTS_MAX_CORES], n_home = 0;
  for (int i = 0; i < topo->n_cores; i++)
    if (home_node || topo->llc_of[i] == topo->llc_of[0]) home[n_home++] = topo->cores[i];
  if (n_cc == 0)
    for (int i = 1; i <= n_home && n_cc < MTS_PROF_MAX_CC; i++) cc[n_cc++] = i;
  for (int i = 0; i < n_cc; i++)
    if (cc[i] > n_home) {
      fprintf(stderr, "mtserve profile: --cores: %d exceeds the %d cores of %s\n", cc[i], n_home,
              home_node ? "the node" : "one cache domain (--home node: the node's)");
      exit_code = 2;
      goto out;
    }
  if ((rc = mts_bind_process(home, n_home)) != 0) {
    fprintf(stderr, "mtserve profile: %s\n", mts_errmsg());
    goto out;
  }
  int64_t t0 = mts_now_us();
  if ((rc = mts_model_graph_load(model, &g)) != 0) {
    fprintf(stderr, "mtserve profile: %s\n", mts_errmsg());
    exit_code = rc == MTS_ENOTFOUND || rc == MTS_EPARSE || rc == MTS_EIO ? 2 : 1;
    goto out;
  }
  mts_compile_opts_t co = {.n_core_counts = n_cc, .all_versions = 1};
  memcpy(co.core_counts, cc, (size_t)n_cc * sizeof(int));
  if ((rc = mts_model_compile(g, &co, &m)) != 0) {
    fprintf(stderr, "mtserve profile: %s\n", mts_errmsg());
    goto out;
  }
  double compile_s = (double)(mts_now_us() - t0) / 1e6;
  char path[4096];
  mts_prof_t key = {0};
  mts_prof_key(&key, m, cc, n_cc);
  mts_prof_cache_path(&key, path, sizeof path);
  free(key.model_name);
  int from_cache = !no_cache && mts_prof_cache_load(m, cc, n_cc, &p) == 0, saved = 0;
  if (!from_cache) {
    prog_t pg = {.tty = isatty(2), .last_pct = -10};
    if ((rc = mts_profile_model(m, home, n_home, cc, n_cc, &po, quiet ? NULL : on_progress, &pg, &p)) != 0) {
      fprintf(stderr, "mtserve profile: %s\n", mts_errmsg());
      goto out;
    }
    if (mts_prof_cache_save(p) != 0)
      fprintf(stderr, "mtserve profile: warning: %s\n", mts_errmsg());
    else
      saved = 1;
  }
  printf("model %s (hash %016llx), %s, oneDNN %s, load+compile %.2f s; profile %s %s (measured in %.1f s)\n\n",
         p->model_name, (unsigned long long)p->model_hash, p->cpu_model, p->dnnl_version, compile_s,
         from_cache ? "loaded from" : saved ? "measured and saved to" : "measured, NOT saved to", path, p->profile_s);
  print_table(p);
  print_summary(p);
  if (json_out && write_json(p, json_out) != 0) {
    fprintf(stderr, "mtserve profile: %s\n", mts_errmsg());
    goto out;
  }
  exit_code = 0;
  goto out;
bad:
  fprintf(stderr, "mtserve profile: bad value '%s' for %s\n", optarg, argv[optind - 1]);
  usage(stderr);
  exit_code = 2;
out:
  mts_prof_destroy(p);
  mts_model_destroy(m);
  mts_graph_destroy(g);
  free(topo);
  return exit_code;
}
