"""The answer of an explanation: its persistent-pain conclusions with their key chains, and the headline.

The headline is the one sentence every face opens with (CLI text, HTTP text,
page, CDS card summary, FHIR ClinicalImpression summary, and the JSON's
``"headline"``). It is computed here once, from the explanation's JSON form,
worded by :func:`kg.knowledge.wording.answer_sentence`, so the fresh, memoised
and stored explanations give the same bytes.

>>> import kg
>>> e = kg.explain("examples/two-injuries.json")
>>> answer_parts(e.to_dict()["facts"], e.ontology)[0][:2]
('lower_back', 'expected')
>>> e.to_dict()["headline"]
'Pain is expected to persist at the lower back: muscle tear -> muscle spasm -> continuous contraction -> muscle overload -> muscle knots.'
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

from ..knowledge.ontology import Ontology
from ..knowledge.wording import answer_sentence
from .certainty import LEVELS
from .key_chain import facts_by_id, key_steps

__all__ = ["answer_parts", "headline"]


def answer_parts(facts: Iterable[Mapping], onto: Ontology, keep: Callable[[str], bool] = lambda fact_id: True
                 ) -> tuple[tuple[str | None, str, tuple[str, ...]], ...]:
    """``(site, certainty, key chain concepts)`` of each persistent-pain conclusion, firmest first, then by site.

    ``keep`` picks the conclusions by fact id (the memo keeps a piece's own).
    """
    by_id = facts_by_id(facts)
    parts = []
    for fact in by_id.values():
        if fact["concept"] == "persistent_pain" and keep(fact["id"]):
            chain = tuple(s.concept for s in key_steps(by_id, fact["id"], onto))
            parts.append((fact["site"], fact["certainty"], chain))
    parts.sort(key=lambda p: (LEVELS.index(p[1]), p[0] or ""))
    return tuple(parts)


def headline(parts: Sequence, expectations: Sequence[Mapping], assessed_on: str, onto: Ontology,
             audience: str = "clinician") -> str:
    """The headline of an explanation from its :func:`answer_parts` and expectations (JSON form)."""
    return answer_sentence(parts, expectations, assessed_on, onto, audience)
