"""What would make a conclusion that is only possible expected: the ways, each with its date.

A why-not answer for a concept concluded only as possible carries ``expected_routes``
(:class:`kg.questions.why_not_answer.SiteAnswer`): every way the source's firm rules
would conclude it. :func:`expected_ways` follows them down to the injury each rests on
and reads the date from the change that gets there: time passing while an injury stays
unresolved (``assessed_on=+Nd``: from onset + threshold), or a resolution date past
the threshold for an injury fixed on an unknown date (``injuries[i].resolved_on=DATE``).
:func:`expected_sentence` says them in one sentence (:func:`kg.knowledge.wording.expected_if_sentence`).

>>> import kg
>>> e = kg.explain({"id": "w", "assessed_on": "2026-06-20", "injuries": [
...     {"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "resolved": True},
...     {"kind": "tear", "site": "lower_back", "onset": "2026-06-15"}]})
>>> print(expected_sentence(e.why_not("muscle_knots").sites[0], e))
Muscle knots at the lower back would be expected from 2026-06-29 if the muscle tear of the lower back stays unresolved; or if the muscle strain of the lower back was fixed on 2026-03-15 or later; or if the muscle strain of the lower back were still unresolved.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterator

from ..knowledge.wording import expected_if_sentence, injury_phrase

__all__ = ["expected_ways", "expected_sentence"]

_LATER = re.compile(r"^assessed_on=\+(\d+)d$")
_FIXED = re.compile(r"^injuries\[(\d+)\]\.resolved_on=(\d{4}-\d{2}-\d{2})$")
_UNFIXED = re.compile(r"^injuries\[(\d+)\]\.resolved=false$")


def _leaves(concept: str, routes, top: bool = True) -> Iterator:
    # Down the chain while one failed premise carries the whole change (knots <- overload <- injury);
    # below the top, the patient reporting a concept is a way too (reported knots make the pain expected).
    for route in routes:
        if route.changes is None or (route.rule is None and top):
            continue
        needing = [f for f in route.failed if f.changes]
        sub = needing[0].why_not if len(needing) == 1 else None
        if sub is not None and not sub.concluded:
            yield from _leaves(sub.concept, sub.routes, False)
        elif route.injury is not None or route.rule is None:
            yield concept, route


def _way(concept: str, route, e) -> tuple[str, str, str] | None:
    onto = e.ontology
    if route.rule is None:
        return onto.concepts[concept].label, "", "reported"
    inj = e.patient.injuries[route.injury]
    name = injury_phrase(onto.concepts[inj.kind].label, inj.site, onto)
    for change in route.changes:
        fixed, unfixed = _FIXED.match(change), _UNFIXED.match(change)
        if fixed and int(fixed.group(1)) == inj.index:
            return name, fixed.group(2), "fixed"
        if unfixed and int(unfixed.group(1)) == inj.index:
            return name, "", "unresolved"
    later = [int(m.group(1)) for m in map(_LATER.match, route.changes) if m]
    if later and len(route.changes) == 1:
        return name, (e.patient.assessed_on + dt.timedelta(days=later[0])).isoformat(), "stays"
    return None  # pragma: no cover - every firm route to knots rests on an injury's time or status


def expected_ways(answer, e) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """``(injury, date, how, changes)`` for each way ``answer``'s concept would be expected, fewest changes first.

    A way whose changes include another way's is left out (fixing the tear later is
    the tear staying unresolved, said once).
    """
    leaves = sorted({r.changes: (c, r) for c, r in _leaves(answer.concept, answer.expected_routes)}.values(),
                    key=lambda cr: (len(cr[1].changes), cr[1].changes))
    out = []
    for concept, route in leaves:
        if any(set(kept[3]) < set(route.changes) for kept in out):
            continue
        way = _way(concept, route, e)
        if way is not None:
            out.append((*way, route.changes))
    order = {"stays": 0, "fixed": 1, "unresolved": 2, "reported": 3}
    return tuple(sorted(out, key=lambda w: (len(w[3]), order[w[2]], w[3])))


def expected_sentence(answer, e) -> str:
    """The sentence saying what would make ``answer``'s possible conclusion expected, with dates."""
    label = e.ontology.concepts[answer.concept].label
    return expected_if_sentence(label, answer.site, [w[:3] for w in expected_ways(answer, e)], e.ontology)
