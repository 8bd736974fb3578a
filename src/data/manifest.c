/* Reading manifest.csv back: the later steps start from the manifest, not from a new scan. */
#include "data/dataset_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_COLUMNS 9 /* path,label,group,split,duration,sample_rate,channels,hash,flags */
#define MANIFEST_MAX_CELLS 64

static const char *const columns[MANIFEST_COLUMNS] = {"path", "label", "group", "split", "duration",
                                                      "sample_rate", "channels", "hash", "flags"};

static sl_status parse_row(sl_dataset *ds, char **cells, const char *path, long line)
{
    sl_entry *e = &ds->e[ds->n];
    memset(e, 0, sizeof *e);
    for (int s = 0; s <= SL_N_SPLITS; s++) {
        if (s == SL_N_SPLITS) return sl_fail(SL_EFORMAT, "%s:%ld: split '%s' is not train, val or test", path, line, cells[3]);
        if (strcmp(cells[3], sl_split_name((sl_split)s)) == 0) {
            e->split = (sl_split)s;
            break;
        }
    }
    char *end;
    e->duration = strtod(cells[4], &end);
    if (!*cells[4] || *end || !isfinite(e->duration) || e->duration < 0)
        return sl_fail(SL_EFORMAT, "%s:%ld: duration '%s' is not a number of seconds", path, line, cells[4]);
    e->sample_rate = strtod(cells[5], &end);
    if (!*cells[5] || *end || !(e->sample_rate > 0))
        return sl_fail(SL_EFORMAT, "%s:%ld: sample_rate '%s' is not a positive number", path, line, cells[5]);
    long ch = strtol(cells[6], &end, 10);
    if (!*cells[6] || *end || ch < 1 || ch > 1024)
        return sl_fail(SL_EFORMAT, "%s:%ld: channels '%s' is not a whole number in [1, 1024]", path, line, cells[6]);
    e->channels = (int)ch;
    size_t hl = strlen(cells[7]);
    if (hl != SL_HASH_HEX - 1 || strspn(cells[7], "0123456789abcdef") != hl)
        return sl_fail(SL_EFORMAT, "%s:%ld: hash '%s' is not 32 hex digits", path, line, cells[7]);
    memcpy(e->hash, cells[7], SL_HASH_HEX);
    static const char *const flag_names[] = {"clipped", "silent", "resampled", "duplicate"};
    for (char *f = cells[8], *next; f && *f; f = next) {
        next = strchr(f, ';');
        if (next) *next++ = '\0';
        int known = 0;
        for (unsigned b = 0; b < 4; b++)
            if (strcmp(f, flag_names[b]) == 0) {
                e->flags |= 1u << b;
                known = 1;
            }
        if (!known) return sl_fail(SL_EFORMAT, "%s:%ld: unknown flag '%s'", path, line, f);
    }
    if (!*cells[0] || !*cells[1] || !*cells[2]) return sl_fail(SL_EFORMAT, "%s:%ld: empty path, label or group", path, line);
    e->path = strdup(cells[0]);
    e->label = strdup(cells[1]);
    e->group = strdup(cells[2]);
    e->fields = calloc(ds->n_fields ? ds->n_fields : 1, sizeof *e->fields);
    e->rms_dbfs = NAN;
    ds->n++; /* counted now so that sl_dataset_free releases what was allocated */
    if (!e->path || !e->label || !e->group || !e->fields) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t k = 0; k < ds->n_fields; k++)
        if (!(e->fields[k] = strdup(cells[MANIFEST_COLUMNS + k]))) return sl_fail(SL_ENOMEM, "out of memory");
    if (e->flags & SL_FLAG_RESAMPLED) ds->n_resampled++;
    return SL_OK;
}

sl_status sl_dataset_read_manifest(sl_dataset **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return sl_fail(SL_EIO, "%s: cannot open: %s (run 'sigloop data' first)", path, strerror(errno));
    sl_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        fclose(f);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    char *line = NULL, *cells[MANIFEST_MAX_CELLS];
    size_t cap = 0, rows_cap = 0;
    ssize_t len;
    long lineno = 0;
    int n_cols = 0;
    sl_status s = SL_OK;
    while (s == SL_OK && (len = getline(&line, &cap, f)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        int nc = sl_csv_split_line(line, cells, MANIFEST_MAX_CELLS);
        if (nc < 0) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: unterminated quote", path, lineno);
            break;
        }
        if (n_cols == 0) {
            if (nc < MANIFEST_COLUMNS) {
                s = sl_fail(SL_EFORMAT, "%s:1: not a manifest (expected the columns %s,...)", path, columns[0]);
                break;
            }
            for (int i = 0; i < MANIFEST_COLUMNS && s == SL_OK; i++)
                if (strcmp(cells[i], columns[i]) != 0)
                    s = sl_fail(SL_EFORMAT, "%s:1: column %d is '%s', expected '%s'", path, i + 1, cells[i], columns[i]);
            if (s) break;
            n_cols = nc;
            ds->n_fields = (size_t)(nc - MANIFEST_COLUMNS);
            ds->field_names = calloc(ds->n_fields ? ds->n_fields : 1, sizeof *ds->field_names);
            if (!ds->field_names) s = sl_fail(SL_ENOMEM, "out of memory");
            for (size_t k = 0; s == SL_OK && k < ds->n_fields; k++)
                if (!(ds->field_names[k] = strdup(cells[MANIFEST_COLUMNS + k]))) s = sl_fail(SL_ENOMEM, "out of memory");
            continue;
        }
        if (nc != n_cols) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: expected %d columns, found %d", path, lineno, n_cols, nc);
            break;
        }
        if (ds->n == rows_cap) {
            size_t nc2 = rows_cap ? 2 * rows_cap : 1024;
            sl_entry *t = realloc(ds->e, nc2 * sizeof *t);
            if (!t) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            ds->e = t;
            rows_cap = nc2;
        }
        s = parse_row(ds, cells, path, lineno);
    }
    if (s == SL_OK && ferror(f)) s = sl_fail(SL_EIO, "%s: read error", path);
    if (s == SL_OK && n_cols == 0) s = sl_fail(SL_EFORMAT, "%s: empty", path);
    if (s == SL_OK && ds->n == 0) s = sl_fail(SL_EFORMAT, "%s: no rows", path);
    free(line);
    fclose(f);
    ds->n_found = ds->n;
    if (s == SL_OK) s = sl_dataset_index_names(ds);
    if (s != SL_OK) {
        sl_dataset_free(ds);
        return s;
    }
    *out = ds;
    return SL_OK;
}
