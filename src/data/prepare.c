/* The data set and its feature cache in one folder, brought up to date (sigloop train, run,
 * augment, features and search all start here). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "sigloop/fileio.h"
#include "sigloop/features.h"

sl_status sl_data_prepare(const sl_config *cfg, const char *dir, const sl_prepare_opts *opts, sl_dataset **ds,
                          sl_feature_cache **fc, double **mean, sl_features_stats *st)
{
    *ds = NULL;
    *fc = NULL;
    if (mean) *mean = NULL;
    sl_prepare_opts o = opts ? *opts : (sl_prepare_opts){0};
    char manifest[SL_PATH_MAX + 32], cache[SL_PATH_MAX + 80];
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", dir);
    snprintf(cache, sizeof cache, "%s/%s", dir, o.cache_name ? o.cache_name : "features.bin");
    struct stat sb;
    sl_status s = SL_OK;
    if (stat(manifest, &sb) == 0) {
        s = sl_dataset_read_manifest(ds, manifest);
    } else {
        if (o.announce) fprintf(stderr, "sigloop: no %s yet: running the data step first\n", manifest);
        sl_dataset_opts dopts = {.threads = o.threads, .progress = o.progress};
        s = sl_dataset_build(ds, cfg, &dopts);
        if (s == SL_OK) s = sl_mkdirs(dir);
        if (s == SL_OK) s = sl_dataset_write_manifest(*ds, manifest);
    }
    sl_features_opts fopts = {.threads = o.threads, .progress = o.progress};
    sl_features_stats dummy;
    if (s == SL_OK) s = sl_features_build(cfg, *ds, cache, &fopts, st ? st : &dummy);
    if (s == SL_OK) s = sl_feature_cache_open(fc, cache);
    if (s == SL_OK && mean) { /* per-band statistics of the training split, for standardising */
        size_t nb = sl_feature_cache_bands(*fc);
        if (!(*mean = calloc(2 * nb, sizeof **mean))) s = sl_fail(SL_ENOMEM, "out of memory");
        else s = sl_features_norm(*fc, *ds, SL_SPLIT_TRAIN, *mean, *mean + nb);
    }
    if (s != SL_OK) {
        if (mean) {
            free(*mean);
            *mean = NULL;
        }
        sl_feature_cache_close(*fc);
        sl_dataset_free(*ds);
        *fc = NULL;
        *ds = NULL;
    }
    return s;
}
