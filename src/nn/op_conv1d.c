/* conv1d: (C_in, T) -> (C_out, T_out), T_out = (T + 2 pad - dilation (K - 1) - 1) / stride + 1.
 * w: (C_out, C_in / groups, K), then b: (C_out). groups = C_in = C_out is depthwise.
 * Ungrouped convolutions run as matrix products over a padded grid (below, conv_grid.h); grouped
 * ones (depthwise included) use direct loops, where a product is a poor fit. */
#include <string.h>

#include "nn/conv_grid.h"
#include "nn/nn_internal.h"

static sl_status conv_infer(sl_node *nd, const sl_shape *const *in)
{
    if (in[0]->rank != 2) return sl_fail(SL_EARG, "conv1d needs a (C, T) input");
    size_t c_in = in[0]->d[0], t = in[0]->d[1];
    if (nd->kernel < 1 || nd->stride < 1 || nd->dilation < 1 || nd->groups < 1 || nd->c_out < 1)
        return sl_fail(SL_EARG, "conv1d: kernel, stride, dilation, groups and channels must be >= 1");
    if (c_in % nd->groups || nd->c_out % nd->groups)
        return sl_fail(SL_EARG, "conv1d: groups (%zu) must divide the input (%zu) and output (%zu) channels",
                       nd->groups, c_in, nd->c_out);
    size_t span = nd->dilation * (nd->kernel - 1) + 1;
    if (t + 2 * nd->pad < span)
        return sl_fail(SL_EARG, "conv1d: kernel span %zu is longer than the padded input (%zu)", span, t + 2 * nd->pad);
    if (nd->kernel > SL_CONV_MAX_TAPS || nd->stride > 64)
        return sl_fail(SL_EARG, "conv1d: at most %d taps and a stride of 64 (got %zu and %zu)", SL_CONV_MAX_TAPS,
                       nd->kernel, nd->stride);
    nd->shape.rank = 2;
    nd->shape.d[0] = nd->c_out;
    nd->shape.d[1] = (t + 2 * nd->pad - span) / nd->stride + 1;
    nd->n_params = nd->c_out * (c_in / nd->groups) * nd->kernel + (nd->bias ? nd->c_out : 0);
    nd->macs = nd->shape.d[0] * nd->shape.d[1] * (c_in / nd->groups) * nd->kernel;
    return SL_OK;
}

static int use_gemm(const sl_node *nd) { return nd->groups == 1; }

/* Ungrouped convolutions run on the grid engine (conv_grid.h): a block of b examples is one image
 * of b rows, (C_in, b, T), with kernel 1 x K, so each GEMM covers b examples' outputs side by
 * side (the engine pads every row by itself; a block's rows are its examples).
 *
 * The batch is cut into one contiguous run of examples per worker ("part"), and a part into
 * blocks sized to stay in the core's cache (about BLOCK_VALUES reals of grid). Each part sums
 * its weight gradient in its own buffer; the buffers are added in part order afterwards. The
 * split depends only on n and the thread count, so the results do too, never on scheduling.
 *
 * saved: the weights backward reads (sl_conv_grid_prepare); scratch per part: the engine's, then
 * a weight and bias gradient. */
#define BLOCK_VALUES 32768

static size_t c_in_of(const sl_node *nd)
{
    return (nd->n_params - (nd->bias ? nd->c_out : 0)) / (nd->c_out * nd->kernel);
}

/* The geometry of a block of b examples of t_in values each. */
static sl_conv_geom block_geom(const sl_node *nd, size_t c_in, size_t t_in, size_t b)
{
    return (sl_conv_geom){.c_in = c_in, .h_in = b, .w_in = t_in, .c_out = nd->c_out, .h_out = b,
                          .w_out = nd->shape.d[1], .kh = 1, .kw = nd->kernel, .sh = 1, .sw = nd->stride,
                          .ph = 0, .pw = nd->pad, .dh = 1, .dw = nd->dilation};
}

/* The longest input that gives this node's T_out. */
static size_t t_in_max(const sl_node *nd)
{
    return nd->shape.d[1] * nd->stride + nd->dilation * (nd->kernel - 1);
}

/* Examples per block (at least 1, at most n). */
static size_t block_of(const sl_node *nd, size_t n)
{
    size_t c = c_in_of(nd) > nd->c_out ? c_in_of(nd) : nd->c_out;
    size_t b = BLOCK_VALUES / (c * (t_in_max(nd) + 2 * nd->pad));
    if (b < 1) b = 1;
    return b < n ? b : n;
}

static size_t conv_saved(const sl_node *nd, size_t n)
{
    (void)n;
    return use_gemm(nd) ? nd->n_params : 0;
}

static size_t conv_scratch(const sl_node *nd, size_t n)
{
    if (!use_gemm(nd)) return 0;
    sl_conv_geom g = block_geom(nd, c_in_of(nd), t_in_max(nd), block_of(nd, n));
    return sl_conv_grid_scratch(&g) + nd->n_params;
}

static size_t parts_of(const sl_op_args *a)
{
    size_t p = a->pool ? (size_t)sl_pool_size(a->pool) : 1;
    return p > a->n ? a->n : p;
}

/* A part's examples [*n0, *n1), in blocks of block_of(). */
static void part_range(const sl_op_args *a, size_t part, size_t *n0, size_t *n1)
{
    size_t parts = parts_of(a);
    *n0 = a->n * part / parts;
    *n1 = a->n * (part + 1) / parts;
}

static sl_status forward_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], t_in = a->in_shape[0]->d[1], c_out = nd->c_out, t_out = nd->shape.d[1];
    size_t n0, n1, blk = block_of(nd, a->n);
    part_range(a, part, &n0, &n1);
    const sl_real *bias = nd->bias ? a->w + nd->n_params - c_out : NULL;
    for (size_t e0 = n0; e0 < n1; e0 += blk) {
        size_t b = n1 - e0 < blk ? n1 - e0 : blk;
        sl_conv_geom g = block_geom(nd, c_in, t_in, b);
        sl_conv_in x = {a->x[0] + e0 * c_in * t_in, t_in, c_in * t_in};
        sl_conv_out y = {a->y + e0 * c_out * t_out, t_out, c_out * t_out};
        sl_conv_grid_forward(&g, a->w, bias, x, y, sl_nn_work(a, part));
    }
    return SL_OK;
}

static void conv_forward_gemm(const sl_op_args *a)
{
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, forward_part, (void *)a);
    else forward_part((void *)a, 0, 0);
}

static sl_status backward_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], t_in = a->in_shape[0]->d[1], c_out = nd->c_out, t_out = nd->shape.d[1];
    size_t n0, n1, blk = block_of(nd, a->n);
    part_range(a, part, &n0, &n1);
    sl_conv_geom gmax = block_geom(nd, c_in, t_in, blk);
    sl_real *scratch = sl_nn_work(a, part), *dw = scratch + sl_conv_grid_scratch(&gmax);
    memset(dw, 0, nd->n_params * sizeof *dw);
    for (size_t e0 = n0; e0 < n1; e0 += blk) {
        size_t b = n1 - e0 < blk ? n1 - e0 : blk;
        sl_conv_geom g = block_geom(nd, c_in, t_in, b);
        sl_conv_in x = {a->x[0] + e0 * c_in * t_in, t_in, c_in * t_in};
        sl_conv_in dy = {a->dy + e0 * c_out * t_out, t_out, c_out * t_out};
        sl_conv_out dx = {a->dx[0] ? a->dx[0] + e0 * c_in * t_in : NULL, t_in, c_in * t_in};
        sl_conv_grid_backward(&g, a->saved, x, dy, dx, a->dx_assign[0], dw,
                              nd->bias ? dw + nd->n_params - c_out : NULL, scratch);
    }
    return SL_OK;
}

static void conv_backward_gemm(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    sl_conv_geom g = block_geom(nd, a->in_shape[0]->d[0], a->in_shape[0]->d[1], 1);
    sl_conv_grid_prepare(&g, a->w, a->saved);
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, backward_part, (void *)a);
    else backward_part((void *)a, 0, 0);
    sl_conv_geom gmax = block_geom(nd, g.c_in, g.w_in, block_of(nd, a->n));
    for (size_t p = 0; p < parts; p++) {
        const sl_real *dw = sl_nn_work(a, p) + sl_conv_grid_scratch(&gmax);
        for (size_t i = 0; i < nd->n_params; i++) a->dw[i] += dw[i];
    }
}

static void conv_forward(const sl_op_args *a)
{
    if (use_gemm(a->node)) {
        conv_forward_gemm(a);
        return;
    }
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], t_in = a->in_shape[0]->d[1];
    size_t c_out = nd->shape.d[0], t_out = nd->shape.d[1], k = nd->kernel;
    size_t cig = c_in / nd->groups, cog = c_out / nd->groups;
    const sl_real *b = nd->bias ? a->w + c_out * cig * k : NULL;
    for (size_t n = 0; n < a->n; n++)
        for (size_t o = 0; o < c_out; o++) {
            size_t g = o / cog;
            sl_real *y = a->y + (n * c_out + o) * t_out;
            for (size_t t = 0; t < t_out; t++) y[t] = b ? b[o] : 0;
            for (size_t i = 0; i < cig; i++) {
                const sl_real *x = a->x[0] + (n * c_in + g * cig + i) * t_in;
                const sl_real *w = a->w + (o * cig + i) * k;
                for (size_t j = 0; j < k; j++) {
                    long off = (long)(j * nd->dilation) - (long)nd->pad;
                    size_t lo, hi;
                    sl_nn_valid_range(off, nd->stride, t_in, t_out, &lo, &hi);
                    if (lo >= hi) continue;
                    const sl_real wj = w[j];
                    /* pointers only inside the arrays: xs is x at input position lo * stride + off */
                    const sl_real *xs = x + ((long)(lo * nd->stride) + off);
                    sl_real *ys = y + lo;
                    size_t len = hi - lo;
                    if (nd->stride == 1)
                        for (size_t t = 0; t < len; t++) ys[t] += wj * xs[t];
                    else
                        for (size_t t = 0; t < len; t++) ys[t] += wj * xs[t * nd->stride];
                }
            }
        }
}

static void conv_backward(const sl_op_args *a)
{
    if (use_gemm(a->node)) {
        conv_backward_gemm(a);
        return;
    }
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], t_in = a->in_shape[0]->d[1];
    size_t c_out = nd->shape.d[0], t_out = nd->shape.d[1], k = nd->kernel;
    size_t cig = c_in / nd->groups, cog = c_out / nd->groups;
    sl_real *db = nd->bias ? a->dw + c_out * cig * k : NULL;
    if (a->dx[0] && a->dx_assign[0]) memset(a->dx[0], 0, a->n * c_in * t_in * sizeof *a->dx[0]);
    for (size_t n = 0; n < a->n; n++)
        for (size_t o = 0; o < c_out; o++) {
            size_t g = o / cog;
            const sl_real *dy = a->dy + (n * c_out + o) * t_out;
            if (db)
                for (size_t t = 0; t < t_out; t++) db[o] += dy[t];
            for (size_t i = 0; i < cig; i++) {
                size_t ci = g * cig + i;
                const sl_real *x = a->x[0] + (n * c_in + ci) * t_in;
                sl_real *dx = a->dx[0] ? a->dx[0] + (n * c_in + ci) * t_in : NULL;
                const sl_real *w = a->w + (o * cig + i) * k;
                sl_real *dw = a->dw + (o * cig + i) * k;
                for (size_t j = 0; j < k; j++) {
                    long off = (long)(j * nd->dilation) - (long)nd->pad;
                    size_t lo, hi, st = nd->stride;
                    sl_nn_valid_range(off, st, t_in, t_out, &lo, &hi);
                    if (lo >= hi) continue;
                    size_t len = hi - lo;
                    const sl_real *xs = x + ((long)(lo * st) + off), *dys = dy + lo;
                    sl_real acc = 0, wj = w[j], lanes[8] = {0}; /* partial sums: the loop vectorises */
                    size_t t = 0;
                    if (st == 1)
                        for (; t + 8 <= len; t += 8)
                            for (size_t q = 0; q < 8; q++) lanes[q] += dys[t + q] * xs[t + q];
                    for (; t < len; t++) acc += dys[t] * xs[t * st];
                    for (size_t q = 0; q < 8; q++) acc += lanes[q];
                    if (dx) {
                        sl_real *restrict dxs = dx + ((long)(lo * st) + off);
                        for (size_t u = 0; u < len; u++) dxs[u * st] += dys[u] * wj;
                    }
                    dw[j] += acc;
                }
            }
        }
}

static void conv_init(const sl_node *nd, sl_real *w, sl_real *state, uint64_t seed, size_t node_index, size_t fan_in)
{
    (void)state;
    /* weights, then the bias if any, from one stream with one bound, as PyTorch's Conv */
    sl_nn_kaiming(w, nd->n_params, fan_in, seed, node_index);
}

const sl_op_def sl_op_conv1d_def = {"conv1d", conv_infer, conv_saved, conv_forward, conv_backward, conv_init, 1,
                                    conv_scratch};
