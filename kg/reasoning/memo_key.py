"""The memo cache's keys: what the rules can see of one group of facts at one site.

A patient is split into pieces, one per (site, group) of
:mod:`kg.reasoning.memo_groups`; each piece's key holds what the rules test
there and nothing else, so patients who differ only in their id, dates and day
counts share it:

- an injury's fields that some rule's injury premise reads, each as its value,
  except a number the rules only compare with the threshold (``days``,
  ``unresolved_days``), which is keyed as whether it reaches the threshold;
- the findings of the group at the site (a set: a finding given twice is one fact);
- for a group whose rules read only the kinds of injury at the site (a
  projection), those kinds; for the mechanism group, the mechanisms.

The fields and the comparisons are read from the rules
(:func:`kg.reasoning.premises.rule_premises`); a test of any other form raises
:class:`MemoUnsupported` when the cache is built, so a new kind of rule turns
the cache off loudly rather than keying it wrong.

>>> from kg.inputs.patient import parse_patient
>>> p = parse_patient({"id": "a", "assessed_on": "2026-03-21", "injuries": [
...     {"kind": "strain", "site": "neck", "onset": "2026-03-01"}], "findings": ["tender_to_touch"]})
>>> q = parse_patient({"id": "b", "assessed_on": "2026-05-30", "injuries": [
...     {"kind": "strain", "site": "neck", "onset": "2026-05-01"}], "findings": ["tender_to_touch"]})
>>> piece_keys(p, 14) == piece_keys(q, 14), piece_keys(p, 14) == piece_keys(p, 30)
(True, False)
"""

from __future__ import annotations

import functools
import re
from operator import attrgetter

from ..inputs.patient import Patient
from .memo_groups import INJURY, MECHANISM, Grouping, concept_groups
from .premises import rule_premises

__all__ = ["MemoUnsupported", "injury_fields", "piece_keys", "combo_key", "patient_signature", "decomposable"]

_THRESHOLD_TEST = re.compile(r"^(\w+) (>=|<) threshold$")


class MemoUnsupported(RuntimeError):
    """The rules use a construct the memo key cannot abstract; reason fresh instead."""


@functools.lru_cache(maxsize=1)
def injury_fields() -> tuple[tuple[str, ...], frozenset[str]]:
    """(fields injury premises read, those only compared with the threshold), from the rules.

    >>> fields, compared = injury_fields()
    >>> sorted(compared)
    ['days', 'site_run_days', 'unresolved_at_most', 'unresolved_days']
    """
    fields: set[str] = set()
    compared: set[str] = set()
    others: set[str] = set()
    for rid, rp in rule_premises().items():
        tested = {}
        for premise in rp.premises:
            if premise.kind == "test":
                match = _THRESHOLD_TEST.match(premise.test.text)
                if match is None or premise.test.args != (match.group(1), "threshold"):
                    raise MemoUnsupported(f"rule {rid} tests `{premise.test.text}`; the memo key knows only "
                                          "comparisons of an injury's day count with the threshold")
                tested[match.group(1)] = rid
        for premise in rp.premises:
            if premise.kind != "fact" or premise.value("role", {}) != "injury":
                continue
            for test in premise.fields:
                if test.field in ("role", "concept", "site"):
                    continue
                fields.add(test.field)
                if test.bind in tested and not test.predicates:
                    compared.add(test.field)
                else:
                    others.add(test.field)
    return tuple(sorted(fields)), frozenset(compared - others)


#: How each injury field a rule can read is found on a parsed injury (kg.rules.engine.injury_fields).
_FIELD_VALUES = {"days": attrgetter("days_since_onset"), "unresolved_days": attrgetter("unresolved_days"),
                 "resolution": attrgetter("resolution"), "resolved": attrgetter("resolved"),
                 "mechanism": lambda injury: injury.mechanism or "", "onset": attrgetter("onset"),
                 "resolved_on": attrgetter("resolved_on"), "unresolved_at_most": attrgetter("unresolved_at_most"),
                 "resolved_by": attrgetter("resolved_by"), "site_run_days": attrgetter("run_days")}


@functools.lru_cache(maxsize=1)
def _injury_plan() -> tuple[tuple, ...]:
    """(value of the field, whether it is only compared with the threshold) for each field of :func:`injury_fields`."""
    fields, compared = injury_fields()
    for name in fields:
        if name not in _FIELD_VALUES:
            raise MemoUnsupported(f"an injury premise reads {name!r}, which the memo key does not know")
    return tuple((_FIELD_VALUES[name], name in compared) for name in fields)


def _injury_key(injury, threshold: int) -> tuple:
    out = [injury.kind]
    for value_of, compared in _injury_plan():
        value = value_of(injury)
        out.append((value is not None and value >= threshold) if compared else value)
    return tuple(out)


_FINDING = attrgetter("concept", "site")


def patient_signature(patient: Patient, threshold: int) -> tuple:
    """What :func:`piece_keys` reads of a patient, cheaply: equal signatures give equal piece keys.

    The threshold, each finding's concept and site, and each injury's site, mechanism and key
    (:func:`_injury_key`), in the patient's order (the order decides nothing else).

    >>> from kg.inputs.patient import parse_patient
    >>> a = parse_patient({"id": "a", "assessed_on": "2026-03-21", "injuries": [
    ...     {"kind": "strain", "site": "neck", "onset": "2026-03-01"}]})
    >>> b = parse_patient({"id": "b", "assessed_on": "2026-06-21", "injuries": [
    ...     {"kind": "strain", "site": "neck", "onset": "2026-06-02"}]})
    >>> patient_signature(a, 14) == patient_signature(b, 14) != patient_signature(a, 30)
    True
    """
    return (threshold, tuple(map(_FINDING, patient.findings)),
            tuple((i.site, i.mechanism, _injury_key(i, threshold)) for i in patient.injuries))


def _combo_order(site_group: tuple) -> tuple:
    return tuple(s or "" for s in site_group[0]), site_group[1]


def combo_key(found: dict[tuple, tuple]) -> tuple:
    """The keys of :func:`piece_keys` in one canonical order: the key of their combination.

    >>> combo_key({(("neck",), "b"): 2, ((None,), "a"): 1, (("neck",), "a"): 3})
    (1, 3, 2)
    """
    return tuple(found[sg] for sg in sorted(found, key=_combo_order))


def decomposable(patient: Patient, grouping: Grouping) -> bool:
    """Whether the patient's pieces can be reasoned separately (else: reason fresh).

    Not when some rule joins facts at different sites. (Two injuries of one kind at
    one site, whose facts would be one, never get here: the input rules refuse them.)
    """
    return grouping.site_local


def _site_order(site) -> str:
    return "" if site is None else site


def piece_keys(patient: Patient, threshold: int, grouping: Grouping | None = None) -> dict[tuple, tuple]:
    """``{(sites, group): key}`` for every piece of the patient; ``sites`` is a tuple of sites.

    A piece is one site's group, except that a finding given without a site can
    conflict with a disjoint finding at any site: then every site's part of that
    group is one piece (a conflict names facts of both).
    """
    grouping = grouping or concept_groups()
    injured = grouping.group_of(INJURY)
    mechanism = grouping.group_of(MECHANISM)
    found: dict[tuple, set] = {}
    for finding in patient.findings:
        found.setdefault((finding.site, grouping.group_of(finding.concept)), set()).add(finding.concept)
    kinds: dict = {}
    for injury in patient.injuries:
        kinds.setdefault(injury.site, []).append(injury)
        found.setdefault((injury.site, injured), set())
        if injury.mechanism:
            found.setdefault((injury.site, mechanism), set()).add(injury.mechanism)
    disjoint = [f for f in patient.findings if grouping.has_disjoint(f.concept)]
    joined = ({grouping.group_of(f.concept) for f in disjoint if f.site is None} if len(disjoint) > 1 else set())
    pieces: dict[tuple, list] = {}
    for (site, group), items in found.items():
        sites = "*" if group in joined else (site,)
        pieces.setdefault((sites, group), []).append((site, items))
    keys = {}
    for (sites, group), parts in pieces.items():
        parts.sort(key=lambda part: _site_order(part[0]))
        where = tuple(site for site, _ in parts)
        seen_all, items_all = [], []
        for site, items in parts:
            injuries = kinds.get(site, ())
            if group == injured:
                seen = tuple(_injury_key(i, threshold) for i in injuries)
            elif grouping.projected.get(group, False):
                seen = tuple(sorted(i.kind for i in injuries))
            else:
                seen = ()
            seen_all.append(seen)
            items_all.append(tuple(sorted(items)))
        keys[(where, group)] = (threshold, where, group, tuple(items_all), tuple(seen_all))
    return keys
