/* sigloop model CONFIG: the network the config describes, layer by layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "sigloop/budget.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/nn.h"

static const char help[] =
    "usage: sigloop model CONFIG [options]\n"
    "\n"
    "Builds the network of the config's model: section for its features (bands x frames) and the\n"
    "data set's classes, and prints one row per layer: name, op, output shape, parameters and\n"
    "multiply-accumulates per example, then the totals. Classes come from the output folder's\n"
    "manifest.csv, or from a scan of the data when there is none.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR       output folder holding manifest.csv (default: runs/NAME)\n"
    "  --set KEY=VALUE     override a config field, e.g. --set model.width_multiplier=0.5\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int cmd_model(int argc, char **argv)
{
    cli_common c;
    int done;
    int rc = cli_parse_common(argc, argv, &c, help, &done);
    if (rc != CLI_OK || done) return rc;
    sl_config cfg;
    char out_dir[SL_PATH_MAX];
    if (cli_load_config(&c, &cfg, out_dir, sizeof out_dir) != CLI_OK) return CLI_FAIL;
    size_t bands = 0, frames = 0, classes = 0;
    sl_status s = cli_model_shape(&c, &cfg, out_dir, &bands, &frames, &classes);
    sl_graph *g = NULL;
    sl_shape in = {.rank = 2, .d = {bands, frames}};
    if (s == SL_OK) s = sl_model_build(&cfg.model, &in, classes, &g);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    printf("model %s%s on %zu x %zu features, %zu classes\n\n", sl_model_arch_name(cfg.model.arch),
           cfg.model.dims == 2 ? " (2-D)" : "", bands, frames, classes);
    printf("  %3s  %-20s %-10s %-10s %10s %12s\n", "#", "name", "op", "output", "params", "MACs");
    size_t total_macs = 0;
    char sh[48], pa[32], ma[32];
    for (size_t i = 0; i < sl_graph_count(g); i++) {
        const sl_node *nd = sl_graph_node(g, i);
        cli_shape_text(sh, sizeof sh, &nd->shape);
        cli_group_digits(pa, sizeof pa, nd->n_params);
        cli_group_digits(ma, sizeof ma, nd->macs);
        printf("  %3zu  %-20s %-10s %-10s %10s %12s\n", i, nd->name, sl_op_name(nd->op), sh, pa, ma);
        total_macs += nd->macs;
    }
    cli_group_digits(pa, sizeof pa, sl_graph_n_params(g));
    cli_group_digits(ma, sizeof ma, total_macs);
    printf("\ntotal: %s parameters (%.1f KiB as float32, %.1f KiB as int8), %s multiply-accumulates per "
           "example\n",
           pa, (double)sl_graph_n_params(g) * 4 / 1024, (double)sl_graph_n_params(g) / 1024, ma);
    printf("(batch norm's running statistics, %zu values, are state, not parameters; batch norm folds into the\n"
           " convolutions before it on a device)\n",
           sl_graph_n_state(g));
    /* activation memory for one example: tensors placed by lifetime in one arena */
    size_t peak[2] = {0, 0}, total = 0, n_t = 0;
    for (int b = 0; b < 2; b++) {
        sl_plan_tensor *t = NULL;
        s = sl_graph_tensors(g, b ? 1 : 4, &t, &n_t);
        if (s == SL_OK) s = sl_plan_greedy(t, n_t, 16, &peak[b]);
        for (size_t i = 0; s == SL_OK && b == 0 && i < n_t; i++) total += t[i].size;
        free(t);
    }
    if (s == SL_OK)
        printf("activations: %.1f KiB as float32 (%.1f KiB as int8) in one arena, each of the %zu tensors placed\n"
               " by its lifetime; %.1f KiB if each had a buffer of its own\n",
               (double)peak[0] / 1024, (double)peak[1] / 1024, n_t, (double)total / 1024);
    sl_graph_free(g);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    sl_config_free(&cfg);
    return CLI_OK;
}
