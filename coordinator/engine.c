/* engine.c — the coordinator's run loop (see engine.h). */
#include "coordinator/engine.h"

#include <stdlib.h>
#include <string.h>

#include "coordinator/metrics.h"
#include "runtime/mts.h"

#define LAT_SAMPLES 65536 /* decision times kept for the percentiles */

typedef struct {
  mts_query_t *q;
  size_t n, cap;
  int64_t *expect;            /* predicted end of the running block per query */
  int64_t *sent;              /* dispatch time of the running block per query */
  size_t *run;                /* queries dispatched and maybe still running */
  size_t n_run, cap_run;
} table_t;

static size_t table_add(table_t *t) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 1024;
    t->q = mts_xrealloc(t->q, t->cap * sizeof *t->q);
    t->expect = mts_xrealloc(t->expect, t->cap * sizeof *t->expect);
    t->sent = mts_xrealloc(t->sent, t->cap * sizeof *t->sent);
  }
  memset(&t->q[t->n], 0, sizeof *t->q);
  t->expect[t->n] = -1;
  return t->n++;
}

static void progress_line(FILE *f, const mts_query_t *q, size_t nq, size_t total,
                          int64_t now, const mts_engine_config_t *cfg) {
  size_t done = 0, met = 0, fin = 0;
  for (size_t i = 0; i < nq; i++) {
    if (q[i].state == MTS_Q_COMPLETED || q[i].state == MTS_Q_DROPPED || q[i].state == MTS_Q_FAILED) {
      fin++;
      if (!q[i].warmup) {
        done++;
        met += q[i].state == MTS_Q_COMPLETED &&
               q[i].done_us - q[i].arrival_us <= (int64_t)cfg->qos_us[q[i].tenant];
      }
    }
  }
  fprintf(f, "%s  %6zu / %zu queries done | QoS met %5.1f%% | %5.1f s / %.0f s   %s",
          cfg->progress_tty ? "\r" : "", fin, total, done ? 100.0 * (double)met / (double)done : 100.0,
          (double)now / 1e6, cfg->duration_s, cfg->progress_tty ? "" : "\n");
  fflush(f);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int mts_engine_run(const mts_engine_config_t *cfg, mts_sched_t *s,
                   const mts_transport_t *t, mts_engine_result_t *res) {
  table_t tab = {0};
  size_t next = 0;
  int rc = 0;
  int64_t end_arrivals = (int64_t)(cfg->duration_s * 1e6);
  int64_t hard_end = end_arrivals + (int64_t)(cfg->grace_s * 1e6);
  int64_t warm_end = (int64_t)(cfg->warmup_s * 1e6);
  int64_t last_progress = -10000000;
  int64_t tick = cfg->progress_tty ? 500000 : 5000000;
  int dirty = 0; /* an event since the last decision */
  /* Decision times: a uniform sample (reservoir) of at most LAT_SAMPLES,
   * so that memory does not grow with the run's length. */
  size_t dec_cap = 256, n_lat = 0, seen_lat = 0;
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  mts_decision_t *dec = mts_xmalloc(dec_cap * sizeof *dec);
  double *lat = mts_xmalloc(LAT_SAMPLES * sizeof *lat);
  memset(lat, 0, LAT_SAMPLES * sizeof *lat); /* touched now: flat memory */
  memset(res, 0, sizeof *res);
  res->stopped = 0;

  /* Pre-size the table: one row per scheduled arrival (about 100 bytes),
   * allocated and touched now, so that the coordinator's memory is what it
   * will be at the end from the start (a soak run checks it stays flat). */
  tab.cap = cfg->n_arrivals + 1;
  tab.q = mts_xmalloc(tab.cap * sizeof *tab.q);
  tab.expect = mts_xmalloc(tab.cap * sizeof *tab.expect);
  tab.sent = mts_xmalloc(tab.cap * sizeof *tab.sent);
  memset(tab.q, 0, tab.cap * sizeof *tab.q);
  memset(tab.expect, 0, tab.cap * sizeof *tab.expect);
  memset(tab.sent, 0, tab.cap * sizeof *tab.sent);
  mts_sched_set_queries(s, tab.q, 0);
  mts_sched_reserve(s, tab.cap);

  for (;;) {
    int64_t now = t->now(t->impl);
    if (cfg->stop && *cfg->stop && !res->stopped) {
      /* Stop admitting; what arrived gets a short grace to finish. */
      res->stopped = 1;
      dirty = 1;
      next = cfg->n_arrivals;
      end_arrivals = now;
      hard_end = now + (int64_t)(cfg->stop_grace_s * 1e6);
      if (cfg->progress) fprintf(cfg->progress, "\nmtserve: stopping (signal): draining for %.1f s\n", cfg->stop_grace_s);
    }
    /* Admit every arrival whose scheduled time has come. */
    while (next < cfg->n_arrivals && cfg->arrivals[next].t_us <= now) {
      const mts_arrival_t *a = &cfg->arrivals[next++];
      size_t qi = table_add(&tab);
      mts_query_t *q = &tab.q[qi];
      q->id = qi;
      q->tenant = a->tenant;
      q->model = cfg->tenant_model[a->tenant];
      q->warmup = a->t_us < warm_end;
      q->arrival_us = a->t_us;
      q->deadline_us = a->t_us + (int64_t)cfg->qos_us[a->tenant];
      q->first_start_us = -1;
      q->done_us = -1;
      q->worker = -1;
      mts_sched_set_queries(s, tab.q, tab.n);
      mts_sched_arrive(s, qi, now);
      dirty = 1;
    }
    /* Decisions change only with an event (arrival, completion, lost
     * worker, stop); a wake-up without one has nothing to decide. */
    if (dirty && mts_sched_n_waiting(s) > 0) {
      dirty = 0;
      int64_t t0 = mts_now_ns();
      int nd = mts_sched_decide(s, now, dec, (int)dec_cap);
      if (nd == (int)dec_cap) dirty = 1; /* more may be ready: decide again */
      double us = (double)(mts_now_ns() - t0) / 1e3;
      seen_lat++;
      if (n_lat < LAT_SAMPLES) {
        lat[n_lat++] = us;
      } else {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        uint64_t k = rng % seen_lat;
        if (k < LAT_SAMPLES) lat[k] = us;
      }
      res->events++;
      for (int i = 0; i < nd; i++) {
        const mts_query_t *dq = &tab.q[dec[i].query];
        if (dec[i].kind == MTS_DEC_DROP && dq->worker >= 0 && dq->blocks > 0) {
          /* dropped part-way: its worker may free what it holds for it */
          res->released++;
          if (t->release && (rc = t->release(t->impl, dq->worker, dq))) {
            snprintf(res->error, sizeof res->error, "%s", mts_errmsg());
            goto out;
          }
        }
        if (dec[i].kind != MTS_DEC_DISPATCH) continue;
        tab.expect[dec[i].query] = now + (int64_t)dec[i].predicted_us;
        tab.sent[dec[i].query] = now;
        if (tab.n_run == tab.cap_run) {
          tab.cap_run = tab.cap_run ? tab.cap_run * 2 : 64;
          tab.run = mts_xrealloc(tab.run, tab.cap_run * sizeof *tab.run);
        }
        tab.run[tab.n_run++] = dec[i].query;
        rc = t->dispatch(t->impl, &dec[i], &tab.q[dec[i].query]);
        if (rc) {
          snprintf(res->error, sizeof res->error, "%s", mts_errmsg());
          goto out;
        }
      }
    }
    /* Finished once the arrival window has passed and nothing is left. */
    if (next == cfg->n_arrivals && now >= end_arrivals && mts_sched_n_running(s) == 0 &&
        mts_sched_n_waiting(s) == 0)
      break;
    if (now >= hard_end) {
      mts_sched_drop_waiting(s, MTS_REASON_SHUTDOWN, now);
      mts_sched_abort_running(s, MTS_REASON_SHUTDOWN, now);
      break;
    }
    if (cfg->progress && now - last_progress >= tick) {
      progress_line(cfg->progress, tab.q, tab.n, cfg->n_arrivals, now, cfg);
      last_progress = now;
    }
    /* Wait for the next completion, arrival or progress tick. */
    int64_t deadline = next < cfg->n_arrivals ? cfg->arrivals[next].t_us
                       : now < end_arrivals        ? end_arrivals
                                                   : hard_end;
    if (deadline > last_progress + tick && cfg->progress) deadline = last_progress + tick;
    int64_t expect = -1;
    for (size_t i = 0; i < tab.n_run;) {
      size_t qi = tab.run[i];
      if (tab.q[qi].state != MTS_Q_RUNNING) {
        tab.run[i] = tab.run[--tab.n_run];
        continue;
      }
      if (cfg->block_timeout_s > 0) {
        double limit = 10.0 * (double)(tab.expect[qi] - tab.sent[qi]);
        if (limit < cfg->block_timeout_s * 1e6) limit = cfg->block_timeout_s * 1e6;
        if ((double)(now - tab.sent[qi]) > limit) {
          int wk = tab.q[qi].worker;
          MTS_LOG(MTS_LOG_WARN, "worker %d: block of query %zu overran %.0f ms: worker lost", wk, qi, limit / 1e3);
          if (res->n_lost < MTS_SCHED_MAX_WORKERS) res->lost[res->n_lost++] = wk;
          if (t->lost) t->lost(t->impl, wk);
          mts_sched_worker_lost(s, wk, now);
          dirty = 1;
          continue; /* qi is no longer running: the scan drops it */
        }
      }
      if (expect < 0 || tab.expect[qi] < expect) expect = tab.expect[qi];
      i++;
    }
    mts_completion_ev_t ev;
    int got = t->wait(t->impl, deadline, expect, &ev);
    if (got < 0) {
      rc = got;
      snprintf(res->error, sizeof res->error, "%s", mts_errmsg());
      goto out;
    }
    while (got == 1) {
      mts_sched_complete(s, ev.query, ev.ok, t->now(t->impl), ev.exec_us);
      dirty = 1;
      if (!ev.ok) MTS_LOG(MTS_LOG_WARN, "query %zu failed on its worker: %s", ev.query, ev.error);
      got = t->wait(t->impl, 0, -1, &ev); /* drain what is already there */
      if (got < 0) {
        rc = got;
        snprintf(res->error, sizeof res->error, "%s", mts_errmsg());
        goto out;
      }
    }
  }
out:
  if (cfg->progress) {
    progress_line(cfg->progress, tab.q, tab.n, cfg->n_arrivals, t->now(t->impl), cfg);
    if (cfg->progress_tty) fputc('\n', cfg->progress);
  }
  res->run_s = (double)t->now(t->impl) / 1e6;
  res->arrivals_until_s = (double)end_arrivals / 1e6;
  if (n_lat) {
    qsort(lat, n_lat, sizeof *lat, cmp_double);
    res->decide_us_p50 = mts_percentile(lat, n_lat, 50);
    res->decide_us_p99 = mts_percentile(lat, n_lat, 99);
  }
  res->queries = tab.q;
  res->n_queries = tab.n;
  free(tab.expect);
  free(tab.sent);
  free(tab.run);
  free(dec);
  free(lat);
  return rc;
}
