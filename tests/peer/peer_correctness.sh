#!/usr/bin/env bash
# peer_correctness.sh MTSERVE WORKDIR — exports zoo models with
# `mtserve export`, runs each with `mtserve run` and with ONNX Runtime on the
# deterministic input (scripts/peer/README.md) at 1 and 2 threads, and fails
# when any normalized max error max|mt-ort|/max|ort| exceeds 1e-4, a run
# fails, or a row is missing.  Exit 77 (skip) when node or npm is absent or
# scripts/peer/setup cannot install onnxruntime-node.
set -uo pipefail
bin=$(readlink -f "$1")
work=$2
here=$(cd "$(dirname "$0")" && pwd)
peer=$here/../../scripts/peer
models=${PEER_MODELS:-"tiny squeezenet1_1 mobilenet_v2 googlenet resnet50"}

command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: node/npm not installed"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
if ! "$peer/setup"; then
    echo "SKIP: scripts/peer/setup could not install onnxruntime-node"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"

"$peer/compare" --mtserve "$bin" --models "$models" --threads "1 2" --iters 1 --warmup 0 \
    --tol 1e-4 --workdir "$work" --csv "$work/peer.csv" | tee "$work/table.txt"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
    echo "FAIL: compare exited $rc (logs in $work)"
    exit 1
fi
# Every model and thread count must have a numeric error within the limit
# (compare's own status covers this; re-check so a silent row loss fails).
want=$(( $(wc -w <<<"$models") * 2 ))
got=$(awk -F, 'NR > 1 && $8 ~ /^[0-9.eE+-]+$/ && $8 + 0 <= 1e-4' "$work/peer.csv" | wc -l)
if [ "$got" -ne "$want" ]; then
    echo "FAIL: $got of $want rows within 1e-4 (see $work/peer.csv)"
    exit 1
fi
echo "ok: $got rows within 1e-4"
