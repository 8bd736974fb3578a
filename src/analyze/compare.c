/* Runs side by side (analyze.h, sl_compare_runs): each run analysed without the robustness
 * curves, then its figures against the first run's, McNemar's test on the test examples both
 * scored, and the settings in which the configs differ. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analysis.h"
#include "analyze/html.h"
#include "sigloop/fileio.h"
#include "sigloop/svg.h"

/* ---- config differences -------------------------------------------------------------------------- */

typedef struct {
    char **key, **value;
    size_t n;
} flat_config;

static void flat_free(flat_config *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->key[i]), free(f->value[i]);
    free(f->key), free(f->value);
    memset(f, 0, sizeof *f);
}

/* The resolved config as "section.key = value" lines: sl_config_write's YAML, read back by its
 * indentation (two spaces a level; "- name:" items of the augment list become "augment[i].name"). */
static sl_status flatten(const sl_config *cfg, flat_config *out)
{
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = sl_config_write(cfg, f);
    fclose(f);
    if (s != SL_OK) {
        free(buf);
        return s;
    }
    char stack[16][128];
    int item[16];
    memset(item, -1, sizeof item);
    size_t cap = 256;
    out->key = malloc(cap * sizeof *out->key);
    out->value = malloc(cap * sizeof *out->value);
    if (!out->key || !out->value) s = sl_fail(SL_ENOMEM, "out of memory");
    for (char *line = buf, *next; s == SL_OK && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (line[0] == '#' || !*line) continue;
        size_t ind = strspn(line, " ");
        char *p = line + ind;
        int list_item = p[0] == '-' && p[1] == ' ';
        if (list_item) {
            p += 2;
            ind += 2;
        }
        size_t level = ind / 2;
        if (level >= 15) continue;
        char *colon = strchr(p, ':');
        if (!colon) continue;
        *colon = '\0';
        const char *val = colon[1] ? colon + 2 : "";
        if (list_item) {
            item[level - 1]++;
            stack[level - 1][0] = '\0'; /* the item has no name of its own: "list[i].key" */
        }
        snprintf(stack[level], sizeof stack[level], "%s", p);
        for (size_t l = level + 1; l < 16; l++) item[l] = -1; /* deeper lists start again */
        if (!*val) continue; /* a section: its keys follow */
        char key[1024] = "";
        size_t k = 0;
        for (size_t l = 0; l <= level && k < sizeof key; l++) {
            if (stack[l][0]) k += (size_t)snprintf(key + k, sizeof key - k, "%s%s", k ? "." : "", stack[l]);
            if (l < level && item[l] >= 0 && k < sizeof key) k += (size_t)snprintf(key + k, sizeof key - k, "[%d]", item[l]);
        }
        if (out->n == cap) {
            cap *= 2;
            char **a = realloc(out->key, cap * sizeof *a), **b = a ? realloc(out->value, cap * sizeof *b) : NULL;
            if (a) out->key = a;
            if (b) out->value = b;
            if (!a || !b) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
        }
        out->key[out->n] = strdup(key);
        out->value[out->n] = strdup(val);
        if (!out->key[out->n] || !out->value[out->n]) s = sl_fail(SL_ENOMEM, "out of memory");
        out->n++;
    }
    free(buf);
    if (s != SL_OK) flat_free(out);
    return s;
}

/* The keys of every run's config, the first run's first, each once. */
static sl_status key_union(const flat_config *fc, size_t n, flat_config *u)
{
    memset(u, 0, sizeof *u);
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) cap += fc[i].n;
    u->key = calloc(cap + 1, sizeof *u->key);
    if (!u->key) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        for (size_t q = 0; q < fc[i].n; q++) {
            int seen = 0;
            for (size_t j = 0; j < u->n && !seen; j++) seen = strcmp(u->key[j], fc[i].key[q]) == 0;
            if (!seen) u->key[u->n++] = fc[i].key[q]; /* borrowed */
        }
    return SL_OK;
}

/* 1 when the runs' values of key differ (a key absent from a run counts as a value). */
static int differs(const flat_config *fc, size_t n, const char *key);

static const char *flat_get(const flat_config *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->key[i], key) == 0) return f->value[i];
    return NULL;
}

static int differs(const flat_config *fc, size_t n, const char *key)
{
    const char *v0 = flat_get(&fc[0], key);
    for (size_t i = 1; i < n; i++) {
        const char *v = flat_get(&fc[i], key);
        if (!v != !v0 || (v && strcmp(v, v0) != 0)) return 1;
    }
    return 0;
}

/* ---- the comparison ------------------------------------------------------------------------------ */

typedef struct {
    sl_mcnemar mc;
    size_t shared;        /* test examples both runs scored (by file) */
    double acc_a, acc_b;  /* on those */
} paired;

static paired pair_runs(const sl_analysis *a, const sl_analysis *b)
{
    paired p = {0};
    int *ca = malloc((a->n_test + 1) * sizeof *ca), *cb = malloc((a->n_test + 1) * sizeof *cb);
    if (!ca || !cb) {
        free(ca), free(cb);
        return p;
    }
    sl_preds pa = {a->n_test, a->k, a->test_label, a->test_prob}, pb = {b->n_test, b->k, b->test_label, b->test_prob};
    size_t ra = 0, rb = 0;
    for (size_t i = 0; i < a->n_test; i++)
        for (size_t j = 0; j < b->n_test; j++) { /* test splits are small: a plain search */
            if (strcmp(sl_an_path(a, i), sl_an_path(b, j)) != 0) continue;
            ca[p.shared] = sl_preds_argmax(&pa, i) == a->test_label[i];
            cb[p.shared] = strcmp(sl_an_label(b, (size_t)sl_preds_argmax(&pb, j)),
                                  sl_an_label(a, (size_t)a->test_label[i])) == 0;
            ra += (size_t)ca[p.shared];
            rb += (size_t)cb[p.shared];
            p.shared++;
            break;
        }
    if (p.shared) {
        (void)sl_mcnemar_test(ca, cb, p.shared, &p.mc);
        p.acc_a = (double)ra / (double)p.shared;
        p.acc_b = (double)rb / (double)p.shared;
    }
    free(ca), free(cb);
    return p;
}

/* A class's F1 in run r by name; NaN when the run has no such class. */
static double f1_of(const sl_analysis *r, const char *label)
{
    for (size_t c = 0; c < r->k; c++)
        if (strcmp(sl_an_label(r, c), label) == 0) return r->m.f1[c];
    return NAN;
}

static double group_acc(const sl_analysis *r, const char *group)
{
    const sl_an_slicing *g = &r->slicings[0];
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->s[i].name, group) == 0) return g->s[i].acc;
    return NAN;
}

static sl_status write_json(const char *path, sl_analysis *const *r, size_t n, const paired *pr,
                            const flat_config *fc, const flat_config *keys)
{
    sl_afile *af;
    SL_TRY(sl_afile_open(&af, path));
    FILE *f = sl_afile_stream(af);
    fputs("{\"runs\": [", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\n  {\"run\": ", i ? "," : "");
        sl_an_json_string(f, r[i]->run_dir);
        fprintf(f, ", \"test_examples\": %zu, \"parameters\": %zu", r[i]->n_test, sl_graph_n_params(r[i]->model->graph));
        static const char *const names[4] = {"accuracy", "macro_f1", "balanced_accuracy", "top2_accuracy"};
        for (int q = 0; q < 4; q++) {
            fprintf(f, ", \"%s\": {\"value\": ", names[q]);
            sl_an_json_number(f, r[i]->ci[q].value);
            fputs(", \"lo\": ", f);
            sl_an_json_number(f, r[i]->ci[q].lo);
            fputs(", \"hi\": ", f);
            sl_an_json_number(f, r[i]->ci[q].hi);
            fputc('}', f);
        }
        fputs(", \"ece\": ", f);
        sl_an_json_number(f, r[i]->cal.ece);
        fputs(", \"train_accuracy\": ", f);
        sl_an_json_number(f, r[i]->train_acc);
        if (i > 0) {
            const paired *p = &pr[i];
            fprintf(f, ", \"against_first\": {\"shared_examples\": %zu, \"first_right_this_wrong\": %zu, "
                       "\"first_wrong_this_right\": %zu, \"mcnemar_p_exact\": ",
                    p->shared, p->mc.b, p->mc.c);
            sl_an_json_number(f, p->mc.p_exact);
            fputs(", \"mcnemar_chi2\": ", f);
            sl_an_json_number(f, p->mc.chi2);
            fputs(", \"mcnemar_p_chi2\": ", f);
            sl_an_json_number(f, p->mc.p_chi2);
            fputc('}', f);
        }
        fputc('}', f);
    }
    fputs("],\n \"config_differences\": [", f);
    size_t shown = 0;
    for (size_t q = 0; q < keys->n; q++) {
        const char *key = keys->key[q];
        if (!differs(fc, n, key) || strcmp(key, "name") == 0) continue;
        fprintf(f, "%s\n  {\"key\": ", shown++ ? "," : "");
        sl_an_json_string(f, key);
        fputs(", \"values\": [", f);
        for (size_t i = 0; i < n; i++) {
            const char *v = flat_get(&fc[i], key);
            fputs(i ? ", " : "", f);
            if (v) sl_an_json_string(f, v);
            else fputs("null", f);
        }
        fputs("]}", f);
    }
    fputs("]}\n", f);
    if (ferror(f)) {
        sl_afile_abort(af);
        return sl_fail(SL_EIO, "%s: write error", path);
    }
    return sl_afile_commit(af);
}

static void html_page(sl_text *t, sl_analysis *const *r, size_t n, const paired *pr, const flat_config *fc,
                      const flat_config *keys)
{
    sl_html_begin(t, "sigloop comparison");
    sl_text_printf(t, "<h1>Runs side by side</h1>\n<table><tr><th>run</th><th>parameters</th><th>accuracy (95 %% "
                      "interval)</th><th>macro-F1</th><th>balanced accuracy</th><th>ECE</th><th>training accuracy</th>"
                      "<th>against the first: McNemar</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        const sl_analysis *a = r[i];
        sl_text_printf(t, "<tr><td>");
        sl_text_escape(t, a->run_dir);
        sl_text_printf(t, "</td><td class=\"n\">%zu</td><td class=\"n\">%.1f %% (%.1f-%.1f)</td>"
                          "<td class=\"n\">%.3f (%.3f-%.3f)</td><td class=\"n\">%.1f %%</td><td class=\"n\">%.3f</td>"
                          "<td class=\"n\">%.1f %%</td><td>",
                       sl_graph_n_params(a->model->graph), 100 * a->ci[0].value, 100 * a->ci[0].lo, 100 * a->ci[0].hi,
                       a->ci[1].value, a->ci[1].lo, a->ci[1].hi, 100 * a->ci[2].value, a->cal.ece,
                       100 * a->train_acc);
        if (i == 0) sl_text_printf(t, "-");
        else
            sl_text_printf(t, "%zu shared examples: %zu right only in the first, %zu only in this one; p = %.3g%s",
                           pr[i].shared, pr[i].mc.b, pr[i].mc.c, pr[i].mc.p_exact,
                           pr[i].mc.p_exact < 0.05 ? " (a difference)" : " (no clear difference)");
        sl_text_printf(t, "</td></tr>\n");
    }
    sl_text_printf(t, "</table>\n<p class=\"sub\">McNemar's test counts the test examples one run gets right and the "
                      "other wrong; p is the exact two-sided binomial p-value.</p>\n");
    /* curves overlaid: training accuracy and, where present, validation accuracy */
    sl_text_printf(t, "<h2>Learning curves</h2>\n<div class=\"charts\">\n");
    sl_svg_series s[32];
    double *buf[64] = {0};
    size_t ns = 0, nb = 0;
    for (size_t i = 0; i < n && ns + 2 <= 32 && nb + 3 <= 64; i++) {
        const sl_analysis *a = r[i];
        double *x = malloc((a->n_epochs + 1) * sizeof *x), *tr = malloc((a->n_epochs + 1) * sizeof *tr);
        double *va = malloc((a->n_epochs + 1) * sizeof *va);
        buf[nb++] = x, buf[nb++] = tr, buf[nb++] = va;
        if (!x || !tr || !va) {
            t->failed = 1;
            break;
        }
        int have_val = 0;
        for (size_t e = 0; e < a->n_epochs; e++) {
            x[e] = (double)(e + 1);
            tr[e] = a->epochs[e].train_acc;
            va[e] = a->epochs[e].val_acc;
            have_val |= isfinite(va[e]);
        }
        s[ns++] = (sl_svg_series){a->name, x, tr, a->n_epochs, 0, 0, (int)(i % 8) + 1};
        if (have_val) s[ns++] = (sl_svg_series){"", x, va, a->n_epochs, 1, 0, (int)(i % 8) + 1};
    }
    sl_svg_line_chart c = {.title = "Training accuracy (solid) and validation accuracy (dashed) per epoch",
                           .x_label = "epoch", .y_label = "accuracy", .width = 720, .height = 360, .series = s,
                           .n_series = ns, .y_min = 0, .y_max = 1};
    if (ns) (void)sl_svg_lines(t, &c);
    for (size_t i = 0; i < nb; i++) free(buf[i]);
    sl_text_printf(t, "</div>\n");
    /* per class and per group, against the first run */
    const sl_analysis *a0 = r[0];
    sl_text_printf(t, "<h2>Per class: F1</h2>\n<table><tr><th>class</th>");
    for (size_t i = 0; i < n; i++) {
        sl_text_printf(t, "<th>");
        sl_text_escape(t, r[i]->name);
        sl_text_printf(t, "</th>");
    }
    sl_text_printf(t, "</tr>\n");
    for (size_t c0 = 0; c0 < a0->k; c0++) {
        const char *lab = sl_an_label(a0, c0);
        sl_text_printf(t, "<tr><td>");
        sl_text_escape(t, lab);
        sl_text_printf(t, "</td>");
        for (size_t i = 0; i < n; i++) {
            double f1 = f1_of(r[i], lab), d = f1 - a0->m.f1[c0];
            if (i == 0) sl_text_printf(t, "<td class=\"n\">%.3f</td>", f1);
            else sl_text_printf(t, "<td class=\"n\">%.3f (%+.3f)</td>", f1, d);
        }
        sl_text_printf(t, "</tr>\n");
    }
    sl_text_printf(t, "</table>\n<h2>Per group: accuracy</h2>\n<table><tr><th>group</th>");
    for (size_t i = 0; i < n; i++) {
        sl_text_printf(t, "<th>");
        sl_text_escape(t, r[i]->name);
        sl_text_printf(t, "</th>");
    }
    sl_text_printf(t, "</tr>\n");
    const sl_an_slicing *g0 = &a0->slicings[0];
    for (size_t g = 0; g < g0->n; g++) {
        sl_text_printf(t, "<tr><td>");
        sl_text_escape(t, g0->s[g].name);
        sl_text_printf(t, "</td>");
        for (size_t i = 0; i < n; i++) {
            double v = group_acc(r[i], g0->s[g].name);
            if (i == 0) sl_text_printf(t, "<td class=\"n\">%.1f %%</td>", 100 * v);
            else sl_text_printf(t, "<td class=\"n\">%.1f %% (%+.1f)</td>", 100 * v, 100 * (v - g0->s[g].acc));
        }
        sl_text_printf(t, "</tr>\n");
    }
    sl_text_printf(t, "</table>\n<h2>Config differences</h2>\n<table><tr><th>setting</th>");
    for (size_t i = 0; i < n; i++) {
        sl_text_printf(t, "<th>");
        sl_text_escape(t, r[i]->name);
        sl_text_printf(t, "</th>");
    }
    sl_text_printf(t, "</tr>\n");
    size_t shown = 0;
    for (size_t q = 0; q < keys->n; q++) {
        const char *key = keys->key[q];
        if (!differs(fc, n, key) || strcmp(key, "name") == 0) continue;
        shown++;
        sl_text_printf(t, "<tr><td><code>");
        sl_text_escape(t, key);
        sl_text_printf(t, "</code></td>");
        for (size_t i = 0; i < n; i++) {
            const char *v = flat_get(&fc[i], key);
            sl_text_printf(t, "<td>");
            sl_text_escape(t, v ? v : "(absent)");
            sl_text_printf(t, "</td>");
        }
        sl_text_printf(t, "</tr>\n");
    }
    if (!shown) sl_text_printf(t, "<tr><td colspan=\"%zu\">The configs are the same.</td></tr>\n", n + 1);
    sl_text_printf(t, "</table>\n");
    sl_html_end(t, "Written by sigloop compare; the same figures are in compare.json.");
}

sl_status sl_compare_runs(const char *const *runs, size_t n, const sl_analyze_opts *o, const char *out_dir,
                          FILE *summary)
{
    if (n < 2) return sl_fail(SL_EARG, "compare: need at least two runs");
    sl_analysis **r = calloc(n, sizeof *r);
    paired *pr = calloc(n, sizeof *pr);
    flat_config *fc = calloc(n, sizeof *fc);
    sl_status s = r && pr && fc ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    sl_analyze_opts opts = *o;
    opts.robustness = 0;
    for (size_t i = 0; s == SL_OK && i < n; i++) {
        s = sl_analyze_run(runs[i], &opts, &r[i]);
        if (s == SL_OK) s = flatten(&r[i]->model->cfg, &fc[i]);
        if (s == SL_OK && i > 0) pr[i] = pair_runs(r[0], r[i]);
    }
    char path[SL_PATH_MAX + 32];
    flat_config keys = {0};
    if (s == SL_OK) s = key_union(fc, n, &keys);
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/compare.json", out_dir);
        s = write_json(path, r, n, pr, fc, &keys);
    }
    if (s == SL_OK) {
        sl_text t = {0};
        html_page(&t, r, n, pr, fc, &keys);
        snprintf(path, sizeof path, "%s/compare.html", out_dir);
        s = sl_html_save(&t, path);
        sl_text_free(&t);
    }
    if (s == SL_OK && summary) {
        for (size_t i = 0; i < n; i++) {
            fprintf(summary, "%-28s accuracy %.1f %% (%.1f-%.1f), macro-F1 %.3f", r[i]->run_dir, 100 * r[i]->ci[0].value,
                    100 * r[i]->ci[0].lo, 100 * r[i]->ci[0].hi, r[i]->ci[1].value);
            if (i > 0)
                fprintf(summary, "; against the first on %zu shared examples: %zu vs %zu won, McNemar p = %.3g",
                        pr[i].shared, pr[i].mc.c, pr[i].mc.b, pr[i].mc.p_exact);
            fputc('\n', summary);
        }
        for (size_t q = 0; q < keys.n; q++) {
            const char *key = keys.key[q];
            if (!differs(fc, n, key) || strcmp(key, "name") == 0) continue;
            fprintf(summary, "differs: %s:", key);
            for (size_t i = 0; i < n; i++) {
                const char *v = flat_get(&fc[i], key);
                fprintf(summary, " %s", v ? v : "(absent)");
            }
            fputc('\n', summary);
        }
    }
    free(keys.key); /* the strings are the runs' */
    for (size_t i = 0; r && i < n; i++) sl_analysis_free(r[i]);
    for (size_t i = 0; fc && i < n; i++) flat_free(&fc[i]);
    free(r), free(pr), free(fc);
    return s;
}
