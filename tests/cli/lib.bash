# Helpers for the command-line tests (sourced by tests/cli/*.sh).
# Environment from CTest: SIGLOOP (the program), SIGLOOP_SRC, SIGLOOP_TEST_TMP, SIGLOOP_FSDD.
set -u
fails=0
passes=0
tmp="${SIGLOOP_TEST_TMP:?}"
rm -rf "$tmp"
mkdir -p "$tmp"

pass() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_error NAME EXPECTED_SUBSTRING CMD...: the command exits 1 (not a crash or signal), prints
# exactly one line on stderr, starting "sigloop: " and containing EXPECTED_SUBSTRING.
expect_error() {
  local name=$1 want=$2
  shift 2
  local out="$tmp/$name.out" err="$tmp/$name.err" rc=0
  "$@" >"$out" 2>"$err" || rc=$?
  local lines
  lines=$(wc -l <"$err")
  if [ "$rc" -ne 1 ]; then
    fail "$name: exit status $rc, want 1; stderr: $(head -c 400 "$err")"
  elif [ "$lines" -ne 1 ]; then
    fail "$name: $lines lines on stderr, want 1: $(head -c 600 "$err")"
  elif ! grep -qF -- "$want" "$err"; then
    fail "$name: stderr lacks '$want': $(cat "$err")"
  elif ! grep -q '^sigloop: ' "$err"; then
    fail "$name: stderr not prefixed 'sigloop: ': $(cat "$err")"
  else
    pass
  fi
}

finish() {
  echo "$passes passed, $fails failed"
  [ "$fails" -eq 0 ]
}
