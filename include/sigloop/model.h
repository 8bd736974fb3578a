/* The model file (.slm): everything needed to run a trained network on new data, in one file.
 *
 * Layout (little-endian): "SLMODEL1", u32 version, u32 section count, then a table of sections
 * (u32 tag, u32 reserved, u64 offset, u64 size), the sections, and a 32-byte BLAKE2b-256 of every
 * byte before it. Sections:
 *   CONF  the resolved config (YAML text): feature settings, model, training settings
 *   LABL  the class names, each NUL-terminated, in class-index order
 *   SHAP  u32 bands, u32 frames, u32 classes
 *   NORM  f64 mean[bands], f64 std[bands]: the training split's per-band statistics
 *   PARM  f32 parameters, in the graph's layout
 *   STAT  f32 running state (batch norm)
 * The graph is not stored: it is rebuilt from CONF and SHAP, and its parameter and state counts
 * must match PARM and STAT. The loader checks the magic, the version, the checksum, and every
 * count and offset against the file's length before it reads anything. Written atomically. */
#ifndef SIGLOOP_MODEL_H
#define SIGLOOP_MODEL_H

#include <stddef.h>

#include "sigloop/config.h"
#include "sigloop/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    sl_config cfg;          /* parsed from CONF */
    sl_graph *graph;        /* rebuilt */
    char **labels;          /* (classes) */
    size_t bands, frames, classes;
    double *mean, *std;     /* (bands) each */
    float *params;          /* (sl_graph_n_params) */
    float *state;           /* (sl_graph_n_state) */
} sl_model;

/* Writes a model file atomically. labels: classes names. */
sl_status sl_model_save(const char *path, const sl_config *cfg, const sl_graph *g, const char *const *labels,
                        size_t bands, size_t frames, size_t classes, const double *mean, const double *std,
                        const float *params, const float *state);

/* Reads and checks a model file. Errors name the file and what is wrong ("model.slm: truncated:
 * section PARM ends at byte 262,512 of 262,000", "model.slm: checksum mismatch (damaged file)").
 * On error *out is NULL. */
sl_status sl_model_load(sl_model **out, const char *path);
void sl_model_free(sl_model *m); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
