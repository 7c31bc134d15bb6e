"""An explanation in plain language for the patient, certainty kept ("may", "is expected to").

The clinician text (:mod:`kg.render.text`) names rules, premises and levels;
this wording says the same chain in everyday words, step by step, with the
source sentence behind each step quoted. It never says more than the source:
a ``possible`` step is said with "may", an ``expected`` one with "expected", and what the patient told is "you told us". The disclaimer ends it.

>>> import kg
>>> lines = patient_lines(kg.explain("examples/lower-back-strain-day20.json"))
>>> lines[0]
'Your pain at the lower back is expected to persist. Here is why, step by step.'
>>> lines[3]
'- Possible next: inflammation at the lower back (the source says this may happen).'
"""

from __future__ import annotations

from ..knowledge.wording import DISCLAIMER, wrap

__all__ = ["patient_lines", "to_patient_text", "step_sentence", "headline"]

_SITES = {"lower_back": "the lower back", "neck": "the neck", "upper_back": "the upper back"}


def _where(site: str | None) -> str:
    if not site:
        return ""
    return f" at {_SITES.get(site, site.replace('_', ' '))}"


def step_sentence(label: str, site: str | None, certainty: str, first: bool) -> str:
    """One step of a chain in plain words, as firm as ``certainty`` and no firmer.

    >>> step_sentence("muscle knots", "neck", "expected", False)
    '- Expected next: muscle knots at the neck.'
    >>> step_sentence("inflammation", "neck", "possible", False)
    '- Possible next: inflammation at the neck (the source says this may happen).'
    >>> step_sentence("muscle strain", "neck", "reported", True)
    '- You told us about muscle strain at the neck.'
    """
    where = _where(site)
    if certainty == "reported":
        return f"- You told us about {label}{where}." if first else f"- You also told us about {label}{where}."
    if certainty == "expected":
        return f"- Expected next: {label}{where}."
    return f"- Possible next: {label}{where} (the source says this may happen)."


def headline(e) -> str:
    """The first sentence: whether the pain persists, said no more firmly than painkg concluded it.

    >>> import kg
    >>> headline(kg.explain("examples/lower-back-strain-acute.json"))[:67]
    'From what was entered, painkg did not conclude that your pain will '
    """
    level = e.persistent_pain
    sites = sorted({c.site for c in e.chains if c.concept == "persistent_pain" and c.site})
    where = " and ".join(_SITES.get(s, s) for s in sites)
    where = f" at {where}" if where else ""
    if e.pain_persists and level in ("reported", "expected"):
        return f"Your pain{where} is expected to persist. Here is why, step by step."
    if e.pain_persists:
        return f"Your pain{where} may persist (the source says this can happen). Here is why, step by step."
    return ("From what was entered, painkg did not conclude that your pain will persist. This is not a promise "
            "that it will go away; talk to your clinician if it does not get better.")


def patient_lines(e) -> list[str]:
    """The plain-language explanation of ``e`` as lines (see the module docstring)."""
    lines = [headline(e)]
    chains = [c for c in e.chains if c.concept == "persistent_pain"] if e.pain_persists else []
    for chain in chains:
        lines.append("")
        quotes: list[tuple[str, str]] = []
        for n, fact_id in enumerate(chain.path):
            fact = e.fact(fact_id)
            level = fact.certainty or "possible"
            lines.append(step_sentence(fact.label, fact.site, level, n == 0))
            step = next((s for s in chain.steps if s.fact == fact_id and s.evidence), None)
            if step is not None and (step.evidence[0].passage, step.evidence[0].text) not in quotes:
                quotes.append((step.evidence[0].passage, step.evidence[0].text))
        if quotes:
            lines.append("")
            lines.append("What the source text says:")
            for passage, text in quotes:
                lines.extend(wrap(f'"{text}" ({passage})', "  ", hang=1))
    for x in getattr(e, "expectations", ()):
        lines.append("")
        lines.extend(wrap(f"If {x.to_dict().get('if', 'the injury stays unresolved')}, muscle knots are expected to "
                          f"form{_where(x.site)} around {x.expected_on}, and they can keep the pain going."))
    lines += ["", DISCLAIMER]
    return lines


def to_patient_text(e) -> str:
    """:func:`patient_lines` as one text, ending in a newline."""
    return "\n".join(patient_lines(e)) + "\n"
