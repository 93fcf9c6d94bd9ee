/* sim_cmd.c — `mtserve sim`: runs a workload on a modelled machine in
 * virtual time (coordinator/sim.h) with the same scheduler as `serve`, and
 * writes the same results directory.  No MPI, no models loaded: block times
 * come from a profile (a serve run's profile.json, or the 3990X data). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "coordinator/sim.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: mtserve sim --workload FILE|NAME --profile FILE|DIR [options]\n"
          "\n"
          "Simulates the workload on a modelled multi-core machine in virtual time.\n"
          "\n"
          "  --workload FILE|NAME   workload JSON file, or a built-in:");
  for (const char *const *n = mts_workload_builtin_names(); *n; n++) fprintf(f, " %s", *n);
  fprintf(f,
          "\n"
          "  --profile FILE|DIR     profile.json from a serve run, or the 3990X data directory\n"
          "                         (e.g. ../shared/data/veltair-3990x)\n"
          "  --ref DIR              3990X directory used to extrapolate a profile.json beyond its\n"
          "                         measured core counts (default: a built-in ResNet-50 curve)\n"
          "  --policy P             fcfs, static, layer, veltair, mts (default fcfs)\n"
          "  --cores N              cores per node (default 16)\n"
          "  --nodes M              nodes (default 1)\n"
          "  --llc-domains D        LLC domains per node (default 1)\n"
          "  --workers-per-llc K    workers per LLC domain (default: one per core)\n"
          "  --cores-per-query K    fcfs/static cores per query (default: the workload's, else 1)\n"
          "  --duration S           seconds of arrivals (default: the workload's)\n"
          "  --rate-scale X         multiply every arrival rate by X (default 1)\n"
          "  --seed N               arrival and noise seed (default: the workload's)\n"
          "  --noise SIGMA          log-normal block-time noise (default 0.05; 0: none)\n"
          "  --dispatch-us US       fixed cost per block (default 30)\n"
          "  --interference KN,KL   the machine's interference (default 0.5,0.3)\n"
          "  --model-interference KN,KL  the scheduler's estimate (default 0.5,0.3)\n"
          "  --min-block-us US      veltair/mts shortest block (default 500)\n"
          "  --horizon X            mts: no block longer than X times the tightest QoS target (default 0.3;\n"
          "                         0: no cap); veltair: the same cap, off unless given\n"
          "  --max-inflight N       per worker and model, at most N unfinished queries (default 4; 0: no cap)\n"
          "  --granularity G        veltair/mts: 0 adaptive (default), 1 layer-wise .. 5 whole model\n"
          "  --drop-hopeless        drop queries that can no longer meet their target\n"
          "  --admission on|off     admission control (default: the policy's; mts: on)\n"
          "  --out DIR              results directory (default results/sim-<timestamp>)\n"
          "  --quiet                no tables\n"
          "  -h, --help             this help\n"
          "\n"
          "Writes DIR/summary.json (extra.backend = \"sim\", with the profile's source), DIR/queries.csv,\n"
          "DIR/profile.json, DIR/sim-N.jsonl (one block log per worker) and DIR/timeline.json (Chrome\n"
          "trace events of the first 50 000 blocks, as serve writes).\n"
          "Example: mtserve sim --workload w.json --profile ../shared/data/veltair-3990x --cores 64 \\\n"
          "           --llc-domains 4 --policy mts\n");
}

int mts_cli_interf_pair(const char *s, mts_interf_model_t *m) {
  char *end;
  m->k_node = strtod(s, &end);
  if (*end != ',') return -1;
  m->k_llc = strtod(end + 1, &end);
  return *end || m->k_node < 0 || m->k_llc < 0 ? -1 : 0;
}

int mts_cli_sim(int argc, char **argv) {
  static const struct option longopts[] = {
      {"workload", required_argument, 0, 'w'},   {"profile", required_argument, 0, 'P'},
      {"ref", required_argument, 0, 'R'},        {"policy", required_argument, 0, 'p'},
      {"cores", required_argument, 0, 'n'},      {"nodes", required_argument, 0, 'N'},
      {"llc-domains", required_argument, 0, 'L'}, {"workers-per-llc", required_argument, 0, 'K'},
      {"cores-per-query", required_argument, 0, 'c'}, {"duration", required_argument, 0, 'd'},
      {"rate-scale", required_argument, 0, 'r'}, {"seed", required_argument, 0, 's'},
      {"noise", required_argument, 0, 'z'},      {"dispatch-us", required_argument, 0, 'u'},
      {"interference", required_argument, 0, 'I'}, {"model-interference", required_argument, 0, 'M'},
      {"min-block-us", required_argument, 0, 'b'}, {"granularity", required_argument, 0, 'g'},
      {"horizon", required_argument, 0, 'Z'},    {"max-inflight", required_argument, 0, 'm'},
      {"drop-hopeless", no_argument, 0, 'D'},    {"admission", required_argument, 0, 'A'},
      {"out", required_argument, 0, 'o'},        {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
  mts_sim_opts_t o;
  mts_interf_model_t truth, model;
  char out_dir[4096];
  int c, bad = 0;
  char *end;
  memset(&o, 0, sizeof o);
  o.noise = 0.05;
  o.dispatch_us = 30;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'w': o.workload = optarg; break;
    case 'P': o.profile_path = optarg; break;
    case 'R': o.ref_dir = optarg; break;
    case 'p': o.policy = optarg; break;
    case 'o': o.out_dir = optarg; break;
    case 'q': o.quiet = 1; break;
    case 'D': o.drop_hopeless = 1; break;
    case 'A':
      if (!strcmp(optarg, "on")) o.admission = 1;
      else if (!strcmp(optarg, "off")) o.admission = -1;
      else bad = fprintf(stderr, "mtserve sim: --admission must be on or off, not '%s'\n", optarg);
      break;
    case 'I':
    case 'M':
      if (mts_cli_interf_pair(optarg, c == 'I' ? &truth : &model)) {
        bad = fprintf(stderr, "mtserve sim: --%s needs KN,KL (two non-negative numbers), not '%s'\n",
                      c == 'I' ? "interference" : "model-interference", optarg);
      } else if (c == 'I') {
        o.truth = &truth;
      } else {
        o.model = &model;
      }
      break;
    case 'd': case 'r': case 'z': case 'u': case 'b': case 'Z': {
      double v = strtod(optarg, &end);
      if (*end || v < 0 || ((c == 'd' || c == 'r') && !(v > 0))) {
        const char *name = "?";
        for (int k = 0; longopts[k].name; k++)
          if (longopts[k].val == c) name = longopts[k].name;
        bad = fprintf(stderr, "mtserve sim: --%s needs a %s number, not '%s'\n", name,
                      c == 'd' || c == 'r' ? "positive" : "non-negative", optarg);
        break;
      }
      if (c == 'd') o.duration_s = v;
      else if (c == 'r') o.rate_scale = v;
      else if (c == 'z') o.noise = v;
      else if (c == 'u') o.dispatch_us = v;
      else if (c == 'Z') o.horizon = v > 0 ? v : -1;
      else o.min_block_us = v;
      break;
    }
    case 'n': case 'N': case 'L': case 'K': case 'c': case 's': case 'g': case 'm': {
      long long v = strtoll(optarg, &end, 10);
      if (*end || v < (c == 'g' || c == 'm' ? 0 : 1) || (c == 'g' && v > MTS_GRAN_LEVELS) || v > 1000000) {
        const char *name = "?";
        for (int k = 0; longopts[k].name; k++)
          if (longopts[k].val == c) name = longopts[k].name;
        bad = fprintf(stderr, "mtserve sim: --%s needs %s, not '%s'\n", name,
                      c == 'g' ? "0..5" : c == 'm' ? "a non-negative integer" : "a positive integer", optarg);
        break;
      }
      if (c == 'n') o.cores = (int)v;
      else if (c == 'N') o.nodes = (int)v;
      else if (c == 'L') o.llc_domains = (int)v;
      else if (c == 'K') o.workers_per_llc = (int)v;
      else if (c == 'c') o.cores_per_query = (int)v;
      else if (c == 's') o.seed = (uint64_t)v;
      else if (c == 'm') o.max_inflight = v > 0 ? (int)v : -1;
      else o.fixed_gran = (int)v;
      break;
    }
    case 'h': usage(stdout); return 0;
    default: bad = 1;
    }
    if (bad) return 2;
  }
  if (optind < argc) {
    fprintf(stderr, "mtserve sim: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  if (!o.workload || !o.profile_path) {
    fprintf(stderr, "mtserve sim: --workload and --profile are required; see --help\n");
    return 2;
  }
  if (!o.out_dir) {
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(out_dir, sizeof out_dir, "results/sim-%Y%m%d-%H%M%S", &tm);
    o.out_dir = out_dir;
  }
  mts_sim_result_t r;
  int rc = mts_sim_run(&o, &r);
  if (rc && !r.queries) {
    fprintf(stderr, "mtserve sim: %s\n", mts_errmsg());
    return rc == MTS_ENOMEM || rc == MTS_ESTATE ? 1 : 2;
  }
  if (rc) {
    fprintf(stderr, "mtserve sim: %s\n", mts_errmsg());
    mts_sim_result_free(&r);
    return rc == MTS_ESTATE ? 3 : 1;
  }
  if (!o.quiet) {
    mts_workload_t *w = NULL;
    if (mts_workload_open(o.workload, &w) == 0) {
      mts_report_print(stdout, w, &r.rep);
      mts_workload_destroy(w);
    }
    printf("sim: policy %s, %lld dispatches, %lld conflicts, decision p50 %.2f us / p99 %.2f us, "
           "core utilisation %.1f%%, %.1f s virtual in %.3f s wall\nresults: %s\n",
           o.policy ? o.policy : "fcfs", (long long)r.dispatches, (long long)r.conflicts, r.decide_us_p50,
           r.decide_us_p99, 100 * r.core_utilisation, r.virtual_s, r.wall_s, o.out_dir);
  }
  mts_sim_result_free(&r);
  return 0;
}
