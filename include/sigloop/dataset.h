/* Step 1: a folder of recordings becomes a validated, leak-free data set.
 *
 * sl_dataset_build scans cfg->data.root, takes each file's label and group from its name (a
 * pattern), its folder or a CSV list, reads every file once (in parallel) to validate it, assigns
 * train / val / test splits, and finds duplicates. The result can be written as manifest.csv and
 * as a validation report.
 *
 * Splits never depend on the order files are found in or on thread scheduling:
 *  - by groups: the listed groups are test;
 *  - by hash: a group is test when hash64(group, seed) / 2^64 < test_fraction, so a file's split
 *    never changes when the data set grows;
 *  - by field: files whose field (e.g. take) is in a range or matches a glob are test;
 *  - by file: like hash, per file path (groups may then span splits, and the report says so).
 * Validation is carved out of the training part with a second, independent hash: for group splits
 * (groups, hash), training groups with hash64(group) / 2^64 < val_fraction (when that picks none,
 * as it may with a handful of groups, the single training group with the lowest hash, never the
 * only one); for field and file splits, single training files by hash64(path). */
#ifndef SIGLOOP_DATASET_H
#define SIGLOOP_DATASET_H

#include <stdio.h>

#include "sigloop/base.h"
#include "sigloop/config.h"
#include "sigloop/hash.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SL_SPLIT_TRAIN = 0, SL_SPLIT_VAL = 1, SL_SPLIT_TEST = 2 } sl_split;
#define SL_N_SPLITS 3
const char *sl_split_name(sl_split s); /* "train", "val", "test" */

enum {
    SL_FLAG_CLIPPED = 1u << 0,   /* >= clip_fraction of samples at full scale */
    SL_FLAG_SILENT = 1u << 1,    /* RMS below silence_dbfs */
    SL_FLAG_RESAMPLED = 1u << 2, /* file rate differs from data.sample_rate */
    SL_FLAG_DUPLICATE = 1u << 3  /* another file has identical bytes */
};

/* One example. Strings are owned by the data set. */
typedef struct {
    const char *path;     /* relative to the data root, '/'-separated */
    const char *label;
    const char *group;
    const char **fields;  /* (n_fields) values of the extra fields, see sl_dataset_field_name */
    sl_split split;
    double duration;      /* seconds, at the file's own rate */
    double sample_rate;   /* the file's own rate, Hz */
    int channels;
    char hash[SL_HASH_HEX]; /* BLAKE2b-128 of the file's bytes */
    unsigned flags;       /* SL_FLAG_* */
    double rms_dbfs;      /* -inf for digital silence */
    double clip_fraction; /* share of samples at full scale */
} sl_entry;

/* A file that was found but left out, and why ("x.wav: truncated (read 10 of 4000 frames)"). */
typedef struct {
    const char *path;     /* relative to the data root */
    const char *reason;   /* one line */
} sl_skipped;

typedef struct sl_dataset sl_dataset;

typedef struct {
    int threads;          /* <= 0: one per core */
    int progress;         /* 1: progress bar on stderr when it is a terminal; 0: none */
    int names_only;       /* 1: labels and groups from the names alone, no file read (no durations,
                             levels, hashes, splits or duplicates): enough to count the classes */
} sl_dataset_opts;

/* Builds the data set. Fails (with a message naming the file, line or field) when the root is
 * missing or unreadable, when no usable file is found, when a CSV list is malformed, when a test
 * group or field named in the config is not in the data. Bad files inside the data set are not
 * failures: they are skipped and listed. On error *out is NULL. */
sl_status sl_dataset_build(sl_dataset **out, const sl_config *cfg, const sl_dataset_opts *opts);
void sl_dataset_free(sl_dataset *ds); /* NULL-safe */

size_t sl_dataset_count(const sl_dataset *ds);
const sl_entry *sl_dataset_entry(const sl_dataset *ds, size_t i); /* sorted by path */
size_t sl_dataset_n_fields(const sl_dataset *ds);
const char *sl_dataset_field_name(const sl_dataset *ds, size_t i);
size_t sl_dataset_n_skipped(const sl_dataset *ds);
const sl_skipped *sl_dataset_skipped(const sl_dataset *ds, size_t i);
/* Sorted distinct labels and groups. */
size_t sl_dataset_n_labels(const sl_dataset *ds);
const char *sl_dataset_label(const sl_dataset *ds, size_t i);
size_t sl_dataset_n_groups(const sl_dataset *ds);
const char *sl_dataset_group(const sl_dataset *ds, size_t i);

/* manifest.csv, atomically: path,label,group,split,duration,sample_rate,channels,hash,flags and
 * then one column per extra field, one row per entry in path order. Byte-identical for the same
 * files and config. */
sl_status sl_dataset_write_manifest(const sl_dataset *ds, const char *path);

/* Reads a manifest.csv written by sl_dataset_write_manifest back into a data set (no files are
 * read; the root is cfg->data.root). Errors name the file and line: a missing column, a bad
 * number, a bad split name, a malformed hash. */
sl_status sl_dataset_read_manifest(sl_dataset **out, const char *path);

/* The validation report as text: counts per class x split and per group x split, durations,
 * unreadable / resampled / clipped / silent / duplicate files (duplicates across splits flagged as
 * leakage), groups in more than one split, class imbalance. */
sl_status sl_dataset_report(const sl_dataset *ds, const sl_config *cfg, FILE *out);
/* Leakage findings: duplicate contents across splits and groups in more than one split when the
 * split is by group. Used by the command line to set its warning. */
size_t sl_dataset_n_leaks(const sl_dataset *ds);

#ifdef __cplusplus
}
#endif
#endif
