#!/usr/bin/env python3
"""check_sweep.py DIR POLICY... — checks that a sweep directory is complete
and self-consistent: the CSV files have their columns and one row per policy
(and seed), each reported max load is a passing point with a failing point
just above it (or is 0 / the highest point tried), summary.csv agrees with
sweep.csv, the last policy carries at least the first one's load, and the
PNG plots exist with a PNG signature."""
import csv
import json
import os
import sys

PNG = b"\x89PNG\r\n\x1a\n"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def rows(path, need):
    if not os.path.getsize(path):
        fail(f"{path} is empty")
    with open(path) as f:
        r = list(csv.DictReader(f))
    for c in need:
        if not r or c not in r[0]:
            fail(f"{path}: no column {c}")
    return r


def png(path):
    if not os.path.isfile(path):
        fail(f"missing plot {path}")
    with open(path, "rb") as f:
        head = f.read(8)
    if head != PNG or os.path.getsize(path) < 1000:
        fail(f"{path} is not a PNG image")


def main():
    d, pols = sys.argv[1], sys.argv[2:]
    meta = json.load(open(os.path.join(d, "sweep.json")))
    seeds, target, tol = meta["seeds"], meta["target"], meta["tol"]
    pts = rows(os.path.join(d, "points.csv"),
               ["policy", "seed", "phase", "rate_scale", "satisfaction", "worst_satisfaction", "pass",
                "worst_tenant_arrived", "worst_tenant_missed"])
    sw = rows(os.path.join(d, "sweep.csv"), ["policy", "seed", "max_rate_scale", "max_qps", "mean_ms_at_base"])
    sm = rows(os.path.join(d, "summary.csv"), ["policy", "max_scale_mean", "max_scale_min", "max_scale_max"])
    if [r["policy"] for r in sm] != pols:
        fail(f"summary.csv policies {[r['policy'] for r in sm]} != {pols}")
    if len(sw) != len(pols) * seeds:
        fail(f"sweep.csv has {len(sw)} rows, expected {len(pols) * seeds}")
    for p in pts:  # the pass rule, recomputed
        ok = float(p["satisfaction"]) >= target and float(p["worst_satisfaction"]) >= target
        n, miss = int(p["worst_tenant_arrived"]), int(p["worst_tenant_missed"])
        if not 0 <= miss <= n or (n and abs(1 - miss / n - float(p["worst_satisfaction"])) > 1e-5):
            fail(f"points.csv row {p}: worst tenant's {miss} misses of {n} disagree with its satisfaction")
        if ok != (p["pass"] == "1"):
            fail(f"points.csv row {p} has pass={p['pass']} against target {target}")
    for r in sw:
        mine = [p for p in pts if p["policy"] == r["policy"] and p["seed"] == r["seed"]
                and p["phase"] in ("bracket", "bisect")]
        if not mine:
            fail(f"no search points for {r['policy']} seed {r['seed']}")
        mx = float(r["max_rate_scale"])
        passing = [float(p["rate_scale"]) for p in mine if p["pass"] == "1"]
        failing = [float(p["rate_scale"]) for p in mine if p["pass"] == "0"]
        if mx == 0:
            if passing:
                fail(f"{r['policy']}: max 0 but a passing point exists")
            continue
        if not any(abs(s - mx) <= 1e-4 * mx for s in passing):
            fail(f"{r['policy']} seed {r['seed']}: max {mx} is not a passing point")
        above = [s for s in failing if s > mx]
        if above and min(above) > mx * (1 + tol) * 1.001 and len(mine) < 40:
            fail(f"{r['policy']} seed {r['seed']}: bracket [{mx}, {min(above)}] wider than tol {tol}")
    for s in sm:
        v = [float(r["max_rate_scale"]) for r in sw if r["policy"] == s["policy"]]
        if abs(sum(v) / len(v) - float(s["max_scale_mean"])) > 1e-3 * max(v) \
                or abs(min(v) - float(s["max_scale_min"])) > 1e-3 * max(v):
            fail(f"summary.csv row {s} disagrees with sweep.csv {v}")
    first, last = float(sm[0]["max_scale_mean"]), float(sm[-1]["max_scale_mean"])
    if not first > 0:
        fail("the baseline carries no load at all")
    if last < first:
        fail(f"{pols[-1]} max load {last} < {pols[0]} max load {first}")
    for name in ("satisfaction_vs_load", "max_load"):
        png(os.path.join(d, "plots", name + ".png"))
    for p in pols:
        run = os.path.join(d, "runs", p)
        json.load(open(os.path.join(run, "summary.json")))
        for name in ("latency_cdf", "timeline", "utilisation"):
            png(os.path.join(run, "plots", name + ".png"))
    print("ok: " + ", ".join("%s x%.3g" % (s["policy"], float(s["max_scale_mean"])) for s in sm))


main()
