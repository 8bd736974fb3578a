/* sigloop: the command-line front end. Dispatches to one file per subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "sigloop/fileio.h"

static const char usage[] =
    "usage: sigloop COMMAND [ARGS]\n"
    "\n"
    "From recordings to a small, budget-checked model for a device.\n"
    "\n"
    "commands:\n"
    "  run CONFIG       the whole loop once: data, features, budget, training, analysis and\n"
    "                   budget reports into a new runs/NAME-NNN, and a summary\n"
    "  search CONFIG [--time D]\n"
    "                   step 7: the config's search: choices tried (grid, random, successive\n"
    "                   halving) within the time and the budget; best.yaml, search.html\n"
    "  data CONFIG      step 1: scan the recordings, validate them, split by group;\n"
    "                   writes manifest.csv and data_report.txt\n"
    "  augment CONFIG --preview N\n"
    "                   step 2: N training examples before and after the augment: list, as WAV\n"
    "                   files and an HTML page of spectrograms\n"
    "  features CONFIG  step 8: the DSP front end (log-mel, MFCC, ...) of every example into a\n"
    "                   memory-mapped cache, reused while files and settings are unchanged\n"
    "  model CONFIG     step 3: the network layer by layer, with parameters and MACs\n"
    "  budget CONFIG|RUN\n"
    "                   steps 3 and 9: RAM, flash, latency and energy on the target device,\n"
    "                   against the config's budget (exit 3 when over, with a change that fits)\n"
    "  train CONFIG     step 4: train the model on the features; metrics and test predictions\n"
    "  eval RUN         a trained model (RUN/model.slm) scored again on a split\n"
    "  analyze RUN      steps 5 and 6: where a trained run is weak and what to change;\n"
    "                   RUN/report.html and report.json\n"
    "  compare RUN_A RUN_B ...\n"
    "                   runs side by side, with McNemar's test and the config differences\n"
    "  synth-stream CONFIG --minutes N -o FILE.wav\n"
    "                   step 8: a long test recording: a split's clips with random gaps over\n"
    "                   noise at an SNR, and the true events in FILE.csv\n"
    "  detect RUN FILE  step 8: the model slid over a recording of any length; events (start,\n"
    "                   end, label, score) after smoothing, thresholds and suppression\n"
    "  calibrate RUN --stream FILE --truth FILE.csv [--target-fa-per-hour X]\n"
    "                   step 8: the post-processing swept over a stream with known events; the\n"
    "                   operating point for a false-alarm rate, its DET curve, RUN/detect.yaml\n"
    "  runs [ROOT]      the runs index (ROOT/index.db, default runs/): one line per run\n"
    "  info FILE...     what a recording holds (format, rate, length, level), or why it\n"
    "                   cannot be read\n"
    "  help [COMMAND]   this text, or a command's own help\n"
    "  version          the version\n"
    "\n"
    "Run 'sigloop COMMAND --help' for a command's options.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("sigloop: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_load_config(const cli_common *c, sl_config *cfg, char *out_dir, size_t size)
{
    if (sl_config_load(cfg, c->config, c->sets, c->n_sets) != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    if (c->out_dir) snprintf(out_dir, size, "%s", c->out_dir);
    else snprintf(out_dir, size, "runs/%s", cfg->name);
    return CLI_OK;
}

sl_status cli_data_and_features(const cli_common *c, const sl_config *cfg, const char *data_dir, int announce,
                                sl_dataset **ds, sl_feature_cache **fc, double **mean, sl_features_stats *st)
{
    sl_prepare_opts o = {.threads = c->threads, .progress = !c->quiet && !c->json, .announce = announce};
    return sl_data_prepare(cfg, data_dir, &o, ds, fc, mean, st);
}

sl_status cli_model_shape(const cli_common *c, const sl_config *cfg, const char *data_dir, size_t *bands,
                          size_t *frames, size_t *classes)
{
    char manifest[SL_PATH_MAX + 32];
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", data_dir);
    sl_dataset *ds = NULL;
    struct stat sb;
    sl_status s;
    if (stat(manifest, &sb) == 0) {
        s = sl_dataset_read_manifest(&ds, manifest);
    } else { /* the names give the classes; series files must be read for their channels */
        sl_dataset_opts o = {.threads = c->threads, .progress = 0, .names_only = 1};
        s = sl_dataset_build(&ds, cfg, &o);
        int series = 0;
        for (size_t i = 0; s == SL_OK && i < sl_dataset_count(ds); i++) {
            const char *dot = strrchr(sl_dataset_entry(ds, i)->path, '.');
            series |= dot && strcasecmp(dot, ".csv") == 0;
        }
        if (s == SL_OK && series) {
            sl_dataset_free(ds);
            o.names_only = 0;
            s = sl_dataset_build(&ds, cfg, &o);
        }
    }
    if (s == SL_OK) s = sl_features_shape(cfg, ds, bands, frames);
    if (s == SL_OK) *classes = sl_dataset_n_labels(ds);
    sl_dataset_free(ds);
    return s;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_parse_with(int argc, char **argv, cli_common *c, const char *help, int *done, const cli_option *opts,
                   size_t n_opts)
{
    char *rest[256];
    int n_rest = 0;
    for (int i = 0; i < argc && n_rest < 255; i++) {
        const cli_option *o = NULL;
        for (size_t k = 0; i > 0 && k < n_opts && !o; k++)
            if (strcmp(argv[i], opts[k].name) == 0) o = &opts[k];
        if (!o) {
            rest[n_rest++] = argv[i];
            continue;
        }
        if (o->flag) {
            *o->flag = 1;
        } else {
            if (i + 1 >= argc) {
                cli_error("%s needs a value", o->name);
                return CLI_USAGE;
            }
            *o->value = argv[++i];
        }
    }
    return cli_parse_common(n_rest, rest, c, help, done);
}

int cli_parse_positionals(int argc, char **argv, cli_common *c, const char *help, int *done, const cli_option *opts,
                          size_t n_opts, const char **extra, size_t max_extra, size_t *n_extra)
{
    static const char *const common_values[] = {"-o", "--out", "--set", "-j", "--threads"};
    char *rest[256];
    int n_rest = 0, first = 0;
    *n_extra = 0;
    for (int i = 0; i < argc && n_rest < 255; i++) {
        const char *a = argv[i];
        int takes_value = 0;
        for (size_t k = 0; k < sizeof common_values / sizeof *common_values; k++)
            takes_value |= strcmp(a, common_values[k]) == 0;
        for (size_t k = 0; k < n_opts; k++) takes_value |= opts[k].value && strcmp(a, opts[k].name) == 0;
        if (i > 0 && a[0] != '-' && first++) { /* the first positional goes on, as CONFIG */
            if (*n_extra == max_extra) {
                cli_error("unexpected argument '%s' (at most %zu after the first; see --help)", a, max_extra);
                return CLI_USAGE;
            }
            extra[(*n_extra)++] = a;
            continue;
        }
        rest[n_rest++] = argv[i];
        if (i > 0 && takes_value && i + 1 < argc && n_rest < 255) rest[n_rest++] = argv[++i];
    }
    return cli_parse_with(n_rest, rest, c, help, done, opts, n_opts);
}

void cli_group_digits(char *buf, size_t size, size_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v), k = 0;
    for (int i = 0; i < n && (size_t)k + 2 < size; i++) {
        if (i && (n - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = '\0';
}

void cli_shape_text(char *buf, size_t size, const sl_shape *s)
{
    if (s->rank == 1) snprintf(buf, size, "%zu", s->d[0]);
    else if (s->rank == 2) snprintf(buf, size, "%zu x %zu", s->d[0], s->d[1]);
    else snprintf(buf, size, "%zu x %zu x %zu", s->d[0], s->d[1], s->d[2]);
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return 0;
    *out = (int)v;
    return 1;
}

int cli_parse_common(int argc, char **argv, cli_common *c, const char *help, int *done)
{
    memset(c, 0, sizeof *c);
    *done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            *done = 1;
            return CLI_OK;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            c->quiet = 1;
        } else if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
            if (!val) goto missing;
            c->out_dir = val;
            i++;
        } else if (strcmp(a, "--set") == 0) {
            if (!val) goto missing;
            if (!strchr(val, '=')) {
                cli_error("--set %s: expected key.path=value", val);
                return CLI_USAGE;
            }
            if (c->n_sets == CLI_MAX_SETS) {
                cli_error("--set: at most %d", CLI_MAX_SETS);
                return CLI_USAGE;
            }
            c->sets[c->n_sets++] = val;
            i++;
        } else if (strcmp(a, "--threads") == 0 || strcmp(a, "-j") == 0) {
            if (!val) goto missing;
            if (!parse_int(val, 0, 1024, &c->threads)) {
                cli_error("%s %s: expected a whole number in [0, 1024]", a, val);
                return CLI_USAGE;
            }
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error("unknown option '%s' (see --help)", a);
            return CLI_USAGE;
        } else if (!c->config) {
            c->config = a;
        } else {
            cli_error("unexpected argument '%s' (see --help)", a);
            return CLI_USAGE;
        }
        continue;
    missing:
        cli_error("%s needs a value", a);
        return CLI_USAGE;
    }
    if (!c->config) {
        cli_error("missing CONFIG (see --help)");
        return CLI_USAGE;
    }
    return CLI_OK;
}

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"data", cmd_data},
    {"info", cmd_info},
    {"features", cmd_features},
    {"augment", cmd_augment},
    {"model", cmd_model},
    {"train", cmd_train},
    {"eval", cmd_eval},
    {"runs", cmd_runs},
    {"budget", cmd_budget},
    {"analyze", cmd_analyze},
    {"compare", cmd_compare},
    {"run", cmd_run},
    {"search", cmd_search},
    {"synth-stream", cmd_synth_stream},
    {"detect", cmd_detect},
    {"calibrate", cmd_calibrate},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2) {
            for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
                if (strcmp(argv[2], commands[i].name) == 0) {
                    char *args[] = {argv[2], "--help", NULL};
                    return commands[i].run(2, args);
                }
            }
            cli_error("no command '%s'", argv[2]);
            return CLI_USAGE;
        }
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        printf("sigloop %s\n", SIGLOOP_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    cli_error("no command '%s' (see 'sigloop help')", name);
    return CLI_USAGE;
}
