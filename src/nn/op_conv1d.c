/* conv1d: (C_in, T) -> (C_out, T_out), T_out = (T + 2 pad - dilation (K - 1) - 1) / stride + 1.
 * w: (C_out, C_in / groups, K), then b: (C_out). groups = C_in = C_out is depthwise.
 * Ungrouped convolutions run as GEMMs through CBLAS on an im2col matrix per example, kept from
 * forward for backward; grouped ones (depthwise included) use direct loops, where GEMM is a poor
 * fit. */
#include <cblas.h>
#include <string.h>

#include "nn/nn_internal.h"

#ifdef SIGLOOP_NN_DOUBLE
#define GEMM cblas_dgemm
#else
#define GEMM cblas_sgemm
#endif

/* The output positions t whose input position t * stride + off lies in [0, t_in): [*lo, *hi). */
static void valid_range(long off, size_t stride, size_t t_in, size_t t_out, size_t *lo, size_t *hi)
{
    long l = off >= 0 ? 0 : (-off + (long)stride - 1) / (long)stride;
    long h = (long)t_in - 1 - off < 0 ? 0 : ((long)t_in - 1 - off) / (long)stride + 1;
    if (h > (long)t_out) h = (long)t_out;
    if (l > h) l = h;
    *lo = (size_t)l;
    *hi = (size_t)h;
}

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
    nd->shape.rank = 2;
    nd->shape.d[0] = nd->c_out;
    nd->shape.d[1] = (t + 2 * nd->pad - span) / nd->stride + 1;
    nd->n_params = nd->c_out * (c_in / nd->groups) * nd->kernel + (nd->bias ? nd->c_out : 0);
    nd->macs = nd->shape.d[0] * nd->shape.d[1] * (c_in / nd->groups) * nd->kernel;
    return SL_OK;
}

static int use_gemm(const sl_node *nd) { return nd->groups == 1; }

/* col (C_in K, T_out): col[i K + j][t] = x[i][t stride - pad + j dilation], 0 outside. */
static void im2col(const sl_node *nd, const sl_real *x, size_t c_in, size_t t_in, size_t t_out, sl_real *col)
{
    size_t k = nd->kernel;
    for (size_t i = 0; i < c_in; i++)
        for (size_t j = 0; j < k; j++) {
            sl_real *row = col + (i * k + j) * t_out;
            long off = (long)(j * nd->dilation) - (long)nd->pad;
            size_t lo, hi;
            valid_range(off, nd->stride, t_in, t_out, &lo, &hi);
            memset(row, 0, t_out * sizeof *row);
            if (lo >= hi) continue;
            const sl_real *xs = x + i * t_in + ((long)(lo * nd->stride) + off);
            for (size_t t = 0; t < hi - lo; t++) row[lo + t] = xs[t * nd->stride];
        }
}

static size_t conv_saved(const sl_node *nd, size_t n)
{
    /* the im2col matrix of every example of the batch, (C_in K, T_out) each, and one per worker
     * for the gradient of a column matrix in backward; C_in from n_params */
    if (!use_gemm(nd)) return 0;
    size_t c_in = (nd->n_params - (nd->bias ? nd->c_out : 0)) / (nd->c_out * nd->kernel);
    return (n + SL_NN_MAX_WORKERS) * c_in * nd->kernel * nd->shape.d[1];
}

/* One example's forward: im2col, then y = w col (+ b). */
static sl_status conv_forward_one(void *ctx, size_t n, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], t_in = a->in_shape[0]->d[1];
    size_t c_out = nd->shape.d[0], t_out = nd->shape.d[1], ck = c_in * nd->kernel;
    const sl_real *b = nd->bias ? a->w + c_out * ck : NULL;
    sl_real *col = a->saved + n * ck * t_out, *y = a->y + n * c_out * t_out;
    im2col(nd, a->x[0] + n * c_in * t_in, c_in, t_in, t_out, col);
    for (size_t o = 0; o < c_out; o++)
        for (size_t t = 0; t < t_out; t++) y[o * t_out + t] = b ? b[o] : 0;
    /* y (C_out, T_out) += w (C_out, C_in K) col (C_in K, T_out) */
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c_out, (int)t_out, (int)ck, 1, a->w, (int)ck, col,
         (int)t_out, 1, y, (int)t_out);
    return SL_OK;
}

static void conv_forward_gemm(const sl_op_args *a)
{
    if (a->pool) {
        sl_pool_run(a->pool, a->n, conv_forward_one, (void *)a);
        return;
    }
    for (size_t n = 0; n < a->n; n++) conv_forward_one((void *)a, n, 0);
}

/* Weight gradients for output rows [r0, r1) over the whole batch: workers own disjoint rows, and
 * each sums the examples in order, so the result does not depend on scheduling. */
static sl_status conv_dw_rows(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], c_out = nd->shape.d[0], t_out = nd->shape.d[1], ck = c_in * nd->kernel;
    size_t parts = a->pool ? (size_t)sl_pool_size(a->pool) : 1;
    size_t r0 = c_out * part / parts, r1 = c_out * (part + 1) / parts;
    if (r0 == r1) return SL_OK;
    sl_real *db = nd->bias ? a->dw + c_out * ck : NULL;
    for (size_t n = 0; n < a->n; n++) {
        const sl_real *col = a->saved + n * ck * t_out, *dy = a->dy + n * c_out * t_out;
        if (db)
            for (size_t o = r0; o < r1; o++)
                for (size_t t = 0; t < t_out; t++) db[o] += dy[o * t_out + t];
        /* dw[r0:r1] (rows, C_in K) += dy[r0:r1] (rows, T_out) col^T */
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), (int)ck, (int)t_out, 1, dy + r0 * t_out,
             (int)t_out, col, (int)t_out, 1, a->dw + r0 * ck, (int)ck);
    }
    return SL_OK;
}

/* One example's input gradient: dcol = w^T dy, scattered back (col2im) into dx. */
static sl_status conv_dx_one(void *ctx, size_t n, int worker)
{
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], t_in = a->in_shape[0]->d[1];
    size_t c_out = nd->shape.d[0], t_out = nd->shape.d[1], k = nd->kernel, ck = c_in * k;
    const sl_real *dy = a->dy + n * c_out * t_out;
    sl_real *dcol = a->saved + (a->n + (size_t)worker) * ck * t_out;
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ck, (int)t_out, (int)c_out, 1, a->w, (int)ck, dy,
         (int)t_out, 0, dcol, (int)t_out);
    sl_real *dx = a->dx[0] + n * c_in * t_in;
    for (size_t i = 0; i < c_in; i++)
        for (size_t j = 0; j < k; j++) {
            const sl_real *row = dcol + (i * k + j) * t_out;
            long off = (long)(j * nd->dilation) - (long)nd->pad;
            size_t lo, hi;
            valid_range(off, nd->stride, t_in, t_out, &lo, &hi);
            if (lo >= hi) continue;
            sl_real *dxs = dx + i * t_in + ((long)(lo * nd->stride) + off);
            for (size_t t = 0; t < hi - lo; t++) dxs[t * nd->stride] += row[lo + t];
        }
    return SL_OK;
}

static void conv_backward_gemm(const sl_op_args *a)
{
    size_t parts = a->pool ? (size_t)sl_pool_size(a->pool) : 1;
    if (a->pool) sl_pool_run(a->pool, parts, conv_dw_rows, (void *)a);
    else conv_dw_rows((void *)a, 0, 0);
    if (!a->dx[0]) return;
    if (a->pool) sl_pool_run(a->pool, a->n, conv_dx_one, (void *)a);
    else
        for (size_t n = 0; n < a->n; n++) conv_dx_one((void *)a, n, 0);
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
                    valid_range(off, nd->stride, t_in, t_out, &lo, &hi);
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
                    valid_range(off, st, t_in, t_out, &lo, &hi);
                    if (lo >= hi) continue;
                    size_t len = hi - lo;
                    const sl_real *xs = x + ((long)(lo * st) + off), *dys = dy + lo;
                    sl_real acc = 0, wj = w[j];
                    for (size_t t = 0; t < len; t++) acc += dys[t] * xs[t * st];
                    if (dx) {
                        sl_real *dxs = dx + ((long)(lo * st) + off);
                        for (size_t t = 0; t < len; t++) dxs[t * st] += dys[t] * wj;
                    }
                    dw[j] += acc;
                }
            }
        }
}

static void conv_init(const sl_node *nd, sl_real *w, sl_real *state, uint64_t seed, size_t node_index, size_t fan_in)
{
    (void)state;
    size_t nw = nd->n_params - (nd->bias ? nd->c_out : 0);
    sl_nn_kaiming(w, nw, fan_in, seed, node_index);
    for (size_t i = nw; i < nd->n_params; i++) w[i] = 0;
}

const sl_op_def sl_op_conv1d_def = {"conv1d", conv_infer, conv_saved, conv_forward, conv_backward, conv_init};
