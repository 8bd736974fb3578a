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

/* Sums over the n rows of one channel (stride apart, t values each): per position in a float
 * buffer, which the compiler vectorises whatever t is (TC-ResNet's rows are 13 to 98 long), and
 * the buffer then in double. Each buffer value sums only n terms. */
#define CHUNK 256
/* sum x over the rows, or with square sum (x - c)^2 */
static double rows_sum(const sl_real *x, size_t n, size_t stride, size_t t, sl_real c, int square)
{
    sl_real buf[CHUNK];
    double s = 0;
    for (size_t i0 = 0; i0 < t; i0 += CHUNK) {
        size_t len = t - i0 < CHUNK ? t - i0 : CHUNK;
        for (size_t i = 0; i < len; i++) buf[i] = 0;
        for (size_t r = 0; r < n; r++) {
            const sl_real *restrict p = x + r * stride + i0;
            if (square)
                for (size_t i = 0; i < len; i++) buf[i] += (p[i] - c) * (p[i] - c);
            else
                for (size_t i = 0; i < len; i++) buf[i] += p[i];
        }
        for (size_t i = 0; i < len; i++) s += buf[i];
    }
    return s;
}
/* sum dy and sum dy x over the rows */
static void rows_sum_dot(const sl_real *dy, const sl_real *x, size_t n, size_t stride, size_t t, double *sdy,
                         double *sdyx)
{
    sl_real b1[CHUNK], b2[CHUNK];
    double s1 = 0, s2 = 0;
    for (size_t i0 = 0; i0 < t; i0 += CHUNK) {
        size_t len = t - i0 < CHUNK ? t - i0 : CHUNK;
        for (size_t i = 0; i < len; i++) b1[i] = b2[i] = 0;
        for (size_t r = 0; r < n; r++) {
            const sl_real *restrict p = dy + r * stride + i0, *restrict q = x + r * stride + i0;
            for (size_t i = 0; i < len; i++) {
                b1[i] += p[i];
                b2[i] += p[i] * q[i];
            }
        }
        for (size_t i = 0; i < len; i++) {
            s1 += b1[i];
            s2 += b2[i];
        }
    }
    *sdy = s1;
    *sdyx = s2;
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
            double s = rows_sum(a->x[0] + ch * t, a->n, c * t, t, 0, 0);
            mean = s / (double)m;
            double s2 = rows_sum(a->x[0] + ch * t, a->n, c * t, t, (sl_real)mean, 1);
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
        double sdy, sdyx_raw; /* sums of dy and of dy * x */
        rows_sum_dot(a->dy + ch * t, a->x[0] + ch * t, a->n, c * t, t, &sdy, &sdyx_raw);
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

const sl_op_def sl_op_batchnorm_def = {"batchnorm", bn_infer, bn_saved, bn_forward, bn_backward, bn_init, 1, NULL};
