/* Butterworth filters as biquad cascades: analog prototype poles, low/high/band-pass transform,
 * bilinear transform with pre-warped edges, conjugate poles paired into sections. */
#include "sigloop/dsp.h"

#include <complex.h>
#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846

void sl_biquads_reset(sl_biquads *f) { memset(f->state, 0, sizeof f->state); }

/* tan(pi f / fs): the bilinear map's pre-warped frequency (with 2 fs factored out). */
static double warp(double f, double fs) { return tan(PI * f / fs); }

double sl_butterworth_db(sl_filter_type type, int order, double f1, double f2, double sample_rate, double f)
{
    double w = warp(f, sample_rate), x;
    if (type == SL_FILTER_LOWPASS) x = w / warp(f1, sample_rate);
    else if (type == SL_FILTER_HIGHPASS) x = warp(f1, sample_rate) / w;
    else {
        double w1 = warp(f1, sample_rate), w2 = warp(f2, sample_rate);
        x = (w * w - w1 * w2) / (w * (w2 - w1));
    }
    return -10.0 * log10(1.0 + pow(fabs(x), 2.0 * order));
}

double sl_biquads_db(const sl_biquads *f, double f_hz, double sample_rate)
{
    double complex z1 = cexp(-I * 2.0 * PI * f_hz / sample_rate), z2 = z1 * z1, h = 1.0;
    for (size_t k = 0; k < f->n_sections; k++)
        h *= (f->b[k][0] + f->b[k][1] * z1 + f->b[k][2] * z2) / (1.0 + f->a[k][1] * z1 + f->a[k][2] * z2);
    return 20.0 * log10(cabs(h));
}

sl_status sl_butterworth(sl_biquads *f, sl_filter_type type, int order, double f1, double f2, double sample_rate)
{
    memset(f, 0, sizeof *f);
    int max_order = type == SL_FILTER_BANDPASS ? 8 : 16;
    if (order < 1 || order > max_order)
        return sl_fail(SL_EARG, "filter order must be in [1, %d] (got %d)", max_order, order);
    if (!(sample_rate > 0)) return sl_fail(SL_EARG, "filter: sample rate must be positive");
    double nyq = sample_rate / 2;
    if (!(f1 > 0 && f1 < nyq)) return sl_fail(SL_EARG, "filter: cutoff %g Hz must be in (0, %g) Hz", f1, nyq);
    if (type == SL_FILTER_BANDPASS && !(f2 > f1 && f2 < nyq))
        return sl_fail(SL_EARG, "filter: band edges %g and %g Hz must satisfy 0 < low < high < %g Hz", f1, f2, nyq);
    /* Analog poles in the s-plane of the pre-warped design (2 fs scaled out: s = tan(pi f / fs) on
     * the imaginary axis), then z = (1 + s) / (1 - s). */
    double complex poles[32];
    int np = 0;
    double w1 = warp(f1, sample_rate), w2 = type == SL_FILTER_BANDPASS ? warp(f2, sample_rate) : 0;
    for (int k = 0; k < order; k++) {
        double complex p = cexp(I * PI * (2.0 * k + order + 1) / (2.0 * order)); /* left half plane */
        if (type == SL_FILTER_LOWPASS) {
            poles[np++] = p * w1;
        } else if (type == SL_FILTER_HIGHPASS) {
            poles[np++] = w1 / p;
        } else {
            double bw = w2 - w1, wo2 = w1 * w2;
            double complex h = p * bw / 2, r = csqrt(h * h - wo2);
            poles[np++] = h + r;
            poles[np++] = h - r;
        }
    }
    for (int i = 0; i < np; i++) poles[i] = (1.0 + poles[i]) / (1.0 - poles[i]);
    /* Pair each pole with its conjugate (upper half-plane ones first), real poles with each other. */
    int used[32] = {0};
    size_t ns = 0;
    double complex real_left[32];
    int n_real = 0;
    for (int i = 0; i < np; i++) {
        if (used[i]) continue;
        used[i] = 1;
        if (fabs(cimag(poles[i])) < 1e-12) {
            real_left[n_real++] = creal(poles[i]);
            continue;
        }
        int best = -1;
        for (int j = 0; j < np; j++)
            if (!used[j] && (best < 0 || cabs(poles[j] - conj(poles[i])) < cabs(poles[best] - conj(poles[i])))) best = j;
        used[best] = 1;
        f->a[ns][0] = 1;
        f->a[ns][1] = -2.0 * creal(poles[i]);
        f->a[ns][2] = creal(poles[i] * conj(poles[i]));
        ns++;
    }
    for (int i = 0; i < n_real; i += 2) {
        f->a[ns][0] = 1;
        if (i + 1 < n_real) {
            f->a[ns][1] = -creal(real_left[i] + real_left[i + 1]);
            f->a[ns][2] = creal(real_left[i] * real_left[i + 1]);
        } else {
            f->a[ns][1] = -creal(real_left[i]);
            f->a[ns][2] = 0;
        }
        ns++;
    }
    /* Zeros: low-pass at z = -1, high-pass at z = 1, band-pass one of each per section. A first-
     * order section (a2 = 0) gets one zero. */
    for (size_t k = 0; k < ns; k++) {
        int first = f->a[k][2] == 0;
        if (type == SL_FILTER_LOWPASS) {
            f->b[k][0] = 1, f->b[k][1] = first ? 1 : 2, f->b[k][2] = first ? 0 : 1;
        } else if (type == SL_FILTER_HIGHPASS) {
            f->b[k][0] = 1, f->b[k][1] = first ? -1 : -2, f->b[k][2] = first ? 0 : 1;
        } else {
            f->b[k][0] = 1, f->b[k][1] = 0, f->b[k][2] = -1;
        }
    }
    f->n_sections = ns;
    /* Unit gain in the pass band: at DC, at Nyquist, or at the band's warped centre. */
    double ref = type == SL_FILTER_LOWPASS    ? 0.0
                 : type == SL_FILTER_HIGHPASS ? nyq
                                              : atan(sqrt(w1 * w2)) * sample_rate / PI;
    double g = pow(10.0, -sl_biquads_db(f, ref, sample_rate) / 20.0);
    /* spread the gain evenly so no section's output is out of scale */
    double gs = pow(g, 1.0 / (double)ns);
    for (size_t k = 0; k < ns; k++)
        for (int i = 0; i < 3; i++) f->b[k][i] *= gs;
    return SL_OK;
}

void sl_biquads_run(sl_biquads *f, float *x, size_t n)
{
    for (size_t k = 0; k < f->n_sections; k++) {
        const double b0 = f->b[k][0], b1 = f->b[k][1], b2 = f->b[k][2], a1 = f->a[k][1], a2 = f->a[k][2];
        double s1 = f->state[k][0], s2 = f->state[k][1];
        for (size_t i = 0; i < n; i++) {
            double in = x[i], y = b0 * in + s1;
            s1 = b1 * in - a1 * y + s2;
            s2 = b2 * in - a2 * y;
            x[i] = (float)y;
        }
        f->state[k][0] = s1;
        f->state[k][1] = s2;
    }
}
