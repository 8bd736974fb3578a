/* The feature cache: every example of a data set as a (bands, frames) matrix of the configured
 * features, in one file that is memory-mapped for reading.
 *
 * Each example is read as training will read it (decoded, channel mixed or picked, resampled to
 * data.sample_rate), zero-padded at the end or cut to data.duration, and featurized. The cache
 * records a hash of the feature settings and each example's content hash: a rebuild copies the
 * rows whose file and settings are unchanged and computes only the rest.
 *
 * File layout (little-endian): a 64-byte header (magic "SLFEAT", version, header size, rows, bands,
 * frames, settings hash), then rows x 16 bytes of content hashes, then, from the next multiple of
 * 64 bytes, rows x bands x frames float32 values, row-major. Written atomically. */
#ifndef SIGLOOP_FEATURES_H
#define SIGLOOP_FEATURES_H

#include <stddef.h>

#include "sigloop/base.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/dsp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The DSP parameters a config describes (f_max 0 becomes sample_rate / 2). */
void sl_features_params_from_config(const sl_config *cfg, sl_features_params *p);

/* A hash of everything that shapes the features (feature settings, sample rate, duration,
 * channel) as 32 hex digits: equal hashes mean interchangeable features. */
void sl_features_settings_hash(const sl_config *cfg, char hex[SL_HASH_HEX]);

/* The shape (bands, frames) every example of ds will have, without computing anything. */
sl_status sl_features_shape(const sl_config *cfg, const sl_dataset *ds, size_t *bands, size_t *frames);

typedef struct {
    int threads;        /* <= 0: one per core */
    int progress;       /* 1: progress bar on stderr when it is a terminal */
} sl_features_opts;

typedef struct {
    size_t rows, bands, frames;
    size_t computed;    /* rows computed now */
    size_t reused;      /* rows copied from the previous cache */
} sl_features_stats;

/* Example i of ds as the cache reads it: decoded (audio mixed or picked) or parsed (CSV), resampled
 * to data.sample_rate, zero-padded or cut to n_samples per channel into x (channels, n_samples);
 * *n_real: the samples of signal before the padding. Errors name the file. */
sl_status sl_features_read_signal(const sl_config *cfg, const sl_dataset *ds, size_t i, size_t channels,
                                  size_t n_samples, float *x, size_t *n_real);
/* The features of such a signal, as the cache holds them: each channel conditioned (DC removal,
 * scale, filter; x is changed in place) and through fz, into out (channels x bands, frames).
 * scratch: sl_featurizer_scratch_size(fz, n_samples) bytes. */
sl_status sl_features_of_signal(const sl_config *cfg, const sl_featurizer *fz, float *x, size_t channels,
                                size_t n_samples, size_t n_real, float *out, void *scratch);

/* Builds (or brings up to date) the cache at path for every entry of ds. Needs data.duration > 0
 * (one shape for all examples). A file that cannot be read fails the build with its message. */
sl_status sl_features_build(const sl_config *cfg, const sl_dataset *ds, const char *path,
                            const sl_features_opts *opts, sl_features_stats *stats);

typedef struct sl_feature_cache sl_feature_cache;

/* Maps a cache file; every size and offset is checked against the file's length first. */
sl_status sl_feature_cache_open(sl_feature_cache **out, const char *path);
void sl_feature_cache_close(sl_feature_cache *c); /* NULL-safe */
size_t sl_feature_cache_rows(const sl_feature_cache *c);
size_t sl_feature_cache_bands(const sl_feature_cache *c);
size_t sl_feature_cache_frames(const sl_feature_cache *c);
const char *sl_feature_cache_settings(const sl_feature_cache *c); /* the settings hash, hex */
/* Row i: bands x frames floats, valid while the cache is open. */
const float *sl_feature_cache_row(const sl_feature_cache *c, size_t i);
/* Row i's content hash, hex (into hex). */
void sl_feature_cache_row_hash(const sl_feature_cache *c, size_t i, char hex[SL_HASH_HEX]);

/* Per-band normalisation statistics over the rows of one split (the training split: statistics must
 * not see validation or test data): mean and standard deviation of each band over every frame of
 * those rows (n_bands values each). The cache's rows must be ds's entries (checked by content
 * hash). Fails when the split is empty. */
sl_status sl_features_norm(const sl_feature_cache *c, const sl_dataset *ds, sl_split split, double *mean,
                           double *std);
/* Writes them as CSV (band,mean,std), atomically; the header names the split and row count. */
sl_status sl_features_write_norm(const char *path, const double *mean, const double *std, size_t n_bands);

/* Writes the whole cache as a NumPy .npy file of float32, shape (rows, bands, frames), atomically. */
sl_status sl_feature_cache_write_npy(const sl_feature_cache *c, const char *path);

/* The data set and its feature cache in dir, brought up to date as 'sigloop data' and 'sigloop
 * features' would: dir/manifest.csv is read when it exists, else the data step runs and writes it;
 * then the cache (dir/cache_name, NULL: "features.bin") is built or brought up to date and opened.
 * With mean, the training split's per-band means then standard deviations (2 x bands values,
 * caller frees). announce: a line on stderr when the data step has to run first. On error nothing
 * is left to free. */
typedef struct {
    int threads;              /* <= 0: one per core */
    int progress;             /* progress bars on stderr */
    int announce;
    const char *cache_name;
} sl_prepare_opts;
sl_status sl_data_prepare(const sl_config *cfg, const char *dir, const sl_prepare_opts *opts, sl_dataset **ds,
                          sl_feature_cache **fc, double **mean, sl_features_stats *st);

#ifdef __cplusplus
}
#endif
#endif
