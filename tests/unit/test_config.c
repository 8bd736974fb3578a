/* The config schema: values, defaults, units, ${ENV}, relative paths, overrides, every kind of
 * error with its file:line:col and field, and the resolved config's round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sigloop/config.h"
#include "sigloop/fileio.h"

static sl_status parse(sl_config *cfg, const char *text)
{
    return sl_config_parse(cfg, text, strlen(text), "t.yaml", "/base/dir", NULL, 0);
}

static void test_valid_config(void **state)
{
    (void)state;
    setenv("SIGLOOP_TEST_ROOT_SET", "/data/x", 1);
    unsetenv("SIGLOOP_TEST_ROOT");
    sl_config c;
    const char *text = "name: fsdd\n"
                       "data:\n"
                       "  root: ${SIGLOOP_TEST_ROOT:-rec}/../recordings\n"
                       "  pattern: \"{label}_{group}_{take}.wav\"\n"
                       "  sample_rate: 8000\n"
                       "  duration: 1.0s\n"
                       "  channel: 1\n"
                       "  extensions: wav\n"
                       "  split: { test_groups: [theo, \"${SIGLOOP_TEST_ROOT_SET}\"], val_fraction: 0.1, seed: 42 }\n";
    if (parse(&c, text) != SL_OK) fail_msg("%s", sl_last_error());
    assert_string_equal(c.name, "fsdd");
    assert_string_equal(c.data.root, "/base/dir/recordings");
    assert_string_equal(c.data.pattern, "{label}_{group}_{take}.wav");
    assert_true(c.data.sample_rate == 8000.0);
    assert_true(c.data.duration == 1.0);
    assert_int_equal(c.data.channel, 1);
    assert_int_equal(c.data.extensions.n, 1);
    assert_string_equal(c.data.extensions.items[0], "wav");
    assert_int_equal(c.data.split.by, SL_SPLIT_GROUPS); /* inferred */
    assert_int_equal(c.data.split.test_groups.n, 2);
    assert_string_equal(c.data.split.test_groups.items[1], "/data/x");
    assert_true(c.data.split.val_fraction == 0.1);
    assert_int_equal(c.data.split.seed, 42);
    /* defaults */
    assert_int_equal(c.data.label_from, SL_LABELS_PATTERN);
    assert_true(c.data.clip_fraction == 0.001);
    assert_true(c.data.silence_dbfs == -60.0);
    sl_config_free(&c);
    sl_config_free(&c); /* freeing twice is harmless: the struct is zeroed */
}

static void test_split_inference(void **state)
{
    (void)state;
    sl_config c;
    assert_int_equal(parse(&c, "data:\n  root: r\n"), SL_OK);
    assert_int_equal(c.data.split.by, SL_SPLIT_HASH);
    assert_string_equal(c.name, "config");
    assert_string_equal(c.data.root, "/base/dir/r");
    sl_config_free(&c);
    assert_int_equal(parse(&c, "data:\n  root: /abs\n  split: {field: take, test_range: [0, 4]}\n"), SL_OK);
    assert_int_equal(c.data.split.by, SL_SPLIT_FIELD);
    assert_true(c.data.split.has_test_range);
    assert_true(c.data.split.test_range[0] == 0 && c.data.split.test_range[1] == 4);
    assert_string_equal(c.data.root, "/abs");
    sl_config_free(&c);
    assert_int_equal(parse(&c, "data:\n  root: r\n  split: {by: file, test_fraction: 0.25}\n"), SL_OK);
    assert_int_equal(c.data.split.by, SL_SPLIT_FILE);
    sl_config_free(&c);
}

/* Each bad config: SL_ECONFIG and exactly this message. */
static void expect_error(const char *text, const char *want)
{
    sl_config c;
    sl_status s = parse(&c, text);
    if (s != SL_ECONFIG) fail_msg("status %d for:\n%s", (int)s, text);
    if (strcmp(sl_last_error(), want) != 0) fail_msg("got  '%s'\nwant '%s'", sl_last_error(), want);
    if (strchr(sl_last_error(), '\n')) fail_msg("message is not one line");
    /* on error the struct is freed and zeroed */
    assert_int_equal(c.data.extensions.n, 0);
    assert_null(c.data.extensions.items);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("data:\n  root: r\n  smaple_rate: 8000\n",
                 "t.yaml:3:3: data.smaple_rate: unknown key (did you mean 'sample_rate'?)");
    expect_error("data:\n  root: r\n  xyzzy: 1\n",
                 "t.yaml:3:3: data.xyzzy: unknown key (valid: root, label_from, pattern, csv, extensions, "
                 "sample_rate, duration, channel, clip_fraction, silence_dbfs, split)");
    expect_error("dta:\n  root: r\n", "t.yaml:1:1: dta: unknown key (did you mean 'data'?)");
    expect_error("data:\n  root: r\n  sample_rate: fast\n",
                 "t.yaml:3:16: data.sample_rate: expected a number, got 'fast'");
    expect_error("data:\n  root: r\n  sample_rate: 0\n",
                 "t.yaml:3:16: data.sample_rate: must be in (0, 384000] Hz (got 0)");
    expect_error("data:\n  root: r\n  sample_rate: .nan\n",
                 "t.yaml:3:16: data.sample_rate: expected a number, got '.nan'");
    expect_error("data:\n  root: r\n  duration: -1s\n",
                 "t.yaml:3:13: data.duration: must not be negative (got -1s)");
    expect_error("data:\n  root: r\n  duration: 1 fortnight\n",
                 "t.yaml:3:13: data.duration: '1 fortnight' is not a duration (e.g. 1.5s, 500ms, 2min)");
    expect_error("data:\n  root: r\n  label_from: filename\n",
                 "t.yaml:3:15: data.label_from: 'filename' is not one of: pattern, folder, csv");
    expect_error("data:\n  root: r\n  split: {val_fraction: 1}\n",
                 "t.yaml:3:25: data.split.val_fraction: must be in [0, 1) (got 1)");
    expect_error("data:\n  root: r\n  split: {seed: -3}\n",
                 "t.yaml:3:17: data.split.seed: expected a whole number >= 0, got '-3'");
    expect_error("data:\n  root: r\n  split: {test_range: [5, 1], field: take}\n",
                 "t.yaml:3:23: data.split.test_range: low end 5 is above high end 1");
    expect_error("data:\n  root: r\n  split: 3\n", "t.yaml:3:10: data.split: expected a mapping of keys");
    expect_error("data:\n  root: [a, b]\n", "t.yaml:2:9: data.root: expected a single value, got a list");
    expect_error("data:\n  root: r\n  root: s\n", "t.yaml:3:3: duplicate key 'root' (first on line 2)");
    expect_error("data:\n  root: [unclosed\n",
                 "t.yaml:3:1: YAML syntax: did not find expected ',' or ']' while parsing a flow sequence");
    expect_error("data:\n\troot: r\n",
                 "t.yaml:2:1: YAML syntax: found character that cannot start any token while scanning for the next token");
    expect_error("a: &x 1\nb: *x\n", "t.yaml:1:4: anchors (&name) are not supported in a config");
    expect_error("", "t.yaml: empty config");
    expect_error("- a\n- b\n", "t.yaml:1:1: the config must be a mapping of sections (name:, data:, ...)");
    expect_error("name: x\n", "t.yaml: data.root: required");
    expect_error("data:\n  root: r\n  split: {by: field}\n",
                 "t.yaml: data.split.field: required when splitting by field");
    expect_error("data:\n  root: r\n  split: {field: take}\n",
                 "t.yaml: data.split: give exactly one of test_range and test_pattern");
    expect_error("data:\n  root: r\n  split: {by: groups}\n",
                 "t.yaml: data.split.test_groups: required when splitting by groups");
    expect_error("data:\n  root: r\n  label_from: csv\n", "t.yaml: data.csv: required when data.label_from is csv");
    expect_error("data:\n  root: r\n  pattern: \"{group}.wav\"\n",
                 "t.yaml: data.pattern: must contain {label} (or set data.label_from)");
    unsetenv("SIGLOOP_TEST_UNSET");
    expect_error("data:\n  root: ${SIGLOOP_TEST_UNSET}/x\n", "t.yaml:2:9: data.root: ${SIGLOOP_TEST_UNSET} is not set");
}

static void test_overrides(void **state)
{
    (void)state;
    sl_config c;
    const char *ov[] = {"data.sample_rate=16000", "data.split.test_groups=[a, b]", "name=other",
                        "data.root=/elsewhere", "data.pattern={label}_{_}_{group}.wav"};
    const char *text = "name: x\ndata:\n  root: r\n";
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", ov, 5), SL_OK);
    assert_string_equal(c.data.pattern, "{label}_{_}_{group}.wav");
    assert_true(c.data.sample_rate == 16000.0);
    assert_int_equal(c.data.split.test_groups.n, 2);
    assert_int_equal(c.data.split.by, SL_SPLIT_GROUPS);
    assert_string_equal(c.name, "other");
    assert_string_equal(c.data.root, "/elsewhere");
    sl_config_free(&c);
    const char *bad1[] = {"data.sample_rate=-5"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", bad1, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "--set data.sample_rate: must be in (0, 384000] Hz (got -5)");
    const char *bad2[] = {"data.smaple_rate=5"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", bad2, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "--set data.smaple_rate: unknown key 'smaple_rate'");
    const char *bad3[] = {"data.sample_rate.x=5"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", bad3, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "--set data.sample_rate.x: sample_rate is not a section");
}

static void test_units(void **state)
{
    (void)state;
    static const struct { const char *text; double s; } durations[] = {
        {"1.5s", 1.5}, {"500ms", 0.5}, {"250us", 250e-6}, {"2min", 120}, {"1h", 3600},
        {"0.5", 0.5}, {"3 s", 3}, {"-1s", -1}, {"0", 0},
    };
    for (size_t i = 0; i < sizeof durations / sizeof *durations; i++) {
        double v = -99;
        assert_int_equal(sl_parse_duration(durations[i].text, &v), SL_OK);
        if (v != durations[i].s) fail_msg("%s -> %g, want %g", durations[i].text, v, durations[i].s);
    }
    static const char *const bad_durations[] = {"", "s", "1x", "1 s s", "nan", "inf", "1e999s", "1s2"};
    for (size_t i = 0; i < sizeof bad_durations / sizeof *bad_durations; i++) {
        double v;
        if (sl_parse_duration(bad_durations[i], &v) != SL_EARG) fail_msg("'%s' accepted", bad_durations[i]);
        assert_non_null(strstr(sl_last_error(), "is not a duration"));
    }
    static const struct { const char *text; uint64_t b; } sizes[] = {
        {"64KiB", 65536}, {"1MiB", 1048576}, {"1GiB", 1073741824ull}, {"2MB", 2000000}, {"100kB", 100000},
        {"100KB", 100000}, {"512", 512}, {"512B", 512}, {"1.5KiB", 1536}, {"0", 0},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint64_t v = 7;
        assert_int_equal(sl_parse_size(sizes[i].text, &v), SL_OK);
        if (v != sizes[i].b) fail_msg("%s -> %llu", sizes[i].text, (unsigned long long)v);
    }
    static const char *const bad_sizes[] = {"", "-1KiB", "1.3B", "1 KB x", "12 parsecs", "1e30GiB", "KiB"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        uint64_t v;
        if (sl_parse_size(bad_sizes[i], &v) != SL_EARG) fail_msg("'%s' accepted", bad_sizes[i]);
    }
}

static void test_env(void **state)
{
    (void)state;
    char out[64];
    setenv("SL_A", "alpha", 1);
    setenv("SL_EMPTY", "", 1);
    unsetenv("SL_NONE");
    assert_int_equal(sl_expand_env("x${SL_A}y", out, sizeof out), SL_OK);
    assert_string_equal(out, "xalphay");
    assert_int_equal(sl_expand_env("${SL_NONE:-dflt}/${SL_EMPTY:-e}", out, sizeof out), SL_OK);
    assert_string_equal(out, "dflt/e");
    assert_int_equal(sl_expand_env("${SL_A:-b}", out, sizeof out), SL_OK);
    assert_string_equal(out, "alpha");
    assert_int_equal(sl_expand_env("cost $$5 and $HOME", out, sizeof out), SL_OK);
    assert_string_equal(out, "cost $5 and $HOME");
    assert_int_equal(sl_expand_env("${SL_NONE}", out, sizeof out), SL_EARG);
    assert_string_equal(sl_last_error(), "${SL_NONE} is not set");
    assert_int_equal(sl_expand_env("${SL_A", out, sizeof out), SL_EARG);
    char tiny[4];
    assert_int_equal(sl_expand_env("${SL_A}", tiny, sizeof tiny), SL_EARG);
}

static void test_round_trip_and_file(void **state)
{
    (void)state;
    const char *t = getenv("SIGLOOP_TEST_TMP");
    char dir[1024], path[1100], saved[1100];
    snprintf(dir, sizeof dir, "%s/config.%d", t ? t : "/tmp", (int)getpid());
    assert_int_equal(sl_mkdirs(dir), SL_OK);
    snprintf(path, sizeof path, "%s/my-run.yaml", dir);
    const char *text = "data:\n  root: ./rec\n  sample_rate: 22050.5\n  duration: 0.3s\n"
                       "  pattern: \"{label}-$${x}_{group}.wav\"\n  channel: mix\n"
                       "  split: {field: take, test_pattern: \"[0-4]\", val_fraction: 0.15, seed: 18446744073709551615}\n";
    assert_int_equal(sl_write_file_atomic(path, text, strlen(text)), SL_OK);
    sl_config a, b;
    if (sl_config_load(&a, path, NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
    assert_string_equal(a.name, "my-run"); /* the file's stem */
    char want_root[1200];
    assert_non_null(realpath(dir, want_root));
    strcat(want_root, "/rec");
    assert_string_equal(a.data.root, want_root);
    assert_string_equal(a.data.pattern, "{label}-${x}_{group}.wav");
    snprintf(saved, sizeof saved, "%s/resolved.yaml", dir);
    assert_int_equal(sl_config_save(&a, saved), SL_OK);
    if (sl_config_load(&b, saved, NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
    assert_string_equal(b.name, a.name);
    assert_string_equal(b.data.root, a.data.root);
    assert_string_equal(b.data.pattern, a.data.pattern);
    assert_true(b.data.sample_rate == a.data.sample_rate);
    assert_true(b.data.duration == a.data.duration);
    assert_int_equal(b.data.channel, -1);
    assert_int_equal(b.data.split.by, SL_SPLIT_FIELD);
    assert_string_equal(b.data.split.test_pattern, "[0-4]");
    assert_false(b.data.split.has_test_range);
    assert_true(b.data.split.val_fraction == 0.15);
    assert_true(b.data.split.seed == UINT64_MAX);
    assert_int_equal(b.data.extensions.n, 4);
    /* and the second writing is identical to the first */
    char *t1, *t2;
    size_t l1, l2;
    FILE *f1 = open_memstream(&t1, &l1), *f2 = open_memstream(&t2, &l2);
    assert_int_equal(sl_config_write(&a, f1), SL_OK);
    assert_int_equal(sl_config_write(&b, f2), SL_OK);
    fclose(f1);
    fclose(f2);
    assert_string_equal(t1, t2);
    assert_non_null(strstr(t1, "  sample_rate: 22050.5\n"));
    assert_non_null(strstr(t1, "  duration: 0.3s\n"));
    free(t1);
    free(t2);
    sl_config_free(&a);
    sl_config_free(&b);
    /* a missing file names itself */
    snprintf(path, sizeof path, "%s/absent.yaml", dir);
    assert_int_equal(sl_config_load(&a, path, NULL, 0), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "absent.yaml: cannot open: No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_config),
        cmocka_unit_test(test_split_inference),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_round_trip_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
