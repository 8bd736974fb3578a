/* sigloop data CONFIG: step 1, the data set. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/fileio.h"

static const char help[] =
    "usage: sigloop data CONFIG [options]\n"
    "\n"
    "Scans data.root, takes labels and groups from file names, folders or a CSV list, reads and\n"
    "checks every file, splits by group without leakage, and writes into the output folder:\n"
    "  manifest.csv      one row per usable file: path,label,group,split,duration,sample_rate,\n"
    "                    channels,hash,flags and the pattern's other fields\n"
    "  data_report.txt   the validation report (also printed): counts per class and group x split,\n"
    "                    durations, skipped, resampled, clipped, silent and duplicate files\n"
    "  config.yaml       the resolved config, every default written out\n"
    "\n"
    "options:\n"
    "  -o, --out DIR       output folder (default: runs/NAME, NAME from the config)\n"
    "  --set KEY=VALUE     override a config field, e.g. --set data.root=/data/fsdd\n"
    "  -j, --threads N     threads for reading files (default: all cores)\n"
    "  --json              print a JSON summary instead of the report\n"
    "  -q, --quiet         print only errors and warnings\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success (leakage warnings included), 1 failure, 2 usage error.\n";

static void print_json(const sl_dataset *ds, const char *manifest, double seconds)
{
    size_t split_n[SL_N_SPLITS] = {0};
    for (size_t i = 0; i < sl_dataset_count(ds); i++) split_n[sl_dataset_entry(ds, i)->split]++;
    printf("{\"manifest\": ");
    cli_json_string(stdout, manifest);
    printf(", \"files\": %zu, \"skipped\": %zu, \"classes\": %zu, \"groups\": %zu, "
           "\"train\": %zu, \"val\": %zu, \"test\": %zu, \"leaks\": %zu, \"seconds\": %.3f, \"labels\": [",
           sl_dataset_count(ds), sl_dataset_n_skipped(ds), sl_dataset_n_labels(ds),
           sl_dataset_n_groups(ds), split_n[0], split_n[1], split_n[2], sl_dataset_n_leaks(ds), seconds);
    for (size_t i = 0; i < sl_dataset_n_labels(ds); i++) {
        if (i) printf(", ");
        cli_json_string(stdout, sl_dataset_label(ds, i));
    }
    printf("]}\n");
}

int cmd_data(int argc, char **argv)
{
    cli_common c;
    int done;
    int rc = cli_parse_common(argc, argv, &c, help, &done);
    if (rc != CLI_OK || done) return rc;

    double t0 = cli_now();
    sl_config cfg;
    char out_dir[SL_PATH_MAX];
    if (cli_load_config(&c, &cfg, out_dir, sizeof out_dir) != CLI_OK) return CLI_FAIL;

    sl_dataset *ds = NULL;
    char manifest[SL_PATH_MAX + 32], report[SL_PATH_MAX + 32], resolved[SL_PATH_MAX + 32];
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", out_dir);
    snprintf(report, sizeof report, "%s/data_report.txt", out_dir);
    snprintf(resolved, sizeof resolved, "%s/config.yaml", out_dir);
    sl_dataset_opts opts = {.threads = c.threads, .progress = !c.quiet && !c.json};
    sl_status s = sl_dataset_build(&ds, &cfg, &opts);
    if (s == SL_OK && (s = sl_mkdirs(out_dir)) != SL_OK) sl_error_prefix("-o");
    if (s == SL_OK) s = sl_dataset_write_manifest(ds, manifest);
    if (s == SL_OK) s = sl_config_save(&cfg, resolved);
    if (s == SL_OK) { /* the report: into a file atomically, and on stdout */
        sl_afile *af = NULL;
        s = sl_afile_open(&af, report);
        if (s == SL_OK) s = sl_dataset_report(ds, &cfg, sl_afile_stream(af));
        if (s == SL_OK) s = sl_afile_commit(af);
        else sl_afile_abort(af);
    }
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        sl_dataset_free(ds);
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    double seconds = cli_now() - t0;
    if (c.json) {
        print_json(ds, manifest, seconds);
    } else if (!c.quiet) {
        sl_dataset_report(ds, &cfg, stdout);
        printf("\nwrote %s (%zu files), %s and %s in %.2f s\n", manifest, sl_dataset_count(ds), report,
               resolved, seconds);
    }
    if (sl_dataset_n_skipped(ds))
        cli_error("warning: %zu file(s) skipped (listed in %s)", sl_dataset_n_skipped(ds), report);
    if (sl_dataset_n_leaks(ds))
        cli_error("warning: LEAKAGE between splits: %zu finding(s), see %s", sl_dataset_n_leaks(ds), report);
    sl_dataset_free(ds);
    sl_config_free(&cfg);
    return CLI_OK;
}
