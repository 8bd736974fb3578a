/* The data set's insides, shared by the files of the data layer (build, split, report). */
#ifndef SIGLOOP_DATA_DATASET_INTERNAL_H
#define SIGLOOP_DATA_DATASET_INTERNAL_H

#include "sigloop/dataset.h"

struct sl_dataset {
    sl_entry *e;            /* (n) sorted by path; strings owned here */
    size_t n;
    char **field_names;     /* (n_fields) extra fields: pattern fields other than label/group,
                               or the CSV list's other columns */
    size_t n_fields;
    sl_skipped *skipped;    /* (n_skipped) in path order */
    size_t n_skipped;
    char **labels;          /* (n_labels) sorted, distinct */
    size_t n_labels;
    char **groups;          /* (n_groups) sorted, distinct */
    size_t n_groups;
    size_t n_found;         /* files of the scanned types, before any was skipped */
    size_t n_resampled;
    size_t n_dup_sets;      /* sets of files with identical bytes */
    size_t n_dup_leaks;     /* of those, sets spanning more than one split */
    size_t n_group_leaks;   /* groups in more than one split */
    sl_split_by split_by;
    int val_by_group;       /* 1: validation carved out by whole groups */
    int val_fallback;       /* 1: no group passed the val hash; the lowest-hash one was taken */
};

/* Index of s in the sorted array a (n items), or -1. */
long sl_dataset_find_sorted(char *const *a, size_t n, const char *s);

/* Fills the sorted distinct labels and groups from the entries. */
sl_status sl_dataset_index_names(sl_dataset *ds);

/* Assigns entry splits per cfg (split.c). Fails when a configured test group or field is absent. */
sl_status sl_dataset_assign_splits(sl_dataset *ds, const sl_config *cfg);

/* Marks files with identical hashes and counts leaks across splits (split.c). */
sl_status sl_dataset_find_duplicates(sl_dataset *ds);

/* Splits one CSV line in place into at most max cells ("" quoting with doubled quotes).
 * Returns the number of cells, or -1 for an unterminated quote. */
int sl_csv_split_line(char *line, char **cells, int max);

#endif
