/* The progress bar. Updates are counted with atomics; one thread at a time redraws, at most ten
 * times a second, so the bar costs nothing measurable in a hot loop. */
#include "sigloop/progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOTE_MAX 128
#define LINE_MAX_CHARS 256

struct sl_progress {
    FILE *stream;
    int active;               /* draws at all */
    int drawn;                /* a line is on the screen */
    char label[32];
    char unit[16];
    uint64_t total;
    atomic_uint_fast64_t done;
    double start;             /* monotonic seconds */
    atomic_uint_fast64_t last_draw_ns; /* monotonic ns of the last redraw */
    pthread_mutex_t lock;     /* drawing and the note */
    char note[NOTE_MAX];
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void format_duration(char *buf, size_t size, double s)
{
    if (s < 60) snprintf(buf, size, "%.1fs", s);
    else if (s < 3600) snprintf(buf, size, "%d:%02d", (int)(s / 60), (int)s % 60);
    else snprintf(buf, size, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60) % 60, (int)s % 60);
}

char *sl_progress_format(char *buf, size_t size, const char *label, const char *unit,
                         uint64_t done, uint64_t total, double elapsed, const char *note)
{
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    size_t k = 0;
#define PUT(...) k += (size_t)snprintf(buf + (k < size ? k : size), k < size ? size - k : 0, __VA_ARGS__)
    PUT("%s", label ? label : "");
    if (total > 0) {
        const int width = 20;
        uint64_t d = done > total ? total : done;
        int fill = (int)((double)width * (double)d / (double)total);
        PUT("  [");
        for (int i = 0; i < width; i++) PUT("%c", i < fill ? '#' : '-');
        PUT("]  %llu/%llu", (unsigned long long)done, (unsigned long long)total);
    } else {
        PUT("  %llu", (unsigned long long)done);
    }
    PUT("  %.0f %s/s", rate, unit ? unit : "items");
    if (total > 0 && done > 0 && done < total && rate > 0) {
        char eta[32];
        format_duration(eta, sizeof eta, (double)(total - done) / rate);
        PUT("  ETA %s", eta);
    }
    if (note && *note) PUT("  %s", note);
#undef PUT
    return buf;
}

sl_status sl_progress_new(sl_progress **out, const sl_progress_opts *opts, uint64_t total)
{
    *out = NULL;
    sl_progress *p = calloc(1, sizeof *p);
    if (!p) return sl_fail(SL_ENOMEM, "out of memory");
    p->stream = opts && opts->stream ? opts->stream : stderr;
    int force = opts ? opts->force : 0;
    p->active = force == 1 || (force == 0 && isatty(fileno(p->stream)));
    snprintf(p->label, sizeof p->label, "%s", opts && opts->label ? opts->label : "");
    snprintf(p->unit, sizeof p->unit, "%s", opts && opts->unit ? opts->unit : "items");
    p->total = total;
    atomic_init(&p->done, 0);
    p->start = mono_now();
    atomic_init(&p->last_draw_ns, 0);
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return SL_OK;
}

static void draw(sl_progress *p, double now)
{
    char line[LINE_MAX_CHARS];
    sl_progress_format(line, sizeof line, p->label, p->unit, atomic_load(&p->done), p->total,
                       now - p->start, p->note);
    fprintf(p->stream, "\r%s\x1b[K", line);
    fflush(p->stream);
    p->drawn = 1;
    atomic_store(&p->last_draw_ns, (uint_fast64_t)(now * 1e9));
}

void sl_progress_add(sl_progress *p, uint64_t n)
{
    if (!p) return;
    uint64_t done = atomic_fetch_add(&p->done, n) + n;
    if (!p->active) return;
    double now = mono_now();
    if (now - 1e-9 * (double)atomic_load(&p->last_draw_ns) < 0.1 && done != p->total) return;
    if (pthread_mutex_trylock(&p->lock) != 0) return;        /* someone else is drawing */
    draw(p, now);
    pthread_mutex_unlock(&p->lock);
}

void sl_progress_note(sl_progress *p, const char *note)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    snprintf(p->note, sizeof p->note, "%s", note ? note : "");
    pthread_mutex_unlock(&p->lock);
}

int sl_progress_active(const sl_progress *p) { return p && p->active; }

void sl_progress_free(sl_progress *p)
{
    if (!p) return;
    if (p->drawn) {
        fputs("\r\x1b[K", p->stream);
        fflush(p->stream);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}
