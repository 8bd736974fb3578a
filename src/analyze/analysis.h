/* The analysis of one run (internal to src/analyze): what analysis.c computes and the report
 * writers (report.c) and compare.c read. */
#ifndef SIGLOOP_ANALYZE_ANALYSIS_H
#define SIGLOOP_ANALYZE_ANALYSIS_H

#include <stddef.h>
#include <stdio.h>

#include "sigloop/analyze.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/model.h"

#define SL_AN_WORST 8       /* worst examples shown of each kind */
#define SL_AN_SUGGEST 8     /* suggestions at most */
#define SL_AN_CONFUSED 5    /* confused pairs named */

typedef struct {
    double lr, train_loss, train_acc, val_loss, val_acc, seconds; /* NaN when absent */
} sl_an_epoch;

typedef struct {
    char name[SL_NAME_MAX]; /* group, or slice value ("0.3-0.4 s") */
    size_t n, correct;
    double acc;
} sl_an_slice;

typedef struct {
    char column[SL_NAME_MAX]; /* "group", "duration", or a manifest field */
    sl_an_slice *s;
    size_t n;
} sl_an_slicing;

typedef struct {
    const char *kind;  /* "noise", "gain", "shift" */
    const char *unit;  /* "dB SNR", "dB", "s" */
    double value;
    double acc;
} sl_an_condition;

typedef struct {
    double score;      /* higher first */
    char title[256];   /* the change */
    char evidence[512];
} sl_an_suggestion;

typedef struct {
    char kind[32];     /* "over-fitting", "under-fitting", "unstable", "not converged", "healthy" */
    char text[512];
} sl_an_diagnosis;

struct sl_analysis {
    char run_dir[SL_PATH_MAX];
    char name[SL_NAME_MAX];
    sl_model *model;          /* model.slm: its config, labels, shapes, weights */
    sl_dataset *ds;           /* the run's manifest */
    size_t k;
    /* the test split, scored again here */
    size_t n_test;
    size_t *test_row;         /* (n_test) rows of ds */
    int *test_label;          /* (n_test) */
    float *test_prob;         /* (n_test, k) */
    float *test_feat;         /* (n_test, bands, frames), standardised as the network saw them */
    sl_metrics m;
    sl_ci ci[4];              /* accuracy, macro-F1, balanced accuracy, top-2 (SL_METRIC_*) */
    double top3;
    size_t weakest[3], n_weakest; /* the classes with the lowest F1, weakest first */
    /* the validation split, when there is one */
    size_t n_val;
    double val_acc;
    /* calibration */
    sl_calibration cal, cal_t;
    double temperature, nll_before, nll_after;
    const char *temperature_on; /* "validation" or "test" */
    /* learning curves */
    sl_an_epoch *epochs;
    size_t n_epochs;
    sl_an_diagnosis diag[4];
    size_t n_diag;
    double final_train_acc;   /* the last epoch's, as trained (augmented examples, when augmented) */
    double train_acc;         /* the best model on up to 1,000 training examples as recorded */
    size_t n_train_scored;
    /* slices: by group, by duration, by manifest fields */
    sl_an_slicing *slicings;
    size_t n_slicings;
    /* confusions, largest first */
    size_t conf_true[SL_AN_CONFUSED], conf_pred[SL_AN_CONFUSED], conf_count[SL_AN_CONFUSED];
    size_t n_confused;
    /* worst examples (indices into the test arrays) */
    size_t wrong[SL_AN_WORST], n_wrong;         /* most confident wrong predictions */
    size_t unsure[SL_AN_WORST], n_unsure;       /* lowest-margin right ones */
    /* suspected label errors */
    size_t *suspect;          /* (n_suspects) indices into the test arrays */
    int *suspect_class;
    size_t n_suspects;
    /* robustness */
    sl_an_condition *cond;
    size_t n_cond;
    /* suggestions, ranked */
    sl_an_suggestion sug[SL_AN_SUGGEST];
    size_t n_sug;
    double seconds;           /* the analysis's own time */
};

/* The label of class c, and an example's file (relative to the data root). */
const char *sl_an_label(const sl_analysis *a, size_t c);
const char *sl_an_path(const sl_analysis *a, size_t test_i);
const char *sl_an_group(const sl_analysis *a, size_t test_i);

/* JSON: s as a string, quotes included; v as a number, or null when it is not finite (JSON has no
 * NaN). (report_json.c) */
void sl_an_json_string(FILE *f, const char *s);
void sl_an_json_number(FILE *f, double v);

/* Reads a test example's signal again (as the network heard it: decoded, resampled, padded or
 * cut): x has room for the config's samples; *n_real its samples of signal. */
sl_status sl_an_signal(const sl_analysis *a, size_t test_i, float *x, size_t *n_real);

#endif
