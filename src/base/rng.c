/* Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11) and SipHash-2-4. No state is hidden: a draw is a pure function of key and counter.
 *
 * Everything here is defined on 32- and 64-bit integers and on bytes read one at a time, so the
 * results are the same on every host, whatever its byte order; the unit tests pin them. */
#include "sigloop/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* Ten rounds of the Philox S-box, bumping the key between rounds, exactly as Random123's
 * philox4x32_R(10, ...); bumping after the tenth round too is harmless (the key is a copy). */
void sl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

sl_rng sl_rng_make(uint64_t seed, uint64_t stream)
{
    sl_rng r;
    r.key[0] = (uint32_t)seed;
    r.key[1] = (uint32_t)(seed >> 32);
    r.ctr[0] = 0;
    r.ctr[1] = 0;
    r.ctr[2] = (uint32_t)stream;
    r.ctr[3] = (uint32_t)(stream >> 32);
    r.buf[0] = r.buf[1] = r.buf[2] = r.buf[3] = 0;
    r.used = 4;
    return r;
}

uint32_t sl_rng_u32(sl_rng *r)
{
    if (r->used == 4) {
        sl_philox4x32_10(r->ctr, r->key, r->buf);
        if (++r->ctr[0] == 0) ++r->ctr[1]; /* 2^64 blocks per stream */
        r->used = 0;
    }
    return r->buf[r->used++];
}

/* High word first: the order is part of the stream's definition, so it must never change. */
uint64_t sl_rng_u64(sl_rng *r)
{
    uint64_t hi = sl_rng_u32(r);
    return (hi << 32) | sl_rng_u32(r);
}

/* The top 24 bits fill a float's mantissa exactly, so the result is k / 2^24 and never rounds up
 * to 1.0f (a full 32-bit word converted to float would). */
float sl_rng_uniform(sl_rng *r) { return (float)(sl_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

double sl_rng_uniform_double(sl_rng *r)
{
    return (double)(sl_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint32_t sl_rng_below(sl_rng *r, uint32_t n)
{
    /* Lemire's multiply-and-reject ("Fast random integer generation in an interval", 2019):
     * unbiased, one multiplication in the common case; the division only when a draw lands in
     * the short biased zone. n == 0 breaks the contract; 0 avoids a division by zero. */
    if (n == 0) return 0;
    uint64_t m = (uint64_t)sl_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)sl_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double sl_rng_normal(sl_rng *r)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1], so log(0) cannot happen and
     * the largest magnitude is sqrt(-2 log 2^-53) ~ 8.6. Only the cosine half is used: keeping
     * the sine half would put state beside the counter, and a draw must depend on it alone. */
    double u1 = 1.0 - sl_rng_uniform_double(r);
    double u2 = sl_rng_uniform_double(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

double sl_rng_gamma(sl_rng *r, double shape)
{
    if (!(shape > 0)) return 0;
    if (shape < 1) { /* Gamma(a) = Gamma(a + 1) U^(1/a) (Marsaglia and Tsang, section 6) */
        double u = 1.0 - sl_rng_uniform_double(r);
        return sl_rng_gamma(r, shape + 1) * pow(u, 1.0 / shape);
    }
    /* Marsaglia and Tsang, "A simple method for generating gamma variables", 2000 */
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = sl_rng_normal(r), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = 1.0 - sl_rng_uniform_double(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

double sl_rng_beta(sl_rng *r, double a, double b)
{
    double x = sl_rng_gamma(r, a), y = sl_rng_gamma(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}

/* ---- SipHash-2-4 ---------------------------------------------------------------------------- */

/* Written from the paper (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): the
 * message is read as little-endian 64-bit words, the last word holds the remaining bytes and the
 * length modulo 256 in its top byte; 2 rounds per word, 4 at the end. */

static uint64_t rotl64(uint64_t x, unsigned b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND                                                          \
    do {                                                                  \
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);     \
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                          \
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                          \
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);     \
    } while (0)

uint64_t sl_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t v0 = 0x736f6d6570736575ull ^ k0;
    uint64_t v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0;
    uint64_t v3 = 0x7465646279746573ull ^ k1;
    size_t n = len & ~(size_t)7;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t m = 0;
        for (int j = 7; j >= 0; j--) m = (m << 8) | in[i + (size_t)j];
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t j = 0; j < (len & 7); j++) b |= (uint64_t)in[n + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* (seed, ~seed) rather than (seed, 0) so that no seed gives an all-zero key. This construction is
 * frozen: hash-based splits store nothing but the seed, so changing it would silently move
 * examples between train, validation and test. */
uint64_t sl_hash64(const void *data, size_t len, uint64_t seed)
{
    return sl_siphash24(seed, ~seed, data, len);
}
