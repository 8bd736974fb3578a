/* Signal input: audio files through libsndfile (WAV, FLAC, OGG/Vorbis, any bit depth), mixed to
 * mono or one channel chosen, resampled with libsoxr; and CSV time series for other sensors. */
#ifndef SIGLOOP_AUDIO_H
#define SIGLOOP_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a file holds, read from its header. */
typedef struct {
    double sample_rate;  /* Hz, > 0 */
    int channels;        /* >= 1 */
    int64_t frames;      /* samples per channel */
    int bits;            /* PCM bit depth (8, 16, 24, 32); 0 for float or compressed */
    char format[32];     /* e.g. "WAV PCM_16", "FLAC PCM_24", "OGG VORBIS" */
} sl_audio_info;

typedef struct {
    double target_rate;  /* Hz; 0 keeps the file's rate */
    int channel;         /* -1 mixes all channels to mono (mean); k >= 0 picks channel k */
    int64_t max_frames;  /* refuse files longer than this (0: 2^31 frames) */
} sl_audio_opts;

/* A mono signal. x is owned by the struct; free with sl_signal_free. */
typedef struct {
    float *x;            /* (n) samples, nominally in [-1, 1] */
    size_t n;
    double sample_rate;  /* of x */
    sl_audio_info info;  /* of the file as read */
    int resampled;       /* 1 if x was resampled from info.sample_rate */
    /* Statistics of the file's own samples before mixing and resampling: */
    uint64_t n_clipped;  /* samples (any channel) at digital full scale for the format */
    uint64_t n_raw;      /* frames * channels */
    double peak;         /* max |sample| over all channels */
    double rms;          /* RMS over all channels' samples (0 for an empty file) */
    uint64_t n_nonfinite;/* NaN or inf samples (float files); these are an error */
} sl_signal;

/* Reads the header only. Errors (SL_EIO/SL_EFORMAT) name the file: "x.wav: not a sound file". */
sl_status sl_audio_probe(const char *path, sl_audio_info *info);

/* Reads, mixes or picks the channel, resamples to opts->target_rate. Fails with a one-line message
 * naming the file for: unreadable or malformed files, zero-length audio, a 0 Hz or absurd sample
 * rate, a channel that does not exist, NaN/inf samples. On error *out is zeroed. */
sl_status sl_audio_read(const char *path, const sl_audio_opts *opts, sl_signal *out);

void sl_signal_free(sl_signal *s); /* NULL-safe; zeroes the struct */

/* Resamples x (n samples at rate_in) to rate_out with libsoxr (high quality). *y is a new buffer
 * of *ny samples (caller frees). */
sl_status sl_resample(const float *x, size_t n, double rate_in, double rate_out,
                      float **y, size_t *ny);

/* Writes a mono float signal as 16-bit PCM WAV, atomically. */
sl_status sl_audio_write_wav(const char *path, const float *x, size_t n, double sample_rate);

/* A multi-channel time series from a CSV file: a header row of column names, an optional
 * timestamp column (seconds), numeric channels. */
typedef struct {
    float *x;            /* (n_frames, n_channels), row-major */
    size_t n_frames;
    size_t n_channels;
    char **names;        /* (n_channels) column names */
    double sample_rate;  /* from the timestamps' median spacing, or opts->sample_rate */
    int has_time;
} sl_series;

typedef struct {
    const char *time_column; /* name of the timestamp column; NULL: none, "" : auto ("time", "t", "timestamp") */
    double sample_rate;      /* used when there is no timestamp column; must be > 0 then */
    size_t max_frames;       /* refuse longer files (0: 100 million) */
} sl_series_opts;

/* Errors name the file, line and column: "imu.csv:14:3: 'abc' is not a number",
 * "imu.csv:9:2: NaN is not allowed". */
sl_status sl_series_read_csv(const char *path, const sl_series_opts *opts, sl_series *out);
void sl_series_free(sl_series *s); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
