/* Step 7's search (see sigloop/search.h): candidates from the config's search: choices, costed on
 * the budget's target before training, trials in folders of their own that a search run again
 * takes up, successive halving's rungs, and the best candidate trained once more and tested. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "search/search_internal.h"
#include "sigloop/analyze.h"
#include "sigloop/budget.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/fileio.h"
#include "sigloop/rng.h"
#include "sigloop/svg.h"
#include "sigloop/runs.h"
#include "sigloop/train.h"

#define MAX_GRID 1000000u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void say(const search_state *S, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void say(const search_state *S, const char *fmt, ...)
{
    FILE *f = S->opts->log;
    if (!f) return;
    if (S->size > 1) fprintf(f, "[rank %d] ", S->rank);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fflush(f);
}

/* The same, from rank 0 only (what every rank knows alike). */
#define say0(S, ...) ((S)->rank == 0 ? say((S), __VA_ARGS__) : (void)0)

static sl_status barrier(const search_state *S)
{
    const sl_search_comm *c = S->opts->comm;
    return c && c->size > 1 ? c->barrier(c->ctx) : SL_OK;
}

/* The largest of every rank's *v. */
static sl_status agree_max(const search_state *S, int *v)
{
    const sl_search_comm *c = S->opts->comm;
    return c && c->size > 1 ? c->max_int(c->ctx, v) : SL_OK;
}

/* ---- configs ---- */

/* A config's YAML without its top-level section `key:` (from a line "key:" at column 0 to the
 * next line that starts at column 0 with a key). */
static void strip_section(char *t, size_t *len, const char *key)
{
    size_t kl = strlen(key);
    char *p = t;
    while (p && *p) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') break;
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) return;
    char *q = strchr(p, '\n');
    while (q && q[1] && (q[1] == ' ' || q[1] == '\n' || q[1] == '#' || q[1] == '-')) q = strchr(q + 1, '\n');
    char *end = q ? q + 1 : t + *len;
    memmove(p, end, (size_t)(t + *len - end) + 1);
    *len -= (size_t)(end - p);
}

/* Changing the time or the trials of a search, or the post-processing (which training never
 * reads), leaves a trial's identity alone. */
static void strip_search(char *t, size_t *len)
{
    strip_section(t, len, "search");
    strip_section(t, len, "post");
}

static sl_status config_yaml(const sl_config *c, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(text, len);
    if (!f) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = sl_config_write(c, f);
    if (fclose(f) != 0 && s == SL_OK) s = sl_fail(SL_ENOMEM, "out of memory");
    if (s != SL_OK) {
        free(*text);
        *text = NULL;
    }
    return s;
}

/* The identity of a config: BLAKE2b of its YAML without the search: and post: sections. */
static sl_status config_identity(const sl_config *c, char hex[SL_HASH_HEX])
{
    char *t;
    size_t n;
    SL_TRY(config_yaml(c, &t, &n));
    strip_search(t, &n);
    sl_hash_bytes(t, n, hex);
    free(t);
    return SL_OK;
}

/* The same of a config file written earlier; SL_EIO when there is none. */
static sl_status file_identity(const char *path, char hex[SL_HASH_HEX])
{
    char *t;
    size_t n;
    SL_TRY(sl_read_file(path, (size_t)1 << 20, &t, &n));
    strip_search(t, &n);
    sl_hash_bytes(t, n, hex);
    free(t);
    return SL_OK;
}

/* Candidate c's config: the trial's (trial: with the trials' validation split) at `epochs`
 * (0: train.epochs), extra appended (may be NULL). */
static sl_status cand_config(const search_state *S, const search_cand *c, int trial, size_t epochs, const char *extra,
                             sl_config *out)
{
    const sl_search_config *sc = &S->cfg->search;
    const char *ov[SEARCH_MAX_RUNGS + 64];
    char *own[64];
    size_t n = 0, n_own = 0;
    if (trial && S->split_set[0]) ov[n++] = S->split_set;
    sl_status s = SL_OK;
    if (c->vi) {
        for (size_t k = 0; k < sc->n_choices && s == SL_OK; k++) {
            const sl_search_choice *ch = &sc->choices[k];
            size_t sz = strlen(ch->key) + strlen(ch->values[c->vi[k]]) + 2;
            char *set = malloc(sz);
            if (!set) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            snprintf(set, sz, "%s=%s", ch->key, ch->values[c->vi[k]]);
            own[n_own++] = set;
            ov[n++] = set;
        }
    }
    char ep[48];
    if (epochs) {
        snprintf(ep, sizeof ep, "train.epochs=%zu", epochs);
        ov[n++] = ep;
    }
    if (extra) ov[n++] = extra;
    if (s == SL_OK) s = sl_config_parse(out, S->base, S->base_len, S->cfg->path, S->cfg->dir, ov, n);
    for (size_t i = 0; i < n_own; i++) free(own[i]);
    return s;
}

/* ---- trial.txt: "key: value" lines ---- */

typedef struct {
    char status[32], config[SL_HASH_HEX], message[512];
    size_t epochs, best_epoch, n_test;
    double val, seconds, sps, test, test_lo, test_hi;
} trial_file;

static sl_status read_trial(const char *path, trial_file *t, int *found)
{
    memset(t, 0, sizeof *t);
    t->val = t->test = t->test_lo = t->test_hi = -1;
    struct stat sb;
    *found = stat(path, &sb) == 0;
    if (!*found) return SL_OK;
    char *text;
    size_t len;
    SL_TRY(sl_read_file(path, (size_t)1 << 16, &text, &len));
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *v = strstr(line, ": ");
        if (!v) continue;
        *v = 0;
        v += 2;
        if (strcmp(line, "status") == 0) snprintf(t->status, sizeof t->status, "%s", v);
        else if (strcmp(line, "config") == 0) snprintf(t->config, sizeof t->config, "%s", v);
        else if (strcmp(line, "message") == 0) snprintf(t->message, sizeof t->message, "%s", v);
        else if (strcmp(line, "epochs") == 0) t->epochs = strtoull(v, NULL, 10);
        else if (strcmp(line, "best_epoch") == 0) t->best_epoch = strtoull(v, NULL, 10);
        else if (strcmp(line, "n_test") == 0) t->n_test = strtoull(v, NULL, 10);
        else if (strcmp(line, "val_acc") == 0) t->val = strtod(v, NULL);
        else if (strcmp(line, "seconds") == 0) t->seconds = strtod(v, NULL);
        else if (strcmp(line, "samples_per_s") == 0) t->sps = strtod(v, NULL);
        else if (strcmp(line, "test_acc") == 0) t->test = strtod(v, NULL);
        else if (strcmp(line, "test_lo") == 0) t->test_lo = strtod(v, NULL);
        else if (strcmp(line, "test_hi") == 0) t->test_hi = strtod(v, NULL);
    }
    free(text);
    if (!t->status[0] || !t->config[0]) return sl_fail(SL_EFORMAT, "%s: not a trial record (no status or config line)", path);
    return SL_OK;
}

static sl_status write_trial(const char *path, const search_cand *c, const trial_file *t)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf,
                     "status: %s\ncandidate: c%03zu\nchanges: %s\nconfig: %s\nepochs: %zu\nbest_epoch: %zu\n"
                     "val_acc: %.6f\nseconds: %.3f\nsamples_per_s: %.1f\n",
                     t->status, c->id, c->changes[0] ? c->changes : "(as written)", t->config, t->epochs,
                     t->best_epoch, t->val, t->seconds, t->sps);
    if (t->message[0] && n > 0 && (size_t)n < sizeof buf)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "message: %s\n", t->message);
    if (t->test >= 0 && n > 0 && (size_t)n < sizeof buf)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "test_acc: %.6f\ntest_lo: %.6f\ntest_hi: %.6f\nn_test: %zu\n",
                      t->test, t->test_lo, t->test_hi, t->n_test);
    if (n < 0 || (size_t)n >= sizeof buf) return sl_fail(SL_EINTERNAL, "%s: record too long", path);
    return sl_write_file_atomic(path, buf, (size_t)n);
}

/* ---- candidates ---- */

static sl_status check_choices(search_state *S)
{
    const sl_config *cfg = S->cfg;
    const sl_search_config *sc = &cfg->search;
    if (!sc->n_choices)
        return sl_fail(SL_ECONFIG, "%s: search.choices: no choices (list the settings to try, e.g. "
                       "search: {choices: {model.kernel: [5, 9]}})", cfg->path);
    uint64_t grid = 1;
    char base_id[SL_HASH_HEX];
    SL_TRY(config_identity(cfg, base_id));
    if (!(S->as_written = calloc(sc->n_choices, sizeof *S->as_written))) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t k = 0; k < sc->n_choices; k++) {
        const sl_search_choice *ch = &sc->choices[k];
        if (!(S->as_written[k] = calloc(ch->n ? ch->n : 1, sizeof **S->as_written)))
            return sl_fail(SL_ENOMEM, "out of memory");
        static const char *const forbidden[] = {"data.", "budget.", "search.", NULL};
        for (size_t f = 0; forbidden[f]; f++)
            if (strncmp(ch->key, forbidden[f], strlen(forbidden[f])) == 0)
                return sl_fail(SL_ECONFIG, "%s: search.choices.%s: the search cannot change %s* (the data, the "
                               "budget and the search stay as written)", cfg->path, ch->key, forbidden[f]);
        if (strcmp(ch->key, "name") == 0)
            return sl_fail(SL_ECONFIG, "%s: search.choices.name: the name is not a choice", cfg->path);
        if (sc->strategy == SL_SEARCH_HALVING && strcmp(ch->key, "train.epochs") == 0)
            return sl_fail(SL_ECONFIG, "%s: search.choices.train.epochs: halving sets the epochs itself (rungs "
                           "from search.min_epochs to train.epochs); use strategy grid or random", cfg->path);
        if (!ch->n) return sl_fail(SL_ECONFIG, "%s: search.choices.%s: no values", cfg->path, ch->key);
        for (size_t k2 = 0; k2 < k; k2++)
            if (strcmp(sc->choices[k2].key, ch->key) == 0)
                return sl_fail(SL_ECONFIG, "%s: search.choices.%s: listed twice", cfg->path, ch->key);
        if (grid > MAX_GRID / ch->n)
            return sl_fail(SL_ECONFIG, "%s: search.choices: more than %u candidates in the grid", cfg->path, MAX_GRID);
        grid *= ch->n;
        for (size_t v = 0; v < ch->n; v++) { /* every value on its own, so an error names it */
            size_t sz = strlen(ch->key) + strlen(ch->values[v]) + 2;
            char *set = malloc(sz);
            if (!set) return sl_fail(SL_ENOMEM, "out of memory");
            snprintf(set, sz, "%s=%s", ch->key, ch->values[v]);
            const char *ov[1] = {set};
            sl_config tmp;
            sl_status s = sl_config_parse(&tmp, S->base, S->base_len, cfg->path, cfg->dir, ov, 1);
            free(set);
            char id[SL_HASH_HEX];
            if (s == SL_OK && (s = config_identity(&tmp, id)) == SL_OK)
                S->as_written[k][v] = strcmp(id, base_id) == 0;
            if (s != SL_OK) {
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", sl_last_error());
                return sl_fail(SL_ECONFIG, "%s: search.choices.%s: value %s: %s", cfg->path, ch->key, ch->values[v],
                               msg);
            }
            sl_config_free(&tmp);
        }
    }
    S->grid = (size_t)grid;
    return SL_OK;
}

typedef struct {
    uint32_t *order;       /* grid positions in the order they are tried */
    size_t pos, n;         /* next position; n = grid (+ 1 with the baseline, position 0) */
    int baseline;
    sl_dataset *ds;        /* the trials' data set, for the input's shape */
    sl_target target;
} cand_source;

/* A candidate's row in the runs index: what its costing gave. */
static sl_run_record cand_record(const search_state *S, const search_cand *c, const char *dir, const char *hash,
                                 const sl_config *tc)
{
    sl_run_record r = sl_run_record_blank();
    r.dir = dir;
    r.name = tc->name;
    r.config_hash = hash;
    r.arch = sl_model_arch_name(tc->model.arch);
    r.params = c->params;
    r.macs = c->macs;
    r.source = S->opts->source;
    r.target = S->target_name;
    r.ram_bytes = c->ram;
    r.flash_bytes = c->flash;
    r.latency_s = c->latency;
    r.energy_mj = c->energy;
    r.budget_pass = !c->over;
    return r;
}

static sl_status record_over_budget(search_state *S, const search_cand *c, const sl_config *tc)
{
    if (S->rank != 0) return SL_OK;
    const sl_search_opts *o = S->opts;
    char dir[SL_PATH_MAX + 16], path[SL_PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/c%03zu", o->dir, c->id);
    SL_TRY(sl_mkdirs(dir));
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    SL_TRY(sl_config_save(tc, path));
    char text[1024];
    int n = snprintf(text, sizeof text, "status: over budget\ncandidate: c%03zu\nchanges: %s\nconfig: %s\nwhy: %s\n",
                     c->id, c->changes[0] ? c->changes : "(as written)", c->hash, c->over_why);
    snprintf(path, sizeof path, "%s/trial.txt", dir);
    SL_TRY(sl_write_file_atomic(path, text, (size_t)n));
    if (!o->index) return SL_OK;
    char hash[SL_HASH_HEX];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    SL_TRY(sl_hash_file(path, hash));
    sl_run_record r = cand_record(S, c, dir, hash, tc);
    r.status = "over budget";
    return sl_run_index_add(o->index, &r);
}

static sl_status push_cand(search_state *S, const search_cand *c)
{
    if (S->n_cands == S->cap_cands) {
        size_t cap = S->cap_cands ? 2 * S->cap_cands : 64;
        search_cand *p = realloc(S->cands, cap * sizeof *p);
        if (!p) return sl_fail(SL_ENOMEM, "out of memory");
        S->cands = p;
        S->cap_cands = cap;
    }
    S->cands[S->n_cands++] = *c;
    return SL_OK;
}

/* The next candidate within the budget: *got 0 when the grid is used up. Candidates equal to an
 * earlier one are passed over; those over budget are recorded and passed over. */
static sl_status next_cand(search_state *S, cand_source *src, size_t *out, int *got)
{
    const sl_search_config *sc = &S->cfg->search;
    *got = 0;
    while (src->pos < src->n) {
        size_t pos = src->pos++;
        search_cand c;
        memset(&c, 0, sizeof c);
        c.first_val = c.top_val = -1;
        if (!(src->baseline && pos == 0)) {
            size_t g = src->order[pos - (size_t)src->baseline];
            if (!(c.vi = malloc(sc->n_choices * sizeof *c.vi))) return sl_fail(SL_ENOMEM, "out of memory");
            for (size_t k = sc->n_choices; k-- > 0;) {
                c.vi[k] = (int)(g % sc->choices[k].n);
                g /= sc->choices[k].n;
            }
            size_t off = 0; /* the values the config as written has already are left out */
            for (size_t k = 0; k < sc->n_choices && off < sizeof c.changes; k++)
                if (!S->as_written[k][c.vi[k]])
                    off += (size_t)snprintf(c.changes + off, sizeof c.changes - off, "%s%s=%s", off ? " " : "",
                                            sc->choices[k].key, sc->choices[k].values[c.vi[k]]);
        }
        sl_config tc;
        sl_status s = cand_config(S, &c, 1, 0, NULL, &tc);
        if (s == SL_OK) s = config_identity(&tc, c.hash);
        int dup = 0;
        for (size_t i = 0; s == SL_OK && i < S->n_cands && !dup; i++) dup = strcmp(S->cands[i].hash, c.hash) == 0;
        if (s == SL_OK && dup) {
            sl_config_free(&tc);
            free(c.vi);
            continue;
        }
        size_t bands = 0, frames = 0;
        sl_budget_report *br = NULL;
        if (s == SL_OK) s = sl_features_shape(&tc, src->ds, &bands, &frames);
        if (s == SL_OK) s = sl_budget_estimate(&tc, bands, frames, sl_dataset_n_labels(src->ds), &src->target, &br);
        if (s == SL_OK) {
            sl_budget_line lines[SL_BUDGET_LINES];
            size_t nl = sl_budget_check(br, &tc.budget, lines, &c.over);
            size_t off = 0;
            for (size_t i = 0; i < nl && off < sizeof c.over_why; i++)
                if (!lines[i].pass)
                {
                    int bytes = strcmp(lines[i].what, "RAM") == 0 || strcmp(lines[i].what, "flash") == 0;
                    int secs = strcmp(lines[i].what, "latency") == 0 || strcmp(lines[i].what, "real time") == 0;
                    double scale = bytes ? 1.0 / 1024 : secs ? 1e3 : 1;
                    off += (size_t)snprintf(c.over_why + off, sizeof c.over_why - off, "%s%s %.1f of %.1f %s",
                                            off ? ", " : "", lines[i].what, scale * lines[i].value,
                                            scale * lines[i].limit, bytes ? "KiB" : secs ? "ms" : "mJ");
                }
            c.params = br->device_params;
            c.macs = br->macs;
            c.ram = br->ram_bytes;
            c.flash = br->flash_bytes;
            c.latency = br->latency_seconds;
            c.energy = br->energy_mj;
        }
        sl_budget_report_free(br);
        c.id = S->n_cands;
        if (s == SL_OK) s = push_cand(S, &c);
        if (s != SL_OK) {
            free(c.vi);
            sl_config_free(&tc);
            return s;
        }
        if (c.over) {
            say0(S, "  c%03zu  over budget (%s), not trained: %s\n", c.id, c.over_why,
                c.changes[0] ? c.changes : "(as written)");
            s = record_over_budget(S, &S->cands[S->n_cands - 1], &tc);
            sl_config_free(&tc);
            if (s != SL_OK) return s;
            continue;
        }
        sl_config_free(&tc);
        *out = S->n_cands - 1;
        *got = 1;
        return SL_OK;
    }
    return SL_OK;
}

/* ---- trials ---- */

static sl_status push_trial(search_state *S, size_t ci, const trial_file *t)
{
    if (S->n_trials == S->cap_trials) {
        size_t cap = S->cap_trials ? 2 * S->cap_trials : 64;
        search_trial *p = realloc(S->trials, cap * sizeof *p);
        if (!p) return sl_fail(SL_ENOMEM, "out of memory");
        S->trials = p;
        S->cap_trials = cap;
    }
    int failed = strcmp(t->status, "done") != 0;
    S->trials[S->n_trials++] = (search_trial){.cand = ci, .epochs = t->epochs, .best_epoch = t->best_epoch,
                                              .val = failed ? -1 : t->val, .seconds = t->seconds,
                                              .samples_per_s = t->sps, .failed = failed};
    search_cand *c = &S->cands[ci];
    if (failed) c->failed = 1;
    else {
        if (t->epochs >= c->top_epochs) {
            c->top_epochs = t->epochs;
            c->top_val = t->val;
        }
        if (t->epochs == S->rungs[0]) c->first_val = t->val;
    }
    return SL_OK;
}

/* Seconds per epoch and per multiply-accumulate, from the trials so far (0: none yet). */
static double rate_of(const search_state *S)
{
    double sec = 0, work = 0;
    for (size_t i = 0; i < S->n_trials; i++) {
        const search_trial *t = &S->trials[i];
        if (t->failed || t->seconds <= 0) continue;
        sec += t->seconds;
        work += (double)t->epochs * (double)S->cands[t->cand].macs;
    }
    return work > 0 ? sec / work : 0;
}

static sl_status index_trial(const search_state *S, const search_cand *c, const char *tdir, const trial_file *t,
                             const sl_config *tc)
{
    const sl_search_opts *o = S->opts;
    if (!o->index || S->rank != 0) return SL_OK;
    char path[SL_PATH_MAX + 32], hash[SL_HASH_HEX];
    snprintf(path, sizeof path, "%s/config.yaml", tdir);
    SL_TRY(sl_hash_file(path, hash));
    sl_run_record r = cand_record(S, c, tdir, hash, tc);
    r.epochs = t->epochs;
    r.best_epoch = t->best_epoch;
    r.val_acc = strcmp(t->status, "done") == 0 ? t->val : -1;
    r.seconds = t->seconds;
    r.samples_per_s = t->sps;
    r.status = strcmp(t->status, "done") == 0 ? "done" : "failed";
    if (t->test >= 0) {
        r.test_acc = t->test;
        r.n_test = t->n_test;
        r.test_lo = t->test_lo;
        r.test_hi = t->test_hi;
    }
    return sl_run_index_add(o->index, &r);
}

/* The data and its feature cache for config tc in dir (the cache named by tc's feature settings,
 * so that candidates with other features keep theirs). */
static sl_status open_data(const search_state *S, const sl_config *tc, const char *dir, const char *cache_name,
                           sl_dataset **ds, sl_feature_cache **fc, double **mean)
{
    char fh[SL_HASH_HEX], name[64];
    if (!cache_name) {
        sl_features_settings_hash(tc, fh);
        snprintf(name, sizeof name, "features-%.16s.bin", fh);
        cache_name = name;
    }
    sl_prepare_opts po = {.threads = S->opts->threads, .progress = S->opts->progress, .announce = 0,
                          .cache_name = cache_name};
    sl_features_stats st;
    return sl_data_prepare(tc, dir, &po, ds, fc, mean, &st);
}

static void trial_dir(const search_state *S, const search_cand *c, size_t epochs, char *out, size_t size)
{
    snprintf(out, size, "%s/c%03zu-e%zu", S->opts->dir, c->id, epochs);
}

/* Trains candidate c for `epochs` into tdir; t gets the result (a failed training is a result). */
static sl_status train_trial(search_state *S, search_cand *c, size_t epochs, const char *tdir, trial_file *t)
{
    sl_config tc;
    SL_TRY(cand_config(S, c, 1, epochs, NULL, &tc));
    memset(t, 0, sizeof *t);
    t->test = -1;
    t->epochs = epochs;
    char path[SL_PATH_MAX + 96];
    sl_status s = config_identity(&tc, t->config);
    if (s == SL_OK) s = sl_mkdirs(tdir);
    snprintf(path, sizeof path, "%s/config.yaml", tdir);
    struct stat sb;
    if (s == SL_OK && stat(path, &sb) == 0) { /* a trial killed half-way: continue it if it is this one */
        char old[SL_HASH_HEX];
        s = file_identity(path, old);
        if (s == SL_OK && strcmp(old, t->config) != 0)
            s = sl_fail(SL_EARG, "%s: trained with another config: remove %s or give the search another folder "
                        "(-o)", tdir, S->opts->dir);
    }
    if (s == SL_OK) s = sl_config_save(&tc, path);
    sl_dataset *ds = NULL;
    sl_feature_cache *fc = NULL;
    double *mean = NULL;
    if (s == SL_OK) s = open_data(S, &tc, S->opts->dir, NULL, &ds, &fc, &mean);
    if (s == SL_OK) {
        sl_train_opts to = {.threads = S->opts->threads, .progress = S->opts->progress, .quiet = 1, .resume = 1,
                            .no_test = 1};
        sl_train_result tr;
        size_t nb = sl_feature_cache_bands(fc);
        double t1 = now_s();
        sl_status ts = sl_train_run(&tc, ds, fc, mean, mean + nb, tdir, &to, &tr);
        if (ts == SL_OK) {
            snprintf(t->status, sizeof t->status, "done");
            t->best_epoch = tr.best_epoch;
            t->val = tr.best_val_acc;
            t->seconds = tr.seconds;
            t->sps = tr.samples_per_s;
        } else { /* e.g. a loss that went to NaN: the candidate is out, the search goes on */
            snprintf(t->status, sizeof t->status, "failed");
            snprintf(t->message, sizeof t->message, "%s", sl_last_error());
            t->val = -1;
            t->seconds = now_s() - t1;
        }
        snprintf(path, sizeof path, "%s/trial.txt", tdir);
        s = write_trial(path, c, t);
    }
    free(mean);
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    sl_config_free(&tc);
    return s;
}

static int cand_better(const search_state *S, size_t a, size_t b, double va, double vb)
{
    if (va != vb) return va > vb;
    if (S->cands[a].macs != S->cands[b].macs) return S->cands[a].macs < S->cands[b].macs;
    return S->cands[a].id < S->cands[b].id;
}

/* One rung: every candidate of list trained for `epochs` (the finished ones taken from their
 * folders), the unfinished shared out between the ranks; *time_up when the time limit stopped it. */
static sl_status run_rung(search_state *S, const size_t *list, size_t n, size_t epochs, int *time_up)
{
    const sl_search_opts *o = S->opts;
    const sl_search_config *sc = &S->cfg->search;
    char tdir[SL_PATH_MAX + 48], path[SL_PATH_MAX + 64];
    int *pending = calloc(n ? n : 1, sizeof *pending);
    if (!pending) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = barrier(S);
    /* what is finished already */
    size_t n_pending = 0;
    for (size_t i = 0; i < n && s == SL_OK; i++) {
        search_cand *c = &S->cands[list[i]];
        trial_dir(S, c, epochs, tdir, sizeof tdir);
        snprintf(path, sizeof path, "%s/trial.txt", tdir);
        trial_file t;
        int found;
        s = read_trial(path, &t, &found);
        if (s != SL_OK) break;
        if (!found) {
            pending[i] = 1;
            n_pending++;
            continue;
        }
        sl_config tc;
        char want[SL_HASH_HEX];
        s = cand_config(S, c, 1, epochs, NULL, &tc);
        if (s == SL_OK) s = config_identity(&tc, want);
        if (s == SL_OK && strcmp(want, t.config) != 0)
            s = sl_fail(SL_EARG, "%s: trained with another config: remove %s or give the search another folder (-o)",
                        tdir, o->dir);
        if (s == SL_OK) s = push_trial(S, list[i], &t);
        if (s == SL_OK) s = index_trial(S, c, tdir, &t, &tc);
        if (s == SL_OK) S->n_reused++;
        sl_config_free(&tc);
    }
    /* rank 0 computes the feature caches the others will read */
    if (S->size > 1 && S->rank == 0)
        for (size_t i = 0; i < n && s == SL_OK; i++) {
            if (!pending[i]) continue;
            sl_config tc;
            sl_dataset *ds = NULL;
            sl_feature_cache *fc = NULL;
            s = cand_config(S, &S->cands[list[i]], 1, epochs, NULL, &tc);
            if (s == SL_OK) s = open_data(S, &tc, o->dir, NULL, &ds, &fc, NULL);
            sl_feature_cache_close(fc);
            sl_dataset_free(ds);
            sl_config_free(&tc);
        }
    int fail = s != SL_OK;
    sl_status bs = barrier(S);
    if (bs == SL_OK) bs = agree_max(S, &fail);
    if (s == SL_OK && bs != SL_OK) s = bs;
    if (s == SL_OK && fail) s = sl_fail(SL_EIO, "another process of the search failed");
    /* this rank's share */
    size_t j = 0;
    for (size_t i = 0; i < n && s == SL_OK; i++) {
        if (!pending[i]) continue;
        if ((int)(j++ % (size_t)S->size) != S->rank) continue;
        search_cand *c = &S->cands[list[i]];
        double k = rate_of(S), elapsed = now_s() - S->t0;
        if (sc->time > 0 && !*time_up) {
            double est = k * (double)epochs * (double)c->macs;
            size_t ref = S->have_best ? S->best : list[i];
            double reserve = 1.3 * k * (double)S->E * (double)S->cands[ref].macs + 10;
            if (elapsed + est + reserve > sc->time) *time_up = 1;
        }
        if (*time_up) continue;
        trial_dir(S, c, epochs, tdir, sizeof tdir);
        trial_file t;
        s = train_trial(S, c, epochs, tdir, &t);
        if (s != SL_OK) break;
        if (strcmp(t.status, "done") == 0)
            say(S, "  c%03zu  %2zu epochs  val %5.1f %%  %6.1f s  %s\n", c->id, epochs, 100 * t.val, t.seconds,
                c->changes[0] ? c->changes : "(as written)");
        else
            say(S, "  c%03zu  %2zu epochs  failed: %s\n", c->id, epochs, t.message);
        pending[i] = 2; /* trained here */
        S->n_trained++;
        s = push_trial(S, list[i], &t);
        sl_config tc;
        if (s == SL_OK && (s = cand_config(S, c, 1, epochs, NULL, &tc)) == SL_OK) {
            s = index_trial(S, c, tdir, &t, &tc);
            sl_config_free(&tc);
        }
        if (s == SL_OK) S->elapsed = now_s() - S->t0;
    }
    fail = s != SL_OK;
    bs = barrier(S);
    if (bs == SL_OK) bs = agree_max(S, &fail);
    if (bs == SL_OK) bs = agree_max(S, time_up);
    if (s == SL_OK && bs != SL_OK) s = bs;
    if (s == SL_OK && fail) s = sl_fail(SL_EIO, "another process of the search failed");
    /* the other ranks' trials */
    for (size_t i = 0; i < n && s == SL_OK; i++) {
        if (pending[i] != 1) continue;
        search_cand *c = &S->cands[list[i]];
        trial_dir(S, c, epochs, tdir, sizeof tdir);
        snprintf(path, sizeof path, "%s/trial.txt", tdir);
        trial_file t;
        int found;
        s = read_trial(path, &t, &found);
        if (s != SL_OK || !found) continue; /* not trained: the time ran out on its rank */
        S->n_trained++;
        s = push_trial(S, list[i], &t);
        sl_config tc;
        if (s == SL_OK && (s = cand_config(S, c, 1, epochs, NULL, &tc)) == SL_OK) {
            s = index_trial(S, c, tdir, &t, &tc);
            sl_config_free(&tc);
        }
    }
    free(pending);
    return s;
}

/* The candidate's result at exactly `epochs` (< 0: none). */
static double val_at(const search_state *S, size_t ci, size_t epochs)
{
    for (size_t i = S->n_trials; i-- > 0;)
        if (S->trials[i].cand == ci && S->trials[i].epochs == epochs) return S->trials[i].val;
    return -1;
}

static int cmp_desc_val(const void *a, const void *b, const search_state *S, size_t epochs)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    double vx = val_at(S, x, epochs), vy = val_at(S, y, epochs);
    if (cand_better(S, x, y, vx, vy)) return -1;
    if (cand_better(S, y, x, vy, vx)) return 1;
    return 0;
}

/* Insertion sort (a rung holds a few dozen candidates at most), best first. */
static void sort_by_val(const search_state *S, size_t *list, size_t n, size_t epochs)
{
    for (size_t i = 1; i < n; i++) {
        size_t v = list[i], j = i;
        while (j > 0 && cmp_desc_val(&v, &list[j - 1], S, epochs) < 0) {
            list[j] = list[j - 1];
            j--;
        }
        list[j] = v;
    }
}

static void pick_best(search_state *S)
{
    S->have_best = 0;
    size_t top = 0;
    for (size_t i = 0; i < S->n_cands; i++)
        if (S->cands[i].top_epochs > top) top = S->cands[i].top_epochs;
    if (!top) return;
    for (size_t i = 0; i < S->n_cands; i++) {
        const search_cand *c = &S->cands[i];
        if (c->top_epochs != top) continue;
        if (!S->have_best || cand_better(S, i, S->best, c->top_val, S->cands[S->best].top_val)) {
            S->best = i;
            S->have_best = 1;
        }
    }
}

/* ---- the end: the best trained again on the config's own split and tested once ---- */

static sl_status write_best_yaml(const search_state *S, const sl_config *fcfg)
{
    const search_cand *b = &S->cands[S->best];
    char *text;
    size_t len;
    SL_TRY(config_yaml(fcfg, &text, &len));
    sl_text t = {0};
    sl_text_printf(&t, "# The best candidate of a search (c%03zu): validation accuracy %.1f %% after %zu epochs.\n",
                   b->id, 100 * b->top_val, b->top_epochs);
    if (S->opts->command) sl_text_printf(&t, "# Found by: %s\n", S->opts->command);
    sl_text_printf(&t, "# The config as written%s\n", b->changes[0] ? ", with these changes (each a --set):" : ", unchanged.");
    if (b->changes[0]) {
        const sl_search_config *sc = &S->cfg->search;
        for (size_t k = 0; k < sc->n_choices; k++)
            if (!S->as_written[k][b->vi[k]])
                sl_text_printf(&t, "#   '%s=%s'\n", sc->choices[k].key, sc->choices[k].values[b->vi[k]]);
    }
    sl_text_printf(&t, "# Run it with: sigloop run %s/best.yaml\n", S->opts->dir);
    sl_text_printf(&t, "%.*s", (int)len, text);
    free(text);
    char path[SL_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/best.yaml", S->opts->dir);
    sl_status s = t.failed ? sl_fail(SL_ENOMEM, "out of memory") : sl_write_file_atomic(path, t.s, t.len);
    sl_text_free(&t);
    return s;
}

static sl_status run_final(search_state *S)
{
    const sl_search_opts *o = S->opts;
    search_cand *b = &S->cands[S->best];
    char name[SL_NAME_MAX + 32], fdir[SL_PATH_MAX + 16], path[SL_PATH_MAX + 48];
    snprintf(name, sizeof name, "name=%s-best", S->cfg->name);
    sl_config fcfg;
    SL_TRY(cand_config(S, b, 0, b->top_epochs < S->E ? b->top_epochs : 0, name, &fcfg));
    SL_TRY(write_best_yaml(S, &fcfg));
    snprintf(fdir, sizeof fdir, "%s/final", o->dir);
    trial_file t;
    int found;
    char want[SL_HASH_HEX];
    snprintf(path, sizeof path, "%s/trial.txt", fdir);
    sl_status s = config_identity(&fcfg, want);
    if (s == SL_OK) s = read_trial(path, &t, &found);
    if (s == SL_OK && found && strcmp(t.config, want) == 0 && t.test >= 0) { /* done before */
        S->test_acc = t.test;
        S->test_lo = t.test_lo;
        S->test_hi = t.test_hi;
        S->n_test = t.n_test;
        S->final_done = 1;
        say(S, "final: c%03zu trained and tested before, in %s\n", b->id, fdir);
        s = index_trial(S, b, fdir, &t, &fcfg);
        sl_config_free(&fcfg);
        return s;
    }
    say(S, "final: c%03zu for %zu epochs on the config's own split, then the test split, once (%s)\n", b->id,
        fcfg.train.epochs, fdir);
    sl_dataset *ds = NULL;
    sl_feature_cache *fc = NULL;
    double *mean = NULL;
    sl_analysis *an = NULL;
    if (s == SL_OK && found) { /* another best before: start this one afresh */
        char old[SL_PATH_MAX + 48];
        snprintf(old, sizeof old, "%s/train_state.bin", fdir);
        remove(old);
        snprintf(old, sizeof old, "%s/last.slm", fdir);
        remove(old);
        remove(path);
    }
    if (s == SL_OK) {
        if (S->split_set[0]) {
            char fh[SL_HASH_HEX], base_fh[SL_HASH_HEX], cache[64];
            sl_features_settings_hash(&fcfg, fh);
            sl_features_settings_hash(S->cfg, base_fh);
            snprintf(cache, sizeof cache, "features-%.16s.bin", fh);
            s = sl_mkdirs(o->data_dir);
            if (s == SL_OK)
                s = open_data(S, &fcfg, o->data_dir, strcmp(fh, base_fh) == 0 ? "features.bin" : cache, &ds, &fc,
                              &mean);
        } else {
            s = open_data(S, &fcfg, o->dir, NULL, &ds, &fc, &mean);
        }
    }
    if (s == SL_OK) s = sl_mkdirs(fdir);
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/manifest.csv", fdir);
        s = sl_dataset_write_manifest(ds, path);
    }
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/config.yaml", fdir);
        s = sl_config_save(&fcfg, path);
    }
    sl_train_result tr;
    if (s == SL_OK) {
        sl_train_opts to = {.threads = o->threads, .progress = o->progress, .quiet = 1, .resume = 1, .no_test = 0};
        s = sl_train_run(&fcfg, ds, fc, mean, mean + sl_feature_cache_bands(fc), fdir, &to, &tr);
    }
    if (s == SL_OK) {
        sl_analyze_opts ao = {.threads = o->threads, .robustness = o->robustness, .bootstrap = 1000, .seed = 0,
                              .progress = o->progress};
        s = sl_analyze_run(fdir, &ao, &an);
    }
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/report.json", fdir);
        s = sl_analysis_write_json(an, path);
    }
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/report.html", fdir);
        s = sl_analysis_write_html(an, path);
    }
    if (s == SL_OK) {
        sl_analysis_headline h;
        sl_analysis_headline_of(an, &h);
        memset(&t, 0, sizeof t);
        snprintf(t.status, sizeof t.status, "done");
        snprintf(t.config, sizeof t.config, "%s", want);
        t.epochs = tr.epochs;
        t.best_epoch = tr.best_epoch;
        t.val = tr.best_val_acc;
        t.seconds = tr.seconds;
        t.sps = tr.samples_per_s;
        t.test = S->test_acc = h.accuracy.value;
        t.test_lo = S->test_lo = h.accuracy.lo;
        t.test_hi = S->test_hi = h.accuracy.hi;
        t.n_test = S->n_test = h.n_test;
        snprintf(path, sizeof path, "%s/trial.txt", fdir);
        s = write_trial(path, b, &t);
        if (s == SL_OK) s = index_trial(S, b, fdir, &t, &fcfg);
        if (s == SL_OK) S->final_done = 1;
    }
    sl_analysis_free(an);
    free(mean);
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    sl_config_free(&fcfg);
    return s;
}

/* ---- the search ---- */

static void rungs_of(search_state *S)
{
    const sl_search_config *sc = &S->cfg->search;
    S->n_rungs = 0;
    if (sc->strategy == SL_SEARCH_HALVING) {
        /* min_epochs, eta times that, ...: a rung past two thirds of train.epochs is left out, as
         * it would tell little more than the last */
        for (size_t e = sc->min_epochs; e < S->E && S->n_rungs < SEARCH_MAX_RUNGS - 1; e *= sc->eta) {
            if (S->n_rungs && 3 * e > 2 * S->E) break;
            S->rungs[S->n_rungs++] = e;
        }
    }
    S->rungs[S->n_rungs++] = S->E;
}

static sl_status search_body(search_state *S, sl_search_result *res)
{
    const sl_config *cfg = S->cfg;
    const sl_search_config *sc = &cfg->search;
    const sl_search_opts *o = S->opts;
    SL_TRY(config_yaml(cfg, &S->base, &S->base_len));
    if (cfg->data.split.val_fraction <= 0)
        snprintf(S->split_set, sizeof S->split_set, "data.split.val_fraction=%.6g", sc->val_fraction);
    SL_TRY(check_choices(S));
    S->E = cfg->train.epochs;
    rungs_of(S);
    /* the trials' data set: the manifest in the search's folder (rank 0 makes it) */
    cand_source src;
    memset(&src, 0, sizeof src);
    src.baseline = sc->baseline;
    src.n = S->grid + (size_t)src.baseline;
    sl_status s = SL_OK;
    if (!(src.order = malloc(S->grid * sizeof *src.order))) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < S->grid; i++) src.order[i] = (uint32_t)i;
    if (sc->strategy != SL_SEARCH_GRID) { /* Fisher-Yates, from the search's seed */
        sl_rng r = sl_rng_make(sc->seed, 0x736561726368ull /* "search" */);
        for (size_t i = S->grid; i > 1; i--) {
            size_t j = sl_rng_below(&r, (uint32_t)i);
            uint32_t tmp = src.order[i - 1];
            src.order[i - 1] = src.order[j];
            src.order[j] = tmp;
        }
    }
    {
        sl_config bc;
        search_cand plain = {0};
        s = cand_config(S, &plain, 1, 0, NULL, &bc);
        if (s == SL_OK && S->rank == 0) {
            sl_feature_cache *fc = NULL;
            s = sl_mkdirs(o->dir);
            if (s == SL_OK) s = open_data(S, &bc, o->dir, NULL, &src.ds, &fc, NULL);
            sl_feature_cache_close(fc);
        }
        int fail = s != SL_OK;
        sl_status bs = barrier(S);
        if (bs == SL_OK) bs = agree_max(S, &fail);
        if (s == SL_OK && bs != SL_OK) s = bs;
        if (s == SL_OK && fail) s = sl_fail(SL_EIO, "another process of the search failed");
        if (s == SL_OK && S->rank != 0) {
            char manifest[SL_PATH_MAX + 16];
            snprintf(manifest, sizeof manifest, "%s/manifest.csv", o->dir);
            s = sl_dataset_read_manifest(&src.ds, manifest);
        }
        char tpath[SL_PATH_MAX];
        if (s == SL_OK) s = sl_target_find(cfg->budget.target, cfg->dir, tpath, sizeof tpath);
        if (s == SL_OK) s = sl_target_load(&src.target, tpath);
        if (s == SL_OK) snprintf(S->target_name, sizeof S->target_name, "%s", src.target.name);
        sl_config_free(&bc);
    }
    S->ram_limit = (double)cfg->budget.ram;
    S->flash_limit = (double)cfg->budget.flash;
    S->latency_limit = cfg->budget.latency;
    if (s == SL_OK) {
        char rl[128] = "";
        size_t off = 0;
        for (size_t r = 0; r < S->n_rungs; r++)
            off += (size_t)snprintf(rl + off, sizeof rl - off, "%s%zu", r ? ", " : "", S->rungs[r]);
        char tl[64] = "none";
        if (sc->time > 0) snprintf(tl, sizeof tl, "%.0f s", sc->time);
        say0(S, "search %s: %s over %zu candidates (%zu choices), epochs per rung: %s; time limit %s%s\n", cfg->name,
             sc->strategy == SL_SEARCH_GRID ? "grid" : sc->strategy == SL_SEARCH_RANDOM ? "random" : "halving",
             S->grid + (size_t)src.baseline, sc->n_choices, rl, tl,
             S->split_set[0] ? "; the trials validate on a share of the training groups" : "");
    }
    size_t bracket = sc->strategy == SL_SEARCH_HALVING ? 1 : (size_t)(2 * S->size);
    for (size_t r = 1; sc->strategy == SL_SEARCH_HALVING && r < S->n_rungs; r++) bracket *= sc->eta;
    size_t *list = malloc((bracket + 1) * sizeof *list);
    if (!list && s == SL_OK) s = sl_fail(SL_ENOMEM, "out of memory");
    size_t taken = 0, n_bracket = 0;
    int time_up = 0, exhausted = 0;
    while (s == SL_OK && !time_up && !exhausted && (!sc->trials || taken < sc->trials)) {
        size_t n = 0;
        int has_baseline = 0;
        while (n < bracket && (!sc->trials || taken < sc->trials)) {
            int got;
            size_t ci;
            s = next_cand(S, &src, &ci, &got);
            if (s != SL_OK) break;
            if (!got) {
                exhausted = 1;
                break;
            }
            if (!S->cands[ci].vi) has_baseline = 1;
            list[n++] = ci;
            taken++;
        }
        if (s != SL_OK || !n) break;
        n_bracket++;
        if (sc->strategy == SL_SEARCH_HALVING)
            say0(S, "bracket %zu: %zu candidates; %.0f s gone\n", n_bracket, n, now_s() - S->t0);
        for (size_t r = 0; r < S->n_rungs && s == SL_OK; r++) {
            if (sc->strategy == SL_SEARCH_HALVING)
                say0(S, " rung %zu: %zu candidates for %zu epochs\n", r + 1, n, S->rungs[r]);
            s = run_rung(S, list, n, S->rungs[r], &time_up);
            if (s != SL_OK || time_up || r + 1 == S->n_rungs) break;
            /* promote the best 1/eta (and the config as written, the reference) */
            size_t fin = 0;
            for (size_t i = 0; i < n; i++)
                if (val_at(S, list[i], S->rungs[r]) >= 0) list[fin++] = list[i];
            sort_by_val(S, list, fin, S->rungs[r]);
            size_t keep = (fin + sc->eta - 1) / sc->eta;
            if (keep < 1) keep = fin < 1 ? 0 : 1;
            for (size_t i = keep; i < fin && has_baseline; i++)
                if (!S->cands[list[i]].vi) {
                    size_t tmp = list[keep];
                    list[keep] = list[i];
                    list[i] = tmp;
                    keep++;
                    break;
                }
            n = keep;
            if (!n) break;
        }
        pick_best(S);
        if (s == SL_OK && S->rank == 0) s = sl_search_write_pages(S);
    }
    free(list);
    free(src.order);
    sl_dataset_free(src.ds);
    if (s == SL_OK) {
        pick_best(S);
        S->elapsed = now_s() - S->t0;
        if (time_up) say0(S, "time limit: no further trial fits in %.0f s\n", sc->time);
        else if (exhausted) say0(S, "every candidate tried\n");
        else say0(S, "search.trials (%zu) reached\n", sc->trials);
    }
    if (s == SL_OK && S->have_best && S->rank == 0) s = run_final(S);
    if (s == SL_OK && S->rank == 0) {
        S->elapsed = now_s() - S->t0;
        s = sl_search_write_pages(S);
    }
    if (s == SL_OK) s = barrier(S);
    res->time_up = time_up;
    return s;
}

sl_status sl_search_run(const sl_config *cfg, const sl_search_opts *opts, sl_search_result *res)
{
    if (!cfg || !opts || !opts->dir || !res) return sl_fail(SL_EARG, "sl_search_run: missing argument");
    memset(res, 0, sizeof *res);
    res->baseline_val = -1;
    search_state S;
    memset(&S, 0, sizeof S);
    S.cfg = cfg;
    S.opts = opts;
    S.rank = opts->comm ? opts->comm->rank : 0;
    S.size = opts->comm && opts->comm->size > 0 ? opts->comm->size : 1;
    S.t0 = now_s();
    S.test_acc = -1;
    sl_status s = search_body(&S, res);
    res->candidates = S.n_cands;
    for (size_t i = 0; i < S.n_cands; i++) res->over_budget += (size_t)S.cands[i].over;
    res->finished = S.n_trials;
    res->trained = S.n_trained;
    res->reused = S.n_reused;
    for (size_t i = 0; i < S.n_cands; i++)
        if (!S.cands[i].vi && S.cands[i].top_epochs == S.E) res->baseline_val = S.cands[i].top_val;
    res->have_best = S.have_best;
    if (S.have_best) {
        const search_cand *b = &S.cands[S.best];
        res->best = b->id;
        snprintf(res->best_changes, sizeof res->best_changes, "%s", b->changes);
        res->best_epochs = b->top_epochs;
        res->best_val = b->top_val;
        res->test_acc = S.test_acc;
        res->test_lo = S.test_lo;
        res->test_hi = S.test_hi;
        res->n_test = S.n_test;
        res->ram_bytes = b->ram;
        res->flash_bytes = b->flash;
        res->latency_s = b->latency;
        res->budget_pass = !b->over;
    }
    res->seconds = now_s() - S.t0;
    for (size_t k = 0; S.as_written && k < cfg->search.n_choices; k++) free(S.as_written[k]);
    free(S.as_written);
    for (size_t i = 0; i < S.n_cands; i++) free(S.cands[i].vi);
    free(S.cands);
    free(S.trials);
    free(S.base);
    return s;
}
