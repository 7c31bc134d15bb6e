"""Golden JSON for every example: the full explanation, byte for byte.

Regenerate after an intended change with ``python tests/regenerate_golden.py``
and review the diff.
"""

from __future__ import annotations

import pytest

import kg

from support import ROOT, example_paths

GOLDEN = ROOT / "tests" / "golden"


def test_every_example_has_a_golden_file():
    assert len(example_paths()) == 9
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(p.stem for p in example_paths())


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_golden(path):
    expected = (GOLDEN / path.name).read_text(encoding="utf-8")
    assert kg.explain(path).to_json() == expected
