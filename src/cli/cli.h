/* The command line: one file per subcommand, each thin (parse, call the library, print). */
#ifndef SIGLOOP_CLI_H
#define SIGLOOP_CLI_H

#include <stdio.h>

#include "sigloop/budget.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/nn.h"
#include "sigloop/train.h"

/* Exit statuses shared by every subcommand. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_OVER_BUDGET = 3 };

#define CLI_MAX_SETS 64

/* Options every config-reading subcommand takes. */
typedef struct {
    const char *config;               /* the positional CONFIG */
    const char *out_dir;              /* -o DIR */
    const char *sets[CLI_MAX_SETS];   /* --set key.path=value */
    size_t n_sets;
    int threads;                      /* --threads N (0: all cores) */
    int quiet;                        /* --quiet */
    int json;                         /* --json */
} cli_common;

/* Prints "sigloop: <message>" on stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Parses the options of cli_common from argv[1..]; unknown options are usage errors.
 * Returns CLI_OK, or CLI_USAGE after printing why. `help` is printed for -h/--help and then
 * *done is set. */
int cli_parse_common(int argc, char **argv, cli_common *c, const char *help, int *done);

/* A subcommand's own option: a flag (*flag set to 1) or one that takes a value (*value set). */
typedef struct {
    const char *name;   /* "--resume" */
    int *flag;          /* or NULL */
    const char **value; /* or NULL */
} cli_option;

/* cli_parse_common after taking out opts (each "--name" or "--name VALUE" anywhere after the
 * command); CLI_USAGE, after saying why, when a value is missing. */
int cli_parse_with(int argc, char **argv, cli_common *c, const char *help, int *done, const cli_option *opts,
                   size_t n_opts);

/* cli_parse_with for commands with several positionals: the first is c->config, the others
 * (up to max_extra) go to extra in order; options' values are never taken for positionals. */
int cli_parse_positionals(int argc, char **argv, cli_common *c, const char *help, int *done, const cli_option *opts,
                          size_t n_opts, const char **extra, size_t max_extra, size_t *n_extra);

/* 1234567 -> "1,234,567" */
void cli_group_digits(char *buf, size_t size, size_t v);
/* "16 x 98", "1 x 40 x 98" */
void cli_shape_text(char *buf, size_t size, const sl_shape *s);
/* s as a JSON string, quotes included. */
void cli_json_string(FILE *f, const char *s);

/* Loads c->config with c's --set overrides into cfg and names the output folder (-o, or
 * runs/NAME) in out_dir. Returns CLI_OK, or CLI_FAIL after printing the error. */
int cli_load_config(const cli_common *c, sl_config *cfg, char *out_dir, size_t size);

/* The data set and its feature cache in data_dir, brought up to date as 'sigloop data' and
 * 'sigloop features' would (the data step runs first when there is no manifest.csv, saying so on
 * stderr when announce); with mean, the training split's per-band means then standard deviations
 * (2 x bands values, caller frees). On error nothing is left to free. */
sl_status cli_data_and_features(const cli_common *c, const sl_config *cfg, const char *data_dir, int announce,
                                sl_dataset **ds, sl_feature_cache **fc, double **mean, sl_features_stats *st);

/* The model's input (bands x frames) and classes for cfg: classes from data_dir/manifest.csv, or
 * from the names of the data's files when there is none (series files are read for their channels). */
sl_status cli_model_shape(const cli_common *c, const sl_config *cfg, const char *data_dir, size_t *bands,
                          size_t *frames, size_t *classes);

/* The budget report (cmd_budget.c), shared with 'sigloop train': the profile of name (NULL:
 * cfg's budget.target), the table and totals (quiet: the budget lines only), and whether any
 * line of cfg's budget fails. */
sl_status cli_budget_target(const sl_config *cfg, const char *name, sl_target *t);
void cli_budget_print(FILE *out, const sl_config *cfg, const sl_target *t, const sl_budget_report *r, int quiet);
int cli_budget_over(const sl_config *cfg, const sl_budget_report *r);

/* Records a run in the runs index beside its folder (cmd_train.c): with r NULL, at its start
 * ("running"; a run killed later stays so, shown "killed"); else its results. source: "train",
 * "run", "search NAME"; NULL keeps what the row holds. */
sl_status cli_record_run(const sl_config *cfg, const char *run_dir, const char *config_path,
                         const sl_train_result *r, const char *status, const char *source);

/* Monotonic seconds, for "in 0.12 s". */
double cli_now(void);

int cmd_data(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_augment(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_budget(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_synth_stream(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);

#endif
