#!/bin/bash
# profile_cli.sh — `mtserve profile` end to end on the tiny model: measures
# and caches, prints the table and summary, writes JSON; the second run loads
# the cache; a corrupt cache file is ignored with a warning and rewritten;
# usage errors exit 2.
set -u
MTSERVE=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export MTS_CACHE="$TMP/cache"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$MTSERVE" profile --model tiny --cores 1 --iters 2 --co-iters 2 --json "$TMP/p.json" >"$TMP/out" 2>"$TMP/err" \
  || fail "profile exited $?: $(cat "$TMP/err")"
grep -q "measured and saved to" "$TMP/out" || fail "first run did not measure: $(cat "$TMP/out")"
grep -q "^summary: tiny" "$TMP/out" || fail "no summary"
grep -q "layers with more than one useful version" "$TMP/out" || fail "no useful-version count"
grep -q "stem.conv" "$TMP/out" || fail "no per-layer table"
grep -q "profiling tiny: step" "$TMP/err" || fail "no progress on stderr"
python3 - "$TMP/p.json" <<'PY' || fail "bad JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["model"] == "tiny" and d["core_counts"] == [1], d["core_counts"]
assert len(d["layers"]) == 8, len(d["layers"])
for l in d["layers"]:
    assert len(l["versions"]) >= 1 and len(l["useful"]) == 1 and l["useful"][0] > 0
    for v in l["versions"]:
        # (a reshape of a tensor already in the wanted layout has no step)
        assert len(v["solo_us"]) == 1 and v["solo_us"][0] > 0
        assert v["bytes_estimate"] > 0 or l["op"] == "Reshape", l
PY
ls "$MTS_CACHE"/tiny-*-c1-*.pb >/dev/null 2>&1 || fail "no cache file"

"$MTSERVE" profile --model tiny --cores 1 --quiet >"$TMP/out2" 2>"$TMP/err2" || fail "second run exited $?"
grep -q "loaded from" "$TMP/out2" || fail "second run did not use the cache: $(head -1 "$TMP/out2")"

for f in "$MTS_CACHE"/tiny-*-c1-*.pb; do echo "garbage" >"$f"; done
MTS_LOG=warn "$MTSERVE" profile --model tiny --cores 1 --iters 1 --co-iters 1 --quiet >"$TMP/out3" 2>"$TMP/err3" \
  || fail "run over a corrupt cache exited $?"
grep -q "measured and saved to" "$TMP/out3" || fail "corrupt cache was not re-measured"
grep -q "stale or corrupt" "$TMP/err3" || fail "no warning about the corrupt cache: $(cat "$TMP/err3")"
"$MTSERVE" profile --model tiny --cores 1 --quiet >"$TMP/out4" 2>/dev/null || fail "fourth run exited $?"
grep -q "loaded from" "$TMP/out4" || fail "the corrupt cache file was not rewritten"

rc=0; "$MTSERVE" profile >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "no --model: exit $rc, expected 2"
rc=0; "$MTSERVE" profile --model tiny --cores 0 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--cores 0: exit $rc, expected 2"
rc=0; "$MTSERVE" profile --model no_such_model >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "unknown model: exit $rc, expected 2"
echo ok
