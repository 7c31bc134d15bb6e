"""Benchmark the cohort store: `batch --store` against plain `batch`, store size, parent RSS, query times.

    python benchmarks/bench_store.py [--patients 10000] [--jobs 2] [--seed 7] [--json PATH]

A synthetic cohort (1% bad records) runs through ``kg.batch`` twice, each in a fresh process
(its peak RSS is the parent's: the loader's with ``--jobs 2``): without a store, then with
``--store``. Then every query of ``examples/queries/`` runs over the store through the guarded
query worker with the default limits (``kg.query(store=...)``: the timing includes starting the
worker, opening the store, the parse check, sending the rows and making rdflib terms of them; the
one-patient derivation asks for ``syn-0000001``), and again in-process on the store alone
(``engine``: Oxigraph's evaluation, every row read), and one patient is read back as its
explanation (``kg.store.readback``). The
results JSON of both runs is compared byte for byte. A table on stdout, everything in JSON.
The machine is shared and noisy: compare the rows of one run with each other, and the CPU
seconds (parent with the loader's threads, and its workers) across runs.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_RUN = """
import json, resource, sys, kg
summary = kg.batch([sys.argv[1]], out=sys.argv[2], jobs=int(sys.argv[3]), store=sys.argv[4] or None)
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
summary["parent_max_rss_mib"] = round(me.ru_maxrss / 1024, 1)
# CPU seconds (user + system): the parent's (with the loader's threads) and its workers', which a busy
# machine does not inflate the way it inflates wall time.
summary["cpu_seconds"] = {"parent": round(me.ru_utime + me.ru_stime, 1), "workers": round(kids.ru_utime + kids.ru_stime, 1)}
print(json.dumps(summary))
"""

_QUERY = """
import json, sys, time, kg
import pyoxigraph as ox
from kg.store.prefixes import PREFIXES
from kg.store.readback import read_explanation
out = {}
for path in sys.argv[2:]:
    text = open(path, encoding="utf-8").read().replace('"p1"', '"syn-0000001"')  # a patient of this cohort
    started = time.perf_counter()
    try:
        result = kg.query(text, store=sys.argv[1])
        out[path] = {"seconds": round(time.perf_counter() - started, 3), "rows": len(result.rows)}
    except Exception as exc:  # a failed query is a result of the benchmark
        out[path] = {"seconds": round(time.perf_counter() - started, 3), "error": str(exc)[:200]}
# The engine alone: the same query in this process over the store opened read-only, every row read
# (no worker, no parse check, no transfer, no rdflib terms), to tell the engine from the pipeline.
store = ox.Store.read_only(sys.argv[1])
for path in sys.argv[2:]:
    text = open(path, encoding="utf-8").read().replace('"p1"', '"syn-0000001"')
    started = time.perf_counter()
    try:
        sum(1 for _ in store.query(text, use_default_graph_as_union=True, prefixes=PREFIXES))
        out[path]["engine_seconds"] = round(time.perf_counter() - started, 3)
    except Exception:
        pass
del store
started = time.perf_counter()
try:
    read_explanation(sys.argv[1], "syn-0000001")
    out["readback"] = {"seconds": round(time.perf_counter() - started, 3)}
except Exception as exc:
    out["readback"] = {"seconds": round(time.perf_counter() - started, 3), "error": str(exc)[:200]}
print(json.dumps(out))
"""


def run(cohort: Path, out: Path, jobs: int, store: Path | None) -> tuple[dict, float]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    args = [sys.executable, "-c", _RUN, str(cohort), str(out), str(jobs), str(store or "")]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(done.stdout), time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", default=None, help="where to write the results (default: "
                                                 "benchmarks/results/store-<patients>.json)")
    ap.add_argument("--keep", help="keep the cohort, runs and store in this directory")
    args = ap.parse_args()
    from kg.cohort.synthetic import write_ndjson

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="painkg-bench-store-"))
    tmp.mkdir(parents=True, exist_ok=True)
    cohort = tmp / "cohort.ndjson"
    write_ndjson(cohort, args.patients, seed=args.seed, bad=0.01)
    try:
        plain, plain_wall = run(cohort, tmp / "plain", args.jobs, None)
        shutil.rmtree(tmp / "store", ignore_errors=True)
        stored, stored_wall = run(cohort, tmp / "stored", args.jobs, tmp / "store")
        same = filecmp.cmp(tmp / "plain" / "results.jsonl", tmp / "stored" / "results.jsonl", shallow=False)
        queries = sorted(str(p) for p in (ROOT / "examples" / "queries").glob("*.rq"))
        done = subprocess.run([sys.executable, "-c", _QUERY, str(tmp / "store"), *queries], check=True,
                              capture_output=True, text=True)
        times = json.loads(done.stdout)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    size = stored["store"]["size_bytes"]
    report = {
        "patients": args.patients, "jobs": args.jobs, "results": stored["counts"]["results"],
        "plain_wall_seconds": round(plain_wall, 1), "store_wall_seconds": round(stored_wall, 1),
        "store_extra_seconds": round(stored_wall - plain_wall, 1),
        "load_seconds": stored["store"]["load_seconds"], "compact_seconds": stored["store"]["compact_seconds"],
        "store_bytes": size, "store_bytes_per_patient": round(size / max(1, stored["counts"]["results"])),
        "parent_rss_mib": {"plain": plain["parent_max_rss_mib"], "store": stored["parent_max_rss_mib"]},
        "cpu_seconds": {"plain": plain["cpu_seconds"], "store": stored["cpu_seconds"]},
        "store_extra_cpu_seconds": round(sum(stored["cpu_seconds"].values()) - sum(plain["cpu_seconds"].values()), 1),
        "results_identical": same,
        "queries": {Path(k).stem if k != "readback" else k: v for k, v in times.items()},
    }
    print(f"{args.patients:,} patients, --jobs {args.jobs}")
    print(f"{'':34} {'seconds':>9}")
    print(f"{'batch':34} {report['plain_wall_seconds']:>9}")
    print(f"{'batch --store':34} {report['store_wall_seconds']:>9}")
    print(f"{'  of which load + compact':34} {report['load_seconds']:>9}")
    cpu = report["cpu_seconds"]
    print(f"{'CPU: parent + workers (batch)':34} {cpu['plain']['parent']:>5} + {cpu['plain']['workers']}")
    print(f"{'CPU: parent + workers (--store)':34} {cpu['store']['parent']:>5} + {cpu['store']['workers']}"
          f"  (extra {report['store_extra_cpu_seconds']})")
    print(f"store: {size / 2**20:,.1f} MiB, {report['store_bytes_per_patient']:,} bytes/patient; parent RSS "
          f"{report['parent_rss_mib']['store']} MiB (plain {report['parent_rss_mib']['plain']} MiB); "
          f"results identical: {same}")
    print(f"{'query':38} {'seconds':>8} {'engine':>8} {'rows':>7}")
    for name, row in report["queries"].items():
        rows = row.get("rows", row.get("error", "")) if name != "readback" else ""
        print(f"{name:38} {row['seconds']:>8} {row.get('engine_seconds', ''):>8} {rows:>7}")
    target = Path(args.json) if args.json else ROOT / "benchmarks" / "results" / f"store-{args.patients}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
