/* Charts as inline SVG (see include/sigloop/svg.h).
 *
 * Each chart is one <svg> with a white background (so it reads on a dark page too), no ids (a page
 * holds many charts and ids would have to be unique across it), no script, no CSS beyond
 * presentation attributes and one style="max-width:100%;height:auto" that lets it shrink on a
 * narrow screen. Plot areas are nested <svg> elements, which clip what they hold without a
 * <clipPath> and its id; the same reason draws the heat map's colour bar as stacked rectangles
 * rather than a gradient.
 *
 * Text is measured by estimate, 0.6 em per character, which is about right for the digits and
 * lower-case letters of the usual sans-serif fonts; margins are sized from it, so long labels move
 * the plot instead of running into it.
 *
 * Colours: Okabe and Ito's palette ("Color Universal Design", 2008), ordered so the first colours
 * are the ones that stay distinct for protanopes, deuteranopes and in grey (blue, vermillion,
 * bluish green, reddish purple), yellow last as it is faint on white. The heat map uses
 * ColorBrewer's sequential "Blues" (9 classes, Brewer 2002), whose lightness falls monotonically,
 * so the order of values survives any colour-vision deficiency and greyscale printing. */
#include "sigloop/svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT 12.0        /* px: labels and ticks */
#define CHAR_EM 0.6      /* estimated advance of one character, in em */
#define MAX_TICKS 24     /* more than max_intervals + 1 for any axis drawn here */
#define PX_LIMIT 1e6     /* mapped coordinates are clamped to +-this, so far-off points stay finite */
#define LABEL_CHARS 28   /* longer labels are cut, with an ellipsis */
#define FONT_FAMILY "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"

static const char *const PALETTE[8] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                       "#E69F00", "#56B4E9", "#000000", "#F0E442"};

/* ---- the text buffer ---- */

/* Room for extra more bytes and the NUL; the capacity doubles, from 256. */
static sl_status reserve(sl_text *t, size_t extra)
{
    if (t->failed) return SL_ENOMEM;
    if (t->s && t->cap - t->len > extra) return SL_OK;
    size_t cap = t->cap ? t->cap : 256;
    while (cap - 1 < t->len + extra && cap <= SIZE_MAX / 2) cap *= 2;
    char *s = extra < SIZE_MAX / 4 && cap - 1 >= t->len + extra ? realloc(t->s, cap) : NULL;
    if (!s) {
        t->failed = 1;
        return sl_fail(SL_ENOMEM, "text: out of memory (%zu bytes of text)", t->len);
    }
    t->s = s, t->cap = cap;
    return SL_OK;
}

static sl_status put(sl_text *t, const char *s, size_t n)
{
    SL_TRY(reserve(t, n));
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
    return SL_OK;
}

sl_status sl_text_vprintf(sl_text *t, const char *fmt, va_list ap)
{
    if (!t || !fmt) return sl_fail(SL_EARG, "text: no buffer or no format");
    if (t->failed) return SL_ENOMEM;
    va_list aq;
    va_copy(aq, ap);
    size_t room = t->s ? t->cap - t->len : 0;
    int n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, aq);
    va_end(aq);
    if (n < 0) return sl_fail(SL_EARG, "text: the format '%s' cannot be written", fmt);
    if ((size_t)n >= room) { /* did not fit: grow, then write again */
        SL_TRY(reserve(t, (size_t)n));
        vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    }
    t->len += (size_t)n;
    return SL_OK;
}

sl_status sl_text_printf(sl_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sl_status s = sl_text_vprintf(t, fmt, ap);
    va_end(ap);
    return s;
}

/* Escapes s, cut to max_chars code points (0: all) and then an ellipsis if any are left. */
static sl_status escape_cut(sl_text *t, const char *s, size_t max_chars)
{
    if (!t) return sl_fail(SL_EARG, "text: no buffer");
    size_t chars = 0;
    for (const char *p = s ? s : ""; *p; p++) {
        const unsigned char ch = (unsigned char)*p;
        if ((ch & 0xC0) != 0x80 && max_chars && chars++ == max_chars) return put(t, "&#8230;", 7);
        const char *e = ch == '&' ? "&amp;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : ch == '"' ? "&quot;"
                      : ch == '\'' ? "&#39;" : NULL;
        SL_TRY(e ? put(t, e, strlen(e)) : put(t, p, 1));
    }
    return SL_OK;
}

sl_status sl_text_escape(sl_text *t, const char *s) { return escape_cut(t, s, 0); }

void sl_text_free(sl_text *t)
{
    if (!t) return;
    free(t->s);
    memset(t, 0, sizeof *t);
}

/* ---- numbers, text widths, formats ---- */

static double text_w(const char *s, double font, size_t max_chars)
{
    size_t n = 0;
    for (; s && *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    if (max_chars && n > max_chars) n = max_chars + 1;
    return (double)n * CHAR_EM * font;
}

/* A tick's text: as many decimals as the step needs (0.2 -> 1, 0.05 -> 2), %g beyond 1e6 or
 * below a step of 1e-4, and exact zero for values within rounding of it ("0", never "-0"). */
static void tick_text(char *buf, size_t size, double v, double step)
{
    if (step > 0 && fabs(v) < step * 1e-6) v = 0;
    if (fabs(v) >= 1e6 || (step > 0 && step < 1e-4))
        snprintf(buf, size, "%.4g", v);
    else
        snprintf(buf, size, "%.*f", step > 0 && step < 1 ? (int)ceil(-log10(step) - 1e-9) : 0, v);
}

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#define NUM ((size_t)-1) /* as text_el's cut: the text is a number */

/* <text ATTRS>s</text> with ATTRS printf-formatted and s escaped, cut to cut characters (0: all).
 * With cut NUM, a leading '-' is written as a true minus sign (U+2212, as a character reference
 * so the page's encoding does not matter). */
PRINTF_LIKE(4, 5) static void text_el(sl_text *t, const char *s, size_t cut, const char *attrs, ...)
{
    va_list ap;
    va_start(ap, attrs);
    sl_text_printf(t, "<text ");
    sl_text_vprintf(t, attrs, ap);
    va_end(ap);
    sl_text_printf(t, ">");
    if (cut == NUM && s[0] == '-') put(t, "&#8722;", 7);
    escape_cut(t, cut == NUM && s[0] == '-' ? s + 1 : s, cut == NUM ? 0 : cut);
    sl_text_printf(t, "</text>");
}

/* <line .../> from (x1, y1) to (x2, y2) with more attributes (each starting with a space). */
static void line(sl_text *t, double x1, double y1, double x2, double y2, const char *attrs)
{
    sl_text_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"%s/>", x1, y1, x2, y2, attrs);
}

/* 1 if f is a printf format taking exactly one double: one conversion %[-+ #0]*[0-9]{0,2}
 * (.[0-9]{0,2})?[fFeEgG], plus any number of "%%". */
static int double_format(const char *f)
{
    int conversions = 0;
    for (const char *p = f; *p; p++) {
        if (*p != '%') continue;
        if (*++p == '%') continue;
        while (*p && strchr("-+ #0", *p)) p++;
        for (int k = 0; k < 2 && *p >= '0' && *p <= '9'; k++) p++;
        if (*p == '.') {
            p++;
            for (int k = 0; k < 2 && *p >= '0' && *p <= '9'; k++) p++;
        }
        if (!*p || !strchr("fFeEgG", *p)) return 0;
        conversions++;
    }
    return conversions == 1;
}

/* v in fmt, which has passed double_format; "n/a" when v is not finite. */
static void format_value(char *buf, size_t size, const char *fmt, double v)
{
    snprintf(buf, size, isfinite(v) ? fmt : "n/a", v);
}

/* ---- ticks and axes ---- */

/* The smallest 1, 2 or 5 x 10^k with span / step <= max_intervals. */
static double nice_step(double span, int max_intervals)
{
    double p = pow(10, floor(log10(span / max_intervals)));
    static const double mult[] = {1, 2, 5, 10, 20};
    for (size_t i = 0; i < sizeof mult / sizeof *mult; i++)
        if (span / (mult[i] * p) <= max_intervals * (1 + 1e-9)) return mult[i] * p;
    return 50 * p;
}

sl_status sl_svg_ticks(double lo, double hi, int max_intervals, double *ticks, size_t cap, size_t *n,
                       double *step)
{
    if (n) *n = 0;
    if (step) *step = 0;
    if (!ticks || !n) return sl_fail(SL_EARG, "ticks: no place for the result");
    if (!isfinite(lo) || !isfinite(hi) || lo > hi || !isfinite(hi - lo))
        return sl_fail(SL_EARG, "ticks: range [%g, %g] is not a finite interval", lo, hi);
    if (max_intervals < 1 || max_intervals > 100)
        return sl_fail(SL_EARG, "ticks: %d intervals; must be in [1, 100]", max_intervals);
    if (lo == hi) {
        if (cap < 1) return sl_fail(SL_EARG, "ticks: room for %zu ticks, need 1", cap);
        ticks[0] = lo;
        *n = 1;
        return SL_OK;
    }
    double st = nice_step(hi - lo, max_intervals);
    double k0 = ceil(lo / st - 1e-9), k1 = floor(hi / st + 1e-9);
    size_t count = k1 < k0 ? 0 : (size_t)(k1 - k0 + 1);
    if (count > cap) return sl_fail(SL_EARG, "ticks: room for %zu ticks, need %zu", cap, count);
    for (size_t i = 0; i < count; i++) {
        double v = (k0 + (double)i) * st;
        ticks[i] = fabs(v) < st * 1e-9 ? 0 : v;
    }
    *n = count;
    if (step) *step = st;
    return SL_OK;
}

typedef struct {
    double lo, hi; /* data range */
    double p0, p1; /* pixels of lo and hi */
    double tick[MAX_TICKS], step;
    size_t n;
} axis;

/* Widens a flat range so it can be drawn: by 10 % of the value, or by 1 around 0. */
static void pad_flat(double *lo, double *hi)
{
    if (*lo != *hi) return;
    double d = *lo == 0 ? 1 : fabs(*lo) * 0.1;
    *lo -= d;
    *hi += d;
}

/* The axis over [lo, hi]: fixed when fixed is set, else padded and widened to the ticks that
 * enclose it (with a coarser step whenever widening would exceed max_intervals). */
static sl_status axis_make(axis *a, double lo, double hi, int fixed, int max_intervals)
{
    a->n = 0; /* no ticks on failure */
    pad_flat(&lo, &hi);
    if (!isfinite(hi - lo)) return sl_fail(SL_EARG, "chart: the range [%g, %g] is too wide to draw", lo, hi);
    for (int m = max_intervals; !fixed; m--) {
        double st = nice_step(hi - lo, m);
        double a0 = floor(lo / st + 1e-9) * st, a1 = ceil(hi / st - 1e-9) * st;
        if ((a1 - a0) / st <= max_intervals + 1e-9 || m == 1) {
            lo = a0;
            hi = a1;
            break;
        }
    }
    a->lo = lo;
    a->hi = hi;
    return sl_svg_ticks(lo, hi, max_intervals, a->tick, MAX_TICKS, &a->n, &a->step);
}

static double px(const axis *a, double v)
{
    double p = a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
    return p < -PX_LIMIT ? -PX_LIMIT : p > PX_LIMIT ? PX_LIMIT : p;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The widest tick text of a, in px. */
static double ticks_w(const axis *a)
{
    double w = 0;
    char buf[40];
    for (size_t i = 0; i < a->n; i++) {
        tick_text(buf, sizeof buf, a->tick[i], a->step);
        w = fmax(w, text_w(buf, FONT, 0));
    }
    return w;
}

/* Axis a drawn at x or y = at: its line, tick marks and numbers on side 'l' (left), 'b' (below)
 * or 'r' (right), and light grid lines across [g0, g1] of the other coordinate when g0 < g1. */
static void draw_axis(sl_text *t, const axis *a, char side, double at, double g0, double g1)
{
    const int below = side == 'b';
    const double d = side == 'l' ? -4 : 4;
    char buf[40];
    for (size_t i = 0; i < a->n && g0 < g1; i++) {
        double p = px(a, a->tick[i]);
        below ? line(t, p, g0, p, g1, " stroke=\"#e3e3e3\"") : line(t, g0, p, g1, p, " stroke=\"#e3e3e3\"");
    }
    sl_text_printf(t, "<g fill=\"#333\" text-anchor=\"%s\">", below ? "middle" : side == 'l' ? "end" : "start");
    for (size_t i = 0; i < a->n; i++) {
        double p = px(a, a->tick[i]);
        tick_text(buf, sizeof buf, a->tick[i], a->step);
        below ? line(t, p, at, p, at + 4, " stroke=\"#333\"") : line(t, at, p, at + d, p, " stroke=\"#333\"");
        text_el(t, buf, NUM, "x=\"%.1f\" y=\"%.1f\"", below ? p : at + 1.75 * d, below ? at + 17 : p + 4);
    }
    sl_text_printf(t, "</g>");
    below ? line(t, a->p0, at, a->p1, at, " stroke=\"#333\"") : line(t, at, a->p0, at, a->p1, " stroke=\"#333\"");
}

/* An axis title: centred on (x, y), turned to read upwards when vertical. */
static void axis_title(sl_text *t, const char *label, double x, double y, int vertical)
{
    if (!label || !*label) return;
    if (vertical)
        text_el(t, label, 0, "transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\"", x, y);
    else
        text_el(t, label, 0, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\"", x, y);
}

/* ---- the frame of every chart ---- */

static sl_status check_title(const char *what, const char *title)
{
    if (!title || !*title) return sl_fail(SL_EARG, "%s: a title is required (it is the chart's accessible name)", what);
    return SL_OK;
}

static sl_status check_size(const char *what, const char *field, int v, int lo, int hi)
{
    if (v == 0 || (v >= lo && v <= hi)) return SL_OK;
    return sl_fail(SL_EARG, "%s: %s %d; must be 0 or in [%d, %d]", what, field, v, lo, hi);
}

/* A bad argument of chart c, in a function whose what names the kind of chart. */
#define BAD(fmt, ...) sl_fail(SL_EARG, "%s '%s': " fmt, what, c->title, __VA_ARGS__)

static void title_text(sl_text *t, const char *title, const char *suffix)
{
    sl_text_escape(t, title);
    sl_text_escape(t, suffix);
}

/* The opening tag, the <title>, the white background and the visible title (with suffix). */
static void svg_open(sl_text *t, double w, double h, const char *title, const char *suffix)
{
    sl_text_printf(t, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
                      "height=\"%.0f\" role=\"img\" aria-label=\"", w, h, w, h);
    title_text(t, title, suffix);
    sl_text_printf(t, "\" font-family=\"" FONT_FAMILY "\" font-size=\"%.0f\" style=\"max-width:100%%;height:auto\">"
                      "<title>", FONT);
    title_text(t, title, suffix);
    sl_text_printf(t, "</title><rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/><text x=\"%.1f\" y=\"21\" "
                      "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\" fill=\"#111\">", w, h, w / 2);
    title_text(t, title, suffix);
    sl_text_printf(t, "</text>");
}

/* Ends the chart: on an allocation failure, takes back everything since start. */
static sl_status svg_close(sl_text *t, size_t start, const char *what)
{
    sl_text_printf(t, "</svg>\n");
    if (!t->failed) return SL_OK;
    if (t->s) t->s[t->len = start] = '\0';
    return sl_fail(SL_ENOMEM, "%s: out of memory", what);
}

/* ---- legends ---- */

typedef struct {
    const char *text, *color;
    int kind; /* 0: a line (dashed or not, with a marker of shape >= 0), 1: a box, 2: a shaded box */
    int dashed, shape;
} legend_item;

/* A point symbol centred on (x, y): circle, square, triangle or diamond, filled for shapes 0-3
 * and hollow for 4-7 (the palette's second half), so eight series stay apart without colour. */
static void marker(sl_text *t, int shape, double x, double y, const char *col)
{
    switch (shape % 4) {
    case 0: sl_text_printf(t, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"", x, y); break;
    case 1: sl_text_printf(t, "<rect x=\"%.1f\" y=\"%.1f\" width=\"6.5\" height=\"6.5\"", x - 3.25, y - 3.25); break;
    case 2: sl_text_printf(t, "<path d=\"M%.1f %.1fl4 7h-8z\"", x, y - 4.5); break;
    default: sl_text_printf(t, "<path d=\"M%.1f %.1fl4.5 4.5l-4.5 4.5l-4.5-4.5z\"", x, y - 4.5); break;
    }
    sl_text_printf(t, " stroke=\"%s\" fill=\"%s\"%s/>", col, shape >= 4 ? "#fff" : col,
                   shape >= 4 ? " stroke-width=\"1.5\"" : "");
}

/* Lays out the items in rows from (12, 42) (the first baseline), wrapping before w - 12; draws
 * them when draw is set. Returns the number of rows (0 for no items). */
static int legend(sl_text *t, const legend_item *it, size_t n, double w, int draw)
{
    double x = 12;
    int rows = 0;
    for (size_t i = 0; i < n; i++) {
        double iw = 30 + text_w(it[i].text, FONT, LABEL_CHARS);
        if (rows == 0 || (x + iw > w - 12 && x > 12)) rows++, x = 12;
        double y = 42 + (rows - 1) * 18;
        if (draw && it[i].kind == 0) {
            sl_text_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                              "stroke-width=\"2\"%s/>", x, y - 4, x + 24, y - 4, it[i].color,
                           it[i].dashed ? " stroke-dasharray=\"7 4\"" : "");
            if (it[i].shape >= 0) marker(t, it[i].shape, x + 12, y - 4, it[i].color);
        } else if (draw) {
            sl_text_printf(t, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"11\" fill=\"%s\"%s/>", x + 3, y - 10,
                           it[i].color, it[i].kind == 2 ? " fill-opacity=\"0.35\" stroke=\"#D55E00\"" : "");
        }
        if (draw) text_el(t, it[i].text, LABEL_CHARS, "x=\"%.1f\" y=\"%.1f\" fill=\"#222\"", x + 30, y);
        x += iw + 18;
    }
    return rows;
}

/* ---- line charts ---- */

static int finite_point(const sl_svg_series *se, size_t i) { return isfinite(se->x[i]) && isfinite(se->y[i]); }

sl_status sl_svg_lines(sl_text *out, const sl_svg_line_chart *c)
{
    const char *const what = "line chart";
    if (!out || !c) return sl_fail(SL_EARG, "%s: no output or no chart", what);
    SL_TRY(check_title(what, c->title));
    SL_TRY(check_size(what, "width", c->width, 160, 4000));
    SL_TRY(check_size(what, "height", c->height, 120, 4000));
    if (c->n_series == 0 || !c->series) return BAD("%zu series; at least one is needed", c->n_series);
    if (c->n_vlines > 0 && !c->vlines) return BAD("%zu vlines, but the array is NULL", c->n_vlines);
    const double fx[4] = {c->x_min, c->x_max, c->y_min, c->y_max};
    for (int i = 0; i < 4; i++)
        if (!isfinite(fx[i]) || (i % 2 == 1 && fx[i - 1] > fx[i]))
            return BAD("fixed %s range [%g, %g] is not a finite interval", i < 2 ? "x" : "y", fx[i & 2],
                       fx[(i & 2) + 1]);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t s = 0; s < c->n_series; s++) {
        const sl_svg_series *se = &c->series[s];
        if (se->n > 0 && (!se->x || !se->y)) return BAD("series %zu has %zu points but no x or y", s, se->n);
        if (se->color < 0 || se->color > 8) return BAD("series %zu: colour %d; must be in [0, 8]", s, se->color);
        for (size_t i = 0; i < se->n; i++)
            if (finite_point(se, i)) {
                xlo = fmin(xlo, se->x[i]), xhi = fmax(xhi, se->x[i]);
                ylo = fmin(ylo, se->y[i]), yhi = fmax(yhi, se->y[i]);
            }
    }
    const int have_data = xlo <= xhi;
    for (size_t v = 0; v < c->n_vlines; v++) {
        if (!isfinite(c->vlines[v].x)) return BAD("vline %zu at x = %g", v, c->vlines[v].x);
        xlo = fmin(xlo, c->vlines[v].x), xhi = fmax(xhi, c->vlines[v].x);
    }
    if (xlo > xhi) xlo = 0, xhi = 1;
    if (!have_data) ylo = 0, yhi = 1;
    const int fixed_x = c->x_min < c->x_max, fixed_y = c->y_min < c->y_max;
    if (fixed_x) xlo = c->x_min, xhi = c->x_max;
    if (fixed_y) ylo = c->y_min, yhi = c->y_max;

    const double W = c->width ? c->width : 640, H = c->height ? c->height : 360;
    legend_item *items = calloc(c->n_series, sizeof *items);
    if (!items) return sl_fail(SL_ENOMEM, "%s: out of memory", what);
    size_t n_items = 0;
    for (size_t s = 0; s < c->n_series; s++) {
        const sl_svg_series *se = &c->series[s];
        int ci = se->color ? se->color - 1 : (int)(s % 8);
        if (se->name && *se->name)
            items[n_items++] = (legend_item){se->name, PALETTE[ci], 0, se->dashed, se->markers ? ci : -1};
    }
    const int rows = legend(out, items, n_items, W, 0);
    const double T = rows ? 42 + (rows - 1) * 18 + 16 : 36, B = H - (c->x_label && *c->x_label ? 46 : 28);
    axis ax, ay;
    ay.p0 = B, ay.p1 = T;
    sl_status st = axis_make(&ay, ylo, yhi, fixed_y, clampi((int)((B - T) / 45), 2, 8));
    ax.p0 = (c->y_label && *c->y_label ? 26 : 6) + ticks_w(&ay) + 10, ax.p1 = W - 18;
    if (st == SL_OK) st = axis_make(&ax, xlo, xhi, fixed_x, clampi((int)((ax.p1 - ax.p0) / 75), 2, 10));
    if (st == SL_OK && (B - T < 20 || ax.p1 - ax.p0 < 40))
        st = BAD("%.0f x %.0f px leaves no room for the plot", W, H);
    if (st != SL_OK) {
        free(items);
        return st;
    }
    const double L = ax.p0, R = ax.p1, m = 4;
    const size_t start = out->len;
    svg_open(out, W, H, c->title, NULL);
    legend(out, items, n_items, W, 1);
    free(items);
    draw_axis(out, &ay, 'l', L, L, R);
    draw_axis(out, &ax, 'b', B, T, B);
    axis_title(out, c->x_label, (L + R) / 2, H - 10, 0);
    axis_title(out, c->y_label, 16, (T + B) / 2, 1);

    /* the plot: a nested <svg>, m px larger than the axes on each side so that markers on the
     * edge stay whole, clipping what lies outside the range */
    sl_text_printf(out, "<svg x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" viewBox=\"%.1f %.1f %.1f %.1f\" "
                        "overflow=\"hidden\">", L - m, T - m, R - L + 2 * m, B - T + 2 * m, L - m, T - m,
                   R - L + 2 * m, B - T + 2 * m);
    for (size_t v = 0; v < c->n_vlines; v++)
        line(out, px(&ax, c->vlines[v].x), T, px(&ax, c->vlines[v].x), B,
             " stroke=\"#555\" stroke-width=\"1.5\" stroke-dasharray=\"3 3\"");
    for (size_t s = 0; s < c->n_series; s++) {
        const sl_svg_series *se = &c->series[s];
        const int ci = se->color ? se->color - 1 : (int)(s % 8);
        sl_text_printf(out, "<path d=\"");
        for (size_t i = 0; i < se->n; i++) /* a point after a gap starts a new subpath */
            if (finite_point(se, i))
                sl_text_printf(out, "%c%.1f %.1f", i > 0 && finite_point(se, i - 1) ? 'L' : 'M', px(&ax, se->x[i]),
                               px(&ay, se->y[i]));
        sl_text_printf(out, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" "
                            "stroke-linecap=\"round\"%s/>", PALETTE[ci], se->dashed ? " stroke-dasharray=\"7 4\"" : "");
        for (size_t i = 0; i < se->n; i++) {
            if (!finite_point(se, i)) continue;
            int alone = (i == 0 || !finite_point(se, i - 1)) && (i + 1 == se->n || !finite_point(se, i + 1));
            if (se->markers || alone)
                marker(out, se->markers ? ci : 0, px(&ax, se->x[i]), px(&ay, se->y[i]), PALETTE[ci]);
        }
    }
    sl_text_printf(out, "</svg>");
    /* vline labels over the data, stepped down so that neighbours do not overwrite each other,
     * with a white halo; on the right half they hang to the left of their line */
    for (size_t v = 0; v < c->n_vlines; v++) {
        double x = px(&ax, c->vlines[v].x);
        if (!c->vlines[v].label || x < L - 1 || x > R + 1) continue;
        int right = x > (L + R) / 2;
        text_el(out, c->vlines[v].label, LABEL_CHARS, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#333\" "
                "font-size=\"11\" paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\"", right ? x - 4 : x + 4,
                T + 12 + (double)(v % 4) * 13, right ? "end" : "start");
    }
    if (!have_data)
        text_el(out, "no finite data", 0, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#666\"", (L + R) / 2,
                (T + B) / 2);
    return svg_close(out, start, what);
}

/* ---- heat maps ---- */

/* ColorBrewer Blues, 9 classes, light to dark, interpolated linearly in sRGB. */
static void blues(double v, unsigned char rgb[3])
{
    static const unsigned char stop[9][3] = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239},
                                             {158, 202, 225}, {107, 174, 214}, {66, 146, 198},
                                             {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
    double f = 8 * (!(v > 0) ? 0 : v > 1 ? 1 : v);
    int i = f >= 8 ? 7 : (int)f;
    f -= i;
    for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)lround(stop[i][k] + f * (stop[i + 1][k] - stop[i][k]));
}

/* 1 if white text contrasts more than black with rgb (WCAG contrast ratios from the relative
 * luminance). */
static int white_on(const unsigned char rgb[3])
{
    double l[3];
    for (int k = 0; k < 3; k++) {
        double c = rgb[k] / 255.0;
        l[k] = c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
    }
    double lum = 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
    return 1.05 / (lum + 0.05) > (lum + 0.05) / 0.05;
}

/* Label i of labels, or its index when labels (or that label) is NULL. */
static const char *label_of(const char *const *labels, size_t i, char *buf, size_t size)
{
    if (labels && labels[i]) return labels[i];
    snprintf(buf, size, "%zu", i);
    return buf;
}

sl_status sl_svg_heatmap(sl_text *out, const sl_svg_heatmap_chart *c)
{
    const char *const what = "heat map";
    if (!out || !c) return sl_fail(SL_EARG, "%s: no output or no chart", what);
    SL_TRY(check_title(what, c->title));
    if (c->rows < 1 || c->rows > 200 || c->cols < 1 || c->cols > 200)
        return BAD("%zu x %zu cells; rows and columns must be in [1, 200]", c->rows, c->cols);
    if (!c->v) return BAD("%zu x %zu cells but no values", c->rows, c->cols);
    SL_TRY(check_size(what, "cell_px", c->cell_px, 4, 100));
    if (c->cell_format && !double_format(c->cell_format))
        return BAD("cell_format '%s' must hold one conversion of a double (%%f, %%e or %%g)", c->cell_format);
    if (!isfinite(c->lo) || !isfinite(c->hi) || c->lo > c->hi)
        return BAD("colour range [%g, %g] is not a finite interval", c->lo, c->hi);
    const size_t R = c->rows, C = c->cols, big = R > C ? R : C;
    double lo = c->lo, hi = c->hi;
    if (lo == hi) {
        lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < R * C; i++)
            if (isfinite(c->v[i])) lo = fmin(lo, c->v[i]), hi = fmax(hi, c->v[i]);
        if (lo > hi) lo = 0, hi = 1;
    }
    axis scale; /* of the colour bar */
    SL_TRY(axis_make(&scale, lo, hi, 1, 5));
    lo = scale.lo, hi = scale.hi; /* padded when flat */
    const double cs = c->cell_px ? c->cell_px : clampi(480 / (int)big, 10, 40);
    const double lf = cs >= 15 ? FONT : fmax(7, cs * 0.8); /* label font */
    char buf[64], rb[32], cb[32];
    double roww = 0, colw = 0;
    for (size_t i = 0; i < R; i++) roww = fmax(roww, text_w(label_of(c->row_labels, i, rb, 32), lf, LABEL_CHARS));
    for (size_t j = 0; j < C; j++) colw = fmax(colw, text_w(label_of(c->col_labels, j, cb, 32), lf, LABEL_CHARS));
    /* cell text: the font that fits the longest value in a cell, or none below 7 px */
    double cf = 0;
    if (c->cell_format && big <= 20 && cs >= 18) {
        double chars = 1;
        for (size_t i = 0; i < R * C; i++) {
            format_value(buf, sizeof buf, c->cell_format, c->v[i]);
            chars = fmax(chars, (double)strlen(buf));
        }
        cf = fmin(fmin(13, cs * 0.4), (cs - 4) / (CHAR_EM * chars));
        if (cf < 7) cf = 0;
    }
    const int vertical = colw > cs - 2; /* column labels turned to read upwards when too wide */
    const double L = (c->y_label && *c->y_label ? 26 : 8) + roww + 6, T = 38;
    const double mw = C * cs, mh = R * cs, bar_h = fmax(mh, 120), bx = L + mw + 20;
    const double below = (vertical ? colw + 8 : lf + 6) + (c->x_label && *c->x_label ? 22 : 0);
    const double W = fmax(bx + 14 + 8 + ticks_w(&scale) + 10, text_w(c->title, 15, 0) * 1.1 + 20);
    const double H = fmax(T + mh + below, T + bar_h + 8) + 10;
    const size_t start = out->len;
    svg_open(out, W, H, c->title, NULL);
    sl_text_printf(out, "<g%s>", cs >= 14 ? " stroke=\"#fff\"" : "");
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++) {
            double v = c->v[i * C + j];
            unsigned char rgb[3] = {255, 255, 255};
            if (isfinite(v)) blues((v - lo) / (hi - lo), rgb);
            sl_text_printf(out, "<rect class=\"sl-cell\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                "fill=\"#%02x%02x%02x\"%s><title>", L + j * cs, T + i * cs, cs, cs, rgb[0], rgb[1],
                           rgb[2], isfinite(v) ? "" : " stroke=\"#ccc\"");
            format_value(buf, sizeof buf, c->cell_format ? c->cell_format : "%g", v);
            sl_text_escape(out, label_of(c->row_labels, i, rb, sizeof rb));
            sl_text_printf(out, " / ");
            sl_text_escape(out, label_of(c->col_labels, j, cb, sizeof cb));
            sl_text_printf(out, ": ");
            sl_text_escape(out, buf);
            sl_text_printf(out, "</title></rect>");
        }
    sl_text_printf(out, "</g><g text-anchor=\"middle\" font-size=\"%.1f\">", cf);
    for (size_t i = 0; i < R * C && cf > 0; i++) {
        unsigned char rgb[3];
        if (!isfinite(c->v[i])) continue;
        blues((c->v[i] - lo) / (hi - lo), rgb);
        format_value(buf, sizeof buf, c->cell_format, c->v[i]);
        text_el(out, buf, NUM, "x=\"%.1f\" y=\"%.1f\" fill=\"%s\"", L + (i % C + 0.5) * cs,
                T + (i / C + 0.5) * cs + cf * 0.35, white_on(rgb) ? "#fff" : "#000");
    }
    sl_text_printf(out, "</g><g fill=\"#222\" font-size=\"%.1f\" text-anchor=\"end\">", lf);
    for (size_t i = 0; i < R; i++)
        text_el(out, label_of(c->row_labels, i, rb, sizeof rb), LABEL_CHARS, "x=\"%.1f\" y=\"%.1f\"", L - 5,
                T + (i + 0.5) * cs + lf * 0.35);
    for (size_t j = 0; j < C; j++) {
        const char *label = label_of(c->col_labels, j, cb, sizeof cb);
        double x = L + (j + 0.5) * cs;
        if (vertical)
            text_el(out, label, LABEL_CHARS, "transform=\"translate(%.1f %.1f) rotate(-90)\"", x + lf * 0.35,
                    T + mh + 5);
        else
            text_el(out, label, LABEL_CHARS, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\"", x, T + mh + lf + 2);
    }
    sl_text_printf(out, "</g>");
    axis_title(out, c->x_label, L + mw / 2, T + mh + below - 4, 0);
    axis_title(out, c->y_label, 16, T + mh / 2, 1);
    /* the colour bar: 48 stripes, dark (hi) at the top, with the scale's ticks on its right */
    for (int k = 0; k < 48; k++) {
        unsigned char rgb[3];
        blues((k + 0.5) / 48, rgb);
        sl_text_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.2f\" fill=\"#%02x%02x%02x\"/>", bx,
                       T + bar_h * (1 - (k + 1) / 48.0), bar_h / 48 + 0.3, rgb[0], rgb[1], rgb[2]);
    }
    sl_text_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>", bx,
                   T, bar_h);
    scale.p0 = T + bar_h, scale.p1 = T;
    draw_axis(out, &scale, 'r', bx + 14, 0, 0);
    return svg_close(out, start, what);
}

/* ---- horizontal bars ---- */

sl_status sl_svg_bars(sl_text *out, const sl_svg_bar_chart *c)
{
    const char *const what = "bar chart";
    if (!out || !c) return sl_fail(SL_EARG, "%s: no output or no chart", what);
    SL_TRY(check_title(what, c->title));
    if (c->n < 1 || c->n > 500) return BAD("%zu bars; must be in [1, 500]", c->n);
    if (!c->values) return BAD("%zu bars but no values", c->n);
    if (!isfinite(c->lo) || !isfinite(c->hi) || !(c->lo < c->hi) || !isfinite(c->hi - c->lo))
        return BAD("range [%g, %g] must be finite with lo < hi", c->lo, c->hi);
    if (c->ref_label && !isfinite(c->ref)) return BAD("reference line at %g", c->ref);
    const char *fmt = c->value_format ? c->value_format : "%.3g";
    if (!double_format(fmt))
        return BAD("value_format '%s' must hold one conversion of a double (%%f, %%e or %%g)", fmt);
    SL_TRY(check_size(what, "width", c->width, 240, 4000));
    SL_TRY(check_size(what, "bar_px", c->bar_px, 6, 100));
    const size_t n = c->n;
    const double bp = c->bar_px ? c->bar_px : n <= 20 ? 22 : 16, th = bp * 0.7;
    const double lf = bp >= 16 ? FONT : fmax(7, bp * 0.75);
    char buf[64], lb[32];
    double labw = 0, valw = 0;
    int any_hl = 0;
    for (size_t i = 0; i < n; i++) {
        int hl = c->highlight && c->highlight[i];
        labw = fmax(labw, text_w(label_of(c->labels, i, lb, sizeof lb), lf, LABEL_CHARS));
        format_value(buf, sizeof buf, fmt, c->values[i]);
        valw = fmax(valw, text_w(buf, lf, 0) * (hl ? 1.1 : 1)); /* bold is wider */
        any_hl |= hl;
    }
    const legend_item items[2] = {{c->highlight_label ? c->highlight_label : "highlighted", PALETTE[1], 1, 0, -1},
                                  {"other", PALETTE[0], 1, 0, -1}};
    const double W = c->width ? c->width : 640;
    const int rows = legend(out, items, any_hl ? 2 : 0, W, 0);
    const double T = (rows ? 42 + (rows - 1) * 18 + 14 : 34) + (c->ref_label ? 18 : 0);
    const double B = T + n * bp, H = B + (c->x_label && *c->x_label ? 46 : 28);
    axis ax;
    ax.p0 = 8 + labw + 8, ax.p1 = W - valw - 14;
    if (ax.p1 - ax.p0 < 60) return BAD("%.0f px leaves no room for the bars", W);
    SL_TRY(axis_make(&ax, c->lo, c->hi, 1, clampi((int)((ax.p1 - ax.p0) / 70), 2, 10)));
    const double L = ax.p0, R = ax.p1;
    const size_t start = out->len;
    svg_open(out, W, H, c->title, NULL);
    legend(out, items, any_hl ? 2 : 0, W, 1);
    for (size_t i = 1; i < n && n > 10; i += 2) /* zebra rows lead the eye along many bars */
        sl_text_printf(out, "<rect x=\"4\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\"/>", T + i * bp,
                       W - 8, bp);
    draw_axis(out, &ax, 'b', B, T, B);
    axis_title(out, c->x_label, (L + R) / 2, H - 10, 0);
    for (size_t i = 0; i < n; i++) {
        double v = c->values[i], y = T + i * bp, mid = y + bp / 2 + lf * 0.35;
        int hl = c->highlight && c->highlight[i];
        const char *label = label_of(c->labels, i, lb, sizeof lb);
        format_value(buf, sizeof buf, fmt, v);
        if (isfinite(v)) {
            double x1 = px(&ax, v < c->lo ? c->lo : v > c->hi ? c->hi : v);
            sl_text_printf(out, "<rect class=\"sl-bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                "fill=\"%s\"><title>", L, y + (bp - th) / 2, x1 - L, th, PALETTE[hl ? 1 : 0]);
            sl_text_escape(out, label);
            sl_text_printf(out, ": ");
            sl_text_escape(out, buf);
            sl_text_printf(out, "</title></rect>");
        }
        text_el(out, label, LABEL_CHARS, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"%.1f\" fill=\"#222\"",
                L - 6, mid, lf);
        text_el(out, buf, NUM, "x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" fill=\"%s\"%s", R + 6, mid, lf,
                hl ? "#A04000" : "#222", hl ? " font-weight=\"bold\"" : "");
    }
    if (c->ref_label) {
        double x = px(&ax, c->ref < c->lo ? c->lo : c->ref > c->hi ? c->hi : c->ref);
        double half = text_w(c->ref_label, FONT, LABEL_CHARS) / 2;
        line(out, x, T - 4, x, B, " stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"");
        text_el(out, c->ref_label, LABEL_CHARS, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#000\"",
                fmin(fmax(x, L + half), R - half), T - 7);
    }
    return svg_close(out, start, what);
}

/* ---- reliability diagrams ---- */

sl_status sl_svg_reliability(sl_text *out, const sl_svg_reliability_chart *c)
{
    const char *const what = "reliability diagram";
    if (!out || !c) return sl_fail(SL_EARG, "%s: no output or no chart", what);
    SL_TRY(check_title(what, c->title));
    if (c->bins < 1 || c->bins > 100) return BAD("%zu bins; must be in [1, 100]", c->bins);
    if (!c->accuracy || !c->confidence || !c->count)
        return BAD("%zu bins but no accuracy, confidence or count", c->bins);
    SL_TRY(check_size(what, "width", c->width, 200, 4000));
    SL_TRY(check_size(what, "height", c->height, 240, 4000));
    size_t most = 0;
    for (size_t b = 0; b < c->bins; b++) {
        double a = c->accuracy[b], f = c->confidence[b];
        if (c->count[b] > 0 && (!(a >= 0 && a <= 1) || !(f >= 0 && f <= 1)))
            return BAD("bin %zu: accuracy %g and confidence %g must be in [0, 1]", b, a, f);
        if (c->count[b] > most) most = c->count[b];
    }
    char suffix[48] = "", buf[32];
    if (isfinite(c->ece)) snprintf(suffix, sizeof suffix, " (ECE %.3f)", c->ece);
    const legend_item items[3] = {{"accuracy", PALETTE[0], 1, 0, -1}, {"gap to mean confidence", PALETTE[1], 2, 0, -1},
                                  {"perfect calibration", "#333", 0, 1, -1}};
    const double W = c->width ? c->width : 420, H = c->height ? c->height : 480;
    /* from the top: the legend, the diagram down to B, the count strip from Ts to Bs, the axis */
    const double T = 42 + (legend(out, items, 3, W, 0) - 1) * 18 + 16, Bs = H - 44, Ts = Bs - 44, B = Ts - 14;
    axis ax, ay;
    ay.p0 = B, ay.p1 = T;
    SL_TRY(axis_make(&ay, 0, 1, 1, clampi((int)((B - T) / 45), 2, 10)));
    ax.p0 = 26 + ticks_w(&ay) + 10, ax.p1 = W - 18;
    SL_TRY(axis_make(&ax, 0, 1, 1, clampi((int)((ax.p1 - ax.p0) / 60), 2, 10)));
    const double L = ax.p0, R = ax.p1, bw = (R - L) / c->bins;
    if (B - T < 60) return BAD("%.0f x %.0f px leaves no room for the plot", W, H);
    const size_t start = out->len;
    svg_open(out, W, H, c->title, suffix);
    legend(out, items, 3, W, 1);
    draw_axis(out, &ay, 'l', L, L, R);
    draw_axis(out, &ax, 'b', Bs, T, Bs); /* the grid runs through the count strip too ... */
    sl_text_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"#fff\"/>", L - 4, B + 0.5,
                   R - L + 8); /* ... but not the gap between */
    axis_title(out, "confidence", (L + R) / 2, H - 10, 0);
    axis_title(out, "accuracy", 16, (T + B) / 2, 1);
    text_el(out, "count", 0, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\" fill=\"#777\"", L - 6,
            Ts + 26);
    for (size_t b = 0; b < c->bins; b++) {
        if (c->count[b] == 0) continue;
        double x0 = L + b * bw + 0.5, w = bw - 1, a = px(&ay, c->accuracy[b]), f = px(&ay, c->confidence[b]);
        sl_text_printf(out, "<rect class=\"sl-bin\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                            "fill-opacity=\"0.85\"><title>confidence (%.2f, %.2f]: %zu examples, accuracy %.3f, mean "
                            "confidence %.3f</title></rect>", x0, a, w, B - a, PALETTE[0], (double)b / c->bins,
                       (double)(b + 1) / c->bins, c->count[b], c->accuracy[b], c->confidence[b]);
        sl_text_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                            "fill-opacity=\"0.35\" stroke=\"%s\"/>", x0, fmin(a, f), w, fabs(a - f), PALETTE[1],
                       PALETTE[1]);
        /* the strip: bars up to 30 px, which leaves room for the count above the tallest */
        double h = 30.0 * (double)c->count[b] / (double)most;
        sl_text_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#888\" "
                            "fill-opacity=\"0.45\"/>", x0, Bs - h, w, h);
        snprintf(buf, sizeof buf, "%zu", c->count[b]);
        if (text_w(buf, 9, 0) + 2 <= bw)
            text_el(out, buf, 0, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\" fill=\"#555\"",
                    x0 + w / 2, Bs - h - 3);
    }
    line(out, L, B, R, T, " stroke=\"#333\" stroke-width=\"1.5\" stroke-dasharray=\"7 4\"");
    line(out, L, B, R, B, " stroke=\"#333\"");
    return svg_close(out, start, what);
}
