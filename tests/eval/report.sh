#!/usr/bin/env bash
# report.sh MTSERVE — `mtserve report` on (1) a sim run overloaded so that
# tenants miss their p99 bound, (2) a serve results directory (a trimmed
# real run: summary.json, queries.csv, timeline.json).  Checks the tables
# (VALID/INVALID per tenant as summary.json says), the PNG plots and their
# data, and the errors for a directory that is not a results directory.
set -u
MTSERVE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

pngs() {  # DIR: the three run plots exist and are PNG images
  for p in latency_cdf timeline utilisation; do
    f="$1/plots/$p.png"
    [ -s "$f" ] || fail "missing $f"
    [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$f is not a PNG"
    [ -s "$1/plots/$p.gp" ] || fail "missing the gnuplot script of $p"
  done
}

verdicts() {  # DIR OUTPUT: every tenant's VALID/INVALID line matches summary.json
  python3 - "$1/summary.json" "$2" <<'PY' || fail "report verdicts disagree with summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
out = open(sys.argv[2]).read().splitlines()
for t in s["tenants"] + [dict(s["overall"], name="overall")]:
    line = [l for l in out if l.split() and l.split()[0] == t["name"]]
    want = "VALID" if t["valid"] else "INVALID"
    if not line or line[0].split()[-1] != want:
        sys.exit(f"{t['name']}: expected {want}, report says {line}")
PY
}

# 1. sim run, overloaded: some tenant INVALID.
"$MTSERVE" sim --workload tiny --profile "$HERE/data/tiny-profile.json" --cores 2 --duration 2 --rate-scale 60 \
  --policy fcfs --quiet --out "$TMP/sim" || fail "sim run failed"
"$MTSERVE" report "$TMP/sim" >"$TMP/out" 2>"$TMP/err" || fail "report on a sim run: $(cat "$TMP/err")"
grep -q INVALID "$TMP/out" || fail "overloaded run should have an INVALID tenant: $(cat "$TMP/out")"
# sim writes the same results directory as serve: timeline.json too, one event per block and core
python3 - "$TMP/sim" <<'PY' || fail "sim timeline.json"
import glob, json, sys
d = sys.argv[1]
t = json.load(open(d + "/timeline.json"))
ev = [e for e in t["traceEvents"] if e.get("ph") == "X"]
blocks = sum(1 for f in glob.glob(d + "/sim-*.jsonl") for _ in open(f))
assert t["otherData"]["source"] == "sim virtual time"
assert len(ev) >= min(blocks, 50000) > 0, (len(ev), blocks)
PY
verdicts "$TMP/sim" "$TMP/out"
pngs "$TMP/sim"
# The same directory named by a relative path (gnuplot runs in plots/).
rm -f "$TMP"/sim/plots/*.png
(cd "$TMP" && "$MTSERVE" report sim >/dev/null 2>"$TMP/err") || fail "report with a relative path: $(cat "$TMP/err")"
pngs "$TMP/sim"
# The CDF data: one file per tenant, fractions non-decreasing and <= 100.
for f in "$TMP"/sim/plots/cdf-*.dat; do
  awk 'NR > 1 && $2 < prev { exit 1 } $2 > 100.0001 { exit 1 } { prev = $2 }' "$f" || fail "$f is not a CDF"
done
# Utilisation: a core x bin matrix of fractions in [0, 1], 2 cores.
[ "$(wc -l <"$TMP/sim/plots/utilisation.dat")" -eq 2 ] || fail "utilisation matrix should have 2 rows (cores)"
awk '{ for (i = 1; i <= NF; i++) if ($i < 0 || $i > 1) exit 1 }' "$TMP/sim/plots/utilisation.dat" \
  || fail "utilisation outside [0, 1]"

# 2. serve run (timeline.json): copied so the plots go to a scratch directory.
cp -r "$HERE/data/serve-run" "$TMP/serve"
"$MTSERVE" report "$TMP/serve" >"$TMP/out" 2>"$TMP/err" || fail "report on a serve run: $(cat "$TMP/err")"
verdicts "$TMP/serve" "$TMP/out"
pngs "$TMP/serve"
grep -q "tiny-a" "$TMP/serve/plots/timeline.gp" || fail "timeline plot has no tenant series"
[ -s "$TMP/serve/plots/tl-1.dat" ] || fail "no timeline boxes for the first tenant"
"$MTSERVE" report --no-plots "$TMP/serve" >/dev/null || fail "--no-plots failed"

# 3. errors.
rc=0; "$MTSERVE" report "$TMP" >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "summary.json" "$TMP/err" || fail "report on a non-results dir: rc $rc, $(cat "$TMP/err")"
rc=0; "$MTSERVE" report >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "report without a directory: rc $rc"
echo ok
