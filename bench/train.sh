#!/usr/bin/env bash
# TC-ResNet8 training throughput: sigloop (one thread, 5 epochs of FSDD's standard split, the
# trainer's own samples/s over its training steps) and PyTorch on the same architecture and batch
# (tools/bench_torch_tcresnet.py, 1 and 2 threads), in the same run.
#   bench/train.sh     (needs build/sigloop and Debian's python3-torch)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build/sigloop data examples/fsdd-standard.yaml -o "$out" -q
build/sigloop features examples/fsdd-standard.yaml -o "$out" -q
for i in 1 2 3; do
  build/sigloop train examples/fsdd-standard.yaml -o "$out" -q --set train.epochs=5 | head -1 |
    sed -n 's/.*; \([0-9]*\) training samples\/s.*/sigloop TC-ResNet8 training, batch 64, 1 thread: \1 samples\/s/p'
done
tools/bench_torch_tcresnet.py 30 2>/dev/null
