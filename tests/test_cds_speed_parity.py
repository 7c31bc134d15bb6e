"""The CDS hook's faster paths give the same bytes: explanation keys, cached explanations, cards.

* :func:`kg.serve.explanation_cache.explanation_key` (orjson where installed) gives the key
  ``json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` gives, on the
  explanations of a synthetic cohort and on generated float-free trees;
* the cache keeps an explanation as compact text and gives back the same tree;
* the card of a cohort's patients, built through the card pieces cached per explanation
  (:mod:`kg.serve.cds_cards`), is the card built from scratch, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.knowledge.ontology import load_ontology
from kg.reasoning.json_text import loads_json
from kg.reasoning.memo import MemoReasoner
from kg.serve.explanation_cache import ExplanationCache, explanation_key

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from serve_load import patients  # noqa: E402


def json_key(explanation, not_used=()) -> str:
    """The key as the cache computed it before orjson: json.dumps, sorted and compact."""
    def canonical(value):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    text = canonical(explanation)
    if list(not_used):
        text += "\n" + canonical(list(not_used))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


@pytest.fixture(scope="module")
def cohort():
    memo = MemoReasoner()
    people = patients(400, 3)
    return [(p, memo.explain_json(p).explanation) for p in people]


def test_keys_of_a_cohorts_explanations_are_the_json_keys(cohort):
    ignored = [{"resource": "Encounter/e1", "reason": "painkg does not read Encounter resources"}]
    for _, text in cohort:
        data = loads_json(text)
        assert explanation_key(data) == json_key(data)
        assert explanation_key(data, ignored) == json_key(data, ignored)


KEYS = st.text(max_size=6)
TREES = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                     max_leaves=30)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_keys_of_generated_trees_are_the_json_keys(tree):
    # Lone surrogates, integers past 64 bits and the control characters included: orjson refuses
    # some, which json then writes, and escapes the others as json does.
    assert explanation_key({"x": tree}) == json_key({"x": tree})


def test_the_cache_keeps_compact_text_and_gives_back_the_tree(cohort):
    cache = ExplanationCache(10)
    _, text = cohort[0]
    data = loads_json(text)
    key = cache.put(data, compact=text, record={"id": "p"}, as_of="2026-03-21")
    entry = cache.get(key)
    assert type(entry.compact) is bytes and entry.compact == text.encode("utf-8")
    assert entry.explanation == data and key == json_key(data)
    assert cache.get(cache.put(data)).compact == text.encode("utf-8")  # written by the cache: the same text


def test_cards_answered_on_the_event_loop_and_on_engine_threads_are_the_fresh_cards():
    """A real server, its card cache off: cohort patients, each a new id; the first of a kind is reasoned
    on an engine thread, later ones the memo holds are answered on the event loop. Every answer is the card
    built from fresh reasoning (kg.explain), byte for byte."""
    import kg
    from kg.serve.app import create_app
    from kg.serve.cds_cards import card_for, with_uuid
    from kg.serve.cds_hooks import SERVICE_ID, _compact_json, _source_title
    from kg.serve.cds_models import parse_request
    from kg.serve.cds_prefetch import gather, prefetch_patient
    from kg.serve.engines import EnginePool
    from kg.serve.settings import ServeSettings
    from serve_load import fhir_prefetch
    from serve_support import http, serve_url

    class CountingPool(EnginePool):
        """The real engine pool, counting the calls sent to its threads."""

        trips = 0

        async def run(self, fn, *args, **kwargs):
            CountingPool.trips += 1
            return await super().run(fn, *args, **kwargs)

    settings = ServeSettings(cds_open=True, extra={"cds_cache": 0})
    app = create_app(settings)
    app.state.engines.close()
    app.state.engines = CountingPool(2)
    people = patients(40, 5) * 2  # each clinical picture twice, under another id the second time
    onto = load_ontology()
    with serve_url(settings, app=app) as base:
        for n, p in enumerate(people):
            pid = f"{p['id']}-{n}"
            body = {"hook": "patient-view", "hookInstance": f"00000000-0000-4000-8000-{n:012d}",
                    "context": {"userId": "Practitioner/t", "patientId": pid},
                    "prefetch": fhir_prefetch(p, pid), "extension": {"org.w3id.painkg.asOf": p["assessed_on"]}}
            status, _, got = http("POST", f"{base}/cds-services/{SERVICE_ID}", body=json.dumps(body),
                                  headers={"Content-Type": "application/json"})
            assert status == 200, got
            cds = parse_request(body)
            data = gather(cds, settings)
            source = prefetch_patient(data.resources, pid, p["assessed_on"])
            fresh = kg.explain(source.record, as_of=source.as_of).to_dict()
            cards = []
            if fresh["facts"]:
                link = f"{base}/explanations/{explanation_key(fresh, source.ignored)}"
                card = card_for(fresh, onto, base_url=base, source_label=f"painkg: {_source_title()}",
                                ignored=list(source.ignored), notes=data.notes, link=link)
                cards = [with_uuid(card, cds.hookInstance, pid)]
            assert got == _compact_json({"cards": cards}), pid
            assert got == (json.dumps({"cards": cards}, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    assert 0 < CountingPool.trips < len(people)  # both paths taken


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=40), st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True))
def test_card_uuids_are_uuid5(hook_instance, patient_id):
    import uuid

    from kg.serve.cds_cards import card_uuid

    name = f"https://w3id.org/painkg/cds/{hook_instance}/{patient_id}"
    try:
        expected = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    except UnicodeEncodeError:  # a lone surrogate: refused at input, and refused here the same way
        with pytest.raises(UnicodeEncodeError):
            card_uuid(hook_instance, patient_id)
        return
    assert card_uuid(hook_instance, patient_id) == expected
