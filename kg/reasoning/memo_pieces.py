"""One cached piece of an explanation's JSON, and how it is filled in for another patient.

A :class:`Piece` holds the JSON of the facts, chains, conflicts, loops and
causal paths that one (site, group) contributes, each already serialised
(compact, as :meth:`kg.Explanation.to_dict` would be by ``json.dumps``) and
each with the key the explanation sorts it by, so pieces merge by sorting.
The values that belong to one patient are left as slots and filled from the
patient on every use:

- an injury fact's ``detail`` (its onset, mechanism, day count and resolution);
- a timed step's ``condition`` (its dates and day counts; the rule's bindings
  are re-read from the patient's own injury fact, field by field, as the rule
  bound them).

Everything else in a piece depends only on what its key holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _text  # the C escaper of json.dumps(ensure_ascii=False)
from typing import Any, Callable

from ..knowledge.ontology import Ontology
from ..inputs.patient import Patient
from .chains import chain_steps
from .conflicts import conflicts
from .answer import answer_parts
from .expectations import time_condition
from .memo_groups import Grouping, item_node
from .premises import rule_premises

__all__ = ["Piece", "build_piece", "Filler", "dumps"]

_SLOT = "\x00slot\x00"
_SLOT_JSON = json.dumps(_SLOT)


#: json.dumps(value, ensure_ascii=False, separators=(",", ":")), its encoder built once.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_int_text = int.__repr__


def dumps(value: Any) -> str:
    """Compact JSON, as the batch writes it: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``.

    A string, a whole number, a boolean and None (most of what a merge writes per patient) are
    written as json.dumps writes them, without building an encoder each time.

    >>> [dumps(v) for v in ("é\\n", 3, True, None, [1, {"a": "b"}])]
    ['"é\\\\n"', '3', 'true', 'null', '[1,{"a":"b"}]']
    """
    cls = value.__class__
    if cls is str:
        return _text(value)
    if value is None:
        return "null"
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return _int_text(value)
    if cls is list and not value:  # most patients' expectations
        return "[]"
    return _COMPACT(value)


@dataclass(frozen=True)
class Slot:
    """A value filled per patient: ``kind`` is ``detail`` or ``condition``."""

    kind: str
    concept: str
    site: str | None
    rule: str | None = None
    bindings: tuple = ()
    head_edge: str | None = None
    #: (variable, injury field) the rule binds from the injury fact, in the rule's order: read again
    #: from each patient's own injury fact (worked out once, when the piece is built).
    rebind: tuple = ()


@dataclass(frozen=True)
class Element:
    """One serialised element: literal text parts with slots between them."""

    sort: tuple
    parts: tuple[str, ...]
    slots: tuple[Slot, ...] = ()
    #: What a merged combination holds for it: its text (the piece's own string, shared) when it has
    #: no slots, else the element itself, to be filled per patient.
    token: object = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "token", self if self.slots else self.parts[0])


@dataclass(frozen=True)
class Piece:
    """What one (site, group) contributes to an explanation."""

    facts: tuple[Element, ...]
    chains: tuple[Element, ...]
    #: (sort key, {"concept", "site", "certainty"}) of each chain, for the batch's ``conclusions``.
    conclusions: tuple[tuple[tuple, dict], ...]
    conflicts: tuple[Element, ...]
    loops: tuple[Element, ...]
    causal_paths: tuple[Element, ...]
    #: Certainties of the piece's persistent_pain facts.
    persistent: tuple[str, ...]
    #: The piece's persistent-pain conclusions with their key chains (:func:`kg.reasoning.answer.answer_parts`).
    answer: tuple = ()


def _element(sort: tuple, value: dict, slots: list[Slot]) -> Element:
    text = dumps(value)
    parts = tuple(text.split(_SLOT_JSON))
    if len(parts) != len(slots) + 1:  # pragma: no cover - a slot value can never appear in real text
        raise ValueError("memo: a slot marker was found outside a slot")
    return Element(sort, parts, tuple(slots))


def _fact_role(e, fact_id: str) -> str | None:
    return e.trace[fact_id].details.get("role")


def build_piece(e, sites: tuple, group: str, grouping: Grouping) -> Piece:
    """The piece of explanation ``e`` (a sub-patient's) at ``sites`` (a tuple) in ``group``."""
    onto: Ontology = e.ontology

    def mine(fact_id: str) -> bool:
        fact = e.trace[fact_id]
        return fact.site in sites and grouping.group_of(item_node(fact.details.get("role"), fact.concept)) == group

    facts = []
    for f in e.facts:
        if not mine(f.id):
            continue
        value, slots = f.to_dict(), []
        if _fact_role(e, f.id) == "injury":
            value["detail"] = _SLOT
            slots.append(Slot("detail", f.concept, f.site))
        facts.append(_element((e._depths[f.id], f.id), value, slots))
    chains, conclusions = [], []
    for c in e.chains:
        if not mine(c.fact):
            continue
        value, slots = c.to_dict(), []
        raw = chain_steps(e.trace, c.fact, e._depths)
        for step, raw_step, out in zip(c.steps, raw, value["steps"]):
            bindings = dict(raw_step.justification.bindings) if raw_step.justification else {}
            edge = onto.edges.get(step.edge) if step.edge else None
            if step.rule is not None and time_condition(e, step.rule, bindings, edge) is not None:
                out["condition"] = _SLOT
                slots.append(Slot("condition", str(bindings.get("kind")), bindings.get("site"), step.rule,
                                  tuple(sorted(bindings.items())), step.edge, _rebind(step.rule)))
        sort = (onto.concepts[c.concept].key_rank, c.site or "", c.fact)
        chains.append(_element(sort, value, slots))
        conclusions.append((sort, {"concept": c.concept, "site": c.site, "certainty": e.fact(c.fact).certainty}))
    found = [_element((x.site or "", x.facts), x.to_dict(), []) for x in conflicts(e)
             if x.site in sites and grouping.group_of(x.concepts[0]) == group]
    from .loops import causal_paths, feedback_loops

    loops = [_element((x.site, i), x.to_dict(), []) for i, x in enumerate(
        y for y in feedback_loops(e) if y.site in sites) if grouping.group_of(x.concepts[0]) == group]
    paths = [_element((p.target, len(p.rules), p.facts), p.to_dict(), []) for p in causal_paths(e) if mine(p.target)]
    persistent = tuple(f.certainty for f in e.facts if f.concept == "persistent_pain" and mine(f.id))
    # The key chains stay within the piece: the rules join no fact outside its (site, group).
    answer = answer_parts([f.to_dict() for f in e.facts], onto, keep=mine)
    return Piece(tuple(facts), tuple(chains), tuple(conclusions), tuple(found), tuple(loops), tuple(paths),
                 persistent, answer)


def _rebind(rule: str) -> tuple[tuple[str, str], ...]:
    """(variable, field) of every binding test of the rule's injury premises, in order."""
    return tuple((test.bind, test.field) for premise in rule_premises()[rule].premises
                 if premise.kind == "fact" and premise.value("role", {}) == "injury"
                 for test in premise.fields if test.bind is not None)


class _Shim:
    """What :func:`time_condition` and the expectations read of an explanation."""

    def __init__(self, patient: Patient, ontology: Ontology, threshold_days: int):
        self.patient = patient
        self.ontology = ontology
        self.threshold_days = threshold_days


class Filler:
    """Fills a piece's slots for one patient (its injury facts as the engine would see them).

    ``injury_fact(kind, site)`` gives the fields of the patient's injury fact of that kind at
    that site (the first such injury, as the engine's facts would be); it is asked only for
    the injuries a slot names.
    """

    def __init__(self, patient: Patient, ontology: Ontology, threshold_days: int,
                 injury_fact: Callable[[str, str | None], dict | None],
                 detail: Callable[[dict, str | None], str | None]):
        self.shim = _Shim(patient, ontology, threshold_days)
        self.ontology = ontology
        self.injury_fact = injury_fact
        self.detail = detail

    def value(self, slot: Slot) -> Any:
        fields = self.injury_fact(slot.concept, slot.site)
        if slot.kind == "detail":
            return self.detail(fields, slot.site)
        bindings = dict(slot.bindings)
        for bind, field in slot.rebind:
            if field in fields:
                bindings[bind] = fields[field]
        edge = self.ontology.edges.get(slot.head_edge) if slot.head_edge else None
        return time_condition(self.shim, slot.rule, bindings, edge)

    def text(self, element: Element) -> str:
        if not element.slots:
            return element.parts[0]
        out = [element.parts[0]]
        for slot, part in zip(element.slots, element.parts[1:]):
            out.append(dumps(self.value(slot)))
            out.append(part)
        return "".join(out)
