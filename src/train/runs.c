/* Run directories and the SQLite runs index. */
#include "sigloop/runs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS runs ("
    " dir TEXT PRIMARY KEY, name TEXT NOT NULL, finished TEXT NOT NULL, config_hash TEXT NOT NULL,"
    " arch TEXT, params INTEGER, macs INTEGER, epochs INTEGER, best_epoch INTEGER,"
    " val_acc REAL, test_acc REAL, n_test INTEGER, seconds REAL, samples_per_s REAL, status TEXT)";

static const char insert[] =
    "INSERT OR REPLACE INTO runs (dir, name, finished, config_hash, arch, params, macs, epochs, best_epoch,"
    " val_acc, test_acc, n_test, seconds, samples_per_s, status)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

sl_status sl_run_index_add(const char *db_path, const sl_run_record *r)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    sl_status s = SL_OK;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        s = sl_fail(SL_EIO, "%s: cannot open the runs index: %s", db_path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return s;
    }
    sqlite3_busy_timeout(db, 5000);
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, schema, NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, insert, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, r->dir, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, r->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, stamp, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, r->config_hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, r->arch, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)r->params);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)r->macs);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)r->epochs);
        sqlite3_bind_int64(st, 9, (sqlite3_int64)r->best_epoch);
        if (r->val_acc >= 0) sqlite3_bind_double(st, 10, r->val_acc);
        else sqlite3_bind_null(st, 10);
        if (r->test_acc >= 0) sqlite3_bind_double(st, 11, r->test_acc);
        else sqlite3_bind_null(st, 11);
        sqlite3_bind_int64(st, 12, (sqlite3_int64)r->n_test);
        sqlite3_bind_double(st, 13, r->seconds);
        sqlite3_bind_double(st, 14, r->samples_per_s);
        sqlite3_bind_text(st, 15, r->status, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        s = sl_fail(SL_EIO, "%s: cannot record the run: %s", db_path, sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

sl_status sl_run_index_print(const char *db_path, FILE *out)
{
    struct stat sb;
    if (stat(db_path, &sb) != 0) return sl_fail(SL_EIO, "%s: no runs index here (train a model first)", db_path);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sl_status s = sl_fail(SL_EIO, "%s: cannot open the runs index: %s", db_path, db ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return s;
    }
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_prepare_v2(db,
                                "SELECT dir, arch, params, macs, epochs, best_epoch, val_acc, test_acc, seconds, "
                                "samples_per_s, substr(config_hash, 1, 8) FROM runs ORDER BY finished, dir",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sl_status s = sl_fail(SL_EFORMAT, "%s: not a runs index: %s", db_path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return s;
    }
    fprintf(out, "%-24s %-10s %9s %12s %6s %5s %7s %7s %8s %9s  %s\n", "run", "arch", "params", "MACs", "epochs",
            "best", "val %", "test %", "seconds", "samples/s", "config");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char val[16] = "-", test[16] = "-";
        if (sqlite3_column_type(st, 6) != SQLITE_NULL) snprintf(val, sizeof val, "%.1f", 100 * sqlite3_column_double(st, 6));
        if (sqlite3_column_type(st, 7) != SQLITE_NULL) snprintf(test, sizeof test, "%.1f", 100 * sqlite3_column_double(st, 7));
        fprintf(out, "%-24s %-10s %9lld %12lld %6lld %5lld %7s %7s %8.1f %9.0f  %s\n",
                (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
                (long long)sqlite3_column_int64(st, 2), (long long)sqlite3_column_int64(st, 3),
                (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5), val, test,
                sqlite3_column_double(st, 8), sqlite3_column_double(st, 9), (const char *)sqlite3_column_text(st, 10));
    }
    sl_status s = SL_OK;
    if (rc != SQLITE_DONE) s = sl_fail(SL_EFORMAT, "%s: cannot read the runs index: %s", db_path, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}
