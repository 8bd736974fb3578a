/* TC-ResNet8 against PyTorch (tests/fixtures/nn, made by tools/make_nn_fixtures.py): the network
 * of examples/fsdd.yaml's model: section, with starting weights from a closed formula both sides
 * compute, on a fixed batch of 4. A training forward must give PyTorch's logits (1e-4 of the
 * largest) and loss (1e-4 relative); the backward every parameter gradient (1e-3 relative, per
 * node); three Adam steps (lr 1e-3) PyTorch's weights (1e-4 relative per node) and their change
 * (1e-2 relative per node), losses and batch-norm running statistics. The references are PyTorch
 * in float64 on the same float32 starting values, so each error printed is sigloop's alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include "sigloop/config.h"
#include "sigloop/nn.h"
#include "sigloop/train.h"

#define BATCH 4
#define BANDS 40
#define FRAMES 98
#define CLASSES 10
#define STEPS 3
#define N_PARAMS 65082 /* TC-ResNet8 for 40 bands and 10 classes */

_Static_assert(sizeof(sl_real) == sizeof(float), "the fixtures are float32, as the library's sl_real");

static const int k_labels[BATCH] = {3, 7, 0, 9};

/* examples/fsdd.yaml's model: section (data.root is required by the loader and not used here) */
static const char k_yaml[] = "data:\n  root: unused\n"
                             "model:\n  arch: tc-resnet\n  widths: [16, 24, 32, 48]\n  kernel: 9\n  stem_kernel: 3\n"
                             "train:\n  optimizer: adam\n  lr: 0.001\n  weight_decay: 0\n";

static float *load_fixture(const char *name, size_t count) { return sl_test_fixture("nn", name, count); }

/* ---- the starting values: the formula of tools/make_nn_fixtures.py ---------------------------- */

/* Wellons' "lowbias32" integer hash over 2^32: uniform in [0, 1), exact in double. */
static double hash01(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return (double)x / 4294967296.0;
}

/* i is the flat index in the net's parameter block. Conv and dense weights U(+-1/sqrt(fan_in)) by
 * hash; batch-norm gamma 1 + 0.1 sin i, beta and biases 0.1 cos i. */
static void fill_params(const sl_graph *g, sl_real *p)
{
    for (size_t k = 1; k < sl_graph_count(g); k++) {
        const sl_node *nd = sl_graph_node(g, k);
        const sl_shape *in = &sl_graph_node(g, (size_t)nd->in[0])->shape;
        size_t off = nd->param_off, nw = 0, fan = 1;
        if (nd->op == SL_OP_CONV1D) {
            fan = in->d[0] / nd->groups * nd->kernel;
            nw = nd->n_params - (nd->bias ? nd->c_out : 0);
        } else if (nd->op == SL_OP_DENSE) {
            fan = sl_shape_size(in);
            nw = nd->n_params - nd->units;
        } else if (nd->op == SL_OP_BATCHNORM) {
            size_t c = nd->n_params / 2;
            for (size_t j = 0; j < c; j++) {
                p[off + j] = (sl_real)(1.0 + 0.1 * sin((double)(off + j)));
                p[off + c + j] = (sl_real)(0.1 * cos((double)(off + c + j)));
            }
            continue;
        } else {
            assert_int_equal(nd->n_params, 0);
            continue;
        }
        for (size_t j = 0; j < nw; j++)
            p[off + j] = (sl_real)((2.0 * hash01((uint32_t)(off + j)) - 1.0) / sqrt((double)fan));
        for (size_t j = nw; j < nd->n_params; j++) p[off + j] = (sl_real)(0.1 * cos((double)(off + j)));
    }
}

/* ---- the setup: graph, net, fixtures ---------------------------------------------------------- */

typedef struct {
    sl_config cfg;
    sl_graph *g;
    sl_net *net;
    float *input, *logits, *losses, *grads, *params3, *state3;
    size_t n_params, n_state;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    if (sl_config_parse(&f->cfg, k_yaml, strlen(k_yaml), "parity.yaml", NULL, NULL, 0) != SL_OK)
        fail_msg("%s", sl_last_error());
    sl_shape in = {.rank = 2, .d = {BANDS, FRAMES}};
    if (sl_model_build(&f->cfg.model, &in, CLASSES, &f->g) != SL_OK) fail_msg("%s", sl_last_error());
    f->n_params = sl_graph_n_params(f->g);
    f->n_state = sl_graph_n_state(f->g);
    assert_int_equal(f->n_params, N_PARAMS);
    if (sl_net_new(&f->net, f->g, BATCH) != SL_OK) fail_msg("%s", sl_last_error());
    f->input = load_fixture("input.f32", (size_t)BATCH * BANDS * FRAMES);
    f->logits = load_fixture("logits.f32", (size_t)BATCH * CLASSES);
    f->losses = load_fixture("losses.f32", STEPS);
    f->grads = load_fixture("grads.f32", f->n_params);
    f->params3 = load_fixture("params_step3.f32", f->n_params);
    f->state3 = load_fixture("state_step3.f32", f->n_state);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sl_net_free(f->net);
    sl_graph_free(f->g);
    sl_config_free(&f->cfg);
    free(f->input);
    free(f->logits);
    free(f->losses);
    free(f->grads);
    free(f->params3);
    free(f->state3);
    free(f);
    return 0;
}

/* Fresh starting values: formula parameters, running mean 0 and var 1, zero gradients. */
static void reset(fixture *f)
{
    sl_net_init(f->net, 0); /* for the running statistics; the parameters are overwritten */
    fill_params(f->g, sl_net_params(f->net));
    sl_net_zero_grads(f->net);
}

/* One training forward, the loss and the backward into zeroed gradients. */
static double forward_backward(fixture *f, const sl_real **logits)
{
    sl_real dlogits[BATCH * CLASSES];
    double loss;
    if (sl_net_forward(f->net, f->input, BATCH, 1, logits) != SL_OK) fail_msg("%s", sl_last_error());
    if (sl_softmax_ce(*logits, k_labels, BATCH, CLASSES, 0, NULL, &loss, dlogits) != SL_OK)
        fail_msg("%s", sl_last_error());
    sl_net_zero_grads(f->net);
    if (sl_net_backward(f->net, dlogits, NULL) != SL_OK) fail_msg("%s", sl_last_error());
    return loss;
}

/* ||a - b|| / ||b|| over n values (b may be a difference of two vectors: b = b1 - b0). */
static double rel_err(const float *a, const float *a0, const float *b, const float *b0, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)a[i] - (a0 ? (double)a0[i] : 0), y = (double)b[i] - (b0 ? (double)b0[i] : 0);
        num += (x - y) * (x - y);
        den += y * y;
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Per node with parameters (or running state): the relative error; prints the worst, fails above
 * tol naming the node. */
static void compare_nodes(const char *what, const sl_graph *g, int state, const float *got, const float *got0,
                          const float *want, const float *want0, double tol)
{
    double worst = -1;
    const char *at = "";
    size_t nodes = 0;
    for (size_t k = 1; k < sl_graph_count(g); k++) {
        const sl_node *nd = sl_graph_node(g, k);
        size_t off = state ? nd->state_off : nd->param_off, n = state ? nd->n_state : nd->n_params;
        if (n == 0) continue;
        nodes++;
        double e = rel_err(got + off, got0 ? got0 + off : NULL, want + off, want0 ? want0 + off : NULL, n);
        if (!(e <= worst)) {
            worst = e;
            at = nd->name;
        }
    }
    printf("  %s: worst ||error|| / ||reference|| over %zu nodes %.2e at %s (tolerance %.0e)\n", what, nodes, worst,
           at, tol);
    if (!(worst <= tol)) fail_msg("%s: node %s: relative error %g above tolerance %g", what, at, worst, tol);
}

static void compare_rel(const char *what, double got, double want, double tol)
{
    double e = fabs(got - want) / fabs(want);
    printf("  %s: %.6f, PyTorch %.6f: relative error %.2e (tolerance %.0e)\n", what, got, want, e, tol);
    if (!(e <= tol)) fail_msg("%s: %.9g, want %.9g: relative error %g above tolerance %g", what, got, want, e, tol);
}

/* ---- the tests ------------------------------------------------------------------------------- */

static void test_graph_is_tc_resnet8(void **state)
{
    fixture *f = *state;
    /* the layout the fixtures are in: stem, 3 stages of (conv1, bn1, conv2, bn2, short,
     * short_bn), dense, with these parameter counts */
    static const struct {
        const char *name;
        size_t n;
    } want[] = {{"stem", 16 * 40 * 3},           {"stem_bn", 32},
                {"s1_b1_conv1", 24 * 16 * 9},    {"s1_b1_bn1", 48},
                {"s1_b1_conv2", 24 * 24 * 9},    {"s1_b1_bn2", 48},
                {"s1_b1_short", 24 * 16},        {"s1_b1_short_bn", 48},
                {"s2_b1_conv1", 32 * 24 * 9},    {"s2_b1_bn1", 64},
                {"s2_b1_conv2", 32 * 32 * 9},    {"s2_b1_bn2", 64},
                {"s2_b1_short", 32 * 24},        {"s2_b1_short_bn", 64},
                {"s3_b1_conv1", 48 * 32 * 9},    {"s3_b1_bn1", 96},
                {"s3_b1_conv2", 48 * 48 * 9},    {"s3_b1_bn2", 96},
                {"s3_b1_short", 48 * 32},        {"s3_b1_short_bn", 96},
                {"logits", 10 * 48 + 10}};
    size_t j = 0, off = 0;
    for (size_t k = 1; k < sl_graph_count(f->g); k++) {
        const sl_node *nd = sl_graph_node(f->g, k);
        if (nd->n_params == 0) continue;
        assert_true(j < sizeof want / sizeof *want);
        assert_string_equal(nd->name, want[j].name);
        assert_int_equal(nd->n_params, want[j].n);
        assert_int_equal(nd->param_off, off);
        off += nd->n_params;
        j++;
    }
    assert_int_equal(j, sizeof want / sizeof *want);
    assert_int_equal(off, N_PARAMS);
    assert_int_equal(f->n_state, 2 * (16 + 3 * 24 + 3 * 32 + 3 * 48));
    const sl_node *last = sl_graph_node(f->g, sl_graph_count(f->g) - 1);
    assert_int_equal(last->shape.rank, 1);
    assert_int_equal(last->shape.d[0], CLASSES);
}

static void test_logits_and_loss(void **state)
{
    fixture *f = *state;
    reset(f);
    const sl_real *logits;
    double loss = forward_backward(f, &logits);
    double worst = 0, scale = 0;
    size_t at = 0;
    for (size_t i = 0; i < BATCH * CLASSES; i++) {
        double e = fabs((double)logits[i] - (double)f->logits[i]);
        if (!(e <= worst)) {
            worst = e;
            at = i;
        }
        scale = fmax(scale, fabs((double)f->logits[i]));
    }
    printf("  logits: max |error| / max |PyTorch| %.2e (tolerance 1e-04) at [%zu, %zu]: %.6f, PyTorch %.6f\n",
           worst / scale, at / CLASSES, at % CLASSES, (double)logits[at], (double)f->logits[at]);
    if (!(worst <= 1e-4 * scale)) fail_msg("logits: error %g of max %g above 1e-4 relative", worst, scale);
    compare_rel("loss", loss, f->losses[0], 1e-4);
}

static void test_gradients(void **state)
{
    fixture *f = *state;
    reset(f);
    const sl_real *logits;
    forward_backward(f, &logits);
    compare_nodes("gradients", f->g, 0, sl_net_grads(f->net), NULL, f->grads, NULL, 1e-3);
}

/* The convolutions spread over two threads (sl_net_set_threads): the same gradients. */
static void test_gradients_two_threads(void **state)
{
    fixture *f = *state;
    if (sl_net_set_threads(f->net, 2) != SL_OK) fail_msg("%s", sl_last_error());
    reset(f);
    const sl_real *logits;
    double loss = forward_backward(f, &logits);
    compare_rel("loss, two threads", loss, f->losses[0], 1e-4);
    compare_nodes("gradients, two threads", f->g, 0, sl_net_grads(f->net), NULL, f->grads, NULL, 1e-3);
    if (sl_net_set_threads(f->net, 1) != SL_OK) fail_msg("%s", sl_last_error());
}

static void test_three_adam_steps(void **state)
{
    fixture *f = *state;
    reset(f);
    size_t n = f->n_params;
    float *p0 = malloc(n * sizeof *p0);
    assert_non_null(p0);
    memcpy(p0, sl_net_params(f->net), n * sizeof *p0);
    sl_train_config t = f->cfg.train;
    assert_int_equal(t.optimizer, 0); /* adam */
    assert_true(t.lr == 1e-3 && t.weight_decay == 0);
    sl_optim *o;
    if (sl_optim_new(&o, &t, n) != SL_OK) fail_msg("%s", sl_last_error());
    for (int step = 0; step < STEPS; step++) {
        const sl_real *logits;
        double loss = forward_backward(f, &logits);
        char what[64];
        snprintf(what, sizeof what, "loss of step %d", step + 1);
        compare_rel(what, loss, f->losses[step], 1e-4);
        sl_optim_step(o, sl_net_params(f->net), sl_net_grads(f->net), t.lr);
    }
    const float *p3 = sl_net_params(f->net);
    compare_nodes("weights after 3 steps", f->g, 0, p3, NULL, f->params3, NULL, 1e-4);
    compare_nodes("change of the weights in 3 steps", f->g, 0, p3, p0, f->params3, p0, 1e-2);
    compare_nodes("running mean and var after 3 forwards", f->g, 1, sl_net_state(f->net), NULL, f->state3, NULL,
                  1e-4);
    sl_optim_free(o);
    free(p0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_is_tc_resnet8),
        cmocka_unit_test(test_logits_and_loss),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_gradients_two_threads),
        cmocka_unit_test(test_three_adam_steps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
