/* The activation memory planner: known optima for a chain, a residual block and a dense block
 * (worked out by hand below), and a replay over every builder's graphs proving that no two
 * tensors alive at the same step share a byte, with the peak against its lower bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigloop/budget.h"
#include "sigloop/config.h"
#include "sigloop/nn.h"

/* No two tensors whose lifetimes overlap may overlap in the arena; every tensor lies inside it. */
static void assert_no_overlap(const sl_plan_tensor *t, size_t n, size_t peak, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].offset + t[i].size > peak) fail_msg("%s: tensor %zu ends past the arena", what, i);
        for (size_t j = i + 1; j < n; j++) {
            if (!t[i].size || !t[j].size) continue;
            int in_time = t[i].first <= t[j].last && t[j].first <= t[i].last;
            int in_space = t[i].offset < t[j].offset + t[j].size && t[j].offset < t[i].offset + t[i].size;
            if (in_time && in_space)
                fail_msg("%s: tensors %zu [%zu, %zu] @%zu+%zu and %zu [%zu, %zu] @%zu+%zu overlap", what, i, t[i].first,
                         t[i].last, t[i].offset, t[i].size, j, t[j].first, t[j].last, t[j].offset, t[j].size);
        }
    }
}

/* Plans t (n tensors, alignment 1) and checks the known optimum: the live maximum, reached. */
static void expect_optimum(sl_plan_tensor *t, size_t n, size_t want, const char *what)
{
    size_t peak;
    assert_int_equal(sl_plan_greedy(t, n, 1, &peak), SL_OK);
    if (sl_plan_live_max(t, n) != want) fail_msg("%s: live maximum %zu, want %zu", what, sl_plan_live_max(t, n), want);
    if (peak != want) fail_msg("%s: arena %zu, want %zu", what, peak, want);
    assert_no_overlap(t, n, peak, what);
}

/* A chain a -> b -> c -> d -> e: each tensor is alive while it is written and while the next
 * step reads it, so at step i only tensors i-1 and i are alive, and the optimum is the largest
 * sum of two neighbours: max(100 + 200, 200 + 50, 50 + 300, 300 + 10) = 350. */
static void test_chain(void **state)
{
    (void)state;
    sl_plan_tensor t[5] = {{100, 0, 1, 0}, {200, 1, 2, 0}, {50, 2, 3, 0}, {300, 3, 4, 0}, {10, 4, 4, 0}};
    expect_optimum(t, 5, 350, "chain");
    size_t peak;
    /* alignment rounds offsets up */
    sl_plan_tensor u[2] = {{10, 0, 1, 0}, {7, 1, 1, 0}};
    assert_int_equal(sl_plan_greedy(u, 2, 16, &peak), SL_OK);
    assert_int_equal(u[0].offset % 16, 0);
    assert_int_equal(u[1].offset % 16, 0);
    assert_int_equal(peak, 16 + 7);
}

/* A residual block: x (0) -> conv1 (1) -> relu (2) -> conv2 (3) -> add(conv2, x) (4) -> relu (5),
 * every tensor 64 bytes. x lives to step 4. Alive: step 1 {x, conv1}; 2 {x, conv1, relu};
 * 3 {x, relu, conv2}; 4 {x, conv2, add}; 5 {add, relu}: the optimum is 3 x 64 = 192. */
static void test_residual_block(void **state)
{
    (void)state;
    sl_plan_tensor t[6] = {{64, 0, 4, 0}, {64, 1, 2, 0}, {64, 2, 3, 0}, {64, 3, 4, 0}, {64, 4, 5, 0}, {64, 5, 5, 0}};
    expect_optimum(t, 6, 192, "residual");
}

/* A dense block of two layers, growth 16 on a 32-byte input: x (0, 32 B) -> a = f(x) (1, 16 B) ->
 * c1 = concat(x, a) (2, 48 B) -> b = f(c1) (3, 16 B) -> c2 = concat(c1, b) (4, 64 B). Alive:
 * step 1 {x, a} 48; 2 {x, a, c1} 96; 3 {c1, b} 64; 4 {c1, b, c2} 128: the optimum is 128. */
static void test_dense_block(void **state)
{
    (void)state;
    sl_plan_tensor t[5] = {{32, 0, 2, 0}, {16, 1, 2, 0}, {48, 2, 4, 0}, {16, 3, 4, 0}, {64, 4, 4, 0}};
    expect_optimum(t, 5, 128, "dense");
}

static void test_errors(void **state)
{
    (void)state;
    sl_plan_tensor t[1] = {{8, 3, 2, 0}};
    size_t peak;
    assert_int_equal(sl_plan_greedy(t, 1, 1, &peak), SL_EARG);
    t[0].last = 3;
    assert_int_equal(sl_plan_greedy(t, 1, 3, &peak), SL_EARG);
    assert_int_equal(sl_plan_greedy(t, 0, 1, &peak), SL_OK);
    assert_int_equal(peak, 0);
}

/* Every builder's graphs, 1-D and 2-D: the tensors from the graph (sizes from the shapes, last
 * reads from the inputs), placed with no overlap, the peak at least the live maximum and at most
 * a quarter above it. */
static void test_builders(void **state)
{
    (void)state;
    const char *models[] = {
        "{arch: tc-resnet}",
        "{arch: tc-resnet, blocks: 2, width_multiplier: 1.5}",
        "{arch: resnet}",
        "{arch: resnet, dims: 2, widths: [16, 16, 32, 64], kernel: 3}",
        "{arch: cnn, widths: [16, 32], kernel: 3}",
        "{arch: cnn, dims: 2, widths: [8, 16], kernel: 3}",
        "{arch: densenet, widths: [16, 24], growth: 8, blocks: 3, dense_blocks: 2}",
        "{arch: densenet, dims: 2, widths: [8, 16], growth: 8, blocks: 2, dense_blocks: 2, kernel: 3}",
        "{arch: ds-cnn, widths: [16, 24, 32], kernel: 3}",
        "{arch: ds-cnn, dims: 2, widths: [16, 24, 32], kernel: 3}",
    };
    for (size_t k = 0; k < sizeof models / sizeof *models; k++) {
        char text[512];
        snprintf(text, sizeof text, "data: {root: r}\nmodel: %s\n", models[k]);
        sl_config cfg;
        if (sl_config_parse(&cfg, text, strlen(text), "m.yaml", "/", NULL, 0) != SL_OK)
            fail_msg("%s: %s", models[k], sl_last_error());
        sl_shape in = {.rank = 2, .d = {40, 98}}; /* the features; 2-D builders make them an image */
        sl_graph *g;
        if (sl_model_build(&cfg.model, &in, 10, &g) != SL_OK) fail_msg("%s: %s", models[k], sl_last_error());
        sl_plan_tensor *t;
        size_t n, peak;
        assert_int_equal(sl_graph_tensors(g, 4, &t, &n), SL_OK);
        assert_int_equal(n, sl_graph_count(g));
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(t[i].size, 4 * sl_shape_size(&sl_graph_node(g, i)->shape));
            total += t[i].size;
        }
        assert_int_equal(sl_plan_greedy(t, n, 16, &peak), SL_OK);
        assert_no_overlap(t, n, peak, models[k]);
        size_t live = sl_plan_live_max(t, n);
        printf("  %-70s %zu tensors, %zu B in all, live max %zu B, arena %zu B\n", models[k], n, total, live, peak);
        assert_true(peak >= live);
        assert_true(peak <= total);
        assert_true(4 * peak <= 5 * live + 16 * n); /* within a quarter (and the alignment) of the bound */
        if (k == 0) /* TC-ResNet8: the most is alive at the stem, its input (40 x 98) and output (16 x 98) */
            assert_int_equal(peak, 4 * (40 * 98 + 16 * 98));
        free(t);
        sl_graph_free(g);
        sl_config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),        cmocka_unit_test(test_residual_block), cmocka_unit_test(test_dense_block),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_builders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
