/* Training: optimizer steps against PyTorch's update rules worked by hand, schedules at known
 * points, gradient clipping, and a whole small run (tones of two pitches) that must learn, twice
 * with the same seed to the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "sigloop/audio.h"
#include "sigloop/fileio.h"
#include "sigloop/model.h"
#include "sigloop/pool.h"
#include "sigloop/train.h"

static char g_dir[1024];

static sl_train_config train_defaults(void)
{
    sl_config c;
    sl_config_defaults(&c);
    sl_train_config t = c.train;
    sl_config_free(&c);
    return t;
}

static void test_adam_and_sgd(void **state)
{
    (void)state;
    sl_train_config t = train_defaults();
    sl_optim *o;
    /* Adam, two steps on one parameter with gradients 0.5 then -1 (lr 0.1):
     * step 1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25 -> p -= 0.1 * 0.5 / (0.5 + 1e-8)
     * step 2: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975,
     *         mhat = -0.055 / 0.19, vhat = 0.00124975 / 0.001999 */
    t.optimizer = 0;
    assert_int_equal(sl_optim_new(&o, &t, 1), SL_OK);
    float p = 1.0f, g = 0.5f;
    sl_optim_step(o, &p, &g, 0.1);
    double want = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
    assert_true(fabs(p - want) < 1e-6);
    g = -1.0f;
    sl_optim_step(o, &p, &g, 0.1);
    double mhat = -0.055 / 0.19, vhat = 0.00124975 / (1 - 0.999 * 0.999);
    want -= 0.1 * mhat / (sqrt(vhat) + 1e-8);
    assert_true(fabs(p - want) < 1e-5);
    sl_optim_free(o);

    /* AdamW decays the weight before the Adam step; Adam adds wd * p to the gradient */
    t.optimizer = 1;
    t.weight_decay = 0.1;
    assert_int_equal(sl_optim_new(&o, &t, 1), SL_OK);
    p = 2.0f;
    g = 0.0f;
    sl_optim_step(o, &p, &g, 0.5);
    assert_true(fabs(p - 2.0 * (1 - 0.5 * 0.1)) < 1e-6); /* zero gradient: only the decay */
    sl_optim_free(o);

    /* SGD with momentum 0.9: buf = g at first, then 0.9 buf + g; nesterov adds 0.9 buf again */
    t.optimizer = 2;
    t.weight_decay = 0;
    t.momentum = 0.9;
    for (int nest = 0; nest < 2; nest++) {
        t.nesterov = nest;
        assert_int_equal(sl_optim_new(&o, &t, 1), SL_OK);
        p = 0.0f;
        g = 1.0f;
        sl_optim_step(o, &p, &g, 0.1); /* buf 1 */
        double p1 = nest ? -0.1 * (1 + 0.9) : -0.1;
        assert_true(fabs(p - p1) < 1e-6);
        sl_optim_step(o, &p, &g, 0.1); /* buf 1.9 */
        double p2 = p1 - 0.1 * (nest ? 1 + 0.9 * 1.9 : 1.9);
        assert_true(fabs(p - p2) < 1e-6);
        sl_optim_free(o);
    }
}

/* The step split over a pool gives the same bits as one thread, for each optimizer. */
static void test_optim_on_a_pool(void **state)
{
    (void)state;
    sl_pool *pool;
    assert_int_equal(sl_pool_new(&pool, 2), SL_OK);
    enum { N = 10007 };
    float *p[2], *g = malloc(N * sizeof *g);
    for (int k = 0; k < 2; k++) p[k] = malloc(N * sizeof *p[k]);
    for (int opt = 0; opt < 3; opt++) {
        sl_train_config t = train_defaults();
        t.optimizer = opt;
        t.weight_decay = 0.01;
        sl_optim *o[2];
        for (int k = 0; k < 2; k++) {
            assert_int_equal(sl_optim_new(&o[k], &t, N), SL_OK);
            for (int i = 0; i < N; i++) p[k][i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
        }
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < N; i++) g[i] = (float)(((i + step) * 53) % 97) / 40.0f - 1.2f;
            sl_optim_step(o[0], p[0], g, 0.01);
            sl_optim_step_pool(o[1], p[1], g, 0.01, pool);
        }
        assert_memory_equal(p[0], p[1], N * sizeof *p[0]);
        for (int k = 0; k < 2; k++) sl_optim_free(o[k]);
    }
    for (int k = 0; k < 2; k++) free(p[k]);
    free(g);
    sl_pool_free(pool);
}

static void test_schedules_and_clipping(void **state)
{
    (void)state;
    sl_train_config t = train_defaults();
    t.epochs = 10;
    t.lr = 0.01;
    t.schedule = 1; /* cosine */
    assert_true(fabs(sl_lr_at(&t, 0) - 0.01) < 1e-12);
    assert_true(fabs(sl_lr_at(&t, 5) - 0.005) < 1e-12);
    assert_true(fabs(sl_lr_at(&t, 10)) < 1e-12);
    t.warmup = 2;
    assert_true(fabs(sl_lr_at(&t, 1) - 0.005) < 1e-12);
    assert_true(fabs(sl_lr_at(&t, 2) - 0.01) < 1e-12);
    assert_true(fabs(sl_lr_at(&t, 6) - 0.005) < 1e-12);
    t.schedule = 2; /* step */
    t.step_epochs = 3;
    t.step_gamma = 0.5;
    assert_true(fabs(sl_lr_at(&t, 2.9) - 0.01) < 1e-12);
    assert_true(fabs(sl_lr_at(&t, 3) - 0.005) < 1e-12);
    assert_true(fabs(sl_lr_at(&t, 9.5) - 0.00125) < 1e-12);
    t.schedule = 3; /* one-cycle */
    assert_true(fabs(sl_lr_at(&t, 0) - 0.0004) < 1e-12);
    assert_true(fabs(sl_lr_at(&t, 3) - 0.01) < 1e-12);
    assert_true(fabs(sl_lr_at(&t, 10) - 0.0004 / 1e4) < 1e-15);
    t.schedule = 0;
    assert_true(sl_lr_at(&t, 7) == 0.01);

    float g[3] = {3, 4, 0};
    assert_true(fabs(sl_clip_grads(g, 3, 0) - 5) < 1e-9);
    assert_true(g[0] == 3.0f);
    assert_true(fabs(sl_clip_grads(g, 3, 1) - 5) < 1e-9);
    assert_true(fabs(sqrt(g[0] * g[0] + g[1] * g[1]) - 1) < 1e-5);
}

/* Tones: class "low" at 300-400 Hz, class "high" at 1.5-2 kHz, one group (speaker) per take. */
static void make_tones(const char *dir)
{
    assert_int_equal(sl_mkdirs(dir), SL_OK);
    for (int take = 0; take < 24; take++)
        for (int c = 0; c < 2; c++) {
            char path[1200];
            snprintf(path, sizeof path, "%s/%s_g%02d_%d.wav", dir, c ? "high" : "low", take, 0);
            float x[4000];
            double f = c ? 1500 + 20 * take : 300 + 4 * take;
            for (int i = 0; i < 4000; i++) x[i] = (float)(0.3 * sin(6.283185307179586 * f * i / 8000.0));
            assert_int_equal(sl_audio_write_wav(path, x, 4000, 8000), SL_OK);
        }
}

/* Trains the tones in out; mean_shift is added to the bands' means (0: as sigloop does).
 * Returns sl_train_run's status; metrics.csv is read only after a success. */
static sl_status train_tones(const char *out, char **metrics, size_t *len, sl_train_result *r, const char *extra,
                             double mean_shift)
{
    char yaml[2048], rec[1100];
    snprintf(rec, sizeof rec, "%s/tones", g_dir);
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  sample_rate: 8000\n  duration: 0.5s\n"
             "  split: { by: hash, test_fraction: 0.25, val_fraction: 0.2, seed: 3 }\n"
             "features: { n_mels: 16, f_min: 50 }\n"
             "model: { widths: [4, 8], kernel: 3 }\n"
             "train: { epochs: 4, batch: 8, lr: 0.01, seed: 5 }\n",
             rec);
    sl_config cfg;
    const char *ov[] = {extra};
    if (sl_config_parse(&cfg, yaml, strlen(yaml), "tones.yaml", g_dir, ov, extra ? 1 : 0) != SL_OK)
        fail_msg("%s", sl_last_error());
    sl_dataset *ds;
    sl_dataset_opts dopts = {.threads = 2, .progress = 0};
    if (sl_dataset_build(&ds, &cfg, &dopts) != SL_OK) fail_msg("%s", sl_last_error());
    assert_int_equal(sl_mkdirs(out), SL_OK);
    char cache[1200];
    snprintf(cache, sizeof cache, "%s/features.bin", out);
    sl_features_stats fst;
    sl_features_opts fopts = {.threads = 2, .progress = 0};
    if (sl_features_build(&cfg, ds, cache, &fopts, &fst) != SL_OK) fail_msg("%s", sl_last_error());
    sl_feature_cache *fc;
    assert_int_equal(sl_feature_cache_open(&fc, cache), SL_OK);
    double mean[16], sd[16];
    assert_int_equal(sl_features_norm(fc, ds, SL_SPLIT_TRAIN, mean, sd), SL_OK);
    for (size_t i = 0; i < 16; i++) mean[i] += mean_shift;
    sl_train_opts o = {.threads = 2, .progress = 0, .quiet = 1};
    sl_status st = sl_train_run(&cfg, ds, fc, mean, sd, out, &o, r);
    if (st == SL_OK) {
        char path[1200];
        snprintf(path, sizeof path, "%s/metrics.csv", out);
        assert_int_equal(sl_read_file(path, 1 << 20, metrics, len), SL_OK);
    }
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    sl_config_free(&cfg);
    return st;
}

/* metrics.csv without its last column (seconds), every line kept: compared byte for byte */
static void cut_seconds(char *m)
{
    char *w = m;
    for (char *line = m; *line;) {
        char *end = strchr(line, '\n'), *stop = end ? end : line + strlen(line), *comma = stop;
        while (comma > line && *comma != ',') comma--;
        if (comma == line) comma = stop; /* no comma: keep the line */
        size_t keep = (size_t)(comma - line);
        memmove(w, line, keep);
        w += keep;
        if (end) *w++ = '\n';
        line = end ? end + 1 : stop;
    }
    *w = '\0';
}

static void run_once_with(const char *out, char **metrics, size_t *len, sl_train_result *r, const char *extra)
{
    if (train_tones(out, metrics, len, r, extra, 0) != SL_OK) fail_msg("%s", sl_last_error());
}

static void run_once(const char *out, char **metrics, size_t *len, sl_train_result *r)
{
    run_once_with(out, metrics, len, r, NULL);
}

static void test_small_run(void **state)
{
    (void)state;
    char rec[1100], a[1100], b[1100];
    snprintf(rec, sizeof rec, "%s/tones", g_dir);
    make_tones(rec);
    snprintf(a, sizeof a, "%s/run_a", g_dir);
    snprintf(b, sizeof b, "%s/run_b", g_dir);
    char *ma, *mb;
    size_t la, lb;
    sl_train_result ra, rb;
    run_once(a, &ma, &la, &ra);
    run_once(b, &mb, &lb, &rb);
    printf("  tones: %zu epochs, best epoch %zu, validation %.1f %%, test %.1f %% on %zu\n", ra.epochs, ra.best_epoch,
           100 * ra.best_val_acc, 100 * ra.test_acc, ra.n_test);
    assert_int_equal(ra.epochs, 4);
    assert_true(ra.n_test > 0);
    assert_true(ra.test_acc >= 0.99); /* two pitches an octave and more apart */
    /* the same seed: the same losses and accuracies, byte for byte (seconds aside) */
    cut_seconds(ma);
    cut_seconds(mb);
    assert_string_equal(ma, mb);
    assert_non_null(strstr(ma, "epoch,lr,train_loss"));
    assert_non_null(strstr(ma, "\n4,")); /* all four epochs compared */
    free(ma);
    free(mb);
    char pred[1200], *text;
    size_t len;
    snprintf(pred, sizeof pred, "%s/predictions.csv", a);
    assert_int_equal(sl_read_file(pred, 1 << 20, &text, &len), SL_OK);
    assert_non_null(strstr(text, "path,group,label,predicted,correct,p_high,p_low\n"));
    free(text);

    /* early stopping: the tones are learnt in the first epoch, so patience 1 stops after the second */
    char c[1100];
    sl_train_result rc;
    snprintf(c, sizeof c, "%s/run_c", g_dir);
    run_once_with(c, &ma, &la, &rc, "train.patience=1");
    assert_int_equal(rc.best_epoch, 1);
    assert_int_equal(rc.epochs, 2);
    assert_true(rc.stopped_early);
    free(ma);
}

/* Training with augmentation (waveform, features, mixup) on the tones: twice the same metrics,
 * byte for byte; different from the run without it; and speed perturbation of 0.85-1.15 still
 * tells an octave apart. Uses the tones of test_small_run. */
static void test_augmented_run(void **state)
{
    (void)state;
    char a[1100], b[1100], c[1100];
    snprintf(a, sizeof a, "%s/aug_a", g_dir);
    snprintf(b, sizeof b, "%s/aug_b", g_dir);
    snprintf(c, sizeof c, "%s/aug_c", g_dir);
    const char *chain = "augment=[gain: {db: [-6, 6]}, shift: {max: 0.05s}, speed: {factor: [0.85, 1.15]}, "
                        "noise: {snr_db: [20, 30], p: 0.5, color: pink}, specaugment: {time_masks: 1, time_width: 3, "
                        "freq_masks: 1, freq_width: 2}, mixup: {alpha: 0.2, p: 0.5}]";
    char *ma, *mb, *mc;
    size_t la, lb, lc;
    sl_train_result ra, rb, rc;
    run_once_with(a, &ma, &la, &ra, chain);
    run_once_with(b, &mb, &lb, &rb, chain);
    run_once_with(c, &mc, &lc, &rc, NULL);
    printf("  tones, augmented: test %.1f %% on %zu\n", 100 * ra.test_acc, ra.n_test);
    assert_true(ra.test_acc >= 0.99);
    cut_seconds(ma);
    cut_seconds(mb);
    cut_seconds(mc);
    assert_non_null(strstr(ma, "\n4,"));
    assert_string_equal(ma, mb);
    assert_string_not_equal(ma, mc);
    free(ma);
    free(mb);
    free(mc);
}

/* The model file: a round trip that evaluates to the training run's own test accuracy, and
 * damaged files refused with a message. Uses run_a of test_small_run. */
static void test_model_file(void **state)
{
    (void)state;
    char run[1100], path[1200], bad[1200];
    snprintf(run, sizeof run, "%s/run_a", g_dir);
    snprintf(path, sizeof path, "%s/model.slm", run);
    sl_model *m;
    if (sl_model_load(&m, path) != SL_OK) fail_msg("%s", sl_last_error());
    assert_int_equal(m->classes, 2);
    assert_string_equal(m->labels[0], "high");
    assert_string_equal(m->labels[1], "low");
    assert_int_equal(m->bands, 16);
    assert_int_equal(m->frames, 1 + (4000 - 200) / 80);
    assert_int_equal(m->cfg.train.epochs, 4);
    assert_int_equal(sl_graph_n_params(m->graph), sl_graph_n_params(m->graph));
    /* scoring the test split again gives the accuracy training reported */
    sl_dataset *ds;
    sl_dataset_opts o = {.threads = 1, .progress = 0};
    assert_int_equal(sl_dataset_build(&ds, &m->cfg, &o), SL_OK);
    sl_feature_cache *fc;
    char cache[1200];
    snprintf(cache, sizeof cache, "%s/features.bin", run);
    assert_int_equal(sl_feature_cache_open(&fc, cache), SL_OK);
    double acc;
    size_t n;
    assert_int_equal(sl_model_evaluate(m, ds, fc, SL_SPLIT_TEST, NULL, &acc, &n), SL_OK);
    assert_true(n > 0 && acc >= 0.99);
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    sl_model_free(m);

    char *data;
    size_t len;
    assert_int_equal(sl_read_file(path, 1 << 24, &data, &len), SL_OK);
    snprintf(bad, sizeof bad, "%s/bad.slm", g_dir);
    sl_model *none = NULL;
    /* truncated anywhere */
    static const size_t cuts[] = {0, 7, 20, 200, 1000};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        size_t keep = cuts[i] < 1000 ? cuts[i] : len - 1;
        assert_int_equal(sl_write_file_atomic(bad, data, keep), SL_OK);
        assert_int_equal(sl_model_load(&none, bad), SL_EFORMAT);
        assert_null(none);
        assert_non_null(strstr(sl_last_error(), "bad.slm: "));
    }
    /* one flipped bit in the weights */
    data[len - 100] ^= 0x10;
    assert_int_equal(sl_write_file_atomic(bad, data, len), SL_OK);
    assert_int_equal(sl_model_load(&none, bad), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "bad.slm: checksum mismatch (damaged file)"));
    data[len - 100] ^= 0x10;
    /* a section table claiming more than the file holds */
    data[16 + 24 * 4 + 16 + 3] = 0x7f; /* PARM's size */
    assert_int_equal(sl_write_file_atomic(bad, data, len), SL_OK);
    assert_int_equal(sl_model_load(&none, bad), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "truncated: section PARM ends at byte"));
    /* another version */
    data[16 + 24 * 4 + 16 + 3] = 0;
    data[8] = 9;
    assert_int_equal(sl_write_file_atomic(bad, data, len), SL_OK);
    assert_int_equal(sl_model_load(&none, bad), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "model file version 9"));
    free(data);
}

/* A loss that is not finite (features shifted to -inf: batch norm gives NaN, which ReLU must pass on) stops
 * training at once with a message naming the epoch and step, and the checkpoints already in the
 * run folder (run_a's, copied) stay byte for byte. */
static void test_nonfinite_loss(void **state)
{
    (void)state;
    char run[1100], src[1200], dst[1200];
    snprintf(run, sizeof run, "%s/run_nan", g_dir);
    assert_int_equal(sl_mkdirs(run), SL_OK);
    const char *keep[] = {"model.slm", "last.slm"};
    char *before[2];
    size_t before_len[2];
    for (int i = 0; i < 2; i++) {
        snprintf(src, sizeof src, "%s/run_a/%s", g_dir, keep[i]);
        snprintf(dst, sizeof dst, "%s/%s", run, keep[i]);
        assert_int_equal(sl_read_file(src, 1 << 24, &before[i], &before_len[i]), SL_OK);
        assert_int_equal(sl_write_file_atomic(dst, before[i], before_len[i]), SL_OK);
    }
    char *metrics = NULL;
    size_t len;
    sl_train_result r;
    assert_int_equal(train_tones(run, &metrics, &len, &r, NULL, INFINITY), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "train: the loss became"));
    assert_non_null(strstr(sl_last_error(), "at epoch 1, step 1"));
    for (int i = 0; i < 2; i++) {
        char *after;
        size_t after_len;
        snprintf(dst, sizeof dst, "%s/%s", run, keep[i]);
        assert_int_equal(sl_read_file(dst, 1 << 24, &after, &after_len), SL_OK);
        assert_int_equal(after_len, before_len[i]);
        assert_memory_equal(after, before[i], after_len);
        free(after);
        free(before[i]);
    }
}

/* Mixup's loss: lam = 1 is the plain loss; otherwise lam CE(a) + (1 - lam) CE(b), and its gradient
 * the same mix, per example; with label smoothing too. */
static void test_mixed_loss(void **state)
{
    (void)state;
    enum { N = 3, K = 4 };
    const sl_real z[N * K] = {1, -2, 0.5f, 3, 0, 0, 0, 0, -1, 2, 2.5f, -0.5f};
    const int a[N] = {3, 1, 0}, b[N] = {0, 1, 2};
    const float one[N] = {1, 1, 1}, lam[N] = {0.7f, 0.25f, 0.5f};
    for (int smooth = 0; smooth < 2; smooth++) {
        double sm = smooth ? 0.1 : 0, l1, l2;
        sl_real g1[N * K], g2[N * K];
        assert_int_equal(sl_softmax_ce(z, a, N, K, sm, NULL, &l1, g1), SL_OK);
        assert_int_equal(sl_softmax_ce_mixed(z, a, b, one, N, K, sm, &l2, g2), SL_OK);
        assert_true(fabs(l1 - l2) < 1e-6);
        for (int i = 0; i < N * K; i++) assert_true(fabs(g1[i] - g2[i]) < 1e-6);
        double lm;
        sl_real gm[N * K];
        assert_int_equal(sl_softmax_ce_mixed(z, a, b, lam, N, K, sm, &lm, gm), SL_OK);
        double want = 0;
        for (int i = 0; i < N; i++) {
            double la, lb;
            sl_real ga[K], gb[K];
            assert_int_equal(sl_softmax_ce(z + i * K, a + i, 1, K, sm, NULL, &la, ga), SL_OK);
            assert_int_equal(sl_softmax_ce(z + i * K, b + i, 1, K, sm, NULL, &lb, gb), SL_OK);
            want += (lam[i] * la + (1 - lam[i]) * lb) / N;
            for (int c = 0; c < K; c++)
                assert_true(fabs(gm[i * K + c] - (lam[i] * ga[c] + (1 - lam[i]) * gb[c]) / N) < 1e-6);
        }
        assert_true(fabs(lm - want) < 1e-6);
    }
    const int bad[N] = {0, 4, 0};
    double l;
    assert_int_equal(sl_softmax_ce_mixed(z, a, bad, lam, N, K, 0, &l, NULL), SL_EARG);
}

int main(void)
{
    if (sl_test_tmp_dir(g_dir, sizeof g_dir, "train") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_and_sgd),
        cmocka_unit_test(test_schedules_and_clipping),
        cmocka_unit_test(test_optim_on_a_pool),
        cmocka_unit_test(test_small_run),
        cmocka_unit_test(test_augmented_run),
        cmocka_unit_test(test_model_file),
        cmocka_unit_test(test_nonfinite_loss),
        cmocka_unit_test(test_mixed_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
