package io.meritstream.speaker;

/**
 * The running reference of one speaker: exponentially weighted mean and standard deviation of the prosody features of
 * earlier segments of the channel (West's weighted update; each earlier segment's weight halves every half-life). The
 * Java twin of {@code SpeakerReference} in {@code model/merit/speaker_reference.py}. A Flink POJO, kept in the
 * windower's keyed state.
 */
public class SpeakerReference {
    /** Sum of the segment weights, after decay; 0 = nothing heard yet. */
    public double weight;
    /** Segments folded in. */
    public int segments;
    /** Seconds of active speech in the folded segments (not decayed): what the emotion event reports. */
    public double speechSeconds;

    public double[] mean = new double[ProsodyAnalyzer.FEATURES];
    public double[] scatter = new double[ProsodyAnalyzer.FEATURES];

    public SpeakerReference() {}

    /** Folds one segment in, after decaying the earlier ones by {@code decay} (in (0, 1]). */
    public void update(Prosody segment, double decay) {
        double[] x = segment.features();
        weight = weight * decay + 1.0;
        for (int i = 0; i < x.length; i++) {
            scatter[i] *= decay;
            double d = x[i] - mean[i];
            mean[i] += d / weight;
            scatter[i] += d * (x[i] - mean[i]);
        }
        segments++;
        speechSeconds += segment.activeSeconds();
    }

    /** The model's {@code speaker_ref} row: the mean then the standard deviation of every feature. */
    public float[] modelInput() {
        float[] out = new float[2 * mean.length];
        for (int i = 0; i < mean.length; i++) {
            out[i] = (float) mean[i];
            out[mean.length + i] = weight > 0 ? (float) Math.sqrt(Math.max(scatter[i] / weight, 0.0)) : 0f;
        }
        return out;
    }
}
