package io.meritstream.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.meritstream.avro.WindowFlag;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The windower's records and state are Flink POJOs: no Kryo on the wire or in checkpoints. */
class SessionTypesTest {

    @Test
    void windowRequestRoundTripsThroughThePojoSerializerWithGenericTypesDisabled() throws Exception {
        WindowRequest request = new WindowRequest();
        request.sessionId = "call-1";
        request.channel = "customer";
        request.windowIndex = 7;
        request.startSample = -32_000;
        request.hopSamples = 16_000;
        request.samples = new float[] {0f, 0.5f, -1f};
        request.validSamples = 2;
        request.finalWindow = true;
        request.flags = new WindowFlag[] {WindowFlag.PADDED_START, WindowFlag.END_OF_STREAM};
        request.lastArrivalMs = 123;
        request.streamStartMs = 456;

        assertThat(roundTrip(WindowRequest.class, request)).isEqualTo(request);
    }

    @Test
    void stateTypesAreSerializedAsPojos() throws Exception {
        StreamState state = new StreamState();
        state.sessionId = "call-1";
        state.channel = "agent";
        state.nextSeq = 42;
        state.gapEndSample = 1_000;
        assertThat(roundTrip(StreamState.class, state))
                .usingRecursiveComparison()
                .isEqualTo(state);

        BufferedFrame frame = new BufferedFrame();
        frame.samples = new float[] {0.25f};
        frame.endOfStream = true;
        assertThat(roundTrip(BufferedFrame.class, frame))
                .usingRecursiveComparison()
                .isEqualTo(frame);
    }

    private static <T> T roundTrip(Class<T> type, T value) throws Exception {
        TypeInformation<T> info = TypeInformation.of(type);
        assertThat(info).isInstanceOf(PojoTypeInfo.class).isNotInstanceOf(GenericTypeInfo.class);
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        TypeSerializer<T> serializer = info.createSerializer(new SerializerConfigImpl(conf));
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(value, out);
        return serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }
}
