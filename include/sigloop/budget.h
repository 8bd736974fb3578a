/* Complexity analysis (steps 3 and 9): what a model and its front end need on a device, checked
 * against the config's budget: section.
 *
 * The planner first: the activation memory a graph needs.
 *
 * Each node's output is a tensor that lives from the step that writes it to the last step that
 * reads it (the graph's nodes run in order; the graph's last output lives to the end). A greedy
 * planner, as TensorFlow Lite Micro's GreedyMemoryPlanner, places the tensors in one arena: largest
 * first (ties: earliest first, then lowest index), each at the lowest offset where it overlaps no
 * tensor already placed whose lifetime overlaps its own. The arena's size is the peak activation
 * memory. Every node's output is its own tensor (no operation runs in place yet). */
#ifndef SIGLOOP_BUDGET_H
#define SIGLOOP_BUDGET_H

#include <stddef.h>

#include "sigloop/base.h"
#include "sigloop/config.h"
#include "sigloop/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t size;    /* bytes */
    size_t first;   /* the step that writes it */
    size_t last;    /* the last step that reads it (>= first) */
    size_t offset;  /* set by the planner */
} sl_plan_tensor;

/* Places the n tensors (offsets aligned to align bytes, a power of two >= 1) and gives the arena's
 * size in *peak. SL_EARG for last < first or a bad alignment. */
sl_status sl_plan_greedy(sl_plan_tensor *t, size_t n, size_t align, size_t *peak);

/* The lower bound no placement can beat: the largest total size of tensors alive at one step. */
size_t sl_plan_live_max(const sl_plan_tensor *t, size_t n);

/* The tensors of g for one example, bytes_per_value bytes per value (4: float32, 1: int8): tensor i
 * is node i's output (node 0, the input, is written at step 0). *out is malloc'd (n = nodes). */
sl_status sl_graph_tensors(const sl_graph *g, size_t bytes_per_value, sl_plan_tensor **out, size_t *n);

/* ---- the cost of the whole pipeline on a target ------------------------------------------------
 *
 * Conventions. One MAC is one multiply-add: a convolution has C_out H_out W_out (C_in / groups)
 * KH KW of them, a dense layer units x inputs; batch norm, ReLU, add and pooling have none and
 * count as element-wise operations (values processed) instead. The device runs the network as
 * int8 and float32 runtimes do: a batch norm right after a convolution is folded into its weights
 * and bias, a ReLU (or ReLU6) after a convolution, batch norm or add is the clamp of that layer,
 * dropout and flatten are no-ops; each remaining layer writes one tensor, placed in one arena by
 * the greedy planner above (16-byte aligned) together with each convolution's scratch (two
 * im2col columns, as CMSIS-NN's kernels ask: 16-bit values for int8, float32 otherwise).
 * int8 weights take 1 byte, biases 4 (int32) and each output channel 8 more (requantisation
 * multiplier and shift); float32 takes 4 bytes a value.
 * The front end (float32 on the device, frame by frame as sl_stream does) needs the last
 * win_length samples, FFT input and output buffers (n_fft values each), the spectrum, the mel or
 * band energies and the MFCCs; its constant tables (window, the mel filterbank's non-zero weights
 * and band bounds, DCT matrix, FFT twiddles and bit reversal, the features' normalisation) are in
 * flash. One decision without streaming (budget.hop 0) computes every frame of a recording,
 * straight into the network's input tensor; streaming keeps a window of frames (bands x frames)
 * of its own, and a decision computes the hop's new frames. Latency per decision is those
 * frames' front end plus the network, each layer MACs / (rate x clock) plus the profile's
 * overhead per layer; energy is power x latency; streaming adds decisions per second, the busy
 * share of each second and the average power (idle power between decisions). */

typedef enum {
    SL_COST_NONE = 0,     /* folded, fused or a no-op on the device */
    SL_COST_CONV,
    SL_COST_DEPTHWISE,
    SL_COST_DENSE,
    SL_COST_ELEMENTWISE
} sl_cost_class;

typedef struct {
    size_t node;           /* index in the graph */
    size_t params;         /* as trained (batch norm's gamma and beta included) */
    size_t macs;           /* multiply-adds (conv, dense) */
    size_t ops;            /* values an element-wise layer processes */
    sl_cost_class cls;
    size_t into;           /* SL_COST_NONE: the node it is folded or fused into (its own index if
                              it has none) */
    size_t device_params;  /* on the device: weights and biases after folding */
    size_t weight_bytes;   /* their bytes at the precision, with quantisation parameters */
    size_t act_bytes;      /* the tensor it writes on the device (0 when folded) */
    size_t scratch_bytes;  /* kernel scratch while it runs (in the arena, alive at its step) */
    size_t scratch_offset;
    size_t first, last;    /* the tensor's lifetime in device layers (layer index = step) */
    size_t offset;         /* its place in the arena */
    double seconds;        /* estimated on the target */
} sl_layer_cost;

typedef struct {
    const sl_graph *g;
    sl_graph *own_graph;   /* g when the report built it (sl_budget_estimate): freed with it */
    size_t n;              /* = nodes of g */
    sl_layer_cost *layers;
    int precision;         /* SL_PRECISION_* */
    size_t device_layers;  /* layers that run on the device */
    /* totals */
    size_t params, device_params, macs, ops;
    size_t weight_bytes;   /* weights, biases, quantisation parameters */
    size_t arena_bytes;    /* peak of the planned activations and scratch (input and output included) */
    size_t arena_other;    /* the same at the other precision (float32 for int8, int8 for float32) */
    size_t input_bytes, output_bytes;
    size_t frontend_ram;   /* the front end's working buffers */
    size_t window_bytes;   /* streaming: the window of feature frames kept between decisions */
    size_t ram_bytes;      /* arena + front end + window */
    size_t table_bytes;    /* the front end's constant tables in flash */
    size_t code_bytes;     /* the profile's code estimate for the op types used */
    size_t flash_bytes;    /* weights + tables + code */
    size_t frontend_macs;  /* per decision */
    size_t frames_per_decision;
    double frontend_seconds, network_seconds, latency_seconds; /* per decision */
    double energy_mj;      /* per decision */
    double decisions_per_second; /* streaming, else 0 */
    double busy_share;     /* streaming: seconds of work per second of signal */
    double average_mw;     /* streaming: average power */
} sl_budget_report;

/* The cost of cfg's front end and model (built for bands x frames features, channels x the front
 * end's bands, and n_classes) on target t at cfg->budget.precision and .hop. *out is freed with
 * sl_budget_report_free, which frees the graph it built too. */
sl_status sl_budget_estimate(const sl_config *cfg, size_t bands, size_t frames, size_t n_classes, const sl_target *t,
                             sl_budget_report **out);
void sl_budget_report_free(sl_budget_report *r); /* NULL-safe */
/* A report for a graph built elsewhere (the front end from cfg). g must outlive the report. */
sl_status sl_budget_estimate_graph(const sl_config *cfg, const sl_graph *g, const sl_target *t,
                                   sl_budget_report **out);

/* One line of the budget: a figure, its limit (0: none) and whether it passes. */
typedef struct {
    const char *what;      /* "RAM", "flash", "latency", "energy", "real time" */
    double value, limit;   /* bytes, seconds, millijoules, seconds */
    int pass;
} sl_budget_line;
#define SL_BUDGET_LINES 5
/* The lines the config's budget sets (and "real time" when streaming): their number; all pass
 * when *over is 0. */
size_t sl_budget_check(const sl_budget_report *r, const sl_budget_config *b, sl_budget_line *lines, int *over);

/* When cfg is over its budget: the smallest change that fits, as a --set override ("key=value",
 * in `set`) and its report. Tried in this order, each costed without training: the largest width
 * multiplier below the current one (in steps of 1/16), then int8 instead of float32, then fewer
 * blocks, then a kernel two smaller. SL_EBUDGET when none fits (set holds the best tried). */
sl_status sl_budget_suggest(const sl_config *cfg, size_t bands, size_t frames, size_t n_classes, const sl_target *t,
                            char *set, size_t size, sl_budget_report **fit);

#ifdef __cplusplus
}
#endif
#endif
