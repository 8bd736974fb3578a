/* The convolutions' products on their real shapes, one thread: sigloop's AVX-512 kernels
 * (sl_gemm_taps, taps read in place from a padded grid) against OpenBLAS on the same grid (one
 * GEMM per tap, the fallback) and against one OpenBLAS GEMM on a ready-made im2col matrix (its
 * best case: the copy into that matrix is not timed). GFLOP/s, best of 5 repeats.
 *   bench_gemm [REPEATS]          (prints OpenBLAS's core type; OPENBLAS_CORETYPE can pin it) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/gemm_taps.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    const char *name;
    size_t c_in, c_out, h, w, kh, kw; /* stride 1, "same" padding */
} shape;

static const shape shapes[] = {
    {"ResNet-8 2-D stage 1, 3x3 16->16 on 40x98", 16, 16, 40, 98, 3, 3},
    {"ResNet-8 2-D stage 2, 3x3 32->32 on 20x49", 32, 32, 20, 49, 3, 3},
    {"ResNet-8 2-D stage 3, 3x3 64->64 on 10x25", 64, 64, 10, 25, 3, 3},
    {"TC-ResNet8 block 1, k9 16->24, 10 examples of 98", 16, 24, 10, 98, 1, 9},
    {"TC-ResNet8 block 3, k9 32->48, 20 examples of 25", 32, 48, 20, 25, 1, 9},
};

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 50;
    if (reps < 1) reps = 1;
    openblas_set_num_threads(1);
    printf("OpenBLAS core: %s; AVX-512 kernels: %s\n", openblas_get_corename(),
           sl_gemm_has_avx512() ? "yes" : "no (both columns take OpenBLAS)");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const shape *p = &shapes[s];
        size_t hp = p->h + p->kh - 1, wp = p->w + p->kw - 1, plane = hp * wp, taps = p->kh * p->kw;
        size_t k = p->c_in * taps, n = (p->h - 1) * wp + p->w, hw = p->h * p->w;
        float *grid = calloc(p->c_in * plane, sizeof *grid), *w = malloc(p->c_out * k * sizeof *w);
        float *y = malloc(p->c_out * plane * sizeof *y), *col = malloc(k * hw * sizeof *col);
        float *scratch = malloc(sl_gemm_taps_scratch(p->c_out, k) * sizeof *scratch);
        ptrdiff_t toff[64];
        for (size_t i = 0; i < p->c_in * plane; i++) grid[i] = (float)(i % 17) * 0.05f - 0.4f;
        for (size_t i = 0; i < p->c_out * k; i++) w[i] = (float)(i % 13) * 0.03f - 0.2f;
        for (size_t i = 0; i < p->kh; i++)
            for (size_t j = 0; j < p->kw; j++) toff[i * p->kw + j] = (ptrdiff_t)(i * wp + j);
        for (size_t c = 0; c < p->c_in; c++)
            for (size_t t = 0; t < taps; t++)
                for (size_t q = 0; q < hw; q++)
                    col[(c * taps + t) * hw + q] = grid[c * plane + (size_t)toff[t] + q / p->w * wp + q % p->w];
        sl_taps b = {.b = grid, .c = p->c_in, .t = taps, .cs = plane, .toff = toff};
        double best[3] = {1e9, 1e9, 1e9};
        for (int r = 0; r < 5; r++) {
            for (int impl = 0; impl < 3; impl++) {
                double t0 = now();
                for (int q = 0; q < reps; q++) {
                    if (impl == 0) sl_gemm_taps(SL_GEMM_AVX512, p->c_out, n, w, k, &b, y, plane, 0, scratch);
                    else if (impl == 1) sl_gemm_taps(SL_GEMM_BLAS, p->c_out, n, w, k, &b, y, plane, 0, scratch);
                    else
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p->c_out, (int)hw, (int)k, 1, w,
                                    (int)k, col, (int)hw, 0, y, (int)hw);
                }
                double t = (now() - t0) / reps;
                if (t < best[impl]) best[impl] = t;
            }
        }
        double flop = 2.0 * (double)p->c_out * (double)k * (double)hw;
        printf("%-50s sigloop %6.1f  OpenBLAS per tap %6.1f  OpenBLAS on im2col %6.1f GFLOP/s\n", p->name,
               flop / best[0] * 1e-9, flop / best[1] * 1e-9, flop / best[2] * 1e-9);
        free(grid), free(w), free(y), free(col), free(scratch);
    }
    return 0;
}
