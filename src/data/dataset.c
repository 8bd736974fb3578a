/* Building the data set: scan the root, label each file, validate every file in parallel.
 * Splits and duplicates are in split.c, the manifest and the report in report.c. */
#include "data/dataset_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/pattern.h"
#include "sigloop/audio.h"
#include "sigloop/hash.h"
#include "sigloop/pool.h"
#include "sigloop/progress.h"

#define SCAN_MAX_DEPTH 32
#define SCAN_MAX_FILES 10000000

/* ---- growable arrays of strings ---------------------------------------------------------- */

typedef struct {
    char **s;
    size_t n, cap;
} strvec;

static sl_status strvec_push(strvec *v, char *s) /* takes s; frees it on failure */
{
    if (!s) return sl_fail(SL_ENOMEM, "out of memory");
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 256;
        char **t = realloc(v->s, cap * sizeof *t);
        if (!t) {
            free(s);
            return sl_fail(SL_ENOMEM, "out of memory");
        }
        v->s = t;
        v->cap = cap;
    }
    v->s[v->n++] = s;
    return SL_OK;
}

static void strvec_free(strvec *v)
{
    for (size_t i = 0; i < v->n; i++) free(v->s[i]);
    free(v->s);
    memset(v, 0, sizeof *v);
}

static char *join_path(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s) return NULL;
    memcpy(s, a, la);
    size_t k = la;
    if (la && a[la - 1] != '/') s[k++] = '/';
    memcpy(s + k, b, lb + 1);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

long sl_dataset_find_sorted(char *const *a, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a[mid], s);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* ---- scanning ------------------------------------------------------------------------------ */

typedef struct {
    const char *cfg_path;  /* for messages */
    const char *root;
    const sl_strlist *exts;
    const char *exclude;   /* absolute path of a file to leave out (the CSV list), or NULL */
    strvec files;          /* relative paths */
    strvec bad;            /* "relpath\treason" for unreadable sub-folders */
} scan_state;

static const char *file_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (!dot || (slash && dot < slash) || dot == name) return "";
    return dot + 1;
}

static int ext_wanted(const sl_strlist *exts, const char *name)
{
    const char *e = file_ext(name);
    for (size_t i = 0; i < exts->n; i++) {
        const char *w = exts->items[i];
        if (*w == '.') w++;
        if (strcasecmp(w, e) == 0) return 1;
    }
    return 0;
}

static int is_series_ext(const char *name) { return strcasecmp(file_ext(name), "csv") == 0; }

static sl_status scan_dir(scan_state *st, const char *rel, int depth)
{
    char *abs = *rel ? join_path(st->root, rel) : strdup(st->root);
    if (!abs) return sl_fail(SL_ENOMEM, "out of memory");
    DIR *d = opendir(abs);
    if (!d) {
        int err = errno;
        free(abs);
        if (!*rel) /* the root itself: a failure of the whole step */
            return sl_fail(SL_EIO, "%s: data.root: %s: cannot read folder: %s", st->cfg_path, st->root,
                           strerror(err));
        size_t len = strlen(rel) + strlen(strerror(err)) + 40;
        char *msg = malloc(len);
        if (msg) snprintf(msg, len, "%s/\tcannot read folder: %s", rel, strerror(err));
        return strvec_push(&st->bad, msg);
    }
    sl_status s = SL_OK;
    strvec subdirs = {0};
    struct dirent *de;
    while (s == SL_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue; /* ., .., hidden files and our own temp files */
        char *r = *rel ? join_path(rel, de->d_name) : strdup(de->d_name);
        char *a = r ? join_path(st->root, r) : NULL;
        if (!r || !a) {
            free(r);
            free(a);
            s = sl_fail(SL_ENOMEM, "out of memory");
            break;
        }
        struct stat sb;
        if (stat(a, &sb) != 0) { /* a dangling link: leave it to the file list as unreadable */
            free(a);
            if (ext_wanted(st->exts, r)) s = strvec_push(&st->files, r);
            else free(r);
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            free(a);
            s = strvec_push(&subdirs, r);
        } else if (S_ISREG(sb.st_mode) && ext_wanted(st->exts, r) &&
                   !(st->exclude && strcmp(st->exclude, a) == 0)) {
            free(a);
            if (st->files.n >= SCAN_MAX_FILES)
                s = sl_fail(SL_EARG, "data.root: %s: more than %d files", st->root, SCAN_MAX_FILES);
            else
                s = strvec_push(&st->files, r);
        } else {
            free(a);
            free(r);
        }
    }
    closedir(d);
    free(abs);
    for (size_t i = 0; s == SL_OK && i < subdirs.n; i++) {
        if (depth + 1 > SCAN_MAX_DEPTH) {
            size_t len = strlen(subdirs.s[i]) + 64;
            char *msg = malloc(len);
            if (msg) snprintf(msg, len, "%s/\tfolders nested deeper than %d", subdirs.s[i], SCAN_MAX_DEPTH);
            s = strvec_push(&st->bad, msg);
        } else {
            s = scan_dir(st, subdirs.s[i], depth + 1);
        }
    }
    strvec_free(&subdirs);
    return s;
}

/* ---- candidates: a file with its label, group and fields, before validation ----------------- */

typedef struct {
    char *path;      /* relative */
    char *label;
    char *group;
    char **fields;   /* (n_fields) */
    /* filled by validation: */
    sl_entry info;
    char *error;     /* set when the file is unusable */
} candidate;

typedef struct {
    candidate *c;
    size_t n, cap;
    strvec field_names;
    strvec skipped;  /* "relpath\treason" */
} candidates;

static void candidates_free(candidates *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        candidate *c = &cs->c[i];
        free(c->path);
        free(c->label);
        free(c->group);
        if (c->fields)
            for (size_t k = 0; k < cs->field_names.n; k++) free(c->fields[k]);
        free(c->fields);
        free(c->error);
    }
    free(cs->c);
    strvec_free(&cs->field_names);
    strvec_free(&cs->skipped);
    memset(cs, 0, sizeof *cs);
}

static candidate *candidates_add(candidates *cs)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? 2 * cs->cap : 256;
        candidate *t = realloc(cs->c, cap * sizeof *t);
        if (!t) return NULL;
        cs->c = t;
        cs->cap = cap;
    }
    candidate *c = &cs->c[cs->n];
    memset(c, 0, sizeof *c);
    c->fields = calloc(cs->field_names.n ? cs->field_names.n : 1, sizeof *c->fields);
    if (!c->fields) return NULL;
    cs->n++;
    return c;
}

static sl_status skip(candidates *cs, const char *path, const char *reason)
{
    size_t len = strlen(path) + strlen(reason) + 2;
    char *s = malloc(len);
    if (s) snprintf(s, len, "%s\t%s", path, reason);
    return strvec_push(&cs->skipped, s);
}

static char *file_stem(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t len = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, b, len);
    s[len] = '\0';
    return s;
}

/* Labels from the pattern (label_from: pattern) or the top folder (label_from: folder). */
static sl_status label_by_name(candidates *cs, const sl_config *cfg, strvec *files)
{
    const sl_data_config *dc = &cfg->data;
    sl_pattern pat;
    if (sl_pattern_compile(&pat, dc->pattern) != SL_OK)
        return sl_fail(SL_ECONFIG, "%s: data.pattern: %s", cfg->path, sl_last_error());
    int il = sl_pattern_field(&pat, "label");
    int ig = sl_pattern_field(&pat, "group");
    sl_status s = SL_OK;
    for (size_t i = 0; s == SL_OK && i < pat.n_names; i++) {
        if ((int)i == il || (int)i == ig) continue;
        s = strvec_push(&cs->field_names, strdup(pat.names[i]));
    }
    char *values[SL_PATTERN_MAX_FIELDS];
    for (size_t f = 0; s == SL_OK && f < files->n; f++) {
        const char *path = files->s[f];
        const char *slash = strchr(path, '/');
        int folder = dc->label_from == SL_LABELS_FOLDER;
        if (folder && !slash) {
            s = skip(cs, path, "not inside a class folder (label_from: folder)");
            continue;
        }
        int m = sl_pattern_match(&pat, path, values);
        if (m < 0) {
            s = sl_fail(SL_ENOMEM, "out of memory");
            break;
        }
        if (m == 0 && !folder) {
            char reason[SL_NAME_MAX + 64];
            snprintf(reason, sizeof reason, "name does not match the pattern \"%s\"", dc->pattern);
            s = skip(cs, path, reason);
            continue;
        }
        candidate *c = candidates_add(cs);
        if (!c) {
            if (m == 1)
                for (size_t k = 0; k < pat.n_names; k++) free(values[k]);
            s = sl_fail(SL_ENOMEM, "out of memory");
            break;
        }
        c->path = strdup(path);
        size_t k = 0;
        for (size_t i = 0; i < pat.n_names; i++) {
            char *v = m == 1 ? values[i] : NULL;
            if ((int)i == il) c->label = v;
            else if ((int)i == ig) c->group = v;
            else c->fields[k++] = v;
        }
        if (folder) {
            free(c->label);
            c->label = strndup(path, (size_t)(slash - path));
        }
        /* Without a group, every file is its own group. */
        if (!c->group) c->group = file_stem(path);
        for (size_t j = 0; j < cs->field_names.n; j++)
            if (!c->fields[j]) c->fields[j] = strdup("");
        if (!c->path || !c->label || !c->group) s = sl_fail(SL_ENOMEM, "out of memory");
        for (size_t j = 0; s == SL_OK && j < cs->field_names.n; j++)
            if (!c->fields[j]) s = sl_fail(SL_ENOMEM, "out of memory");
    }
    sl_pattern_free(&pat);
    return s;
}

/* Labels from a CSV list (label_from: csv): a header with "path" and "label", optionally
 * "group", and any other columns as fields. Paths are relative to the data root or absolute. */
static sl_status label_by_list(candidates *cs, const sl_config *cfg)
{
    const char *list = cfg->data.csv;
    FILE *f = fopen(list, "r");
    if (!f) return sl_fail(SL_EIO, "data.csv: %s: cannot open: %s", list, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    int ip = -1, il = -1, ig = -1, ncols = 0;
    int map[64]; /* column -> field index, or -1 */
    char *cells[64];
    sl_status s = SL_OK;
    strvec seen = {0};
    size_t root_len = strlen(cfg->data.root);
    while (s == SL_OK && (got = getline(&line, &cap, f)) != -1) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (got == 0) continue;
        int nc = sl_csv_split_line(line, cells, 64);
        if (nc < 0) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: unterminated quote", list, lineno);
            break;
        }
        if (ncols == 0) { /* header */
            ncols = nc;
            for (int i = 0; s == SL_OK && i < nc; i++) {
                map[i] = -1;
                if (strcmp(cells[i], "path") == 0) ip = i;
                else if (strcmp(cells[i], "label") == 0) il = i;
                else if (strcmp(cells[i], "group") == 0) ig = i;
                else {
                    map[i] = (int)cs->field_names.n;
                    s = strvec_push(&cs->field_names, strdup(cells[i]));
                }
            }
            if (s == SL_OK && (ip < 0 || il < 0))
                s = sl_fail(SL_EFORMAT, "%s:1: the header needs columns 'path' and 'label'", list);
            continue;
        }
        if (nc != ncols) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: expected %d columns, found %d", list, lineno, ncols, nc);
            break;
        }
        const char *p = cells[ip];
        if (root_len && strncmp(p, cfg->data.root, root_len) == 0 && p[root_len] == '/')
            p += root_len + 1; /* absolute under the root: store relative */
        if (!*p || !*cells[il]) {
            s = sl_fail(SL_EFORMAT, "%s:%ld: empty %s", list, lineno, !*p ? "path" : "label");
            break;
        }
        char *abs = p[0] == '/' ? strdup(p) : join_path(cfg->data.root, p);
        if (!abs) {
            s = sl_fail(SL_ENOMEM, "out of memory");
            break;
        }
        struct stat sb;
        int exists = stat(abs, &sb) == 0 && S_ISREG(sb.st_mode);
        free(abs);
        if (!exists) {
            char reason[128];
            snprintf(reason, sizeof reason, "listed in the CSV list (line %ld) but not found", lineno);
            s = skip(cs, p, reason);
            continue;
        }
        candidate *c = candidates_add(cs);
        if (!c) {
            s = sl_fail(SL_ENOMEM, "out of memory");
            break;
        }
        c->path = strdup(p);
        c->label = strdup(cells[il]);
        c->group = ig >= 0 && *cells[ig] ? strdup(cells[ig]) : file_stem(p);
        for (int i = 0; i < nc; i++)
            if (map[i] >= 0) c->fields[map[i]] = strdup(cells[i]);
        if (!c->path || !c->label || !c->group) s = sl_fail(SL_ENOMEM, "out of memory");
        for (size_t j = 0; s == SL_OK && j < cs->field_names.n; j++)
            if (!c->fields[j]) s = sl_fail(SL_ENOMEM, "out of memory");
        if (s == SL_OK) s = strvec_push(&seen, strdup(p));
    }
    if (s == SL_OK && ferror(f)) s = sl_fail(SL_EIO, "%s: read error", list);
    if (s == SL_OK && ncols == 0) s = sl_fail(SL_EFORMAT, "%s: empty", list);
    free(line);
    fclose(f);
    if (s == SL_OK && seen.n > 1) { /* a file listed twice would be in the data twice */
        qsort(seen.s, seen.n, sizeof *seen.s, cmp_str);
        for (size_t i = 1; i < seen.n; i++)
            if (strcmp(seen.s[i - 1], seen.s[i]) == 0) {
                s = sl_fail(SL_EFORMAT, "%s: '%s' is listed twice", list, seen.s[i]);
                break;
            }
    }
    strvec_free(&seen);
    return s;
}

/* ---- validation ---------------------------------------------------------------------------- */

typedef struct {
    candidates *cs;
    const sl_config *cfg;
    sl_progress *progress;
} validate_ctx;

/* Records why a file is unusable; the report names the file, so its path is cut from the front
 * of the message ("/data/x.csv:3:2: NaN ..." becomes "3:2: NaN ..."). */
static sl_status set_error(candidate *c, const char *abs)
{
    const char *msg = sl_last_error();
    size_t la = strlen(abs);
    if (strncmp(msg, abs, la) == 0 && msg[la] == ':') {
        msg += la + 1;
        while (*msg == ' ') msg++;
    }
    c->error = strdup(msg);
    return c->error ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
}

/* Reads one file as the later steps will (decoded, channel mixed or picked, resampled), measures
 * it and hashes its bytes. An unusable file is recorded on the candidate, not returned. */
static sl_status validate_one(void *vctx, size_t i, int worker)
{
    (void)worker;
    validate_ctx *ctx = vctx;
    candidate *c = &ctx->cs->c[i];
    const sl_data_config *dc = &ctx->cfg->data;
    sl_status s = SL_OK;
    char *abs = c->path[0] == '/' ? strdup(c->path) : join_path(dc->root, c->path);
    if (!abs) return sl_fail(SL_ENOMEM, "out of memory");
    sl_entry *e = &c->info;
    if (is_series_ext(c->path)) {
        sl_series_opts so = {.time_column = "", .sample_rate = dc->sample_rate, .max_frames = 0};
        sl_series ser;
        if (sl_series_read_csv(abs, &so, &ser) != SL_OK) {
            s = set_error(c, abs);
        } else {
            e->sample_rate = ser.sample_rate;
            e->channels = (int)ser.n_channels;
            e->duration = (double)ser.n_frames / ser.sample_rate;
            e->rms_dbfs = NAN; /* level checks are for audio */
            if (fabs(ser.sample_rate - dc->sample_rate) > 1e-6 * dc->sample_rate)
                e->flags |= SL_FLAG_RESAMPLED;
            sl_series_free(&ser);
        }
    } else {
        sl_audio_opts ao = {.target_rate = dc->sample_rate, .channel = dc->channel, .max_frames = 0};
        sl_signal sig;
        if (sl_audio_read(abs, &ao, &sig) != SL_OK) {
            s = set_error(c, abs);
        } else {
            e->sample_rate = sig.info.sample_rate;
            e->channels = sig.info.channels;
            e->duration = (double)sig.info.frames / sig.info.sample_rate;
            e->clip_fraction = sig.n_raw ? (double)sig.n_clipped / (double)sig.n_raw : 0.0;
            e->rms_dbfs = sig.rms > 0 ? 20.0 * log10(sig.rms) : -INFINITY;
            if (sig.resampled) e->flags |= SL_FLAG_RESAMPLED;
            if (sig.n_clipped > 0 && e->clip_fraction >= dc->clip_fraction) e->flags |= SL_FLAG_CLIPPED;
            if (e->rms_dbfs < dc->silence_dbfs) e->flags |= SL_FLAG_SILENT;
            sl_signal_free(&sig);
        }
    }
    if (s == SL_OK && !c->error && sl_hash_file(abs, e->hash) != SL_OK) s = set_error(c, abs);
    free(abs);
    sl_progress_add(ctx->progress, 1);
    return s;
}

/* ---- the whole step ------------------------------------------------------------------------ */

static sl_status check_root(const sl_config *cfg)
{
    struct stat sb;
    const char *root = cfg->data.root;
    if (!*root) return sl_fail(SL_ECONFIG, "%s: data.root: required", cfg->path);
    if (stat(root, &sb) != 0)
        return sl_fail(SL_EIO, "%s: data.root: %s: %s", cfg->path, root, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return sl_fail(SL_EIO, "%s: data.root: %s: not a folder", cfg->path, root);
    return SL_OK;
}

static int cmp_candidate(const void *a, const void *b)
{
    return strcmp(((const candidate *)a)->path, ((const candidate *)b)->path);
}

/* Moves the strings of validated candidates into the data set. */
static sl_status take_candidates(sl_dataset *ds, candidates *cs)
{
    size_t n_ok = 0;
    for (size_t i = 0; i < cs->n; i++) n_ok += cs->c[i].error == NULL;
    ds->e = calloc(n_ok ? n_ok : 1, sizeof *ds->e);
    ds->skipped = calloc(cs->n - n_ok + cs->skipped.n + 1, sizeof *ds->skipped);
    if (!ds->e || !ds->skipped) return sl_fail(SL_ENOMEM, "out of memory");
    ds->n_fields = cs->field_names.n;
    ds->field_names = cs->field_names.s;
    cs->field_names.s = NULL;
    cs->field_names.n = 0;
    for (size_t i = 0; i < cs->n; i++) {
        candidate *c = &cs->c[i];
        if (c->error) {
            for (size_t j = 0; j < ds->n_fields; j++) free(c->fields[j]);
            free(c->fields);
            c->fields = NULL;
            sl_skipped *k = &ds->skipped[ds->n_skipped++];
            k->path = c->path;
            k->reason = c->error;
            c->path = c->error = NULL;
            continue;
        }
        sl_entry *e = &ds->e[ds->n++];
        *e = c->info;
        e->path = c->path;
        e->label = c->label;
        e->group = c->group;
        e->fields = (const char **)c->fields;
        if (e->flags & SL_FLAG_RESAMPLED) ds->n_resampled++;
        c->path = c->label = c->group = NULL;
        c->fields = NULL;
    }
    /* Files skipped before validation (no match, unreadable folders): "path\treason". */
    for (size_t i = 0; i < cs->skipped.n; i++) {
        char *tab = strchr(cs->skipped.s[i], '\t');
        char *reason = strdup(tab ? tab + 1 : "skipped");
        if (!reason) return sl_fail(SL_ENOMEM, "out of memory");
        if (tab) *tab = '\0';
        sl_skipped *k = &ds->skipped[ds->n_skipped++];
        k->path = cs->skipped.s[i];
        k->reason = reason;
        cs->skipped.s[i] = NULL;
    }
    return SL_OK;
}

static int cmp_skipped(const void *a, const void *b)
{
    return strcmp(((const sl_skipped *)a)->path, ((const sl_skipped *)b)->path);
}

static sl_status distinct(const sl_dataset *ds, int groups, char ***out, size_t *n_out)
{
    char **a = malloc((ds->n ? ds->n : 1) * sizeof *a);
    if (!a) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < ds->n; i++) a[i] = (char *)(groups ? ds->e[i].group : ds->e[i].label);
    qsort(a, ds->n, sizeof *a, cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (n == 0 || strcmp(a[n - 1], a[i]) != 0) a[n++] = a[i];
    for (size_t i = 0; i < n; i++) { /* own copies, so the arrays are freed uniformly */
        a[i] = strdup(a[i]);
        if (!a[i]) {
            for (size_t j = 0; j < i; j++) free(a[j]);
            free(a);
            return sl_fail(SL_ENOMEM, "out of memory");
        }
    }
    *out = a;
    *n_out = n;
    return SL_OK;
}

sl_status sl_dataset_index_names(sl_dataset *ds)
{
    SL_TRY(distinct(ds, 0, &ds->labels, &ds->n_labels));
    return distinct(ds, 1, &ds->groups, &ds->n_groups);
}

sl_status sl_dataset_build(sl_dataset **out, const sl_config *cfg, const sl_dataset_opts *opts)
{
    *out = NULL;
    SL_TRY(check_root(cfg));
    sl_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return sl_fail(SL_ENOMEM, "out of memory");
    candidates cs = {0};
    scan_state st = {.cfg_path = cfg->path, .root = cfg->data.root, .exts = &cfg->data.extensions};
    sl_pool *pool = NULL;
    sl_progress *progress = NULL;
    sl_status s;

    if (cfg->data.label_from == SL_LABELS_CSV) {
        s = label_by_list(&cs, cfg);
    } else {
        s = scan_dir(&st, "", 0);
        if (s == SL_OK) {
            if (st.files.n) qsort(st.files.s, st.files.n, sizeof *st.files.s, cmp_str);
            s = label_by_name(&cs, cfg, &st.files);
        }
        for (size_t i = 0; s == SL_OK && i < st.bad.n; i++) {
            s = strvec_push(&cs.skipped, st.bad.s[i]);
            st.bad.s[i] = NULL;
        }
    }
    if (s) goto done;
    if (cs.n) qsort(cs.c, cs.n, sizeof *cs.c, cmp_candidate);
    ds->n_found = cs.n + cs.skipped.n;
    if (cs.n == 0) {
        s = sl_fail(SL_EARG, "%s: data.root: %s: no usable files (%zu found; %s)", cfg->path,
                    cfg->data.root, ds->n_found,
                    cfg->data.label_from == SL_LABELS_PATTERN ? "check data.pattern and data.extensions"
                                                             : "check data.extensions");
        goto done;
    }

    if (opts && opts->names_only) {
        if ((s = take_candidates(ds, &cs)) == SL_OK) s = sl_dataset_index_names(ds);
        goto done;
    }
    int threads = opts && opts->threads > 0 ? opts->threads : 0;
    if ((s = sl_pool_new(&pool, threads)) != SL_OK) goto done;
    sl_progress_opts po = {.label = "data", .unit = "files", .stream = NULL,
                           .force = opts && opts->progress ? 0 : -1};
    if ((s = sl_progress_new(&progress, &po, cs.n)) != SL_OK) goto done;
    validate_ctx vctx = {.cs = &cs, .cfg = cfg, .progress = progress};
    if ((s = sl_pool_run(pool, cs.n, validate_one, &vctx)) != SL_OK) goto done;
    sl_progress_free(progress);
    progress = NULL;

    if ((s = take_candidates(ds, &cs)) != SL_OK) goto done;
    if (ds->n_skipped) qsort(ds->skipped, ds->n_skipped, sizeof *ds->skipped, cmp_skipped);
    if (ds->n == 0) {
        s = sl_fail(SL_EFORMAT, "%s: data.root: %s: none of the %zu files could be read (first: %s: %s)",
                    cfg->path, cfg->data.root, ds->n_found, ds->skipped[0].path, ds->skipped[0].reason);
        goto done;
    }
    if ((s = sl_dataset_index_names(ds)) != SL_OK) goto done;
    if ((s = sl_dataset_assign_splits(ds, cfg)) != SL_OK) goto done;
    s = sl_dataset_find_duplicates(ds);

done:
    sl_progress_free(progress);
    sl_pool_free(pool);
    candidates_free(&cs);
    strvec_free(&st.files);
    strvec_free(&st.bad);
    if (s) {
        sl_dataset_free(ds);
        return s;
    }
    *out = ds;
    return SL_OK;
}

void sl_dataset_free(sl_dataset *ds)
{
    if (!ds) return;
    for (size_t i = 0; i < ds->n; i++) {
        sl_entry *e = &ds->e[i];
        free((char *)e->path);
        free((char *)e->label);
        free((char *)e->group);
        if (e->fields)
            for (size_t k = 0; k < ds->n_fields; k++) free((char *)e->fields[k]);
        free(e->fields);
    }
    free(ds->e);
    for (size_t i = 0; i < ds->n_skipped; i++) {
        free((char *)ds->skipped[i].path);
        free((char *)ds->skipped[i].reason);
    }
    free(ds->skipped);
    for (size_t i = 0; i < ds->n_fields; i++) free(ds->field_names[i]);
    free(ds->field_names);
    for (size_t i = 0; i < ds->n_labels; i++) free(ds->labels[i]);
    free(ds->labels);
    for (size_t i = 0; i < ds->n_groups; i++) free(ds->groups[i]);
    free(ds->groups);
    free(ds);
}

size_t sl_dataset_count(const sl_dataset *ds) { return ds->n; }
const sl_entry *sl_dataset_entry(const sl_dataset *ds, size_t i) { return i < ds->n ? &ds->e[i] : NULL; }
size_t sl_dataset_n_fields(const sl_dataset *ds) { return ds->n_fields; }
const char *sl_dataset_field_name(const sl_dataset *ds, size_t i)
{
    return i < ds->n_fields ? ds->field_names[i] : NULL;
}
size_t sl_dataset_n_skipped(const sl_dataset *ds) { return ds->n_skipped; }
const sl_skipped *sl_dataset_skipped(const sl_dataset *ds, size_t i)
{
    return i < ds->n_skipped ? &ds->skipped[i] : NULL;
}
size_t sl_dataset_n_labels(const sl_dataset *ds) { return ds->n_labels; }
const char *sl_dataset_label(const sl_dataset *ds, size_t i) { return i < ds->n_labels ? ds->labels[i] : NULL; }
size_t sl_dataset_n_groups(const sl_dataset *ds) { return ds->n_groups; }
const char *sl_dataset_group(const sl_dataset *ds, size_t i) { return i < ds->n_groups ? ds->groups[i] : NULL; }
size_t sl_dataset_n_leaks(const sl_dataset *ds) { return ds->n_dup_leaks + ds->n_group_leaks; }
