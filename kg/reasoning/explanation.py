"""The result of :func:`kg.explain`: facts, chains, and their JSON and text forms.

Example
-------
>>> import kg
>>> e = kg.explain({"id": "p1", "assessed_on": "2026-03-21",
...     "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01"}]})
>>> e.pain_persists
True
>>> [s.rule for s in e.chain("persistent_pain").steps if s.rule][-3:]
['overload-after-threshold', 'knots-from-overload', 'persistent-pain-from-knots']
>>> e.chain("atypical_for_muscle_strain") is None
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

from .answer import answer_parts, headline
from .certainty import LEVEL_OF_RANK, certainty_ranks, is_firm, strongest
from .chains import ChainIndex, depths
from .conflicts import conflicts
from .expectations import Expectation, expectations, resolution_text, time_condition
from .json_text import dumps_explanation
from ..errors import InputError
from ..knowledge.wording import default_unresolved
from ..knowledge.ontology import Ontology
from ..inputs.patient import Patient
from ..rules.tracing import Justification, Trace, TracedFact

__all__ = ["Evidence", "Fact", "Step", "Chain", "Explanation", "build_explanation"]


@dataclass(frozen=True)
class Evidence:
    """A verbatim quote of the source that supports a step."""

    passage: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"passage": self.passage, "text": self.text}


@dataclass(frozen=True)
class Fact:
    """A fact about the patient, given (``observed``) or concluded (``derived``)."""

    id: str
    concept: str
    label: str
    site: str | None
    status: str
    detail: str | None
    justifications: tuple[Justification, ...]
    #: ``reported`` (input), ``expected`` or ``possible`` (see :mod:`kg.reasoning.certainty`).
    certainty: str
    #: The certainty of each justification, in the order of ``justifications``.
    justification_certainty: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "concept": self.concept, "label": self.label, "site": self.site,
                "status": self.status, "certainty": self.certainty, "detail": self.detail,
                "justifications": [{"rule": j.rule, "premises": list(j.premises), "certainty": level}
                                   for j, level in zip(self.justifications, self.justification_certainty)]}


@dataclass(frozen=True)
class Step:
    """One step of a chain: a fact as observed, or as concluded by one rule firing."""

    fact: str
    concept: str
    site: str | None
    status: str
    rule: str | None
    premises: tuple[str, ...]
    edge: str | None
    condition: str | None
    evidence: tuple[Evidence, ...]
    #: This step's certainty: the weakest of its rule's level and its premises' (``reported`` if observed).
    certainty: str = "reported"
    #: The rule's own level, from the source's hedge (None for an observed fact).
    rule_certainty: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "concept": self.concept, "site": self.site, "status": self.status,
                "certainty": self.certainty, "rule": self.rule, "rule_certainty": self.rule_certainty,
                "premises": list(self.premises), "edge": self.edge,
                "condition": self.condition,
                # Evidence.to_dict, inlined (a call per quote of every step of every chain)
                "evidence": [{"passage": e.passage, "text": e.text} for e in self.evidence]}


@dataclass(frozen=True)
class Chain:
    """The steps from patient input to one conclusion.

    ``path`` is the longest single line of facts from an input fact to the
    conclusion (the story in one sentence); ``steps`` hold every step.
    """

    concept: str
    fact: str
    site: str | None
    path: tuple[str, ...]
    steps: tuple[Step, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"concept": self.concept, "fact": self.fact, "site": self.site,
                "path": list(self.path), "steps": [s.to_dict() for s in self.steps]}


class Explanation:
    """What painkg concluded about one patient, and why.

    Attributes: ``patient``, ``assessed_on`` (ISO date), ``threshold_days``,
    ``facts`` (tuple of :class:`Fact`), ``chains`` (tuple of :class:`Chain`),
    ``pain_persists``, ``trace`` (the raw engine trace) and ``ontology``.
    """

    def __init__(self, patient: Patient, threshold_days: int, facts: tuple[Fact, ...],
                 chains: tuple[Chain, ...], trace: Trace, ontology: Ontology):
        self.patient = patient
        self.assessed_on = patient.assessed_on.isoformat()
        self.threshold_days = threshold_days
        self.facts = facts
        self.chains = chains
        self.trace = trace
        self.ontology = ontology
        self._by_id = {f.id: f for f in facts}

    @property
    def pain_persists(self) -> bool:
        """True exactly when ``persistent_pain`` is concluded as reported or expected at some site.

        A ``possible`` persistent pain does not make it true: see :attr:`persistent_pain`.
        """
        return is_firm(self.persistent_pain)

    @property
    def persistent_pain(self) -> str | None:
        """How firmly persistent pain is concluded: its strongest certainty at any site, or None."""
        levels = [f.certainty for f in self.facts if f.concept == "persistent_pain"]
        return strongest(levels) if levels else None

    @property
    def headline(self) -> str:
        """The answer in one sentence, with its certainty and sites: every face opens with it (see :mod:`kg.reasoning.answer`)."""
        facts = [f.to_dict() for f in self.facts]
        return headline(answer_parts(facts, self.ontology), [x.to_dict() for x in self.expectations],
                        self.assessed_on, self.ontology)

    @property
    def expectations(self) -> tuple[Expectation, ...]:
        """When knots would be expected, and on what condition (see :mod:`kg.reasoning.expectations`)."""
        return expectations(self)

    def fact(self, fact_id: str) -> Fact:
        """The fact with this id; :class:`~kg.errors.InputError` if there is none."""
        try:
            return self._by_id[fact_id]
        except KeyError:
            raise InputError("fact", fact_id, "one of " + ", ".join(sorted(self._by_id))) from None

    def facts_of(self, concept: str) -> list[Fact]:
        """Facts of a concept (a key or alias), in site order."""
        key = self.ontology.resolve(concept, field="concept")
        return [f for f in self.facts if f.concept == key]

    def chain(self, concept: str, site: str | None = None) -> Chain | None:
        """The chain that concludes ``concept`` (at ``site``), or None if not concluded.

        ``concept`` may be any key or alias; an unknown one raises
        :class:`~kg.errors.InputError` listing the keys.
        """
        key = self.ontology.resolve(concept, field="concept")
        where = self.ontology.resolve(site, "site", field="site") if site else None
        for fact in self.facts:
            if fact.concept == key and (where is None or fact.site == where):
                return _chain(self, fact)
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see README, "JSON output")."""
        facts = [f.to_dict() for f in self.facts]
        expected = [x.to_dict() for x in self.expectations]
        return {"patient": self.patient.id, "assessed_on": self.assessed_on,
                "threshold_days": self.threshold_days,
                "headline": headline(answer_parts(facts, self.ontology), expected, self.assessed_on, self.ontology),
                "pain_persists": self.pain_persists,
                "persistent_pain": self.persistent_pain,
                "expectations": expected,
                "facts": facts,
                "conflicts": [c.to_dict() for c in conflicts(self)],
                "chains": [c.to_dict() for c in self.chains],
                **_loop_keys(self)}

    def to_json(self) -> str:
        """Deterministic JSON text (same input, same bytes), ending in a newline.

        The text of ``json.dumps(self.to_dict(), indent=2, ensure_ascii=False)``, written by
        :func:`~kg.reasoning.json_text.dumps_explanation` (orjson where installed, else
        :func:`~kg.reasoning.json_text.dumps_indented`: the standard library's indented
        encoder is pure Python and cost more than building the explanation).
        """
        return dumps_explanation(self.to_dict()) + "\n"

    # Views computed by higher layers: to_text(), to_rdf() and graph() by kg.render, why_not()
    # and timeline() by kg.questions. This module may not import them, not even inside a
    # method (the layers contract sees such imports), so the package root, which names every
    # layer, defines these methods and attaches them to the class (kg/__init__.py, "The
    # Explanation's views"); each loads its layer on first use.
    to_text: Callable[[], str]
    to_rdf: Callable[..., str]
    graph: Callable[..., Any]
    why_not: Callable[..., Any]
    timeline: Callable[[], Any]

    def __repr__(self) -> str:
        return (f"<Explanation patient={self.patient.id!r} assessed_on={self.assessed_on} "
                f"pain_persists={self.pain_persists} facts={len(self.facts)} chains={len(self.chains)}>")


def _loop_keys(explanation: "Explanation") -> dict[str, Any]:
    # Active feedback loops and causal paths to persistent pain (kg.reasoning.loops);
    # imported here so `import kg` does not load networkx.
    from .loops import causal_paths, feedback_loops

    return {"loops": [loop.to_dict() for loop in feedback_loops(explanation)],
            "causal_paths": [path.to_dict() for path in causal_paths(explanation)]}


def _detail(fact: TracedFact, onto: Ontology, patient: Patient) -> str | None:
    role = fact.details.get("role")
    if role == "injury":
        days = fact.details["days"]
        state = resolution_text(fact.details)
        mechanism = fact.details.get("mechanism")
        how = f" after {onto.concepts[mechanism].label}" if mechanism else ""
        return f"onset {fact.details['onset']}{how}, {days} day{'s' * (days != 1)} before assessment; {state}"
    if role == "status":
        return default_unresolved(onto.concepts[fact.details["injury"]].label, fact.site, onto)
    if role == "mechanism":
        return f"how the injury of the {onto.concepts[fact.site].label} happened"
    return None


def _condition(explanation: "Explanation", rule: str, justification: Justification | None, edge) -> str | None:
    values = dict(justification.bindings) if justification else {}
    timed = time_condition(explanation, rule, values, edge)  # with the patient's dates
    if timed is not None:
        return timed
    if edge is None or edge.condition is None:
        return None
    return edge.condition.label


def _step(explanation: "Explanation", position: int) -> Step:
    # A step is the same in every chain that holds it (its depth depends on its premises
    # only), and the key chains share most of theirs: each is built once per explanation,
    # kept at its place in the index's steps (one per observation or justification).
    built = explanation._built
    step = built[position]
    if step is None:
        step = built[position] = _new_step(explanation, position)
    return step


def _new_step(explanation: "Explanation", position: int) -> Step:
    onto, index = explanation.ontology, explanation._index
    fact_id, rule, premises, justification = index.step(position)
    fact = explanation.trace[fact_id]
    if rule is None:
        return Step(fact_id, fact.concept, fact.site, "observed", None, (), None, None, ())
    edge = onto.edge_for(rule, fact.concept, fact.site)
    evidence = _evidence(onto, rule, fact.site)
    return Step(fact_id, fact.concept, fact.site, "derived", rule, premises,
                edge.id if edge else None, _condition(explanation, rule, justification, edge), evidence,
                LEVEL_OF_RANK[explanation._step_ranks[fact_id, index.numbers[position]]], onto.rules[rule].level)


@functools.lru_cache(maxsize=4096)
def _evidence(onto: Ontology, rule: str, site: str | None) -> tuple[Evidence, ...]:
    # The quotes of a rule at a site depend on the ontology alone (immutable, hashed by
    # identity), and every step of every patient asks: made once, bounded by rules x sites.
    return tuple(Evidence(p, onto.passages[p].text) for p in onto.evidence(rule, site))


def _chain(explanation: "Explanation", fact: Fact) -> Chain:
    # The index gives chain_steps() and main_path() of the fact from steps sorted once per trace.
    index = explanation._index
    path = tuple(index.main_path(fact.id))
    return Chain(fact.concept, fact.id, fact.site, path,
                 tuple([_step(explanation, n) for n in index.chain_positions(fact.id)]))


def build_explanation(patient: Patient, trace: Trace, ontology: Ontology, threshold_days: int) -> Explanation:
    """Turn an engine trace into an :class:`Explanation` (sorted, stable)."""
    depth = depths(trace)
    fact_ranks, step_ranks = certainty_ranks(trace, ontology)
    index = ChainIndex(trace, depth)
    order = sorted(trace, key=lambda k: (depth[k], k))
    facts = []
    for k in order:
        traced = trace[k]
        facts.append(Fact(k, traced.concept, ontology.concepts[traced.concept].label, traced.site,
                          "observed" if traced.observed else "derived", _detail(traced, ontology, patient),
                          tuple(index.justifications[k]), LEVEL_OF_RANK[fact_ranks[k]],
                          tuple([LEVEL_OF_RANK[step_ranks[k, n]] for n in index.order[k]])))
    explanation = Explanation(patient, threshold_days, tuple(facts), (), trace, ontology)
    explanation._depths = depth
    explanation._step_ranks = step_ranks
    explanation._index = index
    explanation._built = [None] * len(index.facts)
    ranked = [f for f in facts if ontology.concepts[f.concept].key_rank is not None]
    ranked.sort(key=lambda f: (ontology.concepts[f.concept].key_rank, f.site or "", f.id))
    explanation.chains = tuple(_chain(explanation, f) for f in ranked)
    return explanation
