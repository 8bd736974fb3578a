/* CSV time series for sensors other than audio: a header of names, an optional time column,
 * numeric channels. Every bad cell is reported with its line and column, and nothing is guessed:
 * a cell is a finite number in full or the file is refused. */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigloop/audio.h"

#define SERIES_MAX_COLUMNS 1024
#define SERIES_DEFAULT_MAX_FRAMES ((size_t)100000000)

void sl_series_free(sl_series *s)
{
    if (!s) return;
    free(s->x);
    if (s->names)
        for (size_t i = 0; i < s->n_channels; i++) free(s->names[i]);
    free(s->names);
    memset(s, 0, sizeof *s);
}

/* Strips spaces, then one pair of surrounding double quotes. */
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

static int is_blank(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    return *s == '\0';
}

/* Splits a line at commas in place; returns the number of cells, of which the first max are
 * stored (a count above max tells the caller the line is too wide). */
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

/* The shortest decimal that reads back as v, so "0.02 after 0.03" shows what the file says and
 * two close timestamps (1000000.01, 1000000.02) never print alike. */
static void format_shortest(double v, char *buf, size_t size)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static int is_auto_time_name(const char *name)
{
    return strcasecmp(name, "time") == 0 || strcasecmp(name, "t") == 0 || strcasecmp(name, "timestamp") == 0;
}

/* Reading state, so the header and row steps can be separate functions. */
typedef struct {
    const char *path;
    sl_series *out;
    size_t max_frames;
    char **cells;    /* (SERIES_MAX_COLUMNS) pointers into the current line */
    size_t n_cols;   /* cells per row, time included; 0 until the header is read */
    long time_col;   /* index of the time column, or -1 */
    double *times;   /* (frames_cap) timestamps when time_col >= 0 */
    size_t frames_cap;
} reader;

static sl_status read_header(reader *r, char *line, long lineno, const char *time_column)
{
    size_t nc = split_cells(line, r->cells, SERIES_MAX_COLUMNS);
    if (nc > SERIES_MAX_COLUMNS)
        return sl_fail(SL_EFORMAT, "%s:%ld: %zu columns, more than the limit of %d", r->path, lineno, nc,
                       SERIES_MAX_COLUMNS);
    r->time_col = -1;
    for (size_t c = 0; c < nc; c++) {
        char *name = trim(r->cells[c]);
        r->cells[c] = name;
        if (!*name) return sl_fail(SL_EFORMAT, "%s:%ld:%zu: empty column name", r->path, lineno, c + 1);
        int is_time = time_column && (*time_column ? strcmp(name, time_column) == 0 : is_auto_time_name(name));
        if (is_time && r->time_col < 0) r->time_col = (long)c;
    }
    if (time_column && *time_column && r->time_col < 0)
        return sl_fail(SL_EFORMAT, "%s:%ld: no column '%s'", r->path, lineno, time_column);
    size_t n_channels = nc - (r->time_col >= 0);
    if (n_channels == 0)
        return sl_fail(SL_EFORMAT, "%s:%ld: no data columns besides the time", r->path, lineno);
    r->out->names = calloc(n_channels, sizeof *r->out->names);
    if (!r->out->names) return sl_fail(SL_ENOMEM, "out of memory");
    r->out->n_channels = n_channels; /* from here sl_series_free frees the names */
    for (size_t c = 0, k = 0; c < nc; c++) {
        if ((long)c == r->time_col) continue;
        if (!(r->out->names[k++] = strdup(r->cells[c]))) return sl_fail(SL_ENOMEM, "out of memory");
    }
    r->n_cols = nc;
    return SL_OK;
}

/* Makes room for one more frame, doubling up to max_frames. */
static sl_status grow(reader *r)
{
    sl_series *out = r->out;
    if (out->n_frames < r->frames_cap) return SL_OK;
    size_t cap = r->frames_cap ? 2 * r->frames_cap : 1024;
    if (cap > r->max_frames || cap < r->frames_cap) cap = r->max_frames;
    if (cap > SIZE_MAX / sizeof(float) / out->n_channels) return sl_fail(SL_ENOMEM, "%s: too large", r->path);
    float *x = realloc(out->x, cap * out->n_channels * sizeof *x);
    if (!x) return sl_fail(SL_ENOMEM, "out of memory (%zu rows of %s)", cap, r->path);
    out->x = x;
    if (r->time_col >= 0) {
        double *t = realloc(r->times, cap * sizeof *t);
        if (!t) return sl_fail(SL_ENOMEM, "out of memory (%zu rows of %s)", cap, r->path);
        r->times = t;
    }
    r->frames_cap = cap;
    return SL_OK;
}

/* Parses one cell into *v: the whole trimmed cell must be a finite number. */
static sl_status parse_cell(const reader *r, char *raw, long lineno, size_t col, int is_time, double *v)
{
    char *cell = trim(raw), *end;
    errno = 0;
    *v = strtod(cell, &end);
    if (!*cell || end == cell || *end)
        return sl_fail(SL_EFORMAT, "%s:%ld:%zu: '%s' is not a number", r->path, lineno, col, cell);
    if (isnan(*v)) return sl_fail(SL_EFORMAT, "%s:%ld:%zu: NaN is not allowed", r->path, lineno, col);
    /* strtod gives inf both for "inf" and for an overflow such as 1e999 (with ERANGE) */
    if (isinf(*v) && errno != ERANGE)
        return sl_fail(SL_EFORMAT, "%s:%ld:%zu: infinity is not allowed", r->path, lineno, col);
    if (isinf(*v) || (!is_time && fabs(*v) > FLT_MAX))
        return sl_fail(SL_EFORMAT, "%s:%ld:%zu: '%s' is out of range", r->path, lineno, col, cell);
    return SL_OK; /* an underflow (1e-999) reads as 0 or a denormal: harmless */
}

static sl_status read_row(reader *r, char *line, long lineno)
{
    sl_series *out = r->out;
    size_t nc = split_cells(line, r->cells, SERIES_MAX_COLUMNS);
    if (nc != r->n_cols)
        return sl_fail(SL_EFORMAT, "%s:%ld: expected %zu columns, found %zu", r->path, lineno, r->n_cols, nc);
    if (out->n_frames == r->max_frames)
        return sl_fail(SL_EFORMAT, "%s:%ld: more than the limit of %zu rows", r->path, lineno, r->max_frames);
    SL_TRY(grow(r));
    float *row = out->x + out->n_frames * out->n_channels;
    for (size_t c = 0, k = 0; c < nc; c++) {
        int is_time = (long)c == r->time_col;
        double v;
        SL_TRY(parse_cell(r, r->cells[c], lineno, c + 1, is_time, &v));
        if (!is_time) {
            row[k++] = (float)v;
            continue;
        }
        if (out->n_frames > 0 && !(v > r->times[out->n_frames - 1])) {
            char now[32], before[32];
            format_shortest(v, now, sizeof now);
            format_shortest(r->times[out->n_frames - 1], before, sizeof before);
            return sl_fail(SL_EFORMAT, "%s:%ld:%zu: time does not increase (%s after %s)", r->path, lineno, c + 1,
                           now, before);
        }
        r->times[out->n_frames] = v;
    }
    out->n_frames++;
    return SL_OK;
}

/* The sample rate: 1 / the median spacing of the timestamps (robust to a few dropped or late
 * samples), else the caller's. Reuses r->times for the spacings. */
static sl_status set_rate(reader *r, double fallback)
{
    sl_series *out = r->out;
    out->has_time = r->time_col >= 0;
    if (out->has_time && out->n_frames >= 2) {
        size_t m = out->n_frames - 1;
        for (size_t i = 0; i < m; i++) r->times[i] = r->times[i + 1] - r->times[i];
        qsort(r->times, m, sizeof *r->times, cmp_double);
        double median = m % 2 ? r->times[m / 2] : 0.5 * (r->times[m / 2 - 1] + r->times[m / 2]);
        out->sample_rate = 1.0 / median;
        if (!isfinite(out->sample_rate) || !(out->sample_rate > 0))
            return sl_fail(SL_EFORMAT, "%s: timestamps %g s apart give no usable sample rate", r->path, median);
        return SL_OK;
    }
    if (fallback > 0 && isfinite(fallback)) {
        out->sample_rate = fallback;
        return SL_OK;
    }
    return sl_fail(SL_EARG, "%s: %s: set a sample rate", r->path,
                   out->has_time ? "one row cannot give a rate" : "no time column");
}

sl_status sl_series_read_csv(const char *path, const sl_series_opts *opts, sl_series *out)
{
    memset(out, 0, sizeof *out);
    sl_series_opts o = opts ? *opts : (sl_series_opts){.time_column = NULL, .sample_rate = 0, .max_frames = 0};
    if (o.sample_rate < 0 || isnan(o.sample_rate))
        return sl_fail(SL_EARG, "%s: sample rate %g: must be > 0 (or 0 to take it from the timestamps)", path,
                       o.sample_rate);
    reader r = {.path = path, .out = out, .time_col = -1,
                .max_frames = o.max_frames ? o.max_frames : SERIES_DEFAULT_MAX_FRAMES};
    FILE *f = fopen(path, "r");
    if (!f) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    r.cells = malloc(SERIES_MAX_COLUMNS * sizeof *r.cells);
    sl_status s = r.cells ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0, blank_after_data = 0;
    while (s == SL_OK && (len = getline(&line, &cap, f)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char *text = line;
        if (lineno == 1 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
            (unsigned char)text[2] == 0xBF)
            text += 3; /* a UTF-8 byte-order mark, as spreadsheets write */
        if (is_blank(text)) {
            /* allowed around the header and at the end; between data rows it is refused below */
            if (out->n_frames > 0 && !blank_after_data) blank_after_data = lineno;
            continue;
        }
        if (strlen(text) != (size_t)len - (size_t)(text - line)) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: NUL byte in the line (not a text file?)", path, lineno);
        } else if (!r.n_cols) {
            s = read_header(&r, text, lineno, o.time_column);
        } else if (blank_after_data) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: blank line inside the data", path, blank_after_data);
        } else {
            s = read_row(&r, text, lineno);
        }
    }
    if (s == SL_OK && ferror(f)) s = sl_fail(SL_EIO, "%s: read error: %s", path, strerror(errno));
    if (s == SL_OK && !r.n_cols) s = sl_fail(SL_EFORMAT, "%s: empty", path);
    if (s == SL_OK && out->n_frames == 0) s = sl_fail(SL_EFORMAT, "%s: no data rows", path);
    if (s == SL_OK) s = set_rate(&r, o.sample_rate);
    free(line);
    free(r.cells);
    free(r.times);
    fclose(f);
    if (s != SL_OK) sl_series_free(out);
    return s;
}
