"""Benchmark the listing queries over a cohort store: the engine alone against the whole ``kg.query``.

    python benchmarks/bench_query_rows.py STORE [--repeat 3] [--json PATH]

STORE is a directory built by ``painkg batch --store`` (``benchmarks/bench_store.py --keep DIR``
makes one). For each query of ``examples/queries/`` that lists patients, the best of ``--repeat``
runs of: Oxigraph in this process over the store opened read-only, every row read (``engine``),
and ``kg.query(store=STORE)`` (worker, parse check, rows sent out of the worker, rdflib terms).
``per row`` is what ``kg.query`` costs beyond the engine, divided by the rows (fork, store
opening and parse check included). ``sha`` hashes the JSON, TSV and CSV output, to compare runs of
two versions. A table on stdout, everything in JSON (default
``benchmarks/results/query-rows.json``). The machine is shared and noisy: compare rows of one run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTINGS = ("persistent-pain-through-knots", "preventable-knots")


def measure(store: str, name: str, repeat: int) -> dict:
    import pyoxigraph as ox

    import kg
    from kg.store.prefixes import PREFIXES
    from kg.store.query_limits import QueryLimits

    text = (ROOT / "examples" / "queries" / f"{name}.rq").read_text(encoding="utf-8")
    opened = ox.Store.read_only(store)
    engine, total, result = [], [], None
    for _ in range(repeat):
        started = time.perf_counter()
        sum(1 for _ in opened.query(text, use_default_graph_as_union=True, prefixes=PREFIXES))
        engine.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = kg.query(text, store=store, limits=QueryLimits(max_rows=10_000_000))
        total.append(time.perf_counter() - started)
    rows = len(result.rows)
    digest = hashlib.sha256((result.to_json() + result.to_tsv() + result.to_csv()).encode("utf-8")).hexdigest()
    return {"rows": rows, "engine_seconds": round(min(engine), 3), "kg_query_seconds": round(min(total), 3),
            "per_row_us": round((min(total) - min(engine)) / max(rows, 1) * 1e6, 1), "sha": digest[:16]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "query-rows.json"))
    args = ap.parse_args()
    report = {"store": args.store, "queries": {name: measure(args.store, name, args.repeat) for name in LISTINGS}}
    print(f"{'query':34} {'rows':>8} {'engine s':>9} {'kg.query s':>11} {'per row us':>11}  sha")
    for name, r in report["queries"].items():
        print(f"{name:34} {r['rows']:>8} {r['engine_seconds']:>9} {r['kg_query_seconds']:>11} "
              f"{r['per_row_us']:>11}  {r['sha']}")
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
