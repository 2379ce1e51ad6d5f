package io.meritstream.inference;

import io.meritstream.speaker.ProsodyAnalyzer;
import java.util.List;

/**
 * The speaker-reference inputs of one batch, for graphs that take them ({@code prosody} [B, P], {@code speaker_ref}
 * [B, 2P], {@code speaker_ref_weight} [B]; see {@code model/merit/export.py}).
 */
public record SpeakerReferenceInputs(float[][] prosody, float[][] speakerRef, float[] weight) {

    /** One window's row; all null = no prosody and no reference (zeros and weight 0 go to the model). */
    public record Row(float[] prosody, float[] speakerRef, float weight) {
        public static final Row NONE = new Row(null, null, 0f);
    }

    public static SpeakerReferenceInputs of(List<Row> rows) {
        int p = ProsodyAnalyzer.FEATURES;
        float[][] prosody = new float[rows.size()][];
        float[][] reference = new float[rows.size()][];
        float[] weight = new float[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            prosody[i] = row.prosody() != null ? row.prosody() : new float[p];
            reference[i] = row.speakerRef() != null ? row.speakerRef() : new float[2 * p];
            weight[i] = row.speakerRef() != null ? row.weight() : 0f;
            if (prosody[i].length != p || reference[i].length != 2 * p) {
                throw new IllegalArgumentException("speaker-reference row " + i + " has " + prosody[i].length
                        + " prosody and " + reference[i].length + " reference values; the model takes " + p + " and "
                        + 2 * p);
            }
        }
        return new SpeakerReferenceInputs(prosody, reference, weight);
    }
}
