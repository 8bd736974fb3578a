# Helpers for command-line tests that render a page in headless Chromium. Source lib.bash first
# (for pass, fail and $tmp), then this file.
#
#   chromium_available                  status 0 when the browser runs here
#   render_check NAME HTML PNG [RATIO]  renders HTML to the screenshot PNG and checks it
#
# render_check counts a pass or a fail (lib.bash) for each of these, and returns 0 if all passed:
#   (a) content: the screenshot is a PNG of the window's size and at least RATIO (default 2) times
#       the size of a screenshot of a blank page in the same window (rendered once per test script
#       and kept in $tmp). A blank 1280 x 4000 screenshot compresses to about 23 KB; one line of
#       text adds about 2 KB, one chart 25 KB or more, so twice the blank means "something beyond a
#       heading or an error line was drawn". Size is all a shell can judge without decoding the
#       PNG, and it cannot tell charts from prose: a caller that expects many charts should ask for
#       a higher RATIO.
#   (b) console and loads: the page wrote nothing to the JavaScript console and loaded nothing
#       besides itself. Headless Chromium logs every console message (log, warning, error, uncaught
#       exception) as one "INFO:CONSOLE" line whatever its level, so any such line fails: a static
#       report has no reason to write one. Loads are read from the verbose log of the file and
#       network loaders; a page meant to work offline must not fetch files or URLs, so any load
#       other than the page counts, found or not. Chromium's own background requests (update
#       checks, sign-in, clock) are recognised by endpoint and by having also happened while the
#       blank page was rendered.
#   (c) time: Chromium finished within $CHROMIUM_TIMEOUT seconds (default 60) and exited with 0.
#       On a timeout its whole process group is killed (TERM, then KILL 5 s later), and (a) and (b)
#       are not checked.
# The time each render took is printed ("render NAME: 3.1 s").

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
CHROMIUM_TIMEOUT=${CHROMIUM_TIMEOUT:-60}
CHROMIUM_WINDOW=${CHROMIUM_WINDOW:-1280,4000} # width,height: tall enough for a long report
# Chromium's own requests, made even with --disable-background-networking (seen with 156).
_chromium_own='^https?://(accounts\.google\.com/ListAccounts|clients[0-9]*\.google\.com/time/'
_chromium_own+='|update\.googleapis\.com/service/update2/)'

chromium_available() {
  [ -x "$CHROMIUM" ] && timeout 30 "$CHROMIUM" --version >/dev/null 2>&1
}

# _chromium_url PATH: a file:// URL for a path (made absolute, with %, space, # and ? escaped).
_chromium_url() {
  local p
  p=$(realpath -- "$1") || return 1
  p=${p//%/%25}
  p=${p// /%20}
  p=${p//#/%23}
  p=${p//\?/%3F}
  printf 'file://%s' "$p"
}

# _chromium_shot URL PNG LOG: one headless render with a fresh profile and home (so nothing is
# read from or left in the real ones), logging to LOG. Returns Chromium's status, 124 on timeout.
_chromium_shot() {
  local url=$1 png=$2 log=$3 profile rc=0
  profile=$(mktemp -d "$tmp/chromium-profile.XXXXXX") || return 1
  mkdir -p "$profile/home"
  rm -f "$png"
  # timeout runs Chromium in a process group of its own and signals that whole group, so the
  # renderer, GPU and utility processes go too.
  HOME="$profile/home" timeout --kill-after=5 "$CHROMIUM_TIMEOUT" "$CHROMIUM" \
    --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile/data" --hide-scrollbars --window-size="$CHROMIUM_WINDOW" \
    --enable-logging=stderr --vmodule=network_delegate=1,file_url_loader_factory=1 \
    --screenshot="$png" "$url" </dev/null >"$log" 2>&1 || rc=$?
  # A helper that left the group (crash handler) carries the profile's path in its arguments:
  # end those, and only those, by process id.
  local pid
  for pid in $(ps -eo pid=,args= | grep -F -- "$profile/" | grep -v grep | awk '{print $1}'); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$profile"
  return "$rc"
}

# _chromium_loads LOG: the URLs a render loaded, one per line, query strings cut.
_chromium_loads() {
  sed -n -e 's/.*FileURLLoader::Start: \(.*\)$/\1/p' -e 's/.*NotifyBeforeURLRequest: \(.*\)$/\1/p' "$1" |
    sed 's/[?#].*//' | sort -u
}

# _png_size PNG: "WIDTH HEIGHT" from the IHDR chunk, or nothing if PNG is not a PNG.
_png_size() {
  [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || return 1
  od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%d %d\n", (($1*256+$2)*256+$3)*256+$4, (($5*256+$6)*256+$7)*256+$8 }'
}

# The blank page's screenshot and load list, rendered on first use; its path in $_chromium_blank.
_chromium_blank=
_chromium_blank_shot() {
  [ -n "$_chromium_blank" ] && [ -s "$_chromium_blank" ] && return 0
  local dir="$tmp/chromium-blank"
  mkdir -p "$dir"
  printf '%s\n' '<!DOCTYPE html>' '<html lang="en"><head><meta charset="utf-8"><title>blank</title></head>' \
    '<body></body></html>' >"$dir/blank.html"
  local url
  url=$(_chromium_url "$dir/blank.html") || return 1
  _chromium_shot "$url" "$dir/blank.png" "$dir/blank.log" || return 1
  [ -s "$dir/blank.png" ] || return 1
  _chromium_loads "$dir/blank.log" | grep -vxF "$url" >"$dir/blank.loads" || true
  _chromium_blank="$dir/blank.png"
}

render_check() {
  local name=$1 html=$2 png=$3 ratio=${4:-2}
  local log="$tmp/$name.chromium.log" url rc=0 t0 t1
  if ! _chromium_blank_shot; then
    fail "$name: the blank page did not render: $(tail -c 600 "$tmp/chromium-blank/blank.log" 2>/dev/null)"
    return 1
  fi
  url=$(_chromium_url "$html") || { fail "$name: no page $html"; return 1; }
  t0=$(date +%s.%N)
  _chromium_shot "$url" "$png" "$log" || rc=$?
  t1=$(date +%s.%N)
  echo "render $name: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    fail "$name: Chromium did not finish within $CHROMIUM_TIMEOUT s (killed)"
    return 1
  fi
  [ "$rc" -eq 0 ] && pass || fail "$name: Chromium exited with status $rc: $(tail -c 600 "$log")"

  local ok=0 size want blank_bytes bytes
  want="${CHROMIUM_WINDOW/,/ }"
  size=$(_png_size "$png") || size=
  blank_bytes=$(wc -c <"$_chromium_blank")
  bytes=$(wc -c <"$png" 2>/dev/null || echo 0)
  if [ "$size" != "$want" ]; then
    fail "$name: screenshot $png is not a ${want/ /x} PNG (got '${size:-no PNG}')"
  elif [ "$bytes" -lt $((blank_bytes * ratio)) ]; then
    fail "$name: screenshot of $bytes bytes, under $ratio x the blank page's $blank_bytes: nothing drawn?"
  else
    pass
    ok=$((ok + 1))
  fi

  local console loads
  console=$(grep -E ':CONSOLE[:(]|Uncaught' "$log" | cut -c1-300 | head -n 5)
  loads=$(_chromium_loads "$log" | grep -vxF "$url" | grep -vxF -f "$tmp/chromium-blank/blank.loads" |
    grep -vE "$_chromium_own" |
    head -n 5)
  if [ -n "$console" ]; then
    fail "$name: console messages: $console"
  elif [ -n "$loads" ]; then
    fail "$name: the page loads more than itself: $loads"
  else
    pass
    ok=$((ok + 1))
  fi
  [ "$ok" -eq 2 ] && [ "$rc" -eq 0 ]
}
