/* PNG writing, Base64, the viridis colour map and heat maps: Base64 against RFC 4648's vectors, a
 * small PNG byte for byte against one made by Python's zlib, large PNGs taken apart by an
 * independent reader here (bitwise CRC-32, stored-block inflater, plain Adler-32), the colour map
 * against viridis's published colours and its ordering, and heat maps pixel by pixel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigloop/image.h"

/* ---- an independent PNG reader for what sl_png_encode_rgb writes ---- */

/* CRC-32 (ISO-HDLC) bit by bit, no table. */
static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* Adler-32 straight from RFC 1950 section 8.2, reducing after every byte. */
static uint32_t adler32_plain(const uint8_t *p, size_t n)
{
    uint32_t s1 = 1, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s1 = (s1 + p[i]) % 65521u;
        s2 = (s2 + s1) % 65521u;
    }
    return s2 << 16 | s1;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct {
    uint32_t width, height;
    uint8_t *raw; /* the inflated scanlines, filter bytes included (caller frees) */
    size_t raw_len;
    size_t blocks; /* stored blocks in the deflate stream */
} decoded_png;

/* Checks the signature, the chunk sequence IHDR IDAT IEND and every CRC, IHDR's fields, the zlib
 * header, each stored block's LEN / NLEN and BFINAL, and the Adler-32; fails the test otherwise. */
static decoded_png decode_png(const uint8_t *png, size_t len)
{
    static const uint8_t signature[8] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a};
    decoded_png d = {0, 0, NULL, 0, 0};
    if (len < 8 || memcmp(png, signature, 8) != 0) fail_msg("bad PNG signature");
    static const char *const order[3] = {"IHDR", "IDAT", "IEND"};
    size_t pos = 8;
    for (int k = 0; k < 3; k++) {
        if (pos + 12 > len) fail_msg("chunk %d: truncated at byte %zu", k, pos);
        size_t n = get32(png + pos);
        if (n > len - pos - 12) fail_msg("chunk %d: length %zu runs past the end", k, n);
        const uint8_t *type = png + pos + 4, *data = png + pos + 8;
        if (memcmp(type, order[k], 4) != 0) fail_msg("chunk %d is %.4s, want %s", k, (const char *)type, order[k]);
        uint32_t want = crc32_bitwise(type, n + 4), got = get32(data + n);
        if (got != want) fail_msg("%s: CRC %08x, want %08x", order[k], (unsigned)got, (unsigned)want);
        if (k == 0) {
            assert_int_equal(n, 13);
            d.width = get32(data);
            d.height = get32(data + 4);
            assert_int_equal(data[8], 8);  /* bit depth */
            assert_int_equal(data[9], 2);  /* RGB */
            assert_int_equal(data[10], 0); /* compression */
            assert_int_equal(data[11], 0); /* filter method */
            assert_int_equal(data[12], 0); /* interlace */
        } else if (k == 1) {
            /* zlib: CM 8, no preset dictionary, (CMF, FLG) a multiple of 31; Adler-32 at the end */
            if (n < 2 + 5 + 4) fail_msg("IDAT too short (%zu bytes)", n);
            assert_int_equal(data[0] & 0x0f, 8);
            assert_true((data[0] >> 4) <= 7);
            assert_int_equal(data[1] & 0x20, 0);
            assert_int_equal((data[0] * 256 + data[1]) % 31, 0);
            const uint8_t *z = data + 2, *zend = data + n - 4;
            size_t cap = n; /* the inflated data is shorter than the stream */
            d.raw = malloc(cap);
            assert_non_null(d.raw);
            int final = 0;
            while (!final) {
                if (zend - z < 5) fail_msg("stored block %zu: header runs past the stream", d.blocks);
                if ((z[0] >> 1 & 3) != 0) fail_msg("block %zu: BTYPE %d, want 0 (stored)", d.blocks, z[0] >> 1 & 3);
                if (z[0] >> 3) fail_msg("block %zu: padding bits not zero", d.blocks);
                final = z[0] & 1;
                unsigned blen = z[1] | z[2] << 8, nlen = z[3] | z[4] << 8;
                if ((blen ^ nlen) != 0xffff) fail_msg("block %zu: LEN %04x NLEN %04x", d.blocks, blen, nlen);
                z += 5;
                if ((size_t)(zend - z) < blen) fail_msg("block %zu: %u bytes run past the stream", d.blocks, blen);
                memcpy(d.raw + d.raw_len, z, blen);
                d.raw_len += blen;
                z += blen;
                d.blocks++;
            }
            if (z != zend) fail_msg("%zu bytes between the final block and the Adler-32", (size_t)(zend - z));
            uint32_t a = adler32_plain(d.raw, d.raw_len);
            if (get32(zend) != a) fail_msg("Adler-32 %08x, want %08x", (unsigned)get32(zend), (unsigned)a);
        } else {
            assert_int_equal(n, 0);
        }
        pos += 12 + n;
    }
    if (pos != len) fail_msg("%zu bytes after IEND", len - pos);
    return d;
}

/* Pixel (x, y) of a decoded image whose scanlines all use filter 0. */
static const uint8_t *pixel(const decoded_png *d, size_t x, size_t y)
{
    return d->raw + y * (1 + 3 * (size_t)d->width) + 1 + 3 * x;
}

/* ---- Base64 ---- */

static void test_base64_rfc4648(void **state)
{
    (void)state;
    static const char *const v[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char *s = NULL;
        assert_int_equal(sl_base64((const uint8_t *)v[i][0], strlen(v[i][0]), &s), SL_OK);
        assert_non_null(s);
        if (strcmp(s, v[i][1]) != 0) fail_msg("base64(\"%s\") = \"%s\", want \"%s\"", v[i][0], s, v[i][1]);
        free(s);
    }
    /* the last two alphabet characters (fb ff bf -> "+/+/"), and zero and 0xff bytes */
    static const uint8_t bin[] = {0xfb, 0xff, 0xbf, 0x00, 0xff};
    char *s = NULL;
    assert_int_equal(sl_base64(bin, sizeof bin, &s), SL_OK);
    assert_string_equal(s, "+/+/AP8=");
    free(s);
    s = (char *)1;
    assert_int_equal(sl_base64(NULL, 3, &s), SL_EARG);
    assert_null(s);
}

/* ---- PNG ---- */

/* The 3 x 2 image red green blue / black grey white. Made once with Python 3 (zlib 1.2.13):
 *   pix = bytes([255,0,0, 0,255,0, 0,0,255, 0,0,0, 128,128,128, 255,255,255])
 *   raw = b''.join(b'\0' + pix[9*y:9*y+9] for y in range(2))
 *   chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
 *   png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 3, 2, 8, 2, 0, 0, 0))
 *          + chunk(b'IDAT', zlib.compress(raw, 0)) + chunk(b'IEND', b''))
 * zlib.compress at level 0 writes header 78 01 and one final stored block. */
static const uint8_t png_3x2[88] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
    0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02,
    0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1, 0x4d, 0x00, 0x00, 0x00,
    0x1f, 0x49, 0x44, 0x41, 0x54, 0x78, 0x01, 0x01, 0x14, 0x00, 0xeb, 0xff,
    0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00,
    0x00, 0x00, 0x80, 0x80, 0x80, 0xff, 0xff, 0xff, 0x3a, 0x61, 0x07, 0x7b,
    0x94, 0x39, 0x5b, 0xf3, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
};

static void test_png_reference(void **state)
{
    (void)state;
    static const uint8_t pix[18] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 128, 128, 128, 255, 255, 255};
    uint8_t *png = NULL;
    size_t len = 0;
    assert_int_equal(sl_png_encode_rgb(pix, 3, 2, &png, &len), SL_OK);
    assert_int_equal(len, sizeof png_3x2);
    for (size_t i = 0; i < len; i++)
        if (png[i] != png_3x2[i]) fail_msg("byte %zu: %02x, want %02x", i, png[i], png_3x2[i]);
    /* the reader below accepts the reference itself */
    decoded_png d = decode_png(png_3x2, sizeof png_3x2);
    assert_int_equal(d.width, 3);
    assert_int_equal(d.height, 2);
    assert_int_equal(d.blocks, 1);
    free(d.raw);
    free(png);
}

/* Images over 64 KiB of scanlines: several stored blocks, every byte where it belongs. 428 x 102
 * gives exactly two full blocks (102 * 1285 = 2 * 65535): no empty block may follow. */
static void test_png_large(void **state)
{
    (void)state;
    static const size_t sizes[][2] = {{300, 250}, {428, 102}, {SL_PNG_MAX_SIDE, 1}, {1, 1}};
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        size_t w = sizes[c][0], h = sizes[c][1], stride = 1 + 3 * w;
        uint8_t *pix = malloc(3 * w * h), *want = malloc(h * stride);
        assert_true(pix && want);
        for (size_t y = 0; y < h; y++)
            for (size_t x = 0; x < w; x++)
                for (size_t k = 0; k < 3; k++) {
                    uint8_t v = (uint8_t)(x * 7 + y * 13 + k * 101 + (x * y >> 3));
                    pix[3 * (y * w + x) + k] = v;
                    want[y * stride + 1 + 3 * x + k] = v;
                }
        for (size_t y = 0; y < h; y++) want[y * stride] = 0;
        uint8_t *png = NULL;
        size_t len = 0;
        assert_int_equal(sl_png_encode_rgb(pix, w, h, &png, &len), SL_OK);
        decoded_png d = decode_png(png, len);
        assert_int_equal(d.width, w);
        assert_int_equal(d.height, h);
        assert_int_equal(d.raw_len, h * stride);
        assert_int_equal(d.blocks, (h * stride + 65534) / 65535);
        if (memcmp(d.raw, want, d.raw_len) != 0) {
            size_t i = 0;
            while (d.raw[i] == want[i]) i++;
            fail_msg("%zu x %zu: scanline byte %zu is %d, want %d", w, h, i, d.raw[i], want[i]);
        }
        /* the file is exactly its parts: 8 + 25 + (12 + 2 + 5 per block + data + 4) + 12 */
        assert_int_equal(len, 8 + 25 + 12 + 2 + 5 * d.blocks + h * stride + 4 + 12);
        free(d.raw);
        free(png);
        free(pix);
        free(want);
    }
}

static void test_png_errors(void **state)
{
    (void)state;
    uint8_t pix[3] = {1, 2, 3}, *png = (uint8_t *)pix;
    size_t len = 99;
    static const size_t bad[][2] = {{0, 1}, {1, 0}, {0, 0}, {SL_PNG_MAX_SIDE + 1, 1}, {1, SL_PNG_MAX_SIDE + 1}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        png = pix;
        len = 99;
        assert_int_equal(sl_png_encode_rgb(pix, bad[i][0], bad[i][1], &png, &len), SL_EARG);
        assert_null(png);
        assert_int_equal(len, 0);
        if (!strstr(sl_last_error(), "16384")) fail_msg("message does not give the limit: %s", sl_last_error());
    }
    assert_int_equal(sl_png_encode_rgb(NULL, 1, 1, &png, &len), SL_EARG);
    assert_null(png);
}

/* ---- colour map ---- */

static double srgb_to_linear(uint8_t c)
{
    double x = c / 255.0;
    return x <= 0.04045 ? x / 12.92 : pow((x + 0.055) / 1.055, 2.4);
}

/* CIE L* (D65) of an sRGB colour. */
static double lightness(const uint8_t rgb[3])
{
    double y = 0.2126 * srgb_to_linear(rgb[0]) + 0.7152 * srgb_to_linear(rgb[1]) + 0.0722 * srgb_to_linear(rgb[2]);
    return y > 216.0 / 24389 ? 116 * cbrt(y) - 16 : y * 24389.0 / 27;
}

static void expect_colour(double v, int r, int g, int b, int tol)
{
    uint8_t c[3];
    sl_colormap(v, c);
    if (abs(c[0] - r) > tol || abs(c[1] - g) > tol || abs(c[2] - b) > tol)
        fail_msg("colormap(%g) = (%d, %d, %d), want (%d, %d, %d) within %d", v, c[0], c[1], c[2], r, g, b, tol);
}

static void test_colormap(void **state)
{
    (void)state;
    /* the ends of viridis exactly, and its five-colour palette #440154 #3b528b #21918c #5ec962
     * #fde725 within one level (that palette samples matplotlib's table without interpolating) */
    expect_colour(0, 0x44, 0x01, 0x54, 0);
    expect_colour(1, 0xfd, 0xe7, 0x25, 0);
    expect_colour(0.25, 0x3b, 0x52, 0x8b, 1);
    expect_colour(0.5, 0x21, 0x91, 0x8c, 1);
    expect_colour(0.75, 0x5e, 0xc9, 0x62, 1);
    /* matplotlib's table entries k, to 8 bits, exactly at v = k / 255 (its five-colour palette is
     * entries 0, 64, 128, 192 and 255) */
    static const struct {
        int k, r, g, b;
    } entry[] = {
        {32, 71, 45, 123},  {64, 0x3b, 0x52, 0x8b}, {96, 44, 114, 142},  {128, 0x21, 0x91, 0x8c},
        {160, 40, 174, 128}, {192, 0x5e, 0xc9, 0x62}, {224, 173, 220, 48},
    };
    for (size_t i = 0; i < sizeof entry / sizeof *entry; i++)
        expect_colour(entry[i].k / 255.0, entry[i].r, entry[i].g, entry[i].b, 0);
    /* Every colour at steps of 0.001, pinned by a 32-bit FNV-1a of the 3003 bytes. Computed offline
     * in Python with matplotlib's _viridis_data and the same interpolation and rounding (a change
     * anywhere in the table or the arithmetic shows up here). */
    uint32_t fnv = 0x811c9dc5u;
    for (int i = 0; i <= 1000; i++) {
        uint8_t c[3];
        sl_colormap(i / 1000.0, c);
        for (int k = 0; k < 3; k++) fnv = (fnv ^ c[k]) * 0x01000193u;
    }
    if (fnv != 0xb6cf1cd3u) fail_msg("colours at steps of 0.001 hash to %08x, want b6cf1cd3", (unsigned)fnv);
    /* clamping */
    expect_colour(-0.001, 0x44, 0x01, 0x54, 0);
    expect_colour(-1e300, 0x44, 0x01, 0x54, 0);
    expect_colour(-INFINITY, 0x44, 0x01, 0x54, 0);
    expect_colour(NAN, 0x44, 0x01, 0x54, 0);
    expect_colour(1.001, 0xfd, 0xe7, 0x25, 0);
    expect_colour(1e300, 0xfd, 0xe7, 0x25, 0);
    expect_colour(INFINITY, 0xfd, 0xe7, 0x25, 0);
    /* Viridis is ordered by lightness. In steps of 0.01 (checked offline against the table): CIE L*
     * strictly increases, and so do (not strictly) green and R + G + B; red and blue alone do not. */
    uint8_t prev[3];
    sl_colormap(0, prev);
    for (int i = 1; i <= 100; i++) {
        uint8_t c[3];
        sl_colormap(i / 100.0, c);
        if (!(lightness(c) > lightness(prev)))
            fail_msg("L* falls from %.2f to %.2f at v = %.2f", lightness(prev), lightness(c), i / 100.0);
        if (c[1] < prev[1]) fail_msg("green falls at v = %.2f", i / 100.0);
        if (c[0] + c[1] + c[2] < prev[0] + prev[1] + prev[2]) fail_msg("R+G+B falls at v = %.2f", i / 100.0);
        memcpy(prev, c, 3);
    }
    /* interpolated, not looked up: no channel moves by more than 1 level per 0.001 (neighbouring
     * table entries differ by up to 2.7 levels) */
    sl_colormap(0, prev);
    for (int i = 1; i <= 1000; i++) {
        uint8_t c[3];
        sl_colormap(i / 1000.0, c);
        for (int k = 0; k < 3; k++)
            if (abs(c[k] - prev[k]) > 1)
                fail_msg("channel %d jumps %d -> %d at v = %.3f", k, prev[k], c[k], i / 1000.0);
        memcpy(prev, c, 3);
    }
}

/* ---- heat maps ---- */

/* Decodes a heat map and checks every pixel against the colour of its cell. */
static void check_heatmap(const float *m, size_t rows, size_t cols, int flip, double lo, double hi, size_t scale)
{
    uint8_t *png = NULL;
    size_t len = 0;
    assert_int_equal(sl_heatmap_png(m, rows, cols, flip, lo, hi, scale, &png, &len), SL_OK);
    decoded_png d = decode_png(png, len);
    assert_int_equal(d.width, cols * scale);
    assert_int_equal(d.height, rows * scale);
    for (size_t y = 0; y < d.height; y++) {
        assert_int_equal(d.raw[y * (1 + 3 * (size_t)d.width)], 0);
        size_t r = flip ? rows - 1 - y / scale : y / scale;
        for (size_t x = 0; x < d.width; x++) {
            uint8_t want[3];
            sl_colormap(((double)m[r * cols + x / scale] - lo) / (hi - lo), want);
            if (memcmp(pixel(&d, x, y), want, 3) != 0)
                fail_msg("pixel (%zu, %zu): not the colour of cell (%zu, %zu)", x, y, r, x / scale);
        }
    }
    free(d.raw);
    free(png);
}

static void test_heatmap(void **state)
{
    (void)state;
    enum { R = 3, C = 4 };
    float m[R * C];
    for (int i = 0; i < R * C; i++) m[i] = (float)i; /* a colour per cell */
    m[5] = -3;  /* clamped to lo */
    m[6] = NAN; /* the colour of lo */
    m[7] = 100; /* clamped to hi */
    check_heatmap(m, R, C, 1, 0, 11, 5);
    check_heatmap(m, R, C, 0, 0, 11, 5);
    check_heatmap(m, R, C, 1, -2.5, 20, 1);

    /* the corners, spelled out: with flip_rows the top-left pixel is the last row's first cell */
    uint8_t *png = NULL;
    size_t len = 0;
    uint8_t first[3], last_row[3], top_right[3];
    sl_colormap(0.0, first);
    sl_colormap(8.0 / 11, last_row);
    sl_colormap(11.0 / 11, top_right);
    assert_int_equal(sl_heatmap_png(m, R, C, 1, 0, 11, 5, &png, &len), SL_OK);
    decoded_png d = decode_png(png, len);
    assert_int_equal(d.width, 20);
    assert_int_equal(d.height, 15);
    assert_memory_equal(pixel(&d, 0, 0), last_row, 3);
    assert_memory_equal(pixel(&d, 4, 4), last_row, 3);
    assert_memory_equal(pixel(&d, 19, 0), top_right, 3);
    assert_memory_equal(pixel(&d, 0, 14), first, 3);
    assert_memory_not_equal(pixel(&d, 5, 0), last_row, 3); /* the next cell starts at x = 5 */
    free(d.raw);
    free(png);
    assert_int_equal(sl_heatmap_png(m, R, C, 0, 0, 11, 5, &png, &len), SL_OK);
    d = decode_png(png, len);
    assert_memory_equal(pixel(&d, 0, 0), first, 3);
    free(d.raw);
    free(png);
}

static void test_heatmap_errors(void **state)
{
    (void)state;
    float m[4] = {0, 1, 2, 3};
    uint8_t *png = (uint8_t *)m;
    size_t len = 7;
    assert_int_equal(sl_heatmap_png(m, 2, 2, 0, 1, 1, 1, &png, &len), SL_EARG); /* lo == hi */
    assert_null(png);
    assert_int_equal(len, 0);
    assert_int_equal(sl_heatmap_png(m, 2, 2, 0, 2, 1, 1, &png, &len), SL_EARG); /* lo > hi */
    assert_int_equal(sl_heatmap_png(m, 2, 2, 0, NAN, 1, 1, &png, &len), SL_EARG);
    assert_int_equal(sl_heatmap_png(m, 2, 2, 0, 0, INFINITY, 1, &png, &len), SL_EARG);
    assert_int_equal(sl_heatmap_png(m, 2, 2, 0, 0, 1, 0, &png, &len), SL_EARG); /* scale 0 */
    assert_int_equal(sl_heatmap_png(m, 0, 2, 0, 0, 1, 1, &png, &len), SL_EARG);
    assert_int_equal(sl_heatmap_png(m, 2, 0, 0, 0, 1, 1, &png, &len), SL_EARG);
    assert_int_equal(sl_heatmap_png(m, 2, 2, 0, 0, 1, 8193, &png, &len), SL_EARG); /* 16386 pixels */
    assert_int_equal(sl_heatmap_png(m, 4, 1, 0, 0, 1, 4097, &png, &len), SL_EARG); /* 16388 rows */
    assert_int_equal(sl_heatmap_png(m, 1, 4, 0, 0, 1, 4097, &png, &len), SL_EARG); /* 16388 columns */
    assert_int_equal(sl_heatmap_png(m, 2, 2, 0, 0, 1, SIZE_MAX, &png, &len), SL_EARG);
    assert_int_equal(sl_heatmap_png(NULL, 2, 2, 0, 0, 1, 1, &png, &len), SL_EARG);
    assert_null(png);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_png_reference),
        cmocka_unit_test(test_png_large),
        cmocka_unit_test(test_png_errors),
        cmocka_unit_test(test_colormap),
        cmocka_unit_test(test_heatmap),
        cmocka_unit_test(test_heatmap_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
