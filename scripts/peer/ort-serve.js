#!/usr/bin/env node
'use strict';
// ONNX Runtime baseline for multi-tenant serving: one process per tenant, as
// a provider would deploy ORT without mtserve. The process replays its
// tenant's arrivals from a trace (CSV `arrival_us,tenant`, same format the
// mtserve coordinator replays), open loop: each query is issued at its
// scheduled time whatever the state of earlier ones; while the session is
// busy, arrivals wait in a FIFO queue in this process. Latency is measured
// from the SCHEDULED arrival (as MLPerf LoadGen and mtserve do), so queueing
// and any lateness of this harness count against ORT.
//
//   node ort-serve.js --model M.onnx --tenant NAME --trace T.csv --out LAT.csv
//        [--threads K] [--cpus LIST] [--warmup N] [--start-at EPOCH_MS]
//        [--qos-ms Q] [--input IN.pb]... [--json]
//
// --cpus LIST pins the process (and so ORT's intra-op threads, which inherit
// the affinity) to LIST. Node cannot pin threads itself, so the process
// re-executes itself as `taskset -c LIST node ort-serve.js ...`; a launcher
// may equally do that wrapping itself (then leave --cpus out).
// --start-at synchronises several tenant processes: trace time 0 is that
// wall-clock instant (Date.now() milliseconds); start them with a common
// value a few seconds in the future so all have loaded and warmed up.
// Default: trace time 0 is right after warm-up.
//
// Output CSV columns: tenant,query,arrival_us,start_us,end_us,latency_us,service_us
// (times relative to trace time 0). A summary (count, p50/p90/p99/max latency
// in ms, and with --qos-ms the fraction within the target) goes to stdout,
// as one JSON line with --json.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

function usage(msg) {
    if (msg) process.stderr.write(`ort-serve: ${msg}\n`);
    process.stderr.write('usage: node ort-serve.js --model M.onnx --tenant NAME --trace T.csv --out LAT.csv '
        + '[--threads K] [--cpus LIST] [--warmup N] [--start-at EPOCH_MS] [--qos-ms Q] [--input IN.pb]... [--json]\n');
    process.exit(2);
}

function parseArgs(argv) {
    const a = { threads: 1, warmup: 5, inputs: [], json: false };
    const num = (name, v, min) => {
        const x = Number(v);
        if (v === undefined || !Number.isFinite(x) || x < min) usage(`${name} needs a number >= ${min}`);
        return x;
    };
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        switch (k) {
        case '--model': a.model = argv[++i]; break;
        case '--tenant': a.tenant = argv[++i]; break;
        case '--trace': a.trace = argv[++i]; break;
        case '--out': a.out = argv[++i]; break;
        case '--threads': a.threads = Math.trunc(num(k, argv[++i], 1)); break;
        case '--cpus': a.cpus = argv[++i]; break;
        case '--warmup': a.warmup = Math.trunc(num(k, argv[++i], 0)); break;
        case '--start-at': a.startAt = num(k, argv[++i], 0); break;
        case '--qos-ms': a.qosMs = num(k, argv[++i], 0); break;
        case '--input': a.inputs.push(argv[++i]); break;
        case '--json': a.json = true; break;
        case '-h': case '--help': usage();
        // falls through (usage exits)
        default: usage(`unknown argument '${k}'`);
        }
    }
    for (const r of ['model', 'tenant', 'trace', 'out']) if (!a[r]) usage(`--${r} is required`);
    if (a.cpus !== undefined && !/^[0-9,-]+$/.test(a.cpus)) usage('--cpus needs a CPU list like 0-3,6');
    return a;
}

// Re-executes under taskset when --cpus is given and we are not pinned yet.
function pinSelf(a) {
    if (a.cpus === undefined || process.env.MTS_PEER_PINNED === a.cpus) return;
    const r = spawnSync('taskset', ['-c', a.cpus, process.execPath, __filename, ...process.argv.slice(2)], {
        stdio: 'inherit',
        env: { ...process.env, MTS_PEER_PINNED: a.cpus },
    });
    if (r.error) {
        process.stderr.write(`ort-serve: cannot run taskset: ${r.error.message}\n`);
        process.exit(1);
    }
    process.exit(r.status === null ? 1 : r.status);
}

// Reads the arrival times (µs, sorted) of one tenant. A header line is
// optional; extra columns are ignored.
function readTrace(file, tenant) {
    const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    const out = [];
    lines.forEach((line, n) => {
        const s = line.trim();
        if (!s || s.startsWith('#')) return;
        const cols = s.split(',').map((c) => c.trim());
        if (n === 0 && !/^[0-9.]+$/.test(cols[0])) return;      // header
        if (cols.length < 2) throw new Error(`${file}:${n + 1}: expected arrival_us,tenant`);
        const t = Number(cols[0]);
        if (!Number.isFinite(t) || t < 0) throw new Error(`${file}:${n + 1}: bad arrival_us '${cols[0]}'`);
        if (cols[1] === tenant) out.push(t);
    });
    out.sort((x, y) => x - y);
    return out;
}

const sleep = (ms) => new Promise((res) => { setTimeout(res, ms); });

async function main() {
    const a = parseArgs(process.argv.slice(2));
    pinSelf(a);
    const {
        createSession, buildFeeds, quantile, median,
    } = require('./common');

    const arrivals = readTrace(a.trace, a.tenant);
    if (!arrivals.length) throw new Error(`no arrivals for tenant '${a.tenant}' in ${a.trace}`);
    const session = await createSession(a.model, a.threads);
    const feeds = buildFeeds(session, a.inputs);
    for (let i = 0; i < a.warmup; i++) await session.run(feeds);

    // Monotonic clock in µs; t0 = trace time 0.
    const hrUs = () => Number(process.hrtime.bigint()) / 1e3;
    let t0 = hrUs();
    if (a.startAt !== undefined) {
        const wait = a.startAt - Date.now();
        if (wait < 0) process.stderr.write(`ort-serve: --start-at is ${(-wait).toFixed(0)} ms in the past\n`);
        t0 += wait * 1e3;
    }

    // FIFO single server: query i starts at max(its arrival, end of i-1).
    // setTimeout is only ms-accurate, so it sleeps to ~1.5 ms before the
    // arrival and the rest is waited out by yielding (setImmediate) — a short
    // poll that only happens while the session is idle.
    const rows = [];
    for (let i = 0; i < arrivals.length; i++) {
        const due = t0 + arrivals[i];
        let now = hrUs();
        if (due - now > 1500) await sleep((due - now - 1500) / 1e3);
        while ((now = hrUs()) < due) await new Promise((res) => { setImmediate(res); });
        const start = hrUs();
        await session.run(feeds);
        const end = hrUs();
        rows.push([a.tenant, i, arrivals[i], start - t0, end - t0, end - due, end - start]);
    }
    await session.release();

    fs.mkdirSync(path.dirname(path.resolve(a.out)), { recursive: true });
    const csv = ['tenant,query,arrival_us,start_us,end_us,latency_us,service_us'];
    for (const r of rows) csv.push(r.map((v, j) => (j >= 2 ? v.toFixed(1) : v)).join(','));
    fs.writeFileSync(a.out, `${csv.join('\n')}\n`);

    const lat = rows.map((r) => r[5] / 1e3).sort((x, y) => x - y);
    const svc = rows.map((r) => r[6] / 1e3).sort((x, y) => x - y);
    const sum = {
        tenant: a.tenant,
        model: path.basename(a.model),
        threads: a.threads,
        cpus: a.cpus === undefined ? null : a.cpus,
        count: rows.length,
        p50_ms: +median(lat).toFixed(3),
        p90_ms: +quantile(lat, 0.9).toFixed(3),
        p99_ms: +quantile(lat, 0.99).toFixed(3),
        max_ms: +lat[lat.length - 1].toFixed(3),
        service_p50_ms: +median(svc).toFixed(3),
    };
    if (a.qosMs !== undefined) {
        sum.qos_ms = a.qosMs;
        sum.within_qos = +(lat.filter((x) => x <= a.qosMs).length / lat.length).toFixed(4);
    }
    if (a.json) process.stdout.write(`${JSON.stringify(sum)}\n`);
    else {
        process.stdout.write(`tenant ${sum.tenant} model ${sum.model} threads ${sum.threads} queries ${sum.count}\n`
            + `latency p50 ${sum.p50_ms} ms p90 ${sum.p90_ms} ms p99 ${sum.p99_ms} ms max ${sum.max_ms} ms\n`
            + `service p50 ${sum.service_p50_ms} ms\n`);
        if (a.qosMs !== undefined) process.stdout.write(`within ${a.qosMs} ms: ${(sum.within_qos * 100).toFixed(2)}%\n`);
    }
}

main().catch((e) => {
    process.stderr.write(`ort-serve: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
});
