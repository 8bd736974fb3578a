#!/usr/bin/env bash
# sigloop synth-stream on FSDD's held-out speaker: a two-minute stream exactly 120 s long, its
# truth sorted, apart by the gaps, inside the stream and made of test clips only; the same seed
# the same bytes, another seed others; the noise's level measured in a stream of noise alone
# against the test clips' power; a killed run leaves no file under the final names; bad options.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
if [ ! -d "$SIGLOOP_FSDD/recordings" ]; then
  echo "FSDD not found at $SIGLOOP_FSDD (set SIGLOOP_FSDD)"; exit 1
fi
ex="$SIGLOOP_SRC/examples"
cd "$tmp" || exit 1

# Two minutes of the test split (the data step runs first: no manifest yet).
"$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 2 -o s.wav >s.txt 2>s.err && pass || fail "stream: $(cat s.err)"
[ -s runs/fsdd/manifest.csv ] && pass || fail "no manifest in runs/fsdd"
grep -q "^wrote s.wav: 2.0 min at 8000 Hz, [0-9]* events from 500 test clips (theo), pink noise at 20 dB SNR (RMS -[0-9.]* dBFS), 0 samples clipped; truth s.csv$" s.txt \
  && pass || fail "summary: $(cat s.txt)"
"$SIGLOOP" info s.wav | grep -q ": WAV PCM_16, 8000 Hz, 1 channel, 960000 frames (120.000 s)," && pass \
  || fail "stream length: $("$SIGLOOP" info s.wav 2>&1)"
events=$(sed -n 's/.* \([0-9]*\) events from .*/\1/p' s.txt)
[ "$(head -1 s.csv)" = "start,end,label,file" ] && pass || fail "truth header: $(head -1 s.csv)"
rows=$(($(wc -l <s.csv) - 1))
[ -n "$events" ] && [ "$rows" -eq "$events" ] && [ "$rows" -gt 20 ] && pass || fail "truth rows $rows, events '$events'"
# sorted, no overlap, a gap of 1 to 3 s before each (times have 3 decimals), inside [0, 120]
awk -F, 'NR > 1 { gap = $1 - prev; if (gap < 0.999 || gap > 3.001 || $2 <= $1 || $2 > 120) bad = 1; prev = $2 }
         END { exit bad }' s.csv && pass || fail "truth not sorted, overlapping or outside the stream"
awk -F, 'NR > 1 && ($3 !~ /^[0-9]$/ || substr($4, 1, 1) != $3) { bad = 1 } END { exit bad }' s.csv && pass \
  || fail "labels not 0..9 or not the file's"
awk -F, 'NR == FNR { if ($4 == "test") test[$1] = 1; next } FNR > 1 && !($4 in test) { bad = 1 } END { exit bad }' \
  runs/fsdd/manifest.csv s.csv && pass || fail "a file outside the test split"
grep -v '^start' s.csv | grep -vq '_theo_' && fail "a file not of theo" || pass
# no clip twice before all 500 are used: 2 minutes hold far fewer
[ "$(cut -d, -f4 s.csv | sort | uniq -d | wc -l)" -eq 0 ] && pass || fail "a clip used twice in the first pass"
ls | grep -q '\.tmp\.' && fail "temporary files left: $(ls)" || pass

# The same command again: the same bytes; another seed: others; --truth elsewhere.
"$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 2 -o s2.wav -q 2>s2.err && pass || fail "again: $(cat s2.err)"
[ "$(md5sum <s.wav)" = "$(md5sum <s2.wav)" ] && pass || fail "WAV differs between two runs"
[ "$(md5sum <s.csv)" = "$(md5sum <s2.csv)" ] && pass || fail "truth differs between two runs"
"$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 2 -o s3.wav --seed 1 --truth t3.csv -q 2>s3.err && pass \
  || fail "seed 1: $(cat s3.err)"
[ -s t3.csv ] && [ ! -e s3.csv ] && pass || fail "--truth not followed"
[ "$(md5sum <s.wav)" != "$(md5sum <s3.wav)" ] && pass || fail "seed 1 gives the same WAV"
[ "$(md5sum <s.csv)" != "$(md5sum <t3.csv)" ] && pass || fail "seed 1 gives the same truth"

# The noise level: half a minute of noise alone (the first gap of 60 s leaves no room for a clip),
# its RMS (sigloop info) against the test clips' mean power (each file's RMS from sigloop info)
# minus the SNR.
"$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 0.5 --gap 60:60 --noise white --snr 15 -o n.wav >n.txt 2>n.err \
  && pass || fail "noise alone: $(cat n.err)"
grep -q " 0 events from 500 test clips" n.txt && pass || fail "noise alone: $(cat n.txt)"
[ "$(wc -l <n.csv)" -eq 1 ] && pass || fail "noise alone: truth has rows"
"$SIGLOOP" info "$SIGLOOP_FSDD"/recordings/*_theo_*.wav >theo.txt 2>theo.err && pass || fail "info theo: $(cat theo.err)"
want=$(awk '{ for (i = 1; i < NF; i++) if ($i == "RMS") { p += 10 ^ ($(i + 1) / 10); n++ } }
            END { printf "%.2f", 10 * log(p / n) / log(10) - 15 }' theo.txt)
got=$("$SIGLOOP" info n.wav | awk '{ for (i = 1; i < NF; i++) if ($i == "RMS") print $(i + 1) }')
awk -v w="$want" -v g="$got" 'BEGIN { d = w - g; exit !(d < 0.3 && d > -0.3) }' && pass \
  || fail "noise RMS $got dBFS, want $want (test clips' power - 15 dB)"
said=$(sed -n 's/.*(RMS \(-[0-9.]*\) dBFS).*/\1/p' n.txt)
awk -v w="$want" -v s="$said" 'BEGIN { d = w - s; exit !(d < 0.15 && d > -0.15) }' && pass \
  || fail "summary says RMS $said dBFS, want $want"

# A run killed part way leaves nothing under the final names.
"$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 120 -o k.wav -q 2>k.err &
pid=$!
sleep 0.5
if kill -9 "$pid" 2>/dev/null; then
  wait "$pid" 2>/dev/null
  [ ! -e k.wav ] && [ ! -e k.csv ] && pass || fail "a killed run left k.wav or k.csv"
else
  wait "$pid"; echo "note: the 120-minute stream ended within 0.5 s; the kill was not tested"
fi
rm -f k.wav.tmp.* k.csv.tmp.*

# Help, and bad options: one line naming the option.
"$SIGLOOP" synth-stream --help | grep -q "^usage: sigloop synth-stream CONFIG --minutes N -o FILE.wav" && pass || fail "--help"
"$SIGLOOP" help | grep -q "^  synth-stream CONFIG" && pass || fail "not in sigloop help"
expect_error minutes0 "minutes 0: must be in (0, 1440]" "$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 0 -o e.wav
expect_error minutes_big "minutes 1441" "$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 1441 -o e.wav
expect_error gap31 "gap 3:1: gap_max is below gap_min" "$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 1 --gap 3:1 -o e.wav
expect_error gapneg "gap_min -1" "$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 1 --gap -1:2 -o e.wav
expect_error snrnan "snr_db nan: must be a finite number" "$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 1 --snr nan -o e.wav
expect_error valempty "split val has no examples" "$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 1 --split val -o e.wav
expect_error nofolder "noise folder $tmp/none: cannot open" "$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 1 \
  --noise "$tmp/none" -o e.wav
mkdir -p quiet && echo x >quiet/readme.txt
expect_error emptyfolder "noise folder quiet holds no audio files" "$SIGLOOP" synth-stream "$ex/fsdd.yaml" --minutes 1 \
  --noise quiet -o e.wav
[ ! -e e.wav ] && [ ! -e e.csv ] && pass || fail "a failed run left e.wav or e.csv"
usage() { # usage NAME WANT ARGS...: exit 2, one line naming the option
  local name=$1 want=$2 rc=0
  shift 2
  "$SIGLOOP" synth-stream "$@" >"$name.out" 2>"$name.err" || rc=$?
  [ "$rc" -eq 2 ] && [ "$(wc -l <"$name.err")" -eq 1 ] && grep -qF -- "$want" "$name.err" && pass \
    || fail "$name: exit $rc: $(cat "$name.err")"
}
usage splitbogus "--split bogus: expected test, val or train" "$ex/fsdd.yaml" --minutes 1 --split bogus -o e.wav
usage noout "-o FILE.wav is required" "$ex/fsdd.yaml" --minutes 1
usage nominutes "--minutes N is required" "$ex/fsdd.yaml" -o e.wav
usage minutesword "--minutes ten: expected a number" "$ex/fsdd.yaml" --minutes ten -o e.wav
usage gapword "--gap 1-3: expected MIN:MAX" "$ex/fsdd.yaml" --minutes 1 --gap 1-3 -o e.wav
usage seedneg "--seed -1: expected a whole number" "$ex/fsdd.yaml" --minutes 1 --seed -1 -o e.wav
finish
