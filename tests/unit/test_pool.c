/* The thread pool: every index runs exactly once, workers are in range, the lowest failing task's
 * status and message reach the caller, and many runs in a row neither deadlock nor leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigloop/pool.h"

typedef struct {
    atomic_ullong sum;
    atomic_int bad_worker;
    int n_threads;
    unsigned char *seen; /* (n) times index i ran, or NULL */
} sum_ctx;

static sl_status add_index(void *vctx, size_t i, int worker)
{
    sum_ctx *c = vctx;
    if (worker < 0 || worker >= c->n_threads) atomic_store(&c->bad_worker, 1);
    atomic_fetch_add(&c->sum, (unsigned long long)i);
    if (c->seen) c->seen[i]++; /* one writer per index: no race if each index runs once */
    return SL_OK;
}

static void test_sum_closed_form(void **state)
{
    (void)state;
    const int threads[] = {1, 2, 4};
    const size_t n = 100000;
    for (int t = 0; t < 3; t++) {
        sl_pool *p;
        assert_int_equal(sl_pool_new(&p, threads[t]), SL_OK);
        assert_non_null(p);
        assert_int_equal(sl_pool_size(p), threads[t]);
        sum_ctx c = {.n_threads = threads[t], .seen = calloc(n, 1)};
        assert_non_null(c.seen);
        atomic_init(&c.sum, 0);
        atomic_init(&c.bad_worker, 0);
        assert_int_equal(sl_pool_run(p, n, add_index, &c), SL_OK);
        unsigned long long want = (unsigned long long)n * (n - 1) / 2;
        if (atomic_load(&c.sum) != want)
            fail_msg("%d threads: sum %llu, want %llu", threads[t], atomic_load(&c.sum), want);
        for (size_t i = 0; i < n; i++)
            if (c.seen[i] != 1) fail_msg("%d threads: index %zu ran %d times", threads[t], i, c.seen[i]);
        assert_int_equal(atomic_load(&c.bad_worker), 0);
        free(c.seen);
        sl_pool_free(p);
    }
}

/* Each worker records that it ran; with slow tasks every thread of the pool takes part. */
typedef struct {
    atomic_int ran[64];
    int n_threads;
    atomic_int bad_worker;
} worker_ctx;

static sl_status note_worker(void *vctx, size_t i, int worker)
{
    worker_ctx *c = vctx;
    (void)i;
    if (worker < 0 || worker >= c->n_threads) {
        atomic_store(&c->bad_worker, 1);
        return SL_OK;
    }
    /* long enough that no single thread can drain the queue before the others wake */
    volatile double x = 0;
    for (int k = 0; k < 200000; k++) x += k;
    /* counted at the end: a run that returned before its last tasks finished shows up short */
    atomic_fetch_add(&c->ran[worker], 1);
    return SL_OK;
}

static void test_workers_in_range(void **state)
{
    (void)state;
    sl_pool *p;
    assert_int_equal(sl_pool_new(&p, 4), SL_OK);
    worker_ctx c = {.n_threads = 4};
    atomic_init(&c.bad_worker, 0);
    for (int w = 0; w < 64; w++) atomic_init(&c.ran[w], 0);
    assert_int_equal(sl_pool_run(p, 400, note_worker, &c), SL_OK);
    assert_int_equal(atomic_load(&c.bad_worker), 0);
    int total = 0, used = 0;
    for (int w = 0; w < 4; w++) {
        total += atomic_load(&c.ran[w]);
        used += atomic_load(&c.ran[w]) > 0;
    }
    assert_int_equal(total, 400);
    assert_true(atomic_load(&c.ran[0]) > 0); /* the caller works too */
    assert_true(used >= 2);
    sl_pool_free(p);

    /* n_threads <= 0: one per online core */
    assert_int_equal(sl_pool_new(&p, 0), SL_OK);
    assert_int_equal(sl_pool_size(p), sl_cpu_count());
    sl_pool_free(p);
    assert_int_equal(sl_pool_new(&p, -3), SL_OK);
    assert_int_equal(sl_pool_size(p), sl_cpu_count());
    sl_pool_free(p);
    assert_true(sl_cpu_count() >= 1);
}

/* The run returns only once every task has returned: the caller's tasks are quick (but slow
 * enough that the workers wake before the caller drains the queue), the workers' ten times
 * slower, so a caller that did not wait would see unfinished work. */
typedef struct {
    atomic_int finished;
} finish_ctx;

static sl_status slow_on_workers(void *vctx, size_t i, int worker)
{
    finish_ctx *c = vctx;
    (void)i;
    volatile double x = 0;
    for (int k = 0, m = worker == 0 ? 30000 : 300000; k < m; k++) x += k;
    atomic_fetch_add(&c->finished, 1);
    return SL_OK;
}

static void test_run_waits_for_all(void **state)
{
    (void)state;
    sl_pool *p;
    assert_int_equal(sl_pool_new(&p, 4), SL_OK);
    for (int rep = 0; rep < 20; rep++) {
        finish_ctx c;
        atomic_init(&c.finished, 0);
        assert_int_equal(sl_pool_run(p, 64, slow_on_workers, &c), SL_OK);
        if (atomic_load(&c.finished) != 64)
            fail_msg("run %d returned with %d of 64 tasks finished", rep, atomic_load(&c.finished));
    }
    sl_pool_free(p);
}

typedef struct {
    atomic_int ran;
} fail_ctx;

static sl_status fail_some(void *vctx, size_t i, int worker)
{
    fail_ctx *c = vctx;
    (void)worker;
    atomic_fetch_add(&c->ran, 1);
    if (i == 5000) return sl_fail(SL_EIO, "task %zu: disk on fire", i);
    if (i == 777 || i == 9000) return sl_fail(SL_EFORMAT, "task %zu failed", i);
    return SL_OK;
}

static void test_failure_reaches_caller(void **state)
{
    (void)state;
    const int threads[] = {1, 2, 4};
    for (int t = 0; t < 3; t++) {
        sl_pool *p;
        assert_int_equal(sl_pool_new(&p, threads[t]), SL_OK);
        for (int rep = 0; rep < 20; rep++) {
            fail_ctx c;
            atomic_init(&c.ran, 0);
            sl_fail(SL_EARG, "stale message of the caller");
            assert_int_equal(sl_pool_run(p, 10000, fail_some, &c), SL_EFORMAT);
            /* the lowest failing index wins, whichever thread ran it and whenever */
            assert_string_equal(sl_last_error(), "task 777 failed");
            assert_int_equal(atomic_load(&c.ran), 10000); /* the others still ran */
        }
        /* a successful run leaves the caller's message alone */
        sl_error_clear();
        sum_ctx s = {.n_threads = threads[t]};
        atomic_init(&s.sum, 0);
        atomic_init(&s.bad_worker, 0);
        assert_int_equal(sl_pool_run(p, 1000, add_index, &s), SL_OK);
        assert_string_equal(sl_last_error(), "");
        sl_pool_free(p);
    }
}

/* A message near sl_fail's 1 KiB limit arrives whole. */
static sl_status fail_long(void *vctx, size_t i, int worker)
{
    (void)vctx;
    (void)worker;
    if (i != 3) return SL_OK;
    char msg[1100];
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    return sl_fail(SL_ECONFIG, "%s", msg);
}

static void test_long_message(void **state)
{
    (void)state;
    sl_pool *p;
    assert_int_equal(sl_pool_new(&p, 3), SL_OK);
    assert_int_equal(sl_pool_run(p, 8, fail_long, NULL), SL_ECONFIG);
    assert_int_equal(strlen(sl_last_error()), 1023);
    assert_int_equal(sl_last_error()[1022], 'm');
    sl_pool_free(p);
}

static sl_status never_called(void *vctx, size_t i, int worker)
{
    (void)vctx;
    (void)i;
    (void)worker;
    fail_msg("a task ran for n = 0");
    return SL_EINTERNAL;
}

static void test_many_runs(void **state)
{
    (void)state;
    const int threads[] = {1, 2, 4, 8};
    for (int t = 0; t < 4; t++) {
        sl_pool *p;
        assert_int_equal(sl_pool_new(&p, threads[t]), SL_OK);
        for (int run = 0; run < 1000; run++) {
            sum_ctx c = {.n_threads = threads[t]};
            atomic_init(&c.sum, 0);
            atomic_init(&c.bad_worker, 0);
            size_t n = (size_t)(run * 37 % 101); /* includes 0 and runs shorter than the pool */
            assert_int_equal(sl_pool_run(p, n, add_index, &c), SL_OK);
            if (atomic_load(&c.sum) != (unsigned long long)n * (n ? n - 1 : 0) / 2)
                fail_msg("%d threads, run %d: wrong sum for n = %zu", threads[t], run, n);
            assert_int_equal(atomic_load(&c.bad_worker), 0);
        }
        assert_int_equal(sl_pool_run(p, 0, never_called, NULL), SL_OK);
        sl_pool_free(p);
    }
    /* pools made and freed in a row, some never used */
    for (int k = 0; k < 50; k++) {
        sl_pool *p;
        assert_int_equal(sl_pool_new(&p, 1 + k % 5), SL_OK);
        if (k % 2) assert_int_equal(sl_pool_run(p, 10, add_index, &(sum_ctx){.n_threads = 1 + k % 5}), SL_OK);
        sl_pool_free(p);
    }
    sl_pool_free(NULL);
}

/* A task that runs the same pool would deadlock; it gets an error instead. */
typedef struct {
    sl_pool *pool;
    atomic_int nested_failed;
} nest_ctx;

static sl_status nested(void *vctx, size_t i, int worker)
{
    nest_ctx *c = vctx;
    (void)i;
    (void)worker;
    if (sl_pool_run(c->pool, 4, never_called, NULL) == SL_EINTERNAL) atomic_fetch_add(&c->nested_failed, 1);
    return SL_OK;
}

static void test_nested_run_refused(void **state)
{
    (void)state;
    sl_pool *p;
    assert_int_equal(sl_pool_new(&p, 3), SL_OK);
    nest_ctx c = {.pool = p};
    atomic_init(&c.nested_failed, 0);
    assert_int_equal(sl_pool_run(p, 30, nested, &c), SL_OK);
    assert_int_equal(atomic_load(&c.nested_failed), 30);
    sl_pool_free(p);
}

/* Runs from several threads on one pool are serialised, each getting its own result. */
typedef struct {
    sl_pool *pool;
    int ok;
} submitter;

static void *submit_many(void *varg)
{
    submitter *s = varg;
    s->ok = 1;
    for (int run = 0; run < 200; run++) {
        sum_ctx c = {.n_threads = sl_pool_size(s->pool)};
        atomic_init(&c.sum, 0);
        atomic_init(&c.bad_worker, 0);
        size_t n = 500 + (size_t)run;
        if (sl_pool_run(s->pool, n, add_index, &c) != SL_OK) s->ok = 0;
        if (atomic_load(&c.sum) != (unsigned long long)n * (n - 1) / 2) s->ok = 0;
    }
    return NULL;
}

static void test_concurrent_callers(void **state)
{
    (void)state;
    sl_pool *p;
    assert_int_equal(sl_pool_new(&p, 4), SL_OK);
    pthread_t th[3];
    submitter sub[3];
    for (int k = 0; k < 3; k++) {
        sub[k].pool = p;
        assert_int_equal(pthread_create(&th[k], NULL, submit_many, &sub[k]), 0);
    }
    for (int k = 0; k < 3; k++) {
        pthread_join(th[k], NULL);
        assert_true(sub[k].ok);
    }
    sl_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_closed_form),
        cmocka_unit_test(test_workers_in_range),
        cmocka_unit_test(test_run_waits_for_all),
        cmocka_unit_test(test_failure_reaches_caller),
        cmocka_unit_test(test_long_message),
        cmocka_unit_test(test_many_runs),
        cmocka_unit_test(test_nested_run_refused),
        cmocka_unit_test(test_concurrent_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
