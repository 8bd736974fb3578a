/* The synthetic stream: events sorted, apart by gaps within the range, each clip once per pass,
 * the stream exactly its length and the clips in it where the truth says, at their own level;
 * the noise at its SNR for each colour and from a folder, its colours told apart, no seam between
 * its blocks; clipping counted; the same seed the same bytes, another seed others; bad options
 * refused with their names, and no file left behind. Clips are tones made by the test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "augment/augment_internal.h"
#include "sigloop/audio.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/fileio.h"
#include "sigloop/rng.h"
#include "sigloop/synth.h"

#define RATE 8000.0
#define N_TEST 6

static char g_dir[1024];
static sl_config g_cfg;
static sl_dataset *g_ds;

/* A tone of the given length and amplitude (the frequency from k, so the clips differ). */
static void write_tone(const char *name, int k, double seconds, double amp)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/rec/%s", g_dir, name);
    size_t n = (size_t)(seconds * RATE);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(amp * sin(2 * M_PI * (300.0 + 110.0 * k) * (double)i / RATE));
    assert_int_equal(sl_audio_write_wav(path, x, n, RATE), SL_OK);
    free(x);
}

static int setup(void **state)
{
    (void)state;
    if (sl_test_tmp_dir(g_dir, sizeof g_dir, "synth") != 0) return -1;
    char rec[1100];
    snprintf(rec, sizeof rec, "%s/rec", g_dir);
    if (sl_mkdirs(rec) != SL_OK) return -1;
    /* test: speaker t, six clips of 0.2 to 0.45 s; train: speaker s */
    const char *test_names[N_TEST] = {"a_t_0.wav", "a_t_1.wav", "b_t_0.wav", "b_t_1.wav", "c_t_0.wav", "c_t_1.wav"};
    for (int k = 0; k < N_TEST; k++) write_tone(test_names[k], k, 0.2 + 0.05 * k, 0.3 + 0.05 * k);
    write_tone("a_s_0.wav", 7, 0.3, 0.5);
    write_tone("b_s_0.wav", 8, 0.3, 0.5);
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "name: syn\ndata:\n  root: %s\n  sample_rate: 8000\n  duration: 1s\n"
             "  split: { test_groups: [t], val_fraction: 0 }\n",
             rec);
    if (sl_config_parse(&g_cfg, yaml, strlen(yaml), "syn.yaml", g_dir, NULL, 0) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return -1;
    }
    sl_dataset_opts o = {.threads = 1, .progress = 0};
    if (sl_dataset_build(&g_ds, &g_cfg, &o) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_dataset_free(g_ds);
    sl_config_free(&g_cfg);
    return 0;
}

static void paths(const char *name, char *wav, char *csv, size_t size)
{
    snprintf(wav, size, "%s/%s.wav", g_dir, name);
    snprintf(csv, size, "%s/%s.csv", g_dir, name);
}

static void make(const sl_synth_opts *o, const char *name, sl_synth_result *r)
{
    char wav[1200], csv[1200];
    paths(name, wav, csv, sizeof wav);
    if (sl_synth_stream(&g_cfg, g_ds, o, wav, csv, r) != SL_OK) fail_msg("%s: %s", name, sl_last_error());
}

typedef struct {
    double start, end;
    char label[16], file[64];
} row;

/* The truth file's rows (header checked); caller frees. */
static row *read_truth(const char *name, size_t *n)
{
    char wav[1200], csv[1200], line[256];
    paths(name, wav, csv, sizeof wav);
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "start,end,label,file\n");
    row *rows = NULL;
    size_t k = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (k == cap) {
            cap = cap ? 2 * cap : 64;
            rows = realloc(rows, cap * sizeof *rows);
            assert_non_null(rows);
        }
        if (sscanf(line, "%lf,%lf,%15[^,],%63[^\n]", &rows[k].start, &rows[k].end, rows[k].label, rows[k].file) != 4)
            fail_msg("%s: bad row '%s'", csv, line);
        k++;
    }
    fclose(f);
    *n = k;
    return rows;
}

static sl_signal read_stream(const char *name)
{
    char wav[1200], csv[1200];
    paths(name, wav, csv, sizeof wav);
    sl_signal s;
    if (sl_audio_read(wav, NULL, &s) != SL_OK) fail_msg("%s", sl_last_error());
    return s;
}

static sl_signal read_clip(const char *file)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/rec/%s", g_dir, file);
    sl_signal s;
    if (sl_audio_read(path, NULL, &s) != SL_OK) fail_msg("%s", sl_last_error());
    return s;
}

/* 1 where a sample is inside an event or within 8 samples of one (times have 3 decimals, a sample
 * at 8 kHz is 0.125 ms); caller frees */
static unsigned char *event_mask(const row *rows, size_t n_rows, size_t n)
{
    unsigned char *m = calloc(n, 1);
    assert_non_null(m);
    for (size_t i = 0; i < n_rows; i++) {
        size_t a = (size_t)llround(rows[i].start * RATE), b = (size_t)llround(rows[i].end * RATE) + 8;
        for (size_t t = a >= 8 ? a - 8 : 0; t < b && t < n; t++) m[t] = 1;
    }
    return m;
}

static void test_events(void **state)
{
    (void)state;
    sl_synth_opts o;
    sl_synth_opts_default(&o);
    o.minutes = 1;
    o.gap_min = 0.5;
    o.gap_max = 1.5;
    o.snr_db = 60;
    o.seed = 3;
    sl_synth_result r;
    make(&o, "events", &r);
    assert_int_equal(r.clips_in_split, N_TEST);
    assert_int_equal(r.samples, 480000);
    assert_true(fabs(r.seconds - 60) < 1e-12);
    size_t n = 0;
    row *rows = read_truth("events", &n);
    assert_int_equal(n, r.events);
    assert_true(n > 3 * N_TEST); /* about 60 / (1 + 0.33) */
    assert_int_equal(r.passes, (n + N_TEST - 1) / N_TEST);
    double longest = 0;
    for (size_t i = 0; i < n; i++) {
        double gap = rows[i].start - (i ? rows[i - 1].end : 0);
        if (gap < 0.5 - 0.0011 || gap > 1.5 + 0.0011) fail_msg("row %zu: gap %.4f s outside [0.5, 1.5]", i, gap);
        assert_true(rows[i].end > rows[i].start);
        assert_true(rows[i].end <= 60.0);
        assert_true(strstr(rows[i].file, "_t_") != NULL); /* test clips only */
        assert_true(rows[i].label[0] == rows[i].file[0]);
        sl_signal c = read_clip(rows[i].file);
        assert_true(fabs((rows[i].end - rows[i].start) - (double)c.n / RATE) < 0.0011);
        longest = fmax(longest, (double)c.n / RATE);
        sl_signal_free(&c);
    }
    /* it ends at the first clip that does not fit: the rest is less than a gap and a clip */
    assert_true(60.0 - rows[n - 1].end < 1.5 + longest + 0.001);
    /* each pass uses every clip once, and the passes are shuffled anew */
    int same_order = 1;
    for (size_t p = 0; p * N_TEST < n; p++) {
        for (size_t i = p * N_TEST; i < n && i < (p + 1) * N_TEST; i++)
            for (size_t j = p * N_TEST; j < i; j++)
                if (strcmp(rows[i].file, rows[j].file) == 0) fail_msg("pass %zu uses %s twice", p, rows[i].file);
        for (size_t i = 0; p > 0 && i < N_TEST && p * N_TEST + i < n; i++)
            same_order &= strcmp(rows[i].file, rows[p * N_TEST + i].file) == 0;
    }
    assert_false(same_order);

    /* the WAV: exactly one minute; each clip where the truth puts it, at its own level (the noise is
     * 60 dB down); between clips only the faint noise */
    sl_signal s = read_stream("events");
    assert_int_equal(s.n, 480000);
    assert_true(s.sample_rate == RATE);
    for (size_t i = 0; i < n; i++) {
        sl_signal c = read_clip(rows[i].file);
        /* times have 3 decimals: at 8 kHz the first sample is within 4 of start x rate */
        size_t at = (size_t)llround(rows[i].start * RATE);
        double err = INFINITY;
        for (size_t shift = at - 4; shift <= at + 4; shift++) {
            double e = 0;
            for (size_t t = 0; t < c.n; t++) e = fmax(e, fabs(s.x[shift + t] - c.x[t]));
            err = fmin(err, e);
        }
        if (err > 0.005)
            fail_msg("row %zu (%s at %.3f s): differs from the clip by %g", i, rows[i].file, rows[i].start, err);
        sl_signal_free(&c);
    }
    unsigned char *m = event_mask(rows, n, s.n);
    double peak = 0;
    for (size_t t = 0; t < s.n; t++)
        if (!m[t]) peak = fmax(peak, fabs(s.x[t]));
    if (!(peak < 0.01)) fail_msg("a gap peaks at %g", peak);
    free(m);
    sl_signal_free(&s);
    free(rows);
}

/* Mean square of the stream outside the events. */
static double gap_power(const char *name)
{
    size_t n_rows;
    row *rows = read_truth(name, &n_rows);
    sl_signal s = read_stream(name);
    unsigned char *m = event_mask(rows, n_rows, s.n);
    double sum = 0;
    size_t k = 0;
    for (size_t t = 0; t < s.n; t++)
        if (!m[t]) {
            sum += (double)s.x[t] * s.x[t];
            k++;
        }
    assert_true(k > s.n / 2);
    free(m);
    free(rows);
    sl_signal_free(&s);
    return sum / (double)k;
}

/* lag-1 autocorrelation in the gaps: about 0 for white noise, near 1 for brown */
static double lag1(const char *name)
{
    size_t n_rows;
    row *rows = read_truth(name, &n_rows);
    sl_signal s = read_stream(name);
    unsigned char *m = event_mask(rows, n_rows, s.n);
    double num = 0, den = 0;
    for (size_t t = 1; t < s.n; t++)
        if (!m[t] && !m[t - 1]) {
            num += (double)s.x[t] * s.x[t - 1];
            den += (double)s.x[t] * s.x[t];
        }
    free(m);
    free(rows);
    sl_signal_free(&s);
    return num / den;
}

static void test_snr(void **state)
{
    (void)state;
    /* the split's mean clip power, measured here */
    double want_power = 0;
    for (size_t i = 0; i < sl_dataset_count(g_ds); i++) {
        const sl_entry *e = sl_dataset_entry(g_ds, i);
        if (e->split != SL_SPLIT_TEST) continue;
        sl_signal c = read_clip(e->path);
        want_power += sl_aug_power(c.x, c.n) / N_TEST;
        sl_signal_free(&c);
    }
    double corr[3];
    for (int color = 0; color < 3; color++) {
        sl_synth_opts o;
        sl_synth_opts_default(&o);
        o.minutes = 3;
        o.snr_db = 10;
        o.noise = color;
        o.gap_min = 2;
        o.gap_max = 4;
        char name[32];
        snprintf(name, sizeof name, "snr%d", color);
        sl_synth_result r;
        make(&o, name, &r);
        assert_true(fabs(r.clip_power - want_power) < 1e-6 * want_power);
        assert_true(fabs(r.noise_rms - sqrt(want_power / 10)) < 1e-9);
        double p = gap_power(name);
        double snr = 10 * log10(want_power / p);
        if (fabs(snr - 10) > (color == 2 ? 1.0 : 0.5)) fail_msg("colour %d: SNR %.2f dB, want 10", color, snr);
        corr[color] = lag1(name);
        assert_int_equal(r.clipped, 0);
    }
    assert_true(fabs(corr[0]) < 0.2);
    assert_true(corr[1] > corr[0] + 0.2);
    assert_true(corr[2] > 0.98);
    assert_true(corr[2] > corr[1]);

    /* no seam where a block ends: brown noise's steps there (in the gaps) are like its steps
     * anywhere else in the gaps (two blocks joined without the fade would step by about its RMS,
     * 100 times more) */
    size_t n_rows;
    row *rows = read_truth("snr2", &n_rows);
    sl_signal s = read_stream("snr2");
    unsigned char *m = event_mask(rows, n_rows, s.n);
    double step_rms = 0, seam = 0;
    size_t steps = 0, seams = 0;
    for (size_t t = 1; t < s.n; t++)
        if (!m[t] && !m[t - 1]) {
            step_rms += (double)(s.x[t] - s.x[t - 1]) * (s.x[t] - s.x[t - 1]);
            steps++;
        }
    step_rms = sqrt(step_rms / (double)steps);
    for (size_t t = 61440; t < s.n; t += 61440) /* where chunk and block change (synth.c's HOP) */
        if (!m[t] && !m[t - 1]) {
            seam = fmax(seam, fabs(s.x[t] - s.x[t - 1]));
            seams++;
        }
    assert_true(seams >= 3);
    if (seam > 5 * step_rms) fail_msg("a step of %g at a block's edge (rms step %g)", seam, step_rms);
    free(m);
    free(rows);
    sl_signal_free(&s);
}

static void test_noise_folder(void **state)
{
    (void)state;
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%s/noise", g_dir);
    assert_int_equal(sl_mkdirs(dir), SL_OK);
    /* two recordings of white noise at different levels: the loop's level is their joint one */
    sl_rng rng = sl_rng_make(99, 0);
    for (int k = 0; k < 2; k++) {
        size_t n = 5000 + 3000 * (size_t)k;
        float *x = malloc(n * sizeof *x);
        assert_non_null(x);
        for (size_t t = 0; t < n; t++) x[t] = (float)((k ? 0.05 : 0.2) * sl_rng_normal(&rng));
        snprintf(path, sizeof path, "%s/n%d.wav", dir, k);
        assert_int_equal(sl_audio_write_wav(path, x, n, RATE), SL_OK);
        free(x);
    }
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    assert_int_equal(sl_write_file_atomic(path, "x", 1), SL_OK);
    sl_synth_opts o;
    sl_synth_opts_default(&o);
    o.minutes = 2;
    o.snr_db = 6;
    o.noise_folder = dir;
    sl_synth_result r;
    make(&o, "folder", &r);
    double snr = 10 * log10(r.clip_power / gap_power("folder"));
    if (fabs(snr - 6) > 0.5) fail_msg("noise folder: SNR %.2f dB, want 6", snr);
}

static int same_file(const char *a, const char *b)
{
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    assert_int_equal(sl_read_file(a, 1u << 28, &x, &nx), SL_OK);
    assert_int_equal(sl_read_file(b, 1u << 28, &y, &ny), SL_OK);
    int same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

static void test_deterministic(void **state)
{
    (void)state;
    sl_synth_opts o;
    sl_synth_opts_default(&o);
    o.minutes = 0.5;
    make(&o, "d1", NULL);
    make(&o, "d2", NULL);
    o.seed = 1;
    make(&o, "d3", NULL);
    char w1[1200], c1[1200], w2[1200], c2[1200], w3[1200], c3[1200];
    paths("d1", w1, c1, sizeof w1);
    paths("d2", w2, c2, sizeof w2);
    paths("d3", w3, c3, sizeof w3);
    assert_true(same_file(w1, w2));
    assert_true(same_file(c1, c2));
    assert_false(same_file(w1, w3));
    assert_false(same_file(c1, c3));
    /* nothing left beside them under a temporary name */
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '\\.tmp\\.'", g_dir);
    assert_int_not_equal(system(cmd), 0);
}

static void test_clipping(void **state)
{
    (void)state;
    sl_synth_opts o;
    sl_synth_opts_default(&o);
    o.minutes = 0.2;
    o.snr_db = -12; /* noise RMS about 1.4: most samples beyond full scale */
    o.noise = SL_SYNTH_WHITE;
    sl_synth_result r;
    make(&o, "clip", &r);
    sl_signal s = read_stream("clip");
    uint64_t at_full = 0;
    for (size_t t = 0; t < s.n; t++) {
        assert_true(s.x[t] <= 1.0f && s.x[t] >= -1.0f);
        at_full += fabsf(s.x[t]) >= 32767.0f / 32768.0f;
    }
    assert_true(r.clipped > s.n / 4);
    assert_true(at_full >= r.clipped);
    assert_true(at_full < r.clipped + s.n / 100); /* few samples land on full scale unclipped */
    sl_signal_free(&s);
}

/* bad options: the named option in a one-line message, and no file made */
static void expect_fail(const sl_synth_opts *o, const char *want)
{
    char wav[1200], csv[1200];
    paths("bad", wav, csv, sizeof wav);
    sl_status s = sl_synth_stream(&g_cfg, g_ds, o, wav, csv, NULL);
    assert_int_not_equal(s, SL_OK);
    if (!strstr(sl_last_error(), want)) fail_msg("message '%s' lacks '%s'", sl_last_error(), want);
    assert_null(strchr(sl_last_error(), '\n'));
    struct stat sb;
    assert_int_not_equal(stat(wav, &sb), 0);
    assert_int_not_equal(stat(csv, &sb), 0);
}

static void test_errors(void **state)
{
    (void)state;
    sl_synth_opts d, o;
    sl_synth_opts_default(&d);
    d.minutes = 0.1;
    o = d, o.minutes = 0, expect_fail(&o, "minutes 0: must be in (0, 1440]");
    o = d, o.minutes = 1441, expect_fail(&o, "minutes 1441");
    o = d, o.minutes = NAN, expect_fail(&o, "minutes nan");
    o = d, o.gap_min = -1, expect_fail(&o, "gap_min -1");
    o = d, o.gap_min = 3, o.gap_max = 1, expect_fail(&o, "gap 3:1: gap_max is below gap_min");
    o = d, o.gap_max = INFINITY, expect_fail(&o, "gap_max inf");
    o = d, o.snr_db = NAN, expect_fail(&o, "snr_db nan: must be a finite number");
    o = d, o.snr_db = -INFINITY, expect_fail(&o, "snr_db -inf");
    o = d, o.noise = 5, expect_fail(&o, "noise 5: not white");
    o = d, o.split = SL_SPLIT_VAL, expect_fail(&o, "split val has no examples");
    assert_int_equal(sl_synth_check(&g_cfg, &o), SL_OK); /* an empty split needs the data set to tell */
    o = d, o.minutes = 0;
    assert_int_equal(sl_synth_check(&g_cfg, &o), SL_EARG);
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%s/quiet", g_dir);
    assert_int_equal(sl_mkdirs(dir), SL_OK);
    snprintf(path, sizeof path, "%s/readme.txt", dir);
    assert_int_equal(sl_write_file_atomic(path, "x", 1), SL_OK);
    o = d, o.noise_folder = dir, expect_fail(&o, "holds no audio files");
    snprintf(dir, sizeof dir, "%s/missing", g_dir);
    o = d, o.noise_folder = dir, expect_fail(&o, "noise folder");
    /* the same path twice */
    char wav[1200], csv[1200];
    paths("same", wav, csv, sizeof wav);
    assert_int_equal(sl_synth_stream(&g_cfg, g_ds, &d, wav, wav, NULL), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "cannot be the same file"));
    /* a folder that does not exist for the stream: nothing made, the truth neither */
    snprintf(wav, sizeof wav, "%s/nowhere/x.wav", g_dir);
    assert_int_equal(sl_synth_stream(&g_cfg, g_ds, &d, wav, csv, NULL), SL_EIO);
    struct stat sb;
    assert_int_not_equal(stat(csv, &sb), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events),     cmocka_unit_test(test_snr),      cmocka_unit_test(test_noise_folder),
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_clipping), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
