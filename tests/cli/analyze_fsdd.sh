#!/usr/bin/env bash
# sigloop analyze and compare on short FSDD runs: the report's files and figures (the accuracy
# equals the one in predictions.csv), robustness curves, a comparison with McNemar's test and the
# config difference, the page rendered in headless Chromium when it is installed, bad inputs.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/chromium.bash"
export SIGLOOP_FSDD
ex="$SIGLOOP_SRC/examples"
r1="$tmp/r1"
r2="$tmp/r2"
"$SIGLOOP" train "$ex/fsdd.yaml" -o "$r1" -q --set train.epochs=4 --set 'augment=[]' >"$tmp/t1.txt" 2>&1 || fail "train 1: $(tail -3 "$tmp/t1.txt")"
"$SIGLOOP" train "$ex/fsdd.yaml" -o "$r2" -q --set train.epochs=4 --set 'augment=[]' --set train.seed=1 \
  --set model.width_multiplier=0.5 >"$tmp/t2.txt" 2>&1 || fail "train 2: $(tail -3 "$tmp/t2.txt")"

"$SIGLOOP" analyze "$r1" >"$tmp/a.txt" 2>"$tmp/a.err" && pass || fail "analyze: $(cat "$tmp/a.err")"
[ -s "$r1/report.html" ] && [ -s "$r1/report.json" ] && pass || fail "no report files"
grep -Eq "^accuracy [0-9.]+ % \(95 % interval [0-9.]+-[0-9.]+\), macro-F1" "$tmp/a.txt" && pass || fail "summary: $(head -3 "$tmp/a.txt")"
grep -q "^weakest classes: '" "$tmp/a.txt" && grep -q "^suggestion 1: " "$tmp/a.txt" && pass || fail "summary lines: $(cat "$tmp/a.txt")"
# the same accuracy as the run's own predictions.csv (scored again from the recordings)
want=$(awk -F, 'NR > 1 {n++; c += $5} END {printf "%.4f", c / n}' "$r1/predictions.csv")
got=$(sed -n 's/.*"accuracy": {"value": \([0-9.e-]*\).*/\1/p' "$r1/report.json" | head -1)
awk -v a="$want" -v b="$got" 'BEGIN {exit !(a - b < 1e-3 && b - a < 1e-3)}' && pass || fail "accuracy $got, predictions.csv $want"
# every section in the JSON; 18 robustness conditions; the confusion matrix is 10 x 10 and sums to 500
for key in '"per_class"' '"confusion"' '"slices"' '"curves"' '"diagnosis"' '"calibration"' '"temperature_fitted_on": "test"' \
  '"confident_wrong"' '"low_margin_right"' '"label_suspects"' '"suggestions"'; do
  grep -qF "$key" "$r1/report.json" && pass || fail "report.json lacks $key"
done
[ "$(grep -o '"kind": "noise"' "$r1/report.json" | wc -l)" -eq 6 ] && [ "$(grep -o '"kind": "shift"' "$r1/report.json" | wc -l)" -eq 6 ] &&
  pass || fail "robustness conditions: $(grep -o '"robustness": \[[^]]*' "$r1/report.json" | head -c 300)"
sum=$(sed -n 's/^ "confusion": \[\(.*\)\],$/\1/p' "$r1/report.json" | tr -c '0-9\n' ' ' | awk '{for (i = 1; i <= NF; i++) s += $i} END {print s}')
[ "$sum" = 500 ] && pass || fail "confusion sums to '$sum', want 500"
# the page: charts, spectrograms and players inline, nothing fetched from elsewhere
grep -q "<svg" "$r1/report.html" && grep -q 'src="data:image/png;base64,' "$r1/report.html" &&
  grep -q 'src="data:audio/wav;base64,' "$r1/report.html" && pass || fail "report.html lacks charts or media"
! grep -Eq '(src|href)="https?:' "$r1/report.html" && pass || fail "report.html fetches from the network"
if chromium_available; then
  render_check report "$r1/report.html" "$tmp/report.png"
else
  echo "skipped: chromium not installed (the render check)"
  pass
fi
# without robustness
"$SIGLOOP" analyze "$r2" -q --no-robustness >"$tmp/a2.txt" 2>&1 && grep -q '"robustness": \[\]' "$r2/report.json" && pass ||
  fail "--no-robustness: $(cat "$tmp/a2.txt")"

# compare: McNemar against the first run, and the two settings that differ
"$SIGLOOP" compare "$r1" "$r2" -o "$tmp/cmp" >"$tmp/c.txt" 2>"$tmp/c.err" && pass || fail "compare: $(cat "$tmp/c.err")"
[ -s "$tmp/cmp/compare.html" ] && [ -s "$tmp/cmp/compare.json" ] && pass || fail "no compare files"
grep -Eq "against the first on 500 shared examples: [0-9]+ vs [0-9]+ won, McNemar p = " "$tmp/c.txt" && pass || fail "compare summary: $(cat "$tmp/c.txt")"
grep -q "^differs: train.seed: 0 1$" "$tmp/c.txt" && grep -q "^differs: model.width_multiplier: 1 0.5$" "$tmp/c.txt" && pass ||
  fail "config differences: $(grep differs "$tmp/c.txt")"
grep -q '"mcnemar_p_exact": ' "$tmp/cmp/compare.json" && pass || fail "compare.json lacks McNemar"

# bad inputs
expect_error not_a_run "not a run folder" "$SIGLOOP" analyze "$tmp/nowhere"
mkdir -p "$tmp/empty"
expect_error no_model "model.slm" "$SIGLOOP" analyze "$tmp/empty"
cp -r "$r1" "$tmp/broken"
head -c 1000 "$r1/model.slm" >"$tmp/broken/model.slm"
expect_error truncated_model "model.slm" "$SIGLOOP" analyze "$tmp/broken"
cp "$r1/model.slm" "$tmp/broken/model.slm"
printf 'epoch,lr\n' >"$tmp/broken/metrics.csv"
expect_error bad_metrics "metrics.csv:1: not a metrics file" "$SIGLOOP" analyze "$tmp/broken"
rc=0
"$SIGLOOP" compare "$r1" >/dev/null 2>"$tmp/one.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "at least two runs" "$tmp/one.err" && pass || fail "compare of one run: exit $rc: $(cat "$tmp/one.err")"
finish
