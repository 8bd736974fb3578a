/* The .slm model file: sections in a table, a BLAKE2b-256 trailer, a loader that distrusts every
 * number in the file until it has checked it against the file's length. */
#include "sigloop/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/fileio.h"
#include "sigloop/hash.h"

#define SLM_MAGIC "SLMODEL1"
#define SLM_VERSION 1u
#define SLM_MAX_BYTES (1ull << 32)
#define SLM_SECTIONS 6
#define SLM_TRAILER 32

enum { TAG_CONF = 0x464e4f43u, TAG_LABL = 0x4c42414cu, TAG_SHAP = 0x50414853u, TAG_NORM = 0x4d524f4eu,
       TAG_PARM = 0x4d524150u, TAG_STAT = 0x54415453u };

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static const char *tag_name(uint32_t tag, char buf[5])
{
    for (int i = 0; i < 4; i++) buf[i] = (char)(tag >> (8 * i));
    buf[4] = '\0';
    return buf;
}

sl_status sl_model_save(const char *path, const sl_config *cfg, const sl_graph *g, const char *const *labels,
                        size_t bands, size_t frames, size_t classes, const double *mean, const double *std,
                        const float *params, const float *state)
{
    /* the sections' contents first */
    char *conf = NULL;
    size_t conf_len = 0;
    FILE *cf = open_memstream(&conf, &conf_len);
    if (!cf) return sl_fail(SL_ENOMEM, "out of memory");
    sl_status s = sl_config_write(cfg, cf);
    fclose(cf);
    if (s != SL_OK) {
        free(conf);
        return s;
    }
    size_t labl_len = 0;
    for (size_t c = 0; c < classes; c++) labl_len += strlen(labels[c]) + 1;
    uint8_t shap[12];
    put32(shap, (uint32_t)bands);
    put32(shap + 4, (uint32_t)frames);
    put32(shap + 8, (uint32_t)classes);
    size_t np = sl_graph_n_params(g), ns = sl_graph_n_state(g);
    struct { uint32_t tag; size_t size; } sec[SLM_SECTIONS] = {
        {TAG_CONF, conf_len}, {TAG_LABL, labl_len}, {TAG_SHAP, 12},
        {TAG_NORM, 2 * bands * 8}, {TAG_PARM, np * 4}, {TAG_STAT, ns * 4},
    };
    size_t head = 16 + SLM_SECTIONS * 24, total = head;
    for (int i = 0; i < SLM_SECTIONS; i++) total += sec[i].size;
    uint8_t *buf = malloc(total + SLM_TRAILER);
    if (!buf) {
        free(conf);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    memcpy(buf, SLM_MAGIC, 8);
    put32(buf + 8, SLM_VERSION);
    put32(buf + 12, SLM_SECTIONS);
    size_t off = head;
    for (int i = 0; i < SLM_SECTIONS; i++) {
        uint8_t *e = buf + 16 + 24 * i;
        put32(e, sec[i].tag);
        put32(e + 4, 0);
        put64(e + 8, off);
        put64(e + 16, sec[i].size);
        uint8_t *d = buf + off;
        switch (i) {
        case 0: memcpy(d, conf, conf_len); break;
        case 1:
            for (size_t c = 0; c < classes; c++) {
                size_t l = strlen(labels[c]) + 1;
                memcpy(d, labels[c], l);
                d += l;
            }
            break;
        case 2: memcpy(d, shap, 12); break;
        case 3:
            for (size_t b = 0; b < bands; b++) {
                uint64_t u;
                memcpy(&u, &mean[b], 8);
                put64(d + 8 * b, u);
                memcpy(&u, &std[b], 8);
                put64(d + 8 * (bands + b), u);
            }
            break;
        case 4:
        case 5: {
            const float *src = i == 4 ? params : state;
            size_t n = i == 4 ? np : ns;
            for (size_t k = 0; k < n; k++) {
                uint32_t u;
                memcpy(&u, &src[k], 4);
                put32(d + 4 * k, u);
            }
            break;
        }
        }
        off += sec[i].size;
    }
    sl_blake2b h;
    sl_blake2b_init(&h, SLM_TRAILER);
    sl_blake2b_update(&h, buf, total);
    sl_blake2b_final(&h, buf + total);
    s = sl_write_file_atomic(path, buf, total + SLM_TRAILER);
    free(buf);
    free(conf);
    return s;
}

void sl_model_free(sl_model *m)
{
    if (!m) return;
    sl_config_free(&m->cfg);
    sl_graph_free(m->graph);
    if (m->labels)
        for (size_t c = 0; c < m->classes; c++) free(m->labels[c]);
    free(m->labels);
    free(m->mean);
    free(m->params);
    free(m->state);
    free(m);
}

sl_status sl_model_load(sl_model **out, const char *path)
{
    *out = NULL;
    char *data;
    size_t len;
    SL_TRY(sl_read_file(path, SLM_MAX_BYTES, &data, &len));
    const uint8_t *b = (const uint8_t *)data;
    sl_model *m = NULL;
    sl_status s = SL_OK;
    char tn[5];
    const uint8_t *sec[SLM_SECTIONS] = {0};
    size_t sec_len[SLM_SECTIONS] = {0};
    static const uint32_t tags[SLM_SECTIONS] = {TAG_CONF, TAG_LABL, TAG_SHAP, TAG_NORM, TAG_PARM, TAG_STAT};
    if (len < 16 + SLM_TRAILER || memcmp(b, SLM_MAGIC, 8) != 0) {
        s = sl_fail(SL_EFORMAT, "%s: not a sigloop model file", path);
        goto fail;
    }
    if (get32(b + 8) != SLM_VERSION) {
        s = sl_fail(SL_EFORMAT, "%s: model file version %u, this sigloop reads version %u", path, get32(b + 8),
                    SLM_VERSION);
        goto fail;
    }
    uint32_t n_sec = get32(b + 12);
    size_t body = len - SLM_TRAILER;
    if (n_sec != SLM_SECTIONS || 16 + (uint64_t)n_sec * 24 > body) {
        s = sl_fail(SL_EFORMAT, "%s: truncated or damaged section table (%u sections)", path, n_sec);
        goto fail;
    }
    for (uint32_t i = 0; i < n_sec; i++) {
        const uint8_t *e = b + 16 + 24 * i;
        uint32_t tag = get32(e);
        uint64_t off = get64(e + 8), size = get64(e + 16);
        if (off < 16 + (uint64_t)n_sec * 24 || off > body || size > body - off) {
            s = sl_fail(SL_EFORMAT, "%s: truncated: section %s ends at byte %llu of %zu", path, tag_name(tag, tn),
                        (unsigned long long)(off + size), body);
            goto fail;
        }
        int k = -1;
        for (int j = 0; j < SLM_SECTIONS; j++)
            if (tags[j] == tag) k = j;
        if (k < 0 || sec[k]) {
            s = sl_fail(SL_EFORMAT, "%s: unexpected section '%s'", path, tag_name(tag, tn));
            goto fail;
        }
        sec[k] = b + off;
        sec_len[k] = (size_t)size;
    }
    /* only now, with every section inside the file, is the checksum worth computing */
    uint8_t sum[SLM_TRAILER];
    sl_blake2b h;
    sl_blake2b_init(&h, SLM_TRAILER);
    sl_blake2b_update(&h, b, body);
    sl_blake2b_final(&h, sum);
    if (memcmp(sum, b + body, SLM_TRAILER) != 0) {
        s = sl_fail(SL_EFORMAT, "%s: checksum mismatch (damaged file)", path);
        goto fail;
    }
    if (sec_len[2] != 12) {
        s = sl_fail(SL_EFORMAT, "%s: section SHAP has %zu bytes, expected 12", path, sec_len[2]);
        goto fail;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        s = sl_fail(SL_ENOMEM, "out of memory");
        goto fail;
    }
    m->bands = get32(sec[2]);
    m->frames = get32(sec[2] + 4);
    m->classes = get32(sec[2] + 8);
    if (m->bands == 0 || m->frames == 0 || m->classes < 2 || m->bands > 65536 || m->frames > (1u << 24) ||
        m->classes > 100000) {
        s = sl_fail(SL_EFORMAT, "%s: implausible shape %zu x %zu, %zu classes", path, m->bands, m->frames, m->classes);
        goto fail;
    }
    if ((s = sl_config_parse(&m->cfg, (const char *)sec[0], sec_len[0], path, "/", NULL, 0)) != SL_OK) goto fail;
    sl_shape in = {.rank = 2, .d = {m->bands, m->frames}};
    if ((s = sl_model_build(&m->cfg.model, &in, m->classes, &m->graph)) != SL_OK) {
        sl_error_prefix("%s", path);
        goto fail;
    }
    size_t np = sl_graph_n_params(m->graph), ns = sl_graph_n_state(m->graph);
    if (sec_len[4] != np * 4 || sec_len[5] != ns * 4 || sec_len[3] != 16 * m->bands) {
        s = sl_fail(SL_EFORMAT, "%s: the sections do not fit the network (%zu parameters, %zu state values)", path, np,
                    ns);
        goto fail;
    }
    /* labels: exactly `classes` NUL-terminated names */
    m->labels = calloc(m->classes, sizeof *m->labels);
    if (!m->labels) {
        s = sl_fail(SL_ENOMEM, "out of memory");
        goto fail;
    }
    const char *lp = (const char *)sec[1], *lend = lp + sec_len[1];
    for (size_t c = 0; c < m->classes; c++) {
        const char *z = memchr(lp, '\0', (size_t)(lend - lp));
        if (!z) {
            s = sl_fail(SL_EFORMAT, "%s: section LABL holds fewer than %zu names", path, m->classes);
            goto fail;
        }
        if (!(m->labels[c] = strdup(lp))) {
            s = sl_fail(SL_ENOMEM, "out of memory");
            goto fail;
        }
        lp = z + 1;
    }
    m->mean = malloc(2 * m->bands * sizeof *m->mean);
    m->params = malloc((np + 1) * sizeof *m->params);
    m->state = malloc((ns + 1) * sizeof *m->state);
    if (!m->mean || !m->params || !m->state) {
        s = sl_fail(SL_ENOMEM, "out of memory");
        goto fail;
    }
    m->std = m->mean + m->bands;
    for (size_t i = 0; i < 2 * m->bands; i++) {
        uint64_t u = get64(sec[3] + 8 * i);
        memcpy(&m->mean[i], &u, 8);
    }
    for (size_t i = 0; i < np; i++) {
        uint32_t u = get32(sec[4] + 4 * i);
        memcpy(&m->params[i], &u, 4);
    }
    for (size_t i = 0; i < ns; i++) {
        uint32_t u = get32(sec[5] + 4 * i);
        memcpy(&m->state[i], &u, 4);
    }
    free(data);
    *out = m;
    return SL_OK;
fail:
    sl_model_free(m);
    free(data);
    return s;
}
