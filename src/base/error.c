/* Per-thread error messages. A thread-local buffer keeps failures on loader and pool threads
 * from overwriting each other without any locking. */
#include "sigloop/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SL_ERROR_MAX 1024

static _Thread_local char tls_message[SL_ERROR_MAX];

const char *sl_last_error(void) { return tls_message; }

const char *sl_status_name(sl_status s)
{
    switch (s) {
    case SL_OK: return "ok";
    case SL_EARG: return "invalid argument";
    case SL_ENOMEM: return "out of memory";
    case SL_EIO: return "I/O error";
    case SL_EFORMAT: return "malformed file";
    case SL_ECONFIG: return "invalid config";
    case SL_EBUDGET: return "over budget";
    case SL_EINTERNAL: return "internal error";
    }
    return "unknown status";
}

sl_status sl_fail(sl_status s, const char *fmt, ...)
{
    /* Through a local buffer, so a caller may pass sl_last_error() itself as an argument. */
    char msg[SL_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(tls_message, msg, sizeof msg);
    return s;
}

void sl_error_prefix(const char *fmt, ...)
{
    char prefix[SL_ERROR_MAX];
    char old[SL_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tls_message, sizeof old);
    /* prefix, ": ", old message; truncated to the buffer (strlen checks keep gcc's
     * format-truncation analysis out of it) */
    size_t lp = strlen(prefix), lo = strlen(old), k = 0;
    if (lp > SL_ERROR_MAX - 1) lp = SL_ERROR_MAX - 1;
    memcpy(tls_message, prefix, lp);
    k = lp;
    for (const char *sep = ": "; *sep && k < SL_ERROR_MAX - 1; sep++) tls_message[k++] = *sep;
    if (lo > SL_ERROR_MAX - 1 - k) lo = SL_ERROR_MAX - 1 - k;
    memcpy(tls_message + k, old, lo);
    tls_message[k + lo] = '\0';
}

void sl_error_clear(void) { tls_message[0] = '\0'; }
