/* sigloop run CONFIG: the whole loop once (step 7's unit): data, features, the budget, training,
 * the analysis report and the budget report, into one run folder, with a summary at the end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sigloop/analyze.h"
#include "sigloop/budget.h"
#include "sigloop/fileio.h"
#include "sigloop/hash.h"
#include "sigloop/runs.h"
#include "sigloop/train.h"

static const char help[] =
    "usage: sigloop run CONFIG [options]\n"
    "\n"
    "Runs the development loop once, into a new run folder runs/NAME-NNN: the data set (step 1)\n"
    "and its features (step 8) brought up to date in runs/NAME, the model costed on the budget's\n"
    "target (steps 3 and 9; over budget, nothing is trained and the smallest change that fits is\n"
    "printed, exit status 3), the training (steps 2 and 4), the analysis (steps 5 and 6) and the\n"
    "budget report. The folder then holds config.yaml, manifest.csv, metrics.csv, model.slm,\n"
    "last.slm, predictions.csv, budget.txt, report.html and report.json; runs/index.db records the\n"
    "run with its accuracy, interval and budget figures. A summary ends it: accuracy with its 95 %\n"
    "interval, RAM, flash and latency against the budget, the top suggestion, where the report is.\n"
    "\n"
    "options:\n"
    "  --set KEY=VALUE     override a config field, e.g. --set train.epochs=5\n"
    "  -j, --threads N     threads (default: all cores)\n"
    "  --ignore-budget     train even when the model is over its budget\n"
    "  --no-robustness     leave the noise, gain and shift curves out of the report\n"
    "  -q, --quiet         the summary only\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 over budget.\n";

static const char *kib(char *buf, size_t size, double bytes)
{
    snprintf(buf, size, "%.1f KiB", bytes / 1024);
    return buf;
}

/* The budget report's text (the table, totals and lines), for budget.txt and the terminal. */
static sl_status budget_text(const sl_config *cfg, const sl_target *t, const sl_budget_report *r, char **text,
                             size_t *len)
{
    FILE *f = open_memstream(text, len);
    if (!f) return sl_fail(SL_ENOMEM, "out of memory");
    cli_budget_print(f, cfg, t, r, 0);
    if (fclose(f) != 0) return sl_fail(SL_ENOMEM, "out of memory");
    return SL_OK;
}

int cmd_run(int argc, char **argv)
{
    int ignore_budget = 0, no_robust = 0;
    const cli_option own[] = {{"--ignore-budget", &ignore_budget, NULL}, {"--no-robustness", &no_robust, NULL}};
    cli_common c;
    int done;
    int rc = cli_parse_with(argc, argv, &c, help, &done, own, 2);
    if (rc != CLI_OK || done) return rc;
    if (c.out_dir) {
        cli_error("run makes its own folder runs/NAME-NNN (-o is for train)");
        return CLI_USAGE;
    }
    double t0 = cli_now();
    sl_config cfg;
    char data_dir[SL_PATH_MAX], run_dir[SL_PATH_MAX + 16];
    if (cli_load_config(&c, &cfg, data_dir, sizeof data_dir) != CLI_OK) return CLI_FAIL;
    sl_dataset *ds = NULL;
    sl_feature_cache *fc = NULL;
    double *mean = NULL;
    sl_features_stats fst;
    sl_target t;
    sl_budget_report *br = NULL;
    sl_analysis *an = NULL;
    char *btext = NULL;
    size_t blen = 0;
    int over = 0, recorded = 0;
    sl_train_result tr;
    char resolved[SL_PATH_MAX + 32], path[SL_PATH_MAX + 32];
    /* steps 1 and 8 */
    sl_status s = sl_mkdirs(data_dir);
    if (s == SL_OK) s = cli_data_and_features(&c, &cfg, data_dir, 0, &ds, &fc, &mean, &fst);
    size_t nb = fc ? sl_feature_cache_bands(fc) : 0, frames = fc ? sl_feature_cache_frames(fc) : 0;
    if (s == SL_OK && !c.quiet)
        printf("[1/5] data and features: %zu examples, %zu classes, %zu x %zu features (%zu computed, %zu reused)\n",
               sl_dataset_count(ds), sl_dataset_n_labels(ds), nb, frames, fst.computed, fst.reused);
    /* steps 3 and 9: before anything is trained */
    if (s == SL_OK) s = cli_budget_target(&cfg, NULL, &t);
    if (s == SL_OK) s = sl_budget_estimate(&cfg, nb, frames, sl_dataset_n_labels(ds), &t, &br);
    if (s == SL_OK) s = budget_text(&cfg, &t, br, &btext, &blen);
    if (s == SL_OK) over = cli_budget_over(&cfg, br);
    if (s == SL_OK && over && !ignore_budget) {
        fwrite(btext, 1, blen, stdout);
        char set[256];
        sl_budget_report *fit = NULL;
        if (sl_budget_suggest(&cfg, nb, frames, sl_dataset_n_labels(ds), &t, set, sizeof set, &fit) == SL_OK)
            printf("\nthe smallest change tried that fits: --set %s\n", set);
        sl_budget_report_free(fit);
        fflush(stdout);
        cli_error("%s: the model is over its budget on %s (see above): change it, or run anyway with "
                  "--ignore-budget", cfg.path, t.name);
        free(btext), free(mean);
        sl_budget_report_free(br);
        sl_feature_cache_close(fc);
        sl_dataset_free(ds);
        sl_config_free(&cfg);
        return CLI_OVER_BUDGET;
    }
    if (s == SL_OK && !c.quiet)
        printf("[2/5] budget on %s: RAM %.1f KiB, flash %.1f KiB, %.3g ms per decision%s\n", t.name,
               (double)br->ram_bytes / 1024, (double)br->flash_bytes / 1024, 1e3 * br->latency_seconds,
               over ? " (over budget: --ignore-budget)" : "");
    /* the run's folder, and step 4 */
    if (s == SL_OK) s = sl_run_dir_next("runs", cfg.name, run_dir, sizeof run_dir);
    snprintf(resolved, sizeof resolved, "%s/config.yaml", run_dir);
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/manifest.csv", run_dir);
        s = sl_dataset_write_manifest(ds, path);
    }
    if (s == SL_OK) s = sl_config_save(&cfg, resolved);
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/budget.txt", run_dir);
        s = sl_write_file_atomic(path, btext, blen);
    }
    if (s == SL_OK && (s = cli_record_run(&cfg, run_dir, resolved, NULL, "running", "run")) == SL_OK) recorded = 1;
    if (s == SL_OK) {
        if (!c.quiet) printf("[3/5] training in %s\n", run_dir);
        sl_train_opts topts = {.threads = c.threads, .progress = !c.quiet, .quiet = 1, .resume = 0};
        s = sl_train_run(&cfg, ds, fc, mean, mean + nb, run_dir, &topts, &tr);
    }
    if (s == SL_OK && !c.quiet)
        printf("      %zu epochs, best %zu; %.0f training samples/s\n", tr.epochs, tr.best_epoch, tr.samples_per_s);
    /* steps 5 and 6 */
    if (s == SL_OK) {
        if (!c.quiet) printf("[4/5] analysis\n");
        sl_analyze_opts ao = {.threads = c.threads, .robustness = !no_robust, .bootstrap = 1000, .seed = 0,
                              .progress = !c.quiet};
        s = sl_analyze_run(run_dir, &ao, &an);
    }
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/report.json", run_dir);
        s = sl_analysis_write_json(an, path);
    }
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/report.html", run_dir);
        s = sl_analysis_write_html(an, path);
    }
    sl_analysis_headline h = {0};
    if (s == SL_OK) sl_analysis_headline_of(an, &h);
    /* the index: the results, the interval and the budget's figures */
    if (s == SL_OK) {
        char hash[SL_HASH_HEX], db[SL_PATH_MAX + 32];
        s = sl_hash_file(resolved, hash);
        snprintf(db, sizeof db, "runs/index.db");
        sl_run_record rec = sl_run_record_blank();
        rec.dir = run_dir;
        rec.name = cfg.name;
        rec.config_hash = hash;
        rec.arch = sl_model_arch_name(cfg.model.arch);
        rec.params = tr.n_params;
        rec.macs = tr.macs;
        rec.epochs = tr.epochs;
        rec.best_epoch = tr.best_epoch;
        rec.val_acc = tr.best_val_acc;
        rec.test_acc = tr.test_acc;
        rec.n_test = tr.n_test;
        rec.seconds = tr.seconds;
        rec.samples_per_s = tr.samples_per_s;
        rec.status = tr.stopped_early ? "stopped early" : "done";
        rec.macro_f1 = h.macro_f1.value;
        rec.test_lo = h.accuracy.lo;
        rec.test_hi = h.accuracy.hi;
        rec.target = t.name;
        rec.ram_bytes = br->ram_bytes;
        rec.flash_bytes = br->flash_bytes;
        rec.latency_s = br->latency_seconds;
        rec.energy_mj = br->energy_mj;
        rec.budget_pass = !over;
        if (s == SL_OK) s = sl_run_index_add(db, &rec);
    }
    if (s != SL_OK && recorded) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", sl_last_error());
        (void)cli_record_run(&cfg, run_dir, resolved, NULL, "failed", NULL);
        sl_fail(SL_EIO, "%s", msg);
    }
    if (s == SL_OK) {
        if (!c.quiet) printf("[5/5] done in %.1f s\n\n", cli_now() - t0);
        printf("%s: accuracy %.1f %% (95 %% interval %.1f-%.1f) on %zu test examples, macro-F1 %.3f\n", run_dir,
               100 * h.accuracy.value, 100 * h.accuracy.lo, 100 * h.accuracy.hi, h.n_test, h.macro_f1.value);
        sl_budget_line lines[SL_BUDGET_LINES];
        int o;
        size_t n = sl_budget_check(br, &cfg.budget, lines, &o);
        char a[32], b[32];
        printf("budget on %s: ", t.name);
        if (!n) printf("RAM %s, flash %s, latency %.3g ms (no limits set)", kib(a, sizeof a, (double)br->ram_bytes),
                       kib(b, sizeof b, (double)br->flash_bytes), 1e3 * br->latency_seconds);
        for (size_t i = 0; i < n; i++) {
            int bytes = strcmp(lines[i].what, "RAM") == 0 || strcmp(lines[i].what, "flash") == 0;
            int ms = strcmp(lines[i].what, "latency") == 0 || strcmp(lines[i].what, "real time") == 0;
            if (bytes) printf("%s%s %s of %s %s", i ? ", " : "", lines[i].what, kib(a, sizeof a, lines[i].value),
                              kib(b, sizeof b, lines[i].limit), lines[i].pass ? "PASS" : "FAIL");
            else if (ms) printf("%s%s %.3g of %.3g ms %s", i ? ", " : "", lines[i].what, 1e3 * lines[i].value,
                                1e3 * lines[i].limit, lines[i].pass ? "PASS" : "FAIL");
            else printf("%s%s %.3g of %.3g mJ %s", i ? ", " : "", lines[i].what, lines[i].value, lines[i].limit,
                        lines[i].pass ? "PASS" : "FAIL");
        }
        printf("\n");
        if (h.top_suggestion) printf("top suggestion: %s\n  (%s)\n", h.top_suggestion, h.top_evidence);
        printf("report: %s/report.html (budget.txt, report.json, metrics.csv, model.slm, predictions.csv beside it)\n",
               run_dir);
    }
    free(btext), free(mean);
    sl_analysis_free(an);
    sl_budget_report_free(br);
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    sl_config_free(&cfg);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}
