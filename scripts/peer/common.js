'use strict';
// Shared pieces of the ORT peer harness: session creation with the settings
// mtserve is compared under, the deterministic input that mtserve generates
// too, input binding, and latency statistics.
//
// DETERMINISTIC INPUT (must match mtserve's C implementation bit for bit):
//   for a float32 input with N elements, flattened in row-major order,
//     h_i     = (i * 2654435761) mod 2^32        (i = 0 .. N-1, unsigned 32-bit)
//     x_i     = h_i / 2^32 * 2 - 1               (in [-1, 1))
//   evaluated exactly (in double: h_i / 2^31 - 1 is exact there) and then
//   rounded ONCE to the nearest float32. In C:
//     uint32_t h = (uint32_t)i * 2654435761u;
//     float x = (float)((double)h / 4294967296.0 * 2.0 - 1.0);
//   Every input of the model starts again at i = 0. Dimensions that the model
//   leaves symbolic (batch, sequence) are taken as 1. Non-float inputs have no
//   deterministic default: pass --input for them.

const ort = require('onnxruntime-node');
const { DT, DT_INFO, ORT_TO_DT, readTensorFile } = require('./tensorproto');

function detValue(i) {
    const h = Math.imul(i, 2654435761 | 0) >>> 0;   // exact mod 2^32 product
    return h / 4294967296 * 2 - 1;
}

function fillDeterministic(n) {
    const a = new Float32Array(n);                   // store rounds to float32 once
    for (let i = 0; i < n; i++) a[i] = detValue(i);
    return a;
}

// Settings of the comparison: K intra-op threads, no inter-op parallelism,
// sequential execution, all graph optimisations (ORT's default for users).
async function createSession(model, threads, extra = {}) {
    const opts = {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
        ...extra,
    };
    return ort.InferenceSession.create(model, opts);
}

function concreteShape(shape) {
    return shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
}

// Builds the feeds object. `files` are TensorProto paths; a file whose tensor
// name matches a model input binds to it, the others bind by position to the
// inputs not yet bound. Inputs without a file get the deterministic input.
function buildFeeds(session, files = []) {
    const meta = session.inputMetadata;
    const feeds = {};
    const unnamed = [];
    for (const f of files) {
        const t = readTensorFile(f);
        if (t.name && session.inputNames.includes(t.name) && !(t.name in feeds)) {
            feeds[t.name] = new ort.Tensor(DT_INFO[t.dataType].ort, t.data, t.dims);
        } else {
            unnamed.push({ f, t });
        }
    }
    for (const name of session.inputNames) {
        if (name in feeds) continue;
        if (unnamed.length) {
            const { t } = unnamed.shift();
            feeds[name] = new ort.Tensor(DT_INFO[t.dataType].ort, t.data, t.dims);
            continue;
        }
        const m = meta.find((x) => x.name === name);
        if (!m || !m.isTensor || m.type !== 'float32') {
            throw new Error(`input '${name}' is ${m ? m.type : 'unknown'}; only float32 inputs get a deterministic default, pass --input`);
        }
        const shape = concreteShape(m.shape);
        const n = shape.reduce((a, b) => a * b, 1);
        feeds[name] = new ort.Tensor('float32', fillDeterministic(n), shape);
    }
    if (unnamed.length) {
        throw new Error(`more --input files than model inputs (${unnamed.map((u) => u.f).join(', ')} unused)`);
    }
    return feeds;
}

// Converts an ort.Tensor to the {name, dataType, dims, data} form tensorproto.js writes.
function tensorToProto(name, t) {
    const dataType = ORT_TO_DT[t.type];
    if (!dataType) throw new Error(`output '${name}' has type ${t.type}, cannot write TensorProto`);
    return { name, dataType, dims: t.dims.map(Number), data: t.data };
}

function quantile(sorted, q) {
    if (!sorted.length) return NaN;
    const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return sorted[idx];
}

function median(sorted) {
    const n = sorted.length;
    if (!n) return NaN;
    return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

function nowMs() {
    return Number(process.hrtime.bigint()) / 1e6;
}

module.exports = {
    ort, DT, detValue, fillDeterministic, createSession, buildFeeds, tensorToProto,
    quantile, median, nowMs,
};
