/* Augmentation (step 2): the config's `augment:` list as a chain of transforms applied to each
 * training example on the fly.
 *
 * Waveform transforms (gain, shift, speed, pitch, noise, reverb, filter, clip, polarity, and for
 * multi-channel sensor series rotate, sensor_gain, jitter, series_warp) change the signal before
 * the front end computes its features; feature transforms (specaugment, time_warp) change the
 * standardised feature matrix after it; mixup mixes examples of a batch (the trainer's part).
 *
 * Every draw comes from a counter-based generator keyed by (seed, transform index) and counted by
 * (epoch, example): the same example in the same epoch is augmented the same way on any thread,
 * in any order, and a transform added to the list does not change the draws of the others. */
#ifndef SIGLOOP_AUGMENT_H
#define SIGLOOP_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "sigloop/base.h"
#include "sigloop/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_augmenter sl_augmenter;

/* Builds the chain of cfg->augment for examples of `channels` channels of n_samples samples at
 * cfg->data.sample_rate, whose features are (bands, frames); seed keys the draws (train.seed).
 * Loads the noise clips and impulse responses of folder settings (resampled to the data's rate)
 * and generates the coloured noise the noise transforms use. Errors name the item, e.g.
 * "fsdd.yaml: augment[2].noise.folder: /x: cannot open: No such file or directory",
 * "... holds no audio files (.wav, .flac, .ogg)", "ir.wav: empty impulse response (0 samples)". */
sl_status sl_augmenter_new(sl_augmenter **out, const sl_config *cfg, size_t channels, size_t n_samples,
                           size_t bands, size_t frames, uint64_t seed);
void sl_augmenter_free(sl_augmenter *a); /* NULL-safe */

/* Whether the chain has waveform transforms (features must then be computed from the signal
 * each time), feature transforms, and mixup (its alpha, or 0 and p). */
int sl_augmenter_has_signal(const sl_augmenter *a);
int sl_augmenter_has_features(const sl_augmenter *a);
double sl_augmenter_mixup(const sl_augmenter *a, double *p);

/* What one thread needs to run the chain: scratch buffers and the resamplers of speed
 * perturbation (one per factor of its grid, made when first used). One per thread. */
typedef struct sl_aug_worker sl_aug_worker;
sl_status sl_aug_worker_new(sl_aug_worker **out, const sl_augmenter *a);
void sl_aug_worker_free(sl_aug_worker *w); /* NULL-safe */

/* The waveform transforms on x (channels, n_samples), in place; *n_real (samples of signal before
 * the zero padding) is updated when the signal's length changes (shift, speed). */
sl_status sl_augment_signal(const sl_augmenter *a, sl_aug_worker *w, float *x, size_t *n_real, uint64_t epoch,
                            uint64_t example);
/* The feature transforms on f (bands, frames), standardised (masks are set to 0, the mean). */
void sl_augment_features(const sl_augmenter *a, sl_aug_worker *w, float *f, uint64_t epoch, uint64_t example);

#ifdef __cplusplus
}
#endif
#endif
