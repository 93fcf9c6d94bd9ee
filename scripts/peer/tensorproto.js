'use strict';
// Minimal reader/writer for ONNX TensorProto files (the *.pb files of the ONNX
// test data sets and what `mtserve run --input/--output` read and write).
// Hand-written protobuf wire-format code so the harness needs no protobuf
// package; only the TensorProto fields that carry dense tensor data are
// understood:
//   1 dims (int64, packed or not)   2 data_type (int32)
//   4 float_data (packed or not)    5 int32_data   7 int64_data
//   8 name (string)                 9 raw_data (little-endian bytes)
//  10 double_data                  11 uint64_data
// Other fields (segment, string_data, external_data, ...) are skipped; a
// tensor that would need them is rejected rather than silently misread.

const fs = require('fs');

// ONNX TensorProto.DataType values and their onnxruntime-node type names.
const DT = {
    FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7,
    STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13,
};
const DT_INFO = {
    1: { ort: 'float32', size: 4, Arr: Float32Array },
    2: { ort: 'uint8', size: 1, Arr: Uint8Array },
    3: { ort: 'int8', size: 1, Arr: Int8Array },
    4: { ort: 'uint16', size: 2, Arr: Uint16Array },
    5: { ort: 'int16', size: 2, Arr: Int16Array },
    6: { ort: 'int32', size: 4, Arr: Int32Array },
    7: { ort: 'int64', size: 8, Arr: BigInt64Array },
    9: { ort: 'bool', size: 1, Arr: Uint8Array },
    11: { ort: 'float64', size: 8, Arr: Float64Array },
    12: { ort: 'uint32', size: 4, Arr: Uint32Array },
    13: { ort: 'uint64', size: 8, Arr: BigUint64Array },
};
const ORT_TO_DT = {};
for (const [k, v] of Object.entries(DT_INFO)) ORT_TO_DT[v.ort] = Number(k);

class Reader {
    constructor(buf, start = 0, end = buf.length) {
        this.buf = buf; this.pos = start; this.end = end;
    }
    eof() { return this.pos >= this.end; }
    // Varints are read as BigInt because int64 dims/values can exceed 2^53.
    varint() {
        let result = 0n, shift = 0n;
        for (;;) {
            if (this.pos >= this.end) throw new Error('truncated varint');
            const b = this.buf[this.pos++];
            result |= BigInt(b & 0x7f) << shift;
            if (!(b & 0x80)) return result;
            shift += 7n;
            if (shift > 63n) throw new Error('varint too long');
        }
    }
    bytes(n) {
        if (this.pos + n > this.end) throw new Error('truncated field');
        const s = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return s;
    }
    skip(wire) {
        switch (wire) {
        case 0: this.varint(); break;
        case 1: this.bytes(8); break;
        case 2: this.bytes(Number(this.varint())); break;
        case 5: this.bytes(4); break;
        default: throw new Error(`unsupported wire type ${wire}`);
        }
    }
}

// Repeated scalar fields may arrive packed (wire type 2) or one per tag; the
// callback reads one element from a Reader positioned on it.
function readRepeated(r, wire, elemWire, readOne, out) {
    if (wire === 2) {
        const len = Number(r.varint());
        const sub = new Reader(r.buf, r.pos, r.pos + len);
        r.pos += len;
        while (!sub.eof()) out.push(readOne(sub));
    } else if (wire === elemWire) {
        out.push(readOne(r));
    } else {
        throw new Error(`bad wire type ${wire} for repeated field`);
    }
}

const i64 = (r) => BigInt.asIntN(64, r.varint());
const u64 = (r) => BigInt.asUintN(64, r.varint());
const i32 = (r) => Number(BigInt.asIntN(32, r.varint()));
const f32 = (r) => { const b = r.bytes(4); return Buffer.from(b).readFloatLE(0); };
const f64 = (r) => { const b = r.bytes(8); return Buffer.from(b).readDoubleLE(0); };

// Parses a TensorProto. Returns {name, dataType, dims: number[], data: TypedArray}.
function decodeTensor(buf) {
    const r = new Reader(buf);
    const dims = [];
    let dataType = 0, name = '', raw = null, hasSegment = false, hasExternal = false;
    const floats = [], int32s = [], int64s = [], doubles = [], uint64s = [];
    while (!r.eof()) {
        const key = Number(r.varint());
        const field = key >>> 3, wire = key & 7;
        switch (field) {
        case 1: readRepeated(r, wire, 0, (s) => Number(i64(s)), dims); break;
        case 2: dataType = i32(r); break;
        case 3: hasSegment = true; r.skip(wire); break;
        case 4: readRepeated(r, wire, 5, f32, floats); break;
        case 5: readRepeated(r, wire, 0, i32, int32s); break;
        case 7: readRepeated(r, wire, 0, i64, int64s); break;
        case 8: name = Buffer.from(r.bytes(Number(r.varint()))).toString('utf8'); break;
        case 9: raw = r.bytes(Number(r.varint())); break;
        case 10: readRepeated(r, wire, 1, f64, doubles); break;
        case 11: readRepeated(r, wire, 0, u64, uint64s); break;
        case 13: hasExternal = true; r.skip(wire); break;
        default: r.skip(wire);
        }
    }
    if (hasSegment) throw new Error('segmented TensorProto not supported');
    if (hasExternal) throw new Error('TensorProto with external_data not supported');
    const info = DT_INFO[dataType];
    if (!info) throw new Error(`TensorProto data_type ${dataType} not supported`);
    const count = dims.reduce((a, b) => a * b, 1);
    let data;
    if (raw) {
        if (raw.length !== count * info.size) {
            throw new Error(`raw_data has ${raw.length} bytes, dims ${JSON.stringify(dims)} need ${count * info.size}`);
        }
        // Copy into an aligned buffer: the subarray's offset may be unaligned.
        const ab = new ArrayBuffer(raw.length);
        new Uint8Array(ab).set(raw);
        data = new info.Arr(ab);
        if (require('os').endianness() !== 'LE') throw new Error('big-endian host not supported');
    } else {
        // Typed fields: which list holds the values depends on data_type
        // (onnx.proto: int32_data also holds int8/16, uint8/16, bool, fp16).
        let src;
        switch (dataType) {
        case DT.FLOAT: src = floats; break;
        case DT.DOUBLE: src = doubles; break;
        case DT.INT64: src = int64s; break;
        case DT.UINT32: case DT.UINT64: src = uint64s; break;
        default: src = int32s;
        }
        if (src.length !== count) {
            throw new Error(`TensorProto '${name}' has ${src.length} values, dims ${JSON.stringify(dims)} need ${count}`);
        }
        data = new info.Arr(count);
        for (let i = 0; i < count; i++) {
            const v = src[i];
            if (info.Arr === BigInt64Array || info.Arr === BigUint64Array) data[i] = BigInt(v);
            else data[i] = typeof v === 'bigint' ? Number(v) : v;
        }
    }
    return { name, dataType, dims, data };
}

function readTensorFile(path) {
    return decodeTensor(fs.readFileSync(path));
}

function encVarint(v, out) {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) { out.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    out.push(Number(x));
}

// Serialises {name, dataType, dims, data} as a TensorProto with dims written
// one per tag (the proto2 default, which every parser accepts), data_type,
// name and raw_data in little-endian order.
function encodeTensor(t) {
    const info = DT_INFO[t.dataType];
    if (!info) throw new Error(`cannot encode data_type ${t.dataType}`);
    const head = [];
    for (const d of t.dims) { head.push(0x08); encVarint(d, head); }
    head.push(0x10); encVarint(t.dataType, head);
    if (t.name) {
        const nb = Buffer.from(t.name, 'utf8');
        head.push(0x42); encVarint(nb.length, head);
        for (const b of nb) head.push(b);
    }
    const arr = t.data instanceof info.Arr ? t.data : info.Arr.from(t.data);
    const raw = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
    head.push(0x4a); encVarint(raw.length, head);
    return Buffer.concat([Buffer.from(head), raw]);
}

function writeTensorFile(path, t) {
    fs.writeFileSync(path, encodeTensor(t));
}

module.exports = {
    DT, DT_INFO, ORT_TO_DT, decodeTensor, encodeTensor, readTensorFile, writeTensorFile,
};
