/* The metrics of analyze.h: every score against scikit-learn's on the committed fixtures
 * (tests/fixtures/analyze, made by tools/make_metrics_fixtures.py), McNemar p-values against
 * scipy's, and cases worked out by hand for the rest: calibration bins and ECE, McNemar's exact
 * and chi-square p-values, temperature scaling on data whose answer is known, confident-learning
 * suspects, bootstrap intervals, and the rejection of bad input. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "sigloop/analyze.h"
#include "sigloop/rng.h"

/* ---- reading the text fixtures: '#' comment lines, then whitespace-separated tokens ---------- */

typedef struct {
    char path[1024];
    char *text;
    const char *at;
} reader;

static void reader_open(reader *r, const char *name)
{
    const char *dir = getenv("SIGLOOP_FIXTURES");
    snprintf(r->path, sizeof r->path, "%s/analyze/%s", dir ? dir : "tests/fixtures", name);
    FILE *f = fopen(r->path, "rb");
    long size = f && !fseek(f, 0, SEEK_END) ? ftell(f) : -1;
    if (size < 0) fail_msg("cannot open fixture %s", r->path);
    rewind(f);
    r->text = malloc((size_t)size + 1);
    if (!r->text || fread(r->text, 1, (size_t)size, f) != (size_t)size) fail_msg("cannot read %s", r->path);
    fclose(f);
    r->text[size] = 0;
    r->at = r->text;
}

static int reader_more(reader *r) /* skips white space and comments; 0 at the end */
{
    for (;;) {
        while (isspace((unsigned char)*r->at)) r->at++;
        if (*r->at != '#') return *r->at != 0;
        while (*r->at && *r->at != '\n') r->at++;
    }
}

static void expect_word(reader *r, const char *word)
{
    size_t len = strlen(word);
    reader_more(r);
    if (strncmp(r->at, word, len) || !isspace((unsigned char)r->at[len]))
        fail_msg("%s: expected \"%s\" at \"%.24s\"", r->path, word, r->at);
    r->at += len;
}

/* a number: strtof for the probabilities (the exact float32 the reference was given), else
 * strtod ("nan" too) */
static double read_num(reader *r, int f32)
{
    reader_more(r);
    char *end;
    double v = f32 ? strtof(r->at, &end) : strtod(r->at, &end);
    if (end == r->at) fail_msg("%s: expected a number at \"%.24s\"", r->path, r->at);
    r->at = end;
    return v;
}
#define read_double(r) read_num(r, 0)

static size_t read_count(reader *r)
{
    double v = read_double(r);
    if (v < 0 || v != floor(v)) fail_msg("%s: %g is not a count", r->path, v);
    return (size_t)v;
}

/* ---- comparing -------------------------------------------------------------------------- */

/* |a - b| relative to the larger; exact zeros must match exactly, and NaN matches only NaN */
static double rel_diff(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? 0 : INFINITY;
    if (a == b) return 0;
    return fabs(a - b) / fmax(fabs(a), fabs(b));
}

typedef struct {
    double worst;
    char what[64]; /* which value it was */
} worst_diff;

static void track(worst_diff *w, double got, double want, const char *what, size_t j)
{
    double d = rel_diff(got, want);
    if (d > w->worst || !w->what[0]) snprintf(w->what, sizeof w->what, j == SIZE_MAX ? "%s" : "%s[%zu]", what, j);
    w->worst = fmax(w->worst, d);
}

/* ---- every metric against scikit-learn -------------------------------------------------- */

#define SKLEARN_TOL 1e-9 /* ratios of integer counts in double: a few roundings apart at most */

static void check_case(const char *name, double *overall)
{
    reader r;
    reader_open(&r, name);
    expect_word(&r, "n");
    size_t n = read_count(&r);
    expect_word(&r, "k");
    size_t k = read_count(&r);
    int *label = malloc(n * sizeof *label);
    float *prob = malloc(n * k * sizeof *prob);
    assert_true(label && prob);
    expect_word(&r, "label");
    for (size_t i = 0; i < n; i++) label[i] = (int)read_count(&r);
    expect_word(&r, "prob");
    for (size_t i = 0; i < n * k; i++) prob[i] = (float)read_num(&r, 1);
    sl_preds p = {n, k, label, prob};
    sl_metrics m;
    if (sl_metrics_compute(&p, &m) != SL_OK) fail_msg("%s: %s", name, sl_last_error());

    worst_diff w = {0, ""};
    const char *keys[] = {"accuracy", "macro_f1", "balanced_accuracy", "top_k_2", "top_k_3"};
    double got[] = {m.accuracy, m.macro_f1, m.balanced_accuracy, sl_top_k_accuracy(&p, 2), sl_top_k_accuracy(&p, 3)};
    for (size_t q = 0; q < 5; q++) {
        expect_word(&r, keys[q]);
        track(&w, got[q], read_double(&r), keys[q], SIZE_MAX);
    }
    expect_word(&r, "confusion");
    for (size_t c = 0; c < k * k; c++) {
        size_t want = read_count(&r);
        if (m.confusion[c] != want)
            fail_msg("%s: confusion[%zu][%zu] = %zu, sklearn %zu", name, c / k, c % k, m.confusion[c], want);
    }
    const char *arrays[] = {"precision", "recall", "f1"};
    const double *mine[] = {m.precision, m.recall, m.f1};
    for (size_t q = 0; q < 3; q++) {
        expect_word(&r, arrays[q]);
        for (size_t j = 0; j < k; j++) track(&w, mine[q][j], read_double(&r), arrays[q], j);
    }
    expect_word(&r, "support");
    for (size_t j = 0; j < k; j++) {
        size_t want = read_count(&r);
        if (m.support[j] != want) fail_msg("%s: support[%zu] = %zu, sklearn %zu", name, j, m.support[j], want);
    }
    expect_word(&r, "end");
    printf("  %-22s n %4zu, k %2zu: counts exact; worst relative difference %.3g (%s), tolerance %g\n", name, n, k,
           w.worst, w.what, SKLEARN_TOL);
    if (w.worst > SKLEARN_TOL) fail_msg("%s: %s differs from sklearn by %g relative", name, w.what, w.worst);
    if (w.worst > *overall) *overall = w.worst;
    sl_metrics_free(&m);
    free(label);
    free(prob);
    free(r.text);
}

static void test_against_sklearn(void **state)
{
    (void)state;
    reader list;
    reader_open(&list, "cases.txt");
    size_t cases = 0;
    double overall = 0;
    while (reader_more(&list)) {
        char name[256];
        size_t len = strcspn(list.at, " \t\r\n");
        assert_true(len < sizeof name);
        snprintf(name, sizeof name, "%.*s", (int)len, list.at);
        list.at += len;
        check_case(name, &overall);
        cases++;
    }
    free(list.text);
    printf("  %zu cases, worst relative difference %.3g\n", cases, overall);
    assert_true(cases >= 6);
}

/* Top-k ties, by hand: row (0.4, 0.3, 0.3) ranks 0, then 2, then 1 (the higher index first among
 * equals, as sklearn does), so top-2 holds label 2 but not label 1; top-1 of (0.5, 0.5) is class 1
 * while the argmax is class 0. */
static void test_top_k_ties(void **state)
{
    (void)state;
    const float prob[] = {0.4f, 0.3f, 0.3f, 0.4f, 0.3f, 0.3f, 0.5f, 0.5f, 0.0f};
    int y1[] = {1, 1, 0}, y2[] = {2, 2, 1};
    sl_preds p1 = {3, 3, y1, prob}, p2 = {3, 3, y2, prob};
    assert_int_equal(sl_preds_argmax(&p1, 2), 0);
    assert_true(sl_top_k_accuracy(&p1, 2) == 1.0 / 3);       /* only example 2 (label 0) */
    assert_true(sl_top_k_accuracy(&p2, 2) == 1.0);           /* 2, 2, and 1 of (0.5, 0.5, 0) */
    assert_true(sl_top_k_accuracy(&p2, 1) == 1.0 / 3);       /* top-1 of row 2 is class 1 */
    assert_true(sl_top_k_accuracy(&p1, 3) == 1.0);
}

/* ---- calibration ------------------------------------------------------------------------ */

/* 15 bins; bin b is (b/15, (b+1)/15]. Four examples over four classes:
 *   (0.5, 0.25, 0.125, 0.125) label 0: confidence 0.5 (7.5 fifteenths: bin 7), right
 *   (0.5, 0.5, 0, 0) label 1: the first maximum is class 0, confidence 0.5 (bin 7), wrong
 *   (0.25, 0.75, 0, 0) label 1: confidence 0.75 (11.25 fifteenths: bin 11), right
 *   (0.25, 0.25, 0.25, 0.25) label 3: predicted 0, confidence 0.25 (3.75: bin 3), wrong
 * bin 3: 1 example, confidence 1/4, accuracy 0; bin 7: 2, 1/2, 1/2; bin 11: 1, 3/4, 1.
 * ECE = 1/4 |0 - 1/4| + 2/4 |1/2 - 1/2| + 1/4 |1 - 3/4| = 1/16 + 0 + 1/16 = 1/8, exactly (every
 * number here is a dyadic fraction). */
static void test_calibration_by_hand(void **state)
{
    (void)state;
    const float prob[] = {0.5f, 0.25f, 0.125f, 0.125f, 0.5f,  0.5f,  0,     0,
                          0.25f, 0.75f, 0,      0,      0.25f, 0.25f, 0.25f, 0.25f};
    int label[] = {0, 1, 1, 3};
    sl_preds p = {4, 4, label, prob};
    sl_calibration c;
    assert_int_equal(sl_calibration_compute(&p, 15, &c), SL_OK);
    assert_int_equal(c.bins, 15);
    for (size_t b = 0; b < 15; b++) {
        size_t want = b == 7 ? 2 : b == 3 || b == 11 ? 1 : 0;
        if (c.count[b] != want) fail_msg("bin %zu holds %zu, want %zu", b, c.count[b], want);
        if (!want) assert_true(c.confidence[b] == 0 && c.accuracy[b] == 0);
    }
    assert_true(c.confidence[3] == 0.25 && c.accuracy[3] == 0);
    assert_true(c.confidence[7] == 0.5 && c.accuracy[7] == 0.5);
    assert_true(c.confidence[11] == 0.75 && c.accuracy[11] == 1);
    printf("  ECE %.17g, want 1/8\n", c.ece);
    assert_true(c.ece == 0.125);
    sl_calibration_free(&c);

    /* Perfectly calibrated, 10 bins: four examples at confidence 3/4 with three right, two at
     * 1/2 with one right (the (1/2, 1/2) rows predict class 0). Each bin's accuracy is its
     * confidence: ECE 0. */
    const float cal[] = {0.75f, 0.25f, 0.75f, 0.25f, 0.75f, 0.25f, 0.75f, 0.25f, 0.5f, 0.5f, 0.5f, 0.5f};
    int cal_label[] = {0, 0, 0, 1, 0, 1};
    sl_preds q = {6, 2, cal_label, cal};
    assert_int_equal(sl_calibration_compute(&q, 10, &c), SL_OK);
    assert_int_equal(c.count[7], 4); /* 3/4 in (0.7, 0.8] */
    assert_int_equal(c.count[4], 2); /* 1/2 in (0.4, 0.5]: the float edge 0.5 is exact */
    assert_true(c.ece == 0);
    sl_calibration_free(&c);
}

/* The edges, 15 bins, 16 classes (the top probability at class 0, the rest (1 - top) / 15 each,
 * all below it), every label 0: 2/15 is in bin 1 = (1/15, 2/15], the next float up in bin 2;
 * 1/15 in bin 0; 14/15 in bin 13, the next float up in bin 14; 1 in bin 14; an all-zero row
 * (confidence 0) in bin 0. Counts: bin 0: 2, bin 1: 1, bin 2: 1, bin 13: 1, bin 14: 2. */
static void test_calibration_edges(void **state)
{
    (void)state;
    const float top[] = {2.0f / 15, nextafterf(2.0f / 15, 1), 1.0f / 15, 14.0f / 15, nextafterf(14.0f / 15, 1), 1, 0};
    enum { N = 7, K = 16 };
    float prob[N * K];
    int label[N] = {0};
    for (size_t i = 0; i < N; i++) {
        prob[i * K] = top[i];
        for (size_t j = 1; j < K; j++) prob[i * K + j] = top[i] > 0 ? (1 - top[i]) / 15 : 0;
    }
    sl_preds p = {N, K, label, prob};
    for (size_t i = 0; i < N; i++) assert_int_equal(sl_preds_argmax(&p, i), 0);
    sl_calibration c;
    assert_int_equal(sl_calibration_compute(&p, 15, &c), SL_OK);
    const size_t want[15] = {[0] = 2, [1] = 1, [2] = 1, [13] = 1, [14] = 2};
    for (size_t b = 0; b < 15; b++)
        if (c.count[b] != want[b]) fail_msg("bin %zu holds %zu, want %zu", b, c.count[b], want[b]);
    assert_true(c.confidence[1] == (double)(2.0f / 15));
    sl_calibration_free(&c);
}

/* ---- McNemar ---------------------------------------------------------------------------- */

/* Outcomes with b examples A-right/B-wrong and c the reverse, interleaved, then seven where the
 * models agree (both right, both wrong). */
static sl_status mcnemar_of(size_t b, size_t c, sl_mcnemar *out)
{
    size_t n = b + c + 7;
    int *a = malloc(n * sizeof *a), *bb = malloc(n * sizeof *bb);
    assert_true(a && bb);
    size_t nb = 0, nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 3 == 0 && nb < b) a[i] = 1, bb[i] = 0, nb++;
        else if (i % 3 == 1 && nc < c) a[i] = 0, bb[i] = 1, nc++;
        else if (nb < b) a[i] = 1, bb[i] = 0, nb++;
        else if (nc < c) a[i] = 0, bb[i] = 7, nc++; /* any nonzero is "right" */
        else a[i] = bb[i] = (int)(i & 1);          /* the seven agreements */
    }
    sl_status s = sl_mcnemar_test(a, bb, n, out);
    free(a);
    free(bb);
    return s;
}

/* By hand: b = c = 0: nothing to test, p = 1, chi2 = 0. b = 1, c = 0: P[X <= 0] = 1/2 for
 * X ~ Bin(1, 1/2), doubled: 1; chi2 = (1 - 1)^2 / 1 = 0, p 1. b = 3, c = 0: 2 / 8 = 0.25.
 * b = 10, c = 2: 2 (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2 (1 + 12 + 66) / 4096 = 0.03857421875;
 * chi2 = (8 - 1)^2 / 12 = 49 / 12, p_chi2 = erfc(sqrt(49 / 24)) = 0.0433081428107921 (scipy's
 * chi2.sf(49/12, 1)). b = 600, c = 500: the exact p against the chi-square one, which the normal
 * approximation puts within 1e-3 of it (the fixture has scipy's exact value). */
static void test_mcnemar_by_hand(void **state)
{
    (void)state;
    sl_mcnemar t;
    assert_int_equal(mcnemar_of(0, 0, &t), SL_OK);
    assert_true(t.b == 0 && t.c == 0 && t.p_exact == 1 && t.chi2 == 0 && t.p_chi2 == 1);
    assert_int_equal(mcnemar_of(1, 0, &t), SL_OK);
    assert_true(t.b == 1 && t.c == 0 && t.p_exact == 1 && t.chi2 == 0 && t.p_chi2 == 1);
    assert_int_equal(mcnemar_of(3, 0, &t), SL_OK);
    assert_true(rel_diff(t.p_exact, 0.25) < 1e-14);
    assert_int_equal(mcnemar_of(10, 2, &t), SL_OK);
    printf("  b 10, c 2: p_exact %.17g (want 0.03857421875), chi2 %.17g, p_chi2 %.17g\n", t.p_exact, t.chi2, t.p_chi2);
    assert_true(t.b == 10 && t.c == 2 && rel_diff(t.p_exact, 0.03857421875) < 1e-14);
    assert_true(rel_diff(t.chi2, 49.0 / 12) < 1e-15 && rel_diff(t.p_chi2, 0.04330814281079206) < 1e-13);
    sl_mcnemar u;
    assert_int_equal(mcnemar_of(2, 10, &u), SL_OK); /* symmetric */
    assert_true(u.b == 2 && u.c == 10 && u.p_exact == t.p_exact && u.chi2 == t.chi2);
    assert_int_equal(mcnemar_of(600, 500, &t), SL_OK);
    printf("  b 600, c 500: p_exact %.6g, p_chi2 %.6g\n", t.p_exact, t.p_chi2);
    assert_true(fabs(t.p_exact - t.p_chi2) < 1e-3);
}

/* Against scipy (tests/fixtures/analyze/mcnemar.txt), b + c up to 10^6. */
#define MCNEMAR_TOL 1e-11

static void test_mcnemar_against_scipy(void **state)
{
    (void)state;
    reader r;
    reader_open(&r, "mcnemar.txt");
    double worst = 0;
    size_t rows = 0;
    while (reader_more(&r)) {
        size_t b = read_count(&r), c = read_count(&r);
        double pe = read_double(&r), x2 = read_double(&r), pc = read_double(&r);
        sl_mcnemar t;
        assert_int_equal(mcnemar_of(b, c, &t), SL_OK);
        assert_true(t.b == b && t.c == c);
        double d = fmax(rel_diff(t.p_exact, pe), fmax(rel_diff(t.chi2, x2), rel_diff(t.p_chi2, pc)));
        if (d > MCNEMAR_TOL)
            fail_msg("b %zu, c %zu: p_exact %.17g (scipy %.17g), chi2 %.17g (%.17g), p_chi2 %.17g (%.17g)", b, c,
                     t.p_exact, pe, t.chi2, x2, t.p_chi2, pc);
        worst = fmax(worst, d);
        rows++;
    }
    free(r.text);
    printf("  %zu pairs: worst relative difference from scipy %.3g, tolerance %g\n", rows, worst, MCNEMAR_TOL);
    assert_true(rows >= 10);
}

/* ---- temperature scaling ---------------------------------------------------------------- */

/* softmax(z / T) of one row, in double, into float */
static void softmax_row(const double *z, size_t k, double T, float *out)
{
    double top = z[0], sum = 0;
    for (size_t j = 1; j < k; j++) top = fmax(top, z[j]);
    for (size_t j = 0; j < k; j++) sum += exp((z[j] - top) / T);
    for (size_t j = 0; j < k; j++) out[j] = (float)(exp((z[j] - top) / T) / sum);
}

/* Data whose answer is known: logits z ~ N(0, 2^2) over 10 classes, labels drawn from
 * softmax(z), and the reported probabilities q = softmax(z / T0). Rescaling q by T gives
 * softmax(z / (T0 T)) (log q is z / T0 up to a per-row constant, which softmax ignores), and the
 * expected NLL over that family is least at the true distribution, T0 T = 1: the fit should find
 * T = 1 / T0. With n = 20000 the estimate of beta = 1 / (T0 T) has a standard error of about
 * 1 / sqrt(n E[Var_softmax(z)(z)]) = 1 / sqrt(20000 x 0.99) = 0.7 %, so 3 % is over four
 * standard errors (a miss for about one seed in 10^4), and the fixed seed makes it one
 * deterministic draw. */
static void temperature_case(double T0, size_t n, float **q_out, float **truth_out, int **label_out)
{
    enum { K = 10 };
    float *q = malloc(n * K * sizeof *q), *truth = malloc(n * K * sizeof *truth);
    int *label = malloc(n * sizeof *label);
    assert_true(q && truth && label);
    sl_rng r = sl_rng_make(2024, 1);
    for (size_t i = 0; i < n; i++) {
        double z[K];
        for (size_t j = 0; j < K; j++) z[j] = 2 * sl_rng_normal(&r);
        softmax_row(z, K, 1, truth + i * K);
        softmax_row(z, K, T0, q + i * K);
        double u = sl_rng_uniform_double(&r), acc = truth[i * K];
        int y = 0;
        while (y < K - 1 && u >= acc) acc += truth[i * K + (size_t)++y];
        label[i] = y;
    }
    *q_out = q;
    *truth_out = truth;
    *label_out = label;
}

static void test_temperature(void **state)
{
    (void)state;
    const size_t n = 20000, k = 10;
    const double T0s[] = {2.0, 0.5, 40.0}; /* under-, overconfident, and 1/40 below the range */
    for (size_t c = 0; c < 3; c++) {
        float *q, *truth;
        int *label;
        temperature_case(T0s[c], n, &q, &truth, &label);
        sl_preds p = {n, k, label, q};
        double T, before, after, direct = 0;
        assert_int_equal(sl_temperature_fit(&p, &T, &before, &after), SL_OK);
        for (size_t i = 0; i < n; i++) { /* -log softmax(log q)_y = -log(q_y / sum q) */
            double sum = 0;
            for (size_t j = 0; j < k; j++) sum += q[i * k + j];
            direct -= log(q[i * k + (size_t)label[i]] / sum);
        }
        direct /= (double)n;
        printf("  T0 %g: fitted T %.6f (want %g), NLL %.4f -> %.4f\n", T0s[c], T, 1 / T0s[c], before, after);
        assert_true(rel_diff(before, direct) < 1e-9);
        assert_true(after < before);
        if (c < 2) {
            if (fabs(T * T0s[c] - 1) > 0.03) fail_msg("T0 %g: fitted T %g, want %g within 3 %%", T0s[c], T, 1 / T0s[c]);
            /* and applying exactly 1 / T0 gives back the true probabilities */
            float *back = malloc(n * k * sizeof *back);
            assert_non_null(back);
            sl_temperature_apply(&p, 1 / T0s[c], back);
            double worst = 0;
            for (size_t i = 0; i < n * k; i++) worst = fmax(worst, fabs(back[i] - truth[i]));
            printf("         apply(1/T0) against softmax(z): worst %.3g\n", worst);
            assert_true(worst < 1e-6); /* float rounding of q, truth and the result */
            free(back);
        } else { /* the best T, 1/40, is below 0.05: the search closes on the end */
            assert_true(T >= 0.05 && T < 0.05 * (1 + 1e-5));
        }
        if (c == 0) {
            /* T = 1 is softmax(log q) = q / sum(q): the rows sum to 1 within float rounding (10
             * terms, 6e-8 each), so the output is the input within 1e-6; T <= 0 means nothing
             * and gives NaN */
            float *same = malloc(n * k * sizeof *same);
            assert_non_null(same);
            sl_temperature_apply(&p, 1.0, same);
            double worst = 0;
            for (size_t i = 0; i < n * k; i++) worst = fmax(worst, fabs(same[i] - q[i]));
            printf("         T = 1: worst change %.3g\n", worst);
            assert_true(worst < 1e-6);
            const double bad[] = {0.0, -1.0, NAN};
            for (size_t b = 0; b < 3; b++) {
                sl_temperature_apply(&p, bad[b], same);
                assert_true(isnan(same[0]) && isnan(same[n * k - 1]));
            }
            free(same);
        }
        free(q);
        free(truth);
        free(label);
    }
}

/* ---- confident learning ----------------------------------------------------------------- */

static void expect_suspects(const sl_preds *p, const size_t *want_idx, const int *want_cls, size_t want,
                            const char *what)
{
    size_t idx[16], count = 99;
    int cls[16];
    assert_true(p->n <= 16);
    if (sl_label_suspects(p, idx, cls, &count) != SL_OK) fail_msg("%s: %s", what, sl_last_error());
    if (count != want) fail_msg("%s: %zu suspects, want %zu", what, count, want);
    for (size_t r = 0; r < want; r++)
        if (idx[r] != want_idx[r] || cls[r] != want_cls[r])
            fail_msg("%s: suspect %zu is example %zu (class %d), want %zu (class %d)", what, r, idx[r], cls[r],
                     want_idx[r], want_cls[r]);
    size_t idx2[16], count2;
    assert_int_equal(sl_label_suspects(p, idx2, NULL, &count2), SL_OK); /* suggested may be NULL */
    assert_int_equal(count2, want);
    assert_memory_equal(idx, idx2, want * sizeof *idx);
}

/* Three classes, two examples each:
 *   0: label 0 (0.75, 0.125, 0.125)   1: label 0 (0.25, 0.5, 0.25)
 *   2: label 1 (0.125, 0.75, 0.125)   3: label 1 (0.5, 0.25, 0.25)
 *   4: label 2 (0.25, 0.25, 0.5)      5: label 2 (0.5, 0, 0.5)
 * Thresholds: t0 = (0.75 + 0.25) / 2 = 0.5, t1 = (0.75 + 0.25) / 2 = 0.5, t2 = (0.5 + 0.5) / 2 = 0.5.
 * Example 0: only class 0 reaches 0.5: its label, not suspect; 2 and 4 likewise. Example 1:
 * only class 1 (0.5): suspect, margin 0.5 - 0.25 = 0.25. Example 3: only class 0: suspect, margin
 * 0.25. Example 5: classes 0 and 2 both at 0.5, the lower index is the confident class: suspect,
 * margin 0.5 - 0.5 = 0. Order: 1 and 3 (0.25, the lower index first), then 5; suggested 1, 0, 0. */
static void test_suspects(void **state)
{
    (void)state;
    const float prob[] = {0.75f, 0.125f, 0.125f, 0.25f, 0.5f, 0.25f, 0.125f, 0.75f, 0.125f,
                          0.5f,  0.25f,  0.25f,  0.25f, 0.25f, 0.5f, 0.5f, 0.0f, 0.5f};
    int label[] = {0, 0, 1, 1, 2, 2};
    sl_preds p = {6, 3, label, prob};
    expect_suspects(&p, (const size_t[]){1, 3, 5}, (const int[]){1, 0, 0}, 3, "by hand");

    /* Relabel example 3 as 0: t0 = (0.75 + 0.25 + 0.5) / 3 = 0.5, t1 = 0.75 (example 2 alone).
     * Example 1's class 1 (0.5) now misses 0.75 and class 0 (0.25) misses 0.5: no confident
     * class, not suspect. Example 3 is confidently 0, its label. Example 5 as before: the only
     * suspect. */
    int relabel[] = {0, 0, 1, 0, 2, 2};
    sl_preds q = {6, 3, relabel, prob};
    expect_suspects(&q, (const size_t[]){5}, (const int[]){0}, 1, "relabelled");

    /* No suspects: per class the labelled examples are (1, 0, 0) and (0.5, 0.25, 0.25) (and the
     * same rotated), so every threshold is 0.75. The one-hot rows are confidently their label;
     * in the others no class reaches 0.75, so they have no confident class at all. */
    const float none[] = {1, 0, 0, 0.5f, 0.25f, 0.25f, 0, 1, 0, 0.25f, 0.5f, 0.25f, 0, 0, 1, 0.25f, 0.25f, 0.5f};
    sl_preds r = {6, 3, label, none};
    expect_suspects(&r, NULL, NULL, 0, "none");

    /* A class no example is labelled with has no threshold and is no one's confident class:
     * class 2 below is never a label, though example 0 gives it 0.5. t0 = (0.25 + 0.75) / 2 =
     * 0.5, t1 = (1 + 0.5) / 2 = 0.75. Example 0 (label 0: 0.25 < 0.5; class 1: 0.25 < 0.75; class
     * 2 has no threshold): none. Examples 1 and 2 are confidently their labels. Example 3 (label
     * 1, (0.5, 0.5, 0)): class 0 reaches 0.5, class 1 misses 0.75: suspect, suggested 0, margin 0.
     * (Were the empty class's threshold taken as 0, examples 0 to 2 would all reach it.) */
    const float unlabelled[] = {0.25f, 0.25f, 0.5f, 0.75f, 0.125f, 0.125f, 0, 1, 0, 0.5f, 0.5f, 0};
    sl_preds u = {4, 3, label, unlabelled}; /* labels 0, 0, 1, 1 */
    expect_suspects(&u, (const size_t[]){3}, (const int[]){0}, 1, "unlabelled class");
}

/* ---- bootstrap -------------------------------------------------------------------------- */

/* n examples over 5 classes; a share `skill` predicted right (0.6 on the label, 0.1 elsewhere),
 * the rest with 0.6 on another class. */
static void make_preds(size_t n, double skill, uint64_t seed, int *label, float *prob)
{
    sl_rng r = sl_rng_make(seed, 3);
    for (size_t i = 0; i < n; i++) {
        label[i] = (int)sl_rng_below(&r, 5);
        int hot = sl_rng_uniform_double(&r) < skill ? label[i] : (label[i] + 1 + (int)sl_rng_below(&r, 4)) % 5;
        for (int j = 0; j < 5; j++) prob[i * 5 + (size_t)j] = j == hot ? 0.6f : 0.1f;
    }
}

static void test_bootstrap(void **state)
{
    (void)state;
    enum { N = 10000 };
    int *label = malloc(N * sizeof *label);
    float *prob = malloc(N * 5 * sizeof *prob);
    assert_true(label && prob);
    make_preds(N, 0.8, 5, label, prob);
    sl_preds p = {N, 5, label, prob};
    sl_metrics m;
    assert_int_equal(sl_metrics_compute(&p, &m), SL_OK);
    const sl_metric which[] = {SL_METRIC_ACCURACY, SL_METRIC_MACRO_F1, SL_METRIC_BALANCED_ACCURACY, SL_METRIC_TOP2};
    const double full[] = {m.accuracy, m.macro_f1, m.balanced_accuracy, sl_top_k_accuracy(&p, 2)};
    const char *names[] = {"accuracy", "macro F1", "balanced", "top-2"};
    for (size_t w = 0; w < 4; w++) {
        sl_ci a, b, c;
        assert_int_equal(sl_bootstrap_ci(&p, which[w], 2000, 42, &a), SL_OK);
        assert_int_equal(sl_bootstrap_ci(&p, which[w], 2000, 42, &b), SL_OK);
        assert_int_equal(sl_bootstrap_ci(&p, which[w], 2000, 43, &c), SL_OK);
        printf("  %-9s %.4f [%.4f, %.4f]; seed 43: [%.4f, %.4f]\n", names[w], a.value, a.lo, a.hi, c.lo, c.hi);
        assert_true(a.value == full[w]);
        assert_true(a.lo <= a.value && a.value <= a.hi && a.lo < a.hi);
        assert_memory_equal(&a, &b, sizeof a);         /* same seed, same interval */
        assert_true(c.lo != a.lo || c.hi != a.hi);     /* another seed, another draw... */
        double width = a.hi - a.lo;                    /* ...of about the same interval */
        assert_true(fabs(c.lo - a.lo) < 0.2 * width && fabs(c.hi - a.hi) < 0.2 * width);
        if (which[w] == SL_METRIC_ACCURACY) {
            /* The binomial's normal approximation: 1.96 sqrt(a (1 - a) / n) either side. With
             * 2000 resamples each percentile moves by about 0.06 of a standard error, about 3 %
             * of a half-width, so 10 % on the width and 15 % on each half hold, and a 90 %
             * interval (16 % narrower) or a misplaced percentile does not pass. */
            double half = 1.96 * sqrt(a.value * (1 - a.value) / N);
            printf("            width %.5f, normal approximation %.5f\n", width, 2 * half);
            assert_true(fabs(width / (2 * half) - 1) < 0.1);
            assert_true(fabs((a.value - a.lo) / half - 1) < 0.15 && fabs((a.hi - a.value) / half - 1) < 0.15);
        }
    }
    sl_metrics_free(&m);

    /* a single resample is its own interval; a perfect classifier's interval is [1, 1] */
    sl_ci one;
    assert_int_equal(sl_bootstrap_ci(&p, SL_METRIC_ACCURACY, 1, 7, &one), SL_OK);
    assert_true(one.lo == one.hi);
    make_preds(200, 1.0, 6, label, prob);
    sl_preds perfect = {200, 5, label, prob};
    assert_int_equal(sl_bootstrap_ci(&perfect, SL_METRIC_MACRO_F1, 500, 1, &one), SL_OK);
    assert_true(one.value == 1 && one.lo == 1 && one.hi == 1);
    free(label);
    free(prob);
}

/* ---- bad input -------------------------------------------------------------------------- */

static void expect_earg(sl_status s, const char *what)
{
    if (s != SL_EARG) fail_msg("%s: status %d, want SL_EARG", what, (int)s);
    if (!sl_last_error()[0]) fail_msg("%s: no message", what);
    printf("  %-28s %s\n", what, sl_last_error());
    sl_error_clear();
}

static void test_bad_input(void **state)
{
    (void)state;
    const float prob[] = {0.7f, 0.3f, 0.4f, 0.6f};
    int label[] = {0, 1}, zeros[] = {0, 0}, bad_hi[] = {0, 2}, bad_lo[] = {-1, 0};
    sl_preds ok = {2, 2, label, prob}, empty = {0, 2, label, prob}, one_class = {2, 1, zeros, prob};
    sl_preds hi = {2, 2, bad_hi, prob}, lo = {2, 2, bad_lo, prob};
    sl_metrics m;
    expect_earg(sl_metrics_compute(&empty, &m), "metrics, n = 0");
    assert_null(m.confusion);
    expect_earg(sl_metrics_compute(&one_class, &m), "metrics, k = 1");
    expect_earg(sl_metrics_compute(&hi, &m), "metrics, label k");
    expect_earg(sl_metrics_compute(&lo, &m), "metrics, label -1");
    assert_true(m.n == 0 && m.f1 == NULL);
    sl_metrics_free(NULL);

    /* top-k: NaN for bad input, the reason in sl_last_error() */
    assert_true(sl_top_k_accuracy(&ok, 2) == 1.0);
    assert_true(isnan(sl_top_k_accuracy(&ok, 0)) && isnan(sl_top_k_accuracy(&ok, 3)));
    assert_true(isnan(sl_top_k_accuracy(&empty, 1)) && isnan(sl_top_k_accuracy(&hi, 1)));
    printf("  %-28s %s\n", "top-k, bad input: NaN", sl_last_error());

    sl_ci ci;
    expect_earg(sl_bootstrap_ci(&empty, SL_METRIC_ACCURACY, 10, 1, &ci), "bootstrap, n = 0");
    expect_earg(sl_bootstrap_ci(&ok, SL_METRIC_ACCURACY, 0, 1, &ci), "bootstrap, no resamples");
    expect_earg(sl_bootstrap_ci(&ok, (sl_metric)99, 10, 1, &ci), "bootstrap, unknown metric");
    expect_earg(sl_bootstrap_ci(&hi, SL_METRIC_TOP2, 10, 1, &ci), "bootstrap, label k");

    sl_calibration c;
    expect_earg(sl_calibration_compute(&ok, 0, &c), "calibration, 0 bins");
    expect_earg(sl_calibration_compute(&empty, 15, &c), "calibration, n = 0");
    expect_earg(sl_calibration_compute(&one_class, 15, &c), "calibration, k = 1");
    assert_null(c.count);
    sl_calibration_free(NULL);

    double T;
    expect_earg(sl_temperature_fit(&empty, &T, NULL, NULL), "temperature, n = 0");
    expect_earg(sl_temperature_fit(&lo, &T, NULL, NULL), "temperature, label -1");

    sl_mcnemar t;
    int ca[] = {1, 0};
    expect_earg(sl_mcnemar_test(ca, ca, 0, &t), "McNemar, n = 0");

    size_t idx[2], count;
    expect_earg(sl_label_suspects(&empty, idx, NULL, &count), "suspects, n = 0");
    expect_earg(sl_label_suspects(&one_class, idx, NULL, &count), "suspects, k = 1");
    expect_earg(sl_label_suspects(&hi, idx, NULL, &count), "suspects, label k");
    assert_int_equal(count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_sklearn),     cmocka_unit_test(test_top_k_ties),
        cmocka_unit_test(test_calibration_by_hand), cmocka_unit_test(test_calibration_edges),
        cmocka_unit_test(test_mcnemar_by_hand),     cmocka_unit_test(test_mcnemar_against_scipy),
        cmocka_unit_test(test_temperature),         cmocka_unit_test(test_suspects),
        cmocka_unit_test(test_bootstrap),           cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
