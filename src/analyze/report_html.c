/* report.html: one self-contained page (inline SVG charts, spectrograms as PNG and recordings as
 * WAV in data: URIs, no script) that a signal engineer reads top-down: the headline figures, what
 * to change, then the evidence. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analysis.h"
#include "analyze/html.h"
#include "sigloop/dsp.h"
#include "sigloop/fileio.h"
#include "sigloop/image.h"
#include "sigloop/svg.h"

/* ---- shared page pieces (html.h) ------------------------------------------------------------------ */

void sl_html_begin(sl_text *t, const char *title)
{
    sl_text_printf(t, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    sl_text_escape(t, title);
    sl_text_printf(t, "</title>\n<style>\n"
                      "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;"
                      "background:#fafafa;line-height:1.45}\n"
                      "main{max-width:1120px;margin:0 auto;padding:24px}\n"
                      "h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd;"
                      "padding-bottom:.2em}h3{font-size:1.05em}\n"
                      ".sub{color:#555}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}\n"
                      ".card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px;min-width:180px}\n"
                      ".card b{display:block;font-size:1.6em}.card span{color:#555;font-size:.9em}\n"
                      "table{border-collapse:collapse;background:#fff;margin:8px 0;font-size:.92em}\n"
                      "td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:middle}\n"
                      "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
                      "ol.sug li{margin:.5em 0}.ev{color:#444;font-size:.92em}\n"
                      ".charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\n"
                      "svg{background:#fff;border:1px solid #e4e4e4;border-radius:6px;max-width:100%%;height:auto}\n"
                      "img.spec{image-rendering:pixelated;border:1px solid #ccc}audio{height:32px;width:220px}\n"
                      ".diag{background:#fff;border-left:4px solid #d55e00;padding:6px 12px;margin:6px 0}\n"
                      ".diag.ok{border-color:#009e73}footer{color:#666;font-size:.85em;margin-top:3em}\n"
                      "</style></head><body><main>\n");
}

void sl_html_end(sl_text *t, const char *footer)
{
    sl_text_printf(t, "<footer>");
    sl_text_escape(t, footer);
    sl_text_printf(t, "</footer>\n</main></body></html>\n");
}

sl_status sl_html_save(const sl_text *t, const char *path)
{
    if (t->failed) return sl_fail(SL_ENOMEM, "%s: out of memory writing the page", path);
    return sl_write_file_atomic(path, t->s, t->len);
}

void sl_html_card(sl_text *t, const char *what, const char *value, const char *note)
{
    sl_text_printf(t, "<div class=\"card\"><span>");
    sl_text_escape(t, what);
    sl_text_printf(t, "</span><b>");
    sl_text_escape(t, value);
    sl_text_printf(t, "</b><span>");
    sl_text_escape(t, note);
    sl_text_printf(t, "</span></div>\n");
}

/* ---- data: URIs ---------------------------------------------------------------------------------- */

static void data_uri(sl_text *t, const char *mime, const uint8_t *bytes, size_t len)
{
    char *b64;
    if (sl_base64(bytes, len, &b64) != SL_OK) {
        t->failed = 1;
        return;
    }
    sl_text_printf(t, "data:%s;base64,%s", mime, b64);
    free(b64);
}

/* A 16-bit mono WAV file in memory. */
static uint8_t *wav_bytes(const float *x, size_t n, unsigned rate, size_t *len)
{
    size_t data = 2 * n;
    uint8_t *w = malloc(44 + data);
    if (!w) return NULL;
    uint32_t v32;
    uint16_t v16;
#define PUT32(at, v) (v32 = (uint32_t)(v), w[at] = (uint8_t)v32, w[at + 1] = (uint8_t)(v32 >> 8), \
                      w[at + 2] = (uint8_t)(v32 >> 16), w[at + 3] = (uint8_t)(v32 >> 24))
#define PUT16(at, v) (v16 = (uint16_t)(v), w[at] = (uint8_t)v16, w[at + 1] = (uint8_t)(v16 >> 8))
    memcpy(w, "RIFF", 4);
    PUT32(4, 36 + data);
    memcpy(w + 8, "WAVEfmt ", 8);
    PUT32(16, 16);
    PUT16(20, 1);
    PUT16(22, 1);
    PUT32(24, rate);
    PUT32(28, rate * 2);
    PUT16(32, 2);
    PUT16(34, 16);
    memcpy(w + 36, "data", 4);
    PUT32(40, data);
    for (size_t i = 0; i < n; i++) {
        double s = x[i] > 1 ? 1 : x[i] < -1 ? -1 : x[i];
        int16_t q = (int16_t)lrint(s * 32767);
        PUT16(44 + 2 * i, (uint16_t)q);
    }
#undef PUT32
#undef PUT16
    *len = 44 + data;
    return w;
}

/* The example's spectrogram as the network saw it (standardised features, low bands at the
 * bottom) and a player for its recording. */
static void example_media(sl_text *t, const sl_analysis *a, size_t i)
{
    const sl_model *m = a->model;
    const float *f = a->test_feat + i * m->bands * m->frames;
    float lo = f[0], hi = f[0];
    for (size_t q = 1; q < m->bands * m->frames; q++) {
        lo = f[q] < lo ? f[q] : lo;
        hi = f[q] > hi ? f[q] : hi;
    }
    if (!(hi > lo)) hi = lo + 1;
    uint8_t *png;
    size_t len;
    if (sl_heatmap_png(f, m->bands, m->frames, 1, lo, hi, 2, &png, &len) == SL_OK) {
        sl_text_printf(t, "<img class=\"spec\" alt=\"spectrogram of ");
        sl_text_escape(t, sl_an_path(a, i));
        sl_text_printf(t, "\" width=\"%zu\" height=\"%zu\" src=\"", 2 * m->frames, 2 * m->bands);
        data_uri(t, "image/png", png, len);
        sl_text_printf(t, "\">");
        free(png);
    }
    size_t ns = (size_t)llround(m->cfg.data.duration * m->cfg.data.sample_rate), n_real = 0;
    float *x = malloc((ns * 64 + 1) * sizeof *x); /* room for a sensor series' channels */
    if (x && m->cfg.features.type != SL_FEATURES_RAW && sl_an_signal(a, i, x, &n_real) == SL_OK) {
        uint8_t *wav = wav_bytes(x, n_real ? n_real : ns, (unsigned)lround(m->cfg.data.sample_rate), &len);
        if (wav) {
            sl_text_printf(t, "<br><audio controls preload=\"none\" src=\"");
            data_uri(t, "audio/wav", wav, len);
            sl_text_printf(t, "\"></audio>");
            free(wav);
        }
    }
    free(x);
}

static void pct(char *buf, size_t size, double v) { snprintf(buf, size, "%.1f %%", 100 * v); }

static void examples_table(sl_text *t, const sl_analysis *a, const size_t *list, size_t n, const char *caption)
{
    sl_preds p = {a->n_test, a->k, a->test_label, a->test_prob};
    sl_text_printf(t, "<h3>");
    sl_text_escape(t, caption);
    sl_text_printf(t, "</h3>\n<table><tr><th>file</th><th>group</th><th>label</th><th>predicted</th>"
                      "<th>top scores</th><th>spectrogram and recording</th></tr>\n");
    for (size_t r = 0; r < n; r++) {
        size_t i = list[r];
        const float *pi = a->test_prob + i * a->k;
        sl_text_printf(t, "<tr><td>");
        sl_text_escape(t, sl_an_path(a, i));
        sl_text_printf(t, "</td><td>");
        sl_text_escape(t, sl_an_group(a, i));
        sl_text_printf(t, "</td><td>");
        sl_text_escape(t, sl_an_label(a, (size_t)a->test_label[i]));
        sl_text_printf(t, "</td><td>");
        sl_text_escape(t, sl_an_label(a, (size_t)sl_preds_argmax(&p, i)));
        sl_text_printf(t, "</td><td>");
        int used[3] = {-1, -1, -1};
        for (int q = 0; q < 3 && q < (int)a->k; q++) {
            int best = -1;
            for (size_t c = 0; c < a->k; c++)
                if ((int)c != used[0] && (int)c != used[1] && (best < 0 || pi[c] > pi[best])) best = (int)c;
            used[q] = best;
            sl_text_printf(t, "%s", q ? "<br>" : "");
            sl_text_escape(t, sl_an_label(a, (size_t)best));
            sl_text_printf(t, " %.3f", pi[best]);
        }
        sl_text_printf(t, "</td><td>");
        example_media(t, a, i);
        sl_text_printf(t, "</td></tr>\n");
    }
    sl_text_printf(t, "</table>\n");
}

/* ---- sections -------------------------------------------------------------------------------- */

static void curves(sl_text *t, const sl_analysis *a)
{
    size_t n = a->n_epochs;
    double *ep = malloc((n + 1) * sizeof *ep), *v[5];
    for (int q = 0; q < 5; q++) v[q] = malloc((n + 1) * sizeof *v[q]);
    if (!ep || !v[0] || !v[1] || !v[2] || !v[3] || !v[4]) {
        t->failed = 1;
    } else {
        int have_val = 0;
        for (size_t e = 0; e < n; e++) {
            ep[e] = (double)(e + 1);
            v[0][e] = a->epochs[e].train_loss;
            v[1][e] = a->epochs[e].val_loss;
            v[2][e] = a->epochs[e].train_acc;
            v[3][e] = a->epochs[e].val_acc;
            v[4][e] = a->epochs[e].lr;
            have_val |= isfinite(a->epochs[e].val_loss);
        }
        double test_x[2] = {1, (double)n}, test_y[2] = {a->m.accuracy, a->m.accuracy};
        sl_svg_series loss[2] = {{"training", ep, v[0], n, 0, n < 40, 1}, {"validation", ep, v[1], n, 1, n < 40, 1}};
        sl_svg_series acc[3] = {{"training", ep, v[2], n, 0, n < 40, 2},
                                {"validation", ep, v[3], n, 1, n < 40, 2},
                                {"test (best epoch)", test_x, test_y, 2, 1, 0, 3}};
        sl_svg_series lr[1] = {{"learning rate", ep, v[4], n, 0, 0, 4}};
        sl_text_printf(t, "<div class=\"charts\">\n");
        sl_svg_line_chart c1 = {.title = "Loss per epoch", .x_label = "epoch", .y_label = "cross-entropy",
                                .width = 540, .height = 320, .series = loss, .n_series = have_val ? 2 : 1};
        (void)sl_svg_lines(t, &c1);
        sl_svg_series acc_noval[2] = {acc[0], acc[2]};
        sl_svg_line_chart c2 = {.title = "Accuracy per epoch", .x_label = "epoch", .y_label = "accuracy",
                                .width = 540, .height = 320, .series = have_val ? acc : acc_noval,
                                .n_series = have_val ? 3 : 2, .y_min = 0, .y_max = 1};
        (void)sl_svg_lines(t, &c2);
        sl_svg_line_chart c3 = {.title = "Learning rate", .x_label = "epoch", .y_label = "learning rate", .width = 540,
                                .height = 240, .series = lr, .n_series = 1};
        (void)sl_svg_lines(t, &c3);
        sl_text_printf(t, "</div>\n");
    }
    free(ep);
    for (int q = 0; q < 5; q++) free(v[q]);
}

static void slicing_section(sl_text *t, const sl_analysis *a, const sl_an_slicing *s, const char *heading)
{
    size_t n = s->n;
    const char **labels = malloc((n + 1) * sizeof *labels);
    double *vals = malloc((n + 1) * sizeof *vals), mean = 0;
    unsigned char *low = malloc(n + 1);
    if (!labels || !vals || !low) {
        t->failed = 1;
        free(labels), free(vals), free(low);
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        mean += s->s[i].acc * (double)s->s[i].n;
        total += s->s[i].n;
    }
    mean = total ? mean / (double)total : NAN;
    for (size_t i = 0; i < n; i++) {
        labels[i] = s->s[i].name;
        vals[i] = s->s[i].acc;
        low[i] = s->s[i].acc < mean - 0.05;
    }
    char ref[64], title[300];
    snprintf(ref, sizeof ref, "overall %.1f %%", 100 * mean);
    snprintf(title, sizeof title, "%s", heading);
    sl_svg_bar_chart c = {.title = title, .x_label = "accuracy", .labels = labels, .values = vals, .n = n, .lo = 0,
                          .hi = 1, .value_format = "%.3f", .ref_label = ref, .ref = mean, .highlight = low,
                          .highlight_label = "more than 5 points below", .width = 640};
    (void)sl_svg_bars(t, &c);
    (void)a;
    free(labels), free(vals), free(low);
}

static void robustness_section(sl_text *t, const sl_analysis *a)
{
    static const struct {
        const char *kind, *title, *x_label;
    } kinds[] = {{"noise", "White noise", "SNR (dB); clean at the right"},
                 {"gain", "Level", "gain (dB), clipped at full scale"},
                 {"shift", "Time shift", "shift in the window (s)"}};
    sl_text_printf(t, "<div class=\"charts\">\n");
    for (size_t q = 0; q < 3; q++) {
        double x[16], y[16];
        size_t n = 0;
        for (size_t i = 0; i < a->n_cond && n < 15; i++)
            if (strcmp(a->cond[i].kind, kinds[q].kind) == 0) {
                x[n] = a->cond[i].value;
                y[n++] = a->cond[i].acc;
            }
        if (!n) continue;
        /* the clean point: at 0 dB gain and 0 s shift; for noise, beyond the highest SNR */
        double cx = q == 0 ? x[0] + 10 : 0;
        size_t at = n;
        if (q > 0)
            for (at = 0; at < n && x[at] < 0; at++) {}
        for (size_t j = n; j > at; j--) {
            x[j] = x[j - 1];
            y[j] = y[j - 1];
        }
        if (q == 0) {
            for (size_t j = n; j > 0; j--) {
                x[j] = x[j - 1];
                y[j] = y[j - 1];
            }
            at = 0;
        }
        x[at] = cx;
        y[at] = a->m.accuracy;
        n++;
        sl_svg_series s = {"test accuracy", x, y, n, 0, 1, 1};
        char clean[64];
        snprintf(clean, sizeof clean, "clean: %.1f %%", 100 * a->m.accuracy);
        sl_svg_vline vl = {cx, clean};
        sl_svg_line_chart c = {.title = kinds[q].title, .x_label = kinds[q].x_label, .y_label = "accuracy",
                               .width = 360, .height = 280, .series = &s, .n_series = 1, .vlines = &vl, .n_vlines = 1,
                               .y_min = 0, .y_max = 1};
        (void)sl_svg_lines(t, &c);
    }
    sl_text_printf(t, "</div>\n");
}

sl_status sl_analysis_write_html(const sl_analysis *a, const char *path)
{
    sl_text t = {0};
    char title[SL_PATH_MAX + 32], v[64], note[160];
    snprintf(title, sizeof title, "sigloop analysis: %s", a->name);
    sl_html_begin(&t, title);
    const sl_config *cfg = &a->model->cfg;
    sl_text_printf(&t, "<h1>");
    sl_text_escape(&t, a->name);
    sl_text_printf(&t, "</h1>\n<p class=\"sub\">%s model (%zu parameters) on %zu x %zu features; %zu classes; %zu test "
                       "examples",
                   sl_model_arch_name(cfg->model.arch), sl_graph_n_params(a->model->graph), a->model->bands,
                   a->model->frames, a->k, a->n_test);
    if (a->n_val) sl_text_printf(&t, ", %zu validation", a->n_val);
    sl_text_printf(&t, ". Run folder <code>");
    sl_text_escape(&t, a->run_dir);
    sl_text_printf(&t, "</code>.</p>\n<div class=\"cards\">\n");
    static const char *const names[4] = {"accuracy", "macro-F1", "balanced accuracy", "top-2 accuracy"};
    for (int q = 0; q < 4; q++) {
        const sl_ci *c = &a->ci[q];
        if (q == 1) snprintf(v, sizeof v, "%.3f", c->value);
        else pct(v, sizeof v, c->value);
        if (q == 1) snprintf(note, sizeof note, "95 %% interval %.3f-%.3f", c->lo, c->hi);
        else snprintf(note, sizeof note, "95 %% interval %.1f-%.1f %%", 100 * c->lo, 100 * c->hi);
        sl_html_card(&t, names[q], v, note);
    }
    pct(v, sizeof v, a->top3);
    sl_html_card(&t, "top-3 accuracy", v, "");
    snprintf(v, sizeof v, "%.3f", a->cal.ece);
    snprintf(note, sizeof note, "%.3f after temperature %.2f", a->cal_t.ece, a->temperature);
    sl_html_card(&t, "calibration error (ECE)", v, note);
    sl_text_printf(&t, "</div>\n<p class=\"sub\">Intervals: 95 %% percentile bootstrap over the test examples "
                       "(1,000 resamples). A small test set gives wide intervals: compare runs by them, not by the "
                       "last digit.</p>\n");

    sl_text_printf(&t, "<h2>What to change</h2>\n<ol class=\"sug\">\n");
    for (size_t i = 0; i < a->n_sug; i++) {
        sl_text_printf(&t, "<li><b>");
        sl_text_escape(&t, a->sug[i].title);
        sl_text_printf(&t, "</b><br><span class=\"ev\">");
        sl_text_escape(&t, a->sug[i].evidence);
        sl_text_printf(&t, "</span></li>\n");
    }
    if (!a->n_sug) sl_text_printf(&t, "<li>No weak point stands out in this run.</li>\n");
    sl_text_printf(&t, "</ol>\n");

    sl_text_printf(&t, "<h2>Learning curves</h2>\n");
    for (size_t d = 0; d < a->n_diag; d++) {
        sl_text_printf(&t, "<div class=\"diag%s\"><b>",
                       strcmp(a->diag[d].kind, "healthy") == 0 || strcmp(a->diag[d].kind, "note") == 0 ? " ok" : "");
        sl_text_escape(&t, a->diag[d].kind);
        sl_text_printf(&t, "</b>: ");
        sl_text_escape(&t, a->diag[d].text);
        sl_text_printf(&t, "</div>\n");
    }
    curves(&t, a);

    sl_text_printf(&t, "<h2>Classes</h2>\n<div class=\"charts\">\n");
    size_t k = a->k;
    double *cm = malloc((k * k + 1) * sizeof *cm), *cmn = malloc((k * k + 1) * sizeof *cmn);
    const char **lab = malloc((k + 1) * sizeof *lab);
    if (cm && cmn && lab) {
        for (size_t c = 0; c < k; c++) lab[c] = sl_an_label(a, c);
        for (size_t r = 0; r < k; r++)
            for (size_t c = 0; c < k; c++) {
                cm[r * k + c] = (double)a->m.confusion[r * k + c];
                cmn[r * k + c] = a->m.support[r] ? cm[r * k + c] / (double)a->m.support[r] : NAN;
            }
        sl_svg_heatmap_chart h1 = {.title = "Confusion matrix (counts)", .x_label = "predicted", .y_label = "true",
                                   .v = cm, .rows = k, .cols = k, .row_labels = lab, .col_labels = lab,
                                   .cell_format = "%.0f"};
        (void)sl_svg_heatmap(&t, &h1);
        sl_svg_heatmap_chart h2 = {.title = "Confusion matrix (share of each true class)", .x_label = "predicted",
                                   .y_label = "true", .v = cmn, .rows = k, .cols = k, .row_labels = lab,
                                   .col_labels = lab, .lo = 0, .hi = 1, .cell_format = "%.2f"};
        (void)sl_svg_heatmap(&t, &h2);
    } else {
        t.failed = 1;
    }
    free(cm), free(cmn);
    sl_text_printf(&t, "</div>\n<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
                       "</tr>\n");
    for (size_t c = 0; c < k; c++) {
        sl_text_printf(&t, "<tr><td>");
        sl_text_escape(&t, sl_an_label(a, c));
        sl_text_printf(&t, "</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
                           "<td class=\"n\">%zu</td></tr>\n",
                       a->m.precision[c], a->m.recall[c], a->m.f1[c], a->m.support[c]);
    }
    sl_text_printf(&t, "</table>\n");
    if (a->n_weakest) {
        sl_text_printf(&t, "<p>Weakest classes (F1): ");
        for (size_t i = 0; i < a->n_weakest; i++) {
            sl_text_printf(&t, "%s&lsquo;", i ? ", " : "");
            sl_text_escape(&t, sl_an_label(a, a->weakest[i]));
            sl_text_printf(&t, "&rsquo; %.2f (recall %.0f %%)", a->m.f1[a->weakest[i]], 100 * a->m.recall[a->weakest[i]]);
        }
        sl_text_printf(&t, ".</p>\n");
    }
    if (a->n_confused) {
        sl_text_printf(&t, "<p>Most frequent confusions: ");
        for (size_t i = 0; i < a->n_confused; i++) {
            sl_text_printf(&t, "%s&lsquo;", i ? "; " : "");
            sl_text_escape(&t, sl_an_label(a, a->conf_true[i]));
            sl_text_printf(&t, "&rsquo; taken for &lsquo;");
            sl_text_escape(&t, sl_an_label(a, a->conf_pred[i]));
            sl_text_printf(&t, "&rsquo; %zu times", a->conf_count[i]);
        }
        sl_text_printf(&t, ".</p>\n");
    }
    free(lab);

    sl_text_printf(&t, "<h2>Groups and slices</h2>\n<p class=\"sub\">Accuracy on the test split, worst first "
                       "(duration in time order).</p>\n<div class=\"charts\">\n");
    for (size_t s = 0; s < a->n_slicings; s++) {
        char heading[SL_NAME_MAX + 32];
        snprintf(heading, sizeof heading, "Accuracy by %s", a->slicings[s].column);
        slicing_section(&t, a, &a->slicings[s], heading);
    }
    sl_text_printf(&t, "</div>\n");

    sl_text_printf(&t, "<h2>Calibration</h2>\n<p>How far the top score is from the chance of being right. ECE over 15 "
                       "bins: %.3f. A temperature of %.2f, fitted on the %s split (mean negative log-likelihood %.3f "
                       "&rarr; %.3f), gives %.3f.%s</p>\n<div class=\"charts\">\n",
                   a->cal.ece, a->temperature, a->temperature_on, a->nll_before, a->nll_after, a->cal_t.ece,
                   strcmp(a->temperature_on, "test") == 0
                       ? " (This run has no validation split, so the temperature was fitted on the test split itself: "
                         "its after-figure is optimistic.)"
                       : "");
    sl_svg_reliability_chart r1 = {.title = "Reliability", .ece = a->cal.ece, .bins = a->cal.bins,
                                   .accuracy = a->cal.accuracy, .confidence = a->cal.confidence, .count = a->cal.count};
    (void)sl_svg_reliability(&t, &r1);
    char rt[64];
    snprintf(rt, sizeof rt, "Reliability at temperature %.2f", a->temperature);
    sl_svg_reliability_chart r2 = {.title = rt, .ece = a->cal_t.ece, .bins = a->cal_t.bins,
                                   .accuracy = a->cal_t.accuracy, .confidence = a->cal_t.confidence,
                                   .count = a->cal_t.count};
    (void)sl_svg_reliability(&t, &r2);
    sl_text_printf(&t, "</div>\n");

    if (a->n_cond) {
        sl_text_printf(&t, "<h2>Robustness</h2>\n<p class=\"sub\">The test split again with white noise at a signal-to-"
                           "noise ratio over the recording, with the level changed (saturating at full scale) and "
                           "with the recording moved in its window; the model and features unchanged.</p>\n");
        robustness_section(&t, a);
    }

    sl_text_printf(&t, "<h2>Worst examples</h2>\n");
    examples_table(&t, a, a->wrong, a->n_wrong, "The most confident wrong predictions");
    examples_table(&t, a, a->unsure, a->n_unsure, "The right predictions with the smallest margin");

    sl_text_printf(&t, "<h2>Suspected label errors</h2>\n<p class=\"sub\">Confident learning (Northcutt, Jiang and "
                       "Chuang, 2021) on the test split's probabilities from this run's best model, which never "
                       "trained on them: an example is suspect when its most probable class above that class's "
                       "average self-confidence is another than its label (shown: those the model also prefers to "
                       "their label). Listen before relabelling: an unseen voice can look like a label error too."
                       "</p>\n");
    if (a->n_suspects) {
        sl_text_printf(&t, "<table><tr><th>file</th><th>label</th><th>p(label)</th><th>suggested</th>"
                           "<th>p(suggested)</th></tr>\n");
        for (size_t i = 0; i < a->n_suspects && i < 40; i++) {
            size_t e = a->suspect[i];
            const float *pe = a->test_prob + e * k;
            sl_text_printf(&t, "<tr><td>");
            sl_text_escape(&t, sl_an_path(a, e));
            sl_text_printf(&t, "</td><td>");
            sl_text_escape(&t, sl_an_label(a, (size_t)a->test_label[e]));
            sl_text_printf(&t, "</td><td class=\"n\">%.3f</td><td>", pe[a->test_label[e]]);
            sl_text_escape(&t, sl_an_label(a, (size_t)a->suspect_class[i]));
            sl_text_printf(&t, "</td><td class=\"n\">%.3f</td></tr>\n", pe[a->suspect_class[i]]);
        }
        sl_text_printf(&t, "</table>\n");
        if (a->n_suspects > 40) sl_text_printf(&t, "<p>... and %zu more in report.json.</p>\n", a->n_suspects - 40);
    } else {
        sl_text_printf(&t, "<p>None.</p>\n");
    }
    char foot[256];
    snprintf(foot, sizeof foot, "Written by sigloop analyze in %.2f s. The same figures are in report.json.", a->seconds);
    sl_html_end(&t, foot);
    sl_status s = sl_html_save(&t, path);
    sl_text_free(&t);
    return s;
}
