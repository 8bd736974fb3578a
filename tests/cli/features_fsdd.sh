#!/usr/bin/env bash
# sigloop features on FSDD: the cache, its reuse, the .npy output, and bad settings.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
ex="$SIGLOOP_SRC/examples"

# Without a manifest the data step runs first.
if "$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" --npy "$tmp/f.npy" >"$tmp/1.txt" 2>"$tmp/1.err"; then pass; else fail "features: $(cat "$tmp/1.err")"; fi
grep -q "running the data step first" "$tmp/1.err" && pass || fail "no note about the data step"
grep -q "^features: 3000 clips x 40 bands x 98 frames (log-mel), 3000 computed, 0 reused" "$tmp/1.txt" && pass || fail "first run: $(cat "$tmp/1.txt")"
[ -f "$tmp/s/manifest.csv" ] && pass || fail "no manifest written"
size=$(stat -c %s "$tmp/s/features.bin")
[ "$size" -eq $(( 64 + 3000 * 16 + 3000 * 40 * 98 * 4 )) ] && pass || fail "cache size $size"
head -c 8 "$tmp/f.npy" | od -An -c | grep -q "N   U   M   P   Y" && pass || fail "npy magic"
head -c 128 "$tmp/f.npy" | grep -aq "'shape': (3000, 40, 98)" && pass || fail "npy shape"

# Unchanged: everything reused, and the cache is byte-identical.
cp "$tmp/s/features.bin" "$tmp/first.bin"
"$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" --json >"$tmp/2.json" 2>"$tmp/2.err" && pass || fail "second run: $(cat "$tmp/2.err")"
grep -q '"computed": 0, "reused": 3000' "$tmp/2.json" && pass || fail "second run: $(cat "$tmp/2.json")"
cmp -s "$tmp/first.bin" "$tmp/s/features.bin" && pass || fail "cache changed on reuse"
# One thread gives the same bytes.
"$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" --set features.n_mels=32 -q -j 1 2>/dev/null
"$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" -q -j 1 2>"$tmp/3.err" && pass || fail "one thread: $(cat "$tmp/3.err")"
cmp -s "$tmp/first.bin" "$tmp/s/features.bin" && pass || fail "one thread gives other bytes"

# Bad settings: one line naming the field.
expect_error win_too_long "features.win_length: 300 is longer than n_fft (256)" \
  "$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" --set features.win_length=300
expect_error fmax_nyquist "features.f_max: 5000 Hz is above the Nyquist frequency" \
  "$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" --set features.f_max=5000
expect_error too_many_mels "features.n_mels: 200 is more than the n_fft / 2 + 1 = 129 frequency bins" \
  "$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" --set features.n_mels=200
expect_error no_duration "data.duration: must be set for features" \
  "$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" --set data.duration=0
printf 'not a cache' >"$tmp/s/features.bin"
"$SIGLOOP" features "$ex/fsdd-standard.yaml" -o "$tmp/s" -q 2>"$tmp/4.err" && pass || fail "a damaged cache is not rebuilt: $(cat "$tmp/4.err")"
cmp -s "$tmp/first.bin" "$tmp/s/features.bin" && pass || fail "rebuilt cache differs"
finish
