/* sigloop analyze RUN and sigloop compare RUN_A RUN_B ...: steps 5 and 6. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "sigloop/analyze.h"
#include "sigloop/fileio.h"

static const char analyze_help[] =
    "usage: sigloop analyze RUN [options]\n"
    "\n"
    "Finds the weak points of a trained run (a folder written by 'sigloop train'). Its test split\n"
    "is scored again from the recordings with the run's model, and RUN/report.html (one page,\n"
    "works offline) and RUN/report.json get: accuracy, macro-F1, balanced and top-k accuracy with\n"
    "95 % bootstrap intervals; the confusion matrix and per-class precision, recall and F1;\n"
    "accuracy per group (speaker, subject, session), per class, by duration and by the manifest's\n"
    "fields, worst first; the learning curves and a diagnosis (over-fitting, under-fitting,\n"
    "unstable, not converged); calibration (reliability diagram, ECE over 15 bins, a temperature\n"
    "fitted on the validation split, or on test when there is none); the most confident wrong\n"
    "predictions and the least sure right ones, with spectrograms and players; suspected label\n"
    "errors (confident learning on the held-out test probabilities); accuracy with white noise at\n"
    "40 to 0 dB SNR, with gains and with time shifts; and a ranked list of changes to try, each\n"
    "with its evidence. The summary and the top suggestions are printed.\n"
    "\n"
    "options:\n"
    "  --no-robustness     skip the noise, gain and shift curves\n"
    "  -j, --threads N     threads (default: all cores)\n"
    "  -q, --quiet         print only where the report is\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int cmd_analyze(int argc, char **argv)
{
    int no_robust = 0;
    const cli_option own[] = {{"--no-robustness", &no_robust, NULL}};
    cli_common c;
    int done;
    int rc = cli_parse_with(argc, argv, &c, analyze_help, &done, own, 1);
    if (rc != CLI_OK || done) return rc;
    if (c.out_dir || c.n_sets) {
        cli_error("analyze takes a RUN folder, not -o or --set (see --help)");
        return CLI_USAGE;
    }
    struct stat sb;
    if (stat(c.config, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error("%s: not a run folder (give a folder written by 'sigloop train', e.g. runs/fsdd-001)", c.config);
        return CLI_FAIL;
    }
    sl_analyze_opts o = {.threads = c.threads, .robustness = !no_robust, .bootstrap = 1000, .seed = 0,
                         .progress = !c.quiet};
    sl_analysis *a;
    sl_status s = sl_analyze_run(c.config, &o, &a);
    char html[SL_PATH_MAX + 32], json[SL_PATH_MAX + 32];
    snprintf(html, sizeof html, "%s/report.html", c.config);
    snprintf(json, sizeof json, "%s/report.json", c.config);
    if (s == SL_OK) s = sl_analysis_write_json(a, json);
    if (s == SL_OK) s = sl_analysis_write_html(a, html);
    if (s == SL_OK) {
        if (!c.quiet) sl_analysis_summary(a, stdout);
        printf("wrote %s and %s\n", html, json);
    }
    sl_analysis_free(a);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}

static const char compare_help[] =
    "usage: sigloop compare RUN_A RUN_B [RUN ...] [options]\n"
    "\n"
    "Puts trained runs side by side: accuracy, macro-F1 and balanced accuracy with 95 % bootstrap\n"
    "intervals; the learning curves overlaid; per-class F1 and per-group accuracy, with each run's\n"
    "difference from the first; McNemar's test of each run against the first on the test examples\n"
    "they share (exact p-value); and the settings in which their configs differ. Writes\n"
    "compare.html and compare.json into DIR and prints a summary.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR       where to write (default: runs/compare)\n"
    "  -j, --threads N     threads (default: all cores)\n"
    "  -q, --quiet         print only where the comparison is\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int cmd_compare(int argc, char **argv)
{
    /* the runs are positional: the first as cli_parse_common's CONFIG, the others after it */
    const char *runs[64];
    size_t n = 0;
    cli_common c;
    int done;
    int rc = cli_parse_positionals(argc, argv, &c, compare_help, &done, NULL, 0, runs + 1, 63, &n);
    if (rc != CLI_OK || done) return rc;
    runs[0] = c.config;
    n++;
    if (n < 2) {
        cli_error("compare needs at least two runs (see --help)");
        return CLI_USAGE;
    }
    const char *out = c.out_dir ? c.out_dir : "runs/compare";
    sl_status s = sl_mkdirs(out);
    sl_analyze_opts o = {.threads = c.threads, .robustness = 0, .bootstrap = 1000, .seed = 0, .progress = 0};
    if (s == SL_OK) s = sl_compare_runs(runs, n, &o, out, c.quiet ? NULL : stdout);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    printf("wrote %s/compare.html and %s/compare.json\n", out, out);
    return CLI_OK;
}
