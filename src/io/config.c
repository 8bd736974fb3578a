/* The config schema: YAML tree -> typed struct, every field checked, and back to YAML.
 *
 * Each section is a static table of field descriptors (key, type, offset into the section's
 * struct, range, enum names, nested section). Loading walks the YAML mapping against the table;
 * writing walks the table. To add a section for a later step: add its struct to config.h, its
 * defaults to sl_config_defaults, a `static const field X_fields[]` table and a `section` here,
 * a line in top_fields, and any cross-field checks to check_config. */
#include "sigloop/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    F_SECTION   /* nested mapping */
} ftype;

struct section;

typedef struct {
    const char *key;
    ftype type;
    size_t off;                 /* into the section's struct */
    double lo, hi;              /* F_FLOAT range */
    int lo_open, hi_open;       /* exclusive ends */
    const char *unit;           /* for messages and output ("Hz", "dBFS") */
    const char *const *names;   /* F_ENUM: NULL-terminated */
    const struct section *sub;  /* F_SECTION */
    size_t aux_off;             /* F_RANGE: offset of its has_ flag */
} field;

typedef struct section {
    const field *fields;
    size_t n;
} section;

static const char *const label_from_names[] = {"pattern", "folder", "csv", NULL};
static const char *const split_by_names[] = {"groups", "hash", "field", "file", NULL};

#define SPLIT(m) offsetof(sl_split_config, m)
static const field split_fields[] = {
    {"by", F_ENUM, SPLIT(by), 0, 0, 0, 0, NULL, split_by_names, NULL, 0},
    {"test_groups", F_STRLIST, SPLIT(test_groups), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"test_fraction", F_FLOAT, SPLIT(test_fraction), 0, 1, 0, 1, NULL, NULL, NULL, 0},
    {"field", F_STRING, SPLIT(field), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"test_range", F_RANGE, SPLIT(test_range), 0, 0, 0, 0, NULL, NULL, NULL, SPLIT(has_test_range)},
    {"test_pattern", F_STRING, SPLIT(test_pattern), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"val_fraction", F_FLOAT, SPLIT(val_fraction), 0, 1, 0, 1, NULL, NULL, NULL, 0},
    {"seed", F_SEED, SPLIT(seed), 0, 0, 0, 0, NULL, NULL, NULL, 0},
};
static const section split_section = {split_fields, sizeof split_fields / sizeof *split_fields};

#define DATA(m) offsetof(sl_data_config, m)
static const field data_fields[] = {
    {"root", F_PATH, DATA(root), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"label_from", F_ENUM, DATA(label_from), 0, 0, 0, 0, NULL, label_from_names, NULL, 0},
    {"pattern", F_STRING, DATA(pattern), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"csv", F_PATH, DATA(csv), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"extensions", F_STRLIST, DATA(extensions), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"sample_rate", F_FLOAT, DATA(sample_rate), 0, 384000, 1, 0, "Hz", NULL, NULL, 0},
    {"duration", F_DURATION, DATA(duration), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"channel", F_CHANNEL, DATA(channel), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"clip_fraction", F_FLOAT, DATA(clip_fraction), 0, 1, 0, 0, NULL, NULL, NULL, 0},
    {"silence_dbfs", F_FLOAT, DATA(silence_dbfs), -200, 0, 0, 0, "dBFS", NULL, NULL, 0},
    {"split", F_SECTION, DATA(split), 0, 0, 0, 0, NULL, NULL, &split_section, 0},
};
static const section data_section = {data_fields, sizeof data_fields / sizeof *data_fields};

static const char *const features_type_names[] = {"logmel", "mfcc", "mel", "spectrogram", "band_energy", "raw", NULL};
static const char *const pad_mode_names[] = {"reflect", "constant", NULL};
static const char *const filter_type_names[] = {"none", "lowpass", "highpass", "bandpass", NULL};

#define FILT(m) offsetof(sl_filter_config, m)
static const field filter_fields[] = {
    {"type", F_ENUM, FILT(type), 0, 0, 0, 0, NULL, filter_type_names, NULL, 0},
    {"order", F_COUNT, FILT(order), 1, 16, 0, 0, NULL, NULL, NULL, 0},
    {"low", F_FLOAT, FILT(low), 0, 1e6, 0, 0, "Hz", NULL, NULL, 0},
    {"high", F_FLOAT, FILT(high), 0, 1e6, 0, 0, "Hz", NULL, NULL, 0},
};
static const section filter_section = {filter_fields, sizeof filter_fields / sizeof *filter_fields};
static const char *const window_names[] = {"hann", "hann_symmetric", "hamming", "blackman", "rectangular", NULL};
static const char *const mel_scale_names[] = {"htk", "slaney", NULL};
static const char *const norm_names[] = {"none", "slaney", NULL};
static const char *const log_names[] = {"natural", "db", NULL};

#define FEAT(m) offsetof(sl_features_config, m)
static const field features_fields[] = {
    {"type", F_ENUM, FEAT(type), 0, 0, 0, 0, NULL, features_type_names, NULL, 0},
    {"n_fft", F_COUNT, FEAT(n_fft), 2, 65536, 0, 0, NULL, NULL, NULL, 0},
    {"win_length", F_COUNT, FEAT(win_length), 1, 65536, 0, 0, NULL, NULL, NULL, 0},
    {"hop_length", F_COUNT, FEAT(hop_length), 1, 1 << 20, 0, 0, NULL, NULL, NULL, 0},
    {"window", F_ENUM, FEAT(window), 0, 0, 0, 0, NULL, window_names, NULL, 0},
    {"center", F_BOOL, FEAT(center), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"pad_mode", F_ENUM, FEAT(pad_mode), 0, 0, 0, 0, NULL, pad_mode_names, NULL, 0},
    {"preemphasis", F_FLOAT, FEAT(preemphasis), 0, 1, 0, 1, NULL, NULL, NULL, 0},
    {"power", F_FLOAT, FEAT(power), 1, 2, 0, 0, NULL, NULL, NULL, 0},
    {"n_mels", F_COUNT, FEAT(n_mels), 1, 4096, 0, 0, NULL, NULL, NULL, 0},
    {"f_min", F_FLOAT, FEAT(f_min), 0, 1e6, 0, 0, "Hz", NULL, NULL, 0},
    {"f_max", F_FLOAT, FEAT(f_max), 0, 1e6, 0, 0, "Hz", NULL, NULL, 0},
    {"mel_scale", F_ENUM, FEAT(mel_scale), 0, 0, 0, 0, NULL, mel_scale_names, NULL, 0},
    {"norm", F_ENUM, FEAT(norm), 0, 0, 0, 0, NULL, norm_names, NULL, 0},
    {"log", F_ENUM, FEAT(log), 0, 0, 0, 0, NULL, log_names, NULL, 0},
    {"eps", F_FLOAT, FEAT(eps), 0, 1, 1, 0, NULL, NULL, NULL, 0},
    {"top_db", F_FLOAT, FEAT(top_db), 0, 1000, 0, 0, "dB", NULL, NULL, 0},
    {"n_mfcc", F_COUNT, FEAT(n_mfcc), 1, 4096, 0, 0, NULL, NULL, NULL, 0},
    {"lifter", F_FLOAT, FEAT(lifter), 0, 1e6, 0, 0, NULL, NULL, NULL, 0},
    {"deltas", F_COUNT, FEAT(deltas), 0, 2, 0, 0, NULL, NULL, NULL, 0},
    {"band_edges", F_FLOATLIST, FEAT(band_edges), 0, 1e6, 0, 0, "Hz", NULL, NULL, 0},
    {"dc_remove", F_BOOL, FEAT(dc_remove), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"channel_scale", F_FLOATLIST, FEAT(channel_scale), -1e30, 1e30, 0, 0, NULL, NULL, NULL, 0},
    {"filter", F_SECTION, FEAT(filter), 0, 0, 0, 0, NULL, NULL, &filter_section, 0},
};
static const section features_section = {features_fields, sizeof features_fields / sizeof *features_fields};

static const char *const arch_names[] = {"tc-resnet", "cnn", "densenet", "ds-cnn", NULL};
#define MODEL(m) offsetof(sl_model_config, m)
static const field model_fields[] = {
    {"arch", F_ENUM, MODEL(arch), 0, 0, 0, 0, NULL, arch_names, NULL, 0},
    {"widths", F_FLOATLIST, MODEL(widths), 1, 4096, 0, 0, NULL, NULL, NULL, 0},
    {"kernel", F_COUNT, MODEL(kernel), 1, 255, 0, 0, NULL, NULL, NULL, 0},
    {"stem_kernel", F_COUNT, MODEL(stem_kernel), 1, 255, 0, 0, NULL, NULL, NULL, 0},
    {"width_multiplier", F_FLOAT, MODEL(width_multiplier), 0, 16, 1, 0, NULL, NULL, NULL, 0},
    {"blocks", F_COUNT, MODEL(blocks), 1, 64, 0, 0, NULL, NULL, NULL, 0},
    {"growth", F_COUNT, MODEL(growth), 1, 1024, 0, 0, NULL, NULL, NULL, 0},
    {"dense_blocks", F_COUNT, MODEL(dense_blocks), 1, 16, 0, 0, NULL, NULL, NULL, 0},
    {"compression", F_FLOAT, MODEL(compression), 0, 1, 1, 0, NULL, NULL, NULL, 0},
};
static const section model_section = {model_fields, sizeof model_fields / sizeof *model_fields};

static const char *const optimizer_names[] = {"adam", "adamw", "sgd", NULL};
static const char *const schedule_names[] = {"constant", "cosine", "step", "onecycle", NULL};
#define TRAIN(m) offsetof(sl_train_config, m)
static const field train_fields[] = {
    {"epochs", F_COUNT, TRAIN(epochs), 1, 100000, 0, 0, NULL, NULL, NULL, 0},
    {"batch", F_COUNT, TRAIN(batch), 1, 65536, 0, 0, NULL, NULL, NULL, 0},
    {"optimizer", F_ENUM, TRAIN(optimizer), 0, 0, 0, 0, NULL, optimizer_names, NULL, 0},
    {"lr", F_FLOAT, TRAIN(lr), 0, 10, 1, 0, NULL, NULL, NULL, 0},
    {"schedule", F_ENUM, TRAIN(schedule), 0, 0, 0, 0, NULL, schedule_names, NULL, 0},
    {"warmup", F_FLOAT, TRAIN(warmup), 0, 1e5, 0, 0, NULL, NULL, NULL, 0},
    {"step_epochs", F_FLOAT, TRAIN(step_epochs), 0, 1e5, 1, 0, NULL, NULL, NULL, 0},
    {"step_gamma", F_FLOAT, TRAIN(step_gamma), 0, 1, 1, 0, NULL, NULL, NULL, 0},
    {"weight_decay", F_FLOAT, TRAIN(weight_decay), 0, 1, 0, 0, NULL, NULL, NULL, 0},
    {"momentum", F_FLOAT, TRAIN(momentum), 0, 1, 0, 1, NULL, NULL, NULL, 0},
    {"nesterov", F_BOOL, TRAIN(nesterov), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"label_smoothing", F_FLOAT, TRAIN(label_smoothing), 0, 1, 0, 1, NULL, NULL, NULL, 0},
    {"grad_clip", F_FLOAT, TRAIN(grad_clip), 0, 1e9, 0, 0, NULL, NULL, NULL, 0},
    {"seed", F_SEED, TRAIN(seed), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"patience", F_COUNT, TRAIN(patience), 0, 100000, 0, 0, NULL, NULL, NULL, 0},
};
static const section train_section = {train_fields, sizeof train_fields / sizeof *train_fields};

#define TOP(m) offsetof(sl_config, m)
static const field top_fields[] = {
    {"name", F_STRING, TOP(name), 0, 0, 0, 0, NULL, NULL, NULL, 0},
    {"data", F_SECTION, TOP(data), 0, 0, 0, 0, NULL, NULL, &data_section, 0},
    {"features", F_SECTION, TOP(features), 0, 0, 0, 0, NULL, NULL, &features_section, 0},
    {"model", F_SECTION, TOP(model), 0, 0, 0, 0, NULL, NULL, &model_section, 0},
    {"train", F_SECTION, TOP(train), 0, 0, 0, 0, NULL, NULL, &train_section, 0},
};
static const section top_section = {top_fields, sizeof top_fields / sizeof *top_fields};

/* ---- lists ---------------------------------------------------------------------------------- */

static void strlist_free(sl_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static sl_status strlist_set(sl_strlist *l, const char *const *items, size_t n)
{
    strlist_free(l);
    if (!n) return SL_OK;
    l->items = calloc(n, sizeof *l->items);
    if (!l->items) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        l->items[i] = strdup(items[i]);
        if (!l->items[i]) {
            l->n = i;
            strlist_free(l);
            return sl_fail(SL_ENOMEM, "out of memory");
        }
    }
    l->n = n;
    return SL_OK;
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
    }
}

void sl_config_free(sl_config *cfg)
{
    if (!cfg) return;
    free_section(&top_section, cfg);
    memset(cfg, 0, sizeof *cfg);
}

void sl_config_defaults(sl_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->name, sizeof cfg->name, "config");
    sl_data_config *d = &cfg->data;
    d->label_from = SL_LABELS_PATTERN;
    snprintf(d->pattern, sizeof d->pattern, "{label}_{group}_{take}.wav");
    static const char *const exts[] = {"wav", "flac", "ogg", "csv"};
    if (strlist_set(&d->extensions, exts, 4) != SL_OK) d->extensions.n = 0;
    d->sample_rate = 16000;
    d->duration = 0;
    d->channel = -1;
    d->clip_fraction = 0.001;
    d->silence_dbfs = -60;
    d->split.by = SL_SPLIT_GROUPS;
    d->split.test_fraction = 0.2;
    d->split.val_fraction = 0.1;
    d->split.seed = 0;
    sl_features_config *f = &cfg->features;
    f->type = 0; /* logmel */
    f->n_fft = 256;
    f->win_length = 200;
    f->hop_length = 80;
    f->window = 0; /* hann */
    f->center = 0;
    f->preemphasis = 0;
    f->power = 2;
    f->n_mels = 40;
    f->f_min = 20;
    f->f_max = 0;
    f->mel_scale = 0; /* htk */
    f->norm = 0;
    f->log = 0; /* natural */
    f->eps = 1e-6;
    f->top_db = 0;
    f->n_mfcc = 13;
    f->lifter = 0;
    f->deltas = 0;
    f->dc_remove = 0;
    f->filter.type = 0;
    f->filter.order = 4;
    f->filter.low = 0;
    f->filter.high = 0;
    sl_model_config *m = &cfg->model;
    m->arch = 0; /* tc-resnet */
    m->widths.v = malloc(4 * sizeof *m->widths.v);
    if (m->widths.v) {
        static const double w[4] = {16, 24, 32, 48};
        memcpy(m->widths.v, w, sizeof w);
        m->widths.n = 4;
    }
    m->kernel = 9;
    m->stem_kernel = 3;
    m->width_multiplier = 1;
    m->blocks = 1;
    m->growth = 12;
    m->dense_blocks = 3;
    m->compression = 0.5;
    sl_train_config *t = &cfg->train;
    t->epochs = 30;
    t->batch = 64;
    t->optimizer = 0; /* adam */
    t->lr = 0.001;
    t->schedule = 1; /* cosine */
    t->warmup = 0;
    t->step_epochs = 10;
    t->step_gamma = 0.1;
    t->weight_decay = 0;
    t->momentum = 0.9;
    t->nesterov = 0;
    t->label_smoothing = 0;
    t->grad_clip = 0;
    t->seed = 0;
    t->patience = 0;
}

/* ---- units ---------------------------------------------------------------------------------- */

static int parse_number(const char *text, double *v, const char **rest)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(*v)) return 0;
    while (*end == ' ') end++;
    *rest = end;
    return 1;
}

sl_status sl_parse_duration(const char *text, double *seconds)
{
    static const struct { const char *unit; double scale; } units[] = {
        {"", 1}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"min", 60}, {"h", 3600},
    };
    double v;
    const char *rest;
    if (parse_number(text, &v, &rest)) {
        for (size_t i = 0; i < sizeof units / sizeof *units; i++)
            if (strcmp(rest, units[i].unit) == 0) {
                *seconds = v * units[i].scale;
                return SL_OK;
            }
    }
    return sl_fail(SL_EARG, "'%s' is not a duration (e.g. 1.5s, 500ms, 2min)", text);
}

sl_status sl_parse_size(const char *text, uint64_t *bytes)
{
    static const struct { const char *unit; double scale; } units[] = {
        {"", 1}, {"B", 1}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
    };
    double v;
    const char *rest;
    if (parse_number(text, &v, &rest) && v >= 0) {
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
            if (strcmp(rest, units[i].unit) != 0) continue;
            double b = v * units[i].scale;
            if (b > 1.8e19 || b != floor(b)) break;
            *bytes = (uint64_t)b;
            return SL_OK;
        }
    }
    return sl_fail(SL_EARG, "'%s' is not a size in whole bytes (e.g. 64KiB, 1MiB, 2MB)", text);
}

sl_status sl_expand_env(const char *text, char *out, size_t size)
{
    size_t k = 0;
#define PUTC(c)                                                              \
    do {                                                                     \
        if (k + 1 >= size) return sl_fail(SL_EARG, "'%s' expands too long", text); \
        out[k++] = (c);                                                      \
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
            if (nlen == 0 || nlen >= sizeof name) return sl_fail(SL_EARG, "'%s': bad variable name", text);
            memcpy(name, p + 2, nlen);
            name[nlen] = '\0';
            const char *val = getenv(name);
            if (!val || (!*val && name_end != end)) {
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

/* Joins dir and a path and removes "." and ".." lexically (the file need not exist). */
static sl_status resolve_path(const char *dir, const char *path, char *out, size_t size)
{
    char buf[2 * SL_PATH_MAX + 2];
    if (path[0] == '/') snprintf(buf, sizeof buf, "%s", path);
    else snprintf(buf, sizeof buf, "%s/%s", dir, path);
    char *parts[SL_PATH_MAX / 2];
    size_t n = 0;
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
        if (strcmp(tok, ".") == 0) continue;
        if (strcmp(tok, "..") == 0) {
            if (n) n--;
            continue;
        }
        parts[n++] = tok;
    }
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        if (k + len + 2 > size) return sl_fail(SL_EARG, "path too long");
        out[k++] = '/';
        memcpy(out + k, parts[i], len);
        k += len;
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
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->where) return sl_fail(SL_ECONFIG, "%s: %s", c->where, msg);
    return sl_fail(SL_ECONFIG, "%s:%d:%d: %s: %s", c->name, n->line, n->col, path, msg);
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

static sl_status unknown_key(const load_ctx *c, const section *sec, const yn_node *k, const char *path)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < sec->n; i++) {
        size_t d = edit_distance(k->value, sec->fields[i].key);
        if (d < best_d) {
            best_d = d;
            best = sec->fields[i].key;
        }
    }
    if (best) return field_error(c, k, path, "unknown key (did you mean '%s'?)", best);
    char keys[512];
    size_t n = 0;
    keys[0] = '\0';
    for (size_t i = 0; i < sec->n; i++)
        n += (size_t)snprintf(keys + n, n < sizeof keys ? sizeof keys - n : 0, "%s%s", i ? ", " : "",
                              sec->fields[i].key);
    return field_error(c, k, path, "unknown key (valid: %s)", keys);
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
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    if (!*text || *end || errno == ERANGE || !isfinite(*v))
        return field_error(c, n, path, "expected a number, got '%s'", text);
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

/* The items of a list field: a sequence's items, or a single scalar as a list of one. */
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
    case F_SECTION:
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
        if (s == SL_OK) s = strlist_set(l, (const char *const *)vals, n);
        for (size_t i = 0; i < n; i++) free(vals[i]);
        free(vals);
        return s;
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
        if (v->kind == YN_SCALAR && !v->quoted && (strcmp(v->value, "null") == 0 || strcmp(v->value, "~") == 0)) {
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
        if (resolve_path(c->dir, text, p, SL_PATH_MAX) != SL_OK) return field_error(c, v, path, "path too long");
        return SL_OK;
    case F_ENUM:
        for (int i = 0; f->names[i]; i++)
            if (strcmp(text, f->names[i]) == 0) {
                *(int *)p = i;
                if (strcmp(f->key, "by") == 0) c->split_by_given = 1;
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
        char *end;
        errno = 0;
        unsigned long long x = strtoull(text, &end, 10);
        if (!*text || *end || errno == ERANGE || text[0] == '-' || text[0] == '+')
            return field_error(c, v, path, "expected a whole number, got '%s'", text);
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
    case F_DURATION: {
        double x;
        if (sl_parse_duration(text, &x) != SL_OK) return field_error(c, v, path, "%s", sl_last_error());
        if (x < 0) return field_error(c, v, path, "must not be negative (got %s)", text);
        *(double *)p = x;
        return SL_OK;
    }
    case F_SEED: {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(text, &end, 10);
        if (!*text || *end || errno == ERANGE || text[0] == '-')
            return field_error(c, v, path, "expected a whole number >= 0, got '%s'", text);
        *(uint64_t *)p = (uint64_t)x;
        return SL_OK;
    }
    case F_CHANNEL: {
        if (strcmp(text, "mix") == 0) {
            *(int *)p = -1;
            return SL_OK;
        }
        char *end;
        long x = strtol(text, &end, 10);
        if (!*text || *end || x < 0 || x > 1023)
            return field_error(c, v, path, "expected 'mix' or a channel number in [0, 1023], got '%s'", text);
        *(int *)p = (int)x;
        return SL_OK;
    }
    default:
        return sl_fail(SL_EINTERNAL, "config: field type %d", (int)f->type);
    }
}

static sl_status apply_section(load_ctx *c, const section *sec, void *base, const yn_node *map, const char *path)
{
    for (size_t i = 0; i + 1 < map->n_items; i += 2) {
        const yn_node *k = map->items[i], *v = map->items[i + 1];
        char sub[512];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k->value);
        const field *f = NULL;
        for (size_t j = 0; j < sec->n && !f; j++)
            if (strcmp(sec->fields[j].key, k->value) == 0) f = &sec->fields[j];
        if (!f) return unknown_key(c, sec, k, sub);
        SL_TRY(apply_field(c, f, base, v, sub));
    }
    return SL_OK;
}

/* Applies "a.b.c=value": finds the field along the path, parses the value as YAML. */
static sl_status apply_override(load_ctx *c, sl_config *cfg, const char *ov)
{
    const char *eq = strchr(ov, '=');
    char where[600];
    snprintf(where, sizeof where, "--set %.*s", eq ? (int)(eq - ov) : (int)strlen(ov), ov);
    if (!eq || eq == ov) return sl_fail(SL_ECONFIG, "%s: expected key.path=value", where);
    c->where = where;
    const section *sec = &top_section;
    void *base = cfg;
    const field *f = NULL;
    char key[512];
    const char *p = ov;
    while (p < eq) {
        const char *dot = memchr(p, '.', (size_t)(eq - p));
        size_t len = (size_t)((dot ? dot : eq) - p);
        if (len == 0 || len >= sizeof key) return sl_fail(SL_ECONFIG, "%s: bad key path", where);
        memcpy(key, p, len);
        key[len] = '\0';
        if (f) { /* descend into the previous section */
            if (f->type != F_SECTION) return sl_fail(SL_ECONFIG, "%s: %s is not a section", where, f->key);
            base = (char *)base + f->off;
            sec = f->sub;
        }
        f = NULL;
        for (size_t j = 0; j < sec->n && !f; j++)
            if (strcmp(sec->fields[j].key, key) == 0) f = &sec->fields[j];
        if (!f) return sl_fail(SL_ECONFIG, "%s: unknown key '%s'", where, key);
        p = dot ? dot + 1 : eq;
    }
    yn_node *v = NULL;
    const char *val = eq + 1;
    sl_status s = SL_OK;
    if (f->type == F_STRLIST || f->type == F_FLOATLIST || f->type == F_RANGE || f->type == F_SECTION) {
        s = yn_parse(val, strlen(val), where, &v); /* "[a, b]" */
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
    if (sp->by == SL_SPLIT_FIELD) {
        if (!*sp->field) return sl_fail(SL_ECONFIG, "%s: data.split.field: required when splitting by field", n);
        if (sp->has_test_range == (*sp->test_pattern != '\0'))
            return sl_fail(SL_ECONFIG, "%s: data.split: give exactly one of test_range and test_pattern", n);
    }
    return SL_OK;
}

sl_status sl_config_parse(sl_config *cfg, const char *text, size_t len, const char *name, const char *dir,
                          const char *const *overrides, size_t n_overrides)
{
    sl_config_defaults(cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", name);
    snprintf(cfg->dir, sizeof cfg->dir, "%s", dir && *dir ? dir : ".");
    load_ctx c = {.name = name, .dir = cfg->dir, .where = NULL, .split_by_given = 0};
    yn_node *root = NULL;
    sl_status s = len > CONFIG_MAX_BYTES ? sl_fail(SL_ECONFIG, "%s: larger than 1 MiB", name)
                                         : yn_parse(text, len, name, &root);
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
    sl_status s = sl_config_parse(cfg, text, len, path, abs_dir, overrides, n_overrides);
    free(text);
    if (s != SL_OK) return s;
    /* The default name is the file's stem. */
    int named = 0;
    for (size_t i = 0; i < n_overrides; i++) named |= strncmp(overrides[i], "name=", 5) == 0;
    if (!named && strcmp(cfg->name, "config") == 0) {
        const char *base = slash ? slash + 1 : path;
        const char *dot = strrchr(base, '.');
        size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        if (n >= sizeof cfg->name) n = sizeof cfg->name - 1;
        memcpy(cfg->name, base, n);
        cfg->name[n] = '\0';
    }
    return SL_OK;
}

/* ---- writing -------------------------------------------------------------------------------- */

static void write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
        else if (ch == '$') fputs("$$", out); /* read back through ${ENV} expansion */
        else if (ch < 0x20) fprintf(out, "\\x%02x", ch);
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
        case F_SECTION:
            fputc('\n', out);
            write_section(out, f->sub, p, indent + 2);
            continue;
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
    fclose(f);
    if (s == SL_OK) s = sl_write_file_atomic(path, buf, len);
    free(buf);
    return s;
}
