/* Run directories and the runs index (DESIGN.md, "A run directory").
 *
 * Each training run gets a folder of its own, ROOT/NAME-001, ROOT/NAME-002, ...: numbered in the
 * order they started, never reused, created with mkdir so two runs started at once cannot take
 * the same number. ROOT/index.db (SQLite) lists every run with its config hash and results, so
 * later steps (compare, search) can query the history. */
#ifndef SIGLOOP_RUNS_H
#define SIGLOOP_RUNS_H

#include <stddef.h>
#include <stdio.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates ROOT (if needed) and the next free ROOT/NAME-NNN (three digits at least; after 999,
 * 1000 and on); its path goes to out. SL_EIO naming the folder when it cannot be made. */
sl_status sl_run_dir_next(const char *root, const char *name, char *out, size_t size);

/* The highest-numbered existing ROOT/NAME-NNN. SL_EARG "no run of NAME in ROOT" when none. */
sl_status sl_run_dir_latest(const char *root, const char *name, char *out, size_t size);

typedef struct {
    const char *dir;          /* the run's folder as given */
    const char *name;         /* the config's name */
    const char *config_hash;  /* BLAKE2b of the resolved config.yaml (hex) */
    const char *arch;         /* model.arch */
    size_t params;
    size_t macs;              /* per example */
    size_t epochs;            /* run */
    size_t best_epoch;
    double val_acc;           /* < 0: none */
    double test_acc;          /* < 0: none */
    size_t n_test;
    double seconds;
    double samples_per_s;
    const char *status;       /* "running" (recorded at the start, with this process's id and host),
                                 "done", "stopped early", "failed", "over budget" */
    const char *source;       /* "train", "run", "search NAME"; NULL: keep */
    /* filled in by sigloop run (analysis, budget); unknown: NaN or < 0, 0, NULL */
    double macro_f1, test_lo, test_hi;
    const char *target;
    size_t ram_bytes, flash_bytes;
    double latency_s, energy_mj;
    int budget_pass;          /* 1, 0, or -1: not checked */
} sl_run_record;

/* A record with every optional field unknown (NaN, -1), to fill in. */
sl_run_record sl_run_record_blank(void);

/* Records the run's row in the SQLite database at db_path (creating the file and its table, or
 * adding the columns an older file lacks), in one transaction (waits up to 10 s for another
 * writer). A row of the same dir is updated: the fields r leaves unknown keep their values. */
sl_status sl_run_index_add(const char *db_path, const sl_run_record *r);

/* 1 when process pid runs on this host, 0 when it does not (a run recorded "running" by it was
 * killed), -1 when host is another machine's. */
int sl_run_alive(long pid, const char *host);

/* The runs as a table: sorted by a column (larger first for accuracies and speeds; NULL: by
 * start), filtered by where ("test_acc > 0.9 and macs < 2000000"; NULL: all). A run recorded as
 * running whose process is gone is shown "killed". Columns: run, started, finished, arch, params,
 * macs, epochs, val_acc, test_acc, macro_f1, seconds, samples_per_s, status, ram, flash, latency,
 * energy, budget_pass, name, source, target. SL_EARG naming the bad column or clause. */
sl_status sl_run_index_list(const char *db_path, const char *sort, const char *where, FILE *out);

/* Prints the index's runs, oldest first, as a table (or "no runs in ROOT" when the file does not
 * exist). SL_EIO/SL_EFORMAT naming the file when it cannot be read. */
sl_status sl_run_index_print(const char *db_path, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
