/* BLAKE2b, RFC 7693, unkeyed. Written from the RFC's description (section 3) and checked against
 * its Appendix A. Words are loaded and stored byte by byte, little-endian, so the digest does not
 * depend on the host's byte order. The digest length is part of the parameter block mixed into
 * h[0], so a 16-byte digest is not the first 16 bytes of the 64-byte one. */
#include "sigloop/hash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint64_t blake2b_iv[8] = {
    0x6A09E667F3BCC908ull, 0xBB67AE8584CAA73Bull, 0x3C6EF372FE94F82Bull, 0xA54FF53A5F1D36F1ull,
    0x510E527FADE682D1ull, 0x9B05688C2B3E6C1Full, 0x1F83D9ABFB41BD6Bull, 0x5BE0CD19137E2179ull,
};

static const uint8_t sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static uint64_t rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

static uint64_t load64(const uint8_t *p) /* little-endian on every host */
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#define G(a, b, c, d, x, y)                  \
    do {                                     \
        v[a] = v[a] + v[b] + (x);            \
        v[d] = rotr64(v[d] ^ v[a], 32);      \
        v[c] = v[c] + v[d];                  \
        v[b] = rotr64(v[b] ^ v[c], 24);      \
        v[a] = v[a] + v[b] + (y);            \
        v[d] = rotr64(v[d] ^ v[a], 16);      \
        v[c] = v[c] + v[d];                  \
        v[b] = rotr64(v[b] ^ v[c], 63);      \
    } while (0)

/* F of RFC 7693 section 3.2: twelve rounds of G over the 16-word working vector. */
static void compress(sl_blake2b *s, const uint8_t block[128], int last)
{
    uint64_t v[16], m[16];
    for (int i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = blake2b_iv[i];
    }
    v[12] ^= s->t[0];
    v[13] ^= s->t[1];
    if (last) v[14] = ~v[14];
    for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
    for (int r = 0; r < 12; r++) {
        const uint8_t *z = sigma[r];
        G(0, 4, 8, 12, m[z[0]], m[z[1]]);
        G(1, 5, 9, 13, m[z[2]], m[z[3]]);
        G(2, 6, 10, 14, m[z[4]], m[z[5]]);
        G(3, 7, 11, 15, m[z[6]], m[z[7]]);
        G(0, 5, 10, 15, m[z[8]], m[z[9]]);
        G(1, 6, 11, 12, m[z[10]], m[z[11]]);
        G(2, 7, 8, 13, m[z[12]], m[z[13]]);
        G(3, 4, 9, 14, m[z[14]], m[z[15]]);
    }
    for (int i = 0; i < 8; i++) s->h[i] ^= v[i] ^ v[i + 8];
}

void sl_blake2b_init(sl_blake2b *s, size_t outlen)
{
    /* outside [1, 64] breaks the contract; clamping keeps final() inside h[] */
    if (outlen < 1) outlen = 1;
    if (outlen > 64) outlen = 64;
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++) s->h[i] = blake2b_iv[i];
    s->h[0] ^= 0x01010000ull ^ (uint64_t)outlen; /* fanout 1, depth 1, no key */
    s->outlen = outlen;
}

static void add_count(sl_blake2b *s, uint64_t n)
{
    s->t[0] += n;
    if (s->t[0] < n) s->t[1]++;
}

void sl_blake2b_update(sl_blake2b *s, const void *data, size_t len)
{
    const uint8_t *in = data;
    while (len > 0) {
        /* The last block must be compressed with the final flag, so a full buffer is only
         * compressed once more input arrives. */
        if (s->buflen == 128) {
            add_count(s, 128);
            compress(s, s->buf, 0);
            s->buflen = 0;
        }
        size_t take = 128 - s->buflen;
        if (take > len) take = len;
        memcpy(s->buf + s->buflen, in, take);
        s->buflen += take;
        in += take;
        len -= take;
    }
}

void sl_blake2b_final(sl_blake2b *s, uint8_t *out)
{
    add_count(s, s->buflen);
    memset(s->buf + s->buflen, 0, 128 - s->buflen);
    compress(s, s->buf, 1);
    for (size_t i = 0; i < s->outlen; i++) out[i] = (uint8_t)(s->h[i / 8] >> (8 * (i % 8)));
}

static void to_hex(const uint8_t *d, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

void sl_hash_bytes(const void *data, size_t len, char hex[SL_HASH_HEX])
{
    sl_blake2b s;
    uint8_t d[16];
    sl_blake2b_init(&s, 16);
    sl_blake2b_update(&s, data, len);
    sl_blake2b_final(&s, d);
    to_hex(d, 16, hex);
}

sl_status sl_hash_file(const char *path, char hex[SL_HASH_HEX])
{
    FILE *f = fopen(path, "rb");
    if (!f) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    sl_blake2b s;
    sl_blake2b_init(&s, 16);
    /* 64 KiB chunks: large enough that the loop costs nothing next to the compression, small
     * enough for the stack of any pool thread. */
    uint8_t buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) sl_blake2b_update(&s, buf, got);
    int err = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (err) return sl_fail(SL_EIO, "%s: read error: %s", path, strerror(err));
    uint8_t d[16];
    sl_blake2b_final(&s, d);
    to_hex(d, 16, hex);
    return SL_OK;
}
