#!/usr/bin/env bash
# Run folders: without -o every training run gets runs/NAME-001, -002, ... beside the data set's
# runs/NAME (manifest, feature cache), each run is recorded in runs/index.db, `sigloop runs` lists
# them, eval finds a numbered run's features, and --resume takes the newest run.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
ex="$SIGLOOP_SRC/examples"
cd "$tmp" || exit 1
"$SIGLOOP" train "$ex/fsdd.yaml" -q --set train.epochs=1 >t1.txt 2>t1.err && pass || fail "train 1: $(cat t1.err)"
"$SIGLOOP" train "$ex/fsdd.yaml" -q --set train.epochs=1 --set train.seed=1 >t2.txt 2>t2.err && pass || fail "train 2: $(cat t2.err)"
[ -s runs/fsdd/features.bin ] && [ -s runs/fsdd/manifest.csv ] && pass || fail "no data set cache in runs/fsdd"
for r in fsdd-001 fsdd-002; do
  for f in config.yaml manifest.csv metrics.csv model.slm last.slm predictions.csv; do
    [ -s "runs/$r/$f" ] && pass || fail "no runs/$r/$f"
  done
done
[ ! -e runs/fsdd-001/features.bin ] && pass || fail "the feature cache was copied into the run"
grep -q "wrote runs/fsdd-002/model.slm" t2.txt && pass || fail "second run's folder: $(cat t2.txt)"
"$SIGLOOP" runs >runs.txt 2>runs.err && pass || fail "runs: $(cat runs.err)"
[ "$(grep -c '^runs/fsdd-00[12] ' runs.txt)" -eq 2 ] && pass || fail "runs listing: $(cat runs.txt)"
grep -Eq '^runs/fsdd-001 +tc-resnet +65082 +1544424 +1 +1 +- ' runs.txt && pass || fail "runs row: $(cat runs.txt)"
# the two configs differ (seed), so their hashes do
h1=$(awk '$1 == "runs/fsdd-001" {print $NF}' runs.txt)
h2=$(awk '$1 == "runs/fsdd-002" {print $NF}' runs.txt)
[ -n "$h1" ] && [ "$h1" != "$h2" ] && pass || fail "config hashes '$h1' '$h2'"
acc=$(sed -n 's/.*test accuracy \([0-9.]*\) %.*/\1/p' t1.txt)
"$SIGLOOP" eval runs/fsdd-001 >e.txt 2>e.err && pass || fail "eval numbered run: $(cat e.err)"
grep -q "test accuracy $acc % on 500 examples" e.txt && pass || fail "eval: $(cat e.txt) vs $acc"
"$SIGLOOP" train "$ex/fsdd.yaml" --resume --set train.epochs=1 --set train.seed=1 >r.txt 2>r.err && pass || fail "resume: $(cat r.err)"
grep -q "runs/fsdd-002" r.txt && pass || fail "resume did not take the newest run: $(cat r.txt)"
[ ! -e runs/fsdd-003 ] && pass || fail "resume made a new folder"
# sorted and filtered: seed 1 first by test accuracy when it is higher; a filter keeps one run
"$SIGLOOP" runs --sort test_acc >sorted.txt 2>&1 && pass || fail "runs --sort: $(cat sorted.txt)"
first=$(awk 'NR == 2 {print $1}' sorted.txt)
best=$(awk 'NR > 1 {print $8, $1}' runs.txt | sort -rn | head -1 | cut -d' ' -f2)
[ "$first" = "$best" ] && pass || fail "runs --sort test_acc: first '$first', want '$best'"
"$SIGLOOP" runs --where "run = runs/fsdd-002 and epochs >= 1" >w.txt 2>&1 && [ "$(grep -c '^runs/' w.txt)" -eq 1 ] &&
  grep -q '^runs/fsdd-002 ' w.txt && pass || fail "runs --where: $(cat w.txt)"
grep -Eq ' done +[0-9a-f]{8}$' runs.txt && pass || fail "status column: $(cat runs.txt)"
expect_error bad_sort "--sort accuracy: not a column" "$SIGLOOP" runs --sort accuracy
expect_error bad_where "--where 'macs ~ 3': expected one of" "$SIGLOOP" runs --where "macs ~ 3"
# a run killed half-way stays "running" in the index, and is listed as killed
"$SIGLOOP" train "$ex/fsdd.yaml" -q --set train.epochs=500 >k.txt 2>&1 &
pid=$!
for _ in $(seq 100); do
  "$SIGLOOP" runs 2>/dev/null | grep -q '^runs/fsdd-003 .* running ' && break
  sleep 0.2
done
"$SIGLOOP" runs | grep -q '^runs/fsdd-003 .* running ' && pass || fail "the live run is not 'running': $("$SIGLOOP" runs)"
kill -9 "$pid"
wait "$pid" 2>/dev/null
"$SIGLOOP" runs | grep -q '^runs/fsdd-003 .* killed ' && pass || fail "the killed run: $("$SIGLOOP" runs)"
expect_error no_index "no runs index here" "$SIGLOOP" runs "$tmp/nothing"
mkdir -p garbage && head -c 4096 /dev/urandom >garbage/index.db
expect_error bad_index "garbage/index.db: not a runs index" "$SIGLOOP" runs garbage
mkdir -p other && expect_error resume_none "no run of fsdd in runs to resume" \
  sh -c "cd other && exec \"$SIGLOOP\" train \"$ex/fsdd.yaml\" --resume"
finish
