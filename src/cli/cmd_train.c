/* sigloop train CONFIG: step 4, on the feature cache of step 8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/fileio.h"
#include "sigloop/train.h"

static const char help[] =
    "usage: sigloop train CONFIG [options]\n"
    "\n"
    "Trains the config's model (model:) with its optimisation settings (train:) on the data set's\n"
    "features: the manifest and the feature cache in the output folder are brought up to date\n"
    "first (as 'sigloop data' and 'sigloop features' would), the features are standardised per\n"
    "band with the training split's statistics, and one line per epoch reports loss and accuracy\n"
    "on the training and validation splits. The best epoch (by validation accuracy) scores the\n"
    "test split. Writes config.yaml (the resolved config), metrics.csv, the checkpoints last.slm\n"
    "(every epoch) and model.slm (the best epoch), and predictions.csv into the output folder.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR       output folder (default: runs/NAME)\n"
    "  --set KEY=VALUE     override a config field, e.g. --set train.epochs=5\n"
    "  -j, --threads N     threads (default: all cores); results are the same for the same count\n"
    "  --resume            continue an interrupted run from its last finished epoch (same config)\n"
    "  -q, --quiet         print only the summary and errors\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int cmd_train(int argc, char **argv)
{
    /* --resume is ours; the rest are the common options */
    int resume = 0;
    char *rest[256];
    int n_rest = 0;
    for (int i = 0; i < argc && n_rest < 255; i++) {
        if (i > 0 && strcmp(argv[i], "--resume") == 0) {
            resume = 1;
            continue;
        }
        rest[n_rest++] = argv[i];
    }
    cli_common c;
    int done;
    int rc = cli_parse_common(n_rest, rest, &c, help, &done);
    if (rc != CLI_OK || done) return rc;
    double t0 = cli_now();
    sl_config cfg;
    char out_dir[SL_PATH_MAX], manifest[SL_PATH_MAX + 32], cache[SL_PATH_MAX + 32];
    if (cli_load_config(&c, &cfg, out_dir, sizeof out_dir) != CLI_OK) return CLI_FAIL;
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", out_dir);
    snprintf(cache, sizeof cache, "%s/features.bin", out_dir);

    sl_dataset *ds = NULL;
    sl_feature_cache *fc = NULL;
    double *mean = NULL;
    struct stat sb;
    sl_status s = sl_mkdirs(out_dir);
    if (s == SL_OK && stat(manifest, &sb) == 0) {
        s = sl_dataset_read_manifest(&ds, manifest);
    } else if (s == SL_OK) {
        sl_dataset_opts dopts = {.threads = c.threads, .progress = !c.quiet};
        s = sl_dataset_build(&ds, &cfg, &dopts);
        if (s == SL_OK) s = sl_dataset_write_manifest(ds, manifest);
    }
    sl_features_stats fst;
    sl_features_opts fopts = {.threads = c.threads, .progress = !c.quiet};
    if (s == SL_OK) s = sl_features_build(&cfg, ds, cache, &fopts, &fst);
    if (s == SL_OK) s = sl_feature_cache_open(&fc, cache);
    size_t nb = fc ? sl_feature_cache_bands(fc) : 0;
    if (s == SL_OK && !(mean = calloc(2 * nb, sizeof *mean))) s = sl_fail(SL_ENOMEM, "out of memory");
    if (s == SL_OK) s = sl_features_norm(fc, ds, SL_SPLIT_TRAIN, mean, mean + nb);
    char resolved[SL_PATH_MAX + 32];
    snprintf(resolved, sizeof resolved, "%s/config.yaml", out_dir);
    if (s == SL_OK) s = sl_config_save(&cfg, resolved); /* the run's own settings, every default written */
    sl_train_result r;
    if (s == SL_OK) {
        if (!c.quiet)
            printf("training %s on %zu x %zu features: %zu examples, %zu classes; %zu features computed, %zu reused\n",
                   cfg.name, nb, sl_feature_cache_frames(fc), sl_dataset_count(ds), sl_dataset_n_labels(ds),
                   fst.computed, fst.reused);
        sl_train_opts topts = {.threads = c.threads, .progress = !c.quiet, .quiet = c.quiet, .resume = resume};
        s = sl_train_run(&cfg, ds, fc, mean, mean + nb, out_dir, &topts, &r);
    }
    if (s == SL_OK) {
        printf("best epoch %zu", r.best_epoch);
        if (r.best_val_acc >= 0) printf(" (validation accuracy %.1f %%)", 100 * r.best_val_acc);
        if (r.test_acc >= 0) printf("; test accuracy %.1f %% on %zu examples", 100 * r.test_acc, r.n_test);
        printf("; %.0f training samples/s; %.1f s in all\nwrote %s/model.slm, last.slm, metrics.csv%s\n",
               r.samples_per_s, cli_now() - t0, out_dir, r.n_test ? " and predictions.csv" : "");
    }
    free(mean);
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    sl_config_free(&cfg);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}
