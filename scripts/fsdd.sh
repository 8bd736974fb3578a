#!/usr/bin/env bash
# The main job: builds sigloop and runs the spoken-digit example end to end: a preview of the
# augmentation (step 2), then `sigloop run`, the whole loop once (the data set, its features,
# the budget on the config's target device, training with augmentation, the analysis report and
# the budget report, into a new runs/fsdd-NNN; about 15 s on two cores), ending with its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" --target sigloop_cli
./build/sigloop augment examples/fsdd.yaml --preview 8
./build/sigloop run examples/fsdd.yaml
