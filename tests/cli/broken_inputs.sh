#!/usr/bin/env bash
# A corpus of broken inputs: each gets a one-line error naming the file, line or field and exit
# status 1, never a crash; bad files inside a data set are skipped and listed.
. "$(dirname "$0")/lib.bash"
rec="${SIGLOOP_FSDD:?}/recordings"
[ -d "$rec" ] || { echo "FSDD not found at $SIGLOOP_FSDD"; exit 1; }

ds="$tmp/ds"
mkdir -p "$ds"
for f in 0_george_0 0_george_1 1_george_0 0_jackson_0 1_jackson_0 0_lucas_0 1_lucas_0; do
  cp "$rec/$f.wav" "$ds/"
done
good="$rec/1_george_5.wav"
size=$(stat -c %s "$good")
head -c $((size / 2)) "$good" >"$ds/1_bad_0.wav"          # truncated in the middle of the data
: >"$ds/1_bad_1.wav"                                     # zero-length
echo "this is not audio, only text" >"$ds/1_bad_2.wav"   # text renamed .wav
cp "$good" "$ds/1_bad_3.wav"                             # a header claiming 0 Hz
printf '\x00\x00\x00\x00' | dd of="$ds/1_bad_3.wav" bs=1 seek=24 conv=notrunc status=none
head -c 30 "$good" >"$ds/1_bad_4.wav"                     # truncated inside the header
printf 'time,ax,ay\n0.00,1,2\n0.01,NaN,2\n' >"$ds/2_imu_0.csv"    # NaN in a CSV
printf 'time,ax,ay\n0.00,1,2\n0.01,1,abc\n' >"$ds/2_imu_1.csv"    # text in a CSV
printf 'time,ax,ay\n0.00,1,2\n0.01,1,3\n0.02,1,4\n' >"$ds/2_imu_2.csv"
echo "not matching the pattern" >"$ds/README.wav"

cfg="$tmp/ok.yaml"
cat >"$cfg" <<YAML
name: broken
data:
  root: $ds
  pattern: "{label}_{group}_{take}.{_}"
  sample_rate: 8000
  split: { test_groups: [jackson], val_fraction: 0 }
YAML

# Bad files inside a data set: skipped and listed, the rest goes on.
rc=0
"$SIGLOOP" data "$cfg" -o "$tmp/out" -q 2>"$tmp/ds.err" || rc=$?
[ "$rc" -eq 0 ] && pass || fail "data set with bad files: exit $rc: $(cat "$tmp/ds.err")"
grep -q "warning: 8 file(s) skipped" "$tmp/ds.err" && pass || fail "skipped warning: $(cat "$tmp/ds.err")"
r="$tmp/out/data_report.txt"
for f in 1_bad_0.wav 1_bad_1.wav 1_bad_2.wav 1_bad_3.wav 1_bad_4.wav 2_imu_0.csv 2_imu_1.csv README.wav; do
  grep -q "^  $f: " "$r" && pass || fail "$f not listed as skipped"
done
grep -q "1_bad_0.wav: .*truncated" "$r" && pass || fail "truncated reason: $(grep 1_bad_0 "$r")"
grep -q "1_bad_3.wav: .*0 Hz" "$r" && pass || fail "0 Hz reason: $(grep 1_bad_3 "$r")"
grep -q "^  2_imu_0.csv: 3:2: NaN is not allowed" "$r" && pass || fail "NaN reason: $(grep 2_imu_0 "$r")"
grep -q "^  2_imu_1.csv: 3:3: 'abc' is not a number" "$r" && pass || fail "text cell reason: $(grep 2_imu_1 "$r")"
grep -q "README.wav: name does not match" "$r" && pass || fail "pattern reason"
[ "$(wc -l <"$tmp/out/manifest.csv")" -eq 9 ] && pass || fail "manifest rows: $(wc -l <"$tmp/out/manifest.csv")"

# Each bad file on its own: a one-line error naming the file.
expect_error info_truncated "1_bad_0.wav" "$SIGLOOP" info "$ds/1_bad_0.wav"
expect_error info_empty "1_bad_1.wav" "$SIGLOOP" info "$ds/1_bad_1.wav"
expect_error info_text "1_bad_2.wav" "$SIGLOOP" info "$ds/1_bad_2.wav"
expect_error info_zero_hz "1_bad_3.wav" "$SIGLOOP" info "$ds/1_bad_3.wav"
expect_error info_header "1_bad_4.wav" "$SIGLOOP" info "$ds/1_bad_4.wav"
expect_error info_nan "2_imu_0.csv:3:2: NaN" "$SIGLOOP" info "$ds/2_imu_0.csv"
expect_error info_text_cell "2_imu_1.csv:3:3: 'abc' is not a number" "$SIGLOOP" info "$ds/2_imu_1.csv"
expect_error info_missing "nope.wav" "$SIGLOOP" info "$ds/nope.wav"

# Broken configs.
mk() { cat >"$tmp/$1.yaml"; echo "$tmp/$1.yaml"; }
c=$(mk misspelt <<YAML
data:
  root: $ds
  smaple_rate: 8000
YAML
)
expect_error misspelt_key "misspelt.yaml:3:3: data.smaple_rate: unknown key (did you mean 'sample_rate'?)" "$SIGLOOP" data "$c" -o "$tmp/o"
c=$(mk negative <<YAML
data:
  root: $ds
  duration: -1s
YAML
)
expect_error negative_duration "negative.yaml:3:13: data.duration: must not be negative" "$SIGLOOP" data "$c" -o "$tmp/o"
c=$(mk wrongtype <<YAML
data:
  root: $ds
  sample_rate: fast
YAML
)
expect_error wrong_type "wrongtype.yaml:3:16: data.sample_rate:" "$SIGLOOP" data "$c" -o "$tmp/o"
c=$(mk noroot <<YAML
data:
  root: $tmp/does-not-exist
YAML
)
expect_error missing_root "data.root: $tmp/does-not-exist: No such file or directory" "$SIGLOOP" data "$c" -o "$tmp/o"
c=$(mk fileroot <<YAML
data:
  root: $cfg
YAML
)
expect_error root_is_file "not a folder" "$SIGLOOP" data "$c" -o "$tmp/o"
c=$(mk syntax <<YAML
data:
  root: [unclosed
YAML
)
expect_error yaml_syntax "syntax.yaml:" "$SIGLOOP" data "$c" -o "$tmp/o"
c=$(mk nogroup <<YAML
data:
  root: $ds
  sample_rate: 8000
  split: { test_groups: [zed] }
YAML
)
expect_error unknown_test_group "data.split.test_groups: no group 'zed'" "$SIGLOOP" data "$c" -o "$tmp/o"
expect_error missing_config "nothere.yaml" "$SIGLOOP" data "$tmp/nothere.yaml" -o "$tmp/o"
expect_error bad_set "--set data.sample_rate" "$SIGLOOP" data "$cfg" -o "$tmp/o" --set data.sample_rate=-5

mkdir -p "$tmp/allbad"
cp "$ds/1_bad_1.wav" "$ds/1_bad_2.wav" "$tmp/allbad/"
c=$(mk allbad <<YAML
data:
  root: $tmp/allbad
YAML
)
expect_error all_files_bad "none of the 2 files could be read (first: 1_bad_1.wav: empty file (0 bytes))" "$SIGLOOP" data "$c" -o "$tmp/o"
mkdir -p "$tmp/empty"
c=$(mk empty <<YAML
data:
  root: $tmp/empty
YAML
)
expect_error no_files "no usable files" "$SIGLOOP" data "$c" -o "$tmp/o"

# An unreadable folder: as root permissions do not apply, so run as an unprivileged user.
mkdir -p "$tmp/locked"
cp "$ds/0_george_0.wav" "$tmp/locked/"
chmod 000 "$tmp/locked"
c=$(mk locked <<YAML
data:
  root: $tmp/locked
YAML
)
chmod 755 "$tmp" 2>/dev/null
chmod 644 "$c"
if [ "$(id -u)" -ne 0 ]; then
  expect_error unreadable_dir "locked.yaml: data.root: $tmp/locked: cannot read folder: Permission denied" "$SIGLOOP" data "$c" -o "$tmp/o"
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null \
     && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SIGLOOP"; then
  expect_error unreadable_dir "locked.yaml: data.root: $tmp/locked: cannot read folder: Permission denied" \
    setpriv --reuid=65534 --regid=65534 --clear-groups "$SIGLOOP" data "$c" -o "$tmp/o"
else
  echo "note: unreadable-folder case not run (root, and no unprivileged user can run the program)"
fi
chmod 755 "$tmp/locked"

# Usage errors exit 2.
rc=0; "$SIGLOOP" data >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] && pass || fail "no CONFIG: exit $rc"
rc=0; "$SIGLOOP" data "$cfg" --bogus >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] && pass || fail "bad option: exit $rc"
rc=0; "$SIGLOOP" frobnicate >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] && pass || fail "bad command: exit $rc"
finish
