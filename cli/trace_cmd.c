/* trace_cmd.c — `mtserve trace`: writes the arrival schedule of a workload
 * (at a rate scale and seed) as a CSV trace `arrival_us,tenant`: exactly
 * the arrivals `serve` and `sim` replay for the same options, so an outside
 * system (the ONNX Runtime baseline, scripts/peer/baseline) can be fed the
 * same queries. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coordinator/arrivals.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"

static void usage(FILE *f) {
  fprintf(f, "usage: mtserve trace --workload FILE|NAME [--rate-scale X] [--seed N] [--duration S] -o FILE.csv\n"
             "\n"
             "Writes the workload's arrival schedule as CSV (header arrival_us,tenant), the same\n"
             "arrivals serve and sim replay with these options.  -o - writes to stdout.\n"
             "\n"
             "  --workload FILE|NAME   workload JSON file or built-in name\n"
             "  --rate-scale X         multiply every arrival rate by X (default 1)\n"
             "  --seed N               arrival seed (default: the workload's)\n"
             "  --duration S           seconds of arrivals (default: the workload's)\n"
             "  -o, --output FILE      CSV file to write\n");
}

int mts_cli_trace(int argc, char **argv) {
  static const struct option longopts[] = {
      {"workload", required_argument, 0, 'w'}, {"rate-scale", required_argument, 0, 'r'},
      {"seed", required_argument, 0, 's'},     {"duration", required_argument, 0, 'd'},
      {"output", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *wl = NULL, *outp = NULL;
  double scale = 1.0, duration = 0;
  unsigned long long seed = 0;
  mts_workload_t *w = NULL;
  mts_arrival_t *arr = NULL;
  size_t n = 0;
  FILE *f = NULL;
  int c, code = 0, rc;
  char *end;
  optind = 1;
  while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
    switch (c) {
    case 'w': wl = optarg; break;
    case 'o': outp = optarg; break;
    case 'r':
    case 'd': {
      double v = strtod(optarg, &end);
      if (*end || !(v > 0)) {
        fprintf(stderr, "mtserve trace: --%s needs a positive number, not '%s'\n",
                c == 'r' ? "rate-scale" : "duration", optarg);
        return 2;
      }
      if (c == 'r') scale = v;
      else duration = v;
      break;
    }
    case 's':
      seed = strtoull(optarg, &end, 10);
      if (*end || !seed) {
        fprintf(stderr, "mtserve trace: --seed needs a positive integer, not '%s'\n", optarg);
        return 2;
      }
      break;
    case 'h': usage(stdout); return 0;
    default: return 2;
    }
  }
  if (optind < argc || !wl || !outp) {
    fprintf(stderr, "mtserve trace: --workload and -o are required; see --help\n");
    return 2;
  }
  if ((rc = mts_workload_open(wl, &w))) {
    fprintf(stderr, "mtserve trace: %s\n", mts_errmsg());
    return 2;
  }
  if (duration > 0) w->duration_s = duration;
  if (seed) w->seed = seed;
  if ((rc = mts_arrivals_build(w, scale, w->seed, &arr, &n))) {
    fprintf(stderr, "mtserve trace: %s\n", mts_errmsg());
    code = 2;
    goto out;
  }
  f = strcmp(outp, "-") ? fopen(outp, "w") : stdout;
  if (!f) {
    fprintf(stderr, "mtserve trace: cannot write %s: %s\n", outp, strerror(errno));
    code = 1;
    goto out;
  }
  fprintf(f, "arrival_us,tenant\n");
  for (size_t i = 0; i < n; i++) fprintf(f, "%lld,%s\n", (long long)arr[i].t_us, w->tenants[arr[i].tenant].name);
  if ((f != stdout ? fclose(f) : fflush(f)) != 0) {
    fprintf(stderr, "mtserve trace: error writing %s\n", outp);
    code = 1;
  }
out:
  free(arr);
  mts_workload_destroy(w);
  return code;
}
