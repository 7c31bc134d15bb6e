"""Benchmark SPARQL over a synthetic cohort: Oxigraph (what `kg.query` runs) vs rdflib.

    python benchmarks/bench_query.py [--sizes 100 1000] [--rdflib-max 1000]

For each cohort size: explaining the patients, the end-to-end `kg.query` (explain, RDF,
load into Oxigraph, query), and the same query on the rdflib `Dataset` from `kg.dataset`.
Prints a table, writes JSON. Shared, noisy machine: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import kg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_explain import synthetic_patients  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUERY = (ROOT / "examples" / "queries" / "persistent-pain-through-knots.rq").read_text(encoding="utf-8")


def clock(fn):
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--rdflib-max", type=int, default=1000, help="largest cohort also queried with rdflib")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "query.json"))
    args = ap.parse_args()
    from kg.store.sparql import PREFIXES

    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(PREFIXES.items()))
    rows = []
    for n in args.sizes:
        patients = synthetic_patients(n, seed=11)
        reasoner = kg.Reasoner()
        t_explain, _ = clock(lambda: [reasoner.explain(p) for p in patients])
        t_query, result = clock(lambda: kg.query(QUERY, patients=patients))
        row = {"patients": n, "explain_s": round(t_explain, 3), "kg_query_total_s": round(t_query, 3),
               "rows": len(result)}
        if n <= args.rdflib_max:
            t_build, ds = clock(lambda: kg.dataset(patients=patients))
            ds.default_union = True
            t_rdflib, answer = clock(lambda: list(ds.query(prologue + QUERY)))
            assert len(answer) == len(result), "both stores must give the same answer"
            row.update(rdflib_dataset_build_s=round(t_build, 3), rdflib_query_s=round(t_rdflib, 3),
                       quads=len(ds))
        rows.append(row)
        print(f"  {n} patients done", file=sys.stderr)
    print("| patients | explain all (s) | kg.query end to end (s) | rdflib: build Dataset (s) | rdflib: query (s) | rows |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['patients']} | {r['explain_s']} | {r['kg_query_total_s']} | "
              f"{r.get('rdflib_dataset_build_s', '-')} | {r.get('rdflib_query_s', '-')} | {r['rows']} |")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"python": platform.python_version(), "query": "persistent-pain-through-knots.rq",
                               "note": "shared, noisy machine: compare ratios within this run",
                               "rows": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
