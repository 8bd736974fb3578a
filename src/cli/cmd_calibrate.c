/* sigloop calibrate RUN --stream FILE --truth FILE.csv: the post-processing's operating point. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "sigloop/fileio.h"
#include "sigloop/model.h"
#include "sigloop/post.h"
#include "sigloop/svg.h"

static const char help[] =
    "usage: sigloop calibrate RUN --stream FILE --truth FILE.csv [--target-fa-per-hour X]\n"
    "                         [--eval FILE --eval-truth FILE.csv] [-o FILE.yaml] [--svg FILE]\n"
    "                         [--set post.KEY=VALUE ...] [--json] [-j N] [-q]\n"
    "\n"
    "Step 8: runs RUN's model once over the stream (a recording with its true events, e.g. from\n"
    "'sigloop synth-stream'), then the detector again for every setting of a sweep: the moving\n"
    "average over 1, 2, 3, 5 and 8 decisions, suppression 0.25, 0.5 and 1 s, one threshold for\n"
    "all classes from 0.30 to 0.95 (hysteresis, classes and background as RUN's config, or --set,\n"
    "says). Each setting's events are matched to the truth (a hit: the start within 250 ms of a\n"
    "true event of the same label), giving its recall and false alarms per hour. The operating\n"
    "point is the setting with the most recall within --target-fa-per-hour (default 10).\n"
    "\n"
    "Writes RUN's config with these post: settings (default RUN/detect.yaml, which 'sigloop detect'\n"
    "then uses) and the DET curve, miss rate against false alarms per hour (default\n"
    "RUN/calibrate.svg). --eval scores the chosen point on a second stream, never seen by the\n"
    "sweep: the figure to trust.\n"
    "\n"
    "Exit status: 0 success, 1 failure (also: no setting meets the target), 2 usage error.\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The DET curve: one line per moving average at the chosen suppression, over the thresholds. */
static sl_status det_svg(const sl_calib *c, const sl_calib_point *op, const char *path)
{
    enum { MAXS = 8 };
    size_t averages[MAXS], na = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t a = c->points[i].average, seen = 0;
        for (size_t k = 0; k < na; k++) seen |= averages[k] == a;
        if (!seen && na < MAXS) averages[na++] = a;
    }
    double *x = malloc((c->n + 1) * sizeof *x), *y = malloc((c->n + 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    sl_svg_series series[MAXS + 1];
    char names[MAXS][48];
    size_t used = 0, ns = 0;
    double x_hi = c->target_fa * 4 > 20 ? c->target_fa * 4 : 20;
    for (size_t k = 0; k < na; k++) {
        size_t first = used;
        for (size_t i = 0; i < c->n; i++) {
            const sl_calib_point *p = &c->points[i];
            if (p->average != averages[k] || p->suppress != op->suppress) continue;
            x[used] = p->r.fa_per_hour;
            y[used] = 100 * p->r.miss_rate;
            used++;
        }
        for (size_t i = first + 1; i < used; i++) /* in order of x, as the chart draws its lines */
            for (size_t j = i; j > first && (x[j] < x[j - 1] || (x[j] == x[j - 1] && y[j] > y[j - 1])); j--) {
                double tx = x[j], ty = y[j];
                x[j] = x[j - 1];
                y[j] = y[j - 1];
                x[j - 1] = tx;
                y[j - 1] = ty;
            }
        snprintf(names[k], sizeof names[k], "average of %zu", averages[k]);
        series[ns++] = (sl_svg_series){names[k], x + first, y + first, used - first, 0, 1, 0};
    }
    x[used] = op->r.fa_per_hour;
    y[used] = 100 * op->r.miss_rate;
    series[ns++] = (sl_svg_series){"operating point", x + used, y + used, 1, 0, 1, 7};
    char title[160];
    snprintf(title, sizeof title, "Miss rate against false alarms (suppression %.2f s)", op->suppress);
    sl_svg_vline target = {c->target_fa, "target"};
    sl_svg_line_chart ch = {.title = title, .x_label = "false alarms per hour", .y_label = "miss rate (%)",
                            .width = 760, .height = 440, .series = series, .n_series = ns, .vlines = &target,
                            .n_vlines = 1, .x_min = 0, .x_max = x_hi, .y_min = 0, .y_max = 100};
    sl_text t = {0};
    sl_status s = sl_svg_lines(&t, &ch);
    if (s == SL_OK) s = sl_write_file_atomic(path, t.s, t.len);
    sl_text_free(&t);
    free(x);
    free(y);
    return s;
}

int cmd_calibrate(int argc, char **argv)
{
    const char *stream = NULL, *truth_path = NULL, *target_text = NULL, *eval = NULL, *eval_truth = NULL,
               *svg_opt = NULL, *lag_text = NULL;
    cli_option own[] = {{"--stream", NULL, &stream},        {"--truth", NULL, &truth_path},
                        {"--target-fa-per-hour", NULL, &target_text}, {"--eval", NULL, &eval},
                        {"--eval-truth", NULL, &eval_truth}, {"--svg", NULL, &svg_opt},
                        {"--lag", NULL, &lag_text}};
    cli_common cc;
    int done = 0;
    int rc = cli_parse_with(argc, argv, &cc, help, &done, own, sizeof own / sizeof *own);
    if (rc != CLI_OK || done) return rc;
    const char *run = cc.config;
    if (!stream || !truth_path) {
        cli_error("--stream FILE and --truth FILE.csv are needed (see --help)");
        return CLI_USAGE;
    }
    if (!eval != !eval_truth) {
        cli_error("--eval FILE and --eval-truth FILE.csv go together");
        return CLI_USAGE;
    }
    double target = 10, lag = 0;
    if (target_text) {
        char *end;
        target = strtod(target_text, &end);
        if (end == target_text || *end || !isfinite(target) || target < 0) {
            cli_error("--target-fa-per-hour %s: expected a number >= 0", target_text);
            return CLI_USAGE;
        }
    }
    if (lag_text && sl_parse_duration(lag_text, &lag) != SL_OK) {
        cli_error("--lag %s: %s", lag_text, sl_last_error());
        return CLI_USAGE;
    }
    char path[4200], out_path[4200], svg_path[4200];
    snprintf(out_path, sizeof out_path, "%s%s", cc.out_dir ? cc.out_dir : run, cc.out_dir ? "" : "/detect.yaml");
    snprintf(svg_path, sizeof svg_path, "%s%s", svg_opt ? svg_opt : run, svg_opt ? "" : "/calibrate.svg");

    sl_model *m = NULL;
    sl_config cfg;
    int have_cfg = 0;
    sl_truth_event *truth = NULL, *etruth = NULL;
    size_t n_truth = 0, n_etruth = 0;
    sl_scores sc = {0}, esc = {0};
    sl_calib cal = {0};
    sl_event *ev = NULL;
    size_t n_ev = 0;
    sl_match_result er = {0};
    double t_net = 0, t_sweep = 0;
    snprintf(path, sizeof path, "%s/model.slm", run);
    sl_status s = sl_model_load(&m, path);
    if (s == SL_OK) {
        snprintf(path, sizeof path, "%s/config.yaml", run);
        s = sl_config_load(&cfg, path, cc.sets, cc.n_sets);
        have_cfg = s == SL_OK;
    }
    const char *const *labels = m ? (const char *const *)m->labels : NULL;
    if (s == SL_OK) s = sl_truth_read(truth_path, labels, m->classes, &truth, &n_truth);
    if (s == SL_OK && eval) s = sl_truth_read(eval_truth, labels, m->classes, &etruth, &n_etruth);
    int threads = cc.threads > 0 ? cc.threads : 1;
    if (s == SL_OK) {
        double t0 = now();
        s = sl_scores_of_file(m, &cfg.post, stream, threads, &sc);
        t_net = now() - t0;
    }
    if (s == SL_OK) {
        double t0 = now();
        s = sl_calibrate(&sc, &cfg.post, labels, lag, truth, n_truth, target, &cal);
        t_sweep = now() - t0;
    }
    if (s == SL_OK && cal.chosen < 0 && cal.any_within) {
        s = sl_fail(SL_EARG, "no setting finds any event of %s with at most %g false alarms per hour on %s; raise "
                    "--target-fa-per-hour or improve the model", truth_path, target, stream);
    } else if (s == SL_OK && cal.chosen < 0) {
        const sl_calib_point *p = &cal.points[cal.lowest_fa];
        s = sl_fail(SL_EARG, "no setting meets %g false alarms per hour on %s: the fewest is %.1f per hour (average %zu, "
                    "threshold %.3f, suppress %.2f s; recall %.1f %%); raise --target-fa-per-hour or improve the model",
                    target, stream, p->r.fa_per_hour, p->average, p->threshold, p->suppress, 100 * p->r.recall);
    }
    const sl_calib_point *op = s == SL_OK ? &cal.points[cal.chosen] : NULL;
    if (s == SL_OK) {
        cfg.post.smoothing = SL_SMOOTH_MEAN;
        cfg.post.average = op->average;
        cfg.post.threshold = op->threshold;
        cfg.post.suppress = op->suppress;
        cfg.post.thresholds.n = 0;
    }
    if (s == SL_OK && eval) {
        s = sl_scores_of_file(m, &cfg.post, eval, threads, &esc);
        if (s == SL_OK) s = sl_detect_scores(&esc, &cfg.post, labels, lag, &ev, &n_ev);
        if (s == SL_OK) s = sl_match_events(ev, n_ev, etruth, n_etruth, 0.25, esc.seconds, &er);
    }
    if (s == SL_OK) s = sl_config_save(&cfg, out_path);
    if (s == SL_OK) s = det_svg(&cal, op, svg_path);
    if (s == SL_OK) {
        if (cc.json) {
            printf("{\"stream\": ");
            cli_json_string(stdout, stream);
            printf(", \"seconds\": %.3f, \"target_fa_per_hour\": %g, \"settings\": %zu,\n", sc.seconds, target, cal.n);
            printf(" \"chosen\": {\"average\": %zu, \"threshold\": %.3f, \"suppress\": %.2f, \"recall\": %.4f, "
                   "\"fa_per_hour\": %.2f, \"hits\": %zu, \"truth\": %zu, \"false_alarms\": %zu}", op->average,
                   op->threshold, op->suppress, op->r.recall, op->r.fa_per_hour, op->r.hits, op->r.truth,
                   op->r.false_alarms);
            if (eval) {
                printf(",\n \"eval\": {\"stream\": ");
                cli_json_string(stdout, eval);
                printf(", \"seconds\": %.3f, \"recall\": %.4f, \"fa_per_hour\": %.2f, \"hits\": %zu, \"truth\": %zu, "
                       "\"false_alarms\": %zu}", esc.seconds, er.recall, er.fa_per_hour, er.hits, er.truth,
                       er.false_alarms);
            }
            printf(",\n \"sweep\": [");
            for (size_t i = 0; i < cal.n; i++) {
                const sl_calib_point *p = &cal.points[i];
                printf("%s\n  {\"average\": %zu, \"suppress\": %.2f, \"threshold\": %.3f, \"recall\": %.4f, "
                       "\"fa_per_hour\": %.2f}", i ? "," : "", p->average, p->suppress, p->threshold, p->r.recall,
                       p->r.fa_per_hour);
            }
            printf("]}\n");
        } else {
            printf("calibration stream %s: %.1f min, %zu true events; the network once (%.2f s), then %zu settings "
                   "(%.2f s)\n", stream, sc.seconds / 60, n_truth, t_net, cal.n, t_sweep);
            if (!cc.quiet) {
                printf("\nthe most recall within each false-alarm rate (per hour), any setting:\n");
                printf("%10s %8s %8s %10s %9s\n", "FA/hour <=", "recall", "average", "threshold", "suppress");
                const double caps[] = {0, 1, 2, 5, 10, 20, 50, 100, 200, 500};
                for (size_t k = 0; k < sizeof caps / sizeof *caps; k++) {
                    long b = -1;
                    for (size_t i = 0; i < cal.n; i++)
                        if (cal.points[i].r.fa_per_hour <= caps[k] &&
                            (b < 0 || cal.points[i].r.recall > cal.points[b].r.recall))
                            b = (long)i;
                    if (b < 0) printf("%10g %8s\n", caps[k], "-");
                    else
                        printf("%10g %7.1f%% %8zu %10.3f %8.2fs\n", caps[k], 100 * cal.points[b].r.recall,
                               cal.points[b].average, cal.points[b].threshold, cal.points[b].suppress);
                }
                printf("\n");
            }
            printf("operating point for at most %g false alarms per hour: average %zu, threshold %.3f, suppress "
                   "%.2f s\n", target, op->average, op->threshold, op->suppress);
            printf("  calibration %-24s recall %5.1f %% (%zu of %zu), %zu false alarm%s: %.1f per hour\n",
                   base_name(stream), 100 * op->r.recall, op->r.hits, op->r.truth, op->r.false_alarms,
                   op->r.false_alarms == 1 ? "" : "s", op->r.fa_per_hour);
            if (eval)
                printf("  evaluation  %-24s recall %5.1f %% (%zu of %zu), %zu false alarm%s: %.1f per hour\n",
                       base_name(eval), 100 * er.recall, er.hits, er.truth, er.false_alarms,
                       er.false_alarms == 1 ? "" : "s", er.fa_per_hour);
            printf("wrote %s (post: settings for sigloop detect) and %s (DET curve)\n", out_path, svg_path);
        }
    }
    free(ev);
    sl_calib_free(&cal);
    sl_scores_free(&sc);
    sl_scores_free(&esc);
    free(truth);
    free(etruth);
    if (have_cfg) sl_config_free(&cfg);
    sl_model_free(m);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}
