/* Pitch shift keeping the duration: resampling, then time-scale modification back to the length.
 *
 * 1. libsoxr resamples x (n samples) by the pitch ratio q = 2^(semitones / 12): y has
 *    m = round(n / q) samples and, played at the same rate, every frequency times q.
 * 2. WSOLA (waveform-similarity overlap-add; Verhelst and Roelands, "An overlap-add technique based
 *    on waveform similarity (WSOLA) for high quality time-scale modification of speech", ICASSP
 *    1993; the formulation of Driedger and Mueller, "A review of time-scale modification of music
 *    signals", Applied Sciences 2016) stretches y back to n samples without changing its
 *    frequencies. Output frame j (N samples, Hann-windowed, centred at j Hs with Hs = N / 2) is
 *    copied from y around the anchor j Ha (Ha = Hs m / n, so output time t reads input time
 *    t m / n), moved by an offset d in [-tol, tol] chosen to make it most similar to the natural
 *    continuation of the previous frame (the input that followed it, Hs samples on): the offset
 *    with the largest cross-correlation, normalised by the candidate's energy. The periodic Hann
 *    window at 50 % overlap sums to one, so frames that fit together add up to the signal itself.
 *
 * N is about 25 ms and tol 5 ms at the signal's sample rate: a frame holds a few pitch periods of
 * speech, and the search spans a whole period of a 100 Hz voice. Offsets are further limited so
 * that the part of a frame that lands inside the output reads only samples of y, never the zeros
 * around it (near the edges, where the anchor is close to 0 or m, a frame would otherwise fade
 * the signal). */
#include "augment/augment_internal.h"

#include <limits.h>
#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#include "sigloop/dsp.h"

#define MAX_RATE 1000000.0 /* as in the audio reader */
#define FRAME_S 0.025      /* WSOLA frame */
#define TOL_S 0.005        /* WSOLA search tolerance, each side */

/* The offset in [lo, hi] whose candidate frame yp[c + d - N/2 .. + N) best matches ref[0..N):
 * the largest sum ref * candidate / sqrt(candidate energy); ties go to the smallest |d|. */
static long best_offset(const float *yp, long c, long lo, long hi, const float *ref, size_t N)
{
    const float *base = yp + c - (long)(N / 2);
    double energy = 0;
    for (size_t k = 0; k < N; k++) energy += (double)base[lo + (long)k] * base[lo + (long)k];
    long best = lo;
    double best_score = -HUGE_VAL;
    for (long d = lo; d <= hi; d++) {
        const float *cand = base + d;
        if (d > lo) { /* slide the energy window by one sample */
            energy += (double)cand[N - 1] * cand[N - 1] - (double)cand[-1] * cand[-1];
            if (energy < 0) energy = 0;
        }
        /* eight float lanes, which vectorise (a double sum in order does not): the correlation
         * only ranks offsets */
        float lane[8] = {0};
        size_t k = 0;
        for (; k + 8 <= N; k += 8)
            for (size_t l = 0; l < 8; l++) lane[l] += ref[k + l] * cand[k + l];
        double corr = ((double)lane[0] + lane[1]) + ((double)lane[2] + lane[3]) + ((double)lane[4] + lane[5]) +
                      ((double)lane[6] + lane[7]);
        for (; k < N; k++) corr += (double)ref[k] * cand[k];
        /* the small floor keeps silent candidates from dividing by zero (they then score 0) */
        double score = corr / sqrt(energy + 1e-20);
        if (score > best_score || (score == best_score && labs(d) < labs(best))) {
            best_score = score;
            best = d;
        }
    }
    return best;
}

/* WSOLA: y (m samples, inside a buffer yp with pad zeros on each side) to out (n samples). */
static void wsola(const float *yp, size_t m, float *out, size_t n, const float *w, size_t N, long tol)
{
    const long hs = (long)(N / 2), half = (long)(N / 2), lm = (long)m, ln = (long)n;
    const double ha = (double)hs * (double)m / (double)n;
    memset(out, 0, n * sizeof *out);
    long prev = 0; /* the input centre of the previous frame */
    for (long j = 0; j * hs - half < ln; j++) {
        long centre = j * hs; /* in the output */
        long anchor = lround((double)j * ha);
        /* the part of the frame inside the output: [o0, o1) */
        long o0 = centre - half > 0 ? centre - half : 0, o1 = centre + half < ln ? centre + half : ln;
        long d = 0;
        if (j > 0) {
            /* offsets whose used part [c + o0 - centre, c + o1 - centre) lies in [0, m) */
            long lo_v = centre - o0 - anchor, hi_v = lm - o1 + centre - anchor;
            long lo = lo_v > -tol ? lo_v : -tol, hi = hi_v < tol ? hi_v : tol;
            if (lo <= hi) {
                /* the natural continuation of the previous frame: Hs input samples after it */
                d = best_offset(yp, anchor, lo, hi, yp + prev + hs - half, N);
            } else if (lo_v <= hi_v) {
                d = lo_v > tol ? lo_v : hi_v; /* no offset in tolerance fits: the nearest that does */
            } /* else y is shorter than the frame's part in the output: d = 0, zeros past its ends */
        }
        long c = anchor + d;
        prev = c;
        const float *src = yp + c - half;
        for (long t = o0; t < o1; t++) {
            long k = t - (centre - half);
            out[t] += w[k] * src[k];
        }
    }
}

sl_status sl_aug_pitch(const float *x, size_t n, double semitones, double sample_rate, float *out)
{
    return sl_aug_pitch_with(NULL, x, n, semitones, sample_rate, out);
}

sl_status sl_aug_pitch_with(const sl_aug_sinc *tab, const float *x, size_t n, double semitones, double sample_rate,
                            float *out)
{
    if (n == 0) return sl_fail(SL_EARG, "pitch shift: empty signal (n = 0)");
    if (!x || !out) return sl_fail(SL_EARG, "pitch shift: no signal or output given");
    if (!(fabs(semitones) <= 12.0))
        return sl_fail(SL_EARG, "pitch shift: %g semitones: must be in [-12, 12]", semitones);
    if (!(sample_rate > 0) || !(sample_rate <= MAX_RATE))
        return sl_fail(SL_EARG, "pitch shift: sample rate %g Hz: must be in (0, %.0f]", sample_rate, MAX_RATE);
    if (semitones == 0) {
        if (out != x) memcpy(out, x, n * sizeof *out);
        return SL_OK;
    }
    /* positions are longs, and y may have twice n samples plus padding */
    if (n > (size_t)(LONG_MAX / 4)) return sl_fail(SL_EARG, "pitch shift: %zu samples: too long", n);

    /* frame N (even, >= 8) and tolerance (>= 1) */
    size_t N = 2 * (size_t)lround(FRAME_S * sample_rate / 2);
    if (N < 8) N = 8;
    long tol = lround(TOL_S * sample_rate);
    if (tol < 1) tol = 1;

    double q = pow(2.0, semitones / 12.0);
    size_t m = (size_t)llround((double)n / q);
    if (m < 1) m = 1;
    /* Zeros around y: frame centres stay within [-tol, m + N + max(tol, N/2)] (anchors reach
     * m + (N/2) m / n <= m + N since m <= 2n; an offset outside the tolerance is at most N/2 and
     * never moves a frame before 0), and reads reach N/2 before a centre and N after it (the
     * continuation), so 3N + tol zeros on each side are enough. */
    size_t pad = 3 * N + (size_t)tol;
    float *mem = malloc((m + 2 * pad + N) * sizeof *mem);
    if (!mem) return sl_fail(SL_ENOMEM, "pitch shift: out of memory (%zu samples)", m);
    float *w = mem, *yp = mem + N + pad;
    sl_status s = sl_window(SL_WINDOW_HANN, N, w); /* periodic: sums to one at hop N / 2 */
    if (s != SL_OK) {
        free(mem);
        return s;
    }
    memset(yp - pad, 0, pad * sizeof *yp);
    memset(yp + m, 0, pad * sizeof *yp);

    /* resampling from "rate q" to "rate 1": m = n / q samples (the table's band-limited
     * interpolation when given, libsoxr otherwise) */
    size_t done = 0;
    if (tab) {
        sl_aug_sinc_resample(tab, x, n, q, yp, m);
        done = m;
    } else {
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t qs = soxr_quality_spec(SOXR_MQ, 0);
        soxr_error_t err = soxr_oneshot(q, 1.0, 1, x, n, NULL, yp, m, &done, &io, &qs, NULL);
        if (err) {
            free(mem);
            return sl_fail(SL_EINTERNAL, "pitch shift by %g semitones: resampling: %s", semitones, err);
        }
    }
    /* as in sl_resample: a very short input can come out short; hold the last value */
    for (size_t i = done; i < m; i++) yp[i] = done ? yp[done - 1] : 0.0f;

    /* x is no longer read, so out may be x */
    wsola(yp, m, out, n, w, N, tol);
    free(mem);
    return SL_OK;
}
