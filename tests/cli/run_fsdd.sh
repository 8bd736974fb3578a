#!/usr/bin/env bash
# sigloop run: the whole loop into one run folder (every artefact of a run directory), the
# summary, the runs index's row with the budget's figures; over budget: nothing trained, exit 3.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
ex="$SIGLOOP_SRC/examples"
cd "$tmp" || exit 1
"$SIGLOOP" run "$ex/fsdd.yaml" --set train.epochs=2 --no-robustness >run.txt 2>run.err && pass || fail "run: $(cat run.err)"
for f in config.yaml manifest.csv metrics.csv model.slm last.slm predictions.csv budget.txt report.html report.json; do
  [ -s "runs/fsdd-001/$f" ] && pass || fail "no runs/fsdd-001/$f"
done
grep -Eq "^runs/fsdd-001: accuracy [0-9.]+ % \(95 % interval [0-9.]+-[0-9.]+\) on 500 test examples, macro-F1 " run.txt &&
  pass || fail "summary accuracy: $(cat run.txt)"
grep -Eq "^budget on cortex-m4f-80mhz: RAM [0-9.]+ KiB of 64.0 KiB PASS, flash [0-9.]+ KiB of 256.0 KiB PASS, latency" run.txt &&
  pass || fail "summary budget: $(grep '^budget' run.txt)"
grep -q "^top suggestion: " run.txt && grep -q "^report: runs/fsdd-001/report.html" run.txt && pass || fail "summary end: $(tail -3 run.txt)"
grep -q "^MACs            1,522,464" runs/fsdd-001/budget.txt && pass || fail "budget.txt: $(head -3 runs/fsdd-001/budget.txt)"
"$SIGLOOP" runs >runs.txt 2>&1
grep -Eq '^runs/fsdd-001 +tc-resnet +65082 +1544424 +2 .* [0-9.]+K +[0-9.]+ms +done ' runs.txt && pass || fail "index row: $(cat runs.txt)"
"$SIGLOOP" runs --where "budget_pass = 1 and latency < 0.1" | grep -q '^runs/fsdd-001 ' && pass || fail "index budget columns"
# over budget: the report and the suggestion, exit 3, no run folder
rc=0
"$SIGLOOP" run "$ex/fsdd.yaml" --set budget.latency=20ms --set train.epochs=1 >over.txt 2>over.err || rc=$?
[ "$rc" -eq 3 ] && grep -q "fits: --set model.width_multiplier=" over.txt && [ ! -e runs/fsdd-002 ] && pass ||
  fail "over budget: exit $rc: $(tail -2 over.txt) $(cat over.err)"
rc=0
"$SIGLOOP" run "$ex/fsdd.yaml" -o x >/dev/null 2>o.err || rc=$?
[ "$rc" -eq 2 ] && pass || fail "run -o: exit $rc"
finish
