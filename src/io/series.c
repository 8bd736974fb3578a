/* CSV time series for sensors other than audio: a header of names, an optional time column,
 * numeric channels. Every bad cell is reported with its line and column. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigloop/audio.h"

#define SERIES_MAX_COLUMNS 1024

void sl_series_free(sl_series *s)
{
    if (!s) return;
    free(s->x);
    if (s->names)
        for (size_t i = 0; i < s->n_channels; i++) free(s->names[i]);
    free(s->names);
    memset(s, 0, sizeof *s);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

/* Splits a line at commas in place; returns the number of cells (at most max). */
static size_t split_cells(char *line, char **cells, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (n < max) cells[n] = p;
        n++;
        if (!comma) break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

sl_status sl_series_read_csv(const char *path, const sl_series_opts *opts, sl_series *out)
{
    memset(out, 0, sizeof *out);
    sl_series_opts o = opts ? *opts : (sl_series_opts){0};
    size_t max_frames = o.max_frames ? o.max_frames : 100000000;
    FILE *f = fopen(path, "r");
    if (!f) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    char **cells = malloc(SERIES_MAX_COLUMNS * sizeof *cells);
    double *times = NULL;
    size_t n_cols = 0, frames_cap = 0;
    long time_col = -1;
    sl_status s = cells ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    while (s == SL_OK && (len = getline(&line, &cap, f)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (n_cols == 0) { /* the header */
            if (len == 0) continue;
            size_t nc = split_cells(line, cells, SERIES_MAX_COLUMNS);
            if (nc > SERIES_MAX_COLUMNS) {
                s = sl_fail(SL_EFORMAT, "%s:%ld: more than %d columns", path, lineno, SERIES_MAX_COLUMNS);
                break;
            }
            for (size_t c = 0; c < nc; c++) {
                const char *name = trim(cells[c]);
                if (!*name) {
                    s = sl_fail(SL_EFORMAT, "%s:%ld:%zu: empty column name", path, lineno, c + 1);
                    break;
                }
                int is_time = o.time_column && (*o.time_column
                                                    ? strcmp(name, o.time_column) == 0
                                                    : (strcasecmp(name, "time") == 0 || strcasecmp(name, "t") == 0 ||
                                                       strcasecmp(name, "timestamp") == 0));
                if (is_time && time_col < 0) time_col = (long)c;
            }
            if (s) break;
            if (o.time_column && *o.time_column && time_col < 0) {
                s = sl_fail(SL_EFORMAT, "%s:%ld: no column '%s'", path, lineno, o.time_column);
                break;
            }
            n_cols = nc;
            out->n_channels = nc - (time_col >= 0);
            if (out->n_channels == 0) {
                s = sl_fail(SL_EFORMAT, "%s:%ld: no data columns besides the time", path, lineno);
                break;
            }
            out->names = calloc(out->n_channels, sizeof *out->names);
            if (!out->names) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            for (size_t c = 0, k = 0; c < nc; c++) {
                if ((long)c == time_col) continue;
                if (!(out->names[k++] = strdup(trim(cells[c])))) s = sl_fail(SL_ENOMEM, "out of memory");
            }
            continue;
        }
        if (len == 0) continue; /* blank lines (at the end) */
        size_t nc = split_cells(line, cells, SERIES_MAX_COLUMNS);
        if (nc != n_cols) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: expected %zu columns, found %zu", path, lineno, n_cols, nc);
            break;
        }
        if (out->n_frames == max_frames) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: more than %zu rows", path, lineno, max_frames);
            break;
        }
        if (out->n_frames == frames_cap) {
            size_t nc2 = frames_cap ? 2 * frames_cap : 1024;
            float *x = realloc(out->x, nc2 * out->n_channels * sizeof *x);
            if (x) out->x = x;
            double *t = time_col >= 0 ? realloc(times, nc2 * sizeof *t) : times;
            if (t) times = t;
            if (!x || (!t && time_col >= 0)) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            frames_cap = nc2;
        }
        for (size_t c = 0, k = 0; c < nc; c++) {
            char *cell = trim(cells[c]), *end;
            errno = 0;
            double v = strtod(cell, &end);
            if (!*cell || *end) {
                s = sl_fail(SL_EFORMAT, "%s:%ld:%zu: '%s' is not a number", path, lineno, c + 1, cell);
                break;
            }
            if (isnan(v)) {
                s = sl_fail(SL_EFORMAT, "%s:%ld:%zu: NaN is not allowed", path, lineno, c + 1);
                break;
            }
            if (!isfinite(v) || (errno == ERANGE && fabs(v) > 1)) {
                s = sl_fail(SL_EFORMAT, "%s:%ld:%zu: '%s' is not a finite number", path, lineno, c + 1, cell);
                break;
            }
            if ((long)c == time_col) {
                if (out->n_frames > 0 && !(v > times[out->n_frames - 1])) {
                    s = sl_fail(SL_EFORMAT, "%s:%ld:%zu: time does not increase (%g after %g)", path,
                                lineno, c + 1, v, times[out->n_frames - 1]);
                    break;
                }
                times[out->n_frames] = v;
            } else {
                out->x[out->n_frames * out->n_channels + k++] = (float)v;
            }
        }
        if (s == SL_OK) out->n_frames++;
    }
    if (s == SL_OK && ferror(f)) s = sl_fail(SL_EIO, "%s: read error", path);
    if (s == SL_OK && n_cols == 0) s = sl_fail(SL_EFORMAT, "%s: empty", path);
    if (s == SL_OK && out->n_frames == 0) s = sl_fail(SL_EFORMAT, "%s: no data rows", path);
    if (s == SL_OK) {
        out->has_time = time_col >= 0;
        if (out->has_time && out->n_frames >= 2) {
            /* the rate from the median spacing: robust to a few dropped or late samples */
            size_t m = out->n_frames - 1;
            for (size_t i = 0; i < m; i++) times[i] = times[i + 1] - times[i];
            qsort(times, m, sizeof *times, cmp_double);
            out->sample_rate = 1.0 / times[m / 2];
        } else if (o.sample_rate > 0) {
            out->sample_rate = o.sample_rate;
        } else {
            s = sl_fail(SL_EARG, "%s: %s: set a sample rate", path,
                        out->has_time ? "one row cannot give a rate" : "no time column");
        }
    }
    free(line);
    free(cells);
    free(times);
    fclose(f);
    if (s) sl_series_free(out);
    return s;
}
