/* mtserve.c — the `mtserve` executable: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: mtserve COMMAND [options]   (COMMAND --help for its options)\n"
          "\n"
          "mtserve serves several DNN models on multi-core CPUs, keeping as many\n"
          "queries as possible within each tenant's latency target.\n"
          "\n"
          "commands:\n"
          "  serve    run the server under MPI: mpirun -np N mtserve serve --workload W\n"
          "  sim      simulate the scheduler on a modelled machine (virtual time)\n"
          "  run      run one model (zoo name or .onnx) outside MPI and time it\n"
          "  export   write a zoo model as an ONNX file\n"
          "  sweep    find each policy's max load within QoS (sim or live MPI)\n"
          "  report   print tables and draw plots of a results or sweep directory\n"
          "  trace    write a workload's arrival schedule as CSV\n"
          "  profile  profile a model per layer, core count and version (cached)\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "serve")) return mts_cli_serve(argc - 1, argv + 1);
  if (!strcmp(cmd, "sim")) return mts_cli_sim(argc - 1, argv + 1);
  if (!strcmp(cmd, "run")) return mts_cli_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "export")) return mts_cli_export(argc - 1, argv + 1);
  if (!strcmp(cmd, "sweep")) return mts_cli_sweep(argc - 1, argv + 1);
  if (!strcmp(cmd, "report")) return mts_cli_report(argc - 1, argv + 1);
  if (!strcmp(cmd, "trace")) return mts_cli_trace(argc - 1, argv + 1);
  if (!strcmp(cmd, "profile")) return mts_cli_profile(argc - 1, argv + 1);
  fprintf(stderr, "mtserve: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
