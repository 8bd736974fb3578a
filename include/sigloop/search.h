/* Step 7, rinse and repeat: a search over the settings the config's search: section lists, within
 * a time limit and the config's budget (sigloop search).
 *
 * Candidates. Every combination of the choices' values is a candidate (the grid), numbered in the
 * order it is tried: the config as written first (search.baseline), then the grid in order (grid)
 * or in an order drawn from search.seed (random, halving). A candidate whose resolved config
 * equals an earlier one's is not tried again. Each is costed on the budget's target before
 * anything is trained; one over budget is recorded as such, instantly, and never trained.
 *
 * Trials. A trial trains one candidate for some epochs in a folder of its own, DIR/cNNN-eE, from
 * the first epoch, on the training split, and scores it on the validation split only (the test
 * split is not looked at). grid and random train each candidate once for train.epochs; halving
 * (successive halving, as in Hyperband's brackets) takes the candidates eta^(R-1) at a time,
 * trains each for search.min_epochs, keeps the best 1/eta for eta times the epochs, and so on up
 * to train.epochs (R rungs), then starts the next bracket, until the time, the trials or the
 * candidates run out. A trial's result is DIR/cNNN-eE/trial.txt, written atomically when it ends:
 * a search run again in the same folder takes every finished trial from there and trains only the
 * rest (a trial killed half-way continues from its last finished epoch), so a killed search loses
 * no finished trial and repeats none.
 *
 * The end. The best candidate is the one with the highest validation accuracy among the trials
 * that ran train.epochs (ties: fewer multiply-accumulates, then the earlier candidate). It is
 * written out as DIR/best.yaml (the config as written with the candidate's changes), trained once
 * more as that file says into DIR/final (on the config's own split: when the config has no
 * validation split the trials hold out search.val_fraction of the training groups, and the final
 * training has them back) and scored on the test split, once. DIR/search.html (leaderboard,
 * Pareto plots of validation accuracy against MACs, RAM and latency, the effect of each choice)
 * and DIR/search.json describe the whole search; every trial has its row in the runs index.
 *
 * Several processes (MPI ranks) can share one search: each trains its share of every rung's
 * trials (the j-th unfinished trial goes to rank j mod size), all read the rung's results from
 * the trials' folders (the ranks share DIR), and rank 0 alone writes the index and the pages. */
#ifndef SIGLOOP_SEARCH_H
#define SIGLOOP_SEARCH_H

#include <stddef.h>
#include <stdio.h>

#include "sigloop/base.h"
#include "sigloop/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the processes of one search meet (NULL: one process). */
typedef struct {
    void *ctx;
    int rank, size;
    sl_status (*barrier)(void *ctx);
    sl_status (*max_int)(void *ctx, int *v); /* *v becomes the largest of every rank's *v */
} sl_search_comm;

typedef struct {
    const char *dir;          /* the search's folder, e.g. runs/search-fsdd */
    const char *data_dir;     /* the config's own data folder (runs/NAME), for the final training */
    const char *index;        /* the runs index (runs/index.db); NULL: none */
    const char *source;       /* the index's source column, e.g. "search fsdd" */
    const char *command;      /* the command line, for best.yaml's header and the page */
    int threads;              /* <= 0: one per core */
    int progress;             /* progress bars on stderr */
    FILE *log;                /* a line per trial and rung; NULL: silent */
    int robustness;           /* the final run's report with its noise, gain and shift curves */
    const sl_search_comm *comm;
} sl_search_opts;

typedef struct {
    size_t candidates;        /* costed */
    size_t over_budget;       /* of them, never trained */
    size_t trained;           /* trials trained by this call (by every rank) */
    size_t reused;            /* trials found finished in DIR */
    size_t finished;          /* trials with a result, in all */
    int time_up;              /* the time limit stopped the search before it ran out of candidates */
    int have_best;            /* 0: no trial finished (then nothing below is set) */
    size_t best;              /* the best candidate's number */
    char best_changes[1024];  /* its --set changes, "" for the config as written */
    size_t best_epochs;
    double best_val;          /* its validation accuracy */
    double baseline_val;      /* the config as written, at the same epochs; < 0: not trained */
    double test_acc, test_lo, test_hi; /* the final training on test (95 % interval) */
    size_t n_test;
    size_t ram_bytes, flash_bytes;
    double latency_s;
    int budget_pass;
    double seconds;           /* of this call */
} sl_search_result;

/* Runs (or continues) the search of cfg's search: section in opts->dir. On the ranks other than 0
 * the result holds the counts only. */
sl_status sl_search_run(const sl_config *cfg, const sl_search_opts *opts, sl_search_result *res);

#ifdef __cplusplus
}
#endif
#endif
