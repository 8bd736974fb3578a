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

/* A convolution with a k (1-D) or k x k (2-D) kernel, "same" padding k / 2, in the model's
 * dimensionality; groups = channels is depthwise. */
static int conv(sl_graph *g, const sl_model_config *m, int x, size_t c_out, size_t k, size_t stride, size_t groups,
                const char *name)
{
    if (m->dims == 2)
        return sl_graph_conv2d(g, x, c_out, k, k, stride, stride, k / 2, k / 2, 1, 1, groups, 0, name);
    return sl_graph_conv1d(g, x, c_out, k, stride, k / 2, 1, groups, 0, name);
}

/* The stem: conv (stem_kernel, or stem_shape [bands, frames] in 2-D) with stem_stride, batch
 * norm, ReLU. */
static int stem(sl_graph *g, const sl_model_config *m, size_t c_out)
{
    int x;
    if (m->dims == 2 && m->stem_shape.n == 2) {
        size_t kh = (size_t)m->stem_shape.v[0], kw = (size_t)m->stem_shape.v[1];
        x = sl_graph_conv2d(g, 0, c_out, kh, kw, m->stem_stride, m->stem_stride, kh / 2, kw / 2, 1, 1, 1, 0, "stem");
    } else {
        x = conv(g, m, 0, c_out, m->stem_kernel, m->stem_stride, 1, "stem");
    }
    x = sl_graph_batchnorm(g, x, "stem_bn");
    return sl_graph_relu(g, x, "stem_relu");
}

/* Global average pooling, the optional dropout, and the classifier. */
static void head(sl_graph *g, const sl_model_config *m, int x, size_t n_classes)
{
    x = sl_graph_gap(g, x, "pool");
    if (m->dropout > 0) x = sl_graph_dropout(g, x, m->dropout, "dropout");
    sl_graph_dense(g, x, n_classes, "logits");
}

/* Residual stages after the stem: per further width, `blocks` residual blocks, the first with
 * stride first_stride(stage) and, when the shape changes, a 1x1 strided conv + batch norm on the
 * shortcut; a block is conv k, batch norm, ReLU, conv k, batch norm, add, ReLU. */
static int residual_stages(sl_graph *g, const sl_model_config *m, int x, size_t c, int first_stage_strided)
{
    char name[96]; /* the graph keeps the first SL_NN_NAME - 1 characters */
    for (size_t s = 1; s < m->widths.n; s++) {
        size_t w = width(m, s);
        for (size_t b = 0; b < m->blocks; b++) {
            size_t stride = b == 0 && (s > 1 || first_stage_strided) ? 2 : 1;
            int in = x;
            snprintf(name, sizeof name, "s%zu_b%zu_conv1", s, b + 1);
            x = conv(g, m, x, w, m->kernel, stride, 1, name);
            snprintf(name, sizeof name, "s%zu_b%zu_bn1", s, b + 1);
            x = sl_graph_batchnorm(g, x, name);
            snprintf(name, sizeof name, "s%zu_b%zu_relu1", s, b + 1);
            x = sl_graph_relu(g, x, name);
            snprintf(name, sizeof name, "s%zu_b%zu_conv2", s, b + 1);
            x = conv(g, m, x, w, m->kernel, 1, 1, name);
            snprintf(name, sizeof name, "s%zu_b%zu_bn2", s, b + 1);
            x = sl_graph_batchnorm(g, x, name);
            int sc = in;
            if (stride != 1 || c != w) {
                snprintf(name, sizeof name, "s%zu_b%zu_short", s, b + 1);
                sc = conv(g, m, in, w, 1, stride, 1, name);
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
    return x;
}

/* TC-ResNet (Choi et al., 2019): the features' bands are the channels of a 1-D convolution over
 * time. Stem conv k=stem_kernel, batch norm, ReLU; residual stages, every one starting with
 * stride 2; global average pooling and a dense layer. Convolutions before batch norm carry no
 * bias. */
static void tc_resnet(sl_graph *g, const sl_model_config *m, size_t n_classes)
{
    int x = stem(g, m, width(m, 0));
    x = residual_stages(g, m, x, width(m, 0), 1);
    head(g, m, x, n_classes);
}

/* ResNet (He et al., 2016) in 1-D or 2-D, shaped as MLPerf Tiny's ResNet-8 (Banbury et al., 2021):
 * stem conv, batch norm, ReLU; residual stages, the first at stride 1 and the others at stride
 * 2; global average pooling and a dense layer. With dims: 2, widths [16, 16, 32, 64], kernel 3,
 * stem_kernel 3 and blocks 1 it is MLPerf's ResNet-8 on a (1, bands, frames) image. */
static void resnet(sl_graph *g, const sl_model_config *m, size_t n_classes)
{
    int x = stem(g, m, width(m, 0));
    x = residual_stages(g, m, x, width(m, 0), 0);
    head(g, m, x, n_classes);
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
        x = conv(g, m, x, width(m, s), k, s == 0 ? m->stem_stride : 2, 1, name);
        snprintf(name, sizeof name, "bn%zu", s + 1);
        x = sl_graph_batchnorm(g, x, name);
        snprintf(name, sizeof name, "relu%zu", s + 1);
        x = sl_graph_relu(g, x, name);
    }
    head(g, m, x, n_classes);
}

/* DenseNet-BC in 1-D (Huang et al., 2017): a stem conv (widths[0] channels), then `dense_blocks`
 * dense blocks, each of `blocks` layers (batch norm, ReLU, conv k, adding
 * `growth` channels to the concatenation of everything before), with a transition between blocks
 * (batch norm, ReLU, 1x1 conv to compression x channels, average pooling by 2); then batch norm,
 * ReLU, global average pooling and a dense layer. */
static void densenet(sl_graph *g, const sl_model_config *m, size_t n_classes)
{
    char name[96]; /* the graph keeps the first SL_NN_NAME - 1 characters */
    int x = conv(g, m, 0, width(m, 0), m->stem_kernel, m->stem_stride, 1, "stem");
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
            parts[n_parts++] = conv(g, m, y, m->growth, m->kernel, 1, 1, name);
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
            x = conv(g, m, x, w, 1, 1, 1, name);
            snprintf(name, sizeof name, "t%zu_pool", blk);
            x = sl_graph_avgpool(g, x, 2, 2, name); /* 2 x 2 in 2-D */
            c = w;
        }
    }
    x = sl_graph_batchnorm(g, x, "final_bn");
    x = sl_graph_relu(g, x, "final_relu");
    head(g, m, x, n_classes);
}

/* DS-CNN (after Zhang et al., "Hello Edge", 2017) in 1-D or 2-D: a stem conv, batch norm, ReLU,
 * then per further width a depthwise-separable block: depthwise conv k, batch norm, ReLU,
 * pointwise 1x1 conv to the width, batch norm, ReLU; then global average pooling, the optional
 * dropout and a dense layer. The first block's depthwise conv has stride 2 unless the stem
 * already strides. With dims: 2, widths [64, 64, 64, 64, 64], kernel 3, stem_shape [4, 10],
 * stem_stride 2 and dropout 0.4 it is MLPerf Tiny's keyword-spotting DS-CNN (whose stem kernel
 * is 10 frames by 4 bands). */
static void ds_cnn(sl_graph *g, const sl_model_config *m, size_t n_classes)
{
    char name[96]; /* the graph keeps the first SL_NN_NAME - 1 characters */
    size_t c = width(m, 0);
    int x = stem(g, m, c);
    for (size_t s = 1; s < m->widths.n; s++) {
        snprintf(name, sizeof name, "b%zu_dw", s);
        x = conv(g, m, x, c, m->kernel, s == 1 && m->stem_stride == 1 ? 2 : 1, c, name);
        snprintf(name, sizeof name, "b%zu_dw_bn", s);
        x = sl_graph_batchnorm(g, x, name);
        snprintf(name, sizeof name, "b%zu_dw_relu", s);
        x = sl_graph_relu(g, x, name);
        c = width(m, s);
        snprintf(name, sizeof name, "b%zu_pw", s);
        x = conv(g, m, x, c, 1, 1, 1, name);
        snprintf(name, sizeof name, "b%zu_pw_bn", s);
        x = sl_graph_batchnorm(g, x, name);
        snprintf(name, sizeof name, "b%zu_pw_relu", s);
        x = sl_graph_relu(g, x, name);
    }
    head(g, m, x, n_classes);
}

sl_status sl_model_build(const sl_model_config *m, const sl_shape *input, size_t n_classes, sl_graph **out)
{
    *out = NULL;
    if (n_classes < 2) return sl_fail(SL_EARG, "model: need at least 2 classes (got %zu)", n_classes);
    if (input->rank != 2 && !(input->rank == 3 && m->dims == 2))
        return sl_fail(SL_EARG, "model: the features must be (bands, frames), or (channels, height, width) for a "
                                "2-D model");
    if (m->dims == 2 && m->arch == SL_ARCH_TC_RESNET)
        return sl_fail(SL_EARG, "model: tc-resnet is 1-D by design (use arch: resnet for 2-D)");
    /* 2-D models see the same numbers as a one-channel image (1, bands, frames); an image of
     * several channels is taken as it is */
    sl_shape image = input->rank == 3 ? *input : (sl_shape){.rank = 3, .d = {1, input->d[0], input->d[1]}};
    sl_graph *g;
    SL_TRY(sl_graph_new(&g, m->dims == 2 ? &image : input));
    switch (m->arch) {
    case SL_ARCH_TC_RESNET: tc_resnet(g, m, n_classes); break;
    case SL_ARCH_CNN: plain_cnn(g, m, n_classes); break;
    case SL_ARCH_DENSENET: densenet(g, m, n_classes); break;
    case SL_ARCH_RESNET: resnet(g, m, n_classes); break;
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
