# common.sh — shared by the integration tests (sourced).  $MTSERVE is the
# executable; every mpirun is bounded by a timeout so a hang fails the test.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MPIRUN="$ROOT/scripts/mpirun"
DATA="$ROOT/tests/integration/data"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Under a sanitizer build, MPI jobs keep ASan/UBSan error checks but not
# leak checks: Open MPI's dlopen'ed components leave allocations that
# LeakSanitizer can neither attribute nor suppress by library (unit tests
# keep leak checks).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fail() { echo "FAIL: $*" >&2; exit 1; }
# serve NP ARGS... : runs serve under a 120 s timeout; sets RC, OUT, ERR files.
serve() {
  local np=$1; shift
  RC=0
  timeout -k 5 120 "$MPIRUN" -np "$np" "$MTSERVE" serve "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
  [ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] || fail "serve $* hung (timeout); stderr: $(cat "$TMP/err")"
}
