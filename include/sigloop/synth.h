/* A synthetic long recording for testing detection without labelling by hand: the held-out clips
 * of one split of a data set, one after another with random gaps between them, over background
 * noise at a chosen signal-to-noise ratio, and the list of where each clip was put.
 *
 * Clips are read as training reads them (decoded, channel mixed or picked, resampled to
 * data.sample_rate) at their own length, never padded to data.duration, and placed at their own
 * level. The order is a seeded shuffle of the split, shuffled anew for each pass, so every clip
 * is used once before any is used twice. Before each clip comes a gap drawn uniformly from
 * [gap_min, gap_max] seconds; clips never overlap; the stream is exactly `minutes` long, and the
 * first clip that does not fit whole before its end is not placed (no event is cut short).
 *
 * The noise covers the whole stream, gaps and clips. Its mean square is the mean clip power of
 * the split (the mean over its clips of each clip's mean square) divided by 10^(snr_db / 10).
 * Generated noise (white, pink, brown: the augment layer's generator) comes in blocks of 2^16
 * samples of unit power, each from its own counter-based generator, consecutive blocks overlapping
 * by 4,096 samples cross-faded with sine and cosine weights (independent blocks: the power stays 1
 * through the fade). Noise recordings from a folder are read in name order (resampled, mixed to
 * mono), joined end to end and looped from a seeded offset, their level set from the mean square
 * of the whole loop.
 * The sum is clipped to [-1, 1] (the clipped samples counted) and written as 16-bit PCM WAV at
 * data.sample_rate, rounded as sl_audio_write_wav rounds.
 *
 * The stream is made and written a chunk (61,440 samples, 7.7 s at 8 kHz) at a time, so its
 * memory does not grow with its length: two noise blocks, one chunk, the clip being placed, one
 * length per clip of the split and one entry per event. Each clip is read once to measure it and
 * again each time it is placed. The WAV goes to "<wav_path>.tmp.<pid>" in the same folder, is
 * fsync'ed and renamed over wav_path last; the truth CSV is written atomically (sl_afile) just
 * before: a run killed at any point leaves no partial file under either name. The same data set,
 * options and seed give byte-identical files. */
#ifndef SIGLOOP_SYNTH_H
#define SIGLOOP_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "sigloop/base.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { SL_SYNTH_WHITE = 0, SL_SYNTH_PINK = 1, SL_SYNTH_BROWN = 2 };

typedef struct {
    int split;                /* SL_SPLIT_TEST, SL_SPLIT_VAL or SL_SPLIT_TRAIN */
    double minutes;           /* the stream's length, (0, 1440] */
    double snr_db;            /* mean clip power over the noise's mean square, dB; finite */
    double gap_min, gap_max;  /* seconds before each clip: 0 <= gap_min <= gap_max */
    uint64_t seed;            /* order, gaps and noise */
    int noise;                /* SL_SYNTH_WHITE | PINK | BROWN, when noise_folder is NULL */
    const char *noise_folder; /* NULL, or a folder of noise recordings (.wav, .flac, .ogg) */
} sl_synth_opts;

/* The defaults: test split, minutes 0 (to be set), 20 dB, gaps of 1 to 3 s, seed 0, pink noise. */
void sl_synth_opts_default(sl_synth_opts *o);

typedef struct {
    size_t events;            /* clips placed (rows of the truth CSV) */
    size_t clips_in_split;
    size_t passes;            /* passes through the split that placed a clip (1: none twice) */
    double seconds;           /* the stream's length */
    uint64_t samples;         /* its samples at data.sample_rate */
    double clip_power;        /* the split's mean clip power (mean square) */
    double noise_rms;         /* the noise's RMS in the stream, before clipping */
    uint64_t clipped;         /* samples outside [-1, 1] before clipping */
} sl_synth_result;

/* Checks o against cfg without reading anything (the first failure of sl_synth_stream's option
 * checks, with the same messages): callers can refuse bad options before loading a data set. */
sl_status sl_synth_check(const sl_config *cfg, const sl_synth_opts *o);

/* Makes the stream of ds's split (entries read from cfg->data.root) into wav_path and its ground
 * truth into csv_path: a header "start,end,label,file", then one row per placed clip in order of
 * start, times in seconds with 3 decimals (start: the clip's first sample / rate; end: its last
 * sample + 1, over the rate), the label and the manifest path (quoted as manifest.csv quotes).
 * r may be NULL. Errors name the option or the file:
 *   SL_EARG     "minutes 0: must be in (0, 1440]", "gap 3:1: gap_max is below gap_min",
 *               "gap_min -1: must be in [0, 86400] seconds", "snr_db nan: must be a finite number",
 *               "split test has no examples", "noise 7: not white (0), pink (1) or brown (2)",
 *               the two paths the same, a stream too long for a WAV file (4 GiB), a CSV series
 *   SL_EFORMAT  "noise folder DIR holds no audio files (.wav, .flac, .ogg)", the folder's
 *               recordings all zeros, the split's clips all silent, a clip whose length changed
 *               between its two reads; a clip that cannot be read (its own message)
 *   SL_EIO      a folder or file that cannot be opened or written
 * On error wav_path is not created or changed, and neither is csv_path unless only the last step,
 * the WAV's rename, failed. */
sl_status sl_synth_stream(const sl_config *cfg, const sl_dataset *ds, const sl_synth_opts *o, const char *wav_path,
                          const char *csv_path, sl_synth_result *r);

#ifdef __cplusplus
}
#endif
#endif
