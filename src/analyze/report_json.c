/* report.json and the terminal summary of an analysis (analyze.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analysis.h"
#include "sigloop/fileio.h"

void sl_an_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void sl_an_json_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

static void jci(FILE *f, const char *key, const sl_ci *c)
{
    fprintf(f, "\"%s\": {\"value\": ", key);
    sl_an_json_number(f, c->value);
    fputs(", \"lo\": ", f);
    sl_an_json_number(f, c->lo);
    fputs(", \"hi\": ", f);
    sl_an_json_number(f, c->hi);
    fputc('}', f);
}

/* The example's top three classes and their probabilities. */
static void jexample(FILE *f, const sl_analysis *a, size_t i)
{
    const float *p = a->test_prob + i * a->k;
    sl_preds pr = {a->n_test, a->k, a->test_label, a->test_prob};
    fputs("{\"file\": ", f);
    sl_an_json_string(f, sl_an_path(a, i));
    fputs(", \"group\": ", f);
    sl_an_json_string(f, sl_an_group(a, i));
    fputs(", \"label\": ", f);
    sl_an_json_string(f, sl_an_label(a, (size_t)a->test_label[i]));
    fputs(", \"predicted\": ", f);
    sl_an_json_string(f, sl_an_label(a, (size_t)sl_preds_argmax(&pr, i)));
    fputs(", \"scores\": {", f);
    int used[3] = {-1, -1, -1};
    for (int r = 0; r < 3 && r < (int)a->k; r++) {
        int best = -1;
        for (size_t c = 0; c < a->k; c++)
            if ((int)c != used[0] && (int)c != used[1] && (best < 0 || p[c] > p[best])) best = (int)c;
        used[r] = best;
        fprintf(f, "%s", r ? ", " : "");
        sl_an_json_string(f, sl_an_label(a, (size_t)best));
        fprintf(f, ": %.4f", p[best]);
    }
    fputs("}}", f);
}

sl_status sl_analysis_write_json(const sl_analysis *a, const char *path)
{
    sl_afile *af;
    SL_TRY(sl_afile_open(&af, path));
    FILE *f = sl_afile_stream(af);
    size_t k = a->k;
    fputs("{\"run\": ", f);
    sl_an_json_string(f, a->run_dir);
    fprintf(f, ",\n \"test_examples\": %zu, \"validation_examples\": %zu, \"classes\": [", a->n_test, a->n_val);
    for (size_t c = 0; c < k; c++) {
        if (c) fputs(", ", f);
        sl_an_json_string(f, sl_an_label(a, c));
    }
    fputs("],\n \"metrics\": {", f);
    jci(f, "accuracy", &a->ci[SL_METRIC_ACCURACY]);
    fputs(", ", f);
    jci(f, "macro_f1", &a->ci[SL_METRIC_MACRO_F1]);
    fputs(", ", f);
    jci(f, "balanced_accuracy", &a->ci[SL_METRIC_BALANCED_ACCURACY]);
    fputs(", ", f);
    jci(f, "top2_accuracy", &a->ci[SL_METRIC_TOP2]);
    fputs(", \"top3_accuracy\": ", f);
    sl_an_json_number(f, a->top3);
    fputs(", \"interval\": \"95 % percentile bootstrap over the test examples\"},\n \"per_class\": [", f);
    for (size_t c = 0; c < k; c++) {
        fprintf(f, "%s\n  {\"class\": ", c ? "," : "");
        sl_an_json_string(f, sl_an_label(a, c));
        fputs(", \"precision\": ", f);
        sl_an_json_number(f, a->m.precision[c]);
        fputs(", \"recall\": ", f);
        sl_an_json_number(f, a->m.recall[c]);
        fputs(", \"f1\": ", f);
        sl_an_json_number(f, a->m.f1[c]);
        fprintf(f, ", \"support\": %zu}", a->m.support[c]);
    }
    fputs("],\n \"confusion\": [", f);
    for (size_t t = 0; t < k; t++) {
        fprintf(f, "%s[", t ? ", " : "");
        for (size_t p = 0; p < k; p++) fprintf(f, "%s%zu", p ? ", " : "", a->m.confusion[t * k + p]);
        fputc(']', f);
    }
    fputs("],\n \"weakest_classes\": [", f);
    for (size_t i = 0; i < a->n_weakest; i++) {
        fputs(i ? ", " : "", f);
        sl_an_json_string(f, sl_an_label(a, a->weakest[i]));
    }
    fputs("],\n \"confused_pairs\": [", f);
    for (size_t i = 0; i < a->n_confused; i++) {
        fprintf(f, "%s{\"label\": ", i ? ", " : "");
        sl_an_json_string(f, sl_an_label(a, a->conf_true[i]));
        fputs(", \"predicted\": ", f);
        sl_an_json_string(f, sl_an_label(a, a->conf_pred[i]));
        fprintf(f, ", \"count\": %zu}", a->conf_count[i]);
    }
    fputs("],\n \"slices\": {", f);
    for (size_t s = 0; s < a->n_slicings; s++) {
        const sl_an_slicing *sl = &a->slicings[s];
        fprintf(f, "%s\n  ", s ? "," : "");
        sl_an_json_string(f, sl->column);
        fputs(": [", f);
        for (size_t i = 0; i < sl->n; i++) {
            fprintf(f, "%s{\"name\": ", i ? ", " : "");
            sl_an_json_string(f, sl->s[i].name);
            fprintf(f, ", \"n\": %zu, \"accuracy\": ", sl->s[i].n);
            sl_an_json_number(f, sl->s[i].acc);
            fputc('}', f);
        }
        fputc(']', f);
    }
    fputs("},\n \"curves\": [", f);
    for (size_t e = 0; e < a->n_epochs; e++) {
        const sl_an_epoch *ep = &a->epochs[e];
        fprintf(f, "%s\n  {\"epoch\": %zu, \"lr\": ", e ? "," : "", e + 1);
        sl_an_json_number(f, ep->lr);
        fputs(", \"train_loss\": ", f);
        sl_an_json_number(f, ep->train_loss);
        fputs(", \"train_accuracy\": ", f);
        sl_an_json_number(f, ep->train_acc);
        fputs(", \"val_loss\": ", f);
        sl_an_json_number(f, ep->val_loss);
        fputs(", \"val_accuracy\": ", f);
        sl_an_json_number(f, ep->val_acc);
        fputc('}', f);
    }
    fputs("],\n \"diagnosis\": [", f);
    for (size_t d = 0; d < a->n_diag; d++) {
        fprintf(f, "%s{\"kind\": ", d ? ", " : "");
        sl_an_json_string(f, a->diag[d].kind);
        fputs(", \"text\": ", f);
        sl_an_json_string(f, a->diag[d].text);
        fputc('}', f);
    }
    fputs("],\n \"calibration\": {\"bins\": [", f);
    for (size_t b = 0; b < a->cal.bins; b++) {
        fprintf(f, "%s{\"count\": %zu, \"confidence\": ", b ? ", " : "", a->cal.count[b]);
        sl_an_json_number(f, a->cal.confidence[b]);
        fputs(", \"accuracy\": ", f);
        sl_an_json_number(f, a->cal.accuracy[b]);
        fputc('}', f);
    }
    fputs("], \"ece\": ", f);
    sl_an_json_number(f, a->cal.ece);
    fputs(", \"temperature\": ", f);
    sl_an_json_number(f, a->temperature);
    fputs(", \"temperature_fitted_on\": ", f);
    sl_an_json_string(f, a->temperature_on);
    fputs(", \"ece_after\": ", f);
    sl_an_json_number(f, a->cal_t.ece);
    fputs(", \"nll_before\": ", f);
    sl_an_json_number(f, a->nll_before);
    fputs(", \"nll_after\": ", f);
    sl_an_json_number(f, a->nll_after);
    fputs("},\n \"worst\": {\"confident_wrong\": [", f);
    for (size_t i = 0; i < a->n_wrong; i++) {
        fputs(i ? ",\n  " : "\n  ", f);
        jexample(f, a, a->wrong[i]);
    }
    fputs("],\n  \"low_margin_right\": [", f);
    for (size_t i = 0; i < a->n_unsure; i++) {
        fputs(i ? ",\n  " : "\n  ", f);
        jexample(f, a, a->unsure[i]);
    }
    fputs("]},\n \"label_suspects\": {\"method\": \"confident learning (Northcutt et al., 2021) on the test split's "
          "probabilities from the run's best model (held out: the model never trained on them); kept: those whose "
          "suggested class is also more probable than their label\", \"examples\": [",
          f);
    for (size_t i = 0; i < a->n_suspects; i++) {
        size_t t = a->suspect[i];
        const float *p = a->test_prob + t * k;
        fprintf(f, "%s\n  {\"file\": ", i ? "," : "");
        sl_an_json_string(f, sl_an_path(a, t));
        fputs(", \"label\": ", f);
        sl_an_json_string(f, sl_an_label(a, (size_t)a->test_label[t]));
        fputs(", \"suggested\": ", f);
        sl_an_json_string(f, sl_an_label(a, (size_t)a->suspect_class[i]));
        fprintf(f, ", \"p_label\": %.4f, \"p_suggested\": %.4f}", p[a->test_label[t]], p[a->suspect_class[i]]);
    }
    fputs("]},\n \"robustness\": [", f);
    for (size_t i = 0; i < a->n_cond; i++) {
        fprintf(f, "%s{\"kind\": \"%s\", \"unit\": \"%s\", \"value\": ", i ? ", " : "", a->cond[i].kind, a->cond[i].unit);
        sl_an_json_number(f, a->cond[i].value);
        fputs(", \"accuracy\": ", f);
        sl_an_json_number(f, a->cond[i].acc);
        fputc('}', f);
    }
    fputs("],\n \"suggestions\": [", f);
    for (size_t i = 0; i < a->n_sug; i++) {
        fprintf(f, "%s\n  {\"rank\": %zu, \"title\": ", i ? "," : "", i + 1);
        sl_an_json_string(f, a->sug[i].title);
        fputs(", \"evidence\": ", f);
        sl_an_json_string(f, a->sug[i].evidence);
        fputs(", \"score\": ", f);
        sl_an_json_number(f, a->sug[i].score);
        fputc('}', f);
    }
    fprintf(f, "],\n \"seconds\": %.3f}\n", a->seconds);
    if (ferror(f)) {
        sl_afile_abort(af);
        return sl_fail(SL_EIO, "%s: write error", path);
    }
    return sl_afile_commit(af);
}

void sl_analysis_summary(const sl_analysis *a, FILE *out)
{
    const sl_ci *c = a->ci;
    fprintf(out, "%s: %zu test examples, %zu classes\n", a->run_dir, a->n_test, a->k);
    fprintf(out, "accuracy %.1f %% (95 %% interval %.1f-%.1f), macro-F1 %.3f (%.3f-%.3f), balanced accuracy %.1f %%, "
                 "top-2 %.1f %%\n",
            100 * c[0].value, 100 * c[0].lo, 100 * c[0].hi, c[1].value, c[1].lo, c[1].hi, 100 * c[2].value,
            100 * c[3].value);
    fputs("weakest classes:", out);
    for (size_t i = 0; i < a->n_weakest; i++)
        fprintf(out, "%s '%s' (F1 %.2f, recall %.0f %%)", i ? "," : "", sl_an_label(a, a->weakest[i]),
                a->m.f1[a->weakest[i]], 100 * a->m.recall[a->weakest[i]]);
    fputc('\n', out);
    for (size_t d = 0; d < a->n_diag; d++) fprintf(out, "%s: %s\n", a->diag[d].kind, a->diag[d].text);
    fprintf(out, "calibration: ECE %.3f (temperature %.2f on the %s split: %.3f)\n", a->cal.ece, a->temperature,
            a->temperature_on, a->cal_t.ece);
    for (size_t i = 0; i < a->n_sug && i < 3; i++)
        fprintf(out, "suggestion %zu: %s\n  (%s)\n", i + 1, a->sug[i].title, a->sug[i].evidence);
}

void sl_analysis_headline_of(const sl_analysis *a, sl_analysis_headline *h)
{
    h->n_test = a->n_test;
    h->accuracy = a->ci[SL_METRIC_ACCURACY];
    h->macro_f1 = a->ci[SL_METRIC_MACRO_F1];
    h->top_suggestion = a->n_sug ? a->sug[0].title : NULL;
    h->top_evidence = a->n_sug ? a->sug[0].evidence : NULL;
    h->diagnosis = a->n_diag ? a->diag[0].kind : "healthy";
}
