#!/bin/sh
# cli_export.sh — `mtserve export` exit codes and output:
#   cli_export.sh MTSERVE WORKDIR
# 0 and a file the importer reads back (re-exporting it through
# `--model FILE.onnx`), 2 for usage errors and unknown models, 1 when the
# file cannot be written (with the file named in the message).
set -u
mtserve=$1
work=$2
mkdir -p "$work"
fail=0
check() { # expected-code description command...
  want=$1; what=$2; shift 2
  "$@" >/dev/null 2>"$work/err.txt"; got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; cat "$work/err.txt"; fail=1
  else
    echo "ok: $what"
  fi
}
rm -f "$work/tiny.onnx" "$work/tiny2.onnx"
check 0 "export tiny" "$mtserve" export --model tiny -o "$work/tiny.onnx"
[ -s "$work/tiny.onnx" ] || { echo "FAIL: no file written"; fail=1; }
check 0 "re-export the written .onnx (import round trip)" \
  "$mtserve" export --model "$work/tiny.onnx" -o "$work/tiny2.onnx"
check 0 "export tiny --optimized" "$mtserve" export --model tiny --optimized -o "$work/tiny_opt.onnx"
check 0 "--help" "$mtserve" export --help
check 2 "no arguments" "$mtserve" export
check 2 "unknown model" "$mtserve" export --model no_such_model -o "$work/x.onnx"
check 2 "unknown option" "$mtserve" export --bogus
check 1 "unwritable output" "$mtserve" export --model tiny -o /nonexistent/dir/x.onnx
grep -q "nonexistent" "$work/err.txt" || { echo "FAIL: error does not name the file"; fail=1; }
exit $fail
