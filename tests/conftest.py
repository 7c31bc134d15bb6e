"""Shared fixtures: one reasoner per test session (experta engines leak when rebuilt)."""

from __future__ import annotations

import pytest

import kg


@pytest.fixture(scope="session")
def reasoner() -> kg.Reasoner:
    return kg.Reasoner()


@pytest.fixture(scope="session")
def onto():
    return kg.load_ontology()

