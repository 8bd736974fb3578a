/* Audio input and output: every format and bit depth read back within its precision, channel
 * mixing and choice exact, resampling that keeps a sine's length and frequency, clip counting on
 * known full-scale samples, the atomic WAV writer, and a corpus of broken files that must each
 * fail with the right status and a one-line message naming the file. Every file is made here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigloop/audio.h"
#include "sigloop/fileio.h"

#define TWO_PI 6.283185307179586476925

static char g_dir[1024];

static void path_of(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", g_dir, name); }

/* Writes interleaved float frames with libsndfile, clipping on (else +1.0 wraps to -1.0). That
 * mode rounds toward minus infinity in libsndfile before 1.2.3, so PCM reads back within one step
 * (not half). */
static void write_frames(const char *name, int format, int rate, int channels, const float *x, size_t frames)
{
    char p[1100];
    path_of(p, sizeof p, name);
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    if (!sf) fail_msg("cannot write %s: %s", p, sf_strerror(NULL));
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    if (frames) assert_int_equal(sf_writef_float(sf, x, (sf_count_t)frames), (sf_count_t)frames);
    assert_int_equal(sf_close(sf), 0);
}

static float *sine(size_t n, double f, double amp, double rate)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(amp * sin(TWO_PI * f * (double)i / rate));
    return x;
}

static void write_sine(const char *name, int format, int rate, double f, double amp, size_t frames)
{
    float *x = sine(frames, f, amp, rate);
    write_frames(name, format, rate, 1, x, frames);
    free(x);
}

static void write_bytes(const char *name, const void *data, size_t len)
{
    char p[1100];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    if (len) assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static long file_size(const char *name)
{
    char p[1100];
    struct stat sb;
    path_of(p, sizeof p, name);
    assert_int_equal(stat(p, &sb), 0);
    return (long)sb.st_size;
}

static void copy_file(const char *from, const char *to)
{
    char p[1100];
    path_of(p, sizeof p, from);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_bytes(to, buf, n);
}

static void truncate_file(const char *name, long size)
{
    char p[1100];
    path_of(p, sizeof p, name);
    assert_int_equal(truncate(p, (off_t)size), 0);
}

/* Overwrites 4 bytes at offset with a little-endian value. */
static void patch_le32(const char *name, long offset, uint32_t v)
{
    char p[1100];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    assert_int_equal(fwrite(b, 1, 4, f), 4);
    assert_int_equal(fclose(f), 0);
}

/* Frequency of a sine from its rising zero crossings (interpolated), away from the edges. */
static double sine_frequency(const float *x, size_t n, double rate)
{
    double first = -1, last = -1;
    int count = 0;
    for (size_t i = n / 10; i + 1 < n - n / 10; i++) {
        if (x[i] <= 0 && x[i + 1] > 0) {
            double t = (double)i + x[i] / (x[i] - x[i + 1]);
            if (first < 0)
                first = t;
            else
                count++;
            last = t;
        }
    }
    return count > 0 ? count * rate / (last - first) : 0;
}

static sl_signal read_ok(const char *name, double rate, int channel)
{
    char p[1100];
    path_of(p, sizeof p, name);
    sl_audio_opts o = {.target_rate = rate, .channel = channel, .max_frames = 0};
    sl_signal s;
    if (sl_audio_read(p, &o, &s) != SL_OK) fail_msg("%s", sl_last_error());
    return s;
}

/* ---- formats -------------------------------------------------------------------------------- */

static void test_formats(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int format;
        double tol; /* max |read - written| */
        int bits;
        const char *fmt;
    } cases[] = {
        {"s16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1.0 / 32768 + 1e-7, 16, "WAV PCM_16"},
        {"s24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1.0 / 8388608 + 1e-7, 24, "WAV PCM_24"},
        {"s32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1e-7, 32, "WAV PCM_32"},
        {"u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 1.0 / 128 + 1e-7, 8, "WAV PCM_U8"},
        {"s8.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_S8, 1.0 / 128 + 1e-7, 8, "AIFF PCM_S8"},
        {"f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0, 0, "WAV FLOAT"},
        {"f64.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 0, 0, "WAV DOUBLE"},
        {"s16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1.0 / 32768 + 1e-7, 16, "FLAC PCM_16"},
        {"s24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 1.0 / 8388608 + 1e-7, 24, "FLAC PCM_24"},
        {"v.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.03, 0, "OGG VORBIS"}, /* lossy */
    };
    const size_t n = 8000;
    float *ref = sine(n, 440, 0.5, 8000);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        write_frames(cases[k].name, cases[k].format, 8000, 1, ref, n);
        char p[1100];
        path_of(p, sizeof p, cases[k].name);
        sl_audio_info info;
        if (sl_audio_probe(p, &info) != SL_OK) fail_msg("%s", sl_last_error());
        assert_int_equal(info.frames, (int64_t)n);
        assert_int_equal(info.channels, 1);
        assert_true(info.sample_rate == 8000);

        sl_signal s = read_ok(cases[k].name, 0, -1);
        assert_int_equal(s.n, n);
        assert_int_equal(s.info.bits, cases[k].bits);
        assert_string_equal(s.info.format, cases[k].fmt);
        assert_string_equal(info.format, cases[k].fmt);
        assert_false(s.resampled);
        assert_true(s.sample_rate == 8000);
        assert_int_equal(s.n_raw, n);
        assert_int_equal(s.n_nonfinite, 0);
        double err = 0;
        for (size_t i = 0; i < s.n; i++) err = fmax(err, fabs((double)s.x[i] - (double)ref[i]));
        if (err > cases[k].tol) fail_msg("%s: max error %g > %g", cases[k].name, err, cases[k].tol);
        if (fabs(s.rms - 0.5 / sqrt(2.0)) > 0.005) fail_msg("%s: rms %g", cases[k].name, s.rms);
        if (fabs(s.peak - 0.5) > 0.02) fail_msg("%s: peak %g", cases[k].name, s.peak);
        assert_int_equal(s.n_clipped, 0);
        double f = sine_frequency(s.x, s.n, s.sample_rate);
        if (fabs(f - 440) > 0.5) fail_msg("%s: sine at %g Hz", cases[k].name, f);
        sl_signal_free(&s);
        assert_null(s.x);
    }
    free(ref);
    sl_signal_free(NULL);
}

/* ---- channels ------------------------------------------------------------------------------- */

static void test_channels(void **state)
{
    (void)state;
    const size_t n = 5000; /* more than one read block */
    const int ch = 3;
    float *x = malloc(n * (size_t)ch * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++)
            x[i * (size_t)ch + (size_t)c] = (float)(0.3 * sin(TWO_PI * 100 * (c + 1) * (double)i / 8000) + 0.1 * c);
    write_frames("three.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, ch, x, n);
    sl_signal mix = read_ok("three.wav", 0, -1);
    assert_int_equal(mix.n, n);
    assert_int_equal(mix.info.channels, ch);
    assert_int_equal(mix.n_raw, n * (size_t)ch);
    for (size_t i = 0; i < n; i++) {
        const float *fr = x + i * (size_t)ch;
        float want = (float)(((double)fr[0] + (double)fr[1] + (double)fr[2]) / 3.0);
        if (mix.x[i] != want) fail_msg("mix at %zu: %.9g, want %.9g", i, mix.x[i], want);
    }
    for (int c = 0; c < ch; c++) {
        sl_signal one = read_ok("three.wav", 0, c);
        assert_int_equal(one.n, n);
        for (size_t i = 0; i < n; i++)
            if (one.x[i] != x[i * (size_t)ch + (size_t)c]) fail_msg("channel %d at %zu differs", c, i);
        /* statistics are of all channels whichever is picked */
        assert_true(one.rms == mix.rms && one.peak == mix.peak && one.n_raw == mix.n_raw);
        sl_signal_free(&one);
    }
    sl_signal_free(&mix);
    free(x);
}

/* ---- resampling ----------------------------------------------------------------------------- */

static void test_resampling(void **state)
{
    (void)state;
    static const struct {
        int in;
        double out;
        size_t n;
    } cases[] = {
        {8000, 16000, 8000}, {44100, 8000, 44100}, {44100, 8000, 12345}, {16000, 8000, 16001},
        {8000, 11025, 9999}, {48000, 44100, 48000}, {22050, 16000, 22050},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char name[64];
        snprintf(name, sizeof name, "r%d_%zu.wav", cases[k].in, cases[k].n);
        write_sine(name, SF_FORMAT_WAV | SF_FORMAT_PCM_16, cases[k].in, 1000, 0.5, cases[k].n);
        sl_signal s = read_ok(name, cases[k].out, -1);
        assert_true(s.resampled);
        assert_true(s.sample_rate == cases[k].out);
        assert_true(s.info.sample_rate == cases[k].in);
        assert_int_equal(s.info.frames, (int64_t)cases[k].n);
        size_t want = (size_t)llround((double)cases[k].n * cases[k].out / cases[k].in);
        if (s.n != want) fail_msg("%d -> %g Hz: %zu samples, want %zu", cases[k].in, cases[k].out, s.n, want);
        double f = sine_frequency(s.x, s.n, s.sample_rate);
        if (fabs(f - 1000) > 10) fail_msg("%d -> %g Hz: sine at %g Hz", cases[k].in, cases[k].out, f);
        /* the amplitude survives too (away from the filter's edges) */
        double sum = 0;
        size_t m = 0;
        for (size_t i = s.n / 10; i < s.n - s.n / 10; i++, m++) sum += (double)s.x[i] * s.x[i];
        double rms = sqrt(sum / (double)m);
        if (fabs(rms - 0.5 / sqrt(2.0)) > 0.01) fail_msg("%d -> %g Hz: rms %g", cases[k].in, cases[k].out, rms);
        sl_signal_free(&s);
    }
    /* the file's own rate asked for: no resampling */
    write_sine("same.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1000, 0.5, 800);
    sl_signal same = read_ok("same.wav", 8000, -1);
    assert_false(same.resampled);
    assert_int_equal(same.n, 800);
    sl_signal_free(&same);

    /* the buffer interface: lengths round, odd sizes, and the errors */
    float *x = sine(1001, 50, 0.5, 8000), *y;
    size_t ny;
    assert_int_equal(sl_resample(x, 1001, 8000, 16000, &y, &ny), SL_OK);
    assert_int_equal(ny, 2002);
    free(y);
    assert_int_equal(sl_resample(x, 1001, 16000, 8000, &y, &ny), SL_OK);
    assert_int_equal(ny, 501); /* 500.5 rounds away from zero */
    free(y);
    assert_int_equal(sl_resample(x, 3, 44100, 8000, &y, &ny), SL_OK);
    assert_int_equal(ny, 1);
    free(y);
    assert_int_equal(sl_resample(x, 0, 8000, 16000, &y, &ny), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "empty signal"));
    assert_null(y);
    assert_int_equal(ny, 0);
    assert_int_equal(sl_resample(x, 2, 44100, 8000, &y, &ny), SL_EARG); /* rounds to no sample */
    assert_int_equal(sl_resample(x, 10, 0, 16000, &y, &ny), SL_EARG);
    assert_int_equal(sl_resample(x, 10, 8000, -1, &y, &ny), SL_EARG);
    assert_int_equal(sl_resample(x, 10, NAN, 8000, &y, &ny), SL_EARG);
    assert_int_equal(sl_resample(x, 10, 8000, 2e6, &y, &ny), SL_EARG);
    assert_null(y);
    free(x);
}

/* ---- clipping and level statistics ---------------------------------------------------------- */

static void write_shorts(const char *name, int format, int channels, const short *x, size_t frames)
{
    char p[1100];
    path_of(p, sizeof p, name);
    SF_INFO info = {.samplerate = 8000, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    assert_non_null(sf);
    assert_int_equal(sf_writef_short(sf, x, (sf_count_t)frames), (sf_count_t)frames);
    sf_close(sf);
}

static void test_clipping(void **state)
{
    (void)state;
    /* 16-bit stereo. Full scale is 32767/32768 in magnitude, so 32767, -32767 and -32768 count
     * and 32766 does not. */
    const short pcm[] = {32767, 0, -32768, 100, 32766, -32767, 0, 32767, -32768, -32768, 5, 6};
    const size_t frames = sizeof pcm / sizeof *pcm / 2;
    write_shorts("clip16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, pcm, frames);
    sl_signal s = read_ok("clip16.wav", 0, -1);
    assert_int_equal(s.n_clipped, 6);
    assert_int_equal(s.n_raw, 12);
    assert_true(s.peak == 1.0);
    double sumsq = 0;
    for (size_t i = 0; i < 12; i++) sumsq += ((double)pcm[i] / 32768) * ((double)pcm[i] / 32768);
    assert_true(fabs(s.rms - sqrt(sumsq / 12)) < 1e-12);
    sl_signal_free(&s);

    /* the same codes at 8 bits, in unsigned WAV and signed AIFF: libsndfile keeps the top byte
     * (32766 -> 127 -> full scale too, 100 -> 0) */
    size_t want8 = 0;
    for (size_t i = 0; i < 12; i++) want8 += abs(pcm[i] >> 8) >= 127;
    assert_int_equal(want8, 7);
    write_shorts("clip8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 2, pcm, frames);
    s = read_ok("clip8.wav", 0, -1);
    assert_int_equal(s.n_clipped, want8);
    assert_true(s.peak == 1.0);
    sl_signal_free(&s);
    write_shorts("clip8.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_S8, 2, pcm, frames);
    s = read_ok("clip8.aiff", 0, -1);
    assert_int_equal(s.n_clipped, want8);
    sl_signal_free(&s);

    /* 24 bits, written as 32-bit ints of which libsndfile keeps the top 24 */
    const int pcm24[] = {0x7FFFFF00, (int)0x80000000, 0x7FFFFE00, -0x7FFFFF00, -0x7FFFFE00, 0};
    char p[1100];
    path_of(p, sizeof p, "clip24.wav");
    SF_INFO info = {.samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_24};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    assert_non_null(sf);
    assert_int_equal(sf_writef_int(sf, pcm24, 6), 6);
    sf_close(sf);
    s = read_ok("clip24.wav", 0, -1);
    assert_int_equal(s.n_clipped, 3);
    assert_true(s.peak == 1.0);
    sl_signal_free(&s);

    /* float: at or beyond 1 - 1e-6 counts; values past full scale are kept as they are */
    const float fl[] = {1.0f, -1.0f, 0.9999995f, 0.999f, 1.5f, -0.25f};
    write_frames("clipf.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, fl, 6);
    s = read_ok("clipf.wav", 0, -1);
    assert_int_equal(s.n_clipped, 4);
    assert_true(s.peak == 1.5);
    assert_true(s.x[4] == 1.5f);
    sl_signal_free(&s);

    /* a quiet file clips nothing */
    write_sine("quiet.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 440, 0.1, 800);
    s = read_ok("quiet.wav", 0, -1);
    assert_int_equal(s.n_clipped, 0);
    assert_true(s.peak < 0.11);
    sl_signal_free(&s);
}

/* ---- writing -------------------------------------------------------------------------------- */

static int count_files_with(const char *part)
{
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

static void test_write_wav(void **state)
{
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "out.wav");
    const float x[] = {0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 1.5f, -1.5f, 0.25f, 3e-5f};
    const size_t n = sizeof x / sizeof *x;
    assert_int_equal(sl_audio_write_wav(p, x, n, 16000), SL_OK);
    sl_signal s = read_ok("out.wav", 0, -1);
    assert_int_equal(s.n, n);
    assert_string_equal(s.info.format, "WAV PCM_16");
    assert_true(s.sample_rate == 16000);
    const float want[] = {0.0f, 0.5f, -0.5f, 32767.0f / 32768, -1.0f, 32767.0f / 32768, -1.0f, 0.25f, 1.0f / 32768};
    for (size_t i = 0; i < n; i++)
        if (s.x[i] != want[i]) fail_msg("sample %zu: %.9g, want %.9g", i, s.x[i], want[i]);
    assert_int_equal(s.n_clipped, 4);
    sl_signal_free(&s);

    /* over an existing file, through a temporary that does not stay behind */
    float *big = sine(20000, 300, 0.7, 8000);
    assert_int_equal(sl_audio_write_wav(p, big, 20000, 8000), SL_OK);
    s = read_ok("out.wav", 0, -1);
    assert_int_equal(s.n, 20000);
    for (size_t i = 0; i < s.n; i++) assert_true(fabs((double)s.x[i] - big[i]) <= 0.5 / 32768 + 1e-7);
    sl_signal_free(&s);
    assert_int_equal(count_files_with(".tmp."), 0);

    /* refused: NaN, a bad rate, a folder that does not exist (the old file stays as it was) */
    big[1234] = NAN;
    assert_int_equal(sl_audio_write_wav(p, big, 20000, 8000), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "out.wav: sample 1234 is NaN or infinite"));
    assert_int_equal(sl_audio_write_wav(p, big, 10, 0), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "out.wav"));
    char q[1200];
    snprintf(q, sizeof q, "%s/no/such/folder/x.wav", g_dir);
    assert_int_equal(sl_audio_write_wav(q, big, 10, 8000), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "x.wav: cannot write: No such file or directory"));
    assert_int_equal(count_files_with(".tmp."), 0);
    s = read_ok("out.wav", 0, -1);
    assert_int_equal(s.n, 20000);
    sl_signal_free(&s);
    free(big);
}

/* ---- broken inputs -------------------------------------------------------------------------- */

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* sl_audio_read must fail with `want`, a one-line message naming the file and containing msg,
 * and a zeroed signal; sl_audio_probe too when probe_too (what the header alone shows). */
static void expect_fail_opts(const char *name, const sl_audio_opts *o, sl_status want, const char *msg, int probe_too)
{
    char p[1100];
    path_of(p, sizeof p, name);
    sl_signal s;
    memset(&s, 0xA5, sizeof s);
    sl_status st = sl_audio_read(p, o, &s);
    const char *e = sl_last_error();
    if (st != want) fail_msg("%s: status %d, want %d (%s)", name, (int)st, (int)want, e);
    if (!strstr(e, p) || !strstr(e, msg) || strchr(e, '\n'))
        fail_msg("%s: message '%s' lacks '%s' or the path", name, e, msg);
    assert_null(s.x);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.n_raw, 0);
    if (probe_too) {
        sl_audio_info info;
        st = sl_audio_probe(p, &info);
        e = sl_last_error();
        if (st != want) fail_msg("probe %s: status %d, want %d (%s)", name, (int)st, (int)want, e);
        if (!strstr(e, p) || !strstr(e, msg) || strchr(e, '\n'))
            fail_msg("probe %s: message '%s' lacks '%s' or the path", name, e, msg);
    }
}

static void expect_fail(const char *name, sl_status want, const char *msg, int probe_too)
{
    sl_audio_opts o = {.target_rate = 16000, .channel = -1, .max_frames = 0};
    expect_fail_opts(name, &o, want, msg, probe_too);
}

static void test_broken_files(void **state)
{
    (void)state;
    int fds = open_fds();

    /* a WAV cut in the middle of its data: libsndfile offers the frames that are there as if
     * that were the whole file; the header's count says otherwise */
    write_sine("good.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 440, 0.5, 4000);
    long size = file_size("good.wav");
    assert_int_equal(size, 44 + 8000);
    copy_file("good.wav", "cut.wav");
    truncate_file("cut.wav", size / 2);
    expect_fail("cut.wav", SL_EFORMAT, "cut.wav: truncated (read 1989 of 4000 frames)", 1);
    copy_file("good.wav", "cut1.wav"); /* one byte short: half a frame */
    truncate_file("cut1.wav", size - 1);
    expect_fail("cut1.wav", SL_EFORMAT, "truncated (read 3999 of 4000 frames)", 1);
    copy_file("good.wav", "nodata.wav"); /* the header complete, not one sample */
    truncate_file("nodata.wav", 44);
    expect_fail("nodata.wav", SL_EFORMAT, "truncated (read 0 of 4000 frames)", 1);

    /* cut inside the header */
    copy_file("good.wav", "head30.wav");
    truncate_file("head30.wav", 30);
    expect_fail("head30.wav", SL_EFORMAT, "not a readable sound file (WAV 'fmt ' chunk cut short)", 1);
    copy_file("good.wav", "head40.wav");
    truncate_file("head40.wav", 40);
    expect_fail("head40.wav", SL_EFORMAT, "not a readable sound file (WAV header has no 'data' chunk)", 1);
    copy_file("good.wav", "head8.wav");
    truncate_file("head8.wav", 8);
    expect_fail("head8.wav", SL_EFORMAT, "not a readable sound file (format not recognised)", 1);

    /* 0 Hz, and an absurd rate, in the header (bytes 24-27) */
    copy_file("good.wav", "zerohz.wav");
    patch_le32("zerohz.wav", 24, 0);
    expect_fail("zerohz.wav", SL_EFORMAT, "zerohz.wav: header claims a sample rate of 0 Hz", 1);
    copy_file("good.wav", "fasthz.wav");
    patch_le32("fasthz.wav", 24, 2000000);
    expect_fail("fasthz.wav", SL_EFORMAT, "header claims a sample rate of 2000000 Hz", 1);

    /* not audio at all */
    write_bytes("empty.wav", "", 0);
    expect_fail("empty.wav", SL_EFORMAT, "empty.wav: empty file (0 bytes)", 1);
    const char *text = "just some text, renamed\n";
    write_bytes("text.wav", text, strlen(text));
    expect_fail("text.wav", SL_EFORMAT, "text.wav: not a readable sound file (format not recognised)", 1);
    expect_fail("missing.wav", SL_EIO, "missing.wav: cannot open: No such file or directory", 1);
    char p[1100];
    path_of(p, sizeof p, "folder.wav");
    assert_int_equal(mkdir(p, 0777), 0);
    expect_fail("folder.wav", SL_EIO, "folder.wav: cannot open: is a folder", 1);

    /* a file without read permission; root reads it regardless, so only the others can check */
    copy_file("good.wav", "locked.wav");
    path_of(p, sizeof p, "locked.wav");
    assert_int_equal(chmod(p, 0), 0);
    if (geteuid() != 0) expect_fail("locked.wav", SL_EIO, "locked.wav: cannot open: Permission denied", 1);
    assert_int_equal(chmod(p, 0644), 0);

    /* a WAV with no frames */
    write_sine("noframes.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 440, 0.5, 0);
    expect_fail("noframes.wav", SL_EFORMAT, "noframes.wav: empty (0 samples)", 0);

    /* NaN and infinity in float files, the second in channel 1 of a later block */
    float x[100] = {0};
    x[37] = NAN;
    write_frames("nan.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, x, 100);
    expect_fail("nan.wav", SL_EFORMAT, "nan.wav: NaN or infinite sample at frame 37", 0);
    float *st = calloc(2 * 6000, sizeof *st);
    assert_non_null(st);
    st[2 * 5000 + 1] = -INFINITY;
    write_frames("inf.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 2, st, 6000);
    expect_fail("inf.wav", SL_EFORMAT, "inf.wav: NaN or infinite sample at frame 5000", 0);
    free(st);

    /* a channel that does not exist, asked of a good file */
    sl_audio_opts o = {.target_rate = 0, .channel = 1, .max_frames = 0};
    expect_fail_opts("good.wav", &o, SL_EARG, "good.wav: channel 1 requested but the file has 1", 0);
    o.channel = -2;
    expect_fail_opts("good.wav", &o, SL_EARG, "good.wav: channel -2", 0);
    /* longer than the caller allows */
    o = (sl_audio_opts){.target_rate = 0, .channel = -1, .max_frames = 3999};
    expect_fail_opts("good.wav", &o, SL_EFORMAT, "good.wav: 4000 frames, more than the limit of 3999", 0);
    o = (sl_audio_opts){.target_rate = -8000, .channel = -1, .max_frames = 0};
    expect_fail_opts("good.wav", &o, SL_EARG, "good.wav: target rate", 0);

    /* FLAC cut short: the header's count is right, the decoder runs dry */
    float *long_sine = sine(80000, 440, 0.5, 16000);
    write_frames("long.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, long_sine, 80000);
    copy_file("long.flac", "cut.flac");
    truncate_file("cut.flac", file_size("long.flac") / 2);
    expect_fail("cut.flac", SL_EFORMAT, "cut.flac: truncated or damaged (read ", 0);
    /* Ogg cut short: libsndfile cannot find its length and then decodes nothing */
    write_frames("long.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1, long_sine, 80000);
    copy_file("long.ogg", "cut.ogg");
    truncate_file("cut.ogg", file_size("long.ogg") * 3 / 4);
    expect_fail("cut.ogg", SL_EFORMAT, "cut.ogg: truncated or damaged", 1);
    free(long_sine);

    /* every failure above closed what it opened */
    if (fds >= 0) assert_int_equal(open_fds(), fds);
}

/* ---- a real recording ----------------------------------------------------------------------- */

static void test_fsdd_file(void **state)
{
    (void)state;
    const char *root = getenv("SIGLOOP_FSDD");
    if (!root || !*root) skip();
    char p[1100];
    snprintf(p, sizeof p, "%s/recordings/0_george_0.wav", root);
    if (access(p, F_OK) != 0) skip();
    sl_audio_info info;
    if (sl_audio_probe(p, &info) != SL_OK) fail_msg("%s", sl_last_error());
    assert_true(info.sample_rate == 8000);
    assert_int_equal(info.channels, 1);
    assert_int_equal(info.bits, 16);
    assert_string_equal(info.format, "WAV PCM_16");
    sl_signal s;
    assert_int_equal(sl_audio_read(p, NULL, &s), SL_OK);
    assert_int_equal(s.n, (size_t)info.frames);
    assert_true(s.rms > 0 && s.peak <= 1.0);
    sl_signal_free(&s);
    sl_audio_opts o = {.target_rate = 16000, .channel = -1, .max_frames = 0};
    assert_int_equal(sl_audio_read(p, &o, &s), SL_OK);
    assert_int_equal(s.n, 2 * (size_t)info.frames);
    assert_true(s.resampled);
    sl_signal_free(&s);
}

/* Removes the test's files (one level, plus folder.wav) and its folder. */
static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(g_dir);
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        if (unlink(p) != 0) rmdir(p);
    }
    closedir(d);
    rmdir(g_dir);
    return 0;
}

int main(void)
{
    if (sl_test_tmp_dir(g_dir, sizeof g_dir, "audio") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),  cmocka_unit_test(test_channels),    cmocka_unit_test(test_resampling),
        cmocka_unit_test(test_clipping), cmocka_unit_test(test_write_wav),   cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_fsdd_file),
    };
    return cmocka_run_group_tests(tests, NULL, remove_dir);
}
