"""Benchmark painkg's reasoning: patients per second and memory, as ratios within one run.

    python benchmarks/bench_explain.py [--patients 2000] [--seed 7] [--json benchmarks/results/explain.json]

Machines here are shared and noisy: compare the rows of one run with each other, not with
another run's absolute numbers. Each timed row is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import kg
from kg.inputs.patient import parse_patient
from kg.rules._experta_compat import experta
from kg.rules.engine import observed_facts
from kg.rules.facts import Setting
from kg.rules.findings import FindingRules
from kg.rules.injury import InjuryRules
from kg.rules.knots import KnotRules
from kg.rules.spasm import SpasmRules

ROOT = Path(__file__).resolve().parent.parent


class UntracedEngine(InjuryRules, SpasmRules, KnotRules, FindingRules, experta.KnowledgeEngine):
    """The same rules on a plain experta engine: the cost of tracing is the difference."""


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


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "explain.json"))
    args = ap.parse_args()

    patients = synthetic_patients(args.patients, args.seed)
    parsed = [parse_patient(p) for p in patients]
    facts = [observed_facts(p) for p in parsed]
    reasoner = kg.Reasoner()
    untraced = UntracedEngine()
    n = len(patients)
    rows: list[dict] = []

    def row(name: str, seconds: float, count: int, note: str = "") -> None:
        rows.append({"case": name, "patients": count, "seconds": round(seconds, 4),
                     "patients_per_s": round(count / seconds, 1), "note": note})
        print(f"  {name:<46} {count / seconds:>10.1f} patients/s", file=sys.stderr)

    print(f"painkg benchmark: {n} synthetic patients (seed {args.seed}), median of {args.repeat}", file=sys.stderr)

    def run_untraced():
        for f in facts:
            untraced.reset()
            untraced.declare(Setting(threshold_days=14))
            untraced.declare(*f)
            untraced.run()

    row("experta, same rules, no tracing (reused)", timed(run_untraced, args.repeat), n, "baseline")
    row("engine with tracing (reused), infer only",
        timed(lambda: [reasoner.engine.infer(f) for f in facts], args.repeat), n)
    row("kg.Reasoner.explain (parse+infer+chains)",
        timed(lambda: [reasoner.explain(p) for p in patients], args.repeat), n)
    row("kg.Reasoner.explain + to_json",
        timed(lambda: [reasoner.explain(p).to_json() for p in patients], args.repeat), n)

    from experta.matchers.rete.check import FactCapture

    small = patients[: max(50, n // 20)]
    before = len(FactCapture._instances)
    t = timed(lambda: [kg.Reasoner().explain(p) for p in small], 1)
    leaked = len(FactCapture._instances) - before
    row("new engine per patient (do not do this)", t, len(small), f"experta cache grew by {leaked} entries")

    tracemalloc.start()
    for p in patients:
        reasoner.explain(p)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    startup = timed(lambda: subprocess.run(
        [sys.executable, "-m", "kg.cli", "explain", str(ROOT / "examples" / "lower-back-strain-day20.json")],
        check=True, capture_output=True), args.repeat)
    import_kg = timed(lambda: subprocess.run([sys.executable, "-c", "import kg"], check=True), args.repeat)
    base = rows[0]["patients_per_s"]
    for r in rows:
        r["ratio_to_baseline"] = round(r["patients_per_s"] / base, 3)
    result = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "note": "shared, noisy machine: compare ratios within this run"},
        "patients": n, "seed": args.seed, "rows": rows,
        "tracemalloc_peak_mib_explaining_all": round(peak / 2**20, 2),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cli_explain_wall_s": round(startup, 3), "import_kg_wall_s": round(import_kg, 3),
    }
    print()
    print("| case | patients/s | x baseline | note |")
    print("|---|---:|---:|---|")
    for r in rows:
        print(f"| {r['case']} | {r['patients_per_s']:.0f} | {r['ratio_to_baseline']:.2f} | {r['note']} |")
    print(f"\npeak traced memory while explaining {n} patients: {result['tracemalloc_peak_mib_explaining_all']} MiB; "
          f"max RSS {result['max_rss_mib']} MiB")
    print(f"`painkg explain` one patient, whole process: {startup * 1000:.0f} ms; `import kg`: {import_kg * 1000:.0f} ms")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
