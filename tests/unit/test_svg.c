/* SVG charts: every chart read back by a small XML checker (balanced tags, quoted attributes, no
 * raw & < > in text or attribute values), hostile labels escaped, NaN gaps, flat and one-point
 * series, the tick rule, the heat map's cells and cell text, the bars, the reliability bins, and
 * bad inputs refused with nothing written.
 *
 * Run as `test_svg --write-sample DIR` it writes DIR/sample.html, a page with one chart of each
 * kind, for tests/cli/svg_render.sh to render in a browser, and exits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigloop/svg.h"

/* ---- an XML checker for the subset the charts use ---- */

typedef struct {
    size_t roots;         /* top-level elements */
    char root[24];        /* the first one's name */
    char first_child[24]; /* the name of its first child element */
} xml_info;

/* The end of the character reference at p (at '&'), or NULL if there is none. */
static const char *entity_end(const char *p)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (strncmp(p, named[i], strlen(named[i])) == 0) return p + strlen(named[i]);
    if (p[1] != '#') return NULL;
    const char *q = p + 2, *digits;
    int hex = *q == 'x';
    digits = q += hex;
    while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q)) q++;
    return q > digits && q - digits <= 7 && *q == ';' ? q + 1 : NULL;
}

static const char *read_name(const char *p, char *name, size_t size, size_t at)
{
    size_t n = 0;
    if (!isalpha((unsigned char)*p)) fail_msg("byte %zu: a name must start with a letter, got '%c'", at, *p);
    while (isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == ':' || p[n] == '_') n++;
    if (n >= size) fail_msg("byte %zu: name of %zu characters", at, n);
    memcpy(name, p, n);
    name[n] = '\0';
    return p + n;
}

/* Fails the test unless s (after an optional <!DOCTYPE html>) is a sequence of well-formed
 * elements: every tag closed in order, attributes written name="value" once each, and text and
 * values free of < and of & not starting a character reference; text also free of >. */
static xml_info check_xml(const char *s)
{
    xml_info info = {0, "", ""};
    char stack[64][24];
    int depth = 0;
    size_t root_children = 0;
    const char *p = s;
    if (strncmp(p, "<!DOCTYPE html>", 15) == 0) p += 15;
    while (*p) {
        size_t at = (size_t)(p - s);
        if (*p != '<') {
            if (*p == '>') fail_msg("byte %zu: raw '>' in text", at);
            if (*p == '&') {
                const char *q = entity_end(p);
                if (!q) fail_msg("byte %zu: unescaped '&' in text: %.20s", at, p);
                p = q;
                continue;
            }
            if (depth == 0 && !isspace((unsigned char)*p)) fail_msg("byte %zu: text outside every element", at);
            p++;
            continue;
        }
        char name[24];
        if (p[1] == '/') {
            p = read_name(p + 2, name, sizeof name, at);
            if (depth == 0 || strcmp(name, stack[depth - 1]) != 0)
                fail_msg("byte %zu: </%s> closes <%s>", at, name, depth ? stack[depth - 1] : "nothing");
            if (*p++ != '>') fail_msg("byte %zu: </%s not ended by '>'", at, name);
            depth--;
            continue;
        }
        p = read_name(p + 1, name, sizeof name, at);
        if (depth == 0) {
            if (info.roots++ == 0) snprintf(info.root, sizeof info.root, "%s", name);
            root_children = 0;
        } else if (depth == 1 && root_children++ == 0 && info.roots == 1) {
            snprintf(info.first_child, sizeof info.first_child, "%s", name);
        }
        char attrs[32][24];
        int n_attrs = 0, closed = 0;
        for (;;) {
            int space = 0;
            for (; *p == ' ' || *p == '\n' || *p == '\t'; p++) space = 1;
            if (*p == '>') {
                p++;
                break;
            }
            if (p[0] == '/' && p[1] == '>') {
                p += 2;
                closed = 1;
                break;
            }
            if (!space) fail_msg("byte %zu: <%s: expected a space, '>' or '/>', got '%c'", at, name, *p);
            if (n_attrs == 32) fail_msg("byte %zu: <%s has over 32 attributes", at, name);
            p = read_name(p, attrs[n_attrs], sizeof attrs[0], (size_t)(p - s));
            for (int k = 0; k < n_attrs; k++)
                if (strcmp(attrs[k], attrs[n_attrs]) == 0) fail_msg("byte %zu: <%s: %s twice", at, name, attrs[k]);
            if (p[0] != '=' || p[1] != '"') fail_msg("byte %zu: <%s: %s not followed by =\"", at, name, attrs[n_attrs]);
            n_attrs++;
            for (p += 2; *p != '"'; p++) {
                if (!*p || *p == '<') fail_msg("byte %zu: <%s: '<' or end inside a value", at, name);
                if (*p == '&' && !entity_end(p)) fail_msg("byte %zu: <%s: unescaped '&' in a value", at, name);
            }
            p++;
        }
        if (!closed) {
            if (depth == 64) fail_msg("byte %zu: nested over 64 deep", at);
            snprintf(stack[depth++], sizeof stack[0], "%s", name);
        }
    }
    if (depth) fail_msg("<%s> never closed", stack[depth - 1]);
    return info;
}

/* One chart: a single <svg> root whose first child is its <title>, with a viewBox, and no NaN or
 * infinity written anywhere. */
static void check_chart(const char *s)
{
    assert_non_null(s);
    xml_info x = check_xml(s);
    assert_int_equal(x.roots, 1);
    assert_string_equal(x.root, "svg");
    assert_string_equal(x.first_child, "title");
    assert_non_null(strstr(s, "viewBox=\"0 0 "));
    assert_non_null(strstr(s, "role=\"img\" aria-label=\""));
    if (strstr(s, "nan") || strstr(s, "inf") || strstr(s, "NaN") || strstr(s, "Inf"))
        fail_msg("a non-finite number in the output: %.300s", s);
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what)) n++;
    return n;
}

/* ---- the text buffer ---- */

static void test_text_buffer(void **state)
{
    (void)state;
    sl_text t = {0};
    for (int i = 0; i < 5000; i++) assert_int_equal(sl_text_printf(&t, "%d,", i % 10), SL_OK);
    assert_int_equal(t.len, 10000);
    assert_int_equal(strlen(t.s), 10000);
    assert_true(t.cap > t.len);
    assert_memory_equal(t.s, "0,1,2,3,4,", 10);
    assert_memory_equal(t.s + 9990, "5,6,7,8,9,", 10);
    /* one append larger than the buffer */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(sl_text_printf(&t, "[%s]", big), SL_OK);
    assert_int_equal(t.len, 10000 + 3001);
    assert_int_equal(t.s[t.len - 1], ']');
    sl_text_free(&t);
    assert_null(t.s);
    assert_int_equal(t.len + t.cap, 0);

    assert_int_equal(sl_text_escape(&t, "<script>alert('x & \"y\"')</script> caf\xc3\xa9"), SL_OK);
    assert_string_equal(t.s, "&lt;script&gt;alert(&#39;x &amp; &quot;y&quot;&#39;)&lt;/script&gt; caf\xc3\xa9");
    assert_int_equal(sl_text_escape(&t, NULL), SL_OK);
    size_t len = t.len;
    t.failed = 1; /* after a failed allocation, appends do nothing */
    assert_int_equal(sl_text_printf(&t, "more"), SL_ENOMEM);
    assert_int_equal(sl_text_escape(&t, "more"), SL_ENOMEM);
    assert_int_equal(t.len, len);
    sl_text_free(&t);
    assert_int_equal(t.failed, 0);
    assert_int_equal(sl_text_printf(NULL, "x"), SL_EARG);
    assert_int_equal(sl_text_escape(NULL, "x"), SL_EARG);
    sl_text_free(NULL);
}

/* ---- ticks ---- */

static void expect_ticks(double lo, double hi, int max, const double *want, size_t n_want)
{
    double t[32], step;
    size_t n;
    assert_int_equal(sl_svg_ticks(lo, hi, max, t, 32, &n, &step), SL_OK);
    if (n != n_want) fail_msg("[%g, %g] / %d: %zu ticks, want %zu", lo, hi, max, n, n_want);
    for (size_t i = 0; i < n; i++)
        if (fabs(t[i] - want[i]) > 1e-12 * fmax(1, fabs(want[i])))
            fail_msg("[%g, %g] / %d: tick %zu is %.17g, want %g", lo, hi, max, i, t[i], want[i]);
}

static void test_ticks(void **state)
{
    (void)state;
    expect_ticks(0, 1, 5, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6);
    expect_ticks(0, 37, 5, (double[]){0, 10, 20, 30}, 4);
    expect_ticks(0, 37, 8, (double[]){0, 5, 10, 15, 20, 25, 30, 35}, 8);
    expect_ticks(-10, 30, 5, (double[]){-10, 0, 10, 20, 30}, 5);
    expect_ticks(0.0012, 0.0049, 4, (double[]){0.002, 0.003, 0.004}, 3);
    expect_ticks(-0.3, 0.3, 6, (double[]){-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3}, 7);
    expect_ticks(1, 50, 10, (double[]){5, 10, 15, 20, 25, 30, 35, 40, 45, 50}, 10);
    expect_ticks(7, 7, 5, (double[]){7}, 1);
    /* the rule on many ranges: a 1-2-5 step, at most max intervals, and the next smaller 1-2-5
     * step would make too many; the ticks are the step's multiples inside the range */
    double t[32], step;
    size_t n;
    for (int i = 1; i < 400; i++) {
        double lo = -50 + 0.37 * i * i / 7, hi = lo + pow(1.13, i % 90) * 1e-3;
        int max = 2 + i % 9;
        assert_int_equal(sl_svg_ticks(lo, hi, max, t, 32, &n, &step), SL_OK);
        double e = floor(log10(step)), m = step / pow(10, e);
        if (fabs(m - 1) > 1e-9 && fabs(m - 2) > 1e-9 && fabs(m - 5) > 1e-9) fail_msg("step %g is not 1-2-5", step);
        assert_true((hi - lo) / step <= max * (1 + 1e-9));
        double smaller = fabs(m - 1) < 1e-9 ? step / 2 : fabs(m - 2) < 1e-9 ? step / 2 : step * 0.4;
        if ((hi - lo) / smaller <= max) fail_msg("[%g, %g] / %d: step %g is not the smallest", lo, hi, max, step);
        assert_true(n >= 1);
        assert_true(t[0] >= lo - 1e-9 * step && t[0] - step < lo);
        assert_true(t[n - 1] <= hi + 1e-9 * step && t[n - 1] + step > hi);
    }
    assert_int_equal(sl_svg_ticks(NAN, 1, 5, t, 32, &n, NULL), SL_EARG);
    assert_int_equal(sl_svg_ticks(0, INFINITY, 5, t, 32, &n, NULL), SL_EARG);
    assert_int_equal(sl_svg_ticks(2, 1, 5, t, 32, &n, NULL), SL_EARG);
    assert_int_equal(sl_svg_ticks(0, 1, 0, t, 32, &n, NULL), SL_EARG);
    assert_int_equal(sl_svg_ticks(0, 1, 5, t, 3, &n, NULL), SL_EARG); /* 6 ticks, room for 3 */
    assert_int_equal(sl_svg_ticks(0, 1, 5, NULL, 32, &n, NULL), SL_EARG);
    assert_true(strlen(sl_last_error()) > 0);
}

/* ---- line charts ---- */

static void test_lines(void **state)
{
    (void)state;
    double x[30], loss[30], val[30];
    for (int i = 0; i < 30; i++) {
        x[i] = i + 1;
        loss[i] = 2.3 * exp(-i / 6.0) + 0.05;
        val[i] = loss[i] + 0.1 + 0.004 * i;
    }
    sl_svg_series s[2] = {{"training", x, loss, 30, 0, 0, 1}, {"validation", x, val, 30, 1, 1, 1}};
    sl_svg_vline best = {17, "best epoch 17"};
    sl_svg_line_chart c = {"Loss", "epoch", "cross-entropy", 0, 0, s, 2, &best, 1, 0, 0, 0, 0};
    sl_text t = {0};
    assert_int_equal(sl_svg_lines(&t, &c), SL_OK);
    check_chart(t.s);
    assert_non_null(strstr(t.s, "viewBox=\"0 0 640 360\""));
    assert_int_equal(count(t.s, "<path d=\"M"), 2); /* one line per series, no gaps */
    assert_int_equal(count(t.s, "stroke-dasharray=\"7 4\""), 2); /* the dashed series and its legend */
    assert_int_equal(count(t.s, ">training</text>") + count(t.s, ">validation</text>"), 2);
    assert_non_null(strstr(t.s, ">best epoch 17</text>"));
    assert_non_null(strstr(t.s, ">epoch</text>"));
    assert_non_null(strstr(t.s, ">cross-entropy</text>"));
    /* colour 1 for both: two lines, 30 markers on one, two legend lines and a legend marker */
    assert_int_equal(count(t.s, "stroke=\"#0072B2\""), 2 + 30 + 2 + 1);
    /* automatic y: [0.05, 2.5] widened to the ticks, 0 to 2.5 in steps of 0.5 */
    assert_non_null(strstr(t.s, ">0.0</text>"));
    assert_non_null(strstr(t.s, ">2.5</text>"));
    /* a fixed range, with a negative tick written with a true minus */
    c.y_min = -1;
    c.y_max = 3;
    size_t before = t.len;
    assert_int_equal(sl_svg_lines(&t, &c), SL_OK);
    assert_non_null(strstr(t.s + before, ">&#8722;1</text>"));
    assert_int_equal(check_xml(t.s).roots, 2); /* charts append */
    sl_text_free(&t);
}

static void test_lines_gaps_and_flat(void **state)
{
    (void)state;
    double x[7] = {1, 2, 3, 4, 5, 6, 7}, y[7] = {1, 2, NAN, 4, 5, INFINITY, 7};
    sl_svg_series s = {"gappy", x, y, 7, 0, 0, 0};
    sl_svg_line_chart c = {"Gaps", NULL, NULL, 400, 300, &s, 1, NULL, 0, 0, 0, 0, 0};
    sl_text t = {0};
    assert_int_equal(sl_svg_lines(&t, &c), SL_OK);
    check_chart(t.s);
    const char *d = strstr(t.s, "<path d=\"");
    assert_non_null(d);
    d += 9;
    size_t moves = 0, lines = 0;
    for (; *d != '"'; d++) moves += *d == 'M', lines += *d == 'L';
    assert_int_equal(moves, 3); /* 1-2, 4-5, 7 */
    assert_int_equal(lines, 2);
    assert_int_equal(count(t.s, "<circle"), 1); /* the lone point 7 gets a dot */
    sl_text_free(&t);

    /* a flat series, a single point and an all-NaN series all draw */
    double flat[4] = {0.5, 0.5, 0.5, 0.5}, one_x = 3, one_y = 0.9, none[2] = {NAN, NAN};
    sl_svg_series f[3] = {{"flat", x, flat, 4, 0, 0, 0}, {"one", &one_x, &one_y, 1, 0, 0, 0},
                          {"none", x, none, 2, 0, 0, 0}};
    for (size_t k = 0; k < 3; k++) {
        c.series = &f[k];
        assert_int_equal(sl_svg_lines(&t, &c), SL_OK);
        check_chart(t.s);
        assert_non_null(strstr(t.s, "<path d=\""));
        if (k == 1) assert_int_equal(count(t.s, "<circle"), 1);
        if (k == 2) assert_non_null(strstr(t.s, ">no finite data</text>"));
        sl_text_free(&t);
    }
    c.series = f;
    c.n_series = 2; /* flat 0.5 and one point at 0.9 */
    assert_int_equal(sl_svg_lines(&t, &c), SL_OK);
    check_chart(t.s);
    sl_text_free(&t);
}

/* ---- hostile text ---- */

static void test_escaping(void **state)
{
    (void)state;
    const char *evil = "<script>alert(\"x\")</script> & 'q' ]]> &amp;";
    const char *evil_out = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; ]]&gt; &amp;amp;";
    double x[3] = {0, 1, 2}, y[3] = {0, 1, 0}, v[4] = {1, 2, 3, 4};
    const char *labels[2] = {evil, "b"};
    sl_svg_series s = {evil, x, y, 3, 0, 0, 0};
    sl_svg_vline vl = {1, evil};
    sl_svg_line_chart lc = {evil, evil, evil, 0, 0, &s, 1, &vl, 1, 0, 0, 0, 0};
    sl_svg_heatmap_chart hc = {evil, evil, evil, v, 2, 2, labels, labels, 0, 0, "<%.1f&>", 0};
    const unsigned char hl[2] = {1, 0};
    sl_svg_bar_chart bc = {evil, evil, labels, v, 2, 0, 5, "%.1f", evil, 2.5, hl, evil, 0, 0};
    double acc[2] = {0.4, 0.9}, conf[2] = {0.3, 0.8};
    size_t cnt[2] = {3, 9};
    sl_svg_reliability_chart rc = {evil, 0.05, 2, acc, conf, cnt, 0, 0};
    for (int k = 0; k < 4; k++) {
        sl_text t = {0};
        sl_status st = k == 0 ? sl_svg_lines(&t, &lc) : k == 1 ? sl_svg_heatmap(&t, &hc)
                     : k == 2 ? sl_svg_bars(&t, &bc) : sl_svg_reliability(&t, &rc);
        assert_int_equal(st, SL_OK);
        check_chart(t.s);
        if (strstr(t.s, "<script") || strstr(t.s, "\"x\"") || strstr(t.s, "'q'")) fail_msg("chart %d: raw label", k);
        assert_non_null(strstr(t.s, evil_out)); /* in the <title> and aria-label, uncut */
        if (k == 1) assert_non_null(strstr(t.s, "&lt;4.0&amp;&gt;</text>")); /* format text escaped too */
        sl_text_free(&t);
    }
}

/* ---- heat maps ---- */

static void test_heatmap(void **state)
{
    (void)state;
    double m[40 * 40];
    for (int i = 0; i < 40 * 40; i++) m[i] = i % 41 == 0 ? 50 : i % 7;
    m[3] = 777;
    sl_svg_heatmap_chart c = {"Confusion", "predicted", "true", m, 10, 10, NULL, NULL, 0, 0, "%.0f", 0};
    sl_text t = {0};
    /* 10 x 10 with values in the cells */
    double m10[100];
    memcpy(m10, m, sizeof m10);
    c.v = m10;
    assert_int_equal(sl_svg_heatmap(&t, &c), SL_OK);
    check_chart(t.s);
    assert_int_equal(count(t.s, "class=\"sl-cell\""), 100);
    assert_int_equal(count(t.s, "<title>"), 101);
    assert_non_null(strstr(t.s, ">777</text>"));
    assert_non_null(strstr(t.s, "<title>0 / 3: 777</title>"));
    assert_non_null(strstr(t.s, ">predicted</text>"));
    sl_text_free(&t);
    /* 20 classes still get text; 21 do not, even in cells large enough for it */
    c.v = m;
    c.rows = c.cols = 20;
    assert_int_equal(sl_svg_heatmap(&t, &c), SL_OK);
    assert_non_null(strstr(t.s, ">777</text>"));
    sl_text_free(&t);
    c.rows = c.cols = 21;
    c.cell_px = 30;
    assert_int_equal(sl_svg_heatmap(&t, &c), SL_OK);
    check_chart(t.s);
    assert_null(strstr(t.s, ">777</text>"));
    assert_non_null(strstr(t.s, "<title>0 / 3: 777</title>"));
    sl_text_free(&t);
    c.cell_px = 0;
    /* 30 x 30: cells shrink, no text in them */
    c.rows = c.cols = 30;
    assert_int_equal(sl_svg_heatmap(&t, &c), SL_OK);
    check_chart(t.s);
    assert_int_equal(count(t.s, "class=\"sl-cell\""), 900);
    assert_null(strstr(t.s, ">777</text>"));
    assert_non_null(strstr(t.s, "width=\"16.0\" height=\"16.0\"")); /* 480 px / 30 */
    sl_text_free(&t);
    c.rows = 40;
    c.cols = 25;
    assert_int_equal(sl_svg_heatmap(&t, &c), SL_OK);
    check_chart(t.s);
    assert_int_equal(count(t.s, "class=\"sl-cell\""), 1000);
    sl_text_free(&t);

    /* contrast: black text on the lightest cell, white on the darkest; a NaN cell is blank */
    double two[3] = {0, 1, NAN};
    sl_svg_heatmap_chart d = {"Contrast", NULL, NULL, two, 1, 3, NULL, NULL, 0, 1, "%.2f", 0};
    assert_int_equal(sl_svg_heatmap(&t, &d), SL_OK);
    check_chart(t.s);
    assert_non_null(strstr(t.s, "fill=\"#f7fbff\""));
    assert_non_null(strstr(t.s, "fill=\"#08306b\""));
    assert_non_null(strstr(t.s, "fill=\"#000\">0.00</text>"));
    assert_non_null(strstr(t.s, "fill=\"#fff\">1.00</text>"));
    assert_int_equal(count(t.s, "class=\"sl-cell\""), 3);
    assert_non_null(strstr(t.s, ": n/a</title>"));
    sl_text_free(&t);
    /* a constant matrix on an automatic scale */
    double flat[4] = {3, 3, 3, 3};
    d.v = flat;
    d.cols = 4;
    d.hi = 0;
    assert_int_equal(sl_svg_heatmap(&t, &d), SL_OK);
    check_chart(t.s);
    sl_text_free(&t);
}

/* ---- bars ---- */

static void test_bars(void **state)
{
    (void)state;
    double v[60];
    unsigned char below[60];
    const char *labels[60];
    char names[60][16];
    double mean = 0;
    for (int i = 0; i < 60; i++) {
        v[i] = 0.5 + 0.5 * sin(i * 0.7) * sin(i * 0.7);
        mean += v[i] / 60;
        snprintf(names[i], sizeof names[i], "class %02d", i);
        labels[i] = names[i];
    }
    size_t n_below = 0;
    for (int i = 0; i < 60; i++) n_below += below[i] = v[i] < mean;
    v[7] = NAN;
    n_below -= below[7];
    below[7] = 0;
    sl_svg_bar_chart c = {"Per-class accuracy", "accuracy", labels, v, 60, 0, 1, "%.2f", "mean", mean,
                          below, "below the mean", 0, 0};
    sl_text t = {0};
    assert_int_equal(sl_svg_bars(&t, &c), SL_OK);
    check_chart(t.s);
    assert_int_equal(count(t.s, "class=\"sl-bar\""), 59);
    assert_int_equal(count(t.s, "fill=\"#D55E00\"><title>"), n_below);
    assert_int_equal(count(t.s, "font-weight=\"bold\">"), n_below); /* their values' text */
    assert_non_null(strstr(t.s, ">class 59</text>"));
    assert_non_null(strstr(t.s, ">n/a</text>"));
    assert_non_null(strstr(t.s, ">mean</text>"));
    assert_non_null(strstr(t.s, ">below the mean</text>"));
    assert_int_equal(count(t.s, "stroke-dasharray=\"5 3\""), 1);
    assert_non_null(strstr(t.s, ">1.0</text>")); /* the axis reaches hi */
    sl_text_free(&t);
    /* out-of-range values are clamped to the axis, their text is not */
    double w[2] = {-0.5, 1.5};
    sl_svg_bar_chart d = {"Clamped", NULL, NULL, w, 2, 0, 1, NULL, NULL, 0, NULL, NULL, 300, 0};
    assert_int_equal(sl_svg_bars(&t, &d), SL_OK);
    check_chart(t.s);
    assert_non_null(strstr(t.s, "width=\"0.0\""));
    assert_non_null(strstr(t.s, ">1.5</text>"));
    assert_non_null(strstr(t.s, ">&#8722;0.5</text>"));
    sl_text_free(&t);
}

/* ---- reliability diagrams ---- */

static void test_reliability(void **state)
{
    (void)state;
    double acc[10], conf[10];
    size_t cnt[10];
    for (int b = 0; b < 10; b++) {
        conf[b] = (b + 0.5) / 10;
        acc[b] = conf[b] * 0.9;
        cnt[b] = b < 3 ? 0 : (size_t)(b * b * 10);
    }
    sl_svg_reliability_chart c = {"Calibration", 0.0424, 10, acc, conf, cnt, 0, 0};
    sl_text t = {0};
    assert_int_equal(sl_svg_reliability(&t, &c), SL_OK);
    check_chart(t.s);
    assert_int_equal(count(t.s, "class=\"sl-bin\""), 7);
    assert_non_null(strstr(t.s, "<title>Calibration (ECE 0.042)</title>"));
    assert_non_null(strstr(t.s, ">810</text>")); /* the largest count */
    assert_non_null(strstr(t.s, "(0.90, 1.00]: 810 examples, accuracy 0.855, mean confidence 0.950"));
    sl_text_free(&t);
    c.ece = NAN;
    c.bins = 1;
    assert_int_equal(sl_svg_reliability(&t, &c), SL_OK); /* one empty bin: axes and diagonal only */
    check_chart(t.s);
    assert_non_null(strstr(t.s, "<title>Calibration</title>"));
    assert_int_equal(count(t.s, "class=\"sl-bin\""), 0);
    sl_text_free(&t);
}

/* ---- bad input ---- */

static void test_bad_input(void **state)
{
    (void)state;
    double x[2] = {0, 1}, y[2] = {0, 1}, v[4] = {0, 1, 2, 3};
    size_t cnt[2] = {1, 1};
    sl_svg_series s = {"s", x, y, 2, 0, 0, 0}, bad_s = {"s", NULL, y, 2, 0, 0, 0}, bad_c = {"s", x, y, 2, 0, 0, 9};
    sl_svg_vline vl = {NAN, "v"};
    sl_text t = {0};
    sl_text_printf(&t, "kept");
#define EXPECT_EARG(call)                                                                   \
    do {                                                                                    \
        sl_error_clear();                                                                   \
        assert_int_equal((call), SL_EARG);                                                  \
        assert_string_equal(t.s, "kept");                                                   \
        if (strlen(sl_last_error()) == 0) fail_msg("no message for %s", #call);             \
    } while (0)
#define LINES(...) sl_svg_lines(&t, &(sl_svg_line_chart){__VA_ARGS__})
    EXPECT_EARG(sl_svg_lines(NULL, &(sl_svg_line_chart){"t", .series = &s, .n_series = 1}));
    EXPECT_EARG(sl_svg_lines(&t, NULL));
    EXPECT_EARG(LINES(NULL, .series = &s, .n_series = 1));
    EXPECT_EARG(LINES("", .series = &s, .n_series = 1));
    EXPECT_EARG(LINES("t", .series = &s, .n_series = 0));
    EXPECT_EARG(LINES("t", .series = NULL, .n_series = 1));
    EXPECT_EARG(LINES("t", .series = &bad_s, .n_series = 1));
    EXPECT_EARG(LINES("t", .series = &bad_c, .n_series = 1));
    EXPECT_EARG(LINES("t", .series = &s, .n_series = 1, .vlines = &vl, .n_vlines = 1));
    EXPECT_EARG(LINES("t", .series = &s, .n_series = 1, .vlines = NULL, .n_vlines = 1));
    EXPECT_EARG(LINES("t", .series = &s, .n_series = 1, .y_min = NAN, .y_max = 1));
    EXPECT_EARG(LINES("t", .series = &s, .n_series = 1, .x_min = 0, .x_max = INFINITY));
    EXPECT_EARG(LINES("t", .series = &s, .n_series = 1, .y_min = 2, .y_max = 1));
    EXPECT_EARG(LINES("t", .series = &s, .n_series = 1, .width = 100));
    EXPECT_EARG(LINES("t", .series = &s, .n_series = 1, .height = -5));
    double huge[2] = {-1e308, 1e308};
    sl_svg_series hs = {"h", x, huge, 2, 0, 0, 0};
    EXPECT_EARG(LINES("t", .series = &hs, .n_series = 1));
#define HEAT(...) sl_svg_heatmap(&t, &(sl_svg_heatmap_chart){__VA_ARGS__})
    EXPECT_EARG(HEAT("t", .v = v, .rows = 0, .cols = 2));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 0));
    EXPECT_EARG(HEAT("t", .v = NULL, .rows = 2, .cols = 2));
    EXPECT_EARG(HEAT(NULL, .v = v, .rows = 2, .cols = 2));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 2, .lo = 0, .hi = NAN));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 2, .lo = 1, .hi = 0));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 2, .cell_format = "%s"));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 2, .cell_format = "%d"));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 2, .cell_format = "%f %f"));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 2, .cell_format = "no conversion"));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 2, .cell_format = "%.100f"));
    EXPECT_EARG(HEAT("t", .v = v, .rows = 2, .cols = 2, .cell_px = 2));
    EXPECT_EARG(sl_svg_heatmap(&t, NULL));
#define BARS(...) sl_svg_bars(&t, &(sl_svg_bar_chart){__VA_ARGS__})
    EXPECT_EARG(BARS("t", .values = v, .n = 0, .lo = 0, .hi = 1));
    EXPECT_EARG(BARS("t", .values = NULL, .n = 2, .lo = 0, .hi = 1));
    EXPECT_EARG(BARS("t", .values = v, .n = 2, .lo = 1, .hi = 1));
    EXPECT_EARG(BARS("t", .values = v, .n = 2, .lo = -INFINITY, .hi = 1));
    EXPECT_EARG(BARS("t", .values = v, .n = 2, .lo = 0, .hi = 1, .value_format = "%n"));
    EXPECT_EARG(BARS("t", .values = v, .n = 2, .lo = 0, .hi = 1, .ref_label = "r", .ref = NAN));
    EXPECT_EARG(BARS("t", .values = v, .n = 2, .lo = 0, .hi = 1, .width = 100));
    EXPECT_EARG(BARS(NULL, .values = v, .n = 2, .lo = 0, .hi = 1));
#define REL(...) sl_svg_reliability(&t, &(sl_svg_reliability_chart){__VA_ARGS__})
    EXPECT_EARG(REL("t", 0, 0, y, y, cnt, 0, 0));
    EXPECT_EARG(REL("t", 0, 2, NULL, y, cnt, 0, 0));
    EXPECT_EARG(REL("t", 0, 2, y, y, NULL, 0, 0));
    EXPECT_EARG(REL("t", 0, 2, (double[]){0.5, 1.5}, y, cnt, 0, 0));
    EXPECT_EARG(REL("t", 0, 2, y, (double[]){NAN, 1}, cnt, 0, 0));
    EXPECT_EARG(REL(NULL, 0, 2, y, y, cnt, 0, 0));
    /* an empty bin's values are not looked at */
    assert_int_equal(REL("t", 0, 2, (double[]){NAN, 1}, y, (size_t[]){0, 4}, 0, 0), SL_OK);
    /* after a failed allocation, a chart appends nothing and says so */
    size_t len = t.len;
    t.failed = 1;
    sl_error_clear();
    assert_int_equal(LINES("t", .series = &s, .n_series = 1), SL_ENOMEM);
    assert_int_equal(t.len, len);
    assert_non_null(strstr(sl_last_error(), "out of memory"));
    sl_text_free(&t);
}

/* ---- the sample page ---- */

/* A page with one chart of each kind on made-up but plausible numbers (spoken digits, 6
 * speakers), the way a report would hold them. */
static sl_status sample_page(sl_text *t)
{
    double ep[40], tl[40], vl[40], ta[40], va[40];
    for (int i = 0; i < 40; i++) {
        ep[i] = i + 1;
        tl[i] = 2.2 * exp(-i / 5.0) + 0.06 + 0.01 * sin(i);
        vl[i] = 2.2 * exp(-i / 6.0) + 0.2 + 0.0025 * (i - 17) * (i - 17) / 10;
        ta[i] = 1 - 0.9 * exp(-i / 5.0);
        va[i] = 1 - 0.9 * exp(-i / 6.0) - 0.06 - 0.0004 * (i > 17 ? i - 17 : 0);
    }
    vl[25] = NAN; /* an epoch without validation */
    sl_svg_series learn[4] = {{"training loss", ep, tl, 40, 0, 0, 1}, {"validation loss", ep, vl, 40, 1, 0, 1},
                              {"training accuracy", ep, ta, 40, 0, 0, 2}, {"validation accuracy", ep, va, 40, 1, 0, 2}};
    sl_svg_vline best = {18, "best epoch 18"};
    double snr[9], r1[9], r2[9];
    for (int i = 0; i < 9; i++) {
        snr[i] = -10 + 5 * i;
        r1[i] = 0.1 + 0.86 / (1 + exp(-(snr[i] - 2) / 4));
        r2[i] = 0.1 + 0.88 / (1 + exp(-(snr[i] - 6) / 3.5));
    }
    sl_svg_series rob[2] = {{"trained with noise", snr, r1, 9, 0, 1, 0}, {"trained clean", snr, r2, 9, 1, 1, 0}};
    double cm[100], pc[10], mean = 0;
    const char *digits[10] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 10; j++)
            cm[i * 10 + j] = i == j ? 43 - (i * 7) % 9 : (i * 3 + j * 5) % 11 == 0 ? 3 : (i + j) % 4 == 0;
        double row = 0;
        for (int j = 0; j < 10; j++) row += cm[i * 10 + j];
        pc[i] = cm[i * 11] / row;
        mean += pc[i] / 10;
    }
    unsigned char below[10];
    for (int i = 0; i < 10; i++) below[i] = pc[i] < mean;
    double big[40 * 40];
    for (int i = 0; i < 1600; i++) big[i] = i % 41 == 0 ? 20 + i % 13 : (i * 7919) % 97 < 4 ? (i % 5) : 0;
    double acc[10], conf[10];
    size_t cnt[10];
    for (int b = 0; b < 10; b++) {
        cnt[b] = b < 2 ? 0 : (size_t)(3 + b * b * b / 3);
        conf[b] = (b + 0.6) / 10;
        acc[b] = fmin(1, conf[b] * (0.8 + 0.02 * b));
    }
    char mean_text[32];
    snprintf(mean_text, sizeof mean_text, "mean %.3f", mean);
    sl_text_printf(t, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>"
                      "<title>sigloop: sample charts</title><style>body{font-family:sans-serif;margin:24px;"
                      "max-width:1200px}figure{display:inline-block;margin:12px;vertical-align:top}</style></head>"
                      "<body><h1>Sample charts</h1>\n<figure>");
    sl_status s = sl_svg_lines(t, &(sl_svg_line_chart){"Loss", "epoch", "cross-entropy", 560, 340, learn, 2, &best, 1,
                                                       0, 0, 0, 0});
    if (!s) sl_text_printf(t, "</figure><figure>");
    if (!s) s = sl_svg_lines(t, &(sl_svg_line_chart){"Accuracy", "epoch", "accuracy", 560, 340, learn + 2, 2, &best, 1,
                                                     0, 0, 0, 1});
    if (!s) sl_text_printf(t, "</figure><figure>");
    if (!s) s = sl_svg_lines(t, &(sl_svg_line_chart){"Accuracy against noise", "SNR (dB)", "test accuracy", 560, 340,
                                                     rob, 2, NULL, 0, 0, 0, 0, 1});
    if (!s) sl_text_printf(t, "</figure><figure>");
    if (!s) s = sl_svg_heatmap(t, &(sl_svg_heatmap_chart){"Confusion matrix (test)", "predicted", "true", cm, 10, 10,
                                                          digits, digits, 0, 0, "%.0f", 0});
    if (!s) sl_text_printf(t, "</figure><figure>");
    if (!s) s = sl_svg_bars(t, &(sl_svg_bar_chart){"Accuracy per class", "recall", digits, pc, 10, 0, 1, "%.3f",
                                                   mean_text, mean, below, "below the mean", 520, 0});
    if (!s) sl_text_printf(t, "</figure><figure>");
    if (!s) s = sl_svg_reliability(t, &(sl_svg_reliability_chart){"Calibration (test)", 0.0561, 10, acc, conf, cnt, 0,
                                                                  0});
    if (!s) sl_text_printf(t, "</figure><figure>");
    if (!s) s = sl_svg_heatmap(t, &(sl_svg_heatmap_chart){"Confusion matrix, 40 classes", "predicted", "true", big, 40,
                                                          40, NULL, NULL, 0, 0, "%.0f", 0});
    if (!s) sl_text_printf(t, "</figure></body></html>\n");
    return s ? s : t->failed ? SL_ENOMEM : SL_OK;
}

static void test_sample_page(void **state)
{
    (void)state;
    sl_text t = {0};
    assert_int_equal(sample_page(&t), SL_OK);
    xml_info x = check_xml(t.s);
    assert_int_equal(x.roots, 1);
    assert_string_equal(x.root, "html");
    assert_int_equal(count(t.s, "<svg xmlns="), 7);
    sl_text_free(&t);
}

static int write_sample(const char *dir)
{
    sl_text t = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/sample.html", dir);
    if (sample_page(&t) != SL_OK) {
        fprintf(stderr, "test_svg: %s\n", sl_last_error());
        sl_text_free(&t);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(t.s, 1, t.len, f) == t.len;
    if (f && fclose(f) != 0) ok = 0;
    sl_text_free(&t);
    if (!ok) fprintf(stderr, "test_svg: cannot write %s\n", path);
    return !ok;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-sample") == 0) return write_sample(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_buffer), cmocka_unit_test(test_ticks),
        cmocka_unit_test(test_lines),       cmocka_unit_test(test_lines_gaps_and_flat),
        cmocka_unit_test(test_escaping),    cmocka_unit_test(test_heatmap),
        cmocka_unit_test(test_bars),        cmocka_unit_test(test_reliability),
        cmocka_unit_test(test_bad_input),   cmocka_unit_test(test_sample_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
