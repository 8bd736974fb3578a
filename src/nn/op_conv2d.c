/* conv2d: (C_in, H, W) -> (C_out, H_out, W_out), per axis
 * out = (in + 2 pad - dilation (K - 1) - 1) / stride + 1, as PyTorch's Conv2d.
 * w: (C_out, C_in / groups, KH, KW), then b: (C_out). groups = C_in = C_out is depthwise.
 *
 * The batch is cut into one contiguous run of examples per worker. Ungrouped convolutions run
 * example by example on the grid engine (conv_grid.h: matrix products over the padded input's
 * stride phases, read in place; the grid is built again in backward, which costs far less than
 * the products and keeps memory at one grid per worker). Grouped ones, depthwise included, use
 * direct loops. Each worker sums its weight gradient into its own buffer; the buffers are then
 * added in worker order, so results depend on the thread count but never on scheduling. */
#include <string.h>

#include "nn/conv_grid.h"
#include "nn/nn_internal.h"

typedef struct {
    size_t c_in, h_in, w_in, c_out, h_out, w_out, kh, kw, sh, sw, ph, pw, dh, dw, groups;
    size_t ck;     /* (C_in / groups) KH KW: one output's taps */
    size_t hw_out; /* H_out W_out */
} geom;

static geom geometry(const sl_node *nd, const sl_shape *in)
{
    geom g = {.c_in = in->d[0], .h_in = in->d[1], .w_in = in->d[2], .c_out = nd->shape.d[0], .h_out = nd->shape.d[1],
              .w_out = nd->shape.d[2], .kh = nd->kernel_h, .kw = nd->kernel, .sh = nd->stride_h, .sw = nd->stride,
              .ph = nd->pad_h, .pw = nd->pad, .dh = nd->dilation_h, .dw = nd->dilation, .groups = nd->groups};
    g.ck = g.c_in / g.groups * g.kh * g.kw;
    g.hw_out = g.h_out * g.w_out;
    return g;
}

static sl_status conv2d_infer(sl_node *nd, const sl_shape *const *in)
{
    if (in[0]->rank != 3) return sl_fail(SL_EARG, "conv2d needs a (C, H, W) input");
    size_t c_in = in[0]->d[0];
    if (nd->kernel < 1 || nd->kernel_h < 1 || nd->stride < 1 || nd->stride_h < 1 || nd->dilation < 1 ||
        nd->dilation_h < 1 || nd->groups < 1 || nd->c_out < 1)
        return sl_fail(SL_EARG, "conv2d: kernel, stride, dilation, groups and channels must be >= 1");
    if (c_in % nd->groups || nd->c_out % nd->groups)
        return sl_fail(SL_EARG, "conv2d: groups (%zu) must divide the input (%zu) and output (%zu) channels",
                       nd->groups, c_in, nd->c_out);
    size_t span_h = nd->dilation_h * (nd->kernel_h - 1) + 1, span_w = nd->dilation * (nd->kernel - 1) + 1;
    if (in[0]->d[1] + 2 * nd->pad_h < span_h || in[0]->d[2] + 2 * nd->pad < span_w)
        return sl_fail(SL_EARG, "conv2d: kernel span %zu x %zu is larger than the padded input (%zu x %zu)", span_h,
                       span_w, in[0]->d[1] + 2 * nd->pad_h, in[0]->d[2] + 2 * nd->pad);
    if (nd->kernel_h * nd->kernel > SL_CONV_MAX_TAPS || nd->stride_h * nd->stride > 64)
        return sl_fail(SL_EARG, "conv2d: at most %d taps and 64 stride phases (got %zu x %zu and %zu x %zu)",
                       SL_CONV_MAX_TAPS, nd->kernel_h, nd->kernel, nd->stride_h, nd->stride);
    nd->shape.rank = 3;
    nd->shape.d[0] = nd->c_out;
    nd->shape.d[1] = (in[0]->d[1] + 2 * nd->pad_h - span_h) / nd->stride_h + 1;
    nd->shape.d[2] = (in[0]->d[2] + 2 * nd->pad - span_w) / nd->stride + 1;
    size_t taps = c_in / nd->groups * nd->kernel_h * nd->kernel;
    nd->n_params = nd->c_out * taps + (nd->bias ? nd->c_out : 0);
    nd->macs = nd->shape.d[0] * nd->shape.d[1] * nd->shape.d[2] * taps;
    return SL_OK;
}

static int use_gemm(const sl_node *nd) { return nd->groups == 1; }

static size_t weights_of(const sl_node *nd) { return nd->n_params - (nd->bias ? nd->c_out : 0); }
static size_t c_in_of(const sl_node *nd) { return weights_of(nd) / (nd->c_out * nd->kernel_h * nd->kernel); }

static sl_conv_geom grid_geom(const geom *g)
{
    return (sl_conv_geom){.c_in = g->c_in, .h_in = g->h_in, .w_in = g->w_in, .c_out = g->c_out, .h_out = g->h_out,
                          .w_out = g->w_out, .kh = g->kh, .kw = g->kw, .sh = g->sh, .sw = g->sw, .ph = g->ph,
                          .pw = g->pw, .dh = g->dh, .dw = g->dw};
}

/* The engine's geometry for the largest input that gives this node's output. */
static sl_conv_geom node_grid_geom(const sl_node *nd)
{
    size_t h_in = (nd->shape.d[1] - 1) * nd->stride_h + nd->dilation_h * (nd->kernel_h - 1) + 1;
    size_t w_in = (nd->shape.d[2] - 1) * nd->stride + nd->dilation * (nd->kernel - 1) + 1;
    sl_shape in = {.rank = 3, .d = {c_in_of(nd), h_in, w_in}};
    geom g = geometry(nd, &in);
    return grid_geom(&g);
}

/* saved: the weights backward reads (ungrouped); scratch per worker: the engine's, then a
 * weight gradient buffer (n_params). */
static size_t conv2d_saved(const sl_node *nd, size_t n)
{
    (void)n;
    return use_gemm(nd) ? nd->n_params : 0;
}

static size_t engine_scratch(const sl_node *nd)
{
    if (!use_gemm(nd)) return 0;
    sl_conv_geom g = node_grid_geom(nd);
    return sl_conv_grid_scratch(&g);
}

static size_t conv2d_scratch(const sl_node *nd, size_t n)
{
    (void)n;
    return engine_scratch(nd) + nd->n_params;
}

static sl_real *worker_dw(const sl_op_args *a, size_t part) { return sl_nn_work(a, part) + engine_scratch(a->node); }

/* Direct grouped convolution of one example: y += w * x over the valid taps (forward), or the
 * gradients dx += w^T dy and dw += dy x (backward, dx may be NULL). */
static void direct_forward(const geom *g, const sl_real *w, const sl_real *x, sl_real *y)
{
    size_t cig = g->c_in / g->groups, cog = g->c_out / g->groups;
    for (size_t o = 0; o < g->c_out; o++) {
        size_t grp = o / cog;
        sl_real *yo = y + o * g->hw_out;
        for (size_t ci = 0; ci < cig; ci++) {
            const sl_real *xc = x + (grp * cig + ci) * g->h_in * g->w_in;
            for (size_t i = 0; i < g->kh; i++) {
                long offh = (long)(i * g->dh) - (long)g->ph;
                size_t hlo, hhi;
                sl_nn_valid_range(offh, g->sh, g->h_in, g->h_out, &hlo, &hhi);
                for (size_t j = 0; j < g->kw; j++) {
                    long offw = (long)(j * g->dw) - (long)g->pw;
                    size_t wlo, whi;
                    sl_nn_valid_range(offw, g->sw, g->w_in, g->w_out, &wlo, &whi);
                    if (wlo >= whi) continue;
                    const sl_real wt = w[((o * cig + ci) * g->kh + i) * g->kw + j];
                    for (size_t oh = hlo; oh < hhi; oh++) {
                        const sl_real *restrict xs =
                            xc + (size_t)((long)(oh * g->sh) + offh) * g->w_in + ((long)(wlo * g->sw) + offw);
                        sl_real *restrict ys = yo + oh * g->w_out + wlo;
                        size_t len = whi - wlo;
                        if (g->sw == 1)
                            for (size_t t = 0; t < len; t++) ys[t] += wt * xs[t];
                        else
                            for (size_t t = 0; t < len; t++) ys[t] += wt * xs[t * g->sw];
                    }
                }
            }
        }
    }
}

static void direct_backward(const geom *g, const sl_real *w, const sl_real *x, const sl_real *dy, sl_real *dx,
                            sl_real *dw)
{
    size_t cig = g->c_in / g->groups, cog = g->c_out / g->groups;
    for (size_t o = 0; o < g->c_out; o++) {
        size_t grp = o / cog;
        const sl_real *dyo = dy + o * g->hw_out;
        for (size_t ci = 0; ci < cig; ci++) {
            size_t c = grp * cig + ci;
            const sl_real *xc = x + c * g->h_in * g->w_in;
            sl_real *dxc = dx ? dx + c * g->h_in * g->w_in : NULL;
            for (size_t i = 0; i < g->kh; i++) {
                long offh = (long)(i * g->dh) - (long)g->ph;
                size_t hlo, hhi;
                sl_nn_valid_range(offh, g->sh, g->h_in, g->h_out, &hlo, &hhi);
                for (size_t j = 0; j < g->kw; j++) {
                    long offw = (long)(j * g->dw) - (long)g->pw;
                    size_t wlo, whi;
                    sl_nn_valid_range(offw, g->sw, g->w_in, g->w_out, &wlo, &whi);
                    if (wlo >= whi) continue;
                    size_t wi = ((o * cig + ci) * g->kh + i) * g->kw + j, len = whi - wlo;
                    const sl_real wt = w[wi];
                    /* eight partial sums the compiler can keep in one vector register (a single
                     * running sum would serialise the loop); restrict pointers so it vectorises */
                    sl_real lanes[8] = {0};
                    sl_real acc = 0;
                    for (size_t oh = hlo; oh < hhi; oh++) {
                        size_t at = (size_t)((long)(oh * g->sh) + offh) * g->w_in + (size_t)((long)(wlo * g->sw) + offw);
                        const sl_real *restrict xs = xc + at, *restrict dys = dyo + oh * g->w_out + wlo;
                        size_t t = 0;
                        if (g->sw == 1) {
                            for (; t + 8 <= len; t += 8)
                                for (size_t q = 0; q < 8; q++) lanes[q] += dys[t + q] * xs[t + q];
                            for (; t < len; t++) acc += dys[t] * xs[t];
                        } else {
                            for (; t < len; t++) acc += dys[t] * xs[t * g->sw];
                        }
                        if (dxc) {
                            sl_real *restrict dxs = dxc + at;
                            if (g->sw == 1)
                                for (size_t u = 0; u < len; u++) dxs[u] += dys[u] * wt;
                            else
                                for (size_t u = 0; u < len; u++) dxs[u * g->sw] += dys[u] * wt;
                        }
                    }
                    for (size_t q = 0; q < 8; q++) acc += lanes[q];
                    dw[wi] += acc;
                }
            }
        }
    }
}

static size_t parts_of(const sl_op_args *a)
{
    size_t p = a->pool ? (size_t)sl_pool_size(a->pool) : 1;
    return p > a->n ? a->n : p;
}

static sl_status forward_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    geom g = geometry(nd, a->in_shape[0]);
    sl_conv_geom cg = grid_geom(&g);
    size_t parts = parts_of(a), n0 = a->n * part / parts, n1 = a->n * (part + 1) / parts;
    size_t in_size = g.c_in * g.h_in * g.w_in;
    const sl_real *b = nd->bias ? a->w + g.c_out * g.ck : NULL;
    for (size_t n = n0; n < n1; n++) {
        const sl_real *x = a->x[0] + n * in_size;
        sl_real *y = a->y + n * g.c_out * g.hw_out;
        if (use_gemm(nd)) {
            sl_conv_grid_forward(&cg, a->w, b, (sl_conv_in){x, g.h_in * g.w_in, g.w_in},
                                 (sl_conv_out){y, g.hw_out, g.w_out}, sl_nn_work(a, part));
            continue;
        }
        for (size_t o = 0; o < g.c_out; o++)
            for (size_t t = 0; t < g.hw_out; t++) y[o * g.hw_out + t] = b ? b[o] : 0;
        direct_forward(&g, a->w, x, y);
    }
    return SL_OK;
}

static sl_status backward_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    geom g = geometry(nd, a->in_shape[0]);
    sl_conv_geom cg = grid_geom(&g);
    size_t parts = parts_of(a), n0 = a->n * part / parts, n1 = a->n * (part + 1) / parts;
    size_t in_size = g.c_in * g.h_in * g.w_in;
    sl_real *dw = worker_dw(a, part);
    memset(dw, 0, nd->n_params * sizeof *dw);
    sl_real *db = nd->bias ? dw + g.c_out * g.ck : NULL;
    for (size_t n = n0; n < n1; n++) {
        const sl_real *x = a->x[0] + n * in_size, *dy = a->dy + n * g.c_out * g.hw_out;
        sl_real *dx = a->dx[0] ? a->dx[0] + n * in_size : NULL;
        if (use_gemm(nd)) {
            sl_conv_grid_backward(&cg, a->saved, (sl_conv_in){x, g.h_in * g.w_in, g.w_in},
                                  (sl_conv_in){dy, g.hw_out, g.w_out}, (sl_conv_out){dx, g.h_in * g.w_in, g.w_in},
                                  a->dx_assign[0], dw, db, sl_nn_work(a, part));
            continue;
        }
        if (dx && a->dx_assign[0]) memset(dx, 0, in_size * sizeof *dx);
        if (db)
            for (size_t o = 0; o < g.c_out; o++)
                for (size_t t = 0; t < g.hw_out; t++) db[o] += dy[o * g.hw_out + t];
        direct_backward(&g, a->w, x, dy, dx, dw);
    }
    return SL_OK;
}

static void conv2d_forward(const sl_op_args *a)
{
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, forward_part, (void *)a);
    else forward_part((void *)a, 0, 0);
}

static void conv2d_backward(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    if (use_gemm(nd)) {
        geom g = geometry(nd, a->in_shape[0]);
        sl_conv_geom cg = grid_geom(&g);
        sl_conv_grid_prepare(&cg, a->w, a->saved);
    }
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, backward_part, (void *)a);
    else backward_part((void *)a, 0, 0);
    for (size_t p = 0; p < parts; p++) {
        const sl_real *dw = worker_dw(a, p);
        for (size_t i = 0; i < nd->n_params; i++) a->dw[i] += dw[i];
    }
}

static void conv2d_init(const sl_node *nd, sl_real *w, sl_real *state, uint64_t seed, size_t node_index,
                        size_t fan_in)
{
    (void)state;
    /* weights, then the bias if any, from one stream with one bound, as PyTorch's Conv */
    sl_nn_kaiming(w, nd->n_params, fan_in, seed, node_index);
}

const sl_op_def sl_op_conv2d_def = {"conv2d", conv2d_infer, conv2d_saved, conv2d_forward, conv2d_backward,
                                    conv2d_init, 1, conv2d_scratch};
