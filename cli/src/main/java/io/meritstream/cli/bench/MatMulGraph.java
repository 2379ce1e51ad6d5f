package io.meritstream.cli.bench;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A one-node ONNX graph {@code C = MatMul(A, B)} with float32 inputs A [M, K] and B [K, N], written as ONNX protobuf
 * bytes in memory, so the bench can measure ONNX Runtime's single-precision matrix-multiply peak on this machine
 * without a committed file or a Python step. ONNX Runtime loads it from the bytes.
 *
 * <p>Only the few protobuf fields the graph needs are written (field numbers from onnx.proto): ModelProto {ir_version
 * 1, graph 7, opset_import 8}, GraphProto {node 1, name 2, input 11, output 12}, NodeProto {input 1, output 2, name 3,
 * op_type 4}, ValueInfoProto {name 1, type 2}, TypeProto {tensor_type 1}, TypeProto.Tensor {elem_type 1, shape 2},
 * TensorShapeProto {dim 1}, Dimension {dim_value 1}, OperatorSetIdProto {domain 1, version 2}.
 */
public final class MatMulGraph {
    private MatMulGraph() {}

    private static final int FLOAT = 1; // TensorProto.DataType.FLOAT
    private static final int IR_VERSION = 8; // the IR of opset 17
    private static final int OPSET = 17;

    /** Floating-point operations of one [M, K] x [K, N] product: a multiply and an add per term. */
    public static double flops(long m, long k, long n) {
        return 2.0 * m * k * n;
    }

    public static byte[] model(long m, long k, long n) {
        Proto node = new Proto()
                .string(1, "A")
                .string(1, "B")
                .string(2, "C")
                .string(3, "matmul")
                .string(4, "MatMul");
        Proto graph = new Proto()
                .message(1, node)
                .string(2, "matmul_peak")
                .message(11, valueInfo("A", m, k))
                .message(11, valueInfo("B", k, n))
                .message(12, valueInfo("C", m, n));
        Proto opset = new Proto().string(1, "").varint(2, OPSET);
        return new Proto()
                .varint(1, IR_VERSION)
                .message(7, graph)
                .message(8, opset)
                .bytes();
    }

    private static Proto valueInfo(String name, long rows, long cols) {
        Proto shape = new Proto().message(1, new Proto().varint(1, rows)).message(1, new Proto().varint(1, cols));
        Proto tensor = new Proto().varint(1, FLOAT).message(2, shape);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensor));
    }

    /** A protobuf message being written: varint (wire type 0) and length-delimited (wire type 2) fields. */
    static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(int field, long value) {
            writeVarint((long) field << 3);
            writeVarint(value);
            return this;
        }

        Proto string(int field, String value) {
            return lengthDelimited(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto message) {
            return lengthDelimited(field, message.bytes());
        }

        private Proto lengthDelimited(int field, byte[] value) {
            writeVarint(((long) field << 3) | 2);
            writeVarint(value.length);
            out.writeBytes(value);
            return this;
        }

        private void writeVarint(long value) {
            while ((value & ~0x7FL) != 0) {
                out.write((int) ((value & 0x7F) | 0x80));
                value >>>= 7;
            }
            out.write((int) value);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
