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
# presets: MLPerf Tiny's ResNet-8 and DS-CNN shapes, TC-ResNet14
"$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.preset=mlperf-resnet8 >"$tmp/p1.txt" 2>&1 && pass || fail "preset"
grep -q "^total: 77,754 parameters" "$tmp/p1.txt" && pass || fail "mlperf-resnet8: $(grep '^total' "$tmp/p1.txt")"
"$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.preset=mlperf-ds-cnn >"$tmp/p2.txt" 2>&1 && pass || fail "preset"
grep -q "^total: 23,050 parameters" "$tmp/p2.txt" && pass || fail "mlperf-ds-cnn: $(grep '^total' "$tmp/p2.txt")"
# activations: at the stem, its input (40 x 98) and output (16 x 98) are alive: 21,952 B = 21.4 KiB
grep -q "^activations: 21.4 KiB as float32 (5.4 KiB as int8) in one arena" "$tmp/m.txt" && pass || fail "activations: $(grep activations "$tmp/m.txt")"
# TC-ResNet14 (two blocks per stage) and a narrower width
"$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.blocks=2 --set model.width_multiplier=1.5 >"$tmp/m14.txt" 2>&1 && pass || fail "tc-resnet14"
grep -q "s3_b2_relu2" "$tmp/m14.txt" && pass || fail "no second block"
grep -Eq "^ +1  stem +conv1d +24 x 98 " "$tmp/m14.txt" && pass || fail "width multiplier not applied"
# DenseNet: stem 40->16 k3 (1,920); layer 1 bn 32 + conv 16->4 k3 (192); layer 2 bn 40 + conv 20->4
# k3 (240); final bn 48; dense 24->10 (250): 2,722
"$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.arch=densenet --set model.dense_blocks=1 \
  --set model.blocks=2 --set model.growth=4 --set model.kernel=3 >"$tmp/dn.txt" 2>&1 && pass || fail "densenet: $(cat "$tmp/dn.txt")"
grep -q "^total: 2,722 parameters" "$tmp/dn.txt" && pass || fail "densenet total: $(grep '^total' "$tmp/dn.txt")"
grep -Eq " d1_out +concat +24 x 98 " "$tmp/dn.txt" && pass || fail "densenet concat row"
# DS-CNN: stem 1,920 + bn 32; depthwise 16 k3 (48) + bn 32; pointwise 16->24 (384) + bn 48; dense 250: 2,714
"$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.arch=ds-cnn --set "model.widths=[16, 24]" \
  --set model.kernel=3 >"$tmp/ds.txt" 2>&1 && pass || fail "ds-cnn: $(cat "$tmp/ds.txt")"
grep -q "^total: 2,714 parameters" "$tmp/ds.txt" && pass || fail "ds-cnn total: $(grep '^total' "$tmp/ds.txt")"
grep -Eq " b1_dw +conv1d +16 x 49 +48 " "$tmp/ds.txt" && pass || fail "ds-cnn depthwise row"
# ResNet-8 in 2-D (MLPerf Tiny's shape) on the 1 x 40 x 98 image: stem 1->16 3x3 (144) + bn 32;
# stage 1 16->16 twice (4,608) + bn 64; stage 2 16->32, 32->32, 1x1 shortcut (14,336) + bn 192;
# stage 3 32->64, 64->64, shortcut (57,344) + bn 384; dense 64->10 (650): 77,754
"$SIGLOOP" model "$ex/fsdd-resnet8-2d.yaml" -o "$tmp/none" >"$tmp/r8.txt" 2>&1 && pass || fail "resnet8-2d: $(cat "$tmp/r8.txt")"
grep -q "^model resnet (2-D) on 40 x 98 features, 10 classes" "$tmp/r8.txt" && pass || fail "resnet8 header: $(head -1 "$tmp/r8.txt")"
grep -q "^total: 77,754 parameters" "$tmp/r8.txt" && pass || fail "resnet8 total: $(grep '^total' "$tmp/r8.txt")"
grep -Eq "^ +0  input +input +1 x 40 x 98 " "$tmp/r8.txt" && pass || fail "resnet8 input row"
grep -Eq " s2_b1_conv1 +conv2d +32 x 20 x 49 +4,608 " "$tmp/r8.txt" && pass || fail "resnet8 stage 2 row"
# DS-CNN in 2-D (MLPerf's keyword spotter): stem 1->64 4x10 stride 2 (2,560) + bn 128; four blocks
# of depthwise 3x3 (576) + bn 128 + pointwise 64->64 (4,096) + bn 128; dense 650: 23,050
"$SIGLOOP" model "$ex/fsdd-ds-cnn-2d.yaml" -o "$tmp/none" >"$tmp/ds2.txt" 2>&1 && pass || fail "ds-cnn-2d: $(cat "$tmp/ds2.txt")"
grep -q "^total: 23,050 parameters" "$tmp/ds2.txt" && pass || fail "ds-cnn-2d total: $(grep '^total' "$tmp/ds2.txt")"
grep -Eq " stem +conv2d +64 x 21 x 50 +2,560 " "$tmp/ds2.txt" && pass || fail "ds-cnn-2d stem row"
grep -Eq " dropout +dropout +64 " "$tmp/ds2.txt" && pass || fail "ds-cnn-2d dropout row"
expect_error tc_resnet_2d "model.dims: tc-resnet is 1-D by design" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.dims=2
expect_error stem_shape_1d "model.stem_shape: only for 2-D models" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set "model.stem_shape=[3, 3]"
expect_error dims_three "model.dims: must be in [1, 2] (got 3)" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.dims=3
expect_error init_unknown "model.init: 'he' is not one of: pytorch, kaiming, xavier" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.init=he
expect_error stem_shape_one "model.stem_shape: give two whole numbers [bands, frames]" \
  "$SIGLOOP" model "$ex/fsdd-resnet8-2d.yaml" -o "$tmp/none" --set "model.stem_shape=[4]"
expect_error dropout_one "model.dropout" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.dropout=1
expect_error widths_fraction "model.widths: item 2 (24.5) is not a whole number" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set "model.widths=[16, 24.5]"
expect_error widths_short "model.widths: give the stem's width and at least one stage's" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set "model.widths=[16]"
expect_error bad_arch "model.arch: 'transformer' is not one of: tc-resnet, cnn, densenet, ds-cnn, resnet" \
  "$SIGLOOP" model "$ex/fsdd.yaml" -o "$tmp/none" --set model.arch=transformer
finish
