package io.meritstream.analytics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reassembles one continuous enhanced signal per channel from overlapping window outputs by weighted overlap-add.
 *
 * <p>Every window output is multiplied by the cross-fade weight {@code w(n) = sin²(π (n + ½) / L)} and summed into the
 * channel's timeline; each output sample is the sum divided by the weights that reached it. Dividing by the
 * accumulated weight makes any window/hop ratio exact (with an identity model the input comes back unchanged), covers
 * the left-padded first window and the partial last window, and keeps a missing window from leaving a dip: its
 * neighbours fill its span. The weight is strictly positive (the half-sample shift keeps it off zero), so a sample that
 * only one window reaches, as at the very start of the channel, is simply that window's value; yet it falls to almost
 * zero at the window edges, where a model's output is least reliable and where a hard cut would leave a seam.
 *
 * <p>Output is cut on a fixed grid of chunks of {@link #chunkSamples} (the hop) from sample 0: chunk k covers samples
 * [k·C, (k+1)·C). A chunk is emitted once no later window can reach it, i.e. when the next window starts at or after
 * its end. Samples before 0 (left padding) and after the end of the real audio are never emitted. Samples that no
 * window reached (every window covering them failed) come out as silence.
 *
 * <p>The public fields are the whole state, stored by Flink as a POJO of primitive arrays. Only the not yet emitted
 * part of the timeline is kept: the weighted sum (the numerator) and the spans of the windows folded in, from which
 * the denominator is recomputed at emission instead of being stored.
 */
public class OverlapAdd {
    /** Length of an emitted chunk (the hop); 0 until the first window sets it. */
    public int chunkSamples;
    /** Timeline position of the next sample to emit. */
    public long emitted;
    /** Sequence number of the next chunk. */
    public long nextSeq;
    /** End (exclusive) of the real audio seen so far. */
    public long end;
    /** Weighted sum of window outputs for timeline samples emitted, emitted + 1, ... */
    public float[] numerator = new float[0];
    /** Start, end of valid audio, and window length of each folded window whose audio reaches past {@link #emitted}. */
    public long[] spanStarts = new long[0];

    public long[] spanEnds = new long[0];
    public int[] spanLengths = new int[0];

    private transient float[] weightTable;

    public OverlapAdd() {}

    /** A piece of the output: {@code samples} at timeline position {@code startSample}. */
    public record Chunk(long seq, long startSample, float[] samples, boolean endOfStream) {}

    /** Sets the chunk length once; later windows keep it so that the grid never moves within a channel. */
    public void init(int hopSamples) {
        if (chunkSamples == 0) {
            if (hopSamples <= 0) {
                throw new IllegalArgumentException("hop must be positive, got " + hopSamples);
            }
            chunkSamples = hopSamples;
        }
    }

    /**
     * Folds one window output into the timeline.
     *
     * @param start timeline position of {@code output[0]} (negative when the window is left-padded)
     * @param windowSamples the window length, which sets the cross-fade weight
     * @param output the model's output for the window
     * @param validSamples how much of the window, from its start, is real audio
     */
    public void add(long start, int windowSamples, float[] output, int validSamples) {
        int valid = Math.min(Math.min(validSamples, windowSamples), output.length);
        long spanEnd = start + valid;
        extendEnd(spanEnd);
        long from = Math.max(start, emitted);
        if (spanEnd <= from) {
            return; // nothing left to emit in this window (all padding, or already emitted)
        }
        ensureCapacity(spanEnd);
        float[] w = weights(windowSamples);
        for (long p = from; p < spanEnd; p++) {
            int n = (int) (p - start);
            numerator[(int) (p - emitted)] += w[n] * output[n];
        }
        int k = spanStarts.length;
        spanStarts = Arrays.copyOf(spanStarts, k + 1);
        spanEnds = Arrays.copyOf(spanEnds, k + 1);
        spanLengths = Arrays.copyOf(spanLengths, k + 1);
        spanStarts[k] = start;
        spanEnds[k] = spanEnd;
        spanLengths[k] = windowSamples;
    }

    /** Records that real audio reaches {@code sampleEnd}, also for a window whose output is missing. */
    public void extendEnd(long sampleEnd) {
        end = Math.max(end, sampleEnd);
    }

    /**
     * Emits every whole chunk that ends at or before {@code upTo} (and the real audio): call with the start of the next
     * window, before which no later window adds anything.
     */
    public List<Chunk> drain(long upTo) {
        List<Chunk> chunks = new ArrayList<>();
        long limit = Math.min(upTo, end);
        while (chunkSamples > 0 && emitted + chunkSamples <= limit) {
            chunks.add(emit(chunkSamples, false));
        }
        compact();
        return chunks;
    }

    /**
     * Emits the rest of the real audio; the last chunk may be shorter and carries end of stream. If everything was
     * already emitted, the end-of-stream chunk is empty so that consumers still see the end.
     */
    public List<Chunk> finish() {
        List<Chunk> chunks = new ArrayList<>();
        int size = chunkSamples > 0 ? chunkSamples : Integer.MAX_VALUE;
        do {
            int length = (int) Math.min(size, Math.max(0, end - emitted));
            boolean last = emitted + length >= end;
            chunks.add(emit(length, last));
        } while (emitted < end);
        compact();
        return chunks;
    }

    private Chunk emit(int length, boolean endOfStream) {
        float[] samples = new float[length];
        for (int i = 0; i < length; i++) {
            long p = emitted + i;
            double den = 0;
            for (int s = 0; s < spanStarts.length; s++) {
                if (p >= spanStarts[s] && p < spanEnds[s]) {
                    den += weights(spanLengths[s])[(int) (p - spanStarts[s])];
                }
            }
            float num = i < numerator.length ? numerator[i] : 0f;
            samples[i] = den > 0 ? (float) (num / den) : 0f;
        }
        Chunk chunk = new Chunk(nextSeq++, emitted, samples, endOfStream);
        // Shift the numerator so that index 0 stays at the next sample to emit.
        int shift = Math.min(length, numerator.length);
        numerator = Arrays.copyOfRange(numerator, shift, Math.max(shift, numerator.length));
        emitted += length;
        return chunk;
    }

    /** Drops spans wholly emitted, so the state holds only what later chunks still need. */
    private void compact() {
        int kept = 0;
        for (int s = 0; s < spanStarts.length; s++) {
            if (spanEnds[s] > emitted) {
                spanStarts[kept] = spanStarts[s];
                spanEnds[kept] = spanEnds[s];
                spanLengths[kept] = spanLengths[s];
                kept++;
            }
        }
        if (kept != spanStarts.length) {
            spanStarts = Arrays.copyOf(spanStarts, kept);
            spanEnds = Arrays.copyOf(spanEnds, kept);
            spanLengths = Arrays.copyOf(spanLengths, kept);
        }
    }

    private void ensureCapacity(long spanEnd) {
        int needed = (int) (spanEnd - emitted);
        if (numerator.length < needed) {
            numerator = Arrays.copyOf(numerator, needed);
        }
    }

    private float[] weights(int length) {
        if (weightTable == null || weightTable.length != length) {
            weightTable = crossFade(length);
        }
        return weightTable;
    }

    /** {@code sin²(π (n + ½) / L)}: shifted copies at any hop that divides L sum to a constant, never exactly zero. */
    static float[] crossFade(int length) {
        float[] w = new float[length];
        for (int n = 0; n < length; n++) {
            double s = Math.sin(Math.PI * (n + 0.5) / length);
            w[n] = (float) (s * s);
        }
        return w;
    }
}
