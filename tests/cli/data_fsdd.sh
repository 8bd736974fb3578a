#!/usr/bin/env bash
# sigloop data on the 3,000 FSDD recordings: counts, splits, and byte-identical manifests.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
if [ ! -d "$SIGLOOP_FSDD/recordings" ]; then
  echo "FSDD not found at $SIGLOOP_FSDD (set SIGLOOP_FSDD)"; exit 1
fi
ex="$SIGLOOP_SRC/examples"

# Speaker held out.
if "$SIGLOOP" data "$ex/fsdd.yaml" -o "$tmp/a" >"$tmp/a.txt" 2>"$tmp/a.err"; then pass; else fail "data fsdd.yaml: $(cat "$tmp/a.err")"; fi
r="$tmp/a/data_report.txt"
grep -q "^files: 3000 found, 3000 usable, 0 skipped" "$r" && pass || fail "file counts: $(grep '^files' "$r")"
grep -q "^classes: 10   groups: 6   split by groups" "$r" && pass || fail "classes/groups: $(grep '^classes' "$r")"
grep -q "^splits: train 2500   val 0   test 500" "$r" && pass || fail "splits: $(grep '^splits' "$r")"
# every class has 300 files
n300=$(awk '/^per class:/{f=1;next} f&&/^  [0-9] /{if($5==300)n++} /^class imbalance/{f=0} END{print n+0}' "$r")
[ "$n300" -eq 10 ] && pass || fail "classes with 300 files: $n300"
grep -q "class imbalance (largest / smallest class): 1.00" "$r" && pass || fail "imbalance"
# theo is all test, nobody else is
awk -F, 'NR>1 && (($3=="theo") != ($4=="test")) {bad=1} END{exit bad}' "$tmp/a/manifest.csv" && pass || fail "theo/test mismatch"
grep -q "groups in more than one split: none" "$r" && pass || fail "group leakage reported"
[ "$(head -1 "$tmp/a/manifest.csv")" = "path,label,group,split,duration,sample_rate,channels,hash,flags,take" ] && pass || fail "manifest header: $(head -1 "$tmp/a/manifest.csv")"
[ "$(wc -l <"$tmp/a/manifest.csv")" -eq 3001 ] && pass || fail "manifest rows"
cmp -s "$tmp/a/data_report.txt" "$tmp/a.txt" || head -c0 /dev/null # stdout has the report plus a line
grep -q "^wrote " "$tmp/a.txt" && pass || fail "no 'wrote' line"
[ -f "$tmp/a/config.yaml" ] && pass || fail "no resolved config"

# Validation carved out of the training speakers by group hash: one whole speaker.
"$SIGLOOP" data "$ex/fsdd.yaml" -o "$tmp/v" -q --set data.split.val_fraction=0.1 2>"$tmp/v.err" && pass || fail "val: $(cat "$tmp/v.err")"
grep -q "^splits: train 2000   val 500   test 500" "$tmp/v/data_report.txt" && pass || fail "val splits: $(grep '^splits' "$tmp/v/data_report.txt")"
awk -F, 'NR>1 && $4=="val" {g[$3]=1} END {n=0; for (k in g) n++; exit n!=1}' "$tmp/v/manifest.csv" && pass || fail "val is not one whole speaker"

# Twice: byte-identical manifest, with a different thread count too.
"$SIGLOOP" data "$ex/fsdd.yaml" -o "$tmp/b" -j 1 -q 2>"$tmp/b.err" && pass || fail "second run: $(cat "$tmp/b.err")"
cmp -s "$tmp/a/manifest.csv" "$tmp/b/manifest.csv" && pass || fail "manifests differ between runs"
cmp -s "$tmp/a/data_report.txt" "$tmp/b/data_report.txt" && pass || fail "reports differ between runs"

# The resolved config runs again to the same manifest.
"$SIGLOOP" data "$tmp/a/config.yaml" -o "$tmp/c" -q 2>"$tmp/c.err" && pass || fail "resolved config: $(cat "$tmp/c.err")"
cmp -s "$tmp/a/manifest.csv" "$tmp/c/manifest.csv" && pass || fail "resolved config gives another manifest"

# Standard split: takes 0-4 are test.
"$SIGLOOP" data "$ex/fsdd-standard.yaml" -o "$tmp/s" -q 2>"$tmp/s.err" && pass || fail "standard: $(cat "$tmp/s.err")"
awk -F, 'NR>1 && (($10<=4) != ($4=="test")) {bad=1} END{exit bad}' "$tmp/s/manifest.csv" && pass || fail "standard: takes 0-4 not exactly the test split"
grep -q "test 300$" "$tmp/s/data_report.txt" && pass || fail "standard: $(grep '^splits' "$tmp/s/data_report.txt")"
grep -q "intended: the split is by a field" "$tmp/s/data_report.txt" && pass || fail "standard: spanning groups not explained"

# JSON summary.
"$SIGLOOP" data "$ex/fsdd.yaml" -o "$tmp/j" --json >"$tmp/j.json" 2>/dev/null && pass || fail "json run"
grep -q '"files": 3000, "skipped": 0, "classes": 10, "groups": 6, "train": 2500, "val": 0, "test": 500, "leaks": 0' "$tmp/j.json" && pass || fail "json: $(cat "$tmp/j.json")"
finish
