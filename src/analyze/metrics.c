/* The metrics a run is judged by (analyze.h): confusion counts and the scores made from them,
 * top-k accuracy, bootstrap intervals, calibration, temperature scaling, McNemar's test and
 * confident-learning label suspects. Everything is computed in double from the float
 * probabilities, and scores from integer counts, so they agree with scikit-learn's to rounding. */
#include "sigloop/analyze.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/rng.h"

/* (M_PI and M_LN2 are XSI, not C11) */
#define LN_2 0.693147180559945309417232121458
#define LN_2PI 1.83787706640934548356065947281

/* The checks every entry point shares: n >= 1, k >= 2, labels in [0, k). The same conditions
 * make each function that returns sl_status fail with SL_EARG (not only sl_metrics_compute,
 * whose comment in analyze.h lists them). */
static sl_status check_preds(const sl_preds *p, const char *what)
{
    if (!p || (p->n && (!p->label || !p->prob))) return sl_fail(SL_EARG, "%s: no predictions given", what);
    if (!p->n) return sl_fail(SL_EARG, "%s: no examples", what);
    if (p->k < 2 || p->k > INT_MAX) return sl_fail(SL_EARG, "%s: k = %zu classes, need 2 to %d", what, p->k, INT_MAX);
    for (size_t i = 0; i < p->n; i++)
        if (p->label[i] < 0 || (size_t)p->label[i] >= p->k)
            return sl_fail(SL_EARG, "%s: example %zu: label %d outside [0, %zu)", what, i, p->label[i], p->k);
    return SL_OK;
}

int sl_preds_argmax(const sl_preds *p, size_t i)
{
    const float *row = p->prob + i * p->k;
    size_t best = 0;
    for (size_t j = 1; j < p->k; j++)
        if (row[j] > row[best]) best = j; /* strictly greater: the first maximum stays */
    return (int)best;
}

/* ---- scores from a confusion matrix -------------------------------------------------------- */

typedef struct {
    double accuracy, macro_f1, balanced_accuracy;
} scores;

/* The scores of confusion cm (k x k, n examples in all), and per class when prec is not NULL.
 * Precision, recall and F1 are 0 where their denominator is (zero_division=0). F1 is
 * 2 tp / (2 tp + fp + fn), the same number as 2PR / (P + R) but from integers, with one rounding.
 * Used for the full data and for every bootstrap resample, so both follow the same rules. */
static scores from_confusion(const size_t *cm, size_t k, size_t n, double *prec, double *rec, double *f1)
{
    size_t diag = 0, n_present = 0, n_supported = 0;
    double f1_sum = 0, recall_sum = 0;
    for (size_t j = 0; j < k; j++) {
        size_t tp = cm[j * k + j], support = 0, predicted = 0;
        for (size_t c = 0; c < k; c++) {
            support += cm[j * k + c];
            predicted += cm[c * k + j];
        }
        diag += tp;
        double pj = predicted ? (double)tp / (double)predicted : 0;
        double rj = support ? (double)tp / (double)support : 0;
        size_t denom = support + predicted; /* 2 tp + fp + fn */
        double fj = denom ? 2.0 * (double)tp / (double)denom : 0;
        if (prec) {
            prec[j] = pj;
            rec[j] = rj;
            f1[j] = fj;
        }
        /* sklearn's labels=None: the classes seen in the true labels or the predictions */
        if (support || predicted) {
            n_present++;
            f1_sum += fj;
        }
        if (support) {
            n_supported++;
            recall_sum += rj;
        }
    }
    scores s;
    s.accuracy = (double)diag / (double)n;
    s.macro_f1 = n_present ? f1_sum / (double)n_present : 0;
    s.balanced_accuracy = n_supported ? recall_sum / (double)n_supported : 0;
    return s;
}

sl_status sl_metrics_compute(const sl_preds *p, sl_metrics *m)
{
    memset(m, 0, sizeof *m);
    SL_TRY(check_preds(p, "metrics"));
    size_t k = p->k;
    m->confusion = calloc(k * k, sizeof *m->confusion); /* k <= INT_MAX: k * k fits in size_t */
    m->support = calloc(k, sizeof *m->support);
    m->precision = calloc(k, sizeof *m->precision);
    m->recall = calloc(k, sizeof *m->recall);
    m->f1 = calloc(k, sizeof *m->f1);
    if (!m->confusion || !m->support || !m->precision || !m->recall || !m->f1) {
        sl_metrics_free(m);
        return sl_fail(SL_ENOMEM, "metrics: out of memory for %zu classes", k);
    }
    m->n = p->n;
    m->k = k;
    for (size_t i = 0; i < p->n; i++) {
        m->confusion[(size_t)p->label[i] * k + (size_t)sl_preds_argmax(p, i)]++;
        m->support[p->label[i]]++;
    }
    scores s = from_confusion(m->confusion, k, p->n, m->precision, m->recall, m->f1);
    m->accuracy = s.accuracy;
    m->macro_f1 = s.macro_f1;
    m->balanced_accuracy = s.balanced_accuracy;
    return SL_OK;
}

void sl_metrics_free(sl_metrics *m)
{
    if (!m) return;
    free(m->confusion);
    free(m->support);
    free(m->precision);
    free(m->recall);
    free(m->f1);
    memset(m, 0, sizeof *m);
}

/* ---- top-k -------------------------------------------------------------------------------- */

/* Whether example i's true class is among its `top` highest probabilities. sklearn ranks the
 * classes by a stable ascending argsort reversed, so among equal probabilities the higher class
 * index ranks first: class y is in the top `top` when fewer than `top` classes rank ahead of it,
 * those with a higher probability and those with the same probability and a higher index. */
static int in_top(const sl_preds *p, size_t i, size_t top)
{
    const float *row = p->prob + i * p->k;
    size_t y = (size_t)p->label[i], ahead = 0;
    for (size_t j = 0; j < p->k; j++)
        if (row[j] > row[y] || (j > y && row[j] == row[y])) ahead++;
    return ahead < top;
}

/* For bad input (what check_preds rejects, or top outside [1, k]) there is no share to give: the
 * result is NaN, which no comparison mistakes for a score, with the reason in sl_last_error(). */
double sl_top_k_accuracy(const sl_preds *p, size_t top)
{
    if (check_preds(p, "top-k accuracy") != SL_OK) return NAN;
    if (top < 1 || top > p->k) {
        (void)sl_fail(SL_EARG, "top-k accuracy: top %zu outside [1, %zu]", top, p->k);
        return NAN;
    }
    size_t hits = 0;
    for (size_t i = 0; i < p->n; i++) hits += (size_t)in_top(p, i, top);
    return (double)hits / (double)p->n;
}

/* ---- bootstrap ---------------------------------------------------------------------------- */

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

/* The q-quantile of sorted x (r values) by linear interpolation between order statistics at
 * position q (r - 1): numpy.percentile's default, so the interval can be checked against it. */
static double quantile(const double *x, size_t r, double q)
{
    double pos = q * (double)(r - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= r) return x[r - 1];
    return x[lo] + (pos - (double)lo) * (x[lo + 1] - x[lo]);
}

sl_status sl_bootstrap_ci(const sl_preds *p, sl_metric metric, size_t resamples, uint64_t seed, sl_ci *out)
{
    memset(out, 0, sizeof *out);
    SL_TRY(check_preds(p, "bootstrap"));
    if (metric != SL_METRIC_ACCURACY && metric != SL_METRIC_MACRO_F1 && metric != SL_METRIC_BALANCED_ACCURACY &&
        metric != SL_METRIC_TOP2)
        return sl_fail(SL_EARG, "bootstrap: unknown metric %d", (int)metric);
    if (!resamples) return sl_fail(SL_EARG, "bootstrap: no resamples asked for");
    if (p->n > UINT32_MAX) return sl_fail(SL_EARG, "bootstrap: %zu examples (at most %u)", p->n, UINT32_MAX);
    size_t n = p->n, k = p->k;
    /* Accuracy and top-2 are shares of per-example hits; macro F1 and balanced accuracy need
     * the resample's confusion matrix (which classes it holds changes what is averaged). */
    int by_confusion = metric == SL_METRIC_MACRO_F1 || metric == SL_METRIC_BALANCED_ACCURACY;
    int *pred = malloc(n * sizeof *pred);
    double *vals = malloc(resamples * sizeof *vals);
    size_t *cm = by_confusion ? calloc(k * k, sizeof *cm) : NULL;
    if (!pred || !vals || (by_confusion && !cm)) {
        free(pred);
        free(vals);
        free(cm);
        return sl_fail(SL_ENOMEM, "bootstrap: out of memory for %zu resamples", resamples);
    }
    /* pred[i]: the predicted class, or for the share metrics whether example i is a hit */
    for (size_t i = 0; i < n; i++) {
        if (metric == SL_METRIC_TOP2) pred[i] = in_top(p, i, 2);
        else if (metric == SL_METRIC_ACCURACY) pred[i] = sl_preds_argmax(p, i) == p->label[i];
        else pred[i] = sl_preds_argmax(p, i);
    }
    sl_rng r = sl_rng_make(seed, 0);
    for (size_t s = 0; s <= resamples; s++) {
        /* pass 0 is the full data (every example once), then the resamples */
        size_t hits = 0;
        if (by_confusion) memset(cm, 0, k * k * sizeof *cm);
        for (size_t t = 0; t < n; t++) {
            size_t i = s ? sl_rng_below(&r, (uint32_t)n) : t;
            if (by_confusion) cm[(size_t)p->label[i] * k + (size_t)pred[i]]++;
            else hits += (size_t)pred[i];
        }
        double v = (double)hits / (double)n;
        if (by_confusion) {
            scores sc = from_confusion(cm, k, n, NULL, NULL, NULL);
            v = metric == SL_METRIC_MACRO_F1 ? sc.macro_f1 : sc.balanced_accuracy;
        }
        if (s) vals[s - 1] = v;
        else out->value = v;
    }
    qsort(vals, resamples, sizeof *vals, cmp_double);
    /* A percentile interval need not contain the full-data value (a skewed resampling
     * distribution can leave it outside); it is reported as it is, not widened. */
    out->lo = quantile(vals, resamples, 0.025);
    out->hi = quantile(vals, resamples, 0.975);
    free(pred);
    free(vals);
    free(cm);
    return SL_OK;
}

/* ---- calibration -------------------------------------------------------------------------- */

/* Edge b of `bins` equal bins, b / bins rounded to float (bins <= 2^24, so one float division is
 * the correctly rounded value): the confidences are floats, so the float written as 2.0f / 15 is
 * on the edge between bins 1 and 2, and goes in bin 1 as the header's (1/15, 2/15] says. */
static float bin_edge(size_t b, size_t bins)
{
    return (float)((float)b / (float)bins);
}

static size_t bin_of(float conf, size_t bins)
{
    if (!(conf > 0)) return 0;          /* 0 goes in bin 0 (and so would a NaN or a negative) */
    if (conf >= 1) return bins - 1;
    double guess = ceil((double)conf * (double)bins) - 1; /* the rule on the real line... */
    size_t b = guess < 0 ? 0 : guess > (double)(bins - 1) ? bins - 1 : (size_t)guess;
    while (b > 0 && conf <= bin_edge(b, bins)) b--;             /* ...settled against the */
    while (b + 1 < bins && conf > bin_edge(b + 1, bins)) b++;   /* float edges */
    return b;
}

sl_status sl_calibration_compute(const sl_preds *p, size_t bins, sl_calibration *c)
{
    memset(c, 0, sizeof *c);
    SL_TRY(check_preds(p, "calibration"));
    if (bins < 1 || bins > (1u << 24)) return sl_fail(SL_EARG, "calibration: %zu bins (need 1 to 2^24)", bins);
    c->count = calloc(bins, sizeof *c->count);
    c->confidence = calloc(bins, sizeof *c->confidence);
    c->accuracy = calloc(bins, sizeof *c->accuracy);
    if (!c->count || !c->confidence || !c->accuracy) {
        sl_calibration_free(c);
        return sl_fail(SL_ENOMEM, "calibration: out of memory for %zu bins", bins);
    }
    c->bins = bins;
    /* sums first, in confidence and accuracy, then divided */
    for (size_t i = 0; i < p->n; i++) {
        int pred = sl_preds_argmax(p, i);
        float conf = p->prob[i * p->k + (size_t)pred];
        size_t b = bin_of(conf, bins);
        c->count[b]++;
        c->confidence[b] += conf;
        c->accuracy[b] += pred == p->label[i];
    }
    double ece = 0;
    for (size_t b = 0; b < bins; b++) {
        if (!c->count[b]) continue;
        c->confidence[b] /= (double)c->count[b];
        c->accuracy[b] /= (double)c->count[b];
        ece += (double)c->count[b] / (double)p->n * fabs(c->accuracy[b] - c->confidence[b]);
    }
    c->ece = ece;
    return SL_OK;
}

void sl_calibration_free(sl_calibration *c)
{
    if (!c) return;
    free(c->count);
    free(c->confidence);
    free(c->accuracy);
    memset(c, 0, sizeof *c);
}

/* ---- temperature scaling ------------------------------------------------------------------ */

#define PROB_FLOOR 1e-12

/* Mean NLL of the labels under softmax(logp / T), with beta = 1 / T; logp is (n, k). */
static double mean_nll(const double *logp, const int *label, size_t n, size_t k, double beta)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const double *row = logp + i * k;
        double top = row[0];
        for (size_t j = 1; j < k; j++)
            if (row[j] > top) top = row[j];
        double sum = 0;
        for (size_t j = 0; j < k; j++) sum += exp(beta * (row[j] - top));
        total += log(sum) - beta * (row[label[i]] - top);
    }
    return total / (double)n;
}

/* Golden-section search on u = log T over [log 0.05, log 20] until the bracket is under 1e-6
 * wide. It needs the NLL unimodal in u, and it is, not only in practice: as a function of
 * beta = 1 / T each example's term, logsumexp_j(beta l_j) - beta l_y, is convex (a log-sum-exp
 * of linear functions, minus a linear one), so the mean is convex in beta, and a convex function
 * composed with the monotone beta = exp(-u) is unimodal in u. When the minimum lies outside the
 * range, the search closes on the nearer end. */
sl_status sl_temperature_fit(const sl_preds *p, double *T, double *nll_before, double *nll_after)
{
    *T = 1;
    SL_TRY(check_preds(p, "temperature"));
    size_t n = p->n, k = p->k;
    double *logp = malloc(n * k * sizeof *logp);
    if (!logp) return sl_fail(SL_ENOMEM, "temperature: out of memory for %zu x %zu probabilities", n, k);
    for (size_t i = 0; i < n * k; i++) logp[i] = log(fmax((double)p->prob[i], PROB_FLOOR));
    const double g = (sqrt(5.0) - 1) / 2; /* 1 / golden ratio */
    double a = log(0.05), b = log(20.0);
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = mean_nll(logp, p->label, n, k, exp(-x1)), f2 = mean_nll(logp, p->label, n, k, exp(-x2));
    while (b - a > 1e-6) {
        if (f1 <= f2) { /* the minimum is in [a, x2] */
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = mean_nll(logp, p->label, n, k, exp(-x1));
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = mean_nll(logp, p->label, n, k, exp(-x2));
        }
    }
    double u = (a + b) / 2;
    *T = fmin(20.0, fmax(0.05, exp(u)));
    if (nll_before) *nll_before = mean_nll(logp, p->label, n, k, 1.0);
    if (nll_after) *nll_after = mean_nll(logp, p->label, n, k, 1.0 / *T);
    free(logp);
    return SL_OK;
}

/* A temperature that is not positive (or NaN) has no meaning: every output is NaN then. */
void sl_temperature_apply(const sl_preds *p, double T, float *out)
{
    size_t n = p->n, k = p->k;
    for (size_t i = 0; i < n; i++) {
        const float *row = p->prob + i * k;
        float *o = out + i * k;
        if (!(T > 0)) {
            for (size_t j = 0; j < k; j++) o[j] = NAN;
            continue;
        }
        /* softmax(log p / T) = p^(1/T) / sum p^(1/T), scaled by the largest term for range */
        double top = -INFINITY, sum = 0;
        for (size_t j = 0; j < k; j++) top = fmax(top, log(fmax((double)row[j], PROB_FLOOR)) / T);
        for (size_t j = 0; j < k; j++) sum += exp(log(fmax((double)row[j], PROB_FLOOR)) / T - top);
        for (size_t j = 0; j < k; j++) o[j] = (float)(exp(log(fmax((double)row[j], PROB_FLOOR)) / T - top) / sum);
    }
}

/* ---- McNemar's test ----------------------------------------------------------------------- */

/* Binomial probabilities by Loader's saddle-point method ("Fast and accurate computation of
 * binomial probabilities", 2000; R's dbinom): a relative error near 1e-15 for any n, where
 * lgamma differences lose about log10(n log n) digits (lgamma(10^6) is 1.3e7, so an ulp of it
 * is 2e-9), and no lgamma, which writes the global signgam. */

/* log(n!) - log(sqrt(2 pi n) (n / e)^n), the error of Stirling's formula */
static double stirlerr(double n)
{
    const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680, s4 = 1.0 / 1188;
    if (n <= 15) {
        /* direct: n! is exact in double up to 15!, and the result's absolute error (which is
         * what moves the probability) stays near 1e-15 */
        double f = 1;
        for (double i = 2; i <= n; i++) f *= i;
        return log(f) - (n + 0.5) * log(n) + n - 0.5 * LN_2PI;
    }
    double nn = n * n;
    if (n > 500) return (s0 - s1 / nn) / n;
    if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
    if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/* x log(x / np) + np - x, by its series when x is near np (where the direct form cancels) */
static double bd0(double x, double np)
{
    if (fabs(x - np) < 0.1 * (x + np)) {
        double v = (x - np) / (x + np), s = (x - np) * v, ej = 2 * x * v;
        for (int j = 1; j < 1000; j++) {
            ej *= v * v;
            double s1 = s + ej / (2 * j + 1);
            if (s1 == s) return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / np) + np - x;
}

/* log P[X = x] for X ~ Binomial(m, 1/2), 0 <= x <= m */
static double log_binom_half(double x, double m)
{
    if (x == 0 || x == m) return -m * LN_2;
    double lc = stirlerr(m) - stirlerr(x) - stirlerr(m - x) - bd0(x, m / 2) - bd0(m - x, m / 2);
    return lc - 0.5 * (LN_2PI + log(x) + log1p(-x / m));
}

/* P[X <= x] for X ~ Binomial(m, 1/2) and x <= m / 2: the terms grow up to x, so the sum is
 * taken relative to the last one, going down by the ratio P[i - 1] / P[i] = i / (m - i + 1)
 * until the rest cannot change it; only the final exp can underflow, and then the answer does. */
static double binom_half_cdf(size_t x, size_t m)
{
    double ratio = 1, sum = 1;
    for (size_t i = x; i > 0; i--) {
        ratio *= (double)i / (double)(m - i + 1);
        sum += ratio;
        if (ratio < 1e-17 * sum) break;
    }
    return exp(log_binom_half((double)x, (double)m) + log(sum));
}

sl_status sl_mcnemar_test(const int *correct_a, const int *correct_b, size_t n, sl_mcnemar *out)
{
    memset(out, 0, sizeof *out);
    if (!n) return sl_fail(SL_EARG, "McNemar: no examples");
    if (!correct_a || !correct_b) return sl_fail(SL_EARG, "McNemar: no outcomes given");
    size_t b = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        int a_right = correct_a[i] != 0, b_right = correct_b[i] != 0;
        b += (size_t)(a_right && !b_right);
        c += (size_t)(!a_right && b_right);
    }
    out->b = b;
    out->c = c;
    size_t m = b + c;
    if (!m) {
        out->p_exact = 1;
        out->chi2 = 0;
        out->p_chi2 = 1;
        return SL_OK;
    }
    out->p_exact = fmin(1.0, 2 * binom_half_cdf(b < c ? b : c, m));
    double d = fabs((double)b - (double)c) - 1;
    out->chi2 = d * d / (double)m;
    out->p_chi2 = erfc(sqrt(out->chi2 / 2)); /* chi-square with 1 dof: P[Z^2 > x] = erfc(sqrt(x / 2)) */
    return SL_OK;
}

/* ---- confident learning ------------------------------------------------------------------- */

typedef struct {
    double margin;
    size_t i;
    int suggested;
} suspect;

static int cmp_suspect(const void *pa, const void *pb)
{
    const suspect *a = pa, *b = pb;
    if (a->margin != b->margin) return a->margin > b->margin ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* A class with no example labelled with it has no threshold (the mean of nothing) and is never
 * anyone's confident class. Among classes tied on p_ij at or above their thresholds, the lower
 * index is the confident class, as the argmax takes the first maximum. */
sl_status sl_label_suspects(const sl_preds *p, size_t *idx, int *suggested, size_t *count)
{
    *count = 0;
    SL_TRY(check_preds(p, "label suspects"));
    if (!idx) return sl_fail(SL_EARG, "label suspects: no room for the suspects");
    size_t n = p->n, k = p->k;
    double *thr = calloc(k, sizeof *thr);
    size_t *labelled = calloc(k, sizeof *labelled);
    suspect *s = malloc(n * sizeof *s);
    if (!thr || !labelled || !s) {
        free(thr);
        free(labelled);
        free(s);
        return sl_fail(SL_ENOMEM, "label suspects: out of memory for %zu examples", n);
    }
    for (size_t i = 0; i < n; i++) {
        thr[p->label[i]] += p->prob[i * k + (size_t)p->label[i]];
        labelled[p->label[i]]++;
    }
    for (size_t j = 0; j < k; j++) thr[j] = labelled[j] ? thr[j] / (double)labelled[j] : INFINITY;
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        const float *row = p->prob + i * k;
        int best = -1;
        for (size_t j = 0; j < k; j++)
            if (labelled[j] && row[j] >= thr[j] && (best < 0 || row[j] > row[best])) best = (int)j;
        if (best < 0 || best == p->label[i]) continue;
        s[ns++] = (suspect){(double)row[best] - (double)row[p->label[i]], i, best};
    }
    qsort(s, ns, sizeof *s, cmp_suspect);
    for (size_t r = 0; r < ns; r++) {
        idx[r] = s[r].i;
        if (suggested) suggested[r] = s[r].suggested;
    }
    *count = ns;
    free(thr);
    free(labelled);
    free(s);
    return SL_OK;
}
