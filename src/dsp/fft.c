/* Real FFTs on FFTW, single precision. Plans are made once; calls pass their own arrays through
 * fftwf_execute_dft_r2c, which FFTW documents as safe from several threads at once. Arrays aligned
 * to 64 bytes get the SIMD plan; others a plan made for any alignment. */
#include "sigloop/dsp.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sl_fft {
    size_t n;
    size_t howmany;          /* batched plans: transforms per call (then fwd only) */
    size_t in_dist, out_dist;
    float *twiddle;          /* batched, even n: (n/2 + 1) complex exp(-2 pi i k / n), for the split */
    fftwf_plan fwd, inv;     /* SIMD plans: arrays aligned as fftwf_malloc aligns them */
    fftwf_plan fwd_u, inv_u; /* the same for arrays of any alignment (slower: no SIMD) */
};

/* FFTW's planner is not reentrant; fftwf_make_planner_thread_safe makes it so for the whole
 * process (idempotent, FFTW >= 3.3.5). The pthread_once guards only that call. */
static pthread_once_t planner_once = PTHREAD_ONCE_INIT;
static void make_planner_safe(void) { fftwf_make_planner_thread_safe(); }

sl_status sl_fft_new(sl_fft **out, size_t n)
{
    *out = NULL;
    if (n < 1 || n > (1u << 24)) return sl_fail(SL_EARG, "FFT size %zu out of range [1, 2^24]", n);
    pthread_once(&planner_once, make_planner_safe);
    sl_fft *f = calloc(1, sizeof *f);
    float *x = fftwf_alloc_real(n);
    fftwf_complex *X = fftwf_alloc_complex(n / 2 + 1);
    if (!f || !x || !X) {
        free(f);
        fftwf_free(x);
        fftwf_free(X);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    f->n = n;
    /* ESTIMATE keeps creation fast and the choice of algorithm the same on every run (MEASURE
     * times kernels and may pick differently, and so round differently, from run to run). */
    unsigned flags = FFTW_ESTIMATE;
    f->fwd = fftwf_plan_dft_r2c_1d((int)n, x, X, flags);
    f->inv = fftwf_plan_dft_c2r_1d((int)n, X, x, flags | FFTW_DESTROY_INPUT);
    f->fwd_u = fftwf_plan_dft_r2c_1d((int)n, x, X, flags | FFTW_UNALIGNED);
    f->inv_u = fftwf_plan_dft_c2r_1d((int)n, X, x, flags | FFTW_UNALIGNED | FFTW_DESTROY_INPUT);
    fftwf_free(x);
    fftwf_free(X);
    if (!f->fwd || !f->inv || !f->fwd_u || !f->inv_u) {
        sl_fft_free(f);
        return sl_fail(SL_EINTERNAL, "FFTW could not plan an FFT of size %zu", n);
    }
    *out = f;
    return SL_OK;
}

sl_status sl_fft_new_batch(sl_fft **out, size_t n, size_t howmany, size_t in_dist, size_t out_dist)
{
    *out = NULL;
    if (n < 1 || n > (1u << 24) || howmany < 1 || howmany > 1024 || in_dist < n || out_dist < 2 * (n / 2 + 1))
        return sl_fail(SL_EARG, "batched FFT: bad sizes (n %zu, howmany %zu, dist %zu/%zu)", n, howmany, in_dist, out_dist);
    pthread_once(&planner_once, make_planner_safe);
    sl_fft *f = calloc(1, sizeof *f);
    float *x = fftwf_alloc_real(howmany * in_dist);
    fftwf_complex *X = fftwf_alloc_complex(howmany * out_dist / 2);
    if (!f || !x || !X) {
        free(f);
        fftwf_free(x);
        fftwf_free(X);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    f->n = n;
    f->howmany = howmany;
    f->in_dist = in_dist;
    f->out_dist = out_dist;
    int nn = (int)n, half = (int)(n / 2);
    if (n % 2 == 0 && n >= 4 && in_dist % 2 == 0) {
        /* A real FFT of even n as a complex FFT of n/2 points on (x[0] + i x[1], x[2] + i x[3], ...)
         * and a split step: FFTW's ESTIMATE planner picks far faster kernels for the complex
         * transform (measured 3x for n = 256) than for its own real one, and ESTIMATE keeps the
         * plan, and so the bits, the same on every run. */
        f->twiddle = malloc((n / 2 + 1) * 2 * sizeof *f->twiddle);
        if (f->twiddle)
            for (size_t k = 0; k <= n / 2; k++) {
                f->twiddle[2 * k] = (float)cos(-2.0 * 3.14159265358979323846 * (double)k / (double)n);
                f->twiddle[2 * k + 1] = (float)sin(-2.0 * 3.14159265358979323846 * (double)k / (double)n);
            }
        f->fwd = fftwf_plan_many_dft(1, &half, (int)howmany, (fftwf_complex *)x, NULL, 1, (int)(in_dist / 2), X, NULL,
                                     1, (int)(out_dist / 2), FFTW_FORWARD, FFTW_ESTIMATE);
    } else {
        /* one plan for several frames at once */
        f->fwd = fftwf_plan_many_dft_r2c(1, &nn, (int)howmany, x, NULL, 1, (int)in_dist, X, NULL, 1,
                                         (int)(out_dist / 2), FFTW_ESTIMATE);
    }
    fftwf_free(x);
    fftwf_free(X);
    if (!f->fwd) {
        sl_fft_free(f);
        return sl_fail(SL_EINTERNAL, "FFTW could not plan %zu FFTs of size %zu", howmany, n);
    }
    *out = f;
    return SL_OK;
}

void sl_fft_forward_batch(const sl_fft *f, const float *x, float *X)
{
    if (!f->twiddle) {
        fftwf_execute_dft_r2c(f->fwd, (float *)x, (fftwf_complex *)X);
        return;
    }
    fftwf_execute_dft(f->fwd, (fftwf_complex *)x, (fftwf_complex *)X);
    /* The split: with Z the n/2-point transform, E[k] = (Z[k] + conj Z[M-k]) / 2 is the transform of
     * the even samples, O[k] = (Z[k] - conj Z[M-k]) / 2i of the odd ones, and X[k] = E[k] + w^k O[k]
     * (w = exp(-2 pi i / n)); X[k] and X[M-k] come from the same pair, so it runs in place. */
    const size_t m = f->n / 2;
    const float *w = f->twiddle;
    for (size_t t = 0; t < f->howmany; t++) {
        float *z = X + t * f->out_dist;
        float z0r = z[0], z0i = z[1];
        for (size_t k = 1; 2 * k <= m; k++) {
            size_t q = m - k;
            float ar = z[2 * k], ai = z[2 * k + 1], br = z[2 * q], bi = z[2 * q + 1];
            /* E = (a + conj b) / 2, O = (a - conj b) / (2i) */
            float er = 0.5f * (ar + br), ei = 0.5f * (ai - bi);
            float or_ = 0.5f * (ai + bi), oi = -0.5f * (ar - br);
            float xr = er + w[2 * k] * or_ - w[2 * k + 1] * oi, xi = ei + w[2 * k] * oi + w[2 * k + 1] * or_;
            /* X[M-k] = conj(E[k]) + w^(M-k) conj(O[k]) */
            float eqr = er, eqi = -ei, oqr = or_, oqi = -oi;
            float yr = eqr + w[2 * q] * oqr - w[2 * q + 1] * oqi, yi = eqi + w[2 * q] * oqi + w[2 * q + 1] * oqr;
            z[2 * k] = xr;
            z[2 * k + 1] = xi;
            z[2 * q] = yr;
            z[2 * q + 1] = yi;
        }
        z[0] = z0r + z0i; /* X[0] = E[0] + O[0], X[M] = E[0] - O[0], both real */
        z[1] = 0.0f;
        z[2 * m] = z0r - z0i;
        z[2 * m + 1] = 0.0f;
    }
}

void sl_fft_free(sl_fft *f)
{
    if (!f) return;
    if (f->fwd) fftwf_destroy_plan(f->fwd);
    if (f->inv) fftwf_destroy_plan(f->inv);
    if (f->fwd_u) fftwf_destroy_plan(f->fwd_u);
    free(f->twiddle);
    if (f->inv_u) fftwf_destroy_plan(f->inv_u);
    free(f);
}

size_t sl_fft_size(const sl_fft *f) { return f->n; }

void sl_fft_forward(const sl_fft *f, const float *x, float *X)
{
    /* r2c does not write its input (without FFTW_DESTROY_INPUT), hence the cast. The SIMD plan may
     * run only on arrays aligned like the ones it was made with. */
    int aligned = fftwf_alignment_of((float *)x) == 0 && fftwf_alignment_of(X) == 0;
    fftwf_execute_dft_r2c(aligned ? f->fwd : f->fwd_u, (float *)x, (fftwf_complex *)X);
}

sl_status sl_fft_inverse(const sl_fft *f, const float *X, float *x)
{
    /* c2r destroys its input: work on a copy so X stays the caller's. */
    size_t m = 2 * (f->n / 2 + 1);
    float stack[2 * 1024 + 2];
    float *tmp = m <= sizeof stack / sizeof *stack ? stack : malloc(m * sizeof *tmp);
    if (!tmp) return sl_fail(SL_ENOMEM, "out of memory");
    memcpy(tmp, X, m * sizeof *tmp);
    int aligned = fftwf_alignment_of(tmp) == 0 && fftwf_alignment_of(x) == 0;
    fftwf_execute_dft_c2r(aligned ? f->inv : f->inv_u, (fftwf_complex *)tmp, x);
    float scale = 1.0f / (float)f->n;
    for (size_t i = 0; i < f->n; i++) x[i] *= scale;
    if (tmp != stack) free(tmp);
    return SL_OK;
}
