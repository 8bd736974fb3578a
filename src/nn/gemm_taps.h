/* The convolutions' matrix products, with B read in place from a padded grid.
 *
 * A convolution over a zero-padded input laid out as a grid (one plane per channel) is one matrix
 * product whose B matrix has a row per (channel, tap): the plane shifted by the tap's offset.
 * Instead of copying those rows into an im2col matrix, B is described by where each row starts:
 *     row (ch, tap) of B = b + ch * cs + toff[tap],  n values, contiguous
 * and rows are numbered k = ch * t + tap, so A's columns are in the order of a (C_out, C_in, taps)
 * weight array: the weights are used as they are stored.
 *
 * Two implementations: kernels of our own for processors with AVX-512 (a register tile of 8 rows
 * by 48 columns for the product, 4 by 6 for the weight gradient; chosen when the running processor
 * has AVX-512F, float builds only), and otherwise one CBLAS GEMM per tap on a tap-major copy of A.
 * The choice depends only on the processor, so a machine always gives the same bits. */
#ifndef SIGLOOP_NN_GEMM_TAPS_H
#define SIGLOOP_NN_GEMM_TAPS_H

#include <stddef.h>

#include "sigloop/nn.h"

typedef struct {
    const sl_real *b;      /* the grid */
    size_t c, t;           /* channels and taps: B has K = c t rows */
    size_t cs;             /* distance between channels' planes (>= n) */
    const ptrdiff_t *toff; /* (t) each tap's offset in a plane */
} sl_taps;

typedef enum { SL_GEMM_AUTO, SL_GEMM_BLAS, SL_GEMM_AVX512 } sl_gemm_impl;

/* Reals of scratch the products below need for an A of m rows and K = c t columns. */
size_t sl_gemm_taps_scratch(size_t m, size_t k);

/* C (m, n; ldc) = (accumulate ? C : 0) + A (m, K; lda) B.  Overwrites or adds to C only. */
void sl_gemm_taps(sl_gemm_impl impl, size_t m, size_t n, const sl_real *a, size_t lda, const sl_taps *b, sl_real *c,
                  size_t ldc, int accumulate, sl_real *scratch);

/* D (m, K; ldd) += A (m, n; lda) B^T: the weight gradient, dy against the input's taps. */
void sl_gemm_taps_t(sl_gemm_impl impl, size_t m, size_t n, const sl_real *a, size_t lda, const sl_taps *b,
                    sl_real *d, size_t ldd, sl_real *scratch);

/* 1 when SL_GEMM_AUTO takes the AVX-512 kernels on this processor (and in this build). */
int sl_gemm_has_avx512(void);

#endif
