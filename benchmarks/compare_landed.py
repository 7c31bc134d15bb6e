"""Held-out patients through every path of two painkg versions, compared byte for byte.

    python benchmarks/compare_landed.py [--base 9925c27] [--new HEAD] [--patients 300] [--seed 20]
                                        [--json benchmarks/results/compare-landed.json] [--keep DIR]

Each version is a git worktree of its commit in a temporary folder with its own venv
(``python -m venv``, then ``pip install --no-deps -e`` of the worktree: pip fetches only the build
backend, from its cache where it can). Its dependencies are this interpreter's own, seen through a
``.pth`` file, so the two runs differ in painkg's code alone. The held-out patients come from this file's own seeded generator,
not ``kg.cohort.synthetic``: several injuries, every site and alias, onsets as dates and as
days, resolved with and without dates, recurrences, reported knots and spasm, findings at and
without sites, mechanisms, some as FHIR R4 Bundles, and bad records (unknown keys, dates given
as numbers, onset after assessment, wrong types, unreadable JSON).

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
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- the held-out patients

_KINDS = ("muscle_strain", "strain", "pulled_muscle", "ligament_sprain", "sprain", "muscle_tear", "tear",
          "muscle_overstretch", "overstretch")
_SITES = ("lower_back", "low_back", "lumbar", "neck", "cervical", "upper_back", "thoracic", "hip", "shoulder",
          "thigh", "calf")
_MECHANISMS = ("fall", "heavy_lifting", "lifting_while_twisting", "twisting_lift", "sudden_movement")
_FINDINGS = ("better_at_rest", "difficulty_moving", "localized_pain", "local_pain", "muscle_knots", "knots",
             "muscle_spasm", "spasm", "radiating_pain_to_leg", "severe_low_back_pain", "tender_to_touch",
             "tenderness")
#: Ways a record is bad; "number_date" is the change of issue 18 (a number is no date any more).
_BAD = ("unknown_site", "number_date", "onset_after_assessment", "missing_id", "unknown_field", "wrong_type",
        "invalid_json", "unknown_finding", "bad_threshold_date", "negative_days")


def _day(rng: random.Random, lo: dt.date, span: int) -> dt.date:
    return lo + dt.timedelta(days=rng.randrange(span))


def held_out_patient(rng: random.Random, pid: str) -> dict:
    """One valid patient in painkg's JSON contract."""
    assessed = _day(rng, dt.date(2024, 1, 1), 1100)
    injuries = []
    for _ in range(rng.choice((0, 1, 1, 1, 1, 2, 2, 3))):
        injury = {"kind": rng.choice(_KINDS), "site": rng.choice(_SITES)}
        days = rng.choice((rng.randrange(0, 14), rng.randrange(14, 40), rng.randrange(40, 400)))
        if rng.random() < 0.5:
            injury["onset"] = (assessed - dt.timedelta(days=days)).isoformat()
        else:
            injury["days_since_onset"] = days
        if rng.random() < 0.7:
            injury["mechanism"] = rng.choice(_MECHANISMS)
        roll = rng.random()
        if roll < 0.15:
            injury["resolved"] = True
        elif roll < 0.3 and days > 1:
            injury["resolved_on"] = (assessed - dt.timedelta(days=rng.randrange(0, days))).isoformat()
        elif roll < 0.35 and days > 1:
            injury["resolved"] = True
            injury["resolved_by"] = (assessed - dt.timedelta(days=rng.randrange(0, days))).isoformat()
        elif roll < 0.42:
            injury["episode_start_unknown"] = True
        injuries.append(injury)
    findings: list = []
    for name in rng.sample(_FINDINGS, rng.choice((0, 0, 1, 2, 3, 4))):
        if name in ("severe_low_back_pain", "radiating_pain_to_leg"):
            findings.append(name if rng.random() < 0.5 else {"kind": name, "site": "lower_back"})
        elif rng.random() < 0.4:
            findings.append({"kind": name, "site": rng.choice(_SITES)})
        else:
            findings.append(name)
    patient = {"id": pid, "assessed_on": assessed.isoformat(), "injuries": injuries}
    if findings or rng.random() < 0.5:
        patient["findings"] = findings
    return patient


def bad_record(rng: random.Random, pid: str, kind: str) -> str:
    """A record that breaks the contract in one way, as JSON text."""
    p = held_out_patient(rng, pid)
    if not p["injuries"]:
        p["injuries"] = [{"kind": "strain", "site": "neck", "days_since_onset": 3}]
    inj = p["injuries"][0]
    if kind == "unknown_site":
        inj["site"] = "elbow"
    elif kind == "number_date":
        inj.pop("days_since_onset", None)
        inj["onset"] = rng.choice((0, 20260301, 1767225600))
    elif kind == "onset_after_assessment":
        inj.pop("days_since_onset", None)
        inj["onset"] = (dt.date.fromisoformat(p["assessed_on"]) + dt.timedelta(days=3)).isoformat()
    elif kind == "missing_id":
        del p["id"]
    elif kind == "unknown_field":
        inj["severity"] = "high"
    elif kind == "wrong_type":
        p["injuries"] = {"kind": "strain"}
    elif kind == "invalid_json":
        return json.dumps(p)[:-7]
    elif kind == "unknown_finding":
        p["findings"] = ["knee_pain"]
    elif kind == "bad_threshold_date":
        p["assessed_on"] = "2026-02-30"
    elif kind == "negative_days":
        inj.pop("onset", None)
        inj["days_since_onset"] = -4
    return json.dumps(p)


_PK = "https://w3id.org/painkg/ontology"
_CANON = {"strain": "muscle_strain", "pulled_muscle": "muscle_strain", "sprain": "ligament_sprain",
          "tear": "muscle_tear", "overstretch": "muscle_overstretch", "low_back": "lower_back",
          "lumbar": "lower_back", "cervical": "neck", "thoracic": "upper_back", "twisting_lift":
          "lifting_while_twisting", "local_pain": "localized_pain", "knots": "muscle_knots", "spasm": "muscle_spasm",
          "tenderness": "tender_to_touch"}


def _code(key: str) -> dict:
    return {"coding": [{"system": _PK, "code": _CANON.get(key, key)}]}


def fhir_bundle(rng: random.Random, patient: dict) -> dict:
    """The patient as a FHIR R4 Bundle (Conditions, Observations in painkg's codes), plus noise painkg ignores."""
    pid = patient["id"]
    assessed = dt.date.fromisoformat(patient["assessed_on"])
    entries = [{"fullUrl": f"Patient/{pid}", "resource": {"resourceType": "Patient", "id": pid,
                                                         "birthDate": "1980-05-05"}}]
    for i, inj in enumerate(patient["injuries"]):
        onset = inj.get("onset") or (assessed - dt.timedelta(days=inj["days_since_onset"])).isoformat()
        status = "resolved" if inj.get("resolved") or inj.get("resolved_on") else (
            "recurrence" if inj.get("episode_start_unknown") else "active")
        cond = {"resourceType": "Condition", "id": f"{pid}-c{i}", "subject": {"reference": f"Patient/{pid}"},
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": status}]},
                "verificationStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed" if rng.random() < 0.9 else "provisional"}]},
                "code": _code(inj["kind"]), "bodySite": [_code(inj["site"])],
                "onsetDateTime": onset + ("T08:15:00Z" if rng.random() < 0.5 else "")}
        if inj.get("resolved_on"):
            cond["abatementDateTime"] = inj["resolved_on"]
        if inj.get("mechanism"):
            cond["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/condition-dueTo",
                                  "valueCodeableConcept": _code(inj["mechanism"])}]
        entries.append({"fullUrl": f"Condition/{pid}-c{i}", "resource": cond})
    for i, finding in enumerate(patient.get("findings", [])):
        kind, site = (finding, None) if isinstance(finding, str) else (finding["kind"], finding.get("site"))
        obs = {"resourceType": "Observation", "id": f"{pid}-o{i}", "status": rng.choice(("final", "final", "amended",
                                                                                          "preliminary")),
               "subject": {"reference": f"Patient/{pid}"}, "code": _code(kind),
               "valueBoolean": rng.random() < 0.9}
        if site:
            obs["bodySite"] = _code(site)
        entries.append({"fullUrl": f"Observation/{pid}-o{i}", "resource": obs})
    if rng.random() < 0.3:
        entries.append({"fullUrl": f"Procedure/{pid}-p0", "resource": {
            "resourceType": "Procedure", "id": f"{pid}-p0", "status": "completed",
            "subject": {"reference": f"Patient/{pid}"}, "code": {"text": "heat therapy"}}})
    return {"resourceType": "Bundle", "id": f"{pid}-bundle", "type": "collection",
            "timestamp": f"{patient['assessed_on']}T09:00:00Z", "entry": entries}


def held_out_cohort(n: int, seed: int) -> list[dict]:
    """``n`` records: ``{"id", "text", "kind"}`` with kind ``patient``, ``fhir`` or a bad kind (about one in eight)."""
    rng = random.Random(seed)
    records = []
    bad = 0
    for i in range(n):
        pid = f"held-{seed}-{i:04d}"
        if i % 8 == 7:
            kind = _BAD[bad % len(_BAD)]
            bad += 1
            records.append({"id": pid, "kind": kind, "text": bad_record(rng, pid, kind)})
        elif i % 5 == 3:
            bundle = fhir_bundle(rng, held_out_patient(rng, pid))
            records.append({"id": pid, "kind": "fhir", "text": json.dumps(bundle)})
        else:
            records.append({"id": pid, "kind": "patient", "text": json.dumps(held_out_patient(rng, pid))})
    return records


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
            differences[path] = {k: {"landed": a.get(k, [None, None])[1], "new": b.get(k, [None, None])[1],
                                     "kind": kinds_of[k]} for k in differ}
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
