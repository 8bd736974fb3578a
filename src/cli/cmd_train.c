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
#include "sigloop/hash.h"
#include "sigloop/runs.h"
#include "sigloop/train.h"

static const char help[] =
    "usage: sigloop train CONFIG [options]\n"
    "\n"
    "Trains the config's model (model:) with its optimisation settings (train:) on the data set's\n"
    "features: the manifest and the feature cache in runs/NAME are brought up to date first (as\n"
    "'sigloop data' and 'sigloop features' would), the features are standardised per band with\n"
    "the training split's statistics, and one line per epoch reports loss and accuracy on the\n"
    "training and validation splits. The config's augment: list changes each training example\n"
    "anew every epoch (its features are then computed on the fly, and standardised with the\n"
    "statistics of augmented examples); training accuracy is that of the changed examples, and\n"
    "with mixup, of their first labels. The best epoch (by validation accuracy) scores the test\n"
    "split. Each run gets a new folder runs/NAME-001, runs/NAME-002, ... holding config.yaml (the\n"
    "resolved config), manifest.csv, metrics.csv, the checkpoints last.slm (every epoch) and\n"
    "model.slm (the best epoch), and predictions.csv; runs/index.db (SQLite) lists every run with\n"
    "its config hash and results.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR       one folder for everything instead (data, features and the run; the\n"
    "                      index goes beside it)\n"
    "  --set KEY=VALUE     override a config field, e.g. --set train.epochs=5\n"
    "  -j, --threads N     threads (default: all cores); results are the same for the same count\n"
    "  --resume            continue an interrupted run from its last finished epoch (same config):\n"
    "                      the newest runs/NAME-NNN, or -o DIR\n"
    "  --ignore-budget     train even when the model is over the config's budget: section (which\n"
    "                      is otherwise checked first, as 'sigloop budget' does, and refused with\n"
    "                      exit status 3)\n"
    "  -q, --quiet         print only the summary and errors\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 over budget.\n";

/* The runs index beside a run's folder (runs/index.db). */
static void index_path(const char *run_dir, char *out, size_t size)
{
    snprintf(out, size, "%s", run_dir);
    char *slash = strrchr(out, '/');
    if (slash && slash != out) snprintf(slash, size - (size_t)(slash - out), "/index.db");
    else snprintf(out, size, "%s", slash ? "/index.db" : "index.db");
}

/* Records the run in the index: "running" when r is NULL (at its start), else its results. */
sl_status cli_record_run(const sl_config *cfg, const char *run_dir, const char *config_path,
                         const sl_train_result *r, const char *status, const char *source)
{
    char hash[SL_HASH_HEX], db[SL_PATH_MAX + 32];
    SL_TRY(sl_hash_file(config_path, hash));
    index_path(run_dir, db, sizeof db);
    sl_run_record rec = sl_run_record_blank();
    rec.dir = run_dir;
    rec.name = cfg->name;
    rec.config_hash = hash;
    rec.arch = sl_model_arch_name(cfg->model.arch);
    rec.status = status;
    rec.source = source;
    if (r) {
        rec.params = r->n_params;
        rec.macs = r->macs;
        rec.epochs = r->epochs;
        rec.best_epoch = r->best_epoch;
        rec.val_acc = r->best_val_acc;
        rec.test_acc = r->test_acc;
        rec.n_test = r->n_test;
        rec.seconds = r->seconds;
        rec.samples_per_s = r->samples_per_s;
    }
    return sl_run_index_add(db, &rec);
}

/* The config's budget, when it sets a limit: over it, the report and the error are printed and
 * *over is set (no run folder is made). */
static sl_status check_budget(const sl_config *cfg, size_t bands, size_t frames, size_t classes, int *over)
{
    *over = 0;
    const sl_budget_config *b = &cfg->budget;
    if (!b->ram && !b->flash && !(b->latency > 0) && !(b->energy_mj > 0) && !(b->hop > 0)) return SL_OK;
    sl_target t;
    SL_TRY(cli_budget_target(cfg, NULL, &t));
    sl_budget_report *r;
    SL_TRY(sl_budget_estimate(cfg, bands, frames, classes, &t, &r));
    if (cli_budget_over(cfg, r)) {
        *over = 1;
        cli_budget_print(stdout, cfg, &t, r, 0);
        char set[256];
        sl_budget_report *fit = NULL;
        if (sl_budget_suggest(cfg, bands, frames, classes, &t, set, sizeof set, &fit) == SL_OK)
            printf("\nthe smallest change tried that fits: --set %s\n", set);
        sl_budget_report_free(fit);
        fflush(stdout);
        cli_error("%s: the model is over its budget on %s (see above): change it, or train anyway with "
                  "--ignore-budget",
                  cfg->path, t.name);
    }
    sl_budget_report_free(r);
    return SL_OK;
}

int cmd_train(int argc, char **argv)
{
    int resume = 0, ignore_budget = 0;
    const cli_option own[] = {{"--resume", &resume, NULL}, {"--ignore-budget", &ignore_budget, NULL}};
    cli_common c;
    int done;
    int rc = cli_parse_with(argc, argv, &c, help, &done, own, 2);
    if (rc != CLI_OK || done) return rc;
    double t0 = cli_now();
    sl_config cfg;
    /* data_dir: the data set's manifest and feature cache; run_dir: this run's results */
    char data_dir[SL_PATH_MAX], run_dir[SL_PATH_MAX + 16];
    if (cli_load_config(&c, &cfg, data_dir, sizeof data_dir) != CLI_OK) return CLI_FAIL;
    sl_dataset *ds = NULL;
    sl_feature_cache *fc = NULL;
    double *mean = NULL;
    sl_status s = sl_mkdirs(data_dir);
    sl_features_stats fst;
    if (s == SL_OK) s = cli_data_and_features(&c, &cfg, data_dir, 0, &ds, &fc, &mean, &fst);
    int over = 0;
    if (s == SL_OK && !ignore_budget)
        s = check_budget(&cfg, sl_feature_cache_bands(fc), sl_feature_cache_frames(fc), sl_dataset_n_labels(ds), &over);
    if (s == SL_OK && over) {
        free(mean);
        sl_feature_cache_close(fc);
        sl_dataset_free(ds);
        sl_config_free(&cfg);
        return CLI_OVER_BUDGET;
    }
    if (s == SL_OK && c.out_dir) snprintf(run_dir, sizeof run_dir, "%s", data_dir);
    else if (s == SL_OK && resume) s = sl_run_dir_latest("runs", cfg.name, run_dir, sizeof run_dir);
    else if (s == SL_OK) s = sl_run_dir_next("runs", cfg.name, run_dir, sizeof run_dir);
    char run_manifest[SL_PATH_MAX + 32];
    snprintf(run_manifest, sizeof run_manifest, "%s/manifest.csv", run_dir);
    if (s == SL_OK && strcmp(run_dir, data_dir) != 0) /* the run keeps the split it was trained on */
        s = sl_dataset_write_manifest(ds, run_manifest);
    size_t nb = fc ? sl_feature_cache_bands(fc) : 0;
    char resolved[SL_PATH_MAX + 32];
    snprintf(resolved, sizeof resolved, "%s/config.yaml", run_dir);
    if (s == SL_OK) s = sl_config_save(&cfg, resolved); /* the run's own settings, every default written */
    sl_train_result r;
    int started = 0;
    if (s == SL_OK) {
        if (!c.quiet)
            printf("training %s on %zu x %zu features: %zu examples, %zu classes; %zu features computed, %zu reused\n",
                   cfg.name, nb, sl_feature_cache_frames(fc), sl_dataset_count(ds), sl_dataset_n_labels(ds),
                   fst.computed, fst.reused);
        sl_train_opts topts = {.threads = c.threads, .progress = !c.quiet, .quiet = c.quiet, .resume = resume};
        s = cli_record_run(&cfg, run_dir, resolved, NULL, "running", "train"); /* a kill leaves it "running": killed */
        started = s == SL_OK;
        if (!c.quiet && strcmp(run_dir, data_dir) != 0) printf("run folder %s\n", run_dir);
        if (s == SL_OK) s = sl_train_run(&cfg, ds, fc, mean, mean + nb, run_dir, &topts, &r);
    }
    if (s == SL_OK) s = cli_record_run(&cfg, run_dir, resolved, &r, r.stopped_early ? "stopped early" : "done", NULL);
    else if (started) (void)cli_record_run(&cfg, run_dir, resolved, NULL, "failed", NULL);
    if (s == SL_OK) {
        printf("best epoch %zu", r.best_epoch);
        if (r.best_val_acc >= 0) printf(" (validation accuracy %.1f %%)", 100 * r.best_val_acc);
        if (r.test_acc >= 0) printf("; test accuracy %.1f %% on %zu examples", 100 * r.test_acc, r.n_test);
        printf("; %.0f training samples/s; %.1f s in all\nwrote %s/model.slm, last.slm, metrics.csv%s\n",
               r.samples_per_s, cli_now() - t0, run_dir, r.n_test ? " and predictions.csv" : "");
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
