/* The analysis of one run (analyze.h): the test split scored again from the recordings, the
 * metrics and their intervals, slices, calibration, learning curves and their diagnosis, worst
 * examples, suspected label errors, robustness to noise, gain and shifts, and the suggestions
 * that follow from them. */
#include "analyze/analysis.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "augment/augment_internal.h"
#include "sigloop/dsp.h"
#include "sigloop/features.h"
#include "sigloop/nn.h"
#include "sigloop/pool.h"
#include "sigloop/progress.h"
#include "sigloop/rng.h"

const char *sl_an_label(const sl_analysis *a, size_t c) { return c < a->k ? a->model->labels[c] : "?"; }
const char *sl_an_path(const sl_analysis *a, size_t i) { return sl_dataset_entry(a->ds, a->test_row[i])->path; }
const char *sl_an_group(const sl_analysis *a, size_t i) { return sl_dataset_entry(a->ds, a->test_row[i])->group; }

static size_t n_samples_of(const sl_config *cfg) { return (size_t)llround(cfg->data.duration * cfg->data.sample_rate); }

/* Signal channels: the model's bands over the front end's bands per channel. */
static sl_status channels_of(const sl_analysis *a, const sl_featurizer *fz, size_t *channels)
{
    size_t per = sl_featurizer_bands(fz);
    if (!per || a->model->bands % per) return sl_fail(SL_EFORMAT, "%s: the model's %zu bands are not a whole number of "
                                                      "channels of %zu", a->run_dir, a->model->bands, per);
    *channels = a->model->bands / per;
    return SL_OK;
}

sl_status sl_an_signal(const sl_analysis *a, size_t test_i, float *x, size_t *n_real)
{
    const sl_config *cfg = &a->model->cfg;
    sl_features_params p;
    sl_features_params_from_config(cfg, &p);
    sl_featurizer *fz;
    SL_TRY(sl_featurizer_new(&fz, &p));
    size_t ch = 1;
    sl_status s = channels_of(a, fz, &ch);
    sl_featurizer_free(fz);
    if (s == SL_OK) s = sl_features_read_signal(cfg, a->ds, a->test_row[test_i], ch, n_samples_of(cfg), x, n_real);
    return s;
}

/* ---- scoring a split from its recordings, clean or changed --------------------------------------- */

typedef enum { COND_CLEAN, COND_NOISE, COND_GAIN, COND_SHIFT } cond_kind;

typedef struct {
    const sl_analysis *a;
    const sl_featurizer *fz;
    const size_t *rows;      /* ds rows to score */
    size_t n, channels, n_samples;
    float *signals;          /* (n, channels, n_samples): read once */
    size_t *n_real;          /* (n) */
    float *feat;             /* (n, bands, frames) out, standardised */
    float **work;            /* per worker: a signal, noise and the front end's scratch */
    cond_kind kind;
    double value;
    uint64_t seed, cond_index;
    sl_progress *progress;
} score_job;

static sl_status read_one(void *ctx, size_t i, int worker)
{
    (void)worker;
    score_job *j = ctx;
    return sl_features_read_signal(&j->a->model->cfg, j->a->ds, j->rows[i], j->channels, j->n_samples,
                                   j->signals + i * j->channels * j->n_samples, &j->n_real[i]);
}

/* The condition applied to a copy of the signal, then the front end and the model's standardisation. */
static sl_status features_one(void *ctx, size_t i, int worker)
{
    score_job *j = ctx;
    const sl_model *m = j->a->model;
    size_t ns = j->n_samples, per = j->channels * ns, bands = m->bands, frames = m->frames;
    float *x = j->work[worker], *noise = x + per, *scratch = noise + ns;
    memcpy(x, j->signals + i * per, per * sizeof *x);
    size_t n_real = j->n_real[i] ? j->n_real[i] : ns;
    for (size_t c = 0; c < j->channels; c++) {
        float *xc = x + c * ns;
        if (j->kind == COND_NOISE) {
            /* white noise at the SNR over the recording, drawn per example: uniform values of unit
             * power (a flat spectrum needs no Gaussian, and Box-Muller's logarithms and cosines
             * took half of the analysis's time) */
            sl_rng r = sl_rng_make(j->seed, j->cond_index * 1000003u + i * 31u + c);
            for (size_t t = 0; t < ns; t++) noise[t] = (sl_rng_uniform(&r) - 0.5f) * 3.4641016f; /* sqrt(12) */
            /* over the recording, not its padding, as the noise augmentation adds it: the padding is
             * the pipeline's, zeros in training and test alike */
            sl_aug_add_noise(xc, n_real, n_real, noise, j->value);
        } else if (j->kind == COND_GAIN) { /* a louder or quieter recording, saturating at full scale */
            sl_aug_gain(xc, ns, j->value);
            for (size_t t = 0; t < ns; t++) xc[t] = xc[t] > 1 ? 1 : xc[t] < -1 ? -1 : xc[t];
        } else if (j->kind == COND_SHIFT) {
            sl_aug_shift(xc, ns, lround(j->value * m->cfg.data.sample_rate), 0);
        }
    }
    float *f = j->feat + i * bands * frames;
    SL_TRY(sl_features_of_signal(&m->cfg, j->fz, x, j->channels, ns, n_real, f, scratch));
    for (size_t b = 0; b < bands; b++) {
        double mu = m->mean[b], sd = m->std[b] > 1e-12 ? m->std[b] : 1.0;
        float *row = f + b * frames;
        for (size_t t = 0; t < frames; t++) row[t] = (float)((row[t] - mu) / sd);
    }
    sl_progress_add(j->progress, 1);
    return SL_OK;
}

/* Softmax of the network's logits for j's features, batch by batch, into prob (n, k). */
static sl_status forward_all(sl_net *net, const score_job *j, float *prob)
{
    const sl_model *m = j->a->model;
    size_t k = m->classes, per = m->bands * m->frames, batch = 64;
    for (size_t i0 = 0; i0 < j->n; i0 += batch) {
        size_t b = j->n - i0 < batch ? j->n - i0 : batch;
        const float *z;
        SL_TRY(sl_net_forward(net, j->feat + i0 * per, b, 0, &z));
        for (size_t e = 0; e < b; e++) {
            const float *ze = z + e * k;
            double mx = ze[0], se = 0;
            for (size_t c = 1; c < k; c++) mx = ze[c] > mx ? ze[c] : mx;
            for (size_t c = 0; c < k; c++) se += exp((double)ze[c] - mx);
            for (size_t c = 0; c < k; c++) prob[(i0 + e) * k + c] = (float)(exp((double)ze[c] - mx) / se);
        }
    }
    return SL_OK;
}

typedef struct {
    sl_pool *pool; /* the network's (NULL: one thread) */
    sl_net *net;
    sl_featurizer *fz;
    float **work;
    size_t workers, channels;
} scorer;

static void scorer_free(scorer *s)
{
    for (size_t w = 0; s->work && w < s->workers; w++) free(s->work[w]);
    free(s->work);
    sl_net_free(s->net); /* and its pool, which s->pool borrowed */
    sl_featurizer_free(s->fz);
    memset(s, 0, sizeof *s);
}

static sl_status scorer_new(scorer *s, const sl_analysis *a, int threads)
{
    memset(s, 0, sizeof *s);
    const sl_model *m = a->model;
    sl_features_params p;
    sl_features_params_from_config(&m->cfg, &p);
    sl_status st = sl_featurizer_new(&s->fz, &p);
    if (st == SL_OK) st = channels_of(a, s->fz, &s->channels);
    if (st == SL_OK) st = sl_net_new(&s->net, m->graph, 64);
    if (st == SL_OK) st = sl_net_set_threads(s->net, threads);
    if (st == SL_OK) {
        /* the front end runs on the network's own pool: two pools on the same cores would spin
         * against each other (the analysis took 2.2 s that way, most of it waiting) */
        s->pool = sl_net_pool(s->net);
        memcpy(sl_net_params(s->net), m->params, sl_graph_n_params(m->graph) * sizeof *m->params);
        memcpy(sl_net_state(s->net), m->state, sl_graph_n_state(m->graph) * sizeof *m->state);
        s->workers = s->pool ? (size_t)sl_pool_size(s->pool) : 1;
        s->work = calloc(s->workers, sizeof *s->work);
        size_t ns = n_samples_of(&m->cfg);
        size_t bytes = (s->channels * ns + ns) * sizeof(float) + sl_featurizer_scratch_size(s->fz, ns) + 64;
        for (size_t w = 0; s->work && w < s->workers; w++)
            if (!(s->work[w] = malloc(bytes))) break;
        if (!s->work || !s->work[s->workers - 1]) st = sl_fail(SL_ENOMEM, "out of memory");
    }
    if (st != SL_OK) scorer_free(s);
    return st;
}

/* ---- loading ---------------------------------------------------------------------------------- */

static double cell_num(const char *s)
{
    if (!s || !*s || strcasecmp(s, "nan") == 0) return NAN;
    char *end;
    double v = strtod(s, &end);
    return *end && *end != '\n' && *end != '\r' ? NAN : v;
}

/* metrics.csv: epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds */
static sl_status read_metrics(sl_analysis *a, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return sl_fail(SL_EIO, "%s: cannot open (is this a run folder written by sigloop train?)", path);
    char line[1024];
    size_t cap = 64, line_no = 0;
    a->epochs = calloc(cap, sizeof *a->epochs);
    sl_status s = a->epochs ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    while (s == SL_OK && fgets(line, sizeof line, f)) {
        line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line_no == 1) {
            if (strncmp(line, "epoch,lr,train_loss,train_acc,val_loss,val_acc", 46) != 0)
                s = sl_fail(SL_EFORMAT, "%s:1: not a metrics file (header '%.60s')", path, line);
            continue;
        }
        char *cells[8];
        int nc = 0;
        for (char *p = line; nc < 8;) {
            cells[nc++] = p;
            char *comma = strchr(p, ',');
            if (!comma) break;
            *comma = '\0';
            p = comma + 1;
        }
        if (nc < 7) {
            s = sl_fail(SL_EFORMAT, "%s:%zu: expected 7 columns, found %d", path, line_no, nc);
            break;
        }
        if (a->n_epochs == cap) {
            sl_an_epoch *t = realloc(a->epochs, 2 * cap * sizeof *t);
            if (!t) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            a->epochs = t;
            cap *= 2;
        }
        a->epochs[a->n_epochs++] = (sl_an_epoch){cell_num(cells[1]), cell_num(cells[2]), cell_num(cells[3]),
                                                 cell_num(cells[4]), cell_num(cells[5]), cell_num(cells[6])};
    }
    fclose(f);
    if (s == SL_OK && a->n_epochs == 0) s = sl_fail(SL_EFORMAT, "%s: no epochs", path);
    return s;
}

void sl_analysis_free(sl_analysis *a)
{
    if (!a) return;
    sl_model_free(a->model);
    sl_dataset_free(a->ds);
    free(a->test_row);
    free(a->test_label);
    free(a->test_prob);
    free(a->test_feat);
    sl_metrics_free(&a->m);
    sl_calibration_free(&a->cal);
    sl_calibration_free(&a->cal_t);
    free(a->epochs);
    for (size_t i = 0; i < a->n_slicings; i++) free(a->slicings[i].s);
    free(a->slicings);
    free(a->suspect);
    free(a->suspect_class);
    free(a->cond);
    free(a);
}

/* Rows of split sp in ds, and their classes in the model's order. */
static sl_status split_rows(const sl_analysis *a, sl_split sp, size_t **rows, int **labels, size_t *n)
{
    size_t total = sl_dataset_count(a->ds);
    *rows = malloc((total + 1) * sizeof **rows);
    *labels = malloc((total + 1) * sizeof **labels);
    *n = 0;
    if (!*rows || !*labels) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < total; i++) {
        const sl_entry *e = sl_dataset_entry(a->ds, i);
        if (e->split != sp) continue;
        int c = -1;
        for (size_t j = 0; j < a->k && c < 0; j++)
            if (strcmp(a->model->labels[j], e->label) == 0) c = (int)j;
        if (c < 0) return sl_fail(SL_EFORMAT, "%s: label '%s' is not one the model knows", e->path, e->label);
        (*rows)[*n] = i;
        (*labels)[(*n)++] = c;
    }
    return SL_OK;
}

static sl_status run_on(sl_pool *pool, size_t n, sl_pool_fn fn, void *ctx)
{
    if (pool) return sl_pool_run(pool, n, fn, ctx);
    for (size_t i = 0; i < n; i++) SL_TRY(fn(ctx, i, 0));
    return SL_OK;
}

/* Scores rows under one condition into prob (n, k); keeps the features in *feat_out if asked. */
static sl_status score(scorer *sc, const sl_analysis *a, const size_t *rows, size_t n, float *signals, size_t *n_real,
                       cond_kind kind, double value, uint64_t seed, size_t cond_index, float *prob, float *feat,
                       sl_progress *progress)
{
    score_job j = {.a = a, .fz = sc->fz, .rows = rows, .n = n, .channels = sc->channels,
                   .n_samples = n_samples_of(&a->model->cfg), .signals = signals, .n_real = n_real, .feat = feat,
                   .work = sc->work, .kind = kind, .value = value, .seed = seed, .cond_index = cond_index,
                   .progress = progress};
    SL_TRY(run_on(sc->pool, n, features_one, &j));
    return forward_all(sc->net, &j, prob);
}

static sl_status read_signals(scorer *sc, const sl_analysis *a, const size_t *rows, size_t n, float **signals,
                              size_t **n_real)
{
    size_t ns = n_samples_of(&a->model->cfg);
    *signals = malloc((n * sc->channels * ns + 1) * sizeof **signals);
    *n_real = calloc(n + 1, sizeof **n_real);
    if (!*signals || !*n_real) return sl_fail(SL_ENOMEM, "out of memory");
    score_job j = {.a = a, .rows = rows, .n = n, .channels = sc->channels, .n_samples = ns, .signals = *signals,
                   .n_real = *n_real};
    return run_on(sc->pool, n, read_one, &j);
}

/* ---- the pieces of the analysis ------------------------------------------------------------------ */

static int cmp_slice(const void *pa, const void *pb)
{
    const sl_an_slice *x = pa, *y = pb;
    if (x->acc != y->acc) return x->acc < y->acc ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_str_ptr(const void *pa, const void *pb) { return strcmp(*(char *const *)pa, *(char *const *)pb); }

/* Accuracy per distinct value of key(i), worst first. */
static sl_status slice_by(sl_analysis *a, const char *column, const char *(*key)(const sl_analysis *, size_t, void *),
                          void *ctx, int sort_by_acc)
{
    size_t n = a->n_test;
    char **vals = malloc((n + 1) * sizeof *vals);
    if (!vals) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) vals[i] = (char *)key(a, i, ctx);
    char **uniq = malloc((n + 1) * sizeof *uniq);
    if (!uniq) {
        free(vals);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    memcpy(uniq, vals, n * sizeof *uniq);
    qsort(uniq, n, sizeof *uniq, cmp_str_ptr);
    size_t nu = 0;
    for (size_t i = 0; i < n; i++)
        if (!nu || strcmp(uniq[nu - 1], uniq[i]) != 0) uniq[nu++] = uniq[i];
    sl_an_slicing *t = realloc(a->slicings, (a->n_slicings + 1) * sizeof *t);
    sl_an_slice *sl = calloc(nu + 1, sizeof *sl);
    if (!t || !sl) {
        free(vals), free(uniq), free(sl);
        if (t) a->slicings = t;
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    a->slicings = t;
    for (size_t u = 0; u < nu; u++) snprintf(sl[u].name, sizeof sl[u].name, "%s", uniq[u]);
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = nu; /* binary search in the sorted distinct values */
        while (lo + 1 < hi) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(uniq[mid], vals[i]) <= 0) lo = mid;
            else hi = mid;
        }
        sl[lo].n++;
        sl[lo].correct += sl_preds_argmax(&(sl_preds){n, a->k, a->test_label, a->test_prob}, i) == a->test_label[i];
    }
    for (size_t u = 0; u < nu; u++) sl[u].acc = sl[u].n ? (double)sl[u].correct / (double)sl[u].n : NAN;
    if (sort_by_acc) qsort(sl, nu, sizeof *sl, cmp_slice);
    sl_an_slicing *s = &a->slicings[a->n_slicings++];
    snprintf(s->column, sizeof s->column, "%s", column);
    s->s = sl;
    s->n = nu;
    free(vals);
    free(uniq);
    return SL_OK;
}

static const char *key_group(const sl_analysis *a, size_t i, void *ctx)
{
    (void)ctx;
    return sl_an_group(a, i);
}
static const char *key_label(const sl_analysis *a, size_t i, void *ctx)
{
    (void)ctx;
    return sl_an_label(a, (size_t)a->test_label[i]);
}

/* Durations in four bins between the quartiles of the test split ("0.31-0.42 s"); the names sort
 * in time order because they are zero-padded bin numbers first. */
typedef struct {
    double edge[5];
    char names[4][SL_NAME_MAX];
} dur_bins;

static int cmp_double(const void *pa, const void *pb)
{
    double x = *(const double *)pa, y = *(const double *)pb;
    return (x > y) - (x < y);
}

static const char *key_duration(const sl_analysis *a, size_t i, void *ctx)
{
    const dur_bins *b = ctx;
    double d = sl_dataset_entry(a->ds, a->test_row[i])->duration;
    int q = 0;
    while (q < 3 && d > b->edge[q + 1]) q++;
    return b->names[q];
}

typedef struct {
    size_t field;
    const dur_bins *bins; /* a numeric field in quartiles, or NULL */
} field_key;
static const char *key_field(const sl_analysis *a, size_t i, void *ctx)
{
    const field_key *fk = ctx;
    const char *v = sl_dataset_entry(a->ds, a->test_row[i])->fields[fk->field];
    return v ? v : "";
}
static const char *key_field_binned(const sl_analysis *a, size_t i, void *ctx)
{
    const field_key *fk = ctx;
    double d = strtod(key_field(a, i, ctx), NULL);
    int q = 0;
    while (q < 3 && d > fk->bins->edge[q + 1]) q++;
    return fk->bins->names[q];
}

static sl_status slices(sl_analysis *a)
{
    SL_TRY(slice_by(a, "group", key_group, NULL, 1));
    SL_TRY(slice_by(a, "class", key_label, NULL, 1));
    double *d = malloc((a->n_test + 1) * sizeof *d);
    if (!d) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < a->n_test; i++) d[i] = sl_dataset_entry(a->ds, a->test_row[i])->duration;
    qsort(d, a->n_test, sizeof *d, cmp_double);
    dur_bins b;
    for (int q = 0; q <= 4; q++) b.edge[q] = d[(size_t)((double)(a->n_test - 1) * q / 4.0)];
    for (int q = 0; q < 4; q++) snprintf(b.names[q], sizeof b.names[q], "%d: %.2f-%.2f s", q + 1, b.edge[q], b.edge[q + 1]);
    free(d);
    SL_TRY(slice_by(a, "duration", key_duration, &b, 0));
    /* the manifest's own fields: by value when they have few (a session, a microphone), in
     * quartiles when they are numbers with many (a take number), left out otherwise */
    for (size_t f = 0; f < sl_dataset_n_fields(a->ds); f++) {
        field_key fk = {f, NULL};
        SL_TRY(slice_by(a, sl_dataset_field_name(a->ds, f), key_field, &fk, 1));
        sl_an_slicing *s = &a->slicings[a->n_slicings - 1];
        if (s->n <= 24 && s->n >= 2) continue;
        free(s->s);
        a->n_slicings--;
        if (s->n < 2) continue;
        double *v = malloc((a->n_test + 1) * sizeof *v);
        if (!v) return sl_fail(SL_ENOMEM, "out of memory");
        int numeric = 1;
        for (size_t i = 0; i < a->n_test && numeric; i++) {
            const char *t = key_field(a, i, &fk);
            char *end;
            v[i] = strtod(t, &end);
            numeric = *t && !*end && isfinite(v[i]);
        }
        if (numeric) {
            dur_bins nb;
            qsort(v, a->n_test, sizeof *v, cmp_double);
            for (int q = 0; q <= 4; q++) nb.edge[q] = v[(size_t)((double)(a->n_test - 1) * q / 4.0)];
            for (int q = 0; q < 4; q++) snprintf(nb.names[q], sizeof nb.names[q], "%d: %g-%g", q + 1, nb.edge[q], nb.edge[q + 1]);
            fk.bins = &nb;
            sl_status st = slice_by(a, sl_dataset_field_name(a->ds, f), key_field_binned, &fk, 0);
            if (st != SL_OK) {
                free(v);
                return st;
            }
        }
        free(v);
    }
    return SL_OK;
}

static void weakest(sl_analysis *a)
{
    a->n_weakest = 0;
    for (size_t c = 0; c < a->k; c++) {
        size_t at = a->n_weakest < 3 ? a->n_weakest++ : 3;
        if (at == 3 && a->m.f1[c] >= a->m.f1[a->weakest[2]]) continue;
        if (at == 3) at = 2;
        while (at > 0 && a->m.f1[a->weakest[at - 1]] > a->m.f1[c]) {
            a->weakest[at] = a->weakest[at - 1];
            at--;
        }
        a->weakest[at] = c;
    }
}

static void confusions(sl_analysis *a)
{
    a->n_confused = 0;
    for (size_t t = 0; t < a->k; t++)
        for (size_t p = 0; p < a->k; p++) {
            size_t c = a->m.confusion[t * a->k + p];
            if (t == p || !c) continue;
            size_t at = a->n_confused < SL_AN_CONFUSED ? a->n_confused++ : SL_AN_CONFUSED;
            if (at == SL_AN_CONFUSED && c <= a->conf_count[SL_AN_CONFUSED - 1]) continue;
            if (at == SL_AN_CONFUSED) at = SL_AN_CONFUSED - 1;
            while (at > 0 && a->conf_count[at - 1] < c) { /* insertion, largest first */
                a->conf_true[at] = a->conf_true[at - 1];
                a->conf_pred[at] = a->conf_pred[at - 1];
                a->conf_count[at] = a->conf_count[at - 1];
                at--;
            }
            a->conf_true[at] = t;
            a->conf_pred[at] = p;
            a->conf_count[at] = c;
        }
}

/* The most confident wrong predictions and the right ones with the smallest margin over the
 * runner-up. */
static void worst(sl_analysis *a)
{
    sl_preds p = {a->n_test, a->k, a->test_label, a->test_prob};
    double wscore[SL_AN_WORST], uscore[SL_AN_WORST];
    a->n_wrong = a->n_unsure = 0;
    for (size_t i = 0; i < a->n_test; i++) {
        const float *pi = a->test_prob + i * a->k;
        int pred = sl_preds_argmax(&p, i);
        double second = 0;
        for (size_t c = 0; c < a->k; c++)
            if ((int)c != pred && pi[c] > second) second = pi[c];
        size_t *list = pred != a->test_label[i] ? a->wrong : a->unsure;
        size_t *n = pred != a->test_label[i] ? &a->n_wrong : &a->n_unsure;
        double *sc = pred != a->test_label[i] ? wscore : uscore;
        double v = pred != a->test_label[i] ? pi[pred] : -(pi[pred] - second); /* higher is worse */
        size_t at = *n < SL_AN_WORST ? (*n)++ : SL_AN_WORST;
        if (at == SL_AN_WORST && v <= sc[SL_AN_WORST - 1]) continue;
        if (at == SL_AN_WORST) at = SL_AN_WORST - 1;
        while (at > 0 && sc[at - 1] < v) {
            list[at] = list[at - 1];
            sc[at] = sc[at - 1];
            at--;
        }
        list[at] = i;
        sc[at] = v;
    }
}

/* ---- learning curves ----------------------------------------------------------------------------- */

static void add_diag(sl_analysis *a, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void add_diag(sl_analysis *a, const char *kind, const char *fmt, ...)
{
    if (a->n_diag >= sizeof a->diag / sizeof *a->diag) return;
    sl_an_diagnosis *d = &a->diag[a->n_diag++];
    snprintf(d->kind, sizeof d->kind, "%s", kind);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text, sizeof d->text, fmt, ap);
    va_end(ap);
}

/* Over-fitting: with a validation split, the epoch of the lowest validation loss and how much it
 * rose after it while the training loss fell; without one, the gap between the last epoch's
 * training accuracy and the test accuracy. Under-fitting: training accuracy below 90 % (unless the
 * training examples are augmented and the test accuracy is as high: a note then).
 * Unstable: the training loss rose from one epoch to the next by more than 20 % (and by more than 2 %
 * of the first epoch's loss) more than twice.
 * Not converged: the training loss still fell by more than 10 % over the last fifth of the epochs. */
static void diagnose(sl_analysis *a)
{
    size_t n = a->n_epochs;
    const sl_an_epoch *e = a->epochs;
    a->final_train_acc = e[n - 1].train_acc;
    double test_acc = a->m.accuracy;
    int have_val = 0;
    for (size_t i = 0; i < n; i++) have_val |= isfinite(e[i].val_loss);
    if (have_val) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (isfinite(e[i].val_loss) && (!isfinite(e[best].val_loss) || e[i].val_loss < e[best].val_loss)) best = i;
        double rise = e[n - 1].val_loss / e[best].val_loss - 1, fall = 1 - e[n - 1].train_loss / e[best].train_loss;
        if (best + 1 < n && rise > 0.1 && fall > 0)
            add_diag(a, "over-fitting",
                     "over-fitting from epoch %zu: validation loss %+.0f %% by the last epoch while the training "
                     "loss fell %.0f %% (training accuracy %.1f %%, validation %.1f %%)",
                     best + 1, 100 * rise, 100 * fall, 100 * e[n - 1].train_acc, 100 * e[n - 1].val_acc);
    }
    double gap = a->train_acc - test_acc;
    if (gap > 0.05)
        add_diag(a, "over-fitting",
                 "a generalisation gap of %.1f points: %.1f %% on %zu training examples (scored again, unchanged), "
                 "%.1f %% on test%s",
                 100 * gap, 100 * a->train_acc, a->n_train_scored, 100 * test_acc,
                 a->model->cfg.data.split.by == SL_SPLIT_GROUPS ? " (test groups unseen in training)" : "");
    if (a->train_acc < 0.9)
        add_diag(a, "under-fitting", "only %.1f %% on the training examples themselves: the model does not fit even the "
                 "examples it trains on", 100 * a->train_acc);
    /* with augmentation the epochs' training accuracy is that of changed (and mixed) examples */
    if (a->model->cfg.augment.n && a->final_train_acc < a->train_acc - 0.05)
        add_diag(a, "note", "the epochs' training accuracy (%.1f %% at the last) is that of augmented examples; on the "
                 "training examples as recorded the model reaches %.1f %%", 100 * a->final_train_acc,
                 100 * a->train_acc);
    int jumps = 0; /* relative jumps of a loss already near zero are noise: count those of 2 % of the first */
    for (size_t i = 1; i < n; i++)
        jumps += e[i].train_loss > 1.2 * e[i - 1].train_loss && e[i].train_loss - e[i - 1].train_loss > 0.02 * e[0].train_loss;
    if (jumps > 2) add_diag(a, "unstable", "the training loss jumped by more than 20 %% between epochs %d times", jumps);
    size_t tail = n / 5 > 1 ? n / 5 : 1;
    if (n > 5) {
        double drop = 1 - e[n - 1].train_loss / e[n - 1 - tail].train_loss;
        if (drop > 0.1 && a->train_acc < 0.995)
            add_diag(a, "not converged", "the training loss still fell %.0f %% over the last %zu epochs", 100 * drop,
                     tail);
    }
    int problems = 0;
    for (size_t d = 0; d < a->n_diag; d++) problems += strcmp(a->diag[d].kind, "note") != 0;
    if (!problems) add_diag(a, "healthy", "no over-fitting, under-fitting or instability seen in the curves");
}

/* ---- robustness ---------------------------------------------------------------------------------- */

static const struct {
    cond_kind kind;
    const char *name, *unit;
    double v[7];
    size_t n;
} conditions[] = {
    {COND_NOISE, "noise", "dB SNR", {40, 30, 20, 10, 5, 0}, 6},
    {COND_GAIN, "gain", "dB", {-20, -10, -6, 6, 10, 20}, 6},
    {COND_SHIFT, "shift", "s", {-0.2, -0.1, -0.05, 0.05, 0.1, 0.2}, 6},
};

static sl_status robustness(sl_analysis *a, scorer *sc, float *signals, size_t *n_real, uint64_t seed, int progress)
{
    size_t total = 0;
    for (size_t c = 0; c < sizeof conditions / sizeof *conditions; c++) total += conditions[c].n;
    a->cond = calloc(total, sizeof *a->cond);
    float *prob = malloc((a->n_test * a->k + 1) * sizeof *prob);
    float *feat = malloc((a->n_test * a->model->bands * a->model->frames + 1) * sizeof *feat);
    sl_progress *bar = NULL;
    sl_progress_opts po = {.label = "robustness", .unit = "examples", .force = progress ? 0 : -1};
    sl_status s = a->cond && prob && feat ? sl_progress_new(&bar, &po, total * a->n_test) : sl_fail(SL_ENOMEM, "out of memory");
    size_t ci = 0;
    for (size_t c = 0; s == SL_OK && c < sizeof conditions / sizeof *conditions; c++)
        for (size_t v = 0; s == SL_OK && v < conditions[c].n; v++) {
            s = score(sc, a, a->test_row, a->n_test, signals, n_real, conditions[c].kind, conditions[c].v[v], seed,
                      ci + 1, prob, feat, bar);
            if (s != SL_OK) break;
            size_t right = 0;
            sl_preds p = {a->n_test, a->k, a->test_label, prob};
            for (size_t i = 0; i < a->n_test; i++) right += sl_preds_argmax(&p, i) == a->test_label[i];
            a->cond[ci++] = (sl_an_condition){conditions[c].name, conditions[c].unit, conditions[c].v[v],
                                              (double)right / (double)a->n_test};
        }
    a->n_cond = ci;
    sl_progress_free(bar);
    free(prob);
    free(feat);
    return s;
}

/* The accuracy of condition (kind, value), or NaN. */
static double cond_acc(const sl_analysis *a, const char *kind, double value)
{
    for (size_t i = 0; i < a->n_cond; i++)
        if (strcmp(a->cond[i].kind, kind) == 0 && fabs(a->cond[i].value - value) < 1e-9) return a->cond[i].acc;
    return NAN;
}

/* ---- suggestions --------------------------------------------------------------------------------- */

static int has_aug(const sl_analysis *a, int type)
{
    const sl_augment_config *l = &a->model->cfg.augment;
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].type == type) return 1;
    return 0;
}

static void suggest(sl_analysis *a, double score, const char *title, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void suggest(sl_analysis *a, double score, const char *title, const char *fmt, ...)
{
    if (a->n_sug == SL_AN_SUGGEST) { /* keep the best: replace the weakest if this one is stronger */
        size_t low = 0;
        for (size_t i = 1; i < a->n_sug; i++)
            if (a->sug[i].score < a->sug[low].score) low = i;
        if (a->sug[low].score >= score) return;
        a->sug[low] = a->sug[--a->n_sug];
    }
    sl_an_suggestion *s = &a->sug[a->n_sug++];
    s->score = score;
    snprintf(s->title, sizeof s->title, "%s", title);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->evidence, sizeof s->evidence, fmt, ap);
    va_end(ap);
}

static int cmp_sug(const void *pa, const void *pb)
{
    const sl_an_suggestion *x = pa, *y = pb;
    return (x->score < y->score) - (x->score > y->score);
}

/* Each rule scores its suggestion by the accuracy it stands to recover, in points: a gap, a
 * group's shortfall, a confusion's share of the test split; calibration and label checks, which
 * change no accuracy, are scored by their size on a comparable scale. A robustness drop counts a
 * tenth: it is a risk under conditions the test split does not hold, not an error it shows, so
 * the errors the test split does show come first. */
#define ROBUST_WEIGHT 0.1
static void suggestions(sl_analysis *a)
{
    double test = a->m.accuracy, gap = a->train_acc - test;
    int by_group = a->model->cfg.data.split.by == SL_SPLIT_GROUPS;
    int speed = has_aug(a, SL_AUG_SPEED), pitch = has_aug(a, SL_AUG_PITCH), noise = has_aug(a, SL_AUG_NOISE);
    int gain = has_aug(a, SL_AUG_GAIN), shift = has_aug(a, SL_AUG_SHIFT);
    const sl_an_slicing *groups = &a->slicings[0];
    /* the groups of the test split: unseen speakers (a split by groups) or the worst group */
    if (by_group && gap > 0.05) {
        char names[160] = "";
        size_t k = 0;
        for (size_t g = 0; g < groups->n && k + 32 < sizeof names; g++)
            k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", g ? ", " : "", groups->s[g].name);
        suggest(a, 100 * gap + 5,
                speed && pitch ? "group (speaker) variation: stronger speed and pitch perturbation, or more training groups"
                : speed        ? "group (speaker) variation: a wider speed range, or pitch perturbation (augment: pitch)"
                               : "group (speaker) variation: add speed or pitch perturbation (augment: speed, pitch)",
                "unseen test group%s %s at %.1f %% against %.1f %% on the training groups: the network learns the "
                "voices (or subjects, sessions) it hears%s",
                groups->n > 1 ? "s" : "", names, 100 * test, 100 * a->train_acc,
                speed ? "; the config already varies speed: widen its range or add pitch" : "");
    } else if (gap > 0.05) {
        suggest(a, 100 * gap, "over-fitting: add augmentation (speed, noise, gain) or reduce the width",
                "%.1f %% on the training examples against %.1f %% on test", 100 * a->train_acc, 100 * test);
    }
    if (groups->n >= 2) {
        double mean = 0;
        for (size_t g = 0; g < groups->n; g++) mean += groups->s[g].acc * (double)groups->s[g].n;
        mean /= (double)a->n_test;
        const sl_an_slice *w = &groups->s[0];
        if (mean - w->acc > 0.1)
            suggest(a, 100 * (mean - w->acc) * (double)w->n / (double)a->n_test + 3,
                    "group variation: speed or pitch perturbation, or more data like the worst group",
                    "group %s at %.1f %% against %.1f %% on average over the test groups", w->name, 100 * w->acc,
                    100 * mean);
    }
    for (size_t i = 0; i < a->n_confused && i < 3; i++) {
        if (a->conf_count[i] < 3) break;
        suggest(a, 100.0 * (double)a->conf_count[i] / (double)a->n_test, "a confusion to resolve",
                "'%s' taken for '%s' %zu times (%.1f %% of the test split): look at those examples (below); more "
                "examples of both, or features that separate them (more mel bands, a longer window)",
                sl_an_label(a, a->conf_true[i]), sl_an_label(a, a->conf_pred[i]), a->conf_count[i],
                100.0 * (double)a->conf_count[i] / (double)a->n_test);
    }
    double at20 = cond_acc(a, "noise", 20), at10 = cond_acc(a, "noise", 10);
    if (isfinite(at20) && test - at20 > 0.05)
        suggest(a, ROBUST_WEIGHT * 100 * (test - at20), noise ? "noise: widen the noise augmentation's SNR range"
                                              : "noise: add noise augmentation (augment: noise, snr_db [5, 30])",
                "accuracy %.1f %% with white noise at 20 dB SNR and %.1f %% at 10 dB, against %.1f %% clean", 100 * at20,
                100 * at10, 100 * test);
    double quiet = cond_acc(a, "gain", -20), loud = cond_acc(a, "gain", 10);
    double worst_gain = fmin(isfinite(quiet) ? quiet : 1, isfinite(loud) ? loud : 1);
    if (isfinite(quiet) && test - worst_gain > 0.05)
        suggest(a, ROBUST_WEIGHT * 100 * (test - worst_gain), gain ? "level: widen the gain augmentation" : "level: add gain augmentation",
                "accuracy %.1f %% 20 dB quieter and %.1f %% 10 dB louder (clipped at full scale), against %.1f %%",
                100 * quiet, 100 * loud, 100 * test);
    double early = cond_acc(a, "shift", -0.1), late = cond_acc(a, "shift", 0.1);
    double worst_shift = fmin(isfinite(early) ? early : 1, isfinite(late) ? late : 1);
    if (isfinite(early) && test - worst_shift > 0.05)
        suggest(a, ROBUST_WEIGHT * 100 * (test - worst_shift), shift ? "timing: widen the shift augmentation" : "timing: add shift augmentation",
                "accuracy %.1f %% with the recording 0.1 s earlier and %.1f %% 0.1 s later, against %.1f %%",
                100 * early, 100 * late, 100 * test);
    if (a->cal.ece > 0.05)
        suggest(a, 50 * a->cal.ece, "calibration: scale the scores by a temperature before thresholding them",
                "ECE %.3f; a temperature of %.2f fitted on the %s split gives ECE %.3f", a->cal.ece, a->temperature,
                a->temperature_on, a->cal_t.ece);
    if (a->n_suspects)
        suggest(a, 100.0 * (double)a->n_suspects / (double)a->n_test, "labels: listen to the suspected label errors",
                "%zu test example%s confidently predicted as another class than their label (confident learning; "
                "listed below)",
                a->n_suspects, a->n_suspects > 1 ? "s" : "");
    for (size_t d = 0; d < a->n_diag; d++) {
        if (strcmp(a->diag[d].kind, "under-fitting") == 0)
            suggest(a, 100 * (1 - a->train_acc), "under-fitting: a wider or deeper model, more epochs or a higher learning rate",
                    "%s", a->diag[d].text);
        if (strcmp(a->diag[d].kind, "not converged") == 0)
            suggest(a, 5, "more epochs: training had not converged", "%s", a->diag[d].text);
        if (strcmp(a->diag[d].kind, "unstable") == 0)
            suggest(a, 5, "a lower learning rate or gradient clipping (train.grad_clip)", "%s", a->diag[d].text);
    }
    qsort(a->sug, a->n_sug, sizeof *a->sug, cmp_sug);
}

/* ---- the whole analysis -------------------------------------------------------------------------- */

sl_status sl_analyze_run(const char *run_dir, const sl_analyze_opts *o, sl_analysis **out)
{
    *out = NULL;
    sl_analyze_opts def = {0};
    if (!o) o = &def;
    double t0 = 0;
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    }
    sl_analysis *a = calloc(1, sizeof *a);
    if (!a) return sl_fail(SL_ENOMEM, "out of memory");
    snprintf(a->run_dir, sizeof a->run_dir, "%s", run_dir);
    const char *base = strrchr(run_dir, '/');
    snprintf(a->name, sizeof a->name, "%s", base && base[1] ? base + 1 : run_dir);
    char path[SL_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/model.slm", run_dir);
    sl_status s = sl_model_load(&a->model, path);
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/manifest.csv", run_dir);
        s = sl_dataset_read_manifest(&a->ds, path);
    }
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
        s = read_metrics(a, path);
    }
    if (s != SL_OK) {
        sl_analysis_free(a);
        return s;
    }
    a->k = a->model->classes;
    scorer sc;
    int *val_label = NULL;
    size_t *val_row = NULL, *n_real = NULL;
    float *signals = NULL, *val_prob = NULL;
    s = split_rows(a, SL_SPLIT_TEST, &a->test_row, &a->test_label, &a->n_test);
    if (s == SL_OK && a->n_test == 0) s = sl_fail(SL_EFORMAT, "%s: the run has no test examples to analyse", run_dir);
    if (s == SL_OK) s = split_rows(a, SL_SPLIT_VAL, &val_row, &val_label, &a->n_val);
    if (s == SL_OK) s = scorer_new(&sc, a, o->threads);
    if (s != SL_OK) {
        free(val_row), free(val_label);
        sl_analysis_free(a);
        return s;
    }
    size_t k = a->k, per = a->model->bands * a->model->frames;
    a->test_prob = malloc((a->n_test * k + 1) * sizeof *a->test_prob);
    a->test_feat = malloc((a->n_test * per + 1) * sizeof *a->test_feat);
    if (!a->test_prob || !a->test_feat) s = sl_fail(SL_ENOMEM, "out of memory");
    /* the validation split: for the temperature */
    if (s == SL_OK && a->n_val) {
        float *vfeat = malloc((a->n_val * per + 1) * sizeof *vfeat);
        val_prob = malloc((a->n_val * k + 1) * sizeof *val_prob);
        float *vsig = NULL;
        size_t *vreal = NULL;
        s = vfeat && val_prob ? read_signals(&sc, a, val_row, a->n_val, &vsig, &vreal) : sl_fail(SL_ENOMEM, "out of memory");
        if (s == SL_OK) s = score(&sc, a, val_row, a->n_val, vsig, vreal, COND_CLEAN, 0, 0, 0, val_prob, vfeat, NULL);
        free(vsig), free(vreal), free(vfeat);
    }
    if (s == SL_OK) s = read_signals(&sc, a, a->test_row, a->n_test, &signals, &n_real);
    if (s == SL_OK)
        s = score(&sc, a, a->test_row, a->n_test, signals, n_real, COND_CLEAN, 0, 0, 0, a->test_prob, a->test_feat, NULL);
    /* the training examples as recorded (up to 1,000, evenly spread), for the generalisation gap */
    if (s == SL_OK) {
        size_t *trow = NULL, nt = 0, *treal = NULL;
        int *tlab = NULL;
        float *tsig = NULL, *tprob = NULL, *tfeat = NULL;
        s = split_rows(a, SL_SPLIT_TRAIN, &trow, &tlab, &nt);
        size_t take = nt < 1000 ? nt : 1000;
        for (size_t i = 0; s == SL_OK && i < take; i++) { /* every (nt / take)-th, in order */
            trow[i] = trow[i * nt / take];
            tlab[i] = tlab[i * nt / take];
        }
        if (s == SL_OK && take) {
            tprob = malloc((take * k + 1) * sizeof *tprob);
            tfeat = malloc((take * per + 1) * sizeof *tfeat);
            s = tprob && tfeat ? read_signals(&sc, a, trow, take, &tsig, &treal) : sl_fail(SL_ENOMEM, "out of memory");
            if (s == SL_OK) s = score(&sc, a, trow, take, tsig, treal, COND_CLEAN, 0, 0, 0, tprob, tfeat, NULL);
            size_t right = 0;
            sl_preds trp = {take, k, tlab, tprob};
            for (size_t i = 0; s == SL_OK && i < take; i++) right += sl_preds_argmax(&trp, i) == tlab[i];
            a->train_acc = take ? (double)right / (double)take : NAN;
        }
        a->n_train_scored = take;
        if (!take) a->train_acc = NAN;
        free(trow), free(tlab), free(tsig), free(treal), free(tprob), free(tfeat);
    }
    sl_preds tp = {a->n_test, k, a->test_label, a->test_prob};
    if (s == SL_OK) s = sl_metrics_compute(&tp, &a->m);
    size_t resamples = o->bootstrap ? o->bootstrap : 1000;
    for (int mi = 0; s == SL_OK && mi < 4; mi++)
        s = sl_bootstrap_ci(&tp, (sl_metric)mi, resamples, o->seed, &a->ci[mi]);
    if (s == SL_OK) a->top3 = k >= 3 ? sl_top_k_accuracy(&tp, 3) : 1;
    /* calibration, and a temperature from the validation split (else, saying so, from test) */
    if (s == SL_OK) s = sl_calibration_compute(&tp, 15, &a->cal);
    if (s == SL_OK) {
        sl_preds vp = {a->n_val, k, val_label, val_prob};
        int on_val = a->n_val >= 20;
        a->temperature_on = on_val ? "validation" : "test";
        s = sl_temperature_fit(on_val ? &vp : &tp, &a->temperature, &a->nll_before, &a->nll_after);
        if (on_val && s == SL_OK) {
            size_t right = 0;
            for (size_t i = 0; i < a->n_val; i++) right += sl_preds_argmax(&vp, i) == val_label[i];
            a->val_acc = (double)right / (double)a->n_val;
        }
    }
    if (s == SL_OK) {
        float *scaled = malloc((a->n_test * k + 1) * sizeof *scaled);
        if (!scaled) s = sl_fail(SL_ENOMEM, "out of memory");
        else {
            sl_temperature_apply(&tp, a->temperature, scaled);
            sl_preds sp = {a->n_test, k, a->test_label, scaled};
            s = sl_calibration_compute(&sp, 15, &a->cal_t);
            free(scaled);
        }
    }
    if (s == SL_OK) s = slices(a);
    if (s == SL_OK) {
        weakest(a);
        confusions(a);
        worst(a);
        diagnose(a);
        a->suspect = malloc((a->n_test + 1) * sizeof *a->suspect);
        a->suspect_class = malloc((a->n_test + 1) * sizeof *a->suspect_class);
        s = a->suspect && a->suspect_class ? sl_label_suspects(&tp, a->suspect, a->suspect_class, &a->n_suspects)
                                           : sl_fail(SL_ENOMEM, "out of memory");
        /* shown are those the model also prefers to their label: a suspect whose label's probability
         * is merely below that class's own threshold (a poorly learned class) is not a label to check */
        size_t kept = 0;
        for (size_t i = 0; s == SL_OK && i < a->n_suspects; i++) {
            const float *pe = a->test_prob + a->suspect[i] * k;
            if (pe[a->suspect_class[i]] <= pe[a->test_label[a->suspect[i]]]) continue;
            a->suspect[kept] = a->suspect[i];
            a->suspect_class[kept++] = a->suspect_class[i];
        }
        a->n_suspects = kept;
    }
    if (s == SL_OK && o->robustness) s = robustness(a, &sc, signals, n_real, o->seed ^ 0x524f42ull, o->progress);
    if (s == SL_OK) suggestions(a);
    scorer_free(&sc);
    free(signals), free(n_real), free(val_row), free(val_label), free(val_prob);
    if (s != SL_OK) {
        sl_analysis_free(a);
        return s;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    a->seconds = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - t0;
    *out = a;
    return SL_OK;
}
