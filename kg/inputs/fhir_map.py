"""One FHIR resource to a part of painkg's patient contract: an injury, a finding, or a reason to ignore it.

* ``Condition`` coded as an injury (S39.012A, S33.5XXA...) becomes an injury: its site from
  ``bodySite`` or the site the code names, its onset from ``onsetDateTime`` / ``onsetPeriod.start``
  / ``onsetAge`` (with the patient's birth date), resolved from ``clinicalStatus``, ``resolved_on``
  from ``abatementDateTime``, its mechanism from a ``condition-dueTo`` extension. A Condition
  coded as a finding (spasm M62.830, knots M79.18) becomes a finding.
* ``Observation`` coded as a finding becomes a finding at its ``bodySite``.
* Anything painkg cannot use (``Procedure``: painkg reasons from injuries and findings, not from
  treatments given; a refuted Condition; an unknown code) is a :class:`Ignored` reason.

Codes are looked up in the ontology's cross-references (:mod:`kg.knowledge.xrefs`).

Example
-------
>>> from kg.knowledge.ontology import load_ontology
>>> c = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"},
...      "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S39.012A"}]},
...      "onsetDateTime": "2026-03-01T09:30:00Z"}
>>> map_resource(c, "Condition/c1", load_ontology(), None)
Part(role='injury', item={'kind': 'muscle_strain', 'site': 'lower_back', 'onset': '2026-03-01', 'resolved': False}, elements={'kind': 'code', 'site': 'code', 'onset': 'onsetDateTime', 'resolved': 'clinicalStatus', 'mechanism': 'extension', 'resolved_on': 'abatementDateTime'})
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from ..knowledge.ontology import Ontology
from ..knowledge.xrefs import load_xrefs
from .fhir_validate import FhirInputError, check_condition_status

__all__ = ["Part", "Ignored", "map_resource", "fhir_date", "DUE_TO"]

#: The extension that names what a Condition is due to (its mechanism).
DUE_TO = "http://hl7.org/fhir/StructureDefinition/condition-dueTo"
_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_UNUSABLE_VERIFICATION = {"refuted": "refuted (the condition was ruled out)",
                          "entered-in-error": "entered-in-error"}
_USED_OBSERVATION_STATUS = ("final", "amended", "corrected", "preliminary")
#: Values that record a finding as absent: false, or an "absent"/"negative"/"no" code.
_ABSENT_CODES = {("http://snomed.info/sct", "2667000"), ("http://snomed.info/sct", "260385009"),
                 ("http://terminology.hl7.org/CodeSystem/v2-0136", "N")}
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Part:
    """What a resource gives the patient record: an ``injury`` or a ``finding`` item, and for each
    of the item's keys the FHIR element it came from (to name it in an error)."""

    role: str
    item: object
    elements: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Ignored:
    """Why painkg does not use a resource."""

    reason: str


def fhir_date(value: object, where: str, element: str) -> dt.date | None:
    """The date of a FHIR dateTime (its own calendar day); None for a partial date (year or month).

    >>> fhir_date("2026-03-01T23:30:00-05:00", "Condition/c1", "onsetDateTime").isoformat()
    '2026-03-01'
    >>> fhir_date("2026-03", "Condition/c1", "onsetDateTime") is None
    True
    """
    match = _DATE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        raise FhirInputError(where, element, value, "a real calendar date") from None


def _codings(concept: object) -> list[dict]:
    return [c for c in (concept or {}).get("coding") or [] if isinstance(c, dict)] if isinstance(concept, dict) else []


def _concept_of(code: object, onto: Ontology, what: str = "code") -> tuple[str | None, str | None]:
    """The one concept a CodeableConcept names, or None and the reason it names none."""
    x = load_xrefs()
    codings = _codings(code)
    if not codings:
        text = (code or {}).get("text") if isinstance(code, dict) else None
        return None, f"{what} has no coding painkg can read" + (f' (text only: "{text[:60]}")' if text else "")
    hits = [(c, x.concepts_for(c.get("system"), c.get("code"))) for c in codings]
    single = sorted({h[0] for _c, h in hits if len(h) == 1})
    if len(single) == 1:
        return single[0], None
    named = lambda cs: ", ".join(onto.concepts[k].label for k in cs)  # noqa: E731
    if len(single) > 1:
        return None, f"{what} codings name different painkg concepts ({named(single)})"
    shared = next((c, h) for c, h in hits if h) if any(h for _c, h in hits) else None
    if shared is not None:
        return None, (f"{what} {x.describe(shared[0].get('system'), shared[0].get('code'))} matches several "
                      f"painkg concepts ({named(shared[1])}); painkg cannot tell which")
    shown = ", ".join(x.describe(c.get("system"), c.get("code")) for c in codings[:3])
    many = len(codings) > 1
    return None, f"{what}{'s' if many else ''} {shown} {'are not concepts' if many else 'is not a concept'} painkg models"


def _site_of(body_sites: object, onto: Ontology) -> tuple[str | None, str | None]:
    """The one input site ``bodySite`` names (None if it names none), or the reason it cannot be used."""
    if not body_sites:
        return None, None
    sites, unknown = set(), []
    x = load_xrefs()
    for concept in body_sites if isinstance(body_sites, list) else [body_sites]:
        found = {k for c in _codings(concept) for k in x.concepts_for(c.get("system"), c.get("code"))
                 if onto.concepts[k].input_role == "site"}
        if len(found) == 1:
            sites |= found
        else:
            unknown.append(concept)
    if len(sites) > 1:
        return None, f"bodySite names several sites ({', '.join(sorted(sites))})"
    if not sites:
        shown = ", ".join(x.describe(c.get("system"), c.get("code")) for u in unknown for c in _codings(u)[:2])
        text = next((u.get("text") for u in unknown if isinstance(u, dict) and u.get("text")), None)
        return None, f"bodySite {shown or repr(text or '')} is not a site painkg models"
    return sites.pop(), None


def _code_site(code: object) -> str | None:
    x = load_xrefs()
    found = {x.site_of(c.get("system"), c.get("code")) for c in _codings(code)} - {None}
    return found.pop() if len(found) == 1 else None


def _add_age(birth: dt.date, age: dict) -> dt.date | None:
    value, unit = age.get("value"), age.get("code") or age.get("unit")
    if not isinstance(value, (int, float)) or value < 0:
        return None
    try:
        if unit in ("d", "wk"):
            return birth + dt.timedelta(days=int(value * (7 if unit == "wk" else 1)))
        if unit in ("mo", "a"):
            months = int(value * 12) if unit == "a" else int(value)
            year, month = divmod(birth.month - 1 + months, 12)
            year += birth.year
            return dt.date(year, month + 1, min(birth.day, calendar.monthrange(year, month + 1)[1]))
    except (ValueError, OverflowError):  # past the calendar's end: no date
        return None
    return None


def _onset(resource: dict, where: str, birth: dt.date | None) -> tuple[dt.date | None, str, str | None]:
    """The onset date, the element it came from, or the reason there is none."""
    if "onsetDateTime" in resource:
        date = fhir_date(resource["onsetDateTime"], where, "onsetDateTime")
        return date, "onsetDateTime", None if date else "onsetDateTime has no day; painkg needs the onset date"
    if "onsetPeriod" in resource:
        date = fhir_date((resource["onsetPeriod"] or {}).get("start"), where, "onsetPeriod.start")
        return date, "onsetPeriod.start", None if date else "onsetPeriod has no start date with a day"
    if "onsetAge" in resource:
        if birth is None:
            return None, "onsetAge", "onsetAge needs the Patient's birthDate, which is not given"
        date = _add_age(birth, resource["onsetAge"] or {})
        return date, "onsetAge", None if date else "onsetAge is not in days, weeks, months or years (UCUM d, wk, mo, a)"
    other = next((k for k in resource if k.startswith("onset")), None)
    if other:
        return None, other, f"{other} is not a date; painkg needs the onset date (onsetDateTime, onsetPeriod or onsetAge)"
    return None, "onset[x]", "has no onset (onsetDateTime, onsetPeriod or onsetAge); painkg needs the onset date"


def _mechanism(resource: dict, where: str, onto: Ontology) -> str | None:
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == DUE_TO and "valueCodeableConcept" in ext:
            key, why = _concept_of(ext["valueCodeableConcept"], onto, "dueTo code")
            if key is None or onto.concepts[key].input_role != "mechanism":
                raise FhirInputError(where, f"extension[{i}].valueCodeableConcept",
                                     message=(why or f"names {onto.concepts[key].label}, not a mechanism") +
                                     f"; expected one of {', '.join(onto.keys('mechanism'))}")
            return key
    return None


def _verification(resource: dict) -> str | None:
    for coding in _codings(resource.get("verificationStatus")):
        if coding.get("system") in (None, _VERIFICATION_SYSTEM) and coding.get("code") in _UNUSABLE_VERIFICATION:
            return f"verificationStatus is {_UNUSABLE_VERIFICATION[coding['code']]}"
    return None


def _finding(key: str, resource: dict, onto: Ontology, where: str) -> Part | Ignored:
    site, why = _site_of(resource.get("bodySite"), onto)
    if why:
        return Ignored(why)
    allowed = onto.allowed_sites(key)
    if site is not None and allowed is not None and site not in allowed:
        raise FhirInputError(where, "bodySite", site, f"{' or '.join(allowed)} ({onto.concepts[key].label} is only "
                                                      f"at the {' or '.join(onto.concepts[s].label for s in allowed)})")
    return Part("finding", key if site is None else {"kind": key, "site": site}, {"kind": "code", "site": "bodySite"})


def _condition(resource: dict, where: str, onto: Ontology, birth: dt.date | None) -> Part | Ignored:
    why = _verification(resource)
    resolved = check_condition_status(resource, where)
    if why:
        return Ignored(why)
    key, why = _concept_of(resource.get("code"), onto)
    if key is None:
        return Ignored(why)
    role = onto.concepts[key].input_role
    if role == "finding":
        if resolved:
            return Ignored(f"clinicalStatus says the {onto.concepts[key].label} is over; painkg reads current findings")
        return _finding(key, resource, onto, where)
    if role != "injury":
        return Ignored(_not_input(key, onto))
    site, why = _site_of(resource.get("bodySite"), onto)
    implied = _code_site(resource.get("code"))
    if why and implied is None:
        return Ignored(why)
    if site is not None and implied is not None and site != implied:
        raise FhirInputError(where, "bodySite", site, message=f"\"{site}\" disagrees with the code, a code of the "
                                                              f"{onto.concepts[implied].label}; give one site")
    site = site or implied
    if site is None:
        return Ignored(f"has no bodySite, and its code names no site; painkg needs the site of the "
                       f"{onto.concepts[key].label}")
    onset, onset_at, why = _onset(resource, where, birth)
    if onset is None:
        return Ignored(why)
    item: dict = {"kind": key, "site": site, "onset": onset.isoformat()}
    mechanism = _mechanism(resource, where, onto)
    if mechanism:
        item["mechanism"] = mechanism
    item["resolved"] = bool(resolved)
    if "abatementDateTime" in resource:
        end = fhir_date(resource["abatementDateTime"], where, "abatementDateTime")
        if end is not None:
            item["resolved_on"] = end.isoformat()
    return Part("injury", item, {"kind": "code", "site": "bodySite" if resource.get("bodySite") else "code",
                                 "onset": onset_at, "resolved": "clinicalStatus", "mechanism": "extension",
                                 "resolved_on": "abatementDateTime"})


def _not_input(key: str, onto: Ontology) -> str:
    concept = onto.concepts[key]
    if concept.input_role == "mechanism":
        return (f"names {concept.label}, a mechanism: give it as the condition-dueTo extension of the injury's "
                "Condition")
    if concept.input_role == "site":
        return f"names the {concept.label}, a site: give it as the bodySite of a Condition or Observation"
    return f"names {concept.label}, which painkg concludes but does not take as input"


def _observation(resource: dict, where: str, onto: Ontology) -> Part | Ignored:
    status = resource.get("status")
    if status not in _USED_OBSERVATION_STATUS:
        return Ignored(f"status is {status}; painkg reads final, amended, corrected or preliminary observations")
    key, why = _concept_of(resource.get("code"), onto)
    if key is None:
        return Ignored(why)
    if onto.concepts[key].input_role != "finding":
        return Ignored(_not_input(key, onto))
    if resource.get("valueBoolean") is False or any(
            (c.get("system"), c.get("code")) in _ABSENT_CODES for c in _codings(resource.get("valueCodeableConcept"))):
        return Ignored(f"records {onto.concepts[key].label} as absent")
    if "dataAbsentReason" in resource:
        return Ignored("has a dataAbsentReason instead of a value")
    return _finding(key, resource, onto, where)


def _procedure(resource: dict, onto: Ontology) -> Ignored:
    key, _why = _concept_of(resource.get("code"), onto)
    if key is not None and onto.concepts[key].parents and "therapy" in onto.ancestors(key):
        return Ignored(f"{onto.concepts[key].label} is a therapy the source names; painkg reasons from injuries "
                       "and findings, not from treatments given (`painkg interventions` lists the therapies)")
    return Ignored("painkg reasons from injuries and findings, not from procedures")


def map_resource(resource: dict, where: str, onto: Ontology, birth: dt.date | None) -> Part | Ignored:
    """What a (validated) Condition, Observation or Procedure gives the record, or why it is ignored."""
    kind = resource.get("resourceType")
    if kind == "Condition":
        return _condition(resource, where, onto, birth)
    if kind == "Observation":
        return _observation(resource, where, onto)
    if kind == "Procedure":
        return _procedure(resource, onto)
    return Ignored(f"painkg does not read {kind} resources")
