/* Windows, mel scales and filterbanks, the DCT matrix and deltas, each following torchaudio's
 * definitions so fixtures made with torchaudio match to float precision. */
#include "sigloop/dsp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

sl_status sl_window(sl_window_type type, size_t n, float *w)
{
    if (n == 0) return sl_fail(SL_EARG, "window length must be at least 1");
    /* Periodic windows divide by n (torch.hann_window(n, periodic=True)); symmetric by n - 1. */
    double den = type == SL_WINDOW_HANN_SYMMETRIC ? (double)(n > 1 ? n - 1 : 1) : (double)n;
    for (size_t i = 0; i < n; i++) {
        double ph = 2.0 * PI * (double)i / den;
        double v;
        switch (type) {
        case SL_WINDOW_HANN:
        case SL_WINDOW_HANN_SYMMETRIC: v = 0.5 - 0.5 * cos(ph); break;
        case SL_WINDOW_HAMMING: v = 0.54 - 0.46 * cos(ph); break;
        case SL_WINDOW_BLACKMAN: v = 0.42 - 0.5 * cos(ph) + 0.08 * cos(2.0 * ph); break;
        case SL_WINDOW_RECTANGULAR: v = 1.0; break;
        default: return sl_fail(SL_EARG, "unknown window type %d", (int)type);
        }
        w[i] = (float)v;
    }
    if (n == 1 && type != SL_WINDOW_RECTANGULAR) w[0] = 1.0f; /* torch: a 1-point window is [1] */
    return SL_OK;
}

/* Slaney's scale (as librosa and torchaudio): linear below 1 kHz, logarithmic above. */
#define SLANEY_F_SP (200.0 / 3.0)
#define SLANEY_MIN_LOG_HZ 1000.0
#define SLANEY_MIN_LOG_MEL (SLANEY_MIN_LOG_HZ / SLANEY_F_SP)
#define SLANEY_LOGSTEP (log(6.4) / 27.0)

double sl_hz_to_mel(double hz, sl_mel_scale scale)
{
    if (scale == SL_MEL_HTK) return 2595.0 * log10(1.0 + hz / 700.0);
    if (hz < SLANEY_MIN_LOG_HZ) return hz / SLANEY_F_SP;
    return SLANEY_MIN_LOG_MEL + log(hz / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
}

double sl_mel_to_hz(double mel, sl_mel_scale scale)
{
    if (scale == SL_MEL_HTK) return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
    if (mel < SLANEY_MIN_LOG_MEL) return mel * SLANEY_F_SP;
    return SLANEY_MIN_LOG_HZ * exp(SLANEY_LOGSTEP * (mel - SLANEY_MIN_LOG_MEL));
}

sl_status sl_mel_filterbank(size_t n_freqs, double f_min, double f_max, size_t n_mels, double sample_rate,
                            sl_mel_scale scale, int slaney_norm, float *fb)
{
    if (n_mels < 1) return sl_fail(SL_EARG, "n_mels must be at least 1");
    if (n_freqs < 2) return sl_fail(SL_EARG, "need at least 2 frequency bins (n_fft >= 2)");
    if (!(sample_rate > 0)) return sl_fail(SL_EARG, "sample_rate must be positive");
    if (!(f_min >= 0) || !(f_min < f_max))
        return sl_fail(SL_EARG, "f_min (%g Hz) must be >= 0 and below f_max (%g Hz)", f_min, f_max);
    if (f_max > sample_rate / 2 * (1 + 1e-12))
        return sl_fail(SL_EARG, "f_max (%g Hz) is above the Nyquist frequency (%g Hz)", f_max, sample_rate / 2);
    double *f_pts = malloc((n_mels + 2) * sizeof *f_pts);
    if (!f_pts) return sl_fail(SL_ENOMEM, "out of memory");
    /* torch.linspace in float32 in torchaudio; double here differs by ~1e-7 relative, well
     * inside the 1e-6 the fixtures are held to. */
    double m_min = sl_hz_to_mel(f_min, scale), m_max = sl_hz_to_mel(f_max, scale);
    for (size_t i = 0; i < n_mels + 2; i++)
        f_pts[i] = sl_mel_to_hz(m_min + (m_max - m_min) * (double)i / (double)(n_mels + 1), scale);
    for (size_t k = 0; k < n_freqs; k++) {
        double f = sample_rate / 2 * (double)k / (double)(n_freqs - 1);
        for (size_t m = 0; m < n_mels; m++) {
            double down = (f - f_pts[m]) / (f_pts[m + 1] - f_pts[m]);
            double up = (f_pts[m + 2] - f) / (f_pts[m + 2] - f_pts[m + 1]);
            double v = fmax(0.0, fmin(down, up));
            if (slaney_norm) v *= 2.0 / (f_pts[m + 2] - f_pts[m]);
            fb[k * n_mels + m] = (float)v;
        }
    }
    free(f_pts);
    return SL_OK;
}

void sl_dct_matrix(size_t n_mfcc, size_t n_mels, float *dct)
{
    for (size_t n = 0; n < n_mels; n++)
        for (size_t k = 0; k < n_mfcc; k++) {
            double v = cos(PI / (double)n_mels * ((double)n + 0.5) * (double)k);
            v *= k == 0 ? sqrt(1.0 / (double)n_mels) : sqrt(2.0 / (double)n_mels);
            dct[n * n_mfcc + k] = (float)v;
        }
}

sl_status sl_deltas(const float *x, size_t n_rows, size_t n_cols, int width, float *d)
{
    if (width < 3 || width % 2 == 0) return sl_fail(SL_EARG, "delta width must be odd and >= 3 (got %d)", width);
    long h = (width - 1) / 2;
    double denom = (double)(h * (h + 1) * (2 * h + 1)) / 3.0;
    for (size_t r = 0; r < n_rows; r++) {
        const float *row = x + r * n_cols;
        for (size_t t = 0; t < n_cols; t++) {
            double acc = 0;
            for (long k = -h; k <= h; k++) {
                long j = (long)t + k;
                if (j < 0) j = 0;
                if (j >= (long)n_cols) j = (long)n_cols - 1;
                acc += (double)k * row[j];
            }
            d[r * n_cols + t] = (float)(acc / denom);
        }
    }
    return SL_OK;
}
