/* sigloop runs [ROOT]: the runs index, one line per training run. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sigloop/runs.h"

static const char help[] =
    "usage: sigloop runs [ROOT]\n"
    "\n"
    "Lists the training runs recorded in ROOT/index.db (default ROOT: runs), oldest first: folder,\n"
    "architecture, parameters, multiply-accumulates per example, epochs, best epoch, validation\n"
    "and test accuracy, seconds, training samples/s and the first digits of the config's hash\n"
    "(equal hashes: equal resolved configs).\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int cmd_runs(int argc, char **argv)
{
    const char *root = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
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
    if (sl_run_index_print(path, stdout) != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}
