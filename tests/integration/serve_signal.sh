#!/usr/bin/env bash
# SIGTERM (and SIGINT) to mpirun mid-run: the coordinator stops admitting,
# drains, writes a complete report whose books balance, and every rank exits
# within 5 s of the signal.
MTSERVE=$1
source "$(dirname "$0")/common.sh"
for sig in TERM INT; do
  out="$TMP/run-$sig"
  "$MPIRUN" -np 3 "$MTSERVE" serve --workload tiny --duration 60 --out "$out" --quiet \
      >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  for _ in $(seq 100); do [ -s "$out/profile.json" ] && break; sleep 0.1; done
  sleep 1.5
  t0=$(date +%s.%N)
  kill -"$sig" "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  t1=$(date +%s.%N)
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fail "SIG$sig: mpirun still running 10 s after the signal"; fi
  wait "$pid" || true
  secs=$(python3 -c "print('%.2f' % ($t1 - $t0))")
  python3 -c "import sys; sys.exit(0 if $secs <= 5.0 else 1)" || fail "SIG$sig: exit took $secs s (> 5 s)"
  pgrep -f "$out" >/dev/null && fail "SIG$sig: a rank outlived mpirun"
  [ -f "$out/summary.json" ] || fail "SIG$sig: no summary.json; stderr: $(cat "$TMP/err")"
  python3 - "$out/summary.json" <<'PY' || fail "SIG$sig: summary not marked as stopped"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["extra"]["stopped_by_signal"] is True, s["extra"]
assert s["overall"]["arrived"] > 0
PY
  python3 "$ROOT/tests/integration/check_run.py" "$out" --expect-workers 2 --min-completed 10 || fail "SIG$sig: check_run"
  echo "SIG$sig: all ranks exited ${secs} s after the signal; report complete"
done
echo "serve_signal: ok"
