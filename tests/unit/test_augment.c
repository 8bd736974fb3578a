/* The waveform and feature transforms on synthetic signals (gain exact, shift, noise at its SNR,
 * coloured noise's slope, speed moves a tone, clipping, SpecAugment's masks), and the chain:
 * same (seed, epoch, example) gives the same output, the next epoch another; bad settings and
 * missing or empty files give one-line errors. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "augment/augment_internal.h"
#include "sigloop/audio.h"
#include "sigloop/augment.h"
#include "sigloop/config.h"
#include "sigloop/dsp.h"

static void sine(float *x, size_t n, double f, double rate, double amp)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(amp * sin(2 * M_PI * f * (double)i / rate));
}

/* The frequency of the strongest component of x: a Hann-windowed FFT of 8 n points (zero
 * padded), refined by a parabola through the peak bin and its neighbours. */
static double peak_hz(const float *x, size_t n, double rate)
{
    size_t m = 1;
    while (m < 8 * n) m *= 2;
    float *buf = calloc(m, sizeof *buf), *X = malloc((m + 2) * sizeof *X);
    assert_non_null(buf);
    assert_non_null(X);
    for (size_t i = 0; i < n; i++) buf[i] = x[i] * (float)(0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)(n - 1)));
    sl_fft *f;
    assert_int_equal(sl_fft_new(&f, m), SL_OK);
    sl_fft_forward(f, buf, X);
    size_t best = 1;
    double bv = 0;
    for (size_t k = 1; k < m / 2; k++) {
        double v = hypot(X[2 * k], X[2 * k + 1]);
        if (v > bv) bv = v, best = k;
    }
    double a = log(hypot(X[2 * best - 2], X[2 * best - 1])), b = log(bv), c = log(hypot(X[2 * best + 2], X[2 * best + 3]));
    double d = 0.5 * (a - c) / (a - 2 * b + c);
    sl_fft_free(f);
    free(buf);
    free(X);
    return ((double)best + d) * rate / (double)m;
}

static void test_gain_shift_polarity_clip(void **state)
{
    (void)state;
    float x[8] = {1, -2, 3, -4, 0.5f, 0, 7, -8}, y[8];
    memcpy(y, x, sizeof x);
    sl_aug_gain(y, 8, 6);
    const float g = (float)pow(10.0, 6.0 / 20.0);
    for (int i = 0; i < 8; i++) assert_true(y[i] == x[i] * g); /* exact: one multiply */
    sl_aug_gain(y, 8, -6);
    for (int i = 0; i < 8; i++) assert_true(fabsf(y[i] - x[i]) <= 1e-6f * fabsf(x[i]));

    memcpy(y, x, sizeof x);
    sl_aug_shift(y, 8, 3, 0);
    const float want_z[8] = {0, 0, 0, 1, -2, 3, -4, 0.5f};
    assert_memory_equal(y, want_z, sizeof y);
    memcpy(y, x, sizeof x);
    sl_aug_shift(y, 8, -3, 0);
    const float want_l[8] = {-4, 0.5f, 0, 7, -8, 0, 0, 0};
    assert_memory_equal(y, want_l, sizeof y);
    memcpy(y, x, sizeof x);
    sl_aug_shift(y, 8, 3, 1);
    const float want_w[8] = {0, 7, -8, 1, -2, 3, -4, 0.5f};
    assert_memory_equal(y, want_w, sizeof y);
    memcpy(y, x, sizeof x);
    sl_aug_shift(y, 8, -11, 1); /* -11 = -3 (mod 8) */
    const float want_wl[8] = {-4, 0.5f, 0, 7, -8, 1, -2, 3};
    assert_memory_equal(y, want_wl, sizeof y);
    memcpy(y, x, sizeof x);
    sl_aug_shift(y, 8, 9, 0);
    for (int i = 0; i < 8; i++) assert_true(y[i] == 0);

    memcpy(y, x, sizeof x);
    sl_aug_polarity(y, 8);
    for (int i = 0; i < 8; i++) assert_true(y[i] == -x[i]);
    memcpy(y, x, sizeof x);
    sl_aug_clip(y, 8, -6.0206); /* half the peak (8): 4 */
    const float want_c[8] = {1, -2, 3, -4, 0.5f, 0, 4, -4};
    for (int i = 0; i < 8; i++) assert_true(fabsf(y[i] - want_c[i]) < 1e-4f);
}

/* Noise added at an SNR gives that SNR, measured on the result, within 0.5 dB, for each colour. */
static void test_noise_snr(void **state)
{
    (void)state;
    enum { N = 16000 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *noise = malloc(N * sizeof *noise);
    assert_true(x && y && noise);
    sine(x, N, 440, 16000, 0.3);
    const double snrs[] = {-5, 0, 10, 20, 40};
    for (int color = 0; color < 3; color++) {
        sl_rng r = sl_rng_make(7, (uint64_t)color);
        assert_int_equal(sl_aug_color_noise(&r, color, noise, N), SL_OK);
        assert_true(fabs(sl_aug_power(noise, N) - 1) < 1e-3); /* unit power */
        for (size_t k = 0; k < sizeof snrs / sizeof *snrs; k++) {
            memcpy(y, x, N * sizeof *x);
            sl_aug_add_noise(y, N, N, noise, snrs[k]);
            double pn = 0;
            for (size_t i = 0; i < N; i++) pn += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
            double got = 10 * log10(sl_aug_power(x, N) / (pn / N));
            if (fabs(got - snrs[k]) > 0.5) fail_msg("colour %d: SNR %.2f dB, asked %.1f", color, got, snrs[k]);
        }
    }
    /* the SNR refers to the signal part only (n_ref): padding does not dilute it */
    memset(y, 0, N * sizeof *y);
    sine(y, N / 4, 440, 16000, 0.3);
    sl_rng r = sl_rng_make(1, 1);
    assert_int_equal(sl_aug_color_noise(&r, 0, noise, N), SL_OK);
    float *z = malloc(N * sizeof *z);
    memcpy(z, y, N * sizeof *y);
    sl_aug_add_noise(z, N, N / 4, noise, 10);
    double pn = 0;
    for (size_t i = 0; i < N / 4; i++) pn += ((double)z[i] - y[i]) * ((double)z[i] - y[i]);
    assert_true(fabs(10 * log10(sl_aug_power(y, N / 4) / (pn / (N / 4))) - 10) < 0.5);
    /* silence gets no noise (no SNR to keep) */
    memset(z, 0, N * sizeof *z);
    sl_aug_add_noise(z, N, N, noise, 10);
    for (size_t i = 0; i < N; i++) assert_true(z[i] == 0);
    free(z);
    free(x);
    free(y);
    free(noise);
    float odd[3];
    sl_rng r2 = sl_rng_make(1, 1);
    assert_int_equal(sl_aug_color_noise(&r2, 1, odd, 3), SL_EARG);
}

/* Pink noise falls 3 dB per octave, brown 6: the mean power of octave bands, fitted. */
static void test_noise_colours(void **state)
{
    (void)state;
    enum { N = 1 << 16 };
    float *x = malloc(N * sizeof *x), *X = malloc((N + 2) * sizeof *X);
    sl_fft *f;
    assert_int_equal(sl_fft_new(&f, N), SL_OK);
    for (int color = 0; color < 3; color++) {
        sl_rng r = sl_rng_make(3, (uint64_t)color);
        assert_int_equal(sl_aug_color_noise(&r, color, x, N), SL_OK);
        sl_fft_forward(f, x, X);
        /* octaves [2^j, 2^(j+1)) bins, j = 6 .. 13 */
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int m = 0;
        for (int j = 6; j < 14; j++, m++) {
            double p = 0;
            size_t k0 = (size_t)1 << j, k1 = (size_t)1 << (j + 1);
            for (size_t k = k0; k < k1; k++) p += (double)X[2 * k] * X[2 * k] + (double)X[2 * k + 1] * X[2 * k + 1];
            double db = 10 * log10(p / (double)(k1 - k0));
            sx += j, sy += db, sxx += (double)j * j, sxy += j * db;
        }
        double slope = (m * sxy - sx * sy) / (m * sxx - sx * sx); /* dB per octave */
        double want = -3.0103 * color;
        if (fabs(slope - want) > 0.5) fail_msg("colour %d: %.2f dB per octave, want %.2f", color, slope, want);
    }
    sl_fft_free(f);
    free(x);
    free(X);
}

/* Speed 1.1 plays a 1 kHz tone at 1.1 kHz (within 1 %) and shortens it by 1.1. */
static void test_speed(void **state)
{
    (void)state;
    enum { N = 16000 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    sine(x, N, 1000, 16000, 0.5);
    const double factors[] = {0.9, 1.1, 1.25};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(sl_aug_speed(x, N, factors[k], y, N), SL_OK);
        size_t len = (size_t)floor(N / factors[k] + 0.5);
        double hz = peak_hz(y, len < N ? len : N, 16000);
        if (fabs(hz / (1000 * factors[k]) - 1) > 0.01) fail_msg("speed %.2f: %.1f Hz", factors[k], hz);
        if (len < N)
            for (size_t i = len + 8; i < N; i++) assert_true(y[i] == 0); /* past the end: zeros */
    }
    assert_int_equal(sl_aug_speed(x, N, 3, y, N), SL_EARG);
    free(x);
    free(y);
}

static void load(sl_config *cfg, const char *aug) /* aug: at most 3000 characters */
{
    char text[4096];
    snprintf(text, sizeof text, "data: {root: r, sample_rate: 8000, duration: 1s}\naugment: %.3000s\n", aug);
    if (sl_config_parse(cfg, text, strlen(text), "aug.yaml", ".", NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
}

/* SpecAugment through the chain: as many masks as configured, none wider than configured, all of
 * the width range used; the same (epoch, example) again gives the same masks, another epoch others. */
static void test_specaugment_chain(void **state)
{
    (void)state;
    enum { B = 40, T = 98 };
    sl_config cfg;
    load(&cfg, "[specaugment: {time_masks: 2, time_width: 10, freq_masks: 1, freq_width: 5}]");
    sl_augmenter *a;
    assert_int_equal(sl_augmenter_new(&a, &cfg, 1, 8000, B, T, 11), SL_OK);
    assert_false(sl_augmenter_has_signal(a));
    assert_true(sl_augmenter_has_features(a));
    float *f = malloc(B * T * sizeof *f), *g = malloc(B * T * sizeof *g);
    sl_aug_worker *w;
    assert_int_equal(sl_aug_worker_new(&w, a), SL_OK);
    size_t widest_t = 0, widest_f = 0;
    int differs = 0;
    for (uint64_t ex = 0; ex < 300; ex++) {
        for (size_t i = 0; i < B * T; i++) f[i] = 1;
        sl_augment_features(a, w, f, 0, ex);
        /* masked frames: columns whose every value is 0 (unless a frequency mask covers all bands) */
        size_t cols = 0, rows = 0;
        for (size_t t = 0; t < T; t++) {
            int all = 1;
            for (size_t b = 0; b < B && all; b++) all = f[b * T + t] == 0;
            cols += (size_t)all;
        }
        for (size_t b = 0; b < B; b++) {
            int all = 1;
            for (size_t t = 0; t < T && all; t++) all = f[b * T + t] == 0;
            rows += (size_t)all;
        }
        if (cols > 2 * 10) fail_msg("example %u: %zu frames masked, at most 20", (unsigned)ex, cols);
        if (rows > 5) fail_msg("example %u: %zu bands masked, at most 5", (unsigned)ex, rows);
        widest_t = cols > widest_t ? cols : widest_t;
        widest_f = rows > widest_f ? rows : widest_f;
        for (size_t i = 0; i < B * T; i++) g[i] = 1;
        sl_augment_features(a, w, g, 0, ex);
        assert_memory_equal(f, g, B * T * sizeof *f); /* same draws */
        for (size_t i = 0; i < B * T; i++) g[i] = 1;
        sl_augment_features(a, w, g, 1, ex);
        differs += memcmp(f, g, B * T * sizeof *f) != 0;
    }
    assert_true(widest_t >= 15); /* two masks of up to 10 do reach past 15 now and then */
    assert_int_equal(widest_f, 5);
    assert_true(differs > 250); /* the next epoch draws again */
    free(f);
    free(g);
    sl_aug_worker_free(w);
    sl_augmenter_free(a);
    sl_config_free(&cfg);
}

/* The waveform chain: determinism per (epoch, example), a new draw per epoch, p = 0 leaves the
 * signal alone, and speed updates the signal's length. */
static void test_signal_chain(void **state)
{
    (void)state;
    enum { N = 8000 };
    sl_config cfg;
    load(&cfg, "[gain: {db: [-6, 6]}, shift: {max: 0.05s}, speed: {factor: [0.9, 1.1]}, noise: {snr_db: [10, 20], p: 1, "
               "color: pink}, filter: {type: lowpass, cutoff: [1000, 3000], p: 1}, polarity, clip: {p: 0.3}]");
    sl_augmenter *a;
    assert_int_equal(sl_augmenter_new(&a, &cfg, 1, N, 40, 98, 5), SL_OK);
    assert_true(sl_augmenter_has_signal(a));
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *z = malloc(N * sizeof *z);
    sl_aug_worker *w, *w2;
    assert_int_equal(sl_aug_worker_new(&w, a), SL_OK);
    assert_int_equal(sl_aug_worker_new(&w2, a), SL_OK); /* another thread's: the same results */
    sine(x, N / 2, 500, 8000, 0.4);
    memset(x + N / 2, 0, N / 2 * sizeof *x);
    int other = 0;
    for (uint64_t ex = 0; ex < 20; ex++) {
        size_t n1 = N / 2, n2 = N / 2, n3 = N / 2;
        memcpy(y, x, N * sizeof *x);
        assert_int_equal(sl_augment_signal(a, w, y, &n1, 3, ex), SL_OK);
        memcpy(z, x, N * sizeof *x);
        assert_int_equal(sl_augment_signal(a, w2, z, &n2, 3, ex), SL_OK);
        assert_memory_equal(y, z, N * sizeof *y);
        assert_int_equal(n1, n2);
        assert_true(n1 >= (size_t)(N / 2 / 1.1) - 400 && n1 <= (size_t)(N / 2 / 0.9) + 400);
        memcpy(z, x, N * sizeof *x);
        assert_int_equal(sl_augment_signal(a, w, z, &n3, 4, ex), SL_OK);
        other += memcmp(y, z, N * sizeof *y) != 0;
        for (size_t i = 0; i < N; i++) assert_true(isfinite(y[i]));
    }
    assert_int_equal(other, 20);
    sl_aug_worker_free(w);
    sl_aug_worker_free(w2);
    sl_augmenter_free(a);
    sl_config_free(&cfg);
    load(&cfg, "[gain: {db: [-6, 6], p: 0}, noise: {p: 0}]");
    assert_int_equal(sl_augmenter_new(&a, &cfg, 1, N, 40, 98, 5), SL_OK);
    assert_int_equal(sl_aug_worker_new(&w, a), SL_OK);
    size_t n = N / 2;
    memcpy(y, x, N * sizeof *x);
    assert_int_equal(sl_augment_signal(a, w, y, &n, 0, 0), SL_OK);
    assert_memory_equal(x, y, N * sizeof *x);
    sl_aug_worker_free(w);
    sl_augmenter_free(a);
    sl_config_free(&cfg);
    free(x);
    free(y);
    free(z);
}

/* Folders: noise clips and impulse responses are read (resampled) and used; a missing folder, an
 * empty one and an empty impulse response are clear errors. */
static void test_folders(void **state)
{
    (void)state;
    const char *tmp = getenv("SIGLOOP_TEST_TMP");
    char dir[1024], path[1200], spec[2600];
    snprintf(dir, sizeof dir, "%s/augment", tmp ? tmp : "/tmp");
    mkdir(tmp ? tmp : "/tmp", 0755);
    mkdir(dir, 0755);
    char noise[1100], ir[1100], empty[1100], bad[1100];
    snprintf(noise, sizeof noise, "%s/noise", dir);
    snprintf(ir, sizeof ir, "%s/ir", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    snprintf(bad, sizeof bad, "%s/bad_ir", dir);
    mkdir(noise, 0755);
    mkdir(ir, 0755);
    mkdir(empty, 0755);
    mkdir(bad, 0755);
    float buf[4000];
    sine(buf, 4000, 300, 16000, 0.2);
    snprintf(path, sizeof path, "%s/hum.wav", noise);
    assert_int_equal(sl_audio_write_wav(path, buf, 4000, 16000), SL_OK); /* resampled to 8 kHz */
    for (int i = 0; i < 400; i++) buf[i] = (float)(exp(-i / 60.0) * (i % 7 == 0 ? 0.5 : -0.2));
    snprintf(path, sizeof path, "%s/room.wav", ir);
    assert_int_equal(sl_audio_write_wav(path, buf, 400, 8000), SL_OK);
    snprintf(path, sizeof path, "%s/zero.wav", bad);
    assert_int_equal(sl_audio_write_wav(path, buf, 0, 8000), SL_OK);

    sl_config cfg;
    snprintf(spec, sizeof spec, "[noise: {folder: \"%s\", p: 1, snr_db: [10, 10]}, reverb: {folder: \"%s\", p: 1}]", noise, ir);
    load(&cfg, spec);
    sl_augmenter *a;
    if (sl_augmenter_new(&a, &cfg, 1, 8000, 40, 98, 1) != SL_OK) fail_msg("%s", sl_last_error());
    float *x = malloc(8000 * sizeof *x);
    sl_aug_worker *w;
    assert_int_equal(sl_aug_worker_new(&w, a), SL_OK);
    sine(x, 8000, 1000, 8000 * 1.0, 0.0); /* silence ... */
    sine(x, 8000, 1234, 8000, 0.3);       /* ... then a tone */
    double p0 = sl_aug_power(x, 8000);
    size_t n = 8000;
    assert_int_equal(sl_augment_signal(a, w, x, &n, 0, 0), SL_OK);
    double p1 = sl_aug_power(x, 8000);
    assert_true(p1 > p0 * 0.9 && p1 < p0 * 1.3); /* reverb keeps the level; noise at 10 dB adds 10 % */
    free(x);
    sl_aug_worker_free(w);
    sl_augmenter_free(a);
    sl_config_free(&cfg);

    struct {
        const char *aug, *want;
    } bad_cases[] = {
        {"[gain, noise: {folder: \"%s/none\"}]", "aug.yaml: augment[1].noise.folder: %s/none: cannot open: No such file or directory"},
        {"[noise: {folder: \"%s/empty\"}]", "aug.yaml: augment[0].noise.folder: %s/empty holds no audio files (.wav, .flac, .ogg)"},
        {"[reverb: {folder: \"%s/bad_ir\"}]", "aug.yaml: augment[0].reverb.folder: %s/bad_ir/zero.wav: empty (0 samples)"},
    };
    for (size_t k = 0; k < 3; k++) {
        char aug[1400], want[1400];
        snprintf(aug, sizeof aug, bad_cases[k].aug, dir);
        snprintf(want, sizeof want, bad_cases[k].want, dir);
        load(&cfg, aug);
        a = (sl_augmenter *)1;
        sl_status s = sl_augmenter_new(&a, &cfg, 1, 8000, 40, 98, 1);
        assert_true(s != SL_OK);
        assert_null(a);
        if (strcmp(sl_last_error(), want) != 0) fail_msg("got  '%s'\nwant '%s'", sl_last_error(), want);
        sl_config_free(&cfg);
    }
    load(&cfg, "[rotate: {axes: [0, 1, 5]}]");
    assert_int_equal(sl_augmenter_new(&a, &cfg, 3, 100, 3, 10, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "aug.yaml: augment[0].rotate.axes: channel 5, but the examples have 3 channel(s)");
    sl_config_free(&cfg);
}

/* A 6-channel sensor series (two axis triplets) through the chain: rotation keeps each triplet's
 * norm per sample; gain/offset/drift, jitter and the time warp give finite values; the same
 * (epoch, example) twice the same, another epoch others. */
static void test_sensor_chain(void **state)
{
    (void)state;
    enum { C = 6, N = 500 };
    sl_config cfg;
    load(&cfg, "[rotate: {axes: [0, 1, 2, 3, 4, 5], max_deg: 180}]");
    sl_augmenter *a;
    sl_aug_worker *w;
    assert_int_equal(sl_augmenter_new(&a, &cfg, C, N, C, 10, 4), SL_OK);
    assert_int_equal(sl_aug_worker_new(&w, a), SL_OK);
    float *x = malloc(C * N * sizeof *x), *y = malloc(C * N * sizeof *y);
    sl_rng r = sl_rng_make(9, 9);
    for (size_t i = 0; i < C * N; i++) x[i] = (float)sl_rng_normal(&r);
    memcpy(y, x, C * N * sizeof *x);
    size_t n = N;
    assert_int_equal(sl_augment_signal(a, w, y, &n, 0, 7), SL_OK);
    int moved = 0;
    for (size_t t = 0; t < N; t++)
        for (size_t k = 0; k < 2; k++) {
            double n0 = 0, n1 = 0;
            for (size_t j = 0; j < 3; j++) {
                n0 += (double)x[(3 * k + j) * N + t] * x[(3 * k + j) * N + t];
                n1 += (double)y[(3 * k + j) * N + t] * y[(3 * k + j) * N + t];
                moved |= x[(3 * k + j) * N + t] != y[(3 * k + j) * N + t];
            }
            assert_true(fabs(sqrt(n1) - sqrt(n0)) <= 1e-5 * (sqrt(n0) + 1e-6));
        }
    assert_true(moved);
    sl_aug_worker_free(w);
    sl_augmenter_free(a);
    sl_config_free(&cfg);

    load(&cfg, "[rotate: {axes: [0, 1, 2], max_deg: 30}, sensor_gain: {db: [-1, 1], offset: [-0.1, 0.1], "
               "drift: [-0.05, 0.05]}, jitter: {sigma: 0.02}, series_warp: {knots: 4, strength: 0.2}]");
    assert_int_equal(sl_augmenter_new(&a, &cfg, C, N, C, 10, 4), SL_OK);
    assert_int_equal(sl_aug_worker_new(&w, a), SL_OK);
    float *z = malloc(C * N * sizeof *z);
    memcpy(y, x, C * N * sizeof *x);
    memcpy(z, x, C * N * sizeof *x);
    n = N;
    assert_int_equal(sl_augment_signal(a, w, y, &n, 2, 3), SL_OK);
    n = N;
    assert_int_equal(sl_augment_signal(a, w, z, &n, 2, 3), SL_OK);
    assert_memory_equal(y, z, C * N * sizeof *y);
    for (size_t i = 0; i < C * N; i++) assert_true(isfinite(y[i]));
    memcpy(z, x, C * N * sizeof *x);
    n = N;
    assert_int_equal(sl_augment_signal(a, w, z, &n, 3, 3), SL_OK);
    assert_true(memcmp(y, z, C * N * sizeof *y) != 0);
    free(x);
    free(y);
    free(z);
    sl_aug_worker_free(w);
    sl_augmenter_free(a);
    sl_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gain_shift_polarity_clip),
        cmocka_unit_test(test_noise_snr),
        cmocka_unit_test(test_noise_colours),
        cmocka_unit_test(test_speed),
        cmocka_unit_test(test_specaugment_chain),
        cmocka_unit_test(test_signal_chain),
        cmocka_unit_test(test_folders),
        cmocka_unit_test(test_sensor_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
