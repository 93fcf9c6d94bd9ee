#!/usr/bin/env node
'use strict';
// Runs one ONNX model under ONNX Runtime (CPU) the way `mtserve run` runs it,
// so the two can be compared on latency and on output values.
//
//   node ort-run.js --model FILE.onnx [--threads K] [--iters N] [--warmup N]
//                   [--input IN.pb]... [--output OUT.pb] [--json] [--no-spin]
//
// Without --input every float32 input gets the deterministic input
//   x_i = ((i * 2654435761) mod 2^32) / 2^32 * 2 - 1   (rounded once to float32)
// over the row-major flattened tensor (details in common.js and README.md).
// --input may be repeated for models with several inputs (bound by the
// TensorProto's name, else by position).
// Prints "median X ms", "min Y ms" and "p90 Z ms" lines, or with --json one
// line {"model","threads","iters","median_ms","min_ms","p90_ms"}.
// --output writes the first model output as a TensorProto (raw_data).

const path = require('path');
const {
    createSession, buildFeeds, tensorToProto, quantile, median, nowMs,
} = require('./common');
const { writeTensorFile } = require('./tensorproto');

function usage(msg) {
    if (msg) process.stderr.write(`ort-run: ${msg}\n`);
    process.stderr.write('usage: node ort-run.js --model FILE.onnx [--threads K] [--iters N] [--warmup N] '
        + '[--input IN.pb]... [--output OUT.pb] [--json] [--no-spin]\n');
    process.exit(2);
}

function parseArgs(argv) {
    const a = { threads: 1, iters: 20, warmup: 3, inputs: [], json: false, spin: true };
    const intArg = (name, v, min) => {
        if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) usage(`${name} needs an integer >= ${min}`);
        return Number(v);
    };
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        switch (k) {
        case '--model': a.model = argv[++i]; break;
        case '--threads': a.threads = intArg(k, argv[++i], 1); break;
        case '--iters': a.iters = intArg(k, argv[++i], 1); break;
        case '--warmup': a.warmup = intArg(k, argv[++i], 0); break;
        case '--input': a.inputs.push(argv[++i]); break;
        case '--output': a.output = argv[++i]; break;
        case '--json': a.json = true; break;
        case '--no-spin': a.spin = false; break;
        case '-h': case '--help': usage();
        // falls through (usage exits)
        default: usage(`unknown argument '${k}'`);
        }
    }
    if (!a.model) usage('--model is required');
    if (a.inputs.some((f) => f === undefined)) usage('--input needs a file');
    return a;
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    const extra = a.spin ? {} : {
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    const session = await createSession(a.model, a.threads, extra);
    const feeds = buildFeeds(session, a.inputs);

    let out;
    for (let i = 0; i < a.warmup; i++) out = await session.run(feeds);
    const lat = [];
    for (let i = 0; i < a.iters; i++) {
        const t0 = nowMs();
        out = await session.run(feeds);
        lat.push(nowMs() - t0);
    }
    lat.sort((x, y) => x - y);
    const res = {
        model: path.basename(a.model),
        threads: a.threads,
        iters: a.iters,
        median_ms: +median(lat).toFixed(3),
        min_ms: +lat[0].toFixed(3),
        p90_ms: +quantile(lat, 0.9).toFixed(3),
    };

    if (a.output) {
        const name = session.outputNames[0];
        writeTensorFile(a.output, tensorToProto(name, out[name]));
    }
    if (a.json) {
        process.stdout.write(`${JSON.stringify(res)}\n`);
    } else {
        process.stdout.write(`model ${res.model} threads ${res.threads} iters ${res.iters}\n`
            + `median ${res.median_ms} ms\nmin ${res.min_ms} ms\np90 ${res.p90_ms} ms\n`);
    }
    await session.release();
}

main().catch((e) => {
    process.stderr.write(`ort-run: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
});
