/* The streaming runner (see sigloop/post.h): the front end's streaming state, a ring of the
 * window's frames, a batch-1 network and the detector, all allocated in sl_streamer_new. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/audio.h"
#include "sigloop/dsp.h"
#include "sigloop/features.h"
#include "sigloop/nn.h"
#include "sigloop/post.h"

struct sl_streamer {
    const sl_model *m;
    sl_streamer_opts opts;
    sl_featurizer *fz;
    sl_stream *st;
    sl_net *net;
    sl_detector *det;
    int has_filter;
    sl_biquads filter;
    float gain;                 /* features.channel_scale, 1 when unset */
    size_t bands, frames, classes;
    size_t hop_len;             /* samples per frame hop */
    size_t every;               /* frames between decisions */
    size_t chunk;               /* samples pushed to the front end at a time */
    size_t window;              /* samples of one window (data.duration) */
    float *cond;                /* (chunk): the conditioned samples */
    float *fbuf;                /* (max_frames, bands): frames out of the front end */
    size_t max_frames;
    float *ring;                /* (frames, bands): the window's frames, frame-major */
    size_t frames_seen;
    size_t samples_seen;
    float *x;                   /* (bands, frames): the network's input, standardised */
    float *raw;                 /* (bands, frames): the same before standardisation */
    float *scale, *shift;       /* (bands): x = raw * scale + shift */
    float *prob;                /* (classes) */
    size_t decisions;
};

void sl_streamer_free(sl_streamer *s)
{
    if (!s) return;
    sl_detector_free(s->det);
    sl_net_free(s->net);
    sl_stream_free(s->st);
    sl_featurizer_free(s->fz);
    free(s->cond);
    free(s->fbuf);
    free(s->ring);
    free(s->x);
    free(s->raw);
    free(s->scale);
    free(s->shift);
    free(s->prob);
    free(s);
}

size_t sl_streamer_window(const sl_streamer *s) { return s->window; }
size_t sl_streamer_hop(const sl_streamer *s) { return s->every * s->hop_len; }
size_t sl_streamer_decisions(const sl_streamer *s) { return s->decisions; }
const sl_detector *sl_streamer_detector(const sl_streamer *s) { return s->det; }

sl_status sl_streamer_new(sl_streamer **out, const sl_model *m, const sl_post_config *pc,
                          const sl_streamer_opts *opts)
{
    *out = NULL;
    const sl_config *cfg = &m->cfg;
    const double sr = cfg->data.sample_rate;
    if (cfg->features.dc_remove)
        return sl_fail(SL_ECONFIG, "features.dc_remove: the mean of each window is not known while streaming; "
                                   "train with a high-pass features.filter instead");
    sl_streamer *s = calloc(1, sizeof *s);
    if (!s) return sl_fail(SL_ENOMEM, "out of memory");
    s->m = m;
    if (opts) s->opts = *opts;
    sl_features_params p;
    sl_features_params_from_config(cfg, &p);
    sl_status st = sl_featurizer_new(&s->fz, &p);
    if (st == SL_OK) st = sl_stream_new(&s->st, s->fz);
    if (st != SL_OK) goto fail;
    s->bands = m->bands;
    s->frames = m->frames;
    s->classes = m->classes;
    if (sl_featurizer_bands(s->fz) != s->bands) {
        st = sl_fail(SL_ECONFIG, "the model sees %zu bands but its front end gives %zu per channel: streaming runs "
                                 "one-channel models only", s->bands, sl_featurizer_bands(s->fz));
        goto fail;
    }
    s->hop_len = p.hop_length;
    s->window = (size_t)llround(cfg->data.duration * sr);
    if (sl_featurizer_frames(s->fz, s->window) != s->frames) {
        st = sl_fail(SL_EFORMAT, "the model sees %zu frames, but data.duration %g s gives %zu", s->frames,
                     cfg->data.duration, sl_featurizer_frames(s->fz, s->window));
        goto fail;
    }
    double every = pc->hop * sr / (double)s->hop_len;
    s->every = (size_t)llround(every);
    if (s->every < 1 || fabs(every - (double)s->every) > 1e-6) {
        st = sl_fail(SL_ECONFIG, "post.hop: %g s is not a whole number of the features' hops (%zu samples = %g ms)",
                     pc->hop, s->hop_len, 1000.0 * (double)s->hop_len / sr);
        goto fail;
    }
    s->gain = cfg->features.channel_scale.n ? (float)cfg->features.channel_scale.v[0] : 1.0f;
    if (cfg->features.filter.type != 0) {
        st = sl_butterworth(&s->filter, (sl_filter_type)(cfg->features.filter.type - 1),
                            (int)cfg->features.filter.order, cfg->features.filter.low, cfg->features.filter.high, sr);
        if (st != SL_OK) goto fail;
        s->has_filter = 1;
    }
    s->chunk = s->every * s->hop_len;
    s->max_frames = s->chunk / s->hop_len + p.win_length / s->hop_len + 1;
    s->cond = malloc(s->chunk * sizeof *s->cond);
    s->fbuf = malloc(s->max_frames * s->bands * sizeof *s->fbuf);
    s->ring = malloc(s->frames * s->bands * sizeof *s->ring);
    s->x = malloc(s->frames * s->bands * sizeof *s->x);
    s->raw = malloc(s->frames * s->bands * sizeof *s->raw);
    s->scale = malloc(s->bands * sizeof *s->scale);
    s->shift = malloc(s->bands * sizeof *s->shift);
    s->prob = malloc(s->classes * sizeof *s->prob);
    if (!s->cond || !s->fbuf || !s->ring || !s->x || !s->raw || !s->scale || !s->shift || !s->prob) {
        st = sl_fail(SL_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t b = 0; b < s->bands; b++) { /* as training standardised: (v - mean) / std */
        double sd = m->std[b] > 1e-12 ? m->std[b] : 1.0;
        s->scale[b] = (float)(1.0 / sd);
        s->shift[b] = (float)(-m->mean[b] / sd);
    }
    st = sl_net_new(&s->net, m->graph, 1);
    if (st == SL_OK) st = sl_net_set_threads(s->net, opts && opts->threads > 0 ? opts->threads : 1);
    if (st != SL_OK) goto fail;
    memcpy(sl_net_params(s->net), m->params, sl_graph_n_params(m->graph) * sizeof *m->params);
    memcpy(sl_net_state(s->net), m->state, sl_graph_n_state(m->graph) * sizeof *m->state);
    st = sl_detector_new(&s->det, pc, (const char *const *)m->labels, m->classes, pc->hop, cfg->data.duration,
                         opts ? opts->lag : 0);
    if (st != SL_OK) goto fail;
    *out = s;
    return SL_OK;
fail:
    sl_streamer_free(s);
    return st;
}

/* The window's frames out of the ring, standardised, through the network and the detector. */
static sl_status decide(sl_streamer *s)
{
    size_t T = s->frames, B = s->bands, first = s->frames_seen % T; /* the oldest frame's slot */
    int want_raw = s->opts.on_decision != NULL;
    for (size_t t = 0; t < T; t++) {
        const float *f = s->ring + ((first + t) % T) * B;
        for (size_t b = 0; b < B; b++) s->x[b * T + t] = f[b] * s->scale[b] + s->shift[b];
        if (want_raw)
            for (size_t b = 0; b < B; b++) s->raw[b * T + t] = f[b];
    }
    const sl_real *z;
    SL_TRY(sl_net_forward(s->net, s->x, 1, 0, &z));
    float mx = z[0], sum = 0;
    for (size_t c = 1; c < s->classes; c++) mx = z[c] > mx ? z[c] : mx;
    for (size_t c = 0; c < s->classes; c++) sum += s->prob[c] = expf(z[c] - mx);
    for (size_t c = 0; c < s->classes; c++) s->prob[c] /= sum;
    sl_event ev;
    int ended = sl_detector_push(s->det, s->prob, &ev);
    size_t k = s->decisions++;
    if (s->opts.on_decision) {
        double sr = s->m->cfg.data.sample_rate, t0 = (double)(k * s->every * s->hop_len) / sr;
        sl_decision d = {k, t0, t0 + (double)s->window / sr, s->raw, s->prob, sl_detector_smoothed(s->det)};
        SL_TRY(s->opts.on_decision(s->opts.ctx, &d));
    }
    if (ended && s->opts.on_event) SL_TRY(s->opts.on_event(s->opts.ctx, &ev));
    return SL_OK;
}

sl_status sl_streamer_push(sl_streamer *s, const float *x, size_t n)
{
    size_t B = s->bands, T = s->frames;
    for (size_t i0 = 0; i0 < n; i0 += s->chunk) {
        size_t m = n - i0 < s->chunk ? n - i0 : s->chunk;
        for (size_t i = 0; i < m; i++) {
            if (!isfinite(x[i0 + i]))
                return sl_fail(SL_EFORMAT, "sample %zu of the stream (%.3f s) is %s", s->samples_seen + i0 + i,
                               (double)(s->samples_seen + i0 + i) / s->m->cfg.data.sample_rate,
                               isnan(x[i0 + i]) ? "NaN" : "infinite");
            s->cond[i] = x[i0 + i] * s->gain;
        }
        if (s->has_filter) sl_biquads_run(&s->filter, s->cond, m);
        size_t got = 0;
        SL_TRY(sl_stream_push(s->st, s->cond, m, s->fbuf, s->max_frames, &got));
        for (size_t f = 0; f < got; f++) {
            memcpy(s->ring + (s->frames_seen % T) * B, s->fbuf + f * B, B * sizeof *s->ring);
            s->frames_seen++;
            if (s->frames_seen >= T && (s->frames_seen - T) % s->every == 0) SL_TRY(decide(s));
        }
    }
    s->samples_seen += n;
    return SL_OK;
}

sl_status sl_streamer_finish(sl_streamer *s)
{
    sl_event ev;
    if (sl_detector_flush(s->det, &ev) && s->opts.on_event) SL_TRY(s->opts.on_event(s->opts.ctx, &ev));
    return SL_OK;
}

sl_status sl_streamer_open_file(const sl_model *m, const char *path, sl_audio_reader **rd, double *seconds)
{
    *seconds = 0;
    sl_audio_opts ao = {.target_rate = m->cfg.data.sample_rate, .channel = -1, .max_frames = 0};
    SL_TRY(sl_audio_reader_open(rd, path, &ao));
    const sl_audio_info *in = sl_audio_reader_info(*rd);
    double sec = (double)in->frames / in->sample_rate;
    if (sec < m->cfg.data.duration) {
        sl_audio_reader_close(*rd);
        *rd = NULL;
        return sl_fail(SL_EFORMAT, "%s: %.3f s long, shorter than one window of the model (%g s)", path, sec,
                       m->cfg.data.duration);
    }
    *seconds = sec;
    return SL_OK;
}

sl_status sl_event_list_push(sl_event_list *l, const sl_event *e)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 256;
        sl_event *t = realloc(l->ev, nc * sizeof *t);
        if (!t) return sl_fail(SL_ENOMEM, "out of memory");
        l->ev = t;
        l->cap = nc;
    }
    l->ev[l->n++] = *e;
    return SL_OK;
}
