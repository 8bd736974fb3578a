/* A YAML document as a small tree of mappings, sequences and scalars, each with its position,
 * built with libyaml's event parser. Anchors and aliases (the stuff of "billion laughs" bombs),
 * tags beyond the core ones (!!str, !!int, ...), several documents, keys that are not scalars and
 * duplicate keys are refused: a config is plain data. Depth (64) and node count (100,000) are
 * capped. */
#ifndef SIGLOOP_IO_YAML_TREE_H
#define SIGLOOP_IO_YAML_TREE_H

#include <stddef.h>

#include "sigloop/base.h"

typedef enum { YN_SCALAR, YN_SEQ, YN_MAP } yn_kind;

typedef struct yn_node {
    yn_kind kind;
    int line, col;            /* 1-based */
    char *value;              /* scalars: the text */
    int quoted;               /* scalars: written in quotes (so never null or a number by style) */
    struct yn_node **items;   /* sequences: items; mappings: key, value, key, value, ... */
    size_t n_items;
} yn_node;

/* Parses text (len bytes). Errors (SL_ECONFIG) read "name:line:col: problem", or
 * "name:line:col: key.path: problem" when the problem sits under a key ("data.root: duplicate key
 * (first on line 2)"). An empty document gives *out = NULL and SL_OK. On error *out is NULL. */
sl_status yn_parse(const char *text, size_t len, const char *name, yn_node **out);
void yn_free(yn_node *n); /* NULL-safe */

/* Copies in to out (size > 0), writing control characters as \n, \t, \xNN, so that text from a
 * file keeps a message on one line. Truncates to fit. */
void yn_printable(char *out, size_t size, const char *in);

#endif
