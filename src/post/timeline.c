/* The timeline of a detection run as one SVG (see sigloop/post.h): the waveform's envelope, each
 * class's smoothed score with the thresholds, the events found and, when given, the truth. Each
 * of a fixed number of columns keeps the envelope's extremes and each class's highest score, so
 * the picture of an hour costs the memory of a minute's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/post.h"

struct sl_timeline {
    double t0, t1;          /* the time the columns span */
    size_t columns, classes;
    double sample_rate;
    size_t samples;         /* pushed so far */
    float *lo, *hi;         /* (columns): the envelope */
    float *score;           /* (columns, classes): the highest smoothed score; NaN: no decision */
};

/* Okabe-Ito's eight, then two more with dashes to tell them apart. */
static const char *const COLOURS[10] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                        "#56B4E9", "#000000", "#F0E442", "#0072B2", "#D55E00"};

sl_status sl_timeline_new(sl_timeline **out, double t0, double t1, size_t classes, size_t columns,
                          double sample_rate)
{
    *out = NULL;
    if (!(t1 > t0) || columns < 10 || columns > 20000 || classes == 0)
        return sl_fail(SL_EARG, "timeline: %g to %g s over %zu columns", t0, t1, columns);
    sl_timeline *t = calloc(1, sizeof *t);
    if (!t) return sl_fail(SL_ENOMEM, "out of memory");
    t->t0 = t0;
    t->t1 = t1;
    t->columns = columns;
    t->classes = classes;
    t->sample_rate = sample_rate;
    t->lo = malloc(columns * sizeof *t->lo);
    t->hi = malloc(columns * sizeof *t->hi);
    t->score = malloc(columns * classes * sizeof *t->score);
    if (!t->lo || !t->hi || !t->score) {
        sl_timeline_free(t);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < columns; i++) t->lo[i] = t->hi[i] = 0;
    for (size_t i = 0; i < columns * classes; i++) t->score[i] = NAN;
    *out = t;
    return SL_OK;
}

void sl_timeline_free(sl_timeline *t)
{
    if (!t) return;
    free(t->lo);
    free(t->hi);
    free(t->score);
    free(t);
}

static long column_of(const sl_timeline *t, double sec)
{
    double f = (sec - t->t0) / (t->t1 - t->t0) * (double)t->columns;
    if (!(f >= 0) || f >= (double)t->columns) return -1;
    return (long)f;
}

void sl_timeline_samples(sl_timeline *t, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        long c = column_of(t, (double)(t->samples + i) / t->sample_rate);
        if (c < 0) continue;
        if (x[i] < t->lo[c]) t->lo[c] = x[i];
        if (x[i] > t->hi[c]) t->hi[c] = x[i];
    }
    t->samples += n;
}

void sl_timeline_scores(sl_timeline *t, double sec, const float *smoothed)
{
    long c = column_of(t, sec);
    if (c < 0) return;
    float *s = t->score + (size_t)c * t->classes;
    for (size_t k = 0; k < t->classes; k++)
        if (isnan(s[k]) || smoothed[k] > s[k]) s[k] = smoothed[k];
}

enum { W = 1200, LEFT = 70, RIGHT = 20, TOP = 40 };

static double px(const sl_timeline *t, double sec)
{
    return LEFT + (sec - t->t0) / (t->t1 - t->t0) * (W - LEFT - RIGHT);
}

/* A row of labelled boxes: events or truth; a label is drawn when the last one is far enough. */
static void event_row(sl_text *o, const sl_timeline *t, double y, double h, const char *name,
                      const double *start, const double *end, const int *label, const float *score, size_t n,
                      const char *const *labels, int grey)
{
    sl_text_printf(o, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">", LEFT - 6, y + h / 2 + 4);
    sl_text_escape(o, name);
    sl_text_printf(o, "</text>\n");
    double last_text = -1e9;
    for (size_t i = 0; i < n; i++) {
        if (end[i] < t->t0 || start[i] > t->t1) continue;
        double a = px(t, start[i] < t->t0 ? t->t0 : start[i]), b = px(t, end[i] > t->t1 ? t->t1 : end[i]);
        if (b - a < 1) b = a + 1;
        const char *col = grey || label[i] < 0 ? "#888888" : COLOURS[label[i] % 10];
        sl_text_printf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.55\">"
                          "<title>", a, y, b - a, h, col);
        sl_text_escape(o, label[i] >= 0 ? labels[label[i]] : "?");
        if (score) sl_text_printf(o, " %.2f", score[i]);
        sl_text_printf(o, ": %.2f to %.2f s</title></rect>\n", start[i], end[i]);
        if (a - last_text >= 12) {
            sl_text_printf(o, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">", a, y - 2);
            sl_text_escape(o, label[i] >= 0 ? labels[label[i]] : "?");
            sl_text_printf(o, "</text>\n");
            last_text = a;
        }
    }
}

sl_status sl_timeline_svg(const sl_timeline *t, sl_text *o, const char *title, const char *const *labels,
                          const float *thresholds, const unsigned char *mask, const sl_event *ev, size_t n_ev,
                          const sl_truth_event *truth, size_t n_truth)
{
    const double wave_y = TOP + 10, wave_h = 80, score_y = wave_y + wave_h + 30, score_h = 220;
    const double ev_y = score_y + score_h + 40, ev_h = 18, truth_y = ev_y + ev_h + 22;
    const double axis_y = (n_truth ? truth_y + ev_h : ev_y + ev_h) + 8;
    const int height = (int)axis_y + 70;
    const double plot_w = W - LEFT - RIGHT;
    sl_text_printf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                      "role=\"img\" aria-label=\"", W, height, W, height);
    sl_text_escape(o, title);
    sl_text_printf(o, "\" font-family=\"sans-serif\">\n<title>");
    sl_text_escape(o, title);
    sl_text_printf(o, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                      "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">", LEFT);
    sl_text_escape(o, title);
    sl_text_printf(o, "</text>\n");

    /* the waveform's envelope, scaled to its own peak */
    float peak = 1e-9f;
    for (size_t i = 0; i < t->columns; i++) {
        if (-t->lo[i] > peak) peak = -t->lo[i];
        if (t->hi[i] > peak) peak = t->hi[i];
    }
    double mid = wave_y + wave_h / 2;
    sl_text_printf(o, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">signal</text>\n", LEFT - 6, mid + 4);
    sl_text_printf(o, "<path fill=\"#56B4E9\" stroke=\"#0072B2\" stroke-width=\"0.4\" d=\"");
    for (size_t i = 0; i < t->columns; i++)
        sl_text_printf(o, "%s%.1f %.1f", i ? "L" : "M", LEFT + (i + 0.5) * plot_w / (double)t->columns,
                       mid - t->hi[i] / peak * wave_h / 2);
    for (size_t i = t->columns; i-- > 0;)
        sl_text_printf(o, "L%.1f %.1f", LEFT + (i + 0.5) * plot_w / (double)t->columns, mid - t->lo[i] / peak * wave_h / 2);
    sl_text_printf(o, "Z\"/>\n");

    /* the scores, 0 to 1 */
    sl_text_printf(o, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#bbbbbb\"/>\n", LEFT,
                   score_y, plot_w, score_h);
    for (int k = 0; k <= 4; k++) {
        double y = score_y + score_h - k * score_h / 4;
        sl_text_printf(o, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.2f</text>\n", LEFT - 4, y + 3,
                       k / 4.0);
    }
    sl_text_printf(o, "<text x=\"14\" y=\"%.1f\" font-size=\"11\" transform=\"rotate(-90 14 %.1f)\" "
                      "text-anchor=\"middle\">smoothed score</text>\n", score_y + score_h / 2, score_y + score_h / 2);
    for (size_t k = 0; k < t->classes; k++) {
        sl_text_printf(o, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.1\"%s d=\"", COLOURS[k % 10],
                       k >= 8 ? " stroke-dasharray=\"4 2\"" : "");
        int pen = 0;
        for (size_t i = 0; i < t->columns; i++) {
            float v = t->score[i * t->classes + k];
            if (isnan(v)) continue; /* a column between two decisions (a short view): joined across */
            sl_text_printf(o, "%s%.1f %.1f", pen ? "L" : "M", LEFT + (i + 0.5) * plot_w / (double)t->columns,
                           score_y + score_h * (1 - v));
            pen = 1;
        }
        sl_text_printf(o, "\"><title>");
        sl_text_escape(o, labels[k]);
        sl_text_printf(o, "</title></path>\n");
    }
    /* each distinct threshold once, dashed, with its value */
    for (size_t k = 0; k < t->classes; k++) {
        if (!mask[k]) continue;
        int seen = 0;
        for (size_t j = 0; j < k; j++) seen |= mask[j] && thresholds[j] == thresholds[k];
        if (seen) continue;
        double y = score_y + score_h * (1 - thresholds[k]);
        sl_text_printf(o, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\" stroke-dasharray=\"6 4\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"#444444\">threshold "
                          "%.2f</text>\n", LEFT, LEFT + plot_w, y, y, LEFT + plot_w - 2, y - 3, thresholds[k]);
    }
    /* legend */
    for (size_t k = 0; k < t->classes; k++) {
        double x = LEFT + 10 + (double)k * 62, y = score_y - 10;
        sl_text_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"%s/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", x, x + 16, y, y, COLOURS[k % 10],
                       k >= 8 ? " stroke-dasharray=\"4 2\"" : "", x + 20, y + 4);
        sl_text_escape(o, labels[k]);
        sl_text_printf(o, "</text>\n");
        if (k == 15 && t->classes > 16) {
            sl_text_printf(o, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">...</text>\n", x + 62, y + 4);
            break;
        }
    }

    /* events and truth */
    double *a = malloc((n_ev + n_truth + 1) * sizeof *a), *b = malloc((n_ev + n_truth + 1) * sizeof *b);
    int *l = malloc((n_ev + n_truth + 1) * sizeof *l);
    float *sc = malloc((n_ev + 1) * sizeof *sc);
    if (!a || !b || !l || !sc) {
        free(a);
        free(b);
        free(l);
        free(sc);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_ev; i++) {
        a[i] = ev[i].start;
        b[i] = ev[i].end;
        l[i] = ev[i].label;
        sc[i] = ev[i].score;
    }
    event_row(o, t, ev_y, ev_h, "events", a, b, l, sc, n_ev, labels, 0);
    if (n_truth) {
        for (size_t i = 0; i < n_truth; i++) {
            a[i] = truth[i].start;
            b[i] = truth[i].end;
            l[i] = truth[i].label;
        }
        event_row(o, t, truth_y, ev_h, "truth", a, b, l, NULL, n_truth, labels, 1);
    }
    free(a);
    free(b);
    free(l);
    free(sc);

    /* the time axis */
    double ticks[32], step;
    size_t nt = 0;
    if (sl_svg_ticks(t->t0, t->t1, 12, ticks, 32, &nt, &step) != SL_OK) nt = 0;
    sl_text_printf(o, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\"/>\n", LEFT, LEFT + plot_w,
                   axis_y, axis_y);
    for (size_t i = 0; i < nt; i++) {
        double x = px(t, ticks[i]);
        sl_text_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\"/>"
                          "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eeeeee\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%g</text>\n",
                       x, x, axis_y, axis_y + 4, x, x, score_y, score_y + score_h, x, axis_y + 16, ticks[i]);
    }
    sl_text_printf(o, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">time (s)</text>\n</svg>\n",
                   LEFT + plot_w / 2, axis_y + 34);
    return o->failed ? sl_fail(SL_ENOMEM, "out of memory") : SL_OK;
}
