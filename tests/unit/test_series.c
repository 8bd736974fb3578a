/* CSV time series: files with and without timestamps, the time column found by name or
 * automatically, the rate from the median spacing, and every malformed file refused with its
 * exact "file:line:col" message. Every file is made here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigloop/audio.h"
#include "sigloop/fileio.h"

static char g_dir[1024];

/* Writes text to a file in the test folder and returns its path (in a static buffer). */
static const char *write_text(const char *name, const char *text)
{
    static char p[1100];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    size_t n = strlen(text);
    if (n) assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return p;
}

static sl_series read_ok(const char *name, const char *text, const sl_series_opts *o)
{
    const char *p = write_text(name, text);
    sl_series s;
    if (sl_series_read_csv(p, o, &s) != SL_OK) fail_msg("%s", sl_last_error());
    return s;
}

/* Fails with `want` and a one-line message that holds the path and msg; *out zeroed. */
static void expect_fail(const char *name, const char *text, const sl_series_opts *o, sl_status want, const char *msg)
{
    const char *p = write_text(name, text);
    sl_series s;
    memset(&s, 0xA5, sizeof s);
    sl_status st = sl_series_read_csv(p, o, &s);
    const char *e = sl_last_error();
    if (st != want) fail_msg("%s: status %d, want %d (%s)", name, (int)st, (int)want, e);
    if (!strstr(e, p) || !strstr(e, msg) || strchr(e, '\n')) fail_msg("%s: '%s' lacks '%s' or the path", name, e, msg);
    assert_null(s.x);
    assert_null(s.names);
    assert_int_equal(s.n_frames, 0);
    assert_int_equal(s.n_channels, 0);
}

static const sl_series_opts AUTO = {.time_column = "", .sample_rate = 0, .max_frames = 0};

static void test_with_time(void **state)
{
    (void)state;
    /* CRLF, spaces around names and cells, a quoted name, a late sample, blank lines at the end */
    sl_series s = read_ok("imu.csv",
                          "Time, ax, \"ay\" ,az\r\n0.00,1,2,3\r\n0.01, 4 ,5,6\r\n0.02,7,8,9\r\n0.031,-1.5e-3,1,1\r\n"
                          "0.04,0,0,0\r\n\r\n\r\n",
                          &AUTO);
    assert_int_equal(s.n_frames, 5);
    assert_int_equal(s.n_channels, 3);
    assert_string_equal(s.names[0], "ax");
    assert_string_equal(s.names[1], "ay");
    assert_string_equal(s.names[2], "az");
    assert_true(s.has_time);
    /* spacings 0.01, 0.01, 0.011, 0.009: median 0.01 */
    assert_true(fabs(s.sample_rate - 100) < 1e-6);
    const float want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, -1.5e-3f, 1, 1, 0, 0, 0};
    for (size_t i = 0; i < 15; i++) assert_true(s.x[i] == want[i]);
    sl_series_free(&s);
    assert_null(s.x);
    sl_series_free(NULL);

    /* the time column anywhere, by its auto names */
    s = read_ok("ts.csv", "a,TIMESTAMP\n1,10\n2,10.5\n3,11\n", &AUTO);
    assert_int_equal(s.n_channels, 1);
    assert_string_equal(s.names[0], "a");
    assert_true(s.sample_rate == 2);
    assert_true(s.x[2] == 3);
    sl_series_free(&s);
    s = read_ok("t.csv", "t,a\n0,1\n0.5,2\n", &AUTO);
    assert_true(s.has_time && s.sample_rate == 2);
    sl_series_free(&s);

    /* by a given name (exact), with an even number of spacings: the mean of the middle two */
    sl_series_opts named = {.time_column = "ts", .sample_rate = 0, .max_frames = 0};
    s = read_ok("named.csv", "time,ts,b\n5,0,1\n6,0.1,1\n7,0.2,1\n8,0.4,1\n9,0.6,1\n", &named);
    assert_int_equal(s.n_channels, 2);
    assert_string_equal(s.names[0], "time"); /* a data column when another is the time */
    assert_true(fabs(s.sample_rate - 1 / 0.15) < 1e-9);
    sl_series_free(&s);
    expect_fail("named_missing.csv", "time,a\n0,1\n", &named, SL_EFORMAT, "named_missing.csv:1: no column 'ts'");

    /* timestamps beat a rate given by the caller */
    sl_series_opts both = {.time_column = "", .sample_rate = 7, .max_frames = 0};
    s = read_ok("both.csv", "time,a\n0,1\n0.02,2\n", &both);
    assert_true(fabs(s.sample_rate - 50) < 1e-9);
    sl_series_free(&s);
    /* one row cannot give a rate of its own */
    s = read_ok("one.csv", "time,a\n0,1\n", &both);
    assert_true(s.sample_rate == 7);
    sl_series_free(&s);
    expect_fail("one.csv", "time,a\n0,1\n", &AUTO, SL_EARG, "one.csv: one row cannot give a rate: set a sample rate");
}

static void test_without_time(void **state)
{
    (void)state;
    sl_series_opts o = {.time_column = NULL, .sample_rate = 50, .max_frames = 0};
    sl_series s = read_ok("raw.csv", "\xEF\xBB\xBFx,y\n1,2\n3,4\n", &o); /* with a byte-order mark */
    assert_false(s.has_time);
    assert_true(s.sample_rate == 50);
    assert_int_equal(s.n_channels, 2);
    assert_int_equal(s.n_frames, 2);
    assert_string_equal(s.names[0], "x");
    assert_true(s.x[3] == 4);
    sl_series_free(&s);
    /* time_column NULL: a column called time is data like any other */
    s = read_ok("notime.csv", "time,y\n3,2\n1,4\n", &o);
    assert_false(s.has_time);
    assert_int_equal(s.n_channels, 2);
    sl_series_free(&s);
    /* auto finds nothing: the caller's rate */
    sl_series_opts a = {.time_column = "", .sample_rate = 25, .max_frames = 0};
    s = read_ok("raw2.csv", "x,y\n1,2\n", &a);
    assert_false(s.has_time);
    assert_true(s.sample_rate == 25);
    sl_series_free(&s);

    o.sample_rate = 0;
    expect_fail("norate.csv", "x,y\n1,2\n3,4\n", &o, SL_EARG, "norate.csv: no time column: set a sample rate");
    o.sample_rate = -1;
    expect_fail("negrate.csv", "x,y\n1,2\n", &o, SL_EARG, "negrate.csv: sample rate -1");
    assert_int_equal(sl_series_read_csv(write_text("nullopts.csv", "x\n1\n"), NULL, &s), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "no time column: set a sample rate"));
}

static void test_bad_cells(void **state)
{
    (void)state;
    expect_fail("nan.csv", "t,a,b\n0,1,2\n0.1,NaN,2\n", &AUTO, SL_EFORMAT, "nan.csv:3:2: NaN is not allowed");
    expect_fail("nan2.csv", "t,a,b\n0,1,2\n0.1,1,-nan\n", &AUTO, SL_EFORMAT, "nan2.csv:3:3: NaN is not allowed");
    expect_fail("txt.csv", "t,a,b\n0,1,2\n0.1,1,abc\n", &AUTO, SL_EFORMAT, "txt.csv:3:3: 'abc' is not a number");
    expect_fail("part.csv", "t,a\n0,1.5x\n", &AUTO, SL_EFORMAT, "part.csv:2:2: '1.5x' is not a number");
    expect_fail("emptycell.csv", "t,a,b\n0,,2\n", &AUTO, SL_EFORMAT, "emptycell.csv:2:2: '' is not a number");
    expect_fail("inf.csv", "t,a\n0,1\n0.1,inf\n", &AUTO, SL_EFORMAT, "inf.csv:3:2: infinity is not allowed");
    expect_fail("minf.csv", "t,a\n0,-Infinity\n", &AUTO, SL_EFORMAT, "minf.csv:2:2: infinity is not allowed");
    expect_fail("big.csv", "t,a\n0,1e999\n", &AUTO, SL_EFORMAT, "big.csv:2:2: '1e999' is out of range");
    expect_fail("bigf.csv", "t,a\n0,1e39\n", &AUTO, SL_EFORMAT, "bigf.csv:2:2: '1e39' is out of range");
    expect_fail("tnan.csv", "t,a\n0,1\nnan,1\n", &AUTO, SL_EFORMAT, "tnan.csv:3:1: NaN is not allowed");
    /* line 14, column 3, after a dozen good rows */
    char text[512] = "t,a,b\n";
    for (int i = 0; i < 12; i++) snprintf(text + strlen(text), sizeof text - strlen(text), "%d,1,2\n", i);
    strcat(text, "12,1,abc\n");
    expect_fail("deep.csv", text, &AUTO, SL_EFORMAT, "deep.csv:14:3: 'abc' is not a number");
}

static void test_bad_shape(void **state)
{
    (void)state;
    expect_fail("short.csv", "t,a,b,c\n0,1,2,3\n0.1,1,2,3\n0.2,1,2,3\n0.3,1,2\n", &AUTO, SL_EFORMAT,
                "short.csv:5: expected 4 columns, found 3");
    expect_fail("long.csv", "t,a\n0,1,2\n", &AUTO, SL_EFORMAT, "long.csv:2: expected 2 columns, found 3");
    expect_fail("back.csv", "t,a\n0,1\n0.01,1\n0.03,1\n0.02,1\n", &AUTO, SL_EFORMAT,
                "back.csv:5:1: time does not increase (0.02 after 0.03)");
    expect_fail("same.csv", "a,time\n1,0\n1,1000000.25\n1,1000000.25\n", &AUTO, SL_EFORMAT,
                "same.csv:4:2: time does not increase (1000000.25 after 1000000.25)");
    expect_fail("head.csv", "t,a\n", &AUTO, SL_EFORMAT, "head.csv: no data rows");
    expect_fail("headblank.csv", "t,a\r\n\r\n  \n", &AUTO, SL_EFORMAT, "headblank.csv: no data rows");
    expect_fail("empty.csv", "", &AUTO, SL_EFORMAT, "empty.csv: empty");
    expect_fail("blanks.csv", "\n\n \n", &AUTO, SL_EFORMAT, "blanks.csv: empty");
    expect_fail("gap.csv", "t,a\n0,1\n\n0.1,2\n", &AUTO, SL_EFORMAT, "gap.csv:3: blank line inside the data");
    expect_fail("noname.csv", "t,,a\n0,1,2\n", &AUTO, SL_EFORMAT, "noname.csv:1:2: empty column name");
    expect_fail("onlytime.csv", "time\n0\n1\n", &AUTO, SL_EFORMAT, "onlytime.csv:1: no data columns besides the time");
    {
        /* a NUL byte inside a row */
        char p[1100];
        snprintf(p, sizeof p, "%s/nul.csv", g_dir);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        fwrite("t,a\n0,1\0\n", 1, 9, f);
        fclose(f);
        sl_series s;
        assert_int_equal(sl_series_read_csv(p, &AUTO, &s), SL_EFORMAT);
        assert_non_null(strstr(sl_last_error(), "nul.csv:2: NUL byte"));
    }
    sl_series s;
    char p[1100];
    snprintf(p, sizeof p, "%s/does_not_exist.csv", g_dir);
    assert_int_equal(sl_series_read_csv(p, &AUTO, &s), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "does_not_exist.csv: cannot open: No such file or directory"));

    /* the row cap */
    sl_series_opts capped = {.time_column = "", .sample_rate = 0, .max_frames = 3};
    s = read_ok("cap_ok.csv", "t,a\n0,1\n1,1\n2,1\n", &capped);
    assert_int_equal(s.n_frames, 3);
    sl_series_free(&s);
    expect_fail("cap.csv", "t,a\n0,1\n1,1\n2,1\n3,1\n", &capped, SL_EFORMAT, "cap.csv:5: more than the limit of 3 rows");
}

/* Many rows and columns: the buffers grow past their first size and keep every value. */
static void test_large(void **state)
{
    (void)state;
    const int rows = 5000, cols = 17;
    size_t cap = (size_t)rows * 200 + 200;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t k = (size_t)snprintf(text, cap, "time");
    for (int c = 0; c < cols; c++) k += (size_t)snprintf(text + k, cap - k, ",c%d", c);
    k += (size_t)snprintf(text + k, cap - k, "\n");
    for (int r = 0; r < rows; r++) {
        k += (size_t)snprintf(text + k, cap - k, "%.6f", r / 250.0);
        for (int c = 0; c < cols; c++) k += (size_t)snprintf(text + k, cap - k, ",%d", r * cols + c);
        k += (size_t)snprintf(text + k, cap - k, "\n");
    }
    sl_series s = read_ok("large.csv", text, &AUTO);
    free(text);
    assert_int_equal(s.n_frames, (size_t)rows);
    assert_int_equal(s.n_channels, (size_t)cols);
    assert_string_equal(s.names[16], "c16");
    assert_true(fabs(s.sample_rate - 250) < 1e-6);
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
        if (s.x[i] != (float)i) fail_msg("value %zu: %g", i, s.x[i]);
    sl_series_free(&s);
}

/* Removes the test's files and its folder. */
static int remove_files(void **state)
{
    (void)state;
    DIR *d = opendir(g_dir);
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(g_dir);
    return 0;
}

int main(void)
{
    if (sl_test_tmp_dir(g_dir, sizeof g_dir, "series") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_with_time), cmocka_unit_test(test_without_time), cmocka_unit_test(test_bad_cells),
        cmocka_unit_test(test_bad_shape), cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, remove_files);
}
