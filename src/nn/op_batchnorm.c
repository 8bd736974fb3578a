/* Batch normalisation per channel (dim 0 of (C, T), (C, H, W) or (F)), as PyTorch's BatchNorm1d
 * and BatchNorm2d: in
 * training, the batch's mean and biased variance normalise, and the running statistics move by
 * momentum (with the unbiased variance); in inference the running statistics normalise.
 * w: gamma (C) then beta (C); state: running mean (C) then running var (C). */
#include <math.h>

#include "nn/nn_internal.h"

static size_t bn_inner(const sl_shape *s) { return sl_shape_size(s) / s->d[0]; }

static sl_status bn_infer(sl_node *nd, const sl_shape *const *in)
{
    nd->shape = *in[0];
    nd->n_params = 2 * in[0]->d[0];
    nd->n_state = 2 * in[0]->d[0];
    nd->macs = 2 * sl_shape_size(in[0]);
    return SL_OK;
}

/* saved: per channel mean and 1 / sqrt(var + eps) of the last training batch */
static size_t bn_saved(const sl_node *nd, size_t n)
{
    (void)n;
    return 2 * nd->shape.d[0];
}

/* Sums of one row of n values, in eight lanes the compiler can keep in one vector register, then
 * in double: sum x, and sum (x - c)^2 or sum dy x. */
#define LANES 8
static double row_sum(const sl_real *x, size_t n)
{
    sl_real acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t j = 0; j < LANES; j++) acc[j] += x[i + j];
    double s = 0;
    for (size_t j = 0; j < LANES; j++) s += acc[j];
    for (; i < n; i++) s += x[i];
    return s;
}
static double row_sqdev(const sl_real *x, size_t n, sl_real c)
{
    sl_real acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t j = 0; j < LANES; j++) acc[j] += (x[i + j] - c) * (x[i + j] - c);
    double s = 0;
    for (size_t j = 0; j < LANES; j++) s += acc[j];
    for (; i < n; i++) s += (double)(x[i] - c) * (x[i] - c);
    return s;
}
static double row_dot(const sl_real *x, const sl_real *y, size_t n)
{
    sl_real acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t j = 0; j < LANES; j++) acc[j] += x[i + j] * y[i + j];
    double s = 0;
    for (size_t j = 0; j < LANES; j++) s += acc[j];
    for (; i < n; i++) s += (double)x[i] * y[i];
    return s;
}

/* Channels [c0, c1): each is independent, so the pool may take them in any split. */
static void bn_forward_channels(const sl_op_args *a, size_t c0, size_t c1)
{
    const sl_node *nd = a->node;
    size_t c = nd->shape.d[0], t = bn_inner(&nd->shape), m = a->n * t;
    const sl_real *gamma = a->w, *beta = a->w + c;
    sl_real *rmean = a->state, *rvar = a->state + c;
    for (size_t ch = c0; ch < c1; ch++) {
        double mean, inv;
        if (a->training) {
            double s = 0, s2 = 0;
            for (size_t n = 0; n < a->n; n++) s += row_sum(a->x[0] + (n * c + ch) * t, t);
            mean = s / (double)m;
            for (size_t n = 0; n < a->n; n++) s2 += row_sqdev(a->x[0] + (n * c + ch) * t, t, (sl_real)mean);
            double var = s2 / (double)m;
            inv = 1.0 / sqrt(var + nd->eps);
            a->saved[ch] = (sl_real)mean;
            a->saved[c + ch] = (sl_real)inv;
            double unbiased = m > 1 ? s2 / (double)(m - 1) : var;
            rmean[ch] = (sl_real)((1 - nd->momentum) * rmean[ch] + nd->momentum * mean);
            rvar[ch] = (sl_real)((1 - nd->momentum) * rvar[ch] + nd->momentum * unbiased);
        } else {
            mean = rmean[ch];
            inv = 1.0 / sqrt((double)rvar[ch] + nd->eps);
        }
        /* y = gamma (x - mean) inv + beta = scale x + shift */
        const sl_real scale = (sl_real)(gamma[ch] * inv), shift = (sl_real)(beta[ch] - gamma[ch] * inv * mean);
        for (size_t n = 0; n < a->n; n++) {
            const sl_real *x = a->x[0] + (n * c + ch) * t;
            sl_real *y = a->y + (n * c + ch) * t;
            for (size_t i = 0; i < t; i++) y[i] = scale * x[i] + shift;
        }
    }
}

static void bn_forward(const sl_op_args *a)
{
    /* split by channels when the whole tensor is large enough to share */
    size_t c = a->node->shape.d[0], per = a->n * bn_inner(&a->node->shape);
    if (c * per < 16384 || !a->pool) {
        bn_forward_channels(a, 0, c);
        return;
    }
    sl_nn_parallel_n(a, c, bn_forward_channels);
}

static void bn_backward_channels(const sl_op_args *a, size_t c0, size_t c1)
{
    const sl_node *nd = a->node;
    size_t c = nd->shape.d[0], t = bn_inner(&nd->shape), m = a->n * t;
    const sl_real *gamma = a->w;
    sl_real *dgamma = a->dw, *dbeta = a->dw + c;
    for (size_t ch = c0; ch < c1; ch++) {
        double mean = a->saved[ch], inv = a->saved[c + ch];
        double sdy = 0, sdyx_raw = 0; /* sums of dy and of dy * x */
        for (size_t n = 0; n < a->n; n++) {
            const sl_real *x = a->x[0] + (n * c + ch) * t, *dy = a->dy + (n * c + ch) * t;
            sdy += row_sum(dy, t);
            sdyx_raw += row_dot(dy, x, t);
        }
        double sdyx = inv * (sdyx_raw - mean * sdy); /* sum of dy * xhat */
        dgamma[ch] += (sl_real)sdyx;
        dbeta[ch] += (sl_real)sdy;
        if (!a->dx[0]) continue;
        /* dx = gamma inv / m (m dy - sum dy - xhat sum dy xhat) = A dy + B x + C */
        double k = gamma[ch] * inv / (double)m;
        const sl_real A = (sl_real)(k * (double)m), B = (sl_real)(-k * inv * sdyx),
                      C = (sl_real)(-k * sdy + k * inv * mean * sdyx);
        for (size_t n = 0; n < a->n; n++) {
            const sl_real *x = a->x[0] + (n * c + ch) * t, *dy = a->dy + (n * c + ch) * t;
            sl_real *restrict dx = a->dx[0] + (n * c + ch) * t;
            if (a->dx_assign[0])
                for (size_t i = 0; i < t; i++) dx[i] = A * dy[i] + B * x[i] + C;
            else
                for (size_t i = 0; i < t; i++) dx[i] += A * dy[i] + B * x[i] + C;
        }
    }
}

static void bn_backward(const sl_op_args *a)
{
    size_t c = a->node->shape.d[0], per = a->n * bn_inner(&a->node->shape);
    if (c * per < 16384 || !a->pool) {
        bn_backward_channels(a, 0, c);
        return;
    }
    sl_nn_parallel_n(a, c, bn_backward_channels);
}

static void bn_init(const sl_node *nd, sl_real *w, sl_real *state, uint64_t seed, size_t node_index, size_t fan_in)
{
    (void)seed, (void)node_index, (void)fan_in;
    size_t c = nd->shape.d[0];
    for (size_t i = 0; i < c; i++) {
        w[i] = 1;
        w[c + i] = 0;
        state[i] = 0;
        state[c + i] = 1;
    }
}

const sl_op_def sl_op_batchnorm_def = {"batchnorm", bn_infer, bn_saved, bn_forward, bn_backward, bn_init, 1};
