#!/usr/bin/env bash
# sigloop model: the TC-ResNet8 of examples/fsdd.yaml layer by layer, and bad model settings.
. "$(dirname "$0")/lib.bash"
export SIGLOOP_FSDD
ex="$SIGLOOP_SRC/examples"
"$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" >"$tmp/m.txt" 2>"$tmp/m.err" && pass || fail "model: $(cat "$tmp/m.err")"
grep -q "^model tc-resnet on 40 x 98 features, 10 classes" "$tmp/m.txt" && pass || fail "header: $(head -1 "$tmp/m.txt")"
# 40->16 k3 stem; stages 24/32/48 with k9, stride 2 and 1x1 shortcuts: 65,082 parameters
grep -q "^total: 65,082 parameters" "$tmp/m.txt" && pass || fail "total: $(grep '^total' "$tmp/m.txt")"
grep -Eq "^ +1  stem +conv1d +16 x 98 +1,920 +188,160$" "$tmp/m.txt" && pass || fail "stem row"
grep -Eq "^ +25  s3_b1_conv2 +conv1d +48 x 13 +20,736 +269,568$" "$tmp/m.txt" && pass || fail "last conv row"
grep -Eq "^ +32  logits +dense +10 +490 +480$" "$tmp/m.txt" && pass || fail "logits row"
# TC-ResNet14 (two blocks per stage) and a narrower width
"$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.blocks=2 --set model.width_multiplier=1.5 >"$tmp/m14.txt" 2>&1 && pass || fail "tc-resnet14"
grep -q "s3_b2_relu2" "$tmp/m14.txt" && pass || fail "no second block"
grep -Eq "^ +1  stem +conv1d +24 x 98 " "$tmp/m14.txt" && pass || fail "width multiplier not applied"
expect_error widths_fraction "model.widths: item 2 (24.5) is not a whole number" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set "model.widths=[16, 24.5]"
expect_error widths_short "model.widths: give the stem's width and at least one stage's" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set "model.widths=[16]"
expect_error bad_arch "model.arch: 'transformer' is not one of: tc-resnet, cnn" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.arch=transformer
finish
