package io.meritstream.analytics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.meritstream.avro.EmotionEvent;
import io.meritstream.avro.EnhancedAudioChunk;
import io.meritstream.inference.InferenceDevice;
import io.meritstream.inference.InferenceFunction;
import io.meritstream.inference.InferenceSettings;
import io.meritstream.inference.MeritModel;
import io.meritstream.inference.MeritWindowModel;
import io.meritstream.inference.ModelCard;
import io.meritstream.inference.ModelOutputs;
import io.meritstream.inference.ModelSpec;
import io.meritstream.inference.OrtModelLoader;
import io.meritstream.inference.StreamingClassifier;
import io.meritstream.inference.WindowResult;
import io.meritstream.ingest.DecodedFrame;
import io.meritstream.session.SessionWindower;
import io.meritstream.session.WindowRequest;
import io.meritstream.session.WindowingConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.operators.async.AsyncWaitOperatorFactory;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/**
 * The job's streaming path, stage by stage in Flink's harnesses (windower with the model's chunk, inference with the
 * streaming encoder, analytics with its classifier and cross-fade), against PyTorch's {@code merit.streaming} on the
 * committed fixture (regenerate: {@code PYTHONPATH=model /usr/bin/python3 -m merit.fixtures --out
 * flink-job/src/test/resources/fixtures --streaming-only}): every window's emotion and the whole enhanced signal.
 */
class StreamingPathParityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FRAME = 320;

    @Test
    void windowerInferenceAndAnalyticsStreamAsPyTorchDoes() throws Exception {
        Path dir = Path.of(getClass()
                        .getResource("/fixtures/streaming/references.json")
                        .toURI())
                .getParent();
        JsonNode index = JSON.readTree(dir.resolve("references.json").toFile());
        float[] waveform = floats(dir.resolve("waveform.f32"));
        float[] expectedEnhanced = floats(dir.resolve("enhanced.f32"));
        float[] expectedLogits = floats(dir.resolve("window_logits.f32"));
        Path model = dir.resolve(index.get("model").asText());

        ModelSpec spec = new ModelSpec(model.toString(), InferenceDevice.CPU, false, 1, 1);
        ModelCard card = OrtModelLoader.card(spec);
        assertThat(card.isStreaming()).isTrue();
        ModelCard.Streaming streaming = card.streaming();

        List<WindowRequest> requests = windows(waveform, streaming.chunkSamples());
        assertThat(requests).hasSize(expectedLogits.length / 4);
        assertThat(requests).allSatisfy(r -> {
            assertThat(r.samples).hasSize(streaming.chunkSamples());
            assertThat(r.chunkOffset).isEqualTo(48_000 - streaming.chunkSamples());
        });

        List<WindowResult> results = infer(requests, spec);
        assertThat(results).allSatisfy(r -> {
            assertThat(r.failure).isNull();
            assertThat(r.emotionProbabilities).as("filled in by analytics").isNull();
            assertThat(r.serFrames).hasSize(streaming.framesPerHop() * streaming.featureDim());
            assertThat(r.enhanced).hasSize(streaming.enhancedSamples());
            assertThat(r.windowSamples).isEqualTo(48_000);
        });

        Configuration conf = new Configuration();
        conf.set(AnalyticsOptions.VAD_KIND, "energy");
        ChannelAnalytics analytics =
                new ChannelAnalytics(AnalyticsConfig.fromConfiguration(conf), StreamingClassifier.Spec.of(spec, card));
        List<EmotionEvent> events;
        List<EnhancedAudioChunk> audio = new ArrayList<>();
        try (KeyedOneInputStreamOperatorTestHarness<String, WindowResult, EmotionEvent> h =
                ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                        analytics, ChannelAnalytics.keySelector(), Types.STRING)) {
            h.setProcessingTime(100_000);
            for (WindowResult r : results) {
                h.processElement(r, 0);
            }
            events = h.extractOutputValues();
            for (StreamRecord<EnhancedAudioChunk> chunk : h.getSideOutput(ChannelAnalytics.ENHANCED_AUDIO)) {
                audio.add(chunk.getValue());
            }
        }

        assertThat(events).hasSize(requests.size());
        for (int w = 0; w < events.size(); w++) {
            float[] expected = new float[4];
            System.arraycopy(expectedLogits, 4 * w, expected, 0, 4);
            float[] probs = ModelOutputs.softmax(expected);
            var p = events.get(w).getProbabilities();
            float[] actual = {p.getAngry(), p.getSad(), p.getHappy(), p.getNeutral()};
            for (int c = 0; c < 4; c++) {
                assertThat(actual[c]).as("window %d class %d", w, c).isCloseTo(probs[c], within(2e-4f));
            }
        }

        float[] enhanced = new float[waveform.length];
        int at = 0;
        for (EnhancedAudioChunk chunk : audio) {
            assertThat(chunk.getStartSample()).isEqualTo(at);
            float[] samples = Pcm16.decode(chunk.getPayload().array());
            System.arraycopy(samples, 0, enhanced, at, samples.length);
            at += samples.length;
        }
        assertThat(at).as("every sample of the call, once").isEqualTo(waveform.length);
        double worst = 0;
        for (int n = 0; n < enhanced.length; n++) {
            worst = Math.max(worst, Math.abs(enhanced[n] - Math.max(-1f, Math.min(1f, expectedEnhanced[n]))));
        }
        // ORT against PyTorch (about 1e-4 here) plus PCM16 rounding (1.5e-5).
        assertThat(worst).isLessThan(1e-3);
    }

    /** The waveform as 20 ms frames through the windower with the model's chunk, then its end of stream. */
    private static List<WindowRequest> windows(float[] waveform, int chunkSamples) throws Exception {
        SessionWindower windower = new SessionWindower(WindowingConfig.defaults(), null, chunkSamples);
        try (KeyedOneInputStreamOperatorTestHarness<String, DecodedFrame, WindowRequest> h =
                ProcessFunctionTestHarnesses.forKeyedProcessFunction(windower, DecodedFrame::streamKey, Types.STRING)) {
            long seq = 0;
            for (int at = 0; at < waveform.length; at += FRAME, seq++) {
                float[] samples = java.util.Arrays.copyOfRange(waveform, at, Math.min(waveform.length, at + FRAME));
                h.processElement(new DecodedFrame("call", "agent", seq, 1_000L + at / 16, samples, false, 5_000), 0);
            }
            h.processElement(new DecodedFrame("call", "agent", seq, 0L, new float[0], true, 5_000), 0);
            return h.extractOutputValues();
        }
    }

    private static List<WindowResult> infer(List<WindowRequest> requests, ModelSpec spec) throws Exception {
        InferenceSettings settings = new InferenceSettings(spec, 4, 5, 16, 60_000);
        InferenceFunction function = new InferenceFunction(
                settings, s -> new MeritWindowModel(MeritModel.load(model(s)), InferenceDevice.CPU));
        try (OneInputStreamOperatorTestHarness<WindowRequest, WindowResult> h = new OneInputStreamOperatorTestHarness<>(
                new AsyncWaitOperatorFactory<>(function, 60_000, 16, AsyncDataStream.OutputMode.UNORDERED),
                TypeInformation.of(WindowRequest.class).createSerializer(new SerializerConfigImpl()))) {
            h.open();
            for (WindowRequest r : requests) {
                h.processElement(r, 0);
            }
            h.endInput();
            return h.extractOutputValues().stream()
                    .sorted(Comparator.comparingLong(r -> r.windowIndex))
                    .toList();
        }
    }

    private static Path model(ModelSpec spec) {
        return Path.of(spec.modelPath());
    }

    private static float[] floats(Path file) throws Exception {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(out);
        return out;
    }
}
