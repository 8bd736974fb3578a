/* The DSP front end against torchaudio fixtures (tests/fixtures/dsp), and by identities: FFT round
 * trip and Parseval for every size 1..4096, streaming bit-identical to the whole signal, windows in
 * closed form, bad parameters refused. Each comparison prints its error and its tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include "sigloop/audio.h"
#include "sigloop/dsp.h"
#include "sigloop/rng.h"

/* 64-byte aligned buffers for the batched FFT */
static float *sl_test_aligned(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0) fail_msg("out of memory");
    return p;
}
static void sl_test_aligned_free(float *p) { free(p); }

static float *load_fixture(const char *name, size_t count) { return sl_test_fixture("dsp", name, count); }

/* Compares and prints: "name: max |error| 3.1e-05 (tolerance 1e-03) at [row, col]". */
static void compare(const char *name, const float *got, const float *want, size_t rows, size_t cols, double tol)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < rows * cols; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        if (!(e <= worst)) {
            worst = e;
            at = i;
        }
    }
    printf("  %s: max |error| %.2e (tolerance %.0e) at [%zu, %zu]: got %.6f, want %.6f\n", name, worst, tol, at / cols,
           at % cols, (double)got[at], (double)want[at]);
    if (!(worst <= tol)) fail_msg("%s: error %g above tolerance %g", name, worst, tol);
}

/* FSDD 0_george_0.wav zero-padded at the end to 8,000 samples. */
static float *george(void)
{
    const char *root = getenv("SIGLOOP_FSDD");
    char path[1024];
    snprintf(path, sizeof path, "%s/recordings/0_george_0.wav", root ? root : "../shared/data/fsdd");
    sl_audio_opts o = {.target_rate = 0, .channel = -1, .max_frames = 0};
    sl_signal s;
    if (sl_audio_read(path, &o, &s) != SL_OK) fail_msg("%s", sl_last_error());
    float *x = calloc(8000, sizeof *x);
    assert_non_null(x);
    assert_true(s.n <= 8000);
    memcpy(x, s.x, s.n * sizeof *x);
    sl_signal_free(&s);
    return x;
}

static float *run(const sl_features_params *p, const float *x, size_t n, size_t bands, size_t frames)
{
    sl_featurizer *fz;
    if (sl_featurizer_new(&fz, p) != SL_OK) fail_msg("%s", sl_last_error());
    assert_int_equal(sl_featurizer_bands(fz), bands);
    assert_int_equal(sl_featurizer_frames(fz, n), frames);
    float *out = malloc(bands * frames * sizeof *out);
    assert_non_null(out);
    if (sl_featurize(fz, x, n, out, NULL) != SL_OK) fail_msg("%s", sl_last_error());
    sl_featurizer_free(fz);
    return out;
}

static void test_filterbanks_and_dct(void **state)
{
    (void)state;
    float *want = load_fixture("fb_htk.f32", 129 * 40), *got = malloc(129 * 40 * sizeof *got);
    assert_int_equal(sl_mel_filterbank(129, 20, 4000, 40, 8000, SL_MEL_HTK, 0, got), SL_OK);
    compare("mel filterbank, HTK", got, want, 129, 40, 1e-6);
    free(want);
    free(got);
    want = load_fixture("fb_slaney.f32", 257 * 64);
    got = malloc(257 * 64 * sizeof *got);
    assert_int_equal(sl_mel_filterbank(257, 0, 8000, 64, 16000, SL_MEL_SLANEY, 1, got), SL_OK);
    compare("mel filterbank, Slaney with norm", got, want, 257, 64, 1e-6);
    free(want);
    free(got);
    want = load_fixture("dct_13_40.f32", 40 * 13);
    got = malloc(40 * 13 * sizeof *got);
    sl_dct_matrix(13, 40, got);
    compare("DCT-II ortho", got, want, 40, 13, 1e-6);
    free(want);
    free(got);
    /* scales are inverses */
    for (double hz = 0; hz <= 16000; hz += 250) {
        assert_true(fabs(sl_mel_to_hz(sl_hz_to_mel(hz, SL_MEL_HTK), SL_MEL_HTK) - hz) < 1e-6);
        assert_true(fabs(sl_mel_to_hz(sl_hz_to_mel(hz, SL_MEL_SLANEY), SL_MEL_SLANEY) - hz) < 1e-6);
    }
}

static void test_logmel_mfcc_deltas(void **state)
{
    (void)state;
    float *x = george();
    sl_features_params p;
    sl_features_params_default(&p); /* the acceptance settings */
    float *got = run(&p, x, 8000, 40, 98), *want = load_fixture("logmel_george0.f32", 40 * 98);
    compare("log-mel (acceptance: 1e-3)", got, want, 40, 98, 1e-3);
    free(got);
    float *delta = load_fixture("delta_george0.f32", 40 * 98);
    p.deltas = 1;
    got = run(&p, x, 8000, 80, 98);
    compare("log-mel again, with deltas", got, want, 40, 98, 1e-3);
    compare("deltas", got + 40 * 98, delta, 40, 98, 1e-3);
    free(got);
    free(want);
    free(delta);
    p.deltas = 0;
    p.type = SL_FEATURES_MFCC;
    p.n_mfcc = 13;
    got = run(&p, x, 8000, 13, 98);
    want = load_fixture("mfcc_george0.f32", 13 * 98);
    compare("MFCC (1e-3)", got, want, 13, 98, 1e-3);
    free(got);
    free(want);
    p.log = SL_LOG_DB; /* torchaudio's MFCC default: dB (amin 1e-10) floored 80 dB below the peak */
    p.log_eps = 1e-10;
    p.top_db = 80;
    got = run(&p, x, 8000, 13, 98);
    want = load_fixture("mfcc_db_george0.f32", 13 * 98);
    compare("MFCC, dB log-mel with top_db 80 (1e-3)", got, want, 13, 98, 1e-3);
    free(got);
    free(want);
    free(x);
}

static void test_centered_db_and_spectrogram(void **state)
{
    (void)state;
    float *x = george();
    sl_features_params p;
    sl_features_params_default(&p);
    p.center = 1;
    p.f_min = 0;
    p.mel_scale = SL_MEL_SLANEY;
    p.slaney_norm = 1;
    p.log = SL_LOG_DB;
    p.log_eps = 1e-10;
    p.top_db = 80;
    float *got = run(&p, x, 8000, 40, 101), *want = load_fixture("logmel_db_center_george0.f32", 40 * 101);
    compare("log-mel dB, centred, Slaney (dB: 1e-2)", got, want, 40, 101, 1e-2);
    free(got);
    free(want);
    sl_features_params_default(&p);
    p.type = SL_FEATURES_SPECTROGRAM;
    p.n_fft = 128;
    p.win_length = 128;
    p.hop_length = 64;
    p.window = SL_WINDOW_HAMMING;
    p.power = 1;
    p.center = 1;
    got = run(&p, x, 8000, 65, 126);
    want = load_fixture("spec_hamming_george0.f32", 65 * 126);
    compare("magnitude spectrogram, Hamming, centred", got, want, 65, 126, 1e-4);
    free(got);
    free(want);
    sl_features_params_default(&p);
    p.type = SL_FEATURES_SPECTROGRAM;
    p.center = 1;
    p.pad_zero = 1;
    got = run(&p, x, 8000, 129, 101);
    want = load_fixture("spec_constant_george0.f32", 129 * 101);
    double peak = 0; /* power spans decades: hold it to 1e-5 of the largest value */
    for (size_t i = 0; i < 129 * 101; i++) peak = fmax(peak, want[i]);
    compare("power spectrogram, centred, zero padding", got, want, 129, 101, 1e-5 * peak);
    free(got);
    free(want);
    free(x);
}

static void test_fft_identities(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(3, 0);
    float *x = malloc(4096 * sizeof *x), *X = malloc((4096 + 2) * sizeof *X), *y = malloc(4096 * sizeof *y);
    assert_non_null(x);
    assert_non_null(X);
    assert_non_null(y);
    double worst_rt = 0, worst_pv = 0;
    for (size_t n = 1; n <= 4096; n++) {
        sl_fft *f;
        if (sl_fft_new(&f, n) != SL_OK) fail_msg("%s", sl_last_error());
        double e_time = 0;
        for (size_t i = 0; i < n; i++) {
            x[i] = (float)(2.0 * sl_rng_uniform_double(&r) - 1.0);
            e_time += (double)x[i] * x[i];
        }
        sl_fft_forward(f, x, X);
        double e_freq = 0;
        for (size_t k = 0; k <= n / 2; k++) {
            double p = (double)X[2 * k] * X[2 * k] + (double)X[2 * k + 1] * X[2 * k + 1];
            int twice = k != 0 && !(n % 2 == 0 && k == n / 2); /* bins with a mirror image */
            e_freq += twice ? 2 * p : p;
        }
        e_freq /= (double)n;
        double pv = fabs(e_freq - e_time) / e_time;
        assert_int_equal(sl_fft_inverse(f, X, y), SL_OK);
        double rt = 0;
        for (size_t i = 0; i < n; i++) rt = fmax(rt, fabs((double)y[i] - x[i]));
        worst_rt = fmax(worst_rt, rt);
        worst_pv = fmax(worst_pv, pv);
        sl_fft_free(f);
    }
    printf("  FFT sizes 1..4096: round trip max |error| %.2e (tolerance 1e-5), Parseval max relative error %.2e "
           "(tolerance 1e-5)\n", worst_rt, worst_pv);
    assert_true(worst_rt < 1e-5);
    assert_true(worst_pv < 1e-5);
    free(x);
    free(X);
    free(y);
    sl_fft *f;
    assert_int_equal(sl_fft_new(&f, 0), SL_EARG);
}

/* The batched FFT (a complex FFT of n/2 points and a split, for even n) against the plain real FFT. */
static void test_fft_batch(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(9, 0);
    double worst = 0;
    for (size_t n = 2; n <= 1100; n += (n < 64 ? 1 : 37)) {
        size_t in_dist = (n + 15) / 16 * 16, out_dist = (n + 2 + 15) / 16 * 16;
        sl_fft *b, *one;
        if (sl_fft_new_batch(&b, n, 8, in_dist, out_dist) != SL_OK) fail_msg("%s", sl_last_error());
        assert_int_equal(sl_fft_new(&one, n), SL_OK);
        float *x = sl_test_aligned(8 * in_dist), *X = sl_test_aligned(8 * out_dist), *Y = malloc((n + 2) * sizeof *Y);
        for (size_t i = 0; i < 8 * in_dist; i++) x[i] = (float)(2 * sl_rng_uniform_double(&r) - 1);
        sl_fft_forward_batch(b, x, X);
        for (size_t t = 0; t < 8; t++) {
            sl_fft_forward(one, x + t * in_dist, Y);
            double scale = sqrt((double)n);
            for (size_t k = 0; k < 2 * (n / 2 + 1); k++) worst = fmax(worst, fabs((double)X[t * out_dist + k] - Y[k]) / scale);
        }
        sl_test_aligned_free(x);
        sl_test_aligned_free(X);
        free(Y);
        sl_fft_free(b);
        sl_fft_free(one);
    }
    printf("  batched FFT vs real FFT, sizes 2..1100: max |error| / sqrt(n) %.2e (tolerance 1e-6)\n", worst);
    assert_true(worst < 1e-6);
}

static void test_streaming_bit_identical(void **state)
{
    (void)state;
    float *x = george();
    sl_rng r = sl_rng_make(11, 0);
    for (int variant = 0; variant < 4; variant++) {
        sl_features_params p;
        sl_features_params_default(&p);
        if (variant == 1) p.type = SL_FEATURES_MFCC;
        if (variant == 2) p.preemphasis = 0.97;
        if (variant == 3) { /* hop longer than the window: samples between frames are skipped */
            p.hop_length = 300;
            p.preemphasis = 0.5;
        }
        sl_featurizer *fz;
        assert_int_equal(sl_featurizer_new(&fz, &p), SL_OK);
        size_t bands = sl_featurizer_bands(fz), frames = sl_featurizer_frames(fz, 8000);
        float *whole = malloc(bands * frames * sizeof *whole);
        assert_int_equal(sl_featurize(fz, x, 8000, whole, NULL), SL_OK);
        for (int trial = 0; trial < 20; trial++) {
            sl_stream *st;
            assert_int_equal(sl_stream_new(&st, fz), SL_OK);
            float *frames_out = malloc((frames + 1) * bands * sizeof *frames_out);
            float *chunk_out = malloc((8000 / p.hop_length + 4) * bands * sizeof *chunk_out);
            size_t done = 0, pos = 0;
            while (pos < 8000) {
                size_t len = 1 + sl_rng_below(&r, trial < 10 ? 7 : 900); /* tiny and large chunks */
                if (len > 8000 - pos) len = 8000 - pos;
                size_t got;
                if (sl_stream_push(st, x + pos, len, chunk_out, 8000 / p.hop_length + 4, &got) != SL_OK)
                    fail_msg("%s", sl_last_error());
                assert_true(done + got <= frames);
                memcpy(frames_out + done * bands, chunk_out, got * bands * sizeof *chunk_out);
                done += got;
                pos += len;
            }
            assert_int_equal(done, frames);
            for (size_t t = 0; t < frames; t++)
                for (size_t b = 0; b < bands; b++)
                    if (memcmp(&frames_out[t * bands + b], &whole[b * frames + t], sizeof(float)) != 0)
                        fail_msg("variant %d trial %d: frame %zu band %zu differs: %.9g vs %.9g", variant, trial, t, b,
                                 (double)frames_out[t * bands + b], (double)whole[b * frames + t]);
            free(frames_out);
            free(chunk_out);
            sl_stream_free(st);
        }
        free(whole);
        sl_featurizer_free(fz);
    }
    free(x);
}

static void test_windows(void **state)
{
    (void)state;
    float w[9];
    assert_int_equal(sl_window(SL_WINDOW_HANN, 8, w), SL_OK);
    assert_true(w[0] == 0.0f && fabsf(w[4] - 1.0f) < 1e-7f && fabsf(w[2] - 0.5f) < 1e-7f); /* periodic */
    assert_int_equal(sl_window(SL_WINDOW_HANN_SYMMETRIC, 9, w), SL_OK);
    assert_true(w[0] == 0.0f && w[8] == 0.0f && fabsf(w[4] - 1.0f) < 1e-7f);
    assert_int_equal(sl_window(SL_WINDOW_HAMMING, 8, w), SL_OK);
    assert_true(fabsf(w[0] - 0.08f) < 1e-7f && fabsf(w[4] - 1.0f) < 1e-7f);
    assert_int_equal(sl_window(SL_WINDOW_BLACKMAN, 8, w), SL_OK);
    assert_true(fabsf(w[0]) < 1e-7f && fabsf(w[4] - 1.0f) < 1e-6f);
    assert_int_equal(sl_window(SL_WINDOW_RECTANGULAR, 8, w), SL_OK);
    assert_true(w[7] == 1.0f);
    assert_int_equal(sl_window(SL_WINDOW_HANN, 0, w), SL_EARG);
}

static void expect_bad(const sl_features_params *p, const char *msg)
{
    sl_featurizer *fz;
    assert_int_equal(sl_featurizer_new(&fz, p), SL_EARG);
    assert_null(fz);
    if (!strstr(sl_last_error(), msg)) fail_msg("'%s' lacks '%s'", sl_last_error(), msg);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    sl_features_params p;
    sl_features_params_default(&p);
    p.win_length = 300;
    expect_bad(&p, "win_length (300) must be in [1, n_fft = 256]");
    sl_features_params_default(&p);
    p.f_max = 5000;
    expect_bad(&p, "f_max (5000 Hz) must be in (0, sample_rate / 2 = 4000 Hz]");
    sl_features_params_default(&p);
    p.n_mels = 200;
    expect_bad(&p, "n_mels (200) must be in [1, n_fft / 2 + 1 = 129]");
    sl_features_params_default(&p);
    p.hop_length = 0;
    expect_bad(&p, "hop_length must be at least 1");
    sl_features_params_default(&p);
    p.type = SL_FEATURES_MFCC;
    p.n_mfcc = 41;
    expect_bad(&p, "n_mfcc (41) must be in [1, n_mels = 40]");
    sl_features_params_default(&p);
    p.power = 3;
    expect_bad(&p, "power must be 1 or 2");
    sl_features_params_default(&p);
    p.f_min = 4000;
    expect_bad(&p, "f_min (4000 Hz) must be in [0, f_max)");

    /* bad signals */
    sl_features_params_default(&p);
    sl_featurizer *fz;
    assert_int_equal(sl_featurizer_new(&fz, &p), SL_OK);
    float x[400] = {0}, out[40 * 3];
    assert_int_equal(sl_featurize(fz, x, 0, out, NULL), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "empty signal"));
    assert_int_equal(sl_featurize(fz, x, 150, out, NULL), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "150 samples is shorter than one frame (200)"));
    x[123] = NAN;
    assert_int_equal(sl_featurize(fz, x, 400, out, NULL), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "NaN or infinite sample at index 123"));
    sl_featurizer_free(fz);
    p.center = 1;
    assert_int_equal(sl_featurizer_new(&fz, &p), SL_OK);
    sl_stream *st;
    assert_int_equal(sl_stream_new(&st, fz), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "center: false"));
    sl_featurizer_free(fz);
}

/* Each filter's measured response (a sine through it, RMS after the transient) against the
 * Butterworth design, at frequencies down to -60 dB; chunked filtering equals whole. */
static void test_filters(void **state)
{
    (void)state;
    static const struct { sl_filter_type type; int order; double f1, f2; const char *name; } cases[] = {
        {SL_FILTER_LOWPASS, 4, 1000, 0, "low-pass order 4 at 1 kHz"},
        {SL_FILTER_LOWPASS, 5, 250, 0, "low-pass order 5 at 250 Hz"},
        {SL_FILTER_HIGHPASS, 3, 300, 0, "high-pass order 3 at 300 Hz"},
        {SL_FILTER_HIGHPASS, 2, 2000, 0, "high-pass order 2 at 2 kHz"},
        {SL_FILTER_BANDPASS, 2, 300, 3400, "band-pass order 2, 300-3400 Hz"},
        {SL_FILTER_BANDPASS, 3, 900, 1100, "band-pass order 3, 900-1100 Hz"},
    };
    const double fs = 8000, freqs[] = {40, 100, 250, 300, 500, 800, 900, 1000, 1100, 1300, 2000, 3000, 3400, 3700};
    size_t n = 4 * 8000;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sl_biquads f;
        if (sl_butterworth(&f, cases[c].type, cases[c].order, cases[c].f1, cases[c].f2, fs) != SL_OK)
            fail_msg("%s", sl_last_error());
        double worst = 0, worst_coef = 0;
        for (size_t k = 0; k < sizeof freqs / sizeof *freqs; k++) {
            double want = sl_butterworth_db(cases[c].type, cases[c].order, cases[c].f1, cases[c].f2, fs, freqs[k]);
            if (want < -60) continue;
            worst_coef = fmax(worst_coef, fabs(sl_biquads_db(&f, freqs[k], fs) - want));
            for (size_t i = 0; i < n; i++) x[i] = (float)sin(6.283185307179586 * freqs[k] * (double)i / fs);
            memcpy(y, x, n * sizeof *x);
            sl_biquads_reset(&f);
            sl_biquads_run(&f, y, n);
            double ei = 0, eo = 0;
            for (size_t i = n / 2; i < n; i++) {
                ei += (double)x[i] * x[i];
                eo += (double)y[i] * y[i];
            }
            double got = 10 * log10(eo / ei);
            worst = fmax(worst, fabs(got - want));
        }
        printf("  %s: measured vs design max |error| %.4f dB (tolerance 0.1 dB); coefficients %.1e dB\n",
               cases[c].name, worst, worst_coef);
        assert_true(worst < 0.1);
        assert_true(worst_coef < 1e-6);
        /* chunks of any size give the same samples */
        sl_rng r = sl_rng_make(5, c);
        for (size_t i = 0; i < n; i++) x[i] = (float)(2 * sl_rng_uniform_double(&r) - 1);
        memcpy(y, x, n * sizeof *x);
        sl_biquads_reset(&f);
        sl_biquads_run(&f, y, n);
        sl_biquads_reset(&f);
        for (size_t pos = 0; pos < n;) {
            size_t len = 1 + sl_rng_below(&r, 500);
            if (len > n - pos) len = n - pos;
            sl_biquads_run(&f, x + pos, len);
            pos += len;
        }
        assert_memory_equal(x, y, n * sizeof *x);
    }
    free(x);
    free(y);
    sl_biquads f;
    assert_int_equal(sl_butterworth(&f, SL_FILTER_LOWPASS, 0, 100, 0, fs), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "order must be in [1, 16]"));
    assert_int_equal(sl_butterworth(&f, SL_FILTER_LOWPASS, 2, 4000, 0, fs), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "cutoff 4000 Hz must be in (0, 4000) Hz"));
    assert_int_equal(sl_butterworth(&f, SL_FILTER_BANDPASS, 2, 500, 400, fs), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "band edges 500 and 400 Hz"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filterbanks_and_dct),     cmocka_unit_test(test_logmel_mfcc_deltas),
        cmocka_unit_test(test_centered_db_and_spectrogram), cmocka_unit_test(test_fft_identities),
        cmocka_unit_test(test_streaming_bit_identical), cmocka_unit_test(test_windows),
        cmocka_unit_test(test_bad_parameters),          cmocka_unit_test(test_filters),
        cmocka_unit_test(test_fft_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
