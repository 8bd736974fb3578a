#!/usr/bin/env bash
# Log-mel of the 3,000 FSDD clips (40 x 98, the acceptance settings): sigloop against torchaudio,
# one thread each, per clip, compute alone and decode + compute, in the same run; then sigloop
# with two threads. Prints the medians and the ratios.
#   bench/features.sh [PASSES]     (needs build/bench_features and Debian's python3-torchaudio)
set -euo pipefail
cd "$(dirname "$0")/.."
passes=${1:-7}
rec=${SIGLOOP_FSDD:-../shared/data/fsdd}/recordings
ours=$(build/bench_features "$rec" "$passes")
theirs=$(tools/bench_torchaudio_features.py "$rec" "$passes" 2>/dev/null)
echo "$ours"
echo "$theirs"
med() { sed -n "s/.*$1 *median \([0-9.]*\) ms.*/\1/p" | head -1; }
o_c=$(echo "$ours" | grep "1 thread(s), compute:" | med "compute:")
o_d=$(echo "$ours" | grep "1 thread(s), decode" | med "compute:")
t_c=$(echo "$theirs" | grep ", compute:" | med "compute:")
t_d=$(echo "$theirs" | grep "decode" | med "compute:")
awk -v oc="$o_c" -v od="$o_d" -v tc="$t_c" -v td="$t_d" 'BEGIN {
  printf "one thread, sigloop vs torchaudio: compute %.2fx faster, decode + compute %.2fx faster\n", tc / oc, td / od }'
