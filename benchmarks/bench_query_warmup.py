"""Benchmark the query worker after the first warm-up (one-shot callers) and the full one (painkg serve).

    python benchmarks/bench_query_warmup.py [--repeat 5] [--rounds 3]

Each mode runs in a new process: it warms rdflib's parser up (``load_rdflib_parser(full=...)``),
then runs every query of ``examples/queries/`` ``--repeat`` times through the guarded worker
(``kg.store.query_guard.run_query``: fork, parse check, Oxigraph) over the ontology. A worker
learns what the parent's warm-up did not reach again on every fork, so the full warm-up makes
each query cheaper. The two modes alternate for ``--rounds`` rounds (a new process each), so
that a noisy neighbour weighs on both alike. Prints a table (median ms per query) and writes
JSON. Shared, noisy machine: compare the two columns within one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_MODE = """
import json, sys, time
from pathlib import Path
from kg.store.dataset import oxigraph_store
from kg.store.prefixes import PREFIXES
from kg.store.query_guard import run_query
from kg.store.query_limits import QueryLimits
from kg.store.query_warmup import load_rdflib_parser

full, repeat = sys.argv[1] == "full", int(sys.argv[2])
store = oxigraph_store((), None, None, 14, ())
t0 = time.perf_counter()
load_rdflib_parser(full=full)
warm = time.perf_counter() - t0
times = {}
for path in sorted(Path("examples/queries").glob("*.rq")):
    text = path.read_text("utf-8")
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        run_query(store, text, prefixes=PREFIXES, use_default_graph_as_union=True, limits=QueryLimits(timeout=60))
        runs.append(time.perf_counter() - t)
    times[path.stem] = runs
print(json.dumps({"warm_s": warm, "times": times}))
"""


def run_mode(mode: str, repeat: int) -> dict:
    done = subprocess.run([sys.executable, "-c", _MODE, mode, str(repeat)], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "query_warmup.json"))
    args = ap.parse_args()
    first: dict = {"warm_s": [], "times": {}}
    full: dict = {"warm_s": [], "times": {}}
    for _ in range(args.rounds):
        for mode, pooled in (("first", first), ("full", full)):
            got = run_mode(mode, args.repeat)
            pooled["warm_s"].append(got["warm_s"])
            for name, runs in got["times"].items():
                pooled["times"].setdefault(name, []).extend(runs)
    for pooled in (first, full):
        pooled["warm_s"] = statistics.median(pooled["warm_s"])
    rows = []
    print(f"{'query':40} {'first warm-up ms':>17} {'full warm-up ms':>16}")
    for name in first["times"]:
        a = statistics.median(first["times"][name]) * 1000
        b = statistics.median(full["times"][name]) * 1000
        rows.append({"query": name, "first_ms": round(a, 1), "full_ms": round(b, 1)})
        print(f"{name:40} {a:17.1f} {b:16.1f}")
    print(f"{'warm-up itself (once per process), ms':40} {first['warm_s'] * 1000:17.1f} {full['warm_s'] * 1000:16.1f}")
    out = {"python": platform.python_version(), "repeat": args.repeat, "rounds": args.rounds, "rows": rows,
           "warm_ms": {"first": round(first["warm_s"] * 1000, 1), "full": round(full["warm_s"] * 1000, 1)}}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
