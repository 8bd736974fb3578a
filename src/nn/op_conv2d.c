/* conv2d: (C_in, H, W) -> (C_out, H_out, W_out), per axis
 * out = (in + 2 pad - dilation (K - 1) - 1) / stride + 1, as PyTorch's Conv2d.
 * w: (C_out, C_in / groups, KH, KW), then b: (C_out). groups = C_in = C_out is depthwise.
 *
 * The batch is cut into one contiguous run of examples per worker. Ungrouped convolutions run as
 * GEMMs through CBLAS on an im2col matrix built in the worker's scratch (not kept from forward:
 * backward builds it again, which costs far less than the GEMMs and keeps memory at one matrix
 * per worker instead of one per example). Grouped ones, depthwise included, use direct loops.
 * Each worker sums its weight gradient into its own buffer; the buffers are then added in worker
 * order, so results depend on the thread count but never on scheduling. */
#include <cblas.h>
#include <string.h>

#include "nn/nn_internal.h"

#ifdef SIGLOOP_NN_DOUBLE
#define GEMM cblas_dgemm
#else
#define GEMM cblas_sgemm
#endif

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

/* A 1x1 convolution with stride 1 and no padding reads its input as the column matrix itself. */
static int is_pointwise(const sl_node *nd)
{
    return nd->kernel == 1 && nd->kernel_h == 1 && nd->stride == 1 && nd->stride_h == 1 && nd->pad == 0 &&
           nd->pad_h == 0;
}

/* The GEMM path expands the input along W only. For a band of output rows [oh0, oh1) it builds,
 * per row phase rh (input rows ≡ rh mod stride_h), the matrix
 *     colw[rh][(c KW + j)][q W_out + ow] = xp[c][(oh0 + q) sh + rh][ow sw + j dw]
 * (KW times the input instead of im2col's KH KW times), and tap row i, with i dh = ah sh + rh,
 * is a GEMM on colw[rh] shifted down ah rows:
 *     y[:, band] += Wr_i (C_out, C_in KW) colw[rh][:, ah W_out : ah W_out + rows W_out]
 * where Wr_i[o][c KW + j] = w[o][c][i][j]. Backward: dWr_i += dy[:, band] colw^T and
 * dcolw[rh] (shifted) += Wr_i^T dy[:, band], then dcolw is added back into dx. y and dy are read
 * and written in place (a band is a (C_out, rows W_out) matrix with leading dimension
 * H_out W_out). A band's colw is sized to stay in the core's cache (about BAND_VALUES reals). */
#define BAND_VALUES 65536

static size_t weights_of(const sl_node *nd) { return nd->n_params - (nd->bias ? nd->c_out : 0); }
static size_t c_in_of(const sl_node *nd) { return weights_of(nd) / (nd->c_out * nd->kernel_h * nd->kernel); }
static size_t ah_max(const sl_node *nd) { return (nd->kernel_h - 1) * nd->dilation_h / nd->stride_h; }

static int use_colw(const sl_node *nd) { return use_gemm(nd) && !is_pointwise(nd); }

/* Output rows per band (at least 1, at most H_out). */
static size_t band_rows(const sl_node *nd)
{
    size_t per_row = nd->stride_h * c_in_of(nd) * nd->kernel * nd->shape.d[2];
    size_t q = BAND_VALUES / per_row, r = q > ah_max(nd) + 1 ? q - ah_max(nd) : 1;
    return r < nd->shape.d[1] ? r : nd->shape.d[1];
}

/* colw of one band (and as much again for dcolw). */
static size_t col_size(const sl_node *nd)
{
    if (!use_colw(nd)) return 0;
    return nd->stride_h * c_in_of(nd) * nd->kernel * (band_rows(nd) + ah_max(nd)) * nd->shape.d[2];
}

/* saved: Wr (KH, C_out, C_in KW), then per worker: colw, dcolw and a weight gradient buffer
 * (n_params; tap-major like Wr on the colw path). */
static size_t wr_size(const sl_node *nd) { return use_colw(nd) ? weights_of(nd) : 0; }

static size_t conv2d_saved(const sl_node *nd, size_t n)
{
    (void)n;
    return wr_size(nd) + SL_NN_MAX_WORKERS * (2 * col_size(nd) + nd->n_params);
}

static sl_real *worker_col(const sl_op_args *a, size_t part)
{
    return a->saved + wr_size(a->node) + part * (2 * col_size(a->node) + a->node->n_params);
}
static sl_real *worker_dcol(const sl_op_args *a, size_t part) { return worker_col(a, part) + col_size(a->node); }
static sl_real *worker_dw(const sl_op_args *a, size_t part) { return worker_col(a, part) + 2 * col_size(a->node); }

/* colw for the band starting at output row oh0, band_q rows per phase (ld = band_q W_out). */
static void build_colw(const geom *g, const sl_real *x, sl_real *colw, size_t oh0, size_t band_q)
{
    size_t ld = band_q * g->w_out;
    for (size_t rh = 0; rh < g->sh; rh++)
        for (size_t c = 0; c < g->c_in; c++)
            for (size_t j = 0; j < g->kw; j++) {
                sl_real *base = colw + ((rh * g->c_in + c) * g->kw + j) * ld;
                long offw = (long)(j * g->dw) - (long)g->pw;
                size_t wlo, whi;
                sl_nn_valid_range(offw, g->sw, g->w_in, g->w_out, &wlo, &whi);
                for (size_t q = 0; q < band_q; q++) {
                    sl_real *restrict r = base + q * g->w_out;
                    long h = (long)((oh0 + q) * g->sh + rh) - (long)g->ph;
                    if (h < 0 || h >= (long)g->h_in || wlo >= whi) {
                        memset(r, 0, g->w_out * sizeof *r);
                        continue;
                    }
                    const sl_real *restrict xs =
                        x + (c * g->h_in + (size_t)h) * g->w_in + (size_t)((long)(wlo * g->sw) + offw);
                    for (size_t t = 0; t < wlo; t++) r[t] = 0;
                    if (g->sw == 1)
                        for (size_t t = 0; t < whi - wlo; t++) r[wlo + t] = xs[t];
                    else
                        for (size_t t = 0; t < whi - wlo; t++) r[wlo + t] = xs[t * g->sw];
                    for (size_t t = whi; t < g->w_out; t++) r[t] = 0;
                }
            }
}

/* dx += the adjoint of build_colw, for the band starting at output row oh0. */
static void add_colw(const geom *g, const sl_real *dcolw, sl_real *dx, size_t oh0, size_t band_q)
{
    size_t ld = band_q * g->w_out;
    for (size_t rh = 0; rh < g->sh; rh++)
        for (size_t c = 0; c < g->c_in; c++)
            for (size_t j = 0; j < g->kw; j++) {
                const sl_real *base = dcolw + ((rh * g->c_in + c) * g->kw + j) * ld;
                long offw = (long)(j * g->dw) - (long)g->pw;
                size_t wlo, whi;
                sl_nn_valid_range(offw, g->sw, g->w_in, g->w_out, &wlo, &whi);
                if (wlo >= whi) continue;
                for (size_t q = 0; q < band_q; q++) {
                    long h = (long)((oh0 + q) * g->sh + rh) - (long)g->ph;
                    if (h < 0 || h >= (long)g->h_in) continue;
                    const sl_real *restrict r = base + q * g->w_out + wlo;
                    sl_real *restrict d = dx + (c * g->h_in + (size_t)h) * g->w_in + (size_t)((long)(wlo * g->sw) + offw);
                    if (g->sw == 1)
                        for (size_t t = 0; t < whi - wlo; t++) d[t] += r[t];
                    else
                        for (size_t t = 0; t < whi - wlo; t++) d[t * g->sw] += r[t];
                }
            }
}

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
    size_t parts = parts_of(a), n0 = a->n * part / parts, n1 = a->n * (part + 1) / parts;
    size_t in_size = g.c_in * g.h_in * g.w_in;
    const sl_real *b = nd->bias ? a->w + g.c_out * g.ck : NULL;
    for (size_t n = n0; n < n1; n++) {
        const sl_real *x = a->x[0] + n * in_size;
        sl_real *y = a->y + n * g.c_out * g.hw_out;
        for (size_t o = 0; o < g.c_out; o++)
            for (size_t t = 0; t < g.hw_out; t++) y[o * g.hw_out + t] = b ? b[o] : 0;
        if (!use_gemm(nd)) {
            direct_forward(&g, a->w, x, y);
            continue;
        }
        if (is_pointwise(nd)) { /* y (C_out, HW) += w (C_out, C_in) x (C_in, HW) */
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.c_out, (int)g.hw_out, (int)g.ck, 1, a->w,
                 (int)g.ck, x, (int)g.hw_out, 1, y, (int)g.hw_out);
            continue;
        }
        size_t rows = band_rows(nd), kwc = g.c_in * g.kw;
        for (size_t oh0 = 0; oh0 < g.h_out; oh0 += rows) {
            size_t oh1 = oh0 + rows < g.h_out ? oh0 + rows : g.h_out, nb = (oh1 - oh0) * g.w_out;
            size_t band_q = oh1 - oh0 + ah_max(nd), ld = band_q * g.w_out;
            sl_real *colw = worker_col(a, part);
            build_colw(&g, x, colw, oh0, band_q);
            for (size_t i = 0; i < g.kh; i++) {
                size_t ah = i * g.dh / g.sh, rh = i * g.dh % g.sh;
                /* y[:, band] (C_out, nb; ld HW) += Wr_i (C_out, C_in KW) colw[rh][:, ah W_out:] */
                GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.c_out, (int)nb, (int)kwc, 1,
                     a->saved + i * g.c_out * kwc, (int)kwc, colw + rh * kwc * ld + ah * g.w_out, (int)ld, 1,
                     y + oh0 * g.w_out, (int)g.hw_out);
            }
        }
    }
    return SL_OK;
}

static sl_status backward_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const sl_op_args *a = ctx;
    const sl_node *nd = a->node;
    geom g = geometry(nd, a->in_shape[0]);
    size_t parts = parts_of(a), n0 = a->n * part / parts, n1 = a->n * (part + 1) / parts;
    size_t in_size = g.c_in * g.h_in * g.w_in;
    sl_real *dw = worker_dw(a, part);
    memset(dw, 0, nd->n_params * sizeof *dw);
    sl_real *db = nd->bias ? dw + g.c_out * g.ck : NULL;
    for (size_t n = n0; n < n1; n++) {
        const sl_real *x = a->x[0] + n * in_size, *dy = a->dy + n * g.c_out * g.hw_out;
        sl_real *dx = a->dx[0] ? a->dx[0] + n * in_size : NULL;
        if (db)
            for (size_t o = 0; o < g.c_out; o++)
                for (size_t t = 0; t < g.hw_out; t++) db[o] += dy[o * g.hw_out + t];
        if (!use_gemm(nd)) {
            direct_backward(&g, a->w, x, dy, dx, dw);
            continue;
        }
        if (is_pointwise(nd)) {
            /* dw (C_out, C_in) += dy (C_out, HW) x^T; dx (C_in, HW) += w^T dy */
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g.c_out, (int)g.ck, (int)g.hw_out, 1, dy,
                 (int)g.hw_out, x, (int)g.hw_out, 1, dw, (int)g.ck);
            if (dx)
                GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g.ck, (int)g.hw_out, (int)g.c_out, 1, a->w,
                     (int)g.ck, dy, (int)g.hw_out, 1, dx, (int)g.hw_out);
            continue;
        }
        size_t rows = band_rows(nd), kwc = g.c_in * g.kw;
        for (size_t oh0 = 0; oh0 < g.h_out; oh0 += rows) {
            size_t oh1 = oh0 + rows < g.h_out ? oh0 + rows : g.h_out, nb = (oh1 - oh0) * g.w_out;
            size_t band_q = oh1 - oh0 + ah_max(nd), ld = band_q * g.w_out;
            sl_real *colw = worker_col(a, part), *dcolw = worker_dcol(a, part);
            const sl_real *dyb = dy + oh0 * g.w_out;
            build_colw(&g, x, colw, oh0, band_q);
            if (dx) memset(dcolw, 0, g.sh * kwc * ld * sizeof *dcolw);
            for (size_t i = 0; i < g.kh; i++) {
                size_t ah = i * g.dh / g.sh, rh = i * g.dh % g.sh, shift = rh * kwc * ld + ah * g.w_out;
                /* dWr_i (C_out, C_in KW) += dy[:, band] (C_out, nb; ld HW) colw[rh][:, ah W_out:]^T */
                GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g.c_out, (int)kwc, (int)nb, 1, dyb, (int)g.hw_out,
                     colw + shift, (int)ld, 1, dw + i * g.c_out * kwc, (int)kwc);
                if (!dx) continue;
                /* dcolw[rh][:, ah W_out:] (C_in KW, nb) += Wr_i^T dy[:, band] */
                GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kwc, (int)nb, (int)g.c_out, 1,
                     a->saved + i * g.c_out * kwc, (int)kwc, dyb, (int)g.hw_out, 1, dcolw + shift, (int)ld);
            }
            if (dx) add_colw(&g, dcolw, dx, oh0, band_q);
        }
    }
    return SL_OK;
}

/* Wr (KH, C_out, C_in KW) from w (C_out, C_in, KH, KW): Wr[i][o][c KW + j] = w[o][c][i][j]. */
static void make_wr(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t c_out = nd->shape.d[0], c_in = c_in_of(nd), kh = nd->kernel_h, kw = nd->kernel;
    for (size_t o = 0; o < c_out; o++)
        for (size_t c = 0; c < c_in; c++)
            for (size_t i = 0; i < kh; i++)
                for (size_t j = 0; j < kw; j++)
                    a->saved[(i * c_out + o) * c_in * kw + c * kw + j] = a->w[((o * c_in + c) * kh + i) * kw + j];
}

static void conv2d_forward(const sl_op_args *a)
{
    if (use_colw(a->node)) make_wr(a);
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, forward_part, (void *)a);
    else forward_part((void *)a, 0, 0);
}

static void conv2d_backward(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    if (use_colw(nd)) make_wr(a);
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, backward_part, (void *)a);
    else backward_part((void *)a, 0, 0);
    size_t c_out = nd->shape.d[0], c_in = c_in_of(nd), kh = nd->kernel_h, kw = nd->kernel, nw = weights_of(nd);
    for (size_t p = 0; p < parts; p++) {
        const sl_real *dw = worker_dw(a, p);
        if (use_colw(nd)) /* tap-major, like Wr */
            for (size_t o = 0; o < c_out; o++)
                for (size_t c = 0; c < c_in; c++)
                    for (size_t i = 0; i < kh; i++)
                        for (size_t j = 0; j < kw; j++)
                            a->dw[((o * c_in + c) * kh + i) * kw + j] += dw[(i * c_out + o) * c_in * kw + c * kw + j];
        else
            for (size_t i = 0; i < nw; i++) a->dw[i] += dw[i];
        for (size_t i = nw; i < nd->n_params; i++) a->dw[i] += dw[i]; /* bias */
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
                                    conv2d_init, 0};
