#!/usr/bin/env bash
# sweep_tiny.sh MTSERVE — the CI sweep: `mtserve sweep --workload tiny
# --policies fcfs,mts --backend sim` on a 2-core model of this machine with a
# measured profile of the tiny model; checks the CSV files and plots with
# check_sweep.py, and that bad options are refused.
set -u
MTSERVE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

start=$(date +%s)
"$MTSERVE" sweep --workload tiny --policies fcfs,mts --backend sim --profile "$HERE/data/tiny-profile.json" \
  --cores 2 --duration 2 --seeds 2 --grid 4 --out "$TMP/sw" >"$TMP/out" 2>"$TMP/err" \
  || fail "sweep exited $?: $(tail -5 "$TMP/err")"
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -lt 60 ] || fail "tiny sweep took ${elapsed} s (CI budget: under a minute)"
grep -q "ratio_vs_fcfs_mean" "$TMP/out" || fail "sweep did not print the summary table"
python3 "$HERE/check_sweep.py" "$TMP/sw" fcfs mts || fail "sweep directory inconsistent"

# The same sweep again gives the same answer (sim is deterministic per seed).
"$MTSERVE" sweep --workload tiny --policies fcfs,mts --profile "$HERE/data/tiny-profile.json" --cores 2 \
  --duration 2 --seeds 2 --grid 0 --no-plots --quiet --out "$TMP/sw2" >/dev/null 2>&1 || fail "second sweep failed"
cmp -s <(cut -d, -f1-4 "$TMP/sw/sweep.csv") <(cut -d, -f1-4 "$TMP/sw2/sweep.csv") \
  || fail "same sweep, different max loads: $(cat "$TMP/sw/sweep.csv" "$TMP/sw2/sweep.csv")"

# The machine's interference is the sim's to set, and sweep.json records it;
# a machine without interference carries more than the default one (1.8x at full load).
"$MTSERVE" sweep --workload tiny --policies fcfs --profile "$HERE/data/tiny-profile.json" --cores 2 \
  --duration 2 --seeds 1 --grid 0 --no-plots --quiet --interference 0,0 --out "$TMP/sw3" >/dev/null 2>&1 \
  || fail "sweep --interference 0,0 failed"
python3 - "$TMP/sw" "$TMP/sw3" <<'PY' || fail "--interference not applied"
import csv, json, sys
a, b = (json.load(open(d + "/sweep.json")) for d in sys.argv[1:])
assert a["interference"] == [0.5, 0.3] and b["interference"] == [0.0, 0.0], (a["interference"], b["interference"])
m = [min(float(r["max_rate_scale"]) for r in csv.DictReader(open(d + "/sweep.csv")) if r["policy"] == "fcfs") for d in sys.argv[1:]]
assert m[1] > 1.1 * m[0], m
PY

# Usage errors exit 2 with a message.
for args in "--policies fcfs,nosuch" "--backend gpu" "--target 1.5" "--interference 0.5" "--model-interference a,b"; do
  rc=0
  "$MTSERVE" sweep --workload tiny --profile "$HERE/data/tiny-profile.json" --out "$TMP/bad" $args \
    >/dev/null 2>"$TMP/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "sweep $args exited $rc, expected 2"
  [ -s "$TMP/err" ] || fail "sweep $args printed no message"
done
rc=0; "$MTSERVE" sweep --workload tiny --out "$TMP/bad" >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--profile" "$TMP/err" || fail "sim sweep without a profile: rc $rc, $(cat "$TMP/err")"
echo "ok (${elapsed} s)"
