#!/usr/bin/env node
'use strict';
// Compares two TensorProto files element by element (A = candidate, e.g.
// mtserve's output; B = reference, e.g. ORT's or the ONNX test data's).
//
//   node tensor-diff.js A.pb B.pb [--json] [--tol T]
//
// Prints max_abs_diff = max|a-b| and norm_max_err = max|a-b| / max|b| (the
// error relative to the reference's magnitude, so it is meaningful for both
// logits and small activations). Shapes must have the same element count;
// differing dims or names are reported as a note. Exit status: 0 when the
// tensors are comparable (and, with --tol, norm_max_err <= T), 1 otherwise,
// 2 on usage or read errors. NaN anywhere counts as an infinite error.

const { readTensorFile } = require('./tensorproto');

function usage(msg) {
    if (msg) process.stderr.write(`tensor-diff: ${msg}\n`);
    process.stderr.write('usage: node tensor-diff.js A.pb B.pb [--json] [--tol T]\n');
    process.exit(2);
}

function diff(a, b) {
    let maxAbs = 0, maxRef = 0, argmax = -1;
    for (let i = 0; i < a.data.length; i++) {
        const x = Number(a.data[i]), y = Number(b.data[i]);
        const d = Math.abs(x - y);
        if (Number.isNaN(d)) { maxAbs = Infinity; argmax = i; } else if (d > maxAbs) { maxAbs = d; argmax = i; }
        const m = Math.abs(y);
        if (m > maxRef) maxRef = m;
    }
    let norm;
    if (maxAbs === 0) norm = 0;
    else if (maxRef === 0) norm = Infinity;
    else norm = maxAbs / maxRef;
    return { max_abs_diff: maxAbs, norm_max_err: norm, max_abs_ref: maxRef, argmax };
}

function main() {
    const argv = process.argv.slice(2);
    const files = [];
    let json = false, tol = null;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--json') json = true;
        else if (argv[i] === '--tol') {
            tol = Number(argv[++i]);
            if (!Number.isFinite(tol)) usage('--tol needs a number');
        } else if (argv[i].startsWith('--')) usage(`unknown argument '${argv[i]}'`);
        else files.push(argv[i]);
    }
    if (files.length !== 2) usage('need exactly two files');
    let a, b;
    try {
        a = readTensorFile(files[0]);
        b = readTensorFile(files[1]);
    } catch (e) {
        process.stderr.write(`tensor-diff: ${e.message}\n`);
        process.exit(2);
    }
    const notes = [];
    if (a.data.length !== b.data.length) {
        const msg = `element counts differ: ${JSON.stringify(a.dims)} (${a.data.length}) vs ${JSON.stringify(b.dims)} (${b.data.length})`;
        if (json) process.stdout.write(`${JSON.stringify({ error: msg })}\n`);
        else process.stdout.write(`${msg}\n`);
        process.exit(1);
    }
    if (JSON.stringify(a.dims) !== JSON.stringify(b.dims)) notes.push(`dims differ: ${JSON.stringify(a.dims)} vs ${JSON.stringify(b.dims)}`);
    if (a.dataType !== b.dataType) notes.push(`data types differ: ${a.dataType} vs ${b.dataType}`);
    const r = diff(a, b);
    r.count = a.data.length;
    if (notes.length) r.notes = notes;
    const ok = tol === null || r.norm_max_err <= tol;
    if (json) {
        // JSON has no Infinity/NaN: write those as strings "inf"/"nan".
        const enc = (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v).replace('Infinity', 'inf').toLowerCase() : v);
        process.stdout.write(`${JSON.stringify(r, enc)}\n`);
    } else {
        process.stdout.write(`elements ${r.count}\nmax_abs_diff ${r.max_abs_diff.toExponential(3)}\n`
            + `norm_max_err ${r.norm_max_err.toExponential(3)}\nmax_abs_ref ${r.max_abs_ref.toExponential(3)}\n`);
        for (const n of notes) process.stdout.write(`note: ${n}\n`);
        if (tol !== null) process.stdout.write(ok ? `OK (<= ${tol})\n` : `FAIL (> ${tol})\n`);
    }
    process.exit(ok ? 0 : 1);
}

main();
