/* The config file: YAML read with libyaml into a typed schema.
 *
 * Every field is checked on load; a problem gives SL_ECONFIG and a one-line message
 * "file:line:col: key.path: message", e.g.
 *   fsdd.yaml:7:5: data.smaple_rate: unknown key (did you mean 'sample_rate'?)
 *   fsdd.yaml:9:13: data.duration: must not be negative (got -1s)
 *   fsdd.yaml:4:9: data.sample_rate: expected a number, got 'fast'
 * Values understand units: durations "1.0s", "500ms", "2min", "1h" (a bare number is seconds),
 * sizes "64KiB", "1MiB", "2MB", "100kB" (a bare number is bytes). Every scalar first has
 * ${VAR} and ${VAR:-default} expanded from the environment (an unset variable without a default is
 * an error). Relative paths are taken relative to the config file's folder and stored absolute.
 * The schema is one table per section (src/io/config.c); a later step adds its section there.
 * sl_config_write prints the resolved config: every field, defaults included, paths absolute. */
#ifndef SIGLOOP_CONFIG_H
#define SIGLOOP_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SL_PATH_MAX 4096
#define SL_NAME_MAX 256

/* A list of strings, owned by the config. */
typedef struct {
    char **items;
    size_t n;
} sl_strlist;

/* A list of numbers, owned by the config. */
typedef struct {
    double *v;
    size_t n;
} sl_floatlist;

typedef enum { SL_LABELS_PATTERN = 0, SL_LABELS_FOLDER, SL_LABELS_CSV } sl_label_source;
typedef enum { SL_SPLIT_GROUPS = 0, SL_SPLIT_HASH, SL_SPLIT_FIELD, SL_SPLIT_FILE } sl_split_by;

typedef struct {
    sl_split_by by;           /* by: groups | hash | field | file. When the key is absent it is
                                 inferred: test_groups given -> groups, field given -> field,
                                 else hash. */
    sl_strlist test_groups;   /* by groups: these groups are the test split */
    double test_fraction;     /* by hash/file: share of groups (files) in test, [0, 1); 0.2 */
    char field[SL_NAME_MAX];  /* by field: a manifest field, e.g. "take" */
    double test_range[2];     /* by field: numeric field values in [lo, hi] are test; [lo, hi]
                                 with lo <= hi. has_test_range says whether it was given */
    int has_test_range;
    char test_pattern[SL_NAME_MAX]; /* by field: or values matching this glob (fnmatch) are test */
    double val_fraction;      /* share of the training groups held out for validation, by group
                                 hash, [0, 1); 0.1 */
    uint64_t seed;            /* seed of the group hash; 0 */
} sl_split_config;

typedef struct {
    char root[SL_PATH_MAX];   /* the recordings' folder (required), absolute after load */
    sl_label_source label_from; /* label_from: pattern | folder | csv; default pattern */
    char pattern[SL_NAME_MAX]; /* file-name pattern, default "{label}_{group}_{take}.wav" */
    char csv[SL_PATH_MAX];    /* label_from csv: a list with columns path,label[,group,...] */
    sl_strlist extensions;    /* file types scanned; default [wav, flac, ogg, csv] */
    double sample_rate;       /* Hz, (0, 384000]; default 16000 */
    double duration;          /* seconds each example is padded or cropped to; 0 keeps lengths */
    int channel;              /* -1 (key "mix"): mix to mono; k >= 0: use channel k; default -1 */
    double clip_fraction;     /* a file is clipped when at least this share of its samples is
                                 at full scale, [0, 1]; default 0.001 */
    double silence_dbfs;      /* a file is silent when its RMS is below this, dBFS; default -60 */
    sl_split_config split;
} sl_data_config;

/* features.filter: a Butterworth filter applied to each channel before the features. */
typedef struct {
    int type;                 /* type: none | lowpass | highpass | bandpass */
    size_t order;             /* [1, 16] (band-pass [1, 8]); 4 */
    double low;               /* Hz: the cutoff of low-/high-pass, the lower edge of band-pass */
    double high;              /* Hz: the upper edge of band-pass */
} sl_filter_config;

/* features: the DSP front end (see dsp.h for what each field does; names follow torchaudio). */
typedef struct {
    int type;                 /* type: logmel | mfcc | mel | spectrogram | band_energy | raw */
    size_t n_fft;             /* [2, 65536]; 256 */
    size_t win_length;        /* [1, n_fft]; 200 */
    size_t hop_length;        /* >= 1; 80 */
    int window;               /* window: hann | hann_symmetric | hamming | blackman | rectangular */
    int center;               /* false: frame t covers [t hop, t hop + win_length) */
    int pad_mode;             /* pad_mode (center only): reflect | constant (zeros) */
    double preemphasis;       /* [0, 1); 0 (off) */
    double power;             /* 1 (magnitude) or 2 (power); 2 */
    size_t n_mels;            /* 40 */
    double f_min;             /* Hz; 20 */
    double f_max;             /* Hz; 0 means sample_rate / 2 */
    int mel_scale;            /* mel_scale: htk | slaney */
    int norm;                 /* norm: none | slaney (unit-area triangles) */
    int log;                  /* log: natural (log(x + eps)) | db (10 log10(max(x, eps))) */
    double eps;               /* 1e-6 */
    double top_db;            /* db only; 0 = no floor */
    size_t n_mfcc;            /* 13 */
    double lifter;            /* 0 = none */
    size_t deltas;            /* 0, 1 or 2 */
    sl_floatlist band_edges;  /* band_energy: edges in Hz, e.g. [0.5, 3, 8, 20] for 3 bands */
    int dc_remove;            /* subtract each channel's mean first; false */
    sl_floatlist channel_scale; /* multiply channel c by channel_scale[c] (one value: every channel) */
    sl_filter_config filter;  /* applied to each channel after scaling, before the features */
} sl_features_config;

/* model: the network (built by nn/build.c). */
enum { SL_ARCH_TC_RESNET, SL_ARCH_CNN, SL_ARCH_DENSENET, SL_ARCH_DS_CNN, SL_ARCH_RESNET };
const char *sl_model_arch_name(int arch); /* "tc-resnet", ...; "?" for an unknown value */
typedef struct {
    int preset;               /* preset: none | tc-resnet8 | tc-resnet14 | mlperf-resnet8 |
                                 mlperf-ds-cnn: sets the fields of a known network (src/io/config.c,
                                 model_presets) before the section's other keys, which override it */
    int arch;                 /* arch: tc-resnet | cnn | densenet | ds-cnn | resnet (SL_ARCH_*) */
    size_t dims;              /* 1: the bands are channels of a 1-D convolution over time;
                                 2: the features are a one-channel image (1, bands, frames) and
                                 kernels are square (cnn, ds-cnn, resnet, densenet); 1 */
    sl_floatlist widths;      /* channels: the stem's, then one per stage; default [16, 24, 32, 48] */
    size_t kernel;            /* kernel of the stages (k, or k x k in 2-D); 9 */
    size_t stem_kernel;       /* 3 */
    sl_floatlist stem_shape;  /* 2-D stem kernel as [bands, frames] (default stem_kernel square) */
    size_t stem_stride;       /* the stem's stride (on both axes in 2-D); 1 */
    double width_multiplier;  /* scales every width (rounded, at least 1); 1 */
    size_t blocks;            /* residual blocks per stage: 1 (TC-ResNet8), 2 (TC-ResNet14);
                                 densenet: layers per dense block */
    size_t growth;            /* densenet: channels each layer adds; 12 */
    size_t dense_blocks;      /* densenet: dense blocks (widths[0] is the stem's width); 3 */
    double compression;       /* densenet: transition width = compression x channels; 0.5 */
    double dropout;           /* dropout rate before the classifier (0: none); 0 */
    int init;                 /* weights: pytorch | kaiming | xavier (sl_init); pytorch */
} sl_model_config;

/* train: the optimisation. */
typedef struct {
    size_t epochs;            /* 30 */
    size_t batch;             /* 64 */
    int optimizer;            /* optimizer: adam | adamw | sgd */
    double lr;                /* peak learning rate; 0.001 */
    int schedule;             /* schedule: constant | cosine | step | onecycle */
    double warmup;            /* epochs of linear warm-up (cosine); 0 */
    double step_epochs;       /* step: multiply by step_gamma every step_epochs; 10 */
    double step_gamma;        /* 0.1 */
    double weight_decay;      /* L2 (adam, sgd) or decoupled (adamw); 0 */
    double momentum;          /* sgd; 0.9 */
    int nesterov;             /* sgd; false */
    double label_smoothing;   /* [0, 1); 0 */
    double grad_clip;         /* clip the global gradient norm to this; 0 = off */
    uint64_t seed;            /* weights, shuffling; 0 */
    size_t patience;          /* stop after this many epochs without a better validation accuracy;
                                 0 = never (needs a validation split) */
} sl_train_config;

/* augment: a list of transforms, applied in order to each training example, each with probability
 * p; every draw comes from a generator seeded by (train.seed, epoch, example, transform index).
 * A transform is one mapping of its name to its settings, e.g. "- gain: { db: [-6, 6] }"; the
 * fields each one reads are listed in src/io/config.c (aug_*_fields) and docs/GUIDE.md. */
enum {
    SL_AUG_GAIN, SL_AUG_SHIFT, SL_AUG_SPEED, SL_AUG_PITCH, SL_AUG_NOISE, SL_AUG_REVERB, SL_AUG_FILTER, SL_AUG_CLIP,
    SL_AUG_POLARITY, SL_AUG_ROTATE, SL_AUG_SENSOR_GAIN, SL_AUG_JITTER, SL_AUG_SERIES_WARP, /* waveform */
    SL_AUG_SPECAUGMENT, SL_AUG_TIME_WARP, /* features */
    SL_AUG_MIXUP,                         /* batch */
    SL_AUG_N_TYPES
};
const char *sl_aug_type_name(int type); /* "gain", ...; "?" for an unknown value */
typedef struct {
    int type;                 /* SL_AUG_* */
    double p;                 /* probability of applying it, [0, 1] */
    double range[2];          /* the value drawn uniformly from [lo, hi]: gain/clip db, speed factor,
                                 pitch semitones, noise snr_db, reverb rt60 (s), filter cutoff (Hz),
                                 rotate max_deg ([0, max]), sensor_gain db */
    int has_range;
    double range2[2];         /* sensor_gain offset; filter: the band-pass width in octaves */
    int has_range2;
    double range3[2];         /* sensor_gain drift */
    int has_range3;
    double max;               /* shift: seconds; time_warp: frames; jitter: sigma; series_warp:
                                 strength; mixup: alpha */
    int mode;                 /* shift: zero | wrap; noise: white | pink | brown;
                                 filter: lowpass | highpass | bandpass */
    int over;                 /* noise: over the recording (0, the padding after it left silent) |
                                 the whole window (1, as a stream's background fills it) */
    char folder[SL_PATH_MAX]; /* noise, reverb: a folder of audio files (noise clips, impulse
                                 responses) instead of generated ones */
    size_t count[2];          /* specaugment: time_masks, freq_masks; series_warp: knots; filter: order */
    size_t width[2];          /* specaugment: time_width, freq_width (largest mask widths) */
    sl_floatlist axes;        /* rotate: channel indices, three per triplet, e.g. [0, 1, 2, 3, 4, 5] */
} sl_aug_config;
typedef struct {
    sl_aug_config *items;
    size_t n;
} sl_augment_config;

/* budget: what the device allows, checked by sigloop budget and before training (steps 3 and 9).
 * A limit of 0 is no limit. */
enum { SL_PRECISION_INT8, SL_PRECISION_FLOAT32 };
typedef struct {
    char target[SL_NAME_MAX]; /* a profile's name (targets/NAME.yaml, see sl_target_find) or the path
                                 of a profile file, relative to the config's folder; "host" */
    int precision;            /* precision: int8 | float32, how the device runs the network */
    uint64_t ram;             /* bytes for activations, front end and buffers, e.g. 64KiB */
    uint64_t flash;           /* bytes for weights, constant tables and code */
    double latency;           /* seconds per decision, front end included */
    double energy_mj;         /* millijoules per decision */
    double hop;               /* streaming: seconds of signal between decisions; 0: one decision per
                                 recording of data.duration */
} sl_budget_config;

/* search: step 7, the settings a search may change and how it explores them (sigloop search). */
enum { SL_SEARCH_GRID, SL_SEARCH_RANDOM, SL_SEARCH_HALVING };
typedef struct {
    char *key;                /* a --set key path: "model.kernel", "augment[2].speed.factor" */
    char **values;            /* each as a --set value: "7", "[0.8, 1.2]" */
    size_t n;
} sl_search_choice;
typedef struct {
    int strategy;             /* strategy: grid | random | halving (successive halving) */
    size_t trials;            /* candidates at most; 0: every candidate of the grid */
    double time;              /* seconds of wall clock for the whole search; 0: no limit */
    uint64_t seed;            /* of the random draws */
    size_t min_epochs;        /* halving: epochs of the first rung (the last has train.epochs) */
    size_t eta;               /* halving: one in eta goes on to the next rung, with eta times the epochs */
    int baseline;             /* 1: the config as written is candidate 0 */
    double val_fraction;      /* the trials' validation split when data.split.val_fraction is 0:
                                 this share of the training groups (the best is then trained
                                 again on the config's own split) */
    sl_search_choice *choices; /* choices: a mapping of key paths to lists of values */
    size_t n_choices;
} sl_search_config;

/* post: step 8, from the network's scores over a stream to events (sigloop detect, calibrate). */
enum { SL_SMOOTH_MEAN, SL_SMOOTH_EMA };
typedef struct {
    double hop;               /* seconds of signal between decisions; a multiple of the features' hop */
    int smoothing;            /* smoothing: mean (over the last `average` decisions) | ema */
    size_t average;           /* mean: decisions averaged; 1: none */
    double alpha;             /* ema: the newest decision's weight, in (0, 1] */
    double threshold;         /* a class triggers when its smoothed probability reaches this */
    sl_floatlist thresholds;  /* per class, in the model's class order; overrides threshold */
    double hysteresis;        /* an event lasts while its score stays above threshold - hysteresis */
    double suppress;          /* seconds after an event's start in which no other event starts */
    sl_strlist classes;       /* the classes that may trigger; empty: every class but background */
    char background[SL_NAME_MAX]; /* a class that never triggers (background, unknown); empty: none */
} sl_post_config;

typedef struct {
    char path[SL_PATH_MAX];   /* the config file as given (sl_config_parse: its name argument);
                                 messages about the config start with it */
    char dir[SL_PATH_MAX];    /* the folder relative paths are resolved against (absolute) */
    char name[SL_NAME_MAX];   /* name: a run name; default: the config file's stem */
    sl_data_config data;
    sl_features_config features;
    sl_model_config model;
    sl_train_config train;
    sl_augment_config augment; /* empty: no augmentation (the cached features are used) */
    sl_budget_config budget;
    sl_search_config search;
    sl_post_config post;
} sl_config;

/* A target profile (targets/NAME.yaml): how fast and how hungry a device is. Rates are sustained
 * multiply-accumulates per clock cycle (element-wise: values per cycle), per class of layer. */
typedef struct {
    double conv, depthwise, dense, elementwise;
} sl_target_rates;
typedef struct {
    uint64_t base, frontend, conv, depthwise, dense, pool, elementwise;
} sl_target_code;
typedef struct {
    char path[SL_PATH_MAX];   /* the file it was read from */
    char name[SL_NAME_MAX];
    char description[SL_NAME_MAX];
    double clock_mhz;
    uint64_t ram, flash;      /* the device's memories (informative) */
    double power_mw;          /* active power at clock_mhz */
    double idle_mw;           /* between decisions */
    double overhead_cycles;   /* per layer */
    sl_target_rates int8, float32;
    double dsp;               /* front end: float multiply-adds per cycle */
    sl_target_code code;      /* flash bytes of code: fixed, then per op type used */
} sl_target;

/* Reads and checks a profile (every rate and the clock > 0; name: the file's stem when absent). */
sl_status sl_target_load(sl_target *t, const char *path);
/* The file of a profile named name: name itself when it holds a '/' or ends in ".yaml" (relative
 * to dir), else NAME.yaml in the folders of $SIGLOOP_TARGETS (':'-separated), then ./targets,
 * then the targets/ folder of the source tree sigloop was built from. */
sl_status sl_target_find(const char *name, const char *dir, char *path, size_t size);

/* Sets every field to its default (lists empty or at their default items; name "config"). Call
 * sl_config_free afterwards. If a default list cannot be allocated it is left empty, which
 * sl_config_parse and sl_config_load report as SL_ENOMEM. */
void sl_config_defaults(sl_config *cfg);

/* Loads and checks a config file (at most 1 MiB; name defaults to the file's stem). overrides are
 * "key.path=value" strings applied after the file, with the same checks (errors name
 * "--set key.path"); a list, range or section value is YAML ("[a, b]"), any other value is taken
 * as written (after ${VAR} expansion). On error the config is freed and zeroed. */
sl_status sl_config_load(sl_config *cfg, const char *path, const char *const *overrides,
                         size_t n_overrides);

/* The same from a string; name is used in messages (and stored in cfg->path), dir resolves
 * relative paths (NULL or relative: from the current folder); name defaults to "config". */
sl_status sl_config_parse(sl_config *cfg, const char *text, size_t len, const char *name,
                          const char *dir, const char *const *overrides, size_t n_overrides);

void sl_config_free(sl_config *cfg); /* frees the lists; NULL-safe */

/* Prints the resolved config as YAML (every field, defaults included; lists in flow style,
 * strings double-quoted with "$" written "$$"), so that parsing it gives the same struct. */
sl_status sl_config_write(const sl_config *cfg, FILE *out);
/* The same into a file, atomically. */
sl_status sl_config_save(const sl_config *cfg, const char *path);

/* Unit parsers, shared with the command line. Each returns SL_EARG with a message naming text.
 * Numbers are plain decimals (no hex, nan, inf); spaces may separate number and unit. Durations
 * may be negative (callers decide); sizes must come to a whole number of bytes. */
sl_status sl_parse_duration(const char *text, double *seconds); /* "1.5s" "500ms" "2min" "1h" "0.5" */
sl_status sl_parse_size(const char *text, uint64_t *bytes);     /* "64KiB" "1MiB" "2MB" "100kB" "512" */
/* Expands ${VAR} and ${VAR:-default} (the default when VAR is unset or empty); "$$" is a literal
 * "$", and a "$" not followed by "{" stays as it is. An unset VAR without a default gives
 * "${VAR} is not set"; output longer than size - 1 is an error. */
sl_status sl_expand_env(const char *text, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
