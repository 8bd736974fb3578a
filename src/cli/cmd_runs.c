/* sigloop runs [ROOT]: the runs index, one line per training run. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sigloop/runs.h"

static const char help[] =
    "usage: sigloop runs [ROOT] [--sort COLUMN] [--where CONDITIONS]\n"
    "\n"
    "Lists the runs recorded in ROOT/index.db (default ROOT: runs), oldest first: folder,\n"
    "architecture, parameters, multiply-accumulates per example, epochs, best epoch, validation\n"
    "and test accuracy, seconds, training samples/s, RAM and latency on the budget's target (runs\n"
    "made by 'sigloop run'), status (running, done, stopped-early, failed, killed: recorded as\n"
    "running by a process that is gone; ',over' when over its budget) and the first digits of the\n"
    "config's hash (equal hashes: equal resolved configs).\n"
    "\n"
    "options:\n"
    "  --sort COLUMN       order by a column, best first for accuracies (val_acc, test_acc, macro_f1,\n"
    "                      samples_per_s), smallest first for costs (macs, params, ram, flash,\n"
    "                      latency, energy, seconds)\n"
    "  --where CONDITIONS  only the runs that meet them, e.g. 'test_acc > 0.9 and macs < 2000000'\n"
    "                      (column, one of < <= > >= = !=, a value; joined by 'and')\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int cmd_runs(int argc, char **argv)
{
    const char *root = NULL, *sort = NULL, *where = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--sort") == 0 || strcmp(argv[i], "--where") == 0) {
            if (i + 1 >= argc) {
                cli_error("%s needs a value", argv[i]);
                return CLI_USAGE;
            }
            if (argv[i][2] == 's') sort = argv[++i];
            else where = argv[++i];
        } else if (argv[i][0] == '-') {
            cli_error("unknown option '%s' (see --help)", argv[i]);
            return CLI_USAGE;
        } else if (!root) {
            root = argv[i];
        } else {
            cli_error("unexpected argument '%s'", argv[i]);
            return CLI_USAGE;
        }
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/index.db", root ? root : "runs");
    if (sl_run_index_list(path, sort, where, stdout) != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}
