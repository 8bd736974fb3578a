/* Features: frames -> window -> FFT -> power -> mel -> log -> DCT -> deltas. One function computes
 * one frame (frame_features), and both the whole-signal path and the streaming path call it on
 * the same samples, which is why streaming is bit-identical to the whole signal. */
#include "sigloop/dsp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_N_FFT (1u << 16)

struct sl_featurizer {
    sl_features_params p;
    size_t n_freqs;   /* n_fft / 2 + 1 */
    size_t n_base;    /* bands before deltas */
    float *window;    /* (win_length) */
    float *fb;        /* (n_freqs, n_mels) */
    size_t *fb_lo, *fb_hi; /* per mel band, the first and one-past-last non-zero bin */
    float *dct;       /* (n_mels, n_mfcc) */
    float *lift;      /* (n_mfcc) */
    sl_fft *fft;
};

void sl_features_params_default(sl_features_params *p)
{
    memset(p, 0, sizeof *p);
    p->type = SL_FEATURES_LOGMEL;
    p->sample_rate = 8000;
    p->n_fft = 256;
    p->win_length = 200;
    p->hop_length = 80;
    p->window = SL_WINDOW_HANN;
    p->center = 0;
    p->preemphasis = 0;
    p->power = 2;
    p->n_mels = 40;
    p->f_min = 20;
    p->f_max = 4000;
    p->mel_scale = SL_MEL_HTK;
    p->slaney_norm = 0;
    p->log = SL_LOG_NATURAL;
    p->log_eps = 1e-6;
    p->top_db = 0;
    p->n_mfcc = 13;
    p->lifter = 0;
    p->deltas = 0;
}

static sl_status check_params(const sl_features_params *p)
{
    if (!(p->sample_rate > 0) || p->sample_rate > 1e6)
        return sl_fail(SL_EARG, "features: sample_rate must be in (0, 1e6] Hz (got %g)", p->sample_rate);
    if (p->n_fft < 2 || p->n_fft > MAX_N_FFT)
        return sl_fail(SL_EARG, "features: n_fft must be in [2, %u] (got %zu)", MAX_N_FFT, p->n_fft);
    if (p->win_length < 1 || p->win_length > p->n_fft)
        return sl_fail(SL_EARG, "features: win_length (%zu) must be in [1, n_fft = %zu]", p->win_length, p->n_fft);
    if (p->hop_length < 1) return sl_fail(SL_EARG, "features: hop_length must be at least 1");
    if (p->power != 1 && p->power != 2) return sl_fail(SL_EARG, "features: power must be 1 or 2 (got %g)", p->power);
    if (!(p->preemphasis >= 0 && p->preemphasis < 1))
        return sl_fail(SL_EARG, "features: preemphasis must be in [0, 1) (got %g)", p->preemphasis);
    if (p->deltas < 0 || p->deltas > 2) return sl_fail(SL_EARG, "features: deltas must be 0, 1 or 2 (got %d)", p->deltas);
    if (p->type == SL_FEATURES_SPECTROGRAM) return SL_OK;
    size_t n_freqs = p->n_fft / 2 + 1;
    if (p->n_mels < 1 || p->n_mels > n_freqs)
        return sl_fail(SL_EARG, "features: n_mels (%zu) must be in [1, n_fft / 2 + 1 = %zu]", p->n_mels, n_freqs);
    if (!(p->f_max > 0) || p->f_max > p->sample_rate / 2)
        return sl_fail(SL_EARG, "features: f_max (%g Hz) must be in (0, sample_rate / 2 = %g Hz]", p->f_max,
                       p->sample_rate / 2);
    if (!(p->f_min >= 0) || !(p->f_min < p->f_max))
        return sl_fail(SL_EARG, "features: f_min (%g Hz) must be in [0, f_max)", p->f_min);
    if (!(p->log_eps > 0)) return sl_fail(SL_EARG, "features: log eps must be positive (got %g)", p->log_eps);
    if (!(p->top_db >= 0)) return sl_fail(SL_EARG, "features: top_db must be >= 0 (got %g)", p->top_db);
    if (p->type == SL_FEATURES_MFCC) {
        if (p->n_mfcc < 1 || p->n_mfcc > p->n_mels)
            return sl_fail(SL_EARG, "features: n_mfcc (%zu) must be in [1, n_mels = %zu]", p->n_mfcc, p->n_mels);
        if (!(p->lifter >= 0)) return sl_fail(SL_EARG, "features: lifter must be >= 0 (got %g)", p->lifter);
        /* torchaudio floors the log-mel at top_db before its DCT; that needs the whole log-mel
         * matrix first, which this path does not keep. */
        if (p->log == SL_LOG_DB && p->top_db > 0)
            return sl_fail(SL_EARG, "features: top_db is not supported for mfcc (set top_db: 0 or log: natural)");
    }
    return SL_OK;
}

void sl_featurizer_free(sl_featurizer *fz)
{
    if (!fz) return;
    free(fz->window);
    free(fz->fb);
    free(fz->fb_lo);
    free(fz->fb_hi);
    free(fz->dct);
    free(fz->lift);
    sl_fft_free(fz->fft);
    free(fz);
}

sl_status sl_featurizer_new(sl_featurizer **out, const sl_features_params *p)
{
    *out = NULL;
    SL_TRY(check_params(p));
    sl_featurizer *fz = calloc(1, sizeof *fz);
    if (!fz) return sl_fail(SL_ENOMEM, "out of memory");
    fz->p = *p;
    fz->n_freqs = p->n_fft / 2 + 1;
    fz->n_base = p->type == SL_FEATURES_SPECTROGRAM ? fz->n_freqs
                 : p->type == SL_FEATURES_MFCC      ? p->n_mfcc
                                                    : p->n_mels;
    sl_status s = SL_OK;
    fz->window = malloc(p->win_length * sizeof *fz->window);
    if (!fz->window) s = sl_fail(SL_ENOMEM, "out of memory");
    if (s == SL_OK) s = sl_window(p->window, p->win_length, fz->window);
    if (s == SL_OK) s = sl_fft_new(&fz->fft, p->n_fft);
    if (s == SL_OK && p->type != SL_FEATURES_SPECTROGRAM) {
        fz->fb = malloc(fz->n_freqs * p->n_mels * sizeof *fz->fb);
        fz->fb_lo = calloc(p->n_mels, sizeof *fz->fb_lo);
        fz->fb_hi = calloc(p->n_mels, sizeof *fz->fb_hi);
        if (!fz->fb || !fz->fb_lo || !fz->fb_hi) s = sl_fail(SL_ENOMEM, "out of memory");
        if (s == SL_OK)
            s = sl_mel_filterbank(fz->n_freqs, p->f_min, p->f_max, p->n_mels, p->sample_rate, p->mel_scale,
                                  p->slaney_norm, fz->fb);
        /* Each triangle touches a few bins: keep its range so the product skips the zeros. */
        for (size_t m = 0; s == SL_OK && m < p->n_mels; m++) {
            size_t lo = fz->n_freqs, hi = 0;
            for (size_t k = 0; k < fz->n_freqs; k++)
                if (fz->fb[k * p->n_mels + m] != 0.0f) {
                    if (k < lo) lo = k;
                    hi = k + 1;
                }
            fz->fb_lo[m] = lo < hi ? lo : 0;
            fz->fb_hi[m] = hi;
        }
    }
    if (s == SL_OK && p->type == SL_FEATURES_MFCC) {
        fz->dct = malloc(p->n_mels * p->n_mfcc * sizeof *fz->dct);
        fz->lift = malloc(p->n_mfcc * sizeof *fz->lift);
        if (!fz->dct || !fz->lift) s = sl_fail(SL_ENOMEM, "out of memory");
        if (s == SL_OK) {
            sl_dct_matrix(p->n_mfcc, p->n_mels, fz->dct);
            for (size_t k = 0; k < p->n_mfcc; k++)
                fz->lift[k] = p->lifter > 0
                                  ? (float)(1.0 + p->lifter / 2 * sin(3.14159265358979323846 * (double)(k + 1) / p->lifter))
                                  : 1.0f;
        }
    }
    if (s != SL_OK) {
        sl_featurizer_free(fz);
        return s;
    }
    *out = fz;
    return SL_OK;
}

const sl_features_params *sl_featurizer_params(const sl_featurizer *fz) { return &fz->p; }

size_t sl_featurizer_bands(const sl_featurizer *fz) { return fz->n_base * (size_t)(1 + fz->p.deltas); }

size_t sl_featurizer_frames(const sl_featurizer *fz, size_t n)
{
    const sl_features_params *p = &fz->p;
    if (n == 0) return 0;
    if (p->center) return 1 + n / p->hop_length;
    return n < p->win_length ? 0 : 1 + (n - p->win_length) / p->hop_length;
}

/* Floats of frame_features' work area: one frame (n_fft), its spectrum (n_fft + 2), the power
 * spectrum (n_freqs), a log-mel frame (n_mels). */
static size_t work_floats(const sl_featurizer *fz)
{
    return 2 * fz->p.n_fft + 2 + fz->n_freqs + fz->p.n_mels;
}

/* Scratch: the pre-emphasised signal (n), the work area, a segment for centred frames
 * (win_length) and one frame's bands (n_base). */
size_t sl_featurizer_scratch_size(const sl_featurizer *fz, size_t n)
{
    return (n + work_floats(fz) + fz->p.win_length + fz->n_base) * sizeof(float);
}

/* One frame's base features from seg (win_length pre-emphasised samples). work: n_fft + (n_fft + 2)
 * + n_freqs + n_mels floats. Writes n_base values to bands. In dB mode the floor of top_db is not
 * applied here (it needs the whole matrix). */
static void frame_features(const sl_featurizer *fz, const float *seg, float *work, float *bands)
{
    const sl_features_params *p = &fz->p;
    float *frame = work, *spec = frame + p->n_fft, *power = spec + p->n_fft + 2, *mel = power + fz->n_freqs;
    for (size_t i = 0; i < p->win_length; i++) frame[i] = seg[i] * fz->window[i];
    /* The window sits at the start of the zero-padded frame; torchaudio centres it in n_fft. That
     * is a circular shift, which changes only the phase: the magnitudes are the same. */
    memset(frame + p->win_length, 0, (p->n_fft - p->win_length) * sizeof *frame);
    sl_fft_forward(fz->fft, frame, spec);
    for (size_t k = 0; k < fz->n_freqs; k++) {
        float re = spec[2 * k], im = spec[2 * k + 1];
        float pw = re * re + im * im;
        power[k] = p->power == 2 ? pw : sqrtf(pw);
    }
    if (p->type == SL_FEATURES_SPECTROGRAM) {
        memcpy(bands, power, fz->n_freqs * sizeof *bands);
        return;
    }
    float *dst = p->type == SL_FEATURES_MFCC ? mel : bands;
    for (size_t m = 0; m < p->n_mels; m++) {
        float acc = 0;
        for (size_t k = fz->fb_lo[m]; k < fz->fb_hi[m]; k++) acc += power[k] * fz->fb[k * p->n_mels + m];
        if (p->type == SL_FEATURES_MEL) dst[m] = acc;
        else if (p->log == SL_LOG_NATURAL) dst[m] = logf(acc + (float)p->log_eps);
        else dst[m] = 10.0f * log10f(fmaxf(acc, (float)p->log_eps));
    }
    if (p->type == SL_FEATURES_MFCC) {
        for (size_t k = 0; k < p->n_mfcc; k++) {
            float acc = 0;
            for (size_t m = 0; m < p->n_mels; m++) acc += mel[m] * fz->dct[m * p->n_mfcc + k];
            bands[k] = acc * fz->lift[k];
        }
    }
}

static size_t reflect(long j, size_t n)
{
    /* torch's reflect padding (no edge repeat), folded as often as needed for short signals */
    if (n == 1) return 0;
    long period = 2 * ((long)n - 1);
    j %= period;
    if (j < 0) j += period;
    return (size_t)(j < (long)n ? j : period - j);
}

static sl_status check_signal(const float *x, size_t n)
{
    if (n == 0) return sl_fail(SL_EARG, "features: empty signal");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return sl_fail(SL_EARG, "features: NaN or infinite sample at index %zu", i);
    return SL_OK;
}

static void preemphasise(const float *x, size_t n, float a, float prev, float *y)
{
    /* y[i] = x[i] - a x[i-1], with x[-1] = prev (0 for a new signal) */
    for (size_t i = 0; i < n; i++) {
        y[i] = x[i] - a * prev;
        prev = x[i];
    }
}

sl_status sl_featurize(const sl_featurizer *fz, const float *x, size_t n, float *out, void *scratch)
{
    const sl_features_params *p = &fz->p;
    SL_TRY(check_signal(x, n));
    size_t frames = sl_featurizer_frames(fz, n);
    if (frames == 0)
        return sl_fail(SL_EARG, "features: signal of %zu samples is shorter than one frame (%zu)", n, p->win_length);
    void *own = NULL;
    if (!scratch) {
        scratch = own = malloc(sl_featurizer_scratch_size(fz, n));
        if (!own) return sl_fail(SL_ENOMEM, "out of memory");
    }
    float *y = scratch, *work = y + n, *seg = work + work_floats(fz), *bands = seg + p->win_length;
    const float *sig = x;
    if (p->preemphasis > 0) {
        preemphasise(x, n, (float)p->preemphasis, 0.0f, y);
        sig = y;
    }
    for (size_t t = 0; t < frames; t++) {
        const float *s;
        if (p->center) {
            long start = (long)(t * p->hop_length) - (long)(p->n_fft / 2) + (long)((p->n_fft - p->win_length) / 2);
            for (size_t i = 0; i < p->win_length; i++) seg[i] = sig[reflect(start + (long)i, n)];
            s = seg;
        } else {
            s = sig + t * p->hop_length;
        }
        frame_features(fz, s, work, bands);
        for (size_t b = 0; b < fz->n_base; b++) out[b * frames + t] = bands[b];
    }
    size_t base = fz->n_base * frames;
    if (p->log == SL_LOG_DB && p->top_db > 0 && p->type == SL_FEATURES_LOGMEL) {
        /* AmplitudeToDB's floor: top_db below the loudest value of the whole matrix */
        float mx = -INFINITY;
        for (size_t i = 0; i < base; i++) mx = fmaxf(mx, out[i]);
        float floor_db = mx - (float)p->top_db;
        for (size_t i = 0; i < base; i++) out[i] = fmaxf(out[i], floor_db);
    }
    sl_status s = SL_OK;
    if (p->deltas >= 1) s = sl_deltas(out, fz->n_base, frames, 5, out + base);
    if (s == SL_OK && p->deltas >= 2) s = sl_deltas(out + base, fz->n_base, frames, 5, out + 2 * base);
    free(own);
    return s;
}

/* ---- streaming ------------------------------------------------------------------------------- */

struct sl_stream {
    const sl_featurizer *fz;
    float *pending;     /* pre-emphasised samples not yet consumed; capacity win_length */
    size_t n_pending;
    size_t skip;        /* samples still to drop before the next frame (hop > win) */
    float prev;         /* last raw sample, for pre-emphasis across chunks */
    float *work;
};

sl_status sl_stream_new(sl_stream **out, const sl_featurizer *fz)
{
    *out = NULL;
    const sl_features_params *p = &fz->p;
    if (p->center) return sl_fail(SL_EARG, "streaming needs center: false (a stream has no end to reflect)");
    if (p->deltas) return sl_fail(SL_EARG, "streaming does not support deltas (they look ahead)");
    if (p->log == SL_LOG_DB && p->top_db > 0)
        return sl_fail(SL_EARG, "streaming does not support top_db (it needs the whole recording)");
    sl_stream *s = calloc(1, sizeof *s);
    if (!s) return sl_fail(SL_ENOMEM, "out of memory");
    s->fz = fz;
    s->pending = malloc(p->win_length * sizeof *s->pending);
    s->work = malloc(work_floats(fz) * sizeof *s->work);
    if (!s->pending || !s->work) {
        sl_stream_free(s);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    *out = s;
    return SL_OK;
}

void sl_stream_free(sl_stream *s)
{
    if (!s) return;
    free(s->pending);
    free(s->work);
    free(s);
}

sl_status sl_stream_push(sl_stream *s, const float *x, size_t n, float *out, size_t max_frames, size_t *n_out)
{
    const sl_features_params *p = &s->fz->p;
    *n_out = 0;
    size_t most = (s->n_pending + n) / p->hop_length + 1; /* frames this chunk can finish, at most */
    if (max_frames < most)
        return sl_fail(SL_EARG, "stream: room for %zu frames, but a chunk of %zu samples may finish %zu", max_frames,
                       n, most);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return sl_fail(SL_EARG, "stream: NaN or infinite sample at index %zu of the chunk", i);
    size_t i = 0;
    float a = (float)p->preemphasis;
    while (i < n) {
        if (s->skip) {
            size_t d = s->skip < n - i ? s->skip : n - i;
            if (d) s->prev = x[i + d - 1];
            s->skip -= d;
            i += d;
            continue;
        }
        /* fill the frame */
        size_t want = p->win_length - s->n_pending, take = want < n - i ? want : n - i;
        if (a > 0) {
            preemphasise(x + i, take, a, s->prev, s->pending + s->n_pending);
        } else {
            memcpy(s->pending + s->n_pending, x + i, take * sizeof *x);
        }
        if (take) s->prev = x[i + take - 1];
        s->n_pending += take;
        i += take;
        if (s->n_pending < p->win_length) break;
        frame_features(s->fz, s->pending, s->work, out + *n_out * s->fz->n_base);
        (*n_out)++;
        /* advance by hop: keep the overlap, or drop what lies beyond the frame */
        if (p->hop_length < p->win_length) {
            memmove(s->pending, s->pending + p->hop_length, (p->win_length - p->hop_length) * sizeof *s->pending);
            s->n_pending = p->win_length - p->hop_length;
        } else {
            s->n_pending = 0;
            s->skip = p->hop_length - p->win_length;
        }
    }
    return SL_OK;
}
