/* What the data step writes: manifest.csv and the validation report. */
#include "data/dataset_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "sigloop/fileio.h"

/* ---- CSV ------------------------------------------------------------------------------------ */

int sl_csv_split_line(char *line, char **cells, int max)
{
    int n = 0;
    char *r = line;
    while (n < max) {
        char *w = r;
        cells[n++] = w;
        if (*r == '"') { /* quoted: "" is a quote; ends at a lone quote */
            r++;
            for (;;) {
                if (*r == '\0') return -1;
                if (*r == '"') {
                    if (r[1] == '"') {
                        *w++ = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                *w++ = *r++;
            }
            while (*r && *r != ',') r++; /* ignore anything between the quote and the comma */
        } else {
            while (*r && *r != ',') *w++ = *r++;
        }
        int more = *r == ',';
        *w = '\0';
        if (!more) break;
        r++;
    }
    return n;
}

static void flags_text(unsigned flags, char *buf, size_t size)
{
    static const char *const names[] = {"clipped", "silent", "resampled", "duplicate"};
    buf[0] = '\0';
    size_t k = 0;
    for (unsigned b = 0; b < 4; b++) {
        if (!(flags & (1u << b))) continue;
        k += (size_t)snprintf(buf + k, size > k ? size - k : 0, "%s%s", k ? ";" : "", names[b]);
    }
}

sl_status sl_dataset_write_manifest(const sl_dataset *ds, const char *path)
{
    sl_afile *af;
    SL_TRY(sl_afile_open(&af, path));
    FILE *f = sl_afile_stream(af);
    fputs("path,label,group,split,duration,sample_rate,channels,hash,flags", f);
    for (size_t k = 0; k < ds->n_fields; k++) {
        fputc(',', f);
        sl_csv_cell(f, ds->field_names[k]);
    }
    fputc('\n', f);
    char flags[64];
    for (size_t i = 0; i < ds->n; i++) {
        const sl_entry *e = &ds->e[i];
        sl_csv_cell(f, e->path);
        fputc(',', f);
        sl_csv_cell(f, e->label);
        fputc(',', f);
        sl_csv_cell(f, e->group);
        flags_text(e->flags, flags, sizeof flags);
        fprintf(f, ",%s,%.6f,%.10g,%d,%s,%s", sl_split_name(e->split), e->duration, e->sample_rate,
                e->channels, e->hash, flags);
        for (size_t k = 0; k < ds->n_fields; k++) {
            fputc(',', f);
            sl_csv_cell(f, e->fields[k]);
        }
        fputc('\n', f);
    }
    if (ferror(f)) {
        sl_afile_abort(af);
        return sl_fail(SL_EIO, "%s: write error", path);
    }
    return sl_afile_commit(af);
}

/* ---- the report ------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (numpy's default). */
static double quantile(const double *sorted, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return sorted[n - 1];
    return sorted[i] + (pos - (double)i) * (sorted[i + 1] - sorted[i]);
}

#define REPORT_MAX_ROWS 60

/* A table of counts: rows x splits, with totals. Past REPORT_MAX_ROWS rows (a data set with a
 * group per file, say) the rest are summed in one line. */
static void count_table(FILE *out, const char *title, char *const *names, size_t n_names,
                        const size_t (*counts)[SL_N_SPLITS])
{
    int w = 12; /* room for "(NNNN more)" */
    if ((int)strlen(title) > w) w = (int)strlen(title);
    for (size_t r = 0; r < n_names && r < REPORT_MAX_ROWS; r++)
        if ((int)strlen(names[r]) > w) w = (int)strlen(names[r]);
    fprintf(out, "  %-*s %7s %7s %7s %7s\n", w, title, "train", "val", "test", "total");
    size_t tot[SL_N_SPLITS + 1] = {0}, rest[SL_N_SPLITS + 1] = {0};
    for (size_t r = 0; r < n_names; r++) {
        size_t sum = counts[r][0] + counts[r][1] + counts[r][2];
        if (r < REPORT_MAX_ROWS)
            fprintf(out, "  %-*s %7zu %7zu %7zu %7zu\n", w, names[r], counts[r][0], counts[r][1],
                    counts[r][2], sum);
        for (int s = 0; s < SL_N_SPLITS; s++) {
            tot[s] += counts[r][s];
            if (r >= REPORT_MAX_ROWS) rest[s] += counts[r][s];
        }
        tot[SL_N_SPLITS] += sum;
        if (r >= REPORT_MAX_ROWS) rest[SL_N_SPLITS] += sum;
    }
    if (n_names > REPORT_MAX_ROWS) {
        char more[64];
        snprintf(more, sizeof more, "(%zu more)", n_names - REPORT_MAX_ROWS);
        fprintf(out, "  %-*s %7zu %7zu %7zu %7zu\n", w, more, rest[0], rest[1], rest[2], rest[3]);
    }
    fprintf(out, "  %-*s %7zu %7zu %7zu %7zu\n", w, "total", tot[0], tot[1], tot[2], tot[3]);
}

static void list_flagged(FILE *out, const sl_dataset *ds, unsigned flag, const char *what,
                         const char *detail_fmt)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++) n += (ds->e[i].flags & flag) != 0;
    fprintf(out, "%s: %zu\n", what, n);
    size_t shown = 0;
    for (size_t i = 0; i < ds->n && shown < 20; i++) {
        const sl_entry *e = &ds->e[i];
        if (!(e->flags & flag)) continue;
        fprintf(out, "  %s", e->path);
        if (flag == SL_FLAG_CLIPPED) fprintf(out, detail_fmt, 100.0 * e->clip_fraction);
        else if (flag == SL_FLAG_SILENT) fprintf(out, detail_fmt, e->rms_dbfs);
        else if (flag == SL_FLAG_RESAMPLED) fprintf(out, detail_fmt, e->sample_rate);
        fputc('\n', out);
        shown++;
    }
    if (n > shown) fprintf(out, "  ... and %zu more (see the flags column of manifest.csv)\n", n - shown);
}

static void report_duplicates(FILE *out, const sl_dataset *ds)
{
    fprintf(out, "duplicates: %zu set(s) of files with identical content", ds->n_dup_sets);
    if (ds->n_dup_leaks)
        fprintf(out, "\n  *** LEAKAGE: %zu set(s) span more than one split: the same recording is "
                     "trained on and evaluated ***", ds->n_dup_leaks);
    fputc('\n', out);
    if (!ds->n_dup_sets) return;
    const sl_entry **p = malloc(ds->n * sizeof *p);
    if (!p) return;
    size_t m = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->e[i].flags & SL_FLAG_DUPLICATE) p[m++] = &ds->e[i];
    /* group by hash in path order: quadratic only over the duplicates themselves */
    unsigned char *done = calloc(m ? m : 1, 1);
    size_t shown = 0;
    for (size_t i = 0; done && i < m && shown < 20; i++) {
        if (done[i]) continue;
        unsigned splits = 1u << p[i]->split;
        for (size_t j = i + 1; j < m; j++)
            if (!done[j] && strcmp(p[j]->hash, p[i]->hash) == 0) splits |= 1u << p[j]->split;
        fprintf(out, "  %s%s (%s)", (splits & (splits - 1)) ? "LEAK " : "", p[i]->path,
                sl_split_name(p[i]->split));
        for (size_t j = i + 1; j < m; j++) {
            if (done[j] || strcmp(p[j]->hash, p[i]->hash) != 0) continue;
            done[j] = 1;
            fprintf(out, " = %s (%s)", p[j]->path, sl_split_name(p[j]->split));
        }
        fputc('\n', out);
        shown++;
    }
    if (ds->n_dup_sets > shown) fprintf(out, "  ... and %zu more sets\n", ds->n_dup_sets - shown);
    free(done);
    free(p);
}

static const char *split_by_name(sl_split_by by)
{
    switch (by) {
    case SL_SPLIT_GROUPS: return "groups";
    case SL_SPLIT_HASH: return "hash";
    case SL_SPLIT_FIELD: return "field";
    case SL_SPLIT_FILE: return "file";
    }
    return "?";
}

/* path relative to the working folder when they share more than "/" ("../data/rec"), so the
 * report reads the same on every machine that has the same layout; else path itself. */
static void display_path(const char *path, char *out, size_t size)
{
    char cwd[SL_PATH_MAX];
    snprintf(out, size, "%s", path);
    if (path[0] != '/' || !getcwd(cwd, sizeof cwd)) return;
    size_t common = 0, i = 0; /* length of the shared whole components */
    for (;; i++) {
        int end_p = path[i] == '\0' || path[i] == '/', end_c = cwd[i] == '\0' || cwd[i] == '/';
        if (end_p && end_c) {
            common = i;
            if (path[i] == '\0' || cwd[i] == '\0') break;
        } else if (path[i] != cwd[i]) {
            break;
        }
    }
    if (common == 0) return;
    size_t k = 0, ups = 0;
    for (const char *c = cwd + common; *c; c++) ups += *c == '/';
    for (size_t u = 0; u < ups && k + 4 < size; u++) k += (size_t)snprintf(out + k, size - k, "../");
    const char *rest = path[common] == '/' ? path + common + 1 : path + common;
    snprintf(out + k, size > k ? size - k : 0, "%s", *rest ? rest : (k ? "" : "."));
    if (k && !*rest) out[k - 1] = '\0'; /* "../.." rather than "../../" */
}

sl_status sl_dataset_report(const sl_dataset *ds, const sl_config *cfg, FILE *out)
{
    size_t (*by_label)[SL_N_SPLITS] = calloc(ds->n_labels, sizeof *by_label);
    size_t (*by_group)[SL_N_SPLITS] = calloc(ds->n_groups, sizeof *by_group);
    double *dur = malloc(ds->n * sizeof *dur);
    if (!by_label || !by_group || !dur) {
        free(by_label);
        free(by_group);
        free(dur);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    size_t split_n[SL_N_SPLITS] = {0};
    double dur_sum = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const sl_entry *e = &ds->e[i];
        by_label[sl_dataset_find_sorted(ds->labels, ds->n_labels, e->label)][e->split]++;
        by_group[sl_dataset_find_sorted(ds->groups, ds->n_groups, e->group)][e->split]++;
        split_n[e->split]++;
        dur[i] = e->duration;
        dur_sum += e->duration;
    }
    qsort(dur, ds->n, sizeof *dur, cmp_double);

    char root[SL_PATH_MAX];
    display_path(cfg->data.root, root, sizeof root);
    fprintf(out, "data set %s: %s\n", cfg->name, root);
    fprintf(out, "files: %zu found, %zu usable, %zu skipped\n", ds->n_found, ds->n, ds->n_skipped);
    fprintf(out, "classes: %zu   groups: %zu   split by %s", ds->n_labels, ds->n_groups,
            split_by_name(ds->split_by));
    if (ds->split_by == SL_SPLIT_FIELD) fprintf(out, " (%s)", cfg->data.split.field);
    fprintf(out, ", validation by %s%s\n", ds->val_by_group ? "whole groups" : "file",
            ds->val_fallback ? " (no group fell under val_fraction: the one with the lowest hash "
                               "was taken)" : "");
    fprintf(out, "splits: train %zu   val %zu   test %zu\n\n", split_n[0], split_n[1], split_n[2]);

    fprintf(out, "per class:\n");
    count_table(out, "label", ds->labels, ds->n_labels, (const size_t(*)[SL_N_SPLITS])by_label);
    size_t lo = SIZE_MAX, hi = 0;
    for (size_t r = 0; r < ds->n_labels; r++) {
        size_t c = by_label[r][0] + by_label[r][1] + by_label[r][2];
        if (c < lo) lo = c;
        if (c > hi) hi = c;
    }
    fprintf(out, "class imbalance (largest / smallest class): %.2f\n\n", (double)hi / (double)lo);

    fprintf(out, "per group:\n");
    count_table(out, "group", ds->groups, ds->n_groups, (const size_t(*)[SL_N_SPLITS])by_group);
    size_t spanning = 0;
    for (size_t g = 0; g < ds->n_groups; g++) {
        int k = (by_group[g][0] > 0) + (by_group[g][1] > 0) + (by_group[g][2] > 0);
        spanning += k > 1;
    }
    if (spanning && ds->n_group_leaks)
        fprintf(out, "  *** LEAKAGE: %zu group(s) in more than one split ***\n", spanning);
    else if (spanning)
        fprintf(out, "groups in more than one split: %zu (intended: the split is by %s)\n", spanning,
                ds->split_by == SL_SPLIT_FIELD ? "a field" : "file");
    else
        fprintf(out, "groups in more than one split: none\n");
    fputc('\n', out);

    fprintf(out, "duration (s): min %.3f  p5 %.3f  median %.3f  mean %.3f  p95 %.3f  max %.3f\n",
            dur[0], quantile(dur, ds->n, 0.05), quantile(dur, ds->n, 0.5), dur_sum / (double)ds->n, quantile(dur, ds->n, 0.95),
            dur[ds->n - 1]);
    free(dur);
    free(by_label);
    free(by_group);
    if (cfg->data.duration > 0) {
        size_t longer = 0;
        for (size_t i = 0; i < ds->n; i++) longer += ds->e[i].duration > cfg->data.duration;
        fprintf(out, "examples are cropped or padded to %.3f s: %zu file(s) are longer and will be cropped\n",
                cfg->data.duration, longer);
    }
    fputc('\n', out);

    fprintf(out, "skipped (unreadable or unlabelled): %zu\n", ds->n_skipped);
    for (size_t i = 0; i < ds->n_skipped && i < 50; i++)
        fprintf(out, "  %s: %s\n", ds->skipped[i].path, ds->skipped[i].reason);
    if (ds->n_skipped > 50) fprintf(out, "  ... and %zu more\n", ds->n_skipped - 50);
    char fmt_rate[64];
    snprintf(fmt_rate, sizeof fmt_rate, " (%%g Hz -> %g Hz)", cfg->data.sample_rate);
    list_flagged(out, ds, SL_FLAG_RESAMPLED, "resampled", fmt_rate);
    list_flagged(out, ds, SL_FLAG_CLIPPED, "clipped", " (%.2f %% of samples at full scale)");
    list_flagged(out, ds, SL_FLAG_SILENT, "silent", " (RMS %.1f dBFS)");
    report_duplicates(out, ds);
    if (ferror(out)) return sl_fail(SL_EIO, "cannot write the report");
    return SL_OK;
}
