/* Features: frames -> window -> FFT -> power -> mel -> log -> DCT -> deltas. Two functions compute
 * frames (window_frame, then finish_batch after the batched FFT), and both the whole-signal path and the streaming path call it on
 * the same samples, which is why streaming is bit-identical to the whole signal. */
#include "sigloop/dsp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_N_FFT (1u << 16)
#define ALIGN_FLOATS 16 /* 64 bytes: FFTW's SIMD plans need their arrays aligned */
#define FFT_BATCH 8     /* frames per FFT call: FFTW then vectorises across frames */

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

static float *align_up(void *p)
{
    uintptr_t a = ((uintptr_t)p + 63) & ~(uintptr_t)63;
    return (float *)a;
}


struct sl_featurizer {
    sl_features_params p;
    size_t n_freqs;   /* n_fft / 2 + 1 */
    size_t n_base;    /* bands before deltas */
    float *window;    /* (win_length) */
    float *fb;        /* (n_freqs, n_mels) */
    size_t *fb_lo, *fb_hi; /* per mel band, the first and one-past-last non-zero bin */
    size_t *fb_off;   /* per mel band, where its weights start in fbw */
    float *fbw;       /* each band's non-zero weights, bins fb_lo..fb_hi, one band after another */
    float *dct;       /* (n_mels, n_mfcc) */
    float *lift;      /* (n_mfcc) */
    sl_fft *fft;      /* FFT_BATCH frames per call */
    float *zero_col;  /* the result of a frame of zeros (max(n_base, n_mels) values): frames that
                         lie in silence or zero padding are filled with it, not transformed */
};

static sl_status make_zero_column(sl_featurizer *fz);

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
    if (p->type == SL_FEATURES_SPECTROGRAM || p->type == SL_FEATURES_RAW) return SL_OK;
    size_t n_freqs = p->n_fft / 2 + 1;
    if (p->type == SL_FEATURES_BAND_ENERGY) {
        if (p->n_band_edges < 2 || p->n_band_edges > 257)
            return sl_fail(SL_EARG, "features: band_edges needs 2 to 257 edges (got %zu)", p->n_band_edges);
        for (size_t i = 0; i < p->n_band_edges; i++) {
            double e = p->band_edges[i];
            if (!(e >= 0 && e <= p->sample_rate / 2))
                return sl_fail(SL_EARG, "features: band edge %g Hz must be in [0, sample_rate / 2 = %g Hz]", e,
                               p->sample_rate / 2);
            if (i && !(e > p->band_edges[i - 1]))
                return sl_fail(SL_EARG, "features: band edges must increase (%g Hz after %g Hz)", e, p->band_edges[i - 1]);
        }
        for (size_t i = 0; i + 1 < p->n_band_edges; i++) { /* every band must hold a bin */
            double lo = p->band_edges[i], hi = p->band_edges[i + 1], df = p->sample_rate / (double)p->n_fft;
            if (ceil(lo / df) * df >= hi && !(i + 2 == p->n_band_edges && hi >= p->sample_rate / 2 && lo <= p->sample_rate / 2))
                return sl_fail(SL_EARG, "features: band [%g, %g) Hz holds no FFT bin (bins are %g Hz apart: raise n_fft)",
                               lo, hi, df);
        }
        if (!(p->log_eps > 0)) return sl_fail(SL_EARG, "features: log eps must be positive (got %g)", p->log_eps);
        return SL_OK;
    }
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
    free(fz->fb_off);
    free(fz->fbw);
    free(fz->dct);
    free(fz->lift);
    sl_fft_free(fz->fft);
    free(fz->zero_col);
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
    if (p->type == SL_FEATURES_BAND_ENERGY) fz->p.n_mels = p->n_band_edges - 1; /* one "filter" per band */
    fz->p.band_edges = NULL; /* not kept: the filterbank below holds the bands */
    fz->n_base = p->type == SL_FEATURES_SPECTROGRAM ? fz->n_freqs
                 : p->type == SL_FEATURES_MFCC      ? p->n_mfcc
                 : p->type == SL_FEATURES_RAW       ? 1
                                                    : fz->p.n_mels;
    sl_status s = SL_OK;
    fz->window = malloc(p->win_length * sizeof *fz->window);
    if (!fz->window) s = sl_fail(SL_ENOMEM, "out of memory");
    if (s == SL_OK) s = sl_window(p->window, p->win_length, fz->window);
    if (s == SL_OK) s = sl_fft_new_batch(&fz->fft, p->n_fft, FFT_BATCH, round_up(p->n_fft), round_up(p->n_fft + 2));
    if (s == SL_OK && p->type != SL_FEATURES_SPECTROGRAM && p->type != SL_FEATURES_RAW) {
        size_t nm = fz->p.n_mels;
        fz->fb = malloc(fz->n_freqs * nm * sizeof *fz->fb);
        fz->fb_lo = calloc(nm, sizeof *fz->fb_lo);
        fz->fb_hi = calloc(nm, sizeof *fz->fb_hi);
        if (!fz->fb || !fz->fb_lo || !fz->fb_hi) s = sl_fail(SL_ENOMEM, "out of memory");
        if (s == SL_OK && p->type == SL_FEATURES_BAND_ENERGY) {
            /* rectangular bands: bin k (at k fs / n_fft Hz) belongs to [lo, hi); the last band
             * also takes a bin exactly at its upper edge when that edge is the Nyquist frequency */
            for (size_t k = 0; k < fz->n_freqs; k++) {
                double f = (double)k * p->sample_rate / (double)p->n_fft;
                for (size_t m = 0; m < nm; m++) {
                    double lo = p->band_edges[m], hi = p->band_edges[m + 1];
                    int in = f >= lo && (f < hi || (m + 1 == nm && f == hi && hi >= p->sample_rate / 2));
                    fz->fb[k * nm + m] = in ? 1.0f : 0.0f;
                }
            }
        } else if (s == SL_OK) {
            s = sl_mel_filterbank(fz->n_freqs, p->f_min, p->f_max, p->n_mels, p->sample_rate, p->mel_scale,
                                  p->slaney_norm, fz->fb);
        }
        /* Each triangle touches a few bins: keep its range so the product skips the zeros. */
        for (size_t m = 0; s == SL_OK && m < nm; m++) {
            size_t lo = fz->n_freqs, hi = 0;
            for (size_t k = 0; k < fz->n_freqs; k++)
                if (fz->fb[k * nm + m] != 0.0f) {
                    if (k < lo) lo = k;
                    hi = k + 1;
                }
            fz->fb_lo[m] = lo < hi ? lo : 0;
            fz->fb_hi[m] = hi;
        }
        /* The weights again, each band's run contiguous: the product walks memory in order. */
        size_t total = 0;
        for (size_t m = 0; s == SL_OK && m < nm; m++) total += fz->fb_hi[m] - fz->fb_lo[m];
        fz->fb_off = s == SL_OK ? calloc(nm, sizeof *fz->fb_off) : NULL;
        fz->fbw = s == SL_OK ? malloc((total ? total : 1) * sizeof *fz->fbw) : NULL;
        if (s == SL_OK && (!fz->fb_off || !fz->fbw)) s = sl_fail(SL_ENOMEM, "out of memory");
        for (size_t m = 0, o = 0; s == SL_OK && m < nm; m++) {
            fz->fb_off[m] = o;
            for (size_t k = fz->fb_lo[m]; k < fz->fb_hi[m]; k++) fz->fbw[o++] = fz->fb[k * nm + m];
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
    if (s == SL_OK && p->type != SL_FEATURES_RAW) s = make_zero_column(fz);
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
    if (p->type == SL_FEATURES_RAW) return n;
    if (p->center) return 1 + n / p->hop_length;
    return n < p->win_length ? 0 : 1 + (n - p->win_length) / p->hop_length;
}

/* Floats of the work area, which starts 64-byte aligned: FFT_BATCH frames (n_fft each), their
 * spectra (n_fft + 2 each), then for the batch the power spectra (n_freqs x FFT_BATCH), the mel
 * energies and their logs (n_mels x FFT_BATCH each), and the result (max(n_base, n_mels) x
 * FFT_BATCH). */
static size_t work_floats(const sl_featurizer *fz)
{
    /* the result holds n_base bands, or n_mels when an MFCC's log-mel is kept for its floor */
    size_t res = fz->n_base > fz->p.n_mels ? fz->n_base : fz->p.n_mels;
    return FFT_BATCH * (round_up(fz->p.n_fft) + round_up(fz->p.n_fft + 2) + fz->n_freqs + 2 * fz->p.n_mels + res);
}

static float *batch_result(const sl_featurizer *fz, float *work)
{
    return work + FFT_BATCH * (round_up(fz->p.n_fft) + round_up(fz->p.n_fft + 2) + fz->n_freqs + 2 * fz->p.n_mels);
}

/* Scratch: the pre-emphasised signal (n), the work area (aligned: up to 64 bytes of slack), a
 * segment for centred frames (win_length), and for MFCC in dB with top_db the whole log-mel
 * matrix (n_mels x frames). */
size_t sl_featurizer_scratch_size(const sl_featurizer *fz, size_t n)
{
    const sl_features_params *p = &fz->p;
    size_t mats = p->type == SL_FEATURES_MFCC && p->log == SL_LOG_DB && p->top_db > 0
                      ? p->n_mels * sl_featurizer_frames(fz, n) : 0;
    return (n + ALIGN_FLOATS + work_floats(fz) + p->win_length + mats) * sizeof(float);
}

/* Natural logarithm of a positive normal float, branch-free so GCC vectorises the loops that
 * call it, within about 1 ulp: Cephes' logf (the mantissa brought to [sqrt(1/2), sqrt(2)) and a
 * degree-9 polynomial). The log-mel spent more time in libm's logf than in its FFT. Inputs that
 * are not positive normal floats give garbage here; log_fix below redoes them with logf. */
static inline float log_core(float x)
{
    union { float f; uint32_t i; } u = {x};
    float e = (float)((int)((u.i >> 23) & 0xffu) - 127);
    u.i = (u.i & 0x007fffffu) | 0x3f800000u; /* mantissa in [1, 2) */
    float m = u.f;
    float big = m > 1.41421356237f ? 1.0f : 0.0f;
    m = m * (1.0f - 0.5f * big);
    e += big;
    float f = m - 1.0f, z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    y += e * -2.12194440e-4f;
    y += -0.5f * z;
    return f + y + e * 0.693359375f;
}

#if defined(__SSE2__)
/* log_core four at a time: the same operations in the same order, so the same bits. */
static __m128 log_core4(__m128 x)
{
    __m128i xi = _mm_castps_si128(x);
    __m128 e = _mm_cvtepi32_ps(_mm_sub_epi32(_mm_and_si128(_mm_srli_epi32(xi, 23), _mm_set1_epi32(0xff)),
                                             _mm_set1_epi32(127)));
    __m128 m = _mm_castsi128_ps(_mm_or_si128(_mm_and_si128(xi, _mm_set1_epi32(0x007fffff)),
                                             _mm_set1_epi32(0x3f800000)));
    __m128 big = _mm_and_ps(_mm_cmpgt_ps(m, _mm_set1_ps(1.41421356237f)), _mm_set1_ps(1.0f));
    m = _mm_mul_ps(m, _mm_sub_ps(_mm_set1_ps(1.0f), _mm_mul_ps(_mm_set1_ps(0.5f), big)));
    e = _mm_add_ps(e, big);
    __m128 f = _mm_sub_ps(m, _mm_set1_ps(1.0f)), z = _mm_mul_ps(f, f);
    __m128 y = _mm_set1_ps(7.0376836292e-2f);
    y = _mm_sub_ps(_mm_mul_ps(y, f), _mm_set1_ps(1.1514610310e-1f));
    y = _mm_add_ps(_mm_mul_ps(y, f), _mm_set1_ps(1.1676998740e-1f));
    y = _mm_sub_ps(_mm_mul_ps(y, f), _mm_set1_ps(1.2420140846e-1f));
    y = _mm_add_ps(_mm_mul_ps(y, f), _mm_set1_ps(1.4249322787e-1f));
    y = _mm_sub_ps(_mm_mul_ps(y, f), _mm_set1_ps(1.6668057665e-1f));
    y = _mm_add_ps(_mm_mul_ps(y, f), _mm_set1_ps(2.0000714765e-1f));
    y = _mm_sub_ps(_mm_mul_ps(y, f), _mm_set1_ps(2.4999993993e-1f));
    y = _mm_add_ps(_mm_mul_ps(y, f), _mm_set1_ps(3.3333331174e-1f));
    y = _mm_mul_ps(_mm_mul_ps(y, f), z);
    y = _mm_add_ps(y, _mm_mul_ps(e, _mm_set1_ps(-2.12194440e-4f)));
    y = _mm_add_ps(y, _mm_mul_ps(_mm_set1_ps(-0.5f), z));
    return _mm_add_ps(_mm_add_ps(f, y), _mm_mul_ps(e, _mm_set1_ps(0.693359375f)));
}
#endif

/* out[i] = scale * ln(in[i]) for n values; in and out may not overlap. */
static void log_scaled(const float *restrict in, float *restrict out, size_t n, float scale)
{
    size_t i = 0;
    int odd = 0; /* any input that is not a positive normal float */
#if defined(__SSE2__)
    __m128 bad = _mm_setzero_ps();
    const __m128 lo = _mm_set1_ps(1.17549435e-38f), hi = _mm_set1_ps(3.40282347e+38f);
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(in + i);
        bad = _mm_or_ps(bad, _mm_or_ps(_mm_cmpnge_ps(x, lo), _mm_cmpnle_ps(x, hi))); /* NaN too */
        _mm_storeu_ps(out + i, _mm_mul_ps(_mm_set1_ps(scale), log_core4(x)));
    }
    odd = _mm_movemask_ps(bad) != 0;
#endif
    for (; i < n; i++) {
        out[i] = scale * log_core(in[i]);
        odd |= !(in[i] >= 1.17549435e-38f && in[i] <= 3.40282347e+38f);
    }
    if (!odd) return;
    for (size_t j = 0; j < n; j++) /* the rare zero, subnormal, negative, inf or NaN: libm */
        if (!(in[j] >= 1.17549435e-38f && in[j] <= 3.40282347e+38f)) out[j] = scale * logf(in[j]);
}

/* Windows seg (win_length pre-emphasised samples) into frame slot `slot` of the work area. */
static void window_frame(const sl_featurizer *fz, const float *restrict seg, float *restrict work, size_t slot)
{
    const sl_features_params *p = &fz->p;
    const float *restrict win = fz->window;
    float *restrict frame = work + slot * round_up(p->n_fft);
    for (size_t i = 0; i < p->win_length; i++) frame[i] = seg[i] * win[i];
    /* The window sits at the start of the zero-padded frame; torchaudio centres it in n_fft. That
     * is a circular shift, which changes only the phase: the magnitudes are the same. */
    memset(frame + p->win_length, 0, (p->n_fft - p->win_length) * sizeof *frame);
}

/* The base features of the FFT_BATCH frames whose spectra the batched FFT has computed, into res
 * (n_base, FFT_BATCH): band b of frame j at res[b * FFT_BATCH + j]. Every step runs across the
 * frames of the batch (the innermost loops have FFT_BATCH independent lanes, which GCC vectorises
 * and which never mix frames, so a frame's values do not depend on its neighbours). In dB mode the
 * floor of top_db is not applied here (it needs the whole matrix). */
static void finish_batch(const sl_featurizer *fz, float *restrict work, float *restrict res, int log_mel_only)
{
    enum { B = FFT_BATCH };
    const sl_features_params *p = &fz->p;
    const size_t nf = fz->n_freqs, nm = p->n_mels;
    const float *spec = work + B * round_up(p->n_fft);
    float *restrict power = work + B * (round_up(p->n_fft) + round_up(p->n_fft + 2)); /* (nf, B) */
    float *restrict lin = power + nf * B;                                              /* (nm, B) */
    float *restrict logm = lin + nm * B;                                               /* (nm, B) */
    const size_t sd = round_up(p->n_fft + 2);
    for (size_t k = 0; k < nf; k++)
        for (size_t j = 0; j < B; j++) {
            float re = spec[j * sd + 2 * k], im = spec[j * sd + 2 * k + 1];
            power[k * B + j] = re * re + im * im;
        }
    if (p->power != 2)
        for (size_t i = 0; i < nf * B; i++) power[i] = sqrtf(power[i]);
    if (p->type == SL_FEATURES_SPECTROGRAM) {
        memcpy(res, power, nf * B * sizeof *res);
        return;
    }
    float *mel_out = p->type == SL_FEATURES_MEL ? res : lin;
    for (size_t m = 0; m < nm; m++) {
        float acc[B] = {0};
        const float *wt = fz->fbw + fz->fb_off[m] - fz->fb_lo[m];
        for (size_t k = fz->fb_lo[m]; k < fz->fb_hi[m]; k++)
            for (size_t j = 0; j < B; j++) acc[j] += power[k * B + j] * wt[k];
        for (size_t j = 0; j < B; j++) mel_out[m * B + j] = acc[j];
    }
    if (p->type == SL_FEATURES_MEL) return;
    const float eps = (float)p->log_eps;
    /* log-mel and band energies end here, and so does MFCC when its DCT has to wait for the
     * whole log-mel matrix (log_mel_only) */
    float *log_out = p->type == SL_FEATURES_MFCC && !log_mel_only ? logm : res;
    if (p->log == SL_LOG_NATURAL) {
        for (size_t i = 0; i < nm * B; i++) lin[i] += eps;
        log_scaled(lin, log_out, nm * B, 1.0f);
    } else { /* 10 log10(x) = (10 / ln 10) ln x */
        for (size_t i = 0; i < nm * B; i++) lin[i] = fmaxf(lin[i], eps);
        log_scaled(lin, log_out, nm * B, 4.342944819f);
    }
    if (p->type == SL_FEATURES_MFCC && !log_mel_only) {
        for (size_t k = 0; k < p->n_mfcc; k++) {
            float acc[B] = {0};
            for (size_t m = 0; m < nm; m++)
                for (size_t j = 0; j < B; j++) acc[j] += logm[m * B + j] * fz->dct[m * p->n_mfcc + k];
            for (size_t j = 0; j < B; j++) res[k * B + j] = acc[j] * fz->lift[k];
        }
    }
}

/* MFCC in dB with top_db keeps its log-mel until the whole matrix is known (sl_featurize). */
static int mfcc_after_floor(const sl_features_params *p)
{
    return p->type == SL_FEATURES_MFCC && p->log == SL_LOG_DB && p->top_db > 0;
}

/* fz->zero_col: a batch of frames of zeros through the same code as any other frame. The FFT of
 * zeros is zeros, and every later step treats each frame alone, so this is bit for bit what a
 * silent frame gives wherever it sits. */
static sl_status make_zero_column(sl_featurizer *fz)
{
    size_t rows = fz->n_base > fz->p.n_mels ? fz->n_base : fz->p.n_mels;
    float *raw = calloc(work_floats(fz) + ALIGN_FLOATS, sizeof *raw);
    fz->zero_col = malloc(rows * sizeof *fz->zero_col);
    if (!raw || !fz->zero_col) {
        free(raw);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    float *work = align_up(raw);
    sl_fft_forward_batch(fz->fft, work, work + FFT_BATCH * round_up(fz->p.n_fft));
    float *res = batch_result(fz, work);
    finish_batch(fz, work, res, mfcc_after_floor(&fz->p));
    for (size_t b = 0; b < rows; b++) fz->zero_col[b] = res[b * FFT_BATCH];
    free(raw);
    return SL_OK;
}

static int all_zero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f) return 0;
    return 1;
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
    /* first a pass without an early exit, which vectorises; the index only when something is bad */
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= !(fabsf(x[i]) <= 3.40282347e+38f);
    if (!bad) return SL_OK;
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
    if (p->type == SL_FEATURES_RAW) { /* pass-through (after pre-emphasis, if any) */
        if (p->preemphasis > 0) preemphasise(x, n, (float)p->preemphasis, 0.0f, out);
        else memcpy(out, x, n * sizeof *out);
        return SL_OK;
    }
    if (frames == 0)
        return sl_fail(SL_EARG, "features: signal of %zu samples is shorter than one frame (%zu)", n, p->win_length);
    void *own = NULL;
    if (!scratch) {
        scratch = own = malloc(sl_featurizer_scratch_size(fz, n));
        if (!own) return sl_fail(SL_ENOMEM, "out of memory");
    }
    float *y = scratch, *work = align_up(y + n), *seg = work + work_floats(fz);
    const float *sig = x;
    if (p->preemphasis > 0) {
        preemphasise(x, n, (float)p->preemphasis, 0.0f, y);
        sig = y;
    }
    /* MFCC in dB with top_db (torchaudio's MFCC default): the floor is a property of the whole
     * log-mel matrix, so the log-mel goes to `mats` first, is floored, and then gets its DCT. */
    int after_floor = mfcc_after_floor(p);
    size_t n_rows = after_floor ? p->n_mels : fz->n_base;
    float *mats = after_floor ? seg + p->win_length : out;
    /* Frames are gathered FFT_BATCH at a time; a frame whose samples are all zero (silence, the
     * padding of short clips) takes the zero column instead of a transform. */
    size_t t = 0;
    while (t < frames) {
        size_t batch = 0, col[FFT_BATCH];
        for (; t < frames && batch < FFT_BATCH; t++) {
            const float *s;
            if (p->center) {
                long start = (long)(t * p->hop_length) - (long)(p->n_fft / 2) + (long)((p->n_fft - p->win_length) / 2);
                if (p->pad_zero)
                    for (size_t i = 0; i < p->win_length; i++) {
                        long at = start + (long)i;
                        seg[i] = at >= 0 && at < (long)n ? sig[at] : 0.0f;
                    }
                else
                    for (size_t i = 0; i < p->win_length; i++) seg[i] = sig[reflect(start + (long)i, n)];
                s = seg;
            } else {
                s = sig + t * p->hop_length;
            }
            if (all_zero(s, p->win_length)) {
                for (size_t b = 0; b < n_rows; b++) mats[b * frames + t] = fz->zero_col[b];
                continue;
            }
            window_frame(fz, s, work, batch);
            col[batch++] = t;
        }
        if (!batch) break;
        /* unused slots of a partial batch hold old frames: transformed and ignored */
        sl_fft_forward_batch(fz->fft, work, work + FFT_BATCH * round_up(p->n_fft));
        float *res = batch_result(fz, work);
        finish_batch(fz, work, res, after_floor);
        for (size_t b = 0; b < n_rows; b++)
            for (size_t j = 0; j < batch; j++) mats[b * frames + col[j]] = res[b * FFT_BATCH + j];
    }
    if (after_floor) {
        size_t cells = p->n_mels * frames;
        float mx = -INFINITY;
        for (size_t i = 0; i < cells; i++) mx = fmaxf(mx, mats[i]);
        for (size_t i = 0; i < cells; i++) mats[i] = fmaxf(mats[i], mx - (float)p->top_db);
        for (size_t k = 0; k < p->n_mfcc; k++)
            for (size_t f = 0; f < frames; f++) {
                float acc = 0;
                for (size_t m = 0; m < p->n_mels; m++) acc += mats[m * frames + f] * fz->dct[m * p->n_mfcc + k];
                out[k * frames + f] = acc * fz->lift[k];
            }
    }
    size_t base = fz->n_base * frames;
    if (p->log == SL_LOG_DB && p->top_db > 0 && (p->type == SL_FEATURES_LOGMEL || p->type == SL_FEATURES_BAND_ENERGY)) {
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
    float *work_mem;
    float *work;        /* work_mem, aligned to 64 bytes */
};

sl_status sl_stream_new(sl_stream **out, const sl_featurizer *fz)
{
    *out = NULL;
    const sl_features_params *p = &fz->p;
    if (p->center) return sl_fail(SL_EARG, "streaming needs center: false (a stream has no end to reflect)");
    if (p->type == SL_FEATURES_RAW) return sl_fail(SL_EARG, "streaming raw samples needs no featurizer");
    if (p->deltas) return sl_fail(SL_EARG, "streaming does not support deltas (they look ahead)");
    if (p->log == SL_LOG_DB && p->top_db > 0)
        return sl_fail(SL_EARG, "streaming does not support top_db (it needs the whole recording)");
    sl_stream *s = calloc(1, sizeof *s);
    if (!s) return sl_fail(SL_ENOMEM, "out of memory");
    s->fz = fz;
    s->pending = malloc(p->win_length * sizeof *s->pending);
    s->work_mem = malloc((work_floats(fz) + ALIGN_FLOATS) * sizeof *s->work_mem);
    s->work = s->work_mem ? align_up(s->work_mem) : NULL;
    if (s->work) memset(s->work, 0, work_floats(fz) * sizeof *s->work); /* idle slots: finite zeros */
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
    free(s->work_mem);
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
        /* the batched FFT with the frame in slot 0: the same kernels as the whole-signal path, so
         * the same bits (FFTW's lanes do not mix frames) */
        window_frame(s->fz, s->pending, s->work, 0);
        sl_fft_forward_batch(s->fz->fft, s->work, s->work + FFT_BATCH * round_up(p->n_fft));
        float *res = batch_result(s->fz, s->work);
        finish_batch(s->fz, s->work, res, 0);
        for (size_t b = 0; b < s->fz->n_base; b++) out[*n_out * s->fz->n_base + b] = res[b * FFT_BATCH];
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
