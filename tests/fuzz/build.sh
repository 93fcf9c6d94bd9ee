#!/bin/sh
# build.sh — builds one libFuzzer target with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, seeds its corpus and runs it.
#
#   tests/fuzz/build.sh TARGET SECONDS [WORKDIR]   (WORKDIR default: build-fuzz)
#   tests/fuzz/build.sh SECONDS [WORKDIR]          (the ONNX target, as before)
#
# TARGET:
#   onnx      the ONNX importer (fuzz_onnx.c; seeds: Debian's libonnx-testdata
#             models and tests/onnx/regress)
#   workload  the workload parser (fuzz_workload.c; seeds: tests/data/workloads
#             and tests/corpus/workload; dictionary workload.dict)
#   trace     the CSV trace parser (fuzz_trace.c; seeds: tests/data traces and
#             tests/corpus/trace)
#   msg       the worker's message decoder and validator (fuzz_msg.c; seeds:
#             messages packed by gen_msg.c and tests/corpus/msg)
#
# Each target keeps its corpus in WORKDIR/corpus-TARGET (grown across runs)
# and writes crashes as WORKDIR/TARGET-crash-*.  Copy a small crash input to
# the regression inputs a unit test loads (tests/onnx/regress for onnx,
# tests/corpus/<target>/ with its expected error for the others).
# Needs clang (apt-get install -y clang), protoc-c, jansson and protobuf-c.
set -eu
case "${1:-}" in
  onnx|workload|trace|msg) target=$1; shift ;;
  ''|*[!0-9]*) echo "usage: build.sh TARGET SECONDS [WORKDIR] (TARGET: onnx, workload, trace, msg)" >&2
     exit 2 ;;
  *) target=onnx ;;
esac
secs=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$root/build-fuzz}
mkdir -p "$work/gen" "$work/corpus-$target"
work=$(cd "$work" && pwd)
corpus=$work/corpus-$target
command -v clang >/dev/null || { echo "build.sh: clang not found (apt-get install -y clang)" >&2; exit 1; }

san="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
     -fno-sanitize-recover=undefined -fno-omit-frame-pointer -I$root -I$work/gen"
exe=$work/fuzz_$target
# The empty first run of a target seeds its corpus.
seed=0
[ -n "$(ls -A "$corpus")" ] || seed=1

# Copies files into the seed corpus as DIR-NAME (no clashes between dirs).
seed_from() {
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "$corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  return 0
}

case $target in
onnx)
  protoc-c --proto_path=/usr/include/onnx --c_out="$work/gen" /usr/include/onnx/onnx.proto
  # shellcheck disable=SC2086
  clang $san "$root/tests/fuzz/fuzz_onnx.c" \
    "$root"/runtime/onnx/import.c "$root"/runtime/onnx/import_ops.c \
    "$root"/runtime/onnx/import_shape.c "$root"/runtime/onnx/fold.c \
    "$root"/runtime/onnx/import_compose.c \
    "$root"/runtime/onnx/tensor.c "$root/runtime/graph.c" "$root/runtime/mts.c" \
    "$work/gen/onnx.pb-c.c" -lprotobuf-c -lm -o "$exe"
  if [ $seed = 1 ]; then
    i=0
    for m in /usr/share/libonnx-testdata/data/node/*/model.onnx \
             /usr/share/libonnx-testdata/data/pytorch-*/*/model.onnx; do
      [ -f "$m" ] || continue
      cp "$m" "$corpus/seed$i.onnx"
      i=$((i + 1))
    done
    cp "$root"/tests/onnx/regress/* "$root"/tests/corpus/onnx/* "$corpus/" 2>/dev/null || true
  fi
  opts="-max_len=65536" ;;
workload)
  # shellcheck disable=SC2086
  clang $san "$root/tests/fuzz/fuzz_workload.c" "$root/coordinator/workload.c" \
    "$root/coordinator/jsonpos.c" "$root/runtime/mts.c" -ljansson -lm -o "$exe"
  [ $seed = 1 ] && seed_from "$root"/tests/data/workloads/good/*.json "$root"/tests/data/workloads/bad/*.json \
    "$root"/tests/corpus/workload/*
  opts="-max_len=8192 -dict=$root/tests/fuzz/workload.dict" ;;
trace)
  # shellcheck disable=SC2086
  clang $san "$root/tests/fuzz/fuzz_trace.c" "$root/coordinator/arrivals.c" \
    "$root/coordinator/workload.c" "$root/coordinator/jsonpos.c" \
    "$root/runtime/mts.c" -ljansson -lm -o "$exe"
  [ $seed = 1 ] && seed_from "$root"/tests/data/workloads/good/*.csv "$root"/tests/data/workloads/traces/*.csv \
    "$root"/tests/corpus/trace/*
  opts="-max_len=4096" ;;
msg)
  protoc-c --proto_path="$root/proto" --c_out="$work/gen" "$root/proto/mtserve.proto"
  # shellcheck disable=SC2086
  clang $san "$root/tests/fuzz/fuzz_msg.c" "$root/workers/validate.c" \
    "$root/runtime/mts.c" "$work/gen/mtserve.pb-c.c" -lprotobuf-c -lm -o "$exe"
  if [ $seed = 1 ]; then
    clang -g -O1 -std=c11 -I"$work/gen" "$root/tests/fuzz/gen_msg.c" \
      "$work/gen/mtserve.pb-c.c" -lprotobuf-c -o "$work/gen_msg"
    "$work/gen_msg" "$corpus"
    cp "$root"/tests/corpus/msg/* "$corpus/" 2>/dev/null || true
  fi
  opts="-max_len=4096" ;;
esac

cd "$work"
# shellcheck disable=SC2086
exec "$exe" -max_total_time="$secs" $opts -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/$target-" -print_final_stats=1 "$corpus"
