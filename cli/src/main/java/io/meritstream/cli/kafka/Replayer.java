package io.meritstream.cli.kafka;

import io.meritstream.avro.AudioFrame;
import io.meritstream.cli.audio.StreamFramer;
import io.meritstream.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Sends the frames of several streams to a topic as a live capture would: all streams start together, frames of all
 * streams go out in the order their audio becomes complete, and with {@code speed > 0} each frame waits until its
 * audio would have been captured ({@code speed} 1 = real time, 4 = four times faster; 0 = as fast as possible). The
 * Kafka key is the session id, so that every frame of a call lands in one partition.
 */
public final class Replayer {
    /** What has been sent so far, for progress. */
    public record Progress(long framesSent, long framesTotal, double audioMsSent, long elapsedMs) {}

    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final double speed;
    private final SingleObjectCodec<AudioFrame> codec = SingleObjectCodec.of(AudioFrame.class);

    public Replayer(Producer<byte[], byte[]> producer, String topic, double speed) {
        this.producer = Objects.requireNonNull(producer, "producer");
        this.topic = Objects.requireNonNull(topic, "topic");
        if (!(speed >= 0) || Double.isInfinite(speed)) {
            throw new IllegalArgumentException("speed must be >= 0 (0 = as fast as possible), was " + speed);
        }
        this.speed = speed;
    }

    private record Next(StreamFramer stream, int seq, double readyAtMs) {}

    /**
     * Sends every frame of {@code streams}, calling {@code progress} after each, then flushes the producer.
     *
     * @return the number of frames sent
     * @throws Exception the first send failure the producer reported
     */
    public long replay(List<StreamFramer> streams, long startEpochMs, Consumer<Progress> progress) throws Exception {
        long total = streams.stream().mapToLong(StreamFramer::frameCount).sum();
        PriorityQueue<Next> queue = new PriorityQueue<>(Comparator.comparingDouble(Next::readyAtMs)
                .thenComparing(n -> n.stream().sessionId())
                .thenComparing(n -> n.stream().channel()));
        for (StreamFramer stream : streams) {
            queue.add(new Next(stream, 0, stream.readyAtMs(0)));
        }
        AtomicReference<Exception> failure = new AtomicReference<>();
        long wallStart = System.nanoTime();
        long sent = 0;
        double audioMs = 0;
        while (!queue.isEmpty()) {
            Next next = queue.poll();
            if (speed > 0) {
                long dueNanos = wallStart + (long) (next.readyAtMs() / speed * 1e6);
                long waitNanos = dueNanos - System.nanoTime();
                if (waitNanos > 0) {
                    Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
                }
            }
            Exception error = failure.get();
            if (error != null) {
                throw error;
            }
            AudioFrame frame = next.stream().frame(next.seq(), startEpochMs);
            producer.send(
                    new ProducerRecord<>(
                            topic, frame.getSessionId().getBytes(StandardCharsets.UTF_8), codec.encode(frame)),
                    (metadata, e) -> {
                        if (e != null) {
                            failure.compareAndSet(null, e);
                        }
                    });
            sent++;
            audioMs += next.stream().readyAtMs(next.seq()) - next.stream().offsetMs(next.seq());
            int following = next.seq() + 1;
            if (following < next.stream().frameCount()) {
                queue.add(new Next(next.stream(), following, next.stream().readyAtMs(following)));
            }
            progress.accept(new Progress(sent, total, audioMs, (System.nanoTime() - wallStart) / 1_000_000));
        }
        producer.flush();
        Exception error = failure.get();
        if (error != null) {
            throw error;
        }
        return sent;
    }
}
