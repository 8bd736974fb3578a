/* A progress bar on stderr for long work: label, bar, done/total, rate and ETA.
 *
 *   data  [##########--------]  1840/3000  1234 files/s  ETA 0.9s
 *
 * It draws only when its stream is a terminal (or when forced, for tests), at most ~10 times a
 * second, and clears its line when finished. sl_progress_add is safe from several threads. */
#ifndef SIGLOOP_PROGRESS_H
#define SIGLOOP_PROGRESS_H

#include <stdio.h>
#include <stdint.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_progress sl_progress;

typedef struct {
    const char *label;  /* shown first, e.g. "data" */
    const char *unit;   /* for the rate, e.g. "files" */
    FILE *stream;       /* NULL: stderr */
    int force;          /* 1: draw even when stream is not a terminal; -1: never draw */
} sl_progress_opts;

/* On error *out is NULL. A bar with total 0 draws no bar, only the count and rate. */
sl_status sl_progress_new(sl_progress **out, const sl_progress_opts *opts, uint64_t total);
/* Adds n finished units; thread-safe. */
void sl_progress_add(sl_progress *p, uint64_t n);
/* Text shown after the ETA (e.g. "loss 0.42"); thread-safe; copied. */
void sl_progress_note(sl_progress *p, const char *note);
/* Clears the line (if one was drawn) and frees p; NULL-safe. */
void sl_progress_free(sl_progress *p);
/* 1 if this bar draws at all. */
int sl_progress_active(const sl_progress *p);

/* Renders one line into buf (no ANSI, no newline) for given numbers; used by the bar and by tests.
 * elapsed in seconds. Returns buf. */
char *sl_progress_format(char *buf, size_t size, const char *label, const char *unit,
                         uint64_t done, uint64_t total, double elapsed, const char *note);

#ifdef __cplusplus
}
#endif
#endif
