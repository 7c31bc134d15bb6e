"""The persistent store: same answers as in memory, lean, added to and replaced in, and guarded like any query."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kg
from kg.cohort.synthetic import synthetic_records
from kg.errors import InputError
from kg.render.rdf_iris import PATIENT_BASE, PLANS_GRAPH
from kg.store.persistent import PatientStore
from kg.store.query_limits import QueryLimits, QueryRefusedError, QueryTimeoutError, QueryTooManyRowsError
from support import EXAMPLES, example_paths

QUERIES = sorted((EXAMPLES / "queries").glob("*.rq"))
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def _records() -> list[dict]:
    records = [json.loads(line) for line in synthetic_records(60, seed=21)]
    records += [json.loads(p.read_text()) for p in example_paths()]
    return records


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[dict]]:
    tmp = tmp_path_factory.mktemp("store")
    records = _records()
    kg.batch(records, out=tmp / "run", store=tmp / "store", chunk_size=16)
    return tmp / "store", records


def _rows(result) -> list:
    if result.type == "ASK":
        return [result.askAnswer]
    return sorted(tuple("" if v is None else v.n3() for v in row) for row in result)


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_each_example_query_answers_the_same_over_the_store(built, path):
    store, records = built
    text = path.read_text()
    over_store = kg.query(text, store=store)
    in_memory = kg.query(text, patients=records)
    assert over_store.vars == in_memory.vars
    assert _rows(over_store) == _rows(in_memory)


def test_the_examples_find_something_in_the_store(built):
    store, _ = built
    knots = kg.query((EXAMPLES / "queries" / "persistent-pain-through-knots.rq").read_text(), store=store)
    assert len(knots.rows) > 10


def test_the_store_holds_the_cohort_shape(built):
    # Per patient its own quads only; the rule firings are plans in one shared graph, each once.
    store, records = built
    per_graph = kg.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", store=store).rows
    counts = {str(g): int(n) for g, n in per_graph}
    patients = {g: n for g, n in counts.items() if g.startswith(PATIENT_BASE)}
    assert len(patients) == 2 * len({r["id"] for r in records})
    assert sum(patients.values()) / len(records) < 35  # the lean per-patient RDF had about 390, shape 2 about 65
    plans = int(kg.query("SELECT (COUNT(?x) AS ?n) WHERE { GRAPH ?g { ?x a pk:FiringPlan } }", store=store).rows[0][0])
    applied = int(kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?p pk:derivation ?d . ?d pk:applied ?x }",
                           store=store).rows[0][0])
    assert 0 < plans < applied / 4
    assert counts[str(PLANS_GRAPH)] > 0
    firings = "ASK { GRAPH ?g { ?f a pk:RuleFiring } FILTER (?g != <https://w3id.org/painkg/graph/ontology>) }"
    assert kg.query(firings, store=store).askAnswer is False


def _count(store) -> int:
    return int(kg.query(COUNT, store=store).rows[0][0])


def test_a_second_batch_adds_and_a_rerun_replaces(tmp_path):
    store = tmp_path / "store"
    first = [json.loads(line) for line in synthetic_records(12, seed=1, prefix="a-")]
    second = [json.loads(line) for line in synthetic_records(8, seed=2, prefix="b-")]
    kg.batch(first, out=tmp_path / "r1", store=store)
    one = _count(store)
    kg.batch(second, out=tmp_path / "r2", store=store)
    two = _count(store)
    assert two > one
    patients = "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a pk:Patient }"
    assert int(kg.query(patients, store=store).rows[0][0]) == 20
    summary = kg.batch(first, out=tmp_path / "r3", store=store)  # the same patients again
    assert summary["store"]["patients_replaced"] == 12
    assert _count(store) == two  # replaced, not doubled
    ontology = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/painkg/graph/ontology> { ?s ?p ?o } }"
    assert int(kg.query(ontology, store=store).rows[0][0]) == len(kg.render.rdf.ontology_quads())


def test_a_repeated_id_keeps_the_later_record_in_the_store(tmp_path):
    base = json.loads(next(synthetic_records(1, seed=5)))
    early, late = dict(base, assessed_on="2026-01-10"), dict(base, assessed_on="2026-03-10")
    filler = [json.loads(line) for line in synthetic_records(5, seed=6, prefix="f-")]
    ask = "SELECT ?d WHERE { ?p a pk:Patient ; pk:assessedOn ?d }"
    for name, records, size in (("same-chunk", [early, *filler, late], 100), ("across", [early, *filler, late], 2)):
        store = tmp_path / name
        summary = kg.batch(records, out=tmp_path / f"run-{name}", store=store, chunk_size=size)
        assert summary["counts"]["results"] == 7
        dates = [str(row[0]) for row in kg.query(ask, store=store) if row[0] is not None]
        assert sorted(dates).count("2026-03-10") == 1 and "2026-01-10" not in dates


def test_query_limits_and_refusals_apply_to_the_store(built):
    store, _ = built
    with pytest.raises(QueryTimeoutError):
        kg.query("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", store=store, limits=QueryLimits(timeout=1))
    with pytest.raises(QueryTooManyRowsError):
        kg.query("SELECT * WHERE { ?s ?p ?o }", store=store, limits=QueryLimits(max_rows=10))
    with pytest.raises(QueryRefusedError):
        kg.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", store=store)
    with pytest.raises(InputError, match="cannot be combined with store"):
        kg.query("ASK {}", patients=[EXAMPLES / "two-injuries.json"], store=store)


def test_cli_query_store_and_its_timeout(built):
    store, _ = built
    cli = [sys.executable, "-m", "kg.cli", "query", "--store", str(store)]
    run = subprocess.run(cli + ["@" + str(QUERIES[0]), "--format", "json"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["results"]["bindings"]
    run = subprocess.run(cli + ["--timeout", "1", "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "timed out after 1 s" in run.stderr


def test_a_store_being_written_is_not_queried_and_a_non_store_is_refused(built, tmp_path):
    store, _ = built
    with PatientStore(store):
        with pytest.raises(InputError, match="a painkg batch is writing it"):
            kg.query("ASK {}", store=store)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(InputError, match="not a painkg store"):
        kg.query("ASK {}", store=tmp_path / "other")
    with pytest.raises(InputError, match="not a painkg store"):
        PatientStore(tmp_path / "other")
    with pytest.raises(InputError, match="not found"):
        kg.query("ASK {}", store=tmp_path / "missing")
