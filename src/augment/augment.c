/* The simple waveform transforms (gain, shift, polarity, clipping, noise, speed by band-limited
 * interpolation) and SpecAugment's masks, as plain functions on buffers; the chain that draws their
 * values lives in chain.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment/augment_internal.h"
#include "sigloop/dsp.h"

void sl_aug_gain(float *x, size_t n, double db)
{
    const float g = (float)pow(10.0, db / 20.0);
    for (size_t i = 0; i < n; i++) x[i] *= g;
}

/* x[i..j] reversed in place */
static void reverse(float *x, size_t i, size_t j)
{
    for (; i < j; i++, j--) {
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

void sl_aug_shift(float *x, size_t n, long shift, int wrap)
{
    if (!n || !shift) return;
    size_t k = (size_t)(shift < 0 ? -shift : shift);
    if (wrap) {
        k %= n;
        if (!k) return;
        /* rotate right by k (shift > 0) or left by k: three reversals, in place */
        size_t r = shift > 0 ? n - k : k; /* the first r samples move to the end */
        reverse(x, 0, r - 1);
        reverse(x, r, n - 1);
        reverse(x, 0, n - 1);
        return;
    }
    if (k >= n) {
        memset(x, 0, n * sizeof *x);
        return;
    }
    if (shift > 0) {
        memmove(x + k, x, (n - k) * sizeof *x);
        memset(x, 0, k * sizeof *x);
    } else {
        memmove(x, x + k, (n - k) * sizeof *x);
        memset(x + n - k, 0, k * sizeof *x);
    }
}

void sl_aug_polarity(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = -x[i];
}

void sl_aug_clip(float *x, size_t n, double db)
{
    float peak = 0;
    for (size_t i = 0; i < n; i++) peak = fabsf(x[i]) > peak ? fabsf(x[i]) : peak;
    const float level = peak * (float)pow(10.0, db / 20.0);
    for (size_t i = 0; i < n; i++) x[i] = x[i] > level ? level : x[i] < -level ? -level : x[i];
}

double sl_aug_power(const float *x, size_t n)
{
    if (!n) return 0;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s / (double)n;
}

void sl_aug_add_noise(float *x, size_t n, size_t n_ref, const float *noise, double snr_db)
{
    double ps = sl_aug_power(x, n_ref < n ? n_ref : n), pn = sl_aug_power(noise, n_ref < n ? n_ref : n);
    if (!(ps > 0) || !(pn > 0)) return;
    const float g = (float)sqrt(ps / (pn * pow(10.0, snr_db / 10.0)));
    for (size_t i = 0; i < n; i++) x[i] += g * noise[i];
}

sl_status sl_aug_color_noise(sl_rng *r, int color, float *out, size_t n)
{
    if (color < 0 || color > 2) return sl_fail(SL_EARG, "noise: colour %d is not white (0), pink (1) or brown (2)", color);
    if (color == 0) {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            out[i] = (float)sl_rng_normal(r);
            s += (double)out[i] * out[i];
        }
        float g = s > 0 ? (float)(1.0 / sqrt(s / (double)n)) : 0;
        for (size_t i = 0; i < n; i++) out[i] *= g;
        return SL_OK;
    }
    if (n < 2 || n % 2) return sl_fail(SL_EARG, "noise: coloured noise needs an even length >= 2 (got %zu)", n);
    /* white noise's spectrum, shaped by 1 / f^(color / 2) in amplitude (pink: power 1/f; brown:
     * 1/f^2), DC cleared, back to time */
    sl_fft *f;
    SL_TRY(sl_fft_new(&f, n));
    float *X = malloc((n + 2) * sizeof *X);
    if (!X) {
        sl_fft_free(f);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) out[i] = (float)sl_rng_normal(r);
    sl_fft_forward(f, out, X);
    X[0] = X[1] = 0;
    for (size_t k = 1; k <= n / 2; k++) {
        float a = (float)pow((double)k, -0.5 * color);
        X[2 * k] *= a;
        X[2 * k + 1] *= a;
    }
    sl_status s = sl_fft_inverse(f, X, out);
    free(X);
    sl_fft_free(f);
    SL_TRY(s);
    double p = sl_aug_power(out, n);
    float g = p > 0 ? (float)(1.0 / sqrt(p)) : 0;
    for (size_t i = 0; i < n; i++) out[i] *= g;
    return SL_OK;
}

/* I0, the modified Bessel function of the first kind, by its power series (converges fast for the
 * Kaiser window's arguments, below 20) */
static double bessel_i0(double x)
{
    double sum = 1, term = 1, q = x * x / 4;
    for (int k = 1; k < 60 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

#define SINC_PHASES 1024 /* the nearest phase: a timing error below 1/2048 sample */
#define SINC_ZEROS 8
#define KAISER_BETA 8.6 /* side lobes about 90 dB down */

sl_status sl_aug_sinc_new(sl_aug_sinc *s, double cutoff)
{
    memset(s, 0, sizeof *s);
    if (!(cutoff > 0 && cutoff <= 1)) return sl_fail(SL_EARG, "resample: cutoff %g is outside (0, 1]", cutoff);
    /* H taps each side, a multiple of 4 so that the 2 H taps fill the eight lanes of the product:
     * H cutoff zero crossings each side, between 6.4 and 8 */
    size_t H = (size_t)floor(SINC_ZEROS / cutoff / 4) * 4;
    if (H < 4) H = 4;
    size_t P = SINC_PHASES, taps = (2 * H + 7) / 8 * 8;
    if (taps > 512) return sl_fail(SL_EARG, "resample: cutoff %g is too low (at most 512 taps)", cutoff);
    s->tab = malloc((P + 1) * taps * sizeof *s->tab);
    if (!s->tab) return sl_fail(SL_ENOMEM, "out of memory");
    s->half = H;
    s->phases = P;
    const double i0b = bessel_i0(KAISER_BETA), pi = 3.14159265358979323846;
    for (size_t p = 0; p <= P; p++) {
        /* tap j weighs x[floor(t) - H + 1 + j] at distance d = frac + H - 1 - j from t */
        double frac = (double)p / (double)P, sum = 0, h[512];
        for (size_t j = 0; j < taps; j++) {
            double d = frac + (double)H - 1 - (double)j, r = d / (double)H;
            if (j >= 2 * H) {
                h[j] = 0;
                continue;
            }
            double w = fabs(r) < 1 ? bessel_i0(KAISER_BETA * sqrt(1 - r * r)) / i0b : 0;
            double a = pi * cutoff * d;
            h[j] = w * cutoff * (fabs(a) < 1e-12 ? 1 : sin(a) / a);
            sum += h[j];
        }
        for (size_t j = 0; j < taps; j++) s->tab[p * taps + j] = (float)(h[j] / sum);
    }
    return SL_OK;
}

void sl_aug_sinc_free(sl_aug_sinc *s)
{
    if (!s) return;
    free(s->tab);
    memset(s, 0, sizeof *s);
}

void sl_aug_sinc_resample(const sl_aug_sinc *s, const float *x, size_t n, double step, float *out, size_t n_out)
{
    const size_t H = s->half, taps = (2 * H + 7) / 8 * 8, P = s->phases;
    size_t m_out = (size_t)floor((double)n / step + 0.5);
    if (m_out > n_out) m_out = n_out;
    for (size_t m = 0; m < m_out; m++) {
        double t = (double)m * step;
        long i0 = (long)t; /* t >= 0: truncation is the floor */
        size_t pi = (size_t)((t - (double)i0) * (double)P + 0.5); /* in [0, P]: the table has P + 1 */
        const float *restrict r0 = s->tab + pi * taps;
        long k0 = i0 - (long)H + 1;
        float acc = 0;
        if (k0 >= 0 && k0 + (long)taps <= (long)n) { /* inside: eight lanes, which vectorise */
            const float *restrict xs = x + k0;
            float lane[8] = {0};
            for (size_t j = 0; j < taps; j += 8)
                for (size_t l = 0; l < 8; l++) lane[l] += xs[j + l] * r0[j + l];
            acc = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        } else {
            for (size_t j = 0; j < taps; j++) {
                long k = k0 + (long)j;
                if (k >= 0 && k < (long)n) acc += x[k] * r0[j];
            }
        }
        out[m] = acc;
    }
    memset(out + m_out, 0, (n_out - m_out) * sizeof *out);
}

sl_status sl_aug_speed(const float *x, size_t n, double factor, float *out, size_t n_out)
{
    if (!(factor >= 0.5 && factor <= 2)) return sl_fail(SL_EARG, "speed: factor %g is outside [0.5, 2]", factor);
    sl_aug_sinc s;
    SL_TRY(sl_aug_sinc_new(&s, 0.96 * (factor > 1 ? 1 / factor : 1)));
    sl_aug_sinc_resample(&s, x, n, factor, out, n_out);
    sl_aug_sinc_free(&s);
    return SL_OK;
}

void sl_aug_time_mask(float *f, size_t bands, size_t frames, size_t t0, size_t w, float value)
{
    if (t0 >= frames) return;
    size_t t1 = t0 + w < frames ? t0 + w : frames;
    for (size_t b = 0; b < bands; b++)
        for (size_t t = t0; t < t1; t++) f[b * frames + t] = value;
}

void sl_aug_freq_mask(float *f, size_t bands, size_t frames, size_t b0, size_t w, float value)
{
    if (b0 >= bands) return;
    size_t b1 = b0 + w < bands ? b0 + w : bands;
    for (size_t b = b0; b < b1; b++)
        for (size_t t = 0; t < frames; t++) f[b * frames + t] = value;
}
