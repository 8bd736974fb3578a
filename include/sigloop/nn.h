/* The network: a static graph of ops over per-example tensors, and a net that runs it on batches.
 *
 * A graph is an ordered array of nodes; node 0 is the input, every other node names the nodes it
 * reads (always earlier ones), so forward runs the array in order and backward in reverse. Shapes
 * are per example and inferred when a node is added: (C, T) for 1-D signals, (C, H, W) for 2-D
 * ones (a spectrogram as one channel: (1, bands, frames)), (F) for vectors.
 * A builder call returns the new node's index, or -1 after recording a message; the first error
 * sticks (sl_graph_status), so a builder can add a whole network and check once.
 *
 * Numbers are sl_real: float in the library; the gradient tests build the same sources with
 * SIGLOOP_NN_DOUBLE to check every gradient by finite differences in double precision.
 *
 * Kernels follow one contract: forward overwrites its output; backward adds (+=) into the input
 * gradients and the parameter gradients. */
#ifndef SIGLOOP_NN_H
#define SIGLOOP_NN_H

#include <stddef.h>
#include <stdint.h>

#include "sigloop/base.h"
#include "sigloop/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef SIGLOOP_NN_DOUBLE
typedef double sl_real;
#else
typedef float sl_real;
#endif

#define SL_NN_MAX_INPUTS 8
#define SL_NN_NAME 32

typedef enum {
    SL_OP_INPUT = 0,
    SL_OP_CONV1D,    /* (C_in, T) -> (C_out, T'), stride, padding, dilation, groups, bias */
    SL_OP_BATCHNORM, /* per channel (dim 0), batch statistics in training, running ones after */
    SL_OP_RELU,
    SL_OP_ADD,       /* two inputs of one shape */
    SL_OP_GAP,       /* global average pool: (C, T) -> (C) */
    SL_OP_DENSE,     /* (F) -> (units), bias */
    SL_OP_RELU6,     /* min(max(x, 0), 6) */
    SL_OP_SWISH,     /* x sigmoid(x) */
    SL_OP_MAXPOOL,   /* (C, T) -> (C, T'), window kernel, stride; k x k on (C, H, W) */
    SL_OP_AVGPOOL,   /* the same, averaging */
    SL_OP_FLATTEN,   /* (C, T) -> (C T) */
    SL_OP_CONCAT,    /* n inputs (C_i, ...) -> (sum C_i, ...): a dense block's join */
    SL_OP_CONV2D,    /* (C_in, H, W) -> (C_out, H', W'), per axis kernel, stride, padding, dilation;
                        groups, bias */
    SL_OP_DROPOUT,   /* training: zero each value with probability rate, scale the rest by
                        1 / (1 - rate); inference: identity */
    SL_OP_COUNT
} sl_op;

typedef struct {
    int rank;          /* 1, 2 or 3 */
    size_t d[3];       /* (F), (C, T) or (C, H, W) */
} sl_shape;

size_t sl_shape_size(const sl_shape *s);

typedef struct {
    sl_op op;
    char name[SL_NN_NAME];
    int in[SL_NN_MAX_INPUTS];
    int n_in;
    sl_shape shape;         /* of the output, per example */
    /* attributes */
    size_t c_out, kernel, stride, pad, dilation, groups; /* conv1d; conv2d: along W (time) */
    size_t kernel_h, stride_h, pad_h, dilation_h;       /* conv2d: along H (bands) */
    double rate;            /* dropout */
    int bias;               /* conv1d, dense */
    size_t units;           /* dense */
    double eps, momentum;   /* batchnorm: 1e-5, 0.1 (as PyTorch) */
    /* layout in the net's blocks (floats) */
    size_t param_off, n_params;  /* conv1d: w (C_out, C_in/groups, K) then b (C_out);
                                    batchnorm: gamma (C) then beta (C); dense: w (units, F), b */
    size_t state_off, n_state;   /* batchnorm: running mean (C), running var (C) */
    size_t macs;                 /* multiply-adds per example (forward) */
} sl_node;

typedef struct sl_graph sl_graph;

/* A graph whose input has the given per-example shape. On error *out is NULL. */
sl_status sl_graph_new(sl_graph **out, const sl_shape *input);
void sl_graph_free(sl_graph *g); /* NULL-safe */
sl_status sl_graph_status(const sl_graph *g);

int sl_graph_conv1d(sl_graph *g, int x, size_t c_out, size_t kernel, size_t stride, size_t pad, size_t dilation,
                    size_t groups, int bias, const char *name);
int sl_graph_batchnorm(sl_graph *g, int x, const char *name);
int sl_graph_relu(sl_graph *g, int x, const char *name);
int sl_graph_add(sl_graph *g, int a, int b, const char *name);
int sl_graph_gap(sl_graph *g, int x, const char *name);
int sl_graph_dense(sl_graph *g, int x, size_t units, const char *name);
int sl_graph_relu6(sl_graph *g, int x, const char *name);
int sl_graph_swish(sl_graph *g, int x, const char *name);
int sl_graph_maxpool(sl_graph *g, int x, size_t kernel, size_t stride, const char *name);
int sl_graph_avgpool(sl_graph *g, int x, size_t kernel, size_t stride, const char *name);
int sl_graph_flatten(sl_graph *g, int x, const char *name);
int sl_graph_concat(sl_graph *g, const int *xs, int n, const char *name);
/* conv2d over (C, H, W): kernel (kh, kw), stride (sh, sw), zero padding (ph, pw) on both sides,
 * dilation (dh, dw); groups = C_in = C_out is depthwise. w: (C_out, C_in / groups, kh, kw), b. */
int sl_graph_conv2d(sl_graph *g, int x, size_t c_out, size_t kh, size_t kw, size_t sh, size_t sw, size_t ph,
                    size_t pw, size_t dh, size_t dw, size_t groups, int bias, const char *name);
int sl_graph_dropout(sl_graph *g, int x, double rate, const char *name);

size_t sl_graph_count(const sl_graph *g);
const sl_node *sl_graph_node(const sl_graph *g, size_t i);
size_t sl_graph_n_params(const sl_graph *g);
size_t sl_graph_n_state(const sl_graph *g);
const char *sl_op_name(sl_op op);

/* Builds the network of a config's model: section for inputs of the given shape (bands, frames),
 * which a 2-D model sees as a one-channel image, or (channels, height, width) for a 2-D model,
 * and n_classes outputs (nn/build.c). */
sl_status sl_model_build(const sl_model_config *m, const sl_shape *input, size_t n_classes, sl_graph **out);

/* ---- running a graph ------------------------------------------------------------------------ */

typedef struct sl_net sl_net;

/* A net for batches of up to max_batch examples: parameters, their gradients, running state and
 * every activation and activation gradient, allocated once. Parameters start at zero; see
 * sl_net_init. On error *out is NULL. */
sl_status sl_net_new(sl_net **out, const sl_graph *g, size_t max_batch);
void sl_net_free(sl_net *net); /* NULL-safe */
/* Spreads the heavy kernels (convolutions) over this many threads (<= 0: one per core; at most 16).
 * Results are the same for the same thread count. */
sl_status sl_net_set_threads(sl_net *net, int threads);
/* The net's pool (NULL on one thread), for work beside the net, such as the optimizer's step. */
struct sl_pool *sl_net_pool(sl_net *net);

sl_real *sl_net_params(sl_net *net);  /* (sl_graph_n_params) */
sl_real *sl_net_grads(sl_net *net);   /* (sl_graph_n_params) */
sl_real *sl_net_state(sl_net *net);   /* (sl_graph_n_state) */

/* Conv and dense weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default, kaiming_uniform
 * with a = sqrt(5)), biases drawn with the same bound, BN gamma 1 and beta 0, running mean 0 and var 1; every draw from
 * (seed, node, index). */
void sl_net_init(sl_net *net, uint64_t seed);

/* Weight initialisations: PyTorch's defaults (as sl_net_init), Kaiming (He et al., 2015: normal,
 * standard deviation sqrt(2 / fan_in), for ReLU networks) or Xavier (Glorot and Bengio, 2010:
 * uniform within sqrt(6 / (fan_in + fan_out))); the last two set biases to 0. Batch norm and the
 * running statistics start as in sl_net_init either way. */
typedef enum { SL_INIT_PYTORCH = 0, SL_INIT_KAIMING, SL_INIT_XAVIER } sl_init;
void sl_net_init_with(sl_net *net, uint64_t seed, sl_init how);

/* Dropout's masks are drawn from (seed, step, node, example, value). sl_net_init sets (seed, 0);
 * every training forward adds 1 to step afterwards. A trainer sets both before each step, so a
 * resumed run draws the same masks as an uninterrupted one. */
void sl_net_set_noise(sl_net *net, uint64_t seed, uint64_t step);

/* Forward for n examples of x (n, input shape). training: batch norm uses and updates batch
 * statistics, dropout draws masks. Returns the output (n, output shape), valid until the next call. */
sl_status sl_net_forward(sl_net *net, const sl_real *x, size_t n, int training, const sl_real **out);

/* Backward from dy (n, output shape) after a training forward of the same n: zeroes the activation
 * gradients, then adds into the parameter gradients (zero them with sl_net_zero_grads first). If
 * dx is not NULL it receives the gradient of the input (n, input shape). */
sl_status sl_net_backward(sl_net *net, const sl_real *dy, sl_real *dx);
void sl_net_zero_grads(sl_net *net);

/* Per-node timing: on, every forward and backward adds each node's wall seconds (its gradient
 * zeroing included) to a table of 2 x nodes values, forward then backward, read with
 * sl_net_profile_seconds (NULL when off). Turning it on again clears the table. */
sl_status sl_net_profile(sl_net *net, int on);
const double *sl_net_profile_seconds(const sl_net *net);

/* Softmax cross-entropy of logits (n, k) against labels, mean over the batch, with label smoothing
 * (targets (1 - s) one-hot + s / k) and optional class weights (NULL: all 1; PyTorch's weighted
 * mean). Writes the loss and, if dlogits is not NULL, its gradient (n, k). */
sl_status sl_softmax_ce(const sl_real *logits, const int *labels, size_t n, size_t k, double smoothing,
                        const double *class_weights, double *loss, sl_real *dlogits);
/* The same for mixup (Zhang et al. 2018): example i's target is lam[i] of labels_a[i]'s one-hot and
 * 1 - lam[i] of labels_b[i]'s (then smoothed); no class weights. lam[i] = 1 is sl_softmax_ce. */
sl_status sl_softmax_ce_mixed(const sl_real *logits, const int *labels_a, const int *labels_b, const float *lam,
                              size_t n, size_t k, double smoothing, double *loss, sl_real *dlogits);

#ifdef __cplusplus
}
#endif
#endif
