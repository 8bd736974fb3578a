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

static void bn_forward(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t c = nd->shape.d[0], t = bn_inner(&nd->shape), m = a->n * t;
    const sl_real *gamma = a->w, *beta = a->w + c;
    sl_real *rmean = a->state, *rvar = a->state + c;
    for (size_t ch = 0; ch < c; ch++) {
        double mean, inv;
        if (a->training) {
            double s = 0, s2 = 0;
            for (size_t n = 0; n < a->n; n++)
                for (size_t i = 0; i < t; i++) s += a->x[0][(n * c + ch) * t + i];
            mean = s / (double)m;
            for (size_t n = 0; n < a->n; n++)
                for (size_t i = 0; i < t; i++) {
                    double d = a->x[0][(n * c + ch) * t + i] - mean;
                    s2 += d * d;
                }
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
        for (size_t n = 0; n < a->n; n++)
            for (size_t i = 0; i < t; i++) {
                size_t at = (n * c + ch) * t + i;
                a->y[at] = (sl_real)(gamma[ch] * (a->x[0][at] - mean) * inv + beta[ch]);
            }
    }
}

static void bn_backward(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t c = nd->shape.d[0], t = bn_inner(&nd->shape), m = a->n * t;
    const sl_real *gamma = a->w;
    sl_real *dgamma = a->dw, *dbeta = a->dw + c;
    for (size_t ch = 0; ch < c; ch++) {
        double mean = a->saved[ch], inv = a->saved[c + ch];
        double sdy = 0, sdyx = 0; /* sums of dy and of dy * xhat */
        for (size_t n = 0; n < a->n; n++)
            for (size_t i = 0; i < t; i++) {
                size_t at = (n * c + ch) * t + i;
                double xhat = (a->x[0][at] - mean) * inv;
                sdy += a->dy[at];
                sdyx += a->dy[at] * xhat;
            }
        dgamma[ch] += (sl_real)sdyx;
        dbeta[ch] += (sl_real)sdy;
        if (!a->dx[0]) continue;
        /* dx = gamma inv / m (m dy - sum dy - xhat sum dy xhat) */
        double k = gamma[ch] * inv / (double)m;
        for (size_t n = 0; n < a->n; n++)
            for (size_t i = 0; i < t; i++) {
                size_t at = (n * c + ch) * t + i;
                double xhat = (a->x[0][at] - mean) * inv;
                a->dx[0][at] += (sl_real)(k * ((double)m * a->dy[at] - sdy - xhat * sdyx));
            }
    }
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

const sl_op_def sl_op_batchnorm_def = {"batchnorm", bn_infer, bn_saved, bn_forward, bn_backward, bn_init};
