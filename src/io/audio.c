/* Audio input through libsndfile, mixing or channel choice, resampling through libsoxr, and an
 * atomic 16-bit WAV writer.
 *
 * libsndfile is reached through its virtual I/O interface on a descriptor we open ourselves:
 *  - open(2) gives the real reason a file cannot be read (missing, permission), with no race
 *    between a stat/access check and the library's own open;
 *  - libsndfile 1.2 closes a descriptor passed to sf_open_fd when the open fails, even when told
 *    not to, so with sf_open_fd we could not know whether to close it (a leak or, on a loader
 *    thread, closing another thread's file). Through virtual I/O the descriptor is only ours.
 *  - the reason for a failed open is recorded only in libsndfile's process-wide sf_errno, which
 *    the loader threads would race on; we diagnose a refused header ourselves instead
 *    (describe_refusal), which also lets us say "0 Hz" where libsndfile says "SF_INFO struct
 *    incomplete".
 * libsndfile also quietly shortens a WAV or AIFF file whose data is cut off (frames = what is
 * there), so the header's own frame count is read by hand and compared (inspect_header). */
#include "sigloop/audio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RATE 1000000.0
#define MAX_CHANNELS 1024 /* libsndfile's own limit (SF_MAX_CHANNELS) */
#define BLOCK_FRAMES 4096
#define DEFAULT_MAX_FRAMES ((int64_t)1 << 31)

/* ---- format names and full scale ----------------------------------------------------------- */

static const char *major_name(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: return "WAV";
    case SF_FORMAT_WAVEX: return "WAVEX";
    case SF_FORMAT_AIFF: return "AIFF";
    case SF_FORMAT_AU: return "AU";
    case SF_FORMAT_FLAC: return "FLAC";
    case SF_FORMAT_OGG: return "OGG";
    case SF_FORMAT_W64: return "W64";
    case SF_FORMAT_RF64: return "RF64";
    case SF_FORMAT_CAF: return "CAF";
    case SF_FORMAT_RAW: return "RAW";
    default: return NULL;
    }
}

static const char *subtype_name(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: return "PCM_S8";
    case SF_FORMAT_PCM_U8: return "PCM_U8";
    case SF_FORMAT_PCM_16: return "PCM_16";
    case SF_FORMAT_PCM_24: return "PCM_24";
    case SF_FORMAT_PCM_32: return "PCM_32";
    case SF_FORMAT_FLOAT: return "FLOAT";
    case SF_FORMAT_DOUBLE: return "DOUBLE";
    case SF_FORMAT_VORBIS: return "VORBIS";
    case SF_FORMAT_ULAW: return "ULAW";
    case SF_FORMAT_ALAW: return "ALAW";
    case SF_FORMAT_IMA_ADPCM: return "IMA_ADPCM";
    case SF_FORMAT_MS_ADPCM: return "MS_ADPCM";
    case SF_FORMAT_GSM610: return "GSM610";
    default: return NULL;
    }
}

static int subtype_bits(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8: return 8;
    case SF_FORMAT_PCM_16: return 16;
    case SF_FORMAT_PCM_24: return 24;
    case SF_FORMAT_PCM_32: return 32;
    default: return 0; /* float, double, Vorbis and other compressed data */
    }
}

/* The magnitude at or above which a decoded sample is at digital full scale. libsndfile maps
 * b-bit PCM to float by dividing by 2^(b-1), so the largest positive code reads as
 * (2^(b-1) - 1) / 2^(b-1) and the most negative as -1.0: both count. (For PCM_32 the float read
 * rounds the top 128 codes to 1.0; they count too.) mu-law and A-law top out below 1.0 (at
 * 32124/32768 and 32256/32768), so their own maxima are full scale. Float data has no full scale
 * of its own: 1.0 less a rounding margin. */
static double full_scale(int format)
{
    int bits = subtype_bits(format);
    if (bits) return (ldexp(1.0, bits - 1) - 1.0) / ldexp(1.0, bits - 1);
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_ULAW: return 32124.0 / 32768.0;
    case SF_FORMAT_ALAW: return 32256.0 / 32768.0;
    default: return 1.0 - 1e-6;
    }
}

static void fill_info(const SF_INFO *sfi, sl_audio_info *info)
{
    memset(info, 0, sizeof *info);
    info->sample_rate = sfi->samplerate;
    info->channels = sfi->channels;
    info->frames = sfi->frames;
    info->bits = subtype_bits(sfi->format);
    const char *major = major_name(sfi->format), *sub = subtype_name(sfi->format);
    char mbuf[12], sbuf[12];
    if (!major) {
        snprintf(mbuf, sizeof mbuf, "0x%06X", (unsigned)(sfi->format & SF_FORMAT_TYPEMASK));
        major = mbuf;
    }
    if (!sub) {
        snprintf(sbuf, sizeof sbuf, "0x%04X", (unsigned)(sfi->format & SF_FORMAT_SUBMASK));
        sub = sbuf;
    }
    snprintf(info->format, sizeof info->format, "%s %s", major, sub);
}

/* ---- virtual I/O on our own descriptor ------------------------------------------------------ */

typedef struct {
    int fd;
    int err; /* the first errno seen by read or write, for the message */
} vio_file;

static sf_count_t vio_filelen(void *user)
{
    vio_file *v = user;
    struct stat sb;
    if (fstat(v->fd, &sb) != 0) {
        if (!v->err) v->err = errno;
        return -1;
    }
    return (sf_count_t)sb.st_size;
}

static sf_count_t vio_seek(sf_count_t offset, int whence, void *user)
{
    vio_file *v = user;
    off_t r = lseek(v->fd, (off_t)offset, whence);
    if (r < 0 && !v->err) v->err = errno;
    return (sf_count_t)r;
}

static sf_count_t vio_tell(void *user)
{
    vio_file *v = user;
    return (sf_count_t)lseek(v->fd, 0, SEEK_CUR);
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *user)
{
    vio_file *v = user;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t r = read(v->fd, (char *)ptr + done, (size_t)(count - done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && !v->err) v->err = errno;
        if (r <= 0) break;
        done += r;
    }
    return done;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    vio_file *v = user;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t r = write(v->fd, (const char *)ptr + done, (size_t)(count - done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && !v->err) v->err = errno;
        if (r <= 0) break;
        done += r;
    }
    return done;
}

static SNDFILE *vio_open(vio_file *v, int mode, SF_INFO *sfi)
{
    /* A local table: libsndfile copies it, and no mutable state outlives the call. */
    SF_VIRTUAL_IO io = {vio_filelen, vio_seek, vio_read, vio_write, vio_tell};
    return sf_open_virtual(&io, mode, sfi, v);
}

/* ---- the header, read by hand --------------------------------------------------------------- */

typedef enum { HDR_OTHER, HDR_WAV, HDR_AIFF, HDR_FLAC, HDR_OGG } hdr_kind;

/* What a WAV (RIFF/WAVE) or AIFF header declares. */
typedef struct {
    hdr_kind kind;
    int has_fmt;             /* "fmt " (WAV) or "COMM" (AIFF) chunk present and complete */
    int fmt_short;           /* that chunk is present but cut off */
    int has_data;            /* "data" (WAV) or "SSND" (AIFF) chunk header present */
    double rate;             /* Hz, from the format chunk */
    uint16_t format_tag;     /* WAV: 1 PCM, 3 float, 6 A-law, 7 mu-law, 0xFFFE extensible */
    uint16_t block_align;    /* WAV: bytes per frame (PCM and float) */
    uint32_t data_declared;  /* WAV: bytes the data chunk claims */
    uint64_t data_available; /* WAV: bytes after the data chunk's header */
    uint32_t aiff_frames;    /* AIFF: numSampleFrames from COMM */
} hdr_info;

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads exactly n bytes at pos without moving the descriptor's offset; 0 if fewer are there. */
static int read_at(int fd, void *buf, size_t n, off_t pos)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, pos + (off_t)done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return 0;
        done += (size_t)r;
    }
    return 1;
}

/* An IEEE 754 80-bit extended number (AIFF's sample rate) as a double. */
static double extended_to_double(const unsigned char *p)
{
    int exponent = ((p[0] & 0x7F) << 8) | p[1];
    uint64_t mantissa = 0;
    for (int i = 0; i < 8; i++) mantissa = mantissa << 8 | p[2 + i];
    if (mantissa == 0) return 0.0;
    if (exponent == 0x7FFF) return INFINITY;
    double v = ldexp((double)mantissa, exponent - 16383 - 63);
    return (p[0] & 0x80) ? -v : v;
}

/* Walks the chunks of a WAV or AIFF file (at most 256, so a crafted file cannot loop us). */
static void inspect_header(int fd, off_t size, hdr_info *h)
{
    memset(h, 0, sizeof *h);
    unsigned char b[12];
    if (!read_at(fd, b, 12, 0)) return;
    if (memcmp(b, "fLaC", 4) == 0) h->kind = HDR_FLAC;
    if (memcmp(b, "OggS", 4) == 0) h->kind = HDR_OGG;
    int wav = memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVE", 4) == 0;
    int aiff = memcmp(b, "FORM", 4) == 0 && (memcmp(b + 8, "AIFF", 4) == 0 || memcmp(b + 8, "AIFC", 4) == 0);
    if (!wav && !aiff) return;
    h->kind = wav ? HDR_WAV : HDR_AIFF;
    off_t pos = 12;
    for (int guard = 0; guard < 256 && pos + 8 <= size; guard++) {
        unsigned char ch[26];
        if (!read_at(fd, ch, 8, pos)) break;
        uint32_t len = wav ? le32(ch + 4) : be32(ch + 4);
        if (wav && memcmp(ch, "fmt ", 4) == 0) {
            if (len >= 16 && read_at(fd, ch + 8, 16, pos + 8)) {
                h->has_fmt = 1;
                h->format_tag = le16(ch + 8);
                h->rate = le32(ch + 12);
                h->block_align = le16(ch + 20);
            } else {
                h->fmt_short = 1;
            }
        } else if (aiff && memcmp(ch, "COMM", 4) == 0) {
            if (len >= 18 && read_at(fd, ch + 8, 18, pos + 8)) {
                h->has_fmt = 1;
                h->aiff_frames = be32(ch + 10);
                h->rate = extended_to_double(ch + 16);
            } else {
                h->fmt_short = 1;
            }
        } else if (memcmp(ch, wav ? "data" : "SSND", 4) == 0) {
            h->has_data = 1;
            h->data_declared = len;
            h->data_available = (uint64_t)(size - pos - 8);
            if (wav) break; /* AIFF may put COMM after SSND */
        }
        pos += 8 + (off_t)len + (len & 1);
    }
}

/* Why libsndfile refused a file, from what its header says (see the comment at the top). */
static sl_status describe_refusal(const char *path, const hdr_info *h)
{
    const char *what = h->kind == HDR_WAV ? "WAV" : "AIFF";
    const char *fmt_chunk = h->kind == HDR_WAV ? "'fmt '" : "'COMM'";
    const char *data_chunk = h->kind == HDR_WAV ? "'data'" : "'SSND'";
    switch (h->kind) {
    case HDR_WAV:
    case HDR_AIFF:
        if (h->has_fmt && !(h->rate > 0))
            return sl_fail(SL_EFORMAT, "%s: header claims a sample rate of %.0f Hz", path, h->rate);
        if (h->has_fmt && h->rate > MAX_RATE)
            return sl_fail(SL_EFORMAT, "%s: header claims a sample rate of %.0f Hz", path, h->rate);
        if (h->fmt_short)
            return sl_fail(SL_EFORMAT, "%s: not a readable sound file (%s %s chunk cut short)", path, what, fmt_chunk);
        if (!h->has_fmt)
            return sl_fail(SL_EFORMAT, "%s: not a readable sound file (%s header has no %s chunk)", path, what, fmt_chunk);
        if (!h->has_data)
            return sl_fail(SL_EFORMAT, "%s: not a readable sound file (%s header has no %s chunk)", path, what, data_chunk);
        return sl_fail(SL_EFORMAT, "%s: not a readable sound file (damaged or unsupported %s header)", path, what);
    case HDR_FLAC: return sl_fail(SL_EFORMAT, "%s: not a readable sound file (damaged FLAC header)", path);
    case HDR_OGG: return sl_fail(SL_EFORMAT, "%s: not a readable sound file (damaged or unsupported Ogg stream)", path);
    case HDR_OTHER: break;
    }
    return sl_fail(SL_EFORMAT, "%s: not a readable sound file (format not recognised)", path);
}

/* The frames the header declares when libsndfile offers fewer: the file was cut off in its data.
 * 0 when the header cannot tell or agrees. A WAV data length of 0 or 0xFFFFFFFF is what streaming
 * writers leave before they know the length, not a claim. */
static int64_t declared_frames_missing(const hdr_info *h, int64_t frames)
{
    if (h->kind == HDR_WAV && h->has_data && h->data_declared != 0 && h->data_declared != 0xFFFFFFFFu &&
        h->data_declared > h->data_available) {
        int plain = h->format_tag == 1 || h->format_tag == 3 || h->format_tag == 6 || h->format_tag == 7 ||
                    h->format_tag == 0xFFFE;
        if (plain && h->block_align) {
            int64_t declared = (int64_t)(h->data_declared / h->block_align);
            return declared > frames ? declared : 0;
        }
        return -1; /* compressed WAV: cut short, but frames cannot be counted from bytes */
    }
    if (h->kind == HDR_AIFF && h->has_fmt && (int64_t)h->aiff_frames > frames) return h->aiff_frames;
    return 0;
}

/* ---- opening -------------------------------------------------------------------------------- */

typedef struct {
    vio_file v;
    SNDFILE *sf;
    SF_INFO sfi;
} sound;

static void sound_close(sound *s)
{
    if (s->sf) sf_close(s->sf);
    if (s->v.fd >= 0) close(s->v.fd);
    s->sf = NULL;
    s->v.fd = -1;
}

/* Opens path and checks what the header claims. On failure nothing is left open and the message
 * is one line naming the file: missing or unreadable (SL_EIO), not audio or damaged (SL_EFORMAT). */
static sl_status sound_open(const char *path, sound *s)
{
    memset(s, 0, sizeof *s);
    s->v.fd = -1;
    struct stat sb;
    if (stat(path, &sb) != 0) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return sl_fail(SL_EIO, "%s: cannot open: is a folder", path);
    /* a FIFO or device would block or never end */
    if (!S_ISREG(sb.st_mode)) return sl_fail(SL_EIO, "%s: cannot open: not a regular file", path);
    s->v.fd = open(path, O_RDONLY);
    if (s->v.fd < 0) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(s->v.fd, &sb) != 0) {
        sl_status st = sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
        sound_close(s);
        return st;
    }
    if (sb.st_size == 0) {
        sound_close(s);
        return sl_fail(SL_EFORMAT, "%s: empty file (0 bytes)", path);
    }
    hdr_info h;
    inspect_header(s->v.fd, sb.st_size, &h);
    s->sf = vio_open(&s->v, SFM_READ, &s->sfi);
    sl_status st = SL_OK;
    if (!s->sf) {
        st = s->v.err ? sl_fail(SL_EIO, "%s: cannot read: %s", path, strerror(s->v.err)) : describe_refusal(path, &h);
    } else if (!(s->sfi.samplerate > 0) || s->sfi.samplerate > MAX_RATE) {
        st = sl_fail(SL_EFORMAT, "%s: header claims a sample rate of %d Hz", path, s->sfi.samplerate);
    } else if (s->sfi.channels < 1 || s->sfi.channels > MAX_CHANNELS) {
        st = sl_fail(SL_EFORMAT, "%s: header claims %d channels", path, s->sfi.channels);
    } else if (s->sfi.frames < 0 || s->sfi.frames == SF_COUNT_MAX) {
        /* libsndfile's answer when it finds no end, e.g. an Ogg stream cut before its last page
         * (reading one then yields nothing at all) */
        st = sl_fail(SL_EFORMAT, "%s: truncated or damaged (the stream's length cannot be found)", path);
    } else {
        int64_t declared = declared_frames_missing(&h, s->sfi.frames);
        if (declared > 0)
            st = sl_fail(SL_EFORMAT, "%s: truncated (read %lld of %lld frames)", path, (long long)s->sfi.frames,
                         (long long)declared);
        else if (declared < 0)
            st = sl_fail(SL_EFORMAT, "%s: truncated (the data chunk holds %llu of %lu bytes)", path,
                         (unsigned long long)h.data_available, (unsigned long)h.data_declared);
    }
    if (st != SL_OK) sound_close(s);
    return st;
}

sl_status sl_audio_probe(const char *path, sl_audio_info *info)
{
    memset(info, 0, sizeof *info);
    sound s;
    SL_TRY(sound_open(path, &s));
    fill_info(&s.sfi, info);
    sound_close(&s);
    return SL_OK;
}

void sl_signal_free(sl_signal *s)
{
    if (!s) return;
    free(s->x);
    memset(s, 0, sizeof *s);
}

/* ---- resampling ----------------------------------------------------------------------------- */

sl_status sl_resample(const float *x, size_t n, double rate_in, double rate_out, float **y, size_t *ny)
{
    *y = NULL;
    *ny = 0;
    if (n == 0) return sl_fail(SL_EARG, "resample: empty signal");
    if (!x) return sl_fail(SL_EARG, "resample: no samples given");
    if (!(rate_in > 0) || !(rate_out > 0) || rate_in > MAX_RATE || rate_out > MAX_RATE)
        return sl_fail(SL_EARG, "resample: rates must be in (0, %.0f] Hz (got %g -> %g)", MAX_RATE, rate_in,
                       rate_out);
    double len = round((double)n * rate_out / rate_in); /* halves away from zero */
    if (len < 1)
        return sl_fail(SL_EARG, "resample: %zu samples at %g Hz make no sample at %g Hz", n, rate_in, rate_out);
    if (len > (double)(SIZE_MAX / sizeof(float))) return sl_fail(SL_ENOMEM, "resample: output too large");
    size_t out_len = (size_t)len;
    float *out = malloc(out_len * sizeof *out);
    if (!out) return sl_fail(SL_ENOMEM, "out of memory (resampling %zu samples)", out_len);
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t done = 0;
    soxr_error_t err = soxr_oneshot(rate_in, rate_out, 1, x, n, NULL, out, out_len, &done, &io, &q, NULL);
    if (err) {
        free(out);
        return sl_fail(SL_EINTERNAL, "resample %g -> %g Hz: %s", rate_in, rate_out, err);
    }
    /* soxr delivers the rounded length in full except for inputs of a few samples, where its
     * filter delay eats the tail: hold the last value rather than return a shorter signal. */
    for (size_t i = done; i < out_len; i++) out[i] = done ? out[done - 1] : 0.0f;
    *y = out;
    *ny = out_len;
    return SL_OK;
}

/* ---- reading -------------------------------------------------------------------------------- */

/* The sample-rate check of a rate the caller asked for, before any file is touched. */
static sl_status check_opts(const char *path, const sl_audio_opts *o)
{
    if (!(o->target_rate >= 0) || o->target_rate > MAX_RATE)
        return sl_fail(SL_EARG, "%s: target rate %g Hz: must be 0 (keep) or in (0, %.0f]", path, o->target_rate,
                       MAX_RATE);
    if (o->channel < -1) return sl_fail(SL_EARG, "%s: channel %d: must be -1 (mix) or >= 0", path, o->channel);
    if (o->max_frames < 0) return sl_fail(SL_EARG, "%s: max_frames %lld: must be >= 0", path, (long long)o->max_frames);
    return SL_OK;
}

/* Drops "Error : " and a final '.' from a libsndfile message, to fit inside ours. */
static void sndfile_reason(SNDFILE *sf, char *buf, size_t size)
{
    const char *m = sf_strerror(sf);
    if (strncmp(m, "Error : ", 8) == 0) m += 8;
    snprintf(buf, size, "%s", m);
    size_t k = strlen(buf);
    if (k > 0 && buf[k - 1] == '.') buf[k - 1] = '\0';
}

sl_status sl_audio_read(const char *path, const sl_audio_opts *opts, sl_signal *out)
{
    memset(out, 0, sizeof *out);
    sl_audio_opts o = opts ? *opts : (sl_audio_opts){.target_rate = 0, .channel = -1, .max_frames = 0};
    SL_TRY(check_opts(path, &o));
    int64_t max_frames = o.max_frames > 0 ? o.max_frames : DEFAULT_MAX_FRAMES;
    sound snd;
    SL_TRY(sound_open(path, &snd));
    sl_audio_info info;
    fill_info(&snd.sfi, &info);
    int ch = snd.sfi.channels;
    sl_status s = SL_OK;
    if (o.channel >= ch)
        s = sl_fail(SL_EARG, "%s: channel %d requested but the file has %d", path, o.channel, ch);
    else if (snd.sfi.frames == 0)
        s = sl_fail(SL_EFORMAT, "%s: empty (0 samples)", path);
    else if (snd.sfi.frames > max_frames)
        s = sl_fail(SL_EFORMAT, "%s: %lld frames, more than the limit of %lld", path, (long long)snd.sfi.frames,
                    (long long)max_frames);
    if (s != SL_OK) {
        sound_close(&snd);
        return s;
    }
    size_t n = (size_t)snd.sfi.frames;
    float *x = malloc(n * sizeof *x);
    float *block = malloc((size_t)BLOCK_FRAMES * (size_t)ch * sizeof *block);
    if (!x || !block) {
        free(x);
        free(block);
        sound_close(&snd);
        return sl_fail(SL_ENOMEM, "%s: out of memory (%zu frames)", path, n);
    }
    sf_command(snd.sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    const double full = full_scale(snd.sfi.format);
    size_t got_total = 0;
    double sumsq = 0, peak = 0;
    uint64_t clipped = 0;
    /* Statistics are of the file's own samples, before mixing, in double. */
    while (got_total < n && s == SL_OK) {
        sf_count_t want = (sf_count_t)(n - got_total < BLOCK_FRAMES ? n - got_total : BLOCK_FRAMES);
        sf_count_t got = sf_readf_float(snd.sf, block, want);
        if (got <= 0) break;
        for (size_t i = 0; i < (size_t)got; i++) {
            const float *frame = block + i * (size_t)ch;
            double acc = 0;
            for (int c = 0; c < ch; c++) {
                double v = frame[c];
                if (!isfinite(v)) {
                    s = sl_fail(SL_EFORMAT, "%s: NaN or infinite sample at frame %zu", path, got_total + i);
                    break;
                }
                double a = fabs(v);
                if (a > peak) peak = a;
                if (a >= full) clipped++;
                sumsq += v * v;
                acc += v;
            }
            if (s != SL_OK) break;
            x[got_total + i] = o.channel >= 0 ? frame[o.channel] : (float)(acc / ch);
        }
        got_total += (size_t)got;
    }
    free(block);
    if (s == SL_OK && got_total < n) {
        /* a FLAC or other stream that ends before its header's count: never padded */
        if (sf_error(snd.sf) != SF_ERR_NO_ERROR) {
            char why[256];
            sndfile_reason(snd.sf, why, sizeof why);
            s = sl_fail(SL_EFORMAT, "%s: truncated or damaged (read %zu of %zu frames: %s)", path, got_total, n, why);
        } else if (snd.v.err) {
            s = sl_fail(SL_EIO, "%s: read error after %zu of %zu frames: %s", path, got_total, n,
                        strerror(snd.v.err));
        } else {
            s = sl_fail(SL_EFORMAT, "%s: truncated (read %zu of %zu frames)", path, got_total, n);
        }
    }
    sound_close(&snd);
    if (s != SL_OK) {
        free(x);
        return s;
    }
    out->info = info;
    out->n_clipped = clipped;
    out->n_raw = (uint64_t)n * (uint64_t)ch;
    out->peak = peak;
    out->rms = sqrt(sumsq / (double)out->n_raw);
    out->sample_rate = info.sample_rate;
    if (o.target_rate > 0 && o.target_rate != info.sample_rate) {
        float *y;
        size_t ny;
        s = sl_resample(x, n, info.sample_rate, o.target_rate, &y, &ny);
        free(x);
        if (s != SL_OK) {
            sl_error_prefix("%s", path);
            memset(out, 0, sizeof *out);
            return s;
        }
        x = y;
        n = ny;
        out->sample_rate = o.target_rate;
        out->resampled = 1;
    }
    out->x = x;
    out->n = n;
    return SL_OK;
}

/* ---- reading in pieces ------------------------------------------------------------------------ */

struct sl_audio_reader {
    sound snd;
    char path[4096];
    sl_audio_info info;
    int channel;                 /* -1: mix */
    size_t frames_read;          /* of the file */
    float *block;                /* (BLOCK_FRAMES, channels) */
    float *mono;                 /* (BLOCK_FRAMES): the block mixed or picked */
    size_t mono_pos, mono_len;
    soxr_t soxr;                 /* NULL: the file's rate is kept */
    int eof;                     /* the file has given all its frames */
    int drained;                 /* ... and the resampler its last samples */
    double rate;
};

void sl_audio_reader_close(sl_audio_reader *r)
{
    if (!r) return;
    sound_close(&r->snd);
    if (r->soxr) soxr_delete(r->soxr);
    free(r->block);
    free(r->mono);
    free(r);
}

sl_status sl_audio_reader_open(sl_audio_reader **out, const char *path, const sl_audio_opts *opts)
{
    *out = NULL;
    sl_audio_opts o = opts ? *opts : (sl_audio_opts){.target_rate = 0, .channel = -1, .max_frames = 0};
    SL_TRY(check_opts(path, &o));
    sl_audio_reader *r = calloc(1, sizeof *r);
    if (!r) return sl_fail(SL_ENOMEM, "out of memory");
    r->snd.v.fd = -1;
    sl_status s = sound_open(path, &r->snd);
    if (s != SL_OK) {
        free(r);
        return s;
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    fill_info(&r->snd.sfi, &r->info);
    r->channel = o.channel;
    r->rate = r->info.sample_rate;
    int ch = r->snd.sfi.channels;
    if (o.channel >= ch) s = sl_fail(SL_EARG, "%s: channel %d requested but the file has %d", path, o.channel, ch);
    else if (r->snd.sfi.frames == 0) s = sl_fail(SL_EFORMAT, "%s: empty (0 samples)", path);
    if (s == SL_OK) {
        r->block = malloc((size_t)BLOCK_FRAMES * (size_t)ch * sizeof *r->block);
        r->mono = malloc((size_t)BLOCK_FRAMES * sizeof *r->mono);
        if (!r->block || !r->mono) s = sl_fail(SL_ENOMEM, "out of memory");
    }
    if (s == SL_OK && o.target_rate > 0 && o.target_rate != r->info.sample_rate) {
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        soxr_error_t err = NULL;
        r->soxr = soxr_create(r->info.sample_rate, o.target_rate, 1, &err, &io, &q, NULL);
        if (!r->soxr || err)
            s = sl_fail(SL_EINTERNAL, "%s: resample %g -> %g Hz: %s", path, r->info.sample_rate, o.target_rate,
                        err ? err : "cannot start");
        r->rate = o.target_rate;
    }
    if (s != SL_OK) {
        sl_audio_reader_close(r);
        return s;
    }
    sf_command(r->snd.sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    *out = r;
    return SL_OK;
}

const sl_audio_info *sl_audio_reader_info(const sl_audio_reader *r) { return &r->info; }
double sl_audio_reader_rate(const sl_audio_reader *r) { return r->rate; }

/* The next block of the file, mixed or picked, into r->mono; r->eof at the end. */
static sl_status reader_fill(sl_audio_reader *r)
{
    size_t total = (size_t)r->snd.sfi.frames;
    r->mono_pos = r->mono_len = 0;
    if (r->frames_read >= total) {
        r->eof = 1;
        return SL_OK;
    }
    int ch = r->snd.sfi.channels;
    sf_count_t want = (sf_count_t)(total - r->frames_read < BLOCK_FRAMES ? total - r->frames_read : BLOCK_FRAMES);
    sf_count_t got = sf_readf_float(r->snd.sf, r->block, want);
    if (got <= 0) {
        if (r->snd.v.err)
            return sl_fail(SL_EIO, "%s: read error after %zu of %zu frames: %s", r->path, r->frames_read, total,
                           strerror(r->snd.v.err));
        return sl_fail(SL_EFORMAT, "%s: truncated or damaged (read %zu of %zu frames)", r->path, r->frames_read,
                       total);
    }
    for (size_t i = 0; i < (size_t)got; i++) {
        const float *frame = r->block + i * (size_t)ch;
        double acc = 0;
        for (int c = 0; c < ch; c++) {
            if (!isfinite(frame[c]))
                return sl_fail(SL_EFORMAT, "%s: NaN or infinite sample at frame %zu", r->path, r->frames_read + i);
            acc += frame[c];
        }
        r->mono[i] = r->channel >= 0 ? frame[r->channel] : (float)(acc / ch);
    }
    r->frames_read += (size_t)got;
    r->mono_len = (size_t)got;
    return SL_OK;
}

sl_status sl_audio_reader_read(sl_audio_reader *r, float *x, size_t max, size_t *n)
{
    *n = 0;
    size_t done = 0;
    while (done < max && !r->drained) {
        if (r->mono_pos == r->mono_len && !r->eof) SL_TRY(reader_fill(r));
        size_t avail = r->mono_len - r->mono_pos;
        if (!r->soxr) {
            if (r->eof) {
                r->drained = 1;
                break;
            }
            size_t k = avail < max - done ? avail : max - done;
            memcpy(x + done, r->mono + r->mono_pos, k * sizeof *x);
            r->mono_pos += k;
            done += k;
            continue;
        }
        size_t idone = 0, odone = 0;
        soxr_error_t err = soxr_process(r->soxr, r->eof ? NULL : r->mono + r->mono_pos, r->eof ? 0 : avail, &idone,
                                        x + done, max - done, &odone);
        if (err) return sl_fail(SL_EINTERNAL, "%s: resampling: %s", r->path, err);
        r->mono_pos += idone;
        done += odone;
        if (r->eof && odone == 0) r->drained = 1; /* flushed: the resampler has nothing more */
    }
    *n = done;
    return SL_OK;
}

/* ---- writing -------------------------------------------------------------------------------- */

/* fsyncs the folder holding path, so the rename itself survives a crash. Best effort: some file
 * systems refuse fsync on a folder (EINVAL), and the file's own data is already safe by then. */
static void sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY);
    free(dir);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

struct sl_wav_writer {
    char *path, *tmp;            /* the final name, "<path>.tmp.<pid>" */
    vio_file v;
    SNDFILE *sf;
    uint64_t frames;
};

void sl_wav_writer_abort(sl_wav_writer *w)
{
    if (!w) return;
    if (w->sf) sf_close(w->sf);
    if (w->v.fd >= 0) close(w->v.fd);
    if (w->tmp) unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
}

sl_status sl_wav_writer_open(sl_wav_writer **out, const char *path, double sample_rate)
{
    *out = NULL;
    if (!(sample_rate >= 1) || sample_rate > MAX_RATE)
        return sl_fail(SL_EARG, "%s: sample rate %g Hz: must be in [1, %.0f]", path, sample_rate, MAX_RATE);
    sl_wav_writer *w = calloc(1, sizeof *w);
    if (!w) return sl_fail(SL_ENOMEM, "out of memory");
    w->v.fd = -1;
    size_t len = strlen(path) + 32;
    w->path = strdup(path);
    w->tmp = malloc(len);
    if (!w->path || !w->tmp) {
        sl_wav_writer_abort(w);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    snprintf(w->tmp, len, "%s.tmp.%ld", path, (long)getpid());
    w->v.fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC, 0666);
    if (w->v.fd < 0) {
        sl_status s = sl_fail(SL_EIO, "%s: cannot write: %s", path, strerror(errno));
        free(w->tmp);
        w->tmp = NULL; /* nothing was created */
        sl_wav_writer_abort(w);
        return s;
    }
    SF_INFO sfi = {.samplerate = (int)lround(sample_rate), .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    w->sf = vio_open(&w->v, SFM_WRITE, &sfi);
    if (!w->sf) {
        sl_status s = sl_fail(SL_EIO, "%s: cannot write: %s", path,
                              w->v.err ? strerror(w->v.err) : "libsndfile refused to create it");
        sl_wav_writer_abort(w);
        return s;
    }
    /* Clipping stays on for any conversion libsndfile still does (we hand it 16-bit samples). */
    sf_command(w->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    *out = w;
    return SL_OK;
}

sl_status sl_wav_writer_write(sl_wav_writer *w, const float *x, size_t n)
{
    if (n > 0 && !x) return sl_fail(SL_EARG, "%s: no samples given", w->path);
    if (w->frames + n > (uint64_t)INT32_MAX)
        return sl_fail(SL_EARG, "%s: more than %d samples are too many for a WAV file", w->path, INT32_MAX);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return sl_fail(SL_EARG, "%s: sample %llu is NaN or infinite", w->path,
                                            (unsigned long long)(w->frames + i));
    /* We quantise ourselves rather than hand libsndfile floats: without SFC_SET_CLIPPING it
     * scales by 32767 and lets 1.2 wrap around to -0.8, and with it libsndfile before 1.2.3
     * rounds toward minus infinity (its issue #362). Clamped to [-1, 1], scaled by 32768 (the
     * reader divides by 32768, so a round trip is within half a step), rounded to nearest,
     * +1.0 saturating at 32767. */
    short block[BLOCK_FRAMES];
    for (size_t i = 0; i < n; i += BLOCK_FRAMES) {
        size_t k = n - i < BLOCK_FRAMES ? n - i : BLOCK_FRAMES;
        for (size_t j = 0; j < k; j++) {
            float c = x[i + j] > 1.0f ? 1.0f : x[i + j] < -1.0f ? -1.0f : x[i + j];
            long q = lrintf(c * 32768.0f);
            block[j] = (short)(q > 32767 ? 32767 : q);
        }
        if (sf_writef_short(w->sf, block, (sf_count_t)k) != (sf_count_t)k)
            return sl_fail(SL_EIO, "%s: write error: %s", w->path, w->v.err ? strerror(w->v.err) : sf_strerror(w->sf));
    }
    w->frames += n;
    return SL_OK;
}

sl_status sl_wav_writer_finish(sl_wav_writer *w)
{
    sl_status s = SL_OK;
    /* sf_close writes the final header lengths */
    if (sf_close(w->sf) != 0)
        s = sl_fail(SL_EIO, "%s: write error: %s", w->path, w->v.err ? strerror(w->v.err) : "closing failed");
    w->sf = NULL;
    if (s == SL_OK && w->v.err) s = sl_fail(SL_EIO, "%s: write error: %s", w->path, strerror(w->v.err));
    if (s == SL_OK && fsync(w->v.fd) != 0) s = sl_fail(SL_EIO, "%s: cannot sync: %s", w->path, strerror(errno));
    if (close(w->v.fd) != 0 && s == SL_OK) s = sl_fail(SL_EIO, "%s: write error: %s", w->path, strerror(errno));
    w->v.fd = -1;
    return s;
}

sl_status sl_wav_writer_commit(sl_wav_writer *w)
{
    sl_status s = SL_OK;
    if (w->sf || w->v.fd >= 0) s = sl_wav_writer_finish(w);
    if (s == SL_OK && rename(w->tmp, w->path) != 0)
        s = sl_fail(SL_EIO, "%s: cannot write: %s", w->path, strerror(errno));
    if (s == SL_OK) {
        sync_folder(w->path);
        free(w->tmp);
        w->tmp = NULL;
    }
    sl_wav_writer_abort(w); /* frees; removes the temporary file when the rename did not happen */
    return s;
}

sl_status sl_audio_write_wav(const char *path, const float *x, size_t n, double sample_rate)
{
    if (n > 0 && !x) return sl_fail(SL_EARG, "%s: no samples given", path);
    if ((uint64_t)n > (uint64_t)INT32_MAX) return sl_fail(SL_EARG, "%s: %zu samples are too many for a WAV file", path, n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return sl_fail(SL_EARG, "%s: sample %zu is NaN or infinite", path, i);
    sl_wav_writer *w;
    SL_TRY(sl_wav_writer_open(&w, path, sample_rate));
    sl_status s = sl_wav_writer_write(w, x, n);
    if (s != SL_OK) {
        sl_wav_writer_abort(w);
        return s;
    }
    return sl_wav_writer_commit(w);
}
