/* The augment layer's transforms as plain functions on buffers: what each one does to a signal or
 * a feature matrix, given the values already drawn. The chain (augment.c) draws the values from
 * the example's generator and calls these; the unit tests call them directly.
 *
 * Conventions: a signal of one channel is x[0..n); a multi-channel series is (channels, n),
 * channel-major; a feature matrix is (bands, frames), row-major. Functions that can fail return an
 * sl_status with a message; the rest cannot fail for arguments within their stated ranges. None
 * allocates unless it says so. */
#ifndef SIGLOOP_AUGMENT_INTERNAL_H
#define SIGLOOP_AUGMENT_INTERNAL_H

#include <stddef.h>

#include "sigloop/base.h"
#include "sigloop/rng.h"

/* ---- waveform (augment.c) ------------------------------------------------------------------ */

/* x *= 10^(db / 20) */
void sl_aug_gain(float *x, size_t n, double db);
/* Moves x by shift samples (positive: later); the samples that enter are zeros, or with wrap the
 * ones that left at the other end. |shift| >= n with zero fill gives zeros. */
void sl_aug_shift(float *x, size_t n, long shift, int wrap);
/* x = -x */
void sl_aug_polarity(float *x, size_t n);
/* Hard clipping at level = 10^(db / 20) of the signal's peak (db <= 0). */
void sl_aug_clip(float *x, size_t n, double db);
/* Mean power of x[0..n) (0 for n = 0). */
double sl_aug_power(const float *x, size_t n);
/* x += g noise with g such that power(x) / power(g noise) = 10^(snr_db / 10), the powers taken
 * over x[0..n_ref) (the signal part, before any padding); nothing is added when either power is 0. */
void sl_aug_add_noise(float *x, size_t n, size_t n_ref, const float *noise, double snr_db);
/* Coloured noise: white (0), pink (1, -3 dB per octave), brown (2, -6 dB per octave), n values of
 * unit power, from r. Pink and brown are made in the frequency domain (the spectrum of white noise
 * shaped by 1/sqrt(f) or 1/f, DC removed) through one FFT of size n (n even, >= 2): allocates. */
sl_status sl_aug_color_noise(sl_rng *r, int color, float *out, size_t n);
/* Band-limited interpolation (J. O. Smith, "Digital Audio Resampling Home Page", the method of
 * libresample): x is read at fractional positions through a Kaiser-windowed sinc of the given
 * cutoff (a fraction of the input's Nyquist frequency, (0, 1]), 6.4 to 8 zero crossings each side
 * (half = 8 / cutoff rounded down to a multiple of 4),
 * tabulated at 1024 phases (the nearest is used: a timing error below 1/2048 sample); every phase
 * is normalised to unit DC gain. */
typedef struct {
    size_t half;   /* taps each side */
    size_t phases; /* 1024 */
    float *tab;    /* (phases + 1, 2 half rounded up to a multiple of 8; zeros after) */
} sl_aug_sinc;
sl_status sl_aug_sinc_new(sl_aug_sinc *s, double cutoff);
void sl_aug_sinc_free(sl_aug_sinc *s); /* NULL-safe */
/* out[m] = x(m step) for m < min(n_out, round(n / step)), zeros after; x is 0 outside [0, n). */
void sl_aug_sinc_resample(const sl_aug_sinc *s, const float *x, size_t n, double step, float *out, size_t n_out);
/* Speed perturbation: x (n samples) played factor times faster (tempo and pitch together), into
 * out (n_out samples: cut or zero-padded), by band-limited interpolation with a cutoff of
 * 0.96 min(1, 1 / factor) (as libsoxr's passband, and free of aliases); factor in [0.5, 2]. Makes its table each call (the chain keeps one). */
sl_status sl_aug_speed(const float *x, size_t n, double factor, float *out, size_t n_out);

/* ---- features (augment.c) ------------------------------------------------------------------ */

/* f (bands, frames): frames [t0, t0 + w) set to value in every band */
void sl_aug_time_mask(float *f, size_t bands, size_t frames, size_t t0, size_t w, float value);
/* f (bands, frames): bands [b0, b0 + w) set to value in every frame */
void sl_aug_freq_mask(float *f, size_t bands, size_t frames, size_t b0, size_t w, float value);

/* ---- reverberation and pitch (reverb.c, pitch.c) ------------------------------------------- */

/* A synthetic room impulse response: n samples at sample_rate, a unit direct path at 0 followed
 * by Gaussian noise from r under an exponential envelope whose energy falls by 60 dB in rt60
 * seconds; normalised to unit energy. */
void sl_aug_synth_ir(sl_rng *r, double rt60, double sample_rate, float *ir, size_t n);
/* y[0..n) = the first n samples of the linear convolution of x (n) with ir (m), by FFT (one
 * transform of the next power of two >= n + m - 1); y may equal x. Allocates its work space. */
sl_status sl_aug_convolve(const float *x, size_t n, const float *ir, size_t m, float *y);
/* The same convolution with its FFT plan and work space made once, for signals of n samples and
 * responses of at most m_max (a longer one is cut to n): sl_aug_conv_spectrum gives a response's
 * spectrum (nfft + 2 floats, into H, which may be c->H), sl_aug_conv_run convolves x (n) with it
 * into y (n; y may be x). Not for two threads at once. */
typedef struct {
    struct sl_fft *fft;
    size_t n, nfft;
    void *mem;
    float *t, *X, *H;
} sl_aug_conv;
sl_status sl_aug_conv_new(sl_aug_conv *c, size_t n, size_t m_max);
void sl_aug_conv_free(sl_aug_conv *c); /* NULL-safe */
void sl_aug_conv_spectrum(sl_aug_conv *c, const float *ir, size_t m, float *H);
sl_status sl_aug_conv_run(sl_aug_conv *c, const float *x, const float *H, float *y);
/* Pitch shift by semitones (|semitones| <= 12) keeping the duration: resampling by
 * 2^(semitones / 12) (libsoxr) then time-scale modification back to n samples by WSOLA
 * (waveform-similarity overlap-add, Verhelst and Roelands 1993). out has n samples; allocates. */
sl_status sl_aug_pitch(const float *x, size_t n, double semitones, double sample_rate, float *out);
/* The same with the resampling done by band-limited interpolation through tab (its cutoff fit for
 * the ratio 2^(semitones / 12)), as the chain does; tab NULL: libsoxr. */
sl_status sl_aug_pitch_with(const sl_aug_sinc *tab, const float *x, size_t n, double semitones, double sample_rate,
                            float *out);

/* ---- multi-channel sensor series (sensor.c) ------------------------------------------------ */

/* A uniformly random 3-D rotation matrix R (row-major 3 x 3, det +1) from r, restricted to angles
 * up to max_deg about a uniformly random axis (max_deg = 180: uniform over all rotations). */
void sl_aug_random_rotation(sl_rng *r, double max_deg, double R[9]);
/* Rotates the axis triplet (channels a[0], a[1], a[2] of x (channels, n)) by R: v <- R v. */
void sl_aug_rotate(float *x, size_t n, const size_t a[3], const double R[9]);
/* Channel c of x: x <- gain x + offset + drift t / n (a linear drift reaching drift at the end). */
void sl_aug_axis_gain_drift(float *x, size_t n, double gain, double offset, double drift);
/* x += sigma N(0, 1) per sample, from r. */
void sl_aug_jitter(sl_rng *r, float *x, size_t n, double sigma);
/* Smooth random time warp of a (channels, n) series: the time axis is remapped through a monotone
 * curve through `knots` random points whose local speed varies by at most strength (0 <= strength
 * < 1) around 1, linear interpolation between samples; endpoints stay fixed. scratch: n floats. */
void sl_aug_time_warp_series(sl_rng *r, float *x, size_t channels, size_t n, size_t knots, double strength,
                             float *scratch);
/* SpecAugment's time warp of a feature matrix (bands, frames): the frame at centre moves to
 * centre + shift (|shift| < frames / 2, the two sides stretched linearly to keep the edges),
 * linear interpolation along time. scratch: frames floats. */
void sl_aug_time_warp_features(float *f, size_t bands, size_t frames, size_t centre, long shift, float *scratch);

#endif
