/* The sensor-series augmentations (src/augment/sensor.c): random rotations (orthonormal, det +1,
 * limited angles, Haar-uniform at 180 degrees, uniform axes), rotation of an axis triplet, gain /
 * offset / drift, jitter statistics and reproducibility, and the two time warps (series and
 * SpecAugment features) against their defining properties and exact values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "augment/augment_internal.h"

#define PI 3.14159265358979323846

static double det3(const double R[9])
{
    return R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) +
           R[2] * (R[3] * R[7] - R[4] * R[6]);
}

/* The rotation angle in degrees, from the trace: cos t = (trace - 1) / 2. */
static double angle_deg(const double R[9])
{
    double c = (R[0] + R[4] + R[8] - 1) / 2;
    if (c > 1) c = 1;
    if (c < -1) c = -1;
    return acos(c) * 180 / PI;
}

static float *alloc_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    return p;
}

/* ---- rotations ----------------------------------------------------------------------------- */

static void test_rotation_orthonormal(void **state)
{
    (void)state;
    static const double maxes[] = {0, 1, 10, 45, 90, 179.9, 180, 360};
    for (size_t m = 0; m < sizeof maxes / sizeof *maxes; m++)
        for (uint64_t seed = 0; seed < 500; seed++) {
            sl_rng r = sl_rng_make(seed, 17);
            double R[9];
            sl_aug_random_rotation(&r, maxes[m], R);
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    double dot = 0;
                    for (int k = 0; k < 3; k++) dot += R[3 * i + k] * R[3 * j + k];
                    if (fabs(dot - (i == j)) > 1e-9)
                        fail_msg("max %g seed %llu: (R R^T)[%d][%d] = %.17g", maxes[m], (unsigned long long)seed,
                                 i, j, dot);
                }
            if (fabs(det3(R) - 1) > 1e-9)
                fail_msg("max %g seed %llu: det %.17g", maxes[m], (unsigned long long)seed, det3(R));
        }
    /* max 0: exactly the identity */
    sl_rng r = sl_rng_make(1, 1);
    double R[9];
    sl_aug_random_rotation(&r, 0, R);
    for (int i = 0; i < 9; i++) assert_true(R[i] == (i % 4 == 0 ? 1.0 : 0.0));
}

/* max 10: every angle within 10 degrees, and the angles fill the range (|angle| uniform on
 * [0, 10]: mean 5, the largest of 2000 close to 10). */
static void test_rotation_limited_angle(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(7, 0);
    double sum = 0, top = 0;
    const int n = 2000;
    for (int i = 0; i < n; i++) {
        double R[9];
        sl_aug_random_rotation(&r, 10, R);
        double a = angle_deg(R);
        if (a > 10 + 1e-6) fail_msg("draw %d: angle %.9f over 10 degrees", i, a);
        sum += a;
        if (a > top) top = a;
    }
    /* sd of the mean: 10 / sqrt(12 n) ~ 0.065 */
    if (fabs(sum / n - 5) > 0.3) fail_msg("mean angle %.3f, want 5", sum / n);
    if (top < 9.9) fail_msg("largest angle %.3f of %d draws", top, n);
}

/* Below 180 the axis is uniform on the sphere: read it back from the skew part of R
 * ((R - R^T) / 2 = sin t [k]x); each component has mean 0 and mean square 1/3, and its magnitude
 * is uniform on [0, 1] (Archimedes: equal heights cut equal areas from the sphere; an axis from a
 * normalised uniform cube point would crowd towards the corners). */
static void test_rotation_axis_uniform(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(99, 3);
    const int n = 4000;
    double s1[3] = {0}, s2[3] = {0};
    int used = 0, bins[3][4] = {{0}};
    for (int i = 0; i < n; i++) {
        double R[9];
        sl_aug_random_rotation(&r, 90, R);
        double v[3] = {R[7] - R[5], R[2] - R[6], R[3] - R[1]};
        double len = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        if (len < 1e-6) continue; /* a tiny angle: the axis is not well defined */
        used++;
        for (int k = 0; k < 3; k++) {
            s1[k] += v[k] / len;
            s2[k] += v[k] * v[k] / (len * len);
            int q = (int)(4 * fabs(v[k]) / len);
            bins[k][q < 4 ? q : 3]++;
        }
    }
    assert_true(used > n - 10);
    for (int k = 0; k < 3; k++) {
        /* sd: 0.58 / sqrt(n) ~ 0.009 for the mean, 0.3 / sqrt(n) ~ 0.005 for the mean square */
        if (fabs(s1[k] / used) > 0.05) fail_msg("axis component %d: mean %.4f", k, s1[k] / used);
        if (fabs(s2[k] / used - 1.0 / 3) > 0.03) fail_msg("axis component %d: mean square %.4f", k, s2[k] / used);
        /* sd of a quarter's share: sqrt(0.25 0.75 / n) ~ 0.007 */
        for (int q = 0; q < 4; q++)
            if (fabs((double)bins[k][q] / used - 0.25) > 0.035)
                fail_msg("axis component %d: %.4f of the magnitudes in [%.2f, %.2f)", k,
                         (double)bins[k][q] / used, q / 4.0, (q + 1) / 4.0);
    }
}

/* At 180 the rotation is Haar-uniform: the image of the z axis (R's third column) is uniform on
 * the sphere (each component mean 0; an angle uniform in [-180, 180] about a uniform axis would
 * give a z mean of 1/3), and the angle has density (1 - cos t) / pi, so P(t <= 90 degrees) =
 * (pi/2 - 1) / pi = 0.1817 (0.5 for the uniform angle) and E[trace] = 0. */
static void test_rotation_haar(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(2024, 5);
    const int n = 2000;
    double mean[3] = {0}, trace = 0;
    int small = 0;
    for (int i = 0; i < n; i++) {
        double R[9];
        sl_aug_random_rotation(&r, 180, R);
        for (int k = 0; k < 3; k++) mean[k] += R[3 * k + 2] / n;
        trace += (R[0] + R[4] + R[8]) / n;
        small += angle_deg(R) <= 90;
    }
    for (int k = 0; k < 3; k++)
        if (fabs(mean[k]) > 0.1) fail_msg("rotated z axis: component %d mean %.4f", k, mean[k]);
    /* sd of the fraction: sqrt(0.18 0.82 / n) ~ 0.0086; of the trace mean: 1 / sqrt(n) ~ 0.022 */
    double frac = (double)small / n, want = (PI / 2 - 1) / PI;
    if (fabs(frac - want) > 0.04) fail_msg("P(angle <= 90) = %.4f, want %.4f", frac, want);
    if (fabs(trace) > 0.1) fail_msg("mean trace %.4f, want 0", trace);
}

/* ---- rotate -------------------------------------------------------------------------------- */

static void test_rotate(void **state)
{
    (void)state;
    const size_t n = 1000, ch = 6;
    float *x = alloc_floats(ch * n), *orig = alloc_floats(ch * n);
    sl_rng r = sl_rng_make(11, 0);
    for (size_t i = 0; i < ch * n; i++) x[i] = (float)(3 * sl_rng_normal(&r));
    memcpy(orig, x, ch * n * sizeof *x);
    double R[9];
    sl_aug_random_rotation(&r, 180, R);
    const size_t a[3] = {3, 4, 5};
    sl_aug_rotate(x, n, a, R);
    assert_memory_equal(x, orig, 3 * n * sizeof *x); /* channels 0-2 untouched, bit for bit */
    int moved = 0;
    for (size_t t = 0; t < n; t++) {
        double v[3], w[3], nv = 0, nw = 0;
        for (int k = 0; k < 3; k++) {
            v[k] = orig[(3 + k) * n + t];
            w[k] = x[(3 + k) * n + t];
            nv += v[k] * v[k];
            nw += w[k] * w[k];
        }
        if (fabs(sqrt(nw) - sqrt(nv)) > 1e-5 * sqrt(nv))
            fail_msg("t %zu: norm %.9g, was %.9g", t, sqrt(nw), sqrt(nv));
        for (int k = 0; k < 3; k++) {
            double want = R[3 * k] * v[0] + R[3 * k + 1] * v[1] + R[3 * k + 2] * v[2];
            if (fabs(w[k] - want) > 1e-5 * (1 + sqrt(nv))) fail_msg("t %zu axis %d: %.9g, want %.9g", t, k, w[k], want);
            moved += w[k] != v[k];
        }
    }
    assert_true(moved > (int)n); /* the rotation did something */

    /* a known rotation on a non-contiguous triplet: 90 degrees about z maps (1, 0, 0) to (0, 1, 0) */
    float y[3 * 2] = {1, 9, 7, 9, 0, 9}; /* (3 channels, 2 samples): ch0 {1, 9}, ch1 {7, 9}, ch2 {0, 9} */
    const double Rz[9] = {0, -1, 0, 1, 0, 0, 0, 0, 1};
    const size_t b[3] = {1, 2, 0}; /* vector (ch1, ch2, ch0) = (7, 0, 1) at t = 0 */
    sl_aug_rotate(y, 2, b, Rz);
    /* (7, 0, 1) -> (0, 7, 1): ch1 = 0, ch2 = 7, ch0 = 1 */
    assert_true(y[2] == 0.0f && y[4] == 7.0f && y[0] == 1.0f);
    /* t = 1: (9, 9, 9) -> (-9, 9, 9) */
    assert_true(y[3] == -9.0f && y[5] == 9.0f && y[1] == 9.0f);
    sl_aug_rotate(NULL, 0, a, R); /* n = 0: nothing to do */
    free(x);
    free(orig);
}

/* ---- gain, drift, jitter ------------------------------------------------------------------- */

static void test_gain_drift(void **state)
{
    (void)state;
    float x[4] = {2, 2, 2, 2};
    sl_aug_axis_gain_drift(x, 4, 1.5, 0.25, 1.0);
    /* 1.5 * 2 + 0.25 + t / 4 */
    const float want[4] = {3.25f, 3.5f, 3.75f, 4.0f};
    for (int t = 0; t < 4; t++)
        if (x[t] != want[t]) fail_msg("t %d: %.9g, want %.9g", t, (double)x[t], (double)want[t]);
    float y[5] = {-1, -1, -1, -1, -1};
    sl_aug_axis_gain_drift(y, 5, -2, 0, -5); /* 2 - t */
    for (int t = 0; t < 5; t++) assert_true(y[t] == (float)(2 - t));
    float z[3] = {4, 4, 4};
    sl_aug_axis_gain_drift(z, 3, 1, 0, 0); /* identity */
    for (int t = 0; t < 3; t++) assert_true(z[t] == 4.0f);
    sl_aug_axis_gain_drift(NULL, 0, 2, 1, 1);
}

static void test_jitter(void **state)
{
    (void)state;
    const size_t n = 100000;
    const double sigma = 0.3;
    float *x = alloc_floats(n), *y = alloc_floats(n), *z = alloc_floats(n);
    for (size_t i = 0; i < n; i++) x[i] = y[i] = z[i] = 1.0f;
    sl_rng r1 = sl_rng_make(5, 5), r2 = sl_rng_make(5, 5), r3 = sl_rng_make(6, 5);
    sl_aug_jitter(&r1, x, n, sigma);
    sl_aug_jitter(&r2, y, n, sigma);
    sl_aug_jitter(&r3, z, n, sigma);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - 1.0;
        s += d;
        s2 += d * d;
    }
    double mean = s / n, sd = sqrt(s2 / n - mean * mean);
    if (fabs(sd - sigma) > 0.05 * sigma) fail_msg("jitter sd %.5f, want %.5f", sd, sigma);
    if (fabs(mean) > 0.01) fail_msg("jitter mean %.5f", mean);
    assert_memory_equal(x, y, n * sizeof *x);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) same += x[i] == z[i];
    if (same > n / 100) fail_msg("seeds 5 and 6 agree on %zu of %zu samples", same, n);
    /* sigma 0: unchanged */
    sl_aug_jitter(&r1, y, n, 0);
    assert_memory_equal(x, y, n * sizeof *x);
    free(x);
    free(y);
    free(z);
}

/* ---- series time warp ---------------------------------------------------------------------- */

/* A ramp x[t] = t is warped into the map itself (linear interpolation of a ramp is exact): it
 * starts at 0, ends at n - 1, rises, and each step is within strength of 1. A second channel
 * 2 x + 5 must come out as 2 (the first) + 5: one map for every channel. */
static void test_series_warp_ramp(void **state)
{
    (void)state;
    const size_t n = 1000;
    float *x = alloc_floats(2 * n), *scratch = alloc_floats(n);
    static const size_t knots[] = {1, 2, 4, 9, 50};
    static const double strengths[] = {0.05, 0.2, 0.5, 0.9};
    for (size_t ki = 0; ki < sizeof knots / sizeof *knots; ki++)
        for (size_t si = 0; si < sizeof strengths / sizeof *strengths; si++) {
            double moved = 0; /* the largest displacement of the map over the seeds */
            for (uint64_t seed = 0; seed < 20; seed++) {
                for (size_t t = 0; t < n; t++) {
                    x[t] = (float)t;
                    x[n + t] = (float)(2.0 * t + 5);
                }
                sl_rng r = sl_rng_make(seed, 1);
                double st = strengths[si];
                sl_aug_time_warp_series(&r, x, 2, n, knots[ki], st, scratch);
                assert_true(x[0] == 0.0f && x[n - 1] == (float)(n - 1));
                assert_true(x[n] == 5.0f && x[2 * n - 1] == (float)(2.0 * (n - 1) + 5));
                for (size_t t = 1; t < n; t++) {
                    double step = (double)x[t] - x[t - 1];
                    if (step < 1 - st - 1e-3 || step > 1 + st + 1e-3)
                        fail_msg("knots %zu strength %g seed %llu: step %zu -> %zu is %.6f", knots[ki], st,
                                 (unsigned long long)seed, t - 1, t, step);
                    double other = x[n + t] - (2.0 * x[t] + 5);
                    if (fabs(other) > 1e-3 * (1 + t))
                        fail_msg("channel 1 at %zu: %.6f off the warped channel 0", t, other);
                    moved = fmax(moved, fabs(x[t] - (double)t));
                }
            }
            /* the warp is not the identity: the map wanders from it by a sample at least */
            if (moved < 1)
                fail_msg("knots %zu strength %g: largest displacement %.4f", knots[ki], strengths[si], moved);
        }
    free(x);
    free(scratch);
}

static void test_series_warp_properties(void **state)
{
    (void)state;
    const size_t n = 257, ch = 3;
    float *x = alloc_floats(ch * n), *orig = alloc_floats(ch * n), *y = alloc_floats(ch * n);
    float *scratch = alloc_floats(n);
    sl_rng g = sl_rng_make(77, 0);
    for (size_t i = 0; i < ch * n; i++) orig[i] = (float)sl_rng_normal(&g);

    /* endpoints of every channel unchanged, values within the input's range (interpolation) */
    memcpy(x, orig, ch * n * sizeof *x);
    sl_rng r = sl_rng_make(3, 3);
    sl_aug_time_warp_series(&r, x, ch, n, 4, 0.4, scratch);
    for (size_t c = 0; c < ch; c++) {
        assert_true(x[c * n] == orig[c * n] && x[c * n + n - 1] == orig[c * n + n - 1]);
        float lo = orig[c * n], hi = orig[c * n];
        for (size_t t = 0; t < n; t++) {
            lo = fminf(lo, orig[c * n + t]);
            hi = fmaxf(hi, orig[c * n + t]);
        }
        for (size_t t = 0; t < n; t++) assert_true(x[c * n + t] >= lo && x[c * n + t] <= hi);
    }
    assert_memory_not_equal(x, orig, ch * n * sizeof *x);

    /* same seed, same output; another seed, another output */
    memcpy(y, orig, ch * n * sizeof *y);
    r = sl_rng_make(3, 3);
    sl_aug_time_warp_series(&r, y, ch, n, 4, 0.4, scratch);
    assert_memory_equal(x, y, ch * n * sizeof *x);
    memcpy(y, orig, ch * n * sizeof *y);
    r = sl_rng_make(4, 3);
    sl_aug_time_warp_series(&r, y, ch, n, 4, 0.4, scratch);
    assert_memory_not_equal(x, y, ch * n * sizeof *x);

    /* the generator advances by the knots + 1 draws, the same for any number of channels */
    sl_rng a = sl_rng_make(8, 8), b = a;
    memcpy(y, orig, ch * n * sizeof *y);
    sl_aug_time_warp_series(&a, y, ch, n, 4, 0.4, scratch);
    for (int i = 0; i < 5; i++) sl_rng_uniform_double(&b);
    assert_true(sl_rng_u32(&a) == sl_rng_u32(&b));

    /* strength 0 and knots 0: unchanged, bit for bit */
    memcpy(y, orig, ch * n * sizeof *y);
    r = sl_rng_make(3, 3);
    sl_aug_time_warp_series(&r, y, ch, n, 4, 0.0, scratch);
    assert_memory_equal(y, orig, ch * n * sizeof *y);
    sl_aug_time_warp_series(&r, y, ch, n, 0, 0.4, scratch);
    assert_memory_equal(y, orig, ch * n * sizeof *y);

    /* degenerate lengths: n = 0, 1, 2 leave the data alone; knots far over n are capped */
    sl_aug_time_warp_series(&r, NULL, ch, 0, 4, 0.4, NULL);
    float one[3] = {1, 2, 3};
    sl_aug_time_warp_series(&r, one, 3, 1, 4, 0.4, scratch);
    assert_true(one[0] == 1 && one[1] == 2 && one[2] == 3);
    float two[2] = {4, 5};
    sl_aug_time_warp_series(&r, two, 1, 2, 4, 0.4, scratch);
    assert_true(two[0] == 4 && two[1] == 5);
    float ramp[5] = {0, 1, 2, 3, 4};
    sl_aug_time_warp_series(&r, ramp, 1, 5, 1000, 0.5, scratch);
    assert_true(ramp[0] == 0 && ramp[4] == 4);
    for (int t = 1; t < 5; t++) assert_true(ramp[t] >= ramp[t - 1]);
    free(x);
    free(orig);
    free(y);
    free(scratch);
}

/* ---- feature time warp --------------------------------------------------------------------- */

/* Rows f[b][t] = t + 100 b. The map sends the output frame t to the input position
 * src(t) = t c / d for t <= d and c + (t - d) (F - 1 - c) / (F - 1 - d) beyond, d = c + shift,
 * so on these rows the output is src(t) + 100 b. */
static void check_feature_warp(size_t frames, size_t centre, long shift)
{
    const size_t bands = 3;
    float *f = alloc_floats(bands * frames), *scratch = alloc_floats(frames);
    for (size_t b = 0; b < bands; b++)
        for (size_t t = 0; t < frames; t++) f[b * frames + t] = (float)(t + 100 * b);
    sl_aug_time_warp_features(f, bands, frames, centre, shift, scratch);
    double F1 = (double)(frames - 1), c = (double)centre, d = c + (double)shift;
    size_t dd = (size_t)d;
    for (size_t b = 0; b < bands; b++) {
        const float *row = f + b * frames;
        double off = 100.0 * b;
        /* the edges stay; the frame at centre + shift now holds the old frame centre, exactly */
        assert_true(row[0] == (float)off && row[frames - 1] == (float)(F1 + off));
        if (row[dd] != (float)(c + off))
            fail_msg("F %zu c %zu shift %ld: frame %zu holds %.6f, want %.6f", frames, centre, shift, dd,
                     (double)row[dd], c + off);
        /* the frame at centre: c^2 / d when the centre moved later (c - shift c / d), or
         * c + |shift| (F - 1 - c) / (F - 1 - d) when it moved earlier */
        double at_c = shift > 0 ? c * c / d : c + (c - d) * (F1 - c) / (F1 - d);
        if (fabs(row[centre] - (at_c + off)) > 1e-3)
            fail_msg("F %zu c %zu shift %ld: frame %zu holds %.6f, want %.6f", frames, centre, shift, centre,
                     (double)row[centre], at_c + off);
        /* everywhere: the piecewise-linear map, increasing */
        for (size_t t = 0; t < frames; t++) {
            double tt = (double)t, src = tt <= d ? tt * c / d : c + (tt - d) * (F1 - c) / (F1 - d);
            if (fabs(row[t] - (src + off)) > 1e-3)
                fail_msg("F %zu c %zu shift %ld: frame %zu holds %.6f, want %.6f", frames, centre, shift, t,
                         (double)row[t], src + off);
            if (t > 0) assert_true(row[t] > row[t - 1]);
        }
    }
    free(f);
    free(scratch);
}

static void test_feature_warp(void **state)
{
    (void)state;
    /* 100 frames, centre 40 moved to 50: the output frame 40 holds 40 * 40 / 50 = 32 */
    check_feature_warp(100, 40, 10);
    check_feature_warp(100, 40, -10); /* frame 40 holds 40 + 10 * 59 / 69 */
    check_feature_warp(101, 50, 49);
    check_feature_warp(101, 50, -49);
    check_feature_warp(7, 3, 1);
    check_feature_warp(3, 1, 0);

    /* the two checks above by hand, so a wrong formula in both places cannot hide */
    float g[100], s[100];
    for (int t = 0; t < 100; t++) g[t] = (float)t;
    sl_aug_time_warp_features(g, 1, 100, 40, 10, s);
    assert_true(g[50] == 40.0f);
    assert_true(fabsf(g[40] - 32.0f) < 1e-4f);
    assert_true(fabsf(g[75] - (40.0f + 25.0f * 59.0f / 49.0f)) < 1e-4f);

    /* shift 0 and degenerate sizes leave the data alone, bit for bit */
    const size_t bands = 4, frames = 60;
    float f[4 * 60], orig[4 * 60], scratch[60];
    sl_rng r = sl_rng_make(1, 2);
    for (size_t i = 0; i < bands * frames; i++) orig[i] = (float)sl_rng_normal(&r);
    memcpy(f, orig, sizeof f);
    sl_aug_time_warp_features(f, bands, frames, 30, 0, scratch);
    assert_memory_equal(f, orig, sizeof f);
    sl_aug_time_warp_features(f, bands, frames, 0, 5, scratch);          /* centre on an edge */
    sl_aug_time_warp_features(f, bands, frames, frames - 1, -5, scratch);
    sl_aug_time_warp_features(f, bands, frames, 1000, 5, scratch);       /* centre past the end */
    sl_aug_time_warp_features(f, bands, 2, 1, 1, scratch);               /* too few frames */
    sl_aug_time_warp_features(f, 0, frames, 30, 5, scratch);             /* no bands */
    assert_memory_equal(f, orig, sizeof f);
    /* a shift past the edges is clamped: the edges stay, nothing is read or written outside */
    sl_aug_time_warp_features(f, bands, frames, 30, 1000, scratch);
    for (size_t b = 0; b < bands; b++)
        assert_true(f[b * frames] == orig[b * frames] && f[b * frames + frames - 1] == orig[b * frames + frames - 1]);
    memcpy(f, orig, sizeof f);
    sl_aug_time_warp_features(f, bands, frames, 30, -1000, scratch);
    for (size_t b = 0; b < bands; b++)
        assert_true(f[b * frames] == orig[b * frames] && f[b * frames + frames - 1] == orig[b * frames + frames - 1]);
    /* with the row-holds-its-index test: random real warps keep the edges and the moved centre */
    sl_rng q = sl_rng_make(5, 9);
    for (int i = 0; i < 200; i++) {
        size_t F = 3 + sl_rng_below(&q, 300);
        size_t c = 1 + sl_rng_below(&q, (uint32_t)(F - 2));
        long lo = 1 - (long)c, hi = (long)(F - 2 - c); /* d in [1, F - 2] */
        long sh = lo + (long)sl_rng_below(&q, (uint32_t)(hi - lo + 1));
        check_feature_warp(F, c, sh);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation_orthonormal),
        cmocka_unit_test(test_rotation_limited_angle),
        cmocka_unit_test(test_rotation_axis_uniform),
        cmocka_unit_test(test_rotation_haar),
        cmocka_unit_test(test_rotate),
        cmocka_unit_test(test_gain_drift),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_series_warp_ramp),
        cmocka_unit_test(test_series_warp_properties),
        cmocka_unit_test(test_feature_warp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
