/* Augmentations for multi-channel sensor series (accelerometer, gyroscope, ...) and the time warp
 * of feature matrices: random 3-D rotations of axis triplets, per-axis gain, offset and drift,
 * additive jitter, a smooth random time warp of a series, and SpecAugment's time warp.
 *
 * Rotations: all rotations uniformly (Haar measure) from a uniform random unit quaternion
 * (K. Shoemake, "Uniform random rotations", Graphics Gems III, 1992); limited rotations as an
 * angle uniform in [-max, max] about an axis uniform on the sphere, turned into a matrix by
 * Rodrigues' formula. Series time warp: per-segment speeds around 1 integrated into a monotone
 * piecewise-linear map of time (as in the "time warping" of Um et al., "Data augmentation of
 * wearable sensor data for Parkinson's disease monitoring using convolutional neural networks",
 * ICMI 2017). Feature time warp: the piecewise-linear warp of SpecAugment (Park et al.,
 * Interspeech 2019). Both resample by linear interpolation.
 *
 * Nothing here allocates: the warps take caller scratch, and the series warp replays its segment
 * draws from a copy of the generator (counter-based, so a copy gives the same numbers again)
 * instead of storing them. */
#include "augment/augment_internal.h"

#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846

/* ---- rotations ----------------------------------------------------------------------------- */

/* R from a unit quaternion (w, x, y, z); row-major. */
static void quat_to_matrix(double w, double x, double y, double z, double R[9])
{
    R[0] = 1 - 2 * (y * y + z * z);
    R[1] = 2 * (x * y - w * z);
    R[2] = 2 * (x * z + w * y);
    R[3] = 2 * (x * y + w * z);
    R[4] = 1 - 2 * (x * x + z * z);
    R[5] = 2 * (y * z - w * x);
    R[6] = 2 * (x * z - w * y);
    R[7] = 2 * (y * z + w * x);
    R[8] = 1 - 2 * (x * x + y * y);
}

/* max_deg >= 180: Shoemake's uniform quaternion from three uniforms (the Haar measure; an angle
 * uniform in [-180, 180] would not be, it favours small rotations). 0 < max_deg < 180: axis
 * uniform on the sphere (z uniform in [-1, 1], longitude uniform: Archimedes' hat-box theorem),
 * angle uniform in [-max_deg, max_deg]. max_deg <= 0 or NaN: the identity, and nothing is drawn. */
void sl_aug_random_rotation(sl_rng *r, double max_deg, double R[9])
{
    if (!(max_deg > 0)) {
        static const double eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        memcpy(R, eye, sizeof eye);
        return;
    }
    if (max_deg >= 180) {
        double u1 = sl_rng_uniform_double(r), u2 = sl_rng_uniform_double(r), u3 = sl_rng_uniform_double(r);
        double a = sqrt(1 - u1), b = sqrt(u1);
        quat_to_matrix(b * cos(2 * PI * u3), a * sin(2 * PI * u2), a * cos(2 * PI * u2), b * sin(2 * PI * u3), R);
        return;
    }
    double z = 2 * sl_rng_uniform_double(r) - 1, phi = 2 * PI * sl_rng_uniform_double(r);
    double rho = sqrt(fmax(0.0, 1 - z * z));
    double k[3] = {rho * cos(phi), rho * sin(phi), z};
    double theta = (2 * sl_rng_uniform_double(r) - 1) * max_deg * PI / 180;
    /* Rodrigues: R = cos t I + sin t [k]x + (1 - cos t) k k^T, here as the quaternion
     * (cos t/2, sin t/2 k), which gives the same matrix and stays orthonormal to rounding. */
    double c = cos(theta / 2), s = sin(theta / 2);
    quat_to_matrix(c, s * k[0], s * k[1], s * k[2], R);
}

/* In double, one time step at a time, so the three channels may be read and written in place. The
 * three channel indices should differ; equal ones give a meaningless but harmless result. */
void sl_aug_rotate(float *x, size_t n, const size_t a[3], const double R[9])
{
    float *c0 = x + a[0] * n, *c1 = x + a[1] * n, *c2 = x + a[2] * n;
    for (size_t t = 0; t < n; t++) {
        double v0 = c0[t], v1 = c1[t], v2 = c2[t];
        c0[t] = (float)(R[0] * v0 + R[1] * v1 + R[2] * v2);
        c1[t] = (float)(R[3] * v0 + R[4] * v1 + R[5] * v2);
        c2[t] = (float)(R[6] * v0 + R[7] * v1 + R[8] * v2);
    }
}

/* ---- gain, drift, jitter ------------------------------------------------------------------- */

/* x[t] <- gain x[t] + offset + drift t / n for t in [0, n): the drift ramp starts at 0 on the
 * first sample and would reach drift one step after the last (the last sample gets
 * drift (n - 1) / n). n = 0 does nothing. */
void sl_aug_axis_gain_drift(float *x, size_t n, double gain, double offset, double drift)
{
    for (size_t t = 0; t < n; t++)
        x[t] = (float)(gain * x[t] + offset + drift * (double)t / (double)n);
}

/* sigma <= 0 (or NaN) leaves x unchanged and draws nothing; otherwise n normals are drawn. */
void sl_aug_jitter(sl_rng *r, float *x, size_t n, double sigma)
{
    if (!(sigma > 0)) return;
    for (size_t t = 0; t < n; t++) x[t] = (float)(x[t] + sigma * sl_rng_normal(r));
}

/* ---- time warps ---------------------------------------------------------------------------- */

/* x (n >= 1 samples) at the real position p in [0, n - 1], by linear interpolation; an integer p
 * gives x[p] exactly. Positions outside the range are clamped to it. */
static float lerp_at(const float *x, size_t n, double p)
{
    if (!(p > 0)) return x[0];
    if (p >= (double)(n - 1)) return x[n - 1];
    size_t i = (size_t)p;
    double f = p - (double)i;
    return (float)((1 - f) * x[i] + f * x[i + 1]);
}

/* The series warp's map from output time to input position, walked in increasing output time.
 * The output interval [0, n - 1] is cut into K equal segments of length L; segment k runs at the
 * speed s_k = 1 + strength * scale * (d_k - mean), d_k uniform in [-1, 1] (drawn in order from a
 * copy of the generator), so that the speeds average exactly 1 and, with scale = 1 / max(1,
 * max_k |d_k - mean|), none is further than strength from 1. The input position is the integral
 * of the speed, multiplied by norm = (n - 1) / (its value at n - 1), which is 1 up to rounding. */
typedef struct {
    sl_rng r;              /* replays the draws d_k */
    size_t K, k;           /* segments; the current one */
    double L;              /* segment length in output samples */
    double mean, gain;     /* speed = 1 + gain (d - mean), gain = strength * scale */
    double start, speed;   /* the integral at the current segment's start; its speed */
} warp_walk;

static double walk_speed(warp_walk *w) { return 1 + w->gain * ((2 * sl_rng_uniform_double(&w->r) - 1) - w->mean); }

static void walk_start(warp_walk *w, const sl_rng *r0)
{
    w->r = *r0;
    w->k = 0;
    w->start = 0;
    w->speed = walk_speed(w);
}

/* The unnormalised input position for output time t; t must not decrease between calls. */
static double walk_at(warp_walk *w, double t)
{
    while (w->k + 1 < w->K && t >= (double)(w->k + 1) * w->L) {
        w->start += w->speed * w->L;
        w->k++;
        w->speed = walk_speed(w);
    }
    return w->start + w->speed * (t - (double)w->k * w->L);
}

/* Degenerate inputs change nothing and draw nothing: n < 2 (no interior to warp), knots = 0 (one
 * segment: the only speed averaging 1 is 1), strength <= 0 or NaN. strength above 1 is taken as 1
 * (some segments may then stand still, the map stays monotone). knots is capped at n - 2, so that
 * a segment is never shorter than one sample interval. Otherwise knots + 1 uniforms are drawn
 * (the caller's r advances by exactly those), the same map is applied to every channel, and the
 * first and last samples keep their values exactly. */
void sl_aug_time_warp_series(sl_rng *r, float *x, size_t channels, size_t n, size_t knots, double strength,
                             float *scratch)
{
    if (n < 2 || knots == 0 || !(strength > 0)) return;
    if (strength > 1) strength = 1;
    if (knots > n - 2) knots = n - 2;
    if (knots == 0) return; /* n = 2: both samples are endpoints */
    warp_walk w = {.K = knots + 1, .L = (double)(n - 1) / (double)(knots + 1), .gain = 0};

    /* the mean and the largest deviation of the draws, from copies of the generator */
    sl_rng rr = *r;
    double sum = 0;
    for (size_t k = 0; k < w.K; k++) sum += 2 * sl_rng_uniform_double(&rr) - 1;
    w.mean = sum / (double)w.K;
    double dev = 0;
    rr = *r;
    for (size_t k = 0; k < w.K; k++) dev = fmax(dev, fabs((2 * sl_rng_uniform_double(&rr) - 1) - w.mean));
    w.gain = strength / fmax(1.0, dev);

    /* the integral at n - 1, for the normalisation */
    walk_start(&w, r);
    double end = walk_at(&w, (double)(n - 1));
    double norm = end > 0 ? (double)(n - 1) / end : 1;

    for (size_t c = 0; c < channels; c++) {
        float *xc = x + c * n;
        walk_start(&w, r);
        scratch[0] = xc[0];
        for (size_t t = 1; t + 1 < n; t++) scratch[t] = lerp_at(xc, n, walk_at(&w, (double)t) * norm);
        scratch[n - 1] = xc[n - 1];
        memcpy(xc, scratch, n * sizeof *xc);
    }
    *r = rr; /* past the knots + 1 draws */
}

/* The output frame t takes the input at position src(t): with d = centre + shift,
 *   src(t) = t centre / d                                          for t <= d,
 *   src(t) = centre + (t - d) (frames - 1 - centre) / (frames - 1 - d)   for t >= d,
 * so the output frame d holds the input frame centre, and frames 0 and frames - 1 stay (each
 * product is formed before the division, so these three are exact). For a row holding its frame
 * index, the output frame centre holds centre^2 / d when shift > 0 (that is centre - shift
 * centre / d) and centre + (-shift) (frames - 1 - centre) / (frames - 1 - d) when shift < 0.
 * Nothing happens when shift = 0, frames < 3, or centre is not an interior frame (1 .. frames - 2);
 * a destination d outside the interior frames is clamped to them. */
void sl_aug_time_warp_features(float *f, size_t bands, size_t frames, size_t centre, long shift, float *scratch)
{
    if (shift == 0 || frames < 3 || centre < 1 || centre > frames - 2) return;
    double last = (double)(frames - 1), c = (double)centre;
    double d = fmin(fmax(c + (double)shift, 1.0), last - 1);
    if (d == c) return;
    for (size_t b = 0; b < bands; b++) {
        float *row = f + b * frames;
        for (size_t t = 0; t < frames; t++) {
            double tt = (double)t;
            double src = tt <= d ? tt * c / d : c + (tt - d) * (last - c) / (last - d);
            scratch[t] = lerp_at(row, frames, src);
        }
        memcpy(row, scratch, frames * sizeof *row);
    }
}
