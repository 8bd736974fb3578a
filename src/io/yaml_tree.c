/* YAML to a tree with positions, through libyaml's event API. */
#include "io/yaml_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YN_MAX_DEPTH 64
#define YN_MAX_NODES 100000

void yn_free(yn_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n_items; i++) yn_free(n->items[i]);
    free(n->items);
    free(n->value);
    free(n);
}

void yn_printable(char *out, size_t size, const char *in)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (; *in; in++) {
        unsigned char ch = (unsigned char)*in;
        char esc[5];
        size_t n = 0;
        if (ch == '\n' || ch == '\t' || ch == '\r') {
            esc[n++] = '\\';
            esc[n++] = ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r';
        } else if (ch < 0x20 || ch == 0x7f) {
            esc[n++] = '\\';
            esc[n++] = 'x';
            esc[n++] = hex[ch >> 4];
            esc[n++] = hex[ch & 15];
        } else {
            esc[n++] = (char)ch;
        }
        if (k + n + 1 > size) break;
        memcpy(out + k, esc, n);
        k += n;
    }
    out[k] = '\0';
}

static sl_status add_item(yn_node *parent, yn_node *child)
{
    if ((parent->n_items & (parent->n_items - 1)) == 0) { /* grow at powers of two */
        size_t cap = parent->n_items ? 2 * parent->n_items : 4;
        yn_node **t = realloc(parent->items, cap * sizeof *t);
        if (!t) return sl_fail(SL_ENOMEM, "out of memory");
        parent->items = t;
    }
    parent->items[parent->n_items++] = child;
    return SL_OK;
}

static yn_node *new_node(yn_kind kind, const yaml_mark_t *mark)
{
    yn_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->line = (int)mark->line + 1;
    n->col = (int)mark->column + 1;
    return n;
}

/* "data.split" for a node under those keys ("" at the top), for messages. The open mappings
 * are stack[0..depth); pending: the innermost one's child is not added yet (so an odd number of
 * items means the child is the value of the last key). Sequences add nothing to the path. */
static void key_path(yn_node *const *stack, int depth, int pending, char *out, size_t size)
{
    char raw[512];
    size_t k = 0;
    raw[0] = '\0';
    for (int i = 0; i < depth; i++) {
        const yn_node *m = stack[i];
        size_t n = m->n_items;
        const yn_node *key = NULL;
        if (m->kind != YN_MAP) continue;
        if (pending && i == depth - 1) key = n % 2 ? m->items[n - 1] : NULL;
        else key = n >= 2 && n % 2 == 0 ? m->items[n - 2] : NULL;
        if (!key || key->kind != YN_SCALAR) continue;
        int w = snprintf(raw + k, sizeof raw - k, "%s%s", k ? "." : "", key->value);
        if (w < 0 || (size_t)w >= sizeof raw - k) break;
        k += (size_t)w;
    }
    yn_printable(out, size, raw);
}

#define AT_PATH(p) (p), (p)[0] ? ": " : "" /* "%s%s": "data.split: " or nothing */

typedef struct {
    const char *key;
    size_t at; /* the key's item index in the mapping */
} key_ref;

static int cmp_key_ref(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* Checks a finished mapping m (already added to stack[depth - 1], if any): keys are scalars and
 * distinct. Sorting finds duplicates in O(n log n); the one reported is the first repeat in the
 * file. */
static sl_status check_mapping(const char *name, yn_node *const *stack, int depth, const yn_node *m)
{
    char path[600];
    size_t n = m->n_items / 2;
    for (size_t i = 0; i < n; i++) {
        const yn_node *k = m->items[2 * i];
        if (k->kind != YN_SCALAR) {
            key_path(stack, depth, 0, path, sizeof path);
            return sl_fail(SL_ECONFIG, "%s:%d:%d: %s%sa key must be plain text", name, k->line, k->col, AT_PATH(path));
        }
    }
    if (n < 2) return SL_OK;
    key_ref *refs = malloc(n * sizeof *refs);
    if (!refs) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) refs[i] = (key_ref){m->items[2 * i]->value, 2 * i};
    qsort(refs, n, sizeof *refs, cmp_key_ref);
    size_t first = 0, dup = 0; /* item indices of the earliest repeat and of its first use */
    for (size_t i = 1; i < n; i++)
        if (strcmp(refs[i].key, refs[i - 1].key) == 0 && refs[i - 1].at != refs[i].at &&
            (!dup || refs[i].at < dup) && (i < 2 || strcmp(refs[i - 2].key, refs[i].key) != 0)) {
            dup = refs[i].at; /* the second use in a run of equal keys (sorted by position) */
            first = refs[i - 1].at;
        }
    free(refs);
    if (!dup) return SL_OK;
    const yn_node *k = m->items[dup];
    char shown[512];
    key_path(stack, depth, 0, path, sizeof path);
    yn_printable(shown, sizeof shown, k->value);
    return sl_fail(SL_ECONFIG, "%s:%d:%d: %s%s%s: duplicate key (first on line %d)", name, k->line, k->col, path,
                   path[0] ? "." : "", shown, m->items[first]->line);
}

/* Core tags only (!!str, !!int, ...): anything else asks for a type a config has no use for. */
static int core_tag(const yaml_char_t *tag)
{
    static const char *const core[] = {"str", "int", "float", "bool", "null", "seq", "map"};
    static const char prefix[] = "tag:yaml.org,2002:";
    if (!tag) return 1;
    if (strncmp((const char *)tag, prefix, sizeof prefix - 1) != 0) return 0;
    for (size_t i = 0; i < sizeof core / sizeof *core; i++)
        if (strcmp((const char *)tag + sizeof prefix - 1, core[i]) == 0) return 1;
    return 0;
}

sl_status yn_parse(const char *text, size_t len, const char *name, yn_node **out)
{
    *out = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return sl_fail(SL_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yn_node *stack[YN_MAX_DEPTH];
    int depth = 0;
    yn_node *root = NULL;
    size_t n_nodes = 0;
    int n_docs = 0;
    sl_status s = SL_OK;
    char path[600], shown[300];
    for (int done = 0; !done && s == SL_OK;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            const yaml_mark_t *m = parser.problem_mark.line || parser.problem_mark.column
                                       ? &parser.problem_mark : &parser.context_mark;
            s = sl_fail(SL_ECONFIG, "%s:%d:%d: YAML syntax: %s%s%s", name, (int)m->line + 1,
                        (int)m->column + 1, parser.problem ? parser.problem : "error",
                        parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        yn_node *node = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++n_docs > 1) s = sl_fail(SL_ECONFIG, "%s:%d:%d: a config holds one YAML document", name, line, col);
            break;
        case YAML_ALIAS_EVENT:
            key_path(stack, depth, 1, path, sizeof path);
            yn_printable(shown, sizeof shown, (const char *)ev.data.alias.anchor);
            s = sl_fail(SL_ECONFIG, "%s:%d:%d: %s%saliases (*%s) are not supported in a config", name, line, col,
                        AT_PATH(path), shown);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            const yaml_char_t *anchor = ev.type == YAML_SCALAR_EVENT           ? ev.data.scalar.anchor
                                        : ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                                               : ev.data.mapping_start.anchor;
            const yaml_char_t *tag = ev.type == YAML_SCALAR_EVENT           ? ev.data.scalar.tag
                                     : ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.tag
                                                                            : ev.data.mapping_start.tag;
            if (anchor || !core_tag(tag)) {
                key_path(stack, depth, 1, path, sizeof path);
                yn_printable(shown, sizeof shown, (const char *)(anchor ? anchor : tag));
                s = anchor ? sl_fail(SL_ECONFIG, "%s:%d:%d: %s%sanchors (&%s) are not supported in a config", name,
                                     line, col, AT_PATH(path), shown)
                           : sl_fail(SL_ECONFIG, "%s:%d:%d: %s%stag '%s' is not supported in a config", name, line,
                                     col, AT_PATH(path), shown);
                break;
            }
            if (++n_nodes > YN_MAX_NODES) {
                s = sl_fail(SL_ECONFIG, "%s: more than %d YAML nodes", name, YN_MAX_NODES);
                break;
            }
            yn_kind kind = ev.type == YAML_SCALAR_EVENT ? YN_SCALAR
                           : ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP;
            node = new_node(kind, &ev.start_mark);
            if (!node) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            if (kind == YN_SCALAR) {
                node->value = malloc(ev.data.scalar.length + 1);
                if (!node->value) {
                    yn_free(node);
                    s = sl_fail(SL_ENOMEM, "out of memory");
                    break;
                }
                memcpy(node->value, ev.data.scalar.value, ev.data.scalar.length);
                node->value[ev.data.scalar.length] = '\0';
                if (strlen(node->value) != ev.data.scalar.length) {
                    key_path(stack, depth, 1, path, sizeof path);
                    s = sl_fail(SL_ECONFIG, "%s:%d:%d: %s%sNUL character in a value", name, line, col, AT_PATH(path));
                    yn_free(node);
                    break;
                }
                node->quoted = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                               ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
            }
            if (depth == 0) {
                root = node;
            } else if ((s = add_item(stack[depth - 1], node)) != SL_OK) {
                yn_free(node);
                break;
            }
            if (kind != YN_SCALAR) {
                if (depth == YN_MAX_DEPTH) {
                    s = sl_fail(SL_ECONFIG, "%s:%d:%d: nested deeper than %d levels", name, line, col, YN_MAX_DEPTH);
                    break;
                }
                stack[depth++] = node;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            yn_node *m = stack[--depth];
            if (m->kind == YN_MAP) s = check_mapping(name, stack, depth, m);
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (s != SL_OK) {
        yn_free(root);
        return s;
    }
    *out = root;
    return SL_OK;
}
