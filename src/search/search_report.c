/* search.json and search.html: the leaderboard, the Pareto plots of validation accuracy against
 * MACs, RAM and latency, and the effect of each choice. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analysis.h"
#include "analyze/html.h"
#include "search/search_internal.h"
#include "sigloop/fileio.h"
#include "sigloop/svg.h"

static const char *strategy_name(int s)
{
    return s == SL_SEARCH_GRID ? "grid" : s == SL_SEARCH_RANDOM ? "random" : "halving";
}

/* The leaderboard's order: more epochs first, then higher validation accuracy, fewer MACs, the
 * earlier candidate; candidates without a result (over budget, failed, not reached) last. */
static int ahead(const search_cand *a, const search_cand *b)
{
    if (a->top_epochs != b->top_epochs) return a->top_epochs > b->top_epochs;
    if (a->top_val != b->top_val) return a->top_val > b->top_val;
    if (a->macs != b->macs) return a->macs < b->macs;
    return a->id < b->id;
}

static size_t *leaderboard(const search_state *S)
{
    size_t *o = malloc((S->n_cands ? S->n_cands : 1) * sizeof *o);
    if (!o) return NULL;
    for (size_t i = 0; i < S->n_cands; i++) o[i] = i;
    for (size_t i = 1; i < S->n_cands; i++) {
        size_t v = o[i], j = i;
        while (j > 0 && ahead(&S->cands[v], &S->cands[o[j - 1]])) {
            o[j] = o[j - 1];
            j--;
        }
        o[j] = v;
    }
    return o;
}

static sl_status write_json(const search_state *S, const size_t *order)
{
    const sl_config *cfg = S->cfg;
    char path[SL_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/search.json", S->opts->dir);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return sl_fail(SL_ENOMEM, "out of memory");
    fprintf(f, "{\n  \"name\": ");
    sl_an_json_string(f, cfg->name);
    fprintf(f, ",\n  \"config\": ");
    sl_an_json_string(f, cfg->path);
    fprintf(f, ",\n  \"strategy\": \"%s\",\n  \"epochs\": %zu,\n  \"rungs\": [", strategy_name(cfg->search.strategy),
            S->E);
    for (size_t r = 0; r < S->n_rungs; r++) fprintf(f, "%s%zu", r ? ", " : "", S->rungs[r]);
    fprintf(f, "],\n  \"time_limit_s\": ");
    sl_an_json_number(f, cfg->search.time);
    fprintf(f, ",\n  \"elapsed_s\": ");
    sl_an_json_number(f, S->elapsed);
    fprintf(f, ",\n  \"target\": ");
    sl_an_json_string(f, S->target_name);
    fprintf(f, ",\n  \"budget\": {\"ram_bytes\": %.0f, \"flash_bytes\": %.0f, \"latency_s\": ", S->ram_limit,
            S->flash_limit);
    sl_an_json_number(f, S->latency_limit);
    size_t over = 0;
    for (size_t i = 0; i < S->n_cands; i++) over += (size_t)S->cands[i].over;
    fprintf(f, "},\n  \"candidates_costed\": %zu,\n  \"over_budget\": %zu,\n  \"trials\": %zu,\n  \"best\": ",
            S->n_cands, over, S->n_trials);
    if (S->have_best) {
        const search_cand *b = &S->cands[S->best];
        fprintf(f, "{\"candidate\": \"c%03zu\", \"changes\": ", b->id);
        sl_an_json_string(f, b->changes);
        fprintf(f, ", \"epochs\": %zu, \"val_acc\": ", b->top_epochs);
        sl_an_json_number(f, b->top_val);
        fprintf(f, ", \"test_acc\": ");
        sl_an_json_number(f, S->final_done ? S->test_acc : NAN);
        fprintf(f, ", \"test_lo\": ");
        sl_an_json_number(f, S->final_done ? S->test_lo : NAN);
        fprintf(f, ", \"test_hi\": ");
        sl_an_json_number(f, S->final_done ? S->test_hi : NAN);
        fprintf(f, ", \"n_test\": %zu, \"final\": %s}", S->final_done ? S->n_test : 0,
                S->final_done ? "\"final\"" : "null");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\n  \"leaderboard\": [");
    for (size_t k = 0; k < S->n_cands; k++) {
        const search_cand *c = &S->cands[order[k]];
        fprintf(f, "%s\n    {\"candidate\": \"c%03zu\", \"changes\": ", k ? "," : "", c->id);
        sl_an_json_string(f, c->changes);
        fprintf(f, ", \"over_budget\": %s, \"failed\": %s, \"params\": %zu, \"macs\": %zu, \"ram_bytes\": %zu, "
                   "\"flash_bytes\": %zu, \"latency_s\": ",
                c->over ? "true" : "false", c->failed ? "true" : "false", c->params, c->macs, c->ram, c->flash);
        sl_an_json_number(f, c->latency);
        fprintf(f, ", \"epochs\": %zu, \"val_acc\": ", c->top_epochs);
        sl_an_json_number(f, c->top_epochs ? c->top_val : NAN);
        fprintf(f, ", \"trials\": [");
        int first = 1;
        for (size_t i = 0; i < S->n_trials; i++) {
            const search_trial *t = &S->trials[i];
            if (t->cand != order[k]) continue;
            fprintf(f, "%s{\"epochs\": %zu, \"val_acc\": ", first ? "" : ", ", t->epochs);
            sl_an_json_number(f, t->failed ? NAN : t->val);
            fprintf(f, ", \"seconds\": ");
            sl_an_json_number(f, t->seconds);
            fprintf(f, ", \"dir\": \"c%03zu-e%zu\"}", c->id, t->epochs);
            first = 0;
        }
        fprintf(f, "]}");
    }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0) {
        free(text);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    sl_status s = sl_write_file_atomic(path, text, len);
    free(text);
    return s;
}

/* One Pareto chart: validation accuracy (%) against cost(c), the candidates that reached the
 * most epochs as circles, the others' best (shorter) trial as squares, the front as a line. */
static void pareto_chart(sl_text *t, const search_state *S, const char *title, const char *x_label,
                         double (*cost)(const search_cand *), double limit, const char *limit_label)
{
    size_t n = S->n_cands, top = 0;
    for (size_t i = 0; i < n; i++)
        if (S->cands[i].top_epochs > top) top = S->cands[i].top_epochs;
    double *buf = calloc(8 * (n + 1) + 4, sizeof *buf);
    size_t *idx = malloc((n + 1) * sizeof *idx);
    if (!buf || !idx) {
        free(buf), free(idx);
        t->failed = 1;
        return;
    }
    double *fx = buf, *fy = fx + 2 * n + 1, *sx = fy + 2 * n + 1, *sy = sx + 2 * n + 1;
    size_t nf = 0, ns = 0, ni = 0;
    for (size_t i = 0; i < n; i++) {
        const search_cand *c = &S->cands[i];
        if (!c->top_epochs) continue;
        double x = cost(c), y = 100 * c->top_val;
        if (c->top_epochs == top) {
            fx[nf] = x, fy[nf++] = y;
            fx[nf] = NAN, fy[nf++] = NAN;
            idx[ni++] = i;
        } else {
            sx[ns] = x, sy[ns++] = y;
            sx[ns] = NAN, sy[ns++] = NAN;
        }
    }
    /* the front: by cost, each point better than every cheaper one */
    for (size_t i = 1; i < ni; i++) {
        size_t v = idx[i], j = i;
        while (j > 0 && cost(&S->cands[v]) < cost(&S->cands[idx[j - 1]])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
    double *px = malloc((ni + 1) * sizeof *px), *py = malloc((ni + 1) * sizeof *py);
    size_t np = 0;
    double best_y = -1;
    for (size_t i = 0; px && py && i < ni; i++) {
        double y = 100 * S->cands[idx[i]].top_val, x = cost(&S->cands[idx[i]]);
        if (y > best_y && np && px[np - 1] == x) { /* the same cost: the better one only */
            best_y = py[np - 1] = y;
        } else if (y > best_y) {
            best_y = y;
            px[np] = x;
            py[np++] = y;
        }
    }
    char full[64], shorter[64];
    snprintf(full, sizeof full, "trained %zu epochs", top);
    snprintf(shorter, sizeof shorter, "stopped at a shorter rung");
    double bx[1], by[1];
    sl_svg_series ser[4];
    size_t nser = 0;
    if (nf) ser[nser++] = (sl_svg_series){.name = full, .x = fx, .y = fy, .n = nf, .markers = 1, .color = 1};
    if (ns) ser[nser++] = (sl_svg_series){.name = shorter, .x = sx, .y = sy, .n = ns, .markers = 1, .color = 2};
    if (np > 1) ser[nser++] = (sl_svg_series){.name = "Pareto front", .x = px, .y = py, .n = np, .dashed = 1, .color = 3};
    if (S->have_best) {
        bx[0] = cost(&S->cands[S->best]);
        by[0] = 100 * S->cands[S->best].top_val;
        ser[nser++] = (sl_svg_series){.name = "best", .x = bx, .y = by, .n = 1, .markers = 1, .color = 6};
    }
    sl_svg_vline vl = {.x = limit, .label = limit_label};
    if (nser) {
        sl_svg_line_chart ch = {.title = title, .x_label = x_label, .y_label = "validation accuracy (%)",
                                .width = 540, .height = 340, .series = ser, .n_series = nser,
                                .vlines = limit > 0 ? &vl : NULL, .n_vlines = limit > 0 ? 1 : 0};
        if (sl_svg_lines(t, &ch) != SL_OK) sl_text_printf(t, "<p>(chart not drawn: %s)</p>", sl_last_error());
    }
    free(px), free(py), free(buf), free(idx);
}

static double cost_mmacs(const search_cand *c) { return (double)c->macs / 1e6; }
static double cost_ram(const search_cand *c) { return (double)c->ram / 1024; }
static double cost_latency(const search_cand *c) { return 1e3 * c->latency; }

static void effects(sl_text *t, const search_state *S)
{
    const sl_search_config *sc = &S->cfg->search;
    size_t e = S->rungs[0];
    sl_text_printf(t, "<h2>Effect of each choice</h2>\n<p class=\"sub\">Validation accuracy after %zu epochs (the "
                      "first rung, which every trained candidate reached), by the value each choice took; the config "
                      "as written is left out.</p>\n<table><tr><th>setting</th><th>value</th><th>trials</th>"
                      "<th>mean</th><th>best</th></tr>\n", e);
    for (size_t k = 0; k < sc->n_choices; k++) {
        const sl_search_choice *ch = &sc->choices[k];
        for (size_t v = 0; v < ch->n; v++) {
            size_t cnt = 0;
            double sum = 0, best = -1;
            for (size_t i = 0; i < S->n_cands; i++) {
                const search_cand *c = &S->cands[i];
                if (!c->vi || c->vi[k] != (int)v || c->first_val < 0) continue;
                cnt++;
                sum += c->first_val;
                if (c->first_val > best) best = c->first_val;
            }
            sl_text_printf(t, "<tr><td>");
            if (v == 0) sl_text_escape(t, ch->key);
            sl_text_printf(t, "</td><td>");
            sl_text_escape(t, ch->values[v]);
            if (cnt) sl_text_printf(t, "</td><td class=\"n\">%zu</td><td class=\"n\">%.1f %%</td><td class=\"n\">%.1f %%"
                                       "</td></tr>\n", cnt, 100 * sum / (double)cnt, 100 * best);
            else sl_text_printf(t, "</td><td class=\"n\">0</td><td></td><td></td></tr>\n");
        }
    }
    sl_text_printf(t, "</table>\n");
}

static sl_status write_html(const search_state *S, const size_t *order)
{
    const sl_config *cfg = S->cfg;
    char path[SL_PATH_MAX + 16], buf[SL_NAME_MAX + 64], note[512];
    snprintf(path, sizeof path, "%s/search.html", S->opts->dir);
    sl_text t = {0};
    snprintf(buf, sizeof buf, "sigloop search: %s", cfg->name);
    sl_html_begin(&t, buf);
    sl_text_printf(&t, "<h1>Search: ");
    sl_text_escape(&t, cfg->name);
    size_t over = 0, trained = 0;
    for (size_t i = 0; i < S->n_cands; i++) over += (size_t)S->cands[i].over;
    for (size_t i = 0; i < S->n_trials; i++) trained += !S->trials[i].failed;
    sl_text_printf(&t, "</h1>\n<p class=\"sub\">%s search of <code>", strategy_name(cfg->search.strategy));
    sl_text_escape(&t, cfg->path);
    sl_text_printf(&t, "</code>: %zu candidates costed on %s (%zu over budget, never trained), %zu trials; epochs "
                       "per rung:", S->n_cands, S->target_name, over, S->n_trials);
    for (size_t r = 0; r < S->n_rungs; r++) sl_text_printf(&t, " %zu", S->rungs[r]);
    sl_text_printf(&t, ". Selection on the validation split only%s.</p>\n<div class=\"cards\">\n",
                   S->split_set[0] ? " (a share of the training groups held out, as the config has no validation "
                                     "split)" : "");
    if (S->have_best) {
        const search_cand *b = &S->cands[S->best];
        snprintf(buf, sizeof buf, "%.1f %%", 100 * b->top_val);
        snprintf(note, sizeof note, "c%03zu after %zu epochs", b->id, b->top_epochs);
        sl_html_card(&t, "best validation accuracy", buf, note);
        for (size_t i = 0; i < S->n_cands; i++)
            if (!S->cands[i].vi && S->cands[i].top_epochs == b->top_epochs) {
                snprintf(buf, sizeof buf, "%.1f %%", 100 * S->cands[i].top_val);
                sl_html_card(&t, "the config as written", buf, "validation, same epochs");
            }
        if (S->final_done) {
            snprintf(buf, sizeof buf, "%.1f %%", 100 * S->test_acc);
            snprintf(note, sizeof note, "95 %% interval %.1f-%.1f, %zu examples, tested once", 100 * S->test_lo,
                     100 * S->test_hi, S->n_test);
            sl_html_card(&t, "best on the test split", buf, note);
        }
        snprintf(buf, sizeof buf, "%.1f KiB", (double)b->ram / 1024);
        snprintf(note, sizeof note, "flash %.1f KiB, %.3g ms per decision", (double)b->flash / 1024, 1e3 * b->latency);
        sl_html_card(&t, "best: RAM", buf, note);
    }
    snprintf(buf, sizeof buf, "%.0f s", S->elapsed);
    if (cfg->search.time > 0) snprintf(note, sizeof note, "of %.0f s allowed", cfg->search.time);
    else snprintf(note, sizeof note, "no time limit");
    sl_html_card(&t, "time", buf, note);
    sl_text_printf(&t, "</div>\n");
    if (S->have_best) {
        const search_cand *b = &S->cands[S->best];
        sl_text_printf(&t, "<p>The best config: <code>best.yaml</code>, the config as written %s<code>",
                       b->changes[0] ? "with " : "");
        sl_text_escape(&t, b->changes);
        sl_text_printf(&t, "</code>%s</p>\n", S->final_done ? "; trained again and tested in <a href=\"final/report.html\">"
                                                              "final/report.html</a>." : ".");
    }
    sl_text_printf(&t, "<h2>Accuracy against cost</h2>\n<p class=\"sub\">Each point a candidate (its trial with the most "
                       "epochs); the dashed line joins those no cheaper candidate beats; the grey line is the "
                       "budget.</p>\n<div class=\"charts\">\n");
    pareto_chart(&t, S, "Validation accuracy against MACs", "multiply-accumulates per decision (millions)",
                 cost_mmacs, 0, NULL);
    pareto_chart(&t, S, "Validation accuracy against RAM", "RAM (KiB)", cost_ram, S->ram_limit / 1024, "RAM budget");
    pareto_chart(&t, S, "Validation accuracy against latency", "latency per decision (ms)", cost_latency,
                 1e3 * S->latency_limit, "latency budget");
    sl_text_printf(&t, "</div>\n<h2>Leaderboard</h2>\n<table><tr><th>#</th><th>candidate</th><th>changes</th>"
                       "<th>epochs</th><th>validation</th><th>parameters</th><th>MACs</th><th>RAM</th><th>flash</th>"
                       "<th>latency</th><th>trials (epochs: validation)</th></tr>\n");
    for (size_t k = 0; k < S->n_cands; k++) {
        const search_cand *c = &S->cands[order[k]];
        sl_text_printf(&t, "<tr><td class=\"n\">%zu</td><td>c%03zu%s</td><td><code>", k + 1, c->id,
                       S->have_best && order[k] == S->best ? " <b>best</b>" : "");
        sl_text_escape(&t, c->changes[0] ? c->changes : "(as written)");
        sl_text_printf(&t, "</code></td>");
        if (c->over) {
            sl_text_printf(&t, "<td colspan=\"2\">over budget: ");
            sl_text_escape(&t, c->over_why);
            sl_text_printf(&t, "</td>");
        } else if (c->top_epochs) {
            sl_text_printf(&t, "<td class=\"n\">%zu</td><td class=\"n\">%.1f %%</td>", c->top_epochs, 100 * c->top_val);
        } else {
            sl_text_printf(&t, "<td colspan=\"2\">%s</td>", c->failed ? "failed (see its trial.txt)" : "not trained");
        }
        sl_text_printf(&t, "<td class=\"n\">%zu</td><td class=\"n\">%.2f M</td><td class=\"n\">%.1f KiB</td>"
                           "<td class=\"n\">%.1f KiB</td><td class=\"n\">%.3g ms</td><td>",
                       c->params, (double)c->macs / 1e6, (double)c->ram / 1024, (double)c->flash / 1024,
                       1e3 * c->latency);
        int first = 1;
        for (size_t i = 0; i < S->n_trials; i++) {
            const search_trial *tr = &S->trials[i];
            if (tr->cand != order[k]) continue;
            if (tr->failed) sl_text_printf(&t, "%s%zu: failed", first ? "" : ", ", tr->epochs);
            else sl_text_printf(&t, "%s%zu: %.1f", first ? "" : ", ", tr->epochs, 100 * tr->val);
            first = 0;
        }
        sl_text_printf(&t, "</td></tr>\n");
    }
    sl_text_printf(&t, "</table>\n");
    effects(&t, S);
    sl_html_end(&t, "Written by sigloop search; search.json holds the same figures.");
    sl_status s = sl_html_save(&t, path);
    sl_text_free(&t);
    return s;
}

sl_status sl_search_write_pages(const search_state *S)
{
    size_t *order = leaderboard(S);
    if (!order) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = write_json(S, order);
    if (s == SL_OK) s = write_html(S, order);
    free(order);
    return s;
}
