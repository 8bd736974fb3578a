/* The cost of a pipeline on a target (budget.h): the graph as the device runs it, its planned
 * memory, the front end's buffers and tables, latency and energy, the budget's lines, and the
 * smallest change that fits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/budget.h"
#include "sigloop/dsp.h"
#include "sigloop/features.h"

#define ARENA_ALIGN 16

static size_t bytes_per_value(int precision) { return precision == SL_PRECISION_INT8 ? 1 : 4; }

static int is_conv(sl_op op) { return op == SL_OP_CONV1D || op == SL_OP_CONV2D; }

static size_t conv_c_in(const sl_graph *g, const sl_node *nd) { return sl_graph_node(g, (size_t)nd->in[0])->shape.d[0]; }

static int is_depthwise(const sl_graph *g, const sl_node *nd)
{
    size_t c_in = conv_c_in(g, nd);
    return nd->groups > 1 && nd->groups == c_in && nd->c_out == c_in;
}

/* Taps of a convolution's kernel (KH KW; KW alone in 1-D). */
static size_t conv_taps(const sl_node *nd) { return nd->op == SL_OP_CONV2D ? nd->kernel_h * nd->kernel : nd->kernel; }

/* The node's output size in values. */
static size_t out_values(const sl_node *nd) { return sl_shape_size(&nd->shape); }

/* Classifies every node and folds or fuses what the device does not run as a layer of its own. */
static void classify(const sl_graph *g, sl_layer_cost *L, const size_t *readers, int *has_bias)
{
    size_t n = sl_graph_count(g);
    L[0].into = 0;
    for (size_t i = 1; i < n; i++) {
        const sl_node *nd = sl_graph_node(g, i);
        sl_layer_cost *c = &L[i];
        size_t in = nd->n_in > 0 ? (size_t)nd->in[0] : 0;
        const sl_node *src = sl_graph_node(g, in);
        size_t owner = L[in].into; /* the device layer that writes the input's tensor */
        const sl_node *own = sl_graph_node(g, owner);
        c->node = i;
        c->params = nd->n_params;
        c->into = i;
        switch (nd->op) {
        case SL_OP_CONV1D:
        case SL_OP_CONV2D:
            c->cls = is_depthwise(g, nd) ? SL_COST_DEPTHWISE : SL_COST_CONV;
            c->macs = nd->macs;
            has_bias[i] = nd->bias;
            break;
        case SL_OP_DENSE:
            c->cls = SL_COST_DENSE;
            c->macs = nd->macs;
            has_bias[i] = 1;
            break;
        case SL_OP_BATCHNORM:
            /* right after a convolution that nothing else reads: folded into its weights and bias */
            if (is_conv(src->op) && L[in].into == in && readers[in] == 1) {
                c->cls = SL_COST_NONE;
                c->into = in;
                has_bias[in] = 1;
            } else {
                c->cls = SL_COST_ELEMENTWISE;
                c->ops = out_values(nd);
            }
            break;
        case SL_OP_RELU:
        case SL_OP_RELU6:
            /* the clamp of the layer before when that layer writes only for it */
            if ((is_conv(own->op) || own->op == SL_OP_DENSE || own->op == SL_OP_BATCHNORM || own->op == SL_OP_ADD) &&
                readers[in] == 1 && in != 0) {
                c->cls = SL_COST_NONE;
                c->into = owner;
            } else {
                c->cls = SL_COST_ELEMENTWISE;
                c->ops = out_values(nd);
            }
            break;
        case SL_OP_DROPOUT:
        case SL_OP_FLATTEN:
            c->cls = SL_COST_NONE; /* identity in inference; a reshape */
            c->into = owner;
            break;
        case SL_OP_GAP:
        case SL_OP_MAXPOOL:
        case SL_OP_AVGPOOL:
            c->cls = SL_COST_ELEMENTWISE;
            c->ops = out_values(src);
            break;
        case SL_OP_SWISH:
            c->cls = SL_COST_ELEMENTWISE;
            c->ops = 8 * out_values(nd); /* a sigmoid: about eight operations a value */
            break;
        default: /* add, concat (a copy) */
            c->cls = SL_COST_ELEMENTWISE;
            c->ops = out_values(nd);
            break;
        }
    }
}

/* Device parameters and their bytes, per layer. */
static void weights(const sl_graph *g, sl_layer_cost *L, const int *has_bias, int precision)
{
    size_t n = sl_graph_count(g);
    for (size_t i = 1; i < n; i++) {
        const sl_node *nd = sl_graph_node(g, i);
        sl_layer_cost *c = &L[i];
        if (c->cls == SL_COST_CONV || c->cls == SL_COST_DEPTHWISE || c->cls == SL_COST_DENSE) {
            size_t outs = nd->op == SL_OP_DENSE ? nd->units : nd->c_out;
            size_t w = nd->n_params - (nd->bias ? outs : 0), b = has_bias[i] ? outs : 0;
            c->device_params = w + b;
            c->weight_bytes = precision == SL_PRECISION_INT8 ? w + 4 * b + 8 * outs : 4 * (w + b);
        } else if (nd->op == SL_OP_BATCHNORM && c->cls == SL_COST_ELEMENTWISE) {
            c->device_params = nd->n_params; /* a scale and a shift per channel */
            c->weight_bytes = (precision == SL_PRECISION_INT8 ? 8 : 4) * nd->shape.d[0];
        }
    }
}

static size_t conv_scratch(const sl_graph *g, const sl_node *nd, sl_cost_class cls, int precision)
{
    size_t taps = conv_taps(nd);
    if (cls == SL_COST_DEPTHWISE) return precision == SL_PRECISION_INT8 ? 2 * conv_c_in(g, nd) * taps : 0;
    size_t per = precision == SL_PRECISION_INT8 ? 2 : 4;
    return 2 * (conv_c_in(g, nd) / nd->groups) * taps * per;
}

/* Lifetimes in device steps (the input is written at step 0, device layer k at step k), the
 * tensors and scratch placed in one arena, at `precision`: the report's own fills its layers and
 * totals, the other gives only *peak. */
static sl_status plan(const sl_graph *g, sl_budget_report *r, int precision, size_t *peak_out)
{
    int mine = precision == r->precision;
    size_t n = r->n, bpv = bytes_per_value(precision);
    sl_layer_cost *L = r->layers;
    size_t *step = calloc(n, sizeof *step);
    sl_plan_tensor *t = calloc(2 * n, sizeof *t);
    size_t *tensor_of = calloc(n, sizeof *tensor_of), *scratch_of = calloc(n, sizeof *scratch_of);
    if (!step || !t || !tensor_of || !scratch_of) {
        free(step), free(t), free(tensor_of), free(scratch_of);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    size_t k = 0, nt = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && L[i].cls == SL_COST_NONE) continue;
        step[i] = i == 0 ? 0 : ++k;
        tensor_of[i] = nt;
        /* the tensor's size: the last node folded into it has the same number of values */
        t[nt++] = (sl_plan_tensor){.size = out_values(sl_graph_node(g, i)) * bpv, .first = step[i], .last = step[i]};
    }
    if (mine) r->device_layers = k;
    for (size_t i = 1; i < n; i++) {
        if (L[i].cls == SL_COST_NONE) continue;
        const sl_node *nd = sl_graph_node(g, i);
        for (int q = 0; q < nd->n_in; q++) {
            sl_plan_tensor *src = &t[tensor_of[L[(size_t)nd->in[q]].into]];
            if (step[i] > src->last) src->last = step[i];
        }
        if (L[i].cls == SL_COST_CONV || L[i].cls == SL_COST_DEPTHWISE) {
            size_t sb = conv_scratch(g, nd, L[i].cls, precision);
            if (mine) L[i].scratch_bytes = sb;
            if (sb) {
                scratch_of[i] = nt + 1; /* + 1: 0 means none */
                t[nt++] = (sl_plan_tensor){.size = sb, .first = step[i], .last = step[i]};
            }
        }
    }
    sl_plan_tensor *out = &t[tensor_of[L[n - 1].into]];
    out->last = k; /* read after the last layer */
    size_t peak = 0;
    sl_status s = sl_plan_greedy(t, nt, ARENA_ALIGN, &peak);
    *peak_out = peak;
    if (s == SL_OK && mine) {
        r->arena_bytes = peak;
        r->input_bytes = t[tensor_of[0]].size;
        r->output_bytes = out->size;
        for (size_t i = 0; i < n; i++) {
            const sl_plan_tensor *own = &t[tensor_of[L[i].into]];
            if (scratch_of[i]) L[i].scratch_offset = t[scratch_of[i] - 1].offset;
            if (L[i].into == i) {
                L[i].act_bytes = own->size;
                L[i].first = own->first;
                L[i].last = own->last;
                L[i].offset = own->offset;
            }
        }
    }
    free(step), free(t), free(tensor_of), free(scratch_of);
    return s;
}

/* The front end: buffers, tables and multiply-adds per frame (see budget.h). */
typedef struct {
    size_t ram, tables, macs_per_frame;
} frontend_cost;

static sl_status frontend(const sl_config *cfg, size_t bands_total, frontend_cost *f)
{
    memset(f, 0, sizeof *f);
    sl_features_params p;
    sl_features_params_from_config(cfg, &p);
    sl_featurizer *fz;
    SL_TRY(sl_featurizer_new(&fz, &p));
    size_t per_channel = sl_featurizer_bands(fz);
    sl_featurizer_free(fz);
    size_t channels = per_channel ? bands_total / per_channel : 1;
    if (!channels) channels = 1;
    size_t n = p.n_fft, bins = n / 2 + 1, mels = p.n_mels;
    f->tables = 2 * bands_total * 4;                        /* normalisation: mean and 1 / sd per band */
    if (p.type == SL_FEATURES_RAW) {
        f->ram = 4 * channels;                              /* the current sample of each channel */
        f->macs_per_frame = 2 * bands_total;
        return SL_OK;
    }
    size_t logn = 0;
    while (((size_t)1 << logn) < n) logn++;
    f->ram = channels * p.win_length * 4                    /* the last win_length samples */
             + 2 * n * 4                                    /* FFT input and output */
             + bins * 4;                                    /* the spectrum */
    f->tables += p.win_length * 4 + n * 4 + n / 2 * 2;       /* window, twiddles, bit reversal */
    size_t per = p.win_length + 2 * n * logn + 2 * bins;    /* window, real FFT, power */
    if (p.power == 1) per += 10 * bins;                     /* a square root per bin */
    if (p.type <= SL_FEATURES_MEL) {
        float *fb = malloc(bins * mels * sizeof *fb);
        if (!fb) return sl_fail(SL_ENOMEM, "out of memory");
        double f_max = p.f_max > 0 ? p.f_max : p.sample_rate / 2;
        sl_status s = sl_mel_filterbank(bins, p.f_min, f_max, mels, p.sample_rate, p.mel_scale, p.slaney_norm, fb);
        size_t nnz = 0;
        for (size_t i = 0; s == SL_OK && i < bins * mels; i++) nnz += fb[i] != 0;
        free(fb);
        SL_TRY(s);
        f->ram += mels * 4;
        f->tables += nnz * 4 + mels * 4;                    /* the non-zero weights, each band's bounds */
        per += nnz;
        if (p.type != SL_FEATURES_MEL) per += 20 * mels;    /* a polynomial logarithm */
        if (p.type == SL_FEATURES_MFCC) {
            f->ram += p.n_mfcc * 4;
            f->tables += p.n_mfcc * mels * 4;
            per += p.n_mfcc * mels;
        }
    } else if (p.type == SL_FEATURES_BAND_ENERGY) {
        f->ram += per_channel * 4;
        per += bins + 20 * per_channel;
    }
    f->macs_per_frame = channels * per + 2 * bands_total + (size_t)p.deltas * 4 * bands_total;
    return SL_OK;
}

static double rate_of(const sl_target *t, int precision, sl_cost_class cls)
{
    const sl_target_rates *r = precision == SL_PRECISION_INT8 ? &t->int8 : &t->float32;
    switch (cls) {
    case SL_COST_CONV: return r->conv;
    case SL_COST_DEPTHWISE: return r->depthwise;
    case SL_COST_DENSE: return r->dense;
    default: return r->elementwise;
    }
}

static size_t code_bytes(const sl_config *cfg, const sl_graph *g, const sl_layer_cost *L, const sl_target *t)
{
    int used[5] = {0}, pool = 0;
    for (size_t i = 1; i < sl_graph_count(g); i++) {
        sl_op op = sl_graph_node(g, i)->op;
        if (L[i].cls == SL_COST_NONE) continue;
        if (op == SL_OP_GAP || op == SL_OP_MAXPOOL || op == SL_OP_AVGPOOL) pool = 1; /* pooling has its own code */
        else used[L[i].cls] = 1;
    }
    size_t code = t->code.base + (cfg->features.type != SL_FEATURES_RAW ? t->code.frontend : 0);
    if (used[SL_COST_CONV]) code += t->code.conv;
    if (used[SL_COST_DEPTHWISE]) code += t->code.depthwise;
    if (used[SL_COST_DENSE]) code += t->code.dense;
    if (pool) code += t->code.pool;
    if (used[SL_COST_ELEMENTWISE]) code += t->code.elementwise;
    return code;
}

void sl_budget_report_free(sl_budget_report *r)
{
    if (!r) return;
    sl_graph_free(r->own_graph);
    free(r->layers);
    free(r);
}

sl_status sl_budget_estimate_graph(const sl_config *cfg, const sl_graph *g, const sl_target *t,
                                   sl_budget_report **out)
{
    *out = NULL;
    SL_TRY(sl_graph_status(g));
    size_t n = sl_graph_count(g);
    sl_budget_report *r = calloc(1, sizeof *r);
    size_t *readers = calloc(n, sizeof *readers);
    int *has_bias = calloc(n, sizeof *has_bias);
    if (r) r->layers = calloc(n, sizeof *r->layers);
    if (!r || !r->layers || !readers || !has_bias) {
        sl_budget_report_free(r);
        free(readers), free(has_bias);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    r->g = g;
    r->n = n;
    r->precision = cfg->budget.precision;
    for (size_t i = 1; i < n; i++) {
        const sl_node *nd = sl_graph_node(g, i);
        for (int q = 0; q < nd->n_in; q++) readers[nd->in[q]]++;
    }
    classify(g, r->layers, readers, has_bias);
    weights(g, r->layers, has_bias, r->precision);
    free(readers);
    free(has_bias);
    sl_status s = plan(g, r, r->precision, &r->arena_bytes);
    if (s == SL_OK)
        s = plan(g, r, r->precision == SL_PRECISION_INT8 ? SL_PRECISION_FLOAT32 : SL_PRECISION_INT8, &r->arena_other);
    const sl_node *in = sl_graph_node(g, 0);
    size_t bands = in->shape.rank == 3 ? in->shape.d[0] * in->shape.d[1] : in->shape.d[0];
    size_t frames = in->shape.d[in->shape.rank - 1];
    frontend_cost fe = {0};
    if (s == SL_OK) s = frontend(cfg, bands, &fe);
    if (s != SL_OK) {
        sl_budget_report_free(r);
        return s;
    }
    double hz = t->clock_mhz * 1e6;
    for (size_t i = 1; i < n; i++) {
        sl_layer_cost *c = &r->layers[i];
        r->params += c->params;
        r->device_params += c->device_params;
        r->macs += c->macs;
        r->ops += c->ops;
        r->weight_bytes += c->weight_bytes;
        if (c->cls == SL_COST_NONE) continue;
        double rate = rate_of(t, r->precision, c->cls);
        c->seconds = ((double)(c->macs + c->ops) / rate + t->overhead_cycles) / hz;
        r->network_seconds += c->seconds;
    }
    double hop = cfg->budget.hop;
    size_t hop_samples = cfg->features.hop_length ? cfg->features.hop_length : 1;
    if (cfg->features.type == SL_FEATURES_RAW) hop_samples = 1;
    r->frames_per_decision = frames;
    if (hop > 0) {
        size_t f = (size_t)ceil(hop * cfg->data.sample_rate / (double)hop_samples - 1e-9);
        r->frames_per_decision = f < 1 ? 1 : f < frames ? f : frames;
        r->window_bytes = bands * frames * bytes_per_value(r->precision);
    }
    r->frontend_ram = fe.ram;
    r->table_bytes = fe.tables;
    r->frontend_macs = fe.macs_per_frame * r->frames_per_decision;
    r->frontend_seconds = (double)r->frontend_macs / (t->dsp * hz);
    r->latency_seconds = r->frontend_seconds + r->network_seconds;
    r->energy_mj = t->power_mw * r->latency_seconds;
    if (hop > 0) {
        r->decisions_per_second = 1.0 / hop;
        r->busy_share = r->latency_seconds * r->decisions_per_second;
        double idle = r->busy_share < 1 ? 1 - r->busy_share : 0;
        r->average_mw = t->power_mw * (r->busy_share < 1 ? r->busy_share : 1) + t->idle_mw * idle;
    }
    r->ram_bytes = r->arena_bytes + r->frontend_ram + r->window_bytes;
    r->code_bytes = code_bytes(cfg, g, r->layers, t);
    r->flash_bytes = r->weight_bytes + r->table_bytes + r->code_bytes;
    *out = r;
    return SL_OK;
}

sl_status sl_budget_estimate(const sl_config *cfg, size_t bands, size_t frames, size_t n_classes, const sl_target *t,
                             sl_budget_report **out)
{
    *out = NULL;
    sl_shape in = {.rank = 2, .d = {bands, frames}};
    sl_graph *g;
    SL_TRY(sl_model_build(&cfg->model, &in, n_classes, &g));
    sl_status s = sl_budget_estimate_graph(cfg, g, t, out);
    if (s != SL_OK) {
        sl_graph_free(g);
        return s;
    }
    (*out)->own_graph = g;
    return SL_OK;
}

size_t sl_budget_check(const sl_budget_report *r, const sl_budget_config *b, sl_budget_line *lines, int *over)
{
    size_t n = 0;
    *over = 0;
#define LINE(w, v, l)                                              \
    do {                                                           \
        lines[n] = (sl_budget_line){(w), (v), (l), (v) <= (l)};    \
        *over |= !lines[n].pass;                                   \
        n++;                                                       \
    } while (0)
    if (b->ram) LINE("RAM", (double)r->ram_bytes, (double)b->ram);
    if (b->flash) LINE("flash", (double)r->flash_bytes, (double)b->flash);
    if (b->latency > 0) LINE("latency", r->latency_seconds, b->latency);
    if (b->energy_mj > 0) LINE("energy", r->energy_mj, b->energy_mj);
    if (b->hop > 0) LINE("real time", r->latency_seconds, b->hop);
#undef LINE
    return n;
}

/* Costs cfg with one change; 1 when it fits. */
static int fits(const sl_config *cfg, size_t bands, size_t frames, size_t n_classes, const sl_target *t,
                sl_budget_report **keep)
{
    sl_budget_report *r;
    if (sl_budget_estimate(cfg, bands, frames, n_classes, t, &r) != SL_OK) return 0;
    sl_budget_line lines[SL_BUDGET_LINES];
    int over;
    sl_budget_check(r, &cfg->budget, lines, &over);
    if (over || !keep) {
        sl_budget_report_free(r);
        return !over;
    }
    *keep = r;
    return 1;
}

sl_status sl_budget_suggest(const sl_config *cfg, size_t bands, size_t frames, size_t n_classes, const sl_target *t,
                            char *set, size_t size, sl_budget_report **fit)
{
    *fit = NULL;
    if (size) *set = '\0';
    sl_config c = *cfg; /* shallow: the lists stay the caller's, only scalars change */
    if (cfg->budget.precision == SL_PRECISION_FLOAT32) {
        c.budget.precision = SL_PRECISION_INT8;
        if (fits(&c, bands, frames, n_classes, t, fit)) {
            snprintf(set, size, "budget.precision=int8");
            return SL_OK;
        }
        c.budget.precision = cfg->budget.precision;
    }
    double wm = cfg->model.width_multiplier;
    for (int k = 15; k >= 1; k--) {
        c.model.width_multiplier = wm * k / 16.0;
        if (fits(&c, bands, frames, n_classes, t, fit)) {
            snprintf(set, size, "model.width_multiplier=%.4g", c.model.width_multiplier);
            return SL_OK;
        }
    }
    c.model.width_multiplier = wm;
    if (cfg->budget.precision == SL_PRECISION_FLOAT32) {
        c.budget.precision = SL_PRECISION_INT8;
        for (int k = 15; k >= 1; k--) {
            c.model.width_multiplier = wm * k / 16.0;
            if (fits(&c, bands, frames, n_classes, t, fit)) {
                snprintf(set, size, "budget.precision=int8 --set model.width_multiplier=%.4g", c.model.width_multiplier);
                return SL_OK;
            }
        }
        c.budget.precision = cfg->budget.precision;
        c.model.width_multiplier = wm;
    }
    for (size_t b = cfg->model.blocks; b-- > 1;) {
        c.model.blocks = b;
        if (fits(&c, bands, frames, n_classes, t, fit)) {
            snprintf(set, size, "model.blocks=%zu", b);
            return SL_OK;
        }
    }
    c.model.blocks = cfg->model.blocks;
    if (cfg->model.kernel >= 3) {
        c.model.kernel = cfg->model.kernel - 2;
        if (fits(&c, bands, frames, n_classes, t, fit)) {
            snprintf(set, size, "model.kernel=%zu", c.model.kernel);
            return SL_OK;
        }
    }
    return sl_fail(SL_EBUDGET, "no single change tried fits the budget (width multipliers down to %.4g, int8, fewer "
                               "blocks, a smaller kernel): the budget or the front end must change",
                   wm / 16.0);
}
