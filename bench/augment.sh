#!/usr/bin/env bash
# What augmentation buys on a held-out speaker, and what it costs in training throughput:
# examples/fsdd.yaml (TC-ResNet8, theo held out, 30 epochs) trained with its augment: chain and
# without it (--set augment=[]), for seeds 0 .. SEEDS-1, the two taking turns so both see the
# machine in the same states. Prints every run's test accuracy and training samples/s, the means,
# the gain in points and the throughput ratio (medians of the runs' own samples/s).
#   bench/augment.sh [SEEDS] [CONFIG]     (default 3 seeds, examples/fsdd.yaml; needs build/sigloop)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
config=${2:-examples/fsdd.yaml}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build/sigloop data "$config" -o "$out/run" -q
build/sigloop features "$config" -o "$out/run" -q
acc() { sed -n 's/.*test accuracy \([0-9.]*\) %.*/\1/p'; }
rate() { sed -n 's/.*; \([0-9]*\) training samples\/s.*/\1/p'; }
: >"$out/plain"
: >"$out/aug"
for s in $(seq 0 $((seeds - 1))); do
  p=$(build/sigloop train "$config" -o "$out/run" -q --set train.seed="$s" --set 'augment=[]' | head -1)
  a=$(build/sigloop train "$config" -o "$out/run" -q --set train.seed="$s" | head -1)
  echo "seed $s: without augmentation $(echo "$p" | acc) % ($(echo "$p" | rate) samples/s);" \
       "with $(echo "$a" | acc) % ($(echo "$a" | rate) samples/s)"
  echo "$(echo "$p" | acc) $(echo "$p" | rate)" >>"$out/plain"
  echo "$(echo "$a" | acc) $(echo "$a" | rate)" >>"$out/aug"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
pa=$(awk '{s+=$1} END {printf "%.2f", s/NR}' "$out/plain")
aa=$(awk '{s+=$1} END {printf "%.2f", s/NR}' "$out/aug")
pr=$(awk '{print $2}' "$out/plain" | median)
ar=$(awk '{print $2}' "$out/aug" | median)
awk -v pa="$pa" -v aa="$aa" -v pr="$pr" -v ar="$ar" -v n="$seeds" 'BEGIN {
  printf "mean test accuracy over %d seeds: %.2f %% without augmentation, %.2f %% with (%+.2f points)\n", n, pa, aa, aa - pa
  printf "training throughput (medians): %d samples/s without, %d with: %.0f %%\n", pr, ar, 100 * ar / pr }'
