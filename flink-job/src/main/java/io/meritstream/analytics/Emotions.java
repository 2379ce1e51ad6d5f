package io.meritstream.analytics;

import io.meritstream.avro.Emotion;
import io.meritstream.avro.EmotionProbabilities;

/** The model's class order (angry, sad, happy, neutral) and conversions to the Avro types. */
public final class Emotions {
    public static final int ANGRY = 0;
    public static final int SAD = 1;
    public static final int HAPPY = 2;
    public static final int NEUTRAL = 3;
    public static final int COUNT = 4;

    private static final Emotion[] BY_INDEX = {Emotion.ANGRY, Emotion.SAD, Emotion.HAPPY, Emotion.NEUTRAL};

    private Emotions() {}

    public static Emotion label(int index) {
        return BY_INDEX[index];
    }

    /** Index of the largest value; ties go to the earlier class. */
    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < COUNT; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    public static EmotionProbabilities probabilities(float[] p) {
        return new EmotionProbabilities(p[ANGRY], p[SAD], p[HAPPY], p[NEUTRAL]);
    }

    public static float[] values(EmotionProbabilities p) {
        float[] values = new float[COUNT];
        values[ANGRY] = p.getAngry();
        values[SAD] = p.getSad();
        values[HAPPY] = p.getHappy();
        values[NEUTRAL] = p.getNeutral();
        return values;
    }
}
