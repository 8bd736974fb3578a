#!/usr/bin/env bash
# sigloop augment --preview: WAV files before and after, an HTML page with their spectrograms;
# the same draws twice, others for another epoch; bad options and an empty chain.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
ex="$SIGLOOP_SRC/examples"
cd "$tmp" || exit 1
"$SIGLOOP" augment "$ex/fsdd.yaml" --preview 3 -o p1 >p1.txt 2>p1.err && pass || fail "preview: $(cat p1.err)"
grep -q "^augment: 3 examples, epoch 0" p1.txt && pass || fail "summary: $(cat p1.txt)"
[ "$(ls p1/*_orig.wav | wc -l)" -eq 3 ] && [ "$(ls p1/*_aug.wav | wc -l)" -eq 3 ] && pass || fail "WAV files: $(ls p1)"
[ "$(ls p1/*.png | wc -l)" -eq 3 ] && pass || fail "PNG files: $(ls p1)"
for f in p1/*.png; do
  [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] && pass || fail "$f is not a PNG"
done
[ -s runs/fsdd/manifest.csv ] && [ -s runs/fsdd/features.bin ] && pass || fail "data and features not in runs/fsdd"
# every WAV is readable at the data's rate and one second long
for f in p1/*.wav; do
  "$SIGLOOP" info "$f" | grep -q "8000 Hz, 1 channel, 8000 frames" && pass || fail "$f: $("$SIGLOOP" info "$f" 2>&1)"
done
# the page: 3 rows, 6 PNG images, 6 players pointing at files that exist
[ "$(grep -o '<tr><td>' p1/index.html | wc -l)" -eq 3 ] && pass || fail "rows in index.html"
[ "$(grep -o 'src="data:image/png;base64,iVBORw0KGgo' p1/index.html | wc -l)" -eq 6 ] && pass || fail "images"
for a in $(grep -o 'src="[0-9]*_[^"]*\.wav"' p1/index.html | sed 's/src="//; s/"//'); do
  [ -s "p1/$a" ] && pass || fail "player points at missing $a"
done
grep -q "mixes batches, not shown" p1/index.html && pass || fail "mixup note"
# augmented differs from original; the same command again gives the same files; epoch 1 others
first=$(ls p1/*_orig.wav | head -1)
cmp -s "$first" "${first%_orig.wav}_aug.wav" && fail "augmented file equals the original" || pass
"$SIGLOOP" augment "$ex/fsdd.yaml" --preview 3 -o p2 -q && pass || fail "second preview"
for f in p1/*.wav; do cmp -s "$f" "p2/$(basename "$f")" && pass || fail "$f differs between two runs"; done
"$SIGLOOP" augment "$ex/fsdd.yaml" --preview 3 --epoch 1 -o p3 -q && pass || fail "epoch 1"
a1=$(ls p1/*_aug.wav | head -1)
cmp -s "$a1" "p3/$(basename "$a1")" && fail "epoch 1 drew the same as epoch 0" || pass
# errors
"$SIGLOOP" augment "$ex/fsdd.yaml" --preview 0 >/dev/null 2>e1.txt; [ $? -eq 2 ] && pass || fail "--preview 0 not a usage error"
grep -q "needs a whole number in \[1, 1000\]" e1.txt && pass || fail "--preview 0 message: $(cat e1.txt)"
expect_error empty "augment: the list is empty" "$SIGLOOP" augment "$ex/fsdd.yaml" --preview 2 --set 'augment=[]'
expect_error nonoise "augment[0].noise.folder:" "$SIGLOOP" augment "$ex/fsdd.yaml" --preview 2 \
  --set 'augment=[noise: {folder: /nonexistent/noise}]'
finish
