/* dropout (inverted, as PyTorch's Dropout): in training each value is zeroed with probability
 * rate and the others are scaled by 1 / (1 - rate), so inference is the identity. The mask of
 * the batch's example e is drawn from (seed, step, node, e), so it does not depend on threads,
 * and a resumed run draws what an uninterrupted one would.
 * saved: the scale (0 or 1 / (1 - rate)) of every value of the batch. */
#include <string.h>

#include "nn/nn_internal.h"
#include "sigloop/rng.h"

static sl_status dropout_infer(sl_node *nd, const sl_shape *const *in)
{
    if (!(nd->rate >= 0 && nd->rate < 1)) return sl_fail(SL_EARG, "dropout: rate must be in [0, 1) (got %g)", nd->rate);
    nd->shape = *in[0];
    nd->macs = sl_shape_size(in[0]);
    return SL_OK;
}

static size_t dropout_saved(const sl_node *nd, size_t n) { return n * sl_shape_size(&nd->shape); }

static void dropout_forward(const sl_op_args *a)
{
    size_t per = sl_shape_size(&a->node->shape), total = a->n * per;
    if (!a->training || a->node->rate == 0) {
        memcpy(a->y, a->x[0], total * sizeof *a->y);
        if (a->training)
            for (size_t i = 0; i < total; i++) a->saved[i] = 1;
        return;
    }
    const sl_real keep = (sl_real)(1.0 / (1.0 - a->node->rate));
    /* a value is dropped when its 24-bit uniform draw is below rate */
    const float rate = (float)a->node->rate;
    uint64_t base = sl_hash64(&a->noise_step, sizeof a->noise_step, (uint64_t)a->index);
    for (size_t e = 0; e < a->n; e++) {
        sl_rng r = sl_rng_make(a->noise_seed, base ^ ((uint64_t)e << 40) ^ (uint64_t)a->index);
        sl_real *m = a->saved + e * per;
        for (size_t i = 0; i < per; i++) m[i] = sl_rng_uniform(&r) < rate ? 0 : keep;
    }
    const sl_real *restrict x = a->x[0], *restrict m = a->saved;
    sl_real *restrict y = a->y;
    for (size_t i = 0; i < total; i++) y[i] = x[i] * m[i];
}

static void dropout_backward(const sl_op_args *a)
{
    if (!a->dx[0]) return;
    size_t total = a->n * sl_shape_size(&a->node->shape);
    const sl_real *restrict dy = a->dy, *restrict m = a->saved;
    sl_real *restrict dx = a->dx[0];
    for (size_t i = 0; i < total; i++) dx[i] += dy[i] * m[i];
}

const sl_op_def sl_op_dropout_def = {"dropout", dropout_infer, dropout_saved, dropout_forward, dropout_backward, NULL, 0, NULL};
