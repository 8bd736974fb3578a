/* Run directories and the SQLite runs index. */
#include "sigloop/runs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sigloop/fileio.h"

/* If entry is NAME-<digits>, its number; else -1. */
static long run_number(const char *entry, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(entry, name, n) != 0 || entry[n] != '-' || !entry[n + 1]) return -1;
    long v = 0;
    for (const char *p = entry + n + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* The highest number of ROOT/NAME-NNN (0 when none); SL_EIO when ROOT cannot be read. */
static sl_status highest(const char *root, const char *name, long *out)
{
    *out = 0;
    DIR *d = opendir(root);
    if (!d) {
        if (errno == ENOENT) return SL_OK;
        return sl_fail(SL_EIO, "%s: cannot read the folder: %s", root, strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long v = run_number(e->d_name, name);
        if (v > *out) *out = v;
    }
    closedir(d);
    return SL_OK;
}

sl_status sl_run_dir_next(const char *root, const char *name, char *out, size_t size)
{
    if (!name[0] || strchr(name, '/')) return sl_fail(SL_EARG, "run name '%s' must be a plain folder name", name);
    if (!out || !size) return sl_fail(SL_EARG, "run folder: no room for its path");
    SL_TRY(sl_mkdirs(root));
    long top;
    SL_TRY(highest(root, name, &top));
    for (long k = top + 1; k < top + 1000; k++) {
        int len = snprintf(out, size, "%s/%s-%03ld", root, name, k);
        if (len < 0 || (size_t)len >= size) return sl_fail(SL_EARG, "%s/%s-...: path too long", root, name);
        if (mkdir(out, 0777) == 0) return SL_OK;
        if (errno != EEXIST) return sl_fail(SL_EIO, "%s: cannot create the run folder: %s", out, strerror(errno));
    }
    return sl_fail(SL_EIO, "%s: no free run number after %s-%03ld", root, name, top);
}

sl_status sl_run_dir_latest(const char *root, const char *name, char *out, size_t size)
{
    long top;
    SL_TRY(highest(root, name, &top));
    if (top == 0) return sl_fail(SL_EARG, "no run of %s in %s to resume", name, root);
    int len = snprintf(out, size, "%s/%s-%03ld", root, name, top);
    if (len < 0 || (size_t)len >= size) return sl_fail(SL_EARG, "%s/%s-...: path too long", root, name);
    return SL_OK;
}

/* The table, and the columns added since its first version (added to an older file when it is
 * opened for writing: ALTER TABLE ... ADD COLUMN, a duplicate ignored). */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS runs ("
    " dir TEXT PRIMARY KEY, name TEXT NOT NULL, finished TEXT NOT NULL, config_hash TEXT NOT NULL,"
    " arch TEXT, params INTEGER, macs INTEGER, epochs INTEGER, best_epoch INTEGER,"
    " val_acc REAL, test_acc REAL, n_test INTEGER, seconds REAL, samples_per_s REAL, status TEXT)";
static const char *const added[] = {
    "started TEXT", "pid INTEGER", "host TEXT", "source TEXT", "macro_f1 REAL", "test_lo REAL", "test_hi REAL",
    "target TEXT", "ram_bytes INTEGER", "flash_bytes INTEGER", "latency_s REAL", "energy_mj REAL",
    "budget_pass INTEGER",
};

/* Every field of r; a NaN or negative number, a NULL string or a zero size is "not known": it
 * leaves what the row holds (COALESCE), so a run recorded at its start keeps its start when its
 * results come, and an analysis can add its figures later. */
static const char upsert[] =
    "INSERT INTO runs (dir, name, finished, config_hash, arch, params, macs, epochs, best_epoch, val_acc, test_acc,"
    " n_test, seconds, samples_per_s, status, started, pid, host, source, macro_f1, test_lo, test_hi, target,"
    " ram_bytes, flash_bytes, latency_s, energy_mj, budget_pass)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,"
    " ?23, ?24, ?25, ?26, ?27, ?28)"
    " ON CONFLICT(dir) DO UPDATE SET name = excluded.name, finished = COALESCE(NULLIF(excluded.finished, ''),"
    " runs.finished), config_hash = excluded.config_hash, arch = COALESCE(excluded.arch, runs.arch),"
    " params = COALESCE(excluded.params, runs.params), macs = COALESCE(excluded.macs, runs.macs),"
    " epochs = COALESCE(excluded.epochs, runs.epochs), best_epoch = COALESCE(excluded.best_epoch, runs.best_epoch),"
    " val_acc = COALESCE(excluded.val_acc, runs.val_acc), test_acc = COALESCE(excluded.test_acc, runs.test_acc),"
    " n_test = COALESCE(excluded.n_test, runs.n_test), seconds = COALESCE(excluded.seconds, runs.seconds),"
    " samples_per_s = COALESCE(excluded.samples_per_s, runs.samples_per_s),"
    " status = COALESCE(excluded.status, runs.status), started = COALESCE(runs.started, excluded.started),"
    " pid = COALESCE(excluded.pid, runs.pid), host = COALESCE(excluded.host, runs.host),"
    " source = COALESCE(excluded.source, runs.source), macro_f1 = COALESCE(excluded.macro_f1, runs.macro_f1),"
    " test_lo = COALESCE(excluded.test_lo, runs.test_lo), test_hi = COALESCE(excluded.test_hi, runs.test_hi),"
    " target = COALESCE(excluded.target, runs.target), ram_bytes = COALESCE(excluded.ram_bytes, runs.ram_bytes),"
    " flash_bytes = COALESCE(excluded.flash_bytes, runs.flash_bytes),"
    " latency_s = COALESCE(excluded.latency_s, runs.latency_s), energy_mj = COALESCE(excluded.energy_mj, runs.energy_mj),"
    " budget_pass = COALESCE(excluded.budget_pass, runs.budget_pass)";

sl_run_record sl_run_record_blank(void)
{
    return (sl_run_record){.val_acc = NAN, .test_acc = NAN, .seconds = NAN, .samples_per_s = NAN, .macro_f1 = NAN,
                           .test_lo = NAN, .test_hi = NAN, .latency_s = NAN, .energy_mj = NAN, .budget_pass = -1};
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}
static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (v >= 0 && isfinite(v)) sqlite3_bind_double(st, i, v);
    else sqlite3_bind_null(st, i);
}
static void bind_count(sqlite3_stmt *st, int i, size_t v)
{
    if (v) sqlite3_bind_int64(st, i, (sqlite3_int64)v);
    else sqlite3_bind_null(st, i);
}

static void utc_now(char *stamp, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static sl_status open_index(const char *db_path, int write, sqlite3 **db)
{
    *db = NULL;
    int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(db_path, db, flags, NULL) != SQLITE_OK) {
        sl_status s = sl_fail(SL_EIO, "%s: cannot open the runs index: %s", db_path, *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return s;
    }
    sqlite3_busy_timeout(*db, 10000);
    return SL_OK;
}

/* The table, migrated; inside the caller's transaction. */
static int ensure_schema(sqlite3 *db)
{
    int rc = sqlite3_exec(db, schema, NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof added / sizeof *added; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE runs ADD COLUMN %s", added[i]);
        char *err = NULL;
        int r = sqlite3_exec(db, sql, NULL, NULL, &err);
        if (r != SQLITE_OK && !(err && strstr(err, "duplicate column"))) rc = r;
        sqlite3_free(err);
    }
    return rc;
}

sl_status sl_run_index_add(const char *db_path, const sl_run_record *r)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    SL_TRY(open_index(db_path, 1, &db));
    char stamp[32], host[256] = "";
    utc_now(stamp, sizeof stamp);
    gethostname(host, sizeof host - 1);
    int running = r->status && strcmp(r->status, "running") == 0;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = ensure_schema(db);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, upsert, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        bind_text(st, 1, r->dir);
        bind_text(st, 2, r->name);
        bind_text(st, 3, running ? "" : stamp);
        bind_text(st, 4, r->config_hash ? r->config_hash : "");
        bind_text(st, 5, r->arch);
        bind_count(st, 6, r->params);
        bind_count(st, 7, r->macs);
        bind_count(st, 8, r->epochs);
        bind_count(st, 9, r->best_epoch);
        bind_real(st, 10, r->val_acc);
        bind_real(st, 11, r->test_acc);
        bind_count(st, 12, r->n_test);
        bind_real(st, 13, running ? -1 : r->seconds);
        bind_real(st, 14, running ? -1 : r->samples_per_s);
        bind_text(st, 15, r->status);
        bind_text(st, 16, stamp);
        if (running) sqlite3_bind_int64(st, 17, (sqlite3_int64)getpid());
        else sqlite3_bind_null(st, 17);
        bind_text(st, 18, running ? host : NULL);
        bind_text(st, 19, r->source);
        bind_real(st, 20, r->macro_f1);
        bind_real(st, 21, r->test_lo);
        bind_real(st, 22, r->test_hi);
        bind_text(st, 23, r->target);
        bind_count(st, 24, r->ram_bytes);
        bind_count(st, 25, r->flash_bytes);
        bind_real(st, 26, r->latency_s);
        bind_real(st, 27, r->energy_mj);
        if (r->budget_pass >= 0) sqlite3_bind_int(st, 28, r->budget_pass);
        else sqlite3_bind_null(st, 28);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sl_status s = SL_OK;
    if (rc != SQLITE_OK) {
        s = sl_fail(SL_EIO, "%s: cannot record the run: %s", db_path, sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

int sl_run_alive(long pid, const char *host)
{
    char me[256] = "";
    gethostname(me, sizeof me - 1);
    if (!host || strcmp(host, me) != 0) return -1; /* another machine's: cannot tell */
    if (pid <= 0) return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* The columns --sort and --where may name, with the SQL they stand for. */
static const struct {
    const char *name, *sql;
    int descending; /* sorting: larger first (accuracies) */
} columns[] = {
    {"run", "dir", 0},          {"started", "started", 0}, {"finished", "finished", 0}, {"arch", "arch", 0},
    {"params", "params", 0},     {"macs", "macs", 0},       {"epochs", "epochs", 1},     {"val_acc", "val_acc", 1},
    {"test_acc", "test_acc", 1}, {"macro_f1", "macro_f1", 1}, {"seconds", "seconds", 0},
    {"samples_per_s", "samples_per_s", 1}, {"status", "status", 0}, {"ram", "ram_bytes", 0},
    {"flash", "flash_bytes", 0}, {"latency", "latency_s", 0}, {"energy", "energy_mj", 0},
    {"budget_pass", "budget_pass", 1}, {"name", "name", 0}, {"source", "source", 0}, {"target", "target", 0},
};

static int column_of(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof columns / sizeof *columns; i++)
        if (strlen(columns[i].name) == len && strncmp(columns[i].name, name, len) == 0) return (int)i;
    return -1;
}

static void column_list(char *buf, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; i < sizeof columns / sizeof *columns && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? ", " : "", columns[i].name);
}

/* --where: COLUMN OP VALUE [and COLUMN OP VALUE ...], OP one of < <= > >= = != (a value: a number,
 * or a word for the text columns); written as SQL with the values bound, never spliced. */
typedef struct {
    char sql[2048];
    char values[16][256];
    int is_num[16];
    double num[16];
    int n;
} where_clause;

static sl_status parse_where(const char *w, where_clause *out)
{
    memset(out, 0, sizeof *out);
    size_t k = 0;
    const char *p = w;
    char cols[512];
    while (*p) {
        while (*p == ' ') p++;
        const char *c0 = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '_')) p++;
        int col = column_of(c0, (size_t)(p - c0));
        if (col < 0) {
            column_list(cols, sizeof cols);
            return sl_fail(SL_EARG, "--where '%s': '%.*s' is not a column (one of: %s)", w, (int)(p - c0), c0, cols);
        }
        while (*p == ' ') p++;
        static const char *const ops[] = {"<=", ">=", "!=", "<", ">", "="};
        const char *op = NULL;
        for (size_t i = 0; i < 6 && !op; i++)
            if (strncmp(p, ops[i], strlen(ops[i])) == 0) op = ops[i];
        if (!op) return sl_fail(SL_EARG, "--where '%s': expected one of < <= > >= = != after %s", w, columns[col].name);
        p += strlen(op);
        while (*p == ' ') p++;
        const char *v0 = p;
        while (*p && *p != ' ') p++;
        if (p == v0) return sl_fail(SL_EARG, "--where '%s': a value is missing after %s %s", w, columns[col].name, op);
        if (out->n == 16) return sl_fail(SL_EARG, "--where '%s': at most 16 conditions", w);
        snprintf(out->values[out->n], sizeof out->values[out->n], "%.*s", (int)(p - v0), v0);
        char *end;
        out->num[out->n] = strtod(out->values[out->n], &end);
        out->is_num[out->n] = !*end;
        k += (size_t)snprintf(out->sql + k, sizeof out->sql - k, "%s%s %s ?%d", out->n ? " AND " : "", columns[col].sql,
                              op, out->n + 1);
        out->n++;
        while (*p == ' ') p++;
        if (!*p) break;
        if (strncasecmp(p, "and ", 4) != 0) return sl_fail(SL_EARG, "--where '%s': join conditions with 'and'", w);
        p += 4;
    }
    if (!out->n) return sl_fail(SL_EARG, "--where: empty");
    return SL_OK;
}

sl_status sl_run_index_print(const char *db_path, FILE *out)
{
    return sl_run_index_list(db_path, NULL, NULL, out);
}

sl_status sl_run_index_list(const char *db_path, const char *sort, const char *where, FILE *out)
{
    struct stat sb;
    if (stat(db_path, &sb) != 0) return sl_fail(SL_EIO, "%s: no runs index here (train a model first)", db_path);
    char order[128] = "started, finished, dir";
    if (sort) {
        int col = column_of(sort, strlen(sort));
        if (col < 0) {
            char cols[512];
            column_list(cols, sizeof cols);
            return sl_fail(SL_EARG, "--sort %s: not a column (one of: %s)", sort, cols);
        }
        snprintf(order, sizeof order, "%s IS NULL, %s %s, dir", columns[col].sql, columns[col].sql,
                 columns[col].descending ? "DESC" : "ASC");
    }
    where_clause wc;
    if (where) SL_TRY(parse_where(where, &wc));
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    SL_TRY(open_index(db_path, 0, &db));
    /* an index written before the added columns lacks them: read it through a view that has them */
    int has_new = sqlite3_exec(db, "SELECT started FROM runs LIMIT 0", NULL, NULL, NULL) == SQLITE_OK;
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT dir, arch, params, macs, epochs, best_epoch, val_acc, test_acc, seconds, samples_per_s, status,"
             " %s, substr(config_hash, 1, 8) FROM %s%s%s ORDER BY %s",
             has_new ? "pid, host, ram_bytes, latency_s, budget_pass" : "NULL, NULL, NULL, NULL, NULL",
             has_new ? "runs" : "(SELECT *, NULL AS started, NULL AS ram_bytes, NULL AS latency_s, NULL AS flash_bytes,"
                                " NULL AS energy_mj, NULL AS budget_pass, NULL AS macro_f1, NULL AS source,"
                                " NULL AS target, NULL AS pid, NULL AS host FROM runs)",
             where ? " WHERE " : "", where ? wc.sql : "", order);
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sl_status s = sl_fail(SL_EFORMAT, "%s: not a runs index: %s", db_path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return s;
    }
    for (int i = 0; where && i < wc.n; i++) {
        if (wc.is_num[i]) sqlite3_bind_double(st, i + 1, wc.num[i]);
        else sqlite3_bind_text(st, i + 1, wc.values[i], -1, SQLITE_TRANSIENT);
    }
    fprintf(out, "%-24s %-10s %9s %12s %6s %5s %7s %7s %8s %9s %9s %9s %-13s %s\n", "run", "arch", "params", "MACs",
            "epochs", "best", "val %", "test %", "seconds", "samples/s", "RAM", "latency", "status", "config");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char val[16] = "-", test[16] = "-", ram[24] = "-", lat[24] = "-", status[32];
        if (sqlite3_column_type(st, 6) != SQLITE_NULL) snprintf(val, sizeof val, "%.1f", 100 * sqlite3_column_double(st, 6));
        if (sqlite3_column_type(st, 7) != SQLITE_NULL) snprintf(test, sizeof test, "%.1f", 100 * sqlite3_column_double(st, 7));
        if (sqlite3_column_type(st, 13) != SQLITE_NULL)
            snprintf(ram, sizeof ram, "%.1fK", (double)sqlite3_column_int64(st, 13) / 1024);
        if (sqlite3_column_type(st, 14) != SQLITE_NULL)
            snprintf(lat, sizeof lat, "%.1fms", 1e3 * sqlite3_column_double(st, 14));
        const char *stv = (const char *)sqlite3_column_text(st, 10);
        snprintf(status, sizeof status, "%s", stv ? stv : "done");
        if (strcmp(status, "running") == 0 &&
            sl_run_alive(sqlite3_column_int64(st, 11), (const char *)sqlite3_column_text(st, 12)) == 0)
            snprintf(status, sizeof status, "killed");
        if (sqlite3_column_type(st, 15) != SQLITE_NULL && sqlite3_column_int(st, 15) == 0 &&
            strcmp(status, "over budget") != 0) {
            size_t l = strlen(status);
            snprintf(status + l, sizeof status - l, ",over");
        }
        for (char *c = status; *c; c++)
            if (*c == ' ') *c = '-'; /* one word a column, for awk */
        fprintf(out, "%-24s %-10s %9lld %12lld %6lld %5lld %7s %7s %8.1f %9.0f %9s %9s %-13s %s\n",
                (const char *)sqlite3_column_text(st, 0), sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "-",
                (long long)sqlite3_column_int64(st, 2), (long long)sqlite3_column_int64(st, 3),
                (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5), val, test,
                sqlite3_column_double(st, 8), sqlite3_column_double(st, 9), ram, lat, status,
                (const char *)sqlite3_column_text(st, 16));
    }
    sl_status s = SL_OK;
    if (rc != SQLITE_DONE) s = sl_fail(SL_EFORMAT, "%s: cannot read the runs index: %s", db_path, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}
