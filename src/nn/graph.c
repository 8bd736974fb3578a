/* The graph builder and the net that runs it. */
#include "nn/nn_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigloop/rng.h"

#define GRAPH_MAX_NODES 4096

struct sl_graph {
    sl_node *nodes;
    size_t n, cap;
    size_t n_params, n_state;
    sl_status status;   /* the first builder error */
    char message[512];
};

static const sl_op_def *op_def(sl_op op)
{
    switch (op) {
    case SL_OP_CONV1D: return &sl_op_conv1d_def;
    case SL_OP_BATCHNORM: return &sl_op_batchnorm_def;
    case SL_OP_RELU: return &sl_op_relu_def;
    case SL_OP_ADD: return &sl_op_add_def;
    case SL_OP_GAP: return &sl_op_gap_def;
    case SL_OP_DENSE: return &sl_op_dense_def;
    case SL_OP_RELU6: return &sl_op_relu6_def;
    case SL_OP_SWISH: return &sl_op_swish_def;
    case SL_OP_MAXPOOL: return &sl_op_maxpool_def;
    case SL_OP_AVGPOOL: return &sl_op_avgpool_def;
    case SL_OP_FLATTEN: return &sl_op_flatten_def;
    case SL_OP_CONCAT: return &sl_op_concat_def;
    case SL_OP_CONV2D: return &sl_op_conv2d_def;
    case SL_OP_DROPOUT: return &sl_op_dropout_def;
    default: return NULL;
    }
}

const char *sl_op_name(sl_op op)
{
    if (op == SL_OP_INPUT) return "input";
    const sl_op_def *d = op_def(op);
    return d ? d->name : "?";
}

size_t sl_shape_size(const sl_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->rank && i < 3; i++) n *= s->d[i];
    return n;
}

sl_status sl_graph_new(sl_graph **out, const sl_shape *input)
{
    *out = NULL;
    if (input->rank < 1 || input->rank > 3 || sl_shape_size(input) == 0)
        return sl_fail(SL_EARG, "graph: the input shape must be (F), (C, T) or (C, H, W) with no zero dimension");
    sl_graph *g = calloc(1, sizeof *g);
    if (!g || !(g->nodes = calloc(16, sizeof *g->nodes))) {
        free(g);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    g->cap = 16;
    g->n = 1;
    g->nodes[0].op = SL_OP_INPUT;
    snprintf(g->nodes[0].name, SL_NN_NAME, "input");
    g->nodes[0].shape = *input;
    *out = g;
    return SL_OK;
}

void sl_graph_free(sl_graph *g)
{
    if (!g) return;
    free(g->nodes);
    free(g);
}

sl_status sl_graph_status(const sl_graph *g)
{
    if (g->status != SL_OK) sl_fail(g->status, "%s", g->message);
    return g->status;
}

/* Appends a node; on any error records it (first one wins) and returns -1. */
static int add_node(sl_graph *g, sl_node *node)
{
    if (g->status != SL_OK) return -1;
    sl_status s = SL_OK;
    const sl_shape *in[SL_NN_MAX_INPUTS];
    for (int i = 0; i < node->n_in && s == SL_OK; i++) {
        if (node->in[i] < 0 || (size_t)node->in[i] >= g->n)
            s = sl_fail(SL_EARG, "graph: %s reads node %d, which does not exist (yet)", node->name, node->in[i]);
        else
            in[i] = &g->nodes[node->in[i]].shape;
    }
    if (s == SL_OK && g->n == GRAPH_MAX_NODES) s = sl_fail(SL_EARG, "graph: more than %d nodes", GRAPH_MAX_NODES);
    if (s == SL_OK) {
        s = op_def(node->op)->infer(node, in);
        if (s != SL_OK) sl_error_prefix("graph: %s", node->name);
    }
    if (s == SL_OK && g->n == g->cap) {
        sl_node *t = realloc(g->nodes, 2 * g->cap * sizeof *t);
        if (!t) s = sl_fail(SL_ENOMEM, "out of memory");
        else {
            g->nodes = t;
            g->cap *= 2;
        }
    }
    if (s != SL_OK) {
        g->status = s;
        snprintf(g->message, sizeof g->message, "%s", sl_last_error());
        return -1;
    }
    node->param_off = g->n_params;
    node->state_off = g->n_state;
    g->n_params += node->n_params;
    g->n_state += node->n_state;
    g->nodes[g->n] = *node;
    return (int)g->n++;
}

static void name_node(sl_graph *g, sl_node *node, const char *name)
{
    if (name) snprintf(node->name, SL_NN_NAME, "%s", name);
    else snprintf(node->name, SL_NN_NAME, "%s%zu", sl_op_name(node->op), g->n);
}

int sl_graph_conv1d(sl_graph *g, int x, size_t c_out, size_t kernel, size_t stride, size_t pad, size_t dilation,
                    size_t groups, int bias, const char *name)
{
    sl_node node = {.op = SL_OP_CONV1D, .in = {x}, .n_in = 1, .c_out = c_out, .kernel = kernel, .stride = stride,
                    .pad = pad, .dilation = dilation, .groups = groups, .bias = bias};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_conv2d(sl_graph *g, int x, size_t c_out, size_t kh, size_t kw, size_t sh, size_t sw, size_t ph,
                    size_t pw, size_t dh, size_t dw, size_t groups, int bias, const char *name)
{
    sl_node node = {.op = SL_OP_CONV2D, .in = {x}, .n_in = 1, .c_out = c_out, .kernel_h = kh, .kernel = kw,
                    .stride_h = sh, .stride = sw, .pad_h = ph, .pad = pw, .dilation_h = dh, .dilation = dw,
                    .groups = groups, .bias = bias};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_dropout(sl_graph *g, int x, double rate, const char *name)
{
    sl_node node = {.op = SL_OP_DROPOUT, .in = {x}, .n_in = 1, .rate = rate};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_batchnorm(sl_graph *g, int x, const char *name)
{
    sl_node node = {.op = SL_OP_BATCHNORM, .in = {x}, .n_in = 1, .eps = 1e-5, .momentum = 0.1};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_relu(sl_graph *g, int x, const char *name)
{
    sl_node node = {.op = SL_OP_RELU, .in = {x}, .n_in = 1};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_add(sl_graph *g, int a, int b, const char *name)
{
    sl_node node = {.op = SL_OP_ADD, .in = {a, b}, .n_in = 2};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_gap(sl_graph *g, int x, const char *name)
{
    sl_node node = {.op = SL_OP_GAP, .in = {x}, .n_in = 1};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_dense(sl_graph *g, int x, size_t units, const char *name)
{
    sl_node node = {.op = SL_OP_DENSE, .in = {x}, .n_in = 1, .units = units, .bias = 1};
    name_node(g, &node, name);
    return add_node(g, &node);
}

static int unary(sl_graph *g, sl_op op, int x, const char *name)
{
    sl_node node = {.op = op, .in = {x}, .n_in = 1};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_relu6(sl_graph *g, int x, const char *name) { return unary(g, SL_OP_RELU6, x, name); }
int sl_graph_swish(sl_graph *g, int x, const char *name) { return unary(g, SL_OP_SWISH, x, name); }
int sl_graph_flatten(sl_graph *g, int x, const char *name) { return unary(g, SL_OP_FLATTEN, x, name); }

int sl_graph_maxpool(sl_graph *g, int x, size_t kernel, size_t stride, const char *name)
{
    sl_node node = {.op = SL_OP_MAXPOOL, .in = {x}, .n_in = 1, .kernel = kernel, .stride = stride};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_avgpool(sl_graph *g, int x, size_t kernel, size_t stride, const char *name)
{
    sl_node node = {.op = SL_OP_AVGPOOL, .in = {x}, .n_in = 1, .kernel = kernel, .stride = stride};
    name_node(g, &node, name);
    return add_node(g, &node);
}

int sl_graph_concat(sl_graph *g, const int *xs, int n, const char *name)
{
    sl_node node = {.op = SL_OP_CONCAT, .n_in = n};
    name_node(g, &node, name);
    if (n < 1 || n > SL_NN_MAX_INPUTS) {
        if (g->status == SL_OK) {
            g->status = sl_fail(SL_EARG, "graph: %s: concat takes 1 to %d inputs (got %d)", node.name,
                                SL_NN_MAX_INPUTS, n);
            snprintf(g->message, sizeof g->message, "%s", sl_last_error());
        }
        return -1;
    }
    for (int i = 0; i < n; i++) node.in[i] = xs[i];
    return add_node(g, &node);
}

size_t sl_graph_count(const sl_graph *g) { return g->n; }
const sl_node *sl_graph_node(const sl_graph *g, size_t i) { return i < g->n ? &g->nodes[i] : NULL; }
size_t sl_graph_n_params(const sl_graph *g) { return g->n_params; }
size_t sl_graph_n_state(const sl_graph *g) { return g->n_state; }

void sl_nn_valid_range(long off, size_t stride, size_t n_in, size_t n_out, size_t *lo, size_t *hi)
{
    long l = off >= 0 ? 0 : (-off + (long)stride - 1) / (long)stride;
    long h = (long)n_in - 1 - off < 0 ? 0 : ((long)n_in - 1 - off) / (long)stride + 1;
    if (h > (long)n_out) h = (long)n_out;
    if (l > h) l = h;
    *lo = (size_t)l;
    *hi = (size_t)h;
}

/* ---- work split over the pool ---------------------------------------------------------------- */

/* Below this many values a part is not worth a thread's wake-up (a few microseconds). */
#define PARALLEL_MIN 16384

typedef struct {
    const sl_op_args *a;
    size_t total, parts;
    void (*fn)(const sl_op_args *a, size_t lo, size_t hi);
} split_job;

static sl_status split_part(void *ctx, size_t part, int worker)
{
    (void)worker;
    const split_job *j = ctx;
    size_t lo = j->total * part / j->parts, hi = j->total * (part + 1) / j->parts;
    if (lo < hi) j->fn(j->a, lo, hi);
    return SL_OK;
}

static void parallel(const sl_op_args *a, size_t total, size_t min,
                     void (*fn)(const sl_op_args *a, size_t lo, size_t hi))
{
    size_t parts = a->pool ? (size_t)sl_pool_size(a->pool) : 1;
    if (parts > total) parts = total;
    if (parts > 1 && total >= min) {
        split_job j = {a, total, parts, fn};
        if (sl_pool_run(a->pool, parts, split_part, &j) == SL_OK) return;
    }
    if (total) fn(a, 0, total);
}

void sl_nn_parallel(const sl_op_args *a, size_t total, void (*fn)(const sl_op_args *a, size_t lo, size_t hi))
{
    parallel(a, total, PARALLEL_MIN, fn);
}

void sl_nn_parallel_n(const sl_op_args *a, size_t total, void (*fn)(const sl_op_args *a, size_t lo, size_t hi))
{
    parallel(a, total, 2, fn);
}

/* ---- the net -------------------------------------------------------------------------------- */

struct sl_net {
    const sl_graph *g;
    size_t max_batch, batch;    /* batch: n of the last forward */
    int trained;                /* the last forward was a training one */
    sl_real *params, *grads, *state;
    sl_real *act;               /* every node's output, (max_batch, shape) each */
    sl_real *dact;              /* and its gradient */
    size_t *act_off;            /* (g->n) offsets into act / dact */
    sl_real *saved;
    size_t *saved_off;          /* (g->n) */
    sl_real *work;              /* work_per reals per worker, shared by the nodes (sl_op_args.work) */
    size_t work_per;
    sl_pool *pool;              /* NULL: one thread */
    uint64_t noise_seed, noise_step;
    size_t *last_reader;        /* (g->n) the highest index of a node reading node j (0: none) */
    double *prof;               /* NULL, or (2 g->n) seconds per node: forward, then backward */
};

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

sl_status sl_net_profile(sl_net *net, int on)
{
    free(net->prof);
    net->prof = NULL;
    if (on && !(net->prof = calloc(2 * net->g->n, sizeof *net->prof))) return sl_fail(SL_ENOMEM, "out of memory");
    return SL_OK;
}

const double *sl_net_profile_seconds(const sl_net *net) { return net->prof; }

void sl_net_free(sl_net *net)
{
    if (!net) return;
    free(net->params);
    free(net->grads);
    free(net->state);
    free(net->act);
    free(net->dact);
    free(net->act_off);
    free(net->saved);
    free(net->saved_off);
    free(net->work);
    free(net->last_reader);
    free(net->prof);
    sl_pool_free(net->pool);
    free(net);
}

/* The scratch area for `workers` parts, each as large as the hungriest node needs. */
static sl_status alloc_work(sl_net *net, size_t workers)
{
    free(net->work);
    net->work = calloc(workers * net->work_per + 1, sizeof *net->work);
    if (!net->work) return sl_fail(SL_ENOMEM, "net: out of memory for the scratch of %zu threads", workers);
    return SL_OK;
}

sl_status sl_net_set_threads(sl_net *net, int threads)
{
    sl_pool_free(net->pool);
    net->pool = NULL;
    if (threads <= 0) threads = sl_cpu_count();
    if (threads > SL_NN_MAX_WORKERS) threads = SL_NN_MAX_WORKERS;
    SL_TRY(alloc_work(net, (size_t)threads));
    if (threads == 1) return SL_OK;
    return sl_pool_new(&net->pool, threads);
}

sl_status sl_net_new(sl_net **out, const sl_graph *g, size_t max_batch)
{
    *out = NULL;
    /* The GEMMs here are small: OpenBLAS's own threads cost more (in spinning and yielding) than
     * they give, 3.4x slower measured on TC-ResNet8; sigloop spreads work over cores itself. */
    openblas_set_num_threads(1);
    SL_TRY(sl_graph_status(g));
    if (max_batch < 1) return sl_fail(SL_EARG, "net: batch must be at least 1");
    sl_net *net = calloc(1, sizeof *net);
    if (!net) return sl_fail(SL_ENOMEM, "out of memory");
    net->g = g;
    net->max_batch = max_batch;
    net->act_off = calloc(g->n, sizeof *net->act_off);
    net->saved_off = calloc(g->n, sizeof *net->saved_off);
    net->last_reader = calloc(g->n, sizeof *net->last_reader);
    for (size_t i = 1; net->last_reader && i < g->n; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) net->last_reader[g->nodes[i].in[k]] = i;
    size_t act = 0, saved = 0;
    for (size_t i = 0; net->act_off && net->saved_off && i < g->n; i++) {
        net->act_off[i] = act;
        act += max_batch * sl_shape_size(&g->nodes[i].shape);
        net->saved_off[i] = saved;
        const sl_op_def *d = op_def(g->nodes[i].op);
        if (d && d->saved) saved += d->saved(&g->nodes[i], max_batch);
        size_t w = d && d->scratch ? d->scratch(&g->nodes[i], max_batch) : 0;
        if (w > net->work_per) net->work_per = w;
    }
    net->params = calloc(g->n_params + 1, sizeof *net->params);
    net->grads = calloc(g->n_params + 1, sizeof *net->grads);
    net->state = calloc(g->n_state + 1, sizeof *net->state);
    net->act = calloc(act + 1, sizeof *net->act);
    net->dact = calloc(act + 1, sizeof *net->dact);
    net->saved = calloc(saved + 1, sizeof *net->saved);
    if (!net->act_off || !net->saved_off || !net->last_reader || !net->params || !net->grads || !net->state || !net->act || !net->dact ||
        !net->saved) {
        sl_net_free(net);
        return sl_fail(SL_ENOMEM, "net: out of memory for a batch of %zu", max_batch);
    }
    sl_status s = alloc_work(net, 1);
    if (s != SL_OK) {
        sl_net_free(net);
        return s;
    }
    *out = net;
    return SL_OK;
}

sl_real *sl_net_params(sl_net *net) { return net->params; }
struct sl_pool *sl_net_pool(sl_net *net) { return net->pool; }
sl_real *sl_net_grads(sl_net *net) { return net->grads; }
sl_real *sl_net_state(sl_net *net) { return net->state; }

void sl_net_zero_grads(sl_net *net) { memset(net->grads, 0, net->g->n_params * sizeof *net->grads); }

static size_t fan_in(const sl_graph *g, const sl_node *node)
{
    const sl_shape *in = &g->nodes[node->in[0]].shape;
    if (node->op == SL_OP_CONV1D) return in->d[0] / node->groups * node->kernel;
    if (node->op == SL_OP_CONV2D) return in->d[0] / node->groups * node->kernel_h * node->kernel;
    return sl_shape_size(in);
}

/* PyTorch's default for Conv1d and Linear weights: kaiming_uniform with a = sqrt(5), which is
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)). On FSDD with theo held out it trains to about 85 % where
 * Kaiming-normal with the ReLU gain (std sqrt(2/fan_in), 2.4x larger) stopped at 75 %. */
void sl_nn_kaiming(sl_real *w, size_t count, size_t fan, uint64_t seed, size_t node_index)
{
    sl_rng r = sl_rng_make(seed, (uint64_t)node_index);
    double bound = 1.0 / sqrt((double)(fan ? fan : 1));
    for (size_t i = 0; i < count; i++) w[i] = (sl_real)(bound * (2.0 * sl_rng_uniform_double(&r) - 1.0));
}

void sl_net_set_noise(sl_net *net, uint64_t seed, uint64_t step)
{
    net->noise_seed = seed;
    net->noise_step = step;
}

void sl_net_init(sl_net *net, uint64_t seed) { sl_net_init_with(net, seed, SL_INIT_PYTORCH); }

/* The weights' count and fan-out (output channels x receptive field, as PyTorch counts it) of a
 * convolution or dense node; 0 for other nodes. */
static size_t weights_of(const sl_node *node, size_t *fan_out)
{
    size_t receptive;
    switch (node->op) {
    case SL_OP_CONV1D: receptive = node->kernel; break;
    case SL_OP_CONV2D: receptive = node->kernel_h * node->kernel; break;
    case SL_OP_DENSE: receptive = 1; break;
    default: return 0;
    }
    size_t c_out = node->op == SL_OP_DENSE ? node->units : node->c_out;
    *fan_out = c_out * receptive;
    return node->n_params - (node->bias ? c_out : 0);
}

void sl_net_init_with(sl_net *net, uint64_t seed, sl_init how)
{
    const sl_graph *g = net->g;
    sl_net_set_noise(net, seed, 0);
    for (size_t i = 1; i < g->n; i++) {
        const sl_node *node = &g->nodes[i];
        const sl_op_def *d = op_def(node->op);
        sl_real *w = net->params + node->param_off;
        size_t fi = fan_in(g, node), fo = 0, nw = weights_of(node, &fo);
        if (d->init) d->init(node, w, net->state + node->state_off, seed, i, fi);
        if (how == SL_INIT_PYTORCH || nw == 0) continue;
        /* Kaiming (He et al., 2015): N(0, 2 / fan_in); Xavier (Glorot and Bengio, 2010):
         * U(-sqrt(6 / (fan_in + fan_out)), +sqrt(...)); biases 0 */
        sl_rng r = sl_rng_make(seed, (uint64_t)i);
        double kaiming_sd = sqrt(2.0 / (double)(fi ? fi : 1)), xavier = sqrt(6.0 / (double)(fi + fo ? fi + fo : 1));
        for (size_t k = 0; k < nw; k++)
            w[k] = (sl_real)(how == SL_INIT_KAIMING ? kaiming_sd * sl_rng_normal(&r)
                                                    : xavier * (2.0 * sl_rng_uniform_double(&r) - 1.0));
        for (size_t k = nw; k < node->n_params; k++) w[k] = 0;
    }
}

static void node_args(sl_net *net, size_t i, size_t n, int training, sl_op_args *a)
{
    const sl_graph *g = net->g;
    const sl_node *node = &g->nodes[i];
    memset(a, 0, sizeof *a);
    a->node = node;
    a->n = n;
    for (int k = 0; k < node->n_in; k++) {
        size_t j = (size_t)node->in[k];
        a->in_shape[k] = &g->nodes[j].shape;
        a->x[k] = net->act + net->act_off[j];
        a->dx[k] = j == 0 ? NULL : net->dact + net->act_off[j];
    }
    a->y = net->act + net->act_off[i];
    a->dy = net->dact + net->act_off[i];
    a->w = net->params + node->param_off;
    a->dw = net->grads + node->param_off;
    a->state = net->state + node->state_off;
    a->saved = net->saved + net->saved_off[i];
    a->work = net->work;
    a->work_per = net->work_per;
    a->training = training;
    a->noise_seed = net->noise_seed;
    a->noise_step = net->noise_step;
    a->index = i;
    a->pool = net->pool;
}

sl_status sl_net_forward(sl_net *net, const sl_real *x, size_t n, int training, const sl_real **out)
{
    const sl_graph *g = net->g;
    if (n < 1 || n > net->max_batch) return sl_fail(SL_EARG, "net: batch of %zu, the net holds 1 to %zu", n, net->max_batch);
    memcpy(net->act, x, n * sl_shape_size(&g->nodes[0].shape) * sizeof *x);
    for (size_t i = 1; i < g->n; i++) {
        sl_op_args a;
        node_args(net, i, n, training, &a);
        double t0 = net->prof ? seconds_now() : 0;
        op_def(g->nodes[i].op)->forward(&a);
        if (net->prof) net->prof[i] += seconds_now() - t0;
    }
    net->batch = n;
    net->trained = training;
    if (training) net->noise_step++;
    *out = net->act + net->act_off[g->n - 1];
    return SL_OK;
}

static void zero_range(const sl_op_args *a, size_t lo, size_t hi) { memset(a->y + lo, 0, (hi - lo) * sizeof *a->y); }

/* Zeroes node j's activation gradient for the batch, split over the pool. */
static void zero_grad_of(sl_net *net, size_t j)
{
    sl_op_args a = {.pool = net->pool, .y = net->dact + net->act_off[j]};
    sl_nn_parallel(&a, net->batch * sl_shape_size(&net->g->nodes[j].shape), zero_range);
}

sl_status sl_net_backward(sl_net *net, const sl_real *dy, sl_real *dx)
{
    const sl_graph *g = net->g;
    if (!net->trained || net->batch == 0) return sl_fail(SL_EARG, "net: backward needs a training forward first");
    size_t n = net->batch;
    memcpy(net->dact + net->act_off[g->n - 1], dy, n * sl_shape_size(&g->nodes[g->n - 1].shape) * sizeof *dy);
    for (size_t i = g->n - 1; i >= 1; i--) {
        double t0 = net->prof ? seconds_now() : 0;
        /* An input's gradient starts with its last reader, the first to run backward. An op that
         * can set its input's gradient (op->assigns) is told to (dx_assign); for the others it is
         * zeroed first, just before: while it is in cache, and never for nodes nothing reads. */
        sl_op_args a;
        node_args(net, i, n, 1, &a);
        const sl_op_def *def = op_def(g->nodes[i].op);
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            size_t j = (size_t)g->nodes[i].in[k];
            if (net->last_reader[j] == i && (j > 0 || dx)) {
                int seen = 0;
                for (int q = 0; q < k; q++) seen |= g->nodes[i].in[q] == g->nodes[i].in[k];
                if (seen) continue;
                if (def->assigns) a.dx_assign[k] = 1;
                else zero_grad_of(net, j);
            }
        }
        if (dx) /* the input's gradient is wanted: point it at the input's slot */
            for (int k = 0; k < g->nodes[i].n_in; k++)
                if (g->nodes[i].in[k] == 0) a.dx[k] = net->dact;
        op_def(g->nodes[i].op)->backward(&a);
        if (net->prof) net->prof[g->n + i] += seconds_now() - t0;
    }
    if (dx) memcpy(dx, net->dact, n * sl_shape_size(&g->nodes[0].shape) * sizeof *dx);
    return SL_OK;
}

sl_status sl_softmax_ce(const sl_real *logits, const int *labels, size_t n, size_t k, double smoothing,
                        const double *class_weights, double *loss, sl_real *dlogits)
{
    if (n == 0 || k < 2) return sl_fail(SL_EARG, "loss: need at least one example and two classes");
    if (!(smoothing >= 0 && smoothing < 1)) return sl_fail(SL_EARG, "loss: label smoothing must be in [0, 1)");
    double total = 0, wsum = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || (size_t)labels[i] >= k)
            return sl_fail(SL_EARG, "loss: label %d of example %zu is not in [0, %zu)", labels[i], i, k);
        wsum += class_weights ? class_weights[labels[i]] : 1.0;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_real *z = logits + i * k;
        double mx = z[0], se = 0;
        for (size_t c = 1; c < k; c++) mx = z[c] > mx ? z[c] : mx;
        for (size_t c = 0; c < k; c++) se += exp((double)z[c] - mx);
        double lse = mx + log(se);
        /* PyTorch's weighted, smoothed cross-entropy: each class c of example i counts with
         * a_c = (1 - s) w_y [c = y] + (s / k) w_c, and the sum is divided by the summed w_y. */
        double a_sum = 0, l = 0;
        for (size_t c = 0; c < k; c++) {
            double wc = class_weights ? class_weights[c] : 1.0;
            double a_c = (1.0 - smoothing) * (c == (size_t)labels[i]) * (class_weights ? class_weights[labels[i]] : 1.0) +
                         smoothing / (double)k * wc;
            a_sum += a_c;
            l -= a_c * ((double)z[c] - lse);
        }
        if (dlogits)
            for (size_t c = 0; c < k; c++) {
                double wc = class_weights ? class_weights[c] : 1.0;
                double a_c = (1.0 - smoothing) * (c == (size_t)labels[i]) * (class_weights ? class_weights[labels[i]] : 1.0) +
                             smoothing / (double)k * wc;
                dlogits[i * k + c] = (sl_real)((a_sum * exp((double)z[c] - lse) - a_c) / wsum);
            }
        total += l;
    }
    *loss = total / wsum;
    return SL_OK;
}

sl_status sl_softmax_ce_mixed(const sl_real *logits, const int *labels_a, const int *labels_b, const float *lam,
                              size_t n, size_t k, double smoothing, double *loss, sl_real *dlogits)
{
    if (n == 0 || k < 2) return sl_fail(SL_EARG, "loss: need at least one example and two classes");
    if (!(smoothing >= 0 && smoothing < 1)) return sl_fail(SL_EARG, "loss: label smoothing must be in [0, 1)");
    for (size_t i = 0; i < n; i++)
        if (labels_a[i] < 0 || (size_t)labels_a[i] >= k || labels_b[i] < 0 || (size_t)labels_b[i] >= k)
            return sl_fail(SL_EARG, "loss: a label of example %zu is not in [0, %zu)", i, k);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_real *z = logits + i * k;
        double mx = z[0], se = 0;
        for (size_t c = 1; c < k; c++) mx = z[c] > mx ? z[c] : mx;
        for (size_t c = 0; c < k; c++) se += exp((double)z[c] - mx);
        double lse = mx + log(se), la = lam[i];
        for (size_t c = 0; c < k; c++) {
            /* target: (1 - s) (lam e_a + (1 - lam) e_b) + s / k, which sums to 1 */
            double t = (1.0 - smoothing) * (la * (c == (size_t)labels_a[i]) + (1 - la) * (c == (size_t)labels_b[i])) +
                       smoothing / (double)k;
            total -= t * ((double)z[c] - lse);
            if (dlogits) dlogits[i * k + c] = (sl_real)((exp((double)z[c] - lse) - t) / (double)n);
        }
    }
    *loss = total / (double)n;
    return SL_OK;
}
