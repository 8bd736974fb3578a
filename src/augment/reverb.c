/* Reverberation: a synthetic room impulse response and FFT convolution with it.
 *
 * The impulse response is the usual statistical model of a diffuse late reverberation: a direct
 * path followed by Gaussian noise under an exponential envelope (Schroeder, "Frequency-correlation
 * functions of frequency responses in rooms", JASA 1962; Polack's model, thesis 1988; the same
 * model is used e.g. by Lehmann and Johansson's fast RIR synthesis, JASA 2008). RT60 is the time
 * in which the energy falls by 60 dB, so the amplitude envelope is 10^(-3 t / rt60).
 *
 * Convolution multiplies the spectra of the zero-padded signal and response: one real FFT of the
 * next power of two that holds the linear convolution, so the circular product has no wrap-around. */
#include "augment/augment_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/dsp.h"

#define MAX_FFT ((size_t)1 << 24) /* sl_fft_new's limit */
#define ALIGN_FLOATS 16           /* 64 bytes: FFTW's SIMD plans need their arrays aligned */
/* The tail's level: its expected energy (before normalisation) is rt60 / REF_RT60 times the
 * direct path's, so the direct-to-reverberant ratio is 10 log10(REF_RT60 / rt60) dB (0 dB at
 * 0.5 s, -4 dB at 1.25 s). The reverberant energy of a diffuse field grows in proportion to the
 * reverberation time (Sabine), and this way it does not depend on the sample rate. */
#define REF_RT60 0.5

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

static float *align_up(void *p)
{
    uintptr_t a = ((uintptr_t)p + 63) & ~(uintptr_t)63;
    return (float *)a;
}

void sl_aug_synth_ir(sl_rng *r, double rt60, double sample_rate, float *ir, size_t n)
{
    if (n == 0) return;
    memset(ir, 0, n * sizeof *ir);
    ir[0] = 1.0f;
    /* A response with no decay time (or no sample rate) is the direct path alone. */
    if (!(rt60 > 0) || !(sample_rate > 0) || !isfinite(rt60) || !isfinite(sample_rate)) return;
    /* amplitude factor per sample: exp(-a), with exp(-2 a rt60 fs) = 10^-6 */
    double a = 3.0 * log(10.0) / (rt60 * sample_rate);
    /* per-sample variance at the start of the tail: the geometric sum of sigma0^2 exp(-2 a i)
     * over i >= 1 is sigma0^2 exp(-2a) / (1 - exp(-2a)) = rt60 / REF_RT60 (see REF_RT60) */
    double sigma0 = sqrt(rt60 / REF_RT60 * -expm1(-2.0 * a) / exp(-2.0 * a));
    double energy = 1.0; /* the direct path's */
    for (size_t i = 1; i < n; i++) {
        double v = sigma0 * exp(-a * (double)i) * sl_rng_normal(r);
        ir[i] = (float)v;
        energy += v * v;
    }
    double g = 1.0 / sqrt(energy);
    for (size_t i = 0; i < n; i++) ir[i] = (float)(ir[i] * g);
}

sl_status sl_aug_conv_new(sl_aug_conv *c, size_t n, size_t m_max)
{
    memset(c, 0, sizeof *c);
    if (n == 0) return sl_fail(SL_EARG, "convolve: empty signal (n = 0)");
    if (m_max == 0) return sl_fail(SL_EARG, "convolve: empty impulse response (m = 0)");
    /* y[0..n) depends on ir[0..n) only: a longer response is cut, which keeps the transform small */
    if (m_max > n) m_max = n;
    size_t len = n + m_max - 1, nfft = 1;
    if (len > MAX_FFT)
        return sl_fail(SL_EARG, "convolve: %zu + %zu - 1 samples need an FFT over the limit of %zu", n, m_max, MAX_FFT);
    while (nfft < len) nfft <<= 1;
    /* work space: the padded time signal (nfft), the two spectra (nfft / 2 + 1 complex each),
     * each 64-byte aligned */
    size_t t_floats = round_up(nfft), s_floats = round_up(nfft + 2);
    c->mem = malloc((t_floats + 2 * s_floats + ALIGN_FLOATS) * sizeof(float));
    if (!c->mem) return sl_fail(SL_ENOMEM, "convolve: out of memory (FFT of %zu)", nfft);
    c->t = align_up(c->mem);
    c->X = c->t + t_floats;
    c->H = c->X + s_floats;
    c->nfft = nfft;
    c->n = n;
    sl_status s = sl_fft_new(&c->fft, nfft);
    if (s != SL_OK) {
        free(c->mem);
        memset(c, 0, sizeof *c);
        sl_error_prefix("convolve");
    }
    return s;
}

void sl_aug_conv_free(sl_aug_conv *c)
{
    if (!c) return;
    sl_fft_free(c->fft);
    free(c->mem);
    memset(c, 0, sizeof *c);
}

void sl_aug_conv_spectrum(sl_aug_conv *c, const float *ir, size_t m, float *H)
{
    if (m > c->n) m = c->n;
    memcpy(c->t, ir, m * sizeof *c->t);
    memset(c->t + m, 0, (c->nfft - m) * sizeof *c->t);
    sl_fft_forward(c->fft, c->t, H);
}

sl_status sl_aug_conv_run(sl_aug_conv *c, const float *x, const float *H, float *y)
{
    size_t n = c->n, nfft = c->nfft;
    float *X = c->X;
    memcpy(c->t, x, n * sizeof *c->t);
    memset(c->t + n, 0, (nfft - n) * sizeof *c->t);
    sl_fft_forward(c->fft, c->t, X);
    for (size_t k = 0; k <= nfft / 2; k++) {
        float xr = X[2 * k], xi = X[2 * k + 1], hr = H[2 * k], hi = H[2 * k + 1];
        X[2 * k] = xr * hr - xi * hi;
        X[2 * k + 1] = xr * hi + xi * hr;
    }
    sl_status s = sl_fft_inverse(c->fft, X, c->t); /* scaled by 1 / nfft */
    /* x was read in full above, so y may be x */
    if (s == SL_OK) memcpy(y, c->t, n * sizeof *y);
    else sl_error_prefix("convolve");
    return s;
}

sl_status sl_aug_convolve(const float *x, size_t n, const float *ir, size_t m, float *y)
{
    if (!x || !ir || !y) return sl_fail(SL_EARG, "convolve: no signal, impulse response or output given");
    sl_aug_conv c;
    SL_TRY(sl_aug_conv_new(&c, n, m));
    sl_aug_conv_spectrum(&c, ir, m, c.H);
    sl_status s = sl_aug_conv_run(&c, x, c.H, y);
    sl_aug_conv_free(&c);
    return s;
}
