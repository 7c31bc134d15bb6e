"""What if the patient were different? Re-run the reasoning on a changed patient.

A change is a string ``PATH=VALUE`` (set), ``PATH+=VALUE`` (append to a list)
or ``PATH-=VALUE`` (remove from a list). ``PATH`` is ``id``, ``assessed_on``,
``injuries``, ``findings``, ``injuries[i]``, ``injuries[i].FIELD`` (``kind``,
``site``, ``onset``, ``days_since_onset``, ``mechanism``, ``resolved``,
``resolved_on``) or ``findings[i]`` / ``findings[i].kind`` / ``findings[i].site``.
``VALUE`` is JSON; a bare word is a string (``resolved=true``, ``site=neck``,
``findings+=muscle_spasm``). Dates may be relative to the patient's assessment
date: ``assessed_on=+10d``.

What-if reasons in time (see :mod:`kg.questions.changes`): an onset is a date,
``assessed_on`` (and ``as_of``) moves only the assessment date, and fixing an
injury happens on a date: ``injuries[0].resolved=true`` fixes it on the
assessment date, ``injuries[0].resolved_on=DATE`` on that date. Knots that
formed before the injury was fixed stay (s03-s05): fixing the day-20 strain on
day 20 does not stop the pain persisting, fixing it on day 10 would have.

Changes are applied to :meth:`Patient.to_dict` and the result is validated
again with :func:`kg.inputs.patient.parse_patient`; a bad change raises
:class:`~kg.errors.InputError` naming it, what is wrong and what is allowed.

Example
-------
>>> import kg
>>> w = kg.what_if("examples/lower-back-strain-day20.json", ["injuries[0].resolved=true"])
>>> w.pain_persists_before, w.pain_persists_after, w.after.patient.injuries[0].resolved_on.isoformat()
(True, True, '2026-03-21')
>>> [d.fact for d in w.lost if d.status == "derived"][:3]
['difficulty_moving@lower_back', 'inflammation@lower_back', 'severe_low_back_pain@lower_back']
>>> kg.what_if("examples/lower-back-strain-day20.json", ["injuries[0].resolved_on=2026-03-10"]).pain_persists_after
False
>>> kg.what_if("examples/lower-back-strain-acute.json", [], as_of="+10d").pain_persists_after
True
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from ..reasoning.reasoner import DEFAULT_THRESHOLD_DAYS, Reasoner, check_threshold, reasoner_or_own
from ..reasoning.explanation import Chain, Explanation
from ..inputs.dates import check_as_of
from ..inputs.patient import PatientLike, load_patient
from ..knowledge.wording import DISCLAIMER, pain_persists_text, wrap
from .asking import check_settings
from .changes import Change, apply_changes, as_changes, parse_change

__all__ = ["Change", "Difference", "WhatIf", "parse_change", "apply_changes", "what_if"]


@dataclass(frozen=True)
class Difference:
    """A fact gained or lost by the change; ``chain`` for a gained derived fact,
    ``why_not`` (a :class:`kg.questions.why_not.SiteAnswer`) for a lost one."""

    fact: str
    concept: str
    site: str | None
    status: str
    chain: Chain | None
    why_not: Any

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "concept": self.concept, "site": self.site, "status": self.status,
                "chain": None if self.chain is None else self.chain.to_dict(),
                "why_not": None if self.why_not is None else self.why_not.to_dict()}


class WhatIf:
    """The reasoning before and after the changes, and what differs."""

    def __init__(self, before: Explanation, after: Explanation, changes: tuple[str, ...],
                 gained: tuple[Difference, ...], lost: tuple[Difference, ...]):
        self.before = before
        self.after = after
        self.changes = changes
        self.gained = gained
        self.lost = lost

    @property
    def pain_persists_before(self) -> bool:
        return self.before.pain_persists

    @property
    def pain_persists_after(self) -> bool:
        return self.after.pain_persists

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see docs/clinician-questions.md)."""
        return {"patient": self.before.patient.id, "changes": list(self.changes),
                "threshold_days": self.before.threshold_days,
                "before": {"assessed_on": self.before.assessed_on, "pain_persists": self.pain_persists_before,
                           "persistent_pain": self.before.persistent_pain},
                "after": {"assessed_on": self.after.assessed_on, "pain_persists": self.pain_persists_after,
                          "persistent_pain": self.after.persistent_pain,
                          "patient": self.after.patient.to_dict()},
                "gained": [d.to_dict() for d in self.gained], "lost": [d.to_dict() for d in self.lost]}

    def to_json(self) -> str:
        """Deterministic JSON text, ending in a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        """Plain-language summary of the difference."""
        return "\n".join(_text_lines(self)) + "\n"

    def __repr__(self) -> str:
        return (f"<WhatIf changes={list(self.changes)} pain_persists {self.pain_persists_before}"
                f" -> {self.pain_persists_after}>")


def compare(before: Explanation, after: Explanation, changes: tuple[str, ...]) -> WhatIf:
    """Diff two explanations of the same patient into a :class:`WhatIf`."""
    from .why_not import site_answer

    old = {f.id: f for f in before.facts}
    new = {f.id: f for f in after.facts}
    gained = tuple(
        Difference(k, new[k].concept, new[k].site, new[k].status,
                   after.chain(new[k].concept, new[k].site) if new[k].status == "derived" and new[k].site else None,
                   None)
        for k in sorted(set(new) - set(old)))
    lost = tuple(
        Difference(k, old[k].concept, old[k].site, old[k].status, None,
                   site_answer(after, old[k].concept, old[k].site, depth=1) if old[k].status == "derived" else None)
        for k in sorted(set(old) - set(new)))
    return WhatIf(before, after, changes, gained, lost)


def what_if(patient: PatientLike, changes=None, *, as_of: object = None,
            threshold_days: int = DEFAULT_THRESHOLD_DAYS, reasoner: Reasoner | None = None) -> WhatIf:
    """Re-run the reasoning on the changed patient and report the difference.

    ``patient`` is as for :func:`kg.explain`, or an Explanation (its patient and
    threshold are used). ``changes`` is a list of change strings (see the module doc) or a dict
    ``{path: value}`` (a path ending in ``+`` appends, in ``-`` removes).
    ``as_of`` moves only the assessment date of the changed patient (every onset
    and resolution date stays): ``YYYY-MM-DD`` or ``+Nd`` / ``-Nd`` relative to the
    patient's assessment date (after the changes). Anything else, wrong types included (``what_if(p, 621)``), raises
    :class:`~kg.errors.InputError`.

    >>> w = what_if("examples/neck-strain-day16.json", {"injuries[0].resolved": True})
    >>> w.pain_persists_before, w.pain_persists_after, [d.fact for d in w.lost][:2]
    (True, True, ['inflammation@neck', 'injury_unresolved@neck/muscle_strain'])
    """
    reasoner = reasoner_or_own(reasoner)
    before = patient if isinstance(patient, Explanation) else None
    if before is not None:  # as_of moves the changed patient only, so it may be given
        check_settings(before, threshold_days=threshold_days)
    threshold = check_threshold(threshold_days if before is None else before.threshold_days)
    check_as_of(as_of)
    onto = reasoner.ontology
    parsed = as_changes(changes)
    base = load_patient(patient, ontology=onto) if before is None else before.patient
    if as_of is not None:
        text = as_of.isoformat() if isinstance(as_of, dt.date) else as_of
        parsed.append(parse_change(f"assessed_on={text}"))
    changed = apply_changes(base, parsed, ontology=onto)
    if before is None:
        before = reasoner.explain(base, threshold_days=threshold)
    after = reasoner.explain(changed, threshold_days=threshold)
    return compare(before, after, tuple(c.text for c in parsed))




def _wrap(text: str, indent: str = "") -> list[str]:
    return wrap(text, indent, hang=4)


def _text_lines(w: WhatIf) -> list[str]:
    onto = w.before.ontology
    lines = [f"painkg: what if? (patient {w.before.patient.id})"]
    # The answer first: how it stands after the change, and before it.
    lines += _wrap(f"After the change, {pain_persists_text(w.after.persistent_pain)} "
                   f"(before: {pain_persists_text(w.before.persistent_pain)}).")
    lines += _wrap("changes: " + (" ".join(w.changes) if w.changes else "none"))
    lines.append(f"before: assessed on {w.before.assessed_on}; {pain_persists_text(w.before.persistent_pain)}")
    lines.append(f"after:  assessed on {w.after.assessed_on}; {pain_persists_text(w.after.persistent_pain)}")
    lines.append("")
    lines.append(f"gained ({len(w.gained)}):")
    for d in w.gained:
        how = "given" if d.status == "observed" else ""
        if d.chain is not None:
            last = d.chain.steps[-1]
            how = f"by {last.rule} from {', '.join(last.premises)}"
        level = w.after.fact(d.fact).certainty
        lines += _wrap(f"- {d.fact} ({onto.concepts[d.concept].label}, {level}): {how}", "  ")
    lines.append(f"lost ({len(w.lost)}):")
    for d in w.lost:
        if d.why_not is None:
            lines += _wrap(f"- {d.fact}: no longer given", "  ")
            continue
        lines += _wrap(f"- {d.fact} ({onto.concepts[d.concept].label}): no longer concluded", "  ")
        for route in d.why_not.routes:
            if route.rule is None:
                continue
            reasons = "; ".join(f"{f.premise}: {f.reason}" for f in route.failed)
            lines += _wrap(f"{route.rule} failed: {reasons}", "      ")
    lines += ["", DISCLAIMER]
    return lines
