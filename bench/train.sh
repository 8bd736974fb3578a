#!/usr/bin/env bash
# Training throughput against PyTorch 1.13 (Debian python3-torch), same machine, same run, same
# architecture, batch 64:
#   TC-ResNet8 on 40 x 98 log-mel: sigloop's trainer on FSDD's standard split (5 epochs, its own
#     samples/s over the training steps) vs tools/bench_torch_tcresnet.py (random inputs)
#   ResNet-8 2-D on 1 x 40 x 98: sigloop's trainer (1 epoch of examples/fsdd-resnet8-2d.yaml) vs
#     tools/bench_torch_resnet8_2d.py
# The two sides take turns, ROUNDS rounds (default 3) of one sigloop run and one PyTorch run (its
# own median of 5 timed repeats) each, so both see the machine in the same states; the medians
# over the rounds and their ratio are printed, for 2 threads (and once for 1 thread).
# OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE if set (older kernels): both sides run
# under this same environment, printed first.
#   bench/train.sh [ROUNDS]      (needs build/sigloop and Debian's python3-torch)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset} ($(nproc) cores)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours() { sed -n 's/.*; \([0-9]*\) training samples\/s.*/\1/p'; }
theirs() { sed -n 's/.*thread(s): median \([0-9]*\).*/\1/p'; }
build/sigloop data examples/fsdd-standard.yaml -o "$out/std" -q
build/sigloop features examples/fsdd-standard.yaml -o "$out/std" -q
build/sigloop data examples/fsdd-resnet8-2d.yaml -o "$out/r8" -q
build/sigloop features examples/fsdd-resnet8-2d.yaml -o "$out/r8" -q
tc() { build/sigloop train examples/fsdd-standard.yaml -o "$out/std" -q -j "$1" --set train.epochs=5 | ours; }
r8() { build/sigloop train examples/fsdd-resnet8-2d.yaml -o "$out/r8" -q -j "$1" --set train.epochs=1 | ours; }
echo "one thread, one round: sigloop TC-ResNet8 $(tc 1), PyTorch $(tools/bench_torch_tcresnet.py 30 1 2>/dev/null | theirs);" \
  "sigloop ResNet-8 2-D $(r8 1), PyTorch $(tools/bench_torch_resnet8_2d.py 6 1 2>/dev/null | theirs) samples/s"
: >"$out/rounds"
for i in $(seq "$rounds"); do
  a=$(tc 2); b=$(tools/bench_torch_tcresnet.py 30 2 2>/dev/null | theirs)
  c=$(r8 2); d=$(tools/bench_torch_resnet8_2d.py 6 2 2>/dev/null | theirs)
  echo "round $i, 2 threads: TC-ResNet8 sigloop $a PyTorch $b ($(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", a / b}'));" \
    "ResNet-8 2-D sigloop $c PyTorch $d ($(awk -v c="$c" -v d="$d" 'BEGIN {printf "%.2fx", c / d}')) samples/s"
  echo "$a $b $c $d" >>"$out/rounds"
done
for k in 1 2 3 4; do awk -v k=$k '{print $k}' "$out/rounds" | median >"$out/m$k"; done
awk '{print $1 / $2}' "$out/rounds" | median >"$out/r1"
awk '{print $3 / $4}' "$out/rounds" | median >"$out/r2"
awk -v a="$(cat "$out/m1")" -v b="$(cat "$out/m2")" -v c="$(cat "$out/m3")" -v d="$(cat "$out/m4")" \
    -v r1="$(cat "$out/r1")" -v r2="$(cat "$out/r2")" 'BEGIN {
  printf "medians, 2 threads: TC-ResNet8 sigloop %d PyTorch %d samples/s: %.2fx (median of the rounds\047 ratios %.2fx)\n", a, b, a / b, r1
  printf "medians, 2 threads: ResNet-8 2-D sigloop %d PyTorch %d samples/s: %.2fx (median of the rounds\047 ratios %.2fx)\n", c, d, c / d, r2 }'
