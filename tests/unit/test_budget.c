/* The cost model (budget.h): parameters and MACs of three known networks against derivations by
 * hand (written out below), the device view (batch norm folded, ReLU fused) and its weights,
 * the planned arena replayed for overlaps on every builder's graphs, the front end's buffers and
 * tables, latency and energy from a profile, the budget's lines, the suggestion that fits, and
 * the target profiles: every shipped one loads, bad ones give errors naming the field. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "sigloop/budget.h"
#include "sigloop/config.h"
#include "sigloop/dsp.h"
#include "sigloop/nn.h"

/* A config from YAML text (the data root need not exist: nothing reads it here). */
static void parse(sl_config *cfg, const char *yaml, const char *const *sets, size_t n_sets)
{
    if (sl_config_parse(cfg, yaml, strlen(yaml), "test.yaml", "/", sets, n_sets) != SL_OK)
        fail_msg("config: %s", sl_last_error());
}

static const char base_yaml[] = "data: {root: /nowhere, sample_rate: 8000, duration: 1s}\n"
                                "features: {type: logmel, n_fft: 256, win_length: 200, hop_length: 80, n_mels: 40,"
                                " f_min: 20, f_max: 4000, power: 1}\n";

/* A profile with round numbers, so the latencies below can be worked out by hand. */
static sl_target toy_target(void)
{
    sl_target t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "toy");
    t.clock_mhz = 100;
    t.power_mw = 50;
    t.idle_mw = 1;
    t.overhead_cycles = 1000;
    t.int8 = (sl_target_rates){.conv = 0.5, .depthwise = 0.25, .dense = 0.5, .elementwise = 1};
    t.float32 = (sl_target_rates){.conv = 0.25, .depthwise = 0.125, .dense = 0.25, .elementwise = 0.5};
    t.dsp = 0.5;
    t.code = (sl_target_code){.base = 1000, .frontend = 2000, .conv = 300, .depthwise = 400, .dense = 500,
                              .pool = 600, .elementwise = 700};
    return t;
}

static sl_budget_report *estimate(const sl_config *cfg, size_t bands, size_t frames, size_t classes)
{
    sl_target t = toy_target();
    sl_budget_report *r;
    if (sl_budget_estimate(cfg, bands, frames, classes, &t, &r) != SL_OK) fail_msg("estimate: %s", sl_last_error());
    return r;
}

/* TC-ResNet8 (Choi et al., 2019) on 40 x 98 log-mel, 10 classes; convolutions carry no bias,
 * every batch norm has a gamma and a beta per channel:
 *   stem       conv k3 40->16:      40*16*3 =  1,920 weights; 16*98 outputs * 40*3 taps  =   188,160 MACs
 *              batch norm 16:                      32
 *   block 1    conv k9 16->24 s2:   16*24*9 =  3,456;         24*49 * 16*9              =   169,344
 *              conv k9 24->24:      24*24*9 =  5,184;         24*49 * 24*9              =   254,016
 *              shortcut 1x1 16->24:   16*24 =    384;         24*49 * 16                =    18,816
 *              3 batch norms 24:      3*48  =    144
 *   block 2    32*24*9 = 6,912; 32*32*9 = 9,216; 24*32 = 768; 3*64 = 192  (T = 25)
 *              MACs 32*25*216 = 172,800; 32*25*288 = 230,400; 32*25*24 = 19,200
 *   block 3    48*32*9 = 13,824; 48*48*9 = 20,736; 32*48 = 1,536; 3*96 = 288  (T = 13)
 *              MACs 48*13*288 = 179,712; 48*13*432 = 269,568; 48*13*32 = 19,968
 *   dense      48*10 + 10 = 490;      480 MACs
 * parameters: 1,920 + 32 + 9,168 + 17,088 + 36,384 + 490 = 65,082, which is the 65,050 usually
 * quoted (batch norm in the residual blocks only) + 32 for the batch norm after the stem;
 * MACs (convolutions and dense): 188,160 + 442,176 + 422,400 + 469,248 + 480 = 1,522,464. */
static void test_tc_resnet8(void **state)
{
    (void)state;
    const char *sets[] = {"model.preset=tc-resnet8"};
    sl_config cfg;
    parse(&cfg, base_yaml, sets, 1);
    sl_budget_report *r = estimate(&cfg, 40, 98, 10);
    assert_int_equal(r->params, 65082);
    assert_int_equal(r->params - 32, 65050);
    assert_int_equal(r->macs, 1522464);
    /* on the device every batch norm folds into the convolution before it: its 2C parameters go,
     * a bias of C comes; the batch norms have 16 + 3 (24 + 32 + 48) = 328 channels */
    assert_int_equal(r->device_params, 65082 - 2 * 328 + 328);
    /* int8: 63,936 conv and 480 dense weights at 1 byte, 328 + 10 int32 biases, 8 bytes of
     * requantisation per output channel */
    assert_int_equal(r->weight_bytes, 63936 + 480 + 4 * 338 + 8 * 338);
    /* the layers that run: stem, 3 x (conv1, conv2, shortcut, add), pool, dense */
    assert_int_equal(r->device_layers, 1 + 3 * 4 + 2);
    /* element-wise work: the adds (24*49 + 32*25 + 48*13 = 2,600 values) and the pooling's
     * 48*13 = 624 inputs; ReLUs are clamps of their layers */
    assert_int_equal(r->ops, 2600 + 624);
    sl_budget_report_free(r);
    sl_config_free(&cfg);
}

/* MLPerf Tiny's keyword-spotting DS-CNN on 49 frames x 10 MFCCs, 12 classes, as sigloop builds it
 * (a one-channel 10 x 49 image; kernels with "same" padding k / 2 on each side):
 *   stem       conv 4 x 10 (bands x frames), stride 2, padding 2 x 5, 1 -> 64:
 *              output (10 + 4 - 4) / 2 + 1 = 6 by (49 + 10 - 10) / 2 + 1 = 25, 150 positions
 *              weights 4*10*64 = 2,560, batch norm 128; MACs 150 * 64 * 40 = 384,000
 *   4 blocks   depthwise 3x3 on 64: 576 weights, batch norm 128, MACs 150*64*9  =  86,400
 *              pointwise 64 -> 64: 4,096 weights, batch norm 128, MACs 150*64*64 = 614,400
 *   dense      64*12 + 12 = 780, MACs 768
 * parameters 2,688 + 4 * 4,928 + 780 = 23,180; MACs 384,000 + 4 * 700,800 + 768 = 3,187,968.
 * (MLPerf's Keras model pads its even 4-row kernel asymmetrically, TensorFlow's "same", and has 5
 * rows of output: 125 positions, 2,656,768 MACs. sigloop's convolutions pad symmetrically.) */
static void test_ds_cnn(void **state)
{
    (void)state;
    const char *sets[] = {"model.preset=mlperf-ds-cnn", "features.type=mfcc", "features.n_mfcc=10"};
    sl_config cfg;
    parse(&cfg, base_yaml, sets, 3);
    sl_budget_report *r = estimate(&cfg, 10, 49, 12);
    assert_int_equal(r->params, 23180);
    assert_int_equal(r->macs, 3187968);
    /* the depthwise layers are costed at the depthwise rate */
    size_t dw = 0;
    for (size_t i = 0; i < r->n; i++) dw += r->layers[i].cls == SL_COST_DEPTHWISE;
    assert_int_equal(dw, 4);
    sl_budget_report_free(r);
    sl_config_free(&cfg);
}

/* MLPerf Tiny's ResNet-8 on a 32 x 32 x 3 image, 10 classes:
 *   stem       3x3, 3 -> 16: 432 weights + 32 (batch norm); MACs 32*32*16*27       =   442,368
 *   stage 1    two 3x3 16 -> 16: 2 * 2,304 + 2 * 32;       MACs 2 * 32*32*16*144  = 4,718,592
 *   stage 2    3x3 16 -> 32 s2: 4,608; 3x3 32 -> 32: 9,216; 1x1 shortcut 512; 3 * 64
 *              MACs 16*16*32*144 = 1,179,648; 16*16*32*288 = 2,359,296; 16*16*32*16 = 131,072
 *   stage 3    3x3 32 -> 64 s2: 18,432; 3x3 64 -> 64: 36,864; 1x1 2,048; 3 * 128
 *              MACs 8*8*64*288 = 1,179,648; 8*8*64*576 = 2,359,296; 8*8*64*32 = 131,072
 *   dense      64*10 + 10 = 650; MACs 640
 * parameters 464 + 4,672 + 14,528 + 57,728 + 650 = 78,042 (about 78 k; MLPerf's Keras model, with
 * biases on its convolutions too, has 78,666); MACs 12,501,632 (about 12.5 M). */
static void test_resnet8_image(void **state)
{
    (void)state;
    const char *sets[] = {"model.preset=mlperf-resnet8"};
    sl_config cfg;
    parse(&cfg, base_yaml, sets, 1);
    sl_shape in = {.rank = 3, .d = {3, 32, 32}};
    sl_graph *g;
    assert_int_equal(sl_model_build(&cfg.model, &in, 10, &g), SL_OK);
    sl_target t = toy_target();
    sl_budget_report *r;
    assert_int_equal(sl_budget_estimate_graph(&cfg, g, &t, &r), SL_OK);
    assert_int_equal(r->params, 78042);
    assert_int_equal(r->macs, 12501632);
    sl_budget_report_free(r);
    /* the Cortex-M4F profile at the 120 MHz of MLPerf Tiny's NUCLEO-L4R5ZI: the network's time is
     * within 5 % of the 389.6 ms that CMSIS-NN measured there (v1.1, Krai; the profile's conv rate
     * is fitted to it, so this checks that the cost model reads the profile as it was derived) */
    char path[4096];
    assert_int_equal(sl_target_find("cortex-m4f-80mhz", NULL, path, sizeof path), SL_OK);
    assert_int_equal(sl_target_load(&t, path), SL_OK);
    t.clock_mhz = 120;
    assert_int_equal(sl_budget_estimate_graph(&cfg, g, &t, &r), SL_OK);
    printf("  ResNet-8 (32 x 32 x 3) on the Cortex-M4F profile at 120 MHz: %.1f ms (CMSIS-NN measured 389.6 ms)\n",
           1e3 * r->network_seconds);
    assert_true(fabs(r->network_seconds - 0.3896) < 0.05 * 0.3896);
    sl_budget_report_free(r);
    sl_graph_free(g);
    sl_config_free(&cfg);
}

/* Every tensor and scratch buffer of the device's arena against every other alive at the same
 * step: no shared byte, and all inside the arena. */
static void replay_arena(const sl_budget_report *r, const char *what)
{
    for (size_t i = 0; i < r->n; i++) {
        const sl_layer_cost *a = &r->layers[i];
        if (a->into != i) continue;
        if (a->offset + a->act_bytes > r->arena_bytes) fail_msg("%s: tensor of node %zu ends past the arena", what, i);
        if (a->scratch_bytes && a->scratch_offset + a->scratch_bytes > r->arena_bytes)
            fail_msg("%s: scratch of node %zu ends past the arena", what, i);
        for (size_t j = 0; j < r->n; j++) {
            const sl_layer_cost *b = &r->layers[j];
            if (b->into != j) continue;
            /* a's tensor against b's tensor (j > i) and against b's scratch (any j) */
            if (j > i && a->first <= b->last && b->first <= a->last && a->offset < b->offset + b->act_bytes &&
                b->offset < a->offset + a->act_bytes)
                fail_msg("%s: the tensors of nodes %zu and %zu overlap", what, i, j);
            if (b->scratch_bytes && a->first <= b->first && b->first <= a->last &&
                a->offset < b->scratch_offset + b->scratch_bytes && b->scratch_offset < a->offset + a->act_bytes)
                fail_msg("%s: node %zu's tensor overlaps node %zu's scratch", what, i, j);
        }
    }
}

static void test_arena_every_builder(void **state)
{
    (void)state;
    static const char *const models[][3] = {
        {"model.preset=tc-resnet8", "budget.precision=int8", NULL},
        {"model.preset=tc-resnet14", "budget.precision=float32", NULL},
        {"model.preset=mlperf-resnet8", "budget.precision=int8", NULL},
        {"model.preset=mlperf-ds-cnn", "budget.precision=float32", NULL},
        {"model.arch=cnn", "model.widths=[8, 16, 32]", NULL},
        {"model.arch=densenet", "model.widths=[16, 0]", "model.blocks=3"},
        {"model.arch=densenet", "model.dims=2", "model.widths=[8, 8]"},
        {"model.arch=ds-cnn", "model.widths=[32, 64, 64]", NULL},
        {"model.arch=resnet", "model.widths=[8, 8, 16]", "model.blocks=2"},
        {"model.arch=cnn", "model.dims=2", "model.dropout=0.2"},
    };
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        const char *sets[3];
        size_t n = 0;
        for (size_t k = 0; k < 3 && models[m][k]; k++)
            if (strcmp(models[m][k], "model.widths=[16, 0]") != 0) sets[n++] = models[m][k];
        sl_config cfg;
        parse(&cfg, base_yaml, sets, n);
        sl_budget_report *r = estimate(&cfg, 40, 98, 10);
        char what[128];
        snprintf(what, sizeof what, "%s %s", models[m][0], models[m][1]);
        replay_arena(r, what);
        /* the arena holds at least the input and each layer's input + output + scratch */
        assert_true(r->arena_bytes >= r->input_bytes);
        for (size_t i = 1; i < r->n; i++) {
            const sl_layer_cost *L = &r->layers[i];
            if (L->into != i) continue;
            assert_true(r->arena_bytes >= L->act_bytes + L->scratch_bytes);
        }
        sl_budget_report_free(r);
        sl_config_free(&cfg);
    }
}

/* TC-ResNet8 int8: at step 1 the input (40*98 = 3,920 B), the stem's output (16*98 = 1,568 B)
 * and the stem's scratch (2 columns of 40*3 taps in 16 bits = 480 B) are alive together: 5,968
 * bytes, the largest set alive at any step (later ones hold at most 1,568 + 1,176 + 864), and the
 * planner reaches it. */
static void test_arena_tc_resnet8(void **state)
{
    (void)state;
    const char *sets[] = {"model.preset=tc-resnet8"};
    sl_config cfg;
    parse(&cfg, base_yaml, sets, 1);
    sl_budget_report *r = estimate(&cfg, 40, 98, 10);
    assert_int_equal(r->input_bytes, 3920);
    assert_int_equal(r->layers[1].act_bytes, 1568);
    assert_int_equal(r->layers[1].scratch_bytes, 480);
    assert_int_equal(r->arena_bytes, 3920 + 1568 + 480);
    assert_int_equal(r->output_bytes, 10);
    sl_budget_report_free(r);
    sl_config_free(&cfg);
}

/* The front end of the log-mel above, frame by frame in float32:
 *   RAM: the last 200 samples (800 B), FFT input and output (2 * 256 * 4 = 2,048 B), the
 *        spectrum (129 * 4 = 516 B), the 40 mel energies (160 B): 3,524 B
 *   tables: the normalisation (2 * 40 * 4 = 320 B), the window (800 B), twiddles (256 * 4 =
 *        1,024 B) and bit reversal (128 * 2 = 256 B), the mel weights (4 B per non-zero) and
 *        each band's bounds (4 B per band)
 *   per frame: window 200, real FFT 2 * 256 * 8 = 4,096, power 2 * 129, square roots 10 * 129,
 *        mel weights (non-zeros), logarithms 20 * 40, standardising 2 * 40 multiply-adds */
static void test_frontend(void **state)
{
    (void)state;
    sl_config cfg;
    parse(&cfg, base_yaml, NULL, 0);
    sl_budget_report *r = estimate(&cfg, 40, 98, 10);
    float *fb = malloc(129 * 40 * sizeof *fb);
    assert_int_equal(sl_mel_filterbank(129, 20, 4000, 40, 8000, SL_MEL_HTK, 0, fb), SL_OK);
    size_t nnz = 0;
    for (size_t i = 0; i < 129 * 40; i++) nnz += fb[i] != 0;
    free(fb);
    assert_int_equal(r->frontend_ram, 800 + 2048 + 516 + 160);
    assert_int_equal(r->table_bytes, 320 + 800 + 1024 + 256 + 4 * nnz + 4 * 40);
    size_t per_frame = 200 + 4096 + 258 + 1290 + nnz + 800 + 80;
    assert_int_equal(r->frames_per_decision, 98);
    assert_int_equal(r->frontend_macs, 98 * per_frame);
    assert_int_equal(r->window_bytes, 0);
    /* streaming every 250 ms: 2,000 samples, 25 new frames of 80, and a window of 40 x 98 int8 */
    sl_budget_report_free(r);
    sl_config_free(&cfg);
    const char *sets[] = {"budget.hop=250ms"};
    parse(&cfg, base_yaml, sets, 1);
    r = estimate(&cfg, 40, 98, 10);
    assert_int_equal(r->frames_per_decision, 25);
    assert_int_equal(r->frontend_macs, 25 * per_frame);
    assert_int_equal(r->window_bytes, 40 * 98);
    assert_int_equal(r->ram_bytes, r->arena_bytes + r->frontend_ram + r->window_bytes);
    assert_true(fabs(r->decisions_per_second - 4) < 1e-12);
    /* busy share and average power: 4 decisions a second of latency L at 50 mW, 1 mW idle */
    double busy = 4 * r->latency_seconds;
    assert_true(fabs(r->busy_share - busy) < 1e-12);
    assert_true(fabs(r->average_mw - (50 * busy + 1 * (1 - busy))) < 1e-9);
    sl_budget_report_free(r);
    sl_config_free(&cfg);
}

/* Latency on the toy profile (100 MHz, int8 conv 0.5 and dense 0.5 MACs a cycle, element-wise 1
 * value a cycle, 1,000 cycles a layer) of a 1-D cnn with one conv k3 40 -> 8 (stride 1, padding
 * 1, on 98 frames), batch norm and ReLU (folded and fused), pooling and a dense layer to 10:
 *   conv   8 * 98 * 40 * 3 = 94,080 MACs / 0.5 + 1,000 = 189,160 cycles
 *   pool   784 values / 1 + 1,000 = 1,784 cycles
 *   dense  80 MACs / 0.5 + 1,000 = 1,160 cycles
 * network 192,104 cycles = 1.92104 ms; energy = 50 mW x latency; code 1,000 + 2,000 (front end)
 * + 300 (conv) + 500 (dense) + 600 (pool); flash = weights + tables + code. */
static void test_latency_energy_code(void **state)
{
    (void)state;
    const char *sets[] = {"model.arch=cnn", "model.widths=[8]", "model.stem_kernel=3"};
    sl_config cfg;
    /* widths needs two entries in a config: build the graph by hand instead */
    parse(&cfg, base_yaml, NULL, 0);
    (void)sets;
    sl_shape in = {.rank = 2, .d = {40, 98}};
    sl_graph *g;
    assert_int_equal(sl_graph_new(&g, &in), SL_OK);
    int x = sl_graph_conv1d(g, 0, 8, 3, 1, 1, 1, 1, 0, "conv");
    x = sl_graph_batchnorm(g, x, "bn");
    x = sl_graph_relu(g, x, "relu");
    x = sl_graph_gap(g, x, "pool");
    sl_graph_dense(g, x, 10, "dense");
    assert_int_equal(sl_graph_status(g), SL_OK);
    sl_target t = toy_target();
    sl_budget_report *r;
    assert_int_equal(sl_budget_estimate_graph(&cfg, g, &t, &r), SL_OK);
    assert_int_equal(r->device_layers, 3);
    assert_true(fabs(r->layers[1].seconds - 189160 / 100e6) < 1e-15);
    assert_true(fabs(r->layers[4].seconds - 1784 / 100e6) < 1e-15);
    assert_true(fabs(r->layers[5].seconds - 1160 / 100e6) < 1e-15);
    assert_true(fabs(r->network_seconds - 192104 / 100e6) < 1e-12);
    assert_true(fabs(r->frontend_seconds - (double)r->frontend_macs / (0.5 * 100e6)) < 1e-12);
    assert_true(fabs(r->latency_seconds - r->network_seconds - r->frontend_seconds) < 1e-15);
    assert_true(fabs(r->energy_mj - 50 * r->latency_seconds) < 1e-12);
    assert_int_equal(r->code_bytes, 1000 + 2000 + 300 + 500 + 600);
    assert_int_equal(r->flash_bytes, r->weight_bytes + r->table_bytes + r->code_bytes);
    /* float32: 4 bytes a weight and bias, twice the cycles at half the rates */
    sl_budget_report_free(r);
    cfg.budget.precision = SL_PRECISION_FLOAT32;
    assert_int_equal(sl_budget_estimate_graph(&cfg, g, &t, &r), SL_OK);
    assert_int_equal(r->weight_bytes, 4 * (40 * 8 * 3 + 8 + 80 + 10));
    assert_true(fabs(r->layers[1].seconds - (94080 / 0.25 + 1000) / 100e6) < 1e-15);
    sl_budget_report_free(r);
    sl_graph_free(g);
    sl_config_free(&cfg);
}

/* The budget's lines, and the smallest change that fits: applied as the --set it names, the
 * config passes. */
static void test_lines_and_suggestion(void **state)
{
    (void)state;
    const char *sets[] = {"model.preset=tc-resnet8", "budget.flash=40KiB", "budget.ram=20KiB", "budget.latency=1s"};
    sl_config cfg;
    parse(&cfg, base_yaml, sets, 4);
    sl_budget_report *r = estimate(&cfg, 40, 98, 10);
    sl_budget_line lines[SL_BUDGET_LINES];
    int over;
    size_t n = sl_budget_check(r, &cfg.budget, lines, &over);
    assert_int_equal(n, 3);
    assert_string_equal(lines[0].what, "RAM");
    assert_true(lines[0].pass);
    assert_string_equal(lines[1].what, "flash");
    assert_false(lines[1].pass); /* 66.9 KiB of weights alone */
    assert_true(over);
    sl_target t = toy_target();
    char set[256];
    sl_budget_report *fit;
    assert_int_equal(sl_budget_suggest(&cfg, 40, 98, 10, &t, set, sizeof set, &fit), SL_OK);
    assert_non_null(strstr(set, "model.width_multiplier="));
    assert_true(fit->flash_bytes <= 40 * 1024);
    sl_budget_report_free(fit);
    sl_budget_report_free(r);
    sl_config_free(&cfg);
    /* applied, it passes; one step wider (1/16 more) does not */
    const char *sets2[] = {"model.preset=tc-resnet8", "budget.flash=40KiB", "budget.ram=20KiB", "budget.latency=1s",
                           set};
    parse(&cfg, base_yaml, sets2, 5);
    r = estimate(&cfg, 40, 98, 10);
    sl_budget_check(r, &cfg.budget, lines, &over);
    assert_false(over);
    double wm = cfg.model.width_multiplier;
    sl_budget_report_free(r);
    cfg.model.width_multiplier = wm + 1.0 / 16;
    r = estimate(&cfg, 40, 98, 10);
    sl_budget_check(r, &cfg.budget, lines, &over);
    assert_true(over);
    sl_budget_report_free(r);
    sl_config_free(&cfg);
    /* float32 over a flash limit that int8 meets: the suggestion is int8 */
    const char *sets3[] = {"model.preset=tc-resnet8", "budget.flash=100KiB", "budget.precision=float32"};
    parse(&cfg, base_yaml, sets3, 3);
    assert_int_equal(sl_budget_suggest(&cfg, 40, 98, 10, &t, set, sizeof set, &fit), SL_OK);
    assert_string_equal(set, "budget.precision=int8");
    sl_budget_report_free(fit);
    sl_config_free(&cfg);
    /* nothing fits 1 KiB of flash: SL_EBUDGET with a message */
    const char *sets4[] = {"model.preset=tc-resnet8", "budget.flash=1KiB"};
    parse(&cfg, base_yaml, sets4, 2);
    assert_int_equal(sl_budget_suggest(&cfg, 40, 98, 10, &t, set, sizeof set, &fit), SL_EBUDGET);
    assert_null(fit);
    assert_non_null(strstr(sl_last_error(), "no single change"));
    sl_config_free(&cfg);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char good_profile[] = "name: tiny\ndescription: \"a test device\"\nclock_mhz: 48\nram: 32KiB\n"
                                   "flash: 256KiB\npower_mw: 12.5\noverhead_cycles: 500\n"
                                   "int8: {conv: 0.4, depthwise: 0.2, dense: 0.4, elementwise: 1}\n"
                                   "float32: {conv: 0.1, depthwise: 0.05, dense: 0.1, elementwise: 0.5}\n"
                                   "dsp: 0.3\ncode: {base: 4KiB, conv: 2KiB}\n";

static void test_profiles(void **state)
{
    (void)state;
    char dir[1024], path[1200], found[4096];
    assert_int_equal(sl_test_tmp_dir(dir, sizeof dir, "budget_profiles"), 0);
    /* every shipped profile loads (found through the source tree's targets/) */
    static const char *const shipped[] = {"host", "cortex-m4f-80mhz", "cortex-m7-216mhz", "esp32-s3-240mhz",
                                          "cortex-a53-1.2ghz"};
    for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++) {
        sl_target t;
        if (sl_target_find(shipped[i], NULL, found, sizeof found) != SL_OK) fail_msg("%s", sl_last_error());
        if (sl_target_load(&t, found) != SL_OK) fail_msg("%s", sl_last_error());
        assert_string_equal(t.name, shipped[i]);
        assert_true(t.clock_mhz > 0 && t.int8.conv > 0 && t.float32.conv > 0 && t.dsp > 0);
    }
    /* a user's profile, by path and through SIGLOOP_TARGETS */
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    write_text(path, good_profile);
    sl_target t;
    assert_int_equal(sl_target_load(&t, path), SL_OK);
    assert_string_equal(t.name, "tiny");
    assert_true(t.clock_mhz == 48 && t.ram == 32768 && t.code.base == 4096 && t.code.conv == 2048);
    assert_true(t.idle_mw == 0 && t.code.dense == 0);
    assert_int_equal(sl_target_find("tiny.yaml", dir, found, sizeof found), SL_OK);
    assert_string_equal(found, path);
    setenv("SIGLOOP_TARGETS", dir, 1);
    assert_int_equal(sl_target_find("tiny", NULL, found, sizeof found), SL_OK);
    assert_string_equal(found, path);
    unsetenv("SIGLOOP_TARGETS");
    assert_int_equal(sl_target_find("tiny", NULL, found, sizeof found), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "no profile 'tiny'"));
    assert_int_equal(sl_target_find("../etc/x", NULL, found, sizeof found), SL_ECONFIG);
    assert_int_equal(sl_target_find("a b", NULL, found, sizeof found), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "not a profile name"));
    /* bad profiles: each error names the file and the field */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"clock_mhz: 48\nint8: {conv: 1, depthwise: 1, dense: 1, elementwise: 1}\n"
         "float32: {conv: 1, depthwise: 1, dense: 1, elementwise: 1}\n",
         "dsp: required"},
        {"clock_mhz: 48\ndsp: 1\nint8: {conv: 1, depthwise: 1, dense: 1}\n"
         "float32: {conv: 1, depthwise: 1, dense: 1, elementwise: 1}\n",
         "int8.elementwise: required"},
        {"clock_mhz: -3\n", "clock_mhz: must be in (0"},
        {"clock_mhz: 48\nclok_mhz: 3\n", "clok_mhz: unknown key (did you mean 'clock_mhz'"},
        {"clock_mhz: 48\nram: lots\n", "ram: 'lots' is not a size"},
        {"- a\n- b\n", "a target profile is a mapping"},
        {"", "empty target profile"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.yaml", dir, i);
        write_text(path, bad[i].text);
        assert_int_equal(sl_target_load(&t, path), SL_ECONFIG);
        if (!strstr(sl_last_error(), bad[i].want) || !strstr(sl_last_error(), path))
            fail_msg("bad profile %zu: '%s' does not say '%s'", i, sl_last_error(), bad[i].want);
    }
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    assert_int_equal(sl_target_load(&t, path), SL_ECONFIG);
    /* budget: fields */
    sl_config cfg;
    const char *bad_sets[][1] = {{"budget.ram=64 KB of it"}, {"budget.precision=int4"}, {"budget.latency=-5ms"}};
    const char *want[] = {"budget.ram", "budget.precision: 'int4' is not one of: int8, float32",
                          "budget.latency: must not be negative"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sl_config_parse(&cfg, base_yaml, strlen(base_yaml), "test.yaml", "/", bad_sets[i], 1),
                         SL_ECONFIG);
        if (!strstr(sl_last_error(), want[i])) fail_msg("'%s' does not say '%s'", sl_last_error(), want[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tc_resnet8),          cmocka_unit_test(test_ds_cnn),
        cmocka_unit_test(test_resnet8_image),       cmocka_unit_test(test_arena_every_builder),
        cmocka_unit_test(test_arena_tc_resnet8),    cmocka_unit_test(test_frontend),
        cmocka_unit_test(test_latency_energy_code), cmocka_unit_test(test_lines_and_suggestion),
        cmocka_unit_test(test_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
