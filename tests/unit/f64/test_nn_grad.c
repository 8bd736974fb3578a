/* Every op's gradient, and whole residual blocks, against central finite differences in double
 * precision. The loss is L = sum(r * y) for a fixed random probe r, so dL/dy = r; each parameter
 * and input is nudged by +-h and (L+ - L-) / 2h compared with the analytic gradient. Inputs are
 * random, so a ReLU kink within h of a value has probability ~1e-6 per value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigloop/nn.h"
#include "sigloop/rng.h"

#define H 1e-6

static double probe_loss(sl_net *net, const double *x, size_t n, const double *r, size_t ny)
{
    const double *y;
    sl_net_set_noise(net, 7, 3); /* one dropout mask for every evaluation */
    assert_int_equal(sl_net_forward(net, x, n, 1, &y), SL_OK);
    double l = 0;
    for (size_t i = 0; i < ny; i++) l += r[i] * y[i];
    return l;
}

/* Checks d(probe)/d(params) and d(probe)/d(input) for graph g on a batch of n, with the kernels on
 * `threads` threads. */
static void check_threads(const char *what, sl_graph *g, size_t n, uint64_t seed, int threads)
{
    if (sl_graph_status(g) != SL_OK) fail_msg("%s: %s", what, sl_last_error());
    sl_net *net;
    assert_int_equal(sl_net_new(&net, g, n), SL_OK);
    assert_int_equal(sl_net_set_threads(net, threads), SL_OK);
    sl_net_init(net, seed);
    sl_rng rng = sl_rng_make(seed, 99);
    size_t np = sl_graph_n_params(g);
    double *p = sl_net_params(net);
    for (size_t i = 0; i < np; i++) p[i] += 0.3 * sl_rng_normal(&rng); /* off the tidy initial values */
    size_t nx = n * sl_shape_size(&sl_graph_node(g, 0)->shape);
    size_t ny = n * sl_shape_size(&sl_graph_node(g, sl_graph_count(g) - 1)->shape);
    double *x = malloc(nx * sizeof *x), *r = malloc(ny * sizeof *r), *dx = malloc(nx * sizeof *dx);
    for (size_t i = 0; i < nx; i++) x[i] = sl_rng_normal(&rng);
    for (size_t i = 0; i < ny; i++) r[i] = sl_rng_normal(&rng);
    /* batch norm's running statistics move with every training forward; they do not enter the
     * training output, so the finite differences are unaffected */
    const double *y;
    sl_net_set_noise(net, 7, 3);
    assert_int_equal(sl_net_forward(net, x, n, 1, &y), SL_OK);
    sl_net_zero_grads(net);
    assert_int_equal(sl_net_backward(net, r, dx), SL_OK);
    double *grad = malloc((np + 1) * sizeof *grad);
    memcpy(grad, sl_net_grads(net), np * sizeof *grad);
    double worst = 0;
    for (size_t i = 0; i < np; i++) {
        double keep = p[i];
        p[i] = keep + H;
        double lp = probe_loss(net, x, n, r, ny);
        p[i] = keep - H;
        double lm = probe_loss(net, x, n, r, ny);
        p[i] = keep;
        double fd = (lp - lm) / (2 * H);
        worst = fmax(worst, fabs(fd - grad[i]) / fmax(1.0, fabs(fd)));
    }
    double worst_x = 0;
    for (size_t i = 0; i < nx; i++) {
        double keep = x[i];
        x[i] = keep + H;
        double lp = probe_loss(net, x, n, r, ny);
        x[i] = keep - H;
        double lm = probe_loss(net, x, n, r, ny);
        x[i] = keep;
        double fd = (lp - lm) / (2 * H);
        worst_x = fmax(worst_x, fabs(fd - dx[i]) / fmax(1.0, fabs(fd)));
    }
    printf("  %-44s %5zu params: max relative error %.1e (parameters), %.1e (input); tolerance 1e-6\n", what, np,
           worst, worst_x);
    if (!(worst < 1e-6 && worst_x < 1e-6)) fail_msg("%s: gradient mismatch", what);
    free(x);
    free(r);
    free(dx);
    free(grad);
    sl_net_free(net);
    sl_graph_free(g);
}

static void check(const char *what, sl_graph *g, size_t n, uint64_t seed) { check_threads(what, g, n, seed, 1); }

static sl_graph *graph_ct(size_t c, size_t t)
{
    sl_graph *g;
    sl_shape s = {.rank = 2, .d = {c, t}};
    assert_int_equal(sl_graph_new(&g, &s), SL_OK);
    return g;
}

static sl_graph *graph_chw(size_t c, size_t h, size_t w)
{
    sl_graph *g;
    sl_shape s = {.rank = 3, .d = {c, h, w}};
    assert_int_equal(sl_graph_new(&g, &s), SL_OK);
    return g;
}

static void test_conv2d(void **state)
{
    (void)state;
    sl_graph *g = graph_chw(2, 6, 7);
    sl_graph_conv2d(g, 0, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, NULL);
    check("conv2d 3x3 pad 1", g, 2, 40);
    g = graph_chw(2, 9, 8);
    sl_graph_conv2d(g, 0, 3, 4, 2, 2, 3, 2, 0, 1, 1, 1, 1, NULL);
    check("conv2d 4x2 stride (2, 3) pad (2, 0)", g, 2, 41);
    g = graph_chw(2, 9, 10);
    sl_graph_conv2d(g, 0, 3, 3, 2, 1, 2, 2, 1, 2, 3, 1, 1, NULL);
    check("conv2d 3x2 stride (1, 2) pad (2, 1) dilation (2, 3)", g, 2, 48);
    g = graph_chw(3, 8, 9);
    sl_graph_conv2d(g, 0, 3, 3, 3, 1, 2, 2, 1, 2, 1, 3, 0, NULL);
    check("conv2d depthwise 3x3, dilation (2, 1)", g, 2, 42);
    g = graph_chw(4, 5, 6);
    sl_graph_conv2d(g, 0, 6, 3, 1, 2, 1, 0, 0, 1, 1, 2, 1, NULL);
    check("conv2d 2 groups 3x1 stride (2, 1)", g, 2, 43);
    g = graph_chw(3, 5, 7);
    sl_graph_conv2d(g, 0, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, NULL);
    check("conv2d 1x1 (pointwise)", g, 3, 44);
    g = graph_chw(3, 7, 7);
    sl_graph_conv2d(g, 0, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1, 0, NULL);
    check("conv2d 1x1 stride 2 (a shortcut)", g, 2, 45);
    g = graph_chw(2, 6, 7);
    sl_graph_conv2d(g, 0, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, NULL);
    check_threads("conv2d 3x3 on 2 threads, batch of 5", g, 5, 46, 2);
    g = graph_chw(3, 6, 5);
    sl_graph_conv2d(g, 0, 3, 3, 3, 2, 1, 1, 1, 1, 1, 3, 1, NULL);
    check_threads("conv2d depthwise on 2 threads, batch of 3", g, 3, 47, 2);
}

static void test_2d_ops(void **state)
{
    (void)state;
    sl_graph *g = graph_chw(3, 4, 5);
    sl_graph_batchnorm(g, 0, NULL);
    check("batch norm on (C, H, W)", g, 3, 50);
    g = graph_chw(3, 4, 5);
    sl_graph_gap(g, 0, NULL);
    check("global average pooling on (C, H, W)", g, 2, 51);
    g = graph_chw(2, 4, 5);
    int a = sl_graph_conv2d(g, 0, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, NULL);
    int parts[2] = {0, a};
    int c = sl_graph_concat(g, parts, 2, NULL);
    int f = sl_graph_flatten(g, c, NULL);
    sl_graph_dense(g, f, 3, NULL);
    check("concat on (C, H, W) + flatten + dense", g, 2, 52);
    g = graph_chw(2, 7, 8);
    sl_graph_maxpool(g, 0, 3, 2, NULL);
    check("max pooling 3x3 stride 2 on (C, H, W)", g, 2, 56);
    g = graph_chw(2, 6, 7);
    sl_graph_avgpool(g, 0, 2, 2, NULL);
    check("average pooling 2x2 stride 2 on (C, H, W)", g, 2, 57);
    g = graph_ct(3, 9);
    sl_graph_dropout(g, 0, 0.4, NULL);
    check("dropout 0.4 (one mask)", g, 3, 53);
    g = graph_chw(2, 3, 4);
    int d = sl_graph_dropout(g, 0, 0.5, NULL);
    d = sl_graph_conv2d(g, d, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, NULL);
    check_threads("dropout 0.5 then conv2d on 2 threads", g, 3, 54, 2);
}

/* A ResNet-8 block in 2-D: conv3x3 stride 2 - bn - relu - conv3x3 - bn, plus a 1x1 stride-2
 * conv-bn shortcut, added, relu; then global pooling and dense. */
static void test_residual_block_2d(void **state)
{
    (void)state;
    sl_graph *g = graph_chw(2, 7, 8);
    int x = sl_graph_conv2d(g, 0, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, "conv_a");
    x = sl_graph_batchnorm(g, x, "bn_a");
    x = sl_graph_relu(g, x, "relu_a");
    x = sl_graph_conv2d(g, x, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, "conv_b");
    x = sl_graph_batchnorm(g, x, "bn_b");
    int sc = sl_graph_conv2d(g, 0, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1, 0, "short");
    sc = sl_graph_batchnorm(g, sc, "short_bn");
    x = sl_graph_add(g, x, sc, "add");
    x = sl_graph_relu(g, x, "relu_out");
    x = sl_graph_gap(g, x, "pool");
    sl_graph_dense(g, x, 3, "logits");
    check("2-D residual block (stride 2, 1x1 shortcut)", g, 3, 55);
}

/* conv2d's forward against the definition written as plain loops (PyTorch's Conv2d), for a
 * grouped, strided, dilated, padded case and the GEMM path. */
static void conv2d_reference(size_t ci, size_t h, size_t w, size_t co, size_t kh, size_t kw, size_t sh, size_t sw,
                             size_t ph, size_t pw, size_t dh, size_t dw, size_t groups)
{
    sl_graph *g = graph_chw(ci, h, w);
    int id = sl_graph_conv2d(g, 0, co, kh, kw, sh, sw, ph, pw, dh, dw, groups, 1, NULL);
    assert_true(id > 0);
    const sl_node *nd = sl_graph_node(g, (size_t)id);
    size_t ho = nd->shape.d[1], wo = nd->shape.d[2], n = 2;
    sl_net *net;
    assert_int_equal(sl_net_new(&net, g, n), SL_OK);
    sl_net_init(net, 3);
    double *p = sl_net_params(net);
    sl_rng rng = sl_rng_make(3, 1);
    for (size_t i = 0; i < sl_graph_n_params(g); i++) p[i] = sl_rng_normal(&rng);
    double *x = malloc(n * ci * h * w * sizeof *x);
    for (size_t i = 0; i < n * ci * h * w; i++) x[i] = sl_rng_normal(&rng);
    const double *y;
    assert_int_equal(sl_net_forward(net, x, n, 0, &y), SL_OK);
    size_t cig = ci / groups, cog = co / groups;
    const double *b = p + co * cig * kh * kw;
    double worst = 0;
    for (size_t e = 0; e < n; e++)
        for (size_t o = 0; o < co; o++)
            for (size_t oh = 0; oh < ho; oh++)
                for (size_t ow = 0; ow < wo; ow++) {
                    double acc = b[o];
                    for (size_t c = 0; c < cig; c++)
                        for (size_t i = 0; i < kh; i++)
                            for (size_t j = 0; j < kw; j++) {
                                long ih = (long)(oh * sh + i * dh) - (long)ph, iw = (long)(ow * sw + j * dw) - (long)pw;
                                if (ih < 0 || iw < 0 || ih >= (long)h || iw >= (long)w) continue;
                                size_t cin = (o / cog) * cig + c;
                                acc += p[((o * cig + c) * kh + i) * kw + j] *
                                       x[((e * ci + cin) * h + (size_t)ih) * w + (size_t)iw];
                            }
                    worst = fmax(worst, fabs(acc - y[((e * co + o) * ho + oh) * wo + ow]));
                }
    printf("  conv2d %zux%zu stride %zux%zu pad %zux%zu dil %zux%zu groups %zu vs loops: max error %.1e\n", kh, kw, sh,
           sw, ph, pw, dh, dw, groups, worst);
    assert_true(worst < 1e-12);
    free(x);
    sl_net_free(net);
    sl_graph_free(g);
}

/* A conv2d the size of ResNet-8 2-D's (many tiles on the grid): forward against the loops, and
 * backward by the adjoint identities of a bias-free convolution, which is linear in x and in w:
 * <dy, y> = <dx, x> = <dw, w>. */
static void conv2d_adjoint(size_t ci, size_t h, size_t w, size_t co, size_t k, size_t stride, int threads)
{
    conv2d_reference(ci, h, w, co, k, k, stride, stride, k / 2, k / 2, 1, 1, 1);
    sl_graph *g = graph_chw(ci, h, w);
    int id = sl_graph_conv2d(g, 0, co, k, k, stride, stride, k / 2, k / 2, 1, 1, 1, 0, NULL);
    size_t n = 3, nx = n * ci * h * w, ny = n * sl_shape_size(&sl_graph_node(g, (size_t)id)->shape);
    sl_net *net;
    assert_int_equal(sl_net_new(&net, g, n), SL_OK);
    assert_int_equal(sl_net_set_threads(net, threads), SL_OK);
    sl_net_init(net, 5);
    sl_rng rng = sl_rng_make(5, 5);
    double *x = malloc(nx * sizeof *x), *dy = malloc(ny * sizeof *dy), *dx = malloc(nx * sizeof *dx);
    for (size_t i = 0; i < nx; i++) x[i] = sl_rng_normal(&rng);
    for (size_t i = 0; i < ny; i++) dy[i] = sl_rng_normal(&rng);
    const double *y;
    assert_int_equal(sl_net_forward(net, x, n, 1, &y), SL_OK);
    double yy = 0, xx = 0, ww = 0;
    for (size_t i = 0; i < ny; i++) yy += y[i] * dy[i];
    sl_net_zero_grads(net);
    assert_int_equal(sl_net_backward(net, dy, dx), SL_OK);
    for (size_t i = 0; i < nx; i++) xx += x[i] * dx[i];
    for (size_t i = 0; i < sl_graph_n_params(g); i++) ww += sl_net_params(net)[i] * sl_net_grads(net)[i];
    printf("  conv2d %zux%zux%zu k%zu stride %zu, %d thread(s): <dy,y> %.9g <dx,x> %.9g <dw,w> %.9g\n", ci, h, w, k,
           stride, threads, yy, xx, ww);
    assert_true(fabs(yy - xx) < 1e-9 * (1 + fabs(yy)));
    assert_true(fabs(yy - ww) < 1e-9 * (1 + fabs(yy)));
    free(x);
    free(dy);
    free(dx);
    sl_net_free(net);
    sl_graph_free(g);
}

static void test_conv2d_reference(void **state)
{
    (void)state;
    conv2d_adjoint(8, 21, 60, 4, 3, 1, 1);
    conv2d_adjoint(16, 40, 98, 8, 3, 1, 2);
    conv2d_adjoint(16, 40, 98, 8, 3, 2, 2);
    conv2d_reference(3, 9, 10, 4, 3, 4, 2, 1, 1, 2, 1, 2, 1);
    conv2d_reference(4, 8, 7, 6, 3, 3, 1, 2, 2, 1, 2, 1, 2);
    conv2d_reference(3, 7, 7, 3, 3, 3, 2, 2, 1, 1, 1, 1, 3);
    conv2d_reference(2, 5, 6, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1);
}

/* The element-wise ops and batch norm split large tensors over the pool (by ranges and by
 * channels): the results must be bit-identical to one thread's. */
static void test_split_ops_identical(void **state)
{
    (void)state;
    sl_graph *g = graph_chw(8, 40, 98);
    int x = sl_graph_batchnorm(g, 0, "bn");
    x = sl_graph_relu(g, x, "relu");
    x = sl_graph_add(g, x, 0, "add");
    x = sl_graph_gap(g, x, "pool");
    sl_graph_dense(g, x, 3, "logits");
    size_t n = 4, nx = n * 8 * 40 * 98, np = sl_graph_n_params(g);
    double *x0 = malloc(nx * sizeof *x0), *dx[2], *gr[2], *out[2], r[12];
    sl_rng rng = sl_rng_make(8, 8);
    for (size_t i = 0; i < nx; i++) x0[i] = sl_rng_normal(&rng);
    for (size_t i = 0; i < 12; i++) r[i] = sl_rng_normal(&rng);
    for (int k = 0; k < 2; k++) {
        sl_net *net;
        assert_int_equal(sl_net_new(&net, g, n), SL_OK);
        assert_int_equal(sl_net_set_threads(net, k + 1), SL_OK);
        sl_net_init(net, 4);
        const double *y;
        assert_int_equal(sl_net_forward(net, x0, n, 1, &y), SL_OK);
        out[k] = malloc(12 * sizeof *out[k]);
        memcpy(out[k], y, 12 * sizeof *y);
        sl_net_zero_grads(net);
        dx[k] = malloc(nx * sizeof *dx[k]);
        assert_int_equal(sl_net_backward(net, r, dx[k]), SL_OK);
        gr[k] = malloc(np * sizeof *gr[k]);
        memcpy(gr[k], sl_net_grads(net), np * sizeof *gr[k]);
        sl_net_free(net);
    }
    assert_memory_equal(out[0], out[1], 12 * sizeof *out[0]);
    assert_memory_equal(gr[0], gr[1], np * sizeof *gr[0]);
    assert_memory_equal(dx[0], dx[1], nx * sizeof *dx[0]);
    for (int k = 0; k < 2; k++) free(out[k]), free(dx[k]), free(gr[k]);
    free(x0);
    sl_graph_free(g);
}

/* A single example is a block of one row on the grid engine, a batch of three one of three rows:
 * both must give the same values for the same example. */
static void test_conv1d_single_example(void **state)
{
    (void)state;
    static const size_t cfg[][6] = {/* c_out, k, stride, pad, dilation, t */
                                    {5, 9, 1, 4, 1, 49}, {4, 9, 2, 4, 1, 98}, {3, 3, 3, 2, 2, 17}, {6, 1, 2, 0, 1, 13}};
    for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
        sl_graph *g = graph_ct(3, cfg[c][5]);
        int id = sl_graph_conv1d(g, 0, cfg[c][0], cfg[c][1], cfg[c][2], cfg[c][3], cfg[c][4], 1, 1, NULL);
        assert_true(id > 0);
        size_t nx = 3 * cfg[c][5], ny = sl_shape_size(&sl_graph_node(g, (size_t)id)->shape);
        sl_net *one, *three;
        assert_int_equal(sl_net_new(&one, g, 1), SL_OK);
        assert_int_equal(sl_net_new(&three, g, 3), SL_OK);
        sl_net_init(one, 9);
        sl_rng rng = sl_rng_make(9, 9);
        for (size_t i = 0; i < sl_graph_n_params(g); i++) sl_net_params(one)[i] = sl_rng_normal(&rng);
        memcpy(sl_net_params(three), sl_net_params(one), sl_graph_n_params(g) * sizeof(double));
        double *x = malloc(3 * nx * sizeof *x), *yb = malloc(3 * ny * sizeof *yb);
        for (size_t i = 0; i < 3 * nx; i++) x[i] = sl_rng_normal(&rng);
        const double *y;
        assert_int_equal(sl_net_forward(three, x, 3, 0, &y), SL_OK);
        memcpy(yb, y, 3 * ny * sizeof *y);
        double worst = 0;
        for (size_t e = 0; e < 3; e++) {
            assert_int_equal(sl_net_forward(one, x + e * nx, 1, 0, &y), SL_OK);
            for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs(y[i] - yb[e * ny + i]));
        }
        printf("  conv1d k%zu stride %zu pad %zu dilation %zu: one example vs batch, max difference %.1e\n",
               cfg[c][1], cfg[c][2], cfg[c][3], cfg[c][4], worst);
        assert_true(worst < 1e-12);
        free(x);
        free(yb);
        sl_net_free(one);
        sl_net_free(three);
        sl_graph_free(g);
    }
}

/* The three weight initialisations on a conv1d (16 -> 32, k9, bias) and a dense layer
 * (288 -> 40): PyTorch's stays within 1/sqrt(fan_in), biases too; Kaiming's standard deviation is
 * sqrt(2 / fan_in); Xavier's values fill +-sqrt(6 / (fan_in + fan_out)); both zero the biases. */
static void test_init_modes(void **state)
{
    (void)state;
    sl_graph *g = graph_ct(16, 20);
    int c = sl_graph_conv1d(g, 0, 32, 9, 1, 4, 1, 1, 1, "conv");
    int f = sl_graph_flatten(g, c, "flat");
    sl_graph_dense(g, f, 40, "dense");
    sl_net *net;
    assert_int_equal(sl_net_new(&net, g, 1), SL_OK);
    const size_t conv_w = 32 * 16 * 9, dense_w = 40 * 640;
    const size_t conv_off = sl_graph_node(g, (size_t)c)->param_off, dense_off = sl_graph_node(g, 3)->param_off;
    for (int how = 0; how < 3; how++) {
        sl_net_init_with(net, 11, (sl_init)how);
        const double *p = sl_net_params(net);
        struct { size_t off, nw, fi, fo, nb; } layer[2] = {{conv_off, conv_w, 144, 288, 32},
                                                           {dense_off, dense_w, 640, 40, 40}};
        for (int l = 0; l < 2; l++) {
            double mx = 0, ss = 0, bmax = 0;
            for (size_t k = 0; k < layer[l].nw; k++) {
                mx = fmax(mx, fabs(p[layer[l].off + k]));
                ss += p[layer[l].off + k] * p[layer[l].off + k];
            }
            for (size_t k = 0; k < layer[l].nb; k++) bmax = fmax(bmax, fabs(p[layer[l].off + layer[l].nw + k]));
            double sd = sqrt(ss / (double)layer[l].nw);
            double pt = 1 / sqrt((double)layer[l].fi), xv = sqrt(6.0 / (double)(layer[l].fi + layer[l].fo));
            printf("  init %d layer %d: max %.4f sd %.4f bias max %.4f\n", how, l, mx, sd, bmax);
            if (how == SL_INIT_PYTORCH) {
                assert_true(mx <= pt && mx > 0.95 * pt && bmax <= pt && bmax > 0);
            } else if (how == SL_INIT_KAIMING) {
                assert_true(fabs(sd / sqrt(2.0 / (double)layer[l].fi) - 1) < 0.05 && bmax == 0);
            } else {
                assert_true(mx <= xv && mx > 0.95 * xv && bmax == 0);
            }
        }
    }
    sl_net_free(net);
    sl_graph_free(g);
}

/* The masks: the share dropped is near the rate, kept values are scaled by 1 / (1 - rate),
 * inference is the identity, the same (seed, step) gives the same mask and another step another. */
static void test_dropout_masks(void **state)
{
    (void)state;
    sl_graph *g = graph_ct(4, 250);
    sl_graph_dropout(g, 0, 0.25, NULL);
    sl_net *net;
    assert_int_equal(sl_net_new(&net, g, 2), SL_OK);
    sl_net_init(net, 1);
    size_t n = 2 * 4 * 250;
    double *x = malloc(n * sizeof *x), *y1 = malloc(n * sizeof *y1);
    for (size_t i = 0; i < n; i++) x[i] = 1.0 + (double)i;
    const double *y;
    assert_int_equal(sl_net_forward(net, x, 2, 0, &y), SL_OK);
    for (size_t i = 0; i < n; i++) assert_true(y[i] == x[i]);
    sl_net_set_noise(net, 5, 9);
    assert_int_equal(sl_net_forward(net, x, 2, 1, &y), SL_OK);
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == 0) dropped++;
        else assert_true(fabs(y[i] - x[i] / 0.75) < 1e-9 * x[i]);
    }
    assert_in_range(dropped, 440, 560); /* 500 expected, sd 19 */
    memcpy(y1, y, n * sizeof *y1);
    sl_net_set_noise(net, 5, 9);
    assert_int_equal(sl_net_forward(net, x, 2, 1, &y), SL_OK);
    assert_memory_equal(y, y1, n * sizeof *y);
    assert_int_equal(sl_net_forward(net, x, 2, 1, &y), SL_OK); /* step 10 now */
    assert_memory_not_equal(y, y1, n * sizeof *y);
    free(x);
    free(y1);
    sl_net_free(net);
    sl_graph_free(g);
}

static void test_conv1d(void **state)
{
    (void)state;
    sl_graph *g = graph_ct(3, 11);
    sl_graph_conv1d(g, 0, 4, 3, 1, 1, 1, 1, 1, NULL);
    check("conv1d k3 pad 1", g, 2, 1);
    g = graph_ct(3, 13);
    sl_graph_conv1d(g, 0, 5, 4, 2, 2, 1, 1, 1, NULL);
    check("conv1d k4 stride 2 pad 2", g, 3, 2);
    g = graph_ct(4, 12);
    sl_graph_conv1d(g, 0, 4, 3, 1, 2, 2, 4, 0, NULL);
    check("conv1d depthwise, dilation 2, no bias", g, 2, 3);
    g = graph_ct(6, 9);
    sl_graph_conv1d(g, 0, 4, 3, 3, 0, 1, 2, 1, NULL);
    check("conv1d 2 groups, stride 3", g, 2, 4);
    g = graph_ct(5, 7);
    sl_graph_conv1d(g, 0, 3, 1, 2, 0, 1, 1, 0, NULL);
    check("conv1d 1x1 stride 2 (a shortcut)", g, 2, 5);
    g = graph_ct(3, 17);
    sl_graph_conv1d(g, 0, 4, 3, 3, 2, 2, 1, 1, NULL);
    check("conv1d k3 stride 3 pad 2 dilation 2", g, 2, 12);
    g = graph_ct(3, 16);
    sl_graph_conv1d(g, 0, 4, 5, 2, 2, 1, 1, 0, NULL);
    check_threads("conv1d k5 stride 2 on 2 threads, batch of 5", g, 5, 13, 2);
}

static void test_small_ops(void **state)
{
    (void)state;
    sl_graph *g = graph_ct(3, 8);
    sl_graph_batchnorm(g, 0, NULL);
    check("batch norm (training statistics)", g, 4, 6);
    g = graph_ct(3, 8);
    sl_graph_relu(g, 0, NULL);
    check("relu", g, 2, 7);
    g = graph_ct(3, 8);
    int a = sl_graph_conv1d(g, 0, 3, 3, 1, 1, 1, 1, 1, NULL);
    sl_graph_add(g, a, 0, NULL);
    check("add (conv + identity)", g, 2, 8);
    g = graph_ct(3, 8);
    sl_graph_gap(g, 0, NULL);
    check("global average pooling", g, 2, 9);
    sl_shape v = {.rank = 1, .d = {6}};
    assert_int_equal(sl_graph_new(&g, &v), SL_OK);
    sl_graph_dense(g, 0, 4, NULL);
    check("dense", g, 3, 10);
    assert_int_equal(sl_graph_new(&g, &v), SL_OK);
    sl_graph_batchnorm(g, 0, NULL);
    check("batch norm on vectors", g, 5, 11);
}

static void test_more_ops(void **state)
{
    (void)state;
    sl_graph *g = graph_ct(3, 9);
    sl_graph_relu6(g, 0, NULL);
    check("relu6 (below 6: N(0, 1) inputs)", g, 2, 20);
    g = graph_ct(3, 9);
    sl_graph_swish(g, 0, NULL);
    check("swish", g, 2, 21);
    g = graph_ct(3, 11);
    sl_graph_maxpool(g, 0, 3, 2, NULL);
    check("max pooling k3 stride 2", g, 2, 22);
    g = graph_ct(3, 11);
    sl_graph_avgpool(g, 0, 4, 3, NULL);
    check("average pooling k4 stride 3", g, 2, 23);
    g = graph_ct(3, 5);
    int f = sl_graph_flatten(g, 0, NULL);
    sl_graph_dense(g, f, 4, NULL);
    check("flatten + dense", g, 2, 24);
    g = graph_ct(3, 8);
    int a = sl_graph_conv1d(g, 0, 2, 3, 1, 1, 1, 1, 1, NULL);
    int parts[3] = {0, a, 0};
    sl_graph_concat(g, parts, 3, NULL);
    check("concat (input, conv, input again)", g, 2, 25);
}

/* A DenseNet block of two layers (growth 3): each layer is batch norm, ReLU, conv k3 on the
 * concatenation of everything before it; then pooling and a dense layer. */
static void test_dense_block(void **state)
{
    (void)state;
    sl_graph *g = graph_ct(4, 12);
    int feats[3] = {0};
    int y = sl_graph_batchnorm(g, 0, "l1_bn");
    y = sl_graph_relu(g, y, "l1_relu");
    feats[1] = sl_graph_conv1d(g, y, 3, 3, 1, 1, 1, 1, 0, "l1_conv");
    int cat = sl_graph_concat(g, feats, 2, "cat1");
    y = sl_graph_batchnorm(g, cat, "l2_bn");
    y = sl_graph_relu(g, y, "l2_relu");
    feats[2] = sl_graph_conv1d(g, y, 3, 3, 1, 1, 1, 1, 0, "l2_conv");
    cat = sl_graph_concat(g, feats, 3, "cat2");
    int p = sl_graph_gap(g, cat, "pool");
    sl_graph_dense(g, p, 3, "logits");
    assert_int_equal(sl_graph_node(g, (size_t)cat)->shape.d[0], 10);
    check("dense block (2 layers, growth 3) + pool + dense", g, 3, 26);
}

/* A TC-ResNet residual block: conv-bn-relu-conv-bn plus a strided 1x1 conv-bn shortcut, relu. */
static void test_residual_block(void **state)
{
    (void)state;
    sl_graph *g = graph_ct(4, 16);
    int x = sl_graph_conv1d(g, 0, 6, 3, 2, 1, 1, 1, 0, "conv_a");
    x = sl_graph_batchnorm(g, x, "bn_a");
    x = sl_graph_relu(g, x, "relu_a");
    x = sl_graph_conv1d(g, x, 6, 3, 1, 1, 1, 1, 0, "conv_b");
    x = sl_graph_batchnorm(g, x, "bn_b");
    int s = sl_graph_conv1d(g, 0, 6, 1, 2, 0, 1, 1, 0, "shortcut");
    s = sl_graph_batchnorm(g, s, "bn_s");
    x = sl_graph_add(g, x, s, "sum");
    x = sl_graph_relu(g, x, "relu_out");
    x = sl_graph_gap(g, x, "pool");
    sl_graph_dense(g, x, 3, "logits");
    check("residual block + pool + dense", g, 3, 12);
    /* the same on three threads: examples and weight rows spread over the pool */
    g = graph_ct(4, 16);
    x = sl_graph_conv1d(g, 0, 6, 3, 2, 1, 1, 1, 0, "conv_a");
    x = sl_graph_batchnorm(g, x, "bn_a");
    x = sl_graph_relu(g, x, "relu_a");
    s = sl_graph_conv1d(g, 0, 6, 1, 2, 0, 1, 1, 1, "shortcut");
    x = sl_graph_add(g, x, s, "sum");
    x = sl_graph_gap(g, x, "pool");
    sl_graph_dense(g, x, 3, "logits");
    check_threads("residual block on 3 threads", g, 5, 13, 3);
}

/* Softmax cross-entropy against finite differences, with smoothing and class weights. */
static void test_softmax_ce(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(13, 0);
    double z[4 * 5], dz[4 * 5], w[5] = {1, 2, 0.5, 1.5, 1};
    int labels[4] = {0, 3, 4, 1};
    for (int i = 0; i < 20; i++) z[i] = 2 * sl_rng_normal(&r);
    for (int variant = 0; variant < 3; variant++) {
        double sm = variant == 0 ? 0 : 0.1;
        const double *cw = variant == 2 ? w : NULL;
        double loss;
        assert_int_equal(sl_softmax_ce(z, labels, 4, 5, sm, cw, &loss, dz), SL_OK);
        double worst = 0;
        for (int i = 0; i < 20; i++) {
            double keep = z[i], lp, lm;
            z[i] = keep + H;
            sl_softmax_ce(z, labels, 4, 5, sm, cw, &lp, NULL);
            z[i] = keep - H;
            sl_softmax_ce(z, labels, 4, 5, sm, cw, &lm, NULL);
            z[i] = keep;
            worst = fmax(worst, fabs((lp - lm) / (2 * H) - dz[i]));
        }
        printf("  softmax cross-entropy (smoothing %.1f%s): max error %.1e (tolerance 1e-8)\n", sm,
               cw ? ", class weights" : "", worst);
        assert_true(worst < 1e-8);
    }
    /* the plain loss by hand: -log softmax of the true class, averaged */
    double loss, want = 0;
    assert_int_equal(sl_softmax_ce(z, labels, 4, 5, 0, NULL, &loss, NULL), SL_OK);
    for (int i = 0; i < 4; i++) {
        double se = 0;
        for (int c = 0; c < 5; c++) se += exp(z[i * 5 + c]);
        want += -(z[i * 5 + labels[i]] - log(se)) / 4;
    }
    assert_true(fabs(loss - want) < 1e-12);
    int bad[4] = {0, 5, 1, 1};
    assert_int_equal(sl_softmax_ce(z, bad, 4, 5, 0, NULL, &loss, NULL), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "label 5 of example 1 is not in [0, 5)"));
}

static void test_graph_errors(void **state)
{
    (void)state;
    sl_graph *g = graph_ct(4, 10);
    assert_int_equal(sl_graph_conv1d(g, 0, 6, 3, 1, 1, 1, 4, 1, "bad_groups"), -1);
    assert_int_equal(sl_graph_status(g), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "bad_groups: conv1d: groups (4) must divide the input (4) and output (6)"));
    assert_int_equal(sl_graph_relu(g, 0, NULL), -1); /* the first error sticks */
    sl_graph_free(g);
    g = graph_ct(4, 10);
    assert_int_equal(sl_graph_dense(g, 0, 3, "fc"), -1);
    assert_non_null(strstr(sl_last_error(), "fc: dense needs a vector input"));
    sl_graph_free(g);
    g = graph_ct(4, 3);
    assert_int_equal(sl_graph_conv1d(g, 0, 4, 9, 1, 0, 1, 1, 1, "long"), -1);
    assert_non_null(strstr(sl_last_error(), "kernel span 9 is longer than the padded input (3)"));
    sl_graph_free(g);
    g = graph_ct(4, 10);
    int a = sl_graph_conv1d(g, 0, 4, 3, 2, 1, 1, 1, 1, NULL);
    assert_int_equal(sl_graph_add(g, a, 0, "sum"), -1);
    assert_non_null(strstr(sl_last_error(), "sum: add: the two inputs must have one shape"));
    sl_graph_free(g);
    /* shapes and counts */
    g = graph_ct(40, 98);
    int x = sl_graph_conv1d(g, 0, 16, 3, 1, 1, 1, 1, 0, "stem");
    const sl_node *nd = sl_graph_node(g, (size_t)x);
    assert_int_equal(nd->shape.d[0], 16);
    assert_int_equal(nd->shape.d[1], 98);
    assert_int_equal(nd->n_params, 16 * 40 * 3);
    assert_int_equal(nd->macs, 16 * 98 * 40 * 3);
    x = sl_graph_conv1d(g, x, 24, 9, 2, 4, 1, 1, 0, "c1");
    assert_int_equal(sl_graph_node(g, (size_t)x)->shape.d[1], 49);
    sl_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv1d),         cmocka_unit_test(test_small_ops),
        cmocka_unit_test(test_residual_block), cmocka_unit_test(test_softmax_ce),
        cmocka_unit_test(test_more_ops),       cmocka_unit_test(test_dense_block),
        cmocka_unit_test(test_graph_errors),   cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_2d_ops),         cmocka_unit_test(test_residual_block_2d),
        cmocka_unit_test(test_dropout_masks),  cmocka_unit_test(test_conv2d_reference),
        cmocka_unit_test(test_split_ops_identical), cmocka_unit_test(test_conv1d_single_example),
        cmocka_unit_test(test_init_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
