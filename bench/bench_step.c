/* One training step (forward, loss, backward, Adam) of a config's model on random inputs, timed
 * over many steps, with the time of every node forward and backward: where a step's time goes.
 *   bench_step CONFIG [STEPS] [THREADS] [BATCH] [BANDS] [FRAMES]
 * (defaults: 50 steps, 2 threads, the config's batch, 40 x 98 features) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigloop/config.h"
#include "sigloop/nn.h"
#include "sigloop/rng.h"
#include "sigloop/train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_step CONFIG [STEPS] [THREADS] [BATCH] [BANDS] [FRAMES]\n");
        return 2;
    }
    int steps = argc > 2 ? atoi(argv[2]) : 50, threads = argc > 3 ? atoi(argv[3]) : 2;
    sl_config cfg;
    if (sl_config_load(&cfg, argv[1], NULL, 0) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return 1;
    }
    size_t batch = argc > 4 ? (size_t)atoi(argv[4]) : cfg.train.batch;
    size_t bands = argc > 5 ? (size_t)atoi(argv[5]) : 40, frames = argc > 6 ? (size_t)atoi(argv[6]) : 98;
    sl_shape in = {.rank = 2, .d = {bands, frames}};
    size_t k = 10;
    sl_graph *g;
    sl_net *net;
    sl_optim *opt;
    if (sl_model_build(&cfg.model, &in, k, &g) != SL_OK || sl_net_new(&net, g, batch) != SL_OK ||
        sl_net_set_threads(net, threads) != SL_OK || sl_optim_new(&opt, &cfg.train, sl_graph_n_params(g)) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return 1;
    }
    if (getenv("FTZ")) __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | 0x8040);
    sl_net_init(net, 0);
    size_t nx = batch * bands * frames;
    float *x = malloc(nx * sizeof *x), *dz = malloc(batch * k * sizeof *dz);
    int *labels = malloc(batch * sizeof *labels);
    sl_rng r = sl_rng_make(1, 2);
    for (size_t i = 0; i < nx; i++) x[i] = (float)sl_rng_normal(&r);
    for (size_t i = 0; i < batch; i++) labels[i] = (int)(i % k);
    double t_total = 0, t_loss = 0, t_opt = 0;
    for (int s = -3; s < steps; s++) {
        if (s == 0) sl_net_profile(net, 1); /* after a warm-up */
        double t0 = now();
        const float *z;
        double l;
        sl_net_forward(net, x, batch, 1, &z);
        double t1 = now();
        sl_softmax_ce(z, labels, batch, k, 0, NULL, &l, dz);
        double t2 = now();
        sl_net_zero_grads(net);
        sl_net_backward(net, dz, NULL);
        double t3 = now();
        sl_optim_step_pool(opt, sl_net_params(net), sl_net_grads(net), 1e-3, sl_net_pool(net));
        double t4 = now();
        if (s >= 0) {
            t_total += t4 - t0;
            t_loss += t2 - t1;
            t_opt += t4 - t3;
        }
    }
    const double *p = sl_net_profile_seconds(net);
    size_t n = sl_graph_count(g);
    printf("%s: batch %zu, %d thread(s), %d steps: %.3f ms per step, %.0f samples/s\n", argv[1], batch, threads, steps,
           1e3 * t_total / steps, (double)steps * (double)batch / t_total);
    printf("%-22s %-10s %10s %10s\n", "node", "op", "fwd ms", "bwd ms");
    double sf = 0, sb = 0;
    for (size_t i = 1; i < n; i++) {
        const sl_node *nd = sl_graph_node(g, i);
        printf("%-22s %-10s %10.3f %10.3f\n", nd->name, sl_op_name(nd->op), 1e3 * p[i] / steps,
               1e3 * p[n + i] / steps);
        sf += p[i];
        sb += p[n + i];
    }
    printf("%-33s %10.3f %10.3f\nloss %.3f ms, optimizer %.3f ms\n", "total", 1e3 * sf / steps, 1e3 * sb / steps,
           1e3 * t_loss / steps, 1e3 * t_opt / steps);
    return 0;
}
