package io.meritstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/**
 * The records and state of ingest must be Flink POJOs: a class that silently falls back to Kryo is slower, and its
 * state cannot evolve across savepoints.
 */
class IngestTypesTest {

    @Test
    void recordsAndStateArePojos() {
        for (Class<?> type : new Class<?>[] {IngestRecord.class, NativeFrame.class, ResamplerState.class}) {
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
            state = roundTrip(state); // as if written to and read back from keyed state after every frame
        }
        assertThat(ResamplerTest.concat(out)).containsExactly(ResamplerTest.resampleWhole(tone, 44_100));
    }

    private static ResamplerState roundTrip(ResamplerState state) throws Exception {
        TypeSerializer<ResamplerState> serializer =
                TypeInformation.of(ResamplerState.class).createSerializer(new SerializerConfigImpl());
        DataOutputSerializer bytes = new DataOutputSerializer(1024);
        serializer.serialize(state, bytes);
        return serializer.deserialize(new DataInputDeserializer(bytes.getCopyOfBuffer()));
    }
}
