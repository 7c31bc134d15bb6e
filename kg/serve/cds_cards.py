"""An :class:`~kg.reasoning.explanation.Explanation` as CDS Hooks 2.0 cards (https://cds-hooks.hl7.org/2.0/#card-attributes).

One card per patient, for clinicians, saying no more than the source does:

* persistent pain ``expected`` (or ``reported``): indicator ``warning``,
  summary "Pain expected to persist at the lower back: ..." ("Persistent pain
  reported ..." when the clinician's data already say so);
* persistent pain ``possible``: indicator ``info``, summary "Pain may persist
  at ...";
* no persistent pain concluded but an injury or finding painkg can reason
  about: indicator ``info``, "Persistent pain not concluded ...", with the day
  knots would be expected if the injury stays unresolved;
* nothing painkg can reason about: no card (``{"cards": []}``, the spec's "no
  decision support"), so a chart without a back or neck problem shows nothing.

Never ``critical``: painkg is a reasoning aid. The ``detail`` is GitHub
Markdown: the chain of each conclusion, step by step with its rule id, its
certainty and the quoted source sentences, the FHIR resources painkg did not
use and why, and the disclaimer. Text that comes from the request (resource
ids, reasons) is escaped so it cannot add links or markup to the card.

>>> import kg
>>> e = kg.explain({"id": "p1", "assessed_on": "2026-03-21",
...     "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01"}]})
>>> card = card_for(e, base_url="http://127.0.0.1:8000", source_label="painkg: a text")
>>> card["summary"]
'Pain expected to persist at the lower back: muscle strain -> muscle spasm -> muscle knots (source text, certainty expected).'
>>> card["indicator"], len(card["summary"]) < 140
('warning', True)
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Iterable

from ..knowledge.wording import CERTAINTY_LEGEND, DISCLAIMER, pain_persists_text
from ..render.text import fact_name, may_phrase

__all__ = ["card_for", "with_uuid", "card_uuid", "md_escape", "SUMMARY_MAX", "TOPIC_SYSTEM"]

#: The spec's limit: a summary is "<140-character".
SUMMARY_MAX = 139
#: The code system of ``source.topic`` (painkg's ontology; the code is a concept key).
TOPIC_SYSTEM = "https://w3id.org/painkg/ontology#"
_SOURCE_DOCUMENT = "https://w3id.org/painkg/source/document"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~])")


def md_escape(text: object, limit: int = 300) -> str:
    """``text`` from a request made inert in Markdown: specials escaped, one line, cut to ``limit``.

    >>> md_escape("[click](http://x) *now*\\n# big")
    '\\\\[click\\\\](http://x) \\\\*now\\\\* \\\\# big'
    """
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", flat)


def card_uuid(hook_instance: str, patient_id: str) -> str:
    """The card's uuid: the same for the same hook call and patient, so feedback can name it.

    >>> card_uuid("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "p1")
    '2b322341-5412-5a7e-b3e0-61cc82adfa3d'
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://w3id.org/painkg/cds/{hook_instance}/{patient_id}"))


def with_uuid(card: dict, hook_instance: str, patient_id: str) -> dict:
    """A copy of ``card`` with its uuid first (cards are cached without one)."""
    return {"uuid": card_uuid(hook_instance, patient_id), **card}


def _sites(e, facts) -> str:
    labels = []
    for f in facts:
        label = e.ontology.concepts[f.site].label if f.site else ""
        if label and label not in labels:
            labels.append(label)
    if not labels:
        return ""
    return " at the " + (" and the ".join(labels) if len(labels) < 3 else ", the ".join(labels))


def _short_story(e, chain) -> list[str]:
    # The chain's main path from the input fact to the conclusion, hedged like the text report.
    names = []
    for fact_id in chain.path:
        f = e.fact(fact_id)
        if f.concept == chain.concept:
            continue
        names.append(f.label + (" (may)" if f.certainty == "possible" else ""))
    return names


def _fit(head: str, names: list[str], tail: str) -> str:
    # Drop middle steps until "head: a -> ... -> z tail" is under the limit.
    keep = list(names)
    while keep:
        text = f"{head}: {' -> '.join(keep)}{tail}"
        if len(text) <= SUMMARY_MAX:
            return text
        keep = keep[:1] + keep[2:] if len(keep) > 2 else keep[:-1]
    return (head + tail)[:SUMMARY_MAX]


def _summary(e, level: str | None, main) -> tuple[str, str]:
    persistent = [f for f in e.facts if f.concept == "persistent_pain"]
    where = _sites(e, persistent)
    if level in ("expected", "reported"):
        head = f"Pain expected to persist{where}" if level == "expected" else f"Persistent pain reported{where}"
        story = [n for n in _short_story(e, main) if "(may)" not in n or n.startswith("muscle knots")]
        picked = [story[0]] + [n for n in story[1:] if n.split(" (")[0] in ("muscle spasm", "muscle knots")]
        return _fit(head, picked if len(picked) > 1 else story, f" (source text, certainty {level})."), "warning"
    if level == "possible":
        return _fit(f"Pain may persist{where}", _short_story(e, main), " (source text: possible, not expected)."), "info"
    expectations = e.expectations
    if expectations:
        x = expectations[0]
        site = e.ontology.concepts[x.site].label
        return (_fit(f"Persistent pain not concluded yet; knots {'would be expected' if x.certainty == 'expected' else 'may form'}"
                     f" at the {site} from {x.expected_on} if it stays unresolved", [], "."), "info")
    return _fit("Persistent pain not concluded", [f.label for f in e.facts if f.status == "derived"][:3], "."), "info"


def _said(e, step, fact) -> str:
    # As the text report says it (kg.render.text): a possible step is never stated as a fact.
    if step.certainty == "possible":
        said = may_phrase(fact.concept, fact.label)
        if fact.certainty == "reported":
            return f"recorded; by this step alone it would only be possible: {said}"
        if fact.certainty != "possible":
            return f"by this step only possibly: {said} (another step makes it {fact.certainty})"
        return said
    if fact.certainty == "reported":
        return "recorded, and the source states it as what happens"
    return "expected: the source states it as what happens"


def _step_lines(e, n: int, step) -> Iterable[str]:
    fact = e.fact(step.fact)
    pad = " " * len(f"{n}. ")
    if step.rule is None:
        detail = f": {fact.detail}" if fact.detail else ""
        yield f"{n}. Recorded: {fact_name(e, step.fact)}{detail}"
        return
    yield f"{n}. **{fact_name(e, step.fact)}**: {_said(e, step, fact)}\\"
    premises = "; ".join(fact_name(e, p) for p in step.premises)
    yield (f"{pad}rule `{step.rule}`; certainty of this step: *{step.certainty}* (rule: {step.rule_certainty}; "
           f"from {premises})" + ("\\" if step.condition else ""))
    if step.condition:
        yield f"{pad}condition: {step.condition}"
    for i, ev in enumerate(step.evidence):
        end = "\\" if i < len(step.evidence) - 1 else ""
        yield f"{pad}> {ev.passage}: \u201c{ev.text}\u201d{end}"


def _chain_lines(e, chain) -> Iterable[str]:
    yield f"#### Why: {fact_name(e, chain.fact)}"
    yield ""
    yield "In short: " + " \u2192 ".join(e.fact(f).label + (" (possible)" if e.fact(f).certainty == "possible" else "")
                                        for f in chain.path)
    yield ""
    for n, step in enumerate(chain.steps, 1):
        yield from _step_lines(e, n, step)
    yield ""


def _ignored_lines(ignored: Iterable[dict], notes: Iterable[str]) -> Iterable[str]:
    ignored, notes = list(ignored), list(notes)
    if not (ignored or notes):
        return
    yield "#### FHIR data not used"
    yield ""
    for item in ignored:
        yield f"- {md_escape(item.get('resource', '?'), 120)}: {md_escape(item.get('reason', ''), 300)}"
    for note in notes:
        yield f"- {md_escape(note, 300)}"
    yield ""


def _detail(e, level: str | None, chains, ignored, notes) -> str:
    lines = [f"**{pain_persists_text(level).capitalize()}** (assessed on {e.assessed_on}; knots are concluded "
             f"once an injury has stayed unresolved for {e.threshold_days} days).", ""]
    for x in e.expectations:
        lines += [f"- Muscle knots would be *{x.certainty}* at the {e.ontology.concepts[x.site].label} from "
                  f"{x.expected_on} if {x.condition} ({', '.join(x.passages)}).", ""]
    for chain in chains:
        lines += list(_chain_lines(e, chain))
    lines += list(_ignored_lines(ignored, notes))
    lines += ["---", "", f"*{CERTAINTY_LEGEND}*", "", f"*{DISCLAIMER}*"]
    return "\n".join(lines) + "\n"


def card_for(e, *, base_url: str, source_label: str, ignored: Iterable[dict] = (),
             notes: Iterable[str] = (), link: str | None = None) -> dict[str, Any] | None:
    """The card for explanation ``e`` (without uuid: see :func:`with_uuid`), or None when painkg has nothing to say.

    ``ignored`` lists the FHIR resources not used (``{resource, reason}``),
    ``notes`` other remarks on the data (a prefetch key the client did not
    send); ``link`` is the explanation page (default ``{base_url}/``).
    """
    if not e.facts:
        return None
    level = e.persistent_pain
    persistent = [c for c in e.chains if c.concept == "persistent_pain"]
    chains = persistent or list(e.chains[:1])
    main = persistent[0] if persistent else (chains[0] if chains else None)
    summary, indicator = _summary(e, level, main)
    base = base_url.rstrip("/")
    topic = persistent[0].concept if persistent else "persistent_pain"
    return {
        "summary": summary,
        "indicator": indicator,
        "detail": _detail(e, level, chains, ignored, notes),
        "source": {"label": source_label, "url": _SOURCE_DOCUMENT,
                   "topic": {"system": TOPIC_SYSTEM, "code": topic,
                             "display": e.ontology.concepts[topic].label}},
        "links": [{"label": "painkg explanation page (text and graph)", "url": link or f"{base}/",
                   "type": "absolute"}],
    }
