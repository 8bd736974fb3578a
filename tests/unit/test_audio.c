/* Signal input: formats and bit depths, channel mixing and choice, resampling that keeps a sine's
 * frequency, clip counting, CSV time series, and the errors of broken files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sigloop/audio.h"
#include "sigloop/fileio.h"

#define TWO_PI 6.283185307179586476925

static char g_dir[1024];

static void path_of(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", g_dir, name); }

/* Writes frames of `channels` interleaved sines (channel c at f * (c + 1)) with libsndfile. */
static void write_sine(const char *name, int format, int rate, int channels, double f, double amp, size_t frames)
{
    char p[1100];
    path_of(p, sizeof p, name);
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    if (!sf) fail_msg("cannot write %s: %s", p, sf_strerror(NULL));
    float *x = malloc(frames * (size_t)channels * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            x[i * (size_t)channels + (size_t)c] = (float)(amp * sin(TWO_PI * f * (c + 1) * (double)i / rate));
    assert_int_equal(sf_writef_float(sf, x, (sf_count_t)frames), (sf_count_t)frames);
    free(x);
    sf_close(sf);
}

/* Frequency of a sine from its zero crossings (linear interpolation between samples). */
static double sine_frequency(const float *x, size_t n, double rate)
{
    double first = -1, last = -1;
    int count = 0;
    for (size_t i = n / 10; i + 1 < n - n / 10; i++) {
        if (x[i] <= 0 && x[i + 1] > 0) {
            double t = (double)i + x[i] / (x[i] - x[i + 1]);
            if (first < 0) first = t;
            else count++;
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

static void test_formats(void **state)
{
    (void)state;
    static const struct { const char *name; int format; double tol; int bits; const char *fmt; } cases[] = {
        {"s16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1.0 / 32768, 16, "WAV PCM_16"},
        {"s24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1.0 / 8388608, 24, "WAV PCM_24"},
        {"u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 1.0 / 128, 8, "WAV PCM_U8"},
        {"f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1e-7, 0, "WAV FLOAT"},
        {"s16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1.0 / 32768, 16, "FLAC PCM_16"},
        {"v.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.05, 0, "OGG VORBIS"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        write_sine(cases[k].name, cases[k].format, 8000, 1, 440, 0.5, 8000);
        sl_signal s = read_ok(cases[k].name, 0, -1);
        assert_int_equal(s.n, 8000);
        assert_int_equal(s.info.bits, cases[k].bits);
        assert_string_equal(s.info.format, cases[k].fmt);
        assert_false(s.resampled);
        double err = 0;
        for (size_t i = 0; i < s.n; i++)
            err = fmax(err, fabs(s.x[i] - 0.5 * sin(TWO_PI * 440 * (double)i / 8000)));
        if (err > cases[k].tol) fail_msg("%s: max error %g > %g", cases[k].name, err, cases[k].tol);
        assert_true(fabs(s.rms - 0.5 / sqrt(2.0)) < 0.01);
        assert_int_equal(s.n_clipped, 0);
        sl_signal_free(&s);
    }
}

static void test_channels(void **state)
{
    (void)state;
    write_sine("stereo.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 2, 300, 0.4, 1000);
    sl_signal mix = read_ok("stereo.wav", 0, -1), left = read_ok("stereo.wav", 0, 0), right = read_ok("stereo.wav", 0, 1);
    assert_int_equal(mix.info.channels, 2);
    assert_int_equal(mix.n_raw, 2000);
    for (size_t i = 0; i < 1000; i++) {
        double l = 0.4 * sin(TWO_PI * 300 * (double)i / 8000), r = 0.4 * sin(TWO_PI * 600 * (double)i / 8000);
        assert_true(fabs(left.x[i] - l) < 1e-6);
        assert_true(fabs(right.x[i] - r) < 1e-6);
        assert_true(fabs(mix.x[i] - 0.5 * (left.x[i] + right.x[i])) < 1e-6);
    }
    sl_signal_free(&mix);
    sl_signal_free(&left);
    sl_signal_free(&right);
    char p[1100];
    path_of(p, sizeof p, "stereo.wav");
    sl_audio_opts o = {.target_rate = 0, .channel = 2, .max_frames = 0};
    sl_signal s;
    assert_int_equal(sl_audio_read(p, &o, &s), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "stereo.wav: channel 2 requested but the file has 2"));
    assert_null(s.x);
}

static void test_resampling(void **state)
{
    (void)state;
    static const struct { int in; double out; } cases[] = {{8000, 16000}, {44100, 8000}, {16000, 8000}, {8000, 11025}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char name[64];
        snprintf(name, sizeof name, "r%d.wav", cases[k].in);
        write_sine(name, SF_FORMAT_WAV | SF_FORMAT_PCM_16, cases[k].in, 1, 1000, 0.5, (size_t)cases[k].in);
        sl_signal s = read_ok(name, cases[k].out, -1);
        assert_true(s.resampled);
        assert_true(s.sample_rate == cases[k].out);
        assert_int_equal(s.n, (size_t)llround(cases[k].out)); /* one second in, one second out */
        double f = sine_frequency(s.x, s.n, s.sample_rate);
        if (fabs(f - 1000) > 10) fail_msg("%d -> %g Hz: sine at %g Hz", cases[k].in, cases[k].out, f);
        assert_true(s.info.sample_rate == cases[k].in);
        sl_signal_free(&s);
    }
    float *y;
    size_t ny;
    float one = 1;
    assert_int_equal(sl_resample(&one, 0, 8000, 16000, &y, &ny), SL_EARG);
    assert_int_equal(sl_resample(&one, 1, 0, 16000, &y, &ny), SL_EARG);
}

static void test_clipping_and_peak(void **state)
{
    (void)state;
    /* Driven at 1.5 x full scale: every sample with |sin| >= 2/3 is clipped. */
    char p[1100];
    path_of(p, sizeof p, "clip.wav");
    size_t n = 8000;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    size_t expect = 0;
    for (size_t i = 0; i < n; i++) {
        double v = 1.5 * sin(TWO_PI * 50 * (double)i / 8000);
        x[i] = (float)v;
        expect += fabs(v) >= 1.0;
    }
    assert_int_equal(sl_audio_write_wav(p, x, n, 8000), SL_OK);
    free(x);
    sl_signal s = read_ok("clip.wav", 0, -1);
    assert_int_equal(s.n_clipped, expect);
    assert_true(s.peak >= 32767.0 / 32768.0);
    sl_signal_free(&s);
}

static void expect_fail(const char *name, sl_status want, const char *msg)
{
    char p[1100];
    path_of(p, sizeof p, name);
    sl_audio_opts o = {.target_rate = 8000, .channel = -1, .max_frames = 0};
    sl_signal s;
    sl_status st = sl_audio_read(p, &o, &s);
    if (st != want) fail_msg("%s: status %d, want %d (%s)", name, (int)st, (int)want, sl_last_error());
    if (!strstr(sl_last_error(), name) || !strstr(sl_last_error(), msg) || strchr(sl_last_error(), '\n'))
        fail_msg("%s: message '%s' lacks '%s'", name, sl_last_error(), msg);
    assert_null(s.x);
}

static void test_broken_files(void **state)
{
    (void)state;
    char p[1100];
    write_sine("good.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 440, 0.5, 4000);
    char *data;
    size_t len;
    path_of(p, sizeof p, "good.wav");
    assert_int_equal(sl_read_file(p, 1 << 20, &data, &len), SL_OK);
    path_of(p, sizeof p, "cut.wav");
    assert_int_equal(sl_write_file_atomic(p, data, len / 2), SL_OK);
    expect_fail("cut.wav", SL_EFORMAT, "truncated (the header declares 4000 frames, the file holds 1989)");
    path_of(p, sizeof p, "head.wav");
    assert_int_equal(sl_write_file_atomic(p, data, 30), SL_OK);
    expect_fail("head.wav", SL_EFORMAT, "truncated or damaged WAV header");
    memset(data + 24, 0, 4); /* the sample-rate field */
    path_of(p, sizeof p, "zerohz.wav");
    assert_int_equal(sl_write_file_atomic(p, data, len), SL_OK);
    expect_fail("zerohz.wav", SL_EFORMAT, "header claims a sample rate of 0 Hz");
    free(data);
    path_of(p, sizeof p, "empty.wav");
    assert_int_equal(sl_write_file_atomic(p, "", 0), SL_OK);
    expect_fail("empty.wav", SL_EFORMAT, "empty file (0 bytes)");
    path_of(p, sizeof p, "text.wav");
    assert_int_equal(sl_write_file_atomic(p, "just some text\n", 15), SL_OK);
    expect_fail("text.wav", SL_EFORMAT, "not a readable sound file");
    expect_fail("missing.wav", SL_EIO, "cannot open: No such file or directory");
    /* NaN in a float file */
    path_of(p, sizeof p, "nan.wav");
    SF_INFO info = {.samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    assert_non_null(sf);
    float x[100] = {0};
    x[37] = NAN;
    sf_writef_float(sf, x, 100);
    sf_close(sf);
    expect_fail("nan.wav", SL_EFORMAT, "NaN or infinite sample at frame 37");
    /* a WAV with no frames */
    write_sine("noframes.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 440, 0.5, 0);
    expect_fail("noframes.wav", SL_EFORMAT, "empty (0 samples)");
}

static void write_text(const char *name, const char *text)
{
    char p[1100];
    path_of(p, sizeof p, name);
    assert_int_equal(sl_write_file_atomic(p, text, strlen(text)), SL_OK);
}

static void series_fail(const char *name, const char *msg)
{
    char p[1100];
    path_of(p, sizeof p, name);
    sl_series_opts o = {.time_column = "", .sample_rate = 0, .max_frames = 0};
    sl_series s;
    assert_int_not_equal(sl_series_read_csv(p, &o, &s), SL_OK);
    if (!strstr(sl_last_error(), msg)) fail_msg("%s: '%s' lacks '%s'", name, sl_last_error(), msg);
    assert_null(s.x);
}

static void test_series(void **state)
{
    (void)state;
    write_text("imu.csv", "time, ax, ay ,az\r\n0.00,1,2,3\r\n0.01,4,5,6\r\n0.02,7,8,9\r\n0.031,1,1,1\r\n\r\n");
    char p[1100];
    path_of(p, sizeof p, "imu.csv");
    sl_series_opts o = {.time_column = "", .sample_rate = 0, .max_frames = 0};
    sl_series s;
    if (sl_series_read_csv(p, &o, &s) != SL_OK) fail_msg("%s", sl_last_error());
    assert_int_equal(s.n_frames, 4);
    assert_int_equal(s.n_channels, 3);
    assert_string_equal(s.names[1], "ay");
    assert_true(s.has_time);
    assert_true(fabs(s.sample_rate - 100) < 1e-6); /* median spacing 0.01 s */
    assert_true(s.x[1 * 3 + 2] == 6.0f);
    sl_series_free(&s);

    write_text("raw.csv", "x,y\n1,2\n3,4\n");
    path_of(p, sizeof p, "raw.csv");
    o.sample_rate = 50;
    assert_int_equal(sl_series_read_csv(p, &o, &s), SL_OK);
    assert_false(s.has_time);
    assert_true(s.sample_rate == 50);
    assert_int_equal(s.n_channels, 2);
    sl_series_free(&s);
    o.sample_rate = 0;
    assert_int_equal(sl_series_read_csv(p, &o, &s), SL_EARG);
    assert_non_null(strstr(sl_last_error(), "raw.csv: no time column: set a sample rate"));

    write_text("nan.csv", "t,a,b\n0,1,2\n0.1,NaN,2\n");
    series_fail("nan.csv", "nan.csv:3:2: NaN is not allowed");
    write_text("txt.csv", "t,a,b\n0,1,2\n0.1,1,abc\n");
    series_fail("txt.csv", "txt.csv:3:3: 'abc' is not a number");
    write_text("inf.csv", "t,a\n0,1\n0.1,inf\n");
    series_fail("inf.csv", "inf.csv:3:2: 'inf' is not a finite number");
    write_text("short.csv", "t,a,b\n0,1,2\n0.1,1\n");
    series_fail("short.csv", "short.csv:3: expected 3 columns, found 2");
    write_text("back.csv", "t,a\n0,1\n0.03,1\n0.02,1\n");
    series_fail("back.csv", "back.csv:4:1: time does not increase (0.02 after 0.03)");
    write_text("head.csv", "t,a\n");
    series_fail("head.csv", "head.csv: no data rows");
    write_text("empty.csv", "");
    series_fail("empty.csv", "empty.csv: empty");
    write_text("blank.csv", "t,,a\n0,1,2\n");
    series_fail("blank.csv", "blank.csv:1:2: empty column name");
}

static void test_fsdd_file(void **state)
{
    (void)state;
    const char *root = getenv("SIGLOOP_FSDD");
    if (!root) skip();
    char p[1100];
    snprintf(p, sizeof p, "%s/recordings/0_george_0.wav", root);
    sl_audio_info info;
    assert_int_equal(sl_audio_probe(p, &info), SL_OK);
    assert_true(info.sample_rate == 8000);
    assert_int_equal(info.channels, 1);
    assert_string_equal(info.format, "WAV PCM_16");
    sl_audio_opts o = {.target_rate = 16000, .channel = -1, .max_frames = 0};
    sl_signal s;
    assert_int_equal(sl_audio_read(p, &o, &s), SL_OK);
    assert_int_equal(s.n, 2 * (size_t)info.frames);
    sl_signal_free(&s);
}

int main(void)
{
    const char *t = getenv("SIGLOOP_TEST_TMP");
    snprintf(g_dir, sizeof g_dir, "%s/audio.%d", t ? t : "/tmp", (int)getpid());
    if (sl_mkdirs(g_dir) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),       cmocka_unit_test(test_channels),
        cmocka_unit_test(test_resampling),    cmocka_unit_test(test_clipping_and_peak),
        cmocka_unit_test(test_broken_files),  cmocka_unit_test(test_series),
        cmocka_unit_test(test_fsdd_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
