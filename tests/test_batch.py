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

import kg
from kg.cohort.synthetic import synthetic_records
from kg.errors import InputError
from support import EXAMPLES

PAINKG = [sys.executable, "-m", "kg.cli"]


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
    assert list(result) == ["id", "file", "line", "pain_persists", "persistent_pain", "conclusions", "explanation"]
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
    assert _read_lines(tmp_path / "rejects.jsonl")[0]["file"] == "<records>"
    assert not (tmp_path / "results.jsonl").exists()


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
