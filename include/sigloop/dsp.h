/* The DSP front end: windows, framing, FFT, power spectra, mel filterbanks, log-mel, MFCC, deltas.
 *
 * The same code computes features in training, in streaming detection and (later) on the device,
 * so the device sees what training saw. Names follow torchaudio: n_fft, win_length, hop_length,
 * f_min, f_max, n_mels, power, center, mel_scale, norm, n_mfcc.
 *
 * Framing. With center = 0, frame t is the win_length samples starting at t * hop_length, each
 * multiplied by the window and zero-padded to n_fft: n_frames = 1 + (n - win_length) / hop_length
 * (0 when n < win_length). That is torchaudio's center=False on a signal first padded with
 * (n_fft - win_length) / 2 zeros at each end. With center = 1 the signal is reflect-padded by
 * n_fft / 2 at each end and frame t starts at t * hop_length - n_fft / 2 + (n_fft - win_length) / 2,
 * exactly as torchaudio's default: n_frames = 1 + n / hop_length.
 *
 * Layout. A feature matrix is (n_bands, n_frames), row-major, like torchaudio's (n_mels, time).
 *
 * Threads. An sl_featurizer is immutable after creation; sl_featurize may run on many threads at
 * once, each with its own scratch (sl_featurizer_scratch_size bytes, or NULL to allocate). */
#ifndef SIGLOOP_DSP_H
#define SIGLOOP_DSP_H

#include <stddef.h>

#include "sigloop/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SL_WINDOW_HANN = 0,      /* periodic (torch.hann_window default) */
    SL_WINDOW_HANN_SYMMETRIC,
    SL_WINDOW_HAMMING,       /* periodic */
    SL_WINDOW_BLACKMAN,      /* periodic */
    SL_WINDOW_RECTANGULAR
} sl_window_type;

/* Fills w[0..n) with the window. */
sl_status sl_window(sl_window_type type, size_t n, float *w);

typedef enum { SL_MEL_HTK = 0, SL_MEL_SLANEY } sl_mel_scale;
double sl_hz_to_mel(double hz, sl_mel_scale scale);
double sl_mel_to_hz(double mel, sl_mel_scale scale);

/* The mel filterbank as torchaudio.functional.melscale_fbanks: fb is (n_freqs, n_mels) row-major,
 * n_freqs = n_fft / 2 + 1 bins from 0 to sample_rate / 2. slaney_norm scales each triangle to
 * unit area ("slaney" norm). Errors for f_min >= f_max, f_max above Nyquist, n_mels < 1. */
sl_status sl_mel_filterbank(size_t n_freqs, double f_min, double f_max, size_t n_mels, double sample_rate,
                            sl_mel_scale scale, int slaney_norm, float *fb);

/* The orthonormal DCT-II matrix as torchaudio.functional.create_dct(n_mfcc, n_mels, "ortho"):
 * dct is (n_mels, n_mfcc) row-major. */
void sl_dct_matrix(size_t n_mfcc, size_t n_mels, float *dct);

/* Deltas along time as torchaudio.functional.compute_deltas (edges replicated): x and d are
 * (n_rows, n_cols); width odd >= 3. */
sl_status sl_deltas(const float *x, size_t n_rows, size_t n_cols, int width, float *d);

/* ---- filters -------------------------------------------------------------------------------- */

typedef enum { SL_FILTER_LOWPASS = 0, SL_FILTER_HIGHPASS, SL_FILTER_BANDPASS } sl_filter_type;

/* A Butterworth filter of order N as a cascade of second-order sections (biquads), designed by the
 * bilinear transform with pre-warped edges (as scipy.signal.butter(N, Wn, output="sos")); filtering
 * keeps its state, so a signal fed in chunks gives exactly what it gives whole. */
typedef struct {
    size_t n_sections;
    double b[16][3], a[16][3]; /* section k: (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2), a0 = 1 */
    double state[16][2];       /* direct form II transposed */
} sl_biquads;

/* order in [1, 16] (band-pass: [1, 8], giving 2 x order poles); f1 the cutoff (low/high-pass) or
 * lower edge, f2 the upper edge (band-pass), both in (0, sample_rate / 2). */
sl_status sl_butterworth(sl_biquads *f, sl_filter_type type, int order, double f1, double f2, double sample_rate);
/* The design's magnitude at f Hz, in dB (the analytic Butterworth response under the bilinear map). */
double sl_butterworth_db(sl_filter_type type, int order, double f1, double f2, double sample_rate, double f);
/* The cascade's own magnitude at f Hz, in dB, from its coefficients. */
double sl_biquads_db(const sl_biquads *f, double f_hz, double sample_rate);
/* Filters n samples in place, carrying the state across calls. */
void sl_biquads_run(sl_biquads *f, float *x, size_t n);
void sl_biquads_reset(sl_biquads *f);

/* ---- FFT ------------------------------------------------------------------------------------- */

/* A real FFT of one size on FFTW (single precision). Plans are made once at creation; execution
 * from several threads at once is safe (each call passes its own buffers). Buffers aligned to 64
 * bytes run FFTW's SIMD kernels; any other alignment works, more slowly. */
typedef struct sl_fft sl_fft;
sl_status sl_fft_new(sl_fft **out, size_t n);
void sl_fft_free(sl_fft *f); /* NULL-safe */
/* A batch of howmany forward FFTs per call: input k at x + k in_dist floats, output k at
 * X + k out_dist floats (complex interleaved). Arrays must be 64-byte aligned, dists multiples of
 * 16 floats. */
sl_status sl_fft_new_batch(sl_fft **out, size_t n, size_t howmany, size_t in_dist, size_t out_dist);
void sl_fft_forward_batch(const sl_fft *f, const float *x, float *X);
size_t sl_fft_size(const sl_fft *f);
/* Forward: x (n real) -> X (n/2+1 complex, interleaved re, im). x is not modified. */
void sl_fft_forward(const sl_fft *f, const float *x, float *X);
/* Inverse: X (n/2+1 complex) -> x (n real), scaled by 1/n so inverse(forward(x)) = x. */
sl_status sl_fft_inverse(const sl_fft *f, const float *X, float *x);

/* ---- features -------------------------------------------------------------------------------- */

typedef enum {
    SL_FEATURES_LOGMEL = 0,  /* log of the mel spectrogram */
    SL_FEATURES_MFCC,        /* DCT-II of the log-mel */
    SL_FEATURES_MEL,         /* the mel spectrogram, no log */
    SL_FEATURES_SPECTROGRAM, /* the power (or magnitude) spectrum, n_fft/2+1 bands */
    SL_FEATURES_BAND_ENERGY, /* log energy in frequency bands given by band_edges (other sensors) */
    SL_FEATURES_RAW          /* the samples themselves: 1 band, one frame per sample */
} sl_features_type;

typedef enum { SL_LOG_NATURAL = 0, SL_LOG_DB } sl_log_type;

typedef struct {
    sl_features_type type;
    double sample_rate;     /* Hz */
    size_t n_fft;           /* FFT size, >= win_length */
    size_t win_length;      /* samples per frame */
    size_t hop_length;      /* samples between frames, >= 1 */
    sl_window_type window;
    int center;             /* 1: pad by n_fft/2 at each end (torchaudio's default); 0: see above */
    int pad_zero;           /* center only: 0 reflect-pads (torchaudio's default), 1 pads with zeros */
    double preemphasis;     /* y[n] = x[n] - a x[n-1]; 0 turns it off */
    double power;           /* 2: power, 1: magnitude */
    size_t n_mels;
    double f_min, f_max;    /* Hz; 0 < f_max <= sample_rate / 2 */
    sl_mel_scale mel_scale;
    int slaney_norm;        /* mel triangles of unit area */
    sl_log_type log;        /* natural: log(x + eps); db: 10 log10(max(x, eps)) with top_db */
    double log_eps;         /* 1e-6 */
    double top_db;          /* db only: floor at max - top_db over the whole matrix; 0 turns it off */
    size_t n_mfcc;          /* mfcc only */
    double lifter;          /* mfcc only: 1 + (L/2) sin(pi (k+1) / L) per coefficient; 0 off */
    int deltas;             /* 0, 1 (append deltas) or 2 (and delta-deltas), width 5 */
    const double *band_edges; /* band_energy only: n_band_edges increasing edges in Hz, giving
                                 n_band_edges - 1 bands [e0, e1), [e1, e2), ...; copied */
    size_t n_band_edges;
} sl_features_params;

/* The parameters of the acceptance examples: log-mel, n_fft 256, win 200, hop 80, Hann, power 2,
 * 40 HTK mels from 20 to 4000 Hz, no norm, log(x + 1e-6), center 0, at 8 kHz. */
void sl_features_params_default(sl_features_params *p);

typedef struct sl_featurizer sl_featurizer;

/* Checks p (win_length > n_fft, f_max above Nyquist, n_mels > bins, n_mfcc > n_mels, ... are errors
 * naming the parameter) and precomputes window, FFT plan, filterbank and DCT. */
sl_status sl_featurizer_new(sl_featurizer **out, const sl_features_params *p);
void sl_featurizer_free(sl_featurizer *fz); /* NULL-safe */
const sl_features_params *sl_featurizer_params(const sl_featurizer *fz);

/* Bands per frame: n_mels, n_mfcc or n_fft/2+1, times (1 + deltas). */
size_t sl_featurizer_bands(const sl_featurizer *fz);
/* Frames for a signal of n samples (0 when it is too short). */
size_t sl_featurizer_frames(const sl_featurizer *fz, size_t n);
/* Scratch bytes sl_featurize needs for a signal of n samples. */
size_t sl_featurizer_scratch_size(const sl_featurizer *fz, size_t n);

/* Features of x (n samples) into out (bands x frames, row-major). scratch: at least
 * sl_featurizer_scratch_size bytes, or NULL to allocate. Errors: an empty signal, a NaN or infinite
 * sample (naming its index), a signal shorter than one frame. */
sl_status sl_featurize(const sl_featurizer *fz, const float *x, size_t n, float *out, void *scratch);

/* ---- streaming ------------------------------------------------------------------------------- */

/* Feeds a signal in chunks of any size; emits exactly the frames sl_featurize gives for the whole
 * signal at once, bit for bit (center = 0 only; deltas and db/top_db, which need the whole matrix,
 * are refused). */
typedef struct sl_stream sl_stream;
sl_status sl_stream_new(sl_stream **out, const sl_featurizer *fz);
void sl_stream_free(sl_stream *s);
/* Pushes n samples; writes the frames they finish into out (frames x bands, frame-major: one
 * frame's bands together) and their count into *n_out. out must have room for
 * n / hop_length + win_length / hop_length + 1 frames (max_frames); less is refused before any
 * sample is consumed. */
sl_status sl_stream_push(sl_stream *s, const float *x, size_t n, float *out, size_t max_frames, size_t *n_out);

#ifdef __cplusplus
}
#endif
#endif
