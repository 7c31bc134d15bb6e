"""kg.reasoning.json_text writes exactly what json.dumps(indent=2, ensure_ascii=False) writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kg
from kg.reasoning.json_text import dumps_indented

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def stdlib(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text() | st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3000)))
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_any_json_tree(value):
    assert dumps_indented(value) == stdlib(value)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_explanation(path):
    try:
        e = kg.explain(str(path))
    except kg.InputError:
        pytest.skip("not a painkg patient file")
    assert e.to_json() == stdlib(e.to_dict()) + "\n"


def test_what_it_does_not_know_goes_to_json_dumps():
    class Count(int):
        pass

    odd = {1: "number key", "sub": Count(3), "nested": {"t": (1, [2.5, float("nan")])}}
    assert dumps_indented(odd) == stdlib(odd)
    circular: list = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(circular)
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented({"x": object()})


STRINGS_AND_INTS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children,
                                                                              max_size=4)),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(STRINGS_AND_INTS)
def test_dumps_explanation_equals_json_dumps_on_trees_without_floats(value):
    # Integers past 64 bits are what orjson refuses here: json.dumps's answer then.
    from kg.reasoning.json_text import dumps_explanation

    assert dumps_explanation(value) == json.dumps(value, indent=2, ensure_ascii=False)

