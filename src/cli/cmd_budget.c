/* sigloop budget CONFIG|RUN: steps 3 and 9, what the pipeline needs on the device, against the
 * config's budget: section. The report is shared with 'sigloop train', which refuses a model
 * over its budget. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "sigloop/budget.h"
#include "sigloop/dsp.h"
#include "sigloop/features.h"
#include "sigloop/model.h"
#include "sigloop/rng.h"

static const char help[] =
    "usage: sigloop budget CONFIG|RUN [options]\n"
    "\n"
    "Costs the config's front end and model on the target device of budget.target (a profile in\n"
    "targets/, or a YAML file) as the device runs it (batch norm folded into the convolution\n"
    "before it, ReLU fused, int8 or float32 by budget.precision): per layer the output shape,\n"
    "parameters, multiply-accumulates (one multiply-add each), the bytes of the tensor it writes,\n"
    "its lifetime and place in the activation arena (tensors placed by lifetime, as TensorFlow\n"
    "Lite Micro's planner does) and its estimated time; then the totals (weights, peak\n"
    "activations, the front end's buffers, RAM, flash with tables and code, latency and energy\n"
    "per decision; with budget.hop, the cost of each second of a stream) and each limit of the\n"
    "budget with PASS or FAIL and the margin. Over budget, it tries smaller widths (and int8, fewer\n"
    "blocks, a smaller kernel) without training and prints the first change that fits, as a --set.\n"
    "A RUN (a folder written by 'sigloop train') is costed with its own config and shapes.\n"
    "\n"
    "options:\n"
    "  --target NAME       a profile's name or file, instead of budget.target\n"
    "  --measure           also run the float model here, one example at a time, and print each\n"
    "                      layer's measured time next to the host profile's estimate\n"
    "  --json              the report as JSON on stdout\n"
    "  -o, --out DIR       output folder holding manifest.csv (default: runs/NAME)\n"
    "  --set KEY=VALUE     override a config field, e.g. --set budget.ram=32KiB\n"
    "  -q, --quiet         the budget lines only\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 within budget, 1 failure, 2 usage error, 3 over budget.\n";

static const char *kib(char *buf, size_t size, double bytes)
{
    if (bytes < 1024) snprintf(buf, size, "%.0f B", bytes);
    else if (bytes < 1024.0 * 1024) snprintf(buf, size, "%.1f KiB", bytes / 1024);
    else snprintf(buf, size, "%.2f MiB", bytes / (1024.0 * 1024));
    return buf;
}

static const char *secs(char *buf, size_t size, double s)
{
    if (s < 1e-3) snprintf(buf, size, "%.1f us", s * 1e6);
    else if (s < 1) snprintf(buf, size, "%.2f ms", s * 1e3);
    else snprintf(buf, size, "%.2f s", s);
    return buf;
}

static const char *line_value(char *buf, size_t size, const sl_budget_line *l, double v)
{
    if (strcmp(l->what, "RAM") == 0 || strcmp(l->what, "flash") == 0) return kib(buf, size, v);
    if (strcmp(l->what, "energy") == 0) {
        snprintf(buf, size, "%.3g mJ", v);
        return buf;
    }
    return secs(buf, size, v);
}

static const char *precision_name(int p) { return p == SL_PRECISION_INT8 ? "int8" : "float32"; }

void cli_budget_print(FILE *out, const sl_config *cfg, const sl_target *t, const sl_budget_report *r, int quiet)
{
    const sl_graph *g = r->g;
    char a[32], b[32], c[32], d[48], e[32];
    if (!quiet) {
        fprintf(out, "budget of %s on %s (%s): %s\n\n", cfg->name, t->name, precision_name(r->precision),
                t->description);
        fprintf(out, "  %3s  %-18s %-10s %-14s %9s %11s %10s %9s  %-9s %8s %10s\n", "#", "name", "op", "output",
                "params", "MACs", "tensor", "scratch", "lifetime", "offset", "time");
        for (size_t i = 0; i < r->n; i++) {
            const sl_node *nd = sl_graph_node(g, i);
            const sl_layer_cost *L = &r->layers[i];
            cli_shape_text(d, sizeof d, &nd->shape);
            cli_group_digits(a, sizeof a, L->params);
            cli_group_digits(b, sizeof b, L->macs);
            if (i > 0 && L->cls == SL_COST_NONE) {
                const char *how = nd->op == SL_OP_BATCHNORM ? "folded into" : nd->op == SL_OP_DROPOUT ? "no-op after"
                                  : nd->op == SL_OP_FLATTEN                                           ? "view of"
                                                                                                      : "fused into";
                fprintf(out, "  %3zu  %-18s %-10s %-14s %9s %11s  (%s %s)\n", i, nd->name, sl_op_name(nd->op), d, a, b,
                        how, sl_graph_node(g, L->into)->name);
                continue;
            }
            char life[32], sc[32];
            snprintf(life, sizeof life, "%zu-%zu", L->first, L->last);
            if (L->scratch_bytes) kib(sc, sizeof sc, (double)L->scratch_bytes);
            else snprintf(sc, sizeof sc, "-");
            fprintf(out, "  %3zu  %-18s %-10s %-14s %9s %11s %10s %9s  %-9s %8zu %10s\n", i, nd->name,
                    sl_op_name(nd->op), d, a, b, kib(c, sizeof c, (double)L->act_bytes), sc, life, L->offset,
                    i ? secs(e, sizeof e, L->seconds) : "-");
        }
        cli_group_digits(a, sizeof a, r->params);
        cli_group_digits(b, sizeof b, r->device_params);
        fprintf(out, "\nparameters      %s trained, %s on the device (batch norm folded)\n", a, b);
        cli_group_digits(a, sizeof a, r->macs);
        cli_group_digits(b, sizeof b, r->ops);
        fprintf(out, "MACs            %s per decision (multiply-adds of convolutions and dense layers), and %s\n"
                     "                element-wise operations\n",
                a, b);
        fprintf(out, "weights         %s (%s)\n", kib(a, sizeof a, (double)r->weight_bytes),
                r->precision == SL_PRECISION_INT8 ? "int8 weights, int32 biases, per-channel requantisation"
                                                  : "float32");
        fprintf(out, "activations     %s peak in one arena, %zu layers (input %s and output %s in it, kernel scratch "
                     "too); %s as %s\n",
                kib(a, sizeof a, (double)r->arena_bytes), r->device_layers, kib(b, sizeof b, (double)r->input_bytes),
                kib(c, sizeof c, (double)r->output_bytes), kib(e, sizeof e, (double)r->arena_other),
                precision_name(r->precision == SL_PRECISION_INT8 ? SL_PRECISION_FLOAT32 : SL_PRECISION_INT8));
        fprintf(out, "front end RAM   %s (samples of a frame, FFT buffers, spectrum, bands)\n",
                kib(a, sizeof a, (double)r->frontend_ram));
        if (r->window_bytes)
            fprintf(out, "window buffer   %s (streaming: the frames kept between decisions)\n",
                    kib(a, sizeof a, (double)r->window_bytes));
        fprintf(out, "RAM             %s in all\n", kib(a, sizeof a, (double)r->ram_bytes));
        fprintf(out, "flash           %s: weights %s, front-end tables %s, code %s (the profile's estimate)\n",
                kib(a, sizeof a, (double)r->flash_bytes), kib(b, sizeof b, (double)r->weight_bytes),
                kib(c, sizeof c, (double)r->table_bytes), kib(e, sizeof e, (double)r->code_bytes));
        fprintf(out, "latency         %s per decision: front end %s (%zu frames), network %s, at %g MHz\n",
                secs(a, sizeof a, r->latency_seconds), secs(b, sizeof b, r->frontend_seconds), r->frames_per_decision,
                secs(c, sizeof c, r->network_seconds), t->clock_mhz);
        fprintf(out, "energy          %.3g mJ per decision (at %g mW)\n", r->energy_mj, t->power_mw);
        if (r->decisions_per_second > 0)
            fprintf(out, "stream          %.3g decisions a second, busy %.1f %% of the time, %.3g mW on average\n",
                    r->decisions_per_second, 100 * r->busy_share, r->average_mw);
        if (t->ram || t->flash)
            fprintf(out, "device          %s RAM, %s flash\n", kib(a, sizeof a, (double)t->ram),
                    kib(b, sizeof b, (double)t->flash));
        fputc('\n', out);
    }
    sl_budget_line lines[SL_BUDGET_LINES];
    int over;
    size_t n = sl_budget_check(r, &cfg->budget, lines, &over);
    if (!n) {
        fprintf(out, "no budget set (budget: ram, flash, latency, energy_mj in %s)\n", cfg->path);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_budget_line *l = &lines[i];
        double margin = l->limit - l->value;
        fprintf(out, "%-10s %12s of %-12s %s  (%s %s, %.0f %% of the limit)\n", l->what,
                line_value(a, sizeof a, l, l->value), line_value(b, sizeof b, l, l->limit), l->pass ? "PASS" : "FAIL",
                line_value(c, sizeof c, l, fabs(margin)), margin >= 0 ? "to spare" : "over",
                100 * l->value / l->limit);
    }
}

static void print_json(FILE *out, const sl_config *cfg, const sl_target *t, const sl_budget_report *r,
                       const char *suggestion)
{
    const sl_graph *g = r->g;
    fputs("{\"config\": ", out);
    cli_json_string(out, cfg->path);
    fputs(", \"target\": ", out);
    cli_json_string(out, t->name);
    fprintf(out, ", \"precision\": \"%s\", \"layers\": [", precision_name(r->precision));
    for (size_t i = 0; i < r->n; i++) {
        const sl_node *nd = sl_graph_node(g, i);
        const sl_layer_cost *L = &r->layers[i];
        fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
        cli_json_string(out, nd->name);
        fprintf(out, ", \"op\": \"%s\", \"shape\": [", sl_op_name(nd->op));
        for (int k = 0; k < nd->shape.rank; k++) fprintf(out, "%s%zu", k ? ", " : "", nd->shape.d[k]);
        fprintf(out, "], \"params\": %zu, \"macs\": %zu, \"ops\": %zu", L->params, L->macs, L->ops);
        if (i > 0 && L->cls == SL_COST_NONE) {
            fputs(", \"into\": ", out);
            cli_json_string(out, sl_graph_node(g, L->into)->name);
        } else {
            size_t values = sl_shape_size(&nd->shape);
            fprintf(out, ", \"tensor_bytes\": %zu, \"tensor_bytes_int8\": %zu, \"tensor_bytes_float32\": %zu, "
                         "\"scratch_bytes\": %zu, \"first\": %zu, \"last\": %zu, \"offset\": %zu, \"seconds\": %.9g",
                    L->act_bytes, values, 4 * values, L->scratch_bytes, L->first, L->last, L->offset, L->seconds);
        }
        fputc('}', out);
    }
    fprintf(out, "],\n \"totals\": {\"params\": %zu, \"device_params\": %zu, \"macs\": %zu, \"ops\": %zu, "
                 "\"weight_bytes\": %zu, \"arena_bytes\": %zu, \"arena_bytes_other_precision\": %zu, \"input_bytes\": %zu, \"output_bytes\": %zu, "
                 "\"frontend_ram\": %zu, \"window_bytes\": %zu, \"ram_bytes\": %zu, \"table_bytes\": %zu, "
                 "\"code_bytes\": %zu, \"flash_bytes\": %zu, \"frames_per_decision\": %zu, "
                 "\"frontend_seconds\": %.9g, \"network_seconds\": %.9g, \"latency_seconds\": %.9g, "
                 "\"energy_mj\": %.9g, \"decisions_per_second\": %.9g, \"busy_share\": %.9g, \"average_mw\": %.9g},\n",
            r->params, r->device_params, r->macs, r->ops, r->weight_bytes, r->arena_bytes, r->arena_other, r->input_bytes,
            r->output_bytes, r->frontend_ram, r->window_bytes, r->ram_bytes, r->table_bytes, r->code_bytes,
            r->flash_bytes, r->frames_per_decision, r->frontend_seconds, r->network_seconds, r->latency_seconds,
            r->energy_mj, r->decisions_per_second, r->busy_share, r->average_mw);
    sl_budget_line lines[SL_BUDGET_LINES];
    int over;
    size_t n = sl_budget_check(r, &cfg->budget, lines, &over);
    fputs(" \"budget\": [", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s{\"what\": \"%s\", \"value\": %.9g, \"limit\": %.9g, \"pass\": %s, \"margin\": %.9g}",
                i ? ", " : "", lines[i].what, lines[i].value, lines[i].limit, lines[i].pass ? "true" : "false",
                lines[i].limit - lines[i].value);
    fprintf(out, "], \"over\": %s, \"suggestion\": ", over ? "true" : "false");
    if (suggestion && *suggestion) cli_json_string(out, suggestion);
    else fputs("null", out);
    fputs("}\n", out);
}

sl_status cli_budget_target(const sl_config *cfg, const char *name, sl_target *t)
{
    char path[SL_PATH_MAX];
    SL_TRY(sl_target_find(name ? name : cfg->budget.target, cfg->dir, path, sizeof path));
    return sl_target_load(t, path);
}

int cli_budget_over(const sl_config *cfg, const sl_budget_report *r)
{
    sl_budget_line lines[SL_BUDGET_LINES];
    int over;
    sl_budget_check(r, &cfg->budget, lines, &over);
    return over;
}

/* Runs the float model one example at a time here and prints each node's measured time next to
 * the host profile's estimate for its device layer. */
static sl_status measure(const sl_config *cfg, const sl_graph *g, const sl_model *m, const sl_target *host,
                         FILE *out)
{
    sl_config fc = *cfg;
    fc.budget.precision = SL_PRECISION_FLOAT32;
    sl_budget_report *r;
    SL_TRY(sl_budget_estimate_graph(&fc, g, host, &r));
    sl_net *net;
    sl_status s = sl_net_new(&net, g, 1);
    if (s != SL_OK) {
        sl_budget_report_free(r);
        return s;
    }
    s = sl_net_set_threads(net, 1);
    if (m && s == SL_OK) {
        memcpy(sl_net_params(net), m->params, sl_graph_n_params(g) * sizeof(float));
        memcpy(sl_net_state(net), m->state, sl_graph_n_state(g) * sizeof(float));
    } else if (s == SL_OK) {
        sl_net_init(net, cfg->train.seed);
    }
    size_t nx = sl_shape_size(&sl_graph_node(g, 0)->shape);
    float *x = malloc(nx * sizeof *x);
    if (!x) s = sl_fail(SL_ENOMEM, "out of memory");
    sl_rng rng = sl_rng_make(1, 1);
    for (size_t i = 0; s == SL_OK && i < nx; i++) x[i] = (float)sl_rng_normal(&rng);
    const float *y;
    const int warm = 50, runs = 500;
    for (int k = 0; s == SL_OK && k < warm; k++) s = sl_net_forward(net, x, 1, 0, &y);
    double t0 = cli_now();
    for (int k = 0; s == SL_OK && k < runs; k++) s = sl_net_forward(net, x, 1, 0, &y);
    double wall = (cli_now() - t0) / runs; /* without the per-layer clock */
    if (s == SL_OK) s = sl_net_profile(net, 1);
    for (int k = 0; s == SL_OK && k < runs; k++) s = sl_net_forward(net, x, 1, 0, &y);
    /* the front end on a recording of data.duration (noise), as many frames as the network's input */
    double fe = 0;
    sl_features_params fp;
    sl_features_params_from_config(cfg, &fp);
    sl_featurizer *fz = NULL;
    size_t n_samples = (size_t)llround(cfg->data.duration * cfg->data.sample_rate);
    float *sig = NULL, *feat = NULL;
    void *scratch = NULL;
    if (s == SL_OK && cfg->features.type != SL_FEATURES_RAW && sl_featurizer_new(&fz, &fp) == SL_OK) {
        sig = malloc(n_samples * sizeof *sig);
        feat = malloc(sl_featurizer_bands(fz) * sl_featurizer_frames(fz, n_samples) * sizeof *feat);
        scratch = malloc(sl_featurizer_scratch_size(fz, n_samples) + 1);
        if (sig && feat && scratch) {
            for (size_t i = 0; i < n_samples; i++) sig[i] = (float)(0.1 * sl_rng_normal(&rng));
            for (int k = 0; k < warm; k++) (void)sl_featurize(fz, sig, n_samples, feat, scratch);
            double f0 = cli_now();
            for (int k = 0; k < runs; k++) (void)sl_featurize(fz, sig, n_samples, feat, scratch);
            fe = (cli_now() - f0) / runs;
        }
    }
    free(sig), free(feat), free(scratch);
    sl_featurizer_free(fz);
    if (s == SL_OK) {
        const double *prof = sl_net_profile_seconds(net);
        char a[32], b[32];
        fprintf(out, "\nmeasured here (float32, one example at a time, one thread, mean of %d runs) against the %s "
                     "profile's estimate:\n",
                runs, host->name);
        fprintf(out, "  %3s  %-18s %-10s %10s %10s\n", "#", "name", "op", "measured", "estimate");
        double est_sum = 0, meas_sum = 0;
        for (size_t i = 1; i < sl_graph_count(g); i++) {
            const sl_node *nd = sl_graph_node(g, i);
            const sl_layer_cost *L = &r->layers[i];
            est_sum += L->seconds;
            meas_sum += prof[i] / runs;
            fprintf(out, "  %3zu  %-18s %-10s %10s %10s\n", i, nd->name, sl_op_name(nd->op),
                    secs(a, sizeof a, prof[i] / runs),
                    L->cls == SL_COST_NONE ? "(fused)" : secs(b, sizeof b, L->seconds));
        }
        char e[32];
        fprintf(out, "network: measured %s per example (%s in the layers, each timed), estimated %s\n",
                secs(a, sizeof a, wall), secs(b, sizeof b, meas_sum), secs(e, sizeof e, est_sum));
        if (fe > 0)
            fprintf(out, "front end: measured %s for %.3g s of signal (%zu frames), estimated %s\n",
                    secs(a, sizeof a, fe), cfg->data.duration, r->frames_per_decision,
                    secs(b, sizeof b, r->frontend_seconds));
    }
    free(x);
    sl_net_free(net);
    sl_budget_report_free(r);
    return s;
}

int cmd_budget(int argc, char **argv)
{
    const char *target = NULL;
    int do_measure = 0;
    const cli_option own[] = {{"--measure", &do_measure, NULL}, {"--target", NULL, &target}};
    cli_common c;
    int done;
    int rc = cli_parse_with(argc, argv, &c, help, &done, own, 2);
    if (rc != CLI_OK || done) return rc;
    /* a RUN folder: its resolved config and its model's shapes */
    struct stat sb;
    char run_cfg[SL_PATH_MAX + 32], model_path[SL_PATH_MAX + 32];
    int is_run = stat(c.config, &sb) == 0 && S_ISDIR(sb.st_mode);
    sl_model *m = NULL;
    if (is_run) {
        snprintf(run_cfg, sizeof run_cfg, "%s/config.yaml", c.config);
        snprintf(model_path, sizeof model_path, "%s/model.slm", c.config);
        if (sl_model_load(&m, model_path) != SL_OK) {
            cli_error("%s", sl_last_error());
            return CLI_FAIL;
        }
        c.config = run_cfg;
    }
    sl_config cfg;
    char out_dir[SL_PATH_MAX];
    if (cli_load_config(&c, &cfg, out_dir, sizeof out_dir) != CLI_OK) {
        sl_model_free(m);
        return CLI_FAIL;
    }
    size_t bands = 0, frames = 0, classes = 0;
    sl_status s = SL_OK;
    if (m) {
        bands = m->bands;
        frames = m->frames;
        classes = m->classes;
    } else {
        s = cli_model_shape(&c, &cfg, out_dir, &bands, &frames, &classes);
    }
    sl_target t;
    sl_budget_report *r = NULL;
    if (s == SL_OK) s = cli_budget_target(&cfg, target, &t);
    if (s == SL_OK) s = sl_budget_estimate(&cfg, bands, frames, classes, &t, &r);
    char suggestion[256] = "";
    sl_budget_report *fit = NULL;
    int over = s == SL_OK && cli_budget_over(&cfg, r);
    sl_status sug = SL_OK;
    if (over) sug = sl_budget_suggest(&cfg, bands, frames, classes, &t, suggestion, sizeof suggestion, &fit);
    if (s == SL_OK && c.json) {
        print_json(stdout, &cfg, &t, r, sug == SL_OK ? suggestion : NULL);
    } else if (s == SL_OK) {
        cli_budget_print(stdout, &cfg, &t, r, c.quiet);
        if (over && sug == SL_OK) {
            char a[32], b[32], d[32];
            printf("\nover budget; the smallest change tried that fits: --set %s\n"
                   "  (RAM %s, flash %s, latency %s",
                   suggestion, kib(a, sizeof a, (double)fit->ram_bytes), kib(b, sizeof b, (double)fit->flash_bytes),
                   secs(d, sizeof d, fit->latency_seconds));
            cli_group_digits(a, sizeof a, fit->device_params);
            printf(", %s parameters; costed, not trained)\n", a);
        } else if (over) {
            printf("\nover budget: %s\n", sl_last_error());
        }
    }
    if (s == SL_OK && do_measure && !c.json) {
        sl_target host;
        s = cli_budget_target(&cfg, "host", &host);
        const sl_model *mw = m && sl_graph_n_params(r->g) == sl_graph_n_params(m->graph) ? m : NULL;
        if (s == SL_OK) s = measure(&cfg, r->g, mw, &host, stdout);
    }
    sl_budget_report_free(fit);
    sl_budget_report_free(r);
    sl_model_free(m);
    sl_config_free(&cfg);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return over ? CLI_OVER_BUDGET : CLI_OK;
}
