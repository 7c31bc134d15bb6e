"""`painkg batch` / `kg.batch`: nothing lost, nothing doubled, resumable, the same with any number of jobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import kg
from kg.cli import cli
from kg.cohort.synthetic import synthetic_records
from kg.errors import InputError
from support import EXAMPLES, ROOT

PAINKG = [sys.executable, "-m", "kg.cli"]
#: A bulk export with an unused Procedure, a negated Observation and two orphans (tests/fhir/bulk-ignored).
BULK = ROOT / "tests" / "fhir" / "bulk-ignored"
#: Each patient's resources in the export, as (file, line), in the order the join reads them.
BULK_PATIENTS = {"a": [("Patient", 1), ("Condition", 1), ("Observation", 1), ("Observation", 3)],
                 "b": [("Patient", 2), ("Condition", 3), ("Procedure", 1)]}


def _write_cohort(path: Path, n: int, seed: int, bad: float) -> list[bytes]:
    """A cohort file with synthetic records, blank lines, a CRLF line and an oversized record."""
    lines = list(synthetic_records(n, seed=seed, bad=bad))
    lines.insert(5, b"")
    lines.insert(9, b"   \t")
    lines[12] = lines[12] + b"\r"
    lines.insert(20, b'{"id": "huge", "findings": ["' + b"x" * (1024 * 1024 + 10) + b'"]}')
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cohort")
    _write_cohort(folder / "a.ndjson", 160, seed=3, bad=0.08)
    (folder / "b.ndjson").write_bytes(b"\n".join(synthetic_records(40, seed=4, bad=0.1, prefix="b-")))  # no final \n
    return folder


def _read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _expected_records(folder: Path) -> list[tuple[str, int]]:
    out = []
    for name in ("a.ndjson", "b.ndjson"):
        for number, line in enumerate((folder / name).read_bytes().split(b"\n"), start=1):
            if line.strip():
                out.append((str(folder / name), number))
    return out


@pytest.fixture(scope="module")
def run1(cohort, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run1")
    kg.batch([cohort / "a.ndjson", cohort / "b.ndjson"], out=out, chunk_size=37)
    return out


def test_every_record_ends_up_in_exactly_one_of_results_or_rejects(cohort, run1):
    results, rejects = _read_lines(run1 / "results.jsonl"), _read_lines(run1 / "rejects.jsonl")
    expected = _expected_records(cohort)
    seen = [(r["file"], r["line"]) for r in results] + [(r["file"], r["line"]) for r in rejects]
    assert sorted(seen) == sorted(expected)  # every record once: none lost, none doubled
    assert len(set(seen)) == len(seen)
    assert [(r["file"], r["line"]) for r in results] == sorted((r["file"], r["line"]) for r in results)  # input order
    summary = json.loads((run1 / "summary.json").read_text())
    assert summary["counts"]["records"] == len(expected) == len(results) + len(rejects)
    assert summary["counts"]["rejects"] == len(rejects) >= 10
    assert summary["counts"]["pain_persists"] == sum(r["pain_persists"] for r in results)
    assert summary["counts"]["internal_errors"] == 0
    assert not (run1 / "chunks").exists()


def test_rejects_say_where_and_why_with_the_record_cut_short(run1, cohort):
    rejects = _read_lines(run1 / "rejects.jsonl")
    assert all(set(r) == {"file", "line", "error", "record", "record_bytes"} for r in rejects)
    huge = next(r for r in rejects if r["record"].startswith('{"id": "huge"'))
    assert huge["line"] == 21 and huge["record_bytes"] > 1024 * 1024
    assert len(huge["record"]) == 1000 and "exceeds the limit of 1,048,576 bytes" in huge["error"]
    errors = " | ".join(r["error"] for r in rejects)
    for text in ("is not valid JSON", "is not UTF-8 text", "given twice", "an array is not allowed",
                 '"knee" is not allowed', "unknown field"):
        assert text in errors


def test_a_result_line_holds_the_conclusions_and_the_explanation(run1, cohort):
    result = _read_lines(run1 / "results.jsonl")[0]
    assert list(result) == ["id", "file", "line", "pain_persists", "persistent_pain", "conclusions", "ignored",
                            "explanation"]
    assert result["ignored"] == []  # painkg's own JSON: nothing to leave out
    line = (cohort / "a.ndjson").read_bytes().split(b"\n")[result["line"] - 1]
    e = kg.explain(json.loads(line))
    assert result["explanation"] == json.loads(e.to_json())
    assert result["pain_persists"] == e.pain_persists and result["id"] == e.patient.id
    assert result["conclusions"] == [{"concept": c.concept, "site": c.site, "certainty": e.fact(c.fact).certainty}
                                     for c in e.chains]


def test_two_jobs_give_the_same_bytes_as_one(cohort, run1, tmp_path):
    kg.batch([cohort / "a.ndjson", cohort / "b.ndjson"], out=tmp_path, chunk_size=37, jobs=2)
    for name in ("results.jsonl", "rejects.jsonl"):
        assert (tmp_path / name).read_bytes() == (run1 / name).read_bytes()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["run"]["jobs"] == 2
    assert summary["counts"] == json.loads((run1 / "summary.json").read_text())["counts"]


def test_a_finished_run_run_again_changes_nothing_and_other_options_are_refused(cohort, run1):
    before = (run1 / "results.jsonl").read_bytes()
    summary = kg.batch([cohort / "a.ndjson", cohort / "b.ndjson"], out=run1, chunk_size=37)
    assert summary["complete"] and (run1 / "results.jsonl").read_bytes() == before
    with pytest.raises(InputError, match="holds another run"):
        kg.batch([cohort / "a.ndjson", cohort / "b.ndjson"], out=run1, chunk_size=37, summary_only=True)


def test_restart_and_summary_only(cohort, tmp_path):
    kg.batch([cohort / "b.ndjson"], out=tmp_path, chunk_size=10)
    summary = kg.batch([cohort / "b.ndjson"], out=tmp_path, chunk_size=10, summary_only=True, restart=True)
    results = _read_lines(tmp_path / "results.jsonl")
    assert summary["options"]["summary_only"] and results and all("explanation" not in r for r in results)


def test_kill_9_midway_then_rerun_ends_with_the_files_of_an_uninterrupted_run(tmp_path):
    cohort = tmp_path / "cohort.ndjson"
    cohort.write_bytes(b"\n".join(synthetic_records(1200, seed=11, bad=0.02)) + b"\n")
    args = [str(cohort), "--chunk-size", "40", "--jobs", "2", "-q"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(PAINKG + ["batch", *args, "--out", str(killed)], start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list((killed / "chunks").glob("*.done.json"))) < 4 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list((killed / "chunks").glob("*.done.json")))
    assert 4 <= done < 30, "the run was not killed midway"
    assert not (killed / "results.jsonl").exists()
    time.sleep(0.5)  # the workers die with their parent (PR_SET_PDEATHSIG)
    subprocess.run(PAINKG + ["batch", *args, "--out", str(killed)], check=True, timeout=300)
    whole = tmp_path / "whole"
    subprocess.run(PAINKG + ["batch", *args, "--out", str(whole)], check=True, timeout=300)
    for name in ("results.jsonl", "rejects.jsonl"):
        assert (killed / name).read_bytes() == (whole / name).read_bytes()
    resumed = json.loads((killed / "summary.json").read_text())
    assert resumed["run"]["resumed_chunks"] >= done
    assert resumed["counts"] == json.loads((whole / "summary.json").read_text())["counts"]
    assert not list(killed.rglob("*.tmp"))


def test_stdin_directories_and_json_files(tmp_path):
    folder = tmp_path / "patients"
    folder.mkdir()
    for name in ("two-injuries.json", "lower-back-strain-acute.json"):
        (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    (folder / "more.ndjson").write_bytes(b"\n".join(synthetic_records(3, seed=2, prefix="m-")) + b"\n")
    (folder / "notes.txt").write_text("not a patient")
    run = subprocess.run(PAINKG + ["batch", str(folder), "-", "--out", str(tmp_path / "out")],
                         input=b"\n".join(synthetic_records(2, seed=5, prefix="s-")) + b"\n[1]\n",
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert b"8 records: 7 results" in run.stderr and b"1 rejected" in run.stderr
    results = _read_lines(tmp_path / "out" / "results.jsonl")
    assert [(Path(r["file"]).name, r["line"]) for r in results] == [
        ("lower-back-strain-acute.json", None), ("more.ndjson", 1), ("more.ndjson", 2), ("more.ndjson", 3),
        ("two-injuries.json", None), ("-", 1), ("-", 2)]
    assert _read_lines(tmp_path / "out" / "rejects.jsonl")[0]["file"] == "-"


def test_python_records_and_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    records = [json.loads(line) for line in synthetic_records(30, seed=9)] + [{"id": "x", "injuries": 3}]
    summary = kg.batch(records, out=tmp_path, format="parquet", chunk_size=8)
    assert summary["counts"]["results"] == 30 and summary["outputs"]["results"] == "results.parquet"
    table = pq.read_table(tmp_path / "results.parquet")
    assert table.num_rows == 30 and table.column("id").to_pylist()[:2] == ["syn-0000000", "syn-0000001"]
    first = json.loads(table.column("explanation").to_pylist()[0])
    assert first == json.loads(kg.explain(records[0]).to_json())
    assert table.column("ignored").to_pylist()[0] == []
    assert _read_lines(tmp_path / "rejects.jsonl")[0]["file"] == "<records>"
    assert not (tmp_path / "results.jsonl").exists()


def _bulk_batch(out: Path, *extra: str) -> Path:
    run = CliRunner().invoke(cli, ["batch", str(BULK), "--out", str(out), "-q", *extra], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    return out


def _explained(patient: str, tmp_path: Path) -> dict:
    """``painkg explain --format json`` of one patient of the export: its resources as a Bundle."""
    stamp = json.loads((BULK / "manifest.json").read_text())["transactionTime"]
    lines = {name: (BULK / f"{name}.ndjson").read_text().splitlines() for name, _ in BULK_PATIENTS[patient]}
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": stamp,
              "entry": [{"resource": json.loads(lines[name][line - 1])} for name, line in BULK_PATIENTS[patient]]}
    path = tmp_path / f"{patient}.json"
    path.write_text(json.dumps(bundle))
    run = CliRunner().invoke(cli, ["explain", str(path), "--format", "json"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def bulk_run(tmp_path_factory) -> Path:
    return _bulk_batch(tmp_path_factory.mktemp("bulk") / "out")


def test_a_bulk_export_result_lists_what_was_not_used_as_painkg_explain_does(bulk_run, tmp_path):
    results = _read_lines(bulk_run / "results.jsonl")
    assert [r["id"] for r in results] == list(BULK_PATIENTS)
    for result in results:
        explained = _explained(result["id"], tmp_path)
        assert result["ignored"] == explained["ignored"]
        assert {**result["explanation"], "ignored": result["ignored"]} == explained
    assert [[i["resource"] for i in r["ignored"]] for r in results] == [["Observation/o-a-spasm"],
                                                                        ["Procedure/pr-b-heat"]]
    assert results[0]["ignored"][0]["reason"] == "records muscle spasm as absent (interpretation NEG)"


def test_a_bulk_export_orphan_is_rejected_with_its_file_line_and_reason(bulk_run):
    rejects = _read_lines(bulk_run / "rejects.jsonl")
    assert [(r["file"], r["line"], r["error"]) for r in rejects] == [
        (f"{BULK}/Condition.ndjson", 2,
         "Condition/c-none: belongs to no patient of the export: it has no subject (or patient) reference"),
        (f"{BULK}/Observation.ndjson", 2,
         "Observation/o-ghost: belongs to no patient of the export: its subject Patient/ghost is not a Patient of "
         "the export")]
    for reject in rejects:
        text = (BULK / Path(reject["file"]).name).read_text().splitlines()[reject["line"] - 1]
        assert (reject["record"], reject["record_bytes"]) == (text, len(text.encode()))
    counts = json.loads((bulk_run / "summary.json").read_text())["counts"]
    assert counts == {"records": 4, "results": 2, "rejects": 2, "pain_persists": 1, "internal_errors": 0,
                      "ignored": 2, "orphans": 2}


@pytest.mark.parametrize("extra", [["--jobs", "2", "--chunk-size", "1"], ["--memo", "0"],
                                   ["--memo", "0", "--jobs", "2", "--chunk-size", "1"]])
def test_a_bulk_export_gives_the_same_bytes_with_two_jobs_and_without_the_memo(bulk_run, tmp_path, extra):
    out = _bulk_batch(tmp_path / "out", *extra)
    for name in ("results.jsonl", "rejects.jsonl"):
        assert (out / name).read_bytes() == (bulk_run / name).read_bytes(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == json.loads((bulk_run / "summary.json").read_text())["counts"]


def test_a_bulk_export_summary_only_and_parquet_keep_ignored(bulk_run, tmp_path):
    full = _read_lines(bulk_run / "results.jsonl")
    brief = _read_lines(_bulk_batch(tmp_path / "brief", "--summary-only") / "results.jsonl")
    assert brief == [{k: v for k, v in r.items() if k != "explanation"} for r in full]
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pq.read_table(_bulk_batch(tmp_path / "parquet", "--format", "parquet") / "results.parquet")
    assert table.column("ignored").to_pylist() == [r["ignored"] for r in full]
    assert (tmp_path / "parquet" / "rejects.jsonl").read_bytes() == (bulk_run / "rejects.jsonl").read_bytes()


def test_a_bulk_export_run_resumes_a_chunk_it_lost(bulk_run, tmp_path):
    out = _bulk_batch(tmp_path / "out", "--chunk-size", "1", "--keep-chunks")
    for name in ("results.jsonl", "rejects.jsonl", "summary.json", "chunks/000003.done.json"):
        (out / name).unlink()  # as if killed before the last chunk (an orphan) was done
    _bulk_batch(out, "--chunk-size", "1")
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["run"]["resumed_chunks"], summary["run"]["chunks_run"]) == (3, 1)
    for name in ("results.jsonl", "rejects.jsonl"):
        assert (out / name).read_bytes() == (bulk_run / name).read_bytes(), name


@pytest.mark.parametrize("kwargs, message", [
    ({"jobs": 0}, "jobs: 0 is not allowed"),
    ({"chunk_size": "10"}, "chunk_size"),
    ({"format": "csv"}, "format"),
    ({"threshold_days": -1}, "threshold_days"),
    ({"as_of": "2026-02-30"}, "as_of"),
])
def test_bad_arguments_are_input_errors(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        kg.batch([EXAMPLES / "two-injuries.json"], out=tmp_path, **kwargs)


def test_missing_input_and_busy_out_dir(tmp_path):
    with pytest.raises(InputError, match="not found"):
        kg.batch([tmp_path / "nope.ndjson"], out=tmp_path / "o")
    run = subprocess.run(PAINKG + ["batch", str(tmp_path / "nope.ndjson"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.startswith("error: input:")


def test_batch_is_loaded_lazily_and_needs_no_dask_or_pyarrow():
    code = ("import sys, kg; assert 'kg.cohort' not in sys.modules; kg.batch; "
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pyarrow')]; "
            "print(heavy)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert os.environ.get("PAINKG_NEVER") is None
