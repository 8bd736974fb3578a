/* The data set: labels from names, folders and lists; splits and their stability; duplicates;
 * clipped, silent and resampled files; deterministic manifests. Files are made by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "sigloop/audio.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/fileio.h"

static char g_tmp[1024];

static void make_dir(const char *sub, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", g_tmp, sub);
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sl_mkdirs(out), SL_OK);
}

/* A 100 ms tone; `seed` changes its frequency so files differ in content. */
static void write_tone(const char *dir, const char *name, double rate, double amp, int seed)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n = (size_t)(0.1 * rate);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    double f = 200.0 + 7.0 * seed;
    for (size_t i = 0; i < n; i++) x[i] = (float)(amp * sin(2 * 3.14159265358979323846 * f * (double)i / rate));
    assert_int_equal(sl_audio_write_wav(path, x, n, rate), SL_OK);
    free(x);
}

static void load(sl_config *cfg, const char *yaml)
{
    if (sl_config_parse(cfg, yaml, strlen(yaml), "test.yaml", g_tmp, NULL, 0) != SL_OK)
        fail_msg("config: %s", sl_last_error());
}

static sl_dataset *build(const sl_config *cfg, int threads)
{
    sl_dataset *ds = NULL;
    sl_dataset_opts o = {.threads = threads, .progress = 0};
    if (sl_dataset_build(&ds, cfg, &o) != SL_OK) fail_msg("build: %s", sl_last_error());
    return ds;
}

static const sl_entry *find(const sl_dataset *ds, const char *path)
{
    for (size_t i = 0; i < sl_dataset_count(ds); i++)
        if (strcmp(sl_dataset_entry(ds, i)->path, path) == 0) return sl_dataset_entry(ds, i);
    fail_msg("%s not in the data set", path);
    return NULL;
}

/* No group may be in two splits when the split is by group. */
static void assert_groups_pure(const sl_dataset *ds)
{
    for (size_t i = 0; i < sl_dataset_count(ds); i++)
        for (size_t j = i + 1; j < sl_dataset_count(ds); j++) {
            const sl_entry *a = sl_dataset_entry(ds, i), *b = sl_dataset_entry(ds, j);
            if (strcmp(a->group, b->group) == 0 && a->split != b->split)
                fail_msg("group %s in %s and %s", a->group, sl_split_name(a->split), sl_split_name(b->split));
        }
}

static void test_hash_split_stable(void **state)
{
    (void)state;
    char dir[1100], name[64], yaml[2048];
    make_dir("stable", dir, sizeof dir);
    for (int g = 0; g < 30; g++)
        for (int l = 0; l < 2; l++) {
            snprintf(name, sizeof name, "%c_g%02d_0.wav", 'a' + l, g);
            write_tone(dir, name, 8000, 0.5, g * 2 + l);
        }
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  sample_rate: 8000\n"
             "  split: { by: hash, test_fraction: 0.3, val_fraction: 0.2, seed: 7 }\n", dir);
    sl_config cfg;
    load(&cfg, yaml);
    sl_dataset *a = build(&cfg, 2);
    assert_int_equal(sl_dataset_count(a), 60);
    assert_int_equal(sl_dataset_n_groups(a), 30);
    assert_groups_pure(a);
    size_t n[SL_N_SPLITS] = {0};
    for (size_t i = 0; i < sl_dataset_count(a); i++) n[sl_dataset_entry(a, i)->split]++;
    /* 30 groups drawn at 0.3 test: well inside [3, 17] groups, i.e. [6, 34] files */
    assert_in_range(n[SL_SPLIT_TEST], 6, 34);
    assert_true(n[SL_SPLIT_VAL] > 0);
    assert_true(n[SL_SPLIT_TRAIN] > 0);

    /* The data set grows: new groups, and new takes of old groups. */
    for (int g = 0; g < 60; g++)
        for (int l = 0; l < 2; l++) {
            snprintf(name, sizeof name, "%c_g%02d_1.wav", 'a' + l, g);
            write_tone(dir, name, 8000, 0.5, 200 + g * 2 + l);
        }
    sl_dataset *b = build(&cfg, 1);
    assert_int_equal(sl_dataset_count(b), 180);
    assert_groups_pure(b);
    for (size_t i = 0; i < sl_dataset_count(a); i++) {
        const sl_entry *e = sl_dataset_entry(a, i);
        const sl_entry *f = find(b, e->path);
        if (e->split != f->split)
            fail_msg("%s moved from %s to %s", e->path, sl_split_name(e->split), sl_split_name(f->split));
    }
    /* Another seed gives another split. */
    sl_config cfg2;
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  sample_rate: 8000\n"
             "  split: { by: hash, test_fraction: 0.3, val_fraction: 0.2, seed: 8 }\n", dir);
    load(&cfg2, yaml);
    sl_dataset *c = build(&cfg2, 2);
    int differ = 0;
    for (size_t i = 0; i < sl_dataset_count(c); i++)
        differ += sl_dataset_entry(c, i)->split != sl_dataset_entry(b, i)->split;
    assert_true(differ > 0);
    sl_dataset_free(a);
    sl_dataset_free(b);
    sl_dataset_free(c);
    sl_config_free(&cfg);
    sl_config_free(&cfg2);
}

static void copy_file(const char *from, const char *to)
{
    char *data;
    size_t len;
    assert_int_equal(sl_read_file(from, 1 << 24, &data, &len), SL_OK);
    assert_int_equal(sl_write_file_atomic(to, data, len), SL_OK);
    free(data);
}

static void test_duplicates_and_levels(void **state)
{
    (void)state;
    char dir[1100], a[1200], b[1200], yaml[2048];
    make_dir("dups", dir, sizeof dir);
    write_tone(dir, "x_alice_0.wav", 8000, 0.5, 1);
    write_tone(dir, "x_alice_1.wav", 8000, 0.5, 2);
    write_tone(dir, "y_bob_0.wav", 8000, 0.5, 3);
    write_tone(dir, "y_carol_0.wav", 8000, 0.5, 4);
    write_tone(dir, "y_carol_1.wav", 8000, 1.5, 5);     /* clipped: a tone driven past full scale */
    write_tone(dir, "y_carol_2.wav", 8000, 0.0002, 6);  /* silent: about -77 dBFS RMS */
    write_tone(dir, "y_carol_3.wav", 16000, 0.5, 7);    /* resampled from 16 kHz */
    snprintf(a, sizeof a, "%s/x_alice_0.wav", dir);
    snprintf(b, sizeof b, "%s/x_bob_9.wav", dir);       /* the same bytes in the test group */
    copy_file(a, b);
    snprintf(b, sizeof b, "%s/x_alice_9.wav", dir);     /* and inside its own group */
    copy_file(a, b);
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  sample_rate: 8000\n  split: { test_groups: [bob], val_fraction: 0 }\n", dir);
    sl_config cfg;
    load(&cfg, yaml);
    sl_dataset *ds = build(&cfg, 2);
    assert_int_equal(sl_dataset_count(ds), 9);
    assert_true(find(ds, "x_alice_0.wav")->flags & SL_FLAG_DUPLICATE);
    assert_true(find(ds, "x_alice_9.wav")->flags & SL_FLAG_DUPLICATE);
    assert_true(find(ds, "x_bob_9.wav")->flags & SL_FLAG_DUPLICATE);
    assert_false(find(ds, "x_alice_1.wav")->flags & SL_FLAG_DUPLICATE);
    assert_int_equal(sl_dataset_n_leaks(ds), 1);
    assert_string_equal(find(ds, "x_alice_0.wav")->hash, find(ds, "x_bob_9.wav")->hash);

    const sl_entry *clipped = find(ds, "y_carol_1.wav");
    assert_true(clipped->flags & SL_FLAG_CLIPPED);
    assert_true(clipped->clip_fraction > 0.1);
    assert_false(find(ds, "y_carol_0.wav")->flags & (SL_FLAG_CLIPPED | SL_FLAG_SILENT));
    const sl_entry *silent = find(ds, "y_carol_2.wav");
    assert_true(silent->flags & SL_FLAG_SILENT);
    assert_true(fabs(silent->rms_dbfs - 20 * log10(0.0002 / sqrt(2.0))) < 1.0);
    const sl_entry *rs = find(ds, "y_carol_3.wav");
    assert_true(rs->flags & SL_FLAG_RESAMPLED);
    assert_true(rs->sample_rate == 16000.0);

    /* the report names the leak and each flagged file */
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(sl_dataset_report(ds, &cfg, f), SL_OK);
    fclose(f);
    assert_non_null(strstr(text, "LEAKAGE: 1 set(s) span more than one split"));
    assert_non_null(strstr(text, "LEAK x_alice_0.wav (train) = x_alice_9.wav (train) = x_bob_9.wav (test)"));
    assert_non_null(strstr(text, "clipped: 1\n  y_carol_1.wav"));
    assert_non_null(strstr(text, "silent: 1\n  y_carol_2.wav"));
    assert_non_null(strstr(text, "resampled: 1\n  y_carol_3.wav (16000 Hz -> 8000 Hz)"));
    free(text);
    sl_dataset_free(ds);
    sl_config_free(&cfg);
}

static void test_folder_and_list_labels(void **state)
{
    (void)state;
    char dir[1100], sub[1200], yaml[3000], list[1200];
    make_dir("folders", dir, sizeof dir);
    const char *classes[] = {"yes", "no"};
    for (int c = 0; c < 2; c++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, classes[c]);
        assert_int_equal(sl_mkdirs(sub), SL_OK);
        write_tone(sub, "spk1_0.wav", 8000, 0.5, 10 + c);
        write_tone(sub, "spk2_0.wav", 8000, 0.5, 20 + c);
        write_tone(sub, "odd.wav", 8000, 0.5, 30 + c);
    }
    write_tone(dir, "loose.wav", 8000, 0.5, 40);
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  label_from: folder\n  pattern: \"{group}_{take}.wav\"\n"
             "  sample_rate: 8000\n  split: { test_groups: [spk2], val_fraction: 0 }\n", dir);
    sl_config cfg;
    load(&cfg, yaml);
    sl_dataset *ds = build(&cfg, 2);
    assert_int_equal(sl_dataset_count(ds), 6);
    assert_string_equal(find(ds, "no/spk1_0.wav")->label, "no");
    assert_string_equal(find(ds, "yes/spk2_0.wav")->group, "spk2");
    assert_int_equal(find(ds, "yes/spk2_0.wav")->split, SL_SPLIT_TEST);
    /* a name that does not match the pattern is its own group */
    assert_string_equal(find(ds, "yes/odd.wav")->group, "odd");
    assert_int_equal(sl_dataset_n_skipped(ds), 1);
    assert_string_equal(sl_dataset_skipped(ds, 0)->path, "loose.wav");
    sl_dataset_free(ds);
    /* names only: the same labels and groups without reading a file (a broken one is kept) */
    snprintf(sub, sizeof sub, "%s/yes/spk3_0.wav", dir);
    assert_int_equal(sl_write_file_atomic(sub, "not a wav", 9), SL_OK);
    sl_dataset_opts names = {.threads = 1, .progress = 0, .names_only = 1};
    assert_int_equal(sl_dataset_build(&ds, &cfg, &names), SL_OK);
    assert_int_equal(sl_dataset_count(ds), 7);
    assert_int_equal(sl_dataset_n_labels(ds), 2);
    assert_int_equal(sl_dataset_n_groups(ds), 4);
    assert_true(find(ds, "yes/spk3_0.wav")->duration == 0);
    sl_dataset_free(ds);
    ds = build(&cfg, 1); /* read, the broken file is skipped */
    assert_int_equal(sl_dataset_count(ds), 6);
    sl_dataset_free(ds);
    assert_int_equal(remove(sub), 0);
    sl_config_free(&cfg);

    /* The same files from a CSV list, with an extra column. */
    snprintf(list, sizeof list, "%s/list.csv", g_tmp);
    const char *csv = "path,label,group,mic\n"
                      "yes/spk1_0.wav,affirmative,alice,near\n"
                      "\"no/spk1_0.wav\",negative,alice,\"far, left\"\n"
                      "no/spk2_0.wav,negative,bob,near\n"
                      "no/missing.wav,negative,bob,near\n";
    assert_int_equal(sl_write_file_atomic(list, csv, strlen(csv)), SL_OK);
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  label_from: csv\n  csv: %s\n"
             "  sample_rate: 8000\n  split: { test_groups: [bob], val_fraction: 0 }\n", dir, list);
    load(&cfg, yaml);
    ds = build(&cfg, 1);
    assert_int_equal(sl_dataset_count(ds), 3);
    assert_int_equal(sl_dataset_n_fields(ds), 1);
    assert_string_equal(sl_dataset_field_name(ds, 0), "mic");
    assert_string_equal(find(ds, "no/spk1_0.wav")->fields[0], "far, left");
    assert_string_equal(find(ds, "yes/spk1_0.wav")->label, "affirmative");
    assert_int_equal(find(ds, "no/spk2_0.wav")->split, SL_SPLIT_TEST);
    assert_int_equal(sl_dataset_n_skipped(ds), 1);
    assert_non_null(strstr(sl_dataset_skipped(ds, 0)->reason, "line 5"));
    sl_dataset_free(ds);
    sl_config_free(&cfg);

    /* A malformed list is an error naming its line. */
    const char *bad = "path,label\nyes/spk1_0.wav,yes\nno/spk1_0.wav\n";
    assert_int_equal(sl_write_file_atomic(list, bad, strlen(bad)), SL_OK);
    load(&cfg, yaml);
    sl_dataset *none = NULL;
    sl_dataset_opts o = {.threads = 1, .progress = 0};
    assert_int_equal(sl_dataset_build(&none, &cfg, &o), SL_EFORMAT);
    assert_null(none);
    assert_non_null(strstr(sl_last_error(), "list.csv:3: expected 2 columns, found 1"));
    sl_config_free(&cfg);
}

static void test_field_split_and_manifest(void **state)
{
    (void)state;
    char dir[1100], name[64], yaml[2048], m1[1200], m2[1200];
    make_dir("takes", dir, sizeof dir);
    for (int t = 0; t < 10; t++)
        for (int l = 0; l < 3; l++) {
            snprintf(name, sizeof name, "%d_spk_%d.wav", l, t);
            write_tone(dir, name, 8000, 0.3, t * 3 + l);
        }
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  sample_rate: 8000\n"
             "  split: { field: take, test_range: [0, 2], val_fraction: 0.25, seed: 1 }\n", dir);
    sl_config cfg;
    load(&cfg, yaml);
    sl_dataset *ds = build(&cfg, 2);
    size_t n_val = 0;
    for (size_t i = 0; i < sl_dataset_count(ds); i++) {
        const sl_entry *e = sl_dataset_entry(ds, i);
        int take = atoi(e->fields[0]);
        assert_int_equal(e->split == SL_SPLIT_TEST, take <= 2);
        n_val += e->split == SL_SPLIT_VAL;
    }
    assert_true(n_val > 0 && n_val < 21);
    snprintf(m1, sizeof m1, "%s/m1.csv", g_tmp);
    snprintf(m2, sizeof m2, "%s/m2.csv", g_tmp);
    assert_int_equal(sl_dataset_write_manifest(ds, m1), SL_OK);
    sl_dataset_free(ds);

    /* one thread instead of two: byte-identical manifest */
    ds = build(&cfg, 1);
    assert_int_equal(sl_dataset_write_manifest(ds, m2), SL_OK);
    char *a, *b;
    size_t la, lb;
    assert_int_equal(sl_read_file(m1, 1 << 20, &a, &la), SL_OK);
    assert_int_equal(sl_read_file(m2, 1 << 20, &b, &lb), SL_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_true(strncmp(a, "path,label,group,split,duration,sample_rate,channels,hash,flags,take\n"
                           "0_spk_0.wav,0,spk,test,0.100000,8000,1,", 104) == 0);
    free(a);
    free(b);
    sl_dataset_free(ds);
    sl_config_free(&cfg);

    /* a glob on the field, and a field that is not in the data */
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  sample_rate: 8000\n"
             "  split: { field: take, test_pattern: \"[13]\", val_fraction: 0 }\n", dir);
    load(&cfg, yaml);
    ds = build(&cfg, 2);
    assert_int_equal(find(ds, "2_spk_1.wav")->split, SL_SPLIT_TEST);
    assert_int_equal(find(ds, "2_spk_2.wav")->split, SL_SPLIT_TRAIN);
    sl_dataset_free(ds);
    sl_config_free(&cfg);
    snprintf(yaml, sizeof yaml,
             "data:\n  root: %s\n  sample_rate: 8000\n"
             "  split: { field: session, test_pattern: \"1\" }\n", dir);
    load(&cfg, yaml);
    sl_dataset *none = NULL;
    sl_dataset_opts o = {.threads = 1, .progress = 0};
    assert_int_equal(sl_dataset_build(&none, &cfg, &o), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "data.split.field: no field 'session'"));
    sl_config_free(&cfg);
}

int main(void)
{
    if (sl_test_tmp_dir(g_tmp, sizeof g_tmp, "dataset") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_split_stable),
        cmocka_unit_test(test_duplicates_and_levels),
        cmocka_unit_test(test_folder_and_list_labels),
        cmocka_unit_test(test_field_split_and_manifest),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (rc == 0 && system(cmd) != 0) rc = 1;
    return rc;
}
