"""One engine per process, reused with reset(); no per-patient engine, no leak."""

from __future__ import annotations

import logging
import subprocess
import sys

import kg
from kg.rules.tracing import TracingEngine

from support import example_paths


def test_a_reasoner_reuses_one_engine_across_patients(reasoner):
    engine = reasoner.engine
    results = [reasoner.explain(p).pain_persists for p in example_paths()]
    assert reasoner.engine is engine and results.count(True) == 6


def test_reuse_does_not_grow_experta_caches():
    from experta.matchers.rete.check import FactCapture

    r = kg.Reasoner()
    paths = example_paths()
    for p in paths:
        r.explain(p)
    before = len(FactCapture._instances)
    for _ in range(20):
        for p in paths:
            r.explain(p)
    assert len(FactCapture._instances) == before


def test_results_do_not_leak_between_patients(reasoner):
    persistent = reasoner.explain({"id": "a", "assessed_on": "2026-01-30", "findings": ["muscle_knots"]})
    clean = reasoner.explain({"id": "b", "assessed_on": "2026-01-30"})
    assert persistent.pain_persists and not clean.pain_persists and clean.facts == ()


def test_importing_kg_does_not_configure_logging():
    code = ("import logging, kg; kg.explain({'id': 'x', 'assessed_on': '2026-01-01'}); "
            "print(len(logging.getLogger().handlers))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"


def test_import_kg_stays_light():
    code = "import sys, kg; print(sorted(m for m in ('networkx', 'pyoxigraph', 'owlrl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tracing_engine_records_alternative_justifications(reasoner):
    e = reasoner.explain({"id": "x", "assessed_on": "2026-01-30", "injuries": [
        {"kind": "strain", "site": "neck", "days_since_onset": 1}]})
    assert isinstance(reasoner.engine, TracingEngine)
    assert [j.rule for j in e.fact("muscle_spasm@neck").justifications] == [
        "spasm-from-inflammation", "spasm-protective"]
    assert logging.getLogger("experta").handlers == []
