/* Ground-truth event lists and the matching of detections to them (see sigloop/post.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/post.h"

static int parse_time(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    return end != s && *end == '\0' && errno == 0 && isfinite(*v);
}

/* The next cell of a CSV line at *p (RFC 4180: a quoted cell may hold commas and doubled
 * quotes), unquoted in place; *p moves past its comma, or becomes NULL after the last cell. */
static char *csv_next(char **p)
{
    char *r = *p, *w = *p, *cell = *p;
    if (*r == '"') {
        for (r++; *r; r++) {
            if (*r == '"' && r[1] == '"') *w++ = *r++;
            else if (*r == '"') {
                r++;
                break;
            } else *w++ = *r;
        }
        while (*r && *r != ',') r++; /* anything after the closing quote is dropped */
    } else {
        while (*r && *r != ',') *w++ = *r++;
    }
    *p = *r == ',' ? r + 1 : NULL;
    *w = '\0';
    return cell;
}

sl_status sl_truth_read(const char *path, const char *const *labels, size_t classes, sl_truth_event **out,
                        size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "r");
    if (!f) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    char line[4096];
    size_t line_no = 0, n = 0, cap = 0;
    sl_truth_event *ev = NULL;
    sl_status s = SL_OK;
    while (s == SL_OK && fgets(line, sizeof line, f)) {
        line_no++;
        size_t len = strcspn(line, "\r\n");
        if (line[len] == '\0' && !feof(f)) {
            s = sl_fail(SL_EFORMAT, "%s:%zu: line longer than %zu characters", path, line_no, sizeof line - 2);
            break;
        }
        line[len] = '\0';
        if (line_no == 1) {
            if (strncmp(line, "start,end,label", 15) != 0 || (line[15] != '\0' && line[15] != ','))
                s = sl_fail(SL_EFORMAT, "%s:1: expected the header 'start,end,label', found '%.60s'", path, line);
            continue;
        }
        if (len == 0) continue;
        char *cell[3] = {NULL, NULL, NULL}, *p = line;
        for (int c = 0; c < 3 && p; c++) cell[c] = csv_next(&p);
        if (!cell[2]) {
            s = sl_fail(SL_EFORMAT, "%s:%zu: expected start,end,label", path, line_no);
            break;
        }
        double t0, t1;
        if (!parse_time(cell[0], &t0) || !parse_time(cell[1], &t1)) {
            s = sl_fail(SL_EFORMAT, "%s:%zu: start '%s' and end '%s' must be numbers of seconds", path, line_no,
                        cell[0], cell[1]);
            break;
        }
        if (t0 < 0) {
            s = sl_fail(SL_EFORMAT, "%s:%zu: start %g s is negative", path, line_no, t0);
            break;
        }
        if (t1 <= t0) {
            s = sl_fail(SL_EFORMAT, "%s:%zu: end %g s is not after start %g s", path, line_no, t1, t0);
            break;
        }
        if (n && t0 < ev[n - 1].end) {
            s = sl_fail(SL_EFORMAT, "%s:%zu: the event at %g s %s the one before (%g to %g s); events must be in order "
                        "and not overlap", path, line_no, t0, t0 < ev[n - 1].start ? "comes before" : "overlaps",
                        ev[n - 1].start, ev[n - 1].end);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            sl_truth_event *t = realloc(ev, nc * sizeof *t);
            if (!t) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            ev = t;
            cap = nc;
        }
        int label = -1;
        for (size_t c = 0; c < classes; c++)
            if (strcmp(labels[c], cell[2]) == 0) label = (int)c;
        ev[n++] = (sl_truth_event){t0, t1, label};
    }
    if (s == SL_OK && ferror(f)) s = sl_fail(SL_EIO, "%s: read error", path);
    fclose(f);
    if (s == SL_OK && line_no == 0) s = sl_fail(SL_EFORMAT, "%s: empty file (expected the header 'start,end,label')", path);
    if (s == SL_OK && n == 0) s = sl_fail(SL_EFORMAT, "%s: no events", path);
    if (s != SL_OK) {
        free(ev);
        return s;
    }
    *out = ev;
    *n_out = n;
    return SL_OK;
}

typedef struct {
    double dist;
    size_t det, truth;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
    if (x->det != y->det) return x->det < y->det ? -1 : 1;
    return x->truth < y->truth ? -1 : x->truth > y->truth;
}

/* Candidate pairs are the truth events whose start lies within the collar of a detection's; both
 * lists are in time order (detections as the detector makes them), so a window of truth events
 * moves along with the detections. */
sl_status sl_match_events(const sl_event *det, size_t n_det, const sl_truth_event *truth, size_t n_truth,
                          double collar, double seconds, sl_match_result *r)
{
    memset(r, 0, sizeof *r);
    r->truth = n_truth;
    r->detected = n_det;
    r->hours = seconds / 3600.0;
    size_t cap = 64, n = 0;
    pair *p = malloc(cap * sizeof *p);
    unsigned char *used_t = calloc(n_truth + 1, 1), *used_d = calloc(n_det + 1, 1), *near_d = calloc(n_det + 1, 1);
    if (!p || !used_t || !used_d || !near_d) {
        free(p);
        free(used_t);
        free(used_d);
        free(near_d);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    size_t lo = 0;
    for (size_t i = 0; i < n_det; i++) {
        while (lo < n_truth && truth[lo].start < det[i].start - collar) lo++;
        for (size_t j = lo; j < n_truth && truth[j].start <= det[i].start + collar; j++) {
            if (truth[j].label != det[i].label) {
                near_d[i] = 1;
                continue;
            }
            if (n == cap) {
                pair *t = realloc(p, 2 * cap * sizeof *t);
                if (!t) {
                    free(p);
                    free(used_t);
                    free(used_d);
                    free(near_d);
                    return sl_fail(SL_ENOMEM, "out of memory");
                }
                p = t;
                cap *= 2;
            }
            p[n++] = (pair){fabs(truth[j].start - det[i].start), i, j};
        }
    }
    qsort(p, n, sizeof *p, cmp_pair);
    for (size_t k = 0; k < n; k++) {
        if (used_d[p[k].det] || used_t[p[k].truth]) continue;
        used_d[p[k].det] = used_t[p[k].truth] = 1;
        r->hits++;
    }
    for (size_t i = 0; i < n_det; i++)
        if (!used_d[i] && near_d[i]) r->wrong_label++;
    r->false_alarms = n_det - r->hits;
    r->recall = n_truth ? (double)r->hits / (double)n_truth : 0;
    r->miss_rate = 1 - r->recall;
    r->fa_per_hour = r->hours > 0 ? (double)r->false_alarms / r->hours : 0;
    free(p);
    free(used_t);
    free(used_d);
    free(near_d);
    return SL_OK;
}
