/* Real FFTs on FFTW, single precision. Plans are made once; calls pass their own arrays through
 * fftwf_execute_dft_r2c, which FFTW documents as safe from several threads at once. Arrays aligned
 * to 64 bytes get the SIMD plan; others a plan made for any alignment. */
#include "sigloop/dsp.h"

#include <fftw3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sl_fft {
    size_t n;
    size_t howmany;          /* batched plans: transforms per call (then fwd only) */
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
    int nn = (int)n;
    /* one plan for several frames at once lets FFTW run its SIMD kernels across the frames */
    f->fwd = fftwf_plan_many_dft_r2c(1, &nn, (int)howmany, x, NULL, 1, (int)in_dist, X, NULL, 1,
                                     (int)(out_dist / 2), FFTW_ESTIMATE);
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
    fftwf_execute_dft_r2c(f->fwd, (float *)x, (fftwf_complex *)X);
}

void sl_fft_free(sl_fft *f)
{
    if (!f) return;
    if (f->fwd) fftwf_destroy_plan(f->fwd);
    if (f->inv) fftwf_destroy_plan(f->inv);
    if (f->fwd_u) fftwf_destroy_plan(f->fwd_u);
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
