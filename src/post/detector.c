/* The detector (see sigloop/post.h): smoothing, thresholds, mask, hysteresis, suppression, on
 * nothing but the network's probabilities, with every buffer allocated when it is made. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/post.h"

struct sl_detector {
    size_t classes;
    int smoothing;
    size_t average;          /* mean: the ring's length */
    float alpha;
    float *thr, *release;    /* (classes) */
    unsigned char *mask;     /* (classes) */
    size_t suppress;         /* decisions from one start to the next allowed one */
    double hop, window, lag;
    float *ring;             /* (average, classes): the last decisions' probabilities */
    float *smoothed;         /* (classes) */
    size_t k;                /* decisions pushed */
    /* the active event */
    int active;
    int label;
    float peak;
    size_t k_on, k_peak, k_last;
    int started;             /* an event has started: k_start is valid */
    size_t k_start;
};

static int label_index(const char *const *labels, size_t classes, const char *name)
{
    for (size_t c = 0; c < classes; c++)
        if (strcmp(labels[c], name) == 0) return (int)c;
    return -1;
}

sl_status sl_detector_new(sl_detector **out, const sl_post_config *pc, const char *const *labels, size_t classes,
                          double hop, double window, double lag)
{
    *out = NULL;
    if (classes == 0) return sl_fail(SL_EARG, "detector: no classes");
    if (!(hop > 0) || !(window > 0) || !isfinite(lag))
        return sl_fail(SL_EARG, "detector: hop %g s, window %g s, lag %g s: expected positive", hop, window, lag);
    if (pc->thresholds.n && pc->thresholds.n != classes)
        return sl_fail(SL_ECONFIG, "post.thresholds: %zu values for %zu classes (give one per class, in the "
                                   "model's class order, or use post.threshold)", pc->thresholds.n, classes);
    int bg = -1;
    if (pc->background[0] && (bg = label_index(labels, classes, pc->background)) < 0)
        return sl_fail(SL_ECONFIG, "post.background: '%s' is not one of the model's classes", pc->background);
    sl_detector *d = calloc(1, sizeof *d);
    if (!d) return sl_fail(SL_ENOMEM, "out of memory");
    d->classes = classes;
    d->smoothing = pc->smoothing;
    d->average = pc->smoothing == SL_SMOOTH_MEAN && pc->average > 1 ? pc->average : 1;
    d->alpha = (float)pc->alpha;
    d->hop = hop;
    d->window = window;
    d->lag = lag;
    /* no start within `suppress` seconds of the previous one: starts k apart with k x hop >= suppress */
    d->suppress = (size_t)ceil(pc->suppress / hop - 1e-9);
    d->thr = malloc(classes * sizeof *d->thr);
    d->release = malloc(classes * sizeof *d->release);
    d->mask = malloc(classes);
    d->ring = calloc(d->average * classes, sizeof *d->ring);
    d->smoothed = calloc(classes, sizeof *d->smoothed);
    if (!d->thr || !d->release || !d->mask || !d->ring || !d->smoothed) {
        sl_detector_free(d);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (size_t c = 0; c < classes; c++) {
        d->thr[c] = (float)(pc->thresholds.n ? pc->thresholds.v[c] : pc->threshold);
        d->release[c] = d->thr[c] - (float)pc->hysteresis;
        d->mask[c] = pc->classes.n == 0 && (int)c != bg;
    }
    for (size_t i = 0; i < pc->classes.n; i++) {
        int c = label_index(labels, classes, pc->classes.items[i]);
        if (c < 0 || c == bg) {
            sl_detector_free(d);
            return sl_fail(SL_ECONFIG, "post.classes: '%s' %s", pc->classes.items[i],
                           c < 0 ? "is not one of the model's classes" : "is the background class, which never triggers");
        }
        d->mask[c] = 1;
    }
    *out = d;
    return SL_OK;
}

void sl_detector_free(sl_detector *d)
{
    if (!d) return;
    free(d->thr);
    free(d->release);
    free(d->mask);
    free(d->ring);
    free(d->smoothed);
    free(d);
}

void sl_detector_reset(sl_detector *d)
{
    memset(d->ring, 0, d->average * d->classes * sizeof *d->ring);
    memset(d->smoothed, 0, d->classes * sizeof *d->smoothed);
    d->k = 0;
    d->active = 0;
    d->started = 0;
}

const float *sl_detector_smoothed(const sl_detector *d) { return d->smoothed; }
const float *sl_detector_thresholds(const sl_detector *d) { return d->thr; }
const unsigned char *sl_detector_mask(const sl_detector *d) { return d->mask; }

/* The event starts where the most confident window starts (+ lag: a network trained on words at
 * the start of their window, as the FSDD examples are, peaks when a window starts with the word),
 * and lasts as long as its score stayed above the release level. */
static void finish(const sl_detector *d, sl_event *ev)
{
    ev->label = d->label;
    ev->score = d->peak;
    ev->start = (double)d->k_peak * d->hop + d->lag;
    ev->end = ev->start + (double)(d->k_last - d->k_on + 1) * d->hop;
}

int sl_detector_push(sl_detector *d, const float *prob, sl_event *ev)
{
    size_t K = d->classes;
    if (d->smoothing == SL_SMOOTH_EMA) {
        if (d->k == 0) memcpy(d->smoothed, prob, K * sizeof *prob);
        else
            for (size_t c = 0; c < K; c++) d->smoothed[c] += d->alpha * (prob[c] - d->smoothed[c]);
    } else {
        float *slot = d->ring + (d->k % d->average) * K;
        memcpy(slot, prob, K * sizeof *prob);
        size_t n = d->k + 1 < d->average ? d->k + 1 : d->average;
        for (size_t c = 0; c < K; c++) {
            float s = 0;
            for (size_t i = 0; i < n; i++) s += d->ring[i * K + c];
            d->smoothed[c] = s / (float)n;
        }
    }
    size_t k = d->k++;
    const float *s = d->smoothed;
    int ended = 0;
    if (d->active) {
        int c = d->label;
        if (s[c] >= d->release[c]) {
            d->k_last = k;
            if (s[c] > d->peak) {
                d->peak = s[c];
                d->k_peak = k;
            }
        } else {
            finish(d, ev);
            d->active = 0;
            ended = 1;
        }
    }
    if (!d->active && (!d->started || k - d->k_start >= d->suppress)) {
        int best = -1;
        for (size_t c = 0; c < K; c++)
            if (d->mask[c] && s[c] >= d->thr[c] && (best < 0 || s[c] > s[best])) best = (int)c;
        if (best >= 0) {
            d->active = 1;
            d->started = 1;
            d->label = best;
            d->peak = s[best];
            d->k_on = d->k_peak = d->k_last = d->k_start = k;
        }
    }
    return ended;
}

int sl_detector_flush(sl_detector *d, sl_event *ev)
{
    if (!d->active) return 0;
    finish(d, ev);
    d->active = 0;
    return 1;
}
