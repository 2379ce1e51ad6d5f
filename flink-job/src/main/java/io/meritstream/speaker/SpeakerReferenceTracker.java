package io.meritstream.speaker;

import io.meritstream.session.WindowRequest;

/**
 * Gives each window its prosody features and its channel's reference, upstream of inference (Flink has no edge back
 * from the model's results to the windower, and results of earlier windows may still be in flight): the reference is
 * computed from the audio alone.
 *
 * <p>Per window, in order: the waiting segment joins the reference once this window no longer overlaps it; the window
 * gets the reference as it now stands (weight 0 until {@code warm-up-segments} segments are in, or when the option is
 * off); then the window itself waits to join if it starts after the previous segment ended and holds enough speech.
 * Every window is analysed once. One instance per windower subtask (it holds the analyser's scratch buffers).
 */
public final class SpeakerReferenceTracker {
    private final SpeakerReferenceConfig config;
    private final ProsodyAnalyzer analyzer = new ProsodyAnalyzer();

    public SpeakerReferenceTracker(SpeakerReferenceConfig config) {
        this.config = config;
    }

    /** Sets the request's prosody and reference fields from its samples and the channel's {@code state}. */
    public void attach(ChannelReference state, WindowRequest request) {
        Prosody prosody = analyzer.analyze(request.samples, request.validSamples);
        long start = request.startSample;
        int length = request.samples.length;
        if (state.pendingStart != ChannelReference.NONE && state.pendingStart + length <= start) {
            Prosody pending = new Prosody(state.pendingFeatures, state.pendingActiveFrames, state.pendingVoicedFrames);
            state.reference.update(pending, config.decayPerSegment(length / 16_000.0));
            state.pendingStart = ChannelReference.NONE;
            state.pendingFeatures = null;
        }
        request.prosody = prosody.featuresAsFloats();
        SpeakerReference reference = state.reference;
        boolean ready = config.enabled() && reference.segments >= config.warmUpSegments();
        request.speakerRef = ready ? reference.modelInput() : new float[2 * ProsodyAnalyzer.FEATURES];
        request.speakerRefWeight = ready ? (float) reference.weight : 0f;
        request.referenceSpeechSeconds = ready ? (float) reference.speechSeconds : 0f;
        boolean free = state.pendingStart == ChannelReference.NONE
                && (state.nextSegmentStart == ChannelReference.NONE || start >= state.nextSegmentStart);
        if (free && start >= 0 && prosody.enoughSpeech()) {
            state.pendingStart = start;
            state.pendingFeatures = prosody.features();
            state.pendingActiveFrames = prosody.activeFrames();
            state.pendingVoicedFrames = prosody.voicedFrames();
            state.nextSegmentStart = start + length;
        }
    }
}
