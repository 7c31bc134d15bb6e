"""Treatment in time: the date before which fixing an injury prevents knots, and what has already formed.

The source says knots form "after an initial period, if the basic injury is not
fixed" (s03), "usually ... about two weeks after the initial injury" (s04), and
that "muscle knots only become a problem when the source of the pain doesn't go
away quickly" (s14). Knots that formed are painful and "become part of the
problem" (s05): they do not vanish when the injury is fixed. So:

* :func:`deadlines`: for each injury still unresolved and short of the threshold,
  at a site where no knots are present yet, fixing it before onset + threshold is
  what the source says prevents knots from it (where knots are present, reported or
  formed from any injury there, they stay, s05: no deadline claims to prevent them). The engine checks each deadline: on that date knots follow if the injury is
  still unresolved, and do not if it is fixed on the assessment date.
* :func:`formed_knots`: where knots are already concluded, and how (reported, or
  formed while an injury stayed unresolved past the threshold): no modelled change
  stops what has already formed; for that the source says "Treating spasm helps
  reduce this problem." (s13, :data:`SPASM_ADVICE`).

>>> import kg
>>> [d.text for d in deadlines(kg.explain("examples/lower-back-strain-acute.json"))]
['fixing the muscle strain of the lower back before 2026-03-15 is what the source says prevents knots (s03, s04, s14)']
>>> formed_knots(kg.explain("examples/lower-back-strain-day20.json"))
['muscle knots at the lower back formed while the muscle strain stayed unresolved past 2026-03-15 (20 days since its onset on 2026-03-01; threshold 14 days)']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..inputs.limits import LIMITS
from ..reasoning.certainty import is_firm
from ..reasoning.explanation import Evidence
from ..reasoning.expectations import due_date
from ..knowledge.wording import injury_phrase, knots_now_phrase, site_phrase

__all__ = ["Deadline", "deadlines", "formed_knots", "SPASM_ADVICE", "RULE"]

#: The rule whose conclusion (``injury_resolution``) a deadline is: explain and interventions agree on it.
RULE = "break-cycle-fix-injury"
#: What the source advises once knots have formed (s13).
SPASM_ADVICE = "s13"


@dataclass(frozen=True)
class Deadline:
    """Fixing injury ``injury`` before ``before`` prevents knots from it at ``site``."""

    injury: int
    site: str
    change: str
    before: str
    description: str
    text: str
    prevents: tuple[str, ...]
    therapy: str
    edges: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    #: The engine agrees: knots on ``before`` if still unresolved, none if fixed now (None past 2999-12-31).
    confirmed: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"injury": self.injury, "site": self.site, "change": self.change, "before": self.before,
                "description": self.description, "text": self.text, "prevents": list(self.prevents),
                "therapy": self.therapy, "edges": list(self.edges),
                "evidence": [e.to_dict() for e in self.evidence], "confirmed_by_engine": self.confirmed}


def _knots_on(reasoner, inj, day: dt.date, threshold: int, fixed_on: dt.date | None) -> bool:
    # The engine, not arithmetic here, decides: this injury alone, assessed on `day`.
    injury = {"kind": inj.kind, "site": inj.site, "onset": inj.onset.isoformat()}
    if fixed_on is not None:
        injury["resolved_on"] = fixed_on.isoformat()
    e = reasoner.explain({"id": "deadline", "assessed_on": day.isoformat(), "injuries": [injury]},
                         threshold_days=threshold)
    return any(f.id == f"muscle_knots@{inj.site}" for f in e.facts)


def deadlines(e, reasoner=None) -> tuple[Deadline, ...]:
    """The deadlines for explanation ``e``: one per injury for which ``e`` concludes fixing it (``RULE``)."""
    from ..reasoning.reasoner import thread_reasoner

    onto, threshold, assessed = e.ontology, e.threshold_days, e.patient.assessed_on
    label = lambda key: onto.concepts[key].label  # noqa: E731
    advised = {(dict(j.bindings).get("kind"), f.site) for f in e.trace.values()
               for j in f.justifications if j.rule == RULE}
    passages = onto.evidence(RULE)
    cited = ", ".join(passages)
    edges = onto.rules[RULE].edges
    out = []
    for inj in e.patient.injuries:
        if (inj.kind, inj.site) not in advised:
            continue
        due = due_date(inj.onset, threshold)
        name = injury_phrase(label(inj.kind), inj.site, onto)
        confirmed = None
        if due <= LIMITS.latest_date:
            reasoner = reasoner or thread_reasoner()
            confirmed = (_knots_on(reasoner, inj, due, threshold, None)
                         and not _knots_on(reasoner, inj, due, threshold, assessed))
        out.append(Deadline(
            inj.index, inj.site, f"injuries[{inj.index}].resolved=true", due.isoformat(),
            f"fix {name} before {due.isoformat()}",
            f"fixing {name} before {due.isoformat()} is what the source says prevents knots ({cited})",
            (f"muscle_knots@{inj.site}", f"persistent_pain@{inj.site}"), "injury_resolution", edges,
            tuple(Evidence(p, onto.passages[p].text) for p in passages), confirmed))
    return tuple(out)


def formed_knots(e) -> list[str]:
    """Where knots are firmly concluded for ``e``, and how they came about, one phrase per site."""
    onto, threshold = e.ontology, e.threshold_days
    label = lambda key: onto.concepts[key].label  # noqa: E731
    out = []
    for fact in e.facts_of("muscle_knots"):
        if not is_firm(fact.certainty):
            continue
        where = f"muscle knots at {site_phrase(fact.site, onto)}" if fact.site else "muscle knots"
        if fact.status == "observed":
            out.append(knots_now_phrase("reported", fact.site, onto))
            continue
        how = []
        for inj in e.patient.injuries:
            span = inj.unresolved_days
            if inj.site != fact.site or span is None or span < threshold:
                continue
            due = due_date(inj.onset, threshold).isoformat()
            if inj.resolved_on is None:
                how.append(f"the {label(inj.kind)} stayed unresolved past {due} ({span} days since its onset on "
                           f"{inj.onset.isoformat()}; threshold {threshold} days)")
            else:
                how.append(f"the {label(inj.kind)} stayed unresolved from {inj.onset.isoformat()} to "
                           f"{inj.resolved_on.isoformat()}, past {due} ({span} days; threshold {threshold} days)")
        out.append(f"{where} formed while " + " and while ".join(how) if how else f"{where} are concluded")
    return out
