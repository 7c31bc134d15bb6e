"""The cohort-shaped store (issue 19): shared plans, derivations, conclusions and key chains; the same answers as
``kg.query(patients=...)``, the same results as a run without a store, SHACL-valid, replaced not doubled,
and a run stopped by Ctrl-C or ``kill -9`` resumes to the same store answers.

Every store here is built by the real ``kg.batch`` / ``painkg batch --store`` into a real on-disk
Oxigraph store and read through the guarded query worker.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kg
from kg.cohort.synthetic import synthetic_records
from kg.store.query_limits import QueryLimits
from support import EXAMPLES, derivation_shapes, example_paths, shacl_validate

PAINKG = [sys.executable, "-m", "kg.cli"]
QUERIES = sorted((EXAMPLES / "queries").glob("*.rq"))
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
#: The machine running the tests may be busy: a generous timeout, the other limits as by default.
LIMITS = QueryLimits(timeout=180)


def _rows(result) -> list:
    return sorted(tuple("" if v is None else v.n3() for v in row) for row in result)


def _answers(store) -> dict:
    return {p.stem: _rows(kg.query(p.read_text(), store=store, limits=LIMITS)) for p in QUERIES}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[Path, list[bytes]]:
    path = tmp_path_factory.mktemp("cohort") / "cohort.ndjson"
    lines = list(synthetic_records(120, seed=19, bad=0.03))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines


@pytest.fixture(scope="module")
def built(cohort, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cohort-store")
    path, _ = cohort
    kg.batch([path, *example_paths()], out=tmp / "run", store=tmp / "store", chunk_size=50, jobs=2)
    kg.batch([path, *example_paths()], out=tmp / "plain", chunk_size=50)
    return tmp


def _records(cohort, run: Path) -> list[dict]:
    """The records the batch explained: the cohort's lines less those it rejected, and the examples."""
    rejected = {json.loads(line)["line"] for line in (run / "rejects.jsonl").read_text().splitlines()}
    good = [json.loads(line) for n, line in enumerate(cohort[1], 1) if n not in rejected]
    return good + [json.loads(p.read_text()) for p in example_paths()]


def test_every_example_query_answers_as_kg_query_over_the_same_patients(built, cohort):
    explanations = [kg.explain(r) for r in _records(cohort, built / "run")]
    for path in QUERIES:
        text = path.read_text()
        over_store = kg.query(text, store=built / "store", limits=LIMITS)
        in_memory = kg.query(text, patients=explanations, limits=LIMITS)
        assert over_store.vars == in_memory.vars, path.name
        assert _rows(over_store) == _rows(in_memory), path.name


def test_results_are_byte_identical_with_and_without_the_store(built):
    for name in ("results.jsonl", "rejects.jsonl"):
        assert (built / "run" / name).read_bytes() == (built / "plain" / name).read_bytes()
    with_store = json.loads((built / "run" / "summary.json").read_text())
    without = json.loads((built / "plain" / "summary.json").read_text())
    assert with_store["counts"] == without["counts"]


def test_expected_persistent_pain_counts_what_the_summary_counts(built):
    summary = json.loads((built / "run" / "summary.json").read_text())
    by_level = kg.query((EXAMPLES / "queries" / "persistent-pain-by-certainty-and-site.rq").read_text(),
                        store=built / "store")
    expected = "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p pk:concluded ?f . ?f pk:concept pk:PersistentPain ; " \
               "pk:certaintyLevel pk:Expected }"
    assert int(kg.query(expected, store=built / "store").rows[0][0]) == summary["counts"]["pain_persists"]
    assert {str(r[1]) for r in by_level.rows} <= {"expected", "possible"}
    results = [json.loads(line) for line in (built / "run" / "results.jsonl").read_text().splitlines()]
    pairs = {}
    for r in results:
        for c in r["conclusions"]:
            if c["concept"] == "persistent_pain":
                pairs[(c["site"], c["certainty"])] = pairs.get((c["site"], c["certainty"]), 0) + 1
    assert {(None if a is None else str(a), str(b)): int(n) for a, b, n in by_level.rows} == pairs


def test_each_derivation_step_is_stored_once_and_each_patient_is_small(built):
    store = built / "store"
    plans = int(kg.query("SELECT (COUNT(?x) AS ?n) WHERE { ?x a pk:FiringPlan }", store=store).rows[0][0])
    applied = int(kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?p pk:derivation ?d . ?d pk:applied ?x }",
                           store=store).rows[0][0])
    patients = int(kg.query("SELECT (COUNT(?p) AS ?n) WHERE { ?p a pk:Patient }", store=store).rows[0][0])
    assert plans * 5 < applied
    # Patients that reason alike share one derivation, conclusion and key chain node.
    shared = "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?p pk:derivation|pk:concluded|pk:keyChain ?x }"
    links = "SELECT (COUNT(*) AS ?n) WHERE { ?p pk:derivation|pk:concluded|pk:keyChain ?x }"
    assert int(kg.query(shared, store=store).rows[0][0]) * 2 < int(kg.query(links, store=store).rows[0][0])
    per_patient = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER (STRSTARTS(STR(?g), STR(pkp:))) }"
    assert int(kg.query(per_patient, store=store).rows[0][0]) / patients < 35


def test_a_stored_sample_conforms_to_the_shapes(built):
    import pyoxigraph as ox
    from rdflib import Graph

    from kg.render.rdf import ontology_quads
    from kg.store.results import rdflib_term

    g = Graph()
    for quad in ontology_quads():
        g.add(quad[:3])
    sample = set()
    store = ox.Store.read_only(str(built / "store"))
    for quad in store:
        g.add(tuple(rdflib_term(t) for t in (quad.subject, quad.predicate, quad.object)))
        if quad.predicate.value == "https://w3id.org/painkg/ontology#derivation":
            sample.add((quad.subject.value, quad.object.value))
    del store
    shapes = derivation_shapes()
    conforms, text = shacl_validate(g, shapes)
    assert conforms, text
    # A patient that applied a plan whose premise it neither reported nor concluded breaks a shape.
    from rdflib import URIRef

    from kg.knowledge.ontology import PK

    me, derivation = (URIRef(iri) for iri in sorted(sample)[0])
    mine = set(g.objects(me, PK.reported)) | {t for plan in g.objects(derivation, PK.applied)
                                               for t in g.objects(plan, PK.concludes)}
    foreign = next(s for s, o in g.subject_objects(PK.premise) if o not in mine)
    g.add((derivation, PK.applied, foreign))
    conforms, text = shacl_validate(g, shapes)
    assert not conforms and "the patient's: reported by it, or concluded by another plan" in text
    g.remove((derivation, PK.applied, foreign))
    # A shared conclusion that says its patients reported a premise this patient did not report.
    conclusion, unreported = next((c, t) for c in g.objects(me, PK.concluded) for plan in g.objects(c, PK.justifiedBy)
                                  for t in g.objects(plan, PK.premise) if (me, PK.reported, t) not in g)
    g.add((conclusion, PK.reportedPremise, unreported))
    conforms, text = shacl_validate(g, shapes)
    assert not conforms and "conclusion of the patient says were reported" in text


def test_a_rerun_patient_is_replaced_not_doubled(built, cohort, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(built / "store", store)
    before, answers = int(kg.query(COUNT, store=store).rows[0][0]), _answers(store)
    path, _ = cohort
    summary = kg.batch([path], out=tmp_path / "again", store=store, chunk_size=64)
    assert summary["store"]["patients_replaced"] == summary["counts"]["results"]
    assert int(kg.query(COUNT, store=store).rows[0][0]) == before
    assert _answers(store) == answers


def _answers_of_uninterrupted(cohort_path: Path, tmp: Path) -> dict:
    kg.batch([cohort_path], out=tmp / "whole-run", store=tmp / "whole-store", chunk_size=40)
    return _answers(tmp / "whole-store")


# Loads of about 100 patients each, so that a run is killed with some chunks loaded and others not.
_SMALL_LOADS = "import sys, kg.cohort.loading as l; l.LOAD_BYTES = 1_500_000; from kg.cli import main; " \
               "sys.argv[0] = 'painkg'; main()"


def _start(cohort_path: Path, tmp: Path) -> subprocess.Popen:
    args = ["batch", str(cohort_path), "--out", str(tmp / "run"), "--store", str(tmp / "store"),
            "--chunk-size", "40", "--jobs", "2", "-q"]
    return subprocess.Popen([sys.executable, "-c", _SMALL_LOADS, *args], stderr=subprocess.PIPE, text=True)


def _wait_for_loaded(proc: subprocess.Popen, tmp: Path, n: int) -> None:
    deadline = time.monotonic() + 180
    while len(list((tmp / "run" / "chunks").glob("*.loaded"))) < n and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"


def _resume(cohort_path: Path, tmp: Path) -> dict:
    done = subprocess.run([*PAINKG, "batch", str(cohort_path), "--out", str(tmp / "run"), "--store",
                           str(tmp / "store"), "--chunk-size", "40", "-q"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads((tmp / "run" / "summary.json").read_text())


@pytest.fixture(scope="module")
def interrupted_cohort(tmp_path_factory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("interrupted")
    path = tmp / "cohort.ndjson"
    path.write_bytes(b"\n".join(synthetic_records(600, seed=23, bad=0.02)) + b"\n")
    return path, _answers_of_uninterrupted(path, tmp)


def test_ctrl_c_stops_batch_store_with_130_and_the_next_run_resumes(interrupted_cohort, tmp_path):
    path, whole = interrupted_cohort
    proc = _start(path, tmp_path)
    _wait_for_loaded(proc, tmp_path, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "error: aborted" in err
    assert not (tmp_path / "run" / "summary.json").exists()
    summary = _resume(path, tmp_path)
    assert summary["run"]["resumed_chunks"] >= 1
    assert _answers(tmp_path / "store") == whole


def test_kill_9_mid_load_then_resume_gives_the_same_store_answers(interrupted_cohort, tmp_path):
    path, whole = interrupted_cohort
    proc = _start(path, tmp_path)
    _wait_for_loaded(proc, tmp_path, 2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    loaded = len(list((tmp_path / "run" / "chunks").glob("*.loaded")))
    assert 2 <= loaded < 15, "the run was not killed midway"
    time.sleep(0.5)  # the workers die with their parent (PR_SET_PDEATHSIG)
    _resume(path, tmp_path)
    assert _answers(tmp_path / "store") == whole


def test_parquet_results_answer_the_cohort_question_in_duckdb_and_pandas_as_sparql_does(built, cohort, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pandas = pytest.importorskip("pandas")
    path, _ = cohort
    kg.batch([path, *example_paths()], out=tmp_path / "pq", chunk_size=50, format="parquet", summary_only=True)
    table = str(tmp_path / "pq" / "results.parquet")
    # Patients with persistent pain, by site and certainty (docs/cohort.md shows the three).
    in_duckdb = duckdb.sql(f"""
        SELECT c.site, c.certainty, count(*) AS patients
        FROM (SELECT unnest(conclusions) AS c FROM '{table}')
        WHERE c.concept = 'persistent_pain' GROUP BY ALL""").fetchall()
    df = pandas.read_parquet(table, columns=["id", "conclusions"])
    c = pandas.json_normalize(df.explode("conclusions")["conclusions"].dropna().tolist())
    in_pandas = c[c.concept == "persistent_pain"].groupby(["site", "certainty"], dropna=False).size()
    in_sparql = kg.query((EXAMPLES / "queries" / "persistent-pain-by-certainty-and-site.rq").read_text(),
                         store=built / "store", limits=LIMITS)
    want = {(None if s is None else str(s), str(level)): int(n) for s, level, n in in_sparql.rows}
    assert {(s, level): n for s, level, n in in_duckdb} == want
    assert {(None if pandas.isna(s) else s, level): int(n) for (s, level), n in in_pandas.items()} == want
