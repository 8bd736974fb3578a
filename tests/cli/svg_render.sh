#!/usr/bin/env bash
# The charts of include/sigloop/svg.h in a browser: test_svg writes a page with one chart of each
# kind (tests/unit/test_svg.c), and headless Chromium renders it in time, with something drawn,
# nothing on the console and nothing loaded from outside the page.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/chromium.bash"
if ! chromium_available; then
  echo "skipped: chromium not installed"
  exit 0
fi
"${SIGLOOP_TEST_BIN:?}/test_svg" --write-sample "$tmp" >"$tmp/sample.out" 2>&1 && pass ||
  fail "test_svg --write-sample: $(cat "$tmp/sample.out")"
[ -s "$tmp/sample.html" ] && pass || fail "no sample.html"
# seven charts: their screenshot is about 7 times the blank page's, so ask for 4
render_check sample "$tmp/sample.html" "$tmp/sample.png" 4
finish
