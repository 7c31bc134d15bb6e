"""Helpers shared by the tests (importable: pyproject sets pythonpath = ["tests"])."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_SOURCE = ROOT.parent / "shared" / "source"


def example_paths() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def load_example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def strain(days: int, site: str = "lower_back", *, resolved: bool = False, kind: str = "muscle_strain",
           findings=(), mechanism: str | None = None) -> dict:
    """A one-injury patient assessed on 2026-06-30, ``days`` after onset."""
    injury = {"kind": kind, "site": site, "days_since_onset": days, "resolved": resolved}
    if mechanism:
        injury["mechanism"] = mechanism
    return {"id": "t", "assessed_on": "2026-06-30", "injuries": [injury], "findings": list(findings)}


def derived(e) -> set[str]:
    return {f.id for f in e.facts if f.status == "derived"}


def with_resolution_dates(patient: dict) -> dict:
    """``patient`` with each injury's ``resolved_after`` (days after onset) turned into a ``resolved_on`` date.

    Hypothesis strategies draw ``resolved_after``; the date is clipped to the assessment date,
    and ``days_since_onset`` counts back from ``assessed_on``, as the contract says.
    """
    import datetime as dt

    assessed = dt.date.fromisoformat(patient["assessed_on"])
    injuries = []
    for inj in patient.get("injuries", []):
        inj = dict(inj)
        after = inj.pop("resolved_after", None)
        if after is not None:
            onset = assessed - dt.timedelta(days=inj["days_since_onset"])
            inj["resolved_on"] = (onset + dt.timedelta(days=min(after, inj["days_since_onset"]))).isoformat()
            inj.pop("resolved", None)
        injuries.append(inj)
    return {**patient, "injuries": injuries}


def derivation_shapes():
    """The SHACL shapes of painkg's RDF output, read from the installed package."""
    from importlib import resources

    from rdflib import Graph

    return Graph().parse(data=resources.files("kg.ontology").joinpath("derivation-shapes.ttl").read_text("utf-8"),
                         format="turtle")


def rdf_union(explanations):
    """The ontology plus the explanations' quads, as one rdflib graph (what the shapes validate)."""
    from rdflib import Graph

    from kg.render.rdf import explanation_quads, ontology_quads

    g = Graph()
    for quad in ontology_quads():
        g.add(quad[:3])
    for e in explanations:
        for quad in explanation_quads(e):
            g.add(quad[:3])
    return g


def shacl_validate(graph, shapes) -> tuple[bool, str]:
    """pyshacl's verdict and report text (SPARQL-based constraints on)."""
    import pyshacl

    conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes, advanced=True)
    return conforms, text


def headless_chromium(chromium: str, driver_path: str, profile_dir, window: str = "1400,900",
                      console_log: bool = False):
    """A selenium driver for Debian's headless Chromium, offline-minded (no background network, no sync)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={window}", f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    if console_log:
        # Keep the page's console messages for get_log("browser").
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    return driver


def assert_one_shape(records, tmp_path) -> None:
    """Every record gives the explanation's one shape on every path: memoised (thresholds 14, 5 and 30),
    read back from its lean triples, and read back from a store ``kg.batch`` built, all equal to
    ``kg.explain(record).to_dict()`` byte for byte."""
    import kg
    from kg.reasoning.memo import MemoReasoner
    from kg.store.lean import lean_quads
    from kg.store.readback import explanation_dict, explanation_from_triples, read_explanation

    def dumps(data, compact=False):
        return json.dumps(data, ensure_ascii=False, separators=(",", ":") if compact else None)

    memo = MemoReasoner(kg.Reasoner())
    for record in records:
        for threshold in (14, 5, 30):
            fresh = dumps(kg.explain(record, threshold_days=threshold).to_dict(), compact=True)
            assert memo.explain_json(record, threshold_days=threshold).explanation == fresh, (record["id"], threshold)
        e = kg.explain(record)
        triples = [q[:3] for q in lean_quads(e)]
        assert explanation_from_triples(triples).patient == e.patient
        assert explanation_dict(triples) == e.to_dict()
    kg.batch(records, out=tmp_path / "run", store=tmp_path / "store")
    for record in records:
        got, want = read_explanation(tmp_path / "store", record["id"]), kg.explain(record).to_dict()
        assert dumps(got) == dumps(want), record["id"]

