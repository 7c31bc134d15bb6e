"""The painkg engine: all rule families on one traced experta engine.

Build one :class:`PainEngine` per process (or worker) and reuse it: building
costs ~10 ms and every new experta engine leaks memory in a class-level cache
(experta issue #21), while :meth:`PainEngine.infer` resets and reruns it.

Example
-------
>>> from kg.rules.engine import PainEngine, observed_facts
>>> from kg.inputs.patient import parse_patient
>>> engine = PainEngine()
>>> p = parse_patient({"id": "p", "assessed_on": "2026-03-21", "injuries": [
...     {"kind": "strain", "site": "neck", "days_since_onset": 15}]})
>>> trace = engine.infer(observed_facts(p), threshold_days=14)
>>> sorted(f for f in trace if f.startswith(("muscle_knots", "persistent_pain")))
['muscle_knots@neck', 'persistent_pain@neck']
"""

from __future__ import annotations

from ..inputs.patient import Patient
from .facts import C, Setting
from .findings import FindingRules
from .injury import InjuryRules
from .knots import KnotRules
from .knots_sites import KnotSiteRules
from .resolution import ResolutionRules
from .spasm import SpasmRules
from .tracing import Trace, TracingEngine, rule_id

__all__ = ["PainEngine", "observed_facts", "engine_rule_ids"]


class PainEngine(InjuryRules, SpasmRules, KnotRules, KnotSiteRules, ResolutionRules, FindingRules, TracingEngine):
    """The traced engine with every painkg rule."""

    def infer(self, facts: list[C], *, threshold_days: int = 14) -> Trace:
        """Reset, declare the patient's facts and the settings, run, return the trace."""
        self.reset()
        self.declare(Setting(threshold_days=threshold_days))
        self.declare(*facts)
        self.run()
        return self.trace


def engine_rule_ids() -> list[str]:
    """The stable ids of the engine's rules, sorted.

    >>> engine_rule_ids()[:3]
    ['atypical-radiating-pain', 'break-cycle-fix-injury', 'break-cycle-treat-spasm']
    """
    return sorted(rule_id(r) for r in PainEngine().get_rules())


def injury_fields(inj) -> dict:
    """The fields of an injury's fact, as a plain dict (see :func:`observed_facts`)."""
    fields = {"role": "injury", "concept": inj.kind, "site": inj.site, "days": inj.days_since_onset,
              "onset": inj.onset.isoformat(), "resolved": inj.resolved, "resolution": inj.resolution,
              "mechanism": inj.mechanism or ""}
    if inj.resolved_on:
        fields["resolved_on"] = inj.resolved_on.isoformat()
    if inj.unresolved_days is not None:
        fields["unresolved_days"] = inj.unresolved_days
    if inj.unresolved_at_most is not None:
        fields["resolved_by"] = inj.resolved_by.isoformat()
        fields["unresolved_at_most"] = inj.unresolved_at_most
    if inj.run_days is not None:  # injuries at the site unfixed without a break (kg.inputs.site_runs)
        fields["site_run_days"] = inj.run_days
    return fields


_PLAIN = (str, int, bool, type(None))


def _input_fact(**fields) -> C:
    """``C(**fields)`` for a patient's input, made without experta's per-value ``freeze``.

    ``Fact.__init__`` sets each field through ``__setitem__``, which calls experta's
    singledispatch ``freeze``; for a string, number, boolean or None it returns the value
    itself, which is all an input fact holds. So the same dict is filled directly; anything
    else goes through experta.
    """
    for value in fields.values():
        if type(value) not in _PLAIN:
            return C(**fields)
    fact = C.__new__(C)
    dict.update(fact, fields)
    fact._Fact__defaults = {}  # what Fact.__init__ leaves besides the fields (its __missing__ reads it)
    return fact


def observed_facts(patient: Patient) -> list[C]:
    """The input facts of a patient, in a stable order.

    The unresolved status of each injury is a fact of its own, so that "the
    basic injury is not fixed" is an explicit premise wherever it matters.

    An injury fact carries its dates: ``onset``, ``days`` (onset to assessment),
    ``resolution`` (``unresolved``, ``recurred``, ``dated`` or ``undated``), ``resolved_on``
    when known, and ``unresolved_days`` (how long it stayed unresolved: to the
    assessment, or to ``resolved_on``) unless the resolution date is unknown;
    ``site_run_days`` on the last-starting injury of overlapping injuries at a site that
    left it with an unfixed injury without a break for longer than any of them alone
    (:mod:`kg.inputs.site_runs`).
    """
    facts: list[C] = []
    for inj in patient.injuries:
        facts.append(_input_fact(**injury_fields(inj)))
        if inj.mechanism:
            facts.append(_input_fact(role="mechanism", concept=inj.mechanism, site=inj.site))
        if not inj.resolved:
            facts.append(_input_fact(role="status", concept="injury_unresolved", site=inj.site, injury=inj.kind))
    for finding in patient.findings:
        facts.append(_input_fact(concept=finding.concept, site=finding.site))
    return facts
