/* The progress bar. Updates are counted with atomics; one thread at a time redraws, at most ten
 * times a second, so the bar costs nothing measurable in a hot loop: an add that is not due for a
 * redraw is one atomic add, one clock read and one atomic load. */
#include "sigloop/progress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOTE_MAX 128
#define LINE_MAX_CHARS 512
#define REDRAW_NS 100000000ull /* 10 Hz */

struct sl_progress {
    FILE *stream;
    int active;                        /* draws at all */
    int drawn;                         /* a line is on the screen; under lock */
    char label[64];
    char unit[32];
    uint64_t total;
    atomic_uint_fast64_t done;
    uint64_t start_ns;                 /* monotonic */
    atomic_uint_fast64_t last_draw_ns; /* monotonic, since start; 0: never drawn */
    pthread_mutex_t lock;              /* drawing, `drawn` and the note */
    char note[NOTE_MAX];
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* s, m:ss or h:mm:ss. Rounded once to whole seconds before splitting, so 59.97 s shows as "1:00"
 * rather than "60.0s" or "0:60". */
static void format_duration(char *buf, size_t size, double s)
{
    if (!(s >= 0)) s = 0; /* also NaN */
    if (s < 59.95) {
        snprintf(buf, size, "%.1fs", s);
        return;
    }
    if (s > 359999) s = 359999; /* 99:59:59; an ETA beyond that means nothing */
    long t = (long)(s + 0.5);
    if (t < 3600) snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
    else snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* Appends to buf at *k like snprintf, keeping buf NUL-terminated when it is too small; *k counts
 * what would have been written, as snprintf's return value does. */
static void put(char *buf, size_t size, size_t *k, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void put(char *buf, size_t size, size_t *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + (*k < size ? *k : size), *k < size ? size - *k : 0, fmt, ap);
    va_end(ap);
    if (n > 0) *k += (size_t)n;
}

char *sl_progress_format(char *buf, size_t size, const char *label, const char *unit,
                         uint64_t done, uint64_t total, double elapsed, const char *note)
{
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    size_t k = 0;
    if (size > 0) buf[0] = '\0';
    put(buf, size, &k, "%s", label ? label : "");
    if (total > 0) {
        enum { WIDTH = 20 };
        char bar[WIDTH + 1];
        uint64_t d = done > total ? total : done;
        /* full exactly when done reaches total, whatever the rounding of huge counts */
        int fill = d == total ? WIDTH : (int)((double)WIDTH * (double)d / (double)total);
        if (fill > WIDTH - 1 && d < total) fill = WIDTH - 1;
        for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '-';
        bar[WIDTH] = '\0';
        put(buf, size, &k, "  [%s]  %llu/%llu", bar, (unsigned long long)done, (unsigned long long)total);
    } else {
        put(buf, size, &k, "  %llu", (unsigned long long)done);
    }
    put(buf, size, &k, "  %.0f %s/s", rate, unit ? unit : "items");
    if (total > 0 && done > 0 && done < total && rate > 0) {
        char eta[32];
        format_duration(eta, sizeof eta, (double)(total - done) / rate);
        put(buf, size, &k, "  ETA %s", eta);
    }
    if (note && *note) put(buf, size, &k, "  %s", note);
    return buf;
}

sl_status sl_progress_new(sl_progress **out, const sl_progress_opts *opts, uint64_t total)
{
    *out = NULL;
    sl_progress *p = calloc(1, sizeof *p);
    if (!p) return sl_fail(SL_ENOMEM, "out of memory");
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    p->stream = opts && opts->stream ? opts->stream : stderr;
    int force = opts ? opts->force : 0;
    p->active = force == 1 || (force == 0 && isatty(fileno(p->stream)));
    snprintf(p->label, sizeof p->label, "%s", opts && opts->label ? opts->label : "");
    snprintf(p->unit, sizeof p->unit, "%s", opts && opts->unit ? opts->unit : "items");
    p->total = total;
    atomic_init(&p->done, 0);
    atomic_init(&p->last_draw_ns, 0);
    p->start_ns = mono_ns();
    *out = p;
    return SL_OK;
}

/* Under p->lock. The line is written in one fprintf so a terminal never shows half of it. */
static void draw(sl_progress *p, uint64_t since_start)
{
    char line[LINE_MAX_CHARS];
    sl_progress_format(line, sizeof line, p->label, p->unit, atomic_load(&p->done), p->total,
                       1e-9 * (double)since_start, p->note);
    fprintf(p->stream, "\r%s\x1b[K", line);
    fflush(p->stream);
    p->drawn = 1;
    /* +1: 0 means "never drawn", so the first add always draws */
    atomic_store(&p->last_draw_ns, since_start + 1);
}

static int due(const sl_progress *p, uint64_t since_start, uint64_t done)
{
    uint64_t last = atomic_load(&p->last_draw_ns);
    /* written so that a `last` newer than our clock reading (another thread drew meanwhile)
     * counts as recent instead of wrapping around */
    return last == 0 || since_start + 1 >= last + REDRAW_NS || done == p->total;
}

void sl_progress_add(sl_progress *p, uint64_t n)
{
    if (!p) return;
    uint64_t done = atomic_fetch_add(&p->done, n) + n;
    if (!p->active) return;
    uint64_t since = mono_ns() - p->start_ns;
    if (!due(p, since, done)) return;
    /* Someone else drawing now shows numbers as fresh as ours: skip rather than queue. */
    if (pthread_mutex_trylock(&p->lock) != 0) return;
    /* Checked again under the lock: another thread may have drawn since our first look. */
    if (due(p, since, done)) draw(p, since);
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
