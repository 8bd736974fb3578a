#!/usr/bin/env bash
# Step 8: the streaming runner's speed and memory. Trains examples/fsdd-stream.yaml once (unless
# RUN is given), makes 10-minute and 60-minute streams of theo's held-out clips over pink noise,
# then times `sigloop detect` on one thread pinned to one core (taskset) over the 10-minute one
# (median of 5 runs, in multiples of real time), and compares the peak RSS of detect over both
# streams (/usr/bin/time -v). With a RUN that has a calibrated detect.yaml, detect uses it.
#   bench/post.sh [RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
sigloop=build/sigloop
out=${BENCH_OUT:-build/bench-post}
mkdir -p "$out"
run=${1:-}
if [ -z "$run" ]; then
  run=$out/model
  [ -f "$run/model.slm" ] || $sigloop train examples/fsdd-stream.yaml -o "$run" -q
fi
[ -f "$out/s10.wav" ] || $sigloop synth-stream examples/fsdd-stream.yaml --split test --minutes 10 --seed 1 -o "$out/s10.wav" -q
[ -f "$out/s60.wav" ] || $sigloop synth-stream examples/fsdd-stream.yaml --split test --minutes 60 --seed 2 -o "$out/s60.wav" -q

speeds=()
for i in 1 2 3 4 5; do
  line=$(taskset -c 0 $sigloop detect "$run" "$out/s10.wav" --svg none -q | grep "x real time")
  speeds+=("$(echo "$line" | sed -E 's/.*\(([0-9]+)x real time.*/\1/')")
done
median=$(printf '%s\n' "${speeds[@]}" | sort -n | sed -n 3p)
echo "detect, 10-minute stream, 1 thread: ${speeds[*]} x real time; median ${median}x"

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }
r10=$(rss $sigloop detect "$run" "$out/s10.wav" --svg "$out/t10.svg" -q)
r60=$(rss $sigloop detect "$run" "$out/s60.wav" --svg "$out/t60.svg" -q)
echo "peak RSS: 10-minute stream ${r10} KiB, 60-minute stream ${r60} KiB ($(awk -v a="$r10" -v b="$r60" 'BEGIN { printf "%+.1f %%", 100 * (b - a) / a }'))"
$sigloop detect "$run" "$out/s10.wav" --truth "$out/s10.csv" --svg none -q | tail -1
