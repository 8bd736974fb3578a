/* Ungrouped convolutions over a padded grid (see conv_grid.h). */
#include "nn/conv_grid.h"

#include <stdint.h>
#include <string.h>

#include "nn/gemm_taps.h"
#include "nn/nn_internal.h"

typedef struct {
    size_t hq, wq, core, plane;   /* one phase's grid (Hq, Wq): Hq Wq values, then zeros up to plane */
    size_t phases;                /* sh sw */
    size_t taps, n_out;           /* KH KW; output grid positions computed, (H_out - 1) Wq + W_out */
    size_t front, row;            /* dY' rows: front zeros, then the output grid; row = front + plane */
    uint64_t used;                /* bit p: some tap reads phase p (sh sw <= 64, checked by the ops) */
} layout;

/* Tap i KW + j: its phase (and, below, its offset in the phase's plane). */
static size_t tap_phase(const sl_conv_geom *g, size_t tap)
{
    size_t i = tap / g->kw, j = tap % g->kw;
    return (i * g->dh % g->sh) * g->sw + j * g->dw % g->sw;
}
static layout layout_of(const sl_conv_geom *g)
{
    layout l;
    l.hq = g->h_out + (g->kh - 1) * g->dh / g->sh;
    /* A grid row covers sw Wq padded positions. Rows share their padding (the zeros after row r's
     * values are the zeros before row r + 1's), so sw Wq >= W_in + pw is enough: output (r, ow)
     * reads at most W_in + 2 pw - 1 positions past row r's start, which is inside row r + 1's
     * leading zeros. (Without sharing, Wq = W_out + (KW - 1) dw / sw: on TC-ResNet's short rows
     * up to a fifth more columns computed and dropped.) The last row's reads run past the grid by
     * as much: those columns are zeros at the end of the plane. */
    size_t aw = (g->kw - 1) * g->dw / g->sw;
    l.wq = (g->w_in + g->pw + g->sw - 1) / g->sw;
    if (l.wq < g->w_out) l.wq = g->w_out;
    l.core = l.hq * l.wq;
    l.plane = l.core + (g->w_out + aw > l.wq ? g->w_out + aw - l.wq : 0);
    l.phases = g->sh * g->sw;
    l.taps = g->kh * g->kw;
    l.n_out = (g->h_out - 1) * l.wq + g->w_out;
    l.front = (g->kh - 1) * g->dh / g->sh * l.wq + aw;
    l.row = l.front + l.plane;
    l.used = 0;
    for (size_t tap = 0; tap < l.taps; tap++) l.used |= (uint64_t)1 << tap_phase(g, tap);
    return l;
}

static size_t tap_shift(const sl_conv_geom *g, const layout *l, size_t tap)
{
    size_t i = tap / g->kw, j = tap % g->kw;
    return i * g->dh / g->sh * l->wq + j * g->dw / g->sw;
}

/* scratch: grid and dgrid (phases C_in plane each), dY' or Y' (C_out row), the products' own */
static size_t grid_size(const sl_conv_geom *g, const layout *l) { return l->phases * g->c_in * l->plane; }

size_t sl_conv_grid_scratch(const sl_conv_geom *g)
{
    layout l = layout_of(g);
    size_t nw = g->c_out * g->c_in * l.taps;
    return 2 * grid_size(g, &l) + g->c_out * l.row + sl_gemm_taps_scratch(1, nw);
}

/* The phases of the zero-padded input that some tap reads. */
static void build_grid(const sl_conv_geom *g, const layout *l, sl_conv_in x, sl_real *grid)
{
    for (size_t rh = 0; rh < g->sh; rh++)
        for (size_t rw = 0; rw < g->sw; rw++) {
            size_t ulo, uhi;
            if (!(l->used >> (rh * g->sw + rw) & 1)) continue; /* no tap reads it */
            sl_nn_valid_range((long)rw - (long)g->pw, g->sw, g->w_in, l->wq, &ulo, &uhi);
            for (size_t c = 0; c < g->c_in; c++) {
                sl_real *pl = grid + ((rh * g->sw + rw) * g->c_in + c) * l->plane;
                memset(pl + l->core, 0, (l->plane - l->core) * sizeof *pl);
                for (size_t q = 0; q < l->hq; q++) {
                    sl_real *restrict r = pl + q * l->wq;
                    long h = (long)(q * g->sh + rh) - (long)g->ph;
                    if (h < 0 || h >= (long)g->h_in || ulo >= uhi) {
                        memset(r, 0, l->wq * sizeof *r);
                        continue;
                    }
                    /* u in [ulo, uhi) reads input column u sw + rw - pw */
                    const sl_real *restrict xs = x.p + c * x.cs + (size_t)h * x.hs + (ulo * g->sw + rw - g->pw);
                    for (size_t u = 0; u < ulo; u++) r[u] = 0;
                    if (g->sw == 1) memcpy(r + ulo, xs, (uhi - ulo) * sizeof *r);
                    else
                        for (size_t u = 0; u < uhi - ulo; u++) r[ulo + u] = xs[u * g->sw];
                    for (size_t u = uhi; u < l->wq; u++) r[u] = 0;
                }
            }
        }
}

static void grid_taps(const sl_conv_geom *g, const layout *l, const sl_real *grid, ptrdiff_t *toff, sl_taps *b)
{
    for (size_t tap = 0; tap < l->taps; tap++)
        toff[tap] = (ptrdiff_t)(tap_phase(g, tap) * g->c_in * l->plane + tap_shift(g, l, tap));
    *b = (sl_taps){.b = grid, .c = g->c_in, .t = l->taps, .cs = l->plane, .toff = toff};
}

void sl_conv_grid_forward(const sl_conv_geom *g, const sl_real *w, const sl_real *bias, sl_conv_in x, sl_conv_out y,
                          sl_real *scratch)
{
    layout l = layout_of(g);
    sl_real *grid = scratch, *yq = scratch + 2 * grid_size(g, &l), *gs = yq + g->c_out * l.row;
    ptrdiff_t toff[SL_CONV_MAX_TAPS];
    sl_taps b;
    build_grid(g, &l, x, grid);
    grid_taps(g, &l, grid, toff, &b);
    /* Y' (C_out, n_out; ld plane) = w (C_out, C_in KH KW) B */
    sl_gemm_taps(SL_GEMM_AUTO, g->c_out, l.n_out, w, g->c_in * l.taps, &b, yq, l.plane, 0, gs);
    for (size_t o = 0; o < g->c_out; o++) {
        const sl_real bo = bias ? bias[o] : 0;
        for (size_t oh = 0; oh < g->h_out; oh++) {
            const sl_real *restrict src = yq + o * l.plane + oh * l.wq;
            sl_real *restrict dst = y.p + o * y.cs + oh * y.hs;
            for (size_t ow = 0; ow < g->w_out; ow++) dst[ow] = src[ow] + bo;
        }
    }
}

void sl_conv_grid_prepare(const sl_conv_geom *g, const sl_real *w, sl_real *wt)
{
    layout l = layout_of(g);
    /* per phase p with taps t_0 < t_1 < ... (T_p of them): wt_p (C_in, C_out T_p),
     * wt_p[c][o T_p + j] = w[o][c][t_j]; the phases one after the other */
    size_t list[SL_CONV_MAX_TAPS];
    for (size_t p = 0; p < l.phases; p++) {
        size_t tp = 0;
        for (size_t tap = 0; tap < l.taps; tap++)
            if (tap_phase(g, tap) == p) list[tp++] = tap;
        for (size_t c = 0; c < g->c_in; c++)
            for (size_t o = 0; o < g->c_out; o++) {
                const sl_real *restrict src = w + (o * g->c_in + c) * l.taps;
                for (size_t j = 0; j < tp; j++) wt[j] = src[list[j]];
                wt += tp;
            }
    }
}

/* dx from the phases' gradients: input (h, w) is padded (h + ph, w + pw), in phase
 * ((h + ph) mod sh, (w + pw) mod sw) at ((h + ph) / sh, (w + pw) / sw), or in no grid that a tap
 * reads (a position no output reads: gradient 0). */
static void gather_dx(const sl_conv_geom *g, const layout *l, const sl_real *dgrid, sl_conv_out dx, int assign)
{
    for (size_t c = 0; c < g->c_in; c++)
        for (size_t h = 0; h < g->h_in; h++) {
            size_t hp = h + g->ph, rh = hp % g->sh, q = hp / g->sh;
            sl_real *restrict d = dx.p + c * dx.cs + h * dx.hs;
            int copied = 0;
            for (size_t rw = 0; rw < g->sw; rw++) {
                size_t p = rh * g->sw + rw, ulo, uhi;
                if (!(l->used >> p & 1) || q >= l->hq) continue;
                sl_nn_valid_range((long)rw - (long)g->pw, g->sw, g->w_in, l->wq, &ulo, &uhi);
                if (ulo >= uhi) continue;
                const sl_real *restrict s = dgrid + (p * g->c_in + c) * l->plane + q * l->wq + ulo;
                size_t w0 = ulo * g->sw + rw - g->pw, cnt = uhi - ulo;
                if (assign && g->sw == 1 && w0 == 0 && cnt == g->w_in) { /* the whole row, at once */
                    memcpy(d, s, cnt * sizeof *d);
                    copied = 1;
                    continue;
                }
                if (assign && !copied) {
                    memset(d, 0, g->w_in * sizeof *d);
                    copied = 1;
                }
                sl_real *restrict dd = d + w0;
                if (g->sw == 1)
                    for (size_t u = 0; u < cnt; u++) dd[u] += s[u];
                else
                    for (size_t u = 0; u < cnt; u++) dd[u * g->sw] += s[u];
            }
            if (assign && !copied) memset(d, 0, g->w_in * sizeof *d);
        }
}

void sl_conv_grid_backward(const sl_conv_geom *g, const sl_real *wt, sl_conv_in x, sl_conv_in dy, sl_conv_out dx,
                           int assign, sl_real *dw, sl_real *db, sl_real *scratch)
{
    layout l = layout_of(g);
    sl_real *grid = scratch, *dgrid = grid + grid_size(g, &l), *dyq = dgrid + grid_size(g, &l);
    sl_real *gs = dyq + g->c_out * l.row;
    ptrdiff_t toff[SL_CONV_MAX_TAPS];
    sl_taps b;
    /* dY': front zeros, then dy on the output grid with the dropped columns (and rows beyond
     * H_out) zero */
    for (size_t o = 0; o < g->c_out; o++) {
        sl_real *restrict r = dyq + o * l.row;
        memset(r, 0, l.front * sizeof *r);
        sl_real lanes[8] = {0}; /* the bias gradient in eight partial sums, so the loop vectorises */
        for (size_t oh = 0; oh < l.hq; oh++) {
            sl_real *restrict dst = r + l.front + oh * l.wq;
            if (oh >= g->h_out) {
                memset(dst, 0, l.wq * sizeof *dst);
                continue;
            }
            const sl_real *restrict src = dy.p + o * dy.cs + oh * dy.hs;
            memcpy(dst, src, g->w_out * sizeof *dst);
            memset(dst + g->w_out, 0, (l.wq - g->w_out) * sizeof *dst);
            if (!db) continue;
            size_t ow = 0;
            for (; ow + 8 <= g->w_out; ow += 8)
                for (size_t q = 0; q < 8; q++) lanes[q] += src[ow + q];
            for (; ow < g->w_out; ow++) lanes[0] += src[ow];
        }
        memset(r + l.front + l.core, 0, (l.plane - l.core) * sizeof *r);
        if (db)
            for (size_t q = 0; q < 8; q++) db[o] += lanes[q];
    }
    build_grid(g, &l, x, grid);
    grid_taps(g, &l, grid, toff, &b);
    /* dW (C_out, C_in KH KW) += dY' (C_out, n_out) B^T */
    sl_gemm_taps_t(SL_GEMM_AUTO, g->c_out, l.n_out, dyq + l.front, l.row, &b, dw, g->c_in * l.taps, gs);
    if (!dx.p) return;
    /* each phase of dgrid: dgrid_p (C_in, plane) = wt_p (C_in, C_out T_p) dY'' with row (o, j)
     * of dY'' = dY' row o shifted back by tap t_j's offset: dgrid_p[r] = sum w dY'[r - shift] */
    for (size_t p = 0; p < l.phases; p++) {
        size_t tp = 0;
        for (size_t tap = 0; tap < l.taps; tap++)
            if (tap_phase(g, tap) == p) toff[tp++] = (ptrdiff_t)(l.front - tap_shift(g, &l, tap));
        if (tp) {
            sl_taps bt = {.b = dyq, .c = g->c_out, .t = tp, .cs = l.row, .toff = toff};
            sl_gemm_taps(SL_GEMM_AUTO, g->c_in, l.plane, wt, g->c_out * tp, &bt, dgrid + p * g->c_in * l.plane,
                         l.plane, 0, gs);
        }
        wt += g->c_in * g->c_out * tp;
    }
    gather_dx(g, &l, dgrid, dx, assign);
}
