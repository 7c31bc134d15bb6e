"""Patient input: parse, validate against the ontology, normalise.

The JSON contract::

    {"id": "p1", "assessed_on": "2026-03-21",
     "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01",
                   "mechanism": "lifting_while_twisting", "resolved": false}],
     "findings": ["localized_pain", {"kind": "muscle_spasm", "site": "lower_back"}]}

Keys and aliases come from the ontology (``painkg terms``). Every problem
raises :class:`~kg.errors.InputError` naming the field, the value and what is
allowed.

Example
-------
>>> from kg.inputs.patient import parse_patient
>>> p = parse_patient({"id": "p1", "assessed_on": "2026-03-21",
...     "injuries": [{"kind": "pulled_muscle", "site": "lower_back", "days_since_onset": 20}],
...     "findings": ["tender_to_touch"]})
>>> p.injuries[0].kind, p.injuries[0].onset.isoformat(), p.findings[0].site
('muscle_strain', '2026-03-01', 'lower_back')
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass
from typing import Any, Union

from ..errors import InputError, type_name
from ..knowledge.ontology import Ontology, load_ontology, normalize_key
from .dates import parse_date, resolve_as_of
from .injury_dates import injury_onset, resolution_bound, resolution_date
from .limits import LIMITS
from .patient_shape import fast_shape, within_limits
from .reading import check_tree, parse_json, read_text
from .site_runs import with_site_runs
from .sites import finding_site

__all__ = ["Injury", "Finding", "Patient", "parse_patient", "load_patient", "parse_date", "PatientLike",
           "ontology_or_default"]

@dataclass(frozen=True)
class Injury:
    """One injury, normalised: canonical keys, both onset and days since onset.

    ``onset`` is a date; ``days_since_onset`` counts from it to the assessment
    date. ``resolved_on`` is the date the injury was fixed, when given (it
    implies ``resolved``).
    """

    index: int
    kind: str
    site: str
    onset: dt.date
    days_since_onset: int
    mechanism: str | None
    resolved: bool
    resolved_on: dt.date | None = None
    #: For an injury resolved on an unknown date: the latest date it can have been fixed, the
    #: record's own assessment date (``--as-of`` and what-if move the assessment, not this).
    resolved_by: dt.date | None = None
    #: Derived (:mod:`kg.inputs.site_runs`), not input: set on the last-starting injury of a run of
    #: injuries at its site that overlap without a break for longer than any of them alone was unfixed:
    #: the run's length in days, the date it began, and the other injuries' indices (by onset).
    run_days: int | None = None
    run_start: dt.date | None = None
    run_with: tuple[int, ...] = ()
    #: An unresolved injury whose current episode (a recurrence, a relapse) began on an unknown date
    #: between ``onset`` and the assessment: how long it has been unresolved is unknown.
    episode_start_unknown: bool = False

    @property
    def resolution(self) -> str:
        """``unresolved``, ``recurred`` (unresolved, its current episode began on an unknown date since
        onset), ``dated`` (resolved on a known date) or ``undated`` (resolved, date unknown)."""
        if not self.resolved:
            return "recurred" if self.episode_start_unknown else "unresolved"
        return "dated" if self.resolved_on is not None else "undated"

    @property
    def unresolved_days(self) -> int | None:
        """How long the injury stayed unresolved: onset to assessment (unresolved) or to
        ``resolved_on``; None when it was resolved on an unknown date, or when its current
        episode began on an unknown date (``episode_start_unknown``).

        >>> p = parse_patient({"id": "x", "assessed_on": "2026-03-21", "injuries": [
        ...     {"kind": "strain", "site": "neck", "onset": "2026-03-01", "resolved_on": "2026-03-20"}]})
        >>> p.injuries[0].resolution, p.injuries[0].unresolved_days, p.injuries[0].days_since_onset
        ('dated', 19, 20)
        """
        if not self.resolved:
            return None if self.episode_start_unknown else self.days_since_onset
        if self.resolved_on is None:
            return None
        return (self.resolved_on - self.onset).days

    @property
    def unresolved_at_most(self) -> int | None:
        """For an injury resolved on an unknown date, the longest it can have stayed unresolved:
        onset to ``resolved_by`` (the record's own assessment date); None otherwise.

        >>> p = parse_patient({"id": "x", "assessed_on": "2026-03-06", "injuries": [
        ...     {"kind": "strain", "site": "neck", "onset": "2026-03-01", "resolved": True}]}, as_of="+30d")
        >>> p.assessed_on.isoformat(), p.injuries[0].resolved_by.isoformat(), p.injuries[0].unresolved_at_most
        ('2026-04-05', '2026-03-06', 5)
        """
        if self.resolution != "undated" or self.resolved_by is None:
            return None
        return (self.resolved_by - self.onset).days


@dataclass(frozen=True)
class Finding:
    """A reported finding; ``site`` is None when it cannot be placed."""

    concept: str
    site: str | None


@dataclass(frozen=True)
class Patient:
    """A validated patient. Build it with :func:`parse_patient`."""

    id: str
    assessed_on: dt.date
    injuries: tuple[Injury, ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        """The patient in the input JSON form, with canonical keys (not the derived run fields of
        :mod:`kg.inputs.site_runs`: parsing it again recomputes them).

        >>> parse_patient({"id": "x", "assessed_on": "2026-01-02"}).to_dict()
        {'id': 'x', 'assessed_on': '2026-01-02', 'injuries': [], 'findings': []}
        """
        return {
            "id": self.id,
            "assessed_on": self.assessed_on.isoformat(),
            "injuries": [
                {"kind": i.kind, "site": i.site, "onset": i.onset.isoformat(),
                 **({"mechanism": i.mechanism} if i.mechanism else {}), "resolved": i.resolved,
                 **({"resolved_on": i.resolved_on.isoformat()} if i.resolved_on else {}),
                 **({"resolved_by": i.resolved_by.isoformat()} if i.resolved_by else {}),
                 **({"episode_start_unknown": True} if i.episode_start_unknown else {})}
                for i in self.injuries
            ],
            "findings": [f.concept if f.site is None else {"kind": f.concept, "site": f.site}
                         for f in self.findings],
        }


PatientLike = Union[Patient, dict, str, os.PathLike]

def parse_patient(data: Any, *, as_of: object = None, ontology: Ontology | None = None) -> Patient:
    """Validate ``data`` (the JSON object) and return a :class:`Patient`.

    ``as_of`` (a date, ``YYYY-MM-DD``, or ``+Nd`` / ``-Nd`` from the patient's
    ``assessed_on``) overrides ``assessed_on``; without either, the
    assessment date is today. ``data`` is checked against the input limits
    (:mod:`kg.inputs.limits`) before anything else.

    >>> parse_patient({"id": "p", "injuries": [{"kind": "strain", "site": "neck",
    ...     "onset": "2026-05-02"}]}, as_of="2026-05-01")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: injuries[0].onset: "2026-05-02" is after the assessment date 2026-05-01
    """
    onto = ontology_or_default(ontology)
    if not isinstance(data, dict):
        raise InputError("patient", type_name(data), "a JSON object with id, assessed_on, injuries, findings")
    # The shape of a well-formed record is checked by hand (fast, and pydantic is not imported), and
    # then its strings against the limits; anything else is walked against the limits (which name
    # the first problem) and then goes through the pydantic models, which name the first problem exactly.
    raw = fast_shape(data)
    if raw is None or not within_limits(raw):
        check_tree(data, "patient")
    if raw is None:
        from .patient_schema import validate_shape

        raw = validate_shape(data)

    # One rule for time: an onset is a date. ``days_since_onset`` counts back from
    # the input's OWN assessment date (today when it has none); ``as_of`` then
    # moves only the assessment date, so time passes for every injury.
    own = parse_date(raw.assessed_on, "assessed_on") if raw.assessed_on is not None else None
    anchor = own or dt.date.today()
    assessed = resolve_as_of(as_of, own) if as_of is not None else anchor

    injuries: list[Injury] = []
    seen: dict[tuple[str, str], int] = {}
    canonical = _canonical_keys(onto)
    for i, item in enumerate(raw.injuries):
        at = f"injuries[{i}]"
        kind = canonical.get((item.kind, "injury")) or onto.resolve(item.kind, "injury", f"{at}.kind")
        site = canonical.get((item.site, "site")) or onto.resolve(item.site, "site", f"{at}.site")
        mechanism = (canonical.get((item.mechanism, "mechanism")) or onto.resolve(item.mechanism, "mechanism",
                                                                                 f"{at}.mechanism")
                     if item.mechanism else None)
        onset = injury_onset(item, anchor, at)
        if onset > assessed:
            raise InputError(f"{at}.onset", onset.isoformat(),
                             message=f"\"{onset.isoformat()}\" is after the assessment date {assessed.isoformat()}")
        days = (assessed - onset).days
        resolved_on = resolution_date(item, onset, assessed, at)
        resolved_by = resolution_bound(item, resolved_on, onset, own or anchor, assessed, at)
        if (kind, site) in seen:
            raise InputError(f"{at}", f"{kind} at {site}",
                             message=f"repeats injuries[{seen[(kind, site)]}] (same kind and site); "
                                     "give each injury once")
        seen[(kind, site)] = i
        resolved = item.resolved or resolved_on is not None
        if item.episode_start_unknown and resolved:
            raise InputError(f"{at}.episode_start_unknown", True,
                             message="true is only for an unresolved injury (the current episode of a recurrence "
                                     "began on an unknown date since onset); give it without resolved or resolved_on")
        injuries.append(Injury(i, kind, site, onset, days, mechanism, resolved, resolved_on, resolved_by,
                               episode_start_unknown=item.episode_start_unknown))

    sites = {inj.site for inj in injuries}
    default_site = next(iter(sites)) if len(sites) == 1 else None
    findings: dict[tuple[str, str | None], Finding] = {}
    for i, item in enumerate(raw.findings):
        at = f"findings[{i}]"
        if isinstance(item, str):
            concept, site = canonical.get((item, "finding")) or onto.resolve(item, "finding", at), default_site
        else:
            concept = canonical.get((item.kind, "finding")) or onto.resolve(item.kind, "finding", f"{at}.kind")
            site = ((canonical.get((item.site, "site")) or onto.resolve(item.site, "site", f"{at}.site"))
                    if item.site else default_site)
        if onto.concepts[concept].sites:  # bound to a site by the source (else anywhere: nothing to check)
            site = finding_site(onto, at, item, concept, site)
        findings[(concept, site)] = Finding(concept, site)
    ordered = tuple(findings[k] for k in sorted(findings, key=lambda k: (k[0], k[1] or "")))
    # Runs need two injuries at one site; most patients have one per site (nothing to recompute).
    runs = with_site_runs(injuries, assessed) if len(sites) < len(injuries) else tuple(injuries)
    return Patient(raw.id, assessed, runs, ordered)


@functools.lru_cache(maxsize=4)
def _canonical_keys(onto: Ontology) -> dict[tuple[str, str], str]:
    """``(value, role) -> key`` for every value :meth:`Ontology.resolve` maps to ``key`` unchanged by folding.

    Most input gives the keys themselves: a lookup here answers exactly what ``resolve`` would,
    without folding the value; anything else (an alias to fold, an error) goes to ``resolve``.
    Cached per ontology, which never changes.
    """
    aliases: dict[str, str] = {}
    for concept in onto.concepts.values():  # as Ontology builds its aliases: a later one wins
        for key in (concept.key, *concept.alt_keys):
            aliases[normalize_key(key)] = concept.key
    return {(folded, onto.concepts[key].input_role): key for folded, key in aliases.items()
            if normalize_key(folded) == folded and onto.concepts[key].input_role is not None}


def ontology_or_default(ontology: object) -> Ontology:
    """``ontology`` if it is an :class:`Ontology`, painkg's own if None; else :class:`~kg.errors.InputError`."""
    if ontology is None:
        return load_ontology()
    if not isinstance(ontology, Ontology):
        raise InputError("ontology", type_name(ontology), "a kg.Ontology (kg.load_ontology()) or None")
    return ontology


def load_patient(source: PatientLike, *, as_of: object = None, ontology: Ontology | None = None) -> Patient:
    """Return a :class:`Patient` from a Patient, a dict, a JSON file path, or ``"-"`` (stdin).

    A file is read with a bounded read (at most ``LIMITS.patient_bytes``), as
    strict UTF-8 and strict JSON (see :mod:`kg.inputs.reading`). A
    :class:`Patient` built by hand is validated like a dict.

    >>> load_patient("no/such/file.json")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: file: "no/such/file.json" is not allowed; expected a readable JSON file (not found)
    """
    if isinstance(source, Patient):
        try:
            data = source.to_dict()
        except (AttributeError, TypeError, ValueError):
            raise InputError("patient", message="is a kg.Patient whose fields are not valid; expected a "
                                                "kg.Patient from kg.parse_patient") from None
        return parse_patient(data, as_of=as_of, ontology=ontology)
    if isinstance(source, dict):
        return _parse_any(source, as_of, ontology)
    if isinstance(source, (str, os.PathLike)):
        stdin = os.fspath(source) == "-"
        shown = "-" if stdin else source
        expected = "a patient's JSON on standard input" if stdin else "a readable JSON file"
        text = read_text(source, field="file", shown=shown, expected=expected, limit=LIMITS.patient_bytes)
        data = parse_json(text, field="file", shown=shown)
        return _parse_any(data, as_of, ontology)
    raise InputError("patient", type_name(source), "a dict, a kg.Patient, or a path to a JSON file")


def _parse_any(data: Any, as_of: object, ontology: Ontology | None) -> Patient:
    """painkg's JSON contract, or FHIR R4 (an object with ``resourceType``: :mod:`kg.inputs.fhir`)."""
    if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
        from .fhir import fhir_record  # loads fhir.resources only for FHIR input

        return parse_patient(fhir_record(data, as_of=as_of), ontology=ontology)
    return parse_patient(data, as_of=as_of, ontology=ontology)
