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

/* The output positions t whose input position t * stride + off lies in [0, n_in): [*lo, *hi). */
static void valid_range(long off, size_t stride, size_t n_in, size_t n_out, size_t *lo, size_t *hi)
{
    long l = off >= 0 ? 0 : (-off + (long)stride - 1) / (long)stride;
    long h = (long)n_in - 1 - off < 0 ? 0 : ((long)n_in - 1 - off) / (long)stride + 1;
    if (h > (long)n_out) h = (long)n_out;
    if (l > h) l = h;
    *lo = (size_t)l;
    *hi = (size_t)h;
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

/* The GEMM path works on bands of output rows, [oh0, oh1), so that a band's column matrix
 * (C_in KH KW, rows W_out) stays in the core's cache (about BAND_VALUES reals) for the GEMMs that
 * read it right after it is built; y and dy are read and written in place, their band being a
 * (C_out, rows W_out) matrix with leading dimension H_out W_out. */
#define BAND_VALUES 65536

static size_t band_rows(const sl_node *nd)
{
    size_t taps = (nd->n_params - (nd->bias ? nd->c_out : 0)) / nd->c_out;
    size_t r = BAND_VALUES / (taps * nd->shape.d[2]);
    if (r < 1) r = 1;
    return r < nd->shape.d[1] ? r : nd->shape.d[1];
}

/* Per worker: a band's column matrix and its gradient (GEMM only), and a weight gradient buffer
 * (n_params). */
static size_t col_size(const sl_node *nd)
{
    size_t taps = (nd->n_params - (nd->bias ? nd->c_out : 0)) / nd->c_out;
    return use_gemm(nd) ? taps * band_rows(nd) * nd->shape.d[2] : 0;
}

static size_t conv2d_saved(const sl_node *nd, size_t n)
{
    (void)n;
    return SL_NN_MAX_WORKERS * (2 * col_size(nd) + nd->n_params);
}

static sl_real *worker_col(const sl_op_args *a, size_t part)
{
    return a->saved + part * (2 * col_size(a->node) + a->node->n_params);
}
static sl_real *worker_dcol(const sl_op_args *a, size_t part) { return worker_col(a, part) + col_size(a->node); }
static sl_real *worker_dw(const sl_op_args *a, size_t part) { return worker_col(a, part) + 2 * col_size(a->node); }

/* The band [oh0, oh1) of the column matrix: col[(c KH + i) KW + j][(oh - oh0) W_out + ow] =
 * x[c][oh sh - ph + i dh][ow sw - pw + j dw], 0 outside. */
static void im2col(const geom *g, const sl_real *x, sl_real *col, size_t oh0, size_t oh1)
{
    size_t n = (oh1 - oh0) * g->w_out;
    for (size_t c = 0; c < g->c_in; c++)
        for (size_t i = 0; i < g->kh; i++) {
            long offh = (long)(i * g->dh) - (long)g->ph;
            size_t hlo, hhi;
            valid_range(offh, g->sh, g->h_in, g->h_out, &hlo, &hhi);
            if (hlo < oh0) hlo = oh0;
            if (hhi > oh1) hhi = oh1;
            for (size_t j = 0; j < g->kw; j++) {
                sl_real *row = col + ((c * g->kh + i) * g->kw + j) * n;
                long offw = (long)(j * g->dw) - (long)g->pw;
                size_t wlo, whi;
                valid_range(offw, g->sw, g->w_in, g->w_out, &wlo, &whi);
                if (hlo >= hhi || wlo >= whi) {
                    memset(row, 0, n * sizeof *row);
                    continue;
                }
                for (size_t oh = oh0; oh < hlo; oh++) memset(row + (oh - oh0) * g->w_out, 0, g->w_out * sizeof *row);
                for (size_t oh = hhi; oh < oh1; oh++) memset(row + (oh - oh0) * g->w_out, 0, g->w_out * sizeof *row);
                for (size_t oh = hlo; oh < hhi; oh++) {
                    const sl_real *restrict xs = x + (c * g->h_in + (size_t)((long)(oh * g->sh) + offh)) * g->w_in +
                                                 ((long)(wlo * g->sw) + offw);
                    sl_real *restrict r = row + (oh - oh0) * g->w_out;
                    for (size_t t = 0; t < wlo; t++) r[t] = 0;
                    if (g->sw == 1)
                        for (size_t t = 0; t < whi - wlo; t++) r[wlo + t] = xs[t];
                    else
                        for (size_t t = 0; t < whi - wlo; t++) r[wlo + t] = xs[t * g->sw];
                    for (size_t t = whi; t < g->w_out; t++) r[t] = 0;
                }
            }
        }
}

/* dx += col2im(dcol) for the band [oh0, oh1), the adjoint of im2col. */
static void col2im(const geom *g, const sl_real *dcol, sl_real *dx, size_t oh0, size_t oh1)
{
    size_t n = (oh1 - oh0) * g->w_out;
    for (size_t c = 0; c < g->c_in; c++)
        for (size_t i = 0; i < g->kh; i++) {
            long offh = (long)(i * g->dh) - (long)g->ph;
            size_t hlo, hhi;
            valid_range(offh, g->sh, g->h_in, g->h_out, &hlo, &hhi);
            if (hlo < oh0) hlo = oh0;
            if (hhi > oh1) hhi = oh1;
            for (size_t j = 0; j < g->kw; j++) {
                const sl_real *row = dcol + ((c * g->kh + i) * g->kw + j) * n;
                long offw = (long)(j * g->dw) - (long)g->pw;
                size_t wlo, whi;
                valid_range(offw, g->sw, g->w_in, g->w_out, &wlo, &whi);
                if (wlo >= whi) continue;
                for (size_t oh = hlo; oh < hhi; oh++) {
                    sl_real *restrict dxs = dx + (c * g->h_in + (size_t)((long)(oh * g->sh) + offh)) * g->w_in +
                                            ((long)(wlo * g->sw) + offw);
                    const sl_real *restrict r = row + (oh - oh0) * g->w_out + wlo;
                    if (g->sw == 1)
                        for (size_t t = 0; t < whi - wlo; t++) dxs[t] += r[t];
                    else
                        for (size_t t = 0; t < whi - wlo; t++) dxs[t * g->sw] += r[t];
                }
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
                valid_range(offh, g->sh, g->h_in, g->h_out, &hlo, &hhi);
                for (size_t j = 0; j < g->kw; j++) {
                    long offw = (long)(j * g->dw) - (long)g->pw;
                    size_t wlo, whi;
                    valid_range(offw, g->sw, g->w_in, g->w_out, &wlo, &whi);
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
                valid_range(offh, g->sh, g->h_in, g->h_out, &hlo, &hhi);
                for (size_t j = 0; j < g->kw; j++) {
                    long offw = (long)(j * g->dw) - (long)g->pw;
                    size_t wlo, whi;
                    valid_range(offw, g->sw, g->w_in, g->w_out, &wlo, &whi);
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
        size_t rows = band_rows(nd);
        for (size_t oh0 = 0; oh0 < g.h_out; oh0 += rows) {
            size_t oh1 = oh0 + rows < g.h_out ? oh0 + rows : g.h_out, nb = (oh1 - oh0) * g.w_out;
            sl_real *col = worker_col(a, part);
            im2col(&g, x, col, oh0, oh1);
            /* y[:, band] (C_out, nb; ld HW) += w (C_out, CK) col (CK, nb) */
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.c_out, (int)nb, (int)g.ck, 1, a->w, (int)g.ck, col,
                 (int)nb, 1, y + oh0 * g.w_out, (int)g.hw_out);
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
        size_t rows = band_rows(nd);
        for (size_t oh0 = 0; oh0 < g.h_out; oh0 += rows) {
            size_t oh1 = oh0 + rows < g.h_out ? oh0 + rows : g.h_out, nb = (oh1 - oh0) * g.w_out;
            sl_real *col = worker_col(a, part), *dcol = worker_dcol(a, part);
            const sl_real *dyb = dy + oh0 * g.w_out;
            im2col(&g, x, col, oh0, oh1);
            /* dw (C_out, CK) += dy[:, band] (C_out, nb; ld HW) col^T */
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g.c_out, (int)g.ck, (int)nb, 1, dyb, (int)g.hw_out,
                 col, (int)nb, 1, dw, (int)g.ck);
            if (!dx) continue;
            /* dcol (CK, nb) = w^T dy[:, band] */
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g.ck, (int)nb, (int)g.c_out, 1, a->w, (int)g.ck, dyb,
                 (int)g.hw_out, 0, dcol, (int)nb);
            col2im(&g, dcol, dx, oh0, oh1);
        }
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
    size_t parts = parts_of(a);
    if (a->pool && parts > 1) sl_pool_run(a->pool, parts, backward_part, (void *)a);
    else backward_part((void *)a, 0, 0);
    for (size_t p = 0; p < parts; p++) {
        const sl_real *dw = worker_dw(a, p);
        for (size_t i = 0; i < a->node->n_params; i++) a->dw[i] += dw[i];
    }
}

static void conv2d_init(const sl_node *nd, sl_real *w, sl_real *state, uint64_t seed, size_t node_index,
                        size_t fan_in)
{
    (void)state;
    size_t nw = nd->n_params - (nd->bias ? nd->c_out : 0);
    sl_nn_kaiming(w, nw, fan_in, seed, node_index);
    for (size_t i = nw; i < nd->n_params; i++) w[i] = 0;
}

const sl_op_def sl_op_conv2d_def = {"conv2d", conv2d_infer, conv2d_saved, conv2d_forward, conv2d_backward,
                                    conv2d_init, 0};
