/* Complexity analysis (steps 3 and 9), first part: the activation memory a graph needs on a device.
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

#ifdef __cplusplus
}
#endif
#endif
