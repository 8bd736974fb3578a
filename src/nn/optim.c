/* Optimizers and schedules, written to match PyTorch's definitions step for step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/pool.h"
#include "sigloop/train.h"

struct sl_optim {
    sl_train_config t;
    size_t n;
    sl_real *m, *v;   /* adam: first and second moments; sgd: m is the momentum buffer */
    long step;
};

sl_status sl_optim_new(sl_optim **out, const sl_train_config *t, size_t n_params)
{
    *out = NULL;
    sl_optim *o = calloc(1, sizeof *o);
    if (!o) return sl_fail(SL_ENOMEM, "out of memory");
    o->t = *t;
    o->n = n_params;
    o->m = calloc(n_params + 1, sizeof *o->m);
    o->v = calloc(n_params + 1, sizeof *o->v);
    if (!o->m || !o->v) {
        sl_optim_free(o);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    *out = o;
    return SL_OK;
}

void sl_optim_free(sl_optim *o)
{
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o);
}

#ifdef SIGLOOP_NN_DOUBLE
#define SQRT sqrt
#else
#define SQRT sqrtf
#endif

/* The update of parameters [lo, hi); the step count and bias corrections are the caller's. */
static void update_range(const sl_optim *o, sl_real *p, const sl_real *g, double lr, size_t lo, size_t hi)
{
    const sl_train_config *t = &o->t;
    double wd = t->weight_decay;
    if (t->optimizer == 2) { /* sgd: d = g + wd p; buf = mu buf + d (buf = d at first); nesterov: d + mu buf */
        double mu = t->momentum;
        for (size_t i = lo; i < hi; i++) {
            double d = (double)g[i] + wd * p[i];
            if (mu > 0) {
                double b = o->step == 1 ? d : mu * o->m[i] + d;
                o->m[i] = (sl_real)b;
                d = t->nesterov ? d + mu * b : b;
            }
            p[i] = (sl_real)(p[i] - lr * d);
        }
        return;
    }
    /* adam (L2 decay in the gradient) and adamw (decoupled decay on the weights) */
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double c1 = 1.0 - pow(b1, (double)o->step), c2 = 1.0 - pow(b2, (double)o->step);
    /* one branch-free loop over restrict pointers, so it vectorises: decoupled decay scales the
     * weights by keep (1 - lr wd, else 1), L2 decay adds l2 p (wd, else 0) to the gradient */
    const double keep = t->optimizer == 1 ? 1.0 - lr * wd : 1.0, l2 = t->optimizer == 1 ? 0.0 : wd;
    /* in sl_real (float), in PyTorch's order: denom = sqrt(v) / sqrt(c2) + eps, p -= (lr / c1) m /
     * denom; float lanes are twice as many as double ones and the sqrt and division dominate */
    const sl_real step = (sl_real)(lr / c1), inv_sc2 = (sl_real)(1.0 / sqrt(c2)), keep_r = (sl_real)keep,
                  l2_r = (sl_real)l2, eps_r = (sl_real)eps, b1_r = (sl_real)b1, b2_r = (sl_real)b2,
                  a1 = (sl_real)(1 - b1), a2 = (sl_real)(1 - b2);
    sl_real *restrict pp = p, *restrict mm = o->m, *restrict vv = o->v;
    const sl_real *restrict gg = g;
    for (size_t i = lo; i < hi; i++) {
        sl_real pi = pp[i] * keep_r, gi = gg[i] + l2_r * pp[i];
        sl_real m = b1_r * mm[i] + a1 * gi, v = b2_r * vv[i] + a2 * gi * gi;
        mm[i] = m;
        vv[i] = v;
        pp[i] = pi - step * m / (SQRT(v) * inv_sc2 + eps_r);
    }
}

typedef struct {
    const sl_optim *o;
    sl_real *p;
    const sl_real *g;
    double lr;
    size_t parts;
} step_job;

static sl_status step_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const step_job *j = ctx;
    size_t n = j->o->n;
    update_range(j->o, j->p, j->g, j->lr, n * part / j->parts, n * (part + 1) / j->parts);
    return SL_OK;
}

void sl_optim_step_pool(sl_optim *o, sl_real *p, const sl_real *g, double lr, struct sl_pool *pool)
{
    o->step++;
    size_t parts = pool ? (size_t)sl_pool_size(pool) : 1;
    if (parts > 1 && o->n >= 4096) {
        step_job j = {o, p, g, lr, parts};
        if (sl_pool_run(pool, parts, step_part, &j) == SL_OK) return;
    }
    update_range(o, p, g, lr, 0, o->n);
}

void sl_optim_step(sl_optim *o, sl_real *p, const sl_real *g, double lr) { sl_optim_step_pool(o, p, g, lr, NULL); }

double sl_lr_at(const sl_train_config *t, double e)
{
    const double pi = 3.14159265358979323846, total = (double)t->epochs;
    switch (t->schedule) {
    case 0: return t->lr;
    case 1: /* cosine to 0, after an optional linear warm-up from 0 */
        if (e < t->warmup) return t->lr * e / t->warmup;
        return t->lr * 0.5 * (1 + cos(pi * fmin(1.0, (e - t->warmup) / fmax(1e-12, total - t->warmup))));
    case 2: return t->lr * pow(t->step_gamma, floor(e / t->step_epochs));
    case 3: { /* one-cycle (PyTorch's defaults): lr/25 up to lr in 30 %, then cosine down to lr/25e4 */
        double up = 0.3 * total, lo = t->lr / 25, end = lo / 1e4;
        if (e < up) return lo + (t->lr - lo) * 0.5 * (1 - cos(pi * e / up));
        return end + (t->lr - end) * 0.5 * (1 + cos(pi * fmin(1.0, (e - up) / fmax(1e-12, total - up))));
    }
    }
    return t->lr;
}

double sl_clip_grads(sl_real *g, size_t n, double max_norm)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    double norm = sqrt(s);
    if (max_norm > 0 && norm > max_norm) {
        double k = max_norm / (norm + 1e-6); /* as torch.nn.utils.clip_grad_norm_ */
        for (size_t i = 0; i < n; i++) g[i] = (sl_real)(g[i] * k);
    }
    return norm;
}

sl_real *sl_optim_moment(sl_optim *o, int which) { return which ? o->v : o->m; }
long *sl_optim_step_count(sl_optim *o) { return &o->step; }
