/* sigloop base: status codes and the per-thread error message.
 *
 * Every library function that can fail returns an sl_status; SL_OK (0) is success. On failure the
 * function has set a one-line message, readable with sl_last_error() on the same thread until the
 * next failure on that thread. Messages name what is wrong and where: a file, a line and column,
 * a config field ("fsdd.yaml:12:3: data.split.val_fraction: must be in [0, 1)").
 * The library never exits and never prints on its own; the caller decides what to show. */
#ifndef SIGLOOP_BASE_H
#define SIGLOOP_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SL_OK = 0,
    SL_EARG,     /* a bad argument or parameter value */
    SL_ENOMEM,   /* an allocation failed */
    SL_EIO,      /* a file could not be opened, read or written */
    SL_EFORMAT,  /* a file's contents are malformed (audio, CSV, YAML, model) */
    SL_ECONFIG,  /* a config file is invalid (unknown key, wrong type, out of range) */
    SL_EBUDGET,  /* a model is over its device budget */
    SL_EINTERNAL /* a broken invariant: a bug in sigloop */
} sl_status;

/* The message of the last failure on this thread ("" if none). Valid until the next failure. */
const char *sl_last_error(void);

/* A short name for a status ("invalid argument", "I/O error", ...). */
const char *sl_status_name(sl_status s);

/* Sets this thread's message (printf-style, truncated to 1 KiB) and returns s, so callers can
 * write `return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));`. */
sl_status sl_fail(sl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefixes this thread's current message with "prefix: " (for adding context on the way up). */
void sl_error_prefix(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Clears this thread's message. */
void sl_error_clear(void);

#define SL_TRY(e)                       \
    do {                                \
        sl_status s_ = (e);             \
        if (s_ != SL_OK) return s_;     \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
