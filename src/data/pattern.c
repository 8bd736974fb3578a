/* File-name patterns: compile "{label}_{group}_{take}.wav" into parts, match by backtracking. */
#include "data/pattern.h"

#include <stdlib.h>
#include <string.h>

void sl_pattern_free(sl_pattern *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_parts; i++) free(p->part[i].text);
    memset(p, 0, sizeof *p);
}

static int valid_name_char(char c, int first)
{
    if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
    return !first && c >= '0' && c <= '9';
}

static sl_status add_part(sl_pattern *p, int is_field, const char *s, size_t len)
{
    if (p->n_parts == SL_PATTERN_MAX_PARTS)
        return sl_fail(SL_EARG, "too many parts (at most %d)", SL_PATTERN_MAX_PARTS);
    char *t = malloc(len + 1);
    if (!t) return sl_fail(SL_ENOMEM, "out of memory");
    memcpy(t, s, len);
    t[len] = '\0';
    p->part[p->n_parts].is_field = is_field;
    p->part[p->n_parts].capture = is_field && strcmp(t, "_") != 0;
    p->part[p->n_parts].text = t;
    p->n_parts++;
    return SL_OK;
}

sl_status sl_pattern_compile(sl_pattern *p, const char *text)
{
    memset(p, 0, sizeof *p);
    if (!text || !*text) return sl_fail(SL_EARG, "empty pattern");
    const char *s = text;
    sl_status st = SL_OK;
    while (*s && st == SL_OK) {
        if (*s == '}') {
            st = sl_fail(SL_EARG, "unmatched '}' at column %d", (int)(s - text) + 1);
        } else if (*s == '{') {
            const char *name = s + 1;
            const char *end = strchr(name, '}');
            if (!end) {
                st = sl_fail(SL_EARG, "unclosed '{' at column %d", (int)(s - text) + 1);
                break;
            }
            size_t len = (size_t)(end - name);
            if (len == 0) {
                st = sl_fail(SL_EARG, "empty field name at column %d", (int)(s - text) + 1);
                break;
            }
            for (size_t i = 0; i < len; i++) {
                if (!valid_name_char(name[i], i == 0)) {
                    st = sl_fail(SL_EARG, "bad field name '{%.*s}' at column %d (letters, digits, _)",
                                 (int)len, name, (int)(s - text) + 1);
                    break;
                }
            }
            if (st) break;
            if (p->n_parts > 0 && p->part[p->n_parts - 1].is_field) {
                st = sl_fail(SL_EARG, "fields {%s}{%.*s} need a separator between them",
                             p->part[p->n_parts - 1].text, (int)len, name);
                break;
            }
            st = add_part(p, 1, name, len);
            s = end + 1;
        } else {
            const char *start = s;
            while (*s && *s != '{' && *s != '}') s++;
            st = add_part(p, 0, start, (size_t)(s - start));
            if (strchr(p->part[p->n_parts - 1].text, '/')) p->has_slash = 1;
        }
    }
    for (size_t i = 0; st == SL_OK && i < p->n_parts; i++) {
        if (!p->part[i].capture) continue;
        for (size_t j = 0; j < p->n_names; j++) {
            if (strcmp(p->names[j], p->part[i].text) == 0) {
                st = sl_fail(SL_EARG, "field {%s} appears twice", p->part[i].text);
                break;
            }
        }
        if (st) break;
        if (p->n_names == SL_PATTERN_MAX_FIELDS) {
            st = sl_fail(SL_EARG, "too many fields (at most %d)", SL_PATTERN_MAX_FIELDS);
            break;
        }
        p->names[p->n_names++] = p->part[i].text;
    }
    if (st) sl_pattern_free(p);
    return st;
}

int sl_pattern_field(const sl_pattern *p, const char *name)
{
    for (size_t i = 0; i < p->n_names; i++)
        if (strcmp(p->names[i], name) == 0) return (int)i;
    return -1;
}

/* Match parts[k..] against s; on success records each field's [start, end) in spans. */
static int match_from(const sl_pattern *p, size_t k, const char *s, const char **spans)
{
    if (k == p->n_parts) return *s == '\0';
    if (!p->part[k].is_field) {
        size_t len = strlen(p->part[k].text);
        if (strncmp(s, p->part[k].text, len) != 0) return 0;
        return match_from(p, k + 1, s + len, spans);
    }
    /* A field: one or more characters, no '/', shortest first. */
    for (const char *e = s + 1; e[-1] != '\0' && e[-1] != '/'; e++) {
        spans[2 * k] = s;
        spans[2 * k + 1] = e;
        if (match_from(p, k + 1, e, spans)) return 1;
        if (*e == '\0') break;
    }
    return 0;
}

int sl_pattern_match(const sl_pattern *p, const char *name, char **values)
{
    const char *spans[2 * SL_PATTERN_MAX_PARTS];
    const char *subject = name;
    if (!p->has_slash) {
        const char *slash = strrchr(name, '/');
        if (slash) subject = slash + 1;
    }
    if (!match_from(p, 0, subject, spans)) return 0;
    size_t j = 0;
    for (size_t k = 0; k < p->n_parts; k++) {
        if (!p->part[k].capture) continue;
        size_t len = (size_t)(spans[2 * k + 1] - spans[2 * k]);
        values[j] = malloc(len + 1);
        if (!values[j]) {
            for (size_t i = 0; i < j; i++) free(values[i]);
            return -1;
        }
        memcpy(values[j], spans[2 * k], len);
        values[j][len] = '\0';
        j++;
    }
    return 1;
}
