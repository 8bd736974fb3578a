/* A YAML document as a small tree of mappings, sequences and scalars, each with its position,
 * built with libyaml's event parser. Aliases, tags beyond the core ones, several documents and
 * duplicate keys are refused: a config is plain data. */
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

/* Parses text (len bytes). Errors (SL_ECONFIG) read "name:line:col: problem". An empty document
 * gives *out = NULL and SL_OK. */
sl_status yn_parse(const char *text, size_t len, const char *name, yn_node **out);
void yn_free(yn_node *n); /* NULL-safe */

#endif
