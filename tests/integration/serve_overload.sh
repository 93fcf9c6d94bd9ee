#!/usr/bin/env bash
# Overload: arrivals at several times the machine's capacity (two
# SqueezeNet tenants at 1000 qps each, one of them bursty, against 4-10 ms
# solo on 2 cores: 4-10x), policy mts with a bounded queue of 2 per tenant.
# Nothing crashes, the books balance with reasons, the queues reject work
# (queue_full) instead of growing, memory stays bounded, and the queries
# that were admitted and completed mostly meet their target.
MTSERVE=$1
source "$(dirname "$0")/common.sh"
serve 3 --workload "$DATA/overload.json" --policy mts --queue-limit 2 --out "$TMP/run" --quiet
[ "$RC" -eq 0 ] || fail "serve exited $RC: $(cat "$TMP/err")"
python3 "$ROOT/tests/integration/check_run.py" "$TMP/run" --expect-workers 2 --min-completed 50 || fail "check_run"
python3 - "$TMP/run/summary.json" <<'PY' || fail "overload expectations"
import json, sys
s = json.load(open(sys.argv[1]))
o, x = s["overall"], s["extra"]
cap_qps = 2 * 1000.0 / x["models"][0]["solo_ms_by_cores"][0]   # 2 cores, 1 core per query
offered = o["sched_qps"]
ok_done = o["satisfied"] / max(1, o["completed"])
print("offered %.0f qps = %.1fx capacity (%.0f qps); completed %d, dropped %d %s; QoS met by %.1f%% of completed"
      % (offered, offered / cap_qps, cap_qps, o["completed"], o["dropped"], o["reasons"], 100 * ok_done))
print("max RSS: coordinator %.0f MB, workers %s MB" % (x["coordinator_max_rss_mb"], [round(w["max_rss_mb"]) for w in x["workers"]]))
assert offered >= 2.5 * cap_qps, "not an overload"
assert o["reasons"]["queue_full"] > 0, "bounded queues never rejected"
assert ok_done >= 0.7, "admitted queries missed QoS"
assert x["coordinator_max_rss_mb"] < 200, "coordinator memory"
assert all(w["max_rss_mb"] < 1024 for w in x["workers"]), "worker memory"
PY
echo "serve_overload: ok"
