"""The message of :func:`kg.questions.interventions.interventions`: the answer in a few sentences.

One case each: pain that does not persist (nothing to stop, or only possibly), minimal
sets found, a bound that cut the search short, and nothing that stops it (knots
formed, or reported, and stay: s03-s05), with the source's advice for what has
formed ("Treating spasm helps reduce this problem.", s13). The deadlines follow, as
the source says them. Facts and sites are named by their labels, never their keys.

>>> import kg
>>> r = kg.interventions("examples/knots-first-report.json")
>>> print(r.message)  # doctest: +ELLIPSIS
no modelled change stops what has already formed: muscle knots are reported at the upper back. Persistent pain follows from what the patient reported, muscle knots (upper back): ...
"""

from __future__ import annotations

from typing import Sequence

from ..knowledge.wording import fact_name

__all__ = ["not_persisting", "found_message", "bound_message", "nothing_stops", "deadline_text"]


def not_persisting(e, due) -> str:
    """Pain that does not persist: nothing firm to stop."""
    if e.persistent_pain == "possible":
        return ("persistent pain is possible, not expected, for this patient (see `painkg explain`: a resolution "
                "date or the site decides it), so there is nothing firm to stop")
    return ("persistent pain is not concluded for this patient, so there is nothing to stop"
            + ("" if due else " (see `painkg timeline` for when knots would be expected)"))


def found_message(found: Sequence) -> str:
    """Minimal sets were found."""
    return (f"{len(found)} minimal intervention{'s stop' if len(found) != 1 else ' stops'} "
            "persistent pain being concluded")


def bound_message(max_changes: int, names: Sequence[str]) -> str:
    """The bound cut the search short: a larger set does stop it, so say so rather than blame the facts."""
    limit = min(len(names), 5)
    more = (f"raise --max-changes (max_changes=) to {limit} to find the smallest such sets"
            if max_changes < limit else "")
    return (f"no set of at most {max_changes} change{'s' * (max_changes != 1)} stops persistent pain "
            f"(the bound max_changes={max_changes}); all {len(names)} modelled changes together "
            f"do ({', '.join(names)})" + (f": {more}" if more else ""))


def _given(worst, blocking) -> list[str]:
    # The findings the patient reported that the remaining chains start from, by label and site.
    onto = worst.ontology
    facts = sorted({s.fact for c in blocking for s in c.steps if s.status == "observed"})
    out = []
    for fid in facts:
        fact = worst.fact(fid)
        if onto.concepts[fact.concept].input_role == "finding":
            out.append(fact_name(fact.label, fact.site, None, onto))
    return out


def nothing_stops(worst, blocking, names: Sequence[str], formed: Sequence[str], advice) -> str:
    """No modelled change stops the pain: what has formed, why fixing the injury does not help, the advice."""
    given = _given(worst, blocking)
    tried = f"tried: {', '.join(names)}" if names else "no injury is unresolved, so there is nothing to fix"
    parts = [f"no modelled change stops what has already formed: {'; '.join(formed)}" if formed else
             "no change among the modelled treatments stops persistent pain"]
    if given:
        parts.append(f"Persistent pain follows from what the patient reported, {', '.join(given)}: "
                     f"persistent-pain-from-knots concludes it from knots whatever caused them ({tried})")
    else:
        parts.append("Knots that formed before the basic injury is fixed stay and become part of the problem "
                     f"(s03-s05), so fixing it now does not stop the pain persisting ({tried})")
    if advice:
        parts.append(f'The source\'s advice for what has formed: "{advice[0].text}" ({advice[0].passage})')
    return ". ".join(parts)


def deadline_text(due) -> str:
    """The deadlines, each a sentence, appended to the message."""
    return "".join(f". {d.text[0].upper()}{d.text[1:]}" for d in due) + ("." if due else "")
