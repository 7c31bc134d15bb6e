"""Benchmark `painkg batch`: patients/s with 1 and 2 jobs, the store's load time, size and query times.

    python benchmarks/bench_batch.py [--patients 10000] [--seed 7] [--json benchmarks/results/batch.json]

Each configuration runs `kg.batch` in a fresh process (so that process's peak RSS is the
parent's: the loader's, with --jobs 2). The machine is shared and noisy: compare the rows of one
run with each other.
"""

from __future__ import annotations

import argparse
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
summary = kg.batch([sys.argv[1]], out=sys.argv[2], jobs=int(sys.argv[3]), store=sys.argv[4] or None,
                   summary_only=sys.argv[5] == "1")
summary["parent_max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(summary))
"""


def run(cohort: Path, out: Path, jobs: int, store: Path | None, summary_only: bool = False) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    args = [sys.executable, "-c", _RUN, str(cohort), str(out), str(jobs), str(store or ""), "1" if summary_only else "0"]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "batch.json"))
    args = ap.parse_args()
    from kg.cohort.synthetic import write_ndjson

    tmp = Path(tempfile.mkdtemp(prefix="painkg-bench-"))
    cohort = tmp / "cohort.ndjson"
    write_ndjson(cohort, args.patients, seed=args.seed, bad=0.01)
    rows = {}
    for name, jobs, store in (("jobs 1", 1, None), ("jobs 2", 2, None), ("jobs 2 + store", 2, tmp / "store")):
        summary = run(cohort, tmp / name.replace(" ", "-"), jobs, store)
        rows[name] = {"patients_per_s": summary["timings"]["patients_per_second"],
                      "wall_s": summary["timings"]["wall_seconds"], "parent_max_rss_mib": summary["parent_max_rss_mib"],
                      "store": summary["store"]}
        print(name, json.dumps(rows[name]), file=sys.stderr)
    import kg

    queries = {}
    for path in sorted((ROOT / "examples" / "queries").glob("*.rq")):
        started = time.perf_counter()
        try:
            result = kg.query(path.read_text(), store=tmp / "store",
                              limits=kg.store.query_limits.QueryLimits(timeout=600, max_rows=10_000_000))
            rows_out = len(result.rows) if result.rows else 1
        except kg.InputError as exc:  # a limit
            rows_out = str(exc)
        queries[path.stem] = {"seconds": round(time.perf_counter() - started, 3), "rows": rows_out}
        print(path.stem, queries[path.stem], file=sys.stderr)
    one, two = rows["jobs 1"]["patients_per_s"], rows["jobs 2"]["patients_per_s"]
    result = {"patients": args.patients, "seed": args.seed, "rows": rows, "jobs2_over_jobs1": round(two / one, 2),
              "queries_over_store": queries}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
