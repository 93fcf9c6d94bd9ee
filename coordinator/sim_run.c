/* sim_run.c — mts_sim_run (see sim.h): the modelled machine, the same
 * scheduler configuration and QoS resolution as `mtserve serve`, the engine
 * over the virtual-time transport, and the same results directory
 * (summary.json with "extra": {"backend": "sim", where the profile numbers
 * came from, ...}, queries.csv, profile.json, sim-N.jsonl, timeline.json). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coordinator/arrivals.h"
#include "coordinator/sim.h"
#include "coordinator/workload.h"
#include "runtime/mts.h"

void mts_sim_result_free(mts_sim_result_t *r) {
  if (!r) return;
  free(r->queries);
  r->queries = NULL;
  r->n_queries = 0;
}

static int write_profile(const char *path, const mts_profile_t *prof, const int *used, int n_used) {
  json_t *root = json_object(), *ma = json_array();
  json_object_set_new(root, "host", json_string("sim"));
  json_object_set_new(root, "source", json_string(prof->source));
  json_object_set_new(root, "extrapolation", json_string(prof->extrapolation));
  for (int k = 0; k < n_used; k++) {
    int i = used[k];
    const mts_model_prof_t *p = &prof->prof[i];
    json_t *x = json_object(), *la = json_array(), *mu = json_array();
    for (int c = 0; c < p->n_cc; c++) json_array_append_new(mu, json_real(p->model_us[c]));
    for (int l = 0; l < p->n_layers; l++) {
      json_t *lj = json_object(), *su = json_array();
      char name[32];
      snprintf(name, sizeof name, "layer%d", l);
      for (int c = 0; c < p->n_cc; c++) json_array_append_new(su, json_real(p->layer_us[l * p->n_cc + c]));
      json_object_set_new(lj, "name", json_string(name));
      json_object_set_new(lj, "solo_us", su);
      if (p->n_versions > 1) {
        json_t *va = json_array();
        for (int v = 1; v < p->n_versions; v++) {
          json_t *vu = json_array();
          for (int c = 0; c < p->n_cc; c++)
            json_array_append_new(vu, json_real(p->ver_us[((size_t)v * p->n_layers + l) * p->n_cc + c]));
          json_array_append_new(va, vu);
        }
        json_object_set_new(lj, "versions_us", va);
      }
      json_array_append_new(la, lj);
    }
    if (p->n_versions > 1) {
      json_t *sa = json_array();
      for (int v = 0; v < p->n_versions; v++) json_array_append_new(sa, json_real(p->ver_sens[v] > 0 ? p->ver_sens[v] : 1));
      json_object_set_new(x, "version_sens", sa);
    }
    json_object_set_new(x, "name", json_string(prof->names[i]));
    json_object_set_new(x, "measured_cores", json_integer(prof->measured_cc[i]));
    json_object_set_new(x, "model_us", mu);
    json_object_set_new(x, "layers", la);
    json_array_append_new(ma, x);
  }
  json_object_set_new(root, "models", ma);
  int rc = json_dump_file(root, path, JSON_INDENT(1)) ? mts_seterr(MTS_EIO, "cannot write %s", path) : 0;
  json_decref(root);
  return rc;
}

int mts_sim_run(const mts_sim_opts_t *o, mts_sim_result_t *res) {
  int rc = 0;
  mts_workload_t *own_w = NULL;
  mts_profile_t *own_p = NULL;
  const mts_workload_t *w = o->wl;
  const mts_profile_t *prof = o->profile;
  mts_arrival_t *arr = NULL;
  size_t n_arr = 0;
  mts_worker_desc_t *wd = NULL;
  mts_sched_t *sched = NULL;
  mts_sim_t *sim = NULL;
  mts_engine_result_t er = {0};
  const char *policy = o->policy ? o->policy : "fcfs";
  int cores = o->cores > 0 ? o->cores : 16, nodes = o->nodes > 0 ? o->nodes : 1;
  int n_llc = o->llc_domains > 0 ? o->llc_domains : 1;
  memset(res, 0, sizeof *res);

  if (!mts_policy_find(policy)) {
    char list[256] = "";
    for (const char *const *p = mts_policy_names(); *p; p++)
      snprintf(list + strlen(list), sizeof list - strlen(list), " %s", *p);
    return mts_seterr(MTS_EINVAL, "unknown policy '%s' (available:%s)", policy, list);
  }
  if (n_llc > cores) return mts_seterr(MTS_EINVAL, "%d LLC domains but only %d cores per node", n_llc, cores);
  if (cores > MTS_SCHED_MAX_HOME * n_llc || cores > 4096)
    return mts_seterr(MTS_EINVAL, "%d cores per node is too many (at most %d per LLC domain)", cores, MTS_SCHED_MAX_HOME);
  int per_dom_max = (cores + n_llc - 1) / n_llc;
  int wpl = o->workers_per_llc > 0 ? o->workers_per_llc : per_dom_max;
  int n_wk = nodes * n_llc * wpl;
  if (n_wk > MTS_SCHED_MAX_WORKERS)
    return mts_seterr(MTS_EINVAL, "%d workers (nodes x LLC domains x workers per domain) exceeds %d; lower "
                      "--workers-per-llc", n_wk, MTS_SCHED_MAX_WORKERS);
  if (!w) {
    if ((rc = mts_workload_open(o->workload, &own_w)) != 0) goto out;
    w = own_w;
  }
  if (!prof) {
    if ((rc = mts_profile_load(o->profile_path, per_dom_max, o->ref_dir, &own_p)) != 0) goto out;
    prof = own_p;
  }
  double duration = o->duration_s > 0 ? o->duration_s : w->duration_s;
  double warmup = w->warmup_s < duration ? w->warmup_s : 0;
  uint64_t seed = o->seed ? o->seed : w->seed;
  double rate_scale = o->rate_scale > 0 ? o->rate_scale : 1.0;
  int cpq = o->cores_per_query > 0 ? o->cores_per_query : w->cores_per_query > 0 ? w->cores_per_query : 1;
  {
    mts_workload_t wc = *w; /* the schedule uses the effective duration and seed */
    wc.duration_s = duration;
    wc.seed = seed;
    if ((rc = mts_arrivals_build(&wc, rate_scale, seed, &arr, &n_arr)) != 0) goto out;
  }

  /* Models: the profile's entry for every tenant's model. */
  int tenant_model[MTS_MAX_TENANTS], used[MTS_MAX_TENANTS], n_used = 0;
  mts_model_prof_t models[MTS_MAX_TENANTS];
  for (int t = 0; t < w->n_tenants; t++) {
    int pi = mts_profile_find(prof, w->tenants[t].model);
    if (pi < 0) {
      char list[512] = "";
      for (int i = 0; i < prof->n_models; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", prof->names[i]);
      rc = mts_seterr(MTS_ENOTFOUND, "tenant '%s': model '%s' is not in the profile (it has: %s)",
                      w->tenants[t].name, w->tenants[t].model, list);
      goto out;
    }
    int k = 0;
    while (k < n_used && used[k] != pi) k++;
    if (k == n_used) {
      used[n_used] = pi;
      models[n_used++] = prof->prof[pi];
    }
    tenant_model[t] = k;
  }

  /* Machine: nodes x LLC domains (contiguous core ranges) x workers. */
  wd = mts_xcalloc((size_t)n_wk, sizeof *wd);
  int max_home = 0;
  for (int n = 0, k = 0; n < nodes; n++)
    for (int d = 0; d < n_llc; d++) {
      int lo = d * cores / n_llc, hi = (d + 1) * cores / n_llc;
      for (int j = 0; j < wpl; j++, k++) {
        wd[k].rank = k + 1;
        wd[k].node = n;
        wd[k].n_home = hi - lo;
        for (int c = lo; c < hi; c++) wd[k].home[c - lo] = c;
        if (hi - lo > max_home) max_home = hi - lo;
      }
    }

  /* QoS targets exactly as serve resolves them. */
  double qos_us[MTS_MAX_TENANTS], rate[MTS_MAX_TENANTS];
  int cpq_eff = cpq < max_home ? cpq : max_home;
  for (int t = 0; t < w->n_tenants; t++) {
    const mts_tenant_t *tn = &w->tenants[t];
    const mts_model_prof_t *p = &models[tenant_model[t]];
    int c = cpq_eff <= p->n_cc ? cpq_eff : p->n_cc;
    qos_us[t] = tn->qos_ms > 0 ? tn->qos_ms * 1000.0 : tn->qos_x_solo * p->model_us[c - 1];
    res->qos_ms[t] = qos_us[t] / 1000.0;
    rate[t] = tn->rate_qps * rate_scale;
  }
  mts_sched_config_t sc = {
      .policy = policy, .cores_per_query = cpq, .drop_hopeless = o->drop_hopeless > 0,
      .n_models = n_used, .models = models, .n_workers = n_wk, .workers = wd,
      .n_tenants = w->n_tenants, .tenant_qos_us = qos_us, .tenant_model = tenant_model,
      .max_cores_node = cores, .n_nodes = nodes, .tenant_rate_qps = rate, .admission = o->admission,
      .interference = o->model, .min_block_us = o->min_block_us, .fixed_gran = o->fixed_gran,
      .horizon = o->horizon,
      .max_bound = o->max_inflight > 0 ? o->max_inflight : o->max_inflight < 0 ? 0 : MTS_SCHED_DEFAULT_MAX_BOUND,
  };
  if ((rc = mts_sched_create(&sc, &sched)) != 0) goto out;
  if (o->out_dir && mts_mkdir_p(o->out_dir) != 0) {
    rc = mts_seterr(MTS_EIO, "cannot create output directory %s: %s", o->out_dir, strerror(errno));
    goto out;
  }
  mts_sim_params_t sp = {.truth = o->truth, .noise = o->noise, .dispatch_us = o->dispatch_us, .seed = seed,
                         .log_dir = o->out_dir};
  if ((rc = mts_sim_create(&sc, &sp, &sim)) != 0) goto out;
  mts_transport_t tr;
  mts_sim_transport(sim, &tr);
  mts_engine_config_t ec = {
      .w = w, .qos_us = qos_us, .tenant_model = tenant_model, .arrivals = arr, .n_arrivals = n_arr,
      .duration_s = duration, .warmup_s = warmup, .grace_s = 10.0, .progress = NULL,
  };
  int64_t wall0 = mts_now_us();
  rc = mts_engine_run(&ec, sched, &tr, &er);
  res->wall_s = (double)(mts_now_us() - wall0) / 1e6;
  res->queries = er.queries;
  res->n_queries = er.n_queries;
  er.queries = NULL;
  if (rc) {
    mts_seterr(rc, "sim run stopped: %s", er.error);
    goto out;
  }
  res->virtual_s = er.run_s;
  res->events = er.events;
  res->decide_us_p50 = er.decide_us_p50;
  res->decide_us_p99 = er.decide_us_p99;
  res->dispatches = mts_sched_dispatches(sched);
  res->conflicts = mts_sched_conflicts(sched);
  res->core_utilisation = er.run_s > 0 ? mts_sim_core_busy_us(sim) / (er.run_s * 1e6 * nodes * cores) : 0;
  if ((rc = mts_report_compute(w, res->qos_ms, res->queries, res->n_queries, duration - warmup, &res->rep)) != 0)
    goto out;
  res->books_ok = mts_report_check_books(w, res->queries, res->n_queries) == 0;
  char books_msg[512] = "";
  if (!res->books_ok) snprintf(books_msg, sizeof books_msg, "%s", mts_errmsg());

  if (o->out_dir) {
    char path[4200];
    json_t *extra = json_object();
    json_object_set_new(extra, "backend", json_string("sim"));
    json_object_set_new(extra, "profile_source", json_string(prof->source));
    json_object_set_new(extra, "profile_extrapolation", json_string(prof->extrapolation));
    json_t *im = json_object();
    const mts_interf_model_t *tr_im = o->truth, *mo_im = o->model;
    json_object_set_new(im, "truth_k_node", json_real(tr_im ? tr_im->k_node : MTS_INTERF_K_NODE));
    json_object_set_new(im, "truth_k_llc", json_real(tr_im ? tr_im->k_llc : MTS_INTERF_K_LLC));
    json_object_set_new(im, "model_k_node", json_real(mo_im ? mo_im->k_node : MTS_INTERF_K_NODE));
    json_object_set_new(im, "model_k_llc", json_real(mo_im ? mo_im->k_llc : MTS_INTERF_K_LLC));
    json_object_set_new(im, "calibration", json_string("DESIGN.md section 1: four GoogLeNet tasks filling one CPU "
                                                       "run 1.8x slower than one (k_node + k_llc = 0.8)"));
    json_object_set_new(im, "final_correction", json_real(mts_sched_correction(sched)));
    json_object_set_new(im, "learned_scale", json_real(mts_sched_interference_scale(sched)));
    json_object_set_new(extra, "interference", im);
    json_object_set_new(extra, "noise_sigma", json_real(o->noise));
    json_object_set_new(extra, "dispatch_us", json_real(o->dispatch_us));
    json_object_set_new(extra, "nodes", json_integer(nodes));
    json_object_set_new(extra, "cores_per_node", json_integer(cores));
    json_object_set_new(extra, "llc_domains", json_integer(n_llc));
    json_object_set_new(extra, "workers_per_llc", json_integer(wpl));
    json_object_set_new(extra, "seed", json_integer((json_int_t)seed));
    json_object_set_new(extra, "cores_per_query", json_integer(cpq_eff));
    json_object_set_new(extra, "duration_s", json_real(duration));
    json_object_set_new(extra, "warmup_s", json_real(warmup));
    json_object_set_new(extra, "rate_scale", json_real(rate_scale));
    json_object_set_new(extra, "dispatches", json_integer(res->dispatches));
    json_object_set_new(extra, "conflicts", json_integer(res->conflicts));
    json_object_set_new(extra, "decide_us_p50", json_real(res->decide_us_p50));
    json_object_set_new(extra, "decide_us_p99", json_real(res->decide_us_p99));
    json_object_set_new(extra, "wall_s", json_real(res->wall_s));
    json_object_set_new(extra, "virtual_s", json_real(res->virtual_s));
    json_object_set_new(extra, "core_utilisation", json_real(res->core_utilisation));
    json_t *ma = json_array();
    for (int i = 0; i < n_used; i++) {
      json_t *x = json_object(), *solo = json_array();
      for (int c = 0; c < models[i].n_cc; c++) json_array_append_new(solo, json_real(models[i].model_us[c] / 1000.0));
      json_object_set_new(x, "name", json_string(prof->names[used[i]]));
      json_object_set_new(x, "layers", json_integer(models[i].n_layers));
      json_object_set_new(x, "versions", json_integer(models[i].n_versions > 1 ? models[i].n_versions : 1));
      json_object_set_new(x, "measured_cores", json_integer(prof->measured_cc[used[i]]));
      json_object_set_new(x, "solo_ms_by_cores", solo);
      json_array_append_new(ma, x);
    }
    json_object_set_new(extra, "models", ma);
    json_object_set_new(extra, "books_ok", json_boolean(res->books_ok));
    snprintf(path, sizeof path, "%s/summary.json", o->out_dir);
    if ((rc = mts_report_write_json(path, w, policy, &res->rep, extra)) != 0) goto out;
    snprintf(path, sizeof path, "%s/queries.csv", o->out_dir);
    if ((rc = mts_report_write_queries(path, w, res->qos_ms, res->queries, res->n_queries)) != 0) goto out;
    snprintf(path, sizeof path, "%s/profile.json", o->out_dir);
    if ((rc = write_profile(path, prof, used, n_used)) != 0) goto out;
    snprintf(path, sizeof path, "%s/timeline.json", o->out_dir);
    if ((rc = mts_timeline_write(path, mts_sim_timeline(sim), w, "sim virtual time")) != 0) goto out;
  }
  if (!res->books_ok) rc = mts_seterr(MTS_ESTATE, "sim: accounting error: %s", books_msg);
out:
  mts_sim_destroy(sim);
  mts_sched_destroy(sched);
  free(er.queries);
  free(wd);
  free(arr);
  mts_profile_destroy(own_p);
  mts_workload_destroy(own_w);
  return rc;
}
