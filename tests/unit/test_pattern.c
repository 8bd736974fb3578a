/* File-name patterns: compile errors, matching, backtracking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/pattern.h"

static void match3(const char *pat, const char *name, const char *a, const char *b, const char *c)
{
    sl_pattern p;
    assert_int_equal(sl_pattern_compile(&p, pat), SL_OK);
    char *v[SL_PATTERN_MAX_FIELDS] = {0};
    assert_int_equal(sl_pattern_match(&p, name, v), 1);
    assert_string_equal(v[0], a);
    assert_string_equal(v[1], b);
    if (c) assert_string_equal(v[2], c);
    for (size_t i = 0; i < p.n_names; i++) free(v[i]);
    sl_pattern_free(&p);
}

static void test_fsdd_names(void **state)
{
    (void)state;
    match3("{label}_{group}_{take}.wav", "0_george_10.wav", "0", "george", "10");
    match3("{label}_{group}_{take}.wav", "some/folder/7_yweweler_49.wav", "7", "yweweler", "49");
    /* shortest fields from the left; the rest goes to the last field */
    match3("{label}_{group}_{take}.wav", "0_van_dyke_3.wav", "0", "van", "dyke_3");
    match3("{group}-{label}.flac", "s01-yes.flac", "s01", "yes", NULL);
}

static void test_no_match(void **state)
{
    (void)state;
    sl_pattern p;
    char *v[SL_PATTERN_MAX_FIELDS];
    assert_int_equal(sl_pattern_compile(&p, "{label}_{group}_{take}.wav"), SL_OK);
    assert_int_equal(sl_pattern_match(&p, "0_george.wav", v), 0);
    assert_int_equal(sl_pattern_match(&p, "0_george_1.flac", v), 0);
    assert_int_equal(sl_pattern_match(&p, "__1.wav", v), 0); /* fields are never empty */
    assert_int_equal(sl_pattern_match(&p, "README", v), 0);
    sl_pattern_free(&p);
}

static void test_slash_and_wildcard(void **state)
{
    (void)state;
    sl_pattern p;
    char *v[SL_PATTERN_MAX_FIELDS] = {0};
    assert_int_equal(sl_pattern_compile(&p, "{group}/{label}/{_}.wav"), SL_OK);
    assert_int_equal(p.n_names, 2);
    assert_int_equal(sl_pattern_match(&p, "spk1/yes/take3.wav", v), 1);
    assert_string_equal(v[0], "spk1");
    assert_string_equal(v[1], "yes");
    free(v[0]);
    free(v[1]);
    /* fields never cross '/' */
    assert_int_equal(sl_pattern_match(&p, "a/b/c/d.wav", v), 0);
    assert_int_equal(sl_pattern_field(&p, "label"), 1);
    assert_int_equal(sl_pattern_field(&p, "take"), -1);
    sl_pattern_free(&p);
}

static void expect_compile_error(const char *pat, const char *msg)
{
    sl_pattern p;
    assert_int_equal(sl_pattern_compile(&p, pat), SL_EARG);
    if (!strstr(sl_last_error(), msg)) fail_msg("'%s': got '%s', want '%s'", pat, sl_last_error(), msg);
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_compile_error("{label", "unclosed '{' at column 1");
    expect_compile_error("a_{}_b", "empty field name at column 3");
    expect_compile_error("{label}{group}.wav", "fields {label}{group} need a separator");
    expect_compile_error("{label}_{label}", "field {label} appears twice");
    expect_compile_error("{la-bel}", "bad field name");
    expect_compile_error("x}", "unmatched '}' at column 2");
    expect_compile_error("", "empty pattern");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsdd_names),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_slash_and_wildcard),
        cmocka_unit_test(test_compile_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
