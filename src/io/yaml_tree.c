/* YAML to a tree with positions, through libyaml's event API. */
#include "io/yaml_tree.h"

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
        yn_node *node = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++n_docs > 1)
                s = sl_fail(SL_ECONFIG, "%s:%d:%d: a config holds one YAML document", name,
                            (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1);
            break;
        case YAML_ALIAS_EVENT:
            s = sl_fail(SL_ECONFIG, "%s:%d:%d: aliases (*name) are not supported in a config", name,
                        (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.anchor != NULL
                : ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor != NULL
                                                       : ev.data.mapping_start.anchor != NULL) {
                s = sl_fail(SL_ECONFIG, "%s:%d:%d: anchors (&name) are not supported in a config", name,
                            (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1);
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
                    s = sl_fail(SL_ECONFIG, "%s:%d:%d: NUL character in a value", name, node->line, node->col);
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
                    s = sl_fail(SL_ECONFIG, "%s:%d:%d: nested deeper than %d levels", name, node->line,
                                node->col, YN_MAX_DEPTH);
                    break;
                }
                stack[depth++] = node;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            yn_node *m = stack[--depth];
            if (m->kind == YN_MAP) { /* keys must be scalars and distinct */
                for (size_t i = 0; s == SL_OK && i < m->n_items; i += 2) {
                    yn_node *k = m->items[i];
                    if (k->kind != YN_SCALAR) {
                        s = sl_fail(SL_ECONFIG, "%s:%d:%d: a key must be plain text", name, k->line, k->col);
                        break;
                    }
                    for (size_t j = 0; j < i; j += 2)
                        if (strcmp(m->items[j]->value, k->value) == 0) {
                            s = sl_fail(SL_ECONFIG, "%s:%d:%d: duplicate key '%s' (first on line %d)", name,
                                        k->line, k->col, k->value, m->items[j]->line);
                            break;
                        }
                }
            }
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
