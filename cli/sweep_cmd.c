/* sweep_cmd.c — `mtserve sweep`: finds, for each policy, the highest load
 * (arrival-rate scale) at which >= 99% of queries meet QoS, overall and per
 * tenant, over several seeds (coordinator/sweep.h), then draws the plots
 * with `mtserve report` on the sweep directory. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "coordinator/sweep.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: mtserve sweep --workload FILE|NAME [--policies LIST] [--backend sim|mpi] [options]\n"
          "\n"
          "Scales every arrival rate of the workload and finds by bisection, per policy and seed,\n"
          "the highest load at which >= 99%% of the queries meet QoS (overall and for every tenant).\n"
          "\n"
          "  --workload FILE|NAME   workload JSON file, or a built-in:");
  for (const char *const *n = mts_workload_builtin_names(); *n; n++) fprintf(f, " %s", *n);
  fprintf(f,
          "\n"
          "  --policies LIST        comma-separated; the first is the baseline (default fcfs,mts)\n"
          "  --backend sim|mpi      virtual-time model (default) or live MPI serve runs\n"
          "  --out DIR              sweep directory (default results/sweep-<workload>-<backend>-<time>)\n"
          "  --seeds N              seeds per policy (default 3 sim, 1 mpi)\n"
          "  --seed N               first seed (default: the workload's)\n"
          "  --duration S           seconds of arrivals per point (default: the workload's)\n"
          "  --target F             satisfaction required (default 0.99)\n"
          "  --start X              first load tried (default 1)\n"
          "  --tol F                stop when the bracket is within F (relative; default 0.03 sim, 0.08 mpi)\n"
          "  --steps N              bisection steps at most (default 12 sim, 3 mpi)\n"
          "  --grid N               extra points per policy and seed for the load curve (default 10 sim, 0 mpi)\n"
          "  --no-plots             do not run `mtserve report` afterwards\n"
          "  --quiet                no progress lines\n"
          " sim:\n"
          "  --profile FILE|DIR     profile.json of the workload's models (a serve run writes one), or the\n"
          "                         3990X data directory (required)\n"
          "  --ref DIR              3990X directory to extrapolate a profile.json to more cores\n"
          "  --cores N              cores per node (default 16)\n"
          "  --llc-domains D        LLC domains per node (default 1)\n"
          "  --nodes M              nodes (default 1)\n"
          "  --noise SIGMA          block-time noise (default 0.05)\n"
          "  --dispatch-us US       per-block cost (default 30)\n"
          "  --interference KN,KL   the machine's interference (default 0.5,0.3: a block beside a\n"
          "                         fully busy node runs 1.8x slower; scripts/interference fits it)\n"
          "  --model-interference KN,KL  the scheduler's estimate (default 0.5,0.3)\n"
          " mpi:\n"
          "  --ranks N              mpirun -np (default: online CPUs + 1)\n"
          "  --home llc|node        worker homes (serve's --home)\n"
          "  --solo-iters N         serve's --solo-iters\n"
          "  --mpirun PATH          mpirun wrapper (default: scripts/mpirun of the source tree)\n"
          " both:\n"
          "  --horizon X            mts's block-length cap (serve/sim --horizon; 0: none)\n"
          "  --cores-per-query K    cores per query of the fixed-grant policies, and the cores each\n"
          "                         qos_x_solo target is relative to (default: the workload's)\n"
          "  --max-inflight N       per worker and model, at most N unfinished queries (default 4; 0: no cap)\n"
          "  -h, --help             this help\n"
          "\n"
          "Writes DIR/points.csv (every run), DIR/sweep.csv (max load per policy and seed),\n"
          "DIR/summary.csv (per policy, spread over seeds, ratio to the baseline), DIR/sweep.json,\n"
          "DIR/runs/POLICY/ (each policy at the baseline's max load) and the plots of `mtserve report`.\n"
          "Example: mtserve sweep --workload light --policies fcfs,mts --profile results/p/profile.json\n");
}

int mts_cli_sweep(int argc, char **argv) {
  static const struct option longopts[] = {
      {"workload", required_argument, 0, 'w'}, {"policies", required_argument, 0, 'p'},
      {"backend", required_argument, 0, 'B'},  {"out", required_argument, 0, 'o'},
      {"seeds", required_argument, 0, 'S'},    {"seed", required_argument, 0, 's'},
      {"duration", required_argument, 0, 'd'}, {"target", required_argument, 0, 't'},
      {"start", required_argument, 0, 'x'},    {"tol", required_argument, 0, 'T'},
      {"steps", required_argument, 0, 'k'},    {"grid", required_argument, 0, 'g'},
      {"no-plots", no_argument, 0, 'P'},       {"quiet", no_argument, 0, 'q'},
      {"profile", required_argument, 0, 'f'},  {"ref", required_argument, 0, 'R'},
      {"cores", required_argument, 0, 'n'},    {"llc-domains", required_argument, 0, 'L'},
      {"nodes", required_argument, 0, 'N'},    {"noise", required_argument, 0, 'z'},
      {"dispatch-us", required_argument, 0, 'u'}, {"ranks", required_argument, 0, 'r'},
      {"home", required_argument, 0, 'H'},     {"solo-iters", required_argument, 0, 'i'},
      {"mpirun", required_argument, 0, 'm'},   {"help", no_argument, 0, 'h'},
      {"horizon", required_argument, 0, 'Z'},
      {"cores-per-query", required_argument, 0, 'K'}, {"max-inflight", required_argument, 0, 'I'},
      {"interference", required_argument, 0, 'J'}, {"model-interference", required_argument, 0, 'M'},
      {0, 0, 0, 0}};
  mts_sweep_opts_t o;
  mts_interf_model_t truth, model;
  char out_dir[4096];
  int c, plots = 1, grid_set = 0;
  char *end;
  memset(&o, 0, sizeof o);
  o.noise = 0.05;
  o.dispatch_us = 30;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    const char *name = "?";
    for (int k = 0; longopts[k].name; k++)
      if (longopts[k].val == c) name = longopts[k].name;
    switch (c) {
    case 'w': o.workload = optarg; break;
    case 'p': o.policies = optarg; break;
    case 'B': o.backend = optarg; break;
    case 'o': o.out_dir = optarg; break;
    case 'P': plots = 0; break;
    case 'q': o.quiet = 1; break;
    case 'f': o.profile_path = optarg; break;
    case 'R': o.ref_dir = optarg; break;
    case 'H': o.home_mode = optarg; break;
    case 'm': o.mpirun = optarg; break;
    case 'd': case 't': case 'x': case 'T': case 'z': case 'u': case 'Z': {
      double v = strtod(optarg, &end);
      int nonneg = c == 'z' || c == 'u' || c == 'Z';
      if (*end || !(nonneg ? v >= 0 : v > 0) || (c == 't' && v > 1)) {
        fprintf(stderr, "mtserve sweep: --%s needs a %s number%s, not '%s'\n", name,
                nonneg ? "non-negative" : "positive", c == 't' ? " <= 1" : "", optarg);
        return 2;
      }
      if (c == 'd') o.duration_s = v;
      else if (c == 't') o.target = v;
      else if (c == 'x') o.start_scale = v;
      else if (c == 'T') o.tol = v;
      else if (c == 'z') o.noise = v;
      else if (c == 'Z') o.horizon = v > 0 ? v : -1;
      else o.dispatch_us = v;
      break;
    }
    case 'S': case 's': case 'k': case 'g': case 'n': case 'L': case 'N': case 'r': case 'i': case 'K': case 'I': {
      long long v = strtoll(optarg, &end, 10);
      if (*end || v < (c == 'g' || c == 'I' ? 0 : 1) || v > (c == 'I' ? 256 : 1000000)) {
        fprintf(stderr, "mtserve sweep: --%s needs a %s integer%s, not '%s'\n", name,
                c == 'g' || c == 'I' ? "non-negative" : "positive", c == 'I' ? " <= 256" : "", optarg);
        return 2;
      }
      if (c == 'S') o.n_seeds = (int)v;
      else if (c == 's') o.seed0 = (uint64_t)v;
      else if (c == 'k') o.max_bisect = (int)v;
      else if (c == 'g') {
        o.grid = (int)v;
        grid_set = 1;
      } else if (c == 'n') o.cores = (int)v;
      else if (c == 'L') o.llc_domains = (int)v;
      else if (c == 'N') o.nodes = (int)v;
      else if (c == 'r') o.ranks = (int)v;
      else if (c == 'K') o.cores_per_query = (int)v;
      else if (c == 'I') o.max_inflight = v > 0 ? (int)v : -1;
      else o.solo_iters = (int)v;
      break;
    }
    case 'J':
    case 'M':
      if (mts_cli_interf_pair(optarg, c == 'J' ? &truth : &model)) {
        fprintf(stderr, "mtserve sweep: --%s needs KN,KL (two non-negative numbers), not '%s'\n", name, optarg);
        return 2;
      }
      if (c == 'J') o.truth = &truth;
      else o.model = &model;
      break;
    case 'h': usage(stdout); return 0;
    default: return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "mtserve sweep: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  if (!o.workload) {
    fprintf(stderr, "mtserve sweep: --workload is required; see --help\n");
    return 2;
  }
  int mpi = o.backend && !strcmp(o.backend, "mpi");
  if (!grid_set) o.grid = mpi ? 0 : 10;
  if (!mpi && !o.profile_path) {
    fprintf(stderr, "mtserve sweep: the sim backend needs --profile (profile.json from a serve run of the "
                    "workload's models, or the 3990X data directory); see --help\n");
    return 2;
  }
  if (!o.out_dir) {
    time_t now = time(NULL);
    struct tm tm;
    const char *base = strrchr(o.workload, '/');
    char stamp[32];
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(out_dir, sizeof out_dir, "results/sweep-%s-%s-%s", base ? base + 1 : o.workload,
             mpi ? "mpi" : "sim", stamp);
    o.out_dir = out_dir;
  }
  int64_t t0 = mts_now_us();
  int rc = mts_sweep_run(&o);
  if (rc) {
    fprintf(stderr, "mtserve sweep: %s\n", mts_errmsg());
    return rc == MTS_EINVAL || rc == MTS_ENOTFOUND || rc == MTS_EPARSE ? 2 : 1;
  }
  if (!o.quiet)
    fprintf(stderr, "sweep: done in %.1f s; results in %s\n", (double)(mts_now_us() - t0) / 1e6, o.out_dir);
  if (!plots) return 0;
  char *rargv[] = {"report", (char *)o.out_dir, NULL};
  return mts_cli_report(2, rargv);
}
