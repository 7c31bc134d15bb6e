"""Run every docstring example in kg and kg.rules (the API docs must stay runnable)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import kg

import kg.rules

# An editable install maps kg.rules to rules/, outside kg/, so walk both trees; a
# wheel has kg.rules inside kg/, hence the set.
MODULES = sorted({m.name for pkg in (kg, kg.rules) for m in pkgutil.walk_packages(pkg.__path__[:1], pkg.__name__ + ".")
                  if not m.name.endswith("__main__")})


def test_module_count():
    assert {"kg.reasoning.reasoner", "kg.rules.engine", "kg.rules.tracing", "kg.inputs.patient"} <= set(MODULES)
    assert len(MODULES) >= 20


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0
