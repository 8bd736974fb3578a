/* The small ops: relu, add, global average pooling, dense. One table each. */
#include <string.h>

#include "nn/nn_internal.h"

/* ---- relu ---- */
static sl_status relu_infer(sl_node *nd, const sl_shape *const *in)
{
    nd->shape = *in[0];
    return SL_OK;
}
static void relu_forward_range(const sl_op_args *a, size_t lo, size_t hi)
{
    /* a NaN passes through (as in PyTorch), so a diverged network cannot look healthy; the
     * pointers are hoisted (restrict) so the loop vectorises instead of branching per value */
    const sl_real *restrict x = a->x[0];
    sl_real *restrict y = a->y;
    for (size_t i = lo; i < hi; i++) y[i] = x[i] < 0 ? 0 : x[i];
}
static void relu_forward(const sl_op_args *a)
{
    sl_nn_parallel(a, a->n * sl_shape_size(&a->node->shape), relu_forward_range);
}
static void relu_backward_range(const sl_op_args *a, size_t lo, size_t hi)
{
    const sl_real *restrict x = a->x[0], *restrict dy = a->dy;
    sl_real *restrict dx = a->dx[0];
    if (a->dx_assign[0])
        for (size_t i = lo; i < hi; i++) {
            sl_real d = dy[i]; /* loaded either way, so the select needs no branch */
            dx[i] = x[i] > 0 ? d : 0;
        }
    else
        for (size_t i = lo; i < hi; i++) {
            sl_real d = dy[i];
            dx[i] += x[i] > 0 ? d : 0;
        }
}
static void relu_backward(const sl_op_args *a)
{
    if (a->dx[0]) sl_nn_parallel(a, a->n * sl_shape_size(&a->node->shape), relu_backward_range);
}
const sl_op_def sl_op_relu_def = {"relu", relu_infer, NULL, relu_forward, relu_backward, NULL, 1, NULL};

/* ---- add: a residual's sum ---- */
static sl_status add_infer(sl_node *nd, const sl_shape *const *in)
{
    int same = in[0]->rank == in[1]->rank;
    for (int i = 0; same && i < in[0]->rank; i++) same = in[0]->d[i] == in[1]->d[i];
    if (!same) return sl_fail(SL_EARG, "add: the two inputs must have one shape");
    nd->shape = *in[0];
    nd->macs = sl_shape_size(in[0]);
    return SL_OK;
}
static void add_forward_range(const sl_op_args *a, size_t lo, size_t hi)
{
    const sl_real *restrict x0 = a->x[0], *restrict x1 = a->x[1];
    sl_real *restrict y = a->y;
    for (size_t i = lo; i < hi; i++) y[i] = x0[i] + x1[i];
}
static void add_forward(const sl_op_args *a)
{
    sl_nn_parallel(a, a->n * sl_shape_size(&a->node->shape), add_forward_range);
}
static void add_backward_range(const sl_op_args *a, size_t lo, size_t hi)
{
    const sl_real *restrict dy = a->dy;
    for (int k = 0; k < 2; k++)
        if (a->dx[k]) {
            sl_real *restrict dx = a->dx[k];
            if (a->dx_assign[k]) memcpy(dx + lo, dy + lo, (hi - lo) * sizeof *dx);
            else
                for (size_t i = lo; i < hi; i++) dx[i] += dy[i];
        }
}
static void add_backward(const sl_op_args *a)
{
    sl_nn_parallel(a, a->n * sl_shape_size(&a->node->shape), add_backward_range);
}
const sl_op_def sl_op_add_def = {"add", add_infer, NULL, add_forward, add_backward, NULL, 1, NULL};

/* ---- global average pooling: (C, T) or (C, H, W) -> (C) ---- */
static sl_status gap_infer(sl_node *nd, const sl_shape *const *in)
{
    if (in[0]->rank < 2) return sl_fail(SL_EARG, "global average pooling needs a (C, T) or (C, H, W) input");
    nd->shape.rank = 1;
    nd->shape.d[0] = in[0]->d[0];
    nd->macs = sl_shape_size(in[0]);
    return SL_OK;
}
static void gap_forward(const sl_op_args *a)
{
    size_t c = a->in_shape[0]->d[0], t = sl_shape_size(a->in_shape[0]) / c;
    for (size_t i = 0; i < a->n * c; i++) {
        sl_real s = 0;
        for (size_t j = 0; j < t; j++) s += a->x[0][i * t + j];
        a->y[i] = s / (sl_real)t;
    }
}
static void gap_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    size_t c = a->in_shape[0]->d[0], t = sl_shape_size(a->in_shape[0]) / c;
    for (size_t i = 0; i < a->n * c; i++)
        for (size_t j = 0; j < t; j++) a->dx[0][i * t + j] += a->dy[i] / (sl_real)t;
}
const sl_op_def sl_op_gap_def = {"gap", gap_infer, NULL, gap_forward, gap_backward, NULL, 0, NULL};

/* ---- dense: (F) -> (units); w (units, F) then b (units) ---- */
static sl_status dense_infer(sl_node *nd, const sl_shape *const *in)
{
    if (in[0]->rank != 1) return sl_fail(SL_EARG, "dense needs a vector input (add global pooling first)");
    if (nd->units < 1) return sl_fail(SL_EARG, "dense: units must be >= 1");
    nd->shape.rank = 1;
    nd->shape.d[0] = nd->units;
    nd->n_params = nd->units * in[0]->d[0] + nd->units;
    nd->macs = nd->units * in[0]->d[0];
    return SL_OK;
}
static void dense_forward(const sl_op_args *a)
{
    size_t f = a->in_shape[0]->d[0], u = a->node->units;
    const sl_real *b = a->w + u * f;
    for (size_t n = 0; n < a->n; n++)
        for (size_t o = 0; o < u; o++) {
            sl_real s = b[o];
            for (size_t i = 0; i < f; i++) s += a->w[o * f + i] * a->x[0][n * f + i];
            a->y[n * u + o] = s;
        }
}
static void dense_backward(const sl_op_args *a)
{
    size_t f = a->in_shape[0]->d[0], u = a->node->units;
    sl_real *db = a->dw + u * f;
    for (size_t n = 0; n < a->n; n++)
        for (size_t o = 0; o < u; o++) {
            sl_real g = a->dy[n * u + o];
            db[o] += g;
            for (size_t i = 0; i < f; i++) {
                a->dw[o * f + i] += g * a->x[0][n * f + i];
                if (a->dx[0]) a->dx[0][n * f + i] += g * a->w[o * f + i];
            }
        }
}
static void dense_init(const sl_node *nd, sl_real *w, sl_real *state, uint64_t seed, size_t node_index, size_t fan_in)
{
    (void)state;
    /* weights, then the bias, from one stream with one bound, as PyTorch's Linear */
    sl_nn_kaiming(w, nd->n_params, fan_in, seed, node_index);
}
const sl_op_def sl_op_dense_def = {"dense", dense_infer, NULL, dense_forward, dense_backward, dense_init, 0, NULL};
