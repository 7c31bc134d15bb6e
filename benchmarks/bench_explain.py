"""Benchmark one patient, fast: `painkg explain` start-up and `Reasoner.explain` + JSON vs bare experta.

    python benchmarks/bench_explain.py [--patients 2000] [--seed 7] [--repeat 3] [--chunk 50] [--starts 15]
                                       [--json benchmarks/results/explain.json]

Two tables, every row measured in this one run (the machine is shared and noisy: compare the
rows of one run with each other, not with another run's absolute numbers):

- start-up, whole process, median of --starts runs (wall clock, and the child's CPU time):
  `python -c pass`, `import kg.cli`, `painkg --help`, `painkg explain FILE`. The commands are
  the installed entry point `painkg` next to this interpreter, run from a temporary folder, so
  a non-editable install is measured as installed, not the checkout's sources;
- patients per second on one core (CPU time, median of --repeat rounds; within a round the cases
  take turns on chunks of --chunk patients, so that load from other processes falls on all rows
  alike; the JSON also gives each round's ratios): experta on painkg's own rules
  without tracing (the baseline: every rule family of `PainEngine`, on a plain
  `experta.KnowledgeEngine`), the traced engine, `Reasoner.explain`, and `Reasoner.explain` +
  `to_json()`, with each row's ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import kg
from kg.inputs.patient import parse_patient
from kg.rules._experta_compat import experta
from kg.rules.engine import PainEngine, observed_facts
from kg.rules.facts import Setting
from kg.rules.tracing import TracingEngine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "lower-back-strain-day20.json"

#: The same rules on a plain experta engine: painkg's rule families without the tracing engine,
#: derived from PainEngine so that a new family is in the baseline too.
UntracedEngine = type("UntracedEngine", tuple(b for b in PainEngine.__bases__ if b is not TracingEngine)
                      + (experta.KnowledgeEngine,), {"__doc__": "painkg's rules, no tracing."})


def synthetic_patients(n: int, seed: int) -> list[dict]:
    onto = kg.load_ontology()
    rng = random.Random(seed)
    kinds, sites, mechanisms, findings = (onto.keys(r) for r in ("injury", "site", "mechanism", "finding"))
    patients = []
    for i in range(n):
        injuries = []
        for kind, site in rng.sample([(k, s) for k in kinds for s in sites], rng.choice([1, 1, 1, 2])):
            injury = {"kind": kind, "site": site, "days_since_onset": rng.randint(0, 40),
                      "resolved": rng.random() < 0.2}
            if rng.random() < 0.7:
                injury["mechanism"] = rng.choice(mechanisms)
            injuries.append(injury)
        patients.append({"id": f"bench-{i}", "assessed_on": "2026-06-30", "injuries": injuries,
                         "findings": rng.sample(findings, rng.randint(0, 4))})
    return patients


def cpu_timed(fn, repeat: int) -> float:
    """Median CPU seconds of ``repeat`` calls (this process, one core)."""
    runs = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        runs.append(time.process_time() - t0)
    return statistics.median(runs)


def whole_process(argv: list[str], starts: int, cwd: str) -> dict:
    """Median wall and child CPU milliseconds of running ``argv`` to the end, ``starts`` times."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    walls, cpus = [], []
    subprocess.run(argv, check=True, capture_output=True, cwd=cwd, env=env)  # warm the OS caches (and painkg's)
    for _ in range(starts):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=cwd, env=env)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"wall_ms": round(statistics.median(walls) * 1000, 1), "cpu_ms": round(statistics.median(cpus) * 1000, 1),
            "wall_ms_min": round(min(walls) * 1000, 1)}


def startup_rows(starts: int) -> list[dict]:
    python = Path(sys.executable)
    painkg = python.parent / "painkg"
    if not painkg.exists():
        raise SystemExit(f"error: no installed entry point {painkg}: pip install . (or -e .) into this environment")
    cases = [("python -c pass", [str(python), "-c", "pass"]),
             ("import kg.cli", [str(python), "-c", "import kg.cli"]),
             ("painkg --help", [str(painkg), "--help"]),
             ("painkg explain FILE", [str(painkg), "explain", str(EXAMPLE)])]
    rows = []
    with tempfile.TemporaryDirectory(prefix="painkg-bench-") as cwd:  # never the checkout's kg/
        for name, argv in cases:
            row = {"case": name, **whole_process(argv, starts, cwd)}
            rows.append(row)
            print(f"  {name:<24} {row['wall_ms']:>8.1f} ms wall {row['cpu_ms']:>8.1f} ms CPU", file=sys.stderr)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=50, help="patients per turn of the interleaved rows")
    ap.add_argument("--starts", type=int, default=15, help="whole-process runs per start-up row")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "explain.json"))
    args = ap.parse_args()

    print(f"painkg benchmark: start-up, median of {args.starts} runs", file=sys.stderr)
    startup = startup_rows(args.starts)

    patients = synthetic_patients(args.patients, args.seed)
    parsed = [parse_patient(p) for p in patients]
    facts = [observed_facts(p) for p in parsed]
    reasoner = kg.Reasoner()
    untraced = UntracedEngine()
    n = len(patients)
    rows: list[dict] = []

    def untraced_run(chunk: range):
        for i in chunk:
            untraced.reset()
            untraced.declare(Setting(threshold_days=14))
            untraced.declare(*facts[i])
            untraced.run()

    cases = [("experta, same rules, no tracing (reused)", untraced_run, "baseline"),
             ("engine with tracing (reused), infer only", lambda c: [reasoner.engine.infer(facts[i]) for i in c], ""),
             ("kg.Reasoner.explain (parse+infer+chains)", lambda c: [reasoner.explain(patients[i]) for i in c], ""),
             ("kg.Reasoner.explain + to_json", lambda c: [reasoner.explain(patients[i]).to_json() for i in c], "")]
    chunks = [range(i, min(i + args.chunk, n)) for i in range(0, n, args.chunk)]
    print(f"{n} synthetic patients (seed {args.seed}), CPU time, median of {args.repeat} rounds", file=sys.stderr)
    # Interleaved: each round runs every case on one chunk of patients, then the next chunk, so
    # the load other processes put on this shared machine, which changes from second to second,
    # falls on every row alike; a row's time in a round is the sum over the chunks.
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _, fn, _ in cases:  # warm: first-use caches (the ontology's, the rules') are not what is measured
        fn(chunks[0])
    for _ in range(args.repeat):
        spent = dict.fromkeys(seconds, 0.0)
        for chunk in chunks:
            for name, fn, _ in cases:
                spent[name] += cpu_timed(lambda: fn(chunk), 1)
        for name in seconds:
            seconds[name].append(spent[name])
    for name, _, note in cases:
        median = statistics.median(seconds[name])
        rows.append({"case": name, "patients": n, "cpu_seconds": round(median, 4),
                     "cpu_seconds_runs": [round(x, 4) for x in seconds[name]],
                     "patients_per_s": round(n / median, 1), "note": note})
        print(f"  {name:<46} {n / median:>10.1f} patients/s", file=sys.stderr)
    # The ratio within each round too (both rows of a round ran under the same load).
    base_runs = seconds[cases[0][0]]
    ratio_per_round = {name: [round(b / s, 3) for b, s in zip(base_runs, runs)] for name, runs in seconds.items()}

    tracemalloc_peak = _peak_memory(reasoner, patients)
    base = rows[0]["patients_per_s"]
    for r in rows:
        r["ratio_to_baseline"] = round(r["patients_per_s"] / base, 3)
    result = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                    "note": "shared, noisy machine: compare rows within this run"},
        "kg": {"version": kg.__version__, "file": kg.__file__},
        "patients": n, "seed": args.seed, "chunk": args.chunk, "startup": startup, "rows": rows,
        "ratio_to_baseline_per_round": ratio_per_round,
        "tracemalloc_peak_mib_explaining_all": tracemalloc_peak,
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print()
    print("| whole process | median wall ms | median CPU ms |")
    print("|---|---:|---:|")
    for r in startup:
        print(f"| `{r['case']}` | {r['wall_ms']:.0f} | {r['cpu_ms']:.0f} |")
    print()
    print("| case (one core) | patients/s | x bare experta | note |")
    print("|---|---:|---:|---|")
    for r in rows:
        print(f"| {r['case']} | {r['patients_per_s']:.0f} | {r['ratio_to_baseline']:.2f} | {r['note']} |")
    print(f"\npeak traced memory while explaining {n} patients: {tracemalloc_peak} MiB; max RSS {result['max_rss_mib']} MiB")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def _peak_memory(reasoner, patients: list[dict]) -> float:
    import tracemalloc

    tracemalloc.start()
    for p in patients:
        reasoner.explain(p)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return round(peak / 2**20, 2)


if __name__ == "__main__":
    main()
