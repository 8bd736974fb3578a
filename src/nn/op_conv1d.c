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

/* Ungrouped convolutions as K shifted GEMMs, without an im2col matrix.
 *
 * A block of b examples is laid out as one zero-padded sequence xp: pad zeros, example 0, then
 * every P positions the next example (P = T_in + pad rounded up to a multiple of the stride, so
 * neighbours share one gap of at least pad zeros), pad zeros at the end. Output t of example e
 * and tap j reads xp[e P + t stride + j dilation]; writing j dilation = a_j stride + r_j, that is
 * element e P / stride + t + a_j of phase r_j, the sequence ph_r[q] = xp[q stride + r]. So, with
 * the phase matrices Ph_r (C_in, L) of the block, the whole convolution is
 *     Y (C_out, L) = sum_j W_j Ph_{r_j}[:, a_j:]            W_j = w[:, :, j], (C_out, C_in)
 * of which columns e P / stride + t, t < T_out, are example e's outputs (the others, a few per
 * example, are discarded). Backward, with dY zero outside those columns:
 *     dW_j += dY Ph_{r_j}[:, a_j:]^T      dPh_{r_j}[:, a_j:] += W_j^T dY
 * and dx gathers dPh back. Compared with an im2col matrix (K times the input, written and read
 * for every example), the phases are one copy of the input, and each GEMM reads its B matrix
 * straight from them; a few percent more multiply-adds are the price.
 *
 * The batch is cut into one contiguous run of examples per worker ("part"), and a part into
 * blocks whose matrices fit in the core's cache (about BLOCK_VALUES reals each). Each part sums
 * its weight gradient (tap-major, (K, C_out, C_in)) in its own buffer; the buffers are added in
 * part order afterwards. The split depends only on n and the thread count, so the results do
 * too, never on scheduling.
 *
 * saved: the tap-major weights Wr (K, C_out, C_in), then per part: Ph and dPh (stride C_in L
 * each), Y or dY (C_out L), and dWr (K C_out C_in). */
#define BLOCK_VALUES 16384

static size_t c_in_of(const sl_node *nd)
{
    return (nd->n_params - (nd->bias ? nd->c_out : 0)) / (nd->c_out * nd->kernel);
}

/* Columns per example (P / stride) for the longest input that gives this node's T_out
 * (T_in + 2 pad <= T_out stride + span - 1), and the columns of a block of b examples. */
static size_t per_max(const sl_node *nd)
{
    size_t span = nd->dilation * (nd->kernel - 1) + 1, t_in = nd->shape.d[1] * nd->stride + span;
    return (t_in + nd->pad + nd->stride - 1) / nd->stride;
}
static size_t cols_max(const sl_node *nd, size_t b)
{
    size_t span = nd->dilation * (nd->kernel - 1) + 1;
    return b * per_max(nd) + (2 * nd->pad + span) / nd->stride + 2;
}

/* Examples per block (at least 1, at most n). */
static size_t block_of(const sl_node *nd, size_t n)
{
    size_t rows = nd->stride * c_in_of(nd);
    if (rows < nd->c_out) rows = nd->c_out;
    size_t b = BLOCK_VALUES / (rows * per_max(nd));
    if (b < 1) b = 1;
    return b < n ? b : n;
}

static size_t part_size(const sl_node *nd, size_t n)
{
    size_t c_in = c_in_of(nd), l = cols_max(nd, block_of(nd, n)), nw = nd->kernel * nd->c_out * c_in;
    return 2 * nd->stride * c_in * l + nd->c_out * l + nw;
}

/* A single example (batch-1 inference, streaming) runs as one GEMM on a column matrix copied
 * from the phases, (C_in K, T_out): K small GEMMs cost more in calls than the copy. */
static size_t single_col_size(const sl_node *nd) { return c_in_of(nd) * nd->kernel * nd->shape.d[1]; }

static size_t conv_saved(const sl_node *nd, size_t n)
{
    if (!use_gemm(nd)) return 0;
    return nd->kernel * nd->c_out * c_in_of(nd) + SL_NN_MAX_WORKERS * part_size(nd, n) + single_col_size(nd);
}

typedef struct {
    size_t c_in, t_in, c_out, t_out, k, st, dil, pad, per, nw, n0, nb, blk, lmax;
    const sl_real *wr;
    sl_real *ph, *dph, *yb, *dwr;
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
                   .t_out = nd->shape.d[1], .k = nd->kernel, .st = nd->stride, .dil = nd->dilation, .pad = nd->pad};
    size_t parts = parts_of(a);
    v.per = (v.t_in + v.pad + v.st - 1) / v.st; /* P / stride */
    v.nw = v.k * v.c_out * v.c_in;
    v.n0 = a->n * part / parts;
    v.nb = a->n * (part + 1) / parts - v.n0;
    v.blk = block_of(nd, a->n);
    size_t l = cols_max(nd, v.blk);
    v.lmax = l;
    v.wr = a->saved;
    v.ph = a->saved + v.nw + part * part_size(nd, a->n);
    v.dph = v.ph + v.st * v.c_in * l;
    v.yb = v.dph + v.st * v.c_in * l;
    v.dwr = v.yb + v.c_out * l;
    return v;
}

/* The columns of a block of b examples: the last output reads up to xp position
 * (b - 1) P + T_in + 2 pad - 1. */
static size_t block_cols(const part_view *v, size_t b)
{
    return ((b - 1) * v->per * v->st + v->t_in + 2 * v->pad + v->st - 1) / v->st;
}

/* Input value u of an example sits at xp position pad + u: phase (pad + u) mod stride, column
 * (pad + u) / stride of the example's. The first u of phase r, and its column. */
static size_t phase_first(const part_view *v, size_t r, size_t *col)
{
    size_t u0 = (r + v->st - v->pad % v->st) % v->st;
    *col = (v->pad + u0) / v->st;
    return u0;
}

/* The phase matrices of examples [e0, e0 + b), l columns: the examples' values, zeros between
 * them (written once: only the gaps are cleared). */
static void make_phases(const sl_op_args *a, const part_view *v, size_t e0, size_t b, size_t l)
{
    size_t st = v->st;
    for (size_t r = 0; r < st; r++) {
        size_t col, u0 = phase_first(v, r, &col);
        if (u0 >= v->t_in) {
            memset(v->ph + r * v->c_in * l, 0, v->c_in * l * sizeof *v->ph);
            continue;
        }
        size_t cnt = (v->t_in - u0 + st - 1) / st;
        for (size_t i = 0; i < v->c_in; i++) {
            sl_real *restrict row = v->ph + (r * v->c_in + i) * l;
            size_t done = 0; /* columns [0, done) are written */
            for (size_t e = 0; e < b; e++) {
                size_t at = e * v->per + col;
                memset(row + done, 0, (at - done) * sizeof *row);
                const sl_real *restrict x = a->x[0] + ((e0 + e) * v->c_in + i) * v->t_in + u0;
                if (st == 1) memcpy(row + at, x, cnt * sizeof *row);
                else
                    for (size_t q = 0; q < cnt; q++) row[at + q] = x[q * st];
                done = at + cnt;
            }
            memset(row + done, 0, (l - done) * sizeof *row);
        }
    }
}

static sl_status forward_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    part_view v = part_of(a, part);
    const sl_real *bias = a->node->bias ? a->w + v.nw : NULL;
    for (size_t e0 = v.n0; e0 < v.n0 + v.nb; e0 += v.blk) {
        size_t b = v.n0 + v.nb - e0 < v.blk ? v.n0 + v.nb - e0 : v.blk, l = block_cols(&v, b);
        make_phases(a, &v, e0, b, l);
        for (size_t j = 0; j < v.k; j++) {
            size_t sh = j * v.dil, aj = sh / v.st, rj = sh % v.st;
            /* Y[:, 0 : l - a_j] += W_j Ph_{r_j}[:, a_j : l]; tap 0 (a_0 = 0) covers every column and
             * sets Y instead */
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)v.c_out, (int)(l - aj), (int)v.c_in, 1,
                 v.wr + j * v.c_out * v.c_in, (int)v.c_in, v.ph + rj * v.c_in * l + aj, (int)l, j ? 1 : 0, v.yb,
                 (int)l);
        }
        for (size_t e = 0; e < b; e++)
            for (size_t o = 0; o < v.c_out; o++) {
                sl_real *restrict y = a->y + ((e0 + e) * v.c_out + o) * v.t_out;
                const sl_real *restrict src = v.yb + o * l + e * v.per;
                const sl_real bo = bias ? bias[o] : 0;
                for (size_t t = 0; t < v.t_out; t++) y[t] = src[t] + bo;
            }
    }
    return SL_OK;
}

/* Wr (K, C_out, C_in) from w (C_out, C_in, K), for the calls of one forward or backward. */
static void make_wr(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t c_out = nd->shape.d[0], c_in = a->in_shape[0]->d[0], k = nd->kernel;
    for (size_t o = 0; o < c_out; o++)
        for (size_t i = 0; i < c_in; i++)
            for (size_t j = 0; j < k; j++) a->saved[(j * c_out + o) * c_in + i] = a->w[(o * c_in + i) * k + j];
}

static void forward_single(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    part_view v = part_of(a, 0);
    sl_real *col = a->saved + v.nw + SL_NN_MAX_WORKERS * part_size(nd, a->n);
    size_t l = block_cols(&v, 1);
    make_phases(a, &v, 0, 1, l);
    for (size_t i = 0; i < v.c_in; i++)
        for (size_t j = 0; j < v.k; j++) {
            size_t sh = j * v.dil, aj = sh / v.st, rj = sh % v.st;
            const sl_real *restrict src = v.ph + (rj * v.c_in + i) * l + aj;
            sl_real *restrict dst = col + (i * v.k + j) * v.t_out;
            for (size_t t = 0; t < v.t_out; t++) dst[t] = src[t];
        }
    /* y (C_out, T_out) = w (C_out, C_in K) col (C_in K, T_out) */
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)v.c_out, (int)v.t_out, (int)(v.c_in * v.k), 1, a->w,
         (int)(v.c_in * v.k), col, (int)v.t_out, 0, a->y, (int)v.t_out);
    if (nd->bias)
        for (size_t o = 0; o < v.c_out; o++)
            for (size_t t = 0; t < v.t_out; t++) a->y[o * v.t_out + t] += a->w[v.nw + o];
}

static void conv_forward_gemm(const sl_op_args *a)
{
    if (a->n == 1) {
        forward_single(a);
        return;
    }
    make_wr(a);
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, forward_part, (void *)a);
    else forward_part((void *)a, 0, 0);
}

static sl_status backward_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    part_view v = part_of(a, part);
    memset(v.dwr, 0, v.nw * sizeof *v.dwr);
    for (size_t e0 = v.n0; e0 < v.n0 + v.nb; e0 += v.blk) {
        size_t b = v.n0 + v.nb - e0 < v.blk ? v.n0 + v.nb - e0 : v.blk, l = block_cols(&v, b);
        make_phases(a, &v, e0, b, l);
        memset(v.yb, 0, v.c_out * l * sizeof *v.yb); /* dY (C_out, L), zero outside the outputs */
        for (size_t e = 0; e < b; e++)
            for (size_t o = 0; o < v.c_out; o++) {
                sl_real *restrict dst = v.yb + o * l + e * v.per;
                const sl_real *restrict dy = a->dy + ((e0 + e) * v.c_out + o) * v.t_out;
                for (size_t t = 0; t < v.t_out; t++) dst[t] = dy[t];
            }
        /* with stride 1 there is one phase, and tap 0 covers all of it: it sets dPh instead */
        if (a->dx[0] && v.st > 1) memset(v.dph, 0, v.st * v.c_in * l * sizeof *v.dph);
        for (size_t j = 0; j < v.k; j++) {
            size_t sh = j * v.dil, aj = sh / v.st, rj = sh % v.st;
            const sl_real *phr = v.ph + rj * v.c_in * l + aj;
            /* dW_j (C_out, C_in) += dY[:, 0 : l - a_j] Ph_{r_j}[:, a_j : l]^T */
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)v.c_out, (int)v.c_in, (int)(l - aj), 1, v.yb, (int)l,
                 phr, (int)l, 1, v.dwr + j * v.c_out * v.c_in, (int)v.c_in);
            /* dPh_{r_j}[:, a_j : l] += W_j^T dY[:, 0 : l - a_j] */
            if (a->dx[0])
                GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)v.c_in, (int)(l - aj), (int)v.c_out, 1,
                     v.wr + j * v.c_out * v.c_in, (int)v.c_in, v.yb, (int)l, v.st == 1 && j == 0 ? 0 : 1,
                     v.dph + rj * v.c_in * l + aj, (int)l);
        }
        if (!a->dx[0]) continue;
        for (size_t r = 0; r < v.st; r++) { /* dx_e[i][u] += dPh[r][i][e P / stride + (pad + u) / stride] */
            size_t col, u0 = phase_first(&v, r, &col);
            if (u0 >= v.t_in) continue;
            size_t cnt = (v.t_in - u0 + v.st - 1) / v.st;
            for (size_t e = 0; e < b; e++)
                for (size_t i = 0; i < v.c_in; i++) {
                    sl_real *restrict dx = a->dx[0] + ((e0 + e) * v.c_in + i) * v.t_in + u0;
                    const sl_real *restrict row = v.dph + (r * v.c_in + i) * l + e * v.per + col;
                    /* each input position is one phase's one value: with dx_assign, set it */
                    if (a->dx_assign[0] && v.st == 1)
                        for (size_t q = 0; q < cnt; q++) dx[q] = row[q];
                    else if (a->dx_assign[0])
                        for (size_t q = 0; q < cnt; q++) dx[q * v.st] = row[q];
                    else if (v.st == 1)
                        for (size_t q = 0; q < cnt; q++) dx[q] += row[q];
                    else
                        for (size_t q = 0; q < cnt; q++) dx[q * v.st] += row[q];
                }
        }
    }
    return SL_OK;
}

static void conv_backward_gemm(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    make_wr(a);
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, backward_part, (void *)a);
    else backward_part((void *)a, 0, 0);
    size_t c_out = nd->shape.d[0], c_in = a->in_shape[0]->d[0], k = nd->kernel, t_out = nd->shape.d[1];
    for (size_t p = 0; p < parts; p++) {
        const sl_real *dwr = part_of(a, p).dwr;
        for (size_t o = 0; o < c_out; o++)
            for (size_t i = 0; i < c_in; i++)
                for (size_t j = 0; j < k; j++) a->dw[(o * c_in + i) * k + j] += dwr[(j * c_out + o) * c_in + i];
    }
    if (nd->bias) {
        sl_real *db = a->dw + c_out * c_in * k;
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

const sl_op_def sl_op_conv1d_def = {"conv1d", conv_infer, conv_saved, conv_forward, conv_backward, conv_init, 1};
