/* sigloop features CONFIG: step 8's front end over the whole data set, into the feature cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/fileio.h"

static const char help[] =
    "usage: sigloop features CONFIG [options]\n"
    "\n"
    "Computes the configured features (features: in the config) of every example in the data set's\n"
    "manifest.csv, each read at data.sample_rate and padded or cut to data.duration, into the\n"
    "memory-mapped cache features.bin in the output folder. Rows whose file (content hash) and\n"
    "feature settings are unchanged are reused from the previous cache, the rest computed on all\n"
    "cores. Without a manifest, the data step runs first. feature_norm.csv gets each band's mean\n"
    "and standard deviation over the training split only.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR       output folder (default: runs/NAME), holding manifest.csv\n"
    "  --npy FILE          also write the features as a NumPy array (rows, bands, frames)\n"
    "  --set KEY=VALUE     override a config field, e.g. --set features.n_mels=64\n"
    "  -j, --threads N     threads (default: all cores)\n"
    "  --json              print a JSON summary\n"
    "  -q, --quiet         print only errors\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static const char *type_name(int t)
{
    static const char *const names[] = {"log-mel", "MFCC", "mel", "spectrogram", "band energy", "raw"};
    return t >= 0 && t < 6 ? names[t] : "?";
}

int cmd_features(int argc, char **argv)
{
    const char *npy = NULL;
    const cli_option own[] = {{"--npy", NULL, &npy}};
    cli_common c;
    int done;
    int rc = cli_parse_with(argc, argv, &c, help, &done, own, 1);
    if (rc != CLI_OK || done) return rc;

    double t0 = cli_now();
    sl_config cfg;
    char out_dir[SL_PATH_MAX], cache[SL_PATH_MAX + 32], norm[SL_PATH_MAX + 32];
    if (cli_load_config(&c, &cfg, out_dir, sizeof out_dir) != CLI_OK) return CLI_FAIL;
    snprintf(cache, sizeof cache, "%s/features.bin", out_dir);
    snprintf(norm, sizeof norm, "%s/feature_norm.csv", out_dir);

    sl_dataset *ds = NULL;
    sl_feature_cache *fc = NULL;
    double *mean = NULL;
    sl_features_stats st;
    sl_status s = cli_data_and_features(&c, &cfg, out_dir, !c.quiet && !c.json, &ds, &fc, &mean, &st);
    if (s == SL_OK && npy) s = sl_feature_cache_write_npy(fc, npy);
    size_t nb = fc ? sl_feature_cache_bands(fc) : 0;
    if (s == SL_OK) s = sl_features_write_norm(norm, mean, mean + nb, nb);
    free(mean);
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    double seconds = cli_now() - t0;
    double mb = (double)st.rows * (double)st.bands * (double)st.frames * 4.0 / 1e6;
    if (c.json) {
        printf("{\"cache\": \"%s\", \"rows\": %zu, \"bands\": %zu, \"frames\": %zu, \"computed\": %zu, "
               "\"reused\": %zu, \"seconds\": %.3f}\n",
               cache, st.rows, st.bands, st.frames, st.computed, st.reused, seconds);
    } else if (!c.quiet) {
        printf("features: %zu clips x %zu bands x %zu frames (%s), %zu computed, %zu reused, in %.2f s\n", st.rows,
               st.bands, st.frames, type_name(cfg.features.type), st.computed, st.reused, seconds);
        printf("wrote %s (%.1f MB), %s (per-band mean and std of the training split)%s%s\n", cache, mb, norm,
               npy ? " and " : "", npy ? npy : "");
    }
    sl_config_free(&cfg);
    return CLI_OK;
}
