/* Step 4: training. Optimizers and learning-rate schedules (as PyTorch defines them), and the
 * training loop over the feature cache.
 *
 * Everything is seeded: the weights from (train.seed, node), the order of the training examples
 * in epoch e from (train.seed, 0..e). The same config, data and thread count give the same
 * weights, and --resume after a kill gives the weights of an uninterrupted run. */
#ifndef SIGLOOP_TRAIN_H
#define SIGLOOP_TRAIN_H

#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/model.h"
#include "sigloop/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_optim sl_optim;

/* An optimizer for n parameters per t (adam, adamw, sgd; weight decay, momentum, nesterov). */
sl_status sl_optim_new(sl_optim **out, const sl_train_config *t, size_t n_params);
void sl_optim_free(sl_optim *o); /* NULL-safe */
/* One update of params from grads at learning rate lr. */
void sl_optim_step(sl_optim *o, sl_real *params, const sl_real *grads, double lr);
/* The same, its parameters split over pool's threads (NULL: this thread); every parameter's update
 * is independent, so the result is the same for any split. */
void sl_optim_step_pool(sl_optim *o, sl_real *params, const sl_real *grads, double lr, struct sl_pool *pool);
/* The optimizer's state, for checkpoints: moments (n each) and the step count. */
sl_real *sl_optim_moment(sl_optim *o, int which); /* 0: first (or SGD's momentum), 1: second */
long *sl_optim_step_count(sl_optim *o);

/* The learning rate at a (fractional) epoch, from 0 to train.epochs. */
double sl_lr_at(const sl_train_config *t, double epoch);

/* Scales grads so their global L2 norm is at most max_norm (0: no clipping); returns the norm
 * before clipping. */
double sl_clip_grads(sl_real *grads, size_t n, double max_norm);

typedef struct {
    int threads;        /* for the convolutions; <= 0: one per core */
    int progress;       /* a progress bar on stderr when it is a terminal */
    int quiet;          /* no per-epoch lines on stdout */
    int resume;         /* continue from out_dir's last.slm and train_state.bin */
    int no_test;        /* 1: the test split is not scored (a search selects on validation only) */
} sl_train_opts;

typedef struct {
    size_t epochs;          /* run */
    int stopped_early;      /* train.patience ran out */
    size_t best_epoch;      /* 1-based; by validation accuracy (the last epoch without validation) */
    double best_val_acc;    /* -1 without a validation split */
    double test_acc;        /* -1 without a test split */
    size_t n_test;
    double seconds;
    double samples_per_s;   /* training examples per second of training steps */
    size_t n_params;        /* of the model */
    size_t macs;            /* multiply-accumulates per example (forward) */
} sl_train_result;

/* Trains the config's model on the cache's rows (fc must hold ds's entries, in order), standardised
 * per band with mean and std (n_bands values, from the training split). Writes metrics.csv (one row
 * per epoch), the checkpoints last.slm (every epoch) and model.slm (the best epoch), and
 * predictions.csv (the test split, scored by the best epoch's weights) into out_dir, atomically.
 * A NaN or infinite loss stops training with an error; the checkpoints written before it stay. */
sl_status sl_train_run(const sl_config *cfg, const sl_dataset *ds, const sl_feature_cache *fc, const double *mean,
                       const double *std, const char *out_dir, const sl_train_opts *opts, sl_train_result *res);

/* Accuracy of a loaded model on one split of ds (fc: ds's feature cache, computed with the model's
 * settings); predictions.csv-style output to `predictions` when not NULL. */
sl_status sl_model_evaluate(const sl_model *m, const sl_dataset *ds, const sl_feature_cache *fc, sl_split split,
                            const char *predictions, double *acc, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
