package io.meritstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MatMulGraphTest {
    @Test
    void onnxRuntimeLoadsTheGraphAndMultiplies() throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] a = {1, 2, 3, 4, 5, 6}; // [2, 3]
        float[] b = {7, 8, 9, 10, 11, 12}; // [3, 2]
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = env.createSession(MatMulGraph.model(2, 3, 2), options);
                OnnxTensor ta = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {2, 3});
                OnnxTensor tb = OnnxTensor.createTensor(env, FloatBuffer.wrap(b), new long[] {3, 2});
                OrtSession.Result result = session.run(Map.of("A", ta, "B", tb))) {
            assertThat(session.getInputNames()).containsExactlyInAnyOrder("A", "B");
            float[][] c = (float[][]) result.get(0).getValue();
            assertThat(c[0]).containsExactly(new float[] {58, 64}, within(1e-5f));
            assertThat(c[1]).containsExactly(new float[] {139, 154}, within(1e-5f));
        }
    }

    @Test
    void flopsCountAMultiplyAndAnAddPerTerm() {
        assertThat(MatMulGraph.flops(2, 3, 4)).isEqualTo(48.0);
        assertThat(MatMulGraph.flops(2048, 2048, 2048)).isEqualTo(2.0 * 2048 * 2048 * 2048);
    }

    @Test
    void varintsAboveOneByteAreEncoded() {
        // 300 = 0b1_0010_1100 -> 0xAC 0x02 after the tag of field 1, wire type 0.
        byte[] bytes = new MatMulGraph.Proto().varint(1, 300).bytes();
        assertThat(bytes).containsExactly(0x08, 0xAC - 256, 0x02);
    }
}
