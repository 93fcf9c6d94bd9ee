#!/usr/bin/env bash
# Bad input makes every rank exit with a non-zero code and a message that
# names the file and what is wrong; nothing hangs (serve has a timeout).
MTSERVE=$1
source "$(dirname "$0")/common.sh"

expect_error() { # NAME NP PATTERN ARGS...
  local name=$1 np=$2 pat=$3; shift 3
  serve "$np" "$@" --out "$TMP/$name"
  [ "$RC" -ne 0 ] || fail "$name: exit code 0"
  grep -qE "$pat" "$TMP/err" || fail "$name: stderr lacks /$pat/: $(cat "$TMP/err")"
  echo "$name: exit $RC, $(grep -E "$pat" "$TMP/err" | head -1)"
}

expect_error unknown_model 3 "unknown_model\.json.*nosuchnet" --workload "$DATA/unknown_model.json"
expect_error malformed 3 "malformed\.json:[0-9]+" --workload "$DATA/malformed.json"
expect_error missing_trace 3 "no_such_trace\.csv.*cannot open" --workload "$DATA/missing_trace.json"
expect_error one_rank 1 "at least 2 MPI ranks" --workload tiny
expect_error unknown_workload 3 "unknown workload 'nosuch'" --workload nosuch
expect_error bad_policy 3 "unknown policy 'zzz'" --workload tiny --policy zzz
expect_error bad_flag 3 "needs a positive number" --workload tiny --duration -1
echo "serve_bad_input: ok"
