/* File-name patterns such as "{label}_{group}_{take}.wav": literal text and named fields.
 *
 * A field matches one or more characters other than '/'; literals match themselves exactly
 * (case-sensitive). Matching backtracks, and the first split found with the shortest fields from
 * the left wins, so "{label}_{group}_{take}.wav" on "0_van_dyke_3.wav" gives label "0",
 * group "van", take "dyke_3"; write a distinct separator where names may contain it.
 * "{_}" matches like a field but is not captured. A pattern without '/' is matched against the
 * file's base name, a pattern with '/' against its path relative to the data root. */
#ifndef SIGLOOP_DATA_PATTERN_H
#define SIGLOOP_DATA_PATTERN_H

#include <stddef.h>

#include "sigloop/base.h"

#define SL_PATTERN_MAX_FIELDS 16
#define SL_PATTERN_MAX_PARTS 33

typedef struct {
    /* parts alternate freely between literals and fields */
    struct {
        int is_field;  /* 1: a field; 0: a literal */
        int capture;   /* fields: 1 if captured (not "{_}") */
        char *text;    /* literal text, or the field's name */
    } part[SL_PATTERN_MAX_PARTS];
    size_t n_parts;
    char *names[SL_PATTERN_MAX_FIELDS]; /* captured field names in order of appearance */
    size_t n_names;
    int has_slash;     /* match against the relative path instead of the base name */
} sl_pattern;

/* Compiles text. Errors (SL_EARG) read "unclosed '{' at column 9", "empty field name at column 3",
 * "fields {a}{b} need a separator between them", "field {label} appears twice". On error the
 * pattern needs no freeing. */
sl_status sl_pattern_compile(sl_pattern *p, const char *text);
void sl_pattern_free(sl_pattern *p);

/* Index of a captured field by name, or -1. */
int sl_pattern_field(const sl_pattern *p, const char *name);

/* Matches name. On a match returns 1 and fills values[i] (for names[i]) with new strings the
 * caller frees; returns 0 when it does not match; -1 when out of memory. */
int sl_pattern_match(const sl_pattern *p, const char *name, char **values);

#endif
