/* Charts for reports as inline SVG (src/analyze/svg.c): line charts (learning and robustness
 * curves), heat maps (confusion matrices), horizontal bars (per-class and per-group accuracy) and
 * reliability diagrams, each appended to a growing text buffer as one <svg> element that needs no
 * script, stylesheet, font file or id, so any number of them can sit in one self-contained HTML
 * page that works offline.
 *
 * Every chart has a viewBox, a <title> as its first child and role="img" with an aria-label (both
 * the chart's title), draws text labels for what it shows, and uses the Okabe-Ito colours (safe
 * for the common colour-vision deficiencies) with dashes, markers and text so that colour is never
 * the only cue. Sizes are in CSS pixels; a size of 0 picks a default. All caller text (titles,
 * labels, names) is escaped. Coordinates are written with one decimal.
 *
 * On success a chart function has appended its <svg> to out; on error (SL_EARG for bad input,
 * SL_ENOMEM) it has appended nothing and set the message. Nothing here keeps state between calls. */
#ifndef SIGLOOP_SVG_H
#define SIGLOOP_SVG_H

#include <stdarg.h>
#include <stddef.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- a growing text buffer ---- */

/* Start from sl_text t = {0}. Appends keep s NUL-terminated. After an allocation fails, failed is
 * set, s keeps what it held, and every later append does nothing and returns SL_ENOMEM, so a
 * writer may append freely and check failed once at the end. */
typedef struct {
    char *s;    /* the text, NUL-terminated; NULL until the first append */
    size_t len; /* bytes of text in s, not counting the NUL */
    size_t cap; /* bytes allocated for s */
    int failed; /* non-zero once an allocation has failed */
} sl_text;

/* Appends printf-formatted text. SL_EARG for a NULL t or fmt, SL_ENOMEM as above. */
sl_status sl_text_printf(sl_text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
sl_status sl_text_vprintf(sl_text *t, const char *fmt, va_list ap);

/* Appends s with & < > " ' written as &amp; &lt; &gt; &quot; &#39;, safe both as element text
 * and inside a quoted attribute, in HTML and in XML. A NULL s appends nothing. */
sl_status sl_text_escape(sl_text *t, const char *s);

/* Frees the text and zeroes t (also clearing failed); NULL-safe. */
void sl_text_free(sl_text *t);

/* ---- axis ticks ---- */

/* The "nice" ticks of [lo, hi]: the step is the smallest number 1, 2 or 5 times a power of ten
 * that cuts [lo, hi] into at most max_intervals intervals ((hi - lo) / step <= max_intervals), and
 * the ticks are the multiples of that step lying in [lo, hi] (within 1e-9 of a step, so that
 * rounding does not drop an end), in increasing order, each computed as k * step. So 0..1 with 5
 * intervals gives 0, 0.2, 0.4, 0.6, 0.8, 1; 0..37 gives 0, 10, 20, 30 with 5 and 0, 5, ..., 35
 * with 8; lo == hi gives the single tick lo. Writes at most cap ticks to ticks[], the count to *n
 * and the step to *step (may be NULL). SL_EARG for non-finite or reversed bounds, max_intervals
 * outside [1, 100], NULL ticks or n, or more ticks than cap (at most max_intervals + 1 occur). */
sl_status sl_svg_ticks(double lo, double hi, int max_intervals, double *ticks, size_t cap, size_t *n,
                       double *step);

/* ---- line charts ---- */

typedef struct {
    const char *name;    /* legend text; NULL or "" leaves the series out of the legend */
    const double *x, *y; /* n points in order of x; may be NULL when n is 0 */
    size_t n;            /* a point with a non-finite x or y is not drawn and breaks the line */
    int dashed;          /* non-zero: a dashed line (e.g. the validation curve beside training) */
    int markers;         /* non-zero: a symbol at every point (shape follows the colour: circle,
                            square, triangle, diamond, ...); a point with no finite neighbour
                            always gets a dot, as it has no line to show it */
    int color;           /* 0: the series' position in the list picks its colour; k >= 1:
                            palette colour k - 1 (to give a training and a validation curve the
                            same colour, one of them dashed); at most 8 */
} sl_svg_series;

typedef struct {
    double x;          /* where, in data units of the x axis */
    const char *label; /* text at the top of the line (e.g. "best epoch 17"); may be NULL */
} sl_svg_vline;

typedef struct {
    const char *title;            /* required, non-empty: the heading and the accessible name */
    const char *x_label, *y_label; /* axis titles with units ("SNR (dB)"); NULL: none */
    int width, height;            /* px; 0: 640 and 360; otherwise in [160, 4000] x [120, 4000] */
    const sl_svg_series *series;  /* n_series >= 1 */
    size_t n_series;
    const sl_svg_vline *vlines;   /* dashed grey vertical lines across the plot; may be NULL */
    size_t n_vlines;
    /* Fixed axis ranges, data units: used when lo < hi, and points outside are clipped; when
     * lo == hi (e.g. both 0) the range is automatic: the finite data (and the vlines, for x)
     * padded when flat, then widened to the enclosing ticks. lo > hi or non-finite: SL_EARG. */
    double x_min, x_max;
    double y_min, y_max;
} sl_svg_line_chart;

sl_status sl_svg_lines(sl_text *out, const sl_svg_line_chart *c);

/* ---- heat maps ---- */

typedef struct {
    const char *title;             /* required, non-empty */
    const char *x_label, *y_label; /* titles of the column and row axes ("predicted", "true") */
    const double *v;               /* rows x cols values, row-major; NaN cells are left blank */
    size_t rows, cols;             /* each in [1, 200] */
    const char *const *row_labels; /* rows labels, top to bottom; NULL: 0, 1, 2, ... */
    const char *const *col_labels; /* cols labels, left to right; NULL: 0, 1, 2, ... */
    /* The colour scale, light (lo) to dark (hi) blue, values outside clamped; lo == hi: the
     * finite data's minimum and maximum (widened when all are equal). Shown as a labelled bar
     * beside the matrix. */
    double lo, hi;
    /* printf format of one double for the text in each cell ("%.0f", "%.2f"), or NULL for none.
     * It must hold exactly one conversion of f, e, g (any case) with optional flags, width and
     * precision; "%%" is allowed. Text is drawn only while cells are at least 18 px and there
     * are at most 20 rows and columns, in black or white, whichever contrasts more. */
    const char *cell_format;
    int cell_px; /* side of a cell in px; 0: 40 px, shrunk to fit 480 px (at least 10); else
                    [4, 100]. The chart's width and height follow from the cells and labels. */
} sl_svg_heatmap_chart;

/* Cells are <rect class="sl-cell">, each with a <title> tooltip "row label / col label: value"
 * (value in cell_format, or %g). Labels longer than 28 characters are cut with an ellipsis. */
sl_status sl_svg_heatmap(sl_text *out, const sl_svg_heatmap_chart *c);

/* ---- horizontal bars ---- */

typedef struct {
    const char *title;             /* required, non-empty */
    const char *x_label;           /* title of the value axis ("accuracy"); NULL: none */
    const char *const *labels;     /* n labels, drawn top to bottom; NULL: 0, 1, 2, ... */
    const double *values;          /* n values; NaN: no bar and "n/a" */
    size_t n;                      /* in [1, 500] */
    double lo, hi;                 /* the value axis, finite, lo < hi (e.g. 0 and 1); bars start
                                      at lo and are clamped to [lo, hi], the text is not */
    const char *value_format;      /* printf format of one double for the value text, as for
                                      the heat map; NULL: "%.3g" */
    const char *ref_label;         /* non-NULL: a dashed reference line at ref, labelled with
                                      this text (e.g. "mean 0.874") */
    double ref;
    const unsigned char *highlight; /* n flags or NULL: non-zero bars drawn in vermillion instead
                                       of blue, with their value text in bold */
    const char *highlight_label;    /* legend text for highlighted bars ("below the mean") */
    int width;                      /* px; 0: 640; else [240, 4000] */
    int bar_px;                     /* px per bar; 0: 22 up to 20 bars, else 16; else [6, 100] */
} sl_svg_bar_chart;

/* Bars are <rect class="sl-bar">; a bar of a NaN value is not drawn. */
sl_status sl_svg_bars(sl_text *out, const sl_svg_bar_chart *c);

/* ---- reliability diagrams ---- */

typedef struct {
    const char *title;        /* required, non-empty; shown as "title (ECE 0.042)" */
    double ece;               /* expected calibration error, shown in the title; NaN: left out */
    size_t bins;              /* equal-width bins over [0, 1], bin b covering (b/bins, (b+1)/bins];
                                 in [1, 100] */
    const double *accuracy;   /* bins values in [0, 1]: share of correct predictions in the bin */
    const double *confidence; /* bins values in [0, 1]: mean top probability in the bin */
    const size_t *count;      /* bins counts of examples; bins with 0 draw nothing */
    int width, height;        /* px; 0: 420 and 480; else [200, 4000] x [240, 4000] */
} sl_svg_reliability_chart;

/* The accuracy of each non-empty bin as a blue bar, the gap between it and the bin's mean
 * confidence as a translucent vermillion box (above the bar when over-confident, inside it when
 * under-confident), the dashed diagonal of perfect calibration, and beneath, a faint histogram of
 * the counts (heights relative to the largest count, each count written when it fits). Each bar
 * has a <title> tooltip with the bin's range, count, accuracy and confidence; bars are
 * <rect class="sl-bin">. */
sl_status sl_svg_reliability(sl_text *out, const sl_svg_reliability_chart *c);

#ifdef __cplusplus
}
#endif
#endif
