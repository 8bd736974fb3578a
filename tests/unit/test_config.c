/* The config schema: values, defaults, units, ${ENV}, relative paths, overrides, every kind of
 * error with its file:line:col and field, and the resolved config's round trip. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#endif
#include <errno.h>
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

/* The example of DESIGN.md, with the root from the environment or its default. */
static void test_design_example(void **state)
{
    (void)state;
    const char *text = "name: fsdd\n"
                       "data:\n"
                       "  root: ${SIGLOOP_TEST_ROOT:-rec}\n"
                       "  pattern: \"{label}_{group}_{take}.wav\"\n"
                       "  sample_rate: 8000\n"
                       "  duration: 1.0s\n"
                       "  split: { test_groups: [theo], val_fraction: 0.1, seed: 0 }\n";
    sl_config c;
    unsetenv("SIGLOOP_TEST_ROOT");
    if (sl_config_parse(&c, text, strlen(text), "fsdd.yaml", "/base/dir", NULL, 0) != SL_OK)
        fail_msg("%s", sl_last_error());
    assert_string_equal(c.path, "fsdd.yaml");
    assert_string_equal(c.dir, "/base/dir");
    assert_string_equal(c.name, "fsdd");
    assert_string_equal(c.data.root, "/base/dir/rec");
    assert_string_equal(c.data.pattern, "{label}_{group}_{take}.wav");
    assert_true(c.data.sample_rate == 8000.0);
    assert_true(c.data.duration == 1.0);
    assert_int_equal(c.data.split.by, SL_SPLIT_GROUPS);
    assert_int_equal(c.data.split.test_groups.n, 1);
    assert_string_equal(c.data.split.test_groups.items[0], "theo");
    assert_true(c.data.split.val_fraction == 0.1);
    assert_true(c.data.split.seed == 0);
    /* defaults of the keys not given */
    assert_int_equal(c.data.label_from, SL_LABELS_PATTERN);
    assert_int_equal(c.data.channel, -1);
    assert_true(c.data.split.test_fraction == 0.2);
    assert_false(c.data.split.has_test_range);
    assert_int_equal(c.data.extensions.n, 4);
    assert_string_equal(c.data.extensions.items[0], "wav");
    assert_string_equal(c.data.extensions.items[3], "csv");
    sl_config_free(&c);
    /* the variable wins over the default; an empty one takes the default */
    setenv("SIGLOOP_TEST_ROOT", "/mnt/recordings/./fsdd/", 1);
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "fsdd.yaml", "/base/dir", NULL, 0), SL_OK);
    assert_string_equal(c.data.root, "/mnt/recordings/fsdd");
    sl_config_free(&c);
    setenv("SIGLOOP_TEST_ROOT", "", 1);
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "fsdd.yaml", "/base/dir", NULL, 0), SL_OK);
    assert_string_equal(c.data.root, "/base/dir/rec");
    sl_config_free(&c);
    unsetenv("SIGLOOP_TEST_ROOT");
    /* no folder, or a relative one: from the current folder, stored absolute */
    char cwd[SL_PATH_MAX], want[SL_PATH_MAX + 16];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "fsdd.yaml", NULL, NULL, 0), SL_OK);
    snprintf(want, sizeof want, "%s/rec", strcmp(cwd, "/") ? cwd : "");
    assert_string_equal(c.data.root, want);
    sl_config_free(&c);
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "fsdd.yaml", "sub/../cfg", NULL, 0), SL_OK);
    snprintf(want, sizeof want, "%s/cfg/rec", strcmp(cwd, "/") ? cwd : "");
    assert_string_equal(c.data.root, want);
    sl_config_free(&c);
}

/* The defaults come from texts in the schema's tables: every one must read, with these values. */
static void test_defaults(void **state)
{
    (void)state;
    sl_config d;
    sl_error_clear();
    sl_config_defaults(&d);
    assert_string_equal(sl_last_error(), ""); /* no default text failed */
    assert_string_equal(d.name, "config");
    assert_string_equal(d.data.root, "");
    assert_string_equal(d.data.csv, "");
    assert_int_equal(d.data.label_from, SL_LABELS_PATTERN);
    assert_string_equal(d.data.pattern, "{label}_{group}_{take}.wav");
    assert_int_equal(d.data.extensions.n, 4);
    assert_string_equal(d.data.extensions.items[1], "flac");
    assert_true(d.data.sample_rate == 16000.0 && d.data.duration == 0.0);
    assert_int_equal(d.data.channel, -1);
    assert_true(d.data.clip_fraction == 0.001 && d.data.silence_dbfs == -60.0);
    assert_int_equal(d.data.split.by, SL_SPLIT_GROUPS);
    assert_int_equal(d.data.split.test_groups.n, 0);
    assert_true(d.data.split.test_fraction == 0.2 && d.data.split.val_fraction == 0.1);
    assert_false(d.data.split.has_test_range);
    assert_true(d.data.split.seed == 0);
    assert_int_equal(d.features.n_fft, 256);
    assert_int_equal(d.features.win_length, 200);
    assert_int_equal(d.features.hop_length, 80);
    assert_true(d.features.eps == 1e-6 && d.features.power == 2.0 && d.features.f_min == 20.0);
    assert_int_equal(d.features.filter.order, 4);
    assert_int_equal(d.model.widths.n, 4);
    assert_true(d.model.widths.v[3] == 48.0 && d.model.compression == 0.5);
    assert_int_equal(d.train.schedule, 1); /* cosine */
    assert_true(d.train.lr == 0.001 && d.train.momentum == 0.9);
    assert_int_equal(d.train.epochs, 30);
    sl_config_free(&d);
    assert_null(d.data.extensions.items);
    assert_null(d.model.widths.v);
    sl_config_free(NULL);
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
    assert_true(c.data.split.test_fraction == 0.25);
    sl_config_free(&c);
    /* by given beats the inference; a key without a value keeps the defaults */
    assert_int_equal(parse(&c, "data:\n  root: r\n  split: {by: hash, test_groups: theo}\n"), SL_OK);
    assert_int_equal(c.data.split.by, SL_SPLIT_HASH);
    assert_int_equal(c.data.split.test_groups.n, 1); /* one scalar is a list of one */
    sl_config_free(&c);
    assert_int_equal(parse(&c, "data:\n  root: r\n  split:\n"), SL_OK);
    assert_int_equal(c.data.split.by, SL_SPLIT_HASH);
    assert_true(c.data.split.val_fraction == 0.1);
    sl_config_free(&c);
    /* every kind of value */
    assert_int_equal(parse(&c, "name: config\n" /* given, so kept even when loaded from a file */
                               "data:\n  root: /\n  label_from: folder\n  channel: 0\n  duration: 250ms\n"
                               "  clip_fraction: 1\n  silence_dbfs: -0\n  extensions: [wav, \"w a v\"]\n"
                               "  csv: ../list.csv\n"
                               "  split: {by: field, field: take, test_range: [-1.5, 4], seed: 18446744073709551615}\n"
                               "features: {center: yes, dc_remove: no}\n"),
                     SL_OK);
    assert_string_equal(c.name, "config");
    assert_string_equal(c.data.root, "/");
    assert_string_equal(c.data.csv, "/base/list.csv");
    assert_int_equal(c.data.label_from, SL_LABELS_FOLDER);
    assert_int_equal(c.data.channel, 0);
    assert_true(c.data.duration == 0.25);
    assert_true(c.data.clip_fraction == 1.0);
    assert_false(signbit(c.data.silence_dbfs)); /* -0 read as 0 */
    assert_string_equal(c.data.extensions.items[1], "w a v");
    assert_true(c.data.split.test_range[0] == -1.5 && c.data.split.test_range[1] == 4.0);
    assert_true(c.data.split.seed == UINT64_MAX);
    assert_int_equal(c.features.center, 1);
    assert_int_equal(c.features.dc_remove, 0);
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
    expect_error("data:\n  root: r\n  smple_rte: 1\n", /* two edits */
                 "t.yaml:3:3: data.smple_rte: unknown key (did you mean 'sample_rate'?)");
    expect_error("data:\n  root: r\n  smpl_rte: 1\n", /* three: the list */
                 "t.yaml:3:3: data.smpl_rte: unknown key (valid: root, label_from, pattern, csv, extensions, "
                 "sample_rate, duration, channel, clip_fraction, silence_dbfs, split)");
    expect_error("data:\n  root: r\n  sample: 1\n", /* a prefix */
                 "t.yaml:3:3: data.sample: unknown key (did you mean 'sample_rate'?)");
    expect_error("data:\n  root: r\n  sample_rate_hz: 1\n",
                 "t.yaml:3:3: data.sample_rate_hz: unknown key (did you mean 'sample_rate'?)");
    expect_error("data:\n  root: r\n  split: {va_fraction: 1}\n",
                 "t.yaml:3:11: data.split.va_fraction: unknown key (did you mean 'val_fraction'?)");
    expect_error("data:\n  root: r\n  sample_rate: fast\n",
                 "t.yaml:3:16: data.sample_rate: expected a number, got 'fast'");
    expect_error("data:\n  root: r\n  sample_rate: 0\n",
                 "t.yaml:3:16: data.sample_rate: must be in (0, 384000] Hz (got 0)");
    expect_error("data:\n  root: r\n  sample_rate: .nan\n",
                 "t.yaml:3:16: data.sample_rate: expected a number, got '.nan'");
    expect_error("data:\n  root: r\n  sample_rate: nan\n", "t.yaml:3:16: data.sample_rate: expected a number, got 'nan'");
    expect_error("data:\n  root: r\n  sample_rate: inf\n", "t.yaml:3:16: data.sample_rate: expected a number, got 'inf'");
    expect_error("data:\n  root: r\n  sample_rate: 1e999\n",
                 "t.yaml:3:16: data.sample_rate: expected a number, got '1e999'");
    expect_error("data:\n  root: r\n  sample_rate: 0x1F40\n",
                 "t.yaml:3:16: data.sample_rate: expected a number, got '0x1F40'");
    expect_error("data:\n  root: r\n  sample_rate: 384000.5\n",
                 "t.yaml:3:16: data.sample_rate: must be in (0, 384000] Hz (got 384000.5)");
    expect_error("data:\n  root: r\n  clip_fraction: -0.5\n",
                 "t.yaml:3:18: data.clip_fraction: must be in [0, 1] (got -0.5)");
    expect_error("data:\n  root: r\n  silence_dbfs: 3\n",
                 "t.yaml:3:17: data.silence_dbfs: must be in [-200, 0] dBFS (got 3)");
    expect_error("data:\n  root: r\n  sample_rate: \"fa\\nst\"\n", /* stays one line */
                 "t.yaml:3:16: data.sample_rate: expected a number, got 'fa\\nst'");
    expect_error("data:\n  root: r\n  channel: -1\n",
                 "t.yaml:3:12: data.channel: expected 'mix' or a channel number in [0, 1023], got '-1'");
    expect_error("data:\n  root: r\n  channel: stereo\n",
                 "t.yaml:3:12: data.channel: expected 'mix' or a channel number in [0, 1023], got 'stereo'");
    expect_error("data:\n  root: r\nfeatures: {center: maybe}\n",
                 "t.yaml:3:20: features.center: expected true or false, got 'maybe'");
    expect_error("data:\n  root: r\n  split: {test_range: [1, 2, 3], field: take}\n",
                 "t.yaml:3:23: data.split.test_range: expected a range [low, high]");
    expect_error("data:\n  root: r\n  extensions: {wav: 1}\n", "t.yaml:3:15: data.extensions: expected a list");
    expect_error("data:\n  root: r\n  extensions: [wav, [flac]]\n",
                 "t.yaml:3:21: data.extensions: expected a single value, got a list");
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
    expect_error("data:\n  root: r\n  split: {seed: \" -3\"}\n",
                 "t.yaml:3:17: data.split.seed: expected a whole number >= 0, got ' -3'");
    expect_error("data:\n  root: r\n  split: {seed: 18446744073709551616}\n",
                 "t.yaml:3:17: data.split.seed: expected a whole number >= 0, got '18446744073709551616'");
    expect_error("data:\n  root: r\n  split: {test_range: [5, 1], field: take}\n",
                 "t.yaml:3:23: data.split.test_range: low end 5 is above high end 1");
    expect_error("data:\n  root: r\n  split: 3\n", "t.yaml:3:10: data.split: expected a mapping of keys");
    expect_error("data:\n  root: [a, b]\n", "t.yaml:2:9: data.root: expected a single value, got a list");
    expect_error("data:\n  root: r\n  root: s\n", "t.yaml:3:3: data.root: duplicate key (first on line 2)");
    expect_error("name: a\ndata: {root: r, split: {seed: 1, by: hash, seed: 2}}\nname: b\n",
                 "t.yaml:2:44: data.split.seed: duplicate key (first on line 2)");
    expect_error("name: a\ndata: {root: r}\nname: b\n", "t.yaml:3:1: name: duplicate key (first on line 1)");
    expect_error("data:\n  root: r\n  [a]: 1\n", "t.yaml:3:3: data: a key must be plain text");
    expect_error("data:\n  root: [unclosed\n",
                 "t.yaml:3:1: YAML syntax: did not find expected ',' or ']' while parsing a flow sequence");
    expect_error("data:\n\troot: r\n",
                 "t.yaml:2:1: YAML syntax: found character that cannot start any token while scanning for the next token");
    expect_error("a: &x 1\nb: *x\n", "t.yaml:1:4: a: anchors (&x) are not supported in a config");
    expect_error("data:\n  root: r\n  csv: *x\n", "t.yaml:3:8: data.csv: aliases (*x) are not supported in a config");
    expect_error("data:\n  root: !path r\n", "t.yaml:2:9: data.root: tag '!path' is not supported in a config");
    expect_error("data:\n  root: r\n---\nname: x\n", "t.yaml:3:1: a config holds one YAML document");
    expect_error("", "t.yaml: empty config");
    expect_error("# only a comment\n\n", "t.yaml: empty config");
    expect_error("just text\n", "t.yaml:1:1: the config must be a mapping of sections (name:, data:, ...)");
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
    expect_error("name: \"${SIGLOOP_TEST_UNSET:-0123456789012345678901234567890123456789012345678901234567890123456789"
                 "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                 "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789}\"\n"
                 "data: {root: r}\n",
                 "t.yaml:1:7: name: longer than 255 characters");
    /* a path of 2,000 parts: refused cleanly (this once overflowed an array of parts) */
    char *long_path = malloc(8192);
    assert_non_null(long_path);
    strcpy(long_path, "data:\n  root: \"");
    for (int i = 0; i < 2047; i++) strcat(long_path, "a/");
    strcat(long_path, "a\"\n");
    expect_error(long_path, "t.yaml:2:9: data.root: longer than 4095 characters");
    free(long_path);
    /* nesting and node count are capped */
    char deep[256] = "data: ";
    for (int i = 0; i < 70; i++) strcat(deep, "[");
    expect_error(deep, "t.yaml:1:70: nested deeper than 64 levels");
    size_t n_items = 100001;
    char *many = malloc(2 * n_items + 16);
    assert_non_null(many);
    char *w = many + sprintf(many, "a: [1");
    for (size_t i = 1; i < n_items; i++) w += sprintf(w, ",1");
    strcpy(w, "]\n");
    expect_error(many, "t.yaml: more than 100000 YAML nodes");
    free(many);
    /* over 1 MiB: refused before parsing */
    size_t big = (1u << 20) + 10;
    char *text = malloc(big + 1);
    assert_non_null(text);
    memset(text, ' ', big);
    memcpy(text, "data: {root: r}\n#", 17);
    text[big] = '\0';
    sl_config c;
    assert_int_equal(sl_config_parse(&c, text, big, "t.yaml", "/", NULL, 0), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "t.yaml: larger than 1 MiB");
    free(text);
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
    assert_string_equal(sl_last_error(), "--set data.smaple_rate: unknown key (did you mean 'sample_rate'?)");
    const char *bad3[] = {"data.sample_rate.x=5"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", bad3, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "--set data.sample_rate.x: sample_rate is not a section");
    const char *bad4[] = {"data.duration=-1s"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", bad4, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "--set data.duration: must not be negative (got -1s)");
    const char *bad5[] = {"data.split.test_groups=[a, b"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", bad5, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "--set data.split.test_groups: YAML syntax: did not find expected ',' or "
                                         "']' while parsing a flow sequence");
    const char *bad6[] = {"data.label_from"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", bad6, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "--set data.label_from: expected key.path=value");
    const char *bad7[] = {"data.label_from=csv"}; /* the cross-field checks run after the overrides */
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", bad7, 1), SL_ECONFIG);
    assert_string_equal(sl_last_error(), "t.yaml: data.csv: required when data.label_from is csv");
    assert_int_equal(c.data.extensions.n, 0); /* freed and zeroed */
    /* later overrides win; a section and a range as YAML */
    const char *ov2[] = {"data.channel=2", "data.channel=mix", "data.split={field: take, test_pattern: \"1*\"}",
                         "data.split.test_pattern=", "data.split.test_range=[0, 4]"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "t.yaml", "/d", ov2, 5), SL_OK);
    assert_int_equal(c.data.channel, -1);
    assert_int_equal(c.data.split.by, SL_SPLIT_FIELD);
    assert_string_equal(c.data.split.test_pattern, "");
    assert_true(c.data.split.has_test_range && c.data.split.test_range[1] == 4.0);
    sl_config_free(&c);
}

static void test_units(void **state)
{
    (void)state;
    static const struct { const char *text; double s; } durations[] = {
        {"1.5s", 1.5}, {"500ms", 0.5}, {"250us", 250e-6}, {"2min", 120}, {"1h", 3600},
        {"0.5", 0.5}, {"3 s", 3}, {"-1s", -1}, {"0", 0}, {"1.0s", 1}, {"2 min", 120}, {"1e-3s", 1e-3},
        {".5s", 0.5}, {"-0s", 0}, {"+2h", 7200}, {"1e300", 1e300},
    };
    for (size_t i = 0; i < sizeof durations / sizeof *durations; i++) {
        double v = -99;
        assert_int_equal(sl_parse_duration(durations[i].text, &v), SL_OK);
        if (v != durations[i].s) fail_msg("%s -> %g, want %g", durations[i].text, v, durations[i].s);
    }
    static const char *const bad_durations[] = {"",      "s",       "1x",   "1 s s", "nan", "inf",  "1e999s",
                                                "1s2",   "0x10s",   "1S",   "1s ",   " 1s", "1sec", ".s",
                                                "1e5e5", "infinity", "-nan", "1,5s",  "--1s"};
    for (size_t i = 0; i < sizeof bad_durations / sizeof *bad_durations; i++) {
        double v = -99;
        if (sl_parse_duration(bad_durations[i], &v) != SL_EARG) fail_msg("'%s' accepted", bad_durations[i]);
        char want[64];
        snprintf(want, sizeof want, "'%s' is not a duration (e.g. 1.5s, 500ms, 2min)", bad_durations[i]);
        assert_string_equal(sl_last_error(), want);
        assert_true(v == -99); /* untouched */
    }
    double big = 0;
    assert_int_equal(sl_parse_duration("1e306h", &big), SL_EARG); /* finite, but not in seconds */
    assert_string_equal(sl_last_error(), "'1e306h' is too large a duration");
    static const struct { const char *text; uint64_t b; } sizes[] = {
        {"64KiB", 65536}, {"1MiB", 1048576}, {"1GiB", 1073741824ull}, {"2MB", 2000000}, {"100kB", 100000},
        {"100KB", 100000}, {"512", 512}, {"512B", 512}, {"1.5KiB", 1536}, {"0", 0}, {"1.1kB", 1100},
        {"0.5KiB", 512}, {"64 KiB", 65536}, {"3GB", 3000000000ull}, {"1.000000000KiB", 1024},
        {"18446744073709551615", UINT64_MAX}, {"17179869183GiB", 17179869183ull << 30}, {"0.001MB", 1000},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint64_t v = 7;
        assert_int_equal(sl_parse_size(sizes[i].text, &v), SL_OK);
        if (v != sizes[i].b) fail_msg("%s -> %llu", sizes[i].text, (unsigned long long)v);
    }
    static const struct { const char *text, *why; } bad_sizes[] = {
        {"", "is not a size (e.g. 64KiB, 1MiB, 2MB)"},        {"-1KiB", "is not a size (e.g. 64KiB, 1MiB, 2MB)"},
        {"1 KB x", "is not a size (e.g. 64KiB, 1MiB, 2MB)"},  {"12 parsecs", "is not a size (e.g. 64KiB, 1MiB, 2MB)"},
        {"1e3", "is not a size (e.g. 64KiB, 1MiB, 2MB)"},     {"KiB", "is not a size (e.g. 64KiB, 1MiB, 2MB)"},
        {"1kib", "is not a size (e.g. 64KiB, 1MiB, 2MB)"},    {"+1B", "is not a size (e.g. 64KiB, 1MiB, 2MB)"},
        {"1.3B", "is not a whole number of bytes"},           {"0.0001KiB", "is not a whole number of bytes"},
        {"1.0000000001GiB", "is not a whole number of bytes"}, {"18446744073709551616", "is too large a size"},
        {"17179869184GiB", "is too large a size"},            {"99999999999999999999999KB", "is too large a size"},
    };
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        uint64_t b = 7;
        if (sl_parse_size(bad_sizes[i].text, &b) != SL_EARG) fail_msg("'%s' accepted", bad_sizes[i].text);
        char want[128];
        snprintf(want, sizeof want, "'%s' %s", bad_sizes[i].text, bad_sizes[i].why);
        assert_string_equal(sl_last_error(), want);
        assert_true(b == 7);
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
    assert_int_equal(sl_expand_env("${SL_EMPTY}|", out, sizeof out), SL_OK); /* set but empty */
    assert_string_equal(out, "|");
    assert_int_equal(sl_expand_env("$", out, sizeof out), SL_OK);
    assert_string_equal(out, "$");
    assert_int_equal(sl_expand_env("a$$$", out, sizeof out), SL_OK);
    assert_string_equal(out, "a$$");
    assert_int_equal(sl_expand_env("$${SL_A}", out, sizeof out), SL_OK); /* escaped: not expanded */
    assert_string_equal(out, "${SL_A}");
    assert_int_equal(sl_expand_env("${SL_NONE:-}x", out, sizeof out), SL_OK);
    assert_string_equal(out, "x");
    assert_int_equal(sl_expand_env("", out, sizeof out), SL_OK);
    assert_string_equal(out, "");
    assert_int_equal(sl_expand_env("${SL_A", out, sizeof out), SL_EARG);
    assert_string_equal(sl_last_error(), "'${SL_A': unclosed ${");
    assert_int_equal(sl_expand_env("${SL A}", out, sizeof out), SL_EARG);
    assert_string_equal(sl_last_error(), "'${SL A}': bad variable name in ${...} (use ${NAME} or ${NAME:-default})");
    assert_int_equal(sl_expand_env("${}", out, sizeof out), SL_EARG);
    assert_int_equal(sl_expand_env("${1X}", out, sizeof out), SL_EARG);
    assert_int_equal(sl_expand_env("${SL_A:?}", out, sizeof out), SL_EARG);
    char tiny[6];
    assert_int_equal(sl_expand_env("${SL_A}", tiny, 5), SL_EARG); /* "alpha" needs 6 bytes */
    assert_string_equal(sl_last_error(), "'${SL_A}' expands too long");
    assert_int_equal(sl_expand_env("${SL_A}", tiny, sizeof tiny), SL_OK);
    assert_string_equal(tiny, "alpha");
    assert_int_equal(sl_expand_env("abcdef", tiny, sizeof tiny), SL_EARG);
    assert_int_equal(sl_expand_env("", tiny, 0), SL_EARG);
}

static char *write_to_string(const sl_config *c)
{
    char *t = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&t, &len);
    assert_non_null(f);
    assert_int_equal(sl_config_write(c, f), SL_OK);
    assert_int_equal(fclose(f), 0);
    return t;
}

static void assert_same_strlist(const sl_strlist *a, const sl_strlist *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) assert_string_equal(a->items[i], b->items[i]);
}

/* Every field of the data section and the name, compared exactly. */
static void assert_same_config(const sl_config *a, const sl_config *b)
{
    assert_string_equal(a->name, b->name);
    const sl_data_config *x = &a->data, *y = &b->data;
    assert_string_equal(x->root, y->root);
    assert_int_equal(x->label_from, y->label_from);
    assert_string_equal(x->pattern, y->pattern);
    assert_string_equal(x->csv, y->csv);
    assert_same_strlist(&x->extensions, &y->extensions);
    assert_memory_equal(&x->sample_rate, &y->sample_rate, sizeof(double)); /* bit for bit */
    assert_memory_equal(&x->duration, &y->duration, sizeof(double));
    assert_int_equal(x->channel, y->channel);
    assert_memory_equal(&x->clip_fraction, &y->clip_fraction, sizeof(double));
    assert_memory_equal(&x->silence_dbfs, &y->silence_dbfs, sizeof(double));
    const sl_split_config *p = &x->split, *q = &y->split;
    assert_int_equal(p->by, q->by);
    assert_same_strlist(&p->test_groups, &q->test_groups);
    assert_memory_equal(&p->test_fraction, &q->test_fraction, sizeof(double));
    assert_string_equal(p->field, q->field);
    assert_int_equal(p->has_test_range, q->has_test_range);
    if (p->has_test_range) assert_memory_equal(p->test_range, q->test_range, sizeof p->test_range);
    assert_string_equal(p->test_pattern, q->test_pattern);
    assert_memory_equal(&p->val_fraction, &q->val_fraction, sizeof(double));
    assert_true(p->seed == q->seed);
}

/* A config with odd values everywhere: parse, write, parse the text written, compare. */
/* augment: a list of transforms, each its defaults overridden; errors name the item; the list
 * round-trips through the written config and --set replaces it. */
static void test_augment(void **state)
{
    (void)state;
    const char *text = "data: {root: r, sample_rate: 8000}\n"
                       "augment:\n"
                       "  - gain: {db: [-3, 3]}\n"
                       "  - polarity\n"
                       "  - noise: {snr_db: [5, 20], color: pink, folder: noise}\n"
                       "  - specaugment: {time_masks: 1}\n"
                       "  - rotate: {axes: [0, 1, 2, 3, 4, 5], max_deg: 30}\n";
    sl_config a, b;
    if (parse(&a, text) != SL_OK) fail_msg("%s", sl_last_error());
    assert_int_equal(a.augment.n, 5);
    const sl_aug_config *it = a.augment.items;
    assert_int_equal(it[0].type, SL_AUG_GAIN);
    assert_true(it[0].range[0] == -3 && it[0].range[1] == 3 && it[0].p == 1);
    assert_int_equal(it[1].type, SL_AUG_POLARITY);
    assert_true(it[1].p == 0.5); /* its default */
    assert_int_equal(it[2].type, SL_AUG_NOISE);
    assert_true(it[2].range[0] == 5 && it[2].mode == 2 - 1 && it[2].p == 0.5);
    assert_string_equal(it[2].folder, "/base/dir/noise");
    assert_true(it[3].count[0] == 1 && it[3].count[1] == 2 && it[3].width[0] == 10 && it[3].width[1] == 5);
    assert_true(it[4].axes.n == 6 && it[4].max == 30);
    assert_string_equal(sl_aug_type_name(SL_AUG_SPECAUGMENT), "specaugment");
    char *t1 = write_to_string(&a);
    assert_non_null(strstr(t1, "\naugment:\n  - gain:\n      p: 1\n      db: [-3, 3]\n  - polarity:\n      p: 0.5\n"));
    if (sl_config_parse(&b, t1, strlen(t1), "w.yaml", "/", NULL, 0) != SL_OK) fail_msg("%s\n%s", sl_last_error(), t1);
    char *t2 = write_to_string(&b);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    sl_config_free(&b);
    /* --set replaces the list; an empty list turns augmentation off */
    const char *ov[] = {"augment=[speed: {factor: [0.95, 1.05]}, mixup]"};
    assert_int_equal(sl_config_parse(&b, text, strlen(text), "t.yaml", "/", ov, 1), SL_OK);
    assert_int_equal(b.augment.n, 2);
    assert_true(b.augment.items[0].type == SL_AUG_SPEED && b.augment.items[0].range[1] == 1.05);
    assert_true(b.augment.items[1].type == SL_AUG_MIXUP && b.augment.items[1].max == 0.2);
    sl_config_free(&b);
    const char *off[] = {"augment=[]"};
    assert_int_equal(sl_config_parse(&b, text, strlen(text), "t.yaml", "/", off, 1), SL_OK);
    assert_int_equal(b.augment.n, 0);
    t1 = write_to_string(&b);
    assert_non_null(strstr(t1, "\naugment: []\n"));
    free(t1);
    sl_config_free(&b);
    sl_config_free(&a);
    expect_error("data: {root: r}\naugment:\n  - noise: {snr_db: [30, 5]}\n",
                 "t.yaml:3:21: augment[0].noise.snr_db: low end 30 is above high end 5");
    expect_error("data: {root: r}\naugment:\n  - gain: {p: 1.5}\n",
                 "t.yaml:3:15: augment[0].gain.p: must be in [0, 1] (got 1.5)");
    expect_error("data: {root: r}\naugment:\n  - gain: {}\n  - nois: {}\n",
                 "t.yaml:4:5: augment[1]: unknown transform 'nois' (one of: gain, shift, speed, pitch, noise, reverb, "
                 "filter, clip, polarity, rotate, sensor_gain, jitter, series_warp, specaugment, time_warp, mixup)");
    expect_error("data: {root: r}\naugment:\n  - gain: {db: [-3, 3]}\n    p: 1\n",
                 "t.yaml:3:5: augment[0]: expected one transform, e.g. 'gain: {db: [-6, 6]}'");
    expect_error("data: {root: r}\naugment: {gain: {}}\n",
                 "t.yaml:2:10: augment: expected a list of transforms, e.g. [gain: {db: [-6, 6]}]");
    expect_error("data: {root: r}\naugment:\n  - gain: {dB: 3}\n",
                 "t.yaml:3:12: augment[0].gain.dB: unknown key (did you mean 'db'?)");
    expect_error("data: {root: r}\naugment:\n  - speed: {factor: [0.3, 1]}\n",
                 "t.yaml: augment[0].speed.factor: [0.3, 1] must lie within [0.5, 2]");
    expect_error("data: {root: r}\naugment:\n  - rotate: {axes: [0, 1]}\n",
                 "t.yaml: augment[0].rotate.axes: give channel numbers three at a time, e.g. [0, 1, 2] (got 2)");
    expect_error("data: {root: r, sample_rate: 8000}\naugment:\n  - filter: {cutoff: [100, 5000]}\n",
                 "t.yaml: augment[0].filter.cutoff: [100, 5000] Hz must lie within (0, 4000) Hz");
}

/* model.preset: a known network's fields, applied before the section's other keys, which win
 * wherever they stand; the written config reads back the same. */
static void test_model_preset(void **state)
{
    (void)state;
    sl_config a, b;
    const char *t1 = "data: {root: r}\nmodel: {dropout: 0.1, preset: mlperf-ds-cnn, widths: [32, 32, 32]}\n";
    if (parse(&a, t1) != SL_OK) fail_msg("%s", sl_last_error());
    assert_int_equal(a.model.arch, SL_ARCH_DS_CNN);
    assert_int_equal(a.model.dims, 2);
    assert_int_equal(a.model.stem_stride, 2);
    assert_true(a.model.stem_shape.n == 2 && a.model.stem_shape.v[0] == 4 && a.model.stem_shape.v[1] == 10);
    assert_true(a.model.dropout == 0.1);                     /* given before the preset: still wins */
    assert_true(a.model.widths.n == 3 && a.model.widths.v[0] == 32); /* given after it */
    char *w = write_to_string(&a);
    assert_non_null(strstr(w, "\nmodel:\n  preset: mlperf-ds-cnn\n"));
    if (sl_config_parse(&b, w, strlen(w), "w.yaml", "/", NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
    char *w2 = write_to_string(&b);
    assert_string_equal(w, w2);
    free(w);
    free(w2);
    sl_config_free(&a);
    sl_config_free(&b);
    const char *t2 = "data: {root: r}\nmodel: {preset: mlperf-resnet8}\n";
    assert_int_equal(parse(&a, t2), SL_OK);
    assert_true(a.model.arch == SL_ARCH_RESNET && a.model.dims == 2 && a.model.kernel == 3 && a.model.widths.n == 4 &&
                a.model.widths.v[1] == 16 && a.model.widths.v[3] == 64);
    sl_config_free(&a);
    const char *ov[] = {"model.preset=tc-resnet14"};
    assert_int_equal(sl_config_parse(&a, t2, strlen(t2), "t.yaml", "/", ov, 1), SL_OK);
    assert_true(a.model.arch == SL_ARCH_TC_RESNET && a.model.dims == 1 && a.model.blocks == 2 && a.model.kernel == 9);
    sl_config_free(&a);
    expect_error("data: {root: r}\nmodel: {preset: resnet8}\n",
                 "t.yaml:2:17: model.preset: 'resnet8' is not one of: none, tc-resnet8, tc-resnet14, mlperf-resnet8, "
                 "mlperf-ds-cnn");
}

static void test_round_trip_values(void **state)
{
    (void)state;
    const char *text = "name: \"it's \\\"quoted\\\" \\\\ $$HOME \\x01 \\u00e9\"\n"
                       "data:\n  root: \"/r/with space/#not a comment\"\n  label_from: csv\n  csv: lists/l.csv\n"
                       "  pattern: \"{label}: [x], {y}\"\n  extensions: [wav, \"a,b\", \"[c]\", \"'d'\"]\n"
                       "  sample_rate: 0.1\n  duration: 1e-7\n  channel: 1023\n  clip_fraction: 0.30000000000000004\n"
                       "  silence_dbfs: -123.456\n"
                       "  split: {by: field, field: \"take #2\", test_range: [-1e300, 1e-300], val_fraction: 0.999,\n"
                       "          test_groups: [\"x: y\", \"true\", \"null\", \"~\", \"1\"], test_fraction: 0}\n"
                       "features: {type: band_energy, band_edges: [0.5, 3, 8], channel_scale: [1e-9], center: true}\n"
                       "model: {arch: densenet, widths: [8, 16]}\n"
                       "train: {optimizer: sgd, nesterov: yes, lr: 0.0003, seed: 9007199254740993}\n";
    sl_config a, b;
    if (sl_config_parse(&a, text, strlen(text), "odd.yaml", "/base", NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
    assert_string_equal(a.name, "it's \"quoted\" \\ $HOME \x01 \xc3\xa9");
    assert_string_equal(a.data.csv, "/base/lists/l.csv");
    assert_true(a.data.duration == 1e-7);
    assert_true(a.train.seed == 9007199254740993ull);
    char *t1 = write_to_string(&a);
    /* flow lists, quoted strings, "$" doubled, durations with their unit */
    assert_non_null(strstr(t1, "\n  extensions: [\"wav\", \"a,b\", \"[c]\", \"'d'\"]\n"));
    assert_non_null(strstr(t1, "name: \"it's \\\"quoted\\\" \\\\ $$HOME \\x01 \xc3\xa9\"\n"));
    assert_non_null(strstr(t1, "\n  duration: 1e-07s\n"));
    assert_non_null(strstr(t1, "\n  channel: 1023\n"));
    assert_non_null(strstr(t1, "\n    test_range: [-1e+300, 1e-300]\n"));
    if (sl_config_parse(&b, t1, strlen(t1), "written.yaml", "/elsewhere", NULL, 0) != SL_OK)
        fail_msg("%s\n%s", sl_last_error(), t1);
    assert_same_config(&a, &b);
    assert_true(b.train.seed == 9007199254740993ull);
    assert_int_equal(b.train.nesterov, 1);
    char *t2 = write_to_string(&b);
    assert_string_equal(t1, t2); /* every other section too */
    free(t1);
    free(t2);
    sl_config_free(&a);
    sl_config_free(&b);
    /* the defaults round-trip as well */
    const char *min = "data: {root: r}\n";
    assert_int_equal(sl_config_parse(&a, min, strlen(min), "min.yaml", "/", NULL, 0), SL_OK);
    t1 = write_to_string(&a);
    assert_non_null(strstr(t1, "name: \"config\"\ndata:\n  root: \"/r\"\n  label_from: pattern\n"));
    assert_non_null(strstr(t1, "\n  csv: \"\"\n  extensions: [\"wav\", \"flac\", \"ogg\", \"csv\"]\n"
                               "  sample_rate: 16000\n  duration: 0s\n  channel: mix\n  clip_fraction: 0.001\n"
                               "  silence_dbfs: -60\n  split:\n    by: hash\n    test_groups: []\n"));
    assert_non_null(strstr(t1, "\n    test_range: null\n"));
    assert_int_equal(sl_config_parse(&b, t1, strlen(t1), "w.yaml", "/", NULL, 0), SL_OK);
    assert_same_config(&a, &b);
    t2 = write_to_string(&b);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    sl_config_free(&a);
    sl_config_free(&b);
}

static void test_round_trip_and_file(void **state)
{
    (void)state;
    const char *t = getenv("SIGLOOP_TEST_TMP");
    char dir[1024], path[1100], saved[1100], named[1100];
    if (!t || !*t) t = "/tmp";
    if (mkdir(t, 0777) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", t, strerror(errno));
    snprintf(dir, sizeof dir, "%s/config.%d", t, (int)getpid());
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/my-run.yaml", dir);
    const char *text = "data:\n  root: ./rec\n  sample_rate: 22050.5\n  duration: 0.3s\n"
                       "  pattern: \"{label}-$${x}_{group}.wav\"\n  channel: mix\n"
                       "  split: {field: take, test_pattern: \"[0-4]\", val_fraction: 0.15, seed: 18446744073709551615}\n";
    assert_int_equal(sl_write_file_atomic(path, text, strlen(text)), SL_OK);
    sl_config a, b;
    if (sl_config_load(&a, path, NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
    assert_string_equal(a.name, "my-run"); /* the file's stem */
    assert_string_equal(a.path, path);
    char want_root[1200];
    assert_non_null(realpath(dir, want_root));
    assert_string_equal(a.dir, want_root);
    strcat(want_root, "/rec");
    assert_string_equal(a.data.root, want_root);
    assert_string_equal(a.data.pattern, "{label}-${x}_{group}.wav");
    snprintf(saved, sizeof saved, "%s/resolved.yaml", dir);
    assert_int_equal(sl_config_save(&a, saved), SL_OK);
    if (sl_config_load(&b, saved, NULL, 0) != SL_OK) fail_msg("%s", sl_last_error());
    assert_same_config(&a, &b);
    assert_string_equal(b.name, "my-run"); /* written, so not "resolved" */
    assert_true(b.data.sample_rate == 22050.5);
    assert_true(b.data.duration == 0.3);
    assert_int_equal(b.data.channel, -1);
    assert_int_equal(b.data.split.by, SL_SPLIT_FIELD);
    assert_string_equal(b.data.split.test_pattern, "[0-4]");
    assert_false(b.data.split.has_test_range);
    assert_true(b.data.split.val_fraction == 0.15);
    assert_true(b.data.split.seed == UINT64_MAX);
    assert_int_equal(b.data.extensions.n, 4);
    /* and the second writing is identical to the first */
    char *t1 = write_to_string(&a), *t2 = write_to_string(&b);
    assert_string_equal(t1, t2);
    assert_non_null(strstr(t1, "  sample_rate: 22050.5\n"));
    assert_non_null(strstr(t1, "  duration: 0.3s\n"));
    free(t1);
    free(t2);
    sl_config_free(&a);
    sl_config_free(&b);
    /* overrides on a file; an explicit "name: config" is kept, not replaced by the stem */
    snprintf(named, sizeof named, "%s/named.yaml", dir);
    const char *text2 = "name: config\ndata: {root: /x}\n";
    assert_int_equal(sl_write_file_atomic(named, text2, strlen(text2)), SL_OK);
    const char *ov[] = {"data.root=y"};
    if (sl_config_load(&a, named, ov, 1) != SL_OK) fail_msg("%s", sl_last_error());
    assert_string_equal(a.name, "config");
    assert_non_null(realpath(dir, want_root));
    strcat(want_root, "/y"); /* relative to the config's folder, not the current one */
    assert_string_equal(a.data.root, want_root);
    sl_config_free(&a);
    /* errors in a file name the file */
    const char *text3 = "data:\n  root: r\n  duration: -1s\n";
    assert_int_equal(sl_write_file_atomic(named, text3, strlen(text3)), SL_OK);
    assert_int_equal(sl_config_load(&a, named, NULL, 0), SL_ECONFIG);
    char want[1200];
    snprintf(want, sizeof want, "%s:3:13: data.duration: must not be negative (got -1s)", named);
    assert_string_equal(sl_last_error(), want);
    assert_null(a.data.extensions.items);
    /* a missing file names itself */
    snprintf(path, sizeof path, "%s/absent.yaml", dir);
    assert_int_equal(sl_config_load(&a, path, NULL, 0), SL_ECONFIG);
    assert_non_null(strstr(sl_last_error(), "absent.yaml: cannot open: No such file or directory"));
    snprintf(path, sizeof path, "%s/my-run.yaml", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(saved), 0);
    assert_int_equal(unlink(named), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* search.choices keep each value as --set would take it, survive a round trip, and an indexed
 * override reaches one transform of the augment list. */
static void test_search_and_indexed_overrides(void **state)
{
    (void)state;
    const char *text = "data: {root: recordings}\n"
                       "augment:\n  - gain: {db: [-6, 6]}\n  - speed: {factor: [0.9, 1.1]}\n"
                       "search:\n  strategy: random\n  trials: 12\n  time: 10min\n  choices:\n"
                       "    model.kernel: [5, 7, 9]\n    \"augment[1].speed.factor\": [[0.9, 1.1], [0.8, 1.2]]\n"
                       "    features.type: [logmel, mfcc]\n";
    sl_config c;
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "s.yaml", "/base", NULL, 0), SL_OK);
    assert_int_equal(c.search.strategy, SL_SEARCH_RANDOM);
    assert_int_equal(c.search.trials, 12);
    assert_true(c.search.time == 600);
    assert_int_equal(c.search.n_choices, 3);
    assert_string_equal(c.search.choices[1].key, "augment[1].speed.factor");
    assert_int_equal(c.search.choices[1].n, 2);
    assert_string_equal(c.search.choices[1].values[1], "[0.8, 1.2]");
    assert_string_equal(c.search.choices[2].values[1], "mfcc");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(sl_config_write(&c, f), SL_OK);
    fclose(f);
    sl_config d;
    assert_int_equal(sl_config_parse(&d, buf, len, "w.yaml", "/base", NULL, 0), SL_OK);
    assert_int_equal(d.search.n_choices, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(d.search.choices[i].key, c.search.choices[i].key);
        assert_int_equal(d.search.choices[i].n, c.search.choices[i].n);
        for (size_t j = 0; j < c.search.choices[i].n; j++)
            assert_string_equal(d.search.choices[i].values[j], c.search.choices[i].values[j]);
    }
    free(buf);
    sl_config_free(&d);
    sl_config_free(&c);
    /* indexed overrides */
    const char *ok[] = {"augment[1].speed.factor=[0.8, 1.2]", "augment[0].gain.p=0.5"};
    assert_int_equal(sl_config_parse(&c, text, strlen(text), "s.yaml", "/base", ok, 2), SL_OK);
    assert_true(c.augment.items[1].range[0] == 0.8 && c.augment.items[1].range[1] == 1.2);
    assert_true(c.augment.items[0].p == 0.5);
    sl_config_free(&c);
    static const struct {
        const char *set, *want;
    } bad[] = {
        {"augment[1].gain.db=[1, 2]", "augment[1] is speed, not gain"},
        {"augment[5].speed.p=1", "augment has 2 items"},
        {"augment[x].speed.p=1", "bad index"},
        {"model[0].kernel=3", "only augment takes an index"},
        {"augment[1]=3", "name the transform and a field"},
        {"search.choices={model.kernel: 3}", "expected a list of the values to try"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *one[1] = {bad[i].set};
        assert_int_equal(sl_config_parse(&c, text, strlen(text), "s.yaml", "/base", one, 1), SL_ECONFIG);
        if (!strstr(sl_last_error(), bad[i].want)) fail_msg("'%s': '%s' lacks '%s'", bad[i].set, sl_last_error(), bad[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_config),
        cmocka_unit_test(test_design_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_split_inference),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_augment),
        cmocka_unit_test(test_model_preset),
        cmocka_unit_test(test_round_trip_values),
        cmocka_unit_test(test_round_trip_and_file),
        cmocka_unit_test(test_search_and_indexed_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
