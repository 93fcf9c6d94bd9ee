#!/bin/bash
# serve_cache.sh — serve with the profile cache: a cold start profiles the
# models (progress on stderr) and writes the cache; profile.json carries the
# versions (versions_us, version_sens) the coordinator took from Ready; a
# warm start loads the cache and profiles nothing.
MTSERVE=$1
source "$(dirname "${BASH_SOURCE[0]}")/../integration/common.sh"
export MTS_CACHE="$TMP/cache"

serve 3 --workload tiny --duration 1 --out "$TMP/cold"
[ "$RC" -eq 0 ] || fail "cold serve exited $RC: $(cat "$TMP/err")"
grep -q "profiling tiny: step" "$TMP/err" || fail "no profiling progress on a cold start: $(cat "$TMP/err")"
ls "$MTS_CACHE"/tiny-*.pb >/dev/null 2>&1 || fail "no cache file written"
python3 - "$TMP/cold/profile.json" <<'PY' || fail "profile.json lacks versions"
import json, sys
m = json.load(open(sys.argv[1]))["models"][0]
sens = m["version_sens"]
assert len(sens) >= 2 and sens[0] == 1.0 and all(s > 0 for s in sens), sens
for l in m["layers"]:
    assert len(l["versions_us"]) == len(sens) - 1, l
    for v in l["versions_us"]:
        assert len(v) == len(l["solo_us"]) and all(x > 0 for x in v)
PY

serve 3 --workload tiny --duration 1 --out "$TMP/warm"
[ "$RC" -eq 0 ] || fail "warm serve exited $RC: $(cat "$TMP/err")"
if grep -q "profiling tiny" "$TMP/err"; then fail "warm start profiled again: $(cat "$TMP/err")"; fi
grep -q "profile of tiny loaded from $MTS_CACHE/tiny-" "$TMP/err" || fail "warm start did not say it used the cache"
cmp -s <(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['models'][0]['version_sens'])" "$TMP/cold/profile.json") \
       <(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['models'][0]['version_sens'])" "$TMP/warm/profile.json") \
  || fail "the warm start's versions differ from the cached profile's"
echo ok
