#!/usr/bin/env bash
# TC-ResNet8 batch-1 inference latency on one thread: sigloop (build/bench_infer) and PyTorch's
# TorchScript-frozen model (tools/bench_torch_infer.py), in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3000}
build/bench_infer "$runs"
tools/bench_torch_infer.py "$runs" 2>/dev/null
