/* sigloop augment CONFIG --preview N: hear and see what the config's augment: list does, on N
 * training examples: the original and the augmented recording as WAV files, and an HTML page with
 * both spectrograms (standardised log-mel, one colour scale) and audio players. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sigloop/audio.h"
#include "sigloop/augment.h"
#include "sigloop/config.h"
#include "sigloop/dataset.h"
#include "sigloop/features.h"
#include "sigloop/fileio.h"
#include "sigloop/image.h"
#include "sigloop/rng.h"

static const char help[] =
    "usage: sigloop augment CONFIG --preview N [options]\n"
    "\n"
    "Applies the config's augment: list to N training examples (picked at random with train.seed)\n"
    "as training would in the given epoch, and writes for each the original and the augmented\n"
    "recording (NNN_LABEL_orig.wav, NNN_LABEL_aug.wav), both spectrograms side by side as an image\n"
    "(NNN_LABEL.png), and an HTML page, index.html, with the spectrograms (the standardised features the network sees, feature transforms included) and\n"
    "audio players. mixup mixes whole batches and is not shown. The data and feature steps run\n"
    "first when their files are missing.\n"
    "\n"
    "options:\n"
    "  --preview N         examples to show (1 to 1000; default 8)\n"
    "  --epoch E           the epoch whose draws to show (default 0)\n"
    "  -o, --out DIR       the preview folder (default: runs/NAME/augment)\n"
    "  --set KEY=VALUE     override a config field, e.g. --set 'augment=[speed: {factor: [0.8, 1.2]}]'\n"
    "  -q, --quiet         print only errors\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

/* A file name part from a label: letters, digits, '-' and '_' kept, the rest '_'. */
static void safe_name(const char *in, char *out, size_t size)
{
    size_t k = 0;
    for (; *in && k + 1 < size; in++) {
        char ch = *in;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        out[k++] = ok ? ch : '_';
    }
    out[k] = '\0';
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

/* The heat map of f (bands, frames) as an <img> with a PNG data URI. */
static sl_status write_image(FILE *html, const float *f, size_t bands, size_t frames, float lo, float hi,
                             const char *alt)
{
    uint8_t *png = NULL;
    size_t len = 0;
    char *b64 = NULL;
    SL_TRY(sl_heatmap_png(f, bands, frames, 1, lo, hi, 1, &png, &len)); /* scaled by the page */
    sl_status s = sl_base64(png, len, &b64);
    free(png);
    if (s != SL_OK) return s;
    fprintf(html, "<img alt=\"%s\" width=\"%zu\" height=\"%zu\" src=\"data:image/png;base64,%s\">", alt, 3 * frames,
            3 * bands, b64);
    free(b64);
    return SL_OK;
}

/* The colour range of a pair of feature matrices: their smallest and largest value, so the two
 * compare and the speech shows. */
static void pair_range(const float *f0, const float *f1, size_t n, float *lo, float *hi)
{
    *lo = *hi = f0[0];
    for (size_t i = 0; i < n; i++) {
        *lo = fminf(*lo, fminf(f0[i], f1[i]));
        *hi = fmaxf(*hi, fmaxf(f0[i], f1[i]));
    }
    if (!(*hi > *lo)) *hi = *lo + 1;
}

/* before | after, a gap of 4 frames between (at the lowest colour), 2 pixels per cell, as a PNG file */
static sl_status write_pair_png(const char *path, const float *f0, const float *f1, size_t bands, size_t frames,
                                float lo, float hi, float *pair)
{
    size_t cols = 2 * frames + 4;
    for (size_t b = 0; b < bands; b++) {
        float *row = pair + b * cols;
        memcpy(row, f0 + b * frames, frames * sizeof *row);
        for (size_t g = 0; g < 4; g++) row[frames + g] = lo;
        memcpy(row + frames + 4, f1 + b * frames, frames * sizeof *row);
    }
    uint8_t *png = NULL;
    size_t len = 0;
    SL_TRY(sl_heatmap_png(pair, bands, cols, 1, lo, hi, 2, &png, &len));
    sl_status s = sl_write_file_atomic(path, png, len);
    free(png);
    return s;
}

static void standardise(float *f, size_t bands, size_t frames, const double *mean, const double *std)
{
    for (size_t k = 0; k < bands; k++)
        for (size_t t = 0; t < frames; t++)
            f[k * frames + t] = (float)((f[k * frames + t] - mean[k]) / (std[k] > 1e-12 ? std[k] : 1.0));
}

int cmd_augment(int argc, char **argv)
{
    const char *preview = NULL, *epoch_text = NULL;
    const cli_option own[] = {{"--preview", NULL, &preview}, {"--epoch", NULL, &epoch_text}};
    cli_common c;
    int done;
    int rc = cli_parse_with(argc, argv, &c, help, &done, own, 2);
    if (rc != CLI_OK || done) return rc;
    long n_show = 8, epoch = 0;
    for (int k = 0; k < 2; k++) {
        const char *text = k ? epoch_text : preview, *opt = k ? "--epoch" : "--preview";
        if (!text) continue;
        char *end = NULL;
        long v = strtol(text, &end, 10);
        if (!*text || *end || v < 0 || (k == 0 && (v < 1 || v > 1000)) || v > 1000000) {
            cli_error("%s needs a whole number%s", opt, k == 0 ? " in [1, 1000]" : " >= 0");
            return CLI_USAGE;
        }
        if (k) epoch = v;
        else n_show = v;
    }
    const char *preview_dir = c.out_dir;
    c.out_dir = NULL; /* the data and features stay in runs/NAME */

    double t0 = cli_now();
    sl_config cfg;
    char data_dir[SL_PATH_MAX], dir[SL_PATH_MAX + 32];
    if (cli_load_config(&c, &cfg, data_dir, sizeof data_dir) != CLI_OK) return CLI_FAIL;
    if (!cfg.augment.n) {
        cli_error("%s: augment: the list is empty: nothing to preview", cfg.path);
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    if (preview_dir) snprintf(dir, sizeof dir, "%s", preview_dir);
    else snprintf(dir, sizeof dir, "%s/augment", data_dir);

    sl_dataset *ds = NULL;
    sl_feature_cache *fc = NULL;
    double *mean = NULL;
    sl_features_stats fst;
    sl_status s = cli_data_and_features(&c, &cfg, data_dir, 0, &ds, &fc, &mean, &fst);
    size_t bands = fc ? sl_feature_cache_bands(fc) : 0, frames = fc ? sl_feature_cache_frames(fc) : 0;

    /* the examples: a seeded shuffle of the training rows, the first n_show */
    size_t rows = ds ? sl_dataset_count(ds) : 0, n_train = 0;
    size_t *train = malloc((rows + 1) * sizeof *train);
    if (s == SL_OK && !train) s = sl_fail(SL_ENOMEM, "out of memory");
    for (size_t i = 0; s == SL_OK && i < rows; i++)
        if (sl_dataset_entry(ds, i)->split == SL_SPLIT_TRAIN) train[n_train++] = i;
    if (s == SL_OK && !n_train) s = sl_fail(SL_EARG, "%s/manifest.csv: no training examples", data_dir);
    sl_rng pick = sl_rng_make(cfg.train.seed ^ 0x50524556ull, 0);
    for (size_t i = n_train; s == SL_OK && i > 1; i--) {
        size_t j = sl_rng_below(&pick, (uint32_t)i), tmp = train[i - 1];
        train[i - 1] = train[j];
        train[j] = tmp;
    }
    size_t n = (size_t)n_show < n_train ? (size_t)n_show : n_train;

    sl_features_params fp;
    sl_features_params_from_config(&cfg, &fp);
    sl_featurizer *fz = NULL;
    if (s == SL_OK) s = sl_featurizer_new(&fz, &fp);
    size_t n_samples = (size_t)llround(cfg.data.duration * cfg.data.sample_rate);
    size_t channels = fz && sl_featurizer_bands(fz) ? bands / sl_featurizer_bands(fz) : 1;
    sl_augmenter *aug = NULL;
    sl_aug_worker *w = NULL;
    if (s == SL_OK) s = sl_augmenter_new(&aug, &cfg, channels, n_samples, bands, frames, cfg.train.seed);
    if (s == SL_OK) s = sl_aug_worker_new(&w, aug);
    float *x = malloc(channels * n_samples * sizeof *x), *y = malloc(channels * n_samples * sizeof *y);
    float *f0 = malloc(bands * frames * sizeof *f0), *f1 = malloc(bands * frames * sizeof *f1);
    float *pair = malloc(bands * (2 * frames + 4) * sizeof *pair);
    void *scratch = fz ? malloc(sl_featurizer_scratch_size(fz, n_samples)) : NULL;
    if (s == SL_OK && (!x || !y || !f0 || !f1 || !pair || !scratch)) s = sl_fail(SL_ENOMEM, "out of memory");
    if (s == SL_OK) s = sl_mkdirs(dir);

    char *page = NULL;
    size_t page_len = 0;
    FILE *html = s == SL_OK ? open_memstream(&page, &page_len) : NULL;
    if (s == SL_OK && !html) s = sl_fail(SL_ENOMEM, "out of memory");
    if (s == SL_OK) {
        fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sigloop augment: ", html);
        html_text(html, cfg.name);
        fputs("</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
              "table{border-collapse:collapse}td,th{padding:6px 10px;border-bottom:1px solid #ddd;vertical-align:top;"
              "text-align:left}img{image-rendering:pixelated;display:block}audio{width:260px;margin-top:4px}"
              "code{background:#f4f4f4;padding:1px 4px}</style></head><body>\n<h1>Augmentation preview: ",
              html);
        html_text(html, cfg.name);
        fprintf(html, "</h1>\n<p>%zu training examples, epoch %ld, seed %llu. Spectrograms: the standardised features "
                      "the network sees (low bands at the bottom; each pair coloured over its own range).</p>\n<p>",
                n, epoch, (unsigned long long)cfg.train.seed);
        for (size_t i = 0; i < cfg.augment.n; i++) {
            fprintf(html, "%s<code>%s</code> (p %g)", i ? ", " : "Chain: ", sl_aug_type_name(cfg.augment.items[i].type),
                    cfg.augment.items[i].p);
            if (cfg.augment.items[i].type == SL_AUG_MIXUP) fputs(" — mixes batches, not shown", html);
        }
        fputs(".</p>\n<table><tr><th>example</th><th>original</th><th>augmented</th></tr>\n", html);
    }
    int is_audio = 1;
    for (size_t k = 0; s == SL_OK && k < n; k++) {
        size_t row = train[k], n_real = 0;
        const sl_entry *e = sl_dataset_entry(ds, row);
        const char *dot = strrchr(e->path, '.');
        is_audio = !(dot && strcmp(dot, ".csv") == 0);
        s = sl_features_read_signal(&cfg, ds, row, channels, n_samples, x, &n_real);
        if (s != SL_OK) break;
        memcpy(y, x, channels * n_samples * sizeof *x);
        size_t n_aug = n_real;
        if ((s = sl_augment_signal(aug, w, y, &n_aug, (uint64_t)epoch, row)) != SL_OK) break;
        char label[64], orig_name[128], aug_name[128], path[SL_PATH_MAX + 200];
        safe_name(e->label, label, sizeof label);
        snprintf(orig_name, sizeof orig_name, "%03zu_%s_orig.wav", k, label);
        snprintf(aug_name, sizeof aug_name, "%03zu_%s_aug.wav", k, label);
        if (is_audio) {
            snprintf(path, sizeof path, "%s/%s", dir, orig_name);
            if ((s = sl_audio_write_wav(path, x, n_samples, cfg.data.sample_rate)) != SL_OK) break;
            snprintf(path, sizeof path, "%s/%s", dir, aug_name);
            if ((s = sl_audio_write_wav(path, y, n_samples, cfg.data.sample_rate)) != SL_OK) break;
        }
        if ((s = sl_features_of_signal(&cfg, fz, x, channels, n_samples, n_real, f0, scratch)) != SL_OK) break;
        if ((s = sl_features_of_signal(&cfg, fz, y, channels, n_samples, n_aug, f1, scratch)) != SL_OK) break;
        standardise(f0, bands, frames, mean, mean + bands);
        standardise(f1, bands, frames, mean, mean + bands);
        sl_augment_features(aug, w, f1, (uint64_t)epoch, row);
        snprintf(path, sizeof path, "%s/%03zu_%s.png", dir, k, label);
        float lo, hi;
        pair_range(f0, f1, bands * frames, &lo, &hi);
        if ((s = write_pair_png(path, f0, f1, bands, frames, lo, hi, pair)) != SL_OK) break;
        fprintf(html, "<tr><td><b>");
        html_text(html, e->label);
        fputs("</b><br>", html);
        html_text(html, e->group);
        fputs("<br><small>", html);
        html_text(html, e->path);
        fputs("</small></td><td>", html);
        if ((s = write_image(html, f0, bands, frames, lo, hi, "original")) != SL_OK) break;
        if (is_audio) fprintf(html, "<audio controls preload=\"none\" src=\"%s\"></audio>", orig_name);
        fputs("</td><td>", html);
        if ((s = write_image(html, f1, bands, frames, lo, hi, "augmented")) != SL_OK) break;
        if (is_audio) fprintf(html, "<audio controls preload=\"none\" src=\"%s\"></audio>", aug_name);
        fputs("</td></tr>\n", html);
    }
    if (html) {
        fputs("</table>\n</body></html>\n", html);
        if (fclose(html) != 0 && s == SL_OK) s = sl_fail(SL_ENOMEM, "out of memory writing the page");
    }
    char index[SL_PATH_MAX + 64];
    snprintf(index, sizeof index, "%s/index.html", dir);
    if (s == SL_OK) s = sl_write_file_atomic(index, page, page_len);
    free(page);
    free(x);
    free(y);
    free(f0);
    free(f1);
    free(pair);
    free(scratch);
    free(train);
    free(mean);
    sl_aug_worker_free(w);
    sl_augmenter_free(aug);
    sl_featurizer_free(fz);
    sl_feature_cache_close(fc);
    sl_dataset_free(ds);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    if (!c.quiet)
        printf("augment: %zu examples, epoch %ld, in %.2f s\nwrote %s, the spectrograms as images%s beside it\n", n,
               epoch, cli_now() - t0, index, is_audio ? " and the original and augmented recordings (WAV)" : "");
    sl_config_free(&cfg);
    return CLI_OK;
}
