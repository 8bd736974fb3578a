#!/usr/bin/env bash
# sigloop train and eval: one short run end to end, its model file read back, and bad settings and
# damaged model files refused.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
ex="$SIGLOOP_SRC/examples"
expect_error lr_zero "train.lr: must be in (0, 10] (got 0)" \
  "$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/o" --set train.lr=0
expect_error bad_optimizer "train.optimizer: 'adagrad' is not one of: adam, adamw, sgd" \
  "$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/o" --set train.optimizer=adagrad
expect_error smoothing "train.label_smoothing: must be in [0, 1) (got 1)" \
  "$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/o" --set train.label_smoothing=1
expect_error epochs "train.epochs: must be in [1, 100000] (got 0)" \
  "$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/o" --set train.epochs=0

# one epoch end to end, then eval reproduces the reported test accuracy from model.slm
"$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/run" -q --set train.epochs=1 >"$tmp/t.txt" 2>"$tmp/t.err" && pass || fail "train: $(cat "$tmp/t.err")"
acc=$(sed -n 's/.*test accuracy \([0-9.]*\) %.*/\1/p' "$tmp/t.txt")
[ -n "$acc" ] && pass || fail "no test accuracy: $(cat "$tmp/t.txt")"
grep -q "^  epochs: 1$" "$tmp/run/config.yaml" && pass || fail "config.yaml lacks the run's epochs"
for f in model.slm last.slm metrics.csv predictions.csv manifest.csv features.bin config.yaml; do
  [ -s "$tmp/run/$f" ] && pass || fail "no $f"
done
"$SIGLOOP" eval "$tmp/run" >"$tmp/e.txt" 2>"$tmp/e.err" && pass || fail "eval: $(cat "$tmp/e.err")"
grep -q "test accuracy $acc % on 500 examples" "$tmp/e.txt" && pass || fail "eval: $(cat "$tmp/e.txt") vs $acc"
[ "$(wc -l <"$tmp/run/predictions.csv")" -eq 501 ] && pass || fail "predictions rows"
# damaged model files
cp "$tmp/run/model.slm" "$tmp/good.slm"
head -c 1000 "$tmp/good.slm" >"$tmp/run/model.slm"
expect_error truncated_model "model.slm: truncated: section" "$SIGLOOP" eval "$tmp/run"
cp "$tmp/good.slm" "$tmp/run/model.slm"
printf '\x55' | dd of="$tmp/run/model.slm" bs=1 seek=5000 conv=notrunc status=none
expect_error flipped_model "model.slm: checksum mismatch (damaged file)" "$SIGLOOP" eval "$tmp/run"
expect_error no_run "nowhere/model.slm: cannot open" "$SIGLOOP" eval "$tmp/nowhere"

# kill -9 during training, then --resume: the same weights, byte for byte, as an uninterrupted run
"$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/whole" -q --set train.epochs=4 >/dev/null 2>&1 && pass || fail "whole run"
"$SIGLOOP" data "$ex/fsdd.yaml" -o "$tmp/killed" -q
"$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/killed" -q --set train.epochs=4 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 2000); do # until one epoch's training state is on disk (at most ~100 s)
  [ -f "$tmp/killed/train_state.bin" ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
done_epochs=$(($(wc -l <"$tmp/killed/metrics.csv") - 1))
[ "$done_epochs" -ge 1 ] && pass || fail "no epoch finished before the kill"
if [ "$done_epochs" -lt 4 ]; then
  "$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/killed" -q --set train.epochs=4 --resume >"$tmp/r.txt" 2>"$tmp/r.err" \
    && pass || fail "resume: $(cat "$tmp/r.err")"
else
  echo "note: the run finished before the kill; resume not exercised"
fi
cmp -s "$tmp/whole/last.slm" "$tmp/killed/last.slm" && pass || fail "resumed weights differ"
cmp -s "$tmp/whole/model.slm" "$tmp/killed/model.slm" && pass || fail "resumed best model differs"
# --resume where nothing finished: starts from the first epoch
"$SIGLOOP" data "$ex/fsdd.yaml" -o "$tmp/fresh" -q
"$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/fresh" --set train.epochs=1 --resume >"$tmp/f.txt" 2>&1 && pass || fail "fresh resume: $(cat "$tmp/f.txt")"
grep -q "nothing to resume" "$tmp/f.txt" && pass || fail "no note on a fresh resume"
expect_error resume_other_config "the config has changed since this run started" \
  "$SIGLOOP" train "$ex/fsdd.yaml" -o "$tmp/killed" -q --set train.epochs=4 --set train.lr=0.002 --resume
finish
