/* What the search engine (search.c) and its pages (search_report.c) share. */
#ifndef SIGLOOP_SEARCH_INTERNAL_H
#define SIGLOOP_SEARCH_INTERNAL_H

#include <stddef.h>

#include "sigloop/hash.h"
#include "sigloop/search.h"

#define SEARCH_MAX_RUNGS 16

/* One candidate: the config with one value of each choice (or as written: vi NULL). */
typedef struct {
    size_t id;                    /* cNNN */
    int *vi;                      /* value index per choice; NULL: the config as written */
    char changes[1024];           /* "key=value key=value", "" as written */
    char hash[SL_HASH_HEX];       /* the resolved trial config, search: section left out */
    int over;                     /* over the budget: never trained */
    char over_why[256];           /* the budget lines that fail */
    size_t params, macs, ram, flash;
    double latency, energy;
    /* results */
    size_t top_epochs;            /* the most epochs a finished trial of it ran; 0: none */
    double top_val;               /* that trial's validation accuracy */
    double first_val;             /* at the first rung's epochs; < 0: none */
    int failed;                   /* a trial failed (its message is in its trial.txt) */
} search_cand;

/* A finished trial. */
typedef struct {
    size_t cand;                  /* index into cands */
    size_t epochs, best_epoch;
    double val, seconds, samples_per_s;
    int failed;
} search_trial;

typedef struct {
    const sl_config *cfg;
    const sl_search_opts *opts;
    int rank, size;
    char *base;                   /* the resolved config as YAML */
    size_t base_len;
    char split_set[96];           /* the trials' validation split, "" when the config has one */
    size_t E;                     /* train.epochs */
    size_t rungs[SEARCH_MAX_RUNGS], n_rungs;
    size_t grid;                  /* candidates in the grid */
    int **as_written;             /* [choice][value]: 1 when the config as written has that value */
    search_cand *cands;
    size_t n_cands, cap_cands;
    search_trial *trials;
    size_t n_trials, cap_trials;
    size_t n_trained, n_reused;   /* trials trained by this call (every rank), found finished */
    double t0, elapsed;
    /* the end */
    int have_best, final_done;
    size_t best;                  /* index into cands */
    double test_acc, test_lo, test_hi;
    size_t n_test;
    char target_name[SL_NAME_MAX];
    double ram_limit, latency_limit, flash_limit;
} search_state;

/* search.json and search.html in opts->dir (rank 0). */
sl_status sl_search_write_pages(const search_state *S);

#endif
