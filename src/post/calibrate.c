/* Calibration (see sigloop/post.h): the network's probabilities over a stream recorded once, then
 * the detector run again over them for every setting of the sweep and matched to the truth. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/audio.h"
#include "sigloop/post.h"

void sl_scores_free(sl_scores *s)
{
    if (!s) return;
    free(s->prob);
    memset(s, 0, sizeof *s);
}

typedef struct {
    sl_scores *sc;
    size_t cap;
} record_ctx;

static sl_status record(void *vctx, const sl_decision *d)
{
    record_ctx *c = vctx;
    sl_scores *s = c->sc;
    if (s->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 4096;
        float *t = realloc(s->prob, nc * s->classes * sizeof *t);
        if (!t) return sl_fail(SL_ENOMEM, "out of memory");
        s->prob = t;
        c->cap = nc;
    }
    memcpy(s->prob + s->n * s->classes, d->prob, s->classes * sizeof *d->prob);
    s->n++;
    return SL_OK;
}

sl_status sl_scores_of_file(const sl_model *m, const sl_post_config *pc, const char *path, int threads,
                            sl_scores *out)
{
    memset(out, 0, sizeof *out);
    out->classes = m->classes;
    out->hop = pc->hop;
    out->window = m->cfg.data.duration;
    record_ctx ctx = {out, 0};
    sl_streamer_opts so = {.threads = threads, .on_decision = record, .ctx = &ctx};
    sl_streamer *st = NULL;
    sl_audio_reader *rd = NULL;
    float *buf = malloc(4096 * sizeof *buf);
    sl_status s = buf ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    double sec;
    if (s == SL_OK) s = sl_streamer_open_file(m, path, &rd, &sec);
    if (s == SL_OK) s = sl_streamer_new(&st, m, pc, &so);
    size_t total = 0;
    while (s == SL_OK) {
        size_t n = 0;
        s = sl_audio_reader_read(rd, buf, 4096, &n);
        if (s != SL_OK || n == 0) break;
        s = sl_streamer_push(st, buf, n);
        total += n;
    }
    out->seconds = (double)total / m->cfg.data.sample_rate;
    free(buf);
    sl_streamer_free(st);
    sl_audio_reader_close(rd);
    if (s != SL_OK) sl_scores_free(out);
    return s;
}

/* The detector with pc over recorded scores, into l (its events replace what it held). */
static sl_status detect_into(const sl_scores *sc, const sl_post_config *pc, const char *const *labels, double lag,
                             sl_event_list *l)
{
    sl_detector *d;
    SL_TRY(sl_detector_new(&d, pc, labels, sc->classes, sc->hop, sc->window, lag));
    l->n = 0;
    sl_status s = SL_OK;
    sl_event e;
    for (size_t k = 0; k < sc->n && s == SL_OK; k++)
        if (sl_detector_push(d, sc->prob + k * sc->classes, &e)) s = sl_event_list_push(l, &e);
    if (s == SL_OK && sl_detector_flush(d, &e)) s = sl_event_list_push(l, &e);
    sl_detector_free(d);
    return s;
}

sl_status sl_detect_scores(const sl_scores *sc, const sl_post_config *pc, const char *const *labels, double lag,
                           sl_event **ev, size_t *n)
{
    sl_event_list l = {0};
    sl_status s = detect_into(sc, pc, labels, lag, &l);
    if (s != SL_OK) {
        free(l.ev);
        l.ev = NULL;
        l.n = 0;
    }
    *ev = l.ev;
    *n = l.n;
    return s;
}

static const size_t AVERAGES[] = {1, 2, 3, 5, 8};
static const double SUPPRESS[] = {0.25, 0.5, 1.0};

sl_status sl_calibrate(const sl_scores *sc, const sl_post_config *base, const char *const *labels, double lag,
                       const sl_truth_event *truth, size_t n_truth, double target_fa, sl_calib *out)
{
    memset(out, 0, sizeof *out);
    if (!(target_fa >= 0) || !isfinite(target_fa))
        return sl_fail(SL_EARG, "target false alarms per hour %g: expected a number >= 0", target_fa);
    const size_t na = sizeof AVERAGES / sizeof *AVERAGES, ns = sizeof SUPPRESS / sizeof *SUPPRESS;
    const size_t nt = 27; /* thresholds 0.30, 0.325, ..., 0.95 */
    size_t total = na * ns * nt;
    out->points = calloc(total, sizeof *out->points);
    if (!out->points) return sl_fail(SL_ENOMEM, "out of memory");
    out->target_fa = target_fa;
    sl_post_config pc = *base;
    pc.thresholds.n = 0; /* one threshold for every class */
    pc.smoothing = SL_SMOOTH_MEAN;
    sl_event_list l = {0};
    sl_status s = SL_OK;
    for (size_t a = 0; a < na && s == SL_OK; a++)
        for (size_t u = 0; u < ns && s == SL_OK; u++)
            for (size_t t = 0; t < nt && s == SL_OK; t++) {
                pc.average = AVERAGES[a];
                pc.suppress = SUPPRESS[u];
                pc.threshold = (30 + 2.5 * (double)t) / 100; /* 0.45, not 0.30 + 6 x 0.025 */
                s = detect_into(sc, &pc, labels, lag, &l);
                sl_calib_point *p = &out->points[out->n];
                if (s == SL_OK) s = sl_match_events(l.ev, l.n, truth, n_truth, 0.25, sc->seconds, &p->r);
                if (s != SL_OK) break;
                p->average = pc.average;
                p->suppress = pc.suppress;
                p->threshold = pc.threshold;
                out->n++;
            }
    free(l.ev);
    if (s != SL_OK) {
        sl_calib_free(out);
        return s;
    }
    /* the most recall within the target; ties: fewer false alarms, then the higher threshold (the
     * margin), then less smoothing and suppression (a quicker answer) */
    long best = -1, lowest = 0;
    for (size_t i = 0; i < out->n; i++) {
        const sl_calib_point *p = &out->points[i];
        if (p->r.fa_per_hour < out->points[lowest].r.fa_per_hour) lowest = (long)i;
        if (p->r.fa_per_hour > target_fa) continue;
        out->any_within = 1;
        if (p->r.hits == 0) continue; /* finding nothing is no operating point */
        if (best < 0) {
            best = (long)i;
            continue;
        }
        const sl_calib_point *b = &out->points[best];
        if (p->r.recall != b->r.recall ? p->r.recall > b->r.recall
            : p->r.fa_per_hour != b->r.fa_per_hour ? p->r.fa_per_hour < b->r.fa_per_hour
                                                   : p->threshold > b->threshold)
            best = (long)i;
    }
    out->chosen = best;
    out->lowest_fa = (size_t)lowest;
    return SL_OK;
}

void sl_calib_free(sl_calib *c)
{
    if (!c) return;
    free(c->points);
    memset(c, 0, sizeof *c);
}
