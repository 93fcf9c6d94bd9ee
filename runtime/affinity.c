/* affinity.c — topology discovery and CPU binding with hwloc.
 *
 * The topology is read once per call (cheap enough at start-up).  Cores are
 * listed in hwloc's logical order, which keeps the cores of one LLC domain
 * contiguous, so that a contiguous share of the list stays inside a domain. */
#include "runtime/affinity.h"

#include <hwloc.h>
#include <errno.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/mts.h"

static void read_cpu_model(char *buf, size_t n) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  snprintf(buf, n, "unknown");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "model name", 10)) {
      char *p = strchr(line, ':');
      if (p) {
        p++;
        while (*p == ' ') p++;
        p[strcspn(p, "\n")] = 0;
        snprintf(buf, n, "%s", p);
      }
      break;
    }
  }
  fclose(f);
}

int mts_topology_read(mts_topology_t *t) {
  hwloc_topology_t topo;
  memset(t, 0, sizeof *t);
  if (gethostname(t->host, sizeof t->host - 1) != 0) snprintf(t->host, sizeof t->host, "unknown");
  read_cpu_model(t->cpu_model, sizeof t->cpu_model);
  if (hwloc_topology_init(&topo) < 0 || hwloc_topology_load(topo) < 0)
    return mts_seterr(MTS_ETOPO, "hwloc: cannot load the machine topology");

  int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  hwloc_obj_type_t unit = HWLOC_OBJ_CORE;
  if (ncores <= 0) { /* some VMs expose PUs only */
    unit = HWLOC_OBJ_PU;
    ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  }
  if (ncores <= 0 || ncores > MTS_MAX_CORES) {
    hwloc_topology_destroy(topo);
    return mts_seterr(MTS_ETOPO, "hwloc: %d cores found (supported: 1..%d)", ncores, MTS_MAX_CORES);
  }
  /* LLC = the deepest-level cache object that covers each core (L3, else L2). */
  int llc_depth = hwloc_get_type_depth(topo, HWLOC_OBJ_L3CACHE);
  if (llc_depth < 0) llc_depth = hwloc_get_type_depth(topo, HWLOC_OBJ_L2CACHE);
  int llc_seen[MTS_MAX_CORES];
  int n_llc = 0;
  for (int i = 0; i < ncores; i++) {
    hwloc_obj_t core = hwloc_get_obj_by_type(topo, unit, (unsigned)i);
    hwloc_obj_t pu = unit == HWLOC_OBJ_PU ? core : hwloc_get_obj_inside_cpuset_by_type(topo, core->cpuset, HWLOC_OBJ_PU, 0);
    t->cores[i] = pu ? (int)pu->os_index : i;
    int llc = 0;
    if (llc_depth >= 0) {
      hwloc_obj_t c = hwloc_get_ancestor_obj_by_depth(topo, (int)llc_depth, core);
      if (c) {
        llc = (int)c->logical_index;
        if (c->attr && t->llc_bytes == 0) t->llc_bytes = (int64_t)c->attr->cache.size;
      }
    }
    int k;
    for (k = 0; k < n_llc && llc_seen[k] != llc; k++) {
    }
    if (k == n_llc) llc_seen[n_llc++] = llc;
    t->llc_of[i] = k;
  }
  t->n_cores = ncores;
  t->n_llc = n_llc > 0 ? n_llc : 1;
  hwloc_topology_destroy(topo);
  return 0;
}

/* Binding uses one topology loaded on first use and kept for the process:
 * loading costs milliseconds, and the worker re-binds whenever a block's
 * grant changes. */
static hwloc_topology_t bind_topo;

static int bind_topo_get(void) {
  if (bind_topo) return 0;
  if (hwloc_topology_init(&bind_topo) < 0 || hwloc_topology_load(bind_topo) < 0) {
    bind_topo = NULL;
    return mts_seterr(MTS_ETOPO, "hwloc: cannot load the machine topology");
  }
  return 0;
}

static int bind_set(const int *cores, int n, int flags) {
  int rc = 0;
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  for (int i = 0; i < n; i++) hwloc_bitmap_set(set, (unsigned)cores[i]);
  if (hwloc_set_cpubind(bind_topo, set, flags) < 0)
    rc = mts_seterr(MTS_ETOPO, "hwloc: cannot bind to %d cores (first OS index %d)", n, cores[0]);
  hwloc_bitmap_free(set);
  return rc;
}

int mts_bind_process(const int *cores, int n) {
  if (n <= 0) return mts_seterr(MTS_EINVAL, "bind: empty core set");
  int rc = bind_topo_get();
  return rc ? rc : bind_set(cores, n, HWLOC_CPUBIND_PROCESS);
}

int mts_bind_omp_team(const int *cores, int n) {
  int failed = 0;
  if (n <= 0) return mts_seterr(MTS_EINVAL, "bind: empty core set");
  int rc = bind_topo_get();
  if (rc) return rc;
  /* Each thread binds itself; libgomp keeps the same OS threads for a team
   * of the same size, so the binding holds for primitives made for n. */
#pragma omp parallel num_threads(n) reduction(+ : failed)
  {
    int i = omp_get_thread_num();
    if (bind_set(&cores[i], 1, HWLOC_CPUBIND_THREAD) != 0) failed++;
  }
  if (failed) return mts_seterr(MTS_ETOPO, "hwloc: %d of %d OpenMP threads could not be bound", failed, n);
  return 0;
}

int mts_raise_priority(char *how, size_t n) {
  struct sched_param sp = {.sched_priority = sched_get_priority_min(SCHED_RR)};
  if (sched_setscheduler(0, SCHED_RR, &sp) == 0) {
    snprintf(how, n, "SCHED_RR");
    return 0;
  }
  int err = errno;
  if (setpriority(PRIO_PROCESS, 0, -10) == 0) {
    snprintf(how, n, "nice -10");
    return 0;
  }
  snprintf(how, n, "normal (no real-time or negative nice: %s)", strerror(err));
  return -1;
}
