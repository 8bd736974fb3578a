/* Reverberation and pitch shift (src/augment/reverb.c, pitch.c): FFT convolution against the
 * direct sum, the synthetic impulse response's energy, direct path and decay (RT60 measured back
 * from Schroeder's energy decay curve), and the pitch shift's frequency, length and level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "augment/augment_internal.h"
#include "sigloop/dsp.h"

#define PI 3.14159265358979323846

static float *random_signal(uint64_t seed, size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    sl_rng r = sl_rng_make(seed, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)sl_rng_normal(&r);
    return x;
}

/* ---- convolution ----------------------------------------------------------------------------- */

/* The first n samples of x * ir by the definition, in double. */
static void direct_convolve(const float *x, size_t n, const float *ir, size_t m, double *y)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < m && k <= i; k++) s += (double)ir[k] * x[i - k];
        y[i] = s;
    }
}

static void test_convolve_matches_direct(void **state)
{
    (void)state;
    /* short and long responses, one longer than the signal (cut to it), odd sizes, the trivial case */
    static const struct {
        size_t n, m;
    } cases[] = {{1000, 17}, {1000, 700}, {1000, 2500}, {4097, 4097}, {16000, 4800}, {1, 1}, {5, 1}, {1, 9}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = cases[c].n, m = cases[c].m;
        float *x = random_signal(10 + c, n), *ir = random_signal(100 + c, m);
        float *y = malloc(n * sizeof *y);
        double *ref = malloc(n * sizeof *ref);
        assert_non_null(y);
        assert_non_null(ref);
        assert_int_equal(sl_aug_convolve(x, n, ir, m, y), SL_OK);
        direct_convolve(x, n, ir, m, ref);
        double peak = 0, err = 0;
        for (size_t i = 0; i < n; i++) {
            peak = fmax(peak, fabs(ref[i]));
            err = fmax(err, fabs(y[i] - ref[i]));
        }
        print_message("convolve n %zu m %zu: max error %.2e of peak %.3g (relative %.2e)\n", n, m, err, peak,
                      err / peak);
        if (!(err <= 1e-5 * peak)) fail_msg("n %zu, m %zu: max error %g, peak %g", n, m, err, peak);
        /* in place: the same bits as into another buffer */
        assert_int_equal(sl_aug_convolve(x, n, ir, m, x), SL_OK);
        if (memcmp(x, y, n * sizeof *y) != 0) fail_msg("n %zu, m %zu: in-place result differs", n, m);
        free(x);
        free(ir);
        free(y);
        free(ref);
    }
    /* a unit impulse response gives the signal back; a delayed one delays it */
    float x[64], y[64], d[4] = {0, 0, 0, 1};
    for (int i = 0; i < 64; i++) x[i] = (float)(i + 1);
    assert_int_equal(sl_aug_convolve(x, 64, d + 3, 1, y), SL_OK);
    for (int i = 0; i < 64; i++) assert_true(fabsf(y[i] - x[i]) <= 1e-4f * x[i]);
    assert_int_equal(sl_aug_convolve(x, 64, d, 4, y), SL_OK);
    for (int i = 0; i < 64; i++) assert_true(fabsf(y[i] - (i < 3 ? 0.0f : x[i - 3])) <= 1e-4f);
}

static void test_convolve_bad_arguments(void **state)
{
    (void)state;
    float x[4] = {1, 2, 3, 4}, ir[2] = {1, 1}, y[4];
    sl_error_clear();
    assert_int_equal(sl_aug_convolve(x, 0, ir, 2, y), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "n = 0"));
    assert_int_equal(sl_aug_convolve(x, 4, ir, 0, y), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "m = 0"));
    assert_int_equal(sl_aug_convolve(NULL, 4, ir, 2, y), SL_EARG);
    assert_int_equal(sl_aug_convolve(x, 4, NULL, 2, y), SL_EARG);
    assert_int_equal(sl_aug_convolve(x, 4, ir, 2, NULL), SL_EARG);
    /* over sl_fft's limit of 2^24 points: refused before any allocation or access */
    assert_int_equal(sl_aug_convolve(x, (size_t)1 << 24, ir, 2, y), SL_EARG);
}

/* ---- synthetic impulse response ------------------------------------------------------------- */

static double energy(const float *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) e += (double)x[i] * x[i];
    return e;
}

/* RT60 from Schroeder's backward-integrated energy decay curve (ISO 3382's T30): a least-squares
 * line through the curve in dB between -5 and -35 dB, extrapolated to -60 dB. */
static double measured_rt60(const float *h, size_t n, double fs)
{
    double *edc = malloc(n * sizeof *edc);
    assert_non_null(edc);
    double acc = 0;
    for (size_t i = n; i-- > 0;) {
        acc += (double)h[i] * h[i];
        edc[i] = acc;
    }
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        double db = 10.0 * log10(edc[i] / edc[0]);
        if (db > -5.0) continue;
        if (db < -35.0) break;
        double t = (double)i / fs;
        sx += t;
        sy += db;
        sxx += t * t;
        sxy += t * db;
        count++;
    }
    free(edc);
    assert_true(count > 10);
    double slope = (count * sxy - sx * sy) / (count * sxx - sx * sx); /* dB per second */
    return -60.0 / slope;
}

static void test_synth_ir_decay(void **state)
{
    (void)state;
    const double fs = 16000;
    const double rt60s[] = {0.3, 0.8};
    for (int c = 0; c < 2; c++) {
        double rt60 = rt60s[c];
        /* twice the decay time: the truncated tail is 120 dB down and does not bend the curve */
        size_t n = (size_t)(2 * rt60 * fs);
        for (uint64_t seed = 1; seed <= 3; seed++) {
            float *h = malloc(n * sizeof *h);
            assert_non_null(h);
            sl_rng r = sl_rng_make(seed, 77);
            sl_aug_synth_ir(&r, rt60, fs, h, n);
            double e = energy(h, n);
            if (fabs(e - 1) > 1e-5) fail_msg("rt60 %.2f: energy %.8f, want 1", rt60, e);
            /* the direct path: positive, at 0 and above every reflection */
            assert_true(h[0] > 0);
            size_t imax = 0;
            for (size_t i = 1; i < n; i++)
                if (fabsf(h[i]) > fabsf(h[imax])) imax = i;
            if (imax != 0) fail_msg("rt60 %.2f: the largest sample is at %zu, not 0", rt60, imax);
            double got = measured_rt60(h, n, fs);
            print_message("rt60 %.2f s, seed %llu: measured %.4f s (%+.1f %%), direct path %.3f, DRR %.1f dB\n",
                          rt60, (unsigned long long)seed, got, 100 * (got / rt60 - 1), (double)h[0],
                          10 * log10((double)h[0] * h[0] / (1 - (double)h[0] * h[0])));
            if (fabs(got / rt60 - 1) > 0.15) fail_msg("rt60 %.2f s: measured %.4f s", rt60, got);
            free(h);
        }
    }
    /* the envelope does not depend on the sample rate: same RT60 at 8 and 48 kHz */
    const double rates[] = {8000, 48000};
    for (int c = 0; c < 2; c++) {
        size_t n = (size_t)(2 * 0.5 * rates[c]);
        float *h = malloc(n * sizeof *h);
        assert_non_null(h);
        sl_rng r = sl_rng_make(5, 5);
        sl_aug_synth_ir(&r, 0.5, rates[c], h, n);
        double got = measured_rt60(h, n, rates[c]);
        print_message("rt60 0.50 s at %.0f Hz: measured %.4f s\n", rates[c], got);
        if (fabs(got / 0.5 - 1) > 0.15) fail_msg("at %.0f Hz: measured %.4f s", rates[c], got);
        free(h);
    }
}

static void test_synth_ir_seeds(void **state)
{
    (void)state;
    const size_t n = 4000;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    assert_true(a && b && c);
    sl_rng ra = sl_rng_make(42, 1), rb = sl_rng_make(42, 1), rc = sl_rng_make(43, 1);
    sl_aug_synth_ir(&ra, 0.4, 16000, a, n);
    sl_aug_synth_ir(&rb, 0.4, 16000, b, n);
    sl_aug_synth_ir(&rc, 0.4, 16000, c, n);
    assert_memory_equal(a, b, n * sizeof *a);
    size_t differ = 0;
    for (size_t i = 1; i < n; i++) differ += a[i] != c[i];
    if (differ < n - 10) fail_msg("another seed changed only %zu of %zu samples", differ, n);
    /* degenerate sizes and decay: the direct path alone */
    sl_aug_synth_ir(&ra, 0.4, 16000, a, 1);
    assert_true(a[0] == 1.0f);
    sl_aug_synth_ir(&ra, 0.0, 16000, a, 8);
    assert_true(a[0] == 1.0f && energy(a, 8) == 1.0);
    free(a);
    free(b);
    free(c);
}

/* ---- pitch shift ----------------------------------------------------------------------------- */

/* The frequency of the strongest spectral peak of x: Hann window, zero padding to 2^18 points,
 * and a parabola through the log magnitudes of the peak bin and its neighbours. */
static double peak_frequency(const float *x, size_t n, double fs)
{
    const size_t nfft = (size_t)1 << 18;
    assert_true(n <= nfft);
    float *t = calloc(nfft, sizeof *t), *X = malloc((nfft + 2) * sizeof *X);
    assert_true(t && X);
    for (size_t i = 0; i < n; i++) t[i] = x[i] * (float)(0.5 - 0.5 * cos(2 * PI * (double)i / (double)n));
    sl_fft *f = NULL;
    assert_int_equal(sl_fft_new(&f, nfft), SL_OK);
    sl_fft_forward(f, t, X);
    size_t best = 1;
    for (size_t k = 1; k < nfft / 2; k++)
        if (X[2 * k] * X[2 * k] + X[2 * k + 1] * X[2 * k + 1] >
            X[2 * best] * X[2 * best] + X[2 * best + 1] * X[2 * best + 1])
            best = k;
    double l[3];
    for (int d = -1; d <= 1; d++) {
        size_t k = best + (size_t)(long)d;
        l[d + 1] = 0.5 * log((double)X[2 * k] * X[2 * k] + (double)X[2 * k + 1] * X[2 * k + 1] + 1e-30);
    }
    double shift = 0.5 * (l[0] - l[2]) / (l[0] - 2 * l[1] + l[2]);
    sl_fft_free(f);
    free(t);
    free(X);
    return ((double)best + shift) * fs / (double)nfft;
}

static double rms(const float *x, size_t n)
{
    return sqrt(energy(x, n) / (double)n);
}

static void test_pitch_sine(void **state)
{
    (void)state;
    const double fs = 16000;
    const size_t n = 16000, edge = 800; /* 1 s; 50 ms */
    float *x = malloc(n * sizeof *x), *y = malloc((n + 16) * sizeof *y);
    assert_true(x && y);
    for (size_t i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2 * PI * 1000.0 * (double)i / fs));
    const double shifts[] = {2, -2, 12, -12, 0.5};
    for (int c = 0; c < 5; c++) {
        double st = shifts[c], want = 1000.0 * pow(2.0, st / 12.0);
        for (size_t i = 0; i < n + 16; i++) y[i] = 1234.5f; /* guard after the n outputs */
        assert_int_equal(sl_aug_pitch(x, n, st, fs, y), SL_OK);
        for (size_t i = n; i < n + 16; i++) assert_true(y[i] == 1234.5f);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(y[i])) fail_msg("%+g semitones: sample %zu is %g", st, i, (double)y[i]);
        double got = peak_frequency(y, n, fs);
        double level = 20 * log10(rms(y + edge, n - 2 * edge) / rms(x + edge, n - 2 * edge));
        /* the level frame by frame (10 ms): WSOLA's splices must not leave dips */
        double worst = 0;
        for (size_t i = edge; i + 160 <= n - edge; i += 160) {
            double db = 20 * log10(rms(y + i, 160) / rms(x + i, 160));
            if (fabs(db) > fabs(worst)) worst = db;
        }
        print_message("pitch %+5.1f semitones: peak %.2f Hz (want %.2f, %+.3f %%), level %+.3f dB, worst 10 ms %+.2f dB\n",
                      st, got, want, 100 * (got / want - 1), level, worst);
        if (fabs(got / want - 1) > 0.01) fail_msg("%+g semitones: peak at %.2f Hz, want %.2f", st, got, want);
        if (fabs(level) > 1) fail_msg("%+g semitones: level changed by %.2f dB", st, level);
        if (fabs(worst) > 1) fail_msg("%+g semitones: a 10 ms frame changed by %.2f dB", st, worst);
    }
    /* in place: the same as into another buffer */
    assert_int_equal(sl_aug_pitch(x, n, 3, fs, y), SL_OK);
    assert_int_equal(sl_aug_pitch(x, n, 3, fs, x), SL_OK);
    assert_memory_equal(x, y, n * sizeof *x);
    free(x);
    free(y);
}

static void test_pitch_zero_and_short(void **state)
{
    (void)state;
    float *x = random_signal(7, 3000), *y = malloc(3000 * sizeof *y);
    assert_non_null(y);
    assert_int_equal(sl_aug_pitch(x, 3000, 0.0, 16000, y), SL_OK);
    assert_memory_equal(x, y, 3000 * sizeof *x);
    assert_int_equal(sl_aug_pitch(x, 3000, -0.0, 16000, y), SL_OK);
    assert_memory_equal(x, y, 3000 * sizeof *x);
    /* signals shorter than a frame (400 samples) or than the search: finite, no stray access */
    const size_t lens[] = {1, 2, 7, 100, 399, 401};
    for (size_t c = 0; c < sizeof lens / sizeof *lens; c++)
        for (int st = -12; st <= 12; st += 5) {
            if (st == 0) continue;
            memset(y, 0, 3000 * sizeof *y);
            assert_int_equal(sl_aug_pitch(x, lens[c], st, 16000, y), SL_OK);
            for (size_t i = 0; i < lens[c]; i++)
                if (!isfinite(y[i])) fail_msg("n %zu, %d semitones: sample %zu is %g", lens[c], st, i, (double)y[i]);
        }
    free(x);
    free(y);
}

static void test_pitch_bad_arguments(void **state)
{
    (void)state;
    float x[16] = {0}, y[16];
    const double bad_shift[] = {12.01, -12.5, 24, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_shift / sizeof *bad_shift; i++) {
        sl_error_clear();
        assert_int_equal(sl_aug_pitch(x, 16, bad_shift[i], 16000, y), SL_EARG);
        assert_non_null(strstr(sl_last_error(), "semitones"));
    }
    const double bad_rate[] = {0, -16000, NAN, INFINITY, 1e7};
    for (size_t i = 0; i < sizeof bad_rate / sizeof *bad_rate; i++) {
        sl_error_clear();
        assert_int_equal(sl_aug_pitch(x, 16, 2, bad_rate[i], y), SL_EARG);
        assert_non_null(strstr(sl_last_error(), "sample rate"));
        /* checked before the shortcut for 0 semitones */
        assert_int_equal(sl_aug_pitch(x, 16, 0, bad_rate[i], y), SL_EARG);
    }
    assert_int_equal(sl_aug_pitch(x, 0, 2, 16000, y), SL_EARG);
    assert_int_equal(sl_aug_pitch(NULL, 16, 2, 16000, y), SL_EARG);
    assert_int_equal(sl_aug_pitch(x, 16, 2, 16000, NULL), SL_EARG);
    /* the ends of the range are fine */
    assert_int_equal(sl_aug_pitch(x, 16, 12, 16000, y), SL_OK);
    assert_int_equal(sl_aug_pitch(x, 16, -12, 16000, y), SL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convolve_matches_direct),
        cmocka_unit_test(test_convolve_bad_arguments),
        cmocka_unit_test(test_synth_ir_decay),
        cmocka_unit_test(test_synth_ir_seeds),
        cmocka_unit_test(test_pitch_sine),
        cmocka_unit_test(test_pitch_zero_and_short),
        cmocka_unit_test(test_pitch_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
