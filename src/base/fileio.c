/* Atomic writes (temp file + fsync + rename + fsync of the folder), whole-file reads, mkdir -p.
 *
 * Why each step of a commit is there:
 *   fflush      stdio's buffer reaches the kernel;
 *   fsync       the kernel's pages reach the disk before the rename can, so a crash never leaves
 *               the new name pointing at an empty or partial file (ext4 and xfs may otherwise
 *               order the rename first);
 *   rename      replaces the target in one step: readers see the old inode or the new one;
 *   fsync(dir)  the rename itself is durable, not just the data.
 * A writer killed before rename leaves its temporary file behind; the next sl_afile_open of the
 * same target removes temporary files whose writer no longer exists. */
#include "sigloop/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

struct sl_afile {
    FILE *f;
    char *path;  /* the target */
    char *tmp;   /* "<path>.tmp.<pid>" */
    char *dir;   /* the target's folder, fsync'ed after the rename */
};

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The pid in "<base>.tmp.<pid>", or 0 if name is not such a file. */
static long temp_pid(const char *name, const char *base)
{
    size_t nb = strlen(base);
    if (strncmp(name, base, nb) != 0 || strncmp(name + nb, ".tmp.", 5) != 0) return 0;
    const char *d = name + nb + 5;
    if (*d < '1' || *d > '9') return 0;
    long pid = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9' || pid > 99999999) return 0;
        pid = pid * 10 + (*d - '0');
    }
    return pid;
}

/* Removes the temporary files of earlier writers of base in dir that are gone (killed, crashed).
 * A file is removed only when its pid is ours (a reused pid: our own writer is not running, since
 * one process writes one target at a time) or kill(pid, 0) says no such process; a live writer's
 * file is left alone. Best effort: an unreadable folder is reported by the open that follows. */
static void remove_stale_temps(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d) return;
    long self = (long)getpid();
    size_t nd = strlen(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = temp_pid(e->d_name, base);
        if (pid == 0) continue;
        if (pid != self && !(kill((pid_t)pid, 0) != 0 && errno == ESRCH)) continue;
        size_t len = nd + 1 + strlen(e->d_name) + 1;
        char *full = malloc(len);
        if (!full) break; /* only housekeeping: the write itself may still succeed */
        snprintf(full, len, "%s/%s", dir, e->d_name);
        unlink(full);
        free(full);
    }
    closedir(d);
}

static void afile_release(sl_afile *a)
{
    free(a->path);
    free(a->tmp);
    free(a->dir);
    free(a);
}

sl_status sl_afile_open(sl_afile **out, const char *path)
{
    *out = NULL;
    if (!path || !*path) return sl_fail(SL_EARG, "empty file name");
    sl_afile *a = calloc(1, sizeof *a);
    if (!a) return sl_fail(SL_ENOMEM, "out of memory");
    size_t len = strlen(path) + 32;
    a->path = strdup(path);
    a->tmp = malloc(len);
    a->dir = dir_of(path);
    if (!a->path || !a->tmp || !a->dir) {
        afile_release(a);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    snprintf(a->tmp, len, "%s.tmp.%ld", path, (long)getpid());
    remove_stale_temps(a->dir, base_of(path));
    /* O_EXCL: never write through a file (or symlink) someone else put at our temporary name.
     * O_CLOEXEC: a child this process starts must not keep the unfinished file open. */
    int fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || !(a->f = fdopen(fd, "w"))) {
        int err = errno;
        if (fd >= 0) {
            close(fd);
            unlink(a->tmp);
        }
        sl_status s = sl_fail(SL_EIO, "%s: cannot write: %s", path, strerror(err));
        afile_release(a);
        return s;
    }
    *out = a;
    return SL_OK;
}

FILE *sl_afile_stream(sl_afile *f) { return f->f; }

void sl_afile_abort(sl_afile *a)
{
    if (!a) return;
    if (a->f) fclose(a->f);
    unlink(a->tmp);
    afile_release(a);
}

/* Makes the rename durable. Best effort by design: once rename has returned, the target is the
 * new file, so a failure here cannot honour "on failure the target is unchanged"; and several
 * filesystems refuse fsync on a folder (EINVAL) although their renames are durable anyway. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

sl_status sl_afile_commit(sl_afile *a)
{
    int err = 0;
    /* An earlier failed write leaves the error flag set, and by now errno may describe something
     * else; report EIO then rather than a stale errno. */
    int had_error = ferror(a->f);
    errno = 0;
    if (fflush(a->f) != 0) err = errno ? errno : EIO;
    else if (had_error) err = EIO;
    else if (fsync(fileno(a->f)) != 0) err = errno;
    if (fclose(a->f) != 0 && !err) err = errno ? errno : EIO;
    a->f = NULL;
    if (!err && rename(a->tmp, a->path) != 0) err = errno;
    if (err) {
        sl_status s = sl_fail(SL_EIO, "%s: cannot write: %s", a->path, strerror(err));
        unlink(a->tmp);
        afile_release(a);
        return s;
    }
    sync_dir(a->dir);
    afile_release(a);
    return SL_OK;
}

sl_status sl_write_file_atomic(const char *path, const void *data, size_t len)
{
    sl_afile *a;
    SL_TRY(sl_afile_open(&a, path));
    if (len && fwrite(data, 1, len, a->f) != len) {
        int err = errno ? errno : EIO;
        sl_afile_abort(a);
        return sl_fail(SL_EIO, "%s: cannot write: %s", path, strerror(err));
    }
    return sl_afile_commit(a);
}

sl_status sl_read_file(const char *path, size_t max_len, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    /* Grown by doubling rather than sized by stat: pipes and /proc files have no size, and a file
     * may grow while we read. The buffer never grows much beyond max_len. */
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    sl_status s = buf ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    while (s == SL_OK) {
        if (n == cap) {
            if (cap > max_len) break; /* refused below */
            if (cap > ((size_t)-1 - 1) / 2) {
                s = sl_fail(SL_ENOMEM, "%s: too large to read", path);
                break;
            }
            char *t = realloc(buf, 2 * cap + 1);
            if (!t) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            buf = t;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) s = sl_fail(SL_EIO, "%s: read error: %s", path, strerror(errno ? errno : EIO));
            break;
        }
    }
    fclose(f);
    if (s == SL_OK && n > max_len) s = sl_fail(SL_EFORMAT, "%s: larger than %zu bytes", path, max_len);
    if (s != SL_OK) {
        free(buf);
        return s;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return SL_OK;
}

/* One component: fine if it is (or becomes) a folder. mkdir's error is checked after stat because
 * an existing folder may give EROFS or EACCES (a read-only mount) instead of EEXIST. */
static sl_status make_one(const char *p)
{
    if (mkdir(p, 0755) == 0) return SL_OK;
    int err = errno;
    struct stat sb;
    if (stat(p, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return SL_OK;
        return sl_fail(SL_EIO, "%s: cannot create folder: not a folder", p);
    }
    return sl_fail(SL_EIO, "%s: cannot create folder: %s", p, strerror(err));
}

sl_status sl_mkdirs(const char *path)
{
    if (!path || !*path) return sl_fail(SL_EARG, "empty folder name");
    char *p = strdup(path);
    if (!p) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = SL_OK;
    /* Each prefix ending before a '/' and then the whole path; a leading '/' is no component. */
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != '\0') continue;
        char saved = *c;
        *c = '\0';
        if (c[-1] != '/') s = make_one(p); /* skip the empty components of "a//b" */
        *c = saved;
        if (s != SL_OK || saved == '\0') break;
    }
    free(p);
    return s;
}

void sl_csv_cell(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
