/* Log-mel of every FSDD clip (the acceptance settings: 40 x 98 per one-second clip), timed
 * per clip: compute alone on decoded, padded signals, and decode + compute from the WAV files,
 * with 1 and 2 threads. Prints the median of several passes.
 *   bench_features FSDD_RECORDINGS_FOLDER [PASSES]   */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigloop/audio.h"
#include "sigloop/dsp.h"
#include "sigloop/pool.h"

#define N 8000

typedef struct {
    const sl_featurizer *fz;
    char **paths;
    float *signals; /* (clips, N) */
    float *out;     /* (clips, 40 * 98) */
    float **scratch;
    float **buf;
    int decode;
} ctx;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static sl_status one(void *vc, size_t i, int w)
{
    ctx *c = vc;
    const float *x = c->signals + i * N;
    if (c->decode) {
        sl_audio_opts o = {.target_rate = 0, .channel = -1, .max_frames = 0};
        sl_signal s;
        SL_TRY(sl_audio_read(c->paths[i], &o, &s));
        size_t n = s.n < N ? s.n : N;
        memcpy(c->buf[w], s.x, n * sizeof(float));
        memset(c->buf[w] + n, 0, (N - n) * sizeof(float));
        sl_signal_free(&s);
        x = c->buf[w];
    }
    return sl_featurize(c->fz, x, N, c->out + i * 40 * 98, c->scratch[w]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_features FSDD_RECORDINGS_FOLDER [PASSES]\n");
        return 2;
    }
    int passes = argc > 2 ? atoi(argv[2]) : 7;
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".wav") != 0) continue;
        if (n == cap) paths = realloc(paths, (cap = cap ? 2 * cap : 4096) * sizeof *paths);
        paths[n] = malloc(strlen(argv[1]) + l + 2);
        sprintf(paths[n++], "%s/%s", argv[1], de->d_name);
    }
    closedir(d);
    qsort(paths, n, sizeof *paths, cmp_str);
    sl_features_params p;
    sl_features_params_default(&p);
    sl_featurizer *fz;
    if (sl_featurizer_new(&fz, &p) != SL_OK) return 1;
    ctx c = {.fz = fz, .paths = paths};
    c.signals = calloc(n * N, sizeof(float));
    c.out = malloc(n * 40 * 98 * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        sl_audio_opts o = {.target_rate = 0, .channel = -1, .max_frames = 0};
        sl_signal s;
        if (sl_audio_read(paths[i], &o, &s) != SL_OK) {
            fprintf(stderr, "%s\n", sl_last_error());
            return 1;
        }
        memcpy(c.signals + i * N, s.x, (s.n < N ? s.n : N) * sizeof(float));
        sl_signal_free(&s);
    }
    double per_clip[2][2]; /* [decode][threads - 1] */
    for (int threads = 1; threads <= 2; threads++) {
        sl_pool *pool;
        sl_pool_new(&pool, threads);
        c.scratch = malloc((size_t)threads * sizeof *c.scratch);
        c.buf = malloc((size_t)threads * sizeof *c.buf);
        for (int w = 0; w < threads; w++) {
            c.scratch[w] = malloc(sl_featurizer_scratch_size(fz, N));
            c.buf[w] = malloc(N * sizeof(float));
        }
        for (int decode = 0; decode <= 1; decode++) {
            c.decode = decode;
            double *t = malloc((size_t)passes * sizeof *t);
            sl_pool_run(pool, n, one, &c); /* warm-up */
            for (int k = 0; k < passes; k++) {
                double t0 = now();
                if (sl_pool_run(pool, n, one, &c) != SL_OK) {
                    fprintf(stderr, "%s\n", sl_last_error());
                    return 1;
                }
                t[k] = now() - t0;
            }
            qsort(t, (size_t)passes, sizeof *t, cmp_double);
            per_clip[decode][threads - 1] = t[passes / 2] / (double)n * 1e3;
            printf("sigloop log-mel, %zu clips, %d thread(s), %-16s median %.4f ms per clip (min %.4f, max %.4f)\n", n,
                   threads, decode ? "decode + compute:" : "compute:", t[passes / 2] / (double)n * 1e3,
                   t[0] / (double)n * 1e3, t[passes - 1] / (double)n * 1e3);
            free(t);
        }
        for (int w = 0; w < threads; w++) {
            free(c.scratch[w]);
            free(c.buf[w]);
        }
        free(c.scratch);
        free(c.buf);
        sl_pool_free(pool);
    }
    printf("two threads vs one: compute %.2fx, decode + compute %.2fx\n", per_clip[0][0] / per_clip[0][1],
           per_clip[1][0] / per_clip[1][1]);
    return 0;
}
