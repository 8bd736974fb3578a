/* A fixed pool of threads for parallel loops. Workers sleep on a condition variable between runs;
 * during a run every thread, the caller included, claims indices from one atomic counter. */
#include "sigloop/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL_MAX_THREADS 256
#define POOL_MSG_MAX 1024

struct sl_pool {
    int n_threads;              /* including the caller */
    pthread_t *threads;         /* (n_threads - 1) workers */
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* a new run, or shutdown */
    pthread_cond_t done;        /* a worker finished its part of the run */
    pthread_mutex_t run_lock;   /* one run at a time */
    unsigned long generation;   /* bumped per run */
    int busy;                   /* workers still in the current run */
    int shutdown;
    /* the current run */
    sl_pool_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;
    /* the failure with the lowest index, under lock */
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
        if (s != SL_OK) {
            pthread_mutex_lock(&p->lock);
            if (p->fail_status == SL_OK || i < p->fail_index) {
                p->fail_index = i;
                p->fail_status = s;
                /* the message lives in this thread's buffer: copy it for the caller */
                strncpy(p->fail_msg, sl_last_error(), POOL_MSG_MAX - 1);
                p->fail_msg[POOL_MSG_MAX - 1] = '\0';
            }
            pthread_mutex_unlock(&p->lock);
        }
    }
}

typedef struct {
    sl_pool *pool;
    int worker;
} worker_arg;

static void *worker_main(void *varg)
{
    worker_arg arg = *(worker_arg *)varg;
    free(varg);
    sl_pool *p = arg.pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->shutdown && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
        if (p->shutdown) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_tasks(p, arg.worker);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

sl_status sl_pool_new(sl_pool **out, int n_threads)
{
    *out = NULL;
    if (n_threads <= 0) n_threads = sl_cpu_count();
    if (n_threads > POOL_MAX_THREADS) n_threads = POOL_MAX_THREADS;
    sl_pool *p = calloc(1, sizeof *p);
    if (!p) return sl_fail(SL_ENOMEM, "out of memory");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
        sl_pool_free(p);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        if (!arg) {
            p->n_threads = i;
            sl_pool_free(p);
            return sl_fail(SL_ENOMEM, "out of memory");
        }
        arg->pool = p;
        arg->worker = i;
        if (pthread_create(&p->threads[i - 1], NULL, worker_main, arg) != 0) {
            free(arg);
            p->n_threads = i;
            sl_pool_free(p);
            return sl_fail(SL_ENOMEM, "cannot start thread %d of %d", i, n_threads);
        }
    }
    *out = p;
    return SL_OK;
}

void sl_pool_free(sl_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->n_threads && p->threads; i++) pthread_join(p->threads[i - 1], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run_lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int sl_pool_size(const sl_pool *p) { return p->n_threads; }

sl_status sl_pool_run(sl_pool *p, size_t n, sl_pool_fn fn, void *ctx)
{
    if (n == 0) return SL_OK;
    pthread_mutex_lock(&p->run_lock);
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    p->fail_status = SL_OK;
    p->fail_index = 0;
    p->busy = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_tasks(p, 0);

    pthread_mutex_lock(&p->lock);
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->lock);
    sl_status s = p->fail_status;
    if (s != SL_OK) sl_fail(s, "%s", p->fail_msg);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->run_lock);
    return s;
}
