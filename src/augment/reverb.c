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

sl_status sl_aug_convolve(const float *x, size_t n, const float *ir, size_t m, float *y)
{
    if (n == 0) return sl_fail(SL_EARG, "convolve: empty signal (n = 0)");
    if (m == 0) return sl_fail(SL_EARG, "convolve: empty impulse response (m = 0)");
    if (!x || !ir || !y) return sl_fail(SL_EARG, "convolve: no signal, impulse response or output given");
    /* y[0..n) depends on ir[0..n) only: a longer response is cut, which keeps the transform small */
    if (m > n) m = n;
    size_t len = n + m - 1, nfft = 1;
    if (len > MAX_FFT)
        return sl_fail(SL_EARG, "convolve: %zu + %zu - 1 samples need an FFT over the limit of %zu", n, m, MAX_FFT);
    while (nfft < len) nfft <<= 1;

    /* work space: the padded time signal (nfft), the two spectra (nfft / 2 + 1 complex each),
     * each 64-byte aligned */
    size_t t_floats = round_up(nfft), s_floats = round_up(nfft + 2);
    void *mem = malloc((t_floats + 2 * s_floats + ALIGN_FLOATS) * sizeof(float));
    if (!mem) return sl_fail(SL_ENOMEM, "convolve: out of memory (FFT of %zu)", nfft);
    float *t = align_up(mem), *X = t + t_floats, *H = X + s_floats;
    sl_fft *fft = NULL;
    sl_status s = sl_fft_new(&fft, nfft);
    if (s != SL_OK) {
        free(mem);
        sl_error_prefix("convolve");
        return s;
    }
    memcpy(t, x, n * sizeof *t);
    memset(t + n, 0, (nfft - n) * sizeof *t);
    sl_fft_forward(fft, t, X);
    memcpy(t, ir, m * sizeof *t);
    memset(t + m, 0, (nfft - m) * sizeof *t);
    sl_fft_forward(fft, t, H);
    for (size_t k = 0; k <= nfft / 2; k++) {
        float xr = X[2 * k], xi = X[2 * k + 1], hr = H[2 * k], hi = H[2 * k + 1];
        X[2 * k] = xr * hr - xi * hi;
        X[2 * k + 1] = xr * hi + xi * hr;
    }
    s = sl_fft_inverse(fft, X, t); /* scaled by 1 / nfft */
    /* x was read in full above, so y may be x */
    if (s == SL_OK) memcpy(y, t, n * sizeof *y);
    else sl_error_prefix("convolve");
    sl_fft_free(fft);
    free(mem);
    return s;
}
