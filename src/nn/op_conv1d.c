/* conv1d: (C_in, T) -> (C_out, T_out), T_out = (T + 2 pad - dilation (K - 1) - 1) / stride + 1.
 * w: (C_out, C_in / groups, K), then b: (C_out). groups = C_in = C_out is depthwise.
 * Ungrouped convolutions run as GEMMs through CBLAS on im2col matrices (below); grouped ones
 * (depthwise included) use direct loops, where GEMM is a poor fit. */
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

/* The batch is cut into one contiguous run of examples per worker ("part"), and a part into
 * blocks of a few examples whose column matrix, (C_in K, B T_out) with the block's B examples
 * side by side, fits in the core's cache (BLOCK_VALUES reals). Per block:
 *   forward   col = im2col(x); Y = w col (C_out, B T_out), spread into y (n, C_out, T_out)
 *   backward  col = im2col(x) again; dY gathered from dy; dW_p += dY col^T; dcol = w^T dY;
 *             dx += col2im(dcol)
 * Rebuilding col in backward costs less than keeping it: a kept matrix is written to and read
 * back from memory, one rebuilt from the (K times smaller) input stays in cache for its GEMM.
 * Each part sums its weight gradient in its own buffer; the buffers are added in part order
 * afterwards. The split depends only on n and the thread count, so the results do too, never on
 * scheduling. */
#define BLOCK_VALUES 16384

/* A strided convolution reads every stride-th input. Splitting each input row once into its
 * `stride` phases, ph[p][u] = x[u stride + p], turns each row of the column matrix into one
 * contiguous copy from a phase, instead of a strided gather per kernel tap. ph holds stride rows
 * of phase_len values. */
static size_t phase_len(size_t t_in, size_t stride) { return (t_in + stride - 1) / stride; }

/* col[i K + j][e T_out + t] = x[i][t stride - pad + j dilation], 0 outside; ld = nb T_out.
 * ph: scratch for one row's phases (stride x phase_len), used when stride > 1. */
static void im2col(const sl_node *nd, const sl_real *x, size_t c_in, size_t t_in, size_t t_out, sl_real *col,
                   size_t ld, sl_real *ph)
{
    size_t k = nd->kernel, st = nd->stride, pl = phase_len(t_in, st);
    for (size_t i = 0; i < c_in; i++) {
        const sl_real *xi = x + i * t_in;
        if (st > 1)
            for (size_t p = 0; p < st; p++)
                for (size_t q = 0, u = p; u < t_in; q++, u += st) ph[p * pl + q] = xi[u];
        for (size_t j = 0; j < k; j++) {
            sl_real *row = col + (i * k + j) * ld;
            long off = (long)(j * nd->dilation) - (long)nd->pad;
            size_t lo, hi;
            valid_range(off, st, t_in, t_out, &lo, &hi);
            for (size_t t = 0; t < lo; t++) row[t] = 0;
            for (size_t t = hi; t < t_out; t++) row[t] = 0;
            if (lo >= hi) continue;
            size_t first = (size_t)((long)(lo * st) + off); /* input position of output lo */
            const sl_real *restrict src = st == 1 ? xi + first : ph + (first % st) * pl + first / st;
            sl_real *restrict dst = row + lo;
            for (size_t t = 0; t < hi - lo; t++) dst[t] = src[t]; /* short rows: no memcpy call */
        }
    }
}

/* dx[i][t stride - pad + j dilation] += dcol[i K + j][t] (the adjoint of im2col); strided
 * convolutions gather into the phases first (ph: stride x phase_len, zeroed here), then add the
 * phases back into dx once. */
static void col2im(const sl_node *nd, const sl_real *dcol, size_t ld, size_t c_in, size_t t_in, size_t t_out,
                   sl_real *dx, sl_real *ph)
{
    size_t k = nd->kernel, st = nd->stride, pl = phase_len(t_in, st);
    for (size_t i = 0; i < c_in; i++) {
        sl_real *dxi = dx + i * t_in;
        if (st > 1) memset(ph, 0, st * pl * sizeof *ph);
        for (size_t j = 0; j < k; j++) {
            const sl_real *row = dcol + (i * k + j) * ld;
            long off = (long)(j * nd->dilation) - (long)nd->pad;
            size_t lo, hi;
            valid_range(off, st, t_in, t_out, &lo, &hi);
            if (lo >= hi) continue;
            size_t first = (size_t)((long)(lo * st) + off);
            sl_real *restrict dst = st == 1 ? dxi + first : ph + (first % st) * pl + first / st;
            const sl_real *restrict src = row + lo;
            for (size_t t = 0; t < hi - lo; t++) dst[t] += src[t];
        }
        if (st > 1)
            for (size_t p = 0; p < st; p++)
                for (size_t q = 0, u = p; u < t_in; q++, u += st) dxi[u] += ph[p * pl + q];
    }
}

static size_t c_in_of(const sl_node *nd)
{
    return (nd->n_params - (nd->bias ? nd->c_out : 0)) / (nd->c_out * nd->kernel);
}

/* A bound on stride x phase_len(T_in): T_in <= (T_out - 1) stride + stride - 1 + span - 2 pad. */
static size_t phase_size(const sl_node *nd)
{
    if (nd->stride == 1) return 0;
    size_t t_in_max = nd->shape.d[1] * nd->stride + nd->dilation * (nd->kernel - 1) + 1;
    return nd->stride * phase_len(t_in_max, nd->stride);
}

/* Examples per block: as many as keep the column matrix within BLOCK_VALUES (at least 1). */
static size_t block_of(const sl_node *nd, size_t ck, size_t n)
{
    size_t b = BLOCK_VALUES / (ck * nd->shape.d[1]);
    if (b < 1) b = 1;
    return b < n ? b : n;
}

/* Per part: col and dcol (ck x B T_out each), Y or dY (C_out x B T_out), the weight gradient
 * (C_out x ck) and the phases. */
static size_t part_size(const sl_node *nd, size_t n)
{
    size_t ck = c_in_of(nd) * nd->kernel, cols = block_of(nd, ck, n) * nd->shape.d[1];
    return (2 * ck + nd->c_out) * cols + nd->c_out * ck + phase_size(nd);
}

static size_t conv_saved(const sl_node *nd, size_t n)
{
    return use_gemm(nd) ? SL_NN_MAX_WORKERS * part_size(nd, n) : 0;
}

typedef struct {
    size_t c_in, t_in, c_out, t_out, ck, n0, nb, blk;
    sl_real *col, *dcol, *yb, *dw, *ph;
} part_view;

static size_t parts_of(const sl_op_args *a)
{
    size_t p = a->pool ? (size_t)sl_pool_size(a->pool) : 1;
    return p > a->n ? a->n : p;
}

static part_view part_of(const sl_op_args *a, size_t part)
{
    const sl_node *nd = a->node;
    part_view v = {.c_in = a->in_shape[0]->d[0], .t_in = a->in_shape[0]->d[1], .c_out = nd->shape.d[0],
                   .t_out = nd->shape.d[1]};
    size_t parts = parts_of(a);
    v.ck = v.c_in * nd->kernel;
    v.n0 = a->n * part / parts;
    v.nb = a->n * (part + 1) / parts - v.n0;
    v.blk = block_of(nd, v.ck, a->n);
    size_t cols = v.blk * v.t_out;
    v.col = a->saved + part * part_size(nd, a->n);
    v.dcol = v.col + v.ck * cols;
    v.yb = v.dcol + v.ck * cols;
    v.dw = v.yb + v.c_out * cols;
    v.ph = v.dw + v.c_out * v.ck;
    return v;
}

/* The column matrix of examples [e0, e0 + b) into v->col, ld = b T_out. */
static void block_im2col(const sl_op_args *a, const part_view *v, size_t e0, size_t b)
{
    for (size_t e = 0; e < b; e++)
        im2col(a->node, a->x[0] + (e0 + e) * v->c_in * v->t_in, v->c_in, v->t_in, v->t_out, v->col + e * v->t_out,
               b * v->t_out, v->ph);
}

static sl_status forward_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    part_view v = part_of(a, part);
    const sl_real *bias = nd->bias ? a->w + v.c_out * v.ck : NULL;
    for (size_t e0 = v.n0; e0 < v.n0 + v.nb; e0 += v.blk) {
        size_t b = v.n0 + v.nb - e0 < v.blk ? v.n0 + v.nb - e0 : v.blk, ld = b * v.t_out;
        block_im2col(a, &v, e0, b);
        /* one example: straight into y; more: into yb, then spread */
        sl_real *out = b == 1 ? a->y + e0 * v.c_out * v.t_out : v.yb;
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)v.c_out, (int)ld, (int)v.ck, 1, a->w, (int)v.ck, v.col,
             (int)ld, 0, out, (int)ld);
        for (size_t e = 0; e < b; e++)
            for (size_t o = 0; o < v.c_out; o++) {
                sl_real *y = a->y + ((e0 + e) * v.c_out + o) * v.t_out;
                const sl_real *src = out + o * ld + e * v.t_out, bo = bias ? bias[o] : 0;
                if (b == 1 && !bias) continue;
                for (size_t t = 0; t < v.t_out; t++) y[t] = src[t] + bo;
            }
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
    part_view v = part_of(a, part);
    memset(v.dw, 0, v.c_out * v.ck * sizeof *v.dw);
    for (size_t e0 = v.n0; e0 < v.n0 + v.nb; e0 += v.blk) {
        size_t b = v.n0 + v.nb - e0 < v.blk ? v.n0 + v.nb - e0 : v.blk, ld = b * v.t_out;
        block_im2col(a, &v, e0, b);
        const sl_real *dyb = a->dy + e0 * v.c_out * v.t_out; /* one example: dy as it is */
        if (b > 1) {
            for (size_t e = 0; e < b; e++) /* dY (C_out, b T_out) */
                for (size_t o = 0; o < v.c_out; o++)
                    memcpy(v.yb + o * ld + e * v.t_out, a->dy + ((e0 + e) * v.c_out + o) * v.t_out,
                           v.t_out * sizeof *v.yb);
            dyb = v.yb;
        }
        /* dW_p (C_out, C_in K) += dY col^T */
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)v.c_out, (int)v.ck, (int)ld, 1, dyb, (int)ld, v.col,
             (int)ld, 1, v.dw, (int)v.ck);
        if (!a->dx[0]) continue;
        /* dcol (C_in K, b T_out) = w^T dY */
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)v.ck, (int)ld, (int)v.c_out, 1, a->w, (int)v.ck, dyb,
             (int)ld, 0, v.dcol, (int)ld);
        for (size_t e = 0; e < b; e++)
            col2im(nd, v.dcol + e * v.t_out, ld, v.c_in, v.t_in, v.t_out, a->dx[0] + (e0 + e) * v.c_in * v.t_in,
                   v.ph);
    }
    return SL_OK;
}

static void conv_backward_gemm(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, backward_part, (void *)a);
    else backward_part((void *)a, 0, 0);
    size_t c_out = nd->shape.d[0], t_out = nd->shape.d[1], nw = c_out * c_in_of(nd) * nd->kernel;
    for (size_t p = 0; p < parts; p++) {
        const sl_real *dw = part_of(a, p).dw;
        for (size_t i = 0; i < nw; i++) a->dw[i] += dw[i];
    }
    if (nd->bias) {
        sl_real *db = a->dw + nw;
        for (size_t e = 0; e < a->n; e++)
            for (size_t o = 0; o < c_out; o++) {
                const sl_real *dy = a->dy + (e * c_out + o) * t_out;
                sl_real acc = 0;
                for (size_t t = 0; t < t_out; t++) acc += dy[t];
                db[o] += acc;
            }
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
