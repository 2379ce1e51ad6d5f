package io.meritstream.evaluation;

import io.meritstream.session.WindowingConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The windows the job's {@link io.meritstream.session.SessionWindower} emits for one channel that carries {@code audio}
 * without gaps and then ends: window k starts at {@link WindowingConfig#windowStart(long)} (negative, zero-padded at
 * the front with the early first window); it is emitted whole once the audio reaches its end; at the end of the stream
 * the next window is emitted as the final one with the audio there is ({@code validSamples} from its start, the rest
 * zeros). The windower does this inside a keyed Flink operator with its state; this is the same rule on an array, built
 * on the same {@code windowStart}, and {@code StreamWindowsTest} pins it down case by case.
 */
public final class StreamWindows {
    private StreamWindows() {}

    /** One window as the job's WindowRequest carries it. */
    public record Window(long index, long start, float[] samples, int validSamples, boolean finalWindow) {}

    public static List<Window> cut(float[] audio, WindowingConfig config) {
        List<Window> windows = new ArrayList<>();
        if (audio.length == 0) {
            return windows; // the windower emits nothing for a channel without audio
        }
        int size = config.windowSamples();
        long k = 0;
        while (config.windowStart(k) + size <= audio.length) {
            windows.add(window(audio, config, k, size, false));
            k++;
        }
        int valid = (int) (audio.length - config.windowStart(k));
        windows.add(window(audio, config, k, valid, true));
        return windows;
    }

    private static Window window(float[] audio, WindowingConfig config, long index, int valid, boolean last) {
        long start = config.windowStart(index);
        float[] samples = new float[config.windowSamples()];
        // Samples before the timeline's origin are zeros (left padding), as in the windower's fresh ring.
        long from = Math.max(0, start);
        long to = start + valid;
        if (to > from) {
            System.arraycopy(audio, (int) from, samples, (int) (from - start), (int) (to - from));
        }
        return new Window(index, start, samples, valid, last);
    }
}
