package io.meritstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

/**
 * The records and state of ingest must be Flink POJOs: a class that silently falls back to Kryo is slower, and its
 * state cannot evolve across savepoints.
 */
class IngestTypesTest {

    @Test
    void recordsAndStateArePojos() {
        for (Class<?> type :
                new Class<?>[] {IngestRecord.class, NativeFrame.class, DecodedFrame.class, ResamplerState.class}) {
            assertThat(TypeInformation.of(type)).as(type.getSimpleName()).isInstanceOf(PojoTypeInfo.class);
        }
    }

    @Test
    void resamplerStateSurvivesItsSerializerMidStream() throws Exception {
        float[] tone = ResamplerTest.tone(44_100, 1000, 0.5, 4 * 882);
        ResamplerState state = null;
        java.util.List<DecodedFrame> out = new java.util.ArrayList<>();
        for (int f = 0; f < 4; f++) {
            NativeFrame frame =
                    ResamplerTest.frame(f, 44_100, java.util.Arrays.copyOfRange(tone, f * 882, (f + 1) * 882), f == 3);
            if (state == null) {
                state = ResamplerState.startAt(frame);
            }
            state.append(frame, 0);
            out.addAll(state.drain(frame.endOfStream));
            // As if written to and read back from keyed state after every frame.
            state = roundTrip(ResamplerState.class, state);
        }
        assertThat(ResamplerTest.concat(out)).containsExactly(ResamplerTest.resampleWhole(tone, 44_100));
    }

    @Test
    void framesKeepTheFieldsTheyShareThroughTheirSerializers() throws Exception {
        DecodedFrame decoded = new DecodedFrame("s", "agent", 3, 1_060, new float[] {0.5f, -0.25f}, true, 7);
        assertThat(roundTrip(DecodedFrame.class, decoded)).isEqualTo(decoded);
        NativeFrame frame = new NativeFrame("s", "agent", 3, 1_060, 8_000, new float[] {0.5f}, true, 7);
        assertThat(roundTrip(NativeFrame.class, frame))
                .usingRecursiveComparison()
                .isEqualTo(frame);
    }

    @Test
    void keySelectorsOfBothFrameTypesSurviveSerialization() throws Exception {
        // As the job keys the streams around the resampler: method references in one class (see ChannelFrame).
        KeySelector<NativeFrame, String> nativeKey = NativeFrame::streamKey;
        KeySelector<DecodedFrame, String> decodedKey = DecodedFrame::streamKey;
        NativeFrame frame = new NativeFrame("s", "agent", 0, 0, 8_000, new float[0], false, 0);
        DecodedFrame decoded = new DecodedFrame("s", "agent", 0, 0, new float[0], false, 0);
        assertThat(InstantiationUtil.clone(nativeKey).getKey(frame)).isEqualTo(StreamKey.of("s", "agent"));
        assertThat(InstantiationUtil.clone(decodedKey).getKey(decoded)).isEqualTo(StreamKey.of("s", "agent"));
    }

    private static <T> T roundTrip(Class<T> type, T value) throws Exception {
        TypeSerializer<T> serializer = TypeInformation.of(type).createSerializer(new SerializerConfigImpl());
        DataOutputSerializer bytes = new DataOutputSerializer(1024);
        serializer.serialize(value, bytes);
        return serializer.deserialize(new DataInputDeserializer(bytes.getCopyOfBuffer()));
    }
}
