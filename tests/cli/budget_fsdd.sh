#!/usr/bin/env bash
# sigloop budget: TC-ResNet8 of examples/fsdd.yaml on a target, PASS/FAIL lines and exit 3 over
# budget, a suggestion that fits once applied, JSON, streaming, --measure, a trained RUN, and
# 'sigloop train' refusing an over-budget model unless --ignore-budget; bad targets and fields.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
ex="$SIGLOOP_SRC/examples"
d="$tmp/data"
"$SIGLOOP" data "$ex/fsdd.yaml" -o "$d" -q >/dev/null 2>"$tmp/data.err" || fail "data: $(cat "$tmp/data.err")"
b() { "$SIGLOOP" budget "$ex/fsdd.yaml" -o "$d" --target host "$@"; }

# within budget: the table, the totals, two PASS lines, exit 0
b --set budget.ram=64KiB --set budget.flash=256KiB >"$tmp/ok.txt" 2>"$tmp/ok.err" && pass || fail "within budget: $(cat "$tmp/ok.err")"
grep -Eq "^ +1  stem +conv1d +16 x 98 +1,920 +188,160 +1.5 KiB +480 B +1-4 " "$tmp/ok.txt" && pass || fail "stem row: $(grep ' stem ' "$tmp/ok.txt")"
grep -Eq "^ +2  stem_bn .*\(folded into stem\)" "$tmp/ok.txt" && pass || fail "batch norm not folded"
grep -q "^parameters      65,082 trained, 64,754 on the device" "$tmp/ok.txt" && pass || fail "parameters: $(grep ^parameters "$tmp/ok.txt")"
grep -q "^MACs            1,522,464 per decision" "$tmp/ok.txt" && pass || fail "MACs: $(grep ^MACs "$tmp/ok.txt")"
grep -Eq "^RAM +[0-9.]+ KiB of 64.0 KiB +PASS" "$tmp/ok.txt" && pass || fail "RAM line: $(grep '^RAM ' "$tmp/ok.txt")"
grep -Eq "^flash +[0-9.]+ KiB of 256.0 KiB +PASS" "$tmp/ok.txt" && pass || fail "flash line: $(grep '^flash ' "$tmp/ok.txt")"

# over budget: FAIL, exit 3, a suggestion; applied, it passes
rc=0
b --set budget.flash=32KiB >"$tmp/over.txt" 2>"$tmp/over.err" || rc=$?
[ "$rc" -eq 3 ] && pass || fail "over budget: exit $rc, want 3: $(cat "$tmp/over.err")"
grep -Eq "^flash +[0-9.]+ KiB of 32.0 KiB +FAIL" "$tmp/over.txt" && pass || fail "flash FAIL line: $(grep '^flash ' "$tmp/over.txt")"
sug=$(sed -n 's/^over budget; the smallest change tried that fits: --set \([^ ]*\)$/\1/p' "$tmp/over.txt")
case "$sug" in model.width_multiplier=*) pass ;; *) fail "suggestion: '$sug' ($(grep -A1 'over budget' "$tmp/over.txt"))" ;; esac
b --set budget.flash=32KiB --set "$sug" >"$tmp/applied.txt" 2>&1 && pass || fail "suggestion applied still fails: $(grep -E 'FAIL|error' "$tmp/applied.txt")"
# nothing fits 1 KiB: exit 3 and the reason
rc=0
b --set budget.flash=1KiB >"$tmp/none.txt" 2>&1 || rc=$?
[ "$rc" -eq 3 ] && grep -q "no single change tried fits" "$tmp/none.txt" && pass || fail "nothing fits: exit $rc: $(tail -2 "$tmp/none.txt")"

# JSON
b --set budget.flash=32KiB --json >"$tmp/j.json" 2>/dev/null
head -c 1 "$tmp/j.json" | grep -q '{' && pass || fail "json does not start with {"
grep -q '"macs": 1522464' "$tmp/j.json" && grep -q '"over": true' "$tmp/j.json" &&
  grep -q "\"suggestion\": \"$sug\"" "$tmp/j.json" && pass || fail "json fields: $(tail -c 300 "$tmp/j.json")"
[ "$(tr -cd '{' <"$tmp/j.json" | wc -c)" -eq "$(tr -cd '}' <"$tmp/j.json" | wc -c)" ] && pass || fail "json braces unbalanced"

# streaming every 250 ms: a window buffer, 25 frames a decision, the real-time line
b --set budget.hop=250ms >"$tmp/st.txt" 2>&1 && pass || fail "streaming: $(tail -3 "$tmp/st.txt")"
grep -q "^window buffer   3.8 KiB" "$tmp/st.txt" && grep -Eq "^latency .*front end .* \(25 frames\)" "$tmp/st.txt" &&
  grep -Eq "^real time .* PASS" "$tmp/st.txt" && grep -q "^stream          4 decisions a second" "$tmp/st.txt" &&
  pass || fail "streaming lines: $(grep -E '^(window|latency|real|stream)' "$tmp/st.txt")"

# --measure: every layer timed here, next to the host profile's estimate
b --measure >"$tmp/me.txt" 2>&1 && pass || fail "measure: $(tail -3 "$tmp/me.txt")"
grep -q "^measured here (float32" "$tmp/me.txt" && grep -Eq "^ +25  s3_b1_conv2 +conv1d +[0-9.]+ us +[0-9.]+ us$" "$tmp/me.txt" &&
  grep -q "^network: measured" "$tmp/me.txt" && grep -q "^front end: measured" "$tmp/me.txt" && pass ||
  fail "measure lines: $(tail -5 "$tmp/me.txt")"

# train refuses an over-budget model (no run made), and trains it with --ignore-budget
t="$tmp/train"
rc=0
"$SIGLOOP" train "$ex/fsdd.yaml" -o "$t" -q --set budget.target=host --set budget.flash=32KiB --set train.epochs=1 \
  >"$tmp/tr.txt" 2>"$tmp/tr.err" || rc=$?
[ "$rc" -eq 3 ] && pass || fail "train over budget: exit $rc, want 3: $(cat "$tmp/tr.err")"
[ "$(wc -l <"$tmp/tr.err")" -eq 1 ] && grep -q "^sigloop: .*over its budget on host .*--ignore-budget" "$tmp/tr.err" && pass ||
  fail "train refusal message: $(cat "$tmp/tr.err")"
grep -Eq "^flash .* FAIL" "$tmp/tr.txt" && grep -q "fits: --set model.width_multiplier=" "$tmp/tr.txt" && pass ||
  fail "train refusal table: $(tail -4 "$tmp/tr.txt")"
[ ! -e "$t/model.slm" ] && pass || fail "a refused training wrote a model"
"$SIGLOOP" train "$ex/fsdd.yaml" -o "$t" -q --set budget.target=host --set budget.flash=32KiB --set train.epochs=1 \
  --ignore-budget --set 'augment=[]' >"$tmp/tr2.txt" 2>"$tmp/tr2.err" && [ -s "$t/model.slm" ] && pass ||
  fail "--ignore-budget: $(cat "$tmp/tr2.err")"

# a trained RUN: its config (flash 32 KiB: over) and its model's shapes
rc=0
"$SIGLOOP" budget "$t" >"$tmp/run.txt" 2>&1 || rc=$?
[ "$rc" -eq 3 ] && grep -q "^MACs            1,522,464" "$tmp/run.txt" && pass || fail "budget RUN: exit $rc: $(tail -3 "$tmp/run.txt")"
"$SIGLOOP" budget "$t" --set budget.flash=1MiB -q >"$tmp/run2.txt" 2>&1 && grep -Eq "^flash .* PASS" "$tmp/run2.txt" && pass ||
  fail "budget RUN with --set: $(cat "$tmp/run2.txt")"

# bad targets and fields
expect_error no_target "no profile 'nosuch'" b --target nosuch
printf 'clock_mhz: 48\nint8: {conv: 1, depthwise: 1, dense: 1, elementwise: 1}\nfloat32: {conv: 1, depthwise: 1, dense: 1, elementwise: 1}\n' >"$tmp/bad.yaml"
expect_error bad_profile "bad.yaml: dsp: required" b --target "$tmp/bad.yaml"
printf 'clock_mhz: 48\nclock: 3\n' >"$tmp/typo.yaml"
expect_error typo_profile "typo.yaml:2:1: clock: unknown key" b --target "$tmp/typo.yaml"
expect_error missing_file "no such file" b --target "$tmp/nofile.yaml"
expect_error bad_ram "budget.ram: 'lots' is not a size" b --set budget.ram=lots
expect_error bad_precision "budget.precision: 'int4' is not one of: int8, float32" b --set budget.precision=int4
expect_error bad_run "model.slm" "$SIGLOOP" budget "$tmp"
finish
