/* Status codes and per-thread error messages: each thread keeps its own, a message may quote the
 * previous one, long messages are cut at 1023 bytes. (RNG, hashing, pool, progress and file writes
 * have their own test files.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>

#include "sigloop/base.h"

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
        cmocka_unit_test(test_errors_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
