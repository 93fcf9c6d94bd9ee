#!/usr/bin/env bash
# Idle ranks do not spin: Open MPI busy-polls inside blocking calls, so
# mtserve never blocks in MPI.  A nearly idle run (one query every two
# seconds) must leave every worker and the coordinator at <= 5% of a core
# over the serving phase (the ranks report their own CPU time).
MTSERVE=$1
source "$(dirname "$0")/common.sh"
serve 3 --workload "$DATA/idle.json" --out "$TMP/run" --quiet
[ "$RC" -eq 0 ] || fail "serve exited $RC: $(cat "$TMP/err")"
python3 - "$TMP/run/summary.json" <<'PY' || fail "idle CPU above 5%"
import json, sys
s = json.load(open(sys.argv[1]))
x = s["extra"]
cpus = [("coordinator", x["coordinator_cpu_pct"])] + [("worker rank %d" % w["rank"], w["cpu_pct"]) for w in x["workers"]]
for name, pct in cpus:
    print("%s: %.2f%% of a core while idle" % (name, pct))
sys.exit(0 if all(p <= 5.0 for _, p in cpus) else 1)
PY
echo "serve_idle: ok"
