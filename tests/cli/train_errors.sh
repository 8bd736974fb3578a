#!/usr/bin/env bash
# sigloop train: bad training settings are refused before anything runs.
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
finish
