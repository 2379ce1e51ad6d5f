package io.meritstream.analytics;

import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionProbabilities;

/** The model's class order (angry, sad, happy, neutral) and conversions to the Avro types. */
final class Emotions {
    static final int ANGRY = 0;
    static final int SAD = 1;
    static final int HAPPY = 2;
    static final int NEUTRAL = 3;
    static final int COUNT = 4;

    private static final Emotion[] BY_INDEX = {Emotion.ANGRY, Emotion.SAD, Emotion.HAPPY, Emotion.NEUTRAL};

    private Emotions() {}

    static Emotion label(int index) {
        return BY_INDEX[index];
    }

    /** Index of the largest value; ties go to the earlier class. */
    static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < COUNT; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    static EmotionProbabilities probabilities(float[] p) {
        return new EmotionProbabilities(p[ANGRY], p[SAD], p[HAPPY], p[NEUTRAL]);
    }

    static float[] values(EmotionProbabilities p) {
        float[] values = new float[COUNT];
        values[ANGRY] = p.getAngry();
        values[SAD] = p.getSad();
        values[HAPPY] = p.getHappy();
        values[NEUTRAL] = p.getNeutral();
        return values;
    }
}
