#!/usr/bin/env bash
# Times step 1, `sigloop data examples/fsdd.yaml`, on the 3,000 FSDD recordings: whole-process
# wall time over several runs (first one warms the page cache and is not counted), median,
# min and max, with 1 and 2 threads.
#   bench/data.sh [RUNS]      (default 7; build first: cmake -S . -B build && cmake --build build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
bin=${SIGLOOP:-build/sigloop}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for threads in 1 2; do
  "$bin" data examples/fsdd.yaml -o "$out" -q -j "$threads" # warm-up
  times=()
  for _ in $(seq "$runs"); do
    t0=$(date +%s.%N)
    "$bin" data examples/fsdd.yaml -o "$out" -q -j "$threads"
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" "BEGIN{print b - a}")")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk -v t="$threads" -v n="$runs" '
    {v[NR]=$1} END {printf "sigloop data, 3000 files, %d thread(s), %d runs: median %.3f s  min %.3f  max %.3f\n",
                    t, n, v[int((NR+1)/2)], v[1], v[NR]}'
done
