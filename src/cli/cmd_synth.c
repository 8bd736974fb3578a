/* sigloop synth-stream CONFIG --minutes N -o FILE.wav: a long recording made of the held-out clips
 * of a split with random gaps over background noise, and its ground-truth events, for testing
 * detection without labelling by hand. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "sigloop/dataset.h"
#include "sigloop/fileio.h"
#include "sigloop/synth.h"

static const char help[] =
    "usage: sigloop synth-stream CONFIG --minutes N -o FILE.wav [options]\n"
    "\n"
    "Makes a long test recording from the clips of one split of the config's data set (default:\n"
    "test, the held-out clips): each clip read as training reads it, at its own length, in a\n"
    "seeded random order (every clip once before any twice), a random gap before each, over\n"
    "background noise at an SNR (the split's mean clip power over the noise power), clipped to\n"
    "full scale. The stream is exactly N minutes of 16-bit WAV at data.sample_rate; a clip that\n"
    "would run past the end is left out. The true events go to a CSV file (start,end,label,file:\n"
    "seconds, the class, the clip's manifest path). The data set is runs/NAME/manifest.csv, or\n"
    "the data step runs first and writes it. The same config, options and seed give the same\n"
    "files, byte for byte.\n"
    "\n"
    "options:\n"
    "  --minutes N         the stream's length in minutes, (0, 1440] (required)\n"
    "  -o, --out FILE.wav  the stream (required); written atomically\n"
    "  --truth FILE.csv    the events (default: FILE.wav with .csv for .wav)\n"
    "  --split NAME        test, val or train (default test)\n"
    "  --snr DB            signal-to-noise ratio in dB (default 20)\n"
    "  --gap MIN:MAX       seconds of gap before each clip, drawn uniformly (default 1:3;\n"
    "                      one number: that gap every time)\n"
    "  --noise KIND        white, pink or brown, or a folder of noise recordings (.wav, .flac,\n"
    "                      .ogg), joined and looped (default pink)\n"
    "  --seed N            order, gaps and noise (default 0)\n"
    "  --set KEY=VALUE     override a config field\n"
    "  -j, --threads N     threads of the data step, when it runs (default: all cores)\n"
    "  -q, --quiet         print only errors\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static int parse_double(const char *text, double *v)
{
    char *end = NULL;
    errno = 0;
    *v = strtod(text, &end);
    return *text && end && !*end && errno != ERANGE;
}

static const char *noise_names[] = {"white", "pink", "brown"};

/* "theo", "jackson, nicolas", or "6 speakers"-style counts: the split's groups */
static void groups_text(const sl_dataset *ds, sl_split split, char *buf, size_t size)
{
    size_t ng = sl_dataset_n_groups(ds), found = 0, len = 0;
    char *in = calloc(ng ? ng : 1, 1);
    for (size_t i = 0; in && i < sl_dataset_count(ds); i++) {
        const sl_entry *e = sl_dataset_entry(ds, i);
        if (e->split != split) continue;
        for (size_t g = 0; g < ng; g++)
            if (!in[g] && strcmp(sl_dataset_group(ds, g), e->group) == 0) {
                in[g] = 1;
                found++;
                break;
            }
    }
    buf[0] = '\0';
    if (found > 3 || !in) {
        snprintf(buf, size, "%zu groups", found);
    } else {
        for (size_t g = 0; g < ng && len < size; g++)
            if (in[g]) len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", sl_dataset_group(ds, g));
    }
    free(in);
}

/* The manifest in data_dir, or the data step run and its manifest written there. */
static sl_status load_dataset(const cli_common *c, const sl_config *cfg, const char *data_dir, sl_dataset **ds)
{
    char manifest[SL_PATH_MAX + 32];
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", data_dir);
    struct stat sb;
    if (stat(manifest, &sb) == 0) return sl_dataset_read_manifest(ds, manifest);
    sl_dataset_opts o = {.threads = c->threads, .progress = !c->quiet};
    SL_TRY(sl_dataset_build(ds, cfg, &o));
    sl_status s = sl_mkdirs(data_dir);
    if (s == SL_OK) s = sl_dataset_write_manifest(*ds, manifest);
    if (s != SL_OK) {
        sl_dataset_free(*ds);
        *ds = NULL;
    }
    return s;
}

int cmd_synth_stream(int argc, char **argv)
{
    const char *split_text = NULL, *minutes_text = NULL, *truth = NULL, *snr_text = NULL, *gap_text = NULL,
               *noise_text = NULL, *seed_text = NULL;
    const cli_option own[] = {{"--split", NULL, &split_text}, {"--minutes", NULL, &minutes_text},
                              {"--truth", NULL, &truth},      {"--snr", NULL, &snr_text},
                              {"--gap", NULL, &gap_text},     {"--noise", NULL, &noise_text},
                              {"--seed", NULL, &seed_text}};
    cli_common c;
    int done;
    int rc = cli_parse_with(argc, argv, &c, help, &done, own, sizeof own / sizeof *own);
    if (rc != CLI_OK || done) return rc;
    if (c.json) {
        cli_error("--json: synth-stream prints one summary line (see --help)");
        return CLI_USAGE;
    }
    sl_synth_opts o;
    sl_synth_opts_default(&o);
    if (split_text) {
        if (strcmp(split_text, "test") == 0) o.split = SL_SPLIT_TEST;
        else if (strcmp(split_text, "val") == 0) o.split = SL_SPLIT_VAL;
        else if (strcmp(split_text, "train") == 0) o.split = SL_SPLIT_TRAIN;
        else {
            cli_error("--split %s: expected test, val or train", split_text);
            return CLI_USAGE;
        }
    }
    if (!minutes_text) {
        cli_error("--minutes N is required: the stream's length (see --help)");
        return CLI_USAGE;
    }
    if (!parse_double(minutes_text, &o.minutes)) {
        cli_error("--minutes %s: expected a number of minutes", minutes_text);
        return CLI_USAGE;
    }
    if (!c.out_dir) {
        cli_error("-o FILE.wav is required: where to write the stream (see --help)");
        return CLI_USAGE;
    }
    if (snr_text && !parse_double(snr_text, &o.snr_db)) {
        cli_error("--snr %s: expected a number of dB", snr_text);
        return CLI_USAGE;
    }
    if (gap_text) {
        const char *colon = strchr(gap_text, ':');
        char lo[64];
        snprintf(lo, sizeof lo, "%.*s", colon ? (int)(colon - gap_text) : (int)strlen(gap_text), gap_text);
        if (!parse_double(lo, &o.gap_min) || (colon ? !parse_double(colon + 1, &o.gap_max) : 0)) {
            cli_error("--gap %s: expected MIN:MAX in seconds (or one number)", gap_text);
            return CLI_USAGE;
        }
        if (!colon) o.gap_max = o.gap_min;
    }
    if (noise_text) {
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(noise_text, noise_names[i]) == 0) k = i;
        if (k >= 0) o.noise = k;
        else o.noise_folder = noise_text;
    }
    if (seed_text) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(seed_text, &end, 10);
        if (!*seed_text || *end || errno == ERANGE || seed_text[0] == '-') {
            cli_error("--seed %s: expected a whole number >= 0", seed_text);
            return CLI_USAGE;
        }
        o.seed = (uint64_t)v;
    }
    const char *wav = c.out_dir;
    c.out_dir = NULL; /* the data set stays in runs/NAME */
    char truth_buf[SL_PATH_MAX + 8];
    if (!truth) {
        size_t n = strlen(wav);
        if (n > 4 && strcasecmp(wav + n - 4, ".wav") == 0)
            snprintf(truth_buf, sizeof truth_buf, "%.*s.csv", (int)(n - 4), wav);
        else
            snprintf(truth_buf, sizeof truth_buf, "%s.csv", wav);
        truth = truth_buf;
    }

    sl_config cfg;
    char data_dir[SL_PATH_MAX];
    if (cli_load_config(&c, &cfg, data_dir, sizeof data_dir) != CLI_OK) return CLI_FAIL;
    sl_dataset *ds = NULL;
    sl_synth_result r;
    sl_status s = sl_synth_check(&cfg, &o);
    if (s == SL_OK) s = load_dataset(&c, &cfg, data_dir, &ds);
    if (s == SL_OK) s = sl_synth_stream(&cfg, ds, &o, wav, truth, &r);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        sl_dataset_free(ds);
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    if (!c.quiet) {
        char groups[256], length[64], noise[SL_PATH_MAX + 32];
        groups_text(ds, (sl_split)o.split, groups, sizeof groups);
        if (r.seconds >= 60) snprintf(length, sizeof length, "%.1f min", r.seconds / 60);
        else snprintf(length, sizeof length, "%.1f s", r.seconds);
        if (o.noise_folder) snprintf(noise, sizeof noise, "noise from %s", o.noise_folder);
        else snprintf(noise, sizeof noise, "%s noise", noise_names[o.noise]);
        printf("wrote %s: %s at %g Hz, %zu events from %zu %s clips (%s), %s at %g dB SNR (RMS %.1f dBFS), "
               "%llu samples clipped; truth %s\n",
               wav, length, cfg.data.sample_rate, r.events, r.clips_in_split, sl_split_name((sl_split)o.split),
               groups, noise, o.snr_db, r.noise_rms > 0 ? 20 * log10(r.noise_rms) : -INFINITY,
               (unsigned long long)r.clipped, truth);
    }
    sl_dataset_free(ds);
    sl_config_free(&cfg);
    return CLI_OK;
}
