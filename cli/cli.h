/* cli.h — the subcommands of the `mtserve` executable.  Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the
 * process exit code: 0 ok, 1 runtime error, 2 usage or bad input. */
#ifndef MTS_CLI_H
#define MTS_CLI_H

#include "coordinator/sched.h"

/* mtserve run: one model outside MPI (cli/run.c). */
int mts_cli_run(int argc, char **argv);
/* mtserve export: a zoo model as an .onnx file (cli/export.c). */
int mts_cli_export(int argc, char **argv);
/* mtserve serve: the MPI server (cli/serve_cmd.c). */
int mts_cli_serve(int argc, char **argv);
/* mtserve sim: the scheduler on a modelled machine in virtual time (cli/sim_cmd.c). */
int mts_cli_sim(int argc, char **argv);
/* mtserve sweep: max load within QoS per policy, by bisection (cli/sweep_cmd.c). */
int mts_cli_sweep(int argc, char **argv);
/* mtserve report: tables and PNG plots of a results or sweep directory (cli/report_cmd.c). */
int mts_cli_report(int argc, char **argv);
/* mtserve trace: a workload's arrival schedule as CSV (cli/trace_cmd.c). */
int mts_cli_trace(int argc, char **argv);
/* mtserve profile: per-layer, per-core-count, per-version profile with the cache (cli/profile_cmd.c). */
int mts_cli_profile(int argc, char **argv);

/* "KN,KL" (two non-negative numbers) into *m: 0, or -1 when malformed
 * (cli/sim_cmd.c; sim's and sweep's --interference, --model-interference). */
int mts_cli_interf_pair(const char *s, mts_interf_model_t *m);

#endif
