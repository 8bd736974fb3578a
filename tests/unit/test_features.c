/* The feature cache: rows equal direct featurization, unchanged rows are reused, changed files and
 * settings are recomputed, damaged caches are refused, .npy output; the manifest round trip. */
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
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/fileio.h"

static char g_dir[1024];

static void write_tone(const char *name, double f, double seconds)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/rec/%s", g_dir, name);
    size_t n = (size_t)(seconds * 8000);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(0.3 * sin(6.283185307179586 * f * (double)i / 8000));
    assert_int_equal(sl_audio_write_wav(path, x, n, 8000), SL_OK);
    free(x);
}

static void load(sl_config *cfg, const char *extra)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s/rec\n  sample_rate: 8000\n  duration: 0.5s\n  split: { by: hash, val_fraction: 0 }\n%s",
             g_dir, extra);
    if (sl_config_parse(cfg, yaml, strlen(yaml), "t.yaml", g_dir, NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
}

static sl_dataset *dataset(const sl_config *cfg)
{
    sl_dataset *ds;
    sl_dataset_opts o = {.threads = 2, .progress = 0};
    if (sl_dataset_build(&ds, cfg, &o) != SL_OK) fail_msg("%s", sl_last_error());
    return ds;
}

static void build(const sl_config *cfg, const sl_dataset *ds, const char *cache, size_t computed, size_t reused)
{
    sl_features_stats st;
    sl_features_opts o = {.threads = 2, .progress = 0};
    if (sl_features_build(cfg, ds, cache, &o, &st) != SL_OK) fail_msg("%s", sl_last_error());
    if (st.computed != computed || st.reused != reused)
        fail_msg("computed %zu reused %zu, want %zu and %zu", st.computed, st.reused, computed, reused);
}

static void test_cache_build_and_reuse(void **state)
{
    (void)state;
    char rec[1100], cache[1100];
    snprintf(rec, sizeof rec, "%s/rec", g_dir);
    assert_int_equal(sl_mkdirs(rec), SL_OK);
    write_tone("a_s1_0.wav", 300, 0.3);  /* shorter than 0.5 s: zero-padded */
    write_tone("a_s2_0.wav", 500, 0.7);  /* longer: cut */
    write_tone("b_s1_0.wav", 700, 0.5);
    write_tone("b_s3_0.wav", 900, 0.45);
    snprintf(cache, sizeof cache, "%s/features.bin", g_dir);
    sl_config cfg;
    load(&cfg, "");
    sl_dataset *ds = dataset(&cfg);
    build(&cfg, ds, cache, 4, 0);

    sl_feature_cache *c;
    assert_int_equal(sl_feature_cache_open(&c, cache), SL_OK);
    assert_int_equal(sl_feature_cache_rows(c), 4);
    assert_int_equal(sl_feature_cache_bands(c), 40);
    assert_int_equal(sl_feature_cache_frames(c), 1 + (4000 - 200) / 80);
    /* row 1 (a_s2_0.wav) equals featurizing its first 0.5 s directly */
    sl_features_params p;
    sl_features_params_from_config(&cfg, &p);
    sl_featurizer *fz;
    assert_int_equal(sl_featurizer_new(&fz, &p), SL_OK);
    char path[1200];
    snprintf(path, sizeof path, "%s/a_s2_0.wav", rec);
    sl_signal sig;
    sl_audio_opts ao = {.target_rate = 8000, .channel = -1, .max_frames = 0};
    assert_int_equal(sl_audio_read(path, &ao, &sig), SL_OK);
    float *want = malloc(40 * 48 * sizeof *want);
    assert_int_equal(sl_featurize(fz, sig.x, 4000, want, NULL), SL_OK);
    assert_string_equal(sl_dataset_entry(ds, 1)->path, "a_s2_0.wav");
    assert_memory_equal(sl_feature_cache_row(c, 1), want, 40 * 48 * sizeof *want);
    char hex[SL_HASH_HEX];
    sl_feature_cache_row_hash(c, 1, hex);
    assert_string_equal(hex, sl_dataset_entry(ds, 1)->hash);
    char settings[SL_HASH_HEX];
    sl_features_settings_hash(&cfg, settings);
    assert_string_equal(sl_feature_cache_settings(c), settings);
    free(want);
    sl_signal_free(&sig);
    sl_featurizer_free(fz);

    /* .npy: header and the first value */
    char npy[1100];
    snprintf(npy, sizeof npy, "%s/f.npy", g_dir);
    assert_int_equal(sl_feature_cache_write_npy(c, npy), SL_OK);
    char *data;
    size_t len;
    assert_int_equal(sl_read_file(npy, 1 << 24, &data, &len), SL_OK);
    assert_memory_equal(data, "\x93NUMPY\x01\x00", 8);
    size_t hlen = (unsigned char)data[8] | (size_t)(unsigned char)data[9] << 8;
    assert_int_equal((10 + hlen) % 64, 0);
    assert_non_null(strstr(data + 10, "'shape': (4, 40, 48)"));
    assert_int_equal(len, 10 + hlen + 4 * 40 * 48 * 4);
    assert_memory_equal(data + 10 + hlen, sl_feature_cache_row(c, 0), 4);
    free(data);
    sl_feature_cache_close(c);

    /* Nothing changed: everything reused. */
    build(&cfg, ds, cache, 0, 4);
    sl_dataset_free(ds);
    /* One file changed and one added: two rows computed. */
    write_tone("b_s3_0.wav", 950, 0.45);
    write_tone("c_s4_0.wav", 1100, 0.5);
    ds = dataset(&cfg);
    build(&cfg, ds, cache, 2, 3);
    /* Normalisation statistics: the training rows only, checked with a two-pass computation. */
    assert_int_equal(sl_feature_cache_open(&c, cache), SL_OK);
    double mean[40], sd[40];
    assert_int_equal(sl_features_norm(c, ds, SL_SPLIT_TRAIN, mean, sd), SL_OK);
    for (size_t b = 0; b < 40; b++) {
        double m = 0, v = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < sl_feature_cache_rows(c); i++) {
            if (sl_dataset_entry(ds, i)->split != SL_SPLIT_TRAIN) continue;
            for (size_t t = 0; t < 48; t++, cnt++) m += sl_feature_cache_row(c, i)[b * 48 + t];
        }
        m /= (double)cnt;
        for (size_t i = 0; i < sl_feature_cache_rows(c); i++) {
            if (sl_dataset_entry(ds, i)->split != SL_SPLIT_TRAIN) continue;
            for (size_t t = 0; t < 48; t++) {
                double d = sl_feature_cache_row(c, i)[b * 48 + t] - m;
                v += d * d;
            }
        }
        v = sqrt(v / (double)cnt);
        assert_true(fabs(mean[b] - m) < 1e-6 * (1 + fabs(m)));
        assert_true(fabs(sd[b] - v) < 1e-5 * (1 + v));
    }
    /* a split with no rows is refused */
    size_t n_test = 0;
    for (size_t i = 0; i < sl_dataset_count(ds); i++) n_test += sl_dataset_entry(ds, i)->split == SL_SPLIT_VAL;
    assert_int_equal(n_test, 0);
    assert_int_equal(sl_features_norm(c, ds, SL_SPLIT_VAL, mean, sd), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "no val examples"));
    sl_feature_cache_close(c);
    /* Other settings: all recomputed. */
    sl_config cfg2;
    load(&cfg2, "features: { n_mels: 32, f_max: 3800 }\n");
    build(&cfg2, ds, cache, 5, 0);
    assert_int_equal(sl_feature_cache_open(&c, cache), SL_OK);
    assert_int_equal(sl_feature_cache_bands(c), 32);
    sl_feature_cache_close(c);
    sl_dataset_free(ds);
    sl_config_free(&cfg);
    sl_config_free(&cfg2);
}

static void test_damaged_cache(void **state)
{
    (void)state;
    char cache[1100], bad[1100];
    snprintf(cache, sizeof cache, "%s/features.bin", g_dir);
    snprintf(bad, sizeof bad, "%s/bad.bin", g_dir);
    char *data;
    size_t len;
    assert_int_equal(sl_read_file(cache, 1 << 26, &data, &len), SL_OK);
    sl_feature_cache *c;
    /* truncated */
    assert_int_equal(sl_write_file_atomic(bad, data, len - 1), SL_OK);
    assert_int_equal(sl_feature_cache_open(&c, bad), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "bad.bin: "));
    assert_non_null(strstr(sl_last_error(), "(truncated or damaged)"));
    assert_null(c);
    /* a header claiming absurd sizes */
    data[16] = (char)0xff;
    data[23] = 0x7f;
    assert_int_equal(sl_write_file_atomic(bad, data, len), SL_OK);
    assert_int_equal(sl_feature_cache_open(&c, bad), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "implausible shape"));
    /* not a cache */
    assert_int_equal(sl_write_file_atomic(bad, "hello, world, this is just text, not a cache at all, really!!", 62), SL_OK);
    assert_int_equal(sl_feature_cache_open(&c, bad), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "bad.bin: truncated feature cache"));
    free(data);
    assert_int_equal(sl_feature_cache_open(&c, "/nonexistent/f.bin"), SL_EIO);
}

static void test_manifest_round_trip(void **state)
{
    (void)state;
    sl_config cfg;
    load(&cfg, "");
    sl_dataset *ds = dataset(&cfg);
    char m[1100], m2[1100];
    snprintf(m, sizeof m, "%s/manifest.csv", g_dir);
    snprintf(m2, sizeof m2, "%s/manifest2.csv", g_dir);
    assert_int_equal(sl_dataset_write_manifest(ds, m), SL_OK);
    sl_dataset *back;
    if (sl_dataset_read_manifest(&back, m) != SL_OK) fail_msg("%s", sl_last_error());
    assert_int_equal(sl_dataset_count(back), sl_dataset_count(ds));
    assert_int_equal(sl_dataset_n_labels(back), 3);
    assert_int_equal(sl_dataset_n_fields(back), 1);
    for (size_t i = 0; i < sl_dataset_count(ds); i++) {
        const sl_entry *a = sl_dataset_entry(ds, i), *b = sl_dataset_entry(back, i);
        assert_string_equal(a->path, b->path);
        assert_string_equal(a->hash, b->hash);
        assert_int_equal(a->split, b->split);
        assert_string_equal(a->fields[0], b->fields[0]);
    }
    assert_int_equal(sl_dataset_write_manifest(back, m2), SL_OK);
    char *x, *y;
    size_t lx, ly;
    assert_int_equal(sl_read_file(m, 1 << 20, &x, &lx), SL_OK);
    assert_int_equal(sl_read_file(m2, 1 << 20, &y, &ly), SL_OK);
    assert_int_equal(lx, ly);
    assert_memory_equal(x, y, lx);
    /* a broken row names its line */
    char *bad = strdup(x);
    char *third = strchr(strchr(bad, '\n') + 1, '\n') + 1; /* line 3 */
    char *comma = third;
    for (int k = 0; k < 3; k++) comma = strchr(comma, ',') + 1;
    memcpy(comma, "TEST", 4);
    assert_int_equal(sl_write_file_atomic(m2, bad, strlen(bad)), SL_OK);
    sl_dataset *none;
    assert_int_equal(sl_dataset_read_manifest(&none, m2), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "manifest2.csv:3: split 'TEST"));
    free(bad);
    free(x);
    free(y);
    sl_dataset_free(back);
    sl_dataset_free(ds);
    sl_config_free(&cfg);
}

static void test_config_errors(void **state)
{
    (void)state;
    sl_config cfg;
    const char *t1 = "data:\n  root: r\n  sample_rate: 8000\nfeatures:\n  win_length: 400\n";
    assert_int_equal(sl_config_parse(&cfg, t1, strlen(t1), "t.yaml", "/", NULL, 0), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "t.yaml: features.win_length: 400 is longer than n_fft (256)");
    const char *t2 = "data:\n  root: r\n  sample_rate: 8000\nfeatures: { f_max: 6000 }\n";
    assert_int_equal(sl_config_parse(&cfg, t2, strlen(t2), "t.yaml", "/", NULL, 0), SL_ECONFIG);
    assert_string_equal(sl_last_error(),
                        "t.yaml: features.f_max: 6000 Hz is above the Nyquist frequency of data.sample_rate (4000 Hz)");
    const char *t3 = "data:\n  root: r\nfeatures:\n  n_mels: 0\n";
    assert_int_equal(sl_config_parse(&cfg, t3, strlen(t3), "t.yaml", "/", NULL, 0), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "t.yaml:4:11: features.n_mels: must be in [1, 4096] (got 0)");
    const char *t4 = "data:\n  root: r\nfeatures:\n  center: maybe\n";
    assert_int_equal(sl_config_parse(&cfg, t4, strlen(t4), "t.yaml", "/", NULL, 0), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "t.yaml:4:11: features.center: expected true or false, got 'maybe'");
    /* data.duration is needed for a cache */
    const char *t5 = "data:\n  root: r\n";
    assert_int_equal(sl_config_parse(&cfg, t5, strlen(t5), "t.yaml", "/", NULL, 0), SL_OK);
    sl_features_stats st;
    assert_int_equal(sl_features_build(&cfg, NULL, "/tmp/x.bin", NULL, &st), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "data.duration: must be set for features"));
    sl_config_free(&cfg);
}

/* Other sensors: 3-axis CSV series, DC removal, per-channel scale, a high-pass filter, band
 * energies per channel, and raw pass-through. */
static void test_sensor_series(void **state)
{
    (void)state;
    char dir[1100], path[1200], cache[1200];
    snprintf(dir, sizeof dir, "%s/imu", g_dir);
    assert_int_equal(sl_mkdirs(dir), SL_OK);
    /* 2.4 s at 50 Hz: x a 5 Hz sine on an offset of 3, y a 1.5 Hz sine, z a 12 Hz sine */
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/%s_p%d_0.csv", dir, f == 2 ? "run" : "walk", f);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fprintf(fp, "time,ax,ay,az\n");
        for (int i = 0; i < 120; i++) {
            double t = i / 50.0;
            fprintf(fp, "%.4f,%.6f,%.6f,%.6f\n", t, 3 + sin(6.283185307179586 * 5 * t),
                    0.5 * sin(6.283185307179586 * 1.5 * t), 0.2 * sin(6.283185307179586 * 12 * t + f));
        }
        fclose(fp);
    }
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  pattern: \"{label}_{group}_{take}.csv\"\n  sample_rate: 50\n  duration: 2s\n"
             "  split: { by: hash, val_fraction: 0 }\n"
             "features:\n  type: band_energy\n  n_fft: 64\n  win_length: 64\n  hop_length: 25\n"
             "  band_edges: [0.5, 3, 8, 20]\n  dc_remove: true\n  channel_scale: [1, 2, 1]\n"
             "  filter: { type: highpass, order: 2, low: 0.3 }\n", dir);
    sl_config cfg;
    if (sl_config_parse(&cfg, yaml, strlen(yaml), "imu.yaml", g_dir, NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
    sl_dataset *ds = dataset(&cfg);
    assert_int_equal(sl_dataset_count(ds), 3);
    assert_int_equal(sl_dataset_entry(ds, 0)->channels, 3);
    snprintf(cache, sizeof cache, "%s/imu.bin", g_dir);
    build(&cfg, ds, cache, 3, 0);
    sl_feature_cache *c;
    assert_int_equal(sl_feature_cache_open(&c, cache), SL_OK);
    assert_int_equal(sl_feature_cache_bands(c), 9); /* 3 channels x 3 bands */
    assert_int_equal(sl_feature_cache_frames(c), 1 + (100 - 64) / 25);
    const float *r = sl_feature_cache_row(c, 0);
    size_t nf = sl_feature_cache_frames(c);
    /* each channel's energy sits in its sine's band: x 5 Hz -> band 1, y 1.5 Hz -> band 0, z 12 Hz -> band 2 */
    static const int peak[3] = {1, 0, 2};
    for (int ch = 0; ch < 3; ch++)
        for (int b = 0; b < 3; b++)
            if (b != peak[ch])
                assert_true(r[(size_t)(ch * 3 + peak[ch]) * nf] > r[(size_t)(ch * 3 + b) * nf] + 2.0f);
    sl_feature_cache_close(c);

    /* the scale shows: y at scale 2 has 4x the energy (+ln 4) of y at scale 1 */
    const char *ov[] = {"features.channel_scale=[1, 1, 1]"};
    sl_config cfg1;
    assert_int_equal(sl_config_parse(&cfg1, yaml, strlen(yaml), "imu.yaml", g_dir, ov, 1), SL_OK);
    snprintf(path, sizeof path, "%s/imu1.bin", g_dir);
    build(&cfg1, ds, path, 3, 0);
    sl_feature_cache *c1;
    assert_int_equal(sl_feature_cache_open(&c, cache), SL_OK);
    assert_int_equal(sl_feature_cache_open(&c1, path), SL_OK);
    double d = sl_feature_cache_row(c, 0)[3 * nf] - sl_feature_cache_row(c1, 0)[3 * nf];
    assert_true(fabs(d - log(4.0)) < 1e-3);
    sl_feature_cache_close(c);
    sl_feature_cache_close(c1);

    /* raw: the conditioned samples themselves, (3 channels, 100 samples); DC removed */
    const char *ov2[] = {"features.type=raw", "features.filter.type=none"};
    sl_config cfg2;
    assert_int_equal(sl_config_parse(&cfg2, yaml, strlen(yaml), "imu.yaml", g_dir, ov2, 2), SL_OK);
    build(&cfg2, ds, path, 3, 0);
    assert_int_equal(sl_feature_cache_open(&c, path), SL_OK);
    assert_int_equal(sl_feature_cache_bands(c), 3);
    assert_int_equal(sl_feature_cache_frames(c), 100);
    double mean = 0;
    for (size_t t = 0; t < 100; t++) mean += sl_feature_cache_row(c, 0)[t];
    assert_true(fabs(mean / 100) < 0.05); /* the offset of 3 is gone (the mean of the whole 2.4 s was removed) */
    sl_feature_cache_close(c);

    /* a scale list of the wrong length is refused */
    const char *ov3[] = {"features.channel_scale=[1, 2]"};
    sl_config cfg3;
    assert_int_equal(sl_config_parse(&cfg3, yaml, strlen(yaml), "imu.yaml", g_dir, ov3, 1), SL_OK);
    sl_features_stats st;
    assert_int_equal(sl_features_build(&cfg3, ds, path, NULL, &st), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "features.channel_scale: 2 values for 3 channels"));
    /* a band without an FFT bin is refused */
    const char *ov4[] = {"features.band_edges=[0.5, 0.6, 8]"};
    sl_config cfg4;
    assert_int_equal(sl_config_parse(&cfg4, yaml, strlen(yaml), "imu.yaml", g_dir, ov4, 1), SL_OK);
    assert_int_equal(sl_features_build(&cfg4, ds, path, NULL, &st), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "band [0.5, 0.6) Hz holds no FFT bin"));
    sl_config_free(&cfg);
    sl_config_free(&cfg1);
    sl_config_free(&cfg2);
    sl_config_free(&cfg3);
    sl_config_free(&cfg4);
    sl_dataset_free(ds);
}

int main(void)
{
    if (sl_test_tmp_dir(g_dir, sizeof g_dir, "features") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_build_and_reuse),
        cmocka_unit_test(test_damaged_cache),
        cmocka_unit_test(test_manifest_round_trip),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_sensor_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
