/* profiler.h — per-layer profiles of a compiled model: solo latency for each
 * core count and each version (oneDNN implementation / layout), slowdown
 * under a synthetic co-runner at a few intensity levels, and each version's
 * memory traffic; the Pareto set of useful versions; an on-disk cache.
 *
 * Measurement (mts_profile_model): the calling thread's OpenMP team is bound
 * to the first k of the given cores for each core count k; every version v
 * is timed by whole-model runs with version v (a layer without a version v
 * runs its version 0, as mts_model_run does).  Solo: the per-layer minimum
 * of `iters` runs, rescaled so the layers sum to the fastest whole run (solo
 * means without interference, and noise on a shared machine only adds
 * time: the fastest run is the best estimate).  Co-runner: threads pinned to the given cores that
 * the measured run does not use AND that share its last-level cache; with
 * none (k = every core of the domain) the slowdown is not measured (0) and
 * the profile's notes say so.  Levels:
 *   "llc"  each co-runner thread sweeps its share of an LLC-sized buffer,
 *          writing one word per cache line: it evicts the victim's data;
 *   "bw50" streaming read-modify-write over buffers twice the LLC in all,
 *          on for 1 ms and off for 1 ms: half the memory-bandwidth pressure;
 *   "bw"   the same streaming, continuously.
 * slowdown = per-layer minimum under the co-runner / per-layer minimum solo.
 * Runs are interleaved: each round runs every version solo and then under
 * each level, so that every timing is paired with the others' taken
 * moments apart (the machine may be shared with other work whose load
 * comes and goes; separate passes per version would turn that drift into
 * false differences between versions).
 *
 * Memory traffic: an estimate, always — the bytes of every operand of every
 * step of the version (inputs, weights, outputs, and the reorders its layout
 * needs), as if nothing stayed in cache.  Where perf_event_open works
 * (LLC misses counted per OpenMP thread), a per-layer miss count x 64 bytes
 * is recorded as well; this VM has no hardware counters, and the profiler
 * detects that and goes on without them (counters = 0).
 *
 * Useful versions: at each core count, the versions not dominated in (solo
 * time, time under the strongest co-runner measured), with a 3 % margin so
 * that noise alone does not make a version useful; where no co-runner level
 * was measured, only the fastest solo version is useful.  Dominance in
 * (solo, loaded time) rather than (solo, slowdown ratio): a slow version
 * has a low ratio because its own compute hides memory stalls, yet it is
 * never the better choice; this set keeps exactly the versions that are the
 * fastest choice at some level of interference.
 *
 * Threading: call from the thread that owns the OpenMP team (the process's
 * main thread); the profiler starts and joins its co-runner threads itself.
 * Ownership: an mts_prof_t owns everything it points to. */
#ifndef MTS_PROFILER_H
#define MTS_PROFILER_H

#include <stdint.h>

#include "runtime/exec.h"

#define MTS_PROF_MAX_VER 8      /* versions per layer kept in a profile */
#define MTS_PROF_MAX_LEVELS 4   /* co-runner levels */
#define MTS_PROF_MAX_CC 64
#define MTS_PROF_FORMAT 2       /* bump when the meaning of a cached field changes (2: per-core-count
                                   layouts fixed, see conv_fix_layouts: format-1 profiles hold
                                   reference-convolution timings at 2+ cores) */
/* A profile measured while other processes (or the hypervisor, as steal
 * time) took more than this share of the measured cores is not cached: one
 * taken on a busy machine would otherwise stay and mislead every later run
 * (it once put MobileNetV2 at 8.7 ms on 2 cores; measured quietly, 4.6 ms). */
#define MTS_PROF_MAX_OTHERS 0.10
/* ... and took at least this many CPU seconds in all. */
#define MTS_PROF_MIN_OTHERS_S 0.02

typedef struct {
  char *name;
  char *op;
  double flops;
  int n_ver;
  char *ver_name[MTS_PROF_MAX_VER];
  double *solo_us;        /* [n_ver][n_cc] */
  double *slowdown;       /* [n_ver][n_cc][n_levels]; 0: not measured */
  double bytes[MTS_PROF_MAX_VER];      /* estimated traffic per run (see above) */
  double *llc_bytes;      /* [n_ver][n_cc]: LLC misses x 64 (counters only), else NULL */
  uint32_t useful[MTS_PROF_MAX_CC];    /* per core count: bit v = version v is on the Pareto set */
} mts_prof_layer_t;

typedef struct {
  /* cache key */
  char *model_name;
  uint64_t model_hash;
  char cpu_model[128];
  char dnnl_version[32];
  int n_cc;
  int cc[MTS_PROF_MAX_CC];
  /* contents */
  int n_levels;
  char level_name[MTS_PROF_MAX_LEVELS][16];
  int n_layers;
  mts_prof_layer_t *layers;
  double model_us[MTS_PROF_MAX_CC];    /* version 0, fastest whole run, per core count */
  int counters;           /* 1: llc_bytes measured with perf_event_open */
  char notes[512];        /* what was skipped and why */
  double profile_s;       /* wall time the measurement took */
  double others_cpu;      /* share of the measured cores' time that other processes
                             or steal took during the measurement; < 0: unknown
                             (no /proc/stat); 0 in a profile loaded from the cache */
} mts_prof_t;

typedef struct {
  int iters;              /* solo runs per (core count, version); 0: 5 */
  int co_iters;           /* runs per (core count, version, level); 0: 3 */
  int n_levels;           /* co-runner levels 0..3 (first n of llc, bw50, bw); -1: none */
  int no_counters;        /* do not try perf_event_open (also env MTS_NO_PERF=1) */
  int64_t llc_bytes;      /* LLC size for the co-runner buffers; 0: from hwloc, else 32 MiB */
  double budget_s;        /* > 0: when a core count overruns its share of this
                             budget, it stops after two rounds (one co-run
                             round) and the notes say so; 0: no budget */
} mts_prof_opts_t;

/* Progress: called after each measured step; done <= total steps. */
typedef void (*mts_prof_progress_fn)(void *arg, const char *model, int done, int total,
                                     const char *what);

/* Profiles model m (compiled for every count in cc, ideally with
 * all_versions) on OS cores cores[0..n_cores): core count cc[i] runs on
 * cores[0..cc[i]).  Co-runners use cores[cc[i]..n_cores) that share the LLC
 * of cores[0].  The model's first input is filled with a fixed pattern.
 * Errors: MTS_EINVAL (a count the model lacks or more than n_cores), MTS_ETOPO,
 * run errors. */
int mts_profile_model(const mts_model_t *m, const int *cores, int n_cores, const int *cc, int n_cc,
                      const mts_prof_opts_t *opts, mts_prof_progress_fn progress, void *arg,
                      mts_prof_t **out);
void mts_prof_destroy(mts_prof_t *p);

/* Recomputes every layer's useful[] from its times and slowdowns. */
void mts_prof_pareto(mts_prof_t *p);
/* Bit set of the useful versions of n versions given solo[v] and loaded[v]
 * (time under the strongest co-runner; <= 0: not measured). */
uint32_t mts_prof_pareto_set(const double *solo, const double *loaded, int n);

/* Slowdown of layer l, version v, core-count index c under its strongest
 * measured level (max over levels), 0 if none was measured. */
double mts_prof_slowdown_max(const mts_prof_t *p, int l, int v, int c);

/* What choosing versions well is worth, per core-count index. */
typedef struct {
  int layers_multi;                     /* layers with > 1 useful version at some count */
  int layers_multi_cc[MTS_PROF_MAX_CC]; /* ... at each count */
  int layers_v0_dominated_cc[MTS_PROF_MAX_CC]; /* layers where version 0 is not useful at all */
  int max_versions;                     /* most versions of any layer */
  double v0_solo_us[MTS_PROF_MAX_CC];   /* sum over layers, version 0 */
  double best_solo_us[MTS_PROF_MAX_CC]; /* sum over layers of the fastest solo version */
  /* under the strongest co-runner level (0: not measured at that count):
   * version 0's time, and each layer's best version under it */
  double v0_loaded_us[MTS_PROF_MAX_CC];
  double best_loaded_us[MTS_PROF_MAX_CC];
  /* version 0's slowdown per level: sum of loaded / sum of solo layer times */
  double slowdown[MTS_PROF_MAX_CC][MTS_PROF_MAX_LEVELS];
  double v0_bytes, best_solo_bytes;     /* traffic estimate: version 0, fastest-solo versions (1st count) */
} mts_prof_summary_t;

void mts_prof_summarize(const mts_prof_t *p, mts_prof_summary_t *s);

/* ---- cache (runtime/profiler_cache.c) ------------------------------------
 * One file per (model hash, CPU model, core counts, oneDNN version, format)
 * in $MTS_CACHE, else ~/.cache/mtserve/profiles/.  A file that cannot be
 * parsed, or whose key or layer/version structure differs from the model,
 * is reported with a warning and ignored (the next save rewrites it). */

/* Fills the key fields of an empty profile for m and core counts cc:
 * name, hash, CPU model, oneDNN version. */
void mts_prof_key(mts_prof_t *p, const mts_model_t *m, const int *cc, int n_cc);
/* Cache directory (no trailing slash) into buf. */
void mts_prof_cache_dir(char *buf, size_t n);
/* The cache file path of a profile's key. */
void mts_prof_cache_path(const mts_prof_t *key, char *buf, size_t n);
/* Loads the cached profile of m for cc: 0 with *out, MTS_ENOTFOUND when
 * missing, stale or corrupt (warning logged for the last two). */
int mts_prof_cache_load(const mts_model_t *m, const int *cc, int n_cc, mts_prof_t **out);
/* Writes p to its cache file (atomically: temporary file, then rename).
 * MTS_ESTATE, and nothing written, when p->others_cpu > MTS_PROF_MAX_OTHERS. */
int mts_prof_cache_save(const mts_prof_t *p);
/* Serialises / parses (protobuf, proto/profile.proto). */
int mts_prof_pack(const mts_prof_t *p, uint8_t **buf, size_t *len);
int mts_prof_unpack(const uint8_t *buf, size_t len, mts_prof_t **out);

#endif
