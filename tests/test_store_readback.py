"""A stored patient reads back as exactly ``kg.explain(record).to_dict()``: examples, edge cases, a cohort.

Every store here is written by the real ``painkg batch --store`` code path (``kg.batch``) into a real
on-disk Oxigraph store, and read back through the guarded query worker (kg.store.readback) or
through ``painkg serve --store`` (``/patients/{id}.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kg
from kg.cohort.synthetic import synthetic_records
from kg.errors import InputError
from kg.render.rdf import explanation_quads
from kg.render.rdf_iris import ONTOLOGY_GRAPH, PATIENT_BASE, PLANS_GRAPH
from kg.store.lean import lean_quads
from kg.store.readback import explanation_dict, explanation_from_triples, read_explanation
from support import derivation_shapes, example_paths, rdf_union, shacl_validate

#: Records the examples do not cover: two injuries at one site (expectations of injury 1, one of
#: them resolved without a date past the threshold), contradictory findings, a reported finding the
#: rules also conclude, a mechanism away from the lower back, a site-less finding beside two sites.
EDGE_CASES = [
    {"id": "edge-same-site", "assessed_on": "2026-05-20",
     "injuries": [{"kind": "sprain", "site": "lower_back", "onset": "2026-05-15"},
                  {"kind": "strain", "site": "lower_back", "onset": "2026-04-01", "resolved": True,
                   "mechanism": "heavy_lifting"}],
     "findings": ["localized_pain", "radiating_pain_to_leg"]},
    {"id": "edge-knots-reported", "assessed_on": "2026-05-20",
     "injuries": [{"kind": "tear", "site": "upper_back", "onset": "2026-04-20", "mechanism": "fall"},
                  {"kind": "muscle_overstretch", "site": "neck", "onset": "2026-05-20"}],
     "findings": [{"kind": "muscle_knots", "site": "upper_back"}, "better_at_rest", "muscle_spasm"]},
    {"id": "edge dated/1", "assessed_on": "2026-05-20",
     "injuries": [{"kind": "strain", "site": "neck", "onset": "2026-04-01", "resolved_on": "2026-04-05"}]},
]


def _records() -> list[dict]:
    return [json.loads(p.read_text()) for p in example_paths()] + EDGE_CASES


def _same(got: dict, want: dict) -> None:
    """Equal, with the keys in the same order (the JSON text is the same)."""
    assert got == want
    assert json.dumps(got, ensure_ascii=False) == json.dumps(want, ensure_ascii=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("readback")
    cohort = [json.loads(line) for line in synthetic_records(80, seed=31)]
    summary = kg.batch(_records() + cohort, out=tmp / "run", store=tmp / "store", chunk_size=16)
    assert summary["counts"]["results"] == len(_records()) + 80
    return tmp / "store"


def test_the_examples_are_all_here():
    assert len(example_paths()) == 9  # a new example joins the round trip; a lost one fails here


@pytest.mark.parametrize("record", _records(), ids=lambda r: r["id"])
def test_a_stored_patient_reads_back_as_its_explanation(store, record):
    _same(read_explanation(store, record["id"]), kg.explain(record).to_dict())


def test_a_stored_cohort_reads_back_as_its_explanations(store):
    # Every patient graph of the store in one query, then each patient read back from its own rows.
    rows = kg.query("SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } "
                    f"FILTER (?g != <{ONTOLOGY_GRAPH}>) }}", store=store).rows
    by_patient: dict[str, list] = {}
    shared = []  # the cohort shape's firing plans and fact templates, which every patient reads
    for g, s, p, o in rows:
        if g == PLANS_GRAPH:
            shared.append((s, p, o))
            continue
        by_patient.setdefault(str(g)[len(PATIENT_BASE):].rsplit("/graph/", 1)[0], []).append((s, p, o))
    cohort = [json.loads(line) for line in synthetic_records(80, seed=31)]
    assert {r["id"] for r in cohort} <= set(by_patient)
    for record in cohort:
        _same(explanation_dict(by_patient[record["id"]] + shared, record["id"]), kg.explain(record).to_dict())


def test_the_trace_and_the_patient_are_rebuilt_too():
    for record in _records():
        e = kg.explain(record)
        back = explanation_from_triples([q[:3] for q in lean_quads(e)])
        assert back.patient == e.patient
        assert {k: (f.concept, f.site, f.observed, f.details, set(f.justifications)) for k, f in back.trace.items()} \
            == {k: (f.concept, f.site, f.observed, f.details, set(f.justifications)) for k, f in e.trace.items()}


def test_as_of_and_threshold_of_the_batch_are_read_back(tmp_path):
    records = _records()[:4]
    kg.batch(records, out=tmp_path / "run", store=tmp_path / "store", as_of="2026-12-01", threshold_days=10)
    for record in records:
        _same(read_explanation(tmp_path / "store", record["id"]),
              kg.explain(record, as_of="2026-12-01", threshold_days=10).to_dict())


def test_a_rerun_patient_is_replaced_not_doubled(tmp_path):
    record = json.loads((example_paths()[0]).read_text())
    kg.batch([record], out=tmp_path / "r1", store=tmp_path / "store")
    summary = kg.batch([record], out=tmp_path / "r2", store=tmp_path / "store", as_of="2026-12-01")
    assert summary["store"]["patients_replaced"] == 1
    _same(read_explanation(tmp_path / "store", record["id"]), kg.explain(record, as_of="2026-12-01").to_dict())


def test_a_missing_patient_and_an_old_store_are_input_errors(store):
    with pytest.raises(InputError) as info:
        read_explanation(store, "nobody")
    assert info.value.field == "id"
    e = kg.explain(EDGE_CASES[0])
    old = [q[:3] for q in lean_quads(e) if not str(q[1]).endswith("#injuryIndex")]
    with pytest.raises(InputError, match="older painkg"):
        explanation_dict(old)


def test_the_shapes_hold_and_require_the_injury_index():
    explanations = [kg.explain(r) for r in EDGE_CASES]
    shapes = derivation_shapes()
    conforms, text = shacl_validate(rdf_union(explanations), shapes)
    assert conforms, text
    g = rdf_union(explanations)
    for s, p, o in list(g):
        if str(p).endswith("#injuryIndex"):
            g.remove((s, p, o))
    conforms, text = shacl_validate(g, shapes)
    assert not conforms and "pk:injuryIndex" in text


def test_the_lean_shape_grows_by_at_most_two_quads_per_injury():
    for record in _records():
        e = kg.explain(record)
        added = [q for q in explanation_quads(e) if str(q[1]).endswith(("#injuryIndex", "#resolvedOn"))]
        assert len(added) == len(e.patient.injuries) + sum(i.resolved_on is not None for i in e.patient.injuries)


def test_serve_store_gives_the_explanation_as_the_json_twin(store):
    pytest.importorskip("fastapi")
    from serve_support import http, serve_url

    from kg.serve.settings import ServeSettings

    with serve_url(ServeSettings(cds_open=True, store=store)) as base:
        for record in (EDGE_CASES[0], json.loads(example_paths()[-1].read_text())):
            from urllib.parse import quote

            status, _, body = http("GET", f"{base}/patients/{quote(record['id'], safe='')}.json")
            assert status == 200
            got = json.loads(body)
            # The twin of the page: the explanation (the one shape) and its presentation.
            _same(got["explanation"], kg.explain(record).to_dict())
            assert got["presentation"]["headline"] == kg.explain(record).headline
            status, _, page = http("GET", f"{base}/patients/{quote(record['id'], safe='')}/graph")
            assert status == 200 and b"cytoscape" in page
