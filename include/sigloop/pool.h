/* A fixed pool of worker threads for parallel loops.
 *
 * sl_pool_run(pool, n, fn, ctx) calls fn(ctx, i, worker) once for every i in [0, n), spread over
 * the pool's threads and the calling thread, and returns when all calls have returned. Tasks are
 * handed out in index order from a shared counter, so work balances itself; results must be
 * written by index (never depend on which worker ran a task) to keep output deterministic.
 * `worker` is in [0, sl_pool_size(pool)) and lets a task use per-worker scratch memory.
 * One sl_pool_run at a time per pool (calls from several threads are serialised). A task must not
 * run its own pool: such a nested sl_pool_run returns SL_EINTERNAL instead of deadlocking. */
#ifndef SIGLOOP_POOL_H
#define SIGLOOP_POOL_H

#include <stddef.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_pool sl_pool;

/* The task function; return SL_OK or a failure (the first failure is reported by sl_pool_run,
 * with its message copied to the caller's thread; remaining tasks still run). */
typedef sl_status (*sl_pool_fn)(void *ctx, size_t index, int worker);

/* A pool of n_threads in total including the caller (n_threads <= 0: one per online core).
 * On error *out is NULL and nothing needs freeing. */
sl_status sl_pool_new(sl_pool **out, int n_threads);
void sl_pool_free(sl_pool *pool); /* NULL-safe; joins the threads */
int sl_pool_size(const sl_pool *pool);

/* Runs fn for i in [0, n). Returns SL_OK, or the status of the lowest-index failing task. */
sl_status sl_pool_run(sl_pool *pool, size_t n, sl_pool_fn fn, void *ctx);

/* Online cores (at least 1). */
int sl_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif
