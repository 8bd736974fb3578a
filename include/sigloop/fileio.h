/* Files that matter are written atomically: to a temporary file in the same folder, flushed and
 * fsync'ed, then renamed over the target, and the folder fsync'ed. A reader sees the old file or
 * the new one, never a mix; a writer killed at any moment leaves the old file intact (and at worst
 * a stray "<name>.tmp.<pid>" file, which the next writer of that name removes once process <pid>
 * is gone). A process writes a given target through one sl_afile at a time. */
#ifndef SIGLOOP_FILEIO_H
#define SIGLOOP_FILEIO_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_afile sl_afile;

/* Opens a temporary file beside path for writing. On error *out is NULL. */
sl_status sl_afile_open(sl_afile **out, const char *path);
/* The stdio stream to write to (valid until commit or abort). */
FILE *sl_afile_stream(sl_afile *f);
/* Flushes, fsyncs, renames over the target, fsyncs the folder, frees f. On failure the target is
 * unchanged, the temporary file is removed and f is freed all the same. */
sl_status sl_afile_commit(sl_afile *f);
/* Removes the temporary file and frees f; NULL-safe. */
void sl_afile_abort(sl_afile *f);

/* Writes len bytes atomically to path. */
sl_status sl_write_file_atomic(const char *path, const void *data, size_t len);

/* Reads a whole file into a new buffer (NUL-terminated for convenience; *len excludes the NUL).
 * Files over max_len bytes are refused with SL_EFORMAT. Caller frees *data. */
sl_status sl_read_file(const char *path, size_t max_len, char **data, size_t *len);

/* Creates a folder and its parents (like mkdir -p). */
sl_status sl_mkdirs(const char *path);

/* Writes s as one CSV cell: as it is, or double-quoted with its quotes doubled when it holds a
 * comma, a quote or a line break (RFC 4180). */
void sl_csv_cell(FILE *f, const char *s);

#ifdef __cplusplus
}
#endif
#endif
