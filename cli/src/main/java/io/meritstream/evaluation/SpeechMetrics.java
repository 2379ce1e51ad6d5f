package io.meritstream.evaluation;

import io.meritstream.dsp.Fft;

/**
 * Speech-enhancement metrics with exactly the definitions of {@code model/merit/metrics.py} (the Python evaluation),
 * so that numbers from {@code merit evaluate} and from {@code python3 -m merit.evaluate} can be compared.
 * {@code MetricsAgreementTest} checks every function against values the Python code computed on shared fixtures.
 *
 * <p>All signals are 16 kHz unless a rate is given; {@code ref} is the clean reference, {@code est} the noisy or
 * enhanced estimate, of equal length (the caller trims to the common length). Arithmetic is in double precision, as
 * numpy's float64.
 *
 * <ul>
 *   <li>SSNR: 30 ms Hann frames (numpy's symmetric {@code hanning(480)}), hop 120, per frame {@code 10 log10(Σref² /
 *       (Σ(ref − est)² + eps) + eps)} clamped to [−10, 35] dB, mean over all frames.
 *   <li>SI-SDR: zero-mean signals, target = ⟨est, ref⟩ / (‖ref‖² + 1e-12) · ref, {@code 10 log10((‖target‖² + 1e-12) /
 *       (‖est − target‖² + 1e-12))}.
 *   <li>STOI (Taal et al. 2011 as in pystoi): scipy's {@code resample_poly} to 10 kHz, silent frames (clean energy more
 *       than 40 dB below the loudest clean frame) removed by overlap-add, 256-sample frames / hop 128 / 512-point FFT,
 *       15 one-third-octave bands from 150 Hz, 30-frame segments, −15 dB clipping, mean correlation; 1e-5 when fewer
 *       than 30 frames remain.
 * </ul>
 */
public final class SpeechMetrics {
    private SpeechMetrics() {}

    /** numpy's {@code finfo(float64).eps}, the guard the Python code adds inside logarithms and divisions. */
    static final double EPS = Math.ulp(1.0);

    public static final int SAMPLE_RATE = 16_000;

    static final double SSNR_MIN_DB = -10.0;
    static final double SSNR_MAX_DB = 35.0;

    static final int STOI_FS = 10_000;
    static final int STOI_FRAME = 256;
    static final int STOI_HOP = STOI_FRAME / 2;
    static final int STOI_NFFT = 512;
    static final int STOI_BANDS = 15;
    static final double STOI_MIN_FREQ = 150;
    static final int STOI_N = 30;
    static final double STOI_BETA_DB = -15.0;
    static final double STOI_DYN_RANGE_DB = 40.0;
    /** What pystoi (and the Python evaluation) return when too little speech is left to score. */
    public static final double STOI_TOO_SHORT = 1e-5;

    private static final double[][] THIRD_OCTAVES = thirdOctaveBands();
    private static final double[] STOI_WINDOW = stoiWindow();

    /** Segmental SNR at 16 kHz in dB. */
    public static double ssnr(float[] ref, float[] est) {
        return ssnr(ref, est, SAMPLE_RATE);
    }

    /** Segmental SNR in dB: 30 ms Hann frames, hop a quarter frame, each frame clamped to [−10, 35] dB. */
    public static double ssnr(float[] ref, float[] est, int sampleRate) {
        checkPair(ref, est);
        int win = (int) Math.round(30.0 * sampleRate / 1000);
        int hop = win / 4;
        if (ref.length < win) {
            throw new IllegalArgumentException("SSNR needs at least " + win + " samples, got " + ref.length);
        }
        double[] window = hanning(win);
        int frames = 1 + (ref.length - win) / hop;
        double total = 0;
        for (int f = 0; f < frames; f++) {
            int off = f * hop;
            double sig = 0;
            double noise = 0;
            for (int i = 0; i < win; i++) {
                double r = ref[off + i] * window[i];
                double d = r - est[off + i] * window[i];
                sig += r * r;
                noise += d * d;
            }
            double seg = 10 * Math.log10(sig / (noise + EPS) + EPS);
            total += Math.min(SSNR_MAX_DB, Math.max(SSNR_MIN_DB, seg));
        }
        return total / frames;
    }

    /** Scale-invariant signal-to-distortion ratio in dB. */
    public static double siSdr(float[] ref, float[] est) {
        checkPair(ref, est);
        int n = ref.length;
        double refMean = 0;
        double estMean = 0;
        for (int i = 0; i < n; i++) {
            refMean += ref[i];
            estMean += est[i];
        }
        refMean /= n;
        estMean /= n;
        double dot = 0;
        double refEnergy = 0;
        for (int i = 0; i < n; i++) {
            double r = ref[i] - refMean;
            dot += (est[i] - estMean) * r;
            refEnergy += r * r;
        }
        double alpha = dot / (refEnergy + 1e-12);
        double targetEnergy = 0;
        double noiseEnergy = 0;
        for (int i = 0; i < n; i++) {
            double t = alpha * (ref[i] - refMean);
            double e = (est[i] - estMean) - t;
            targetEnergy += t * t;
            noiseEnergy += e * e;
        }
        return 10 * Math.log10((targetEnergy + 1e-12) / (noiseEnergy + 1e-12));
    }

    /** Short-time objective intelligibility of 16 kHz signals, in [0, 1] (about). */
    public static double stoi(float[] ref, float[] est) {
        return stoi(ref, est, SAMPLE_RATE);
    }

    /** Short-time objective intelligibility; signals at {@code sampleRate} are first resampled to 10 kHz. */
    public static double stoi(float[] ref, float[] est, int sampleRate) {
        checkPair(ref, est);
        double[] x = toDouble(ref);
        double[] y = toDouble(est);
        if (sampleRate != STOI_FS) {
            int g = gcd(sampleRate, STOI_FS);
            x = Resample.poly(x, STOI_FS / g, sampleRate / g);
            y = Resample.poly(y, STOI_FS / g, sampleRate / g);
        }
        if (x.length <= STOI_FRAME) {
            return STOI_TOO_SHORT;
        }
        double[][] kept = removeSilentFrames(x, y);
        x = kept[0];
        y = kept[1];
        if (x.length <= STOI_FRAME) {
            return STOI_TOO_SHORT;
        }
        double[][] xBands = thirdOctaveEnvelopes(x); // [bands][frames]
        double[][] yBands = thirdOctaveEnvelopes(y);
        int m = xBands[0].length;
        if (m < STOI_N) {
            return STOI_TOO_SHORT;
        }
        double clip = Math.pow(10, -STOI_BETA_DB / 20);
        double[] xs = new double[STOI_N];
        double[] yp = new double[STOI_N];
        double sum = 0;
        int segments = m - STOI_N + 1;
        for (int end = STOI_N; end <= m; end++) {
            for (int band = 0; band < STOI_BANDS; band++) {
                int from = end - STOI_N;
                double xNorm = 0;
                double yNorm = 0;
                for (int t = 0; t < STOI_N; t++) {
                    xNorm += xBands[band][from + t] * xBands[band][from + t];
                    yNorm += yBands[band][from + t] * yBands[band][from + t];
                }
                double scale = Math.sqrt(xNorm) / (Math.sqrt(yNorm) + EPS);
                double xMean = 0;
                double yMean = 0;
                for (int t = 0; t < STOI_N; t++) {
                    xs[t] = xBands[band][from + t];
                    yp[t] = Math.min(yBands[band][from + t] * scale, xs[t] * (1 + clip));
                    xMean += xs[t];
                    yMean += yp[t];
                }
                xMean /= STOI_N;
                yMean /= STOI_N;
                double xx = 0;
                double yy = 0;
                for (int t = 0; t < STOI_N; t++) {
                    xs[t] -= xMean;
                    yp[t] -= yMean;
                    xx += xs[t] * xs[t];
                    yy += yp[t] * yp[t];
                }
                double xDen = Math.sqrt(xx) + EPS;
                double yDen = Math.sqrt(yy) + EPS;
                double corr = 0;
                for (int t = 0; t < STOI_N; t++) {
                    corr += (xs[t] / xDen) * (yp[t] / yDen);
                }
                sum += corr;
            }
        }
        return sum / ((double) segments * STOI_BANDS);
    }

    /**
     * pystoi's {@code remove_silent_frames}: frames of the clean signal more than 40 dB below its loudest frame are
     * dropped from both signals, which are then put back together by overlap-add.
     */
    static double[][] removeSilentFrames(double[] x, double[] y) {
        double[][] xf = frames(x);
        double[][] yf = frames(y);
        double[] energies = new double[xf.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int f = 0; f < xf.length; f++) {
            double norm = 0;
            for (double v : xf[f]) {
                norm += v * v;
            }
            energies[f] = 20 * Math.log10(Math.sqrt(norm) + EPS);
            max = Math.max(max, energies[f]);
        }
        int kept = 0;
        for (double e : energies) {
            if (max - STOI_DYN_RANGE_DB - e < 0) {
                kept++;
            }
        }
        int length = kept == 0 ? 0 : (kept - 1) * STOI_HOP + STOI_FRAME;
        double[] xo = new double[length];
        double[] yo = new double[length];
        int k = 0;
        for (int f = 0; f < xf.length; f++) {
            if (max - STOI_DYN_RANGE_DB - energies[f] < 0) {
                for (int i = 0; i < STOI_FRAME; i++) {
                    xo[k * STOI_HOP + i] += xf[f][i];
                    yo[k * STOI_HOP + i] += yf[f][i];
                }
                k++;
            }
        }
        return new double[][] {xo, yo};
    }

    /**
     * Windowed frames at {@code range(0, len - 256, 128)} (so the last full frame is left out when it ends exactly at
     * the end, as in pystoi), Hann window of 258 points without its two zero ends.
     */
    static double[][] frames(double[] x) {
        int count = x.length > STOI_FRAME ? (x.length - STOI_FRAME - 1) / STOI_HOP + 1 : 0;
        double[][] out = new double[count][STOI_FRAME];
        for (int f = 0; f < count; f++) {
            for (int i = 0; i < STOI_FRAME; i++) {
                out[f][i] = STOI_WINDOW[i] * x[f * STOI_HOP + i];
            }
        }
        return out;
    }

    /** {@code sqrt(OBM · |STFT|²)}: one-third-octave band envelopes, [bands][frames]. */
    static double[][] thirdOctaveEnvelopes(double[] x) {
        double[][] frames = frames(x);
        int bins = STOI_NFFT / 2 + 1;
        double[][] out = new double[STOI_BANDS][frames.length];
        double[] re = new double[STOI_NFFT];
        double[] im = new double[STOI_NFFT];
        double[] power = new double[bins];
        for (int f = 0; f < frames.length; f++) {
            java.util.Arrays.fill(re, 0);
            java.util.Arrays.fill(im, 0);
            System.arraycopy(frames[f], 0, re, 0, STOI_FRAME);
            Fft.transform(re, im);
            for (int k = 0; k < bins; k++) {
                power[k] = re[k] * re[k] + im[k] * im[k];
            }
            for (int b = 0; b < STOI_BANDS; b++) {
                double s = 0;
                for (int k = 0; k < bins; k++) {
                    s += THIRD_OCTAVES[b][k] * power[k];
                }
                out[b][f] = Math.sqrt(s);
            }
        }
        return out;
    }

    /** 0/1 matrix [15][257] grouping FFT bins into one-third-octave bands, band edges snapped to the nearest bin. */
    static double[][] thirdOctaveBands() {
        int bins = STOI_NFFT / 2 + 1;
        double[] f = new double[bins];
        for (int k = 0; k < bins; k++) {
            f[k] = k * ((double) STOI_FS / STOI_NFFT);
        }
        double[][] obm = new double[STOI_BANDS][bins];
        for (int b = 0; b < STOI_BANDS; b++) {
            double lo = STOI_MIN_FREQ * Math.pow(2.0, (2.0 * b - 1) / 6);
            double hi = STOI_MIN_FREQ * Math.pow(2.0, (2.0 * b + 1) / 6);
            int fl = nearest(f, lo);
            int fh = nearest(f, hi);
            for (int k = fl; k < fh; k++) {
                obm[b][k] = 1.0;
            }
        }
        return obm;
    }

    /** numpy's {@code argmin((f - v)²)}: the first index of the smallest squared distance. */
    private static int nearest(double[] f, double v) {
        int best = 0;
        double bestD = Double.POSITIVE_INFINITY;
        for (int k = 0; k < f.length; k++) {
            double d = (f[k] - v) * (f[k] - v);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best;
    }

    /** numpy's symmetric {@code hanning(m)}: {@code 0.5 − 0.5 cos(2πn / (m − 1))}. */
    static double[] hanning(int m) {
        double[] w = new double[m];
        if (m == 1) {
            w[0] = 1;
            return w;
        }
        for (int n = 0; n < m; n++) {
            w[n] = 0.5 - 0.5 * Math.cos(2 * Math.PI * n / (m - 1));
        }
        return w;
    }

    private static double[] stoiWindow() {
        double[] full = hanning(STOI_FRAME + 2);
        return java.util.Arrays.copyOfRange(full, 1, STOI_FRAME + 1);
    }

    private static double[] toDouble(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i];
        }
        return out;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    private static void checkPair(float[] ref, float[] est) {
        if (ref.length != est.length) {
            throw new IllegalArgumentException(
                    "reference and estimate lengths differ: " + ref.length + " vs " + est.length);
        }
        if (ref.length == 0) {
            throw new IllegalArgumentException("empty signals");
        }
    }
}
