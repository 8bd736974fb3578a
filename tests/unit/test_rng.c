/* Philox4x32-10 against Random123's known answers, the generator's streams and distributions, and
 * SipHash-2-4 / sl_hash64 against the paper's vectors and pinned values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigloop/rng.h"

/* Random123 tests/kat_vectors, the three "philox4x32 10" lines: counter[4], key[2] -> out[4]. */
static void test_philox_known_answers(void **state)
{
    (void)state;
    static const uint32_t v[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int k = 0; k < 3; k++) {
        uint32_t out[4];
        sl_philox4x32_10(v[k], v[k] + 4, out);
        for (int i = 0; i < 4; i++)
            if (out[i] != v[k][6 + i])
                fail_msg("vector %d word %d: %08x, want %08x", k, i, (unsigned)out[i], (unsigned)v[k][6 + i]);
    }
}

/* The generator is exactly Philox over (block index, stream) under the seed's key. */
static void test_rng_layout(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(0x0123456789abcdefull, 0xfedcba9876543210ull);
    assert_int_equal(r.key[0], 0x89abcdef);
    assert_int_equal(r.key[1], 0x01234567);
    assert_int_equal(r.ctr[2], 0x76543210);
    assert_int_equal(r.ctr[3], 0xfedcba98);
    for (uint32_t block = 0; block < 6; block++) {
        uint32_t ctr[4] = {block, 0, 0x76543210, 0xfedcba98}, out[4];
        sl_philox4x32_10(ctr, r.key, out);
        for (int i = 0; i < 4; i++) assert_int_equal(sl_rng_u32(&r), out[i]);
    }
    /* u64 is the next two words, the first one high */
    sl_rng a = sl_rng_make(5, 6), b = a;
    uint64_t hi = sl_rng_u32(&b), lo = sl_rng_u32(&b);
    assert_true(sl_rng_u64(&a) == (hi << 32 | lo));
    /* seed 0, stream 0 starts with the first Random123 vector */
    sl_rng z = sl_rng_make(0, 0);
    assert_int_equal(sl_rng_u32(&z), 0x6627e8d5);
    assert_int_equal(sl_rng_u32(&z), 0xe169c58d);
}

static void test_rng_streams(void **state)
{
    (void)state;
    sl_rng a = sl_rng_make(42, 7), b = sl_rng_make(42, 7);
    sl_rng c = sl_rng_make(42, 8), d = sl_rng_make(43, 7);
    sl_rng e = sl_rng_make(42, 7ull | 1ull << 32); /* the stream's high word counts too */
    int same_c = 0, same_d = 0, same_e = 0;
    for (int i = 0; i < 10000; i++) {
        uint32_t x = sl_rng_u32(&a);
        assert_int_equal(x, sl_rng_u32(&b));
        same_c += x == sl_rng_u32(&c);
        same_d += x == sl_rng_u32(&d);
        same_e += x == sl_rng_u32(&e);
    }
    /* independent 32-bit words agree with probability 2^-32 each */
    assert_true(same_c < 2 && same_d < 2 && same_e < 2);
    /* a copy replays from where it was taken */
    sl_rng f = sl_rng_make(9, 9);
    for (int i = 0; i < 7; i++) sl_rng_u32(&f);
    sl_rng g = f;
    for (int i = 0; i < 100; i++) assert_true(sl_rng_uniform_double(&f) == sl_rng_uniform_double(&g));
}

static void test_uniform(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(1, 0);
    const int n = 100000;
    double sum = 0, sum2 = 0, dsum = 0;
    int lo_half = 0;
    for (int i = 0; i < n; i++) {
        float u = sl_rng_uniform(&r);
        if (!(u >= 0.0f && u < 1.0f)) fail_msg("uniform draw %d: %.9g outside [0, 1)", i, (double)u);
        double ud = sl_rng_uniform_double(&r);
        if (!(ud >= 0.0 && ud < 1.0)) fail_msg("uniform_double draw %d: %.17g outside [0, 1)", i, ud);
        sum += u;
        sum2 += (double)u * u;
        dsum += ud;
        lo_half += ud < 0.5;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* the standard error of the mean is sqrt(1/12/n) ~ 0.0009: 0.005 is over 5 sigma */
    if (fabs(mean - 0.5) > 0.005) fail_msg("uniform mean %.5f", mean);
    if (fabs(var - 1.0 / 12) > 0.002) fail_msg("uniform variance %.5f, want %.5f", var, 1.0 / 12);
    if (fabs(dsum / n - 0.5) > 0.005) fail_msg("uniform_double mean %.5f", dsum / n);
    if (abs(lo_half - n / 2) > 800) fail_msg("%d of %d doubles below 0.5", lo_half, n);
}

/* The extremes of the word map into [0, 1): 0 to 0 and all ones to just below 1. */
static void test_uniform_extremes(void **state)
{
    (void)state;
    /* the buffered block is set directly, so the next words are known */
    sl_rng r = sl_rng_make(0, 0);
    r.buf[0] = 0xffffffffu;
    r.buf[1] = 0xffffffffu;
    r.buf[2] = 0xffffffffu;
    r.buf[3] = 0;
    r.used = 0;
    float f = sl_rng_uniform(&r);
    assert_true(f < 1.0f);
    assert_true(f == 1.0f - 1.0f / 16777216.0f);
    double d = sl_rng_uniform_double(&r); /* words 1 and 2, all ones */
    assert_true(d < 1.0);
    assert_true(d == 1.0 - 1.0 / 9007199254740992.0);
    assert_true(sl_rng_uniform(&r) == 0.0f);
}

/* Box-Muller's logarithm at the ends of the uniform range: never log(0). */
static void test_normal_extremes(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(0, 0);
    memset(r.buf, 0, sizeof r.buf); /* u = 0 for both uniforms */
    r.used = 0;
    double z = sl_rng_normal(&r);
    if (!isfinite(z)) fail_msg("normal with uniforms 0, 0: %g", z);
    r.buf[0] = r.buf[1] = 0xffffffffu; /* the largest first uniform, second uniform 0 */
    r.buf[2] = r.buf[3] = 0;
    r.used = 0;
    z = sl_rng_normal(&r);
    /* the largest magnitude sqrt(-2 log 2^-53) = 8.57... or 0, depending on which end maps to 1 */
    if (!isfinite(z) || fabs(z) > 8.6) fail_msg("normal with uniforms 1-2^-53, 0: %g", z);
}

static double chi_square_below(uint32_t n, int draws, uint64_t seed)
{
    int counts[16] = {0};
    sl_rng r = sl_rng_make(seed, n);
    for (int i = 0; i < draws; i++) {
        uint32_t k = sl_rng_below(&r, n);
        if (k >= n) fail_msg("below(%u) gave %u", (unsigned)n, (unsigned)k);
        counts[k]++;
    }
    double expect = (double)draws / n, chi2 = 0;
    for (uint32_t k = 0; k < n; k++) chi2 += (counts[k] - expect) * (counts[k] - expect) / expect;
    return chi2;
}

static void test_below(void **state)
{
    (void)state;
    /* 99.9% points of chi-square with n - 1 degrees of freedom */
    static const struct {
        uint32_t n;
        double limit;
    } cases[] = {{2, 10.83}, {3, 13.82}, {5, 18.47}, {7, 22.46}, {10, 27.88}, {16, 37.70}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double chi2 = chi_square_below(cases[c].n, 60000, 11);
        if (chi2 > cases[c].limit)
            fail_msg("below(%u): chi-square %.2f over %.2f", (unsigned)cases[c].n, chi2, cases[c].limit);
    }
    sl_rng r = sl_rng_make(3, 3);
    for (int i = 0; i < 100; i++) assert_int_equal(sl_rng_below(&r, 1), 0);
    /* the largest n: results spread over the whole range and stay below n */
    uint32_t big = 0xfffffffbu, top_half = 0;
    for (int i = 0; i < 10000; i++) {
        uint32_t k = sl_rng_below(&r, big);
        assert_true(k < big);
        top_half += k >= big / 2;
    }
    assert_true(top_half > 4700 && top_half < 5300);
    /* a modulo would favour the low third for n = 3 * 2^30 (2^32 mod n = 2^30); Lemire's does not */
    uint32_t n3 = 3u << 30, low = 0;
    for (int i = 0; i < 30000; i++) low += sl_rng_below(&r, n3) < (1u << 30);
    /* unbiased: 1/3 (10000 +- 82); modulo reduction: 1/2 */
    if (low < 9600 || low > 10400) fail_msg("below(3*2^30): %u of 30000 in the first third", (unsigned)low);
}

static void test_normal(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(2024, 1);
    const int n = 100000;
    double sum = 0, sum2 = 0, sum4 = 0;
    int within1 = 0;
    for (int i = 0; i < n; i++) {
        double z = sl_rng_normal(&r);
        if (!isfinite(z) || fabs(z) > 9) fail_msg("normal draw %d: %g", i, z);
        sum += z;
        sum2 += z * z;
        sum4 += z * z * z * z;
        within1 += fabs(z) < 1;
    }
    double mean = sum / n, var = sum2 / n - mean * mean, kurt = sum4 / n;
    if (fabs(mean) > 0.015) fail_msg("normal mean %.4f", mean);
    if (fabs(var - 1) > 0.02) fail_msg("normal variance %.4f", var);
    if (fabs(kurt - 3) > 0.12) fail_msg("normal fourth moment %.4f, want 3", kurt);
    /* P(|z| < 1) = 0.6827 */
    if (fabs((double)within1 / n - 0.6827) > 0.006) fail_msg("P(|z|<1) = %.4f", (double)within1 / n);
}

/* The paper's vectors (Appendix A and the reference code's vectors.h): key 00..0f, message
 * 00 01 02 ... of the given length. */
static void test_siphash_vectors(void **state)
{
    (void)state;
    uint8_t m[16];
    for (int i = 0; i < 16; i++) m[i] = (uint8_t)i;
    const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    static const struct {
        size_t len;
        uint64_t want;
    } v[] = {
        {0, 0x726fdb47dd0e0e31ull}, {1, 0x74f839c593dc67fdull}, {2, 0x0d6c8009d9a94f5aull},
        {3, 0x85676696d7fb7e2dull}, {4, 0xcf2794e0277187b7ull}, {8, 0x93f5f5799a932462ull},
        {15, 0xa129ca6149be45e5ull},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        uint64_t got = sl_siphash24(k0, k1, m, v[i].len);
        if (got != v[i].want)
            fail_msg("length %zu: %016llx, want %016llx", v[i].len, (unsigned long long)got,
                     (unsigned long long)v[i].want);
    }
}

/* sl_hash64 is frozen: hash-based splits depend on it. Values computed with an independent
 * Python SipHash-2-4 (which reproduces the vectors above) keyed with (seed, ~seed). */
static void test_hash64_pinned(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t seed, want;
    } v[] = {
        {"", 0, 0x4d0617e48cf8737bull},
        {"theo", 0, 0x550e38ceaf7518eaull},
        {"theo", 1, 0xdd8b9394764137adull},
        {"recordings/0_jackson_0.wav", 42, 0xf1bee30f14c76149ull},
        {"The quick brown fox jumps over the lazy dog", 0xdeadbeefcafef00dull, 0x61581e4da2eb6d76ull},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        uint64_t got = sl_hash64(v[i].s, strlen(v[i].s), v[i].seed);
        if (got != v[i].want)
            fail_msg("sl_hash64(\"%s\", %llu) = %016llx, want %016llx", v[i].s,
                     (unsigned long long)v[i].seed, (unsigned long long)got, (unsigned long long)v[i].want);
    }
    assert_true(sl_hash64("theo", 4, 7) == sl_siphash24(7, ~7ull, "theo", 4));
    /* an unaligned copy hashes the same (bytes are read one at a time) */
    char buf[64];
    memcpy(buf + 3, "recordings/0_jackson_0.wav", 26);
    assert_true(sl_hash64(buf + 3, 26, 42) == 0xf1bee30f14c76149ull);
}

/* Gamma and Beta draws: means and variances of 200,000 draws against the distributions'. */
static void test_gamma_beta(void **state)
{
    (void)state;
    const double shapes[] = {0.2, 0.5, 1, 3, 10};
    for (size_t k = 0; k < 5; k++) {
        sl_rng r = sl_rng_make(5, k);
        double s = 0, s2 = 0, a = shapes[k];
        const int n = 200000;
        for (int i = 0; i < n; i++) {
            double g = sl_rng_gamma(&r, a);
            assert_true(g >= 0);
            s += g;
            s2 += g * g;
        }
        double mean = s / n, var = s2 / n - mean * mean;
        if (fabs(mean - a) > 0.02 * a + 0.002 || fabs(var - a) > 0.05 * a)
            fail_msg("gamma(%g): mean %g var %g, want %g and %g", a, mean, var, a, a);
    }
    const double alphas[] = {0.2, 1, 4};
    for (size_t k = 0; k < 3; k++) {
        sl_rng r = sl_rng_make(6, k);
        double s = 0, s2 = 0, a = alphas[k];
        const int n = 200000;
        for (int i = 0; i < n; i++) {
            double b = sl_rng_beta(&r, a, a);
            assert_true(b >= 0 && b <= 1);
            s += b;
            s2 += b * b;
        }
        double mean = s / n, var = s2 / n - mean * mean, want = 1 / (4 * (2 * a + 1));
        if (fabs(mean - 0.5) > 0.005 || fabs(var - want) > 0.03 * want)
            fail_msg("beta(%g, %g): mean %g var %g, want 0.5 and %g", a, a, mean, var, want);
    }
    sl_rng r = sl_rng_make(1, 2);
    assert_true(sl_rng_gamma(&r, 0) == 0 && sl_rng_gamma(&r, -1) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_rng_layout),
        cmocka_unit_test(test_rng_streams),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_uniform_extremes),
        cmocka_unit_test(test_below),
        cmocka_unit_test(test_normal),
        cmocka_unit_test(test_normal_extremes),
        cmocka_unit_test(test_gamma_beta),
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_hash64_pinned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
