/* Post-processing: the detector's smoothing, thresholds, hysteresis, suppression and mask on
 * hand-made probabilities; the streaming runner's windows equal to the features of the same
 * samples computed offline, and its probabilities to the network run on them, whatever the chunk
 * sizes; truth files and their errors; matching; the audio reader against the whole-file reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "sigloop/audio.h"
#include "sigloop/dsp.h"
#include "sigloop/features.h"
#include "sigloop/fileio.h"
#include "sigloop/model.h"
#include "sigloop/nn.h"
#include "sigloop/post.h"
#include "sigloop/rng.h"

static char g_dir[1024];

static const char *const LABELS3[] = {"bg", "yes", "no"};

static sl_post_config post_defaults(void)
{
    sl_config c;
    sl_config_defaults(&c);
    sl_post_config p = c.post; /* its lists are empty by default: nothing shared with c */
    assert_int_equal(p.thresholds.n + p.classes.n, 0);
    c.post.thresholds = (sl_floatlist){0};
    c.post.classes = (sl_strlist){0};
    sl_config_free(&c);
    return p;
}

/* Pushes n decisions of (classes) probabilities; returns the events. */
static size_t run_detector(sl_detector *d, const float *p, size_t n, size_t classes, sl_event *ev, size_t cap)
{
    size_t k = 0;
    sl_event e;
    for (size_t i = 0; i < n; i++)
        if (sl_detector_push(d, p + i * classes, &e) && k < cap) ev[k++] = e;
    if (sl_detector_flush(d, &e) && k < cap) ev[k++] = e;
    return k;
}

static void test_smoothing(void **state)
{
    (void)state;
    sl_post_config pc = post_defaults();
    pc.average = 3;
    pc.threshold = 0.99f; /* nothing triggers */
    sl_detector *d;
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_OK);
    const float p[4][3] = {{0.9f, 0.1f, 0}, {0.3f, 0.6f, 0.1f}, {0.6f, 0.3f, 0.1f}, {0, 1, 0}};
    sl_event e;
    sl_detector_push(d, p[0], &e);
    assert_float_equal(sl_detector_smoothed(d)[0], 0.9f, 1e-6);
    sl_detector_push(d, p[1], &e);
    assert_float_equal(sl_detector_smoothed(d)[1], 0.35f, 1e-6); /* mean of the two so far */
    sl_detector_push(d, p[2], &e);
    assert_float_equal(sl_detector_smoothed(d)[0], 0.6f, 1e-6);
    sl_detector_push(d, p[3], &e);
    assert_float_equal(sl_detector_smoothed(d)[1], (0.6f + 0.3f + 1.0f) / 3, 1e-6); /* the first dropped out */
    sl_detector_free(d);

    pc.smoothing = SL_SMOOTH_EMA;
    pc.alpha = 0.25;
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_OK);
    sl_detector_push(d, p[0], &e);
    assert_float_equal(sl_detector_smoothed(d)[0], 0.9f, 1e-6);
    sl_detector_push(d, p[1], &e);
    assert_float_equal(sl_detector_smoothed(d)[0], 0.9f + 0.25f * (0.3f - 0.9f), 1e-6);
    sl_detector_reset(d);
    sl_detector_push(d, p[3], &e);
    assert_float_equal(sl_detector_smoothed(d)[1], 1.0f, 1e-6);
    sl_detector_free(d);
}

/* One class's score over time (others share the rest): its events with threshold 0.7,
 * hysteresis 0.2, no smoothing. */
static size_t events_of(const float *score, size_t n, double suppress, sl_event *ev, size_t cap)
{
    sl_post_config pc = post_defaults();
    pc.average = 1;
    pc.threshold = 0.7;
    pc.hysteresis = 0.2;
    pc.suppress = suppress;
    snprintf(pc.background, sizeof pc.background, "bg"); /* the rest of the probability */
    sl_detector *d;
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0.05), SL_OK);
    float *p = malloc(n * 3 * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i * 3 + 1] = score[i];
        p[i * 3 + 0] = 1 - score[i];
        p[i * 3 + 2] = 0;
    }
    size_t k = run_detector(d, p, n, 3, ev, cap);
    free(p);
    sl_detector_free(d);
    return k;
}

static void test_threshold_hysteresis(void **state)
{
    (void)state;
    sl_event ev[8];
    /* rises over 0.7 at decision 2, peaks at 4, dips to 0.55 (above the release 0.5) at 6, falls
     * below 0.5 at 8: one event */
    const float s1[] = {0.1f, 0.6f, 0.72f, 0.8f, 0.95f, 0.7f, 0.55f, 0.6f, 0.3f, 0.1f};
    size_t n = events_of(s1, 10, 0.0, ev, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].label, 1);
    assert_float_equal(ev[0].score, 0.95f, 1e-6);
    assert_float_equal(ev[0].start, 0.4 + 0.05, 1e-9);             /* the peak's window + lag */
    assert_float_equal(ev[0].end, ev[0].start + 6 * 0.1, 1e-9);    /* decisions 2..7 above release */
    /* below the release in between: two events */
    const float s2[] = {0.8f, 0.4f, 0.8f, 0.1f};
    assert_int_equal(events_of(s2, 4, 0.0, ev, 8), 2);
    /* never reaching the threshold: none; exactly at it: one */
    const float s3[] = {0.69f, 0.5f, 0.69f};
    assert_int_equal(events_of(s3, 3, 0.0, ev, 8), 0);
    const float s4[] = {0.7f, 0.1f};
    assert_int_equal(events_of(s4, 2, 0.0, ev, 8), 1);
    /* still active at the end: flushed */
    const float s5[] = {0.1f, 0.9f, 0.9f};
    assert_int_equal(events_of(s5, 3, 0.0, ev, 8), 1);
    assert_float_equal(ev[0].end, ev[0].start + 0.2, 1e-9);
}

static void test_suppression(void **state)
{
    (void)state;
    sl_event ev[8];
    /* starts at decisions 0, 2 and 6 (0.1 s apart each) */
    const float s[] = {0.9f, 0.1f, 0.9f, 0.1f, 0.1f, 0.1f, 0.9f, 0.1f};
    assert_int_equal(events_of(s, 8, 0.0, ev, 8), 3);
    assert_int_equal(events_of(s, 8, 0.2, ev, 8), 3); /* 0.2 s apart is allowed */
    assert_int_equal(events_of(s, 8, 0.25, ev, 8), 2); /* the one at 0.2 s is suppressed */
    assert_float_equal(ev[1].start, 0.6 + 0.05, 1e-9);
    assert_int_equal(events_of(s, 8, 1.0, ev, 8), 1);
}

static void test_mask_and_background(void **state)
{
    (void)state;
    const float p[] = {0.9f, 0.05f, 0.05f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.8f, 0.1f, 0.8f, 0.1f};
    sl_post_config pc = post_defaults();
    pc.average = 1;
    pc.suppress = 0;
    sl_detector *d;
    sl_event ev[8];
    /* every class may trigger: bg, then no (one event over two decisions), then yes */
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_OK);
    assert_int_equal(run_detector(d, p, 4, 3, ev, 8), 3);
    sl_detector_free(d);
    /* bg is the background: never an event */
    snprintf(pc.background, sizeof pc.background, "bg");
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_OK);
    assert_int_equal(sl_detector_mask(d)[0], 0);
    size_t n = run_detector(d, p, 4, 3, ev, 8);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].label, 2);
    assert_int_equal(ev[1].label, 1);
    sl_detector_free(d);
    /* only "yes" may trigger */
    char *only[] = {"yes"};
    pc.classes.items = only;
    pc.classes.n = 1;
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_OK);
    n = run_detector(d, p, 4, 3, ev, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].label, 1);
    sl_detector_free(d);
    /* per-class thresholds: "no" needs 0.85 */
    pc.classes.n = 0;
    double thr[] = {0.5, 0.7, 0.85};
    pc.thresholds.v = thr;
    pc.thresholds.n = 3;
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_OK);
    assert_float_equal(sl_detector_thresholds(d)[2], 0.85f, 1e-7);
    n = run_detector(d, p, 4, 3, ev, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].label, 1);
    sl_detector_free(d);
}

static void test_detector_errors(void **state)
{
    (void)state;
    sl_post_config pc = post_defaults();
    sl_detector *d = (sl_detector *)1;
    double thr[] = {0.5, 0.7};
    pc.thresholds.v = thr;
    pc.thresholds.n = 2;
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_ECONFIG);
    assert_null(d);
    assert_non_null(strstr(sl_last_error(), "post.thresholds: 2 values for 3 classes"));
    pc.thresholds.n = 0;
    char *bad[] = {"maybe"};
    pc.classes.items = bad;
    pc.classes.n = 1;
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "post.classes: 'maybe'"));
    pc.classes.n = 0;
    snprintf(pc.background, sizeof pc.background, "noise");
    assert_int_equal(sl_detector_new(&d, &pc, LABELS3, 3, 0.1, 1.0, 0), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "post.background: 'noise'"));
}

/* ---- the streaming runner ---- */

static const char TINY_YAML[] =
    "name: tiny\n"
    "data: {root: ., sample_rate: 8000, duration: 0.5s}\n"
    "features: {type: logmel, n_fft: 256, win_length: 200, hop_length: 80, n_mels: 16, power: 1}\n"
    "model: {arch: tc-resnet, widths: [8, 12], kernel: 3, stem_kernel: 3}\n"
    "post: {hop: 0.05s, average: 1, threshold: 0.5}\n";

/* A small model with seeded weights and made-up statistics. */
static sl_model *tiny_model(void)
{
    sl_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    assert_int_equal(sl_config_parse(&m->cfg, TINY_YAML, strlen(TINY_YAML), "tiny.yaml", "/", NULL, 0), SL_OK);
    m->bands = 16;
    m->frames = 48; /* (4000 - 200) / 80 + 1 */
    m->classes = 3;
    sl_shape in = {.rank = 2, .d = {m->bands, m->frames}};
    assert_int_equal(sl_model_build(&m->cfg.model, &in, m->classes, &m->graph), SL_OK);
    m->labels = malloc(3 * sizeof *m->labels);
    for (int c = 0; c < 3; c++) m->labels[c] = strdup(LABELS3[c]);
    m->mean = malloc(2 * m->bands * sizeof *m->mean); /* one block, as the loader makes it */
    m->std = m->mean + m->bands;
    for (size_t b = 0; b < m->bands; b++) {
        m->mean[b] = -6 + 0.1 * (double)b;
        m->std[b] = 2 + 0.05 * (double)b;
    }
    sl_net *net;
    assert_int_equal(sl_net_new(&net, m->graph, 1), SL_OK);
    sl_net_init(net, 7);
    size_t np = sl_graph_n_params(m->graph), ns = sl_graph_n_state(m->graph);
    m->params = malloc(np * sizeof *m->params);
    m->state = malloc((ns ? ns : 1) * sizeof *m->state);
    memcpy(m->params, sl_net_params(net), np * sizeof *m->params);
    memcpy(m->state, sl_net_state(net), ns * sizeof *m->state);
    sl_net_free(net);
    return m;
}

typedef struct {
    const sl_model *m;
    const float *x;           /* the whole stream */
    size_t n;
    sl_featurizer *fz;
    sl_net *net;
    size_t hop;               /* samples between decisions */
    size_t checked, mismatched_features, mismatched_prob;
} check_ctx;

static sl_status check_decision(void *vctx, const sl_decision *d)
{
    check_ctx *c = vctx;
    size_t B = c->m->bands, T = c->m->frames, start = d->index * c->hop;
    size_t win = (size_t)llround(c->m->cfg.data.duration * c->m->cfg.data.sample_rate);
    if (start + win > c->n) return sl_fail(SL_EINTERNAL, "decision %zu past the stream", d->index);
    float *f = malloc(B * T * sizeof *f), *x = malloc(B * T * sizeof *x);
    float *seg = malloc(win * sizeof *seg);
    memcpy(seg, c->x + start, win * sizeof *seg);
    /* the offline features of the same samples, as the feature cache computes them */
    sl_status s = sl_features_of_signal(&c->m->cfg, c->fz, seg, 1, win, win, f, NULL);
    if (s == SL_OK && memcmp(f, d->features, B * T * sizeof *f) != 0) c->mismatched_features++;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++) {
            double sd = c->m->std[b];
            x[b * T + t] = f[b * T + t] * (float)(1.0 / sd) + (float)(-c->m->mean[b] / sd);
        }
    const sl_real *z;
    if (s == SL_OK) s = sl_net_forward(c->net, x, 1, 0, &z);
    if (s == SL_OK) {
        float mx = z[0], sum = 0, p[3];
        for (int k = 1; k < 3; k++) mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < 3; k++) sum += p[k] = expf(z[k] - mx);
        for (int k = 0; k < 3; k++)
            if (fabsf(p[k] / sum - d->prob[k]) > 1e-6f) c->mismatched_prob++;
    }
    c->checked++;
    free(f);
    free(x);
    free(seg);
    return s;
}

static void test_stream_equals_offline(void **state)
{
    (void)state;
    sl_model *m = tiny_model();
    size_t n = 8000 * 3 + 123; /* 3 s and a bit */
    float *x = malloc(n * sizeof *x);
    sl_rng r = sl_rng_make(3, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.3 * sin(2 * M_PI * 440 * (double)i / 8000) * (i % 8000 < 3000) + 0.05 * sl_rng_normal(&r));
    sl_features_params p;
    sl_features_params_from_config(&m->cfg, &p);
    check_ctx c = {.m = m, .x = x, .n = n, .hop = 400};
    assert_int_equal(sl_featurizer_new(&c.fz, &p), SL_OK);
    assert_int_equal(sl_net_new(&c.net, m->graph, 1), SL_OK);
    memcpy(sl_net_params(c.net), m->params, sl_graph_n_params(m->graph) * sizeof *m->params);
    memcpy(sl_net_state(c.net), m->state, sl_graph_n_state(m->graph) * sizeof *m->state);
    const size_t chunks[] = {1, 7, 80, 400, 1000, 4096, n};
    for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
        sl_streamer *st;
        sl_streamer_opts so = {.threads = 1, .on_decision = check_decision, .ctx = &c};
        assert_int_equal(sl_streamer_new(&st, m, &m->cfg.post, &so), SL_OK);
        assert_int_equal(sl_streamer_window(st), 4000);
        assert_int_equal(sl_streamer_hop(st), 400);
        c.checked = c.mismatched_features = c.mismatched_prob = 0;
        for (size_t i = 0; i < n; i += chunks[k])
            assert_int_equal(sl_streamer_push(st, x + i, n - i < chunks[k] ? n - i : chunks[k]), SL_OK);
        assert_int_equal(sl_streamer_finish(st), SL_OK);
        /* windows start every 400 samples while a whole one fits: (24123 - 4000) / 400 + 1 */
        assert_int_equal(c.checked, (n - 4000) / 400 + 1);
        assert_int_equal(sl_streamer_decisions(st), c.checked);
        assert_int_equal(c.mismatched_features, 0);
        assert_int_equal(c.mismatched_prob, 0);
        sl_streamer_free(st);
    }
    /* a NaN sample: an error naming where */
    sl_streamer *st;
    assert_int_equal(sl_streamer_new(&st, m, &m->cfg.post, NULL), SL_OK);
    x[5000] = NAN;
    assert_int_equal(sl_streamer_push(st, x, n), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "sample 5000 of the stream (0.625 s) is NaN"));
    sl_streamer_free(st);
    /* a hop that is not a whole number of frames, and a front end that cannot stream */
    sl_post_config pc = m->cfg.post;
    pc.hop = 0.015;
    assert_int_equal(sl_streamer_new(&st, m, &pc, NULL), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "post.hop: 0.015 s is not a whole number"));
    m->cfg.features.dc_remove = 1;
    assert_int_equal(sl_streamer_new(&st, m, &m->cfg.post, NULL), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "features.dc_remove"));
    sl_featurizer_free(c.fz);
    sl_net_free(c.net);
    free(x);
    sl_model_free(m);
}

/* ---- truth and matching ---- */

static const char *write_tmp(const char *name, const char *text)
{
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    assert_int_equal(sl_write_file_atomic(path, text, strlen(text)), SL_OK);
    return path;
}

static void expect_truth_error(const char *text, const char *want)
{
    const char *path = write_tmp("bad.csv", text);
    sl_truth_event *t = (sl_truth_event *)1;
    size_t n = 7;
    assert_int_not_equal(sl_truth_read(path, LABELS3, 3, &t, &n), SL_OK);
    assert_null(t);
    assert_int_equal(n, 0);
    if (!strstr(sl_last_error(), want)) fail_msg("'%s' lacks '%s'", sl_last_error(), want);
}

static void test_truth(void **state)
{
    (void)state;
    const char *path = write_tmp("truth.csv", "start,end,label,file\n1.000,1.500,yes,a.wav\n2.0,2.25,\"no\",\"b,1.wav\"\n"
                                              "3,3.5,maybe,c.wav\n3.5,4,\"y,\"\"es\"\"\",d.wav\n");
    sl_truth_event *t;
    size_t n;
    assert_int_equal(sl_truth_read(path, LABELS3, 3, &t, &n), SL_OK);
    assert_int_equal(n, 4);
    assert_float_equal(t[1].start, 2.0, 0);
    assert_float_equal(t[1].end, 2.25, 0);
    assert_int_equal(t[0].label, 1);
    assert_int_equal(t[1].label, 2);  /* quoted */
    assert_int_equal(t[2].label, -1);
    free(t);
    /* a quoted label with a comma and quotes in it is read whole */
    static const char *const odd[] = {"bg", "y,\"es\""};
    assert_int_equal(sl_truth_read(path, odd, 2, &t, &n), SL_OK);
    assert_int_equal(t[3].label, 1);
    free(t);
    expect_truth_error("start,end,label\n1,2,yes\n1.5,2.5,no\n", "bad.csv:3: the event at 1.5 s overlaps the one before");
    expect_truth_error("start,end,label\n3,4,yes\n1,2,no\n", "bad.csv:3: the event at 1 s comes before the one before");
    expect_truth_error("start,end,label\n-0.5,1,yes\n", "bad.csv:2: start -0.5 s is negative");
    expect_truth_error("start,end,label\n2,1,yes\n", "bad.csv:2: end 1 s is not after start 2 s");
    expect_truth_error("start,end,label\nabc,1,yes\n", "bad.csv:2: start 'abc' and end '1' must be numbers");
    expect_truth_error("start,end,label\nnan,1,yes\n", "bad.csv:2: start 'nan'");
    expect_truth_error("begin,stop,label\n1,2,yes\n", "bad.csv:1: expected the header 'start,end,label'");
    expect_truth_error("start,end,label\n1,2\n", "bad.csv:2: expected start,end,label");
    expect_truth_error("", "bad.csv: empty file");
    expect_truth_error("start,end,label\n", "bad.csv: no events");
}

static void test_matching(void **state)
{
    (void)state;
    const sl_truth_event truth[] = {{1.0, 1.4, 1}, {3.0, 3.5, 2}, {5.0, 5.3, 1}, {7.0, 7.2, 2}};
    const sl_event det[] = {
        {0.80, 1.2, 1, 0.9f}, /* 0.20 early: a hit on truth 0 */
        {1.10, 1.5, 1, 0.8f}, /* truth 0 again: taken by the closer? 0.10 away: this one is closer */
        {3.26, 3.6, 2, 0.9f}, /* 0.26 late: outside the collar, a false alarm */
        {5.00, 5.4, 2, 0.9f}, /* the wrong label at truth 2 */
        {9.00, 9.4, 1, 0.7f}, /* nothing there */
    };
    sl_match_result r;
    assert_int_equal(sl_match_events(det, 5, truth, 4, 0.25, 1800, &r), SL_OK);
    assert_int_equal(r.truth, 4);
    assert_int_equal(r.detected, 5);
    assert_int_equal(r.hits, 1);         /* truth 0, by the closer detection */
    assert_int_equal(r.false_alarms, 4);
    assert_int_equal(r.wrong_label, 1);
    assert_float_equal(r.recall, 0.25, 1e-12);
    assert_float_equal(r.fa_per_hour, 8.0, 1e-9); /* 4 in half an hour */
    /* the collar's edge counts */
    const sl_event edge[] = {{2.75, 3.0, 2, 0.9f}, {7.25, 7.5, 2, 0.9f}};
    assert_int_equal(sl_match_events(edge, 2, truth, 4, 0.25, 3600, &r), SL_OK);
    assert_int_equal(r.hits, 2);
    assert_int_equal(r.false_alarms, 0);
}

/* ---- the audio reader ---- */

static void test_audio_reader(void **state)
{
    (void)state;
    size_t n = 16000 * 2 + 77;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2 * M_PI * 300 * (double)i / 16000));
    char path[2048];
    snprintf(path, sizeof path, "%s/tone16k.wav", g_dir);
    assert_int_equal(sl_audio_write_wav(path, x, n, 16000), SL_OK);
    const double rates[] = {0, 8000};
    for (size_t k = 0; k < 2; k++) {
        sl_audio_opts o = {.target_rate = rates[k], .channel = -1, .max_frames = 0};
        sl_signal whole;
        assert_int_equal(sl_audio_read(path, &o, &whole), SL_OK);
        sl_audio_reader *r;
        assert_int_equal(sl_audio_reader_open(&r, path, &o), SL_OK);
        assert_float_equal(sl_audio_reader_rate(r), rates[k] ? rates[k] : 16000, 0);
        float *y = malloc((whole.n + 10000) * sizeof *y);
        size_t got = 0, m;
        do {
            assert_int_equal(sl_audio_reader_read(r, y + got, 333, &m), SL_OK);
            got += m;
        } while (m);
        sl_audio_reader_close(r);
        double worst = 0;
        size_t common = got < whole.n ? got : whole.n;
        for (size_t i = 0; i < common; i++) worst = fmax(worst, fabs(y[i] - whole.x[i]));
        if (rates[k] == 0) {
            assert_int_equal(got, whole.n);
            assert_true(worst == 0);
        } else { /* the streaming resampler against the one-shot one: the same length within a few
                    samples, the same signal to within the 16-bit steps */
            assert_true(got + 4 >= whole.n && got <= whole.n + 4);
            if (worst > 1e-3) fail_msg("streamed resampling differs by %g", worst);
        }
        free(y);
        sl_signal_free(&whole);
    }
    sl_audio_reader *r = (sl_audio_reader *)1;
    snprintf(path, sizeof path, "%s/missing.wav", g_dir);
    assert_int_equal(sl_audio_reader_open(&r, path, NULL), SL_EIO);
    assert_null(r);
    free(x);
}

int main(void)
{
    const char *tmp = getenv("SIGLOOP_TEST_TMP");
    snprintf(g_dir, sizeof g_dir, "%s/post", tmp ? tmp : "/tmp");
    sl_mkdirs(g_dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smoothing),           cmocka_unit_test(test_threshold_hysteresis),
        cmocka_unit_test(test_suppression),         cmocka_unit_test(test_mask_and_background),
        cmocka_unit_test(test_detector_errors),     cmocka_unit_test(test_stream_equals_offline),
        cmocka_unit_test(test_truth),               cmocka_unit_test(test_matching),
        cmocka_unit_test(test_audio_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
