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
