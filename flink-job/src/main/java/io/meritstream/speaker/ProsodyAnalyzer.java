package io.meritstream.speaker;

import io.meritstream.dsp.FftPlan;
import java.util.Arrays;
import java.util.List;

/**
 * The prosody features of a stretch of 16 kHz audio: the Java twin of {@code model/merit/speaker_reference.py}, which
 * the model was trained with; the two must agree (the committed fixture {@code fixtures/prosody} is checked by
 * {@code ProsodyAnalyzerTest}). See that module for the analysis; in short: [1, 2, 1] / 4 low-pass and decimation to
 * 8 kHz, 25 ms frames every 20 ms, level, spectral tilt (above / below 2 kHz), centroid and an autocorrelation pitch
 * (60-400 Hz, the shortest lag near the best, against octave errors) per frame, summarised over the active and voiced frames.
 *
 * <p>Cost: two frames share each 512-point complex FFT (one as the real, one as the imaginary part) for the spectra,
 * and again for the autocorrelations, so a 3 s window takes 150 transforms. Holds scratch buffers: one instance per
 * thread.
 */
public final class ProsodyAnalyzer {
    public static final List<String> FEATURE_NAMES = List.of(
            "f0_mean_st",
            "f0_std_st",
            "f0_range_st",
            "f0_slope_st_per_s",
            "level_mean_db",
            "level_std_db",
            "tilt_mean_db",
            "centroid_mean_khz",
            "voiced_share",
            "voiced_onsets_per_s");
    public static final int FEATURES = FEATURE_NAMES.size();
    static final int LEVEL_STD = FEATURE_NAMES.indexOf("level_std_db");
    /** Version of the feature definition; the model card's {@code speaker_reference.version} must equal it. */
    public static final int VERSION = 1;

    static final int RATE = 8000;
    static final int FRAME = 200;
    static final int HOP = 160;
    static final double FRAME_SECONDS = (double) HOP / RATE;
    static final int NFFT = 512;
    static final int LAG_MIN = RATE / 400;
    static final int LAG_MAX = (int) Math.ceil(RATE / 60.0);
    static final double VOICING_THRESHOLD = 0.45;
    static final double OCTAVE_RATIO = 0.85;
    static final double ACTIVE_FLOOR_DB = -55.0;
    static final double ACTIVE_RANGE_DB = 30.0;
    static final int TILT_SPLIT_BIN = 2000 * NFFT / RATE;
    static final int MIN_VOICED_FOR_F0 = 5;
    static final int MIN_ACTIVE_FRAMES = 50;
    static final int MIN_VOICED_FRAMES = 15;
    static final double MIN_LEVEL_STD_DB = 5.0;

    private static final double[] WINDOW = new double[FRAME];
    private static final double[] WINDOW_AUTOCORRELATION;
    private static final FftPlan PLAN = new FftPlan(NFFT);
    /** Frequency of each FFT bin in kHz. */
    private static final double[] BIN_KHZ = new double[NFFT / 2 + 1];
    /** 1 / (NFFT * the window's normalised autocorrelation) per lag: turns a transform output into a corrected lag. */
    private static final double[] LAG_NORMALISATION = new double[LAG_MAX + 2];

    static {
        for (int i = 0; i < FRAME; i++) {
            WINDOW[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / FRAME); // periodic Hann
        }
        double[] re = new double[NFFT];
        double[] im = new double[NFFT];
        System.arraycopy(WINDOW, 0, re, 0, FRAME);
        PLAN.transform(re, im);
        for (int f = 0; f < NFFT; f++) {
            re[f] = re[f] * re[f] + im[f] * im[f];
            im[f] = 0;
        }
        PLAN.transform(re, im);
        WINDOW_AUTOCORRELATION = new double[NFFT];
        for (int k = 0; k < NFFT; k++) {
            WINDOW_AUTOCORRELATION[k] = re[k] / re[0];
        }
        for (int f = 0; f < BIN_KHZ.length; f++) {
            BIN_KHZ[f] = f * ((double) RATE / NFFT) / 1000.0;
        }
        for (int lag = 0; lag < LAG_NORMALISATION.length; lag++) {
            LAG_NORMALISATION[lag] = 1.0 / NFFT / WINDOW_AUTOCORRELATION[lag];
        }
    }

    // Scratch, grown on demand.
    private double[] decimated = new double[0];
    private double[] level = new double[0];
    private double[] tilt = new double[0];
    private double[] centroid = new double[0];
    private double[] semitones = new double[0];
    private boolean[] voiced = new boolean[0];
    private boolean[] active = new boolean[0];
    private double[] peak = new double[0];
    private double[] energy = new double[0];
    private final double[] re = new double[NFFT];
    private final double[] im = new double[NFFT];
    private final double[] powerA = new double[NFFT];
    private final double[] powerB = new double[NFFT];
    private final double[] normalisedLags = new double[LAG_MAX + 2];

    /** The features of {@code samples[0, length)} (16 kHz). */
    public Prosody analyze(float[] samples, int length) {
        if (length < 0 || length > samples.length) {
            throw new IllegalArgumentException("length " + length + " outside [0, " + samples.length + "]");
        }
        int n8 = decimate(samples, length);
        int frames = n8 < FRAME ? 0 : 1 + (n8 - FRAME) / HOP;
        ensure(frames);
        for (int i = 0; i < frames; i += 2) {
            analyzePair(i, Math.min(2, frames - i));
        }
        return summarise(frames);
    }

    private int decimate(float[] x, int length) {
        int n = length / 2;
        if (decimated.length < n) {
            decimated = new double[n];
        }
        for (int m = 0; m < n; m++) {
            int c = 2 * m;
            double left = c == 0 ? x[0] : x[c - 1];
            double right = c + 1 >= length ? x[length - 1] : x[c + 1];
            decimated[m] = 0.25 * left + 0.5 * x[c] + 0.25 * right;
        }
        return n;
    }

    private void ensure(int frames) {
        if (level.length < frames) {
            level = new double[frames];
            tilt = new double[frames];
            centroid = new double[frames];
            semitones = new double[frames];
            voiced = new boolean[frames];
            active = new boolean[frames];
            peak = new double[frames];
            energy = new double[frames];
        }
    }

    /** Frames {@code first} and (when {@code count} is 2) {@code first + 1}, through shared transforms. */
    private void analyzePair(int first, int count) {
        Arrays.fill(re, 0);
        Arrays.fill(im, 0);
        for (int j = 0; j < count; j++) {
            int frame = first + j;
            int offset = frame * HOP;
            double sum = 0;
            double sumSquares = 0;
            for (int i = 0; i < FRAME; i++) {
                double v = decimated[offset + i];
                sum += v;
                sumSquares += v * v;
            }
            level[frame] = 10.0 * Math.log10(sumSquares / FRAME + 1e-10);
            double mean = sum / FRAME;
            double[] target = j == 0 ? re : im;
            for (int i = 0; i < FRAME; i++) {
                target[i] = (decimated[offset + i] - mean) * WINDOW[i];
            }
        }
        PLAN.transform(re, im);
        // Split the two real spectra: A[f] = (Z[f] + conj Z[-f]) / 2, B[f] = (Z[f] - conj Z[-f]) / 2i.
        for (int f = 0; f < NFFT; f++) {
            int g = f == 0 ? 0 : NFFT - f;
            double ar = re[f] + re[g];
            double ai = im[f] - im[g];
            double br = re[f] - re[g];
            double bi = im[f] + im[g];
            powerA[f] = (ar * ar + ai * ai) / 4;
            powerB[f] = (br * br + bi * bi) / 4;
        }
        spectralShape(first, powerA);
        if (count == 2) {
            spectralShape(first + 1, powerB);
        }
        // Autocorrelation = inverse transform of the power; both spectra are real and even, so one transform serves
        // two.
        System.arraycopy(powerA, 0, re, 0, NFFT);
        System.arraycopy(powerB, 0, im, 0, NFFT);
        PLAN.transform(re, im);
        pitch(first, re);
        if (count == 2) {
            pitch(first + 1, im);
        }
    }

    private void spectralShape(int frame, double[] power) {
        double lo = 0;
        double hi = 0;
        double weighted = 0;
        for (int f = 1; f <= NFFT / 2; f++) {
            if (f < TILT_SPLIT_BIN) {
                lo += power[f];
            } else {
                hi += power[f];
            }
            weighted += power[f] * BIN_KHZ[f];
        }
        tilt[frame] = 10.0 * Math.log10((hi + 1e-12) / (lo + 1e-12));
        centroid[frame] = weighted / Math.max(lo + hi, 1e-12);
    }

    /** {@code scaled} is the frame's autocorrelation times NFFT. */
    private void pitch(int frame, double[] scaled) {
        double r0 = scaled[0] / NFFT;
        energy[frame] = r0;
        double denominator = Math.max(r0, 1e-20);
        double[] norm = normalisedLags;
        double scale = 1.0 / denominator;
        for (int lag = LAG_MIN - 1; lag <= LAG_MAX + 1; lag++) {
            norm[lag] = Math.min(scaled[lag] * LAG_NORMALISATION[lag] * scale, 1.0);
        }
        int best = LAG_MIN;
        for (int lag = LAG_MIN + 1; lag <= LAG_MAX; lag++) {
            if (norm[lag] > norm[best]) {
                best = lag;
            }
        }
        // The shortest lag that is a local maximum within OCTAVE_RATIO of the best (see the Python twin).
        double bar = OCTAVE_RATIO * norm[best];
        for (int lag = LAG_MIN; lag <= LAG_MAX; lag++) {
            if (norm[lag] >= bar && norm[lag] >= norm[lag - 1] && norm[lag] >= norm[lag + 1]) {
                best = lag;
                break;
            }
        }
        double a = norm[best - 1];
        double b = norm[best];
        double c = norm[best + 1];
        double curvature = a - 2 * b + c;
        double delta = curvature < 0 ? 0.5 * (a - c) / curvature : 0.0;
        delta = Math.max(-0.5, Math.min(0.5, delta));
        peak[frame] = b;
        semitones[frame] = 12.0 * (Math.log(RATE / (best + delta) / 100.0) / Math.log(2.0));
    }

    private Prosody summarise(int frames) {
        double[] out = new double[FEATURES];
        double maxLevel = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < frames; i++) {
            maxLevel = Math.max(maxLevel, level[i]);
        }
        double threshold = Math.max(ACTIVE_FLOOR_DB, maxLevel - ACTIVE_RANGE_DB);
        int nActive = 0;
        int nVoiced = 0;
        int onsets = 0;
        for (int i = 0; i < frames; i++) {
            active[i] = level[i] >= threshold && energy[i] > 0;
            voiced[i] = active[i] && peak[i] >= VOICING_THRESHOLD;
            nActive += active[i] ? 1 : 0;
            nVoiced += voiced[i] ? 1 : 0;
            onsets += voiced[i] && (i == 0 || !voiced[i - 1]) ? 1 : 0;
        }
        if (nActive == 0) {
            return new Prosody(out, 0, 0);
        }
        out[4] = mean(level, active, frames, nActive);
        out[LEVEL_STD] = std(level, active, frames, nActive, out[4]);
        out[6] = mean(tilt, active, frames, nActive);
        out[7] = mean(centroid, active, frames, nActive);
        out[8] = (double) nVoiced / nActive;
        out[9] = onsets / (nActive * FRAME_SECONDS);
        if (nVoiced >= MIN_VOICED_FOR_F0) {
            double f0Mean = mean(semitones, voiced, frames, nVoiced);
            out[0] = f0Mean;
            out[1] = std(semitones, voiced, frames, nVoiced, f0Mean);
            double[] sorted = new double[nVoiced];
            double tMean = 0;
            for (int i = 0, k = 0; i < frames; i++) {
                if (voiced[i]) {
                    sorted[k++] = semitones[i];
                    tMean += i * FRAME_SECONDS;
                }
            }
            tMean /= nVoiced;
            Arrays.sort(sorted);
            out[2] = nearestRank(sorted, 0.9) - nearestRank(sorted, 0.1);
            double covariance = 0;
            double variance = 0;
            for (int i = 0; i < frames; i++) {
                if (voiced[i]) {
                    double tc = i * FRAME_SECONDS - tMean;
                    covariance += tc * (semitones[i] - f0Mean);
                    variance += tc * tc;
                }
            }
            out[3] = covariance / variance;
        }
        return new Prosody(out, nActive, nVoiced);
    }

    private static double nearestRank(double[] sorted, double q) {
        return sorted[(int) Math.floor(q * (sorted.length - 1) + 0.5)];
    }

    private static double mean(double[] values, boolean[] mask, int frames, int count) {
        double sum = 0;
        for (int i = 0; i < frames; i++) {
            if (mask[i]) {
                sum += values[i];
            }
        }
        return sum / count;
    }

    private static double std(double[] values, boolean[] mask, int frames, int count, double mean) {
        double sum = 0;
        for (int i = 0; i < frames; i++) {
            if (mask[i]) {
                double d = values[i] - mean;
                sum += d * d;
            }
        }
        return Math.sqrt(sum / count);
    }
}
