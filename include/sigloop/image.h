/* Images for reports: PNG files written in memory without zlib or libpng (the image data goes in
 * uncompressed deflate blocks, so files are about as large as the raw pixels), Base64 for
 * embedding them in HTML as data: URIs, the viridis colour map, and heat maps of matrices
 * (spectrograms, confusion matrices, weights) drawn through it. Nothing here keeps state between
 * calls; every buffer handed back is the caller's to free. */
#ifndef SIGLOOP_IMAGE_H
#define SIGLOOP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest width or height, in pixels, of an image written by sigloop. */
#define SL_PNG_MAX_SIDE 16384

/* An 8-bit RGB image (row-major, 3 bytes per pixel, top row first) as a complete PNG file in
 * memory: signature, IHDR (bit depth 8, colour type 2, no interlace), one IDAT holding a zlib
 * stream of stored (uncompressed) deflate blocks, IEND. The same pixels always give the same
 * bytes. width and height must be in [1, SL_PNG_MAX_SIDE] (SL_EARG otherwise). On success *out is
 * a malloc'd buffer of *len bytes that the caller frees; on error *out is NULL and *len is 0. */
sl_status sl_png_encode_rgb(const uint8_t *rgb, size_t width, size_t height, uint8_t **out, size_t *len);

/* len bytes as Base64 (RFC 4648 section 4: the standard alphabet, '=' padding, no line breaks),
 * NUL-terminated in a malloc'd string that the caller frees ("" for len 0). On error *out is
 * NULL. */
sl_status sl_base64(const uint8_t *in, size_t len, char **out);

/* The colour of v in [0, 1] on matplotlib's viridis map (dark blue-violet #440154 at 0, yellow
 * #fde725 at 1; perceptually uniform, lightness increasing), linearly interpolated in its
 * 256-entry table. v is clamped to [0, 1]; NaN gives the colour of 0. */
void sl_colormap(double v, uint8_t rgb[3]);

/* A rows x cols matrix (row-major) as a PNG heat map: each value mapped linearly from [lo, hi] to
 * [0, 1] and coloured with sl_colormap (values outside are clamped, NaN cells get the colour of
 * lo), each cell drawn as a scale x scale block of pixels. Row 0 is at the top of the image, or at
 * the bottom when flip_rows is non-zero (spectrograms: low frequencies at the bottom). lo and hi
 * must be finite with lo < hi, rows, cols and scale >= 1, and the image at most SL_PNG_MAX_SIDE
 * pixels on each side (SL_EARG otherwise). Output as for sl_png_encode_rgb. */
sl_status sl_heatmap_png(const float *m, size_t rows, size_t cols, int flip_rows, double lo, double hi,
                         size_t scale, uint8_t **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
