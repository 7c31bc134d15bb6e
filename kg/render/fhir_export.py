"""An explanation as FHIR R4: a ``ClinicalImpression`` with its findings, and a ``Provenance``.

:func:`explanation_to_fhir` returns a ``collection`` Bundle of two resources, checked with the
``fhir.resources.R4B`` models before it is returned:

* ``ClinicalImpression`` (status ``completed``): ``subject`` the patient, ``date`` the
  assessment date, ``summary`` the headline every face opens with (a possible conclusion
  says "may"), one ``finding`` per key conclusion (the explanation's chains) coded with
  painkg's code and the ontology's cross-references, its ``basis`` the certainty and the
  key chain; ``problem`` the input Conditions (FHIR input); ``note`` the disclaimer.
* ``Provenance``: ``target`` the ClinicalImpression, ``entity`` (role ``source``) the input
  resources the record was read from, ``agent`` painkg (an assembler). ``recorded`` is the
  assessment date at midnight UTC, so the same input gives the same bytes.

:func:`fhir_explanation_dict` is the explanation's JSON with the ``ignored`` resources of a
FHIR input, the form the CLI and the HTTP service share.

Example
-------
>>> import kg
>>> b = explanation_to_fhir(kg.explain("examples/lower-back-strain-day20.json"))
>>> [e["resource"]["resourceType"] for e in b["entry"]]
['ClinicalImpression', 'Provenance']
>>> b["entry"][0]["resource"]["summary"] == kg.explain("examples/lower-back-strain-day20.json").headline
True
>>> [f["itemCodeableConcept"]["coding"][0]["code"] for f in b["entry"][0]["resource"]["finding"]]
['persistent_pain', 'muscle_knots', 'muscle_spasm', 'severe_low_back_pain', 'pain']
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from ..knowledge.wording import DISCLAIMER, may_phrase
from ..knowledge.xrefs import load_xrefs
from ..reasoning.key_chain import key_path

__all__ = ["explanation_to_fhir", "fhir_explanation_dict", "finding_codings"]

_NAMESPACE = uuid.UUID("5b0c6a53-4d0e-4a7e-9a8e-7061696e6b67")  # painkg's own, for stable urn:uuid ids
_CERTAINTY = {"reported": "reported in the input",
              "expected": "expected: the source states it as what happens",
              "possible": "possible: the source says it can or may happen"}


def finding_codings(concept: str) -> list[dict]:
    """The codings of a concept: painkg's code first, then the codes the ontology maps it to alone.

    A code the ontology shares between concepts (M54.50 for two kinds of low back pain) is
    left out: it would not say which one painkg concluded.

    >>> [c["code"] for c in finding_codings("muscle_spasm")]
    ['muscle_spasm', 'HP:0003394', 'M62.830', 'M62.838', '45352006']
    """
    x = load_xrefs()
    out = []
    for ref in x.of_concept(concept):
        if ref.scheme != "painkg" and x.concepts_for(ref.system, ref.code) != (concept,):
            continue
        out.append({"system": ref.system, "code": ref.code})
    return out


def _fhir_id(text: str) -> str:
    return (re.sub(r"[^A-Za-z0-9\-.]", "-", text) or "patient")[:64]


def _urn(e, kind: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{e.patient.id}|{e.assessed_on}|{kind}')}"


def _finding(e, chain) -> dict:
    fact = e.fact(chain.fact)
    concept = e.ontology.concepts[chain.concept]
    site = e.ontology.concepts[chain.site].label if chain.site else None
    where = f" at the {site}" if site else ""
    if fact.certainty == "possible":
        said = may_phrase(chain.concept, concept.label) + where
    else:
        said = f"{concept.label}{where}"
    path = " -> ".join(e.fact(f).label for f in key_path({f.id: f.to_dict() for f in e.facts}, chain.fact, e.ontology))
    rules = sorted({s.rule for s in chain.steps if s.rule})
    return {"itemCodeableConcept": {"coding": finding_codings(chain.concept), "text": f"{said} ({fact.certainty})"},
            "basis": f"certainty: {_CERTAINTY[fact.certainty]}; chain: {path}; rules: {', '.join(rules) or 'none'}"}


def explanation_to_fhir(explanation, fhir_patient=None) -> dict:
    """The explanation as a FHIR R4 ``collection`` Bundle: a ClinicalImpression and its Provenance.

    ``fhir_patient`` (a :class:`~kg.inputs.fhir.FhirPatient`) names the input resources: the
    Provenance's entities and the ClinicalImpression's ``problem`` (its Conditions). Without
    it the patient is referenced as ``Patient/<id>`` and the source is the patient record.
    """
    e = explanation
    pid = e.patient.id
    impression_url, provenance_url = _urn(e, "ClinicalImpression"), _urn(e, "Provenance")
    subject = {"reference": f"Patient/{_fhir_id(pid)}"}
    sources = tuple(fhir_patient.sources) if fhir_patient is not None else ()
    patient_ref = next((s for s in sources if s.startswith("Patient/") or s.startswith("urn:")), None)
    if patient_ref:
        subject = {"reference": patient_ref}
    impression: dict[str, Any] = {
        "resourceType": "ClinicalImpression", "id": impression_url.rsplit(":", 1)[1], "status": "completed",
        "description": f"painkg: why does the pain of patient {pid} persist? Knots are concluded once an injury "
                       f"has stayed unresolved for {e.threshold_days} days.",
        "subject": subject, "effectiveDateTime": e.assessed_on, "date": e.assessed_on,
        # The headline every face opens with (kg.reasoning.answer).
        "summary": e.headline,
    }
    problems = [{"reference": s} for s in sources if s.startswith("Condition/")]
    if problems:
        impression["problem"] = problems
    seen, findings = set(), []
    for chain in e.chains:
        if chain.fact not in seen:
            seen.add(chain.fact)
            findings.append(_finding(e, chain))
    if findings:
        impression["finding"] = findings
    impression["note"] = [{"text": DISCLAIMER}]
    entities = [{"role": "source", "what": {"reference": s}} for s in sources] or [
        {"role": "source", "what": {"display": f"painkg patient record {pid}"}}]
    provenance = {
        "resourceType": "Provenance", "id": provenance_url.rsplit(":", 1)[1],
        "target": [{"reference": impression_url}], "occurredDateTime": e.assessed_on,
        "recorded": f"{e.assessed_on}T00:00:00Z",
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "assembler"}]},
                   "who": {"display": f"painkg {_version()} (rules built from one source text)"}}],
        "entity": entities,
    }
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": impression_url, "resource": impression},
                        {"fullUrl": provenance_url, "resource": provenance}]}
    _validate(bundle)
    return bundle


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("painkg")
    except PackageNotFoundError:  # pragma: no cover - a checkout used without an install
        return "0+unknown"


def _validate(bundle: dict) -> None:
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)  # a failure here is a bug in painkg, not bad input: let it raise


def fhir_explanation_dict(explanation, fhir_patient=None) -> dict:
    """``explanation.to_dict()`` with ``"ignored"``: the input resources painkg did not use, and why.

    >>> import kg
    >>> fhir_explanation_dict(kg.explain("examples/knots-first-report.json"))["ignored"]
    []
    """
    out = explanation.to_dict()
    out["ignored"] = [dict(i) for i in fhir_patient.ignored] if fhir_patient is not None else []
    return out
