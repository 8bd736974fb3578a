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
    for (size_t i = 0; i < n; i++) {
        sl_real d = a->dy[i], v = a->x[0][i];
        a->dx[0][i] += v > 0 && v < 6 ? d : 0;
    }
}
const sl_op_def sl_op_relu6_def = {"relu6", same_shape, NULL, relu6_forward, relu6_backward, NULL, 0, NULL};

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
const sl_op_def sl_op_swish_def = {"swish", same_shape, NULL, swish_forward, swish_backward, NULL, 0, NULL};

/* ---- pooling: window `kernel` (k x k on (C, H, W)), step `stride`, no padding ---- */
typedef struct {
    size_t rows, h_in, w_in, h_out, w_out, kh, kw, sh, sw;
} pool_geom;

/* (C, T) is pooled as (C, 1, T) with a 1 x k window. */
static pool_geom pool_geometry(const sl_op_args *a)
{
    const sl_node *nd = a->node;
    const sl_shape *in = a->in_shape[0];
    int two = in->rank == 3;
    pool_geom g = {.rows = a->n * in->d[0], .h_in = two ? in->d[1] : 1, .w_in = in->d[two ? 2 : 1],
                   .h_out = two ? nd->shape.d[1] : 1, .w_out = nd->shape.d[two ? 2 : 1], .kh = two ? nd->kernel : 1,
                   .kw = nd->kernel, .sh = two ? nd->stride : 1, .sw = nd->stride};
    return g;
}

static sl_status pool_infer(sl_node *nd, const sl_shape *const *in)
{
    if (in[0]->rank < 2) return sl_fail(SL_EARG, "pooling needs a (C, T) or (C, H, W) input");
    if (nd->kernel < 1 || nd->stride < 1) return sl_fail(SL_EARG, "pooling: kernel and stride must be >= 1");
    for (int k = 1; k < in[0]->rank; k++)
        if (nd->kernel > in[0]->d[k])
            return sl_fail(SL_EARG, "pooling: window %zu is longer than the input (%zu)", nd->kernel, in[0]->d[k]);
    nd->shape = *in[0];
    for (int k = 1; k < in[0]->rank; k++) nd->shape.d[k] = (in[0]->d[k] - nd->kernel) / nd->stride + 1;
    nd->macs = sl_shape_size(&nd->shape) * nd->kernel * (in[0]->rank == 3 ? nd->kernel : 1);
    return SL_OK;
}
static void maxpool_forward(const sl_op_args *a)
{
    pool_geom g = pool_geometry(a);
    for (size_t r = 0; r < g.rows; r++)
        for (size_t oh = 0; oh < g.h_out; oh++)
            for (size_t ow = 0; ow < g.w_out; ow++) {
                const sl_real *x = a->x[0] + (r * g.h_in + oh * g.sh) * g.w_in + ow * g.sw;
                sl_real m = x[0];
                for (size_t i = 0; i < g.kh; i++)
                    for (size_t j = 0; j < g.kw; j++) m = x[i * g.w_in + j] > m ? x[i * g.w_in + j] : m;
                a->y[(r * g.h_out + oh) * g.w_out + ow] = m;
            }
}
static void maxpool_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    pool_geom g = pool_geometry(a);
    for (size_t r = 0; r < g.rows; r++)
        for (size_t oh = 0; oh < g.h_out; oh++)
            for (size_t ow = 0; ow < g.w_out; ow++) {
                size_t base = (r * g.h_in + oh * g.sh) * g.w_in + ow * g.sw, best = base;
                const sl_real *x = a->x[0];
                /* the first maximum in row-major order gets the gradient, as PyTorch */
                for (size_t i = 0; i < g.kh; i++)
                    for (size_t j = 0; j < g.kw; j++)
                        if (x[base + i * g.w_in + j] > x[best]) best = base + i * g.w_in + j;
                a->dx[0][best] += a->dy[(r * g.h_out + oh) * g.w_out + ow];
            }
}
const sl_op_def sl_op_maxpool_def = {"maxpool", pool_infer, NULL, maxpool_forward, maxpool_backward, NULL, 0, NULL};

static void avgpool_forward(const sl_op_args *a)
{
    pool_geom g = pool_geometry(a);
    sl_real inv = (sl_real)(1.0 / (double)(g.kh * g.kw));
    for (size_t r = 0; r < g.rows; r++)
        for (size_t oh = 0; oh < g.h_out; oh++)
            for (size_t ow = 0; ow < g.w_out; ow++) {
                const sl_real *x = a->x[0] + (r * g.h_in + oh * g.sh) * g.w_in + ow * g.sw;
                sl_real s = 0;
                for (size_t i = 0; i < g.kh; i++)
                    for (size_t j = 0; j < g.kw; j++) s += x[i * g.w_in + j];
                a->y[(r * g.h_out + oh) * g.w_out + ow] = s * inv;
            }
}
static void avgpool_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    pool_geom g = pool_geometry(a);
    sl_real inv = (sl_real)(1.0 / (double)(g.kh * g.kw));
    for (size_t r = 0; r < g.rows; r++)
        for (size_t oh = 0; oh < g.h_out; oh++)
            for (size_t ow = 0; ow < g.w_out; ow++) {
                sl_real *dx = a->dx[0] + (r * g.h_in + oh * g.sh) * g.w_in + ow * g.sw;
                sl_real d = a->dy[(r * g.h_out + oh) * g.w_out + ow] * inv;
                for (size_t i = 0; i < g.kh; i++)
                    for (size_t j = 0; j < g.kw; j++) dx[i * g.w_in + j] += d;
            }
}
const sl_op_def sl_op_avgpool_def = {"avgpool", pool_infer, NULL, avgpool_forward, avgpool_backward, NULL, 0, NULL};

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
const sl_op_def sl_op_flatten_def = {"flatten", flatten_infer, NULL, flatten_forward, flatten_backward, NULL, 0, NULL};

/* ---- concat along channels: (C_1, ...), ..., (C_k, ...) -> (sum C_i, ...) ---- */
static sl_status concat_infer(sl_node *nd, const sl_shape *const *in)
{
    size_t c = 0, t = sl_shape_size(in[0]) / in[0]->d[0];
    for (int i = 0; i < nd->n_in; i++) {
        size_t ti = sl_shape_size(in[i]) / in[i]->d[0];
        int same = in[i]->rank == in[0]->rank;
        for (int k = 1; same && k < in[0]->rank; k++) same = in[i]->d[k] == in[0]->d[k];
        if (!same) return sl_fail(SL_EARG, "concat: input %d has another length (%zu, not %zu)", i + 1, ti, t);
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
const sl_op_def sl_op_concat_def = {"concat", concat_infer, NULL, concat_forward, concat_backward, NULL, 0, NULL};
