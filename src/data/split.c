/* Splits and duplicates. Every decision is a pure function of names, config and file bytes, so
 * it does not depend on the order files were found in, on threads, or on which other files exist
 * (except the one-group fallback of the validation carve-out, see carve_val_by_group). */
#include "data/dataset_internal.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/rng.h"

/* Salts keep the test draw and the validation draw of one group independent. */
#define SALT_TEST 0x7465737400000000ull /* "test" */
#define SALT_VAL 0x76616c0000000000ull  /* "val" */

const char *sl_split_name(sl_split s)
{
    switch (s) {
    case SL_SPLIT_TRAIN: return "train";
    case SL_SPLIT_VAL: return "val";
    case SL_SPLIT_TEST: return "test";
    }
    return "?";
}

/* A string's position in [0, 1), uniform over strings, stable across machines and versions. */
static double unit_hash(const char *s, uint64_t seed, uint64_t salt)
{
    uint64_t h = sl_hash64(s, strlen(s), seed ^ salt);
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

static sl_status field_index(const sl_dataset *ds, const sl_config *cfg, const char *name, long *out)
{
    if (strcmp(name, "label") == 0) { *out = -2; return SL_OK; }
    if (strcmp(name, "group") == 0) { *out = -3; return SL_OK; }
    for (size_t i = 0; i < ds->n_fields; i++)
        if (strcmp(ds->field_names[i], name) == 0) { *out = (long)i; return SL_OK; }
    return sl_fail(SL_ECONFIG, "%s: data.split.field: no field '%s' in the data (the pattern gives: label, group%s%s)",
                   cfg->path, name, ds->n_fields ? ", " : "", ds->n_fields ? ds->field_names[0] : "");
}

static const char *entry_field(const sl_entry *e, long idx)
{
    return idx == -2 ? e->label : idx == -3 ? e->group : e->fields[idx];
}

static sl_status split_by_field(sl_dataset *ds, const sl_config *cfg)
{
    const sl_split_config *sc = &cfg->data.split;
    long idx = 0;
    SL_TRY(field_index(ds, cfg, sc->field, &idx));
    for (size_t i = 0; i < ds->n; i++) {
        sl_entry *e = &ds->e[i];
        const char *v = entry_field(e, idx);
        int test;
        if (sc->has_test_range) {
            char *end;
            double x = strtod(v, &end);
            if (!*v || *end || !isfinite(x))
                return sl_fail(SL_EFORMAT, "%s: data.split.field: %s '%s' of %s is not a number",
                               cfg->path, sc->field, v, e->path);
            test = x >= sc->test_range[0] && x <= sc->test_range[1];
        } else {
            test = fnmatch(sc->test_pattern, v, 0) == 0;
        }
        e->split = test ? SL_SPLIT_TEST : SL_SPLIT_TRAIN;
    }
    return SL_OK;
}

/* Training groups whose hash falls below val_fraction are validation, so a group's split never
 * changes when the data set grows. With few groups that can pick none: then the training group with
 * the lowest hash is taken alone (never when it is the only training group). */
static sl_status carve_val_by_group(sl_dataset *ds, const sl_config *cfg)
{
    double frac = cfg->data.split.val_fraction;
    if (frac <= 0) return SL_OK;
    unsigned char *is_train = calloc(ds->n_groups ? ds->n_groups : 1, 1);
    unsigned char *is_val = calloc(ds->n_groups ? ds->n_groups : 1, 1);
    if (!is_train || !is_val) {
        free(is_train);
        free(is_val);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ds->n; i++)
        if (ds->e[i].split == SL_SPLIT_TRAIN)
            is_train[sl_dataset_find_sorted(ds->groups, ds->n_groups, ds->e[i].group)] = 1;
    size_t n_train = 0, n_val = 0;
    long lowest = -1;
    double lowest_h = 2.0;
    for (size_t g = 0; g < ds->n_groups; g++) {
        if (!is_train[g]) continue;
        n_train++;
        double h = unit_hash(ds->groups[g], cfg->data.split.seed, SALT_VAL);
        if (h < frac) {
            is_val[g] = 1;
            n_val++;
        }
        if (h < lowest_h) {
            lowest_h = h;
            lowest = (long)g;
        }
    }
    if (n_val == 0 && n_train >= 2) {
        is_val[lowest] = 1;
        ds->val_fallback = 1;
    }
    for (size_t i = 0; i < ds->n; i++)
        if (ds->e[i].split == SL_SPLIT_TRAIN &&
            is_val[sl_dataset_find_sorted(ds->groups, ds->n_groups, ds->e[i].group)])
            ds->e[i].split = SL_SPLIT_VAL;
    free(is_train);
    free(is_val);
    return SL_OK;
}

sl_status sl_dataset_assign_splits(sl_dataset *ds, const sl_config *cfg)
{
    const sl_split_config *sc = &cfg->data.split;
    ds->split_by = sc->by;
    switch (sc->by) {
    case SL_SPLIT_GROUPS:
        for (size_t j = 0; j < sc->test_groups.n; j++)
            if (sl_dataset_find_sorted(ds->groups, ds->n_groups, sc->test_groups.items[j]) < 0)
                return sl_fail(SL_ECONFIG, "%s: data.split.test_groups: no group '%s' in the data (%zu groups, e.g. '%s')",
                               cfg->path, sc->test_groups.items[j], ds->n_groups, ds->groups[0]);
        for (size_t i = 0; i < ds->n; i++) {
            int test = 0;
            for (size_t j = 0; j < sc->test_groups.n && !test; j++)
                test = strcmp(ds->e[i].group, sc->test_groups.items[j]) == 0;
            ds->e[i].split = test ? SL_SPLIT_TEST : SL_SPLIT_TRAIN;
        }
        break;
    case SL_SPLIT_HASH:
        for (size_t i = 0; i < ds->n; i++)
            ds->e[i].split = unit_hash(ds->e[i].group, sc->seed, SALT_TEST) < sc->test_fraction
                                 ? SL_SPLIT_TEST : SL_SPLIT_TRAIN;
        break;
    case SL_SPLIT_FILE:
        for (size_t i = 0; i < ds->n; i++)
            ds->e[i].split = unit_hash(ds->e[i].path, sc->seed, SALT_TEST) < sc->test_fraction
                                 ? SL_SPLIT_TEST : SL_SPLIT_TRAIN;
        break;
    case SL_SPLIT_FIELD:
        SL_TRY(split_by_field(ds, cfg));
        break;
    }
    ds->val_by_group = sc->by == SL_SPLIT_GROUPS || sc->by == SL_SPLIT_HASH;
    if (ds->val_by_group) {
        SL_TRY(carve_val_by_group(ds, cfg));
    } else {
        for (size_t i = 0; i < ds->n; i++)
            if (ds->e[i].split == SL_SPLIT_TRAIN &&
                unit_hash(ds->e[i].path, sc->seed, SALT_VAL) < sc->val_fraction)
                ds->e[i].split = SL_SPLIT_VAL;
    }
    /* Groups seen in more than one split. */
    unsigned char *seen = calloc(ds->n_groups ? ds->n_groups : 1, 1);
    if (!seen) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < ds->n; i++) {
        long g = sl_dataset_find_sorted(ds->groups, ds->n_groups, ds->e[i].group);
        seen[g] |= (unsigned char)(1u << ds->e[i].split);
    }
    ds->n_group_leaks = 0;
    for (size_t g = 0; g < ds->n_groups; g++)
        ds->n_group_leaks += (seen[g] & (seen[g] - 1)) != 0;
    free(seen);
    /* A split by field or by file spreads groups over splits on purpose: not a leak. */
    if (!ds->val_by_group) ds->n_group_leaks = 0;
    return SL_OK;
}

static int cmp_by_hash(const void *a, const void *b)
{
    const sl_entry *x = *(const sl_entry *const *)a, *y = *(const sl_entry *const *)b;
    int c = strcmp(x->hash, y->hash);
    return c ? c : strcmp(x->path, y->path);
}

sl_status sl_dataset_find_duplicates(sl_dataset *ds)
{
    sl_entry **p = malloc((ds->n ? ds->n : 1) * sizeof *p);
    if (!p) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < ds->n; i++) p[i] = &ds->e[i];
    qsort(p, ds->n, sizeof *p, cmp_by_hash);
    ds->n_dup_sets = ds->n_dup_leaks = 0;
    for (size_t i = 0; i < ds->n;) {
        size_t j = i + 1;
        while (j < ds->n && strcmp(p[j]->hash, p[i]->hash) == 0) j++;
        if (j - i > 1) {
            unsigned splits = 0;
            for (size_t k = i; k < j; k++) {
                p[k]->flags |= SL_FLAG_DUPLICATE;
                splits |= 1u << p[k]->split;
            }
            ds->n_dup_sets++;
            if (splits & (splits - 1)) ds->n_dup_leaks++;
        }
        i = j;
    }
    free(p);
    return SL_OK;
}
