#!/usr/bin/env bash
# The standard split from wav files to a trained run folder: data, features and 30 epochs of
# TC-ResNet8 on examples/fsdd-standard.yaml, in a fresh folder each time (nothing cached), on
# all cores. Prints each run's wall time and the median.
#   bench/e2e.sh [RUNS]      (needs build/sigloop)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
times=()
for i in $(seq "$runs"); do
  rm -rf "$out/run"
  t0=$(date +%s.%N)
  build/sigloop data examples/fsdd-standard.yaml -o "$out/run" -q
  build/sigloop features examples/fsdd-standard.yaml -o "$out/run" -q
  acc=$(build/sigloop train examples/fsdd-standard.yaml -o "$out/run" -q | sed -n 's/.*test accuracy \([0-9.]*\) %.*/\1/p')
  t1=$(date +%s.%N)
  t=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
  times+=("$t")
  echo "run $i: ${t} s wall, test accuracy ${acc} %"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %.2f s over %d runs\n", a[int((NR+1)/2)], NR}'
