/* validate.c — message checks for worker ranks (see validate.h).  Each
 * check names the offending field and value so that a coordinator bug shows
 * up as a readable protocol error in the Completion or Ready it caused. */
#include "workers/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/mts.h"

/* Profiling runs solo_iters x core counts full inferences; an absurd count
 * would also size a per-layer buffer from it. */
#define MAX_SOLO_ITERS 10000

static int bad(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t n, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (err && n) snprintf(err, n, "%s", msg);
  return mts_seterr(MTS_EPROTO, "%s", msg);
}

static int in_list(int v, const int *a, int n) {
  for (int i = 0; i < n; i++)
    if (a[i] == v) return 1;
  return 0;
}

/* Index of the first repeated value among v[0..n), -1 if all distinct. */
static long first_repeat(const int32_t *v, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (v[i] == v[j]) return (long)i;
  return -1;
}

static int check_load(const Mts__Load *ld, const mts_worker_limits_t *lim,
                      char *err, size_t n) {
  if (lim->loaded) return bad(err, n, "bad load: models are already loaded");
  if (ld->n_home_cores == 0) return bad(err, n, "bad load: empty home");
  if (ld->n_home_cores > (size_t)lim->max_cores)
    return bad(err, n, "bad load: %zu home cores (at most %d)",
               ld->n_home_cores, lim->max_cores);
  for (size_t i = 0; i < ld->n_home_cores; i++)
    if (ld->home_cores[i] < 0)
      return bad(err, n, "bad load: home core %d", ld->home_cores[i]);
  long r = first_repeat(ld->home_cores, ld->n_home_cores);
  if (r >= 0)
    return bad(err, n, "bad load: home core %d listed twice",
               ld->home_cores[r]);
  if (ld->n_core_counts == 0) return bad(err, n, "bad load: no core counts");
  if (ld->n_core_counts > ld->n_home_cores)
    return bad(err, n, "bad load: %zu core counts for %zu home cores",
               ld->n_core_counts, ld->n_home_cores);
  for (size_t i = 0; i < ld->n_core_counts; i++)
    if (ld->core_counts[i] < 1 || (size_t)ld->core_counts[i] > ld->n_home_cores)
      return bad(err, n, "bad load: core count %d (home has %zu cores)",
                 ld->core_counts[i], ld->n_home_cores);
  r = first_repeat(ld->core_counts, ld->n_core_counts);
  if (r >= 0)
    return bad(err, n, "bad load: core count %d listed twice",
               ld->core_counts[r]);
  if (ld->contexts < 0 || ld->contexts > 256)
    return bad(err, n, "bad load: %d contexts per model (0..256)", (int)ld->contexts);
  if (ld->n_models == 0) return bad(err, n, "bad load: no models");
  if (ld->n_models > (size_t)lim->max_models)
    return bad(err, n, "bad load: %zu models (at most %d)", ld->n_models,
               lim->max_models);
  for (size_t k = 0; k < ld->n_models; k++) {
    const Mts__ModelSpec *s = ld->models[k];
    if (!s || !s->name || !s->name[0])
      return bad(err, n, "bad load: model %zu has no name", k);
    if (s->id != (int32_t)k)
      return bad(err, n, "bad load: model %zu ('%s') has id %d", k, s->name,
                 s->id);
  }
  if (ld->solo_iters < 0 || ld->solo_iters > MAX_SOLO_ITERS)
    return bad(err, n, "bad load: solo_iters %d (0..%d)", ld->solo_iters,
               MAX_SOLO_ITERS);
  if (ld->coord_pid < 0)
    return bad(err, n, "bad load: coordinator pid %d", ld->coord_pid);
  if (ld->fault && ld->fault[0] && strcmp(ld->fault, "error") &&
      strcmp(ld->fault, "alloc") && strcmp(ld->fault, "hang") &&
      strcmp(ld->fault, "exit"))
    return bad(err, n, "bad load: unknown fault '%.32s'", ld->fault);
  if (ld->fault_after < 0)
    return bad(err, n, "bad load: fault_after %d", ld->fault_after);
  return 0;
}

static int check_dispatch(const Mts__Dispatch *d,
                          const mts_worker_limits_t *lim, char *err,
                          size_t n) {
  if (!lim->loaded) return bad(err, n, "bad dispatch: no models loaded yet");
  if (d->model < 0 || d->model >= lim->n_models)
    return bad(err, n, "bad dispatch: unknown model %d (%d loaded)", d->model,
               lim->n_models);
  if (d->n_cores == 0) return bad(err, n, "bad dispatch: no cores");
  if (d->n_cores > (size_t)lim->max_cores || d->n_cores > (size_t)lim->n_home)
    return bad(err, n, "bad dispatch: %zu cores (home has %d)", d->n_cores,
               lim->n_home);
  for (size_t i = 0; i < d->n_cores; i++)
    if (!in_list(d->cores[i], lim->home, lim->n_home))
      return bad(err, n, "bad dispatch: granted core %d is outside this "
                 "worker's home", d->cores[i]);
  long r = first_repeat(d->cores, d->n_cores);
  if (r >= 0)
    return bad(err, n, "bad dispatch: core %d granted twice", d->cores[r]);
  if (lim->n_core_counts > 0 &&
      !in_list((int)d->n_cores, lim->core_counts, lim->n_core_counts))
    return bad(err, n, "bad dispatch: %zu cores is not a compiled core count",
               d->n_cores);
  int nl = lim->n_layers ? lim->n_layers[d->model] : 0;
  if (d->first < 0 || d->first >= d->last || d->last > nl)
    return bad(err, n, "bad dispatch: layer range [%d, %d) of model %d with "
               "%d layers", d->first, d->last, d->model, nl);
  if (d->version < 0)
    return bad(err, n, "bad dispatch: version %d", d->version);
  return 0;
}

static const char *kind_name(int body_case) {
  switch (body_case) {
  case MTS__MSG__BODY_HELLO: return "Hello";
  case MTS__MSG__BODY_READY: return "Ready";
  case MTS__MSG__BODY_COMPLETION: return "Completion";
  case MTS__MSG__BODY_BYE: return "Bye";
  default: return "unknown";
  }
}

int mts_worker_validate(const Mts__Msg *m, const mts_worker_limits_t *lim,
                        char *err, size_t n) {
  if (err && n) err[0] = '\0';
  if (!m) return bad(err, n, "no message");
  switch (m->body_case) {
  case MTS__MSG__BODY_LOAD:
    if (!m->load) return bad(err, n, "bad load: empty body");
    return check_load(m->load, lim, err, n);
  case MTS__MSG__BODY_DISPATCH:
    if (!m->dispatch) return bad(err, n, "bad dispatch: empty body");
    return check_dispatch(m->dispatch, lim, err, n);
  case MTS__MSG__BODY_SHUTDOWN:
    return 0;
  case MTS__MSG__BODY_RELEASE:
    if (!m->release) return bad(err, n, "bad release: empty body");
    if (!lim->loaded) return bad(err, n, "release before load");
    return 0;
  case MTS__MSG__BODY__NOT_SET:
    return bad(err, n, "message has no body");
  default:
    return bad(err, n, "unexpected %s message (kind %d) for a worker",
               kind_name((int)m->body_case), (int)m->body_case);
  }
}
