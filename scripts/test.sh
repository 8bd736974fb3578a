#!/usr/bin/env bash
# Installs what the project needs, builds sigloop and runs the whole test suite twice: as built
# normally (build/) and built with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/).
#   scripts/test.sh             both
#   scripts/test.sh --plain     the normal build only
#   scripts/test.sh --sanitize  the sanitized build only
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs=$(nproc)

run_suite() { # build-dir, cmake flags...
  local dir=$1
  shift
  echo "== $dir: configure, build, test"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

mode=${1:-all}
case "$mode" in
  all|--plain|--sanitize) ;;
  *) echo "usage: scripts/test.sh [--plain|--sanitize]" >&2; exit 2 ;;
esac
if [ "$mode" != --sanitize ]; then
  run_suite build
fi
if [ "$mode" != --plain ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan -DSIGLOOP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi
