/* serve_cmd.c — `mtserve serve`: MPI start-up, argument parsing (the same
 * on every rank, so a usage error stops every rank), and the split into the
 * coordinator (rank 0) and workers (ranks >= 1). */
#include <getopt.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coordinator/serve.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"
#include "workers/worker.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: mpirun -np N mtserve serve --workload FILE|NAME [options]\n"
          "\n"
          "Serves the workload's tenants: rank 0 coordinates, ranks 1..N-1 run models.\n"
          "\n"
          "  --workload FILE|NAME   workload JSON file, or a built-in:");
  for (const char *const *n = mts_workload_builtin_names(); *n; n++) fprintf(f, " %s", *n);
  fprintf(f,
          "\n"
          "  --policy P             scheduling policy (default fcfs)\n"
          "  --duration S           seconds of arrivals (default: the workload's)\n"
          "  --rate-scale X         multiply every arrival rate by X (default 1)\n"
          "  --seed N               arrival seed (default: the workload's)\n"
          "  --cores-per-query K    cores per query for fcfs (default: the workload's, else 1)\n"
          "  --home llc|node        worker homes: LLC domains (default) or the whole node\n"
          "  --drop-hopeless        drop queries that can no longer meet their target\n"
          "  --admission on|off     admission control (default: the policy's; mts: on)\n"
          "  --queue-limit N        per tenant, at most N queries waiting to start (default: no limit)\n"
          "  --reject newest|oldest with a full queue, drop the arriving query (default) or the oldest waiting\n"
          "  --horizon X            mts: no block longer than X times the tightest QoS target (default 0.3;\n"
          "                         0: no cap); veltair: the same cap, off unless given\n"
          "  --max-inflight N       per worker and model, at most N unfinished queries (the worker makes N\n"
          "                         query contexts at start; default 4; 0: no cap, contexts made on demand)\n"
          "  --solo-iters N         iterations per model and core count when profiling (default 7)\n"
          "  --out DIR              results directory (default results/<timestamp>)\n"
          "  --stop-grace S         on SIGINT/SIGTERM, seconds to drain before dropping (default 0.5)\n"
          "  --block-timeout S      a block running longer than max(S, 10x predicted) means its worker is\n"
          "                         hung or dead: its queries fail, it gets no more work (default 5)\n"
          "  --inject-fault KIND:RANK[:AFTER]\n"
          "                         testing: worker RANK fails its AFTER-th block (default 5) with KIND =\n"
          "                         error (block error), alloc (context allocation), hang, or exit\n"
          "  --quiet                no progress line or tables\n"
          "  -h, --help             this help\n"
          "\n"
          "Writes DIR/summary.json, DIR/queries.csv and DIR/rank-N.jsonl.\n"
          "Example: mpirun --allow-run-as-root --oversubscribe -np 3 mtserve serve --workload demo\n");
}

static int parse(int argc, char **argv, mts_serve_opts_t *o, int rank) {
  static const struct option longopts[] = {
      {"workload", required_argument, 0, 'w'}, {"policy", required_argument, 0, 'p'},
      {"duration", required_argument, 0, 'd'}, {"rate-scale", required_argument, 0, 'r'},
      {"seed", required_argument, 0, 's'},     {"cores-per-query", required_argument, 0, 'c'},
      {"home", required_argument, 0, 'H'},     {"drop-hopeless", no_argument, 0, 'D'},
      {"solo-iters", required_argument, 0, 'i'}, {"out", required_argument, 0, 'o'},
      {"quiet", no_argument, 0, 'q'},          {"stop-grace", required_argument, 0, 'g'},
      {"admission", required_argument, 0, 'A'}, {"queue-limit", required_argument, 0, 'Q'},
      {"reject", required_argument, 0, 'R'},   {"block-timeout", required_argument, 0, 'T'},
      {"inject-fault", required_argument, 0, 'F'}, {"horizon", required_argument, 0, 'Z'},
      {"max-inflight", required_argument, 0, 'M'},          {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  FILE *err = rank == 0 ? stderr : fopen("/dev/null", "w");
  int rc = 0, c;
  char *end;
  memset(o, 0, sizeof *o);
  o->drop_hopeless = -1;
  o->rate_scale = 1.0;
  optind = 1;
  opterr = rank == 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'w': o->workload = optarg; break;
    case 'p': o->policy = optarg; break;
    case 'o': o->out_dir = optarg; break;
    case 'H':
      o->home_mode = optarg;
      if (strcmp(optarg, "llc") && strcmp(optarg, "node")) {
        fprintf(err, "mtserve serve: --home must be llc or node, not '%s'\n", optarg);
        rc = 2;
      }
      break;
    case 'D': o->drop_hopeless = 1; break;
    case 'A':
      if (!strcmp(optarg, "on")) o->admission = 1;
      else if (!strcmp(optarg, "off")) o->admission = -1;
      else {
        fprintf(err, "mtserve serve: --admission must be on or off, not '%s'\n", optarg);
        rc = 2;
      }
      break;
    case 'q': o->quiet = 1; break;
    case 'Z': {
      double v = strtod(optarg, &end);
      if (*end || !(v >= 0)) {
        fprintf(err, "mtserve serve: --horizon needs a non-negative number, not '%s'\n", optarg);
        rc = 2;
      }
      o->horizon = v > 0 ? v : -1;
      break;
    }
    case 'F': o->inject_fault = optarg; break;
    case 'd':
    case 'r':
    case 'T':
    case 'g': {
      double v = strtod(optarg, &end);
      if (*end || !(v > 0)) {
        fprintf(err, "mtserve serve: --%s needs a positive number, not '%s'\n",
                c == 'd' ? "duration" : c == 'r' ? "rate-scale" : c == 'T' ? "block-timeout" : "stop-grace", optarg);
        rc = 2;
      }
      if (c == 'd') o->duration_s = v;
      else if (c == 'r') o->rate_scale = v;
      else if (c == 'T') o->block_timeout_s = v;
      else o->stop_grace_s = v;
      break;
    }
    case 'R':
      if (!strcmp(optarg, "oldest")) o->reject_oldest = 1;
      else if (strcmp(optarg, "newest")) {
        fprintf(err, "mtserve serve: --reject must be newest or oldest, not '%s'\n", optarg);
        rc = 2;
      }
      break;
    case 's':
    case 'c':
    case 'Q':
    case 'i': {
      long long v = strtoll(optarg, &end, 10);
      if (*end || v <= 0) {
        fprintf(err, "mtserve serve: --%s needs a positive integer, not '%s'\n",
                c == 's' ? "seed" : c == 'c' ? "cores-per-query" : c == 'Q' ? "queue-limit" : "solo-iters", optarg);
        rc = 2;
      }
      if (c == 's') o->seed = (uint64_t)v;
      else if (c == 'c') o->cores_per_query = (int)v;
      else if (c == 'Q') o->queue_limit = (int)v;
      else o->solo_iters = (int)v;
      break;
    }
    case 'M': {
      long long v = strtoll(optarg, &end, 10);
      if (*end || v < 0 || v > 256) {
        fprintf(err, "mtserve serve: --max-inflight needs an integer 0..256, not '%s'\n", optarg);
        rc = 2;
      }
      o->max_inflight = v > 0 ? (int)v : -1;
      break;
    }
    case 'h':
      if (rank == 0) usage(stdout);
      rc = 1;
      break;
    default:
      rc = 2;
    }
    if (rc) break;
  }
  if (!rc && optind < argc) {
    fprintf(err, "mtserve serve: unexpected argument '%s'\n", argv[optind]);
    rc = 2;
  }
  if (!rc && !o->workload) {
    fprintf(err, "mtserve serve: --workload is required (a JSON file or a built-in name); see --help\n");
    rc = 2;
  }
  if (err != stderr) fclose(err);
  return rc;
}

int mts_cli_serve(int argc, char **argv) {
  int rank = 0, code;
  mts_serve_opts_t o;
  MPI_Init(&argc, &argv);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  mts_log_init(rank);
  code = parse(argc, argv, &o, rank);
  if (code == 1) code = 0; /* --help */
  else if (code == 0) code = rank == 0 ? mts_coordinator_main(&o) : mts_worker_main(rank);
  fflush(stdout);
  MPI_Finalize();
  return code;
}
