/* Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11; the generator of Random123,
 * cuRAND and NumPy's Philox). A draw depends only on (key, counter): there is no hidden state, so
 * the same (seed, epoch, example) gives the same numbers on any thread, in any order.
 *
 * Use: sl_rng r = sl_rng_make(seed, stream); then sl_rng_u32(&r), sl_rng_uniform(&r), ...
 * The sl_rng value is small and owned by the caller; copy it freely. Each call advances the
 * caller's own counter. Two generators with different (seed, stream) never share draws. */
#ifndef SIGLOOP_RNG_H
#define SIGLOOP_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t key[2];     /* from the seed */
    uint32_t ctr[4];     /* ctr[2..3] = stream, ctr[0..1] = block index */
    uint32_t buf[4];     /* the current output block */
    unsigned used;       /* words of buf already handed out (4 = empty) */
} sl_rng;

/* A generator for (seed, stream); stream separates uses of one seed (e.g. epoch << 32 | example). */
sl_rng sl_rng_make(uint64_t seed, uint64_t stream);

/* One Philox4x32-10 block: out = philox(ctr, key). Exposed for tests against published vectors. */
void sl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

uint32_t sl_rng_u32(sl_rng *r);
uint64_t sl_rng_u64(sl_rng *r);
/* Uniform in [0, 1) with 24 (float) or 53 (double) random bits. */
float sl_rng_uniform(sl_rng *r);
double sl_rng_uniform_double(sl_rng *r);
/* Uniform integer in [0, n), without modulo bias (Lemire's method); n > 0 (n = 0 gives 0). */
uint32_t sl_rng_below(sl_rng *r, uint32_t n);
/* Standard normal (Box-Muller on two uniforms). */
double sl_rng_normal(sl_rng *r);

/* Gamma(shape, 1) (Marsaglia and Tsang's method; shape < 1 boosted), 0 for shape <= 0; and
 * Beta(a, b) as X / (X + Y) of two gamma draws (mixup's mixing weight: Beta(alpha, alpha)). */
double sl_rng_gamma(sl_rng *r, double shape);
double sl_rng_beta(sl_rng *r, double a, double b);

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of a byte string under the 128-bit key (k0, k1), with
 * k0 and k1 read little-endian as in the reference code. */
uint64_t sl_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len);

/* A stable 64-bit hash of a byte string and a seed: SipHash-2-4 keyed with (seed, ~seed). Used
 * for hash-based splits: the same string and seed give the same value on every machine and in
 * every version of sigloop. */
uint64_t sl_hash64(const void *data, size_t len, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
