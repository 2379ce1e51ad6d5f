package io.meritstream.evaluation;

import io.meritstream.inference.SpeakerReferenceInputs;
import io.meritstream.speaker.Prosody;
import io.meritstream.speaker.ProsodyAnalyzer;
import io.meritstream.speaker.SpeakerReference;
import io.meritstream.speaker.SpeakerReferenceConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Speaker references for utterance-level evaluation, as a call would build them: each entry's reference holds {@code
 * size} random other entries of the same {@code speaker} (seeded; never an entry of the same utterance, so no other
 * mixture of the entry itself), each summarised over its whole noisy audio by the job's {@link ProsodyAnalyzer} and
 * folded in with the job's default half-life. {@code onlyEmotion} draws them from one emotion (the skewed-reference
 * check: a speaker heard only while angry).
 */
public final class ManifestReferences {
    private ManifestReferences() {}

    /** One row per entry, in entry order; entries without a speaker or without other usable entries get none. */
    public static List<SpeakerReferenceInputs.Row> build(
            List<Manifest.Entry> entries, int size, long seed, String onlyEmotion) throws IOException {
        if (size < 1) {
            throw new IllegalArgumentException("reference size must be at least 1, got " + size);
        }
        ProsodyAnalyzer analyzer = new ProsodyAnalyzer();
        List<Prosody> prosody = new ArrayList<>();
        Map<String, List<Integer>> bySpeaker = new HashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            Manifest.Entry e = entries.get(i);
            float[] audio = Evaluator.readMono16k(e.noisy());
            Prosody p = analyzer.analyze(audio, audio.length);
            prosody.add(p);
            if (e.speaker() != null && p.enoughSpeech() && (onlyEmotion == null || onlyEmotion.equals(e.emotion()))) {
                bySpeaker.computeIfAbsent(e.speaker(), k -> new ArrayList<>()).add(i);
            }
        }
        double decay = SpeakerReferenceConfig.defaults().decayPerSegment(3.0);
        List<SpeakerReferenceInputs.Row> rows = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            Manifest.Entry e = entries.get(i);
            List<Integer> pool = new ArrayList<>();
            for (int j : bySpeaker.getOrDefault(e.speaker(), List.of())) {
                if (j != i
                        && (e.utterance() == null
                                || !e.utterance().equals(entries.get(j).utterance()))) {
                    pool.add(j);
                }
            }
            if (e.speaker() == null || pool.isEmpty()) {
                rows.add(SpeakerReferenceInputs.Row.NONE);
                continue;
            }
            Collections.shuffle(pool, new Random(seed * 1_000_003L + i));
            SpeakerReference reference = new SpeakerReference();
            for (int j : pool.subList(0, Math.min(size, pool.size()))) {
                reference.update(prosody.get(j), decay);
            }
            rows.add(new SpeakerReferenceInputs.Row(null, reference.modelInput(), (float) reference.weight));
        }
        return rows;
    }
}
