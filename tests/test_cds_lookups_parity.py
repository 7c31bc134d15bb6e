"""The CDS hook's per-call lookups answer as the scans they replaced (issue 18, the hook's remaining cost).

* :func:`kg.inputs.json_nesting.nesting_within` (the running depth's maximum, in C) is the Python loop over
  brackets outside strings, on generated texts, unterminated strings and escapes included;
* :func:`kg.inputs.reading.loads` parses a body whose long digit run is inside a string (an id of zeros)
  without walking the value, and still keeps a long number as its text and names a repeated key;
* painkg's own codes (:meth:`kg.knowledge.xrefs.Xrefs.concepts_for`) map as a scan of the concepts maps
  them, for every key, alternative key and some that are neither;
* a presentation's links find the step a scan of the steps found (:func:`kg.render.presentation._link`),
  on a synthetic cohort's explanations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.inputs import json_nesting, reading
from kg.inputs.reading import LongNumber, loads
from kg.knowledge.ontology import load_ontology, normalize_key
from kg.knowledge.xrefs import PAINKG_SYSTEM, load_xrefs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from serve_load import patients  # noqa: E402

quick = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loop_within(text: str, limit: int) -> bool:
    """The depth check as a Python loop over the tokens (the way _check_depth walked them)."""
    depth = 0
    for match in json_nesting.TOKENS.finditer(text):
        token = match.group(0)
        if token in "[{":
            depth += 1
            if depth > limit:
                return False
        elif token in "]}":
            depth -= 1
    return True


@quick
@given(st.text(alphabet='[]{}"\\ax:,', max_size=80), st.integers(0, 6))
def test_nesting_within_is_the_loop(text, limit):
    assert json_nesting.nesting_within(text, limit) == loop_within(text, limit)


@quick
@given(st.text(alphabet='[]{}"a\u00e9\u20ac\ud800:,', max_size=80), st.integers(0, 6))
def test_nesting_within_is_the_loop_for_text_without_escapes(text, limit):
    assert json_nesting.nesting_within(text, limit) == loop_within(text, limit)


def test_a_too_deep_text_names_the_same_place():
    text = '{"a": "[[[[[[", "b": ' + "[" * 21 + "]" * 21 + "}"
    with pytest.raises(reading.JsonLimitError, match=r"nested more than 20 deep \(line 1, column 41\)"):
        loads(text)


def test_an_id_of_zeros_is_parsed_without_a_walk_and_a_long_number_is_kept(monkeypatch):
    careful = []
    walk = reading._first_duplicate
    monkeypatch.setattr(reading, "_first_duplicate", lambda value: careful.append(value) or walk(value))
    assert loads('{"id": "00000000-0000-4000-8000-000000000019"}') == {"id": "00000000-0000-4000-8000-000000000019"}
    assert careful == []
    long = "1" + "0" * 30
    for text in (long, f" {long}", f'{{"a":\n\t{long}}}', f"[1, -{long}]", f'{{"a": [{long}e5]}}'):
        value = loads(text)
        found = value if not isinstance(value, (dict, list)) else (
            value["a"] if isinstance(value, dict) else value[1])
        found = found[0] if isinstance(found, list) else found
        assert isinstance(found, LongNumber), text
    assert careful == []  # numbers kept by the parser's hooks: no walk of the value either
    with pytest.raises(reading.JsonLimitError, match=r'the key "a" is given twice \(line 1, column 45\)'):
        loads('{"id": "0000000000000000000000000", "a": 1, "a": 2}')


def test_painkg_codes_map_as_a_scan_of_the_concepts():
    onto = load_ontology()
    xrefs = load_xrefs()

    def scan(code):
        key = normalize_key(code)
        hit = next((c.key for c in onto.concepts.values() if key in (c.key, *c.alt_keys)), None)
        return (hit,) if hit else ()

    codes = [k for c in onto.concepts.values() for k in (c.key, *c.alt_keys)]
    codes += [c.upper() for c in codes[:20]] + ["nothing_such", " ", "x"]
    assert any(scan(code) for code in codes)
    for code in codes:
        assert xrefs.concepts_for(PAINKG_SYSTEM, code) == scan(code), code


def test_links_find_the_step_a_scan_finds():
    from kg.reasoning.json_text import loads_json
    from kg.reasoning.memo import MemoReasoner
    from kg.render import presentation

    def scan_index(data):
        index = {}
        for chain in data["chains"]:
            for step in chain["steps"]:
                if step["rule"] is not None:
                    index.setdefault((step["fact"], step["rule"], tuple(step["premises"])), step)
        return index

    memo = MemoReasoner()
    onto = load_ontology()
    looked = 0
    for person in patients(150, 11):
        data = loads_json(memo.explain_json(person).explanation)
        index, old = presentation._step_index(data), scan_index(data)
        facts = presentation.facts_by_id(data["facts"])
        for fact in presentation._key_facts(facts):
            chain = presentation.key_steps(facts, fact["id"], onto)
            for n, key in enumerate(chain):
                if key.rule is None:
                    continue
                premises = set(key.conditions) | {chain[n - 1].fact if n else None}
                expected = next((s for (f, r, p), s in old.items()
                                 if f == key.fact and r == key.rule and set(p) == premises), None)
                assert index.get((key.fact, key.rule, frozenset(premises))) is expected
                looked += 1
    assert looked > 100
