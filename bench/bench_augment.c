/* The cost of making one augmented training example, stage by stage, on one thread: each
 * transform of CONFIG's augment: list alone, then the whole chain, then the front end on the
 * result, on a 0.45 s noise burst padded to the config's duration (FSDD's clips average 0.45 s).
 * Medians over RUNS examples (each with its own draws), in microseconds.
 *   bench_augment CONFIG [RUNS]   */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigloop/augment.h"
#include "sigloop/config.h"
#include "sigloop/dsp.h"
#include "sigloop/features.h"
#include "sigloop/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median microseconds of the chain of cfg (and the front end after it when fz) over runs examples */
static double time_chain(const sl_config *cfg, const sl_featurizer *fz, const float *sig, size_t n, size_t n_real,
                         size_t bands, size_t frames, int runs)
{
    sl_augmenter *a;
    sl_aug_worker *w;
    if (sl_augmenter_new(&a, cfg, 1, n, bands, frames, 0) != SL_OK || sl_aug_worker_new(&w, a) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        exit(1);
    }
    float *x = malloc(n * sizeof *x), *f = malloc(bands * frames * sizeof *f);
    void *scratch = fz ? malloc(sl_featurizer_scratch_size(fz, n)) : NULL;
    double *t = malloc((size_t)runs * sizeof *t);
    for (int r = -runs / 4; r < runs; r++) { /* the first quarter warms up (resamplers made) */
        memcpy(x, sig, n * sizeof *x);
        size_t nr = n_real;
        double t0 = now();
        if (sl_augment_signal(a, w, x, &nr, 0, (uint64_t)(r + runs)) != SL_OK) {
            fprintf(stderr, "%s\n", sl_last_error());
            exit(1);
        }
        if (fz && sl_features_of_signal(cfg, fz, x, 1, n, nr, f, scratch) != SL_OK) {
            fprintf(stderr, "%s\n", sl_last_error());
            exit(1);
        }
        if (fz) sl_augment_features(a, w, f, 0, (uint64_t)(r + runs));
        if (r >= 0) t[r] = now() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    double med = t[runs / 2] * 1e6;
    free(t);
    free(x);
    free(f);
    free(scratch);
    sl_aug_worker_free(w);
    sl_augmenter_free(a);
    return med;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_augment CONFIG [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 2000;
    if (runs < 4) runs = 4;
    sl_config cfg;
    if (sl_config_load(&cfg, argv[1], NULL, 0) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return 1;
    }
    sl_features_params p;
    sl_features_params_from_config(&cfg, &p);
    sl_featurizer *fz;
    if (sl_featurizer_new(&fz, &p) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return 1;
    }
    size_t n = (size_t)llround(cfg.data.duration * cfg.data.sample_rate), n_real = (size_t)(0.45 * cfg.data.sample_rate);
    if (n_real > n) n_real = n;
    size_t bands = sl_featurizer_bands(fz), frames = sl_featurizer_frames(fz, n);
    float *sig = calloc(n, sizeof *sig);
    sl_rng r = sl_rng_make(1, 2);
    for (size_t i = 0; i < n_real; i++) /* a noise burst with a rising and falling envelope */
        sig[i] = (float)(0.2 * sin(M_PI * (double)i / (double)n_real) * sl_rng_normal(&r));
    sl_augment_config all = cfg.augment;
    printf("%s: one example of %zu samples (%zu of signal), %d runs, 1 thread, median us\n", argv[1], n, n_real, runs);
    for (size_t i = 0; i < all.n; i++) {
        cfg.augment.items = all.items + i;
        cfg.augment.n = 1;
        /* a feature transform acts after the front end: timed with it */
        int feat = all.items[i].type == SL_AUG_SPECAUGMENT || all.items[i].type == SL_AUG_TIME_WARP;
        printf("  %-12s %8.1f%s\n", sl_aug_type_name(all.items[i].type),
               time_chain(&cfg, feat ? fz : NULL, sig, n, n_real, bands, frames, runs),
               feat ? "  (with the front end)" : "");
    }
    cfg.augment = all;
    double chain = time_chain(&cfg, NULL, sig, n, n_real, bands, frames, runs);
    double with_fe = time_chain(&cfg, fz, sig, n, n_real, bands, frames, runs);
    printf("  %-12s %8.1f\n  %-12s %8.1f\n", "chain", chain, "chain+front", with_fe);
    sl_augment_config none = {0};
    cfg.augment = none;
    printf("  %-12s %8.1f\n", "front end", time_chain(&cfg, fz, sig, n, n_real, bands, frames, runs));
    cfg.augment = all;
    free(sig);
    sl_featurizer_free(fz);
    sl_config_free(&cfg);
    return 0;
}
