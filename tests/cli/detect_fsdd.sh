#!/usr/bin/env bash
# Step 8 on FSDD: a short run of examples/fsdd-stream.yaml, two synthetic streams of the held-out
# speaker, then sigloop detect (events in text and JSON agreeing, inside the stream, the truth's
# recall and false alarms, one decision per hop in --scores, the timeline rendered), sigloop
# calibrate (the chosen point on both streams; detect with the written detect.yaml finds what the
# sweep said), a stream at 16 kHz resampled on the way in, memory flat with the stream's length,
# and bad input: truth files out of order or negative, a stream shorter than one window, a hop
# that is not a whole number of frames, unknown classes.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/chromium.bash"
export SIGLOOP_FSDD
if [ ! -d "$SIGLOOP_FSDD/recordings" ]; then
  echo "FSDD not found at $SIGLOOP_FSDD (set SIGLOOP_FSDD)"; exit 1
fi
ex="$SIGLOOP_SRC/examples"
cd "$tmp" || exit 1

"$SIGLOOP" train "$ex/fsdd-stream.yaml" -o run --set train.epochs=4 -q >train.txt 2>train.err && pass \
  || fail "train: $(tail -3 train.err)"
"$SIGLOOP" synth-stream "$ex/fsdd-stream.yaml" --minutes 2 --seed 1 -o a.wav -q 2>a.err && pass || fail "stream a: $(cat a.err)"
"$SIGLOOP" synth-stream "$ex/fsdd-stream.yaml" --minutes 2 --seed 2 -o b.wav -q 2>b.err && pass || fail "stream b: $(cat b.err)"

# detect: text, JSON, scores and the timeline
"$SIGLOOP" detect run a.wav --truth a.csv --scores scores.csv >d.txt 2>d.err && pass || fail "detect: $(cat d.err)"
grep -q "^a.wav: 120.0 s, 1191 decisions every 0.1 s (post settings from run/config.yaml)$" d.txt && pass \
  || fail "detect header: $(head -1 d.txt)"
grep -Eq '^[0-9]+ events in 120.0 s of signal; [0-9.]+ s here \([0-9]+x real time on 1 thread' d.txt && pass \
  || fail "detect summary: $(grep 'events in' d.txt)"
grep -Eq '^truth a.csv: [0-9]+ events; found [0-9]+ \(recall [0-9.]+ %\), [0-9]+ false alarms' d.txt && pass \
  || fail "detect truth line: $(grep '^truth' d.txt)"
[ "$(($(wc -l <scores.csv) - 1))" -eq 1191 ] && pass || fail "scores rows: $(wc -l <scores.csv)"
head -1 scores.csv | grep -q '^t0,t1,p_0,.*,p_9,s_0,.*,s_9$' && pass || fail "scores header: $(head -1 scores.csv)"
awk -F, 'NR > 1 { p = 0; for (i = 3; i <= 12; i++) p += $i; if (p < 0.999 || p > 1.001) bad = 1 }
         NR > 2 && ($1 - prev < 0.0999 || $1 - prev > 0.1001) { bad = 1 } NR > 1 { prev = $1 } END { exit bad }' \
  scores.csv && pass || fail "scores: probabilities not summing to 1 or decisions not 0.1 s apart"
n_text=$(awk '/^ +[0-9.]+ +[0-9.]+  [0-9] /' d.txt | wc -l)
"$SIGLOOP" detect run a.wav --truth a.csv --json --svg none >d.json 2>dj.err && pass || fail "detect --json: $(cat dj.err)"
n_json=$(grep -c '^  {"start": ' d.json)
[ "$n_json" -eq "$n_text" ] && [ "$n_json" -gt 0 ] && pass || fail "detect: $n_text events in text, $n_json in JSON"
awk '/^  \{"start": / { gsub(/[{},"]/, ""); s = $2; e = $4; l = $6; c = $8
       if (!(s >= 0 && s < e && e <= 121 && l ~ /^[0-9]$/ && c >= 0.7 && c <= 1 && s > prev)) bad = 1; prev = s }
     END { exit bad }' d.json && pass || fail "detect JSON: an event out of the stream, out of order or below the threshold"
hits=$(sed -n 's/.*"hits": \([0-9]*\),.*/\1/p' d.json)
fas=$(sed -n 's/.*"false_alarms": \([0-9]*\),.*/\1/p' d.json)
[ -n "$hits" ] && [ $((hits + fas)) -eq "$n_json" ] && pass || fail "detect JSON: $hits hits + $fas false alarms != $n_json events"
grep -q "\"fa_per_hour\": $((fas * 30)).00, \"collar\": 0.25" d.json && pass || fail "detect JSON: false alarms per hour"
[ -s run/detect-a.svg ] && pass || fail "no timeline run/detect-a.svg"
printf '<!doctype html><html><body style="margin:0">%s</body></html>\n' "$(cat run/detect-a.svg)" >timeline.html
render_check timeline timeline.html timeline.png 3

# calibrate on a, evaluated on b; detect with its detect.yaml finds what the sweep said
"$SIGLOOP" calibrate run --stream a.wav --truth a.csv --eval b.wav --eval-truth b.csv --target-fa-per-hour 60 \
  >c.txt 2>c.err && pass || fail "calibrate: $(cat c.err)"
grep -q '^  calibration a.wav  *recall ' c.txt && grep -q '^  evaluation  b.wav  *recall ' c.txt && pass \
  || fail "calibrate: both streams' results: $(cat c.txt)"
[ -s run/detect.yaml ] && [ -s run/calibrate.svg ] && pass || fail "calibrate wrote no detect.yaml or calibrate.svg"
avg=$(sed -n 's/^operating point .*: average \([0-9]*\), threshold \([0-9.]*\), suppress \([0-9.]*\) s$/\1/p' c.txt)
thr=$(sed -n 's/^operating point .*: average \([0-9]*\), threshold \([0-9.]*\), suppress \([0-9.]*\) s$/\2/p' c.txt)
yaml_thr=$(sed -n 's/^  threshold: //p' run/detect.yaml)
grep -q "^  average: $avg$" run/detect.yaml && awk -v a="$thr" -v b="$yaml_thr" 'BEGIN { exit !(a == b + 0) }' && pass \
  || fail "detect.yaml lacks the chosen point (average $avg, threshold $thr)"
want=$(sed -n 's/^  calibration a.wav  *recall *\([0-9.]*\) % (\([0-9]*\) of.*, \([0-9]*\) false alarms*: .*/\2 \3/p' c.txt)
"$SIGLOOP" detect run a.wav --truth a.csv --svg none >dc.txt 2>dc.err && pass || fail "detect after calibrate: $(cat dc.err)"
grep -q "(post settings from run/detect.yaml)" dc.txt && pass || fail "detect did not take run/detect.yaml: $(head -1 dc.txt)"
got=$(sed -n 's/^truth a.csv: [0-9]* events; found \([0-9]*\) (recall [0-9.]* %), \([0-9]*\) false alarms.*/\1 \2/p' dc.txt)
[ -n "$want" ] && [ "$want" = "$got" ] && pass || fail "calibrate's point '$want' (hits, false alarms), detect's '$got'"
wantb=$(sed -n 's/^  evaluation  b.wav  *recall *\([0-9.]*\) % (\([0-9]*\) of.*, \([0-9]*\) false alarms*: .*/\2 \3/p' c.txt)
gotb=$("$SIGLOOP" detect run b.wav --truth b.csv --svg none | sed -n 's/^truth b.csv: [0-9]* events; found \([0-9]*\) (recall [0-9.]* %), \([0-9]*\) false alarms.*/\1 \2/p')
[ -n "$wantb" ] && [ "$wantb" = "$gotb" ] && pass || fail "evaluation stream: calibrate '$wantb', detect '$gotb'"
"$SIGLOOP" calibrate run --stream a.wav --truth a.csv --json -o cal.yaml --svg cal.svg --target-fa-per-hour 60 \
  >c.json 2>cj.err && pass || fail "calibrate --json: $(cat cj.err)"
[ "$(grep -c '"threshold": ' c.json)" -eq 406 ] && [ -s cal.yaml ] && [ -s cal.svg ] && pass \
  || fail "calibrate JSON: 405 settings and the chosen one, cal.yaml, cal.svg"
fa=$(sed -n 's/.*"chosen": {.*"fa_per_hour": \([0-9.]*\),.*/\1/p' c.json)
awk -v f="$fa" 'BEGIN { exit !(f != "" && f <= 60) }' && pass || fail "calibrate JSON: chosen point's false alarms '$fa'"

# a stream at 16 kHz: resampled on the way in, about the same events
"$SIGLOOP" synth-stream "$ex/fsdd-stream.yaml" --minutes 2 --seed 1 -o a16.wav -q --set data.sample_rate=16000 \
  2>a16.err && pass || fail "16 kHz stream: $(cat a16.err)"
"$SIGLOOP" info a16.wav | grep -q '16000 Hz' && pass || fail "a16.wav not at 16 kHz"
"$SIGLOOP" detect run a16.wav --svg none >d16.txt 2>d16.err && pass || fail "detect at 16 kHz: $(cat d16.err)"
grep -q "^a16.wav (resampled from 16000 Hz): 120.0 s, 1191 decisions" d16.txt && pass || fail "16 kHz: $(head -1 d16.txt)"
n16=$(awk '/^ +[0-9.]+ +[0-9.]+  [0-9] /' d16.txt | wc -l)
[ "$n16" -gt 0 ] && pass || fail "no events in the 16 kHz stream"

# memory does not grow with the stream (the plain build; the sanitizers' allocator keeps freed memory)
if nm "$SIGLOOP" 2>/dev/null | grep -q __asan_init; then
  echo "note: memory check skipped under AddressSanitizer"
elif [ -x /usr/bin/time ]; then
  "$SIGLOOP" synth-stream "$ex/fsdd-stream.yaml" --minutes 20 --seed 3 -o long.wav -q 2>long.err || fail "long stream"
  r1=$(/usr/bin/time -v "$SIGLOOP" detect run a.wav --svg none -q 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}')
  r2=$(/usr/bin/time -v "$SIGLOOP" detect run long.wav --svg none -q 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}')
  [ -n "$r1" ] && [ -n "$r2" ] && [ $((r2 * 100)) -le $((r1 * 110)) ] && pass \
    || fail "peak RSS: 2 minutes ${r1} KiB, 20 minutes ${r2} KiB"
else
  fail "/usr/bin/time missing (scripts/setup.sh installs it)"
fi

# bad input
printf 'start,end,label\n1.0,2.0,3\n1.5,2.5,4\n' >overlap.csv
expect_error truth_overlap "overlap.csv:3: the event at 1.5 s overlaps the one before" "$SIGLOOP" detect run a.wav --truth overlap.csv --svg none
printf 'start,end,label\n-1,0.5,3\n' >negative.csv
expect_error truth_negative "negative.csv:2: start -1 s is negative" "$SIGLOOP" calibrate run --stream a.wav --truth negative.csv
"$SIGLOOP" synth-stream "$ex/fsdd-stream.yaml" --minutes 0.01 --seed 1 -o short.wav -q --gap 0:0 2>/dev/null || true
expect_error short_stream "short.wav: 0.600 s long, shorter than one window of the model (1 s)" "$SIGLOOP" detect run short.wav
expect_error calibrate_short "short.wav: 0.600 s long, shorter than one window" "$SIGLOOP" calibrate run --stream short.wav --truth a.csv
expect_error bad_hop "post.hop: 0.015 s is not a whole number of the features' hops (80 samples = 10 ms)" "$SIGLOOP" detect run a.wav --set post.hop=15ms
expect_error bad_class "post.classes: 'eleven' is not one of the model's classes" "$SIGLOOP" detect run a.wav --set 'post.classes=[3, eleven]'
expect_error bad_thresholds "post.thresholds: 2 values for 10 classes" "$SIGLOOP" detect run a.wav --set 'post.thresholds=[0.5, 0.6]'
expect_error missing_stream "nothere.wav: cannot open" "$SIGLOOP" detect run nothere.wav
expect_error missing_model "nomodel/model.slm" "$SIGLOOP" detect nomodel a.wav
awk -F, 'NR == 1 { print; next } { print $1 "," $2 ",ten" }' a.csv >nolabel.csv
expect_error target_unmet "no setting finds any event" "$SIGLOOP" calibrate run --stream a.wav --truth nolabel.csv
"$SIGLOOP" detect run >/dev/null 2>&1; [ $? -eq 2 ] && pass || fail "detect without FILE: want exit 2"
"$SIGLOOP" calibrate run --stream a.wav >/dev/null 2>&1; [ $? -eq 2 ] && pass || fail "calibrate without --truth: want exit 2"
finish
