/* The op table: each op is one file with its shape inference, forward, backward and init. */
#ifndef SIGLOOP_NN_INTERNAL_H
#define SIGLOOP_NN_INTERNAL_H

#include "sigloop/nn.h"
#include "sigloop/pool.h"

/* Kernels may split their work over at most this many workers (per-worker scratch is sized for it). */
#define SL_NN_MAX_WORKERS 16

/* What a kernel sees for one node and a batch of n examples. */
typedef struct {
    const sl_node *node;
    size_t n;
    const sl_shape *in_shape[SL_NN_MAX_INPUTS];
    const sl_real *x[SL_NN_MAX_INPUTS];  /* inputs (n, in_shape) */
    sl_real *dx[SL_NN_MAX_INPUTS];       /* their gradients, += (NULL: not needed) */
    int dx_assign[SL_NN_MAX_INPUTS];     /* 1: set dx[k] (=) instead of adding to it; only for ops
                                            with `assigns` */
    sl_real *y;                          /* output (n, node->shape) */
    const sl_real *dy;                   /* its gradient */
    sl_real *w, *dw;                     /* parameters and their gradients (node->n_params) */
    sl_real *state;                      /* running state (node->n_state) */
    sl_real *saved;                      /* per-node values kept from forward for backward */
    sl_real *work;                       /* scratch not kept: work_per reals for each part p of a
                                            pool run, at work + p work_per (shared by all nodes) */
    size_t work_per;
    int training;
    uint64_t noise_seed, noise_step;     /* dropout's draws: (seed, step, node index, ...) */
    size_t index;                        /* of the node in the graph */
    sl_pool *pool;                       /* NULL: run on the calling thread */
} sl_op_args;

typedef struct {
    const char *name;
    /* Checks inputs and attributes; sets node->shape, n_params, n_state, macs. */
    sl_status (*infer)(sl_node *node, const sl_shape *const *in);
    /* Reals this node keeps between forward and backward, for a batch of n. */
    size_t (*saved)(const sl_node *node, size_t n);
    void (*forward)(const sl_op_args *a);
    void (*backward)(const sl_op_args *a);
    /* Initial parameters and state; rng draws from (seed, node index, parameter index). */
    void (*init)(const sl_node *node, sl_real *w, sl_real *state, uint64_t seed, size_t node_index,
                 size_t fan_in);
    /* 1: backward honours dx_assign (writes every value of an assigned input's gradient), so the
     * net need not zero that gradient first; 0: the net zeroes it and backward adds. */
    int assigns;
    /* Reals of scratch each part of a pool run may use in forward or backward, not kept between
     * them (a->work); NULL: none. The net holds one area for all nodes, sized for the largest. */
    size_t (*scratch)(const sl_node *node, size_t n);
} sl_op_def;

/* Part p's scratch (a->work_per reals). */
static inline sl_real *sl_nn_work(const sl_op_args *a, size_t part) { return a->work + part * a->work_per; }

extern const sl_op_def sl_op_conv1d_def;
extern const sl_op_def sl_op_batchnorm_def;
extern const sl_op_def sl_op_relu_def;
extern const sl_op_def sl_op_add_def;
extern const sl_op_def sl_op_gap_def;
extern const sl_op_def sl_op_dense_def;
extern const sl_op_def sl_op_relu6_def;
extern const sl_op_def sl_op_swish_def;
extern const sl_op_def sl_op_maxpool_def;
extern const sl_op_def sl_op_avgpool_def;
extern const sl_op_def sl_op_flatten_def;
extern const sl_op_def sl_op_concat_def;
extern const sl_op_def sl_op_conv2d_def;
extern const sl_op_def sl_op_dropout_def;

/* Runs fn over [0, total) in contiguous parts, one per worker of a->pool when total is large
 * enough to pay for the hand-over (else on the calling thread). Parts must write disjoint
 * outputs; the split then cannot change any result. */
void sl_nn_parallel(const sl_op_args *a, size_t total, void (*fn)(const sl_op_args *a, size_t lo, size_t hi));
/* The same for a few heavy items (channels): always split when there is a pool. */
void sl_nn_parallel_n(const sl_op_args *a, size_t total, void (*fn)(const sl_op_args *a, size_t lo, size_t hi));

/* For an axis of n_in inputs and n_out outputs at `stride`, the outputs t whose input position
 * t stride + off lies in [0, n_in): [*lo, *hi) (empty when *lo == *hi). */
void sl_nn_valid_range(long off, size_t stride, size_t n_in, size_t n_out, size_t *lo, size_t *hi);

/* Weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default), drawn from (seed, node, i). */
void sl_nn_kaiming(sl_real *w, size_t count, size_t fan_in, uint64_t seed, size_t node_index);

#endif
