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
    char format[32];     /* "<container> <encoding>": "WAV PCM_16", "WAV PCM_U8", "WAV FLOAT",
                          * "FLAC PCM_24", "OGG VORBIS"; unknown codes as hex ("WAV 0x0013") */
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
    /* Statistics of the file's own samples (as libsndfile decodes them to float) before mixing
     * and resampling, accumulated in double: */
    uint64_t n_clipped;  /* samples (any channel) with |s| >= full scale for the format: for b-bit
                          * PCM (2^(b-1) - 1) / 2^(b-1), so both extreme codes count; for mu-law and
                          * A-law their largest level; for float and Vorbis 1 - 1e-6 */
    uint64_t n_raw;      /* frames * channels */
    double peak;         /* max |sample| over all channels */
    double rms;          /* RMS over all channels' samples */
    uint64_t n_nonfinite;/* always 0: a NaN or inf sample makes sl_audio_read fail instead */
} sl_signal;

/* Reads the header only (any format libsndfile reads: WAV, AIFF, FLAC, OGG/Vorbis, ...). Fails,
 * with a one-line message naming the file, for what the header shows:
 *   SL_EIO      missing, unreadable, a folder: "x.wav: cannot open: No such file or directory"
 *   SL_EFORMAT  a 0-byte file ("x.wav: empty file (0 bytes)"); not audio or a damaged header
 *               ("x.wav: not a readable sound file (format not recognised)"); a sample rate
 *               <= 0 or > 1 MHz ("x.wav: header claims a sample rate of 0 Hz"); a WAV or AIFF
 *               whose data stops short of the header's count ("x.wav: truncated (read 1989 of
 *               4000 frames)"); a stream whose length cannot be found (an Ogg file cut short).
 * On error *info is zeroed. Thread-safe. */
sl_status sl_audio_probe(const char *path, sl_audio_info *info);

/* Reads, mixes (channel -1: the mean of the channels) or picks the channel, resamples to
 * opts->target_rate (as sl_resample) when that is > 0 and differs from the file's rate. opts may be
 * NULL (the file's rate, mixed, the default frame limit). Fails with a one-line message naming the
 * file for everything sl_audio_probe refuses and for:
 *   SL_EARG     a channel the file lacks ("x.wav: channel 3 requested but the file has 2"), a
 *               negative target rate or max_frames
 *   SL_EFORMAT  no frames ("x.wav: empty (0 samples)"), more than max_frames, a stream that ends
 *               before its header's count ("x.flac: truncated or damaged (read N of M frames:
 *               ...)"), a NaN or infinite sample ("x.wav: NaN or infinite sample at frame N")
 * Never pads a short file. On error *out is zeroed and nothing needs freeing. Thread-safe. */
sl_status sl_audio_read(const char *path, const sl_audio_opts *opts, sl_signal *out);

void sl_signal_free(sl_signal *s); /* NULL-safe; zeroes the struct */

/* Resamples x (n samples at rate_in) to rate_out with libsoxr (SOXR_HQ). *y is a new buffer of
 * exactly round(n * rate_out / rate_in) samples (caller frees). SL_EARG for n == 0 ("resample:
 * empty signal"), a rate outside (0, 1 MHz], or a length that rounds to 0. On error *y is NULL. */
sl_status sl_resample(const float *x, size_t n, double rate_in, double rate_out,
                      float **y, size_t *ny);

/* A file read in pieces, for recordings of any length in constant memory: mixed to mono (channel
 * -1) or one channel picked, resampled to opts->target_rate through libsoxr's streaming interface
 * (the same quality as sl_resample) when that is > 0 and differs. The header is checked as
 * sl_audio_probe checks it; opts->max_frames is not applied. Errors name the file. */
typedef struct sl_audio_reader sl_audio_reader;
sl_status sl_audio_reader_open(sl_audio_reader **out, const char *path, const sl_audio_opts *opts);
void sl_audio_reader_close(sl_audio_reader *r); /* NULL-safe */
const sl_audio_info *sl_audio_reader_info(const sl_audio_reader *r); /* the file's own */
double sl_audio_reader_rate(const sl_audio_reader *r);               /* of the samples read */
/* Up to max samples into x; *n is 0 only at the end. A NaN or infinite sample, or a file that
 * ends before its header's count, is an error naming the file and the frame. */
sl_status sl_audio_reader_read(sl_audio_reader *r, float *x, size_t max, size_t *n);

/* Writes a mono float signal as 16-bit PCM WAV, atomically: to "<path>.tmp.<pid>" in the same
 * folder, fsync'ed, renamed over path, the folder fsync'ed; on failure path is untouched and the
 * temporary file removed. Samples are clamped to [-1, 1] and rounded to the nearest step of
 * 1/32768 (+1.0 saturates at 32767), so sl_audio_read gives them back within half a step. The rate
 * is rounded to whole Hz. SL_EARG for a rate outside [1 Hz, 1 MHz] or a NaN or infinite sample;
 * SL_EIO when the file cannot be written. n == 0 writes a valid WAV of no frames. */
sl_status sl_audio_write_wav(const char *path, const float *x, size_t n, double sample_rate);

/* The same written in pieces, for signals of any length in constant memory: open, write (samples
 * clamped and rounded as above; a NaN or infinite sample is refused, naming its index), finish
 * (the header's lengths, fsync: the file is complete under its temporary name), commit (renamed
 * over path, the folder fsync'ed; finishes first if need be). Commit and abort free the writer;
 * abort removes the temporary file. Between finish and commit a caller can commit a companion
 * file first, so that the two appear in that order. */
typedef struct sl_wav_writer sl_wav_writer;
sl_status sl_wav_writer_open(sl_wav_writer **out, const char *path, double sample_rate);
sl_status sl_wav_writer_write(sl_wav_writer *w, const float *x, size_t n);
sl_status sl_wav_writer_finish(sl_wav_writer *w);
sl_status sl_wav_writer_commit(sl_wav_writer *w);
void sl_wav_writer_abort(sl_wav_writer *w); /* NULL-safe */

/* A multi-channel time series from a CSV file: a header row of column names (comma separated,
 * trimmed, surrounding double quotes stripped; at most 1024 columns), an optional timestamp column
 * (seconds, strictly increasing), numeric channels. LF or CRLF line ends; a UTF-8 byte-order
 * mark, and blank lines before the first data row and at the end are allowed. */
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

/* Reads the whole file. Every data cell must be, once trimmed, a finite number in full (strtod;
 * channels must also fit a float). opts may be NULL (no time column, and then no rate: an error).
 * The rate is 1 / the median spacing of the timestamps when there are two rows or more, else
 * opts->sample_rate. Errors name the file, line and column:
 *   SL_EFORMAT  "imu.csv:14:3: 'abc' is not a number", "imu.csv:9:2: NaN is not allowed",
 *               "imu.csv:9:2: infinity is not allowed", "imu.csv:9:2: '1e39' is out of range",
 *               "imu.csv:5: expected 4 columns, found 3", "imu.csv:7:1: time does not increase
 *               (0.02 after 0.03)", "imu.csv:1: no column 'ts'", "imu.csv:6: blank line inside
 *               the data", "imu.csv: empty", "imu.csv: no data rows", more than max_frames rows
 *   SL_EARG     "imu.csv: no time column: set a sample rate"
 *   SL_EIO      "imu.csv: cannot open: ..."
 * On error *out is zeroed and nothing needs freeing. */
sl_status sl_series_read_csv(const char *path, const sl_series_opts *opts, sl_series *out);
void sl_series_free(sl_series *s); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
