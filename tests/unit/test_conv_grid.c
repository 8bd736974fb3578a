/* The convolutions' products and grid engine in float, on the kernels this processor takes:
 * sl_gemm_taps / sl_gemm_taps_t (AVX-512 and CBLAS) against a plain double-precision sum over
 * shapes that cover every tile remainder, and the grid engine's forward and backward against a
 * direct convolution written as loops, for strides, dilations, paddings and kernel shapes.
 * (The gradients themselves are checked by finite differences in f64/test_nn_grad.c, on the
 * CBLAS path of the double build.) */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/conv_grid.h"
#include "nn/gemm_taps.h"
#include "sigloop/rng.h"

static void fill(float *x, size_t n, uint64_t seed)
{
    sl_rng r = sl_rng_make(seed, 7);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * sl_rng_uniform_double(&r) - 1.0);
}

/* max |got - want| / max(1, |want|) */
static double rel_err(const float *got, const double *want, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        if (!(d <= e)) e = d; /* NaN counts as the worst */
    }
    return e;
}

#define TOL 2e-5
#define TOL_SUM 1e-6

/* max |got - want| / max(1e-3, sum of the terms' magnitudes): the error a float sum may make */
static double sum_err(const float *got, const double *want, const double *mag, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / fmax(1e-3, mag[i]);
        if (!(d <= e)) e = d;
    }
    return e;
}

typedef struct {
    size_t m, n, c, t;
} gshape;

/* Every remainder of the 8 x 48 product tile and the 4 x 6 weight-gradient tile, and K from 1 up. */
static const gshape shapes[] = {{1, 1, 1, 1},   {3, 5, 2, 3},   {8, 48, 16, 9},  {9, 49, 3, 3},  {16, 100, 16, 9},
                                {7, 17, 5, 1},  {24, 96, 24, 9}, {5, 33, 1, 9},  {13, 47, 7, 2}, {64, 130, 8, 9},
                                {2, 16, 40, 3}, {17, 250, 4, 5}, {4, 6, 6, 4},   {11, 95, 3, 7}};

static void run_product(sl_gemm_impl impl, const gshape *s, uint64_t seed)
{
    size_t k = s->c * s->t, cs = s->n + 13, lda = k + 2, ldc = s->n + 3;
    ptrdiff_t toff[16];
    sl_rng r = sl_rng_make(seed, 1);
    for (size_t j = 0; j < s->t; j++) toff[j] = (ptrdiff_t)(sl_rng_u64(&r) % 14); /* within the plane */
    float *a = malloc(s->m * lda * sizeof *a), *b = malloc((s->c * cs + 16) * sizeof *b);
    float *c = malloc(s->m * ldc * sizeof *c), *d = malloc(s->m * (k + 1) * sizeof *d);
    float *scratch = malloc(sl_gemm_taps_scratch(s->m, k) * sizeof *scratch + sizeof(float));
    double *want = malloc(s->m * ldc * sizeof *want), *wantd = malloc(s->m * (k + 1) * sizeof *wantd);
    fill(a, s->m * lda, seed);
    fill(b, s->c * cs + 16, seed + 1);
    sl_taps bt = {.b = b, .c = s->c, .t = s->t, .cs = cs, .toff = toff};
    for (int acc = 0; acc < 2; acc++) {
        fill(c, s->m * ldc, seed + 2);
        for (size_t i = 0; i < s->m; i++)
            for (size_t q = 0; q < ldc; q++) {
                double v = acc || q >= s->n ? (double)c[i * ldc + q] : 0;
                if (q < s->n)
                    for (size_t kk = 0; kk < k; kk++)
                        v += (double)a[i * lda + kk] * b[kk / s->t * cs + (size_t)toff[kk % s->t] + q];
                want[i * ldc + q] = v;
            }
        sl_gemm_taps(impl, s->m, s->n, a, lda, &bt, c, ldc, acc, scratch);
        double e = rel_err(c, want, s->m * ldc); /* columns past n must be untouched */
        if (e > TOL)
            fail_msg("product %zu x %zu, K = %zu x %zu, accumulate %d, impl %d: error %.2g > %.0e", s->m, s->n, s->c,
                     s->t, acc, (int)impl, e, TOL);
    }
    fill(d, s->m * (k + 1), seed + 3);
    for (size_t i = 0; i < s->m; i++)
        for (size_t kk = 0; kk < k + 1; kk++) {
            double v = d[i * (k + 1) + kk];
            if (kk < k)
                for (size_t q = 0; q < s->n; q++)
                    v += (double)a[i * lda + q % lda] * b[kk / s->t * cs + (size_t)toff[kk % s->t] + q];
            wantd[i * (k + 1) + kk] = v;
        }
    /* A for the gradient: (m, n) with leading dimension n + 2, the same values as a[.. % lda] */
    size_t lda2 = s->n + 2;
    float *a2 = malloc(s->m * lda2 * sizeof *a2);
    for (size_t i = 0; i < s->m; i++)
        for (size_t q = 0; q < lda2; q++) a2[i * lda2 + q] = a[i * lda + q % lda];
    sl_gemm_taps_t(impl, s->m, s->n, a2, lda2, &bt, d, k + 1, scratch);
    double e = rel_err(d, wantd, s->m * (k + 1));
    if (e > TOL)
        fail_msg("weight gradient %zu x %zu, n = %zu, impl %d: error %.2g > %.0e", s->m, k, s->n, (int)impl, e, TOL);
    free(a), free(a2), free(b), free(c), free(d), free(scratch), free(want), free(wantd);
}

static void test_products(void **state)
{
    (void)state;
    if (!sl_gemm_has_avx512()) print_message("(no AVX-512 here: both runs take CBLAS)\n");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        run_product(SL_GEMM_BLAS, &shapes[i], 100 + i);
        run_product(SL_GEMM_AVX512, &shapes[i], 100 + i);
        run_product(SL_GEMM_AUTO, &shapes[i], 100 + i);
    }
}

/* ---- the engine against a direct convolution ---- */

static size_t out_len(size_t in, size_t k, size_t s, size_t p, size_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

static void check_geom(sl_conv_geom g, uint64_t seed)
{
    g.h_out = out_len(g.h_in, g.kh, g.sh, g.ph, g.dh);
    g.w_out = out_len(g.w_in, g.kw, g.sw, g.pw, g.dw);
    size_t taps = g.kh * g.kw, nw = g.c_out * g.c_in * taps, nx = g.c_in * g.h_in * g.w_in;
    size_t ny = g.c_out * g.h_out * g.w_out;
    float *w = malloc((nw + g.c_out) * sizeof *w), *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
    float *dy = malloc(ny * sizeof *dy), *dx = malloc(nx * sizeof *dx), *dw = calloc(nw + g.c_out, sizeof *dw);
    float *wt = malloc(nw * sizeof *wt), *scratch = malloc(sl_conv_grid_scratch(&g) * sizeof *scratch);
    double *wy = calloc(ny, sizeof *wy), *wdx = calloc(nx, sizeof *wdx), *wdw = calloc(nw + g.c_out, sizeof *wdw);
    /* the sums of the terms' magnitudes: a float sum of many terms is compared against them */
    double *ay = calloc(ny, sizeof *ay), *adx = calloc(nx, sizeof *adx), *adw = calloc(nw + g.c_out, sizeof *adw);
    fill(w, nw + g.c_out, seed);
    fill(x, nx, seed + 1);
    fill(dy, ny, seed + 2);
    for (size_t o = 0; o < g.c_out; o++)
        for (size_t oh = 0; oh < g.h_out; oh++)
            for (size_t ow = 0; ow < g.w_out; ow++) {
                size_t yi = (o * g.h_out + oh) * g.w_out + ow;
                wy[yi] = w[nw + o];
                ay[yi] = fabs(w[nw + o]);
                wdw[nw + o] += dy[yi];
                adw[nw + o] += fabs(dy[yi]);
                for (size_t c = 0; c < g.c_in; c++)
                    for (size_t i = 0; i < g.kh; i++)
                        for (size_t j = 0; j < g.kw; j++) {
                            long h = (long)(oh * g.sh + i * g.dh) - (long)g.ph;
                            long v = (long)(ow * g.sw + j * g.dw) - (long)g.pw;
                            if (h < 0 || v < 0 || h >= (long)g.h_in || v >= (long)g.w_in) continue;
                            size_t xi = (c * g.h_in + (size_t)h) * g.w_in + (size_t)v;
                            size_t wi = ((o * g.c_in + c) * g.kh + i) * g.kw + j;
                            wy[yi] += (double)w[wi] * x[xi];
                            wdx[xi] += (double)w[wi] * dy[yi];
                            wdw[wi] += (double)dy[yi] * x[xi];
                            ay[yi] += fabs((double)w[wi] * x[xi]);
                            adx[xi] += fabs((double)w[wi] * dy[yi]);
                            adw[wi] += fabs((double)dy[yi] * x[xi]);
                        }
            }
    sl_conv_in xin = {x, g.h_in * g.w_in, g.w_in};
    sl_conv_grid_forward(&g, w, w + nw, xin, (sl_conv_out){y, g.h_out * g.w_out, g.w_out}, scratch);
    double e = sum_err(y, wy, ay, ny);
    char what[160];
    snprintf(what, sizeof what, "%zu->%zu ch, %zux%zu in, kernel %zux%zu, stride %zux%zu, pad %zux%zu, dilation %zux%zu",
             g.c_in, g.c_out, g.h_in, g.w_in, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw);
    if (e > TOL_SUM) fail_msg("forward %s: error %.2g > %.0e", what, e, TOL_SUM);
    sl_conv_grid_prepare(&g, w, wt);
    /* assign: every value of dx written (filled with NaN first, so a missed one shows) */
    for (size_t i = 0; i < nx; i++) dx[i] = NAN;
    sl_conv_grid_backward(&g, wt, xin, (sl_conv_in){dy, g.h_out * g.w_out, g.w_out},
                          (sl_conv_out){dx, g.h_in * g.w_in, g.w_in}, 1, dw, dw + nw, scratch);
    if ((e = sum_err(dx, wdx, adx, nx)) > TOL_SUM) fail_msg("dx (assign) %s: error %.2g > %.0e", what, e, TOL_SUM);
    if ((e = sum_err(dw, wdw, adw, nw + g.c_out)) > TOL_SUM) fail_msg("dw, db %s: error %.2g > %.0e", what, e, TOL_SUM);
    /* add: dx += the gradient, dw += again */
    for (size_t i = 0; i < nx; i++) {
        dx[i] = 1.0f;
        wdx[i] += 1.0;
        adx[i] += 1.0;
    }
    for (size_t i = 0; i < nw + g.c_out; i++) {
        wdw[i] *= 2;
        adw[i] *= 2;
    }
    sl_conv_grid_backward(&g, wt, xin, (sl_conv_in){dy, g.h_out * g.w_out, g.w_out},
                          (sl_conv_out){dx, g.h_in * g.w_in, g.w_in}, 0, dw, dw + nw, scratch);
    if ((e = sum_err(dx, wdx, adx, nx)) > TOL_SUM) fail_msg("dx (add) %s: error %.2g > %.0e", what, e, TOL_SUM);
    if ((e = sum_err(dw, wdw, adw, nw + g.c_out)) > TOL_SUM) fail_msg("dw twice %s: error %.2g > %.0e", what, e, TOL_SUM);
    free(w), free(x), free(y), free(dy), free(dx), free(dw), free(wt), free(scratch), free(wy), free(wdx), free(wdw);
    free(ay), free(adx), free(adw);
}

static void test_engine(void **state)
{
    (void)state;
    /* c_in, h_in, w_in, c_out, (h_out, w_out: computed), kh, kw, sh, sw, ph, pw, dh, dw */
    const sl_conv_geom cases[] = {
        {16, 40, 98, 16, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1},  /* ResNet-8's 3x3 */
        {16, 40, 98, 32, 0, 0, 3, 3, 2, 2, 1, 1, 1, 1},  /* its strided 3x3 */
        {16, 40, 98, 32, 0, 0, 1, 1, 2, 2, 0, 0, 1, 1},  /* its 1x1 strided shortcut */
        {1, 40, 98, 16, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1},   /* a one-channel stem */
        {24, 5, 49, 32, 0, 0, 1, 9, 1, 2, 0, 4, 1, 1},   /* TC-ResNet: rows are examples */
        {40, 3, 98, 16, 0, 0, 1, 3, 1, 1, 0, 1, 1, 1},   /* its stem */
        {3, 11, 13, 5, 0, 0, 3, 2, 3, 2, 2, 0, 2, 3},    /* stride 3 x 2, dilation 2 x 3 */
        {4, 9, 10, 7, 0, 0, 4, 4, 2, 3, 1, 2, 1, 1},     /* even kernels, uneven strides */
        {2, 6, 7, 3, 0, 0, 2, 3, 1, 1, 0, 0, 2, 2},      /* no padding, dilated */
        {5, 8, 8, 9, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1},      /* pointwise */
        {3, 7, 20, 4, 0, 0, 1, 5, 1, 4, 0, 1, 1, 1},     /* stride 4 > kernel reach: unread columns */
        {48, 6, 13, 48, 0, 0, 1, 9, 1, 1, 0, 4, 1, 1},   /* TC-ResNet's last block: rows share padding */
        {2, 5, 9, 3, 0, 0, 3, 3, 1, 1, 3, 3, 1, 1},      /* padding wider than the kernel reaches */
        {3, 4, 11, 2, 0, 0, 2, 3, 2, 3, 1, 5, 1, 2},     /* wide padding, strided and dilated */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_geom(cases[i], 500 + i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products),
        cmocka_unit_test(test_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
