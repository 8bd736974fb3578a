/* sigloop detect RUN FILE: a trained model slid over a recording, its events printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "sigloop/audio.h"
#include "sigloop/fileio.h"
#include "sigloop/model.h"
#include "sigloop/post.h"

static const char help[] =
    "usage: sigloop detect RUN FILE [--json] [--truth FILE.csv] [--svg FILE] [--view A:B] [--scores FILE]\n"
    "                      [--config FILE] [--set post.KEY=VALUE ...] [--lag S] [-j N] [-q]\n"
    "\n"
    "Step 8: slides RUN's front end and model over FILE (a recording of any length, read in pieces:\n"
    "memory does not grow with it; resampled to the model's rate when it has another) every\n"
    "post.hop seconds, smooths the class probabilities, and prints the events: start, end, label\n"
    "and score. The post-processing settings (the config's post: section) come from --config, else\n"
    "RUN/detect.yaml when 'sigloop calibrate' wrote one, else RUN/config.yaml; --set changes them.\n"
    "\n"
    "  --truth FILE.csv  the true events (start,end,label): recall and false alarms per hour, an\n"
    "                    event found when its start is within 250 ms of a true one of its label\n"
    "  --svg FILE        the timeline picture (default RUN/detect-STEM.svg): waveform, scores,\n"
    "                    thresholds, events (and truth); --svg none writes none\n"
    "  --view A:B        the picture from A to B seconds only (default: the whole stream)\n"
    "  --scores FILE     every decision's probabilities and smoothed scores as CSV\n"
    "  --lag S           an event starts S seconds after the start of its most confident window\n"
    "                    (default 0: models trained on words at the start of their window)\n"
    "  --json            the events and the summary as JSON on stdout\n"
    "  -j N              threads for the network (default 1, as on a device)\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

typedef struct {
    const sl_model *m;
    sl_timeline *tl;
    FILE *scores;
    sl_event_list events;
    double lag;
} detect_ctx;

static sl_status on_decision(void *vctx, const sl_decision *d)
{
    detect_ctx *c = vctx;
    if (c->tl) sl_timeline_scores(c->tl, d->t0 + c->lag, d->smoothed);
    if (c->scores) {
        fprintf(c->scores, "%.3f,%.3f", d->t0, d->t1);
        for (size_t k = 0; k < c->m->classes; k++) fprintf(c->scores, ",%.5f", d->prob[k]);
        for (size_t k = 0; k < c->m->classes; k++) fprintf(c->scores, ",%.5f", d->smoothed[k]);
        fputc('\n', c->scores);
    }
    return SL_OK;
}

static sl_status on_event(void *vctx, const sl_event *e)
{
    detect_ctx *c = vctx;
    return sl_event_list_push(&c->events, e);
}

/* The post: settings: --config, else RUN/detect.yaml, else RUN/config.yaml, with --set. */
static sl_status post_settings(const char *run, const char *config, const cli_common *cc, sl_config *pcfg,
                               char *from, size_t size)
{
    struct stat sb;
    if (config) snprintf(from, size, "%s", config);
    else {
        snprintf(from, size, "%s/detect.yaml", run);
        if (stat(from, &sb) != 0) snprintf(from, size, "%s/config.yaml", run);
    }
    return sl_config_load(pcfg, from, cc->sets, cc->n_sets);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_detect(int argc, char **argv)
{
    const char *truth_path = NULL, *svg_opt = NULL, *scores_path = NULL, *config = NULL, *lag_text = NULL,
               *view = NULL;
    cli_option own[] = {{"--truth", NULL, &truth_path}, {"--svg", NULL, &svg_opt}, {"--scores", NULL, &scores_path},
                        {"--config", NULL, &config}, {"--lag", NULL, &lag_text}, {"--view", NULL, &view}};
    /* RUN and FILE */
    const char *file = NULL;
    size_t n_extra = 0;
    cli_common cc;
    int done = 0;
    int rc = cli_parse_positionals(argc, argv, &cc, help, &done, own, sizeof own / sizeof *own, &file, 1, &n_extra);
    if (rc != CLI_OK || done) return rc;
    const char *run = cc.config;
    if (!file) {
        cli_error("missing FILE: the recording to run on (see --help)");
        return CLI_USAGE;
    }
    if (cc.out_dir) {
        cli_error("-o: detect writes no folder (see --svg and --scores)");
        return CLI_USAGE;
    }
    double lag = 0;
    if (lag_text && (sl_parse_duration(lag_text, &lag) != SL_OK)) {
        cli_error("--lag %s: %s", lag_text, sl_last_error());
        return CLI_USAGE;
    }

    double view_a = 0, view_b = 0;
    if (view) {
        char *end;
        view_a = strtod(view, &end);
        if (*end == ':') view_b = strtod(end + 1, &end);
        if (*end || !(view_a >= 0) || !(view_b > view_a) || !isfinite(view_b)) {
            cli_error("--view %s: expected START:END in seconds, START < END", view);
            return CLI_USAGE;
        }
    }
    char path[4200], from[4200], svg_path[4200];
    sl_model *m = NULL;
    sl_config pcfg;
    int have_pcfg = 0;
    sl_streamer *st = NULL;
    sl_audio_reader *rd = NULL;
    sl_truth_event *truth = NULL;
    size_t n_truth = 0;
    detect_ctx ctx = {.lag = lag};
    float *buf = NULL;
    sl_text svg = {0};
    snprintf(path, sizeof path, "%s/model.slm", run);
    sl_status s = sl_model_load(&m, path);
    if (s == SL_OK) {
        s = post_settings(run, config, &cc, &pcfg, from, sizeof from);
        have_pcfg = s == SL_OK;
    }
    double seconds = 0, file_rate = 0;
    if (s == SL_OK) s = sl_streamer_open_file(m, file, &rd, &seconds);
    if (s == SL_OK) file_rate = sl_audio_reader_info(rd)->sample_rate;
    if (s == SL_OK && truth_path)
        s = sl_truth_read(truth_path, (const char *const *)m->labels, m->classes, &truth, &n_truth);
    if (s == SL_OK && !(svg_opt && strcmp(svg_opt, "none") == 0)) {
        if (svg_opt) snprintf(svg_path, sizeof svg_path, "%s", svg_opt);
        else {
            const char *base = strrchr(file, '/');
            base = base ? base + 1 : file;
            const char *dot = strrchr(base, '.');
            snprintf(svg_path, sizeof svg_path, "%s/detect-%.*s.svg", run, dot ? (int)(dot - base) : (int)strlen(base),
                     base);
        }
        s = sl_timeline_new(&ctx.tl, view ? view_a : 0, view ? view_b : seconds, m->classes, 1200,
                            m->cfg.data.sample_rate);
    }
    if (s == SL_OK && scores_path) {
        ctx.scores = fopen(scores_path, "w");
        if (!ctx.scores) s = sl_fail(SL_EIO, "%s: cannot write", scores_path);
        else {
            fprintf(ctx.scores, "t0,t1");
            for (size_t k = 0; k < m->classes; k++) fprintf(ctx.scores, ",p_%s", m->labels[k]);
            for (size_t k = 0; k < m->classes; k++) fprintf(ctx.scores, ",s_%s", m->labels[k]);
            fputc('\n', ctx.scores);
        }
    }
    ctx.m = m;
    if (s == SL_OK) {
        sl_streamer_opts so = {.threads = cc.threads > 0 ? cc.threads : 1, .lag = lag, .on_decision = on_decision,
                               .on_event = on_event, .ctx = &ctx};
        s = sl_streamer_new(&st, m, &pcfg.post, &so);
        if (s != SL_OK) sl_error_prefix("%s", from);
    }
    size_t n_samples = 0;
    double t_start = now(), t_read = 0;
    enum { CHUNK = 4000 };
    if (s == SL_OK && !(buf = malloc(CHUNK * sizeof *buf))) s = sl_fail(SL_ENOMEM, "out of memory");
    while (s == SL_OK) {
        size_t n = 0;
        double t0 = now();
        s = sl_audio_reader_read(rd, buf, CHUNK, &n);
        t_read += now() - t0;
        if (s != SL_OK || n == 0) break;
        if (ctx.tl) sl_timeline_samples(ctx.tl, buf, n);
        s = sl_streamer_push(st, buf, n);
        n_samples += n;
    }
    if (s == SL_OK) s = sl_streamer_finish(st);
    double elapsed = now() - t_start;
    double sr = m ? m->cfg.data.sample_rate : 1, stream_s = (double)n_samples / sr;
    sl_match_result mr;
    if (s == SL_OK && truth) s = sl_match_events(ctx.events.ev, ctx.events.n, truth, n_truth, 0.25, stream_s, &mr);
    if (s == SL_OK && ctx.tl) {
        char title[512];
        const char *base = strrchr(file, '/');
        int k = snprintf(title, sizeof title, "%s: %zu events in %.1f s", base ? base + 1 : file, ctx.events.n, stream_s);
        if (view && k > 0 && (size_t)k < sizeof title)
            snprintf(title + k, sizeof title - (size_t)k, " (%g to %g s shown)", view_a, view_b);
        const sl_detector *d = sl_streamer_detector(st);
        s = sl_timeline_svg(ctx.tl, &svg, title, (const char *const *)m->labels, sl_detector_thresholds(d),
                            sl_detector_mask(d), ctx.events.ev, ctx.events.n, truth, n_truth);
        if (s == SL_OK) s = sl_write_file_atomic(svg_path, svg.s, svg.len);
    }
    if (ctx.scores && fclose(ctx.scores) != 0 && s == SL_OK) s = sl_fail(SL_EIO, "%s: write error", scores_path);
    ctx.scores = NULL;

    if (s == SL_OK) {
        const sl_post_config *pc = &pcfg.post;
        double speed = elapsed > 0 ? stream_s / elapsed : 0;
        if (cc.json) {
            printf("{\"file\": ");
            cli_json_string(stdout, file);
            printf(", \"seconds\": %.3f, \"decisions\": %zu, \"hop\": %g, \"elapsed\": %.4f, \"speed\": %.1f,\n"
                   " \"post_from\": ", stream_s, sl_streamer_decisions(st), pc->hop, elapsed, speed);
            cli_json_string(stdout, from);
            printf(",\n \"events\": [");
            for (size_t i = 0; i < ctx.events.n; i++) {
                printf("%s\n  {\"start\": %.3f, \"end\": %.3f, \"label\": ", i ? "," : "", ctx.events.ev[i].start,
                       ctx.events.ev[i].end);
                cli_json_string(stdout, m->labels[ctx.events.ev[i].label]);
                printf(", \"score\": %.4f}", ctx.events.ev[i].score);
            }
            printf("]");
            if (truth)
                printf(",\n \"truth\": {\"events\": %zu, \"hits\": %zu, \"false_alarms\": %zu, \"wrong_label\": %zu, "
                       "\"recall\": %.4f, \"fa_per_hour\": %.2f, \"collar\": 0.25}", mr.truth, mr.hits, mr.false_alarms,
                       mr.wrong_label, mr.recall, mr.fa_per_hour);
            printf("}\n");
        } else {
            if (!cc.quiet) {
                char resampled[64] = "";
                if (file_rate != sr) snprintf(resampled, sizeof resampled, " (resampled from %g Hz)", file_rate);
                printf("%s%s: %.1f s, %zu decisions every %g s (post settings from %s)\n", file, resampled, stream_s,
                       sl_streamer_decisions(st), pc->hop, from);
                printf("%9s %9s  %-12s %6s\n", "start", "end", "label", "score");
            }
            for (size_t i = 0; i < ctx.events.n; i++)
                printf("%9.2f %9.2f  %-12s %6.3f\n", ctx.events.ev[i].start, ctx.events.ev[i].end, m->labels[ctx.events.ev[i].label],
                       ctx.events.ev[i].score);
            printf("%zu events in %.1f s of signal; %.2f s here (%.0fx real time on %d thread%s, %.2f s of it "
                   "reading)\n", ctx.events.n, stream_s, elapsed, speed, cc.threads > 0 ? cc.threads : 1,
                   cc.threads > 1 ? "s" : "", t_read);
            if (truth)
                printf("truth %s: %zu events; found %zu (recall %.1f %%), %zu false alarms (%zu of them the wrong "
                       "label): %.1f per hour (start within 250 ms)\n", truth_path, mr.truth, mr.hits,
                       100 * mr.recall, mr.false_alarms, mr.wrong_label, mr.fa_per_hour);
            if (ctx.tl && !cc.quiet) printf("wrote %s\n", svg_path);
        }
    }
    if (ctx.scores) fclose(ctx.scores);
    sl_text_free(&svg);
    free(buf);
    free(ctx.events.ev);
    free(truth);
    sl_timeline_free(ctx.tl);
    sl_streamer_free(st);
    sl_audio_reader_close(rd);
    if (have_pcfg) sl_config_free(&pcfg);
    sl_model_free(m);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        return CLI_FAIL;
    }
    return CLI_OK;
}
