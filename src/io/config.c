/* The config schema: YAML tree -> typed struct, every field checked, and back to YAML.
 *
 * Each section is a static table of field descriptors (key, type, offset into the section's
 * struct, range, unit, enum names, nested section). Loading walks the YAML mapping against the
 * table; writing, freeing and --set walk the same tables, so a field needs no code of its own.
 *
 * To add a section (augment, budget, post, ...):
 *   1. config.h: its struct, and a member of sl_config (or of a parent section);
 *   2. here: `static const field X_fields[]` (one row per key, with X(m) = offsetof) and
 *      `static const section X_section`, then a row {"X", F_SECTION, ..., &X_section} in
 *      top_fields (or in the parent's table);
 *   3. its defaults in sl_config_defaults (lists: allocate; an OOM is caught in parse_config);
 *   4. checks that involve several fields in check_config ("file: X.key: message").
 * A new value kind is a new ftype, handled in apply_field and write_section.
 *
 * Target profiles (targets/NAME.yaml, sl_target_load) are read through the same tables. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath: glibc declares it only for X/Open, even with POSIX 2008 */
#endif
#include "sigloop/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/yaml_tree.h"
#include "sigloop/fileio.h"

#define CONFIG_MAX_BYTES (1u << 20)

typedef enum {
    F_STRING,   /* char[SL_NAME_MAX] */
    F_COUNT,    /* size_t in [lo, hi] */
    F_BOOL,     /* int 0/1 from true/false/yes/no */
    F_PATH,     /* char[SL_PATH_MAX], resolved against the config's folder */
    F_ENUM,     /* int, from names */
    F_FLOAT,    /* double in [lo, hi] (open ends by flags) */
    F_DURATION, /* double seconds, >= 0 */
    F_SEED,     /* uint64_t */
    F_CHANNEL,  /* int: "mix" -> -1, or k >= 0 */
    F_STRLIST,  /* sl_strlist */
    F_FLOATLIST,/* sl_floatlist, each value in [lo, hi] */
    F_RANGE,    /* double[2], lo <= hi; sets an int flag at aux_off */
    F_SIZE,     /* uint64_t bytes, from "64KiB", "1MiB", "512" (sl_parse_size) */
    F_SECTION,  /* nested mapping */
    F_AUGLIST,  /* sl_augment_config: a sequence of one-key mappings, "- name: {settings}" */
    F_CHOICES   /* sl_search_config's choices: a mapping of key paths to sequences of values */
} ftype;

struct section;

typedef struct {
    const char *key;
    ftype type;
    size_t off;                 /* into the section's struct */
    const char *def;            /* the default, as it would be written in the file ("16000", "[wav, flac]",
                                   "mix"); NULL: zero, empty or unset. sl_config_defaults reads it. */
    double lo, hi;              /* F_FLOAT, F_COUNT, F_FLOATLIST: the range */
    int lo_open, hi_open;       /* F_FLOAT: exclusive ends */
    const char *unit;           /* for messages ("Hz", "dBFS") */
    const char *const *names;   /* F_ENUM: NULL-terminated; the struct holds the index */
    const struct section *sub;  /* F_SECTION */
    const char *const *expands; /* F_ENUM: per value, the YAML mapping of fields it sets (NULL: none);
                                   such a field is applied before the other keys of its mapping */
    size_t aux_off;             /* F_RANGE: offset of its has_ flag */
} field;

typedef struct section {
    const field *fields;
    size_t n;
} section;

#define SECTION(t) {t, sizeof t / sizeof *t}
/* A row: key, type, offset, default text, then designated extras (.lo, .hi, .names, ...). */
#define FLD(k, t, o, ...) {.key = k, .type = t, .off = o, .def = __VA_ARGS__}

static const char *const label_from_names[] = {"pattern", "folder", "csv", NULL};
static const char *const split_by_names[] = {"groups", "hash", "field", "file", NULL};

#define SPLIT(m) offsetof(sl_split_config, m)
static const field split_fields[] = {
    FLD("by", F_ENUM, SPLIT(by), "groups", .names = split_by_names), /* inferred unless given */
    FLD("test_groups", F_STRLIST, SPLIT(test_groups), NULL),
    FLD("test_fraction", F_FLOAT, SPLIT(test_fraction), "0.2", .lo = 0, .hi = 1, .hi_open = 1),
    FLD("field", F_STRING, SPLIT(field), NULL),
    FLD("test_range", F_RANGE, SPLIT(test_range), NULL, .aux_off = SPLIT(has_test_range)),
    FLD("test_pattern", F_STRING, SPLIT(test_pattern), NULL),
    FLD("val_fraction", F_FLOAT, SPLIT(val_fraction), "0.1", .lo = 0, .hi = 1, .hi_open = 1),
    FLD("seed", F_SEED, SPLIT(seed), "0"),
};
static const section split_section = SECTION(split_fields);

#define DATA(m) offsetof(sl_data_config, m)
static const field data_fields[] = {
    FLD("root", F_PATH, DATA(root), NULL), /* required */
    FLD("label_from", F_ENUM, DATA(label_from), "pattern", .names = label_from_names),
    FLD("pattern", F_STRING, DATA(pattern), "{label}_{group}_{take}.wav"),
    FLD("csv", F_PATH, DATA(csv), NULL),
    FLD("extensions", F_STRLIST, DATA(extensions), "[wav, flac, ogg, csv]"),
    FLD("sample_rate", F_FLOAT, DATA(sample_rate), "16000", .lo = 0, .hi = 384000, .lo_open = 1, .unit = "Hz"),
    FLD("duration", F_DURATION, DATA(duration), "0s"),
    FLD("channel", F_CHANNEL, DATA(channel), "mix"),
    FLD("clip_fraction", F_FLOAT, DATA(clip_fraction), "0.001", .lo = 0, .hi = 1),
    FLD("silence_dbfs", F_FLOAT, DATA(silence_dbfs), "-60", .lo = -200, .hi = 0, .unit = "dBFS"),
    FLD("split", F_SECTION, DATA(split), NULL, .sub = &split_section),
};
static const section data_section = SECTION(data_fields);

static const char *const features_type_names[] = {"logmel", "mfcc", "mel", "spectrogram", "band_energy", "raw", NULL};
static const char *const pad_mode_names[] = {"reflect", "constant", NULL};
static const char *const filter_type_names[] = {"none", "lowpass", "highpass", "bandpass", NULL};

#define FILT(m) offsetof(sl_filter_config, m)
static const field filter_fields[] = {
    FLD("type", F_ENUM, FILT(type), "none", .names = filter_type_names),
    FLD("order", F_COUNT, FILT(order), "4", .lo = 1, .hi = 16),
    FLD("low", F_FLOAT, FILT(low), "0", .lo = 0, .hi = 1e6, .unit = "Hz"),
    FLD("high", F_FLOAT, FILT(high), "0", .lo = 0, .hi = 1e6, .unit = "Hz"),
};
static const section filter_section = SECTION(filter_fields);
static const char *const window_names[] = {"hann", "hann_symmetric", "hamming", "blackman", "rectangular", NULL};
static const char *const mel_scale_names[] = {"htk", "slaney", NULL};
static const char *const norm_names[] = {"none", "slaney", NULL};
static const char *const log_names[] = {"natural", "db", NULL};

#define FEAT(m) offsetof(sl_features_config, m)
static const field features_fields[] = {
    FLD("type", F_ENUM, FEAT(type), "logmel", .names = features_type_names),
    FLD("n_fft", F_COUNT, FEAT(n_fft), "256", .lo = 2, .hi = 65536),
    FLD("win_length", F_COUNT, FEAT(win_length), "200", .lo = 1, .hi = 65536),
    FLD("hop_length", F_COUNT, FEAT(hop_length), "80", .lo = 1, .hi = 1 << 20),
    FLD("window", F_ENUM, FEAT(window), "hann", .names = window_names),
    FLD("center", F_BOOL, FEAT(center), "false"),
    FLD("pad_mode", F_ENUM, FEAT(pad_mode), "reflect", .names = pad_mode_names),
    FLD("preemphasis", F_FLOAT, FEAT(preemphasis), "0", .lo = 0, .hi = 1, .hi_open = 1),
    FLD("power", F_FLOAT, FEAT(power), "2", .lo = 1, .hi = 2),
    FLD("n_mels", F_COUNT, FEAT(n_mels), "40", .lo = 1, .hi = 4096),
    FLD("f_min", F_FLOAT, FEAT(f_min), "20", .lo = 0, .hi = 1e6, .unit = "Hz"),
    FLD("f_max", F_FLOAT, FEAT(f_max), "0", .lo = 0, .hi = 1e6, .unit = "Hz"),
    FLD("mel_scale", F_ENUM, FEAT(mel_scale), "htk", .names = mel_scale_names),
    FLD("norm", F_ENUM, FEAT(norm), "none", .names = norm_names),
    FLD("log", F_ENUM, FEAT(log), "natural", .names = log_names),
    FLD("eps", F_FLOAT, FEAT(eps), "1e-6", .lo = 0, .hi = 1, .lo_open = 1),
    FLD("top_db", F_FLOAT, FEAT(top_db), "0", .lo = 0, .hi = 1000, .unit = "dB"),
    FLD("n_mfcc", F_COUNT, FEAT(n_mfcc), "13", .lo = 1, .hi = 4096),
    FLD("lifter", F_FLOAT, FEAT(lifter), "0", .lo = 0, .hi = 1e6),
    FLD("deltas", F_COUNT, FEAT(deltas), "0", .lo = 0, .hi = 2),
    FLD("band_edges", F_FLOATLIST, FEAT(band_edges), NULL, .lo = 0, .hi = 1e6, .unit = "Hz"),
    FLD("dc_remove", F_BOOL, FEAT(dc_remove), "false"),
    FLD("channel_scale", F_FLOATLIST, FEAT(channel_scale), NULL, .lo = -1e30, .hi = 1e30),
    FLD("filter", F_SECTION, FEAT(filter), NULL, .sub = &filter_section),
};
static const section features_section = SECTION(features_fields);

static const char *const arch_names[] = {"tc-resnet", "cnn", "densenet", "ds-cnn", "resnet", NULL};

const char *sl_model_arch_name(int arch)
{
    return arch >= 0 && arch < (int)(sizeof arch_names / sizeof *arch_names) - 1 ? arch_names[arch] : "?";
}
static const char *const init_names[] = {"pytorch", "kaiming", "xavier", NULL};
/* model.preset: known networks. TC-ResNet8/14 (Choi et al. 2019) on 40 bands; MLPerf Tiny's
 * ResNet-8 (its image classification shape, on a one-channel feature image) and its keyword
 * spotting DS-CNN (stem 10 x 4 over frames x bands at stride 2, four depthwise-separable blocks of
 * 64, dropout 0.4), as in the benchmark's reference models. */
static const char *const preset_names[] = {"none", "tc-resnet8", "tc-resnet14", "mlperf-resnet8", "mlperf-ds-cnn", NULL};
static const char *const model_presets[] = {
    NULL,
    "{arch: tc-resnet, dims: 1, widths: [16, 24, 32, 48], kernel: 9, stem_kernel: 3, blocks: 1}",
    "{arch: tc-resnet, dims: 1, widths: [16, 24, 32, 48], kernel: 9, stem_kernel: 3, blocks: 2}",
    "{arch: resnet, dims: 2, widths: [16, 16, 32, 64], kernel: 3, stem_kernel: 3, blocks: 1}",
    "{arch: ds-cnn, dims: 2, widths: [64, 64, 64, 64, 64], kernel: 3, stem_shape: [4, 10], stem_stride: 2, "
    "dropout: 0.4}",
    NULL,
};

#define MODEL(m) offsetof(sl_model_config, m)
static const field model_fields[] = {
    FLD("preset", F_ENUM, MODEL(preset), "none", .names = preset_names, .expands = model_presets),
    FLD("arch", F_ENUM, MODEL(arch), "tc-resnet", .names = arch_names),
    FLD("dims", F_COUNT, MODEL(dims), "1", .lo = 1, .hi = 2),
    FLD("widths", F_FLOATLIST, MODEL(widths), "[16, 24, 32, 48]", .lo = 1, .hi = 4096),
    FLD("kernel", F_COUNT, MODEL(kernel), "9", .lo = 1, .hi = 255),
    FLD("stem_kernel", F_COUNT, MODEL(stem_kernel), "3", .lo = 1, .hi = 255),
    FLD("stem_shape", F_FLOATLIST, MODEL(stem_shape), NULL, .lo = 1, .hi = 255),
    FLD("stem_stride", F_COUNT, MODEL(stem_stride), "1", .lo = 1, .hi = 64),
    FLD("width_multiplier", F_FLOAT, MODEL(width_multiplier), "1", .lo = 0, .hi = 16, .lo_open = 1),
    FLD("blocks", F_COUNT, MODEL(blocks), "1", .lo = 1, .hi = 64),
    FLD("growth", F_COUNT, MODEL(growth), "12", .lo = 1, .hi = 1024),
    FLD("dense_blocks", F_COUNT, MODEL(dense_blocks), "3", .lo = 1, .hi = 16),
    FLD("compression", F_FLOAT, MODEL(compression), "0.5", .lo = 0, .hi = 1, .lo_open = 1),
    FLD("dropout", F_FLOAT, MODEL(dropout), "0", .lo = 0, .hi = 1, .hi_open = 1),
    FLD("init", F_ENUM, MODEL(init), "pytorch", .names = init_names),
};
static const section model_section = SECTION(model_fields);

static const char *const optimizer_names[] = {"adam", "adamw", "sgd", NULL};
static const char *const schedule_names[] = {"constant", "cosine", "step", "onecycle", NULL};
#define TRAIN(m) offsetof(sl_train_config, m)
static const field train_fields[] = {
    FLD("epochs", F_COUNT, TRAIN(epochs), "30", .lo = 1, .hi = 100000),
    FLD("batch", F_COUNT, TRAIN(batch), "64", .lo = 1, .hi = 65536),
    FLD("optimizer", F_ENUM, TRAIN(optimizer), "adam", .names = optimizer_names),
    FLD("lr", F_FLOAT, TRAIN(lr), "0.001", .lo = 0, .hi = 10, .lo_open = 1),
    FLD("schedule", F_ENUM, TRAIN(schedule), "cosine", .names = schedule_names),
    FLD("warmup", F_FLOAT, TRAIN(warmup), "0", .lo = 0, .hi = 1e5),
    FLD("step_epochs", F_FLOAT, TRAIN(step_epochs), "10", .lo = 0, .hi = 1e5, .lo_open = 1),
    FLD("step_gamma", F_FLOAT, TRAIN(step_gamma), "0.1", .lo = 0, .hi = 1, .lo_open = 1),
    FLD("weight_decay", F_FLOAT, TRAIN(weight_decay), "0", .lo = 0, .hi = 1),
    FLD("momentum", F_FLOAT, TRAIN(momentum), "0.9", .lo = 0, .hi = 1, .hi_open = 1),
    FLD("nesterov", F_BOOL, TRAIN(nesterov), "false"),
    FLD("label_smoothing", F_FLOAT, TRAIN(label_smoothing), "0", .lo = 0, .hi = 1, .hi_open = 1),
    FLD("grad_clip", F_FLOAT, TRAIN(grad_clip), "0", .lo = 0, .hi = 1e9),
    FLD("seed", F_SEED, TRAIN(seed), "0"),
    FLD("patience", F_COUNT, TRAIN(patience), "0", .lo = 0, .hi = 100000),
};
static const section train_section = SECTION(train_fields);

/* augment: one table per transform over the shared sl_aug_config; the key of each range field
 * names what it draws. */
#define AUG(m) offsetof(sl_aug_config, m)
#define AUG_P(d) FLD("p", F_FLOAT, AUG(p), d, .lo = 0, .hi = 1)
#define AUG_RANGE(k, d) FLD(k, F_RANGE, AUG(range), d, .aux_off = AUG(has_range))
static const char *const shift_mode_names[] = {"zero", "wrap", NULL};
static const char *const noise_color_names[] = {"white", "pink", "brown", NULL};
static const char *const aug_filter_names[] = {"lowpass", "highpass", "bandpass", NULL};
static const field aug_gain_fields[] = {AUG_P("1"), AUG_RANGE("db", "[-6, 6]")};
static const field aug_shift_fields[] = {
    AUG_P("1"),
    FLD("max", F_DURATION, AUG(max), "0.1s"),
    FLD("mode", F_ENUM, AUG(mode), "zero", .names = shift_mode_names),
};
static const field aug_speed_fields[] = {AUG_P("1"), AUG_RANGE("factor", "[0.9, 1.1]")};
static const field aug_pitch_fields[] = {AUG_P("1"), AUG_RANGE("semitones", "[-2, 2]")};
static const char *const noise_over_names[] = {"recording", "window", NULL};
static const field aug_noise_fields[] = {
    AUG_P("0.5"),
    AUG_RANGE("snr_db", "[10, 30]"),
    FLD("color", F_ENUM, AUG(mode), "white", .names = noise_color_names),
    FLD("over", F_ENUM, AUG(over), "recording", .names = noise_over_names),
    FLD("folder", F_PATH, AUG(folder), NULL),
};
static const field aug_reverb_fields[] = {
    AUG_P("0.5"),
    AUG_RANGE("rt60", "[0.2, 0.8]"),
    FLD("folder", F_PATH, AUG(folder), NULL),
};
static const field aug_filter_fields[] = {
    AUG_P("0.5"),
    FLD("type", F_ENUM, AUG(mode), "bandpass", .names = aug_filter_names),
    AUG_RANGE("cutoff", "[200, 3000]"),
    FLD("octaves", F_RANGE, AUG(range2), "[2, 5]", .aux_off = AUG(has_range2)),
    FLD("order", F_COUNT, AUG(count[0]), "2", .lo = 1, .hi = 8),
};
static const field aug_clip_fields[] = {AUG_P("0.5"), AUG_RANGE("db", "[-12, -3]")};
static const field aug_polarity_fields[] = {AUG_P("0.5")};
static const field aug_rotate_fields[] = {
    AUG_P("1"),
    FLD("axes", F_FLOATLIST, AUG(axes), "[0, 1, 2]", .lo = 0, .hi = 1023),
    FLD("max_deg", F_FLOAT, AUG(max), "180", .lo = 0, .hi = 180),
};
static const field aug_sensor_gain_fields[] = {
    AUG_P("1"),
    AUG_RANGE("db", "[-1, 1]"),
    FLD("offset", F_RANGE, AUG(range2), "[0, 0]", .aux_off = AUG(has_range2)),
    FLD("drift", F_RANGE, AUG(range3), "[0, 0]", .aux_off = AUG(has_range3)),
};
static const field aug_jitter_fields[] = {AUG_P("1"), FLD("sigma", F_FLOAT, AUG(max), "0.01", .lo = 0, .hi = 1e9)};
static const field aug_series_warp_fields[] = {
    AUG_P("1"),
    FLD("knots", F_COUNT, AUG(count[0]), "4", .lo = 1, .hi = 1000),
    FLD("strength", F_FLOAT, AUG(max), "0.2", .lo = 0, .hi = 1, .hi_open = 1),
};
static const field aug_specaugment_fields[] = {
    AUG_P("1"),
    FLD("time_masks", F_COUNT, AUG(count[0]), "2", .lo = 0, .hi = 1000),
    FLD("time_width", F_COUNT, AUG(width[0]), "10", .lo = 0, .hi = 100000),
    FLD("freq_masks", F_COUNT, AUG(count[1]), "2", .lo = 0, .hi = 1000),
    FLD("freq_width", F_COUNT, AUG(width[1]), "5", .lo = 0, .hi = 100000),
};
static const field aug_time_warp_fields[] = {AUG_P("1"), FLD("max", F_FLOAT, AUG(max), "5", .lo = 0, .hi = 100000)};
static const field aug_mixup_fields[] = {AUG_P("1"), FLD("alpha", F_FLOAT, AUG(max), "0.2", .lo = 0, .hi = 100, .lo_open = 1)};
/* Indexed by SL_AUG_*. */
static const struct {
    const char *name;
    section sec;
} aug_types[SL_AUG_N_TYPES] = {
    {"gain", SECTION(aug_gain_fields)},
    {"shift", SECTION(aug_shift_fields)},
    {"speed", SECTION(aug_speed_fields)},
    {"pitch", SECTION(aug_pitch_fields)},
    {"noise", SECTION(aug_noise_fields)},
    {"reverb", SECTION(aug_reverb_fields)},
    {"filter", SECTION(aug_filter_fields)},
    {"clip", SECTION(aug_clip_fields)},
    {"polarity", SECTION(aug_polarity_fields)},
    {"rotate", SECTION(aug_rotate_fields)},
    {"sensor_gain", SECTION(aug_sensor_gain_fields)},
    {"jitter", SECTION(aug_jitter_fields)},
    {"series_warp", SECTION(aug_series_warp_fields)},
    {"specaugment", SECTION(aug_specaugment_fields)},
    {"time_warp", SECTION(aug_time_warp_fields)},
    {"mixup", SECTION(aug_mixup_fields)},
};

const char *sl_aug_type_name(int type) { return type >= 0 && type < SL_AUG_N_TYPES ? aug_types[type].name : "?"; }

static const char *const precision_names[] = {"int8", "float32", NULL};
#define BUDGET(m) offsetof(sl_budget_config, m)
static const field budget_fields[] = {
    FLD("target", F_STRING, BUDGET(target), "host"),
    FLD("precision", F_ENUM, BUDGET(precision), "int8", .names = precision_names),
    FLD("ram", F_SIZE, BUDGET(ram), "0"),
    FLD("flash", F_SIZE, BUDGET(flash), "0"),
    FLD("latency", F_DURATION, BUDGET(latency), "0s"),
    FLD("energy_mj", F_FLOAT, BUDGET(energy_mj), "0", .lo = 0, .hi = 1e9),
    FLD("hop", F_DURATION, BUDGET(hop), "0s"),
};
static const section budget_section = SECTION(budget_fields);

static const char *const strategy_names[] = {"grid", "random", "halving", NULL};
#define SEARCH(m) offsetof(sl_search_config, m)
static const field search_fields[] = {
    FLD("strategy", F_ENUM, SEARCH(strategy), "halving", .names = strategy_names),
    FLD("trials", F_COUNT, SEARCH(trials), "0", .lo = 0, .hi = 100000),
    FLD("time", F_DURATION, SEARCH(time), "0s"),
    FLD("seed", F_SEED, SEARCH(seed), "0"),
    FLD("min_epochs", F_COUNT, SEARCH(min_epochs), "3", .lo = 1, .hi = 100000),
    FLD("eta", F_COUNT, SEARCH(eta), "3", .lo = 2, .hi = 100),
    FLD("baseline", F_BOOL, SEARCH(baseline), "true"),
    FLD("val_fraction", F_FLOAT, SEARCH(val_fraction), "0.2", .lo = 0, .hi = 1, .lo_open = 1, .hi_open = 1),
    FLD("choices", F_CHOICES, SEARCH(choices), NULL),
};
static const section search_section = SECTION(search_fields);

static const char *const smoothing_names[] = {"mean", "ema", NULL};
#define POST(m) offsetof(sl_post_config, m)
static const field post_fields[] = {
    FLD("hop", F_DURATION, POST(hop), "0.1s"),
    FLD("smoothing", F_ENUM, POST(smoothing), "mean", .names = smoothing_names),
    FLD("average", F_COUNT, POST(average), "3", .lo = 1, .hi = 1000),
    FLD("alpha", F_FLOAT, POST(alpha), "0.5", .lo = 0, .hi = 1, .lo_open = 1),
    FLD("threshold", F_FLOAT, POST(threshold), "0.7", .lo = 0, .hi = 1),
    FLD("thresholds", F_FLOATLIST, POST(thresholds), NULL, .lo = 0, .hi = 1),
    FLD("hysteresis", F_FLOAT, POST(hysteresis), "0.1", .lo = 0, .hi = 1),
    FLD("suppress", F_DURATION, POST(suppress), "0.5s"),
    FLD("classes", F_STRLIST, POST(classes), NULL),
    FLD("background", F_STRING, POST(background), NULL),
};
static const section post_section = SECTION(post_fields);

#define TOP(m) offsetof(sl_config, m)
static const field top_fields[] = {
    FLD("name", F_STRING, TOP(name), "config"), /* sl_config_load: the file's stem */
    FLD("data", F_SECTION, TOP(data), NULL, .sub = &data_section),
    FLD("features", F_SECTION, TOP(features), NULL, .sub = &features_section),
    FLD("model", F_SECTION, TOP(model), NULL, .sub = &model_section),
    FLD("train", F_SECTION, TOP(train), NULL, .sub = &train_section),
    FLD("augment", F_AUGLIST, TOP(augment), NULL),
    FLD("budget", F_SECTION, TOP(budget), NULL, .sub = &budget_section),
    FLD("search", F_SECTION, TOP(search), NULL, .sub = &search_section),
    FLD("post", F_SECTION, TOP(post), NULL, .sub = &post_section),
};
static const section top_section = SECTION(top_fields);

/* A target profile: its own document, read with the same machinery. */
#define RATES(m) offsetof(sl_target_rates, m)
static const field rates_fields[] = {
    FLD("conv", F_FLOAT, RATES(conv), NULL, .lo = 0, .hi = 1e6, .lo_open = 1),
    FLD("depthwise", F_FLOAT, RATES(depthwise), NULL, .lo = 0, .hi = 1e6, .lo_open = 1),
    FLD("dense", F_FLOAT, RATES(dense), NULL, .lo = 0, .hi = 1e6, .lo_open = 1),
    FLD("elementwise", F_FLOAT, RATES(elementwise), NULL, .lo = 0, .hi = 1e6, .lo_open = 1),
};
static const section rates_section = SECTION(rates_fields);
#define CODE(m) offsetof(sl_target_code, m)
static const field code_fields[] = {
    FLD("base", F_SIZE, CODE(base), "0"),
    FLD("frontend", F_SIZE, CODE(frontend), "0"),
    FLD("conv", F_SIZE, CODE(conv), "0"),
    FLD("depthwise", F_SIZE, CODE(depthwise), "0"),
    FLD("dense", F_SIZE, CODE(dense), "0"),
    FLD("pool", F_SIZE, CODE(pool), "0"),
    FLD("elementwise", F_SIZE, CODE(elementwise), "0"),
};
static const section code_section = SECTION(code_fields);
#define TARGET(m) offsetof(sl_target, m)
static const field target_fields[] = {
    FLD("name", F_STRING, TARGET(name), NULL),
    FLD("description", F_STRING, TARGET(description), NULL),
    FLD("clock_mhz", F_FLOAT, TARGET(clock_mhz), NULL, .lo = 0, .hi = 1e6, .lo_open = 1, .unit = "MHz"),
    FLD("ram", F_SIZE, TARGET(ram), "0"),
    FLD("flash", F_SIZE, TARGET(flash), "0"),
    FLD("power_mw", F_FLOAT, TARGET(power_mw), "0", .lo = 0, .hi = 1e7, .unit = "mW"),
    FLD("idle_mw", F_FLOAT, TARGET(idle_mw), "0", .lo = 0, .hi = 1e7, .unit = "mW"),
    FLD("overhead_cycles", F_FLOAT, TARGET(overhead_cycles), "0", .lo = 0, .hi = 1e12),
    FLD("int8", F_SECTION, TARGET(int8), NULL, .sub = &rates_section),
    FLD("float32", F_SECTION, TARGET(float32), NULL, .sub = &rates_section),
    FLD("dsp", F_FLOAT, TARGET(dsp), NULL, .lo = 0, .hi = 1e6, .lo_open = 1),
    FLD("code", F_SECTION, TARGET(code), NULL, .sub = &code_section),
};
static const section target_section = SECTION(target_fields);

/* ---- lists ---------------------------------------------------------------------------------- */

static void strlist_free(sl_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void choices_free(sl_search_config *s)
{
    for (size_t i = 0; i < s->n_choices; i++) {
        for (size_t j = 0; j < s->choices[i].n; j++) free(s->choices[i].values[j]);
        free(s->choices[i].values);
        free(s->choices[i].key);
    }
    free(s->choices);
    s->choices = NULL;
    s->n_choices = 0;
}

static void free_section(const section *sec, void *base)
{
    for (size_t i = 0; i < sec->n; i++) {
        const field *f = &sec->fields[i];
        char *p = (char *)base + f->off;
        if (f->type == F_STRLIST) strlist_free((sl_strlist *)p);
        else if (f->type == F_FLOATLIST) {
            free(((sl_floatlist *)p)->v);
            ((sl_floatlist *)p)->v = NULL;
            ((sl_floatlist *)p)->n = 0;
        }
        else if (f->type == F_SECTION) free_section(f->sub, p);
        else if (f->type == F_CHOICES) choices_free((sl_search_config *)base);
        else if (f->type == F_AUGLIST) {
            sl_augment_config *l = (sl_augment_config *)p;
            for (size_t j = 0; j < l->n; j++) free_section(&aug_types[l->items[j].type].sec, &l->items[j]);
            free(l->items);
            l->items = NULL;
            l->n = 0;
        }
    }
}

void sl_config_free(sl_config *cfg)
{
    if (!cfg) return;
    free_section(&top_section, cfg);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- units ---------------------------------------------------------------------------------- */

/* The length of the plain decimal number at s (sign, digits, fraction, exponent), 0 if none.
 * strtod alone would also take hex, "nan" and "inf", which have no place in a config. */
static size_t scan_decimal(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    for (; isdigit((unsigned char)s[i]); i++) digits++;
    if (s[i] == '.')
        for (i++; isdigit((unsigned char)s[i]); i++) digits++;
    if (!digits) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-') j++;
        if (isdigit((unsigned char)s[j])) {
            while (isdigit((unsigned char)s[j])) j++;
            i = j;
        }
    }
    return i;
}

/* A finite decimal number at the start of text; *rest points past it and any spaces. */
static int parse_number(const char *text, double *v, const char **rest)
{
    size_t n = scan_decimal(text);
    if (!n) return 0;
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    if (end != text + n || errno == ERANGE || !isfinite(*v)) return 0;
    while (*end == ' ') end++;
    *rest = end;
    return 1;
}

sl_status sl_parse_duration(const char *text, double *seconds)
{
    static const struct { const char *unit; double scale; } units[] = {
        {"", 1}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"min", 60}, {"m", 60}, {"h", 3600},
    };
    double v;
    const char *rest;
    if (parse_number(text, &v, &rest)) {
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
            if (strcmp(rest, units[i].unit) != 0) continue;
            double x = v * units[i].scale;
            if (!isfinite(x)) return sl_fail(SL_EARG, "'%s' is too large a duration", text);
            *seconds = x == 0 ? 0.0 : x; /* no "-0s" */
            return SL_OK;
        }
    }
    return sl_fail(SL_EARG, "'%s' is not a duration (e.g. 1.5s, 500ms, 2min)", text);
}

/* Sizes are read as exact decimals, not through double: "1.1kB" is 1100 bytes, and integers
 * above 2^53 keep every digit. */
sl_status sl_parse_size(const char *text, uint64_t *bytes)
{
    static const struct { const char *unit; uint64_t scale; } units[] = {
        {"", 1}, {"B", 1}, {"kB", 1000}, {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000},
        {"KiB", 1024}, {"MiB", 1048576}, {"GiB", 1073741824},
    };
    const char *p = text;
    uint64_t whole = 0, frac = 0, den = 1; /* the number is whole + frac / den */
    int digits = 0, big = 0, fine = 0;
    for (; isdigit((unsigned char)*p); p++, digits++) {
        unsigned d = (unsigned)(*p - '0');
        if (whole > (UINT64_MAX - d) / 10) big = 1;
        else whole = whole * 10 + d;
    }
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++, digits++) {
            unsigned d = (unsigned)(*p - '0');
            if (den < 1000000000) { /* nine decimals: finer than a byte of a GiB */
                frac = frac * 10 + d;
                den *= 10;
            } else if (d) {
                fine = 1;
            }
        }
    while (*p == ' ') p++;
    if (!digits) return sl_fail(SL_EARG, "'%s' is not a size (e.g. 64KiB, 1MiB, 2MB)", text);
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcmp(p, units[i].unit) != 0) continue;
        uint64_t sc = units[i].scale;
        /* frac < 1e9 and sc <= 2^30, so frac * sc fits */
        if (fine || (frac * sc) % den) return sl_fail(SL_EARG, "'%s' is not a whole number of bytes", text);
        uint64_t part = frac * sc / den;
        if (big || whole > (UINT64_MAX - part) / sc) return sl_fail(SL_EARG, "'%s' is too large a size", text);
        *bytes = whole * sc + part;
        return SL_OK;
    }
    return sl_fail(SL_EARG, "'%s' is not a size (e.g. 64KiB, 1MiB, 2MB)", text);
}

sl_status sl_expand_env(const char *text, char *out, size_t size)
{
    if (!size) return sl_fail(SL_EARG, "'%s' expands too long", text);
    size_t k = 0;
#define PUTC(c)                                                                     \
    do {                                                                            \
        if (k + 1 >= size) return sl_fail(SL_EARG, "'%s' expands too long", text); \
        out[k++] = (c);                                                             \
    } while (0)
    for (const char *p = text; *p;) {
        if (p[0] == '$' && p[1] == '$') {
            PUTC('$');
            p += 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (!end) return sl_fail(SL_EARG, "'%s': unclosed ${", text);
            char name[256];
            const char *colon = strstr(p + 2, ":-");
            const char *name_end = colon && colon < end ? colon : end;
            size_t nlen = (size_t)(name_end - (p + 2));
            int ok = nlen > 0 && nlen < sizeof name && !isdigit((unsigned char)p[2]);
            for (size_t i = 0; ok && i < nlen; i++) ok = isalnum((unsigned char)p[2 + i]) || p[2 + i] == '_';
            if (!ok)
                return sl_fail(SL_EARG, "'%s': bad variable name in ${...} (use ${NAME} or ${NAME:-default})", text);
            memcpy(name, p + 2, nlen);
            name[nlen] = '\0';
            const char *val = getenv(name);
            if (!val || (!*val && name_end != end)) { /* a default serves when unset or empty */
                if (name_end == end) return sl_fail(SL_EARG, "${%s} is not set", name);
                for (const char *d = name_end + 2; d < end; d++) PUTC(*d);
            } else {
                for (const char *d = val; *d; d++) PUTC(*d);
            }
            p = end + 1;
        } else {
            PUTC(*p);
            p++;
        }
    }
#undef PUTC
    out[k] = '\0';
    return SL_OK;
}

/* Joins dir and path (path alone when absolute) and removes "." and ".." lexically: the file need
 * not exist. dir is absolute. No strtok (hidden state) and no array of parts (no limit on them). */
static sl_status resolve_path(const char *dir, const char *path, char *out, size_t size)
{
    size_t k = 0; /* out[0..k) is "/a/b", without a trailing slash */
    const char *srcs[2] = {path[0] == '/' ? "" : dir, path};
    for (int s = 0; s < 2; s++)
        for (const char *p = srcs[s]; *p;) {
            while (*p == '/') p++;
            const char *e = p;
            while (*e && *e != '/') e++;
            size_t len = (size_t)(e - p);
            if (len == 2 && p[0] == '.' && p[1] == '.') {
                while (k > 0 && out[k - 1] != '/') k--;
                if (k > 0) k--;
            } else if (len > 0 && !(len == 1 && p[0] == '.')) {
                if (k + len + 2 > size) return sl_fail(SL_EARG, "longer than %zu characters", size - 1);
                out[k++] = '/';
                memcpy(out + k, p, len);
                k += len;
            }
            p = e;
        }
    if (k == 0) out[k++] = '/';
    out[k] = '\0';
    return SL_OK;
}

/* ---- loading -------------------------------------------------------------------------------- */

typedef struct {
    const char *name;      /* the config's name for messages */
    const char *dir;
    const char *where;     /* non-NULL for --set: used instead of file:line:col */
    int split_by_given;
} load_ctx;

static sl_status field_error(const load_ctx *c, const yn_node *n, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static sl_status field_error(const load_ctx *c, const yn_node *n, const char *path, const char *fmt, ...)
{
    char msg[512], shown[1024], shown_path[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    yn_printable(shown, sizeof shown, msg); /* values quoted in it may hold line breaks */
    yn_printable(shown_path, sizeof shown_path, path);
    if (c->where) return sl_fail(SL_ECONFIG, "%s: %s", shown_path, shown); /* "--set key.path[...]" */
    return sl_fail(SL_ECONFIG, "%s:%d:%d: %s: %s", c->name, n->line, n->col, shown_path, shown);
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 64;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1; /* a transposition */
        }
    return d[la][lb];
}

/* "unknown key (did you mean 'sample_rate'?)": the nearest key within two edits, else the only
 * key that starts with what was written (or that it starts with), else the list of keys. */
static void unknown_key_text(const section *sec, const char *key, char *out, size_t size)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < sec->n; i++) {
        size_t d = edit_distance(key, sec->fields[i].key);
        if (d < best_d) {
            best_d = d;
            best = sec->fields[i].key;
        }
    }
    size_t klen = strlen(key), n_prefix = 0;
    for (size_t i = 0; !best && i < sec->n; i++) {
        const char *f = sec->fields[i].key;
        size_t flen = strlen(f);
        if ((klen >= 3 && strncmp(f, key, klen) == 0) || (flen >= 3 && strncmp(key, f, flen) == 0)) n_prefix++;
    }
    for (size_t i = 0; !best && n_prefix == 1 && i < sec->n; i++) {
        const char *f = sec->fields[i].key;
        size_t flen = strlen(f);
        if ((klen >= 3 && strncmp(f, key, klen) == 0) || (flen >= 3 && strncmp(key, f, flen) == 0)) best = f;
    }
    if (best) {
        snprintf(out, size, "unknown key (did you mean '%s'?)", best);
        return;
    }
    size_t n = (size_t)snprintf(out, size, "unknown key (valid: ");
    for (size_t i = 0; i < sec->n; i++)
        n += (size_t)snprintf(out + (n < size ? n : size), n < size ? size - n : 0, "%s%s", i ? ", " : "",
                              sec->fields[i].key);
    snprintf(out + (n < size ? n : size), n < size ? size - n : 0, ")");
}

static sl_status unknown_key(const load_ctx *c, const section *sec, const yn_node *k, const char *path)
{
    char msg[512];
    unknown_key_text(sec, k->value, msg, sizeof msg);
    return field_error(c, k, path, "%s", msg);
}

/* A plain null (empty, "~" or "null"): a key given without a value. */
static int is_null(const yn_node *n)
{
    return n->kind == YN_SCALAR && !n->quoted &&
           (!*n->value || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}

/* A whole number written with digits only (no sign, no spaces: strtoull would take " -3"). */
static int parse_whole(const char *text, unsigned long long *x)
{
    if (!isdigit((unsigned char)text[0])) return 0;
    char *end;
    errno = 0;
    *x = strtoull(text, &end, 10);
    return !*end && errno != ERANGE;
}

static sl_status scalar_text(const load_ctx *c, const yn_node *n, const char *path, char *out, size_t size)
{
    if (n->kind != YN_SCALAR)
        return field_error(c, n, path, "expected a single value, got a %s",
                           n->kind == YN_MAP ? "mapping" : "list");
    if (sl_expand_env(n->value, out, size) != SL_OK) return field_error(c, n, path, "%s", sl_last_error());
    return SL_OK;
}

static sl_status to_double(const load_ctx *c, const yn_node *n, const char *path, const char *text, double *v)
{
    const char *rest;
    if (!parse_number(text, v, &rest) || *rest) return field_error(c, n, path, "expected a number, got '%s'", text);
    if (*v == 0) *v = 0.0; /* no "-0" */
    return SL_OK;
}

static const char *fmt_num(char *buf, size_t size, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) { /* whole numbers without an exponent: 8000, not 8e+03 */
        snprintf(buf, size, "%.0f", v);
        return buf;
    }
    for (int prec = 1; prec <= 17; prec++) { /* the shortest text that reads back exactly */
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

static sl_status apply_section(load_ctx *c, const section *sec, void *base, const yn_node *map, const char *path);
static sl_status expand(load_ctx *c, const field *f, void *base, int i, const char *path);
static void apply_defaults(const section *sec, void *base);

/* augment: "- name: {settings}" items, each a transform's defaults overridden by its settings. */
static sl_status apply_auglist(load_ctx *c, sl_augment_config *l, const yn_node *v, const char *path)
{
    size_t n = 0;
    if (!is_null(v)) {
        if (v->kind != YN_SEQ) return field_error(c, v, path, "expected a list of transforms, e.g. [gain: {db: [-6, 6]}]");
        n = v->n_items;
    }
    sl_aug_config *items = calloc(n ? n : 1, sizeof *items);
    if (!items) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = SL_OK;
    size_t done = 0;
    for (size_t i = 0; i < n && s == SL_OK; i++) {
        const yn_node *it = v->items[i];
        char sub[600];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        const yn_node *key = NULL, *val = NULL;
        if (it->kind == YN_SCALAR) key = it; /* "- polarity": its defaults */
        else if (it->kind == YN_MAP && it->n_items == 2) key = it->items[0], val = it->items[1];
        if (!key) {
            s = field_error(c, it, sub, "expected one transform, e.g. 'gain: {db: [-6, 6]}'");
            break;
        }
        int t = -1;
        for (int k = 0; k < SL_AUG_N_TYPES && t < 0; k++)
            if (strcmp(key->value, aug_types[k].name) == 0) t = k;
        if (t < 0) {
            char opts[400];
            size_t m = 0;
            for (int k = 0; k < SL_AUG_N_TYPES; k++)
                m += (size_t)snprintf(opts + m, m < sizeof opts ? sizeof opts - m : 0, "%s%s", k ? ", " : "", aug_types[k].name);
            s = field_error(c, key, sub, "unknown transform '%s' (one of: %s)", key->value, opts);
            break;
        }
        items[i].type = t;
        apply_defaults(&aug_types[t].sec, &items[i]);
        done = i + 1;
        snprintf(sub, sizeof sub, "%s[%zu].%s", path, i, aug_types[t].name);
        if (val && !is_null(val)) {
            if (val->kind != YN_MAP) s = field_error(c, val, sub, "expected a mapping of settings");
            else s = apply_section(c, &aug_types[t].sec, &items[i], val, sub);
        }
    }
    if (s != SL_OK) {
        for (size_t i = 0; i < done; i++) free_section(&aug_types[items[i].type].sec, &items[i]);
        free(items);
        return s;
    }
    for (size_t i = 0; i < l->n; i++) free_section(&aug_types[l->items[i].type].sec, &l->items[i]);
    free(l->items);
    l->items = items;
    l->n = n;
    return SL_OK;
}

/* The items of a list field: a sequence's items, or a single scalar as a list of one. */
/* A YAML node back as the text --set takes: scalars as written, sequences and mappings in flow style. */
static sl_status node_text(const yn_node *n, char *out, size_t size, size_t *k)
{
    if (n->kind == YN_SCALAR) {
        *k += (size_t)snprintf(out + *k, *k < size ? size - *k : 0, "%s", n->value ? n->value : "");
    } else {
        int map = n->kind == YN_MAP;
        *k += (size_t)snprintf(out + *k, *k < size ? size - *k : 0, "%s", map ? "{" : "[");
        for (size_t i = 0; i < n->n_items; i++) {
            if (i) *k += (size_t)snprintf(out + *k, *k < size ? size - *k : 0, "%s", map && i % 2 ? ": " : ", ");
            SL_TRY(node_text(n->items[i], out, size, k));
        }
        *k += (size_t)snprintf(out + *k, *k < size ? size - *k : 0, "%s", map ? "}" : "]");
    }
    return *k < size ? SL_OK : sl_fail(SL_ECONFIG, "a value longer than %zu characters", size - 1);
}

/* search.choices: { key.path: [value, value, ...], ... } */
static sl_status apply_choices(load_ctx *c, sl_search_config *sc, const yn_node *v, const char *path)
{
    if (is_null(v)) return SL_OK;
    if (v->kind != YN_MAP) return field_error(c, v, path, "expected a mapping of settings to lists of values, "
                                                          "e.g. {model.kernel: [5, 7, 9]}");
    choices_free(sc);
    size_t n = v->n_items / 2;
    sc->choices = calloc(n ? n : 1, sizeof *sc->choices);
    if (!sc->choices) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const yn_node *k = v->items[2 * i], *vals = v->items[2 * i + 1];
        char sub[600];
        snprintf(sub, sizeof sub, "%s.%s", path, k->value ? k->value : "?");
        if (vals->kind != YN_SEQ || vals->n_items == 0)
            return field_error(c, vals, sub, "expected a list of the values to try, e.g. [5, 7, 9]");
        sl_search_choice *ch = &sc->choices[sc->n_choices++];
        ch->key = strdup(k->value ? k->value : "");
        ch->values = calloc(vals->n_items, sizeof *ch->values);
        if (!ch->key || !ch->values) return sl_fail(SL_ENOMEM, "out of memory");
        for (size_t j = 0; j < vals->n_items; j++) {
            char text[SL_PATH_MAX];
            size_t len = 0;
            if (node_text(vals->items[j], text, sizeof text, &len) != SL_OK)
                return field_error(c, vals->items[j], sub, "%s", sl_last_error());
            if (!(ch->values[j] = strdup(text))) return sl_fail(SL_ENOMEM, "out of memory");
            ch->n++;
        }
    }
    return SL_OK;
}

static sl_status list_items(const load_ctx *c, const yn_node *const *v, const char *path, const char *what,
                            const yn_node *const **items, size_t *n)
{
    if ((*v)->kind == YN_SEQ) {
        *items = (const yn_node *const *)(*v)->items;
        *n = (*v)->n_items;
        return SL_OK;
    }
    if ((*v)->kind != YN_SCALAR) return field_error(c, *v, path, "expected %s", what);
    *items = v;
    *n = 1;
    return SL_OK;
}

static sl_status apply_field(load_ctx *c, const field *f, void *base, const yn_node *v, const char *path)
{
    char *p = (char *)base + f->off;
    char text[SL_PATH_MAX];
    switch (f->type) {
    case F_AUGLIST:
        return apply_auglist(c, (sl_augment_config *)p, v, path);
    case F_CHOICES:
        return apply_choices(c, (sl_search_config *)((char *)base), v, path);
    case F_SECTION:
        if (is_null(v)) return SL_OK; /* "split:" alone keeps the defaults */
        if (v->kind != YN_MAP) return field_error(c, v, path, "expected a mapping of keys");
        return apply_section(c, f->sub, p, v, path);
    case F_STRLIST: {
        sl_strlist *l = (sl_strlist *)p;
        const yn_node *const *items = NULL;
        size_t n = 0;
        SL_TRY(list_items(c, &v, path, "a list", &items, &n));
        char **vals = calloc(n ? n : 1, sizeof *vals);
        if (!vals) return sl_fail(SL_ENOMEM, "out of memory");
        sl_status s = SL_OK;
        for (size_t i = 0; i < n && s == SL_OK; i++) {
            s = scalar_text(c, items[i], path, text, sizeof text);
            if (s == SL_OK && !*text) s = field_error(c, items[i], path, "empty item");
            if (s == SL_OK && !(vals[i] = strdup(text))) s = sl_fail(SL_ENOMEM, "out of memory");
        }
        if (s != SL_OK) {
            for (size_t i = 0; i < n; i++) free(vals[i]);
            free(vals);
            return s;
        }
        strlist_free(l); /* the list takes the new items */
        if (!n) {
            free(vals);
            vals = NULL;
        }
        l->items = vals;
        l->n = n;
        return SL_OK;
    }
    case F_FLOATLIST: {
        sl_floatlist *l = (sl_floatlist *)p;
        const yn_node *const *items = NULL;
        size_t n = 0;
        SL_TRY(list_items(c, &v, path, "a list of numbers", &items, &n));
        double *vals = malloc((n ? n : 1) * sizeof *vals);
        if (!vals) return sl_fail(SL_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            sl_status st = scalar_text(c, items[i], path, text, sizeof text);
            if (st == SL_OK) st = to_double(c, items[i], path, text, &vals[i]);
            if (st == SL_OK && (vals[i] < f->lo || vals[i] > f->hi))
                st = field_error(c, items[i], path, "item %zu (%s) is out of range", i + 1, text);
            if (st != SL_OK) {
                free(vals);
                return st;
            }
        }
        free(l->v);
        l->v = vals;
        l->n = n;
        return SL_OK;
    }
    case F_RANGE: {
        if (is_null(v)) {
            *(int *)((char *)base + f->aux_off) = 0; /* not given */
            return SL_OK;
        }
        if (v->kind != YN_SEQ || v->n_items != 2)
            return field_error(c, v, path, "expected a range [low, high]");
        double r[2];
        for (int i = 0; i < 2; i++) {
            SL_TRY(scalar_text(c, v->items[i], path, text, sizeof text));
            SL_TRY(to_double(c, v->items[i], path, text, &r[i]));
        }
        if (r[0] > r[1]) return field_error(c, v, path, "low end %g is above high end %g", r[0], r[1]);
        memcpy(p, r, sizeof r);
        *(int *)((char *)base + f->aux_off) = 1;
        return SL_OK;
    }
    default:
        break;
    }
    SL_TRY(scalar_text(c, v, path, text, sizeof text));
    switch (f->type) {
    case F_STRING:
        if (strlen(text) >= SL_NAME_MAX) return field_error(c, v, path, "longer than %d characters", SL_NAME_MAX - 1);
        memcpy(p, text, strlen(text) + 1);
        return SL_OK;
    case F_PATH:
        if (!*text) { /* unset */
            *p = '\0';
            return SL_OK;
        }
        if (resolve_path(c->dir, text, p, SL_PATH_MAX) != SL_OK) return field_error(c, v, path, "%s", sl_last_error());
        return SL_OK;
    case F_ENUM:
        for (int i = 0; f->names[i]; i++)
            if (strcmp(text, f->names[i]) == 0) {
                *(int *)p = i;
                if (strcmp(f->key, "by") == 0) c->split_by_given = 1;
                if (f->expands && f->expands[i]) return expand(c, f, base, i, path);
                return SL_OK;
            }
        {
            char opts[256];
            size_t n = 0;
            for (int i = 0; f->names[i]; i++)
                n += (size_t)snprintf(opts + n, n < sizeof opts ? sizeof opts - n : 0, "%s%s", i ? ", " : "", f->names[i]);
            return field_error(c, v, path, "'%s' is not one of: %s", text, opts);
        }
    case F_COUNT: {
        unsigned long long x;
        if (!parse_whole(text, &x)) return field_error(c, v, path, "expected a whole number, got '%s'", text);
        if ((double)x < f->lo || (double)x > f->hi)
            return field_error(c, v, path, "must be in [%.0f, %.0f] (got %s)", f->lo, f->hi, text);
        *(size_t *)p = (size_t)x;
        return SL_OK;
    }
    case F_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0) *(int *)p = 1;
        else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0) *(int *)p = 0;
        else return field_error(c, v, path, "expected true or false, got '%s'", text);
        return SL_OK;
    case F_FLOAT: {
        double x;
        SL_TRY(to_double(c, v, path, text, &x));
        int below = f->lo_open ? !(x > f->lo) : !(x >= f->lo);
        int above = f->hi_open ? !(x < f->hi) : !(x <= f->hi);
        if (below || above) {
            char a[32], b[32], g[32];
            return field_error(c, v, path, "must be in %c%s, %s%c%s%s (got %s)", f->lo_open ? '(' : '[',
                               fmt_num(a, sizeof a, f->lo), fmt_num(b, sizeof b, f->hi), f->hi_open ? ')' : ']',
                               f->unit ? " " : "", f->unit ? f->unit : "", fmt_num(g, sizeof g, x));
        }
        *(double *)p = x;
        return SL_OK;
    }
    case F_SIZE: {
        uint64_t x;
        if (sl_parse_size(text, &x) != SL_OK) return field_error(c, v, path, "%s", sl_last_error());
        *(uint64_t *)p = x;
        return SL_OK;
    }
    case F_DURATION: {
        double x;
        if (sl_parse_duration(text, &x) != SL_OK) return field_error(c, v, path, "%s", sl_last_error());
        if (x < 0) return field_error(c, v, path, "must not be negative (got %s)", text);
        *(double *)p = x;
        return SL_OK;
    }
    case F_SEED: {
        unsigned long long x;
        if (!parse_whole(text, &x)) return field_error(c, v, path, "expected a whole number >= 0, got '%s'", text);
        *(uint64_t *)p = (uint64_t)x;
        return SL_OK;
    }
    case F_CHANNEL: {
        if (strcmp(text, "mix") == 0) {
            *(int *)p = -1;
            return SL_OK;
        }
        unsigned long long x;
        if (!parse_whole(text, &x) || x > 1023)
            return field_error(c, v, path, "expected 'mix' or a channel number in [0, 1023], got '%s'", text);
        *(int *)p = (int)x;
        return SL_OK;
    }
    default:
        return sl_fail(SL_EINTERNAL, "config: field type %d", (int)f->type);
    }
}

/* Keys whose field expands (a preset) go first, so the mapping's other keys override what they
 * set, whatever the order in the file. */
static sl_status apply_section(load_ctx *c, const section *sec, void *base, const yn_node *map, const char *path)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i + 1 < map->n_items; i += 2) {
            const yn_node *k = map->items[i], *v = map->items[i + 1];
            char sub[512];
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k->value);
            const field *f = NULL;
            for (size_t j = 0; j < sec->n && !f; j++)
                if (strcmp(sec->fields[j].key, k->value) == 0) f = &sec->fields[j];
            if (!f) return unknown_key(c, sec, k, sub);
            if ((f->expands != NULL) == (pass == 0)) SL_TRY(apply_field(c, f, base, v, sub));
        }
    return SL_OK;
}

/* The fields value i of f stands for, applied to base (the section f belongs to). */
static sl_status expand(load_ctx *c, const field *f, void *base, int i, const char *path)
{
    const section *sec = NULL;
    for (size_t t = 0; t < top_section.n && !sec; t++)
        if (top_section.fields[t].sub)
            for (size_t j = 0; j < top_section.fields[t].sub->n; j++)
                if (&top_section.fields[t].sub->fields[j] == f) sec = top_section.fields[t].sub;
    if (!sec) return sl_fail(SL_EINTERNAL, "config: %s: no section", path);
    yn_node *v = NULL;
    SL_TRY(yn_parse(f->expands[i], strlen(f->expands[i]), path, &v));
    const char *where = c->where;
    c->where = NULL;
    sl_status s = v ? apply_section(c, sec, base, v, path) : SL_OK;
    c->where = where;
    yn_free(v);
    return s;
}

/* Sets the fields of sec from their default texts, through the same code as values from a file. */
static void apply_defaults(const section *sec, void *base)
{
    for (size_t i = 0; i < sec->n; i++) {
        const field *f = &sec->fields[i];
        if (f->type == F_SECTION) {
            apply_defaults(f->sub, (char *)base + f->off);
            continue;
        }
        if (!f->def) continue;
        load_ctx c = {.name = "default", .dir = "/", .where = "default", .split_by_given = 0};
        yn_node one = {.kind = YN_SCALAR, .line = 1, .col = 1, .value = (char *)f->def}; /* read only */
        yn_node *v = &one;
        if (f->type == F_STRLIST || f->type == F_FLOATLIST || f->type == F_RANGE) v = NULL; /* "[a, b]" */
        /* Only an allocation can fail here (the texts are checked by the tests); a list then stays
         * empty, which parse_config reports as SL_ENOMEM. */
        if (!v && yn_parse(f->def, strlen(f->def), "default", &v) != SL_OK) continue;
        if (v) (void)apply_field(&c, f, base, v, f->key);
        if (v != &one) yn_free(v);
    }
}

void sl_config_defaults(sl_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    apply_defaults(&top_section, cfg);
}

/* Applies "a.b.c=value": finds the field along the path, parses the value as YAML. */
static sl_status apply_override(load_ctx *c, sl_config *cfg, const char *ov)
{
    const char *eq = strchr(ov, '=');
    char where[600], key_path[512];
    snprintf(key_path, sizeof key_path, "%.*s", eq ? (int)(eq - ov) : (int)strlen(ov), ov);
    snprintf(where, sizeof where, "--set ");
    yn_printable(where + 6, sizeof where - 6, key_path);
    if (!eq || eq == ov) return sl_fail(SL_ECONFIG, "%s: expected key.path=value", where);
    c->where = where;
    const section *sec = &top_section;
    void *base = cfg;
    const field *f = NULL;
    char key[512];
    const char *p = ov;
    long item = -1; /* "augment[i]": the list's item i, whose transform's name comes next */
    while (p < eq) {
        const char *dot = memchr(p, '.', (size_t)(eq - p));
        size_t len = (size_t)((dot ? dot : eq) - p);
        if (len == 0 || len >= sizeof key) return sl_fail(SL_ECONFIG, "%s: bad key path", where);
        memcpy(key, p, len);
        key[len] = '\0';
        if (f && f->type == F_AUGLIST && item >= 0) { /* augment[i].NAME.field */
            sl_augment_config *l = (sl_augment_config *)((char *)base + f->off);
            if ((size_t)item >= l->n)
                return sl_fail(SL_ECONFIG, "%s: augment has %zu items (0 to %zu)", where, l->n, l->n ? l->n - 1 : 0);
            const char *tname = aug_types[l->items[item].type].name;
            if (strcmp(key, tname) != 0)
                return sl_fail(SL_ECONFIG, "%s: augment[%ld] is %s, not %s", where, item, tname, key);
            base = &l->items[item];
            sec = &aug_types[l->items[item].type].sec;
            f = NULL;
            item = -2; /* the next component is a field of the transform */
            p = dot ? dot + 1 : eq;
            if (p >= eq) return sl_fail(SL_ECONFIG, "%s: name a field of %s", where, tname);
            continue;
        }
        char *br = strchr(key, '[');
        if (br && item == -1) { /* "augment[2]" */
            char *end;
            item = strtol(br + 1, &end, 10);
            if (end == br + 1 || strcmp(end, "]") != 0 || item < 0)
                return sl_fail(SL_ECONFIG, "%s: bad index in '%s' (write augment[2])", where, key);
            *br = '\0';
        }
        if (f && item != -2) { /* descend into the previous section */
            if (f->type != F_SECTION) return sl_fail(SL_ECONFIG, "%s: %s is not a section", where, f->key);
            base = (char *)base + f->off;
            sec = f->sub;
        }
        if (item == -2) item = -3; /* inside the transform: plain fields from here */
        f = NULL;
        for (size_t j = 0; j < sec->n && !f; j++)
            if (strcmp(sec->fields[j].key, key) == 0) f = &sec->fields[j];
        if (!f) {
            char msg[512];
            unknown_key_text(sec, key, msg, sizeof msg);
            return sl_fail(SL_ECONFIG, "%s: %s", where, msg);
        }
        if (item >= 0 && f->type != F_AUGLIST) return sl_fail(SL_ECONFIG, "%s: only augment takes an index", where);
        p = dot ? dot + 1 : eq;
    }
    if (item >= 0) return sl_fail(SL_ECONFIG, "%s: name the transform and a field, e.g. augment[2].speed.factor", where);
    yn_node *v = NULL;
    const char *val = eq + 1;
    sl_status s = SL_OK;
    if (f->type == F_STRLIST || f->type == F_FLOATLIST || f->type == F_RANGE || f->type == F_SECTION ||
        f->type == F_AUGLIST || f->type == F_CHOICES) {
        s = yn_parse(val, strlen(val), where, &v); /* "[a, b]" */
        if (s == SL_ECONFIG && strncmp(sl_last_error(), where, strlen(where)) == 0) {
            /* "--set k:2:1: YAML syntax: ..." -> "--set k: YAML syntax: ...": the value is one line */
            const char *m = sl_last_error() + strlen(where);
            size_t i = 0;
            int ok = m[i] == ':';
            for (int part = 0; ok && part < 2; part++) {
                size_t j = ++i;
                while (isdigit((unsigned char)m[i])) i++;
                ok = i > j && m[i] == ':';
            }
            if (ok && m[i + 1] == ' ') {
                char rest[900];
                snprintf(rest, sizeof rest, "%s", m + i + 2);
                s = sl_fail(SL_ECONFIG, "%s: %s", where, rest);
            }
        }
    } else { /* a single value is taken as written: "{label}_{group}.wav" is no YAML mapping */
        v = calloc(1, sizeof *v);
        if (v && !(v->value = strdup(val))) {
            free(v);
            v = NULL;
        }
        if (!v) s = sl_fail(SL_ENOMEM, "out of memory");
        else v->kind = YN_SCALAR;
    }
    if (s == SL_OK && !v) s = sl_fail(SL_ECONFIG, "%s: empty value", where);
    if (s == SL_OK) s = apply_field(c, f, base, v, where);
    yn_free(v);
    c->where = NULL;
    return s;
}

static sl_status check_config(const load_ctx *c, sl_config *cfg)
{
    sl_data_config *d = &cfg->data;
    sl_split_config *sp = &d->split;
    const char *n = c->name;
    if (!*d->root) return sl_fail(SL_ECONFIG, "%s: data.root: required", n);
    if (d->label_from == SL_LABELS_CSV && !*d->csv)
        return sl_fail(SL_ECONFIG, "%s: data.csv: required when data.label_from is csv", n);
    if (d->label_from == SL_LABELS_PATTERN && !strstr(d->pattern, "{label}"))
        return sl_fail(SL_ECONFIG, "%s: data.pattern: must contain {label} (or set data.label_from)", n);
    if (!d->extensions.n) return sl_fail(SL_ECONFIG, "%s: data.extensions: empty", n);
    if (!c->split_by_given) {
        sp->by = sp->test_groups.n ? SL_SPLIT_GROUPS : *sp->field ? SL_SPLIT_FIELD : SL_SPLIT_HASH;
    }
    if (sp->by == SL_SPLIT_GROUPS && !sp->test_groups.n)
        return sl_fail(SL_ECONFIG, "%s: data.split.test_groups: required when splitting by groups", n);
    const sl_features_config *fc = &cfg->features;
    if (fc->win_length > fc->n_fft)
        return sl_fail(SL_ECONFIG, "%s: features.win_length: %zu is longer than n_fft (%zu)", n, fc->win_length, fc->n_fft);
    if (fc->power != 1 && fc->power != 2) return sl_fail(SL_ECONFIG, "%s: features.power: must be 1 or 2", n);
    double nyquist = d->sample_rate / 2;
    int mel_type = fc->type <= 2; /* logmel, mfcc, mel: the mel settings matter */
    if (mel_type && fc->f_max > nyquist)
        return sl_fail(SL_ECONFIG, "%s: features.f_max: %g Hz is above the Nyquist frequency of data.sample_rate (%g Hz)",
                       n, fc->f_max, nyquist);
    if (mel_type && fc->f_min >= (fc->f_max > 0 ? fc->f_max : nyquist))
        return sl_fail(SL_ECONFIG, "%s: features.f_min: %g Hz must be below f_max", n, fc->f_min);
    if (mel_type && fc->n_mels > fc->n_fft / 2 + 1)
        return sl_fail(SL_ECONFIG, "%s: features.n_mels: %zu is more than the n_fft / 2 + 1 = %zu frequency bins", n,
                       fc->n_mels, fc->n_fft / 2 + 1);
    const sl_model_config *mc = &cfg->model;
    if (mc->widths.n < 2)
        return sl_fail(SL_ECONFIG, "%s: model.widths: give the stem's width and at least one stage's, e.g. [16, 24, 32, 48]", n);
    for (size_t i = 0; i < mc->widths.n; i++)
        if (mc->widths.v[i] != floor(mc->widths.v[i]))
            return sl_fail(SL_ECONFIG, "%s: model.widths: item %zu (%g) is not a whole number", n, i + 1, mc->widths.v[i]);
    if (mc->stem_shape.n && (mc->stem_shape.n != 2 || mc->stem_shape.v[0] != floor(mc->stem_shape.v[0]) ||
                             mc->stem_shape.v[1] != floor(mc->stem_shape.v[1])))
        return sl_fail(SL_ECONFIG, "%s: model.stem_shape: give two whole numbers [bands, frames], e.g. [4, 10]", n);
    if (mc->stem_shape.n && mc->dims != 2)
        return sl_fail(SL_ECONFIG, "%s: model.stem_shape: only for 2-D models (dims: 2)", n);
    if (mc->dims == 2 && mc->arch == SL_ARCH_TC_RESNET)
        return sl_fail(SL_ECONFIG, "%s: model.dims: tc-resnet is 1-D by design (use arch: resnet for 2-D)", n);
    if (fc->type == 4 && fc->band_edges.n < 2)
        return sl_fail(SL_ECONFIG, "%s: features.band_edges: band_energy needs at least two edges, e.g. [0.5, 3, 8]", n);
    const sl_filter_config *ft = &fc->filter;
    if (ft->type != 0) {
        if (!(ft->low > 0 && ft->low < nyquist))
            return sl_fail(SL_ECONFIG, "%s: features.filter.low: %g Hz must be in (0, %g) Hz", n, ft->low, nyquist);
        if (ft->type == 3 && !(ft->high > ft->low && ft->high < nyquist))
            return sl_fail(SL_ECONFIG, "%s: features.filter.high: %g Hz must be in (low, %g) Hz", n, ft->high, nyquist);
        if (ft->type == 3 && ft->order > 8)
            return sl_fail(SL_ECONFIG, "%s: features.filter.order: at most 8 for a band-pass", n);
    }
    if (fc->type == 1 && fc->n_mfcc > fc->n_mels)
        return sl_fail(SL_ECONFIG, "%s: features.n_mfcc: %zu is more than n_mels (%zu)", n, fc->n_mfcc, fc->n_mels);
    for (size_t i = 0; i < cfg->augment.n; i++) {
        const sl_aug_config *a = &cfg->augment.items[i];
        const char *t = sl_aug_type_name(a->type);
        double lo = a->range[0], hi = a->range[1];
#define AUG_BAD(key, fmt, ...) sl_fail(SL_ECONFIG, "%s: augment[%zu].%s.%s: " fmt, n, i, t, key, __VA_ARGS__)
        if (a->type == SL_AUG_SPEED && !(lo >= 0.5 && hi <= 2))
            return AUG_BAD("factor", "[%g, %g] must lie within [0.5, 2]", lo, hi);
        if (a->type == SL_AUG_PITCH && !(lo >= -12 && hi <= 12))
            return AUG_BAD("semitones", "[%g, %g] must lie within [-12, 12]", lo, hi);
        if ((a->type == SL_AUG_GAIN || a->type == SL_AUG_SENSOR_GAIN) && !(lo >= -60 && hi <= 60))
            return AUG_BAD("db", "[%g, %g] must lie within [-60, 60]", lo, hi);
        if (a->type == SL_AUG_CLIP && !(lo >= -60 && hi <= 0))
            return AUG_BAD("db", "[%g, %g] must lie within [-60, 0] (a level below the peak)", lo, hi);
        if (a->type == SL_AUG_NOISE && !(lo >= -30 && hi <= 100))
            return AUG_BAD("snr_db", "[%g, %g] must lie within [-30, 100]", lo, hi);
        if (a->type == SL_AUG_REVERB && !(lo > 0 && hi <= 10))
            return AUG_BAD("rt60", "[%g, %g] must lie within (0, 10] seconds", lo, hi);
        if (a->type == SL_AUG_FILTER && !(lo > 0 && hi < nyquist))
            return AUG_BAD("cutoff", "[%g, %g] Hz must lie within (0, %g) Hz", lo, hi, nyquist);
        if (a->type == SL_AUG_FILTER && !(a->range2[0] > 0 && a->range2[1] <= 10))
            return AUG_BAD("octaves", "[%g, %g] must lie within (0, 10]", a->range2[0], a->range2[1]);
        if (a->type == SL_AUG_ROTATE) {
            if (!a->axes.n || a->axes.n % 3)
                return AUG_BAD("axes", "give channel numbers three at a time, e.g. [0, 1, 2] (got %zu)", a->axes.n);
            for (size_t j = 0; j < a->axes.n; j++)
                if (a->axes.v[j] != floor(a->axes.v[j]))
                    return AUG_BAD("axes", "item %zu (%g) is not a whole number", j + 1, a->axes.v[j]);
        }
#undef AUG_BAD
    }
    if (sp->by == SL_SPLIT_FIELD) {
        if (!*sp->field) return sl_fail(SL_ECONFIG, "%s: data.split.field: required when splitting by field", n);
        if (sp->has_test_range == (*sp->test_pattern != '\0'))
            return sl_fail(SL_ECONFIG, "%s: data.split: give exactly one of test_range and test_pattern", n);
    }
    return SL_OK;
}

/* Loads text into cfg; default_name is the name when the text gives none. */
static sl_status parse_config(sl_config *cfg, const char *text, size_t len, const char *name, const char *dir,
                              const char *default_name, const char *const *overrides, size_t n_overrides)
{
    sl_config_defaults(cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", name);
    snprintf(cfg->name, sizeof cfg->name, "%s", default_name);
    sl_status s = SL_OK;
    if (!cfg->data.extensions.n || !cfg->model.widths.n) s = sl_fail(SL_ENOMEM, "out of memory"); /* in defaults */
    /* The folder relative paths are resolved against, made absolute (dir may be relative or NULL). */
    char cwd[SL_PATH_MAX];
    if (s == SL_OK && (!dir || dir[0] != '/') && !getcwd(cwd, sizeof cwd))
        s = sl_fail(SL_EIO, "%s: cannot find the current folder", name);
    if (s == SL_OK && resolve_path(cwd, dir && *dir ? dir : ".", cfg->dir, sizeof cfg->dir) != SL_OK)
        s = sl_fail(SL_ECONFIG, "%s: its folder's path is too long", name);
    load_ctx c = {.name = name, .dir = cfg->dir, .where = NULL, .split_by_given = 0};
    yn_node *root = NULL;
    if (s == SL_OK)
        s = len > CONFIG_MAX_BYTES ? sl_fail(SL_ECONFIG, "%s: larger than 1 MiB", name) : yn_parse(text, len, name, &root);
    if (s == SL_OK && !root) s = sl_fail(SL_ECONFIG, "%s: empty config", name);
    if (s == SL_OK && root->kind != YN_MAP)
        s = sl_fail(SL_ECONFIG, "%s:%d:%d: the config must be a mapping of sections (name:, data:, ...)", name,
                    root->line, root->col);
    if (s == SL_OK) s = apply_section(&c, &top_section, cfg, root, "");
    for (size_t i = 0; s == SL_OK && i < n_overrides; i++) s = apply_override(&c, cfg, overrides[i]);
    if (s == SL_OK) s = check_config(&c, cfg);
    yn_free(root);
    if (s != SL_OK) sl_config_free(cfg);
    return s;
}

sl_status sl_config_parse(sl_config *cfg, const char *text, size_t len, const char *name, const char *dir,
                          const char *const *overrides, size_t n_overrides)
{
    return parse_config(cfg, text, len, name, dir, "config", overrides, n_overrides);
}

sl_status sl_config_load(sl_config *cfg, const char *path, const char *const *overrides, size_t n_overrides)
{
    memset(cfg, 0, sizeof *cfg);
    char *text;
    size_t len;
    if (sl_read_file(path, CONFIG_MAX_BYTES, &text, &len) != SL_OK) return sl_fail(SL_ECONFIG, "%s", sl_last_error());
    /* Relative paths in the file are relative to the file's folder, made absolute. */
    char dir[SL_PATH_MAX], abs_dir[SL_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
    else snprintf(dir, sizeof dir, ".");
    if (!realpath(dir, abs_dir)) snprintf(abs_dir, sizeof abs_dir, "%s", dir);
    /* The default name is the file's stem. */
    char stem[SL_NAME_MAX];
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(stem, sizeof stem, "%.*s", (int)(n < sizeof stem ? n : sizeof stem - 1), base);
    sl_status s = parse_config(cfg, text, len, path, abs_dir, *stem ? stem : "config", overrides, n_overrides);
    free(text);
    return s;
}

/* ---- target profiles ------------------------------------------------------------------------ */

sl_status sl_target_load(sl_target *t, const char *path)
{
    memset(t, 0, sizeof *t);
    apply_defaults(&target_section, t);
    char *text;
    size_t len;
    if (sl_read_file(path, CONFIG_MAX_BYTES, &text, &len) != SL_OK) return sl_fail(SL_ECONFIG, "%s", sl_last_error());
    snprintf(t->path, sizeof t->path, "%s", path);
    load_ctx c = {.name = path, .dir = "/", .where = NULL, .split_by_given = 0};
    yn_node *root = NULL;
    sl_status s = yn_parse(text, len, path, &root);
    free(text);
    if (s == SL_OK && !root) s = sl_fail(SL_ECONFIG, "%s: empty target profile", path);
    if (s == SL_OK && root->kind != YN_MAP)
        s = sl_fail(SL_ECONFIG, "%s:%d:%d: a target profile is a mapping (name:, clock_mhz:, int8:, ...)", path,
                    root->line, root->col);
    if (s == SL_OK) s = apply_section(&c, &target_section, t, root, "");
    yn_free(root);
    if (s != SL_OK) return s;
    if (!*t->name) { /* the file's stem */
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const char *dot = strrchr(base, '.');
        size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        snprintf(t->name, sizeof t->name, "%.*s", (int)(n < sizeof t->name ? n : sizeof t->name - 1), base);
    }
    /* the fields without defaults must be given */
    static const struct {
        const char *key;
        size_t off;
    } needed[] = {
        {"clock_mhz", TARGET(clock_mhz)},          {"dsp", TARGET(dsp)},
        {"int8.conv", TARGET(int8.conv)},          {"int8.depthwise", TARGET(int8.depthwise)},
        {"int8.dense", TARGET(int8.dense)},        {"int8.elementwise", TARGET(int8.elementwise)},
        {"float32.conv", TARGET(float32.conv)},    {"float32.depthwise", TARGET(float32.depthwise)},
        {"float32.dense", TARGET(float32.dense)},  {"float32.elementwise", TARGET(float32.elementwise)},
    };
    for (size_t i = 0; i < sizeof needed / sizeof *needed; i++)
        if (!(*(const double *)((const char *)t + needed[i].off) > 0))
            return sl_fail(SL_ECONFIG, "%s: %s: required (a number > 0)", path, needed[i].key);
    return SL_OK;
}

static int is_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fclose(f);
    return 1;
}

sl_status sl_target_find(const char *name, const char *dir, char *path, size_t size)
{
    size_t len = strlen(name);
    if (!len) return sl_fail(SL_ECONFIG, "budget.target: empty (give a profile's name, e.g. cortex-m4f-80mhz)");
    if (strchr(name, '/') || (len > 5 && strcmp(name + len - 5, ".yaml") == 0)) {
        char full[SL_PATH_MAX];
        if (resolve_path(dir && *dir == '/' ? dir : "/", name, full, sizeof full) != SL_OK || !name[0])
            return sl_fail(SL_ECONFIG, "budget.target: '%s': path too long", name);
        if (!is_file(name[0] == '/' || !dir ? name : full))
            return sl_fail(SL_ECONFIG, "budget.target: %s: no such file", name[0] == '/' || !dir ? name : full);
        snprintf(path, size, "%s", name[0] == '/' || !dir ? name : full);
        return SL_OK;
    }
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
            return sl_fail(SL_ECONFIG, "budget.target: '%s' is not a profile name (letters, digits, '-', '_', '.')", name);
    char tried[2048] = "";
    size_t tk = 0;
    const char *env = getenv("SIGLOOP_TARGETS");
    char folders[8][SL_PATH_MAX];
    size_t nf = 0;
    for (const char *p = env; p && *p && nf < 6;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && n < SL_PATH_MAX) snprintf(folders[nf++], SL_PATH_MAX, "%.*s", (int)n, p);
        p = e ? e + 1 : p + n;
    }
    snprintf(folders[nf++], SL_PATH_MAX, "targets");
#ifdef SIGLOOP_TARGETS_DIR
    snprintf(folders[nf++], SL_PATH_MAX, "%s", SIGLOOP_TARGETS_DIR);
#endif
    for (size_t i = 0; i < nf; i++) {
        char cand[SL_PATH_MAX + SL_NAME_MAX + 8];
        snprintf(cand, sizeof cand, "%s/%s.yaml", folders[i], name);
        if (is_file(cand)) {
            if (strlen(cand) >= size) return sl_fail(SL_ECONFIG, "budget.target: %s: path too long", cand);
            snprintf(path, size, "%s", cand);
            return SL_OK;
        }
        if (tk < sizeof tried)
            tk += (size_t)snprintf(tried + tk, sizeof tried - tk, "%s%s", i ? ", " : "", folders[i]);
    }
    return sl_fail(SL_ECONFIG, "budget.target: no profile '%s' (looked for %s.yaml in %s; SIGLOOP_TARGETS adds folders)",
                   name, name, tried);
}

/* ---- writing -------------------------------------------------------------------------------- */

static void write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
        else if (ch == '$') fputs("$$", out); /* read back through ${ENV} expansion */
        else if (ch < 0x20 || ch == 0x7f) fprintf(out, "\\x%02x", ch);
        else fputc(ch, out);
    }
    fputc('"', out);
}

static void write_section(FILE *out, const section *sec, const void *base, int indent)
{
    char num[32], num2[32];
    for (size_t i = 0; i < sec->n; i++) {
        const field *f = &sec->fields[i];
        const char *p = (const char *)base + f->off;
        fprintf(out, "%*s%s:", indent, "", f->key);
        switch (f->type) {
        case F_AUGLIST: {
            const sl_augment_config *l = (const sl_augment_config *)p;
            if (!l->n) fputs(" []", out);
            fputc('\n', out);
            for (size_t j = 0; j < l->n; j++) {
                fprintf(out, "%*s  - %s:\n", indent, "", aug_types[l->items[j].type].name);
                write_section(out, &aug_types[l->items[j].type].sec, &l->items[j], indent + 6);
            }
            continue;
        }
        case F_SECTION:
            fputc('\n', out);
            write_section(out, f->sub, p, indent + 2);
            continue;
        case F_CHOICES: {
            const sl_search_config *sc = (const sl_search_config *)base;
            if (!sc->n_choices) fputs(" {}", out);
            fputc('\n', out);
            for (size_t j = 0; j < sc->n_choices; j++) {
                fprintf(out, "%*s  ", indent, "");
                write_string(out, sc->choices[j].key);
                fputs(": [", out);
                for (size_t q = 0; q < sc->choices[j].n; q++) fprintf(out, "%s%s", q ? ", " : "", sc->choices[j].values[q]);
                fputs("]\n", out);
            }
            continue;
        }
        case F_STRING:
        case F_PATH:
            fputc(' ', out);
            write_string(out, p);
            break;
        case F_ENUM:
            fprintf(out, " %s", f->names[*(const int *)p]);
            break;
        case F_FLOAT:
            fprintf(out, " %s", fmt_num(num, sizeof num, *(const double *)p));
            break;
        case F_DURATION:
            fprintf(out, " %ss", fmt_num(num, sizeof num, *(const double *)p));
            break;
        case F_SEED:
        case F_SIZE:
            fprintf(out, " %llu", (unsigned long long)*(const uint64_t *)p);
            break;
        case F_COUNT:
            fprintf(out, " %zu", *(const size_t *)p);
            break;
        case F_BOOL:
            fputs(*(const int *)p ? " true" : " false", out);
            break;
        case F_CHANNEL:
            if (*(const int *)p < 0) fputs(" mix", out);
            else fprintf(out, " %d", *(const int *)p);
            break;
        case F_STRLIST: {
            const sl_strlist *l = (const sl_strlist *)p;
            fputs(" [", out);
            for (size_t j = 0; j < l->n; j++) {
                if (j) fputs(", ", out);
                write_string(out, l->items[j]);
            }
            fputc(']', out);
            break;
        }
        case F_FLOATLIST: {
            const sl_floatlist *l = (const sl_floatlist *)p;
            fputs(" [", out);
            for (size_t j = 0; j < l->n; j++) fprintf(out, "%s%s", j ? ", " : "", fmt_num(num, sizeof num, l->v[j]));
            fputc(']', out);
            break;
        }
        case F_RANGE: {
            const double *r = (const double *)p;
            if (*(const int *)((const char *)base + f->aux_off))
                fprintf(out, " [%s, %s]", fmt_num(num, sizeof num, r[0]), fmt_num(num2, sizeof num2, r[1]));
            else
                fputs(" null", out);
            break;
        }
        }
        fputc('\n', out);
    }
}

sl_status sl_config_write(const sl_config *cfg, FILE *out)
{
    fputs("# resolved config: every field, defaults included\n", out);
    write_section(out, &top_section, cfg, 0);
    if (ferror(out)) return sl_fail(SL_EIO, "cannot write the config");
    return SL_OK;
}

sl_status sl_config_save(const sl_config *cfg, const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = sl_config_write(cfg, f);
    if (fclose(f) != 0 && s == SL_OK) s = sl_fail(SL_ENOMEM, "%s: out of memory writing the config", path);
    if (s == SL_OK) s = sl_write_file_atomic(path, buf, len);
    free(buf);
    return s;
}
