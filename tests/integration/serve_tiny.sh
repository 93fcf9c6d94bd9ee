#!/usr/bin/env bash
# A few seconds of `serve` on the tiny model with 2 workers: the run ends
# cleanly and the results directory is complete and consistent (books
# balance per tenant, every block ran on granted cores inside its worker's
# home, no core ran two blocks at once, latencies are from scheduled time).
MTSERVE=$1
source "$(dirname "$0")/common.sh"
serve 3 --workload tiny --duration 3 --out "$TMP/run" --seed 7
[ "$RC" -eq 0 ] || fail "serve exited $RC: $(cat "$TMP/err")"
grep -q "p99" "$TMP/out" || fail "no summary table printed"
python3 "$ROOT/tests/integration/check_run.py" "$TMP/run" --expect-workers 2 --min-completed 50 || fail "check_run"
echo "serve_tiny: ok"
