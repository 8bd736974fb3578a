/* TC-ResNet8 batch-1 inference latency on a 40 x 98 input: the median of many single forwards
 * (inference mode), on one thread.
 *   bench_infer [RUNS]   */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sigloop/config.h"
#include "sigloop/nn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 2000;
    sl_config cfg;
    sl_config_defaults(&cfg); /* the default model: TC-ResNet8, widths 16/24/32/48, k9 */
    sl_shape in = {.rank = 2, .d = {40, 98}};
    sl_graph *g;
    sl_net *net;
    if (sl_model_build(&cfg.model, &in, 10, &g) != SL_OK || sl_net_new(&net, g, 1) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return 1;
    }
    sl_net_init(net, 0);
    float *x = malloc(40 * 98 * sizeof *x);
    for (int i = 0; i < 40 * 98; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    double *t = malloc((size_t)runs * sizeof *t);
    const float *y;
    for (int i = 0; i < 200; i++) sl_net_forward(net, x, 1, 0, &y); /* warm-up */
    for (int i = 0; i < runs; i++) {
        double t0 = now();
        sl_net_forward(net, x, 1, 0, &y);
        t[i] = now() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    printf("sigloop TC-ResNet8 batch-1 inference, 1 thread: median %.1f us (p10 %.1f, p90 %.1f) over %d runs\n",
           1e6 * t[runs / 2], 1e6 * t[runs / 10], 1e6 * t[runs * 9 / 10], runs);
    free(x);
    free(t);
    sl_net_free(net);
    sl_graph_free(g);
    sl_config_free(&cfg);
    return 0;
}
