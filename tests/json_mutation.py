"""One hypothesis strategy for the fuzz tests: a JSON document broken at one random path.

Used by tests/test_serve_cds_fuzz.py (CDS calls and feedback) and tests/test_fhir_shape.py (FHIR resources),
each with the keys and values that matter to the reader it tests.
"""

from __future__ import annotations

import copy

from hypothesis import strategies as st


@st.composite
def mutated_at_random_path(draw, document, extra_keys: tuple, values):
    """``document`` with the value at a random path (drawn level by level) replaced by one of ``values``, or
    removed; an object may also get one of ``extra_keys`` (the keys the reader under test gives meaning to)."""
    out = copy.deepcopy(document)
    node = out
    while True:
        keys = list(node) + list(extra_keys) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return out
        key = draw(st.sampled_from(keys))
        child = node.get(key) if isinstance(node, dict) else node[key]
        if isinstance(child, (dict, list)) and child and draw(st.integers(0, 3)):
            node = child
            continue
        if isinstance(node, dict) and key in node and draw(st.integers(0, 5)) == 0:
            del node[key]
        else:
            node[key] = draw(values)
        return out
