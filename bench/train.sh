#!/usr/bin/env bash
# Training throughput against PyTorch 1.13 (Debian python3-torch), same machine, same run, same
# architecture, batch 64, 1 and 2 threads:
#   TC-ResNet8 on 40 x 98 log-mel: sigloop's trainer on FSDD's standard split (5 epochs, its own
#     samples/s over the training steps) vs tools/bench_torch_tcresnet.py (random inputs)
#   ResNet-8 2-D on 1 x 40 x 98: sigloop's trainer (1 epoch of examples/fsdd-resnet8-2d.yaml) vs
#     tools/bench_torch_resnet8_2d.py
# Each sigloop figure is the median of RUNS runs (default 3); PyTorch prints its own median.
# OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE if set (older kernels): both sides run
# under this same environment, printed first.
#   bench/train.sh [RUNS]      (needs build/sigloop and Debian's python3-torch)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset} ($(nproc) cores)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { sed -n 's/.*; \([0-9]*\) training samples\/s.*/\1/p'; }
build/sigloop data examples/fsdd-standard.yaml -o "$out/std" -q
build/sigloop features examples/fsdd-standard.yaml -o "$out/std" -q
build/sigloop data examples/fsdd-resnet8-2d.yaml -o "$out/r8" -q
build/sigloop features examples/fsdd-resnet8-2d.yaml -o "$out/r8" -q
declare -A ours
for j in 1 2; do
  ours[tc$j]=$(for i in $(seq "$runs"); do
    build/sigloop train examples/fsdd-standard.yaml -o "$out/std" -q -j "$j" --set train.epochs=5 | rate
  done | median)
  echo "sigloop TC-ResNet8 training, batch 64, $j thread(s): median ${ours[tc$j]} samples/s"
done
torch_tc=$(tools/bench_torch_tcresnet.py 30 2>/dev/null | tee /dev/stderr | sed -n 's/.*2 thread(s): median \([0-9]*\).*/\1/p')
for j in 1 2; do
  ours[r8$j]=$(for i in $(seq "$runs"); do
    build/sigloop train examples/fsdd-resnet8-2d.yaml -o "$out/r8" -q -j "$j" --set train.epochs=1 | rate
  done | median)
  echo "sigloop ResNet-8 2-D training, batch 64, $j thread(s): median ${ours[r8$j]} samples/s"
done
torch_r8=$(tools/bench_torch_resnet8_2d.py 2>/dev/null | tee /dev/stderr | sed -n 's/.*2 thread(s): median \([0-9]*\).*/\1/p')
awk -v a="${ours[tc2]}" -v b="$torch_tc" 'BEGIN {printf "TC-ResNet8, 2 threads: sigloop / PyTorch = %.2f\n", a / b}'
awk -v a="${ours[r82]}" -v b="$torch_r8" 'BEGIN {printf "ResNet-8 2-D, 2 threads: sigloop / PyTorch = %.2f\n", a / b}'
