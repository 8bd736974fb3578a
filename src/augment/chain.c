/* The augmentation chain: the config's list turned into transforms with their loaded data (noise
 * clips, impulse responses, generated noise), and applied to one example with values drawn from
 * the example's generators (augment.h). */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include "sigloop/augment.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "augment/augment_internal.h"
#include "sigloop/audio.h"
#include "sigloop/dsp.h"
#include "sigloop/rng.h"

typedef struct {
    float *x;
    size_t n;
} clip;

typedef struct {
    const sl_aug_config *cfg;
    clip *clips;              /* noise: clips to take segments from (generated or from the folder);
                                 reverb: impulse responses from the folder (none: synthetic) */
    size_t n_clips;
    size_t axes[64][3];       /* rotate: triplets of channels */
    size_t n_triplets;
    float *spectra;           /* reverb: each response's spectrum (n_rooms x (nfft + 2)), made once */
    size_t *room_len;         /* reverb: each response's length */
    size_t n_rooms, nfft, m_max;
    sl_aug_sinc *sinc;        /* speed: interpolation tables, [0] for factors up to 1, then one per
                                 SPEED_BUCKET of faster factors (its cutoff that of the fastest) */
    size_t n_sinc;
} transform;

struct sl_augmenter {
    transform *t;
    size_t n;
    size_t channels, n_samples, bands, frames;
    double rate;
    uint64_t seed;
    int has_signal, has_features;
    double mixup_alpha, mixup_p;
};

/* Speed perturbation's anti-alias cutoff is SPEED_CUTOFF / factor (libsoxr's passband is about as
 * wide); factors above 1 share a table per SPEED_BUCKET, with the cutoff of its fastest. */
#define SPEED_CUTOFF 0.96
#define SPEED_BUCKET 0.02
static size_t speed_bucket(double factor) { return factor > 1 ? (size_t)ceil((factor - 1) / SPEED_BUCKET - 1e-9) : 0; }

/* Synthetic rooms made up front: RT60s spread evenly over the range, one response each. */
#define SYNTH_ROOMS 64

/* The responses of a reverb transform (its folder's, or SYNTH_ROOMS synthetic ones) and their
 * spectra at the FFT size that convolves an example with the longest. */
static sl_status make_rooms(const sl_augmenter *a, transform *t, uint64_t seed, size_t item)
{
    const sl_aug_config *c = t->cfg;
    size_t n_rooms = t->n_clips ? t->n_clips : SYNTH_ROOMS, m_max = 0;
    float *ir = NULL;
    sl_status s = SL_OK;
    t->room_len = malloc(n_rooms * sizeof *t->room_len);
    if (!t->room_len) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t j = 0; j < n_rooms; j++) {
        size_t m = t->n_clips ? t->clips[j].n
                              : (size_t)ceil((c->range[0] + (c->range[1] - c->range[0]) * ((double)j + 0.5) / SYNTH_ROOMS) * a->rate);
        t->room_len[j] = m < 2 ? 2 : m;
        if (t->room_len[j] > m_max) m_max = t->room_len[j];
    }
    sl_aug_conv conv;
    SL_TRY(sl_aug_conv_new(&conv, a->n_samples, m_max));
    t->nfft = conv.nfft;
    t->m_max = m_max;
    t->n_rooms = n_rooms;
    t->spectra = malloc(n_rooms * (conv.nfft + 2) * sizeof *t->spectra);
    if (!t->n_clips) ir = malloc(m_max * sizeof *ir);
    if (!t->spectra || (!t->n_clips && !ir)) s = sl_fail(SL_ENOMEM, "out of memory");
    for (size_t j = 0; s == SL_OK && j < n_rooms; j++) {
        const float *h = t->n_clips ? t->clips[j].x : ir;
        if (!t->n_clips) {
            sl_rng r = sl_rng_make(seed ^ 0x5245564552ull, (uint64_t)item << 32 | j);
            double rt60 = c->range[0] + (c->range[1] - c->range[0]) * ((double)j + 0.5) / SYNTH_ROOMS;
            sl_aug_synth_ir(&r, rt60, a->rate, ir, t->room_len[j]);
        }
        sl_aug_conv_spectrum(&conv, h, t->room_len[j], t->spectra + j * (conv.nfft + 2));
    }
    free(ir);
    sl_aug_conv_free(&conv);
    return s;
}

static int is_signal_type(int type) { return type <= SL_AUG_SERIES_WARP; }
static int is_feature_type(int type) { return type == SL_AUG_SPECAUGMENT || type == SL_AUG_TIME_WARP; }

static int has_audio_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".wav") || !strcasecmp(dot, ".flac") || !strcasecmp(dot, ".ogg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every audio file of folder, mono at rate, in name order (so the clip list never depends on the
 * file system's order). */
static sl_status load_folder(const char *where, const char *folder, double rate, int is_ir, clip **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(folder);
    if (!d) return sl_fail(SL_EIO, "%s.folder: %s: cannot open: %s", where, folder, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    sl_status s = SL_OK;
    struct dirent *e;
    while (s == SL_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_audio_ext(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) s = sl_fail(SL_ENOMEM, "out of memory");
            else names = nn;
        }
        if (s == SL_OK && !(names[n++] = strdup(e->d_name))) s = sl_fail(SL_ENOMEM, "out of memory");
    }
    closedir(d);
    if (s == SL_OK && !n) s = sl_fail(SL_EFORMAT, "%s.folder: %s holds no audio files (.wav, .flac, .ogg)", where, folder);
    clip *clips = NULL;
    if (s == SL_OK) {
        qsort(names, n, sizeof *names, cmp_str);
        clips = calloc(n, sizeof *clips);
        if (!clips) s = sl_fail(SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; s == SL_OK && i < n; i++) {
        char path[SL_PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        sl_audio_opts o = {.target_rate = rate, .channel = -1, .max_frames = 0};
        sl_signal sig;
        s = sl_audio_read(path, &o, &sig);
        if (s != SL_OK) {
            sl_error_prefix("%s.folder", where);
            break;
        }
        if (!sig.n) {
            sl_signal_free(&sig);
            s = sl_fail(SL_EFORMAT, "%s.folder: %s: empty %s (0 samples)", where, path, is_ir ? "impulse response" : "noise file");
            break;
        }
        double p = sl_aug_power(sig.x, sig.n);
        if (!(p > 0)) {
            sl_signal_free(&sig);
            s = sl_fail(SL_EFORMAT, "%s.folder: %s: %s of zeros only", where, path, is_ir ? "impulse response" : "noise file");
            break;
        }
        clips[i].x = sig.x; /* taken over */
        clips[i].n = sig.n;
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (s != SL_OK) {
        for (size_t i = 0; clips && i < n; i++) free(clips[i].x);
        free(clips);
        return s;
    }
    *out = clips;
    *n_out = n;
    return SL_OK;
}

void sl_augmenter_free(sl_augmenter *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; j < a->t[i].n_clips; j++) free(a->t[i].clips[j].x);
        free(a->t[i].clips);
        for (size_t j = 0; j < a->t[i].n_sinc; j++) sl_aug_sinc_free(&a->t[i].sinc[j]);
        free(a->t[i].spectra);
        free(a->t[i].room_len);
        free(a->t[i].sinc);
    }
    free(a->t);
    free(a);
}

sl_status sl_augmenter_new(sl_augmenter **out, const sl_config *cfg, size_t channels, size_t n_samples,
                           size_t bands, size_t frames, uint64_t seed)
{
    *out = NULL;
    if (!channels || !n_samples || !bands || !frames)
        return sl_fail(SL_EARG, "augment: examples need a shape (channels, samples, bands, frames all >= 1)");
    sl_augmenter *a = calloc(1, sizeof *a);
    if (!a) return sl_fail(SL_ENOMEM, "out of memory");
    a->t = calloc(cfg->augment.n ? cfg->augment.n : 1, sizeof *a->t);
    if (!a->t) {
        free(a);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    a->n = cfg->augment.n;
    a->channels = channels;
    a->n_samples = n_samples;
    a->bands = bands;
    a->frames = frames;
    a->rate = cfg->data.sample_rate;
    a->seed = seed;
    sl_status s = SL_OK;
    for (size_t i = 0; s == SL_OK && i < a->n; i++) {
        const sl_aug_config *c = &cfg->augment.items[i];
        transform *t = &a->t[i];
        t->cfg = c;
        char where[SL_PATH_MAX + 64];
        snprintf(where, sizeof where, "%s: augment[%zu].%s", cfg->path, i, sl_aug_type_name(c->type));
        if (is_signal_type(c->type)) a->has_signal = 1;
        if (is_feature_type(c->type)) a->has_features = 1;
        switch (c->type) {
        case SL_AUG_MIXUP:
            if (a->mixup_alpha > 0) s = sl_fail(SL_ECONFIG, "%s: mixup is listed twice", where);
            a->mixup_alpha = c->max;
            a->mixup_p = c->p;
            break;
        case SL_AUG_NOISE:
            if (*c->folder) {
                s = load_folder(where, c->folder, a->rate, 0, &t->clips, &t->n_clips);
            } else {
                /* one generated clip of at least 8 examples' length, from the seed and the item */
                size_t len = 8 * n_samples > 65536 ? 8 * n_samples : 65536;
                len += len % 2;
                t->clips = calloc(1, sizeof *t->clips);
                if (!t->clips || !(t->clips[0].x = malloc(len * sizeof(float)))) {
                    s = sl_fail(SL_ENOMEM, "out of memory");
                    break;
                }
                t->n_clips = 1;
                t->clips[0].n = len;
                sl_rng r = sl_rng_make(seed, 0xa0a0a0a0u + i);
                s = sl_aug_color_noise(&r, c->mode, t->clips[0].x, len);
            }
            break;
        case SL_AUG_REVERB:
            if (*c->folder) s = load_folder(where, c->folder, a->rate, 1, &t->clips, &t->n_clips);
            if (s == SL_OK) s = make_rooms(a, t, seed, i);
            break;
        case SL_AUG_SPEED:
        case SL_AUG_PITCH: /* pitch resamples by 2^(semitones / 12), then stretches back */
            t->n_sinc = 1 + speed_bucket(c->type == SL_AUG_SPEED ? c->range[1] : pow(2.0, c->range[1] / 12));
            if (!(t->sinc = calloc(t->n_sinc, sizeof *t->sinc))) s = sl_fail(SL_ENOMEM, "out of memory");
            for (size_t j = 0; s == SL_OK && j < t->n_sinc; j++)
                s = sl_aug_sinc_new(&t->sinc[j], SPEED_CUTOFF / (1 + SPEED_BUCKET * (double)j));
            break;
        case SL_AUG_ROTATE:
            if (c->axes.n / 3 > sizeof t->axes / sizeof *t->axes) {
                s = sl_fail(SL_ECONFIG, "%s.axes: at most %zu triplets", where, sizeof t->axes / sizeof *t->axes);
                break;
            }
            t->n_triplets = c->axes.n / 3;
            for (size_t j = 0; j < c->axes.n && s == SL_OK; j++) {
                if (c->axes.v[j] >= (double)channels)
                    s = sl_fail(SL_ECONFIG, "%s.axes: channel %g, but the examples have %zu channel(s)", where,
                                c->axes.v[j], channels);
                t->axes[j / 3][j % 3] = (size_t)c->axes.v[j];
            }
            break;
        default:
            break;
        }
    }
    if (s != SL_OK) {
        sl_augmenter_free(a);
        return s;
    }
    *out = a;
    return SL_OK;
}

int sl_augmenter_has_signal(const sl_augmenter *a) { return a && a->has_signal; }
int sl_augmenter_has_features(const sl_augmenter *a) { return a && a->has_features; }
double sl_augmenter_mixup(const sl_augmenter *a, double *p)
{
    if (p) *p = a ? a->mixup_p : 0;
    return a ? a->mixup_alpha : 0;
}

struct sl_aug_worker {
    float *scratch;           /* 2 n_samples + 2 frames */
    sl_aug_conv *conv;        /* per item: reverb's FFT plan and work space (unused for others) */
    size_t n;
};

void sl_aug_worker_free(sl_aug_worker *w)
{
    if (!w) return;
    for (size_t i = 0; w->conv && i < w->n; i++) sl_aug_conv_free(&w->conv[i]);
    free(w->conv);
    free(w->scratch);
    free(w);
}

sl_status sl_aug_worker_new(sl_aug_worker **out, const sl_augmenter *a)
{
    *out = NULL;
    sl_aug_worker *w = calloc(1, sizeof *w);
    if (!w) return sl_fail(SL_ENOMEM, "out of memory");
    w->n = a->n;
    w->scratch = malloc((2 * a->n_samples + 2 * a->frames + 16) * sizeof *w->scratch);
    w->conv = calloc(a->n ? a->n : 1, sizeof *w->conv);
    sl_status s = w->scratch && w->conv ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; s == SL_OK && i < a->n; i++)
        if (a->t[i].cfg->type == SL_AUG_REVERB) s = sl_aug_conv_new(&w->conv[i], a->n_samples, a->t[i].m_max);
    if (s != SL_OK) {
        sl_aug_worker_free(w);
        return s;
    }
    *out = w;
    return SL_OK;
}

/* The generator of item i for (epoch, example). */
static sl_rng item_rng(const sl_augmenter *a, size_t i, uint64_t epoch, uint64_t example)
{
    return sl_rng_make(a->seed ^ (0x9e3779b97f4a7c15ull * (i + 1)), epoch << 40 ^ example);
}

static double uniform(sl_rng *r, double lo, double hi) { return lo + (hi - lo) * sl_rng_uniform_double(r); }

/* A segment of n noise samples from the item's clips into seg: a random clip at a random offset,
 * repeated when the clip is shorter. */
static void noise_segment(const transform *t, sl_rng *r, float *seg, size_t n)
{
    const clip *c = &t->clips[t->n_clips > 1 ? sl_rng_below(r, (uint32_t)t->n_clips) : 0];
    size_t off = c->n > n ? (size_t)sl_rng_below(r, (uint32_t)(c->n - n + 1)) : 0;
    for (size_t i = 0, k = off; i < n; i++, k = k + 1 < c->n ? k + 1 : 0) seg[i] = c->x[k];
}

/* One of the transform's rooms (drawn), convolved by FFT with its stored spectrum; the level over
 * the recording is kept (gain is a transform of its own). */
static sl_status reverb(const sl_augmenter *a, const transform *t, sl_aug_conv *conv, sl_rng *r, float *x,
                        size_t n_real, size_t *m_out)
{
    size_t j = t->n_rooms > 1 ? sl_rng_below(r, (uint32_t)t->n_rooms) : 0;
    const float *H = t->spectra + j * (t->nfft + 2);
    *m_out = t->room_len[j];
    for (size_t ch = 0; ch < a->channels; ch++) {
        float *xc = x + ch * a->n_samples;
        double before = sl_aug_power(xc, n_real);
        SL_TRY(sl_aug_conv_run(conv, xc, H, xc));
        double after = sl_aug_power(xc, n_real);
        if (after > 0 && before > 0) sl_aug_gain(xc, a->n_samples, 10 * log10(before / after));
    }
    return SL_OK;
}

static sl_status filter(const sl_augmenter *a, const transform *t, sl_rng *r, float *x)
{
    const sl_aug_config *c = t->cfg;
    double ny = a->rate / 2, lo = c->range[0], hi = c->range[1];
    double f = lo * pow(hi / lo, sl_rng_uniform_double(r)); /* log-uniform */
    sl_biquads bq;
    if (c->mode == 2) {
        double oct = uniform(r, c->range2[0], c->range2[1]);
        double f1 = f / pow(2, oct / 2), f2 = f * pow(2, oct / 2);
        if (f1 < 1) f1 = 1;
        if (f2 > 0.95 * ny) f2 = 0.95 * ny;
        if (f1 >= f2) return SL_OK; /* nothing of the band is left below Nyquist */
        SL_TRY(sl_butterworth(&bq, SL_FILTER_BANDPASS, (int)c->count[0], f1, f2, a->rate));
    } else {
        SL_TRY(sl_butterworth(&bq, c->mode == 0 ? SL_FILTER_LOWPASS : SL_FILTER_HIGHPASS, (int)c->count[0], f, 0,
                              a->rate));
    }
    for (size_t ch = 0; ch < a->channels; ch++) {
        sl_biquads_reset(&bq);
        sl_biquads_run(&bq, x + ch * a->n_samples, a->n_samples);
    }
    return SL_OK;
}

sl_status sl_augment_signal(const sl_augmenter *a, sl_aug_worker *w, float *x, size_t *n_real, uint64_t epoch,
                            uint64_t example)
{
    size_t n = a->n_samples, C = a->channels;
    float *scratch = w->scratch;
    for (size_t i = 0; i < a->n; i++) {
        const transform *t = &a->t[i];
        const sl_aug_config *c = t->cfg;
        if (!is_signal_type(c->type)) continue;
        sl_rng r = item_rng(a, i, epoch, example);
        if (!(sl_rng_uniform_double(&r) < c->p)) continue;
        switch (c->type) {
        case SL_AUG_GAIN: {
            double db = uniform(&r, c->range[0], c->range[1]);
            sl_aug_gain(x, C * n, db);
            break;
        }
        case SL_AUG_SHIFT: {
            long m = lround(c->max * a->rate);
            long k = m ? (long)sl_rng_below(&r, (uint32_t)(2 * m + 1)) - m : 0;
            for (size_t ch = 0; ch < C; ch++) sl_aug_shift(x + ch * n, n, k, c->mode == 1);
            if (c->mode == 0) { /* the signal part moves with it */
                long e = (long)*n_real + k;
                *n_real = e < 0 ? 0 : e > (long)n ? n : (size_t)e;
            } else {
                *n_real = n;
            }
            break;
        }
        case SL_AUG_SPEED: {
            double f = uniform(&r, c->range[0], c->range[1]);
            for (size_t ch = 0; ch < C && *n_real; ch++) {
                sl_aug_sinc_resample(&t->sinc[speed_bucket(f)], x + ch * n, *n_real, f, scratch, n);
                memcpy(x + ch * n, scratch, n * sizeof *x);
            }
            size_t e = (size_t)floor((double)*n_real / f + 0.5);
            *n_real = e < n ? e : n;
            break;
        }
        case SL_AUG_PITCH: {
            double st = uniform(&r, c->range[0], c->range[1]);
            for (size_t ch = 0; ch < C && *n_real; ch++) {
                SL_TRY(sl_aug_pitch_with(&t->sinc[speed_bucket(pow(2.0, st / 12))], x + ch * n, *n_real, st, a->rate,
                                         scratch));
                memcpy(x + ch * n, scratch, *n_real * sizeof *x);
            }
            break;
        }
        case SL_AUG_NOISE: {
            double snr = uniform(&r, c->range[0], c->range[1]);
            /* over the recording only by default: the zero padding after it is no part of it,
             * and stays as the front end sees it at test time; over the whole window for a
             * model that will listen to a stream, where the background never stops. The level
             * is set against the recording's power either way. */
            size_t span = c->over ? n : *n_real;
            for (size_t ch = 0; ch < C; ch++) {
                noise_segment(t, &r, scratch, span);
                sl_aug_add_noise(x + ch * n, span, *n_real, scratch, snr);
            }
            break;
        }
        case SL_AUG_REVERB: {
            size_t m = 0;
            SL_TRY(reverb(a, t, &w->conv[i], &r, x, *n_real, &m));
            *n_real = *n_real + m - 1 < n ? *n_real + m - 1 : n; /* the recording now ends with the tail */
            break;
        }
        case SL_AUG_FILTER:
            SL_TRY(filter(a, t, &r, x));
            break;
        case SL_AUG_CLIP: {
            double db = uniform(&r, c->range[0], c->range[1]);
            for (size_t ch = 0; ch < C; ch++) sl_aug_clip(x + ch * n, n, db);
            break;
        }
        case SL_AUG_POLARITY:
            sl_aug_polarity(x, C * n);
            break;
        case SL_AUG_ROTATE:
            for (size_t k = 0; k < t->n_triplets; k++) {
                double R[9];
                sl_aug_random_rotation(&r, c->max, R);
                sl_aug_rotate(x, n, t->axes[k], R);
            }
            break;
        case SL_AUG_SENSOR_GAIN:
            for (size_t ch = 0; ch < C; ch++) {
                double g = pow(10, uniform(&r, c->range[0], c->range[1]) / 20);
                double off = uniform(&r, c->range2[0], c->range2[1]), drift = uniform(&r, c->range3[0], c->range3[1]);
                sl_aug_axis_gain_drift(x + ch * n, n, g, off, drift);
            }
            break;
        case SL_AUG_JITTER:
            for (size_t ch = 0; ch < C; ch++) sl_aug_jitter(&r, x + ch * n, n, c->max);
            break;
        case SL_AUG_SERIES_WARP:
            sl_aug_time_warp_series(&r, x, C, n, c->count[0], c->max, scratch);
            break;
        default:
            break;
        }
    }
    return SL_OK;
}

void sl_augment_features(const sl_augmenter *a, sl_aug_worker *w, float *f, uint64_t epoch, uint64_t example)
{
    float *scratch = w->scratch;
    size_t B = a->bands, T = a->frames;
    for (size_t i = 0; i < a->n; i++) {
        const sl_aug_config *c = a->t[i].cfg;
        if (!is_feature_type(c->type)) continue;
        sl_rng r = item_rng(a, i, epoch, example);
        if (!(sl_rng_uniform_double(&r) < c->p)) continue;
        if (c->type == SL_AUG_SPECAUGMENT) {
            /* Park et al. 2019: each mask's width uniform in [0, W], its start uniform where it fits */
            for (size_t k = 0; k < c->count[0]; k++) {
                size_t wd = sl_rng_below(&r, (uint32_t)(c->width[0] + 1));
                if (wd > T) wd = T;
                size_t t0 = sl_rng_below(&r, (uint32_t)(T - wd + 1));
                sl_aug_time_mask(f, B, T, t0, wd, 0);
            }
            for (size_t k = 0; k < c->count[1]; k++) {
                size_t wd = sl_rng_below(&r, (uint32_t)(c->width[1] + 1));
                if (wd > B) wd = B;
                size_t b0 = sl_rng_below(&r, (uint32_t)(B - wd + 1));
                sl_aug_freq_mask(f, B, T, b0, wd, 0);
            }
        } else if (c->type == SL_AUG_TIME_WARP) {
            /* the frame at a random centre (W from either edge) moves by up to W frames */
            long W = lround(c->max);
            if (W < 1 || (size_t)(2 * W) >= T) continue;
            size_t centre = (size_t)W + sl_rng_below(&r, (uint32_t)(T - 2 * (size_t)W));
            long shift = (long)sl_rng_below(&r, (uint32_t)(2 * W + 1)) - W;
            sl_aug_time_warp_features(f, B, T, centre, shift, scratch);
        }
    }
}
