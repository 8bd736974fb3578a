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

/* DenseNet-BC in 1-D (Huang et al., 2017): a stem conv (widths[0] channels), then `dense_blocks`
 * dense blocks, each of `blocks` layers (batch norm, ReLU, conv k, adding
 * `growth` channels to the concatenation of everything before), with a transition between blocks
 * (batch norm, ReLU, 1x1 conv to compression x channels, average pooling by 2); then batch norm,
 * ReLU, global average pooling and a dense layer. */
static void densenet(sl_graph *g, const sl_model_config *m, size_t n_classes)
{
    char name[96]; /* the graph keeps the first SL_NN_NAME - 1 characters */
    int x = sl_graph_conv1d(g, 0, width(m, 0), m->stem_kernel, 1, m->stem_kernel / 2, 1, 1, 0, "stem");
    size_t c = width(m, 0);
    for (size_t blk = 1; blk <= m->dense_blocks; blk++) {
        int parts[SL_NN_MAX_INPUTS];
        int n_parts = 0;
        parts[n_parts++] = x;
        for (size_t l = 0; l < m->blocks; l++) {
            int in = x;
            if (n_parts == SL_NN_MAX_INPUTS) { /* fold long blocks: concatenate what there is */
                snprintf(name, sizeof name, "d%zu_l%zu_fold", blk, l + 1);
                in = sl_graph_concat(g, parts, n_parts, name);
                parts[0] = in;
                n_parts = 1;
            } else if (n_parts > 1) {
                snprintf(name, sizeof name, "d%zu_l%zu_cat", blk, l + 1);
                in = sl_graph_concat(g, parts, n_parts, name);
            }
            snprintf(name, sizeof name, "d%zu_l%zu_bn", blk, l + 1);
            int y = sl_graph_batchnorm(g, in, name);
            snprintf(name, sizeof name, "d%zu_l%zu_relu", blk, l + 1);
            y = sl_graph_relu(g, y, name);
            snprintf(name, sizeof name, "d%zu_l%zu_conv", blk, l + 1);
            parts[n_parts++] = sl_graph_conv1d(g, y, m->growth, m->kernel, 1, m->kernel / 2, 1, 1, 0, name);
            c += m->growth;
        }
        snprintf(name, sizeof name, "d%zu_out", blk);
        x = sl_graph_concat(g, parts, n_parts, name);
        if (blk < m->dense_blocks) { /* transition */
            size_t w = (size_t)floor((double)c * m->compression);
            if (w < 1) w = 1;
            snprintf(name, sizeof name, "t%zu_bn", blk);
            x = sl_graph_batchnorm(g, x, name);
            snprintf(name, sizeof name, "t%zu_relu", blk);
            x = sl_graph_relu(g, x, name);
            snprintf(name, sizeof name, "t%zu_conv", blk);
            x = sl_graph_conv1d(g, x, w, 1, 1, 0, 1, 1, 0, name);
            snprintf(name, sizeof name, "t%zu_pool", blk);
            x = sl_graph_avgpool(g, x, 2, 2, name);
            c = w;
        }
    }
    x = sl_graph_batchnorm(g, x, "final_bn");
    x = sl_graph_relu(g, x, "final_relu");
    x = sl_graph_gap(g, x, "pool");
    sl_graph_dense(g, x, n_classes, "logits");
}

/* DS-CNN in 1-D (after Zhang et al., "Hello Edge", 2017): a stem conv, batch norm, ReLU, then per
 * further width a depthwise-separable block: depthwise conv k (stride 2 in the first block),
 * batch norm, ReLU, pointwise 1x1 conv to the width, batch norm, ReLU; then pooling and a dense
 * layer. */
static void ds_cnn(sl_graph *g, const sl_model_config *m, size_t n_classes)
{
    char name[96]; /* the graph keeps the first SL_NN_NAME - 1 characters */
    size_t c = width(m, 0);
    int x = sl_graph_conv1d(g, 0, c, m->stem_kernel, 1, m->stem_kernel / 2, 1, 1, 0, "stem");
    x = sl_graph_batchnorm(g, x, "stem_bn");
    x = sl_graph_relu(g, x, "stem_relu");
    for (size_t s = 1; s < m->widths.n; s++) {
        snprintf(name, sizeof name, "b%zu_dw", s);
        x = sl_graph_conv1d(g, x, c, m->kernel, s == 1 ? 2 : 1, m->kernel / 2, 1, c, 0, name);
        snprintf(name, sizeof name, "b%zu_dw_bn", s);
        x = sl_graph_batchnorm(g, x, name);
        snprintf(name, sizeof name, "b%zu_dw_relu", s);
        x = sl_graph_relu(g, x, name);
        c = width(m, s);
        snprintf(name, sizeof name, "b%zu_pw", s);
        x = sl_graph_conv1d(g, x, c, 1, 1, 0, 1, 1, 0, name);
        snprintf(name, sizeof name, "b%zu_pw_bn", s);
        x = sl_graph_batchnorm(g, x, name);
        snprintf(name, sizeof name, "b%zu_pw_relu", s);
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
    switch (m->arch) {
    case 0: tc_resnet(g, m, n_classes); break;
    case 1: plain_cnn(g, m, n_classes); break;
    case 2: densenet(g, m, n_classes); break;
    default: ds_cnn(g, m, n_classes); break;
    }
    sl_status s = sl_graph_status(g);
    if (s != SL_OK) {
        sl_error_prefix("model");
        sl_graph_free(g);
        return s;
    }
    *out = g;
    return SL_OK;
}
