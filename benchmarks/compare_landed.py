"""Held-out patients through every path of two painkg versions, compared byte for byte.

    python benchmarks/compare_landed.py [--base 9925c27] [--new HEAD] [--patients 300] [--seed 20]
                                        [--json benchmarks/results/compare-landed.json] [--keep DIR]

Each version is a git worktree of its commit in a temporary folder with its own venv
(``python -m venv``, then ``pip install --no-deps -e`` of the worktree: pip fetches only the build
backend, from its cache where it can). Its dependencies are this interpreter's own, seen through a
``.pth`` file, so the two runs differ in painkg's code alone. The held-out patients come from a
seeded generator of their own (``benchmarks/held_out.py``), not ``kg.cohort.synthetic``: several injuries, every site
and alias, onsets as dates and as days, resolved with and without dates, recurrences, reported
knots and spasm, findings at and without sites, mechanisms, some as FHIR R4 Bundles, and bad
records (unknown keys, dates given as numbers, onset after assessment, wrong types, unreadable JSON).

Each version runs every path in one process (``--drive``): the ``painkg`` command itself
(``kg.cli.cli`` through click's runner, as the entry point calls it) for ``explain`` in every
``--format`` (text, ``--detail``, ``--audience patient``, json, jsonld, trig, ttl, nq, nt, fhir),
with ``--threshold-days`` and ``--as-of``, FHIR input, ``why-not``, ``what-if``,
``interventions``, ``timeline`` (text and json) and ``graph`` (dot, ``--full``, ``--compact``,
graphml, json, cytoscape, mermaid, html, svg where Graphviz is installed); a few calls also
through the installed ``painkg`` entry point in a process of their own; then ``painkg batch``
of the whole cohort, with and without the memo (results.jsonl, rejects.jsonl, summary.json
without its timings, input file times and finishing time). Every output is hashed with its
exit status and standard error; the table gives per path how many patients gave identical
bytes, and every difference is kept in the JSON with both outputs' heads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from held_out import held_out_cohort  # benchmarks/held_out.py: a script's own folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- the paths each version runs

_EXPLAIN_FORMATS = ("text", "json", "jsonld", "trig", "ttl", "nq", "nt", "fhir")
_GRAPH_FORMATS = ("dot", "graphml", "json", "cytoscape", "mermaid", "html")
_FHIR_PATHS = ("explain --format text", "explain --format json", "explain --format fhir", "explain --format nq",
               "explain --detail", "explain --audience patient")
#: The named graph of the ontology in painkg's quads (every RDF export with graphs carries it).
_ONTOLOGY_GRAPH = b"<https://w3id.org/painkg/graph/ontology> .\n"


def paths_for(record: dict, has_dot: bool) -> list[tuple[str, list[str]]]:
    """``(path name, painkg arguments)`` for one record; ``FILE`` stands for its file."""
    paths = [(f"explain --format {f}", ["explain", "FILE", "--format", f]) for f in _EXPLAIN_FORMATS]
    paths += [("explain --detail", ["explain", "FILE", "--detail"]),
              ("explain --audience patient", ["explain", "FILE", "--audience", "patient"]),
              ("explain --threshold-days 7 --format json", ["explain", "FILE", "--threshold-days", "7", "--format",
                                                            "json"]),
              ("explain --as-of +10d --detail", ["explain", "FILE", "--as-of", "+10d", "--detail"])]
    if record["kind"] == "fhir":
        return [(f"fhir {name}", args) for name, args in paths if name in _FHIR_PATHS]
    paths += [("why-not muscle_knots", ["why-not", "FILE", "muscle_knots"]),
              ("why-not persistent_pain --format json", ["why-not", "FILE", "persistent_pain", "--format", "json"]),
              ("what-if", ["what-if", "FILE", "--set", "findings+=muscle_spasm"]),
              ("what-if resolved --format json", ["what-if", "FILE", "--set", "injuries[0].resolved=true", "--format",
                                                  "json"]),
              ("interventions --format json", ["interventions", "FILE", "--format", "json", "--max-changes", "2"]),
              ("timeline", ["timeline", "FILE"]),
              ("timeline --format json", ["timeline", "FILE", "--format", "json"]),
              ("graph --full", ["graph", "FILE", "--full"]),
              ("graph --compact", ["graph", "FILE", "--compact"])]
    paths += [(f"graph --format {f}", ["graph", "FILE", "--format", f]) for f in _GRAPH_FORMATS]
    if has_dot:
        paths.append(("graph --format svg", ["graph", "FILE", "--format", "svg"]))
    return paths


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def drive(records_file: str, out_file: str, entry_point_calls: int) -> None:
    """Run every path of every record in this interpreter's painkg; write ``{path: {id: [digest, head]}}``."""
    from click.testing import CliRunner

    from kg.cli import cli

    records = json.loads(Path(records_file).read_text(encoding="utf-8"))
    has_dot = shutil.which("dot") is not None
    runner = CliRunner()
    found: dict[str, dict[str, list]] = {}
    # The same folder for both versions: an error message names the file it could not read.
    work = Path(out_file).parent / "patients"
    work.mkdir(exist_ok=True)
    started = time.perf_counter()
    for record in records:
        path = work / f"{record['id']}.json"
        path.write_text(record["text"], encoding="utf-8")
        for name, args in paths_for(record, has_dot):
            argv = [str(path) if a == "FILE" else a for a in args]
            result = runner.invoke(cli, argv, catch_exceptions=True)
            out, err = result.stdout_bytes, result.stderr_bytes or b""
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                err += f"\nexception: {type(result.exception).__name__}: {result.exception}".encode()
            found.setdefault(name, {})[record["id"]] = [_digest(str(result.exit_code).encode(), out, err),
                                                        (out or err)[:400].decode("utf-8", "replace")]
            if name.endswith("explain --format nq"):
                # The same quads without the ontology's graph: the patient's own graphs alone.
                mine = b"".join(line for line in out.splitlines(keepends=True) if not line.endswith(_ONTOLOGY_GRAPH))
                found.setdefault(name + " (patient graphs only)", {})[record["id"]] = [
                    _digest(str(result.exit_code).encode(), mine, err), mine[:400].decode("utf-8", "replace")]
    # The entry point itself, each call its own process (start-up, argument parsing, exit status).
    painkg = Path(sys.executable).parent / "painkg"
    for record in [r for r in records if r["kind"] == "patient"][:entry_point_calls]:
        for fmt in ("text", "json"):
            proc = subprocess.run([str(painkg), "explain", str(work / f"{record['id']}.json"), "--format", fmt],
                                  capture_output=True, cwd=work)
            found.setdefault(f"painkg explain --format {fmt} (own process)", {})[record["id"]] = [
                _digest(str(proc.returncode).encode(), proc.stdout, proc.stderr),
                (proc.stdout or proc.stderr)[:400].decode("utf-8", "replace")]
    shutil.rmtree(work, ignore_errors=True)
    found["_seconds"] = round(time.perf_counter() - started, 1)  # type: ignore[assignment]
    Path(out_file).write_text(json.dumps(found), encoding="utf-8")


def _timeless(summary: dict) -> dict:
    # What differs between two runs of the same program: timings, input file times, finishing time.
    out = {k: v for k, v in summary.items() if k not in ("timings", "finished")}
    out["inputs"] = [{k: v for k, v in i.items() if k not in ("mtime_ns", "path")} for i in summary.get("inputs", [])]
    return out


def batch_outputs(python: Path, ndjson: Path, out: Path, memo: int) -> dict[str, list]:
    """Run ``painkg batch`` on the cohort; digests of its files (summary.json without times)."""
    painkg = python.parent / "painkg"
    proc = subprocess.run([str(painkg), "batch", str(ndjson), "--out", str(out), "--memo", str(memo), "-q"],
                          capture_output=True, cwd=ndjson.parent)
    found = {"exit": [str(proc.returncode), proc.stderr[:400].decode("utf-8", "replace")]}
    for name in ("results.jsonl", "rejects.jsonl"):
        data = (out / name).read_bytes() if (out / name).exists() else b""
        found[name] = [_digest(data), data[:400].decode("utf-8", "replace")]
        for line in data.splitlines():  # each line by its record's line number, to name what differs
            row = json.loads(line)
            found[f"{name} line {row.get('line')}"] = [_digest(line), line[:400].decode("utf-8", "replace")]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8")) if (out / "summary.json").exists() else {}
    text = json.dumps(_timeless(summary), indent=2, sort_keys=True).encode()
    found["summary.json (no times)"] = [_digest(text), text[:400].decode()]
    return found


# ---------------------------------------------------------------- the two installs


def _run(argv: list[str], **kw) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, **kw)
    if proc.returncode:
        raise SystemExit(f"error: {' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def install(commit: str, where: Path) -> Path:
    """A worktree of ``commit`` at ``where/src`` and a venv at ``where/venv`` with it installed; its python."""
    src, venv = where / "src", where / "venv"
    _run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(src), commit])
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # This interpreter's dependencies, after the venv's own packages: the same versions for both commits.
    (site / "_painkg_compare_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(src)],
         env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return python


def remove(where: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where / "src")], capture_output=True)
    shutil.rmtree(where, ignore_errors=True)


def compare(records: list[dict], args) -> dict:
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="painkg-compare-"))
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "records.json").write_text(json.dumps(records), encoding="utf-8")
    ndjson = tmp / "cohort.ndjson"
    ndjson.write_text("".join(r["text"] + "\n" for r in records if r["kind"] != "fhir"), encoding="utf-8")
    runs = {}
    try:
        for label, commit in (("landed", args.base), ("new", args.new)):
            sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", commit], capture_output=True, text=True,
                                 check=True).stdout.strip()
            print(f"{label}: {commit} = {sha[:10]}: installing", file=sys.stderr)
            python = install(sha, tmp / label)
            print(f"{label}: running every path of {len(records)} records", file=sys.stderr)
            out = tmp / f"{label}.json"
            _run([str(python), str(Path(__file__).resolve()), "--drive", str(tmp / "records.json"), str(out),
                  str(args.entry_point_calls)], cwd=tmp)
            found = json.loads(out.read_text(encoding="utf-8"))
            for memo in (0, 5000):
                found[f"batch --memo {memo}"] = batch_outputs(python, ndjson, tmp / f"{label}-batch-{memo}", memo)
            runs[label] = {"commit": sha, "result": found}
    finally:
        if not args.keep:
            for label in ("landed", "new"):
                remove(tmp / label)
            shutil.rmtree(tmp, ignore_errors=True)
    return runs


#: Changes made since the landed main that change output on purpose: a short label, what changed and which commits.
EXPLANATIONS = {
    "issue 18: number dates refused (a7106bc)": (
        "a7106bc (issue 18): a date given as a number (onset 0, 20260301, a Unix time) is an input error naming "
        "its field (exit 2), where the landed main read it as a day count from 1970-01-01"),
    "batch: number-date records now rejected (a7106bc)": (
        "the number-date records move from results.jsonl to rejects.jsonl, and summary.json's counts with them "
        "(a7106bc, issue 18)"),
    "ontology graph: cohort-store vocabulary (7b7d610, 61f81a3, abf455e)": (
        "the ontology's named graph, carried by every RDF export with graphs (nq, trig, jsonld), holds the cohort "
        "store's vocabulary added since the landed main (7b7d610: pk:FiringPlan, pk:applied, pk:concluded, "
        "pk:premise, pk:concludes, the firing properties' domains dropped; 61f81a3: pk:Derivation, pk:Conclusion, "
        "pk:KeyChain; abf455e); the patient's own graphs are byte-identical (the nq patient-graphs-only rows)"),
}


#: Differing outputs shown in full (their first 400 characters) per path; the others by id.
EXAMPLES = 3


def attribute(path: str, kinds_of: dict[str, str], old: dict, new: dict) -> str:
    """Why a path's outputs differ (a key of :data:`EXPLANATIONS`), from the records that differ."""
    labels = list(EXPLANATIONS)
    kinds = set(kinds_of.values())
    if kinds == {"number_date"}:
        return labels[0]
    if path.startswith("batch") and kinds <= {"number_date", "file"}:
        return labels[1]
    if any(f in path for f in ("nq", "trig", "jsonld")) and "patient graphs only" not in path:
        prefix = "fhir " if path.startswith("fhir") else ""
        mine_old = old.get(prefix + "explain --format nq (patient graphs only)", {})
        mine_new = new.get(prefix + "explain --format nq (patient graphs only)", {})
        rest = {k for k, kind in kinds_of.items() if kind != "number_date"}
        if all(k in mine_old and k in mine_new and mine_old[k][0] == mine_new[k][0] for k in rest):
            return labels[2] + ("; " + labels[0] if "number_date" in kinds else "")
    return "NOT EXPLAINED: see the differences in the JSON"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="9925c27", help="the landed main (default 9925c27)")
    ap.add_argument("--new", default="HEAD")
    ap.add_argument("--patients", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--entry-point-calls", type=int, default=5, help="patients also run through painkg in a process")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "compare-landed.json"))
    ap.add_argument("--keep", help="work in this folder and keep it (worktrees, venvs, outputs)")
    ap.add_argument("--drive", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        drive(args.drive[0], args.drive[1], int(args.drive[2]))
        return

    records = held_out_cohort(args.patients, args.seed)
    kinds = {k: sum(r["kind"] == k for r in records) for k in sorted({r["kind"] for r in records})}
    runs = compare(records, args)
    old, new = runs["landed"]["result"], runs["new"]["result"]
    # A record's kind by its id, and by its line in the batch's NDJSON (FHIR bundles are not in the batch).
    kind_of = {r["id"]: r["kind"] for r in records}
    kind_of.update({str(n): r["kind"] for n, r in enumerate([r for r in records if r["kind"] != "fhir"], 1)})
    rows, differences = [], {}
    for path in sorted(set(old) | set(new)):
        if path.startswith("_"):
            continue
        a, b = old.get(path, {}), new.get(path, {})
        keys = sorted(set(a) | set(b))
        same = [k for k in keys if k in a and k in b and a[k][0] == b[k][0]]
        differ = [k for k in keys if k not in same]
        rows.append({"path": path, "outputs": len(keys), "identical": len(same), "differing": len(differ)})
        if differ:
            kinds_of = {k: kind_of.get(k.split(" line ")[-1] if " line " in k else k, "file") for k in differ}
            rows[-1]["why"] = attribute(path, kinds_of, old, new)
            # Every differing id with its record's kind; both outputs' heads for the first few.
            differences[path] = {"ids": {k: kinds_of[k] for k in differ},
                                 "examples": {k: {"landed": a.get(k, [None, None])[1], "new": b.get(k, [None, None])[1]}
                                              for k in differ[:EXAMPLES]}}
    result = {"base": runs["landed"]["commit"], "new": runs["new"]["commit"], "patients": len(records),
              "seed": args.seed, "records_by_kind": kinds, "rows": rows,
              "seconds": {"landed": old.get("_seconds"), "new": new.get("_seconds")},
              "explanations": EXPLANATIONS, "differences": differences}
    print(f"| path | outputs | identical | differing | why they differ |  ({len(records)} held-out records: {kinds})")
    print("|---|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['path']} | {r['outputs']} | {r['identical']} | {r['differing']} | {r.get('why', '')} |")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
