/* More ops: relu6, swish, max and average pooling, flatten, concat. One table each. */
#include <math.h>
#include <string.h>

#include "nn/nn_internal.h"

static sl_status same_shape(sl_node *nd, const sl_shape *const *in)
{
    nd->shape = *in[0];
    return SL_OK;
}

/* ---- relu6 ---- */
static void relu6_forward(const sl_op_args *a)
{
    size_t n = a->n * sl_shape_size(&a->node->shape);
    for (size_t i = 0; i < n; i++) {
        sl_real v = a->x[0][i];
        a->y[i] = v < 0 ? 0 : v > 6 ? 6 : v;
    }
}
static void relu6_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    size_t n = a->n * sl_shape_size(&a->node->shape);
    for (size_t i = 0; i < n; i++)
        if (a->x[0][i] > 0 && a->x[0][i] < 6) a->dx[0][i] += a->dy[i];
}
const sl_op_def sl_op_relu6_def = {"relu6", same_shape, NULL, relu6_forward, relu6_backward, NULL};

/* ---- swish: x sigmoid(x); d/dx = s + x s (1 - s) ---- */
static void swish_forward(const sl_op_args *a)
{
    size_t n = a->n * sl_shape_size(&a->node->shape);
    for (size_t i = 0; i < n; i++) {
        double v = a->x[0][i];
        a->y[i] = (sl_real)(v / (1.0 + exp(-v)));
    }
}
static void swish_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    size_t n = a->n * sl_shape_size(&a->node->shape);
    for (size_t i = 0; i < n; i++) {
        double v = a->x[0][i], s = 1.0 / (1.0 + exp(-v));
        a->dx[0][i] += (sl_real)(a->dy[i] * (s + v * s * (1 - s)));
    }
}
const sl_op_def sl_op_swish_def = {"swish", same_shape, NULL, swish_forward, swish_backward, NULL};

/* ---- pooling over time: window `kernel`, step `stride`, no padding ---- */
static sl_status pool_infer(sl_node *nd, const sl_shape *const *in)
{
    if (in[0]->rank != 2) return sl_fail(SL_EARG, "pooling needs a (C, T) input");
    if (nd->kernel < 1 || nd->stride < 1) return sl_fail(SL_EARG, "pooling: kernel and stride must be >= 1");
    if (nd->kernel > in[0]->d[1])
        return sl_fail(SL_EARG, "pooling: window %zu is longer than the input (%zu)", nd->kernel, in[0]->d[1]);
    nd->shape.rank = 2;
    nd->shape.d[0] = in[0]->d[0];
    nd->shape.d[1] = (in[0]->d[1] - nd->kernel) / nd->stride + 1;
    nd->macs = nd->shape.d[0] * nd->shape.d[1] * nd->kernel;
    return SL_OK;
}
static void maxpool_forward(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t t_in = a->in_shape[0]->d[1], t_out = nd->shape.d[1], rows = a->n * nd->shape.d[0];
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 0; t < t_out; t++) {
            const sl_real *x = a->x[0] + r * t_in + t * nd->stride;
            sl_real m = x[0];
            for (size_t j = 1; j < nd->kernel; j++) m = x[j] > m ? x[j] : m;
            a->y[r * t_out + t] = m;
        }
}
static void maxpool_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    const sl_node *nd = a->node;
    size_t t_in = a->in_shape[0]->d[1], t_out = nd->shape.d[1], rows = a->n * nd->shape.d[0];
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 0; t < t_out; t++) {
            const sl_real *x = a->x[0] + r * t_in + t * nd->stride;
            size_t best = 0; /* the first maximum gets the gradient, as PyTorch */
            for (size_t j = 1; j < nd->kernel; j++)
                if (x[j] > x[best]) best = j;
            a->dx[0][r * t_in + t * nd->stride + best] += a->dy[r * t_out + t];
        }
}
const sl_op_def sl_op_maxpool_def = {"maxpool", pool_infer, NULL, maxpool_forward, maxpool_backward, NULL};

static void avgpool_forward(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    size_t t_in = a->in_shape[0]->d[1], t_out = nd->shape.d[1], rows = a->n * nd->shape.d[0];
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 0; t < t_out; t++) {
            const sl_real *x = a->x[0] + r * t_in + t * nd->stride;
            sl_real s = 0;
            for (size_t j = 0; j < nd->kernel; j++) s += x[j];
            a->y[r * t_out + t] = s / (sl_real)nd->kernel;
        }
}
static void avgpool_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    const sl_node *nd = a->node;
    size_t t_in = a->in_shape[0]->d[1], t_out = nd->shape.d[1], rows = a->n * nd->shape.d[0];
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 0; t < t_out; t++) {
            sl_real g = a->dy[r * t_out + t] / (sl_real)nd->kernel;
            for (size_t j = 0; j < nd->kernel; j++) a->dx[0][r * t_in + t * nd->stride + j] += g;
        }
}
const sl_op_def sl_op_avgpool_def = {"avgpool", pool_infer, NULL, avgpool_forward, avgpool_backward, NULL};

/* ---- flatten: the same numbers, one axis ---- */
static sl_status flatten_infer(sl_node *nd, const sl_shape *const *in)
{
    nd->shape.rank = 1;
    nd->shape.d[0] = sl_shape_size(in[0]);
    return SL_OK;
}
static void flatten_forward(const sl_op_args *a)
{
    memcpy(a->y, a->x[0], a->n * sl_shape_size(&a->node->shape) * sizeof *a->y);
}
static void flatten_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    size_t n = a->n * sl_shape_size(&a->node->shape);
    for (size_t i = 0; i < n; i++) a->dx[0][i] += a->dy[i];
}
const sl_op_def sl_op_flatten_def = {"flatten", flatten_infer, NULL, flatten_forward, flatten_backward, NULL};

/* ---- concat along channels: (C_1, T), ..., (C_k, T) -> (sum C_i, T) ---- */
static sl_status concat_infer(sl_node *nd, const sl_shape *const *in)
{
    size_t c = 0, t = in[0]->rank == 2 ? in[0]->d[1] : 1;
    for (int i = 0; i < nd->n_in; i++) {
        size_t ti = in[i]->rank == 2 ? in[i]->d[1] : 1;
        if (in[i]->rank != in[0]->rank || ti != t)
            return sl_fail(SL_EARG, "concat: input %d has another length (%zu, not %zu)", i + 1, ti, t);
        c += in[i]->d[0];
    }
    nd->shape = *in[0];
    nd->shape.d[0] = c;
    return SL_OK;
}
static void concat_forward(const sl_op_args *a)
{
    size_t total = sl_shape_size(&a->node->shape), off = 0;
    for (int i = 0; i < a->node->n_in; i++) {
        size_t part = sl_shape_size(a->in_shape[i]);
        for (size_t n = 0; n < a->n; n++) memcpy(a->y + n * total + off, a->x[i] + n * part, part * sizeof *a->y);
        off += part;
    }
}
static void concat_backward(const sl_op_args *a)
{
    size_t total = sl_shape_size(&a->node->shape), off = 0;
    for (int i = 0; i < a->node->n_in; i++) {
        size_t part = sl_shape_size(a->in_shape[i]);
        if (a->dx[i])
            for (size_t n = 0; n < a->n; n++)
                for (size_t j = 0; j < part; j++) a->dx[i][n * part + j] += a->dy[n * total + off + j];
        off += part;
    }
}
const sl_op_def sl_op_concat_def = {"concat", concat_infer, NULL, concat_forward, concat_backward, NULL};
