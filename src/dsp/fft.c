/* Real FFTs on FFTW, single precision. A plan is made once, with buffers of FFTW's own alignment;
 * calls pass their own arrays through fftwf_execute_dft_r2c, which FFTW documents as safe from
 * several threads at once, so the plan is copied into an aligned scratch when the caller's arrays
 * are not aligned the same way. */
#include "sigloop/dsp.h"

#include <fftw3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sl_fft {
    size_t n;
    fftwf_plan fwd, inv;
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
    /* FFTW_UNALIGNED: the plan may then run on any caller's arrays. ESTIMATE keeps creation fast
     * and deterministic (MEASURE would time kernels and may pick differently run to run). */
    unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
    f->fwd = fftwf_plan_dft_r2c_1d((int)n, x, X, flags);
    f->inv = fftwf_plan_dft_c2r_1d((int)n, X, x, flags | FFTW_DESTROY_INPUT);
    fftwf_free(x);
    fftwf_free(X);
    if (!f->fwd || !f->inv) {
        sl_fft_free(f);
        return sl_fail(SL_EINTERNAL, "FFTW could not plan an FFT of size %zu", n);
    }
    *out = f;
    return SL_OK;
}

void sl_fft_free(sl_fft *f)
{
    if (!f) return;
    if (f->fwd) fftwf_destroy_plan(f->fwd);
    if (f->inv) fftwf_destroy_plan(f->inv);
    free(f);
}

size_t sl_fft_size(const sl_fft *f) { return f->n; }

void sl_fft_forward(const sl_fft *f, const float *x, float *X)
{
    /* r2c does not write its input (without FFTW_DESTROY_INPUT), hence the cast. */
    fftwf_execute_dft_r2c(f->fwd, (float *)x, (fftwf_complex *)X);
}

sl_status sl_fft_inverse(const sl_fft *f, const float *X, float *x)
{
    /* c2r destroys its input: work on a copy so X stays the caller's. */
    size_t m = 2 * (f->n / 2 + 1);
    float stack[2 * 1024 + 2];
    float *tmp = m <= sizeof stack / sizeof *stack ? stack : malloc(m * sizeof *tmp);
    if (!tmp) return sl_fail(SL_ENOMEM, "out of memory");
    memcpy(tmp, X, m * sizeof *tmp);
    fftwf_execute_dft_c2r(f->inv, (fftwf_complex *)tmp, x);
    float scale = 1.0f / (float)f->n;
    for (size_t i = 0; i < f->n; i++) x[i] *= scale;
    if (tmp != stack) free(tmp);
    return SL_OK;
}
