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

from ..inputs.patient import Patient
from .memo_groups import INJURY, MECHANISM, Grouping, concept_groups
from .premises import rule_premises

__all__ = ["MemoUnsupported", "injury_fields", "piece_keys", "decomposable"]

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


def _injury_key(injury, threshold: int) -> tuple:
    fields, compared = injury_fields()
    values = {"days": injury.days_since_onset, "unresolved_days": injury.unresolved_days,
              "resolution": injury.resolution, "resolved": injury.resolved, "mechanism": injury.mechanism or "",
              "onset": injury.onset, "resolved_on": injury.resolved_on,
              "unresolved_at_most": injury.unresolved_at_most, "resolved_by": injury.resolved_by,
              "site_run_days": injury.run_days}
    out = [injury.kind]
    for name in fields:
        if name not in values:
            raise MemoUnsupported(f"an injury premise reads {name!r}, which the memo key does not know")
        value = values[name]
        out.append((value is not None and value >= threshold) if name in compared else value)
    return tuple(out)


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
