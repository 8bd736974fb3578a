#!/usr/bin/env bash
# sigloop search: a small grid on FSDD (1 epoch a trial): candidates over budget recorded and never
# trained, equal candidates tried once, best.yaml runnable, search.html rendered; a search killed
# with SIGKILL and run again loses and repeats no finished trial; the index holds every trial once;
# two MPI ranks share one search, every trial recorded once; bad choices fail in one line.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/chromium.bash"
export SIGLOOP_FSDD
cd "$tmp" || exit 1
# the example with a small grid of its own: model.widths' second value is over the latency budget
# (4 candidates, from c003), kernel 9 with lr 0.001 and the first widths is the config as written (passed over)
sed '/^search:/,$d' "$SIGLOOP_SRC/examples/fsdd.yaml" >fsdd.yaml
cat >>fsdd.yaml <<'EOF'
search:
  strategy: grid
  choices:
    model.kernel: [5, 9]
    model.widths: [[16, 24, 32, 48], [32, 48, 64, 96]]
    train.lr: [0.001, 0.004]
EOF
args=(fsdd.yaml --set train.epochs=1 --no-robustness)
count_done() { grep -l '^status: done' "$1"/c*-e*/trial.txt 2>/dev/null | wc -l; }

# 1. killed as soon as its first trial has finished, then run again
"$SIGLOOP" search "${args[@]}" -o runs/search-kill >kill1.txt 2>kill1.err &
pid=$!
for _ in $(seq 1 600); do
  [ -e runs/search-kill/c000-e1/trial.txt ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
before=$(count_done runs/search-kill)
[ "$before" -ge 1 ] && pass || fail "no trial finished before the kill: $(cat kill1.err)"
md5sum runs/search-kill/c*-e*/trial.txt >finished.md5 2>/dev/null
"$SIGLOOP" search "${args[@]}" -o runs/search-kill >kill2.txt 2>kill2.err && pass || fail "rerun: $(cat kill2.err)"
md5sum -c --quiet finished.md5 >/dev/null 2>&1 && pass || fail "a trial finished before the kill was trained again"
[ "$(count_done runs/search-kill)" -eq 4 ] && pass || fail "trials after the rerun: $(count_done runs/search-kill), want 4"
grep -Eq "^search: 8 candidates costed \(4 over budget\), 4 trials \($((4 - before)) trained now, $before found finished\)" kill2.txt &&
  pass || fail "rerun summary ($before finished before the kill): $(grep '^search:' kill2.txt)"
n_over=$(grep -l '^status: over budget' runs/search-kill/c*/trial.txt | wc -l)
[ "$n_over" -eq 4 ] && [ ! -e runs/search-kill/c003-e1 ] && pass || fail "over budget: $n_over recorded"
grep -q 'widths=\[32, 48, 64, 96\]' runs/search-kill/c003/trial.txt && pass || fail "c003 is not the wide model"
# the config as written was tried once: no candidate repeats it
grep -c '"changes": ""' runs/search-kill/search.json | grep -qx 1 && pass || fail "the config as written twice in search.json"
for f in best.yaml search.html search.json final/report.html final/model.slm final/predictions.csv; do
  [ -s "runs/search-kill/$f" ] && pass || fail "no runs/search-kill/$f"
done
grep -Eq '^best: c00[0-7], validation [0-9.]+ % after 1 epochs \(the config as written: [0-9.]+ %\)' kill2.txt &&
  pass || fail "summary best: $(grep '^best' kill2.txt)"
grep -Eq '^  test, once: [0-9.]+ % \(95 % interval [0-9.]+-[0-9.]+\) on 500 examples' kill2.txt && pass ||
  fail "summary test: $(cat kill2.txt)"
grep -q ': PASS$' kill2.txt && pass || fail "summary budget: $(grep budget kill2.txt)"
# best.yaml: a config sigloop reads, the best candidate's changes in it, its name NAME-best
"$SIGLOOP" budget runs/search-kill/best.yaml >best.txt 2>best.err && grep -q '^name: "fsdd-best"' runs/search-kill/best.yaml &&
  pass || fail "best.yaml: $(cat best.err)"
# the index: each trial, each over-budget candidate and the final run, once
"$SIGLOOP" runs >rows.txt 2>&1
rows=$(grep -c '^runs/search-kill/' rows.txt)
uniq_rows=$(grep '^runs/search-kill/' rows.txt | awk '{print $1}' | sort -u | wc -l)
[ "$rows" -eq 9 ] && [ "$uniq_rows" -eq 9 ] && pass || fail "index rows: $rows ($uniq_rows distinct), want 9: $(cat rows.txt)"
grep -E '^runs/search-kill/c003 ' rows.txt | grep -q ' over-budget ' && pass || fail "index: c003 not over budget"
# a search asked again, with everything finished, trains nothing
"$SIGLOOP" search "${args[@]}" -o runs/search-kill -q >again.txt 2>again.err &&
  grep -q '(0 trained now, 4 found finished)' again.txt && pass || fail "third run: $(cat again.txt again.err)"

# 2. the page renders
if chromium_available; then
  render_check search runs/search-kill/search.html search.png 4
else
  echo "skip: no headless Chromium"
fi

# 3. two MPI ranks, one folder: every trial once, both ranks trained
if command -v mpirun >/dev/null 2>&1; then
  ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 OMPI_MCA_plm_rsh_agent= \
    mpirun --oversubscribe --allow-run-as-root -np 2 "$SIGLOOP" search "${args[@]}" -o runs/search-mpi >mpi.txt 2>mpi.err &&
    pass || fail "mpirun: $(tail -5 mpi.err)"
  [ "$(count_done runs/search-mpi)" -eq 4 ] && pass || fail "mpi trials: $(count_done runs/search-mpi), want 4"
  r0=$(grep -c '^\[rank 0\]   c0.. .* epochs  val' mpi.txt)
  r1=$(grep -c '^\[rank 1\]   c0.. .* epochs  val' mpi.txt)
  [ "$r0" -ge 1 ] && [ "$r1" -ge 1 ] && [ $((r0 + r1)) -eq 4 ] && pass || fail "trials per rank: $r0 + $r1, want 4 in all"
  "$SIGLOOP" runs >mrows.txt 2>&1
  [ "$(grep -c '^runs/search-mpi/' mrows.txt)" -eq 9 ] && pass || fail "mpi index rows: $(cat mrows.txt)"
  [ "$(grep -c '^search: ' mpi.txt)" -eq 1 ] && pass || fail "mpi: summary not from rank 0 alone"
else
  echo "skip: no mpirun"
fi

# 4. bad choices: one line naming the setting
expect_error choice_data "search.choices.data.root: the search cannot change data.*" \
  "$SIGLOOP" search fsdd.yaml --set 'search.choices={data.root: [a]}' -o runs/bad
expect_error choice_value "search.choices.model.kernel: value 0:" \
  "$SIGLOOP" search fsdd.yaml --set 'search.choices={model.kernel: [5, 0]}' -o runs/bad
expect_error choice_none "search.choices: no choices" "$SIGLOOP" search fsdd.yaml --set 'search.choices={}' -o runs/bad
expect_error halving_epochs "search.choices.train.epochs: halving sets the epochs" \
  "$SIGLOOP" search fsdd.yaml --set 'search.choices={train.epochs: [2, 4]}' --set search.strategy=halving -o runs/bad
expect_error time_bad "search.time" "$SIGLOOP" search fsdd.yaml --time soon -o runs/bad
finish
