#!/bin/sh
# build.sh — builds the ONNX importer fuzz target with clang's libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, seeds a corpus from
# Debian's libonnx-testdata models and runs it.
#
#   tests/fuzz/build.sh [SECONDS] [WORKDIR]      (defaults: 60, build-fuzz)
#
# Crashes are written as WORKDIR/crash-*; copy small ones to
# tests/onnx/regress/ as regression inputs (test_onnx loads each of them).
# Needs clang (apt-get install -y clang) and protoc-c.
set -eu
secs=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$root/build-fuzz}
mkdir -p "$work/gen" "$work/corpus"
command -v clang >/dev/null || { echo "build.sh: clang not found (apt-get install -y clang)" >&2; exit 1; }

protoc-c --proto_path=/usr/include/onnx --c_out="$work/gen" /usr/include/onnx/onnx.proto

clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
  -I"$root" -I"$work/gen" \
  "$root/tests/fuzz/fuzz_onnx.c" \
  "$root"/runtime/onnx/import.c "$root"/runtime/onnx/import_ops.c \
  "$root"/runtime/onnx/import_shape.c "$root"/runtime/onnx/fold.c \
  "$root"/runtime/onnx/import_compose.c \
  "$root"/runtime/onnx/tensor.c "$root/runtime/graph.c" "$root/runtime/mts.c" \
  "$work/gen/onnx.pb-c.c" \
  -lprotobuf-c -lm -o "$work/fuzz_onnx"

# Seed corpus: the node tests' models plus the regression inputs.
if [ -z "$(ls -A "$work/corpus")" ]; then
  i=0
  for m in /usr/share/libonnx-testdata/data/node/*/model.onnx \
           /usr/share/libonnx-testdata/data/pytorch-*/*/model.onnx; do
    [ -f "$m" ] || continue
    cp "$m" "$work/corpus/seed$i.onnx"
    i=$((i + 1))
  done
  cp "$root"/tests/onnx/regress/* "$work/corpus/" 2>/dev/null || true
fi

cd "$work"
exec ./fuzz_onnx -max_total_time="$secs" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 corpus
