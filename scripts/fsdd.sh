#!/usr/bin/env bash
# The main job: builds sigloop and runs the spoken-digit example end to end: a preview of the
# augmentation (step 2), then `sigloop run`, the whole loop once (the data set, its features,
# the budget on the config's target device, training with augmentation, the analysis report and
# the budget report, into a new runs/fsdd-NNN; about 15 s on two cores) with its summary; then
# step 8: examples/fsdd-stream.yaml trained for a stream, two 10-minute synthetic streams of the
# held-out speaker, the post-processing calibrated for 20 false alarms an hour on the first and
# checked on the second, and the events of the second.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" --target sigloop_cli
./build/sigloop augment examples/fsdd.yaml --preview 8
./build/sigloop run examples/fsdd.yaml
run=$(./build/sigloop train examples/fsdd-stream.yaml -q | sed -n 's|^wrote \(.*\)/model.slm, .*|\1|p')
mkdir -p out
./build/sigloop synth-stream examples/fsdd-stream.yaml --split test --minutes 10 --seed 1 -o out/calib.wav
./build/sigloop synth-stream examples/fsdd-stream.yaml --split test --minutes 10 --seed 2 -o out/check.wav
./build/sigloop calibrate "$run" --stream out/calib.wav --truth out/calib.csv \
  --eval out/check.wav --eval-truth out/check.csv --target-fa-per-hour 20
./build/sigloop detect "$run" out/check.wav --truth out/check.csv --view 60:120 | tail -3
