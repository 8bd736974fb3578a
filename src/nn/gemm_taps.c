/* The convolutions' matrix products over in-place tap rows (see gemm_taps.h).
 *
 * Why kernels of our own: the convolutions here have 16 to 64 output channels and 9 to 600 taps,
 * shapes where OpenBLAS 0.3.21 reaches 55-150 GFLOP/s a core on an AVX-512 machine (its Haswell
 * kernels, which OPENBLAS_CORETYPE can pin, 55-95), and it needs the taps copied into an im2col
 * matrix first. The kernels below read the taps where they lie and reach about 190 GFLOP/s on the
 * same shapes (bench/bench_gemm.c prints both). */
#include "nn/gemm_taps.h"

#include <cblas.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(SIGLOOP_NN_DOUBLE)
#define SL_GEMM_X86 1
#include <immintrin.h>
#endif

#ifdef SIGLOOP_NN_DOUBLE
#define GEMM cblas_dgemm
#else
#define GEMM cblas_sgemm
#endif

int sl_gemm_has_avx512(void)
{
#ifdef SL_GEMM_X86
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

size_t sl_gemm_taps_scratch(size_t m, size_t k) { return m * k; }

/* ---- CBLAS: one GEMM per tap ------------------------------------------------------------------ */

/* At[tap] (m, c) = A[:, ch t + tap]: each tap's weights as a matrix of their own. */
static void tap_major(size_t m, const sl_real *a, size_t lda, const sl_taps *b, sl_real *at)
{
    for (size_t i = 0; i < m; i++)
        for (size_t ch = 0; ch < b->c; ch++)
            for (size_t tp = 0; tp < b->t; tp++) at[(tp * m + i) * b->c + ch] = a[i * lda + ch * b->t + tp];
}

static void blas_taps(size_t m, size_t n, const sl_real *a, size_t lda, const sl_taps *b, sl_real *c, size_t ldc,
                      int accumulate, sl_real *at)
{
    tap_major(m, a, lda, b, at);
    for (size_t tp = 0; tp < b->t; tp++)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)b->c, 1, at + tp * m * b->c,
             (int)b->c, b->b + b->toff[tp], (int)b->cs, tp == 0 && !accumulate ? 0 : 1, c, (int)ldc);
}

static void blas_taps_t(size_t m, size_t n, const sl_real *a, size_t lda, const sl_taps *b, sl_real *d, size_t ldd,
                        sl_real *dt)
{
    for (size_t tp = 0; tp < b->t; tp++)
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)b->c, (int)n, 1, a, (int)lda,
             b->b + b->toff[tp], (int)b->cs, 0, dt + tp * m * b->c, (int)b->c);
    for (size_t i = 0; i < m; i++)
        for (size_t ch = 0; ch < b->c; ch++)
            for (size_t tp = 0; tp < b->t; tp++) d[i * ldd + ch * b->t + tp] += dt[(tp * m + i) * b->c + ch];
}

/* ---- AVX-512 ---------------------------------------------------------------------------------- */

#ifdef SL_GEMM_X86
#define AVX512 __attribute__((target("avx512f")))
#define TILE static inline __attribute__((always_inline, target("avx512f")))
#define MR 8 /* rows of C per tile */
#define NV 3 /* vectors of 16 columns per tile: 8 x 3 accumulators, 3 for B, of 32 registers */

/* The tiles' loops over rows and vectors are unrolled completely (the pragmas), so that their
 * accumulators live in registers: left to itself GCC kept some tiles' accumulators in memory,
 * which made batch-1 inference 25 % slower.
 *
 * C[0:mr, 0:16 (nv - 1) + popcount(last)] of a tile. Per row k of B: nv loads, mr broadcasts of
 * A[:, k] and mr nv FMAs; every B row of the tile is read from L1 by each of the C_out / 8 tiles. */
TILE void fwd_tile(int mr, int nv, __mmask16 last, const float *a, size_t lda, const sl_taps *b, size_t n0, float *c,
                   size_t ldc, int accumulate)
{
    __m512 s[MR][NV];
    #pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) s[i][v] = _mm512_setzero_ps();
    const float *ak = a;
    for (size_t ch = 0; ch < b->c; ch++) {
        const float *plane = b->b + ch * b->cs + n0;
        for (size_t tp = 0; tp < b->t; tp++, ak++) {
            const float *br = plane + b->toff[tp];
            __m512 bv[NV] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            #pragma GCC unroll 8
            for (int v = 0; v < nv; v++)
                bv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(last, br + 16 * v) : _mm512_loadu_ps(br + 16 * v);
            #pragma GCC unroll 8
            for (int i = 0; i < mr; i++) {
                __m512 av = _mm512_set1_ps(ak[(size_t)i * lda]);
                #pragma GCC unroll 8
                for (int v = 0; v < nv; v++) s[i][v] = _mm512_fmadd_ps(av, bv[v], s[i][v]);
            }
        }
    }
    #pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            float *cp = c + (size_t)i * ldc + 16 * v;
            __mmask16 mk = v == nv - 1 ? last : (__mmask16)0xffff;
            __m512 r = s[i][v];
            if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk, cp));
            _mm512_mask_storeu_ps(cp, mk, r);
        }
}

static AVX512 void avx512_taps(size_t m, size_t n, const float *a, size_t lda, const sl_taps *b, float *c,
                               size_t ldc, int accumulate)
{
    for (size_t n0 = 0; n0 < n; n0 += 16 * NV) {
        size_t nn = n - n0 < 16 * NV ? n - n0 : 16 * NV;
        int nv = (int)((nn + 15) / 16);
        size_t rest = nn - 16 * (size_t)(nv - 1);
        __mmask16 last = rest == 16 ? (__mmask16)0xffff : (__mmask16)((1u << rest) - 1);
        for (size_t m0 = 0; m0 < m; m0 += MR) {
            int mr = m - m0 < MR ? (int)(m - m0) : MR;
            const float *ap = a + m0 * lda;
            float *cp = c + m0 * ldc + n0;
            /* the common cases with constant sizes, so the tile lives in registers */
            if (mr == MR && nv == 3) fwd_tile(MR, 3, last, ap, lda, b, n0, cp, ldc, accumulate);
            else if (mr == MR && nv == 2) fwd_tile(MR, 2, last, ap, lda, b, n0, cp, ldc, accumulate);
            else if (mr == MR) fwd_tile(MR, 1, last, ap, lda, b, n0, cp, ldc, accumulate);
            else fwd_tile(mr, nv, last, ap, lda, b, n0, cp, ldc, accumulate);
        }
    }
}

#define WM 4 /* rows of D (output channels) per tile */
#define WK 6 /* columns of D (taps) per tile: 4 x 6 accumulators, 4 for A, 1 for B */

/* D[0:mr, 0:kr] += A[0:mr, :] B[rows br]^T, summed in 16 lanes over n, then across the lanes. */
TILE void wgrad_tile(int mr, int kr, size_t n, const float *a, size_t lda, const float *const *br, float *d,
                     size_t ldd)
{
    __m512 s[WM][WK];
    #pragma GCC unroll 8
    for (int i = 0; i < WM; i++)
        #pragma GCC unroll 8
        for (int j = 0; j < WK; j++) s[i][j] = _mm512_setzero_ps();
    size_t t = 0;
    for (; t + 16 <= n; t += 16) {
        __m512 av[WM] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        #pragma GCC unroll 8
        for (int i = 0; i < mr; i++) av[i] = _mm512_loadu_ps(a + (size_t)i * lda + t);
        #pragma GCC unroll 8
        for (int j = 0; j < kr; j++) {
            __m512 bv = _mm512_loadu_ps(br[j] + t);
            #pragma GCC unroll 8
            for (int i = 0; i < mr; i++) s[i][j] = _mm512_fmadd_ps(av[i], bv, s[i][j]);
        }
    }
    if (t < n) {
        __mmask16 mk = (__mmask16)((1u << (n - t)) - 1);
        __m512 av[WM] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        #pragma GCC unroll 8
        for (int i = 0; i < mr; i++) av[i] = _mm512_maskz_loadu_ps(mk, a + (size_t)i * lda + t);
        #pragma GCC unroll 8
        for (int j = 0; j < kr; j++) {
            __m512 bv = _mm512_maskz_loadu_ps(mk, br[j] + t);
            #pragma GCC unroll 8
            for (int i = 0; i < mr; i++) s[i][j] = _mm512_fmadd_ps(av[i], bv, s[i][j]);
        }
    }
    #pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
        #pragma GCC unroll 8
        for (int j = 0; j < kr; j++) d[(size_t)i * ldd + j] += _mm512_reduce_add_ps(s[i][j]);
}

static AVX512 void avx512_taps_t(size_t m, size_t n, const float *a, size_t lda, const sl_taps *b, float *d,
                                 size_t ldd)
{
    size_t k = b->c * b->t;
    for (size_t k0 = 0; k0 < k; k0 += WK) {
        int kr = k - k0 < WK ? (int)(k - k0) : WK;
        const float *br[WK];
        #pragma GCC unroll 8
        for (int j = 0; j < WK; j++) {
            size_t q = k0 + (size_t)(j < kr ? j : 0);
            br[j] = b->b + q / b->t * b->cs + b->toff[q % b->t];
        }
        for (size_t m0 = 0; m0 < m; m0 += WM) {
            int mr = m - m0 < WM ? (int)(m - m0) : WM;
            const float *ap = a + m0 * lda;
            float *dp = d + m0 * ldd + k0;
            if (mr == WM && kr == WK) wgrad_tile(WM, WK, n, ap, lda, br, dp, ldd);
            else wgrad_tile(mr, kr, n, ap, lda, br, dp, ldd);
        }
    }
}
#endif

/* ---- dispatch --------------------------------------------------------------------------------- */

/* SL_GEMM_AVX512 asked of a processor (or build) without it falls back to CBLAS. */
static int take_avx512(sl_gemm_impl impl) { return impl != SL_GEMM_BLAS && sl_gemm_has_avx512(); }

void sl_gemm_taps(sl_gemm_impl impl, size_t m, size_t n, const sl_real *a, size_t lda, const sl_taps *b, sl_real *c,
                  size_t ldc, int accumulate, sl_real *scratch)
{
    if (m == 0 || n == 0) return;
    if (b->c * b->t == 0) {
        if (!accumulate)
            for (size_t i = 0; i < m; i++) memset(c + i * ldc, 0, n * sizeof *c);
        return;
    }
#ifdef SL_GEMM_X86
    if (take_avx512(impl)) {
        avx512_taps(m, n, a, lda, b, c, ldc, accumulate);
        return;
    }
#endif
    (void)take_avx512(impl);
    blas_taps(m, n, a, lda, b, c, ldc, accumulate, scratch);
}

void sl_gemm_taps_t(sl_gemm_impl impl, size_t m, size_t n, const sl_real *a, size_t lda, const sl_taps *b,
                    sl_real *d, size_t ldd, sl_real *scratch)
{
    if (m == 0 || n == 0 || b->c * b->t == 0) return;
#ifdef SL_GEMM_X86
    if (take_avx512(impl)) {
        avx512_taps_t(m, n, a, lda, b, d, ldd);
        return;
    }
#endif
    (void)take_avx512(impl);
    blas_taps_t(m, n, a, lda, b, d, ldd, scratch);
}
