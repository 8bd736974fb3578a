/* sigloop info FILE...: what a recording holds, or why it cannot be read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "sigloop/audio.h"
#include "sigloop/hash.h"

static const char help[] =
    "usage: sigloop info FILE... [options]\n"
    "\n"
    "Reads each file as the data step would and prints one line about it: format, sample rate,\n"
    "channels, length, peak and RMS level, clipped samples and content hash (audio: WAV, FLAC,\n"
    "OGG); channels, rows and rate (CSV time series). A file that cannot be read gets a one-line\n"
    "error naming the file (and the line and column for CSV).\n"
    "\n"
    "options:\n"
    "  --rate HZ        sample rate of a CSV file without a time column (default: none)\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 every file read, 1 a file could not be read, 2 usage error.\n";

static double dbfs(double x) { return x > 0 ? 20.0 * log10(x) : -INFINITY; }

static int info_audio(const char *path)
{
    sl_audio_opts o = {.target_rate = 0, .channel = -1, .max_frames = 0};
    sl_signal s;
    char hash[SL_HASH_HEX];
    if (sl_audio_read(path, &o, &s) != SL_OK || sl_hash_file(path, hash) != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    printf("%s: %s, %g Hz, %d channel%s, %lld frames (%.3f s), peak %.1f dBFS, RMS %.1f dBFS, "
           "%llu clipped (%.3f %%), hash %s\n",
           path, s.info.format, s.info.sample_rate, s.info.channels, s.info.channels == 1 ? "" : "s",
           (long long)s.info.frames, (double)s.info.frames / s.info.sample_rate, dbfs(s.peak),
           dbfs(s.rms), (unsigned long long)s.n_clipped,
           s.n_raw ? 100.0 * (double)s.n_clipped / (double)s.n_raw : 0.0, hash);
    sl_signal_free(&s);
    return CLI_OK;
}

static int info_series(const char *path, double rate)
{
    sl_series_opts o = {.time_column = "", .sample_rate = rate, .max_frames = 0};
    sl_series s;
    if (sl_series_read_csv(path, &o, &s) != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    printf("%s: CSV, %zu channel%s (", path, s.n_channels, s.n_channels == 1 ? "" : "s");
    for (size_t i = 0; i < s.n_channels; i++) printf("%s%s", i ? ", " : "", s.names[i]);
    printf("), %zu rows, %g Hz (%s), %.3f s\n", s.n_frames, s.sample_rate,
           s.has_time ? "from timestamps" : "given", (double)s.n_frames / s.sample_rate);
    sl_series_free(&s);
    return CLI_OK;
}

int cmd_info(int argc, char **argv)
{
    double rate = 0;
    int n_files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--rate") == 0) {
            char *end;
            if (i + 1 >= argc || (rate = strtod(argv[i + 1], &end), *end) || !(rate > 0)) {
                cli_error("--rate needs a positive number of Hz");
                return CLI_USAGE;
            }
            argv[i] = argv[i + 1] = NULL;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("unknown option '%s' (see --help)", argv[i]);
            return CLI_USAGE;
        } else {
            n_files++;
        }
    }
    if (!n_files) {
        cli_error("missing FILE (see --help)");
        return CLI_USAGE;
    }
    int rc = CLI_OK;
    for (int i = 1; i < argc; i++) {
        if (!argv[i]) continue;
        const char *dot = strrchr(argv[i], '.');
        int r = dot && strcasecmp(dot, ".csv") == 0 ? info_series(argv[i], rate) : info_audio(argv[i]);
        if (r != CLI_OK) rc = r;
    }
    return rc;
}
