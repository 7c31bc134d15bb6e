"""One FHIR resource to a part of painkg's patient contract: an injury, a finding, or a reason to ignore it.

* ``Condition`` coded as an injury (S39.012A, S33.5XXA...) becomes an injury: its site from
  ``bodySite`` or the site the code names, its onset from ``onsetDateTime`` / ``onsetPeriod.start``
  / ``onsetAge`` (with the patient's birth date), resolved from ``clinicalStatus``, ``resolved_on``
  from ``abatementDateTime``, its mechanism from a ``condition-dueTo`` extension. A Condition
  coded as a finding (spasm M62.830, knots M79.18) becomes a finding.
* ``Observation`` coded as a finding becomes a finding at its ``bodySite``.
* Anything painkg cannot use (``Procedure``: painkg reasons from injuries and findings, not from
  treatments given; a refuted Condition; an unknown code) is a :class:`Ignored` reason.

Only what the record states as fact is used, because painkg holds what it reads as *reported*,
its firmest certainty, and has no weaker level for input: a Condition whose
``verificationStatus`` is unconfirmed, provisional or differential, a ``preliminary``
Observation, and an Observation recording its finding as absent (``valueBoolean`` false, a
negative or absent code or text, ``interpretation`` NEG or ND, a ``valueString`` starting with a
negation) are ignored, each with the reason. An injury that recurs or relapses
(``clinicalStatus`` recurrence, relapse) is used as unresolved with ``episode_start_unknown``:
its onset is the original one, and no element of a Condition gives the start of its current
episode, so painkg treats it as it treats an injury fixed on an unknown date: knots are only
possible once the threshold has passed since onset (``overload-maybe-in-episode``), and the days
unresolved are not counted from the onset. A part the resource gives that painkg cannot use while the rest is
used (a ``bodySite`` painkg does not model beside the site the code names) is a note of the
:class:`Part`, listed as the resource's ignored part, never dropped silently.

A dateTime with a time is taken in UTC before its day is taken (:func:`fhir_date`).

Codes are looked up in the ontology's cross-references (:mod:`kg.knowledge.xrefs`).

Example
-------
>>> from kg.knowledge.ontology import load_ontology
>>> c = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"},
...      "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S39.012A"}]},
...      "onsetDateTime": "2026-03-01T09:30:00Z"}
>>> map_resource(c, "Condition/c1", load_ontology(), None)
Part(role='injury', item={'kind': 'muscle_strain', 'site': 'lower_back', 'onset': '2026-03-01', 'resolved': False}, elements={'kind': 'code', 'site': 'code', 'onset': 'onsetDateTime', 'resolved': 'clinicalStatus', 'mechanism': 'extension', 'resolved_on': 'abatementDateTime'}, notes=())
>>> map_resource(dict(c, verificationStatus={"coding": [{"code": "differential"}]}), "Condition/c1", load_ontology(), None)
Ignored(reason='verificationStatus is differential (one of the diagnoses still considered): painkg reasons only from confirmed diagnoses, as it holds what it reads as reported, its firmest certainty')
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from ..errors import show
from ..knowledge.ontology import Ontology
from ..knowledge.xrefs import load_xrefs
from .fhir_dates import fhir_date, fhir_instant
from .fhir_validate import CLINICAL_STATUS, FhirInputError, clinical_status
from .reading import LongNumber

__all__ = ["Part", "Ignored", "map_resource", "fhir_date", "fhir_instant", "DUE_TO"]

#: The extension that names what a Condition is due to (its mechanism).
DUE_TO = "http://hl7.org/fhir/StructureDefinition/condition-dueTo"
_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_UNUSABLE_VERIFICATION = {"refuted": "refuted (the condition was ruled out)",
                          "entered-in-error": "entered-in-error"}
#: verificationStatus codes of a diagnosis not (yet) established: painkg cannot hold it as reported.
_HEDGED_VERIFICATION = {"unconfirmed": "not confirmed", "provisional": "a tentative diagnosis",
                        "differential": "one of the diagnoses still considered"}
_FIRM = "as it holds what it reads as reported, its firmest certainty"
_USED_OBSERVATION_STATUS = ("final", "amended", "corrected")
_SCT = "http://snomed.info/sct"
#: Coded values that record a finding as absent, with what they mean.
_ABSENT_CODES = {(_SCT, "2667000"): "absent", (_SCT, "260385009"): "negative", (_SCT, "373067005"): "no",
                 ("http://terminology.hl7.org/CodeSystem/v2-0136", "N"): "no"}
#: A value's text (CodeableConcept.text, coding.display) that records a finding as absent.
_ABSENT_WORDS = {"no", "absent", "negative", "not present", "not detected"}
#: Observation.interpretation codes that record a finding as absent (N is "normal", not a negation).
_INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_ABSENT_INTERPRETATION = ("NEG", "ND")
#: A valueString that starts with a negation ("no spasm", "denies pain"); nothing subtler is read.
_NEGATION = re.compile(r"\s*(?:no|none|absent|negative|denies|denied|not\s+(?:present|detected))\b", re.I)


@dataclass(frozen=True)
class Part:
    """What a resource gives the patient record: an ``injury`` or a ``finding`` item, and for each
    of the item's keys the FHIR element it came from (to name it in an error)."""

    role: str
    item: object
    elements: dict = field(default_factory=dict)
    #: What painkg did not use of the resource, each a reason (listed as ignored beside the part).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ignored:
    """Why painkg does not use a resource."""

    reason: str


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


def _body_sites(body_sites: object, onto: Ontology) -> tuple[list[str], str | None]:
    """The input sites ``bodySite`` names (sorted), and its concepts naming no site painkg models, shown."""
    if not body_sites:
        return [], None
    sites, unknown = set(), []
    x = load_xrefs()
    for concept in body_sites if isinstance(body_sites, list) else [body_sites]:
        found = {k for c in _codings(concept) for k in x.concepts_for(c.get("system"), c.get("code"))
                 if onto.concepts[k].input_role == "site"}
        if len(found) == 1:
            sites |= found
        else:
            unknown.append(concept)
    if not unknown:
        return sorted(sites), None
    shown = ", ".join(x.describe(c.get("system"), c.get("code")) for u in unknown for c in _codings(u)[:2])
    text = next((u.get("text") for u in unknown if isinstance(u, dict) and u.get("text")), None)
    return sorted(sites), shown or repr(text or "")


def _unmodelled(shown: str) -> str:
    return f"bodySite {shown} is not a site painkg models"


def _code_site(code: object) -> str | None:
    x = load_xrefs()
    found = {x.site_of(c.get("system"), c.get("code")) for c in _codings(code)} - {None}
    return found.pop() if len(found) == 1 else None


def _add_age(birth: dt.date, age: dict, where: str) -> dt.date | None:
    value, unit = age.get("value"), age.get("code") or age.get("unit")
    if isinstance(value, LongNumber):  # an element painkg reads: the number limit holds
        raise FhirInputError(where, "onsetAge.value", message=f"{value.problem}; expected {value.allowed}")
    if isinstance(value, str):  # a decimal given as a JSON string (the R4B models accept it)
        raise FhirInputError(where, "onsetAge.value", value, "a JSON number")
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
        date = _add_age(birth, resource["onsetAge"] or {}, where)
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
    """Why a Condition's verificationStatus keeps painkg from using it; None when confirmed or not given."""
    for coding in _codings(resource.get("verificationStatus")):
        if coding.get("system") not in (None, _VERIFICATION_SYSTEM):
            continue
        code = coding.get("code")
        if code in _UNUSABLE_VERIFICATION:
            return f"verificationStatus is {_UNUSABLE_VERIFICATION[code]}"
        if code in _HEDGED_VERIFICATION:
            return (f"verificationStatus is {code} ({_HEDGED_VERIFICATION[code]}): painkg reasons only from "
                    f"confirmed diagnoses, {_FIRM}")
    return None


def _finding(key: str, resource: dict, onto: Ontology, where: str) -> Part | Ignored:
    sites, unknown = _body_sites(resource.get("bodySite"), onto)
    if len(sites) > 1:
        return Ignored(f"bodySite names several sites ({', '.join(sites)})")
    if not sites and unknown:
        return Ignored(_unmodelled(unknown))
    site = sites[0] if sites else None
    allowed = onto.allowed_sites(key)
    if site is not None and allowed is not None and site not in allowed:
        raise FhirInputError(where, "bodySite", site, f"{' or '.join(allowed)} ({onto.concepts[key].label} is only "
                                                      f"at the {' or '.join(onto.concepts[s].label for s in allowed)})")
    notes = (f"{_unmodelled(unknown)}; the {onto.concepts[site].label}, also given as its bodySite, is used",) \
        if unknown else ()
    return Part("finding", key if site is None else {"kind": key, "site": site}, {"kind": "code", "site": "bodySite"},
                notes)


def _injury_site(key: str, resource: dict, where: str, onto: Ontology) -> tuple[str | None, str, tuple[str, ...]]:
    """An injury's site (None: the reason instead), and notes on the bodySite codes not used."""
    sites, unknown = _body_sites(resource.get("bodySite"), onto)
    implied = _code_site(resource.get("code"))
    if implied is not None:
        other = next((s for s in sites if s != implied), None)
        if other is not None:
            raise FhirInputError(where, "bodySite", other, message=f"\"{other}\" disagrees with the code, a code of "
                                                                   f"the {onto.concepts[implied].label}; give one site")
        notes = (f"{_unmodelled(unknown)}; the code's site, the {onto.concepts[implied].label}, is used",) \
            if unknown else ()
        return implied, "", notes
    if len(sites) > 1:
        return None, f"bodySite names several sites ({', '.join(sites)})", ()
    if not sites:
        return None, _unmodelled(unknown) if unknown else (
            f"has no bodySite, and its code names no site; painkg needs the site of the {onto.concepts[key].label}"), ()
    notes = (f"{_unmodelled(unknown)}; the {onto.concepts[sites[0]].label}, also given as its bodySite, is used",) \
        if unknown else ()
    return sites[0], "", notes


def _condition(resource: dict, where: str, onto: Ontology, birth: dt.date | None) -> Part | Ignored:
    why = _verification(resource)
    status = clinical_status(resource, where)  # checks con-4 on every Condition, used or not
    resolved = None if status is None else CLINICAL_STATUS[status]
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
    recurred = status in ("recurrence", "relapse")  # the current episode began on an unknown date since onset
    site, why, notes = _injury_site(key, resource, where, onto)
    if site is None:
        return Ignored(why)
    onset, onset_at, why = _onset(resource, where, birth)
    if onset is None:
        return Ignored(why)
    item: dict = {"kind": key, "site": site, "onset": onset.isoformat()}
    mechanism = _mechanism(resource, where, onto)
    if mechanism:
        item["mechanism"] = mechanism
    item["resolved"] = bool(resolved)
    if recurred:
        item["resolved"] = False
        item["episode_start_unknown"] = True
    elif "abatementDateTime" in resource:
        end = fhir_date(resource["abatementDateTime"], where, "abatementDateTime")
        if end is not None:
            item["resolved_on"] = end.isoformat()
    return Part("injury", item, {"kind": "code", "site": "bodySite" if resource.get("bodySite") else "code",
                                 "onset": onset_at, "resolved": "clinicalStatus", "mechanism": "extension",
                                 "resolved_on": "abatementDateTime",
                                 **({"episode_start_unknown": "clinicalStatus"} if recurred else {})}, notes)


def _not_input(key: str, onto: Ontology) -> str:
    concept = onto.concepts[key]
    if concept.input_role == "mechanism":
        return (f"names {concept.label}, a mechanism: give it as the condition-dueTo extension of the injury's "
                "Condition")
    if concept.input_role == "site":
        return f"names the {concept.label}, a site: give it as the bodySite of a Condition or Observation"
    return f"names {concept.label}, which painkg concludes but does not take as input"


def _absence(resource: dict) -> str | None:
    """The element that records an Observation's finding as absent, worded for the reason; None if none does."""
    if resource.get("valueBoolean") is False:
        return "valueBoolean false"
    value = resource.get("valueCodeableConcept")
    for c in _codings(value):
        meaning = _ABSENT_CODES.get((c.get("system"), c.get("code")))
        if meaning:
            return f'valueCodeableConcept {c["code"]} "{meaning}"'
    text = _absent_text(value)
    if text:
        return f'valueCodeableConcept "{text}"'
    string = resource.get("valueString")
    if isinstance(string, str) and _NEGATION.match(string):
        return f"valueString {show(string, 40)}"
    for concept in resource.get("interpretation") or []:
        for c in _codings(concept):
            if c.get("system") in (None, _INTERPRETATION_SYSTEM) and c.get("code") in _ABSENT_INTERPRETATION:
                return f"interpretation {c['code']}"
        text = _absent_text(concept)
        if text:
            return f'interpretation "{text}"'
    return None


def _absent_text(concept: object) -> str | None:
    """The first text of a CodeableConcept (its text, its codings' displays) that says "absent", if any."""
    if not isinstance(concept, dict):
        return None
    texts = [concept.get("text")] + [c.get("display") for c in _codings(concept)]
    return next((t for t in texts if isinstance(t, str) and t.strip().rstrip(".").casefold() in _ABSENT_WORDS), None)


def _observation(resource: dict, where: str, onto: Ontology) -> Part | Ignored:
    status = resource.get("status")
    if status == "preliminary":
        return Ignored(f"status is preliminary: painkg reasons only from final results (final, amended or "
                       f"corrected), {_FIRM}")
    if status not in _USED_OBSERVATION_STATUS:
        return Ignored(f"status is {status}; painkg reads final, amended or corrected observations")
    key, why = _concept_of(resource.get("code"), onto)
    if key is None:
        return Ignored(why)
    if onto.concepts[key].input_role != "finding":
        return Ignored(_not_input(key, onto))
    absent = _absence(resource)
    if absent:
        return Ignored(f"records {onto.concepts[key].label} as absent ({absent})")
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
