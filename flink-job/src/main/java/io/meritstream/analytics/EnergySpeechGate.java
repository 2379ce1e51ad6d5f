package io.meritstream.analytics;

/** The rule-based gate ({@link SpeechActivity}: band energy and spectral flatness), each frame judged alone. */
final class EnergySpeechGate implements SpeechGate {
    private final SpeechActivity rule;

    EnergySpeechGate(SpeechActivity rule) {
        this.rule = rule;
    }

    @Override
    public String name() {
        return "energy";
    }

    @Override
    public int frameSamples() {
        return rule.frameSamples();
    }

    @Override
    public int stateSize() {
        return 0;
    }

    @Override
    public void judge(float[] samples, int offset, int frames, float[] state, boolean[] speech) {
        for (int f = 0; f < frames; f++) {
            speech[f] = rule.isSpeech(samples, offset + f * rule.frameSamples());
        }
    }

    @Override
    public void close() {}
}
