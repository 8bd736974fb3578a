/* Networks from the config's model: section. Each builder is a short recipe of graph calls; the
 * graph checks every shape as it goes. */
#include <math.h>
#include <stdio.h>

#include "sigloop/config.h"
#include "sigloop/nn.h"

static size_t width(const sl_model_config *m, size_t i)
{
    double w = floor(m->widths.v[i] * m->width_multiplier + 0.5);
    return w < 1 ? 1 : (size_t)w;
}

/* TC-ResNet (Choi et al., 2019): the features' bands are the channels of a 1-D convolution over
 * time. Stem: conv k=stem_kernel, batch norm, ReLU. Each stage: `blocks` residual blocks, the
 * first with stride 2 and a 1x1 strided conv + batch norm on the shortcut; a block is conv k,
 * batch norm, ReLU, conv k, batch norm, add, ReLU. Then global average pooling and a dense layer.
 * Convolutions before batch norm carry no bias. */
static void tc_resnet(sl_graph *g, const sl_model_config *m, size_t n_classes)
{
    char name[96]; /* the graph keeps the first SL_NN_NAME - 1 characters */
    int x = sl_graph_conv1d(g, 0, width(m, 0), m->stem_kernel, 1, m->stem_kernel / 2, 1, 1, 0, "stem");
    x = sl_graph_batchnorm(g, x, "stem_bn");
    x = sl_graph_relu(g, x, "stem_relu");
    size_t c = width(m, 0);
    for (size_t s = 1; s < m->widths.n; s++) {
        size_t w = width(m, s);
        for (size_t b = 0; b < m->blocks; b++) {
            size_t stride = b == 0 ? 2 : 1;
            int in = x;
            snprintf(name, sizeof name, "s%zu_b%zu_conv1", s, b + 1);
            x = sl_graph_conv1d(g, x, w, m->kernel, stride, m->kernel / 2, 1, 1, 0, name);
            snprintf(name, sizeof name, "s%zu_b%zu_bn1", s, b + 1);
            x = sl_graph_batchnorm(g, x, name);
            snprintf(name, sizeof name, "s%zu_b%zu_relu1", s, b + 1);
            x = sl_graph_relu(g, x, name);
            snprintf(name, sizeof name, "s%zu_b%zu_conv2", s, b + 1);
            x = sl_graph_conv1d(g, x, w, m->kernel, 1, m->kernel / 2, 1, 1, 0, name);
            snprintf(name, sizeof name, "s%zu_b%zu_bn2", s, b + 1);
            x = sl_graph_batchnorm(g, x, name);
            int sc = in;
            if (stride != 1 || c != w) {
                snprintf(name, sizeof name, "s%zu_b%zu_short", s, b + 1);
                sc = sl_graph_conv1d(g, in, w, 1, stride, 0, 1, 1, 0, name);
                snprintf(name, sizeof name, "s%zu_b%zu_short_bn", s, b + 1);
                sc = sl_graph_batchnorm(g, sc, name);
            }
            snprintf(name, sizeof name, "s%zu_b%zu_add", s, b + 1);
            x = sl_graph_add(g, x, sc, name);
            snprintf(name, sizeof name, "s%zu_b%zu_relu2", s, b + 1);
            x = sl_graph_relu(g, x, name);
            c = w;
        }
    }
    x = sl_graph_gap(g, x, "pool");
    sl_graph_dense(g, x, n_classes, "logits");
}

/* A plain stack: per width a conv k (stride 2 after the first), batch norm, ReLU; then pooling
 * and a dense layer. */
static void plain_cnn(sl_graph *g, const sl_model_config *m, size_t n_classes)
{
    char name[96]; /* the graph keeps the first SL_NN_NAME - 1 characters */
    int x = 0;
    for (size_t s = 0; s < m->widths.n; s++) {
        size_t k = s == 0 ? m->stem_kernel : m->kernel;
        snprintf(name, sizeof name, "conv%zu", s + 1);
        x = sl_graph_conv1d(g, x, width(m, s), k, s == 0 ? 1 : 2, k / 2, 1, 1, 0, name);
        snprintf(name, sizeof name, "bn%zu", s + 1);
        x = sl_graph_batchnorm(g, x, name);
        snprintf(name, sizeof name, "relu%zu", s + 1);
        x = sl_graph_relu(g, x, name);
    }
    x = sl_graph_gap(g, x, "pool");
    sl_graph_dense(g, x, n_classes, "logits");
}

sl_status sl_model_build(const sl_model_config *m, const sl_shape *input, size_t n_classes, sl_graph **out)
{
    *out = NULL;
    if (n_classes < 2) return sl_fail(SL_EARG, "model: need at least 2 classes (got %zu)", n_classes);
    if (input->rank != 2) return sl_fail(SL_EARG, "model: the features must be (bands, frames)");
    sl_graph *g;
    SL_TRY(sl_graph_new(&g, input));
    if (m->arch == 0) tc_resnet(g, m, n_classes);
    else plain_cnn(g, m, n_classes);
    sl_status s = sl_graph_status(g);
    if (s != SL_OK) {
        sl_error_prefix("model");
        sl_graph_free(g);
        return s;
    }
    *out = g;
    return SL_OK;
}
