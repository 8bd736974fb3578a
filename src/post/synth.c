/* A synthetic stream: the clips of a split with random gaps over background noise, written chunk
 * by chunk, and its ground truth (see sigloop/synth.h). */
#include "sigloop/synth.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "augment/augment_internal.h"
#include "sigloop/audio.h"
#include "sigloop/fileio.h"
#include "sigloop/rng.h"

#define BLOCK ((size_t)1 << 16) /* samples of one generated noise block */
#define FADE ((size_t)1 << 12)  /* consecutive blocks overlap by this much, cross-faded */
#define HOP (BLOCK - FADE)      /* from one block's start to the next's; also the chunk written at a time */
#define MAX_MINUTES (24.0 * 60.0)
#define MAX_GAP 86400.0
/* a 16-bit mono WAV's data chunk and RIFF size must fit 32 bits */
#define WAV_MAX_FRAMES ((uint64_t)(0xFFFFFFFFu - 64u) / 2u)

/* The generators' streams under the seed: each use its own, so changing one option (the gaps, say)
 * does not change the draws of another (the order). */
#define STREAM_ORDER 1u
#define STREAM_GAPS 2u
#define STREAM_LOOP 3u
#define STREAM_NOISE ((uint64_t)1 << 32) /* + the block's index */

void sl_synth_opts_default(sl_synth_opts *o)
{
    memset(o, 0, sizeof *o);
    o->split = SL_SPLIT_TEST;
    o->minutes = 0;
    o->snr_db = 20;
    o->gap_min = 1.0;
    o->gap_max = 3.0;
    o->seed = 0;
    o->noise = SL_SYNTH_PINK;
    o->noise_folder = NULL;
}

/* ---- the clips ------------------------------------------------------------------------------ */

/* Entry e decoded as training decodes it (mixed or picked, resampled), at its own length. */
static sl_status read_clip(const sl_config *cfg, const sl_entry *e, sl_signal *sig)
{
    char path[SL_PATH_MAX * 2 + 2];
    if (e->path[0] == '/') snprintf(path, sizeof path, "%s", e->path);
    else snprintf(path, sizeof path, "%s/%s", cfg->data.root, e->path);
    const char *dot = strrchr(e->path, '.');
    if (dot && strcasecmp(dot, ".csv") == 0) {
        memset(sig, 0, sizeof *sig);
        return sl_fail(SL_EARG, "%s: a CSV series: a stream is made of audio clips", path);
    }
    sl_audio_opts ao = {.target_rate = cfg->data.sample_rate, .channel = cfg->data.channel, .max_frames = 0};
    return sl_audio_read(path, &ao, sig);
}

/* ---- the noise ------------------------------------------------------------------------------ */

typedef struct {
    int color;       /* generated: SL_SYNTH_*; -1: the folder's loop */
    uint64_t seed;
    float *cur, *next; /* generated: blocks j and j + 1 while chunk j is made */
    uint64_t next_index;
    float *rise, *fall; /* (FADE) the fade's weights: sin and cos of (t + 1/2) / FADE x pi / 2 */
    float *loop;     /* folder: every recording, end to end */
    size_t loop_n, loop_pos;
    double ms;       /* the source's mean square (1 for generated noise) */
} noise_src;

static void noise_free(noise_src *ns)
{
    free(ns->cur);
    free(ns->next);
    free(ns->rise);
    free(ns->fall);
    free(ns->loop);
    memset(ns, 0, sizeof *ns);
}

static sl_status noise_block(noise_src *ns, uint64_t index, float *out)
{
    sl_rng r = sl_rng_make(ns->seed, STREAM_NOISE + index);
    return sl_aug_color_noise(&r, ns->color, out, BLOCK);
}

static int has_audio_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".wav") || !strcasecmp(dot, ".flac") || !strcasecmp(dot, ".ogg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The folder's recordings (mono at rate, in name order) end to end into ns->loop. */
static sl_status load_loop(noise_src *ns, const char *folder, double rate)
{
    DIR *d = opendir(folder);
    if (!d) return sl_fail(SL_EIO, "noise folder %s: cannot open: %s", folder, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    sl_status s = SL_OK;
    struct dirent *de;
    while (s == SL_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !has_audio_ext(de->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) s = sl_fail(SL_ENOMEM, "out of memory");
        else n++;
    }
    closedir(d);
    if (s == SL_OK && !n) s = sl_fail(SL_EFORMAT, "noise folder %s holds no audio files (.wav, .flac, .ogg)", folder);
    if (s == SL_OK) qsort(names, n, sizeof *names, cmp_str);
    double sum = 0;
    for (size_t i = 0; s == SL_OK && i < n; i++) {
        char path[SL_PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        sl_audio_opts ao = {.target_rate = rate, .channel = -1, .max_frames = 0};
        sl_signal sig;
        if ((s = sl_audio_read(path, &ao, &sig)) != SL_OK) {
            sl_error_prefix("noise folder");
            break;
        }
        float *grown = realloc(ns->loop, (ns->loop_n + sig.n) * sizeof *grown);
        if (!grown) {
            s = sl_fail(SL_ENOMEM, "out of memory");
        } else {
            ns->loop = grown;
            memcpy(ns->loop + ns->loop_n, sig.x, sig.n * sizeof *sig.x);
            for (size_t t = 0; t < sig.n; t++) sum += (double)sig.x[t] * sig.x[t];
            ns->loop_n += sig.n;
        }
        sl_signal_free(&sig);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (s == SL_OK && !(sum > 0)) s = sl_fail(SL_EFORMAT, "noise folder %s: its recordings hold zeros only", folder);
    if (s == SL_OK) ns->ms = sum / (double)ns->loop_n;
    return s;
}

static sl_status noise_open(noise_src *ns, const sl_synth_opts *o, double rate)
{
    memset(ns, 0, sizeof *ns);
    ns->seed = o->seed;
    if (o->noise_folder) {
        ns->color = -1;
        SL_TRY(load_loop(ns, o->noise_folder, rate));
        sl_rng r = sl_rng_make(o->seed, STREAM_LOOP);
        ns->loop_pos = (size_t)(sl_rng_uniform_double(&r) * (double)ns->loop_n) % ns->loop_n;
        return SL_OK;
    }
    ns->color = o->noise;
    ns->ms = 1;
    ns->cur = malloc(BLOCK * sizeof *ns->cur);
    ns->next = malloc(BLOCK * sizeof *ns->next);
    ns->rise = malloc(FADE * sizeof *ns->rise);
    ns->fall = malloc(FADE * sizeof *ns->fall);
    if (!ns->cur || !ns->next || !ns->rise || !ns->fall) return sl_fail(SL_ENOMEM, "out of memory");
    for (size_t t = 0; t < FADE; t++) {
        double a = 0.5 * M_PI * ((double)t + 0.5) / (double)FADE;
        ns->rise[t] = (float)sin(a);
        ns->fall[t] = (float)cos(a);
    }
    SL_TRY(noise_block(ns, 0, ns->cur));
    SL_TRY(noise_block(ns, 1, ns->next));
    ns->next_index = 1;
    return SL_OK;
}

/* The next HOP samples of unit-scale noise into out. Block j covers the stream's samples
 * [j HOP - FADE, (j + 1) HOP): chunk j is block j after its first FADE samples (which were faded
 * in at the end of chunk j - 1), its last FADE samples faded out while block j + 1's first FADE
 * fade in. Two independent blocks of unit power, weighted by cos and sin: unit power throughout. */
static sl_status noise_chunk(noise_src *ns, float *out)
{
    if (ns->color < 0) {
        for (size_t t = 0; t < HOP; t++) {
            out[t] = ns->loop[ns->loop_pos];
            if (++ns->loop_pos == ns->loop_n) ns->loop_pos = 0;
        }
        return SL_OK;
    }
    memcpy(out, ns->cur + FADE, (HOP - FADE) * sizeof *out);
    for (size_t k = 0; k < FADE; k++) out[HOP - FADE + k] = ns->cur[HOP + k] * ns->fall[k] + ns->next[k] * ns->rise[k];
    float *tmp = ns->cur;
    ns->cur = ns->next;
    ns->next = tmp;
    return noise_block(ns, ++ns->next_index, ns->next);
}

/* ---- the truth ------------------------------------------------------------------------------ */

/* ---- the stream ----------------------------------------------------------------------------- */

typedef struct {
    uint64_t start; /* first sample */
    size_t clip;    /* index into the split's clips */
} event;

static sl_status check_opts(const sl_config *cfg, const sl_synth_opts *o, uint64_t *total)
{
    if (!(o->minutes > 0) || !(o->minutes <= MAX_MINUTES))
        return sl_fail(SL_EARG, "minutes %g: must be in (0, %g] (24 hours)", o->minutes, MAX_MINUTES);
    if (!(o->gap_min >= 0) || !(o->gap_min <= MAX_GAP))
        return sl_fail(SL_EARG, "gap_min %g: must be in [0, %g] seconds", o->gap_min, MAX_GAP);
    if (!(o->gap_max >= o->gap_min))
        return sl_fail(SL_EARG, "gap %g:%g: gap_max is below gap_min", o->gap_min, o->gap_max);
    if (!(o->gap_max <= MAX_GAP))
        return sl_fail(SL_EARG, "gap_max %g: must be at most %g seconds", o->gap_max, MAX_GAP);
    if (!isfinite(o->snr_db)) return sl_fail(SL_EARG, "snr_db %g: must be a finite number", o->snr_db);
    if (o->split != SL_SPLIT_TRAIN && o->split != SL_SPLIT_VAL && o->split != SL_SPLIT_TEST)
        return sl_fail(SL_EARG, "split %d: not train (0), val (1) or test (2)", o->split);
    if (!o->noise_folder && (o->noise < SL_SYNTH_WHITE || o->noise > SL_SYNTH_BROWN))
        return sl_fail(SL_EARG, "noise %d: not white (0), pink (1) or brown (2)", o->noise);
    double rate = cfg->data.sample_rate;
    if (!(rate >= 1) || rate != floor(rate))
        return sl_fail(SL_EARG, "data.sample_rate %g Hz: a WAV file needs a whole number of Hz", rate);
    double n = o->minutes * 60.0 * rate;
    if (!(n <= (double)WAV_MAX_FRAMES))
        return sl_fail(SL_EARG, "minutes %g: %.0f samples at %g Hz do not fit a WAV file (at most %llu)", o->minutes,
                       n, rate, (unsigned long long)WAV_MAX_FRAMES);
    *total = (uint64_t)llround(n);
    if (*total == 0) return sl_fail(SL_EARG, "minutes %g: shorter than one sample", o->minutes);
    return SL_OK;
}

sl_status sl_synth_check(const sl_config *cfg, const sl_synth_opts *o)
{
    uint64_t total;
    return check_opts(cfg, o, &total);
}

/* Every clip of the split read once: its length and mean square. */
static sl_status measure_split(const sl_config *cfg, const sl_dataset *ds, const size_t *idx, size_t nc, size_t *lens,
                               double *mean_power)
{
    double sum = 0;
    for (size_t k = 0; k < nc; k++) {
        sl_signal sig;
        SL_TRY(read_clip(cfg, sl_dataset_entry(ds, idx[k]), &sig));
        lens[k] = sig.n;
        sum += sl_aug_power(sig.x, sig.n);
        sl_signal_free(&sig);
    }
    *mean_power = sum / (double)nc;
    return SL_OK;
}

/* The events: per pass a fresh shuffle of the split, a gap before each clip; the first clip that
 * does not end by total ends the stream. */
static sl_status plan_events(const sl_synth_opts *o, double rate, uint64_t total, const size_t *lens, size_t nc,
                             event **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t *order = malloc(nc * sizeof *order);
    if (!order) return sl_fail(SL_ENOMEM, "out of memory");
    sl_rng ro = sl_rng_make(o->seed, STREAM_ORDER), rg = sl_rng_make(o->seed, STREAM_GAPS);
    event *ev = NULL;
    size_t n = 0, cap = 0, k = nc;
    uint64_t pos = 0;
    sl_status s = SL_OK;
    for (;;) {
        if (k == nc) { /* a new pass */
            for (size_t i = 0; i < nc; i++) order[i] = i;
            for (size_t i = nc; i > 1; i--) {
                size_t j = sl_rng_below(&ro, (uint32_t)i), t = order[i - 1];
                order[i - 1] = order[j];
                order[j] = t;
            }
            k = 0;
        }
        double gap = o->gap_min + (o->gap_max - o->gap_min) * sl_rng_uniform_double(&rg);
        uint64_t start = pos + (uint64_t)llround(gap * rate);
        size_t c = order[k++];
        if (start > total || lens[c] > total - start) break;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            event *grown = realloc(ev, cap * sizeof *grown);
            if (!grown) {
                s = sl_fail(SL_ENOMEM, "out of memory");
                break;
            }
            ev = grown;
        }
        ev[n++] = (event){.start = start, .clip = c};
        pos = start + lens[c];
    }
    free(order);
    if (s != SL_OK) {
        free(ev);
        return s;
    }
    *out = ev;
    *n_out = n;
    return SL_OK;
}

static sl_status write_truth(sl_afile *f, const sl_dataset *ds, const size_t *idx, const size_t *lens,
                             const event *ev, size_t n, double rate)
{
    FILE *out = sl_afile_stream(f);
    fputs("start,end,label,file\n", out);
    for (size_t i = 0; i < n; i++) {
        const sl_entry *e = sl_dataset_entry(ds, idx[ev[i].clip]);
        fprintf(out, "%.3f,%.3f,", (double)ev[i].start / rate, (double)(ev[i].start + lens[ev[i].clip]) / rate);
        sl_csv_cell(out, e->label);
        fputc(',', out);
        sl_csv_cell(out, e->path);
        fputc('\n', out);
    }
    return ferror(out) ? sl_fail(SL_EIO, "truth: write error") : SL_OK;
}

/* Makes the stream chunk by chunk into w: noise at gain g, the events' clips added, clipped and
 * handed to the writer (which clamps and quantises). */
static sl_status render(const sl_config *cfg, const sl_dataset *ds, const size_t *idx, const size_t *lens,
                        const event *ev, size_t n_ev, uint64_t total, noise_src *ns, double g, sl_wav_writer *w,
                        uint64_t *clipped)
{
    float *chunk = malloc(HOP * sizeof *chunk);
    sl_status s = chunk ? SL_OK : sl_fail(SL_ENOMEM, "out of memory");
    sl_signal clip = {0};
    int loaded = 0;
    size_t e = 0;
    const float gf = (float)g;
    for (uint64_t c0 = 0; s == SL_OK && c0 < total; c0 += HOP) {
        size_t n = total - c0 < HOP ? (size_t)(total - c0) : HOP;
        if ((s = noise_chunk(ns, chunk)) != SL_OK) break;
        for (size_t t = 0; t < n; t++) chunk[t] *= gf;
        while (e < n_ev && ev[e].start < c0 + n) {
            size_t len = lens[ev[e].clip];
            if (!loaded) {
                const sl_entry *en = sl_dataset_entry(ds, idx[ev[e].clip]);
                if ((s = read_clip(cfg, en, &clip)) != SL_OK) break;
                loaded = 1;
                if (clip.n != len) {
                    s = sl_fail(SL_EFORMAT, "%s: %zu samples now, %zu when first read: the file changed", en->path,
                                clip.n, len);
                    break;
                }
            }
            uint64_t a = ev[e].start > c0 ? ev[e].start : c0, end = ev[e].start + len;
            uint64_t b = end < c0 + n ? end : c0 + n;
            const float *src = clip.x + (a - ev[e].start);
            float *dst = chunk + (a - c0);
            for (uint64_t t = 0; t < b - a; t++) dst[t] += src[t];
            if (end > c0 + n) break; /* continues in the next chunk */
            sl_signal_free(&clip);
            loaded = 0;
            e++;
        }
        if (s != SL_OK) break;
        for (size_t t = 0; t < n; t++) *clipped += chunk[t] > 1.0f || chunk[t] < -1.0f;
        s = sl_wav_writer_write(w, chunk, n); /* clamped to [-1, 1] and rounded there */
    }
    sl_signal_free(&clip);
    free(chunk);
    return s;
}

sl_status sl_synth_stream(const sl_config *cfg, const sl_dataset *ds, const sl_synth_opts *o, const char *wav_path,
                          const char *csv_path, sl_synth_result *r)
{
    sl_synth_result res;
    memset(&res, 0, sizeof res);
    if (r) *r = res;
    uint64_t total = 0;
    SL_TRY(check_opts(cfg, o, &total));
    if (!wav_path || !*wav_path || !csv_path || !*csv_path)
        return sl_fail(SL_EARG, "synth: a path for the stream and one for its truth are needed");
    if (strcmp(wav_path, csv_path) == 0)
        return sl_fail(SL_EARG, "%s: the stream and its truth cannot be the same file", wav_path);
    const double rate = cfg->data.sample_rate;

    size_t count = sl_dataset_count(ds), nc = 0;
    for (size_t i = 0; i < count; i++) nc += sl_dataset_entry(ds, i)->split == (sl_split)o->split;
    if (!nc) return sl_fail(SL_EARG, "split %s has no examples", sl_split_name((sl_split)o->split));
    if (nc > UINT32_MAX)
        return sl_fail(SL_EARG, "split %s: %zu examples are too many", sl_split_name((sl_split)o->split), nc);
    size_t *idx = malloc(nc * sizeof *idx), *lens = malloc(nc * sizeof *lens);
    if (!idx || !lens) {
        free(idx);
        free(lens);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0, k = 0; i < count; i++)
        if (sl_dataset_entry(ds, i)->split == (sl_split)o->split) idx[k++] = i;

    noise_src ns;
    memset(&ns, 0, sizeof ns);
    sl_wav_writer *w = NULL;
    memset(&w, 0, sizeof w);
    sl_afile *truth = NULL;
    event *ev = NULL;
    size_t n_ev = 0;
    double power = 0;
    sl_status s = measure_split(cfg, ds, idx, nc, lens, &power);
    if (s == SL_OK && !(power > 0))
        s = sl_fail(SL_EFORMAT, "split %s: its clips hold zeros only: no noise level gives an SNR",
                    sl_split_name((sl_split)o->split));
    if (s == SL_OK) s = noise_open(&ns, o, rate);
    if (s == SL_OK) s = plan_events(o, rate, total, lens, nc, &ev, &n_ev);
    if (s == SL_OK) s = sl_afile_open(&truth, csv_path);
    if (s == SL_OK) s = write_truth(truth, ds, idx, lens, ev, n_ev, rate);
    if (s == SL_OK) s = sl_wav_writer_open(&w, wav_path, rate);
    const double noise_ms = power / pow(10.0, o->snr_db / 10.0);
    if (s == SL_OK) s = render(cfg, ds, idx, lens, ev, n_ev, total, &ns, sqrt(noise_ms / ns.ms), w,
                               &res.clipped);
    if (s == SL_OK) s = sl_wav_writer_finish(w);
    /* the truth first, then the stream under its name */
    if (s == SL_OK) {
        s = sl_afile_commit(truth);
        truth = NULL;
    }
    if (s == SL_OK) {
        s = sl_wav_writer_commit(w);
        w = NULL;
    }
    sl_afile_abort(truth);
    sl_wav_writer_abort(w);
    noise_free(&ns);
    free(ev);
    free(idx);
    free(lens);
    if (s != SL_OK) return s;
    res.events = n_ev;
    res.clips_in_split = nc;
    res.passes = (n_ev + nc - 1) / nc;
    res.seconds = (double)total / rate;
    res.samples = total;
    res.clip_power = power;
    res.noise_rms = sqrt(noise_ms);
    if (r) *r = res;
    return SL_OK;
}
