#!/usr/bin/env python3
"""gen_onnx.py — writes the malformed ONNX models of the bad-input corpus
(tests/corpus/onnx/*.bin; .onnx is git-ignored) with a tiny hand-written
protobuf encoder, so no onnx Python package is needed.  Field numbers are
those of onnx.proto.  Expected errors: tests/corpus/expected.tsv.

    python3 tests/corpus/gen_onnx.py [DIR]   (default: tests/corpus/onnx)
"""
import os
import struct
import sys


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def vint(field, n):
    return key(field, 0) + varint(n)


def ld(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


FLOAT = 1


def tensor_type(dims, elem=FLOAT):
    shape = b"".join(ld(1, vint(1, d)) for d in dims)      # Dimension.dim_value
    return ld(1, vint(1, elem) + ld(2, shape))               # TypeProto.tensor_type


def value_info(name, dims):
    return ld(1, name) + ld(2, tensor_type(dims))


def node(op, inputs, outputs, name, attrs=b""):
    b = b"".join(ld(1, i) for i in inputs) + b"".join(ld(2, o) for o in outputs)
    return b + ld(3, name) + ld(4, op) + attrs


def attr_ints(name, vals):
    # AttributeProto: name=1, ints=8, type=20 (INTS = 7)
    return ld(5, ld(1, name) + b"".join(vint(8, v) for v in vals) + vint(20, 7))


def tensor_raw(name, dims, floats):
    b = b"".join(vint(1, d) for d in dims) + vint(2, FLOAT) + ld(8, name)
    return b + ld(9, struct.pack("<%df" % len(floats), *floats))


def tensor_external(name, dims, location):
    b = b"".join(vint(1, d) for d in dims) + vint(2, FLOAT) + ld(8, name)
    entry = ld(1, "location") + ld(2, location)
    return b + ld(13, entry) + vint(14, 1)                  # data_location EXTERNAL


def model(nodes, inits, inputs, outputs, opset=13):
    g = b"".join(ld(1, n) for n in nodes) + ld(2, "g")
    g += b"".join(ld(5, t) for t in inits)
    g += b"".join(ld(11, v) for v in inputs) + b"".join(ld(12, v) for v in outputs)
    return vint(1, 8) + ld(8, ld(1, "") + vint(2, opset)) + ld(7, g)


def relu_model():
    return model([node("Relu", ["x"], ["y"], "relu0")], [],
                 [value_info("x", [1, 4])], [value_info("y", [1, 4])])


def cases():
    good = relu_model()
    yield "truncated.bin", good[: len(good) * 2 // 3]
    yield "garbage.bin", b"\xff\xfe this is not a protobuf \x00\x01\x02\x07\x07"
    yield "unsupported_op.bin", model(
        [node("Relu", ["x"], ["h"], "relu0"),
         node("FancyNewOp", ["h"], ["y"], "fancy0")], [],
        [value_info("x", [1, 4])], [value_info("y", [1, 4])])
    # MatMul of [1, 4] by a [3, 2] weight: inner dimensions disagree.
    yield "wrong_input_shape.bin", model(
        [node("MatMul", ["x", "w"], ["y"], "mm0")],
        [tensor_raw("w", [3, 2], [0.5] * 6)],
        [value_info("x", [1, 4])], [value_info("y", [1, 2])])
    # Conv needs a 4-D input; this model feeds it a 2-D one.
    yield "conv_rank.bin", model(
        [node("Conv", ["x", "w"], ["y"], "conv0", attr_ints("kernel_shape", [1, 1]))],
        [tensor_raw("w", [2, 4, 1, 1], [0.25] * 8)],
        [value_info("x", [1, 4])], [value_info("y", [1, 2, 1, 1])])
    yield "missing_external_data.bin", model(
        [node("MatMul", ["x", "w"], ["y"], "mm0")],
        [tensor_external("w", [4, 2], "no_such_weights.data")],
        [value_info("x", [1, 4])], [value_info("y", [1, 2])])
    yield "no_graph.bin", vint(1, 8) + ld(8, ld(1, "") + vint(2, 13))
    yield "bad_opset.bin", model(
        [node("Relu", ["x"], ["y"], "relu0")], [],
        [value_info("x", [1, 4])], [value_info("y", [1, 4])], opset=99)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "onnx")
    os.makedirs(out, exist_ok=True)
    for name, data in cases():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
