"""Memoised reasoning (kg.reasoning.memo): byte-identical to fresh reasoning, bounded, derived from the rules."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kg
from kg.cohort.synthetic import synthetic_patient, write_ndjson
from kg.reasoning import memo_groups, memo_key
from kg.reasoning.memo import MemoReasoner
from kg.reasoning.memo_groups import INJURY, concept_groups
from kg.reasoning.premises import rule_premises

from test_properties import REASONER, fast, patients


def fresh_json(patient, threshold=14, as_of=None) -> str:
    e = REASONER.explain(patient, threshold_days=threshold, as_of=as_of)
    return json.dumps(e.to_dict(), ensure_ascii=False, separators=(",", ":"))


def shifted(patient: dict, days: int, new_id: str) -> dict:
    """The same patient assessed ``days`` later with the same day counts: another id, other dates."""
    assessed = dt.date.fromisoformat(patient["assessed_on"]) + dt.timedelta(days=days)
    return {**patient, "id": new_id, "assessed_on": assessed.isoformat()}


cohorts = st.lists(st.tuples(patients, st.integers(-400, 400), st.booleans()), min_size=1, max_size=6)


@fast
@given(cohorts, st.integers(1, 30), st.integers(1, 6))
def test_memoised_output_equals_fresh_output_byte_for_byte(cohort, threshold, maxsize):
    # A small cache, so eviction happens within one example too.
    memo = MemoReasoner(REASONER, maxsize=maxsize)
    for n, (patient, shift, twice) in enumerate(cohort):
        for p in [patient, shifted(patient, shift, f"copy-{n}")] if twice else [patient]:
            try:
                expected = fresh_json(p, threshold)
            except kg.InputError as exc:
                with pytest.raises(kg.InputError) as info:
                    memo.explain_json(p, threshold_days=threshold)
                assert str(info.value) == str(exc)
                continue
            got = memo.explain_json(p, threshold_days=threshold)
            assert got.explanation == expected
            e = json.loads(expected)
            assert (got.pain_persists, got.persistent_pain) == (e["pain_persists"], e["persistent_pain"])
            assert [c["concept"] for c in got.conclusions] == [c["concept"] for c in e["chains"]]
    assert len(memo) <= maxsize


def test_a_realistic_cohort_hits_the_cache_and_matches_fresh():
    import random

    rng = random.Random(11)
    memo = MemoReasoner(REASONER)
    for i in range(600):
        p = synthetic_patient(rng, f"p{i}")
        assert memo.explain_json(p).explanation == fresh_json(p), p
    stats = memo.stats
    assert stats["patients"] == 600
    # Most patients reuse a merged template; the rest are built from mostly cached pieces.
    assert stats["hits"] > 0 and stats["piece_hits"] > 2 * stats["piece_misses"], stats


def test_two_injuries_at_one_site_and_unplaced_findings():
    memo = MemoReasoner(REASONER)
    for days in (3, 30, 3):
        p = {"id": f"d{days}", "assessed_on": "2026-03-20", "injuries": [
            {"kind": "strain", "site": "neck", "days_since_onset": days, "mechanism": "fall"},
            {"kind": "sprain", "site": "neck", "days_since_onset": 40, "resolved": True},
            {"kind": "tear", "site": "lower_back", "days_since_onset": 10}],
            "findings": ["localized_pain", "muscle_knots", {"kind": "radiating_pain_to_leg", "site": "lower_back"}]}
        assert memo.explain_json(p).explanation == fresh_json(p)
    # Unplaced localized pain conflicts with the radiating pain at the lower back: the "fits a strain"
    # parts of every site are one piece then, and nothing needs fresh reasoning.
    assert memo.stats["fresh"] == 0 and memo.stats["hits"] == 1


def test_memo_off_reasons_every_patient_fresh():
    memo = MemoReasoner(REASONER, maxsize=0)
    p = {"id": "a", "assessed_on": "2026-03-20", "injuries": [{"kind": "strain", "site": "neck",
                                                                 "days_since_onset": 20}]}
    for _ in range(3):
        assert memo.explain_json(p).explanation == fresh_json(p)
    assert memo.stats["fresh"] == 3 and len(memo) == 0


def test_groups_come_from_the_rules():
    g = concept_groups()
    injury = g.group_of(INJURY)
    # Spasm, knots and persistent pain are joined to the injury by the rules that derive them.
    assert {g.group_of(c) for c in ("muscle_spasm", "muscle_knots", "persistent_pain", "difficulty_moving")} == {injury}
    # "Fits a muscle strain" reads only the kind of injury at the site: a projected group of its own,
    # joined to radiating pain because the ontology says the two findings exclude each other.
    fits = g.group_of("localized_pain")
    assert fits != injury and g.projected[fits]
    assert g.group_of("radiating_pain_to_leg") == g.group_of("tender_to_touch") == fits


def test_a_rule_that_joins_two_groups_changes_the_grouping(monkeypatch):
    real = rule_premises()
    # Give "fits-strain-localized-pain" the premises of a timed rule plus its own finding:
    # it now reads the injury's day count, so localized pain must join the injury group.
    joined = dict(real)
    timed = real["overload-after-threshold"]
    own = real["fits-strain-localized-pain"]
    joined["fits-strain-localized-pain"] = type(own)(own.id, own.premises + timed.premises, own.conclusion_site)
    memo_groups._grouping.cache_clear()
    monkeypatch.setattr(memo_groups, "rule_premises", lambda: joined)
    try:
        g = concept_groups()
        assert g.group_of("localized_pain") == g.group_of(INJURY)
    finally:
        memo_groups._grouping.cache_clear()


def test_a_test_the_key_cannot_abstract_turns_the_cache_off_loudly(monkeypatch):
    real = rule_premises()
    rule = real["overload-after-threshold"]
    test = next(p for p in rule.premises if p.kind == "test")
    odd = type(test.test)(test.test.func, test.test.args, "days * 2 >= threshold", test.test.names)
    premises = tuple(type(p)(p.index, p.kind, p.fields, odd) if p is test else p for p in rule.premises)
    monkeypatch.setattr(memo_key, "rule_premises", lambda: {**real, rule.id: type(rule)(rule.id, premises,
                                                                                        rule.conclusion_site)})
    memo_key.injury_fields.cache_clear()
    try:
        with pytest.raises(memo_key.MemoUnsupported, match="days \\* 2 >= threshold"):
            memo_key.injury_fields()
    finally:
        memo_key.injury_fields.cache_clear()


@pytest.mark.parametrize("extra", [[], ["--summary-only"], ["--format", "parquet"]])
def test_batch_outputs_are_identical_with_and_without_memo(tmp_path, extra):
    cohort = tmp_path / "cohort.ndjson"
    write_ndjson(cohort, 400, seed=5, bad=0.05)
    runs = {}
    for memo in ("5000", "0"):
        out = tmp_path / f"out-{memo}"
        result = subprocess.run([sys.executable, "-m", "kg.cli", "batch", str(cohort), "--out", str(out), "-q",
                                 "--memo", memo, *extra], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        runs[memo] = out
    names = sorted(p.name for p in runs["0"].iterdir() if p.is_file() and p.name.startswith(("results", "rejects")))
    assert names and names == sorted(p.name for p in runs["5000"].iterdir()
                                     if p.is_file() and p.name.startswith(("results", "rejects")))
    for name in names:
        assert (runs["5000"] / name).read_bytes() == (runs["0"] / name).read_bytes(), name


def test_cds_cards_from_memoised_json_equal_cards_from_the_explanation():
    """The CDS hook builds its cards from the memoised JSON: the same cards as from the fresh explanation's."""
    import random

    pytest.importorskip("fastapi")
    from kg.serve.cds_cards import card_for

    rng = random.Random(23)
    memo = MemoReasoner(REASONER)
    compared = 0
    for i in range(300):
        p = synthetic_patient(rng, f"c{i}")
        try:
            e = REASONER.explain(p)
        except kg.InputError:
            continue
        memoised = json.loads(memo.explain_json(p).explanation)
        kwargs = {"base_url": "http://127.0.0.1:8000", "source_label": "painkg",
                  "ignored": [{"resource": "Procedure/pr1", "reason": "therapy"}], "notes": ("a note",)}
        assert card_for(memoised, REASONER.ontology, **kwargs) == card_for(e.to_dict(), e.ontology, **kwargs), p
        compared += 1
    assert compared > 250


def test_one_shared_memo_serves_several_threads_byte_for_byte():
    """painkg serve's engine threads share one memo: same bytes as fresh, each piece reasoned once, bounded."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    from kg.reasoning.memo import thread_memo, use_thread_memo

    rng = random.Random(31)
    cohort = [synthetic_patient(rng, f"s{i}") for i in range(150)]
    expected = {p["id"]: fresh_json(p) for p in cohort}
    shared = MemoReasoner(maxsize=2000, combos=40, shared=True)
    with ThreadPoolExecutor(4, initializer=use_thread_memo, initargs=(shared,)) as pool:
        def run():
            return list(pool.map(lambda p: (p["id"], thread_memo().explain_json(p).explanation), cohort))

        first = run()
        misses = shared.stats["piece_misses"]
        second = run()
    assert first == second == [(p["id"], expected[p["id"]]) for p in cohort]
    assert shared.stats["patients"] == 300
    # The second pass finds every piece cached, whichever thread reasoned it (the combinations
    # are bounded to 40, so most are merged again from the cached pieces).
    assert shared.stats["piece_misses"] == misses and len(shared) <= misses
    assert len(shared._combos) == 40


def test_a_memo_for_several_threads_must_be_built_shared():
    from kg.reasoning.memo import use_thread_memo

    with pytest.raises(ValueError, match="shared=True"):
        use_thread_memo(MemoReasoner(REASONER))
