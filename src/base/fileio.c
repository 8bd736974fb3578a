/* Atomic writes (temp file + fsync + rename + fsync of the folder), whole-file reads, mkdir -p. */
#include "sigloop/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sl_afile {
    FILE *f;
    char *path;  /* the target */
    char *tmp;   /* "<path>.tmp.<pid>" */
};

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

sl_status sl_afile_open(sl_afile **out, const char *path)
{
    *out = NULL;
    sl_afile *a = calloc(1, sizeof *a);
    if (!a) return sl_fail(SL_ENOMEM, "out of memory");
    size_t len = strlen(path) + 32;
    a->path = strdup(path);
    a->tmp = malloc(len);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        free(a);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    snprintf(a->tmp, len, "%s.tmp.%ld", path, (long)getpid());
    /* A stray temp file of a killed writer with our pid (pids are reused) is stale: remove it. */
    unlink(a->tmp);
    int fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 || !(a->f = fdopen(fd, "w"))) {
        int err = errno;
        if (fd >= 0) {
            close(fd);
            unlink(a->tmp);
        }
        sl_status s = sl_fail(SL_EIO, "%s: cannot write: %s", path, strerror(err));
        free(a->path);
        free(a->tmp);
        free(a);
        return s;
    }
    *out = a;
    return SL_OK;
}

FILE *sl_afile_stream(sl_afile *f) { return f->f; }

static void afile_release(sl_afile *a)
{
    free(a->path);
    free(a->tmp);
    free(a);
}

void sl_afile_abort(sl_afile *a)
{
    if (!a) return;
    if (a->f) fclose(a->f);
    unlink(a->tmp);
    afile_release(a);
}

sl_status sl_afile_commit(sl_afile *a)
{
    sl_status s = SL_OK;
    int err = 0;
    if (fflush(a->f) != 0 || ferror(a->f)) err = errno ? errno : EIO;
    else if (fsync(fileno(a->f)) != 0) err = errno;
    if (fclose(a->f) != 0 && !err) err = errno;
    a->f = NULL;
    if (!err && rename(a->tmp, a->path) != 0) err = errno;
    if (err) {
        s = sl_fail(SL_EIO, "%s: cannot write: %s", a->path, strerror(err));
        unlink(a->tmp);
        afile_release(a);
        return s;
    }
    /* The rename is durable only once the folder's entry is on disk. */
    char *dir = dir_of(a->path);
    if (dir) {
        int fd = open(dir, O_RDONLY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        free(dir);
    }
    afile_release(a);
    return SL_OK;
}

sl_status sl_write_file_atomic(const char *path, const void *data, size_t len)
{
    sl_afile *a;
    SL_TRY(sl_afile_open(&a, path));
    if (len && fwrite(data, 1, len, a->f) != len) {
        int err = errno;
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
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    sl_status s = buf ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    while (s == SL_OK) {
        if (n == cap) {
            if (cap > max_len) {
                s = sl_fail(SL_EFORMAT, "%s: larger than %zu bytes", path, max_len);
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
            if (ferror(f)) s = sl_fail(SL_EIO, "%s: read error: %s", path, strerror(errno));
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

sl_status sl_mkdirs(const char *path)
{
    if (!*path) return sl_fail(SL_EARG, "empty folder name");
    char *p = strdup(path);
    if (!p) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = SL_OK;
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != '\0') continue;
        char saved = *c;
        *c = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            s = sl_fail(SL_EIO, "%s: cannot create folder: %s", p, strerror(errno));
        } else {
            struct stat sb;
            if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
                s = sl_fail(SL_EIO, "%s: cannot create folder: not a folder", p);
        }
        *c = saved;
        if (s != SL_OK || saved == '\0') break;
    }
    free(p);
    return s;
}
