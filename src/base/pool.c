/* A fixed pool of threads for parallel loops. During a run every thread, the caller included,
 * claims indices from one atomic counter.
 *
 * A run is announced by bumping `generation`; each worker runs once per generation and reports
 * back by decrementing `busy`. The caller waits for busy == 0 before it returns, so no worker can
 * still be touching the run's fn and ctx (which may live on the caller's stack) afterwards, and
 * no worker can miss a generation.
 *
 * Between runs a worker first spins on `generation` for a short while (SPIN_LIMIT polls, a few
 * hundred microseconds), then sleeps on a condition variable; the caller likewise spins on `busy`
 * before it sleeps. A training step makes dozens of runs a few hundred microseconds apart, and
 * waking a sleeping thread costs tens of microseconds each time; spinning keeps that off the
 * critical path, and sleeping keeps an idle pool from burning a core. The sleeping side always
 * re-checks under the lock, and the waking side always signals under it, so no wake-up is lost. */
#include "sigloop/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL_MAX_THREADS 256
#define SPIN_LIMIT 20000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
#define POOL_MSG_MAX 1024 /* as sl_fail's buffer: a copied message is never cut shorter */

typedef struct {
    struct sl_pool *pool;
    int worker;          /* 1 .. n_threads - 1 */
} worker_arg;

struct sl_pool {
    int n_threads;              /* including the caller */
    int n_started;              /* worker threads running (n_threads - 1 once made) */
    pthread_t *threads;         /* (n_threads - 1) workers */
    worker_arg *args;           /* (n_threads - 1) */
    pthread_mutex_t lock;       /* everything below but `next` */
    pthread_cond_t wake;        /* a new run, or shutdown */
    pthread_cond_t done;        /* the last worker finished its part of the run */
    pthread_mutex_t run_lock;   /* one run at a time */
    atomic_ulong generation;    /* bumped per run (the run's fields are written before it) */
    atomic_int busy;            /* workers still in the current run */
    atomic_int shutdown;
    int running;                /* a run is under way; `owner` is its caller */
    pthread_t owner;
    /* the current run */
    sl_pool_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;         /* the next unclaimed index */
    /* the failure with the lowest index */
    size_t fail_index;
    sl_status fail_status;
    char fail_msg[POOL_MSG_MAX];
};

int sl_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int)n;
}

static void run_tasks(sl_pool *p, int worker)
{
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) break;
        sl_status s = p->fn(p->ctx, i, worker);
        if (s == SL_OK) continue;
        pthread_mutex_lock(&p->lock);
        if (p->fail_status == SL_OK || i < p->fail_index) {
            p->fail_index = i;
            p->fail_status = s;
            /* sl_last_error is thread-local: the message lives in this worker's buffer, which the
             * caller cannot read. Copy it into the run; the caller re-sets it on its thread. */
            const char *msg = sl_last_error();
            size_t len = strlen(msg);
            if (len > POOL_MSG_MAX - 1) len = POOL_MSG_MAX - 1;
            memcpy(p->fail_msg, msg, len);
            p->fail_msg[len] = '\0';
        }
        pthread_mutex_unlock(&p->lock);
    }
}

static void *worker_main(void *varg)
{
    const worker_arg *arg = varg;
    sl_pool *p = arg->pool;
    unsigned long seen = 0;
    for (;;) {
        for (int spin = 0; spin < SPIN_LIMIT && !atomic_load(&p->shutdown) &&
                           atomic_load_explicit(&p->generation, memory_order_acquire) == seen;
             spin++)
            cpu_relax();
        pthread_mutex_lock(&p->lock);
        while (!atomic_load(&p->shutdown) && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->lock);
        pthread_mutex_unlock(&p->lock);
        if (atomic_load(&p->shutdown)) break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        run_tasks(p, arg->worker);
        if (atomic_fetch_sub(&p->busy, 1) == 1) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

/* Initialises the mutexes and condition variables; on failure destroys what it made. */
static int init_sync(sl_pool *p)
{
    int made = 0;
    if (pthread_mutex_init(&p->lock, NULL) != 0) goto fail;
    made++;
    if (pthread_mutex_init(&p->run_lock, NULL) != 0) goto fail;
    made++;
    if (pthread_cond_init(&p->wake, NULL) != 0) goto fail;
    made++;
    if (pthread_cond_init(&p->done, NULL) != 0) goto fail;
    return 0;
fail:
    if (made > 2) pthread_cond_destroy(&p->wake);
    if (made > 1) pthread_mutex_destroy(&p->run_lock);
    if (made > 0) pthread_mutex_destroy(&p->lock);
    return -1;
}

sl_status sl_pool_new(sl_pool **out, int n_threads)
{
    *out = NULL;
    if (n_threads <= 0) n_threads = sl_cpu_count();
    if (n_threads > POOL_MAX_THREADS) n_threads = POOL_MAX_THREADS;
    sl_pool *p = calloc(1, sizeof *p);
    if (!p) return sl_fail(SL_ENOMEM, "out of memory");
    p->n_threads = n_threads;
    atomic_init(&p->next, 0);
    atomic_init(&p->generation, 0);
    atomic_init(&p->busy, 0);
    atomic_init(&p->shutdown, 0);
    size_t n_workers = (size_t)n_threads - 1;
    if (n_workers > 0) {
        p->threads = calloc(n_workers, sizeof *p->threads);
        p->args = calloc(n_workers, sizeof *p->args);
    }
    if ((n_workers > 0 && (!p->threads || !p->args)) || init_sync(p) != 0) {
        free(p->threads);
        free(p->args);
        free(p);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (int i = 1; i < n_threads; i++) {
        p->args[i - 1].pool = p;
        p->args[i - 1].worker = i;
        int rc = pthread_create(&p->threads[i - 1], NULL, worker_main, &p->args[i - 1]);
        if (rc != 0) {
            sl_pool_free(p); /* joins the n_started already running */
            return sl_fail(SL_ENOMEM, "cannot start thread %d of %d: %s", i, n_threads, strerror(rc));
        }
        p->n_started = i;
    }
    *out = p;
    return SL_OK;
}

void sl_pool_free(sl_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->shutdown, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    free(p->args);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run_lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int sl_pool_size(const sl_pool *p) { return p->n_threads; }

/* A task that calls sl_pool_run on its own pool would wait forever on run_lock (its caller holds
 * it) or for itself to finish; tell it instead. Other threads may wait: their runs queue up. */
static int called_from_a_task(sl_pool *p)
{
    pthread_t self = pthread_self();
    int inside = 0;
    pthread_mutex_lock(&p->lock);
    if (p->running && pthread_equal(p->owner, self)) inside = 1;
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_started && !inside; i++)
        if (pthread_equal(p->threads[i], self)) inside = 1;
    return inside;
}

sl_status sl_pool_run(sl_pool *p, size_t n, sl_pool_fn fn, void *ctx)
{
    if (n == 0) return SL_OK;
    if (called_from_a_task(p))
        return sl_fail(SL_EINTERNAL, "sl_pool_run called from a task of the same pool");
    pthread_mutex_lock(&p->run_lock);
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    p->fail_status = SL_OK;
    p->fail_index = 0;
    p->fail_msg[0] = '\0';
    atomic_store(&p->busy, p->n_started);
    p->running = 1;
    p->owner = pthread_self();
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_tasks(p, 0);

    for (int spin = 0; spin < SPIN_LIMIT && atomic_load_explicit(&p->busy, memory_order_acquire) > 0; spin++)
        cpu_relax();
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->busy) > 0) pthread_cond_wait(&p->done, &p->lock);
    p->running = 0;
    sl_status s = p->fail_status;
    if (s != SL_OK) sl_fail(s, "%s", p->fail_msg);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->run_lock);
    return s;
}
