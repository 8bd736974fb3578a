#!/usr/bin/env bash
# The main job: builds sigloop and runs the spoken-digit example end to end with the steps that
# exist so far (step 1: the data set; step 8's front end: log-mel features; step 2: a preview of
# the augmentation; steps 3 and 9: the TC-ResNet8 model and its budget on the config's target
# device; step 4: its training with augmentation, about 10 s on two cores; steps 5 and 6: the
# analysis report of that run). Outputs go to runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" --target sigloop_cli
./build/sigloop data examples/fsdd.yaml
./build/sigloop features examples/fsdd.yaml
./build/sigloop augment examples/fsdd.yaml --preview 8
./build/sigloop model examples/fsdd.yaml
./build/sigloop budget examples/fsdd.yaml
./build/sigloop train examples/fsdd.yaml
# steps 5 and 6: the report of the run just trained (the newest runs/fsdd-NNN)
run=$(ls -d runs/fsdd-[0-9][0-9][0-9] | sort | tail -n 1)
./build/sigloop analyze "$run"
