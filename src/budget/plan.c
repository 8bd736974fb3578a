/* The activation memory planner (budget.h): tensor lifetimes from the graph, greedy placement by
 * size into one arena, as TensorFlow Lite Micro's GreedyMemoryPlanner does. */
#include "sigloop/budget.h"

#include <stdlib.h>
#include <string.h>

static int overlaps_in_time(const sl_plan_tensor *a, const sl_plan_tensor *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* order of placement: larger first, then earlier, then lower index */
typedef struct {
    const sl_plan_tensor *t;
    size_t i;
} ranked;

static int cmp_rank(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->t->size != b->t->size) return a->t->size > b->t->size ? -1 : 1;
    if (a->t->first != b->t->first) return a->t->first < b->t->first ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* placed intervals of the tensors alive with the one being placed, sorted by offset */
typedef struct {
    size_t lo, hi;
} span;

static int cmp_span(const void *pa, const void *pb)
{
    const span *a = pa, *b = pb;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static size_t align_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }

sl_status sl_plan_greedy(sl_plan_tensor *t, size_t n, size_t align, size_t *peak)
{
    *peak = 0;
    if (!align || (align & (align - 1))) return sl_fail(SL_EARG, "plan: alignment %zu is not a power of two", align);
    for (size_t i = 0; i < n; i++)
        if (t[i].last < t[i].first)
            return sl_fail(SL_EARG, "plan: tensor %zu is last read (step %zu) before it is written (step %zu)", i,
                           t[i].last, t[i].first);
    if (!n) return SL_OK;
    ranked *order = malloc(n * sizeof *order);
    span *busy = malloc(n * sizeof *busy);
    size_t *placed = malloc(n * sizeof *placed);
    if (!order || !busy || !placed) {
        free(order);
        free(busy);
        free(placed);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) order[i] = (ranked){&t[i], i};
    qsort(order, n, sizeof *order, cmp_rank);
    size_t n_placed = 0, top = 0;
    for (size_t r = 0; r < n; r++) {
        sl_plan_tensor *cur = &t[order[r].i];
        size_t nb = 0;
        for (size_t p = 0; p < n_placed; p++) {
            const sl_plan_tensor *o = &t[placed[p]];
            if (o->size && overlaps_in_time(o, cur)) busy[nb++] = (span){o->offset, o->offset + o->size};
        }
        qsort(busy, nb, sizeof *busy, cmp_span);
        /* the first gap, from offset 0 up, that holds it */
        size_t at = 0;
        for (size_t b = 0; b < nb; b++) {
            if (busy[b].lo >= at + cur->size) break; /* fits before this one */
            if (busy[b].hi > at) at = align_up(busy[b].hi, align);
        }
        cur->offset = at;
        if (at + cur->size > top) top = at + cur->size;
        placed[n_placed++] = order[r].i;
    }
    free(order);
    free(busy);
    free(placed);
    *peak = top;
    return SL_OK;
}

size_t sl_plan_live_max(const sl_plan_tensor *t, size_t n)
{
    size_t steps = 0, best = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].last + 1 > steps) steps = t[i].last + 1;
    for (size_t s = 0; s < steps; s++) {
        size_t live = 0;
        for (size_t i = 0; i < n; i++)
            if (t[i].first <= s && s <= t[i].last) live += t[i].size;
        if (live > best) best = live;
    }
    return best;
}

sl_status sl_graph_tensors(const sl_graph *g, size_t bytes_per_value, sl_plan_tensor **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    SL_TRY(sl_graph_status(g));
    size_t n = sl_graph_count(g);
    if (!n) return sl_fail(SL_EARG, "plan: empty graph");
    sl_plan_tensor *t = calloc(n, sizeof *t);
    if (!t) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const sl_node *nd = sl_graph_node(g, i);
        t[i].size = sl_shape_size(&nd->shape) * bytes_per_value;
        t[i].first = t[i].last = i;
        for (int k = 0; k < nd->n_in; k++) {
            size_t src = (size_t)nd->in[k];
            if (src < n && i > t[src].last) t[src].last = i;
        }
    }
    t[n - 1].last = n - 1; /* the graph's output is read after the last step */
    *out = t;
    *n_out = n;
    return SL_OK;
}
