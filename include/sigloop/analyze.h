/* Steps 5 and 6: the metrics a run is judged by (src/analyze/metrics.c).
 *
 * Everything works on predictions: n examples, each with its true class and the model's
 * probabilities over k classes (rows summing to 1). The predicted class of an example is the
 * first class with the highest probability. Conventions follow scikit-learn's where it has the
 * metric (precision, recall and F1 of a class with no predicted or no true examples are 0, as
 * with zero_division=0; macro averages over the classes that have true examples or predictions,
 * as sklearn's labels=None does), and say so where it does not. */
#ifndef SIGLOOP_ANALYZE_H
#define SIGLOOP_ANALYZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t n, k;
    const int *label;   /* (n) true classes in [0, k) */
    const float *prob;  /* (n, k) probabilities, row-major */
} sl_preds;

/* The predicted class of example i (first maximum). */
int sl_preds_argmax(const sl_preds *p, size_t i);

typedef struct {
    size_t n, k;
    size_t *confusion;   /* (k, k): row = true class, column = predicted */
    size_t *support;     /* (k) true examples per class */
    double *precision, *recall, *f1; /* (k) */
    double accuracy;
    double macro_f1;     /* sklearn f1_score(average="macro") */
    double balanced_accuracy; /* mean recall over the classes with true examples
                                 (sklearn balanced_accuracy_score) */
} sl_metrics;

/* All of the above from p. SL_EARG for n == 0, k < 2 or a label outside [0, k). On error m is
 * zeroed and nothing needs freeing. */
sl_status sl_metrics_compute(const sl_preds *p, sl_metrics *m);
void sl_metrics_free(sl_metrics *m); /* NULL-safe; zeroes m */

/* Share of examples whose true class is among the top `top` probabilities. Ties are broken as
 * sklearn's top_k_accuracy_score breaks them (a stable ascending argsort, reversed): among equal
 * probabilities the higher class index ranks first. That is the opposite of the argmax's first
 * maximum, so with a tied top probability top-1 accuracy can differ from accuracy. top in [1, k]. */
double sl_top_k_accuracy(const sl_preds *p, size_t top);

/* The metrics a bootstrap interval can be asked for. */
typedef enum { SL_METRIC_ACCURACY, SL_METRIC_MACRO_F1, SL_METRIC_BALANCED_ACCURACY, SL_METRIC_TOP2 } sl_metric;

typedef struct {
    double value;  /* on all examples */
    double lo, hi; /* 95 % percentile bootstrap interval (2.5th and 97.5th percentiles) */
} sl_ci;

/* The metric with a 95 % percentile bootstrap interval over `resamples` resamples of the n
 * examples with replacement, drawn from Philox (seed, 0): the same seed gives the same interval. */
sl_status sl_bootstrap_ci(const sl_preds *p, sl_metric metric, size_t resamples, uint64_t seed, sl_ci *out);

/* Calibration of the top probability (Guo et al., 2017): `bins` equal-width bins of confidence
 * over (0, 1] (bin b holds confidences in (b / bins, (b + 1) / bins], the edges rounded to float
 * as the confidences are, so 2.0f / 15 is in bin 1 of 15; a confidence of 0 goes in bin 0, one
 * of 1 or more in the last); per bin the count, mean confidence and accuracy; ECE = sum over
 * bins of count / n x |accuracy - confidence|. The arrays are malloc'd; free with
 * sl_calibration_free. */
typedef struct {
    size_t bins;
    size_t *count;       /* (bins) */
    double *confidence;  /* (bins) mean top probability, 0 for an empty bin */
    double *accuracy;    /* (bins) */
    double ece;
} sl_calibration;
sl_status sl_calibration_compute(const sl_preds *p, size_t bins, sl_calibration *c);
void sl_calibration_free(sl_calibration *c);

/* The temperature T in [0.05, 20] minimising the mean negative log-likelihood of the
 * probabilities rescaled as softmax(log p / T) (temperature scaling, Guo et al., 2017): fit on a
 * validation split, applied to test. *nll_before and *nll_after (may be NULL) are the mean NLLs at
 * T = 1 and at the fitted T. Probabilities are floored at 1e-12 before the logarithm. */
sl_status sl_temperature_fit(const sl_preds *p, double *T, double *nll_before, double *nll_after);
/* p's probabilities rescaled by T into out (n, k). */
void sl_temperature_apply(const sl_preds *p, double T, float *out);

/* McNemar's test on paired outcomes of two models on the same n examples: b = examples A gets
 * right and B wrong, c = the reverse; p_exact is the two-sided exact binomial p-value
 * (min(1, 2 P[X <= min(b, c)]) for X ~ Binomial(b + c, 1/2); 1 when b + c = 0), chi2 the statistic
 * with continuity correction ((|b - c| - 1)^2 / (b + c), 0 when b + c = 0) and p_chi2 its p-value
 * on one degree of freedom. */
typedef struct {
    size_t b, c;
    double p_exact, chi2, p_chi2;
} sl_mcnemar;
sl_status sl_mcnemar_test(const int *correct_a, const int *correct_b, size_t n, sl_mcnemar *out);

/* Suspected label errors by confident learning (Northcutt, Jiang and Chuang, 2021), on held-out
 * probabilities: per class j the threshold t_j is the mean probability of j over the examples
 * labelled j; example i's confident class is the class j with the highest p_ij among those with
 * p_ij >= t_j (none when no class reaches its threshold); i is suspect when its confident class
 * exists and differs from its label. Suspects are written to idx (room for n) sorted by their
 * margin p_i,confident - p_i,label, largest first (ties: lower index first), with the confident
 * class in suggested (n, may be NULL); *count is their number. */
sl_status sl_label_suspects(const sl_preds *p, size_t *idx, int *suggested, size_t *count);

/* ---- the analysis of a trained run (src/analyze/analysis.c, report.c, compare.c) -------------- */

typedef struct sl_analysis sl_analysis;

typedef struct {
    int threads;        /* <= 0: one per core */
    int robustness;     /* 1: accuracy on copies of the test split with noise, gain and shifts */
    size_t bootstrap;   /* resamples for the intervals (0: 1000) */
    uint64_t seed;      /* of the resamples and of the noise */
    int progress;       /* 1: a progress bar on stderr when it is a terminal */
} sl_analyze_opts;

/* Analyses the run folder written by sigloop train: its model (model.slm), manifest and metrics.
 * The test split (and the validation split, when there is one) is scored again from the
 * recordings with the model, so every figure comes from the same predictions. Errors name the
 * file. On error *out is NULL. */
sl_status sl_analyze_run(const char *run_dir, const sl_analyze_opts *opts, sl_analysis **out);
void sl_analysis_free(sl_analysis *a); /* NULL-safe */

/* report.json and report.html (one self-contained page: inline SVG, images and audio as data:
 * URIs), written atomically. */
sl_status sl_analysis_write_json(const sl_analysis *a, const char *path);
sl_status sl_analysis_write_html(const sl_analysis *a, const char *path);
/* The headline figures, for a summary elsewhere (the strings live as long as a). */
typedef struct {
    size_t n_test;
    sl_ci accuracy, macro_f1;
    const char *top_suggestion, *top_evidence; /* NULL when there is none */
    const char *diagnosis;                     /* the first diagnosis' kind, "healthy" when none */
} sl_analysis_headline;
void sl_analysis_headline_of(const sl_analysis *a, sl_analysis_headline *h);

/* A few lines for the terminal: the headline metrics and the top suggestions. */
void sl_analysis_summary(const sl_analysis *a, FILE *out);

/* Runs side by side (n >= 2): metrics with intervals, curves overlaid, per-class and per-group
 * differences from the first run, McNemar's test of each run against the first on the test
 * examples they share, and the differences between their configs; compare.html and compare.json
 * in out_dir, a summary on `summary` (may be NULL). */
sl_status sl_compare_runs(const char *const *runs, size_t n, const sl_analyze_opts *opts, const char *out_dir,
                          FILE *summary);

#ifdef __cplusplus
}
#endif
#endif
