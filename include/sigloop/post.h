/* Step 8, post-processing: a trained model slid over a recording of any length, its scores
 * smoothed and turned into events ("seven" from 12.30 to 12.84 s), and those events scored
 * against a ground truth.
 *
 * The streaming runner (sl_streamer) keeps the front end's streaming state, a ring of the last
 * window's frames and one batch-1 network, all allocated when it is made: pushing samples
 * allocates nothing, so memory stays flat however long the recording. Every `post.hop` seconds
 * (a multiple of the features' hop) it standardises the window as training did, runs the
 * network, and hands the class probabilities to the detector.
 *
 * The detector (sl_detector) is the part a device runs after its network, on nothing but the
 * probabilities: smoothing (mean of the last `average` decisions, or exponential), per-class
 * thresholds, a mask of the classes that may trigger (a background class never does),
 * hysteresis (an event lasts while its score stays above threshold - hysteresis) and
 * suppression (no event starts within `suppress` seconds of the previous one's start). One
 * event at a time: while one is active no other class starts. */
#ifndef SIGLOOP_POST_H
#define SIGLOOP_POST_H

#include <stddef.h>

#include "sigloop/audio.h"
#include "sigloop/base.h"
#include "sigloop/config.h"
#include "sigloop/model.h"
#include "sigloop/svg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double start, end;  /* seconds from the start of the stream (see sl_detector_push) */
    int label;          /* class index */
    float score;        /* the highest smoothed probability while the event lasted */
} sl_event;

/* ---- the detector ---------------------------------------------------------------------------- */

typedef struct sl_detector sl_detector;

/* For a model of `classes` classes named labels; hop: seconds between decisions, window: seconds
 * a decision sees, lag: seconds from a window's start to where its word starts (the event's
 * start is the peak decision's window start + lag). Errors name the post: field
 * ("post.thresholds: 3 values for 10 classes", "post.classes: 'eleven' is not a class"). */
sl_status sl_detector_new(sl_detector **out, const sl_post_config *pc, const char *const *labels, size_t classes,
                          double hop, double window, double lag);
void sl_detector_free(sl_detector *d); /* NULL-safe */
/* Back to the state of a new detector (the settings stay). */
void sl_detector_reset(sl_detector *d);
/* Decision k (0, 1, 2, ... in order; its window starts at k x hop): prob (classes) in, the
 * smoothed scores out (sl_detector_smoothed). Returns 1 when an event ended here (then *ev holds
 * it), else 0. An event's start is its peak window's start + lag, its end the start + the time
 * its score stayed above the release level (at least one hop). */
int sl_detector_push(sl_detector *d, const float *prob, sl_event *ev);
/* Ends the active event, if any, at the last decision: returns 1 and fills *ev, else 0. */
int sl_detector_flush(sl_detector *d, sl_event *ev);
const float *sl_detector_smoothed(const sl_detector *d);     /* (classes), after the last push */
const float *sl_detector_thresholds(const sl_detector *d);   /* (classes) */
const unsigned char *sl_detector_mask(const sl_detector *d); /* (classes): 1 may trigger */

/* ---- the streaming runner ------------------------------------------------------------------- */

typedef struct {
    size_t index;           /* decision number from 0 */
    double t0, t1;          /* the window it saw, seconds */
    const float *features;  /* (bands, frames): the front end's output for the window, before
                               standardisation (row-major, as the feature cache holds a row) */
    const float *prob;      /* (classes): the network's probabilities */
    const float *smoothed;  /* (classes): after smoothing */
} sl_decision;

typedef struct {
    int threads;            /* the network's threads; <= 0: one (as on a device) */
    double lag;             /* see sl_detector_new */
    /* Called for every decision and every event, in order, when set; a non-OK status stops the
     * push and is returned. */
    sl_status (*on_decision)(void *ctx, const sl_decision *d);
    sl_status (*on_event)(void *ctx, const sl_event *e);
    void *ctx;
} sl_streamer_opts;

typedef struct sl_streamer sl_streamer;

/* A runner for model m with the post-processing pc (usually &m->cfg.post). Needs a one-channel
 * model whose front end streams (center false, no deltas, no dB scaling) and no per-window
 * dc_remove; post.hop must be a multiple of features.hop_length. The conditioning filter, when
 * the config has one, runs over the stream with its state carried (not restarted per window). */
sl_status sl_streamer_new(sl_streamer **out, const sl_model *m, const sl_post_config *pc,
                          const sl_streamer_opts *opts);
void sl_streamer_free(sl_streamer *s); /* NULL-safe */
/* Feeds n samples at the model's data.sample_rate (any chunk size). A NaN or infinite sample
 * is an error naming its position in the stream. */
sl_status sl_streamer_push(sl_streamer *s, const float *x, size_t n);
/* Ends the stream: the active event, if any, is reported. */
sl_status sl_streamer_finish(sl_streamer *s);
/* Opens the recording at path for m: read in pieces (sl_audio_reader), mixed to mono and resampled
 * to the model's data.sample_rate; refused, naming the file, when it is shorter than one window.
 * *seconds: its length. */
sl_status sl_streamer_open_file(const sl_model *m, const char *path, sl_audio_reader **rd, double *seconds);
/* Events as they come, in a growing array (caller frees ev). */
typedef struct {
    sl_event *ev;
    size_t n, cap;
} sl_event_list;
sl_status sl_event_list_push(sl_event_list *l, const sl_event *e);
/* Samples of one window and between decisions; decisions so far; the detector. */
size_t sl_streamer_window(const sl_streamer *s);
size_t sl_streamer_hop(const sl_streamer *s);
size_t sl_streamer_decisions(const sl_streamer *s);
const sl_detector *sl_streamer_detector(const sl_streamer *s);

/* ---- ground truth and scoring --------------------------------------------------------------- */

typedef struct {
    double start, end;
    int label;              /* class index in the model's labels; -1: not one of them */
} sl_truth_event;

/* Reads a truth CSV (header "start,end,label" and optional further columns, cells quoted as
 * RFC 4180 allows; one row per event, seconds). Errors name the file and line: a negative or
 * non-numeric time, end before start, events that overlap or are out of order, an empty file. A label that is not a model class is
 * kept as -1 (counted as a miss when not detected). *out: caller frees. */
sl_status sl_truth_read(const char *path, const char *const *labels, size_t classes, sl_truth_event **out,
                        size_t *n);

typedef struct {
    size_t truth, detected; /* events in the truth and detections */
    size_t hits;            /* truth events matched by a detection of the same label */
    size_t wrong_label;     /* detections within the collar of a truth event of another label */
    size_t false_alarms;    /* detections not matched (wrong labels included) */
    double hours;           /* the stream's length */
    double recall;          /* hits / truth */
    double fa_per_hour;     /* false_alarms / hours */
    double miss_rate;       /* 1 - recall */
} sl_match_result;

/* Matches detections (in order of start) to the truth: a detection hits a truth event of the same label when its start
 * is within `collar` seconds of the truth's start; each truth event and each detection is matched
 * at most once (closest starts first). seconds: the stream's length. */
sl_status sl_match_events(const sl_event *det, size_t n_det, const sl_truth_event *truth, size_t n_truth,
                          double collar, double seconds, sl_match_result *r);

/* ---- calibration ------------------------------------------------------------------------------ */

/* The network's probabilities at every decision of a stream, recorded once so that the detector
 * can be run again over them with other settings (decisions x classes floats: 1.4 MB an hour at
 * the default hop, for ten classes). */
typedef struct {
    float *prob;            /* (n, classes) */
    size_t n, classes;
    double hop, window;     /* seconds between decisions, seconds a decision sees */
    double seconds;         /* the stream's length */
} sl_scores;
/* Runs m over the recording at path (read in pieces, resampled to the model's rate) every
 * pc->hop seconds. Errors name the file (shorter than one window, unreadable, NaN samples). */
sl_status sl_scores_of_file(const sl_model *m, const sl_post_config *pc, const char *path, int threads,
                            sl_scores *out);
void sl_scores_free(sl_scores *s);
/* The detector with pc over recorded scores: the events it gives (caller frees *ev). */
sl_status sl_detect_scores(const sl_scores *sc, const sl_post_config *pc, const char *const *labels, double lag,
                           sl_event **ev, size_t *n);

typedef struct {
    size_t average;         /* decisions in the moving average */
    double suppress;        /* seconds */
    double threshold;       /* one for every class */
    sl_match_result r;
} sl_calib_point;
typedef struct {
    sl_calib_point *points; /* the sweep, averages x suppressions x thresholds */
    size_t n;
    long chosen;            /* the operating point: the most recall (at least one hit) with at most
                               target_fa false alarms per hour (ties: fewer false alarms, the
                               higher threshold, less smoothing); -1 when no point is such */
    int any_within;         /* some point (finding nothing, perhaps) meets the target */
    size_t lowest_fa;       /* the point with the fewest false alarms */
    double target_fa;
} sl_calib;
/* Sweeps the moving average over 1, 2, 3, 5 and 8 decisions, suppression 0.25, 0.5 and 1 s and one
 * threshold for all classes from 0.30 to 0.95 in steps of 0.025 (405 settings; base's other
 * fields, hysteresis, classes and background, kept), each matched to the truth with a 250 ms
 * collar, and picks the operating point for target_fa. */
sl_status sl_calibrate(const sl_scores *sc, const sl_post_config *base, const char *const *labels, double lag,
                       const sl_truth_event *truth, size_t n_truth, double target_fa, sl_calib *out);
void sl_calib_free(sl_calib *c);

/* ---- the timeline picture ------------------------------------------------------------------- */

/* The waveform's envelope and each class's highest smoothed score in each of `columns` columns
 * spanning t0 to t1 seconds (memory: columns x (2 + classes) floats, whatever the stream's
 * length), drawn with the thresholds, the events and the truth as one SVG. */
typedef struct sl_timeline sl_timeline;
sl_status sl_timeline_new(sl_timeline **out, double t0, double t1, size_t classes, size_t columns,
                          double sample_rate);
void sl_timeline_free(sl_timeline *t); /* NULL-safe */
/* The stream's next n samples (from its start, at sample_rate). */
void sl_timeline_samples(sl_timeline *t, const float *x, size_t n);
/* A decision's smoothed scores (classes), placed at sec. */
void sl_timeline_scores(sl_timeline *t, double sec, const float *smoothed);
/* Appends the <svg>: thresholds and mask as sl_detector gives them; truth may be NULL. */
sl_status sl_timeline_svg(const sl_timeline *t, sl_text *out, const char *title, const char *const *labels,
                          const float *thresholds, const unsigned char *mask, const sl_event *ev, size_t n_ev,
                          const sl_truth_event *truth, size_t n_truth);

#ifdef __cplusplus
}
#endif
#endif
