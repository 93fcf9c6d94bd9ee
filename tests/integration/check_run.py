#!/usr/bin/env python3
"""check_run.py RESULTS_DIR [--expect-workers N] [--min-completed N]

Asserts that a `mtserve serve` results directory is complete and consistent:
- summary.json: per tenant and overall, arrived = completed + dropped + failed;
  books_ok; satisfaction within [0, 1];
- queries.csv: one row per query, counts agree with summary.json (measured
  rows), latency = done - scheduled arrival;
- rank-N.jsonl: one line per block; cores granted lie inside the worker's home;
  no core runs two blocks at once (all ranks share one monotonic clock on
  one node); blocks of a query run on one worker, in layer order;
- timeline.json: one event per block and core, none overlapping on a core.
Exits non-zero with a message on the first violation."""
import argparse, csv, glob, json, os, sys
from collections import defaultdict


def die(msg):
    print("check_run: " + msg, file=sys.stderr)
    sys.exit(1)


ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--expect-workers", type=int, default=0)
ap.add_argument("--min-completed", type=int, default=1)
a = ap.parse_args()

s = json.load(open(os.path.join(a.dir, "summary.json")))
if not s.get("books_ok"):
    die("summary.json: books_ok is false")
tot = defaultdict(int)
for t in s["tenants"] + [s["overall"]]:
    if t["arrived"] != t["completed"] + t["dropped"] + t["failed"]:
        die("books do not balance for %s: %s" % (t.get("name", "overall"), t))
    if not 0.0 <= t["satisfaction"] <= 1.0:
        die("satisfaction out of range: %s" % t)
for t in s["tenants"]:
    for k in ("arrived", "completed", "dropped", "failed"):
        tot[k] += t[k]
for k in tot:
    if tot[k] != s["overall"][k]:
        die("overall %s %d != sum over tenants %d" % (k, s["overall"][k], tot[k]))
if s["overall"]["completed"] < a.min_completed:
    die("only %d queries completed (want >= %d)" % (s["overall"]["completed"], a.min_completed))

rows = list(csv.DictReader(open(os.path.join(a.dir, "queries.csv"))))
measured = [r for r in rows if r["warmup"] == "0"]
if len(measured) != s["overall"]["arrived"]:
    die("queries.csv has %d measured rows, summary says %d arrived" % (len(measured), s["overall"]["arrived"]))
for r in rows:
    if r["state"] == "completed":
        lat = (int(r["done_us"]) - int(r["arrival_us"])) / 1000.0
        if abs(lat - float(r["latency_ms"])) > 0.01:
            die("query %s: latency_ms %s != done - scheduled arrival %.3f" % (r["id"], r["latency_ms"], lat))
    elif r["state"] not in ("dropped", "failed"):
        die("query %s left in state %s" % (r["id"], r["state"]))

homes = {w["rank"]: set(w["home"]) for w in s["extra"]["workers"]}
logs = sorted(glob.glob(os.path.join(a.dir, "rank-*.jsonl")))
if a.expect_workers and len(logs) != a.expect_workers:
    die("%d rank logs, expected %d" % (len(logs), a.expect_workers))
by_core = defaultdict(list)
by_query = defaultdict(list)
nblocks = 0
for path in logs:
    for ln, line in enumerate(open(path), 1):
        b = json.loads(line)
        nblocks += 1
        if b["status"] != "ok":
            continue
        if not set(b["cores"]) <= homes[b["rank"]]:
            die("%s:%d: cores %s outside home %s" % (path, ln, b["cores"], sorted(homes[b["rank"]])))
        if not b["sent_us"] <= b["recv_us"] <= b["bind_us"] <= b["start_us"] <= b["end_us"]:
            die("%s:%d: times out of order" % (path, ln))
        ru = [b.get(k) for k in ("cpu_us", "nivcsw", "nvcsw", "minflt", "majflt")]
        if not all(isinstance(x, int) and x >= 0 for x in ru):
            die("%s:%d: resource usage missing or negative: %s" % (path, ln, ru))
        for c in b["cores"]:
            by_core[c].append((b["start_us"], b["end_us"], path, ln))
        by_query[b["query"]].append((b["first"], b["last"], b["rank"]))
for c, iv in by_core.items():
    iv.sort()
    for x, y in zip(iv, iv[1:]):
        if y[0] < x[1]:
            die("core %d ran two blocks at once: %s:%d and %s:%d" % (c, x[2], x[3], y[2], y[3]))
for q, bl in by_query.items():
    if len({r for _, _, r in bl}) != 1:
        die("query %s ran on several workers" % q)
    bl.sort()
    for x, y in zip(bl, bl[1:]):
        if y[0] != x[1]:
            die("query %s: blocks not contiguous: %s" % (q, bl))
tl = json.load(open(os.path.join(a.dir, "timeline.json")))
ev = [e for e in tl["traceEvents"] if e["ph"] == "X"]
nev = sum(1 for c in by_core.values() for _ in c)
if len(ev) != nev:
    die("timeline.json has %d block events, rank logs have %d block-core pairs" % (len(ev), nev))
per_tid = defaultdict(list)
for e in ev:
    per_tid[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
for k, iv in per_tid.items():
    iv.sort()
    for x, y in zip(iv, iv[1:]):
        if y[0] < x[1]:
            die("timeline.json: core %s has overlapping blocks %s %s" % (k, x, y))
done = sum(1 for r in rows if r["state"] == "completed")
if len(by_query) < done:
    die("%d completed queries but only %d have blocks in the rank logs" % (done, len(by_query)))
print("check_run: ok: %d queries (%d completed), %d blocks on %d cores, %d workers"
      % (len(rows), done, nblocks, len(by_core), len(logs)))
