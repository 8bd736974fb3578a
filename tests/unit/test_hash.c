/* BLAKE2b against RFC 7693 Appendix A and against Python's hashlib.blake2b (an independent
 * implementation) for the 128-bit content hash; incremental updates; sl_hash_file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "sigloop/fileio.h"
#include "sigloop/hash.h"

static char g_dir[1024];

static void hex_of(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* One-shot BLAKE2b of outlen bytes, as hex. */
static void blake2b_hex(const void *data, size_t len, size_t outlen, char *hex)
{
    sl_blake2b s;
    uint8_t d[64];
    sl_blake2b_init(&s, outlen);
    sl_blake2b_update(&s, data, len);
    sl_blake2b_final(&s, d);
    hex_of(d, outlen, hex);
}

static void expect_hex(const char *got, const char *want, const char *what)
{
    if (strcmp(got, want) != 0) fail_msg("%s:\n got  %s\n want %s", what, got, want);
}

static void test_rfc7693(void **state)
{
    (void)state;
    char hex[129];
    /* Appendix A: BLAKE2b-512("abc") */
    blake2b_hex("abc", 3, 64, hex);
    expect_hex(hex,
               "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
               "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
               "BLAKE2b-512(\"abc\")");
    /* the empty string (RFC 7693's reference code, and every BLAKE2 test suite) */
    blake2b_hex("", 0, 64, hex);
    expect_hex(hex,
               "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
               "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce",
               "BLAKE2b-512(\"\")");
    blake2b_hex(NULL, 0, 64, hex); /* no data at all */
    expect_hex(hex,
               "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
               "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce",
               "BLAKE2b-512(NULL, 0)");
    blake2b_hex("abc", 3, 32, hex);
    expect_hex(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319", "BLAKE2b-256(\"abc\")");
    blake2b_hex("abc", 3, 1, hex);
    expect_hex(hex, "6b", "BLAKE2b-8(\"abc\")");
}

/* The digest length is a parameter mixed into the state, not a truncation. */
static void test_outlen_is_a_parameter(void **state)
{
    (void)state;
    char h512[129], h128[SL_HASH_HEX];
    blake2b_hex("abc", 3, 64, h512);
    sl_hash_bytes("abc", 3, h128);
    assert_int_equal(strlen(h128), 32);
    expect_hex(h128, "cf4ab791c62b8d2b2109c90275287816", "128-bit \"abc\"");
    assert_memory_not_equal(h128, h512, 32);
    blake2b_hex("", 0, 64, h512);
    sl_hash_bytes("", 0, h128);
    expect_hex(h128, "cae66941d9efbd404e4d88758ea67670", "128-bit \"\"");
    assert_memory_not_equal(h128, h512, 32);
}

/* 128-bit digests from hashlib.blake2b(data, digest_size=16), around the 128-byte block edges
 * (the last block is compressed with the final flag, so 128 and 256 are the tricky lengths). */
static void test_python_reference(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *want;
    } v[] = {
        {127, "28b1296c7d4807883de6ee4ec04dcc0a"}, {128, "a74787004ef589e31149183900d0294a"},
        {129, "aaf1b0371f6d4ee49ee4fb5ddd9c49ef"}, {255, "192657d8c2d07da4ee7beb8c6f9951f4"},
        {256, "c2472c0ac37a8dbdb25f05ada0d82643"}, {257, "5b9ad79f1309b3599ac3871688f3812c"},
    };
    uint8_t buf[257];
    for (int i = 0; i < 257; i++) buf[i] = (uint8_t)i;
    char hex[SL_HASH_HEX], what[64];
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        sl_hash_bytes(buf, v[i].len, hex);
        snprintf(what, sizeof what, "bytes 0, 1, ... of length %zu", v[i].len);
        expect_hex(hex, v[i].want, what);
    }
    const char *fox = "The quick brown fox jumps over the lazy dog";
    sl_hash_bytes(fox, strlen(fox), hex);
    expect_hex(hex, "249df9a49f517ddcd37f5c897620ec73", "fox");
    char x[1000];
    memset(x, 'x', sizeof x);
    sl_hash_bytes(x, sizeof x, hex);
    expect_hex(hex, "c9b2bd4ff487864c29fb41fab3e8187e", "1000 x");
}

static void test_incremental(void **state)
{
    (void)state;
    size_t n = 5000;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(i * 37 + 11);
    static const size_t outlens[] = {16, 64};
    static const size_t piece_sets[][8] = {
        {1, 127, 128, 129, 3, 255, 357, 0},
        {128, 128, 128, 1, 0},
        {7, 0},
        {129, 0},
        {1000, 0},
    };
    for (size_t o = 0; o < 2; o++) {
        char one_shot[129], inc[129];
        blake2b_hex(buf, n, outlens[o], one_shot);
        for (size_t ps = 0; ps < sizeof piece_sets / sizeof *piece_sets; ps++) {
            sl_blake2b s;
            uint8_t d[64];
            sl_blake2b_init(&s, outlens[o]);
            size_t off = 0, k = 0;
            /* cycle through the set's sizes until all bytes are in, with empty updates between */
            while (off < n) {
                size_t take = piece_sets[ps][k];
                if (take == 0) {
                    k = 0;
                    continue;
                }
                k++;
                if (take > n - off) take = n - off;
                sl_blake2b_update(&s, buf + off, take);
                sl_blake2b_update(&s, buf + off, 0);
                off += take;
            }
            sl_blake2b_final(&s, d);
            hex_of(d, outlens[o], inc);
            if (strcmp(inc, one_shot) != 0)
                fail_msg("outlen %zu, piece set %zu: incremental %s, one-shot %s", outlens[o], ps, inc, one_shot);
        }
    }
    /* every split point of a 300-byte message */
    char want[SL_HASH_HEX], got[SL_HASH_HEX];
    sl_hash_bytes(buf, 300, want);
    for (size_t cut = 0; cut <= 300; cut++) {
        sl_blake2b s;
        uint8_t d[16];
        sl_blake2b_init(&s, 16);
        sl_blake2b_update(&s, buf, cut);
        sl_blake2b_update(&s, buf + cut, 300 - cut);
        sl_blake2b_final(&s, d);
        hex_of(d, 16, got);
        if (strcmp(got, want) != 0) fail_msg("split at %zu differs", cut);
    }
    free(buf);
}

static void test_hash_file(void **state)
{
    (void)state;
    /* over three 64 KiB reads; the value is hashlib.blake2b(..., digest_size=16) */
    size_t n = 200000;
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++) data[i] = (char)(i * 7 % 251);
    char path[1100];
    snprintf(path, sizeof path, "%s/data.bin", g_dir);
    assert_int_equal(sl_write_file_atomic(path, data, n), SL_OK);
    char from_file[SL_HASH_HEX], from_bytes[SL_HASH_HEX];
    assert_int_equal(sl_hash_file(path, from_file), SL_OK);
    sl_hash_bytes(data, n, from_bytes);
    assert_string_equal(from_file, from_bytes);
    expect_hex(from_file, "640af1b1d770786e65d1b333cb4cd797", "200000-byte file");
    /* exactly one read's worth, and an empty file */
    static const size_t sizes[] = {65536, 65537, 131072, 0, 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        assert_int_equal(sl_write_file_atomic(path, data, sizes[i]), SL_OK);
        assert_int_equal(sl_hash_file(path, from_file), SL_OK);
        sl_hash_bytes(data, sizes[i], from_bytes);
        if (strcmp(from_file, from_bytes) != 0) fail_msg("file of %zu bytes hashes differently", sizes[i]);
    }
    free(data);
    /* a missing file names the path */
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/no/such.wav", g_dir);
    assert_int_equal(sl_hash_file(missing, from_file), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "no/such.wav: cannot open: No such file or directory"));
    /* a folder cannot be read */
    assert_int_equal(sl_hash_file(g_dir, from_file), SL_EIO);
    assert_non_null(strstr(sl_last_error(), g_dir));
}

int main(void)
{
    if (sl_test_tmp_dir(g_dir, sizeof g_dir, "hash") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7693),
        cmocka_unit_test(test_outlen_is_a_parameter),
        cmocka_unit_test(test_python_reference),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_hash_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
