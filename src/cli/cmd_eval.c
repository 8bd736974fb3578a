/* sigloop eval RUN: a trained model scored again on a split of its data set. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/model.h"
#include "sigloop/train.h"

static const char help[] =
    "usage: sigloop eval RUN [--split test|val|train] [--predictions FILE]\n"
    "\n"
    "Loads RUN/model.slm (checked: version, sizes, checksum), reads RUN/manifest.csv and the\n"
    "feature cache (RUN/features.bin, or for a numbered run runs/NAME-NNN the data set's\n"
    "runs/NAME/features.bin; it must have been computed with the model's feature settings), and\n"
    "prints the model's accuracy on the split (default: test). --predictions writes one row per\n"
    "example with its class probabilities.\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int cmd_eval(int argc, char **argv)
{
    const char *run = NULL, *split_name = "test", *pred = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--split") == 0 && i + 1 < argc) {
            split_name = argv[++i];
        } else if (strcmp(argv[i], "--predictions") == 0 && i + 1 < argc) {
            pred = argv[++i];
        } else if (argv[i][0] == '-') {
            cli_error("unknown option '%s' (see --help)", argv[i]);
            return CLI_USAGE;
        } else if (!run) {
            run = argv[i];
        } else {
            cli_error("unexpected argument '%s'", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!run) {
        cli_error("missing RUN (a folder written by 'sigloop train'; see --help)");
        return CLI_USAGE;
    }
    sl_split split;
    if (strcmp(split_name, "test") == 0) split = SL_SPLIT_TEST;
    else if (strcmp(split_name, "val") == 0) split = SL_SPLIT_VAL;
    else if (strcmp(split_name, "train") == 0) split = SL_SPLIT_TRAIN;
    else {
        cli_error("--split %s: expected test, val or train", split_name);
        return CLI_USAGE;
    }
    char path[4200];
    sl_model *m = NULL;
    sl_dataset *ds = NULL;
    sl_feature_cache *fc = NULL;
    snprintf(path, sizeof path, "%s/model.slm", run);
    sl_status s = sl_model_load(&m, path);
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/manifest.csv", run);
        s = sl_dataset_read_manifest(&ds, path);
    }
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/features.bin", run);
        struct stat sb;
        if (stat(path, &sb) != 0) { /* a numbered run: the data set's cache beside it */
            const char *slash = strrchr(run, '/');
            int dir_len = slash ? (int)(slash - run) : 0;
            snprintf(path, sizeof path, "%.*s%s%s/features.bin", dir_len, run, slash ? "/" : "", m->cfg.name);
        }
        s = sl_feature_cache_open(&fc, path);
    }
    if (s == SL_OK) {
        char want[SL_HASH_HEX];
        sl_features_settings_hash(&m->cfg, want);
        if (strcmp(want, sl_feature_cache_settings(fc)) != 0)
            s = sl_fail(SL_EARG, "%s: computed with other feature settings than the model's (run 'sigloop features' "
                                 "with the model's config)", path);
    }
    double acc = 0;
    size_t n = 0;
    if (s == SL_OK) s = sl_model_evaluate(m, ds, fc, split, pred, &acc, &n);
    if (s == SL_OK)
        printf("%s: %s accuracy %.1f %% on %zu examples%s%s\n", run, split_name, 100 * acc, n, pred ? "; wrote " : "",
               pred ? pred : "");
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    sl_model_free(m);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}
