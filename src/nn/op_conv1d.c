/* conv1d: (C_in, T) -> (C_out, T_out), T_out = (T + 2 pad - dilation (K - 1) - 1) / stride + 1.
 * w: (C_out, C_in / groups, K), then b: (C_out). groups = C_in = C_out is depthwise.
 * Direct loops: the reference every faster kernel will be checked against. */
#include "nn/nn_internal.h"

static sl_status conv_infer(sl_node *nd, const sl_shape *const *in)
{
    if (in[0]->rank != 2) return sl_fail(SL_EARG, "conv1d needs a (C, T) input");
    size_t c_in = in[0]->d[0], t = in[0]->d[1];
    if (nd->kernel < 1 || nd->stride < 1 || nd->dilation < 1 || nd->groups < 1 || nd->c_out < 1)
        return sl_fail(SL_EARG, "conv1d: kernel, stride, dilation, groups and channels must be >= 1");
    if (c_in % nd->groups || nd->c_out % nd->groups)
        return sl_fail(SL_EARG, "conv1d: groups (%zu) must divide the input (%zu) and output (%zu) channels",
                       nd->groups, c_in, nd->c_out);
    size_t span = nd->dilation * (nd->kernel - 1) + 1;
    if (t + 2 * nd->pad < span)
        return sl_fail(SL_EARG, "conv1d: kernel span %zu is longer than the padded input (%zu)", span, t + 2 * nd->pad);
    nd->shape.rank = 2;
    nd->shape.d[0] = nd->c_out;
    nd->shape.d[1] = (t + 2 * nd->pad - span) / nd->stride + 1;
    nd->n_params = nd->c_out * (c_in / nd->groups) * nd->kernel + (nd->bias ? nd->c_out : 0);
    nd->macs = nd->shape.d[0] * nd->shape.d[1] * (c_in / nd->groups) * nd->kernel;
    return SL_OK;
}

static void conv_forward(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], t_in = a->in_shape[0]->d[1];
    size_t c_out = nd->shape.d[0], t_out = nd->shape.d[1], k = nd->kernel;
    size_t cig = c_in / nd->groups, cog = c_out / nd->groups;
    const sl_real *b = nd->bias ? a->w + c_out * cig * k : NULL;
    for (size_t n = 0; n < a->n; n++)
        for (size_t o = 0; o < c_out; o++) {
            size_t g = o / cog;
            sl_real *y = a->y + (n * c_out + o) * t_out;
            for (size_t t = 0; t < t_out; t++) y[t] = b ? b[o] : 0;
            for (size_t i = 0; i < cig; i++) {
                const sl_real *x = a->x[0] + (n * c_in + g * cig + i) * t_in;
                const sl_real *w = a->w + (o * cig + i) * k;
                for (size_t j = 0; j < k; j++) {
                    long off = (long)(j * nd->dilation) - (long)nd->pad;
                    for (size_t t = 0; t < t_out; t++) {
                        long s = (long)(t * nd->stride) + off;
                        if (s >= 0 && s < (long)t_in) y[t] += w[j] * x[s];
                    }
                }
            }
        }
}

static void conv_backward(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t c_in = a->in_shape[0]->d[0], t_in = a->in_shape[0]->d[1];
    size_t c_out = nd->shape.d[0], t_out = nd->shape.d[1], k = nd->kernel;
    size_t cig = c_in / nd->groups, cog = c_out / nd->groups;
    sl_real *db = nd->bias ? a->dw + c_out * cig * k : NULL;
    for (size_t n = 0; n < a->n; n++)
        for (size_t o = 0; o < c_out; o++) {
            size_t g = o / cog;
            const sl_real *dy = a->dy + (n * c_out + o) * t_out;
            if (db)
                for (size_t t = 0; t < t_out; t++) db[o] += dy[t];
            for (size_t i = 0; i < cig; i++) {
                size_t ci = g * cig + i;
                const sl_real *x = a->x[0] + (n * c_in + ci) * t_in;
                sl_real *dx = a->dx[0] ? a->dx[0] + (n * c_in + ci) * t_in : NULL;
                const sl_real *w = a->w + (o * cig + i) * k;
                sl_real *dw = a->dw + (o * cig + i) * k;
                for (size_t j = 0; j < k; j++) {
                    long off = (long)(j * nd->dilation) - (long)nd->pad;
                    sl_real acc = 0;
                    for (size_t t = 0; t < t_out; t++) {
                        long s = (long)(t * nd->stride) + off;
                        if (s < 0 || s >= (long)t_in) continue;
                        acc += dy[t] * x[s];
                        if (dx) dx[s] += dy[t] * w[j];
                    }
                    dw[j] += acc;
                }
            }
        }
}

static void conv_init(const sl_node *nd, sl_real *w, sl_real *state, uint64_t seed, size_t node_index, size_t fan_in)
{
    (void)state;
    size_t nw = nd->n_params - (nd->bias ? nd->c_out : 0);
    sl_nn_kaiming(w, nw, fan_in, seed, node_index);
    for (size_t i = nw; i < nd->n_params; i++) w[i] = 0;
}

const sl_op_def sl_op_conv1d_def = {"conv1d", conv_infer, NULL, conv_forward, conv_backward, conv_init};
