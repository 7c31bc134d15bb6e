"""Generic provenance for experta: which rule, from which facts, made each fact.

experta keeps the activation that is firing in a local variable of ``run()``.
:class:`_TracingAgenda` remembers the activation it hands out, and
:meth:`TracingEngine.declare` files every declared fact under it: a fact
declared outside a rule is patient input; one declared inside a rule gets a
justification (rule id, premise fact ids, bindings). Declaring a fact that
already exists returns ``None`` in experta; that is where a second, alternative
justification is recorded. No rule has to do anything for this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._experta_compat import experta
from .facts import C, fact_id

_unfreeze = experta.utils.unfreeze
#: Values experta's ``unfreeze`` returns unchanged (everything a painkg fact holds).
_PLAIN = frozenset({str, int, bool, float, type(None)})

__all__ = ["Justification", "TracedFact", "Trace", "TracingEngine", "rule_id"]


def rule_id(rule) -> str:
    """Stable id of an experta rule: its method name with ``_`` read as ``-``."""
    return rule.__name__.replace("_", "-")


@dataclass(frozen=True)
class Justification:
    """One way a fact was concluded."""

    rule: str
    premises: tuple[str, ...]
    bindings: tuple[tuple[str, object], ...]


@dataclass
class TracedFact:
    """A fact of one run: content, whether it was input, and every justification."""

    id: str
    concept: str
    site: str | None
    observed: bool
    details: dict = field(default_factory=dict)
    justifications: list[Justification] = field(default_factory=list)


class Trace(dict):
    """``fact id -> TracedFact`` for one run."""


class _TracingAgenda(experta.agenda.Agenda):
    current = None

    def get_next(self):
        self.current = super().get_next()
        return self.current


def _key(fact: C) -> str:
    return fact_id(fact["concept"], fact.get("site"), fact.get("injury"))


def _recorded_key(fact: C) -> str:
    # The id _record filed the fact under (a fact's content is fixed once declared), else its id.
    return fact.__dict__.get("_trace_id") or _key(fact)


def _details(fact: C) -> dict:
    # fact.as_dict() less concept and site. as_dict() runs experta's singledispatch unfreeze
    # on every value and its is_special on every key: the cost of recording a fact was
    # mostly that. A scalar is what unfreeze returns it as; anything else still goes to it.
    return {k: (v if type(v) in _PLAIN else _unfreeze(v)) for k, v in fact.items()
            if k != "concept" and k != "site" and not (type(k) is str and k.startswith("__") and k.endswith("__"))}


class TracingEngine(experta.KnowledgeEngine):
    """A KnowledgeEngine that records a :class:`Trace` of every run."""

    def __init__(self):
        super().__init__()
        self.trace = Trace()

    def reset(self, **kwargs):
        self.trace = Trace()
        super().reset(**kwargs)
        agenda = _TracingAgenda()
        agenda.activations = self.agenda.activations
        self.agenda = agenda

    def declare(self, *facts):
        if not self.running:
            # The patient's input: one declare, so experta's matcher takes the changes once, not per fact.
            result = super().declare(*facts) if facts else None
            for fact in facts:
                if isinstance(fact, C):
                    self._record(fact, None)
            return result
        activation = self.agenda.current
        result = None
        for fact in facts:
            result = super().declare(fact)
            if isinstance(fact, C):
                self._record(fact, activation)
        return result

    def _record(self, fact: C, activation) -> None:
        key = _key(fact)
        fact.__dict__["_trace_id"] = key  # read back when the fact is a premise (_recorded_key)
        traced = self.trace.get(key)
        if traced is None:
            traced = self.trace[key] = TracedFact(key, fact["concept"], fact.get("site"),
                                                  observed=activation is None, details=_details(fact))
        if activation is None:
            traced.observed = True
            return
        premises = tuple(sorted([_recorded_key(f) for f in activation.facts if isinstance(f, C)]))
        bindings = tuple(sorted([(k, v) for k, v in activation.context.items() if not k.startswith("__")]))
        justification = Justification(rule_id(activation.rule), premises, bindings)
        if justification not in traced.justifications:
            traced.justifications.append(justification)
