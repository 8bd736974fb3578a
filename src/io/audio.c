/* Audio input through libsndfile, mixing or channel choice, resampling through libsoxr. */
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
#define BLOCK_FRAMES 4096

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
    default: return "audio";
    }
}

static int subtype_bits(int format, const char **name)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: *name = "PCM_S8"; return 8;
    case SF_FORMAT_PCM_U8: *name = "PCM_U8"; return 8;
    case SF_FORMAT_PCM_16: *name = "PCM_16"; return 16;
    case SF_FORMAT_PCM_24: *name = "PCM_24"; return 24;
    case SF_FORMAT_PCM_32: *name = "PCM_32"; return 32;
    case SF_FORMAT_FLOAT: *name = "FLOAT"; return 0;
    case SF_FORMAT_DOUBLE: *name = "DOUBLE"; return 0;
    case SF_FORMAT_VORBIS: *name = "VORBIS"; return 0;
    default: *name = "other"; return 0;
    }
}

/* What a RIFF/WAVE header declares, read by hand: libsndfile quietly shortens a file whose data
 * chunk is cut off, and refuses a 0 Hz header without saying why, so we look ourselves. */
typedef struct {
    int is_wav;              /* "RIFF....WAVE" */
    int has_fmt, has_data;
    uint32_t rate;
    uint16_t block_align;
    uint32_t data_declared;  /* bytes the data chunk claims */
    uint64_t data_available; /* bytes after the data chunk's header */
} riff_info;

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void riff_inspect(const char *path, riff_info *r)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    unsigned char h[12];
    if (fread(h, 1, 12, f) == 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WAVE", 4) == 0) {
        r->is_wav = 1;
        if (fseek(f, 0, SEEK_END) == 0) {
            long size = ftell(f);
            long pos = 12;
            for (int guard = 0; guard < 64 && pos + 8 <= size; guard++) {
                unsigned char ch[24];
                if (fseek(f, pos, SEEK_SET) != 0 || fread(ch, 1, 8, f) != 8) break;
                uint32_t len = le32(ch + 4);
                if (memcmp(ch, "fmt ", 4) == 0 && fread(ch + 8, 1, 16, f) == 16) {
                    r->has_fmt = 1;
                    r->rate = le32(ch + 12);
                    r->block_align = (uint16_t)(ch[20] | ch[21] << 8);
                } else if (memcmp(ch, "data", 4) == 0) {
                    r->has_data = 1;
                    r->data_declared = len;
                    r->data_available = (uint64_t)(size - pos - 8);
                    break;
                }
                pos += 8 + (long)len + (len & 1);
            }
        }
    }
    fclose(f);
}

/* Opens path; on failure a one-line message that tells a missing or unreadable file from one that
 * is not audio. */
static sl_status open_sound(const char *path, SNDFILE **out, SF_INFO *sfi)
{
    memset(sfi, 0, sizeof *sfi);
    struct stat sb;
    if (stat(path, &sb) != 0) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return sl_fail(SL_EIO, "%s: is a folder", path);
    if (sb.st_size == 0) return sl_fail(SL_EFORMAT, "%s: empty file (0 bytes)", path);
    if (access(path, R_OK) != 0) return sl_fail(SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    SNDFILE *f = sf_open(path, SFM_READ, sfi);
    if (!f) {
        /* sf_strerror(NULL) reads libsndfile's global last error, which other threads may write:
         * describe the failure ourselves. */
        riff_info r;
        riff_inspect(path, &r);
        if (r.is_wav && r.has_fmt && r.rate == 0)
            return sl_fail(SL_EFORMAT, "%s: header claims a sample rate of 0 Hz", path);
        if (r.is_wav && (!r.has_fmt || !r.has_data))
            return sl_fail(SL_EFORMAT, "%s: truncated or damaged WAV header (no %s chunk)", path,
                           r.has_fmt ? "data" : "fmt");
        return sl_fail(SL_EFORMAT, "%s: not a readable sound file (unknown format or damaged header)", path);
    }
    if (!(sfi->samplerate > 0) || sfi->samplerate > MAX_RATE) {
        sf_close(f);
        return sl_fail(SL_EFORMAT, "%s: header claims a sample rate of %d Hz", path, sfi->samplerate);
    }
    if (sfi->channels < 1 || sfi->channels > 1024) {
        sf_close(f);
        return sl_fail(SL_EFORMAT, "%s: header claims %d channels", path, sfi->channels);
    }
    *out = f;
    return SL_OK;
}

static void fill_info(const SF_INFO *sfi, sl_audio_info *info)
{
    const char *sub;
    memset(info, 0, sizeof *info);
    info->sample_rate = sfi->samplerate;
    info->channels = sfi->channels;
    info->frames = sfi->frames;
    info->bits = subtype_bits(sfi->format, &sub);
    snprintf(info->format, sizeof info->format, "%s %s", major_name(sfi->format), sub);
}

sl_status sl_audio_probe(const char *path, sl_audio_info *info)
{
    SNDFILE *f;
    SF_INFO sfi;
    SL_TRY(open_sound(path, &f, &sfi));
    fill_info(&sfi, info);
    sf_close(f);
    return SL_OK;
}

void sl_signal_free(sl_signal *s)
{
    if (!s) return;
    free(s->x);
    memset(s, 0, sizeof *s);
}

sl_status sl_resample(const float *x, size_t n, double rate_in, double rate_out, float **y, size_t *ny)
{
    *y = NULL;
    *ny = 0;
    if (n == 0) return sl_fail(SL_EARG, "resample: empty signal");
    if (!(rate_in > 0) || !(rate_out > 0) || rate_in > MAX_RATE || rate_out > MAX_RATE)
        return sl_fail(SL_EARG, "resample: rates must be in (0, %g] Hz (got %g -> %g)", MAX_RATE, rate_in, rate_out);
    size_t out_len = (size_t)llround((double)n * rate_out / rate_in);
    if (out_len == 0) out_len = 1;
    float *out = malloc(out_len * sizeof *out);
    if (!out) return sl_fail(SL_ENOMEM, "out of memory");
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t done = 0;
    soxr_error_t err = soxr_oneshot(rate_in, rate_out, 1, x, n, NULL, out, out_len, &done, &io, &q, NULL);
    if (err) {
        free(out);
        return sl_fail(SL_EINTERNAL, "resample %g -> %g Hz: %s", rate_in, rate_out, err);
    }
    /* soxr may deliver a sample fewer than the rounded length: pad with the last value. */
    for (size_t i = done; i < out_len; i++) out[i] = done ? out[done - 1] : 0.0f;
    *y = out;
    *ny = out_len;
    return SL_OK;
}

sl_status sl_audio_read(const char *path, const sl_audio_opts *opts, sl_signal *out)
{
    memset(out, 0, sizeof *out);
    sl_audio_opts o = opts ? *opts : (sl_audio_opts){.target_rate = 0, .channel = -1, .max_frames = 0};
    int64_t max_frames = o.max_frames > 0 ? o.max_frames : ((int64_t)1 << 31);
    SNDFILE *f;
    SF_INFO sfi;
    SL_TRY(open_sound(path, &f, &sfi));
    sl_audio_info info;
    fill_info(&sfi, &info);
    sl_status s = SL_OK;
    int ch = sfi.channels;
    if (sfi.frames <= 0) s = sl_fail(SL_EFORMAT, "%s: empty (0 samples)", path);
    else if (sfi.frames > max_frames)
        s = sl_fail(SL_EFORMAT, "%s: %lld frames, more than the limit of %lld", path,
                    (long long)sfi.frames, (long long)max_frames);
    else if (o.channel >= ch)
        s = sl_fail(SL_EARG, "%s: channel %d requested but the file has %d", path, o.channel, ch);
    if (s) {
        sf_close(f);
        return s;
    }
    /* Full scale: libsndfile maps integer PCM to [-1, 1) by dividing by 2^(bits-1). */
    double full = info.bits ? (double)((1ull << (info.bits - 1)) - 1) / (double)(1ull << (info.bits - 1))
                            : 1.0 - 1e-6;
    size_t n = (size_t)sfi.frames;
    float *x = malloc(n * sizeof *x);
    float *block = malloc((size_t)BLOCK_FRAMES * (size_t)ch * sizeof *block);
    if (!x || !block) {
        free(x);
        free(block);
        sf_close(f);
        return sl_fail(SL_ENOMEM, "out of memory");
    }
    sf_command(f, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    size_t got_total = 0;
    double sumsq = 0, peak = 0;
    uint64_t clipped = 0;
    while (got_total < n && s == SL_OK) {
        sf_count_t want = (sf_count_t)(n - got_total < BLOCK_FRAMES ? n - got_total : BLOCK_FRAMES);
        sf_count_t got = sf_readf_float(f, block, want);
        if (got <= 0) break;
        for (sf_count_t i = 0; i < got && s == SL_OK; i++) {
            double acc = 0;
            for (int c = 0; c < ch; c++) {
                double v = block[(size_t)i * (size_t)ch + (size_t)c];
                if (!isfinite(v)) {
                    s = sl_fail(SL_EFORMAT, "%s: NaN or infinite sample at frame %zu", path,
                                got_total + (size_t)i);
                    break;
                }
                double a = fabs(v);
                if (a > peak) peak = a;
                if (a >= full) clipped++;
                sumsq += v * v;
                acc += v;
            }
            x[got_total + (size_t)i] = o.channel >= 0 ? block[(size_t)i * (size_t)ch + (size_t)o.channel]
                                                      : (float)(acc / ch);
        }
        got_total += (size_t)got;
    }
    free(block);
    sf_close(f);
    if (s == SL_OK && got_total < n)
        s = sl_fail(SL_EFORMAT, "%s: truncated (read %zu of %zu frames)", path, got_total, n);
    if (s == SL_OK && (sfi.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV) {
        /* 0 and 0xFFFFFFFF are what streaming writers put before they know the length. */
        riff_info r;
        riff_inspect(path, &r);
        if (r.has_data && r.block_align && r.data_declared != 0 && r.data_declared != 0xFFFFFFFFu &&
            r.data_declared > r.data_available)
            s = sl_fail(SL_EFORMAT, "%s: truncated (the header declares %u frames, the file holds %llu)", path,
                        r.data_declared / r.block_align,
                        (unsigned long long)(r.data_available / r.block_align));
    }
    if (s) {
        free(x);
        return s;
    }
    out->info = info;
    out->n_clipped = clipped;
    out->n_raw = (uint64_t)n * (uint64_t)ch;
    out->peak = peak;
    out->rms = sqrt(sumsq / (double)out->n_raw);
    out->sample_rate = info.sample_rate;
    if (o.target_rate > 0 && fabs(o.target_rate - info.sample_rate) > 1e-9 * o.target_rate) {
        float *y;
        size_t ny;
        s = sl_resample(x, n, info.sample_rate, o.target_rate, &y, &ny);
        free(x);
        if (s) {
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

sl_status sl_audio_write_wav(const char *path, const float *x, size_t n, double sample_rate)
{
    if (!(sample_rate > 0) || sample_rate > MAX_RATE)
        return sl_fail(SL_EARG, "%s: sample rate %g Hz out of range", path, sample_rate);
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp) return sl_fail(SL_ENOMEM, "out of memory");
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    SF_INFO sfi = {.samplerate = (int)lround(sample_rate), .channels = 1,
                   .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(tmp, SFM_WRITE, &sfi);
    if (!f) {
        sl_status s = sl_fail(SL_EIO, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
        free(tmp);
        return s;
    }
    sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t wrote = n ? sf_writef_float(f, x, (sf_count_t)n) : 0;
    int close_err = sf_close(f);
    sl_status s = SL_OK;
    if (wrote != (sf_count_t)n || close_err) s = sl_fail(SL_EIO, "%s: write error", path);
    if (s == SL_OK) {
        int fd = open(tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) s = sl_fail(SL_EIO, "%s: cannot sync: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
    }
    if (s == SL_OK && rename(tmp, path) != 0) s = sl_fail(SL_EIO, "%s: cannot write: %s", path, strerror(errno));
    if (s != SL_OK) unlink(tmp);
    free(tmp);
    return s;
}
