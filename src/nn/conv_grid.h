/* Ungrouped convolutions of one image, as matrix products over a padded grid (conv1d and conv2d
 * both run on this; a block of 1-D examples is an image whose rows are the examples).
 *
 * The zero-padded input is split into its stride phases, each a (C_in, Hq, Wq) grid:
 *     grid[rh sw + rw][c][q][u] = xpad[c][q sh + rh][u sw + rw]
 * with Hq = H_out + (KH - 1) dh / sh and Wq = W_out + (KW - 1) dw / sw. Tap (i, j) of output
 * (oh, ow) reads phase (i dh mod sh, j dw mod sw) at (oh + i dh / sh, ow + j dw / sw), so with the
 * outputs on the same grid (position oh Wq + ow; the last Wq - W_out columns of a row are
 * computed and dropped), every tap is the phase plane shifted by one offset and the convolution
 * is one product Y' = W B over in-place tap rows (gemm_taps.h): no im2col matrix.
 * Backward: dW += dY' B^T over the same rows (dY' zero in the dropped columns), and each phase of
 * dX is again a forward product: dgrid_p = W_p^T (flipped) over dY' shifted by each of the phase's
 * taps, then gathered back into dx. */
#ifndef SIGLOOP_NN_CONV_GRID_H
#define SIGLOOP_NN_CONV_GRID_H

#include <stddef.h>

#include "sigloop/nn.h"

/* Taps (KH KW) a convolution may have. */
#define SL_CONV_MAX_TAPS 1024

typedef struct {
    size_t c_in, h_in, w_in, c_out, h_out, w_out;
    size_t kh, kw, sh, sw, ph, pw, dh, dw;
} sl_conv_geom;

/* Element (c, h, w) of an image at p[c cs + h hs + w]. */
typedef struct {
    const sl_real *p;
    size_t cs, hs;
} sl_conv_in;
typedef struct {
    sl_real *p;
    size_t cs, hs;
} sl_conv_out;

/* Reals of scratch one worker needs. */
size_t sl_conv_grid_scratch(const sl_conv_geom *g);

/* y = w * x + bias (bias may be NULL). w: (C_out, C_in, KH, KW). Overwrites y. */
void sl_conv_grid_forward(const sl_conv_geom *g, const sl_real *w, const sl_real *bias, sl_conv_in x, sl_conv_out y,
                          sl_real *scratch);

/* wt (C_in C_out KH KW reals): the weights backward reads, per stride phase transposed and
 * flipped; made once per backward call, shared by the workers. */
void sl_conv_grid_prepare(const sl_conv_geom *g, const sl_real *w, sl_real *wt);

/* dw (C_out, C_in KH KW) += dy x^T over the taps; db (C_out, or NULL) += the sums of dy;
 * dx (dx.p NULL: not wanted) = (assign) or += the input's gradient, every value written. */
void sl_conv_grid_backward(const sl_conv_geom *g, const sl_real *wt, sl_conv_in x, sl_conv_in dy, sl_conv_out dx,
                           int assign, sl_real *dw, sl_real *db, sl_real *scratch);

#endif
