"""The explanation contract: JSON shape, chains, quotes, determinism, the Python API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import kg

from support import EXAMPLES, example_paths, load_example

STEP_KEYS = {"fact", "concept", "site", "status", "certainty", "rule", "rule_certainty", "premises", "edge",
             "condition", "evidence"}


def test_the_issue_example_tells_the_whole_story():
    e = kg.explain(EXAMPLES / "lower-back-strain-day20.json")
    assert e.pain_persists
    chain = e.chain("persistent_pain")
    assert [e.fact(f).concept for f in chain.path] == [
        "muscle_strain", "inflammation", "muscle_spasm", "continuous_contraction",
        "muscle_overload", "muscle_knots", "persistent_pain"]
    rules = [s.rule for s in chain.steps if s.rule]
    for rule in ("inflammation-from-muscle-injury", "spasm-from-inflammation", "continuous-contraction",
                 "overload-after-threshold", "knots-from-overload", "persistent-pain-from-knots"):
        assert rule in rules
    overload = next(s for s in chain.steps if s.rule == "overload-after-threshold")
    assert "injury_unresolved@lower_back/muscle_strain" in overload.premises
    assert overload.edge == "continuous-contraction-causes-overload"
    assert "unresolved for 20 days (threshold 14 days)" in overload.condition
    strain = e.fact("muscle_strain@lower_back")
    assert "lifting while twisting" in strain.detail and "not resolved" in strain.detail


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_json_contract(path):
    data = json.loads(kg.explain(path).to_json())
    assert list(data)[:3] == ["patient", "assessed_on", "threshold_days"]
    assert {"patient", "assessed_on", "pain_persists", "facts", "chains"} <= set(data)
    ids = [f["id"] for f in data["facts"]]
    assert len(ids) == len(set(ids))
    for fact in data["facts"]:
        assert {"id", "concept", "label", "site", "status"} <= set(fact)
        assert fact["status"] in ("observed", "derived")
        if fact["status"] == "derived":
            assert fact["justifications"]
    firm = {f["concept"] for f in data["facts"] if f["certainty"] in ("reported", "expected")}
    assert data["pain_persists"] is ("persistent_pain" in firm)
    if data["pain_persists"]:
        assert any(c["concept"] == "persistent_pain" for c in data["chains"])
    for key in ("muscle_knots", "muscle_spasm", "atypical_for_muscle_strain"):
        for fact in (f for f in data["facts"] if f["concept"] == key):
            assert any(c["fact"] == fact["id"] for c in data["chains"])
    for chain in data["chains"]:
        steps = chain["steps"]
        assert steps[-1]["fact"] == chain["fact"]
        established = set()
        for step in steps:
            assert set(step) == STEP_KEYS
            assert set(step["premises"]) <= established, "premises come before the steps that use them"
            if step["status"] == "derived":
                assert step["rule"] and step["evidence"]
            else:
                assert step["rule"] is None and step["premises"] == []
            established.add(step["fact"])


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_every_quote_is_verbatim_from_the_source(path):
    e = kg.explain(path)
    for chain in e.chains:
        for step in chain.steps:
            for ev in step.evidence:
                p = e.ontology.passages[ev.passage]
                assert ev.text == e.ontology.document[p.start:p.end]


def test_output_is_byte_identical_across_processes():
    path = str(EXAMPLES / "two-injuries.json")
    outputs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        for fmt in ("json", "text"):
            out = subprocess.run([sys.executable, "-m", "kg.cli", "explain", path, "--format", fmt],
                                 capture_output=True, env=env, check=True).stdout
            outputs.add((fmt, out))
    assert len(outputs) == 2


def test_chain_accepts_aliases_and_sites_and_rejects_unknown_keys():
    e = kg.explain(load_example("two-injuries.json"))
    assert e.chain("knots").concept == "muscle_knots"
    assert e.chain("spasm", site="neck").site == "neck"
    assert e.chain("muscle_knots", site="neck") is None
    with pytest.raises(kg.InputError) as info:
        e.chain("fibromyalgia")
    assert info.value.field == "concept" and "muscle_knots" in info.value.allowed


def test_text_report_reads_as_a_story_with_quotes():
    e = kg.explain(EXAMPLES / "lower-back-strain-day20.json")
    text = e.to_text()
    assert text.split("\n")[1] == e.headline
    # The story is the key chain: the firmest path, not the longest one through the possible inflammation.
    assert ("In short: muscle strain -> muscle spasm -> continuous contraction -> muscle overload\n"
            "    -> muscle knots -> persistent pain.") in text
    assert 'source s04: "Usually this happens about two weeks after the initial injury."' in text
    assert "not a diagnosis" in text


def test_text_report_when_pain_does_not_persist_says_when_knots_would_be_expected():
    """s03-s04: before the threshold the report gives the date knots are expected if the injury stays unresolved."""
    text = " ".join(kg.explain(EXAMPLES / "lower-back-strain-acute.json").to_text().split())
    assert ("Persistent pain is not concluded yet; muscle knots would be expected at the lower back from 2026-03-15 "
            "if the injury stays unresolved. Muscle knots would be expected at the lower back from 2026-03-15 if "
            "the muscle strain of the lower back stays unresolved (s03, s04).") in text
    assert "Nothing in this patient's data leads to painful muscle knots" not in text
    nothing = kg.explain({"id": "n", "assessed_on": "2026-03-01", "findings": ["localized_pain"]}).to_text()
    nothing = " ".join(nothing.split())
    assert "Persistent pain is not concluded: nothing recorded leads to muscle knots." in nothing


def test_as_of_overrides_the_assessment_date():
    acute = load_example("lower-back-strain-acute.json")
    assert not kg.explain(acute).pain_persists
    later = kg.explain(acute, as_of="2026-03-15")
    assert later.assessed_on == "2026-03-15" and later.pain_persists


def test_patient_object_and_path_and_dict_agree():
    path = EXAMPLES / "neck-strain-day16.json"
    a = kg.explain(path)
    b = kg.explain(load_example("neck-strain-day16.json"))
    c = kg.explain(kg.load_patient(str(path)))
    assert a.to_json() == b.to_json() == c.to_json()
