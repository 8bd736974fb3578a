/* The feature cache: build (in parallel, reusing unchanged rows), map, export as .npy. */
#include "sigloop/features.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigloop/audio.h"
#include "sigloop/fileio.h"
#include "sigloop/hash.h"
#include "sigloop/pool.h"
#include "sigloop/progress.h"

#define CACHE_MAGIC "SLFEAT\0\1"
#define CACHE_VERSION 1u
#define CACHE_HEADER 64u
#define CACHE_MAX_ROWS 100000000ull

void sl_features_params_from_config(const sl_config *cfg, sl_features_params *p)
{
    const sl_features_config *f = &cfg->features;
    sl_features_params_default(p);
    p->type = (sl_features_type)f->type;
    p->sample_rate = cfg->data.sample_rate;
    p->n_fft = f->n_fft;
    p->win_length = f->win_length;
    p->hop_length = f->hop_length;
    p->window = (sl_window_type)f->window;
    p->center = f->center;
    p->pad_zero = f->pad_mode == 1;
    p->preemphasis = f->preemphasis;
    p->power = f->power;
    p->n_mels = f->n_mels;
    p->f_min = f->f_min;
    p->f_max = f->f_max > 0 ? f->f_max : cfg->data.sample_rate / 2;
    p->mel_scale = (sl_mel_scale)f->mel_scale;
    p->slaney_norm = f->norm == 1;
    p->log = (sl_log_type)f->log;
    p->log_eps = f->eps;
    p->top_db = f->top_db;
    p->n_mfcc = f->n_mfcc;
    p->lifter = f->lifter;
    p->deltas = (int)f->deltas;
    p->band_edges = f->band_edges.v;
    p->n_band_edges = f->band_edges.n;
}

void sl_features_settings_hash(const sl_config *cfg, char hex[SL_HASH_HEX])
{
    sl_features_params p;
    sl_features_params_from_config(cfg, &p);
    char text[1024];
    /* %a prints doubles exactly, so equal text means equal settings */
    int n = snprintf(text, sizeof text,
                     "sigloop features v1 type=%d rate=%a duration=%a channel=%d n_fft=%zu win=%zu hop=%zu "
                     "window=%d center=%d pre=%a power=%a n_mels=%zu f_min=%a f_max=%a scale=%d norm=%d log=%d "
                     "eps=%a top_db=%a n_mfcc=%zu lifter=%a deltas=%d",
                     (int)p.type, p.sample_rate, cfg->data.duration, cfg->data.channel, p.n_fft, p.win_length,
                     p.hop_length, (int)p.window, p.center, p.preemphasis, p.power, p.n_mels, p.f_min, p.f_max,
                     (int)p.mel_scale, p.slaney_norm, (int)p.log, p.log_eps, p.top_db, p.n_mfcc, p.lifter, p.deltas);
    /* the lists and the filter, appended */
    const sl_features_config *fc = &cfg->features;
    for (size_t i = 0; i < fc->band_edges.n && n < (int)sizeof text - 40; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, " edge=%a", fc->band_edges.v[i]);
    for (size_t i = 0; i < fc->channel_scale.n && n < (int)sizeof text - 40; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, " scale=%a", fc->channel_scale.v[i]);
    if (n < (int)sizeof text - 120)
        n += snprintf(text + n, sizeof text - (size_t)n, " pad=%d dc=%d filter=%d/%zu/%a/%a", fc->pad_mode, fc->dc_remove, fc->filter.type,
                      fc->filter.order, fc->filter.low, fc->filter.high);
    sl_hash_bytes(text, (size_t)n, hex);
}

/* ---- the mapped cache ------------------------------------------------------------------------ */

struct sl_feature_cache {
    void *map;
    size_t map_len;
    size_t rows, bands, frames;
    const uint8_t *hashes;  /* (rows, 16) */
    const float *data;      /* (rows, bands, frames) */
    char settings[SL_HASH_HEX];
};

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

static size_t data_offset(size_t rows) { return (CACHE_HEADER + rows * 16 + 63) / 64 * 64; }

static void hex_to_bytes(const char *hex, uint8_t out[16])
{
    for (int i = 0; i < 16; i++) {
        int hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
        int lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

static void bytes_to_hex(const uint8_t in[16], char hex[SL_HASH_HEX])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        hex[2 * i] = d[in[i] >> 4];
        hex[2 * i + 1] = d[in[i] & 15];
    }
    hex[32] = '\0';
}

sl_status sl_feature_cache_open(sl_feature_cache **out, const char *path)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sl_fail(SL_EIO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    if (len < CACHE_HEADER) {
        close(fd);
        return sl_fail(SL_EFORMAT, "%s: truncated feature cache (%zu bytes)", path, len);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return sl_fail(SL_EIO, "%s: cannot map: %s", path, strerror(errno));
    const uint8_t *h = map;
    sl_status s = SL_OK;
    uint64_t rows = rd64(h + 16);
    uint32_t bands = rd32(h + 24), frames = rd32(h + 28);
    if (memcmp(h, CACHE_MAGIC, 8) != 0) s = sl_fail(SL_EFORMAT, "%s: not a sigloop feature cache", path);
    else if (rd32(h + 8) != CACHE_VERSION)
        s = sl_fail(SL_EFORMAT, "%s: feature cache version %u, expected %u", path, rd32(h + 8), CACHE_VERSION);
    else if (rd32(h + 12) != CACHE_HEADER) s = sl_fail(SL_EFORMAT, "%s: bad header size", path);
    else if (rows == 0 || rows > CACHE_MAX_ROWS || bands == 0 || frames == 0 || bands > 65536 || frames > (1u << 24))
        s = sl_fail(SL_EFORMAT, "%s: implausible shape %llu x %u x %u", path, (unsigned long long)rows, bands, frames);
    else {
        /* every size in 64 bits before it is compared: no overflow can make a short file pass */
        unsigned long long need = (unsigned long long)data_offset((size_t)rows) +
                                  (unsigned long long)rows * bands * frames * sizeof(float);
        if (need != (unsigned long long)len)
            s = sl_fail(SL_EFORMAT, "%s: %zu bytes, but its header needs %llu (truncated or damaged)", path, len, need);
    }
    sl_feature_cache *c = s == SL_OK ? calloc(1, sizeof *c) : NULL;
    if (s == SL_OK && !c) s = sl_fail(SL_ENOMEM, "out of memory");
    if (s != SL_OK) {
        munmap(map, len);
        return s;
    }
    c->map = map;
    c->map_len = len;
    c->rows = (size_t)rows;
    c->bands = bands;
    c->frames = frames;
    c->hashes = h + CACHE_HEADER;
    c->data = (const float *)(h + data_offset(c->rows));
    bytes_to_hex(h + 32, c->settings);
    *out = c;
    return SL_OK;
}

void sl_feature_cache_close(sl_feature_cache *c)
{
    if (!c) return;
    munmap(c->map, c->map_len);
    free(c);
}

size_t sl_feature_cache_rows(const sl_feature_cache *c) { return c->rows; }
size_t sl_feature_cache_bands(const sl_feature_cache *c) { return c->bands; }
size_t sl_feature_cache_frames(const sl_feature_cache *c) { return c->frames; }
const char *sl_feature_cache_settings(const sl_feature_cache *c) { return c->settings; }
const float *sl_feature_cache_row(const sl_feature_cache *c, size_t i) { return c->data + i * c->bands * c->frames; }
void sl_feature_cache_row_hash(const sl_feature_cache *c, size_t i, char hex[SL_HASH_HEX])
{
    bytes_to_hex(c->hashes + 16 * i, hex);
}

sl_status sl_feature_cache_write_npy(const sl_feature_cache *c, const char *path)
{
    /* NPY 1.0: magic, version, header length, a dict padded so the data starts at a multiple of 64 */
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu, %zu), }",
                     c->rows, c->bands, c->frames);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    sl_afile *af;
    SL_TRY(sl_afile_open(&af, path));
    FILE *f = sl_afile_stream(af);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hlen & 0xff), f);
    fputc((int)(hlen >> 8), f);
    fwrite(dict, 1, (size_t)n, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    size_t count = c->rows * c->bands * c->frames;
    if (fwrite(c->data, sizeof(float), count, f) != count || ferror(f)) {
        sl_afile_abort(af);
        return sl_fail(SL_EIO, "%s: write error", path);
    }
    return sl_afile_commit(af);
}

/* ---- building -------------------------------------------------------------------------------- */

typedef struct {
    const sl_config *cfg;
    const sl_dataset *ds;
    const sl_featurizer *fz;
    size_t n_samples;         /* per example, after padding or cutting */
    size_t channels;          /* 1 for audio (mixed or picked); a CSV series' columns */
    size_t channel_floats;    /* bands x frames of one channel */
    size_t row_floats;
    float *data;              /* (rows, bands, frames) being built */
    const size_t *todo;       /* rows to compute */
    float **signal;           /* per worker (n_samples) */
    void **scratch;           /* per worker */
    sl_progress *progress;
} build_ctx;

/* Pads with zeros at the end or cuts x (n samples) to want, in place in out. */
static void fit(const float *x, size_t n, float *out, size_t want)
{
    size_t k = n < want ? n : want;
    memcpy(out, x, k * sizeof *out);
    memset(out + k, 0, (want - k) * sizeof *out);
}

/* DC removal, scale and filter of one channel (its first n_real samples are signal, the rest
 * padding, which stays zero through DC removal). */
static sl_status condition(const sl_config *cfg, float *x, size_t n, size_t n_real, size_t channel)
{
    const sl_features_config *fc = &cfg->features;
    if (fc->dc_remove && n_real) {
        double mean = 0;
        for (size_t i = 0; i < n_real; i++) mean += x[i];
        mean /= (double)n_real;
        for (size_t i = 0; i < n_real; i++) x[i] = (float)(x[i] - mean);
    }
    if (fc->channel_scale.n) {
        float g = (float)fc->channel_scale.v[fc->channel_scale.n == 1 ? 0 : channel];
        for (size_t i = 0; i < n; i++) x[i] *= g;
    }
    if (fc->filter.type != 0) {
        sl_biquads f;
        SL_TRY(sl_butterworth(&f, (sl_filter_type)(fc->filter.type - 1), (int)fc->filter.order, fc->filter.low,
                              fc->filter.high, cfg->data.sample_rate));
        sl_biquads_run(&f, x, n);
    }
    return SL_OK;
}

sl_status sl_features_read_signal(const sl_config *cfg, const sl_dataset *ds, size_t i, size_t channels,
                                  size_t n_samples, float *x, size_t *n_real_out)
{
    const sl_entry *e = sl_dataset_entry(ds, i);
    char path[SL_PATH_MAX * 2 + 2];
    if (e->path[0] == '/') snprintf(path, sizeof path, "%s", e->path);
    else snprintf(path, sizeof path, "%s/%s", cfg->data.root, e->path);
    const char *dot = strrchr(e->path, '.');
    size_t n_real = 0;
    sl_status s = SL_OK;
    if (dot && strcasecmp(dot, ".csv") == 0) {
        sl_series_opts so = {.time_column = "", .sample_rate = cfg->data.sample_rate, .max_frames = 0};
        sl_series ser;
        SL_TRY(sl_series_read_csv(path, &so, &ser));
        if (ser.n_channels != channels) {
            sl_series_free(&ser);
            return sl_fail(SL_EFORMAT, "%s: %zu channels, but the data set's first series has %zu", path,
                           ser.n_channels, channels);
        }
        float *col = malloc(ser.n_frames * sizeof *col);
        if (!col) s = sl_fail(SL_ENOMEM, "out of memory");
        for (size_t ch = 0; s == SL_OK && ch < ser.n_channels; ch++) {
            for (size_t t = 0; t < ser.n_frames; t++) col[t] = ser.x[t * ser.n_channels + ch];
            float *y = col;
            size_t ny = ser.n_frames;
            int resampled = fabs(ser.sample_rate - cfg->data.sample_rate) > 1e-9 * cfg->data.sample_rate;
            if (resampled) s = sl_resample(col, ser.n_frames, ser.sample_rate, cfg->data.sample_rate, &y, &ny);
            if (s != SL_OK) break;
            fit(y, ny, x + ch * n_samples, n_samples);
            n_real = ny < n_samples ? ny : n_samples;
            if (resampled) free(y);
        }
        free(col);
        sl_series_free(&ser);
        if (s != SL_OK) {
            sl_error_prefix("%s", path);
            return s;
        }
    } else {
        if (channels != 1) return sl_fail(SL_EARG, "%s: audio is read as one channel (asked for %zu)", path, channels);
        sl_audio_opts o = {.target_rate = cfg->data.sample_rate, .channel = cfg->data.channel, .max_frames = 0};
        sl_signal sig;
        SL_TRY(sl_audio_read(path, &o, &sig));
        fit(sig.x, sig.n, x, n_samples);
        n_real = sig.n < n_samples ? sig.n : n_samples;
        sl_signal_free(&sig);
    }
    *n_real_out = n_real;
    return SL_OK;
}

sl_status sl_features_of_signal(const sl_config *cfg, const sl_featurizer *fz, float *x, size_t channels,
                                size_t n_samples, size_t n_real, float *out, void *scratch)
{
    size_t per = sl_featurizer_bands(fz) * sl_featurizer_frames(fz, n_samples);
    for (size_t ch = 0; ch < channels; ch++) {
        float *xc = x + ch * n_samples;
        SL_TRY(condition(cfg, xc, n_samples, n_real, ch));
        SL_TRY(sl_featurize(fz, xc, n_samples, out + ch * per, scratch));
    }
    return SL_OK;
}

static sl_status compute_row(void *vctx, size_t k, int worker)
{
    build_ctx *c = vctx;
    size_t i = c->todo[k], n_real = 0;
    float *x = c->signal[worker]; /* (channels, n_samples) */
    sl_status s = sl_features_read_signal(c->cfg, c->ds, i, c->channels, c->n_samples, x, &n_real);
    if (s == SL_OK) {
        s = sl_features_of_signal(c->cfg, c->fz, x, c->channels, c->n_samples, n_real, c->data + i * c->row_floats,
                                  c->scratch[worker]);
        if (s != SL_OK) sl_error_prefix("%s", sl_dataset_entry(c->ds, i)->path);
    }
    sl_progress_add(c->progress, 1);
    return s;
}

/* One shape for all rows: audio is one channel (mixed or picked); a CSV series has as many
 * channels as data columns, and every series must have the same number. */
static sl_status data_channels(const sl_config *cfg, const sl_dataset *ds, size_t *channels)
{
    *channels = 0;
    for (size_t i = 0; i < sl_dataset_count(ds); i++) {
        const sl_entry *e = sl_dataset_entry(ds, i);
        const char *dot = strrchr(e->path, '.');
        size_t ch = dot && strcasecmp(dot, ".csv") == 0 ? (size_t)e->channels : 1;
        if (i == 0) *channels = ch;
        else if (ch != *channels)
            return sl_fail(SL_EFORMAT, "%s: %zu channel(s), but %s has %zu: features need one shape for all examples",
                           e->path, ch, sl_dataset_entry(ds, 0)->path, *channels);
    }
    if (cfg->features.channel_scale.n > 1 && cfg->features.channel_scale.n != *channels)
        return sl_fail(SL_ECONFIG, "%s: features.channel_scale: %zu values for %zu channels (give one or %zu)",
                       cfg->path, cfg->features.channel_scale.n, *channels, *channels);
    return SL_OK;
}

sl_status sl_features_shape(const sl_config *cfg, const sl_dataset *ds, size_t *bands, size_t *frames)
{
    if (!(cfg->data.duration > 0))
        return sl_fail(SL_ECONFIG, "%s: data.duration: must be set for features, so every example has one shape",
                       cfg->path);
    size_t channels;
    SL_TRY(data_channels(cfg, ds, &channels));
    sl_features_params p;
    sl_features_params_from_config(cfg, &p);
    sl_featurizer *fz;
    if (sl_featurizer_new(&fz, &p) != SL_OK) {
        sl_error_prefix("%s", cfg->path);
        return SL_ECONFIG;
    }
    size_t n_samples = (size_t)llround(cfg->data.duration * cfg->data.sample_rate);
    *bands = channels * sl_featurizer_bands(fz);
    *frames = sl_featurizer_frames(fz, n_samples);
    sl_featurizer_free(fz);
    if (*frames == 0)
        return sl_fail(SL_ECONFIG, "%s: data.duration: %g s is shorter than one frame", cfg->path, cfg->data.duration);
    return SL_OK;
}

typedef struct {
    uint8_t hash[16];
    size_t row;
} hash_row;

static int cmp_hash_row(const void *a, const void *b) { return memcmp(a, b, 16); }

sl_status sl_features_build(const sl_config *cfg, const sl_dataset *ds, const char *path,
                            const sl_features_opts *opts, sl_features_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (!(cfg->data.duration > 0))
        return sl_fail(SL_ECONFIG, "%s: data.duration: must be set for features, so every example has one shape",
                       cfg->path);
    sl_features_params p;
    sl_features_params_from_config(cfg, &p);
    sl_featurizer *fz;
    if (sl_featurizer_new(&fz, &p) != SL_OK) {
        sl_error_prefix("%s", cfg->path);
        return SL_ECONFIG;
    }
    size_t rows = sl_dataset_count(ds);
    size_t n_samples = (size_t)llround(cfg->data.duration * cfg->data.sample_rate);
    size_t channels = 0;
    sl_status cs = data_channels(cfg, ds, &channels);
    if (cs != SL_OK) {
        sl_featurizer_free(fz);
        return cs;
    }
    size_t bands = channels * sl_featurizer_bands(fz), frames = sl_featurizer_frames(fz, n_samples);
    if (frames == 0) {
        sl_featurizer_free(fz);
        return sl_fail(SL_ECONFIG, "%s: data.duration: %g s is shorter than one frame", cfg->path, cfg->data.duration);
    }
    char settings[SL_HASH_HEX];
    sl_features_settings_hash(cfg, settings);
    build_ctx c = {.cfg = cfg, .ds = ds, .fz = fz, .n_samples = n_samples, .channels = channels,
                   .channel_floats = sl_featurizer_bands(fz) * frames, .row_floats = bands * frames};
    size_t *todo = malloc(rows * sizeof *todo);
    c.data = malloc(rows * c.row_floats * sizeof *c.data);
    sl_pool *pool = NULL;
    sl_feature_cache *old = NULL;
    hash_row *index = NULL;
    sl_status s = todo && c.data ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");

    /* Rows of an earlier cache with the same settings and shape are copied, matched by content. */
    size_t n_todo = 0;
    if (s == SL_OK && sl_feature_cache_open(&old, path) == SL_OK &&
        (strcmp(old->settings, settings) != 0 || old->bands != bands || old->frames != frames)) {
        sl_feature_cache_close(old);
        old = NULL;
    }
    sl_error_clear();
    if (s == SL_OK && old) {
        index = malloc(old->rows * sizeof *index);
        if (!index) s = sl_fail(SL_ENOMEM, "out of memory");
        for (size_t i = 0; s == SL_OK && i < old->rows; i++) {
            memcpy(index[i].hash, old->hashes + 16 * i, 16);
            index[i].row = i;
        }
        if (s == SL_OK) qsort(index, old->rows, sizeof *index, cmp_hash_row);
    }
    for (size_t i = 0; s == SL_OK && i < rows; i++) {
        hash_row key;
        hex_to_bytes(sl_dataset_entry(ds, i)->hash, key.hash);
        const hash_row *hit = old ? bsearch(&key, index, old->rows, sizeof *index, cmp_hash_row) : NULL;
        if (hit) {
            memcpy(c.data + i * c.row_floats, sl_feature_cache_row(old, hit->row), c.row_floats * sizeof(float));
            stats->reused++;
        } else {
            todo[n_todo++] = i;
        }
    }
    free(index);
    sl_feature_cache_close(old);

    int threads = opts && opts->threads > 0 ? opts->threads : 0;
    if (s == SL_OK && n_todo) s = sl_pool_new(&pool, threads);
    if (s == SL_OK && n_todo) {
        int nw = sl_pool_size(pool);
        c.signal = calloc((size_t)nw, sizeof *c.signal);
        c.scratch = calloc((size_t)nw, sizeof *c.scratch);
        if (!c.signal || !c.scratch) s = sl_fail(SL_ENOMEM, "out of memory");
        for (int w = 0; s == SL_OK && w < nw; w++) {
            c.signal[w] = malloc(channels * n_samples * sizeof(float));
            c.scratch[w] = malloc(sl_featurizer_scratch_size(fz, n_samples));
            if (!c.signal[w] || !c.scratch[w]) s = sl_fail(SL_ENOMEM, "out of memory");
        }
        sl_progress_opts po = {.label = "features", .unit = "clips", .stream = NULL,
                               .force = opts && opts->progress ? 0 : -1};
        if (s == SL_OK) s = sl_progress_new(&c.progress, &po, n_todo);
        c.todo = todo;
        if (s == SL_OK) s = sl_pool_run(pool, n_todo, compute_row, &c);
        sl_progress_free(c.progress);
        for (int w = 0; c.signal && w < nw; w++) free(c.signal[w]);
        for (int w = 0; c.scratch && w < nw; w++) free(c.scratch[w]);
        free(c.signal);
        free(c.scratch);
    }
    stats->computed = s == SL_OK ? n_todo : 0;
    sl_pool_free(pool);

    if (s == SL_OK) { /* write: header, hashes, data */
        uint8_t *head = calloc(1, data_offset(rows));
        sl_afile *af = NULL;
        if (!head) s = sl_fail(SL_ENOMEM, "out of memory");
        if (s == SL_OK) {
            memcpy(head, CACHE_MAGIC, 8);
            wr32(head + 8, CACHE_VERSION);
            wr32(head + 12, CACHE_HEADER);
            wr64(head + 16, rows);
            wr32(head + 24, (uint32_t)bands);
            wr32(head + 28, (uint32_t)frames);
            hex_to_bytes(settings, head + 32);
            for (size_t i = 0; i < rows; i++) hex_to_bytes(sl_dataset_entry(ds, i)->hash, head + CACHE_HEADER + 16 * i);
            s = sl_afile_open(&af, path);
        }
        if (s == SL_OK) {
            FILE *f = sl_afile_stream(af);
            fwrite(head, 1, data_offset(rows), f);
            fwrite(c.data, sizeof(float), rows * c.row_floats, f);
            if (ferror(f)) {
                sl_afile_abort(af);
                s = sl_fail(SL_EIO, "%s: write error", path);
            } else {
                s = sl_afile_commit(af);
            }
        }
        free(head);
    }
    stats->rows = rows;
    stats->bands = bands;
    stats->frames = frames;
    free(todo);
    free(c.data);
    sl_featurizer_free(fz);
    return s;
}

/* ---- normalisation statistics ---------------------------------------------------------------- */

sl_status sl_features_norm(const sl_feature_cache *c, const sl_dataset *ds, sl_split split, double *mean,
                           double *std)
{
    if (sl_dataset_count(ds) != c->rows)
        return sl_fail(SL_EARG, "feature cache has %zu rows but the data set %zu examples", c->rows,
                       sl_dataset_count(ds));
    size_t nb = c->bands, nf = c->frames, rows = 0;
    double *sum = calloc(2 * nb, sizeof *sum);
    if (!sum) return sl_fail(SL_ENOMEM, "out of memory");
    double *sum2 = sum + nb;
    for (size_t i = 0; i < c->rows; i++) {
        const sl_entry *e = sl_dataset_entry(ds, i);
        char hex[SL_HASH_HEX];
        sl_feature_cache_row_hash(c, i, hex);
        if (strcmp(hex, e->hash) != 0) {
            free(sum);
            return sl_fail(SL_EARG, "feature cache row %zu is not %s (stale cache: run 'sigloop features')", i, e->path);
        }
        if (e->split != split) continue;
        rows++;
        const float *r = sl_feature_cache_row(c, i);
        for (size_t b = 0; b < nb; b++) {
            double s1 = 0, s2 = 0; /* per row first, so the sums stay well-conditioned */
            for (size_t t = 0; t < nf; t++) {
                double v = r[b * nf + t];
                s1 += v;
                s2 += v * v;
            }
            sum[b] += s1;
            sum2[b] += s2;
        }
    }
    if (rows == 0) {
        free(sum);
        return sl_fail(SL_EARG, "no %s examples to compute normalisation statistics on", sl_split_name(split));
    }
    double count = (double)rows * (double)nf;
    for (size_t b = 0; b < nb; b++) {
        mean[b] = sum[b] / count;
        double var = sum2[b] / count - mean[b] * mean[b];
        std[b] = var > 0 ? sqrt(var) : 0;
    }
    free(sum);
    return SL_OK;
}

sl_status sl_features_write_norm(const char *path, const double *mean, const double *std, size_t n_bands)
{
    sl_afile *af;
    SL_TRY(sl_afile_open(&af, path));
    FILE *f = sl_afile_stream(af);
    fputs("band,mean,std\n", f);
    for (size_t b = 0; b < n_bands; b++) fprintf(f, "%zu,%.9g,%.9g\n", b, mean[b], std[b]);
    if (ferror(f)) {
        sl_afile_abort(af);
        return sl_fail(SL_EIO, "%s: write error", path);
    }
    return sl_afile_commit(af);
}
