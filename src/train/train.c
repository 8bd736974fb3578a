/* The training loop: standardised feature batches from the cache, forward, loss, backward,
 * clipping, an optimizer step per batch; validation per epoch; the best epoch's weights score the
 * test split. */
#include "sigloop/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sigloop/augment.h"
#include "sigloop/fileio.h"
#include "sigloop/pool.h"
#include "sigloop/hash.h"
#include "sigloop/model.h"
#include "sigloop/progress.h"
#include "sigloop/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    const sl_dataset *ds;
    const sl_feature_cache *fc;
    const double *mean, *std;
    size_t bands, frames;
    int *label_of;         /* (rows) class index of each row */
} source;

/* x[b] = standardised features of rows idx[0..n) */
static void fill_batch(const source *s, const size_t *idx, size_t n, sl_real *x)
{
    size_t per = s->bands * s->frames;
    for (size_t b = 0; b < n; b++) {
        const float *r = sl_feature_cache_row(s->fc, idx[b]);
        sl_real *dst = x + b * per;
        for (size_t k = 0; k < s->bands; k++) {
            /* (x - mean) / std as a multiply in sl_real, so the loop vectorises */
            const sl_real m = (sl_real)s->mean[k], inv = (sl_real)(1.0 / (s->std[k] > 1e-12 ? s->std[k] : 1.0));
            const float *restrict src = r + k * s->frames;
            sl_real *restrict d = dst + k * s->frames;
            for (size_t t = 0; t < s->frames; t++) d[t] = ((sl_real)src[t] - m) * inv;
        }
    }
}

/* ---- augmentation: training batches made on the fly -----------------------------------------
 * With waveform transforms, every training example's signal is read once into memory; each batch
 * is then made on the pool, one example per task: the signal copied, augmented, through the front
 * end, standardised, and its features augmented. Without them, the cached features are
 * standardised and augmented. Each example's draws depend on (seed, epoch, manifest row) only. */
typedef struct {
    const sl_config *cfg;
    sl_augmenter *aug;
    sl_featurizer *fz;
    size_t channels, n_samples;
    float *signals;        /* (training rows, channels, n_samples) */
    size_t *n_real;        /* per training row */
    size_t *slot;          /* manifest row -> index into signals (training rows only) */
    int nw;                /* workers */
    float **sig, **feat;
    sl_aug_worker **aw;
    void **fz_scratch;
} aug_source;

typedef struct {
    const source *s;
    aug_source *a;
    const size_t *idx;
    sl_real *x;
    uint64_t epoch;
} aug_batch;

static sl_status load_signal(void *ctx, size_t i, int worker)
{
    (void)worker;
    aug_batch *b = ctx;
    aug_source *a = b->a;
    size_t row = b->idx[i];
    return sl_features_read_signal(a->cfg, b->s->ds, row, a->channels, a->n_samples,
                                   a->signals + a->slot[row] * a->channels * a->n_samples, &a->n_real[a->slot[row]]);
}

static sl_status make_example(void *ctx, size_t i, int worker)
{
    aug_batch *b = ctx;
    const source *s = b->s;
    aug_source *a = b->a;
    size_t row = b->idx[i], per = s->bands * s->frames;
    float *f = a->feat[worker];
    const float *src = sl_feature_cache_row(s->fc, row);
    if (sl_augmenter_has_signal(a->aug)) {
        size_t ns = a->n_samples, n_real = a->n_real[a->slot[row]];
        const float *from = a->signals + a->slot[row] * a->channels * ns;
        for (size_t c = 0; c < a->channels; c++) { /* the recording, then its zero padding */
            memcpy(a->sig[worker] + c * ns, from + c * ns, n_real * sizeof(float));
            memset(a->sig[worker] + c * ns + n_real, 0, (ns - n_real) * sizeof(float));
        }
        SL_TRY(sl_augment_signal(a->aug, a->aw[worker], a->sig[worker], &n_real, b->epoch, row));
        SL_TRY(sl_features_of_signal(a->cfg, a->fz, a->sig[worker], a->channels, a->n_samples, n_real, f,
                                     a->fz_scratch[worker]));
        src = f;
    }
    /* standardised straight into the batch when it holds floats (it does but in the test build
     * of nn in double precision) */
    sl_real *dst = b->x + i * per;
    float *g = sizeof(sl_real) == sizeof(float) ? (float *)(void *)dst : f;
    for (size_t k = 0; k < s->bands; k++) {
        const float m = (float)s->mean[k], inv = (float)(1.0 / (s->std[k] > 1e-12 ? s->std[k] : 1.0));
        for (size_t t = 0; t < s->frames; t++) g[k * s->frames + t] = (src[k * s->frames + t] - m) * inv;
    }
    sl_augment_features(a->aug, a->aw[worker], g, b->epoch, row);
    if (g != (float *)(void *)dst)
        for (size_t j = 0; j < per; j++) dst[j] = (sl_real)g[j];
    return SL_OK;
}

static sl_status run_tasks(sl_pool *pool, size_t n, sl_pool_fn fn, void *ctx)
{
    if (pool) return sl_pool_run(pool, n, fn, ctx);
    for (size_t i = 0; i < n; i++) SL_TRY(fn(ctx, i, 0));
    return SL_OK;
}

/* Per-band sums of one augmented training example's features (epoch 0's draws), for the
 * standardisation statistics: sums[i] holds (sum, sum of squares) per band of example i. */
typedef struct {
    const source *s;
    aug_source *a;
    const size_t *idx;
    double *sums; /* (n, bands, 2) */
} norm_task;

static sl_status example_sums(void *ctx, size_t i, int worker)
{
    norm_task *t = ctx;
    aug_source *a = t->a;
    size_t row = t->idx[i], ns = a->n_samples, n_real = a->n_real[a->slot[row]], frames = t->s->frames;
    const float *from = a->signals + a->slot[row] * a->channels * ns;
    for (size_t c = 0; c < a->channels; c++) {
        memcpy(a->sig[worker] + c * ns, from + c * ns, ns * sizeof(float));
    }
    SL_TRY(sl_augment_signal(a->aug, a->aw[worker], a->sig[worker], &n_real, 0, row));
    SL_TRY(sl_features_of_signal(a->cfg, a->fz, a->sig[worker], a->channels, ns, n_real, a->feat[worker],
                                 a->fz_scratch[worker]));
    double *out = t->sums + i * t->s->bands * 2;
    for (size_t k = 0; k < t->s->bands; k++) {
        double sum = 0, sq = 0;
        for (size_t f = 0; f < frames; f++) {
            double v = a->feat[worker][k * frames + f];
            sum += v;
            sq += v * v;
        }
        out[2 * k] = sum;
        out[2 * k + 1] = sq;
    }
    return SL_OK;
}

/* The per-band mean and standard deviation of the augmented training examples, summed in example
 * order (so the thread count cannot change them). */
static sl_status augmented_norm(const source *s, aug_source *a, const size_t *train, size_t n, sl_pool *pool,
                                double *mean, double *std)
{
    double *sums = malloc(n * s->bands * 2 * sizeof *sums);
    if (!sums) return sl_fail(SL_ENOMEM, "out of memory");
    norm_task t = {.s = s, .a = a, .idx = train, .sums = sums};
    sl_status st = run_tasks(pool, n, example_sums, &t);
    for (size_t k = 0; st == SL_OK && k < s->bands; k++) {
        double sum = 0, sq = 0, m = (double)n * (double)s->frames;
        for (size_t i = 0; i < n; i++) {
            sum += sums[(i * s->bands + k) * 2];
            sq += sums[(i * s->bands + k) * 2 + 1];
        }
        mean[k] = sum / m;
        double var = sq / m - mean[k] * mean[k];
        std[k] = var > 0 ? sqrt(var) : 0;
    }
    free(sums);
    return st;
}

static void aug_source_free(aug_source *a)
{
    if (!a) return;
    sl_augmenter_free(a->aug);
    sl_featurizer_free(a->fz);
    free(a->signals);
    free(a->n_real);
    free(a->slot);
    for (int w = 0; w < a->nw; w++) {
        if (a->sig) free(a->sig[w]);
        if (a->feat) free(a->feat[w]);
        if (a->aw) sl_aug_worker_free(a->aw[w]);
        if (a->fz_scratch) free(a->fz_scratch[w]);
    }
    free(a->sig);
    free(a->feat);
    free(a->aw);
    free(a->fz_scratch);
    free(a);
}

/* The augmentation of cfg for the training rows train[0..n): the chain, the signals (when it has
 * waveform transforms) read on the pool, per-worker buffers. */
static sl_status aug_source_new(aug_source **out, const sl_config *cfg, const source *s, const size_t *train, size_t n,
                                sl_pool *pool)
{
    *out = NULL;
    aug_source *a = calloc(1, sizeof *a);
    if (!a) return sl_fail(SL_ENOMEM, "out of memory");
    a->cfg = cfg;
    sl_features_params p;
    sl_features_params_from_config(cfg, &p);
    sl_status st = sl_featurizer_new(&a->fz, &p);
    a->n_samples = (size_t)llround(cfg->data.duration * cfg->data.sample_rate);
    if (st == SL_OK) {
        a->channels = s->bands / sl_featurizer_bands(a->fz);
        if (a->channels * sl_featurizer_bands(a->fz) != s->bands ||
            sl_featurizer_frames(a->fz, a->n_samples) != s->frames)
            st = sl_fail(SL_EARG, "train: the feature cache's shape does not match the config's front end");
    }
    if (st == SL_OK) st = sl_augmenter_new(&a->aug, cfg, a->channels, a->n_samples, s->bands, s->frames, cfg->train.seed);
    a->nw = pool ? sl_pool_size(pool) : 1;
    if (st == SL_OK) {
        a->sig = calloc((size_t)a->nw, sizeof *a->sig);
        a->feat = calloc((size_t)a->nw, sizeof *a->feat);
        a->aw = calloc((size_t)a->nw, sizeof *a->aw);
        a->fz_scratch = calloc((size_t)a->nw, sizeof *a->fz_scratch);
        if (!a->sig || !a->feat || !a->aw || !a->fz_scratch) st = sl_fail(SL_ENOMEM, "out of memory");
    }
    for (int w = 0; st == SL_OK && w < a->nw; w++) {
        a->sig[w] = malloc(a->channels * a->n_samples * sizeof(float));
        a->feat[w] = malloc(s->bands * s->frames * sizeof(float));
        if (st == SL_OK) st = sl_aug_worker_new(&a->aw[w], a->aug);
        a->fz_scratch[w] = malloc(sl_featurizer_scratch_size(a->fz, a->n_samples));
        if (st == SL_OK && (!a->sig[w] || !a->feat[w] || !a->fz_scratch[w])) st = sl_fail(SL_ENOMEM, "out of memory");
    }
    if (st == SL_OK && sl_augmenter_has_signal(a->aug)) {
        size_t rows = sl_dataset_count(s->ds);
        a->slot = malloc(rows * sizeof *a->slot);
        a->n_real = malloc(n * sizeof *a->n_real);
        a->signals = malloc(n * a->channels * a->n_samples * sizeof *a->signals);
        if (!a->slot || !a->n_real || !a->signals) st = sl_fail(SL_ENOMEM, "out of memory");
        for (size_t i = 0; st == SL_OK && i < n; i++) a->slot[train[i]] = i;
        aug_batch b = {.s = s, .a = a, .idx = train};
        if (st == SL_OK) st = run_tasks(pool, n, load_signal, &b);
    }
    if (st != SL_OK) {
        aug_source_free(a);
        return st;
    }
    *out = a;
    return SL_OK;
}

static size_t argmax(const sl_real *z, size_t k)
{
    size_t best = 0;
    for (size_t c = 1; c < k; c++)
        if (z[c] > z[best]) best = c;
    return best;
}

/* Loss and accuracy of the rows idx in inference mode; logits of each row into all (optional). */
static sl_status evaluate(sl_net *net, const source *s, const size_t *idx, size_t n, size_t batch, size_t k,
                          sl_real *x, int *labels, double *loss, double *acc, sl_real *all)
{
    double total = 0;
    size_t correct = 0;
    for (size_t i = 0; i < n; i += batch) {
        size_t m = n - i < batch ? n - i : batch;
        fill_batch(s, idx + i, m, x);
        const sl_real *z;
        SL_TRY(sl_net_forward(net, x, m, 0, &z));
        for (size_t b = 0; b < m; b++) {
            labels[b] = s->label_of[idx[i + b]];
            correct += (int)argmax(z + b * k, k) == labels[b];
        }
        double l;
        SL_TRY(sl_softmax_ce(z, labels, m, k, 0, NULL, &l, NULL));
        total += l * (double)m;
        if (all) memcpy(all + i * k, z, m * k * sizeof *z);
    }
    *loss = n ? total / (double)n : NAN;
    *acc = n ? (double)correct / (double)n : NAN;
    return SL_OK;
}

static sl_status write_predictions(const char *path, const source *s, const size_t *idx, size_t n, size_t k,
                                   const sl_real *logits)
{
    sl_afile *af;
    SL_TRY(sl_afile_open(&af, path));
    FILE *f = sl_afile_stream(af);
    fprintf(f, "path,group,label,predicted,correct");
    for (size_t c = 0; c < k; c++) fprintf(f, ",p_%s", sl_dataset_label(s->ds, c));
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        const sl_entry *e = sl_dataset_entry(s->ds, idx[i]);
        const sl_real *z = logits + i * k;
        size_t pred = argmax(z, k);
        double mx = z[pred], se = 0;
        for (size_t c = 0; c < k; c++) se += exp((double)z[c] - mx);
        /* paths and names here come from our own manifest: no commas unless quoted there; quote all */
        fprintf(f, "\"%s\",\"%s\",\"%s\",\"%s\",%d", e->path, e->group, e->label, sl_dataset_label(s->ds, pred),
                (int)pred == s->label_of[idx[i]]);
        for (size_t c = 0; c < k; c++) fprintf(f, ",%.6f", exp((double)z[c] - mx) / se);
        fputc('\n', f);
    }
    if (ferror(f)) {
        sl_afile_abort(af);
        return sl_fail(SL_EIO, "%s: write error", path);
    }
    return sl_afile_commit(af);
}

/* ---- the training state, for --resume ----------------------------------------------------------
 * train_state.bin: "SLTRAIN1", u32 version, u32 0, then u64 epochs done, u64 best epoch, f64 best
 * validation accuracy, i64 optimizer steps, u64 parameters, u64 state values, u64 metrics bytes,
 * then the optimizer's two moments, the current and the best epoch's parameters and state (f32),
 * the metrics text, and a BLAKE2b-256 of all of it. Written atomically after each epoch; it holds
 * everything resuming needs, so a kill between it and last.slm cannot mix two epochs. */
#define TS_MAGIC "SLTRAIN1"

typedef struct {
    size_t epochs_done, best_epoch;
    double best_val_acc;
} train_progress;

static sl_status save_state(const char *path, const train_progress *tp, sl_optim *opt, size_t np, size_t ns,
                            const sl_real *best, const sl_real *best_state, const sl_real *cur,
                            const sl_real *cur_state, const char *metrics, size_t metrics_len)
{
    size_t len = 8 + 8 + 8 * 7 + (4 * np + 2 * ns) * sizeof(float) + metrics_len;
    uint8_t *b = malloc(len + 32);
    if (!b) return sl_fail(SL_ENOMEM, "out of memory");
    uint8_t *p = b;
    memcpy(p, TS_MAGIC, 8);
    p += 8;
    uint32_t ver = 1, zero = 0;
    memcpy(p, &ver, 4);
    memcpy(p + 4, &zero, 4);
    p += 8;
    uint64_t u[7] = {tp->epochs_done, tp->best_epoch, 0, (uint64_t)*sl_optim_step_count(opt), np, ns, metrics_len};
    memcpy(&u[2], &tp->best_val_acc, 8);
    memcpy(p, u, sizeof u);
    p += sizeof u;
    memcpy(p, sl_optim_moment(opt, 0), np * sizeof(float));
    p += np * sizeof(float);
    memcpy(p, sl_optim_moment(opt, 1), np * sizeof(float));
    p += np * sizeof(float);
    memcpy(p, best, np * sizeof(float));
    p += np * sizeof(float);
    memcpy(p, best_state, ns * sizeof(float));
    p += ns * sizeof(float);
    memcpy(p, cur, np * sizeof(float));
    p += np * sizeof(float);
    memcpy(p, cur_state, ns * sizeof(float));
    p += ns * sizeof(float);
    memcpy(p, metrics, metrics_len);
    sl_blake2b h;
    sl_blake2b_init(&h, 32);
    sl_blake2b_update(&h, b, len);
    sl_blake2b_final(&h, b + len);
    sl_status s = sl_write_file_atomic(path, b, len + 32);
    free(b);
    return s;
}

/* Reads train_state.bin back into tp, the optimizer, best weights and the metrics text (a new
 * buffer). Sizes must match the network; the checksum must hold. */
static sl_status load_state(const char *path, train_progress *tp, sl_optim *opt, size_t np, size_t ns, sl_real *best,
                            sl_real *best_state, sl_real *cur, sl_real *cur_state, char **metrics,
                            size_t *metrics_len)
{
    char *data;
    size_t len;
    SL_TRY(sl_read_file(path, (size_t)1 << 32, &data, &len));
    const uint8_t *b = (const uint8_t *)data;
    sl_status s = SL_OK;
    uint64_t u[7];
    if (len < 16 + sizeof u + 32 || memcmp(b, TS_MAGIC, 8) != 0) {
        s = sl_fail(SL_EFORMAT, "%s: not a sigloop training state", path);
    } else {
        uint8_t sum[32];
        sl_blake2b h;
        sl_blake2b_init(&h, 32);
        sl_blake2b_update(&h, b, len - 32);
        sl_blake2b_final(&h, sum);
        memcpy(u, b + 16, sizeof u);
        if (memcmp(sum, b + len - 32, 32) != 0) s = sl_fail(SL_EFORMAT, "%s: checksum mismatch (damaged file)", path);
        else if (u[4] != np || u[5] != ns)
            s = sl_fail(SL_EFORMAT, "%s: made for another network (%llu parameters, this one has %zu)", path,
                        (unsigned long long)u[4], np);
        else if (16 + sizeof u + (4 * np + 2 * ns) * sizeof(float) + u[6] + 32 != len)
            s = sl_fail(SL_EFORMAT, "%s: truncated or damaged", path);
    }
    if (s == SL_OK) {
        const uint8_t *p = b + 16 + sizeof u;
        tp->epochs_done = (size_t)u[0];
        tp->best_epoch = (size_t)u[1];
        memcpy(&tp->best_val_acc, &u[2], 8);
        *sl_optim_step_count(opt) = (long)u[3];
        memcpy(sl_optim_moment(opt, 0), p, np * sizeof(float));
        p += np * sizeof(float);
        memcpy(sl_optim_moment(opt, 1), p, np * sizeof(float));
        p += np * sizeof(float);
        memcpy(best, p, np * sizeof(float));
        p += np * sizeof(float);
        memcpy(best_state, p, ns * sizeof(float));
        p += ns * sizeof(float);
        memcpy(cur, p, np * sizeof(float));
        p += np * sizeof(float);
        memcpy(cur_state, p, ns * sizeof(float));
        p += ns * sizeof(float);
        *metrics_len = (size_t)u[6];
        *metrics = malloc(*metrics_len + 1);
        if (!*metrics) s = sl_fail(SL_ENOMEM, "out of memory");
        else memcpy(*metrics, p, *metrics_len);
    }
    free(data);
    return s;
}

/* Epoch e's order: Fisher-Yates from (seed, e) applied to epoch e-1's order (so resuming replays
 * the shuffles of the epochs before). */
static void shuffle(size_t *order, size_t n, uint64_t seed, size_t epoch)
{
    sl_rng rng = sl_rng_make(seed ^ 0x5348554646ull, epoch);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = sl_rng_below(&rng, (uint32_t)(i + 1));
        size_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

sl_status sl_train_run(const sl_config *cfg, const sl_dataset *ds, const sl_feature_cache *fc, const double *mean,
                       const double *std, const char *out_dir, const sl_train_opts *opts, sl_train_result *res)
{
    memset(res, 0, sizeof *res);
    res->best_val_acc = res->test_acc = -1;
    const sl_train_config *t = &cfg->train;
    size_t rows = sl_dataset_count(ds), k = sl_dataset_n_labels(ds);
    if (sl_feature_cache_rows(fc) != rows)
        return sl_fail(SL_EARG, "train: the feature cache has %zu rows, the manifest %zu (run 'sigloop features')",
                       sl_feature_cache_rows(fc), rows);
    source s = {.ds = ds, .fc = fc, .mean = mean, .std = std, .bands = sl_feature_cache_bands(fc),
                .frames = sl_feature_cache_frames(fc)};
    size_t *split_idx[SL_N_SPLITS] = {0}, split_n[SL_N_SPLITS] = {0};
    sl_graph *g = NULL;
    sl_net *net = NULL;
    sl_optim *opt = NULL;
    sl_progress *bar = NULL;
    sl_real *x = NULL, *dlogits = NULL, *best = NULL, *best_state = NULL, *test_logits = NULL;
    int *labels = NULL;
    const char **names = NULL;
    char *metrics = NULL;
    size_t metrics_len = 0;
    FILE *mf = NULL;
    aug_source *augs = NULL;
    sl_real *x0 = NULL; /* mixup: the batch before mixing */
    int *labels_b = NULL;
    float *lam = NULL;
    double mix_p = 0, mix_alpha = 0;
    double *aug_norm = NULL; /* with waveform transforms: the augmented examples' mean and std */
    sl_status st = SL_OK;

    s.label_of = malloc(rows * sizeof *s.label_of);
    for (int sp = 0; sp < SL_N_SPLITS; sp++) split_idx[sp] = malloc((rows + 1) * sizeof **split_idx);
    if (!s.label_of || !split_idx[0] || !split_idx[1] || !split_idx[2]) {
        st = sl_fail(SL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < rows; i++) {
        const sl_entry *e = sl_dataset_entry(ds, i);
        for (size_t c = 0; c < k; c++)
            if (strcmp(sl_dataset_label(ds, c), e->label) == 0) s.label_of[i] = (int)c;
        split_idx[e->split][split_n[e->split]++] = i;
    }
    if (split_n[SL_SPLIT_TRAIN] < 2) {
        st = sl_fail(SL_EARG, "train: %zu training examples: need at least 2", split_n[SL_SPLIT_TRAIN]);
        goto done;
    }
    sl_shape in = {.rank = 2, .d = {s.bands, s.frames}};
    if ((st = sl_model_build(&cfg->model, &in, k, &g)) != SL_OK) goto done;
    size_t batch = t->batch < split_n[SL_SPLIT_TRAIN] ? t->batch : split_n[SL_SPLIT_TRAIN];
    if ((st = sl_net_new(&net, g, batch)) != SL_OK) goto done;
    if ((st = sl_net_set_threads(net, opts ? opts->threads : 0)) != SL_OK) goto done;
    sl_net_init_with(net, t->seed, (sl_init)cfg->model.init);
    size_t np = sl_graph_n_params(g), ns = sl_graph_n_state(g);
    res->n_params = np;
    for (size_t i = 0; i < sl_graph_count(g); i++) res->macs += sl_graph_node(g, i)->macs;
    if ((st = sl_optim_new(&opt, t, np)) != SL_OK) goto done;
    if (cfg->augment.n &&
        (st = aug_source_new(&augs, cfg, &s, split_idx[SL_SPLIT_TRAIN], split_n[SL_SPLIT_TRAIN], sl_net_pool(net))) !=
            SL_OK)
        goto done;
    if (augs && sl_augmenter_has_signal(augs->aug)) {
        /* standardised for what it trains on: the statistics of augmented examples (noise, say,
         * lifts quiet bands far above their clean spread); the model file keeps them */
        if (!(aug_norm = malloc(2 * s.bands * sizeof *aug_norm))) {
            st = sl_fail(SL_ENOMEM, "out of memory");
            goto done;
        }
        if ((st = augmented_norm(&s, augs, split_idx[SL_SPLIT_TRAIN], split_n[SL_SPLIT_TRAIN], sl_net_pool(net),
                                 aug_norm, aug_norm + s.bands)) != SL_OK)
            goto done;
        s.mean = mean = aug_norm;
        s.std = std = aug_norm + s.bands;
    }
    if (augs && (mix_alpha = sl_augmenter_mixup(augs->aug, &mix_p)) > 0) {
        x0 = malloc(batch * s.bands * s.frames * sizeof *x0);
        labels_b = malloc(batch * sizeof *labels_b);
        lam = malloc(batch * sizeof *lam);
        if (!x0 || !labels_b || !lam) {
            st = sl_fail(SL_ENOMEM, "out of memory");
            goto done;
        }
    }
    x = malloc(batch * s.bands * s.frames * sizeof *x);
    dlogits = malloc(batch * k * sizeof *dlogits);
    labels = malloc(batch * sizeof *labels);
    best = malloc((np + 1) * sizeof *best);
    best_state = malloc((ns + 1) * sizeof *best_state);
    test_logits = malloc((split_n[SL_SPLIT_TEST] * k + 1) * sizeof *test_logits);
    mf = open_memstream(&metrics, &metrics_len);
    if (!x || !dlogits || !labels || !best || !best_state || !test_logits || !mf) {
        st = sl_fail(SL_ENOMEM, "out of memory");
        goto done;
    }
    fprintf(mf, "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n");
    char metrics_path[SL_PATH_MAX + 32], pred_path[SL_PATH_MAX + 32], best_path[SL_PATH_MAX + 32],
        last_path[SL_PATH_MAX + 32], state_path[SL_PATH_MAX + 32];
    snprintf(state_path, sizeof state_path, "%s/train_state.bin", out_dir);
    snprintf(metrics_path, sizeof metrics_path, "%s/metrics.csv", out_dir);
    snprintf(pred_path, sizeof pred_path, "%s/predictions.csv", out_dir);
    snprintf(best_path, sizeof best_path, "%s/model.slm", out_dir);
    snprintf(last_path, sizeof last_path, "%s/last.slm", out_dir);
    names = malloc(k * sizeof *names);
    if (!names) {
        st = sl_fail(SL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < k; c++) names[c] = sl_dataset_label(ds, c);

    size_t n_train = split_n[SL_SPLIT_TRAIN], steps = (n_train + batch - 1) / batch;
    sl_progress_opts po = {.label = "train", .unit = "samples", .stream = NULL,
                           .force = opts && opts->progress ? 0 : -1};
    if ((st = sl_progress_new(&bar, &po, (uint64_t)t->epochs * n_train)) != SL_OK) goto done;
    double t_start = now(), train_time = 0;
    size_t trained = 0, first_epoch = 0;
    struct stat state_sb;
    int can_resume = opts && opts->resume && stat(state_path, &state_sb) == 0;
    if (opts && opts->resume && !can_resume && !opts->quiet)
        printf("nothing to resume in %s (no finished epoch): starting from the first epoch\n", out_dir);
    if (can_resume) {
        /* the network and its optimizer as they were after the last finished epoch */
        sl_model *last = NULL;
        train_progress tp = {0};
        char *old_metrics = NULL, *cur_conf = NULL;
        size_t old_len = 0, cur_len = 0;
        FILE *cf = open_memstream(&cur_conf, &cur_len);
        st = cf ? sl_config_write(cfg, cf) : sl_fail(SL_ENOMEM, "out of memory");
        if (cf) fclose(cf);
        if (st == SL_OK) st = sl_model_load(&last, last_path);
        if (st == SL_OK) {
            char *old_conf = NULL;
            size_t old_conf_len = 0;
            FILE *of = open_memstream(&old_conf, &old_conf_len);
            if (of) {
                sl_config_write(&last->cfg, of);
                fclose(of);
            }
            if (!old_conf || old_conf_len != cur_len || memcmp(old_conf, cur_conf, cur_len) != 0)
                st = sl_fail(SL_EARG, "%s: the config has changed since this run started; resume needs the same one",
                             last_path);
            free(old_conf);
        }
        if (st == SL_OK && (sl_graph_n_params(last->graph) != np || sl_graph_n_state(last->graph) != ns))
            st = sl_fail(SL_EFORMAT, "%s: made for another network", last_path);
        if (st == SL_OK)
            st = load_state(state_path, &tp, opt, np, ns, best, best_state, sl_net_params(net), sl_net_state(net),
                            &old_metrics, &old_len);
        if (st == SL_OK) {
            first_epoch = tp.epochs_done;
            res->best_epoch = tp.best_epoch;
            res->best_val_acc = tp.best_val_acc;
            res->epochs = tp.epochs_done;
            /* the metrics so far replace the header written above */
            fclose(mf);
            free(metrics);
            metrics = NULL;
            mf = open_memstream(&metrics, &metrics_len);
            if (!mf) st = sl_fail(SL_ENOMEM, "out of memory");
            else fwrite(old_metrics, 1, old_len, mf);
            for (size_t e = 0; e < first_epoch; e++) shuffle(split_idx[SL_SPLIT_TRAIN], split_n[SL_SPLIT_TRAIN], t->seed, e);
            if (!opts->quiet) printf("resuming after epoch %zu of %zu\n", first_epoch, t->epochs);
        }
        free(old_metrics);
        free(cur_conf);
        sl_model_free(last);
        if (st != SL_OK) goto done;
    }
    for (size_t ep = first_epoch; ep < t->epochs && st == SL_OK; ep++) {
        double t0 = now();
        size_t *order = split_idx[SL_SPLIT_TRAIN];
        shuffle(order, n_train, t->seed, ep);
        double loss_sum = 0, lr = t->lr;
        size_t correct = 0, seen = 0;
        for (size_t step = 0; step < steps; step++) {
            size_t i0 = step * batch, m = n_train - i0 < batch ? n_train - i0 : batch;
            if (m < 2) continue; /* batch norm needs two examples */
            if (augs) {
                aug_batch ab = {.s = &s, .a = augs, .idx = order + i0, .x = x, .epoch = ep};
                if ((st = run_tasks(sl_net_pool(net), m, make_example, &ab)) != SL_OK) break;
            } else {
                fill_batch(&s, order + i0, m, x);
            }
            for (size_t b = 0; b < m; b++) labels[b] = s.label_of[order[i0 + b]];
            if (mix_alpha > 0) {
                /* mixup: with probability p an example is mixed with a random one of the batch, by a
                 * weight from Beta(alpha, alpha); draws from (seed, step) */
                size_t per = s.bands * s.frames;
                sl_rng mr = sl_rng_make(t->seed ^ 0x4d49585550ull, (uint64_t)ep * steps + step);
                memcpy(x0, x, m * per * sizeof *x);
                for (size_t b = 0; b < m; b++) {
                    labels_b[b] = labels[b];
                    lam[b] = 1;
                    if (!(sl_rng_uniform_double(&mr) < mix_p)) continue;
                    size_t j = sl_rng_below(&mr, (uint32_t)m);
                    float l = (float)sl_rng_beta(&mr, mix_alpha, mix_alpha);
                    sl_real *xb = x + b * per;
                    const sl_real *xa = x0 + b * per, *xj = x0 + j * per;
                    for (size_t q = 0; q < per; q++) xb[q] = l * xa[q] + (1 - l) * xj[q];
                    labels_b[b] = labels[j];
                    lam[b] = l;
                }
            }
            const sl_real *z;
            sl_net_set_noise(net, t->seed, (uint64_t)ep * steps + step); /* dropout: same on resume */
            if ((st = sl_net_forward(net, x, m, 1, &z)) != SL_OK) break;
            double l;
            if (mix_alpha > 0) st = sl_softmax_ce_mixed(z, labels, labels_b, lam, m, k, t->label_smoothing, &l, dlogits);
            else st = sl_softmax_ce(z, labels, m, k, t->label_smoothing, NULL, &l, dlogits);
            if (st != SL_OK) break;
            if (!isfinite(l)) {
                st = sl_fail(SL_EARG, "train: the loss became %g at epoch %zu, step %zu (try a lower train.lr)", l,
                             ep + 1, step + 1);
                break;
            }
            for (size_t b = 0; b < m; b++) correct += (int)argmax(z + b * k, k) == labels[b];
            loss_sum += l * (double)m;
            seen += m;
            sl_net_zero_grads(net);
            if ((st = sl_net_backward(net, dlogits, NULL)) != SL_OK) break;
            if (t->grad_clip > 0) sl_clip_grads(sl_net_grads(net), np, t->grad_clip);
            lr = sl_lr_at(t, (double)ep + (double)step / (double)steps);
            sl_optim_step_pool(opt, sl_net_params(net), sl_net_grads(net), lr, sl_net_pool(net));
            if (sl_progress_active(bar) && (step % 8 == 0 || step + 1 == steps)) {
                char note[96];
                snprintf(note, sizeof note, "epoch %zu/%zu  loss %.4f  acc %.1f %%", ep + 1, (size_t)t->epochs,
                         loss_sum / (double)seen, 100.0 * (double)correct / (double)seen);
                sl_progress_note(bar, note);
            }
            sl_progress_add(bar, m);
        }
        if (st != SL_OK) break;
        train_time += now() - t0;
        trained += seen;
        double vl = NAN, va = NAN;
        if (split_n[SL_SPLIT_VAL])
            st = evaluate(net, &s, split_idx[SL_SPLIT_VAL], split_n[SL_SPLIT_VAL], batch, k, x, labels, &vl, &va, NULL);
        if (st != SL_OK) break;
        double secs = now() - t0;
        fprintf(mf, "%zu,%.6g,%.6f,%.6f,%.6f,%.6f,%.3f\n", ep + 1, lr, loss_sum / (double)seen,
                (double)correct / (double)seen, vl, va, secs);
        fflush(mf);
        if ((st = sl_write_file_atomic(metrics_path, metrics, metrics_len)) != SL_OK) break;
        int better = split_n[SL_SPLIT_VAL] ? va > res->best_val_acc : 1;
        /* checkpoints, atomically: the last epoch always, the best one when it improves */
        st = sl_model_save(last_path, cfg, g, names, s.bands, s.frames, k, mean, std, sl_net_params(net),
                           sl_net_state(net));
        if (st == SL_OK && better)
            st = sl_model_save(best_path, cfg, g, names, s.bands, s.frames, k, mean, std, sl_net_params(net),
                               sl_net_state(net));
        if (st != SL_OK) break;
        if (better) {
            res->best_val_acc = split_n[SL_SPLIT_VAL] ? va : -1;
            res->best_epoch = ep + 1;
            memcpy(best, sl_net_params(net), np * sizeof *best);
            memcpy(best_state, sl_net_state(net), ns * sizeof *best_state);
        }
        train_progress tp = {.epochs_done = ep + 1, .best_epoch = res->best_epoch, .best_val_acc = res->best_val_acc};
        fflush(mf);
        if ((st = save_state(state_path, &tp, opt, np, ns, best, best_state, sl_net_params(net), sl_net_state(net),
                             metrics, metrics_len)) != SL_OK)
            break;
        if (!opts || !opts->quiet) {
            if (sl_progress_active(bar)) fputs("\r\x1b[K", stderr);
            printf("epoch %3zu/%zu  lr %.2e  train loss %.4f acc %5.1f %%", ep + 1, t->epochs, lr,
                   loss_sum / (double)seen, 100.0 * (double)correct / (double)seen);
            if (split_n[SL_SPLIT_VAL]) printf("  val loss %.4f acc %5.1f %%", vl, 100 * va);
            printf("  %.1f s%s\n", secs, better && split_n[SL_SPLIT_VAL] ? "  *" : "");
            fflush(stdout);
        }
        res->epochs = ep + 1;
        if (t->patience && split_n[SL_SPLIT_VAL] && ep + 1 - res->best_epoch >= t->patience) {
            if (!opts || !opts->quiet)
                printf("early stop: no better validation accuracy for %zu epochs\n", t->patience);
            res->stopped_early = 1;
            break;
        }
    }
    sl_progress_free(bar);
    bar = NULL;
    if (st != SL_OK) goto done;
    res->seconds = now() - t_start;
    res->samples_per_s = train_time > 0 ? (double)trained / train_time : 0;
    /* the best epoch's weights score the test split */
    memcpy(sl_net_params(net), best, np * sizeof *best);
    memcpy(sl_net_state(net), best_state, ns * sizeof *best_state);
    int score_test = !(opts && opts->no_test);
    res->n_test = score_test ? split_n[SL_SPLIT_TEST] : 0;
    if (split_n[SL_SPLIT_TEST] && score_test) {
        double tl;
        st = evaluate(net, &s, split_idx[SL_SPLIT_TEST], split_n[SL_SPLIT_TEST], batch, k, x, labels, &tl,
                      &res->test_acc, test_logits);
        if (st == SL_OK) st = write_predictions(pred_path, &s, split_idx[SL_SPLIT_TEST], split_n[SL_SPLIT_TEST], k,
                                                test_logits);
    }

done:
    sl_progress_free(bar);
    aug_source_free(augs);
    free(aug_norm);
    free(x0);
    free(labels_b);
    free(lam);
    free(names);
    if (mf) fclose(mf);
    free(metrics);
    free(x);
    free(dlogits);
    free(labels);
    free(best);
    free(best_state);
    free(test_logits);
    for (int sp = 0; sp < SL_N_SPLITS; sp++) free(split_idx[sp]);
    free(s.label_of);
    sl_optim_free(opt);
    sl_net_free(net);
    sl_graph_free(g);
    return st;
}

sl_status sl_model_evaluate(const sl_model *m, const sl_dataset *ds, const sl_feature_cache *fc, sl_split split,
                            const char *predictions, double *acc, size_t *n_out)
{
    *acc = NAN;
    *n_out = 0;
    size_t rows = sl_dataset_count(ds), k = m->classes;
    if (sl_feature_cache_rows(fc) != rows || sl_feature_cache_bands(fc) != m->bands ||
        sl_feature_cache_frames(fc) != m->frames)
        return sl_fail(SL_EARG, "the feature cache (%zu rows of %zu x %zu) does not fit the model (%zu x %zu)",
                       sl_feature_cache_rows(fc), sl_feature_cache_bands(fc), sl_feature_cache_frames(fc), m->bands,
                       m->frames);
    int same = sl_dataset_n_labels(ds) == k;
    for (size_t c = 0; same && c < k; c++) same = strcmp(sl_dataset_label(ds, c), m->labels[c]) == 0;
    if (!same)
        return sl_fail(SL_EARG, "the data set's classes (%zu) are not the model's (%zu: %s, ...)",
                       sl_dataset_n_labels(ds), k, m->labels[0]);
    source s = {.ds = ds, .fc = fc, .mean = m->mean, .std = m->std, .bands = m->bands, .frames = m->frames};
    size_t *idx = malloc((rows + 1) * sizeof *idx), n = 0, batch = 64;
    s.label_of = malloc((rows + 1) * sizeof *s.label_of);
    sl_real *x = malloc(batch * m->bands * m->frames * sizeof *x), *logits = NULL;
    int *labels = malloc(batch * sizeof *labels);
    sl_net *net = NULL;
    sl_status st = idx && s.label_of && x && labels ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; st == SL_OK && i < rows; i++) {
        const sl_entry *e = sl_dataset_entry(ds, i);
        s.label_of[i] = -1;
        for (size_t c = 0; c < k; c++)
            if (strcmp(m->labels[c], e->label) == 0) s.label_of[i] = (int)c;
        if (e->split != split) continue;
        if (s.label_of[i] < 0) st = sl_fail(SL_EARG, "%s: label '%s' is not one the model knows", e->path, e->label);
        idx[n++] = i;
    }
    if (st == SL_OK && n == 0) st = sl_fail(SL_EARG, "no %s examples to evaluate", sl_split_name(split));
    if (st == SL_OK && !(logits = malloc(n * k * sizeof *logits))) st = sl_fail(SL_ENOMEM, "out of memory");
    if (st == SL_OK) st = sl_net_new(&net, m->graph, batch);
    if (st == SL_OK) st = sl_net_set_threads(net, 0);
    if (st == SL_OK) {
        memcpy(sl_net_params(net), m->params, sl_graph_n_params(m->graph) * sizeof *m->params);
        memcpy(sl_net_state(net), m->state, sl_graph_n_state(m->graph) * sizeof *m->state);
        double loss;
        st = evaluate(net, &s, idx, n, batch, k, x, labels, &loss, acc, logits);
    }
    if (st == SL_OK && predictions) st = write_predictions(predictions, &s, idx, n, k, logits);
    if (st == SL_OK) *n_out = n;
    sl_net_free(net);
    free(idx);
    free(s.label_of);
    free(x);
    free(labels);
    free(logits);
    return st;
}
