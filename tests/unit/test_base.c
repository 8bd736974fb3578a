/* The base layer: Philox and SipHash against their published vectors, RNG properties, BLAKE2b
 * against RFC 7693, the thread pool, the progress bar's text, and per-thread error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigloop/base.h"
#include "sigloop/hash.h"
#include "sigloop/pool.h"
#include "sigloop/progress.h"
#include "sigloop/rng.h"

/* Random123's kat_vectors for philox4x32_10. */
static void test_philox_vectors(void **state)
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
            if (out[i] != v[k][6 + i]) fail_msg("vector %d word %d: %08x, want %08x", k, i, out[i], v[k][6 + i]);
    }
}

/* The SipHash paper's vectors: key 00..0f, messages 00, 00 01, ..., of length 0 and 15. */
static void test_siphash_vectors(void **state)
{
    (void)state;
    uint8_t m[64];
    for (int i = 0; i < 64; i++) m[i] = (uint8_t)i;
    const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    assert_true(sl_siphash24(k0, k1, m, 0) == 0x726fdb47dd0e0e31ull);
    assert_true(sl_siphash24(k0, k1, m, 15) == 0xa129ca6149be45e5ull);
    /* sl_hash64 is pinned: a change would move every hash-split file to another split */
    assert_true(sl_hash64("theo", 4, 0) == sl_siphash24(0, ~0ull, "theo", 4));
    assert_true(sl_hash64("theo", 4, 0) != sl_hash64("theo", 4, 1));
}

static void test_rng_streams(void **state)
{
    (void)state;
    sl_rng a = sl_rng_make(42, 7), b = sl_rng_make(42, 7), c = sl_rng_make(42, 8), d = sl_rng_make(43, 7);
    int same_c = 0, same_d = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = sl_rng_u32(&a);
        assert_int_equal(x, sl_rng_u32(&b));
        same_c += x == sl_rng_u32(&c);
        same_d += x == sl_rng_u32(&d);
    }
    assert_true(same_c < 3 && same_d < 3);
    /* a draw depends only on (seed, stream, position): block k is philox(k, stream; seed) */
    sl_rng r = sl_rng_make(0x123456789abcdefull, 0xfeedull);
    for (int i = 0; i < 4 * 5; i++) sl_rng_u32(&r);
    uint32_t ctr[4] = {5, 0, 0xfeed, 0}, key[2] = {0x89abcdef, 0x01234567}, out[4];
    sl_philox4x32_10(ctr, key, out);
    assert_int_equal(sl_rng_u32(&r), out[0]);
}

static void test_rng_distributions(void **state)
{
    (void)state;
    sl_rng r = sl_rng_make(1, 0);
    const int n = 200000;
    double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
    int below[10] = {0};
    for (int i = 0; i < n; i++) {
        float u = sl_rng_uniform(&r);
        assert_true(u >= 0.0f && u < 1.0f);
        double ud = sl_rng_uniform_double(&r);
        assert_true(ud >= 0.0 && ud < 1.0);
        sum += u;
        sum2 += (double)u * u;
        double z = sl_rng_normal(&r);
        assert_true(isfinite(z));
        nsum += z;
        nsum2 += z * z;
        uint32_t k = sl_rng_below(&r, 10);
        assert_true(k < 10);
        below[k]++;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    assert_true(fabs(mean - 0.5) < 0.005);
    assert_true(fabs(var - 1.0 / 12) < 0.002);
    assert_true(fabs(nsum / n) < 0.01);
    assert_true(fabs(nsum2 / n - 1) < 0.02);
    double chi2 = 0;
    for (int k = 0; k < 10; k++) chi2 += (below[k] - n / 10.0) * (below[k] - n / 10.0) / (n / 10.0);
    assert_true(chi2 < 27.9); /* 9 degrees of freedom, p = 0.001 */
    assert_int_equal(sl_rng_below(&r, 1), 0);
}

static void hex_of(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_blake2b(void **state)
{
    (void)state;
    sl_blake2b s;
    uint8_t d[64];
    char hex[129];
    sl_blake2b_init(&s, 64);
    sl_blake2b_update(&s, "abc", 3);
    sl_blake2b_final(&s, d);
    hex_of(d, 64, hex);
    assert_string_equal(hex, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
                             "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
    sl_blake2b_init(&s, 64);
    sl_blake2b_final(&s, d);
    hex_of(d, 64, hex);
    assert_string_equal(hex, "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
                             "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce");
    /* 128-bit digests of 1,000 'x' (reference: Python's hashlib.blake2b(digest_size=16)) */
    char buf[1000];
    memset(buf, 'x', sizeof buf);
    char h1[SL_HASH_HEX];
    sl_hash_bytes(buf, sizeof buf, h1);
    assert_string_equal(h1, "c9b2bd4ff487864c29fb41fab3e8187e");
    /* incremental updates in odd pieces, across the 128-byte block edges, give the same */
    static const size_t pieces[] = {1, 127, 128, 129, 3, 255, 357};
    sl_blake2b_init(&s, 16);
    size_t off = 0;
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        sl_blake2b_update(&s, buf + off, pieces[i]);
        off += pieces[i];
    }
    assert_int_equal(off, 1000);
    sl_blake2b_final(&s, d);
    hex_of(d, 16, hex);
    assert_string_equal(hex, h1);
    assert_int_equal(sl_hash_file("/nonexistent/file", h1), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "/nonexistent/file: cannot open"));
}

typedef struct {
    atomic_ullong sum;
    atomic_int bad_worker;
    int n_threads;
} sum_ctx;

static sl_status add_index(void *vctx, size_t i, int worker)
{
    sum_ctx *c = vctx;
    if (worker < 0 || worker >= c->n_threads) atomic_store(&c->bad_worker, 1);
    atomic_fetch_add(&c->sum, (unsigned long long)i);
    return SL_OK;
}

static sl_status fail_some(void *vctx, size_t i, int worker)
{
    (void)vctx;
    (void)worker;
    if (i == 777 || i == 5000) return sl_fail(SL_EFORMAT, "task %zu failed", i);
    return SL_OK;
}

static void test_pool(void **state)
{
    (void)state;
    const int threads[] = {1, 2, 4};
    for (int t = 0; t < 3; t++) {
        sl_pool *p;
        assert_int_equal(sl_pool_new(&p, threads[t]), SL_OK);
        assert_int_equal(sl_pool_size(p), threads[t]);
        for (int run = 0; run < 300; run++) {
            sum_ctx c = {.n_threads = threads[t]};
            atomic_init(&c.sum, 0);
            atomic_init(&c.bad_worker, 0);
            size_t n = (size_t)(run * 37 % 1000);
            assert_int_equal(sl_pool_run(p, n, add_index, &c), SL_OK);
            assert_true(atomic_load(&c.sum) == (unsigned long long)n * (n ? n - 1 : 0) / 2);
            assert_int_equal(atomic_load(&c.bad_worker), 0);
        }
        sl_error_clear();
        assert_int_equal(sl_pool_run(p, 10000, fail_some, NULL), SL_EFORMAT);
        assert_string_equal(sl_last_error(), "task 777 failed"); /* the lowest failing index */
        sl_pool_free(p);
    }
    sl_pool_free(NULL);
    assert_true(sl_cpu_count() >= 1);
}

static void test_progress_text(void **state)
{
    (void)state;
    char buf[256];
    sl_progress_format(buf, sizeof buf, "data", "files", 1500, 3000, 1.0, NULL);
    assert_string_equal(buf, "data  [##########----------]  1500/3000  1500 files/s  ETA 1.0s");
    sl_progress_format(buf, sizeof buf, "train", "samples", 10, 100000, 1.0, "loss 0.42");
    assert_string_equal(buf, "train  [--------------------]  10/100000  10 samples/s  ETA 2:46:39  loss 0.42");
    sl_progress_format(buf, sizeof buf, "scan", "files", 42, 0, 2.0, NULL);
    assert_string_equal(buf, "scan  42  21 files/s");
    sl_progress_format(buf, sizeof buf, "x", "items", 100, 100, 4.0, NULL);
    assert_string_equal(buf, "x  [####################]  100/100  25 items/s");
    char tiny[8];
    sl_progress_format(tiny, sizeof tiny, "long label", "u", 1, 2, 1.0, NULL); /* truncates safely */
    assert_int_equal(strlen(tiny), 7);

    /* never draws when told not to; draws when forced */
    FILE *f = tmpfile();
    assert_non_null(f);
    sl_progress *p;
    sl_progress_opts quiet = {.label = "data", .unit = "files", .stream = f, .force = -1};
    assert_int_equal(sl_progress_new(&p, &quiet, 10), SL_OK);
    assert_false(sl_progress_active(p));
    for (int i = 0; i < 10; i++) sl_progress_add(p, 1);
    sl_progress_free(p);
    assert_int_equal(ftell(f), 0);
    sl_progress_opts loud = {.label = "data", .unit = "files", .stream = f, .force = 1};
    assert_int_equal(sl_progress_new(&p, &loud, 10), SL_OK);
    for (int i = 0; i < 10; i++) sl_progress_add(p, 1);
    sl_progress_free(p);
    assert_true(ftell(f) > 0);
    rewind(f);
    char text[512] = {0};
    size_t got = fread(text, 1, sizeof text - 1, f);
    assert_true(got > 0);
    assert_non_null(strstr(text, "data  [####################]  10/10"));
    fclose(f);
    /* a tmpfile is no terminal: the default draws nothing */
    f = tmpfile();
    sl_progress_opts dflt = {.label = "d", .unit = "u", .stream = f, .force = 0};
    assert_int_equal(sl_progress_new(&p, &dflt, 3), SL_OK);
    assert_false(sl_progress_active(p));
    sl_progress_free(p);
    fclose(f);
}

static void *other_thread(void *arg)
{
    (void)arg;
    sl_fail(SL_EIO, "message of the other thread");
    return NULL;
}

static void test_errors_per_thread(void **state)
{
    (void)state;
    assert_int_equal(sl_fail(SL_EARG, "mine: %d", 7), SL_EARG);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, NULL);
    assert_string_equal(sl_last_error(), "mine: 7");
    sl_error_prefix("%s", "ctx");
    assert_string_equal(sl_last_error(), "ctx: mine: 7");
    sl_fail(SL_EIO, "again: %s", sl_last_error()); /* its own message as an argument */
    assert_string_equal(sl_last_error(), "again: ctx: mine: 7");
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sl_fail(SL_EIO, "%s", big);
    assert_int_equal(strlen(sl_last_error()), 1023);
    sl_error_prefix("p");
    assert_int_equal(strlen(sl_last_error()), 1023);
    sl_error_clear();
    assert_string_equal(sl_last_error(), "");
    assert_string_equal(sl_status_name(SL_EBUDGET), "over budget");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_vectors), cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_rng_streams),    cmocka_unit_test(test_rng_distributions),
        cmocka_unit_test(test_blake2b),        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_progress_text),  cmocka_unit_test(test_errors_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
