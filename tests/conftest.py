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



#: Tests that take seconds each and whose behaviour does not depend on the Python version
#: (shapes, the OWL profile, cohort equalities, Dask, kill -9, property runs): marked ``slow``.
#: CI runs them once, in the README's run; the wheel-style runs on Python 3.10 and 3.13 pass
#: ``-m "not slow"`` so the three runs fit the CI budget together (.ci/run).
SLOW = (
    "tests/test_dask.py::",
    "tests/test_cohort_store.py::",
    "tests/test_owl_profile.py::",
    "tests/test_store_readback.py::test_the_shapes_hold",
    "tests/test_store_readback.py::test_a_stored_cohort_reads_back",
    "tests/test_batch.py::test_kill_9",
    "tests/test_memo.py::test_batch_outputs_are_identical_with_and_without_memo",
    "tests/test_memo.py::test_a_realistic_cohort_hits_the_cache",
    "tests/test_rdf_export.py::test_every_example_conforms_to_the_derivation_shapes",
    "tests/test_sparql.py::test_owl_rl_closure_is_consistent",
    "tests/test_sites.py::test_shapes_catch_site_scopes",
    "tests/test_ontology.py::test_shapes_catch_broken_ontologies",
    "tests/test_certainty_output.py::test_shapes_",
    "tests/test_fuzz.py::",
    "tests/test_serve_cds_fuzz.py::",
    "tests/test_serve_attack_",
    "tests/test_html_browser.py::",
    "tests/test_serve_browser.py::",
    "tests/test_third_party_clients.py::",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
