/* timeline.c — block records and their Chrome trace-event export. */
#include "coordinator/timeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mts.h"

void mts_timeline_reserve(mts_timeline_t *t, size_t max) {
  t->max = max;
  if (max > t->cap) {
    t->v = mts_xrealloc(t->v, max * sizeof *t->v);
    memset(t->v + t->cap, 0, (max - t->cap) * sizeof *t->v);
    t->cap = max;
  }
}

void mts_timeline_add(mts_timeline_t *t, const mts_block_rec_t *r) {
  if (t->max && t->n >= t->max) {
    t->left_out++;
    return;
  }
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 1024;
    t->v = mts_xrealloc(t->v, t->cap * sizeof *t->v);
  }
  t->v[t->n++] = *r;
}

void mts_timeline_free(mts_timeline_t *t) {
  free(t->v);
  memset(t, 0, sizeof *t);
}

/* Tenant names are validated by the workload parser (no quotes, commas,
 * control characters), so they are written without escaping. */
int mts_timeline_write(const char *path, const mts_timeline_t *t,
                       const mts_workload_t *w, const char *source) {
  FILE *f = fopen(path, "w");
  if (!f) return mts_seterr(MTS_EIO, "%s: cannot write: %s", path, strerror(errno));
  fprintf(f, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"source\":\"%s\",\"blocks\":%zu,\"blocks_left_out\":%zu},"
          "\"traceEvents\":[\n", source, t->n, t->left_out);
  int first = 1;
  /* name the tracks: process = node, thread = core */
  int seen[64][256] = {{0}};
  for (size_t i = 0; i < t->n; i++) {
    const mts_block_rec_t *r = &t->v[i];
    for (int c = 0; c < r->n_cores && c < 16; c++) {
      int node = r->node < 64 ? r->node : 63, core = r->cores[c] < 256 ? r->cores[c] : 255;
      if (seen[node][core]) continue;
      seen[node][core] = 1;
      fprintf(f, "%s{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":\"core %d\"}}",
              first ? "" : ",\n", r->node, r->cores[c], r->cores[c]);
      first = 0;
    }
  }
  for (size_t i = 0; i < t->n; i++) {
    const mts_block_rec_t *r = &t->v[i];
    const char *tenant = r->tenant >= 0 && r->tenant < w->n_tenants ? w->tenants[r->tenant].name : "?";
    for (int c = 0; c < r->n_cores && c < 16; c++) {
      fprintf(f,
              "%s{\"ph\":\"X\",\"name\":\"%s q%llu [%d,%d)\",\"cat\":\"%s\",\"pid\":%d,\"tid\":%d,"
              "\"ts\":%lld,\"dur\":%lld,\"args\":{\"query\":%llu,\"tenant\":\"%s\",\"worker\":%d,"
              "\"first\":%d,\"last\":%d,\"version\":%d,\"cores\":%d,\"ok\":%s}}",
              first ? "" : ",\n", tenant, (unsigned long long)r->query, r->first, r->last, tenant, r->node,
              r->cores[c], (long long)r->start_us, (long long)(r->end_us - r->start_us),
              (unsigned long long)r->query, tenant, r->worker, r->first, r->last, r->version, r->n_cores,
              r->ok ? "true" : "false");
      first = 0;
    }
  }
  fprintf(f, "\n]}\n");
  if (fclose(f) != 0) return mts_seterr(MTS_EIO, "%s: write failed: %s", path, strerror(errno));
  return 0;
}
