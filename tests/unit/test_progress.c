/* The progress bar: its text for known numbers (exact strings), when it draws and when it does
 * not, the redraw rate limit, and updates from several threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sigloop/progress.h"

static void expect_format(const char *want, const char *label, const char *unit, uint64_t done,
                          uint64_t total, double elapsed, const char *note)
{
    char buf[256];
    memset(buf, '?', sizeof buf);
    char *r = sl_progress_format(buf, sizeof buf, label, unit, done, total, elapsed, note);
    assert_ptr_equal(r, buf);
    if (strcmp(buf, want) != 0) fail_msg("got  \"%s\"\nwant \"%s\"", buf, want);
}

static void test_format_bar(void **state)
{
    (void)state;
    /* 1840/3000 at 1234 files/s: 12 of 20 cells, 1160 left take 0.94 s */
    expect_format("data  [############--------]  1840/3000  1234 files/s  ETA 0.9s  note", "data",
                  "files", 1840, 3000, 1840.0 / 1234.0, "note");
    expect_format("data  [##########----------]  1500/3000  1500 files/s  ETA 1.0s", "data", "files",
                  1500, 3000, 1.0, NULL);
    expect_format("data  [##########----------]  1500/3000  1500 files/s  ETA 1.0s", "data", "files",
                  1500, 3000, 1.0, ""); /* an empty note adds nothing */
    /* just under one cell: 0 filled */
    expect_format("w  [--------------------]  49/1000  49 items/s  ETA 19.4s", "w", "items", 49, 1000,
                  1.0, NULL);
    expect_format("w  [#-------------------]  50/1000  50 items/s  ETA 19.0s", "w", "items", 50, 1000,
                  1.0, NULL);
    /* one short of the total is never a full bar */
    expect_format("w  [###################-]  999/1000  999 items/s  ETA 0.0s", "w", "items", 999,
                  1000, 1.0, NULL);
}

static void test_format_eta(void **state)
{
    (void)state;
    /* done = total / 2, so the ETA equals the elapsed time */
    expect_format("e  [##########----------]  500/1000  10 u/s  ETA 50.0s", "e", "u", 500, 1000, 50.0, NULL);
    expect_format("e  [##########----------]  500/1000  8 u/s  ETA 59.9s", "e", "u", 500, 1000, 59.94, NULL);
    /* rounded once: never "60.0s" or "0:60" */
    expect_format("e  [##########----------]  500/1000  8 u/s  ETA 1:00", "e", "u", 500, 1000, 59.97, NULL);
    expect_format("e  [##########----------]  500/1000  6 u/s  ETA 1:30", "e", "u", 500, 1000, 90.0, NULL);
    expect_format("e  [##########----------]  500/1000  0 u/s  ETA 59:59", "e", "u", 500, 1000, 3599.0, NULL);
    expect_format("e  [##########----------]  500/1000  0 u/s  ETA 1:00:00", "e", "u", 500, 1000, 3599.6, NULL);
    /* 10 of 100000 at 10/s: 9999 s */
    expect_format("train  [--------------------]  10/100000  10 samples/s  ETA 2:46:39  loss 0.42", "train",
                  "samples", 10, 100000, 1.0, "loss 0.42");
    expect_format("e  [##########----------]  500/1000  0 u/s  ETA 27:46:40", "e", "u", 500, 1000, 100000.0, NULL);
}

static void test_format_edges(void **state)
{
    (void)state;
    /* total 0: no bar and no ETA, only the count and rate */
    expect_format("scan  42  21 files/s", "scan", "files", 42, 0, 2.0, NULL);
    expect_format("scan  42  21 files/s  dir 3", "scan", "files", 42, 0, 2.0, "dir 3");
    /* finished: a full bar and no ETA */
    expect_format("x  [####################]  100/100  25 items/s", "x", "items", 100, 100, 4.0, NULL);
    /* overshoot: the bar stays full, the count is the truth */
    expect_format("x  [####################]  120/100  30 items/s", "x", "items", 120, 100, 4.0, NULL);
    /* nothing done or no time elapsed: rate 0 and no ETA */
    expect_format("x  [--------------------]  0/100  0 items/s", "x", "items", 0, 100, 3.0, NULL);
    expect_format("x  [#####---------------]  25/100  0 items/s", "x", "items", 25, 100, 0.0, NULL);
    /* NULL label and unit */
    expect_format("  7  7 items/s", NULL, NULL, 7, 0, 1.0, NULL);
    /* large counts */
    expect_format("big  [##########----------]  5000000000/10000000000  1000000000 B/s  ETA 5.0s", "big", "B",
                  5000000000ull, 10000000000ull, 5.0, NULL);
    /* a small buffer is filled and terminated, never overrun */
    char tiny[9];
    memset(tiny, 'Z', sizeof tiny);
    char guard = tiny[8];
    sl_progress_format(tiny, 8, "long label", "u", 1, 2, 1.0, NULL);
    assert_string_equal(tiny, "long la");
    assert_int_equal(tiny[8], guard);
    char one[1] = {'Z'};
    sl_progress_format(one, 1, "x", "u", 1, 2, 1.0, NULL);
    assert_int_equal(one[0], '\0');
}

/* Everything written to f so far. */
static char *contents(FILE *f, size_t *len)
{
    fflush(f);
    long n = ftell(f);
    assert_true(n >= 0);
    char *s = calloc((size_t)n + 1, 1);
    assert_non_null(s);
    rewind(f);
    *len = fread(s, 1, (size_t)n, f);
    assert_int_equal(*len, (size_t)n);
    fseek(f, 0, SEEK_END);
    return s;
}

static int count_char(const char *s, size_t len, char c)
{
    int k = 0;
    for (size_t i = 0; i < len; i++) k += s[i] == c;
    return k;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_never_draws_when_told(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    sl_progress *p;
    sl_progress_opts quiet = {.label = "data", .unit = "files", .stream = f, .force = -1};
    assert_int_equal(sl_progress_new(&p, &quiet, 10), SL_OK);
    assert_false(sl_progress_active(p));
    for (int i = 0; i < 10; i++) sl_progress_add(p, 1);
    sl_progress_note(p, "a note");
    sleep_ms(120);
    sl_progress_add(p, 0);
    sl_progress_free(p);
    assert_int_equal(ftell(f), 0);
    /* a tmpfile is no terminal: the default draws nothing either */
    sl_progress_opts dflt = {.label = "d", .unit = "u", .stream = f, .force = 0};
    assert_int_equal(sl_progress_new(&p, &dflt, 3), SL_OK);
    assert_false(sl_progress_active(p));
    sl_progress_add(p, 3);
    sl_progress_free(p);
    assert_int_equal(ftell(f), 0);
    fclose(f);
    /* NULL-safe */
    sl_progress_free(NULL);
    sl_progress_add(NULL, 1);
    sl_progress_note(NULL, "x");
    assert_false(sl_progress_active(NULL));
}

static void test_forced_draws(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    sl_progress *p;
    sl_progress_opts loud = {.label = "data", .unit = "files", .stream = f, .force = 1};
    assert_int_equal(sl_progress_new(&p, &loud, 10), SL_OK);
    assert_true(sl_progress_active(p));
    for (int i = 0; i < 10; i++) sl_progress_add(p, 1);
    size_t len;
    char *s = contents(f, &len);
    /* the first add draws at once; the last one (done == total) draws whatever the clock says */
    assert_true(len > 0);
    assert_int_equal(s[0], '\r');
    assert_non_null(strstr(s, "\rdata  [##------------------]  1/10"));
    assert_non_null(strstr(s, "\rdata  [####################]  10/10"));
    assert_non_null(strstr(s, "\x1b[K"));
    assert_null(strchr(s, '\n')); /* one line, redrawn in place */
    free(s);
    sl_progress_free(p);
    s = contents(f, &len);
    /* the line is cleared on free */
    assert_true(len >= 4);
    assert_string_equal(s + len - 4, "\r\x1b[K");
    free(s);
    fclose(f);
}

static void test_rate_limit_and_note(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    sl_progress *p;
    sl_progress_opts opts = {.label = "feat", .unit = "clips", .stream = f, .force = 1};
    assert_int_equal(sl_progress_new(&p, &opts, 1000000), SL_OK);
    for (int i = 0; i < 5000; i++) sl_progress_add(p, 1);
    size_t len;
    char *s = contents(f, &len);
    /* 5000 adds within far less than 100 ms: only the first drew */
    int draws = count_char(s, len, '\r');
    if (draws < 1 || draws > 2) fail_msg("%d redraws for 5000 quick adds", draws);
    free(s);
    sleep_ms(150);
    sl_progress_note(p, "loss 0.42");
    sl_progress_add(p, 1);
    s = contents(f, &len);
    assert_true(count_char(s, len, '\r') > draws);
    assert_non_null(strstr(s, "5001/1000000"));
    assert_non_null(strstr(s, "  loss 0.42\x1b[K"));
    free(s);
    sl_progress_free(p);
    fclose(f);

    /* total 0: count and rate only */
    f = tmpfile();
    assert_non_null(f);
    opts.stream = f;
    assert_int_equal(sl_progress_new(&p, &opts, 0), SL_OK);
    sl_progress_add(p, 5);
    s = contents(f, &len);
    assert_non_null(strstr(s, "\rfeat  5  "));
    assert_null(strstr(s, "  [")); /* no bar (the erase code \x1b[K has a bracket too) */
    assert_null(strstr(s, "ETA"));
    free(s);
    sl_progress_free(p);
    fclose(f);
}

typedef struct {
    sl_progress *p;
    int n;
} adder;

static void *add_many(void *varg)
{
    adder *a = varg;
    for (int i = 0; i < a->n; i++) {
        sl_progress_add(a->p, 1);
        if (i % 1000 == 0) sl_progress_note(a->p, "busy");
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    sl_progress *p;
    sl_progress_opts opts = {.label = "mt", .unit = "items", .stream = f, .force = 1};
    assert_int_equal(sl_progress_new(&p, &opts, 200000), SL_OK);
    pthread_t th[4];
    adder a = {p, 50000};
    for (int k = 0; k < 4; k++) assert_int_equal(pthread_create(&th[k], NULL, add_many, &a), 0);
    for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
    /* no add was lost: one more (of nothing) at done == total draws the exact total */
    sl_progress_add(p, 0);
    size_t len;
    char *s = contents(f, &len);
    assert_non_null(strstr(s, "mt  [####################]  200000/200000"));
    free(s);
    sl_progress_free(p);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_bar),
        cmocka_unit_test(test_format_eta),
        cmocka_unit_test(test_format_edges),
        cmocka_unit_test(test_never_draws_when_told),
        cmocka_unit_test(test_forced_draws),
        cmocka_unit_test(test_rate_limit_and_note),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
