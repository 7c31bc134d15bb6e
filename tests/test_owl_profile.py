"""The ontology is in OWL 2 DL, as the OWL API's OWL2DLProfile reports it.

The check runs the real OWL API (Debian's libowlapi-java, through JPype) in a subprocess:
see tests/owlapi_dl_check.py. It checks the ontology as the package ships and exports it
(kg.knowledge.ontology.ontology_graph(): the files of ONTOLOGY_FILES merged). The SHACL
shapes (shapes.ttl, derivation-shapes.ttl) are not part of the ontology and are not checked:
they are SHACL graphs (RDF lists, sh:or, ...), not OWL.

Without the OWL API, Java or JPype the tests skip, except under CI (CI=true), where they
fail: a missing install step must not pass CI silently.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from kg.knowledge.ontology import ONTOLOGY_FILES, PK, PKE, ontology_graph

CHECKER = Path(__file__).with_name("owlapi_dl_check.py")
ONTOLOGY_IRI = "https://w3id.org/painkg/ontology"
DCTERMS_LICENSE = "http://purl.org/dc/terms/license"
TIME = rdflib.Namespace("http://www.w3.org/2006/time#")
XSD_DURATION = rdflib.URIRef("http://www.w3.org/2001/XMLSchema#duration")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _broken_ontology() -> rdflib.Graph:
    """The shipped ontology plus what OWL 2 DL forbids, to show the check is not vacuous."""
    g = ontology_graph()
    edge = PKE["overload-forms-knots"]
    g.add((PK.CausalClaim, RDFS.subClassOf, RDF.Statement))            # reserved vocabulary as a class
    g.add((edge, RDF.subject, PK.MuscleOverload))                      # reification: not OWL 2 DL
    g.add((edge, TIME.hasXSDDuration, rdflib.Literal("P14D", datatype=XSD_DURATION)))  # undeclared
    g.add((edge, TIME.numericDuration, rdflib.Literal("P14D", datatype=XSD_DURATION)))  # not in the datatype map
    return g


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("owl-profile")
    documents = {"shipped": ontology_graph(), "broken": _broken_ontology()}
    paths = []
    for name, graph in documents.items():
        path = folder / f"{name}.ttl"
        graph.serialize(path, format="turtle", encoding="utf-8")
        paths.append(str(path))
    proc = subprocess.run([sys.executable, str(CHECKER), *paths], capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    if proc.returncode == 3:
        reason = "OWL API profile check unavailable: " + json.loads(proc.stdout)["reason"]
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: the OWL API must be installed, see .ci/run)")
        pytest.skip(reason)
    assert proc.returncode == 0, f"the OWL API check failed:\n{proc.stdout}\n{proc.stderr}"
    return dict(zip(documents, json.loads(proc.stdout)["results"]))


def test_ontology_is_owl2_dl(reports):
    report = reports["shipped"]
    assert "refused" not in report, report["refused"]
    assert not report["violations"], (f"{len(report['violations'])} OWL 2 DL violations:\n"
                                      + "\n".join(report["violations"]))
    # Triples the OWL API could not map to OWL (rdf:subject, say) are dropped before the
    # profile check sees the ontology, so they count as violations here.
    assert not report["unparsed_triples"], ("triples that are not OWL 2 DL:\n"
                                            + "\n".join(report["unparsed_triples"]))


def test_ontology_header_has_version_iri_and_licence(reports):
    report = reports["shipped"]
    version = str(ontology_graph().value(rdflib.URIRef(ONTOLOGY_IRI), OWL.versionInfo))
    assert report["ontology_iri"] == ONTOLOGY_IRI
    assert report["version_iri"] == f"{ONTOLOGY_IRI}/{version}"
    assert any(a.startswith(f"{DCTERMS_LICENSE} ") for a in report["annotations"]), report["annotations"]


def test_profile_check_reports_what_owl2_dl_forbids(reports):
    report = reports["broken"]
    kinds = {v.split(":", 1)[0] for v in report["violations"]}
    assert {"UseOfReservedVocabularyForClassIRI", "UseOfUndeclaredAnnotationProperty",
            "UseOfUndeclaredDatatype"} <= kinds, report["violations"]
    assert any("22-rdf-syntax-ns#subject" in t for t in report["unparsed_triples"]), report["unparsed_triples"]


def test_every_ontology_file_is_profile_checked():
    """A new Turtle file in ontology/ is either part of the ontology (and checked) or SHACL shapes."""
    shipped = {f.name for f in resources.files("kg.ontology").iterdir() if f.name.endswith(".ttl")}
    assert shipped - set(ONTOLOGY_FILES) == {"shapes.ttl", "derivation-shapes.ttl"}
    assert set(ONTOLOGY_FILES) <= shipped
