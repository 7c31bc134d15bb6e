"""Every sentence painkg says, written once, for two audiences: the clinician and the patient.

A face (CLI text, pages, CDS cards, FHIR, graphs) never composes a sentence of
its own: it asks this module. Names come from the ontology's labels (every
concept and every site), never restated in code; what the module adds is the
grammar and the hedge, kept as firm as the certainty and no firmer:

* ``reported``: the record says it ("recorded" for the clinician, "you told
  us" for the patient);
* ``expected``: the source states it as what happens ("is expected to");
* ``possible``: the source says it can or may happen ("may").

A default is worded as a default: an injury not marked resolved is "not
marked resolved, so taken as unresolved", not something the patient reported.

The module sits in the knowledge layer because the questions (why-not,
what-if, interventions, timeline) and the renderers both print its words, and
the questions sit below the renderers.

>>> from kg.knowledge.ontology import load_ontology
>>> onto = load_ontology()
>>> answer_sentence([("lower_back", "expected", ["muscle_strain", "muscle_spasm", "muscle_knots", "persistent_pain"])],
...                 [], "2026-03-21", onto)
'Pain is expected to persist at the lower back: muscle strain -> muscle spasm -> muscle knots.'
>>> answer_sentence([("neck", "possible", ["muscle_strain", "muscle_knots", "persistent_pain"])], [], "2026-03-21",
...                 onto, audience="patient")
'Your pain at the neck may persist: the source says this can happen, not that it will.'
"""

from __future__ import annotations

import textwrap
from typing import Iterable, Mapping, Sequence

__all__ = ["DISCLAIMER", "WIDTH", "wrap", "CERTAINTY_LEGEND", "AUDIENCES", "HEADLINE_MAX", "pain_persists_text",
           "site_phrase", "sites_phrase", "fact_name", "may_phrase", "certainty_clause", "answer_sentence",
           "conclusion_sentence", "chain_text", "expectation_sentence", "recorded_sentence", "default_unresolved",
           "patient_step", "helps_sentence", "unexplained_sentence", "not_used_sentence", "MORE_HINT",
           "injury_phrase", "knots_now_phrase", "expected_if_sentence"]

DISCLAIMER = ("painkg is a reasoning aid built from one source text, not a diagnosis; "
              "it claims no more certainty than the source gives.")

#: Line width of every painkg text report.
WIDTH = 88

#: The audiences a presentation is written for.
AUDIENCES = ("clinician", "patient")

#: The longest headline: a CDS card's summary must be under 140 characters.
HEADLINE_MAX = 139


def wrap(text: str, indent: str = "", hang: int = 2) -> list[str]:
    """Wrap ``text`` to :data:`WIDTH`, continuation lines ``hang`` spaces deeper.

    >>> wrap("a " * 50, "  ", hang=4)[1][:6]
    '      '
    """
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + " " * hang) or [indent]


#: One line that says what the three certainty levels mean (kg.reasoning.certainty).
CERTAINTY_LEGEND = ("certainty: reported = the record says it; expected = the source states it as what happens; "
                    "possible = the source says it can or may happen, so painkg says \"may\"")

#: Where the details are, one step away from the brief report.
MORE_HINT = ("More: --detail for every step and quote; --format json for the data; "
             "painkg graph FILE --format html for the picture.")


def pain_persists_text(level: str | None) -> str:
    """Whether pain persists, said no more firmly than ``level`` (persistent pain's certainty).

    Only a reported or expected persistent pain "persists"; a possible one "may persist".

    >>> [pain_persists_text(x) for x in ("expected", "possible", None)]
    ['pain persists: yes (expected)', 'pain may persist (possible)', 'pain persists: not concluded']
    """
    if level in ("reported", "expected"):
        return f"pain persists: yes ({level})"
    if level == "possible":
        return "pain may persist (possible)"
    return "pain persists: not concluded"


def site_phrase(site: str | None, onto) -> str:
    """A site as a sentence names it, from its label: "the lower back".

    >>> from kg.knowledge.ontology import load_ontology
    >>> site_phrase("calf", load_ontology()), site_phrase(None, load_ontology())
    ('the calf', 'a site not given')
    """
    return f"the {onto.concepts[site].label}" if site else "a site not given"


def sites_phrase(sites: Iterable[str | None], onto) -> str:
    """Several sites in one phrase: "the lower back and the neck"; "the a, the b and the c".

    >>> from kg.knowledge.ontology import load_ontology
    >>> sites_phrase(["neck", "calf", "hip"], load_ontology())
    'the neck, the calf and the hip'
    """
    names = list(dict.fromkeys(site_phrase(s, onto) for s in sites))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def fact_name(label: str, site: str | None, certainty: str | None, onto) -> str:
    """A fact as a report names it: label, then site and certainty in parentheses.

    >>> from kg.knowledge.ontology import load_ontology
    >>> fact_name("muscle knots", "upper_back", "expected", load_ontology())
    'muscle knots (upper back, expected)'
    """
    parts = [p for p in ((onto.concepts[site].label if site else ""), certainty or "") if p]
    return f"{label} ({', '.join(parts)})" if parts else label


#: How a possible conclusion is said, per concept: always with "may".
_MAY = {
    "inflammation": "the area may be inflamed",
    "muscle_spasm": "the muscles may spasm",
    "severe_low_back_pain": "this may lead to severe low back pain",
    "difficulty_moving": "this may make moving difficult",
    "pain": "the spasm may be the actual cause of the pain",
    "persistent_pain": "the pain may persist",
    "muscle_knots": "muscle knots may form",
    "muscle_overload": "the muscle may overload",
    "continuous_contraction": "the muscle may be kept continuously on",
    "surrounding_muscle_involvement": "the spasm may affect the muscles around it",
    "consistent_with_muscle_strain": "this may fit the usual picture of a muscle strain",
}


def may_phrase(concept: str, label: str) -> str:
    """How painkg says that a concept is possible: a clause with "may".

    >>> may_phrase("inflammation", "inflammation"), may_phrase("heat_therapy", "heat therapy")
    ('the area may be inflamed', 'heat therapy may follow')
    """
    return _MAY.get(concept, f"{label} may follow")


def certainty_clause(level: str, audience: str = "clinician") -> str:
    """What a level means, in a clause.

    >>> certainty_clause("possible"), certainty_clause("expected", "patient")
    ('possible: the source says it can happen, not that it does', 'the source says this usually happens')
    """
    if audience == "patient":
        return {"reported": "you told us this", "expected": "the source says this usually happens",
                "possible": "the source says this can happen, not that it will"}[level]
    return {"reported": "reported: the record says it",
            "expected": "expected: the source states it as what happens",
            "possible": "possible: the source says it can happen, not that it does"}[level]


def _persist_clause(level: str, sites: str, audience: str) -> str:
    if audience == "patient":
        return {"reported": f"your record says your pain at {sites} persists",
                "expected": f"your pain at {sites} is expected to persist",
                "possible": f"your pain at {sites} may persist"}[level]
    return {"reported": f"persistent pain is recorded at {sites}",
            "expected": f"pain is expected to persist at {sites}",
            "possible": f"pain may persist at {sites}"}[level]


def chain_text(concepts: Sequence[str], onto, arrow: str = " -> ") -> str:
    """A chain of concepts as labels joined by arrows.

    >>> from kg.knowledge.ontology import load_ontology
    >>> chain_text(["muscle_strain", "muscle_spasm"], load_ontology())
    'muscle strain -> muscle spasm'
    """
    return arrow.join(onto.concepts[c].label for c in concepts)


def _fit_chain(head: str, concepts: Sequence[str], onto, limit: int) -> str:
    # Drop middle links (keep the input and the last cause) until the sentence fits.
    keep = list(concepts)
    while keep:
        text = f"{head}: {chain_text(keep, onto)}."
        if len(text) <= limit:
            return text
        if len(keep) <= 2:
            break
        keep = keep[:1] + keep[2:]
    return head + "."


def answer_sentence(conclusions: Sequence[tuple[str | None, str, Sequence[str]]], expectations: Sequence[Mapping],
                    assessed_on: str, onto, audience: str = "clinician") -> str:
    """The headline: the answer in one sentence, with its certainty and sites (at most :data:`HEADLINE_MAX`).

    ``conclusions`` are the persistent-pain conclusions as ``(site, certainty,
    key chain concepts)``; ``expectations`` the explanation's (JSON form), used
    when nothing is concluded yet. A possible conclusion says "may"; nothing
    concluded is ever worded as "not concluded".

    >>> from kg.knowledge.ontology import load_ontology
    >>> onto = load_ontology()
    >>> answer_sentence([], [{"site": "neck", "expected_on": "2026-08-02", "certainty": "expected"}], "2026-07-22", onto)
    'Persistent pain is not concluded yet; muscle knots would be expected at the neck from 2026-08-02 if the injury stays unresolved.'
    >>> answer_sentence([], [], "2026-07-22", onto)
    'Persistent pain is not concluded: nothing recorded leads to muscle knots.'
    """
    if not conclusions:
        return _not_concluded(expectations, assessed_on, onto, audience)
    order = ("reported", "expected", "possible")
    clauses = []
    for level in order:
        sites = [site for site, lvl, _ in conclusions if lvl == level]
        if sites:
            clauses.append(_persist_clause(level, sites_phrase(sites, onto), audience))
    head = "; ".join(clauses)
    head = head[0].upper() + head[1:]
    if len(head) + 1 > HEADLINE_MAX:  # many sites: count them instead of naming them
        counts = [f"{sum(1 for _, lvl, _ in conclusions if lvl == level)} sites ({level})" for level in order
                  if any(lvl == level for _, lvl, _ in conclusions)]
        head = ("Your pain may persist at " if audience == "patient" else "Pain persists or may persist at ") + \
            ", ".join(counts)
    if audience == "patient":
        if len(conclusions) == 1 and conclusions[0][1] == "possible":
            return f"{head}: the source says this can happen, not that it will."
        return head + "."
    if len(conclusions) == 1:
        chain = [c for c in conclusions[0][2] if c != "persistent_pain"]
        if chain:
            return _fit_chain(head, chain, onto, HEADLINE_MAX)
    return head + "."


def _not_concluded(expectations: Sequence[Mapping], assessed_on: str, onto, audience: str) -> str:
    if not expectations:
        if audience == "patient":
            return ("painkg does not conclude that your pain will persist. This is not a promise that it will go "
                    "away; talk to your clinician if it does not get better.")
        return "Persistent pain is not concluded: nothing recorded leads to muscle knots."
    first = min(expectations, key=lambda x: (x["expected_on"], x["site"] or ""))
    same = [x for x in expectations if x["expected_on"] == first["expected_on"]
            and x["certainty"] == first["certainty"]]
    where = sites_phrase([x["site"] for x in same], onto)
    others = len({x["site"] for x in expectations}) - len({x["site"] for x in same})
    later = f" (and later at {others} more site{'s' * (others != 1)})" if others else ""
    past = first["expected_on"] <= assessed_on
    if audience == "patient":
        knots = "are expected to" if first["certainty"] == "expected" else "may"
        cond = "if the injury was still not fixed on that day" if past else "if the injury is not fixed by then"
        return (f"painkg does not conclude that your pain will persist. Muscle knots {knots} form at {where} from "
                f"{first['expected_on']}{later} {cond}.")
    knots = "would be expected" if first["certainty"] == "expected" else "may form"
    cond = f"if the injury was still unresolved on {first['expected_on']}" if past else "if the injury stays unresolved"
    text = f"Persistent pain is not concluded yet; muscle knots {knots} at {where} from {first['expected_on']}{later} {cond}."
    return text if len(text) <= HEADLINE_MAX else f"Persistent pain is not concluded yet; muscle knots {knots} at {where} {cond}."


def conclusion_sentence(concept: str, label: str, site: str | None, certainty: str, onto,
                        audience: str = "clinician") -> str:
    """A key conclusion as the heading of its chain: the site first, then what and how firmly.

    >>> from kg.knowledge.ontology import load_ontology
    >>> conclusion_sentence("muscle_spasm", "muscle spasm", "neck", "expected", load_ontology())
    'At the neck: muscle spasm (expected: the source states it as what happens)'
    >>> conclusion_sentence("persistent_pain", "persistent pain", "neck", "possible", load_ontology(), "patient")
    'At the neck: persistent pain (the source says this can happen, not that it will)'
    """
    return f"At {site_phrase(site, onto)}: {label} ({certainty_clause(certainty, audience)})"


def expectation_sentence(x: Mapping, onto, audience: str = "clinician") -> str:
    """When knots would be expected (an expectation, JSON form), and on what condition.

    >>> from kg.knowledge.ontology import load_ontology
    >>> x = {"site": "neck", "expected_on": "2026-08-02", "if": "the ligament sprain of the neck stays unresolved",
    ...      "certainty": "expected", "passages": ["s03", "s04"]}
    >>> expectation_sentence(x, load_ontology())
    'Muscle knots would be expected at the neck from 2026-08-02 if the ligament sprain of the neck stays unresolved (s03, s04).'
    """
    where = site_phrase(x["site"], onto)
    if audience == "patient":
        knots = "are expected to" if x["certainty"] == "expected" else "may"
        return (f"If {x['if']}, muscle knots {knots} form at {where} around {x['expected_on']}, "
                "and they can keep the pain going.")
    knots = "would be expected" if x["certainty"] == "expected" else "may form"
    return f"Muscle knots {knots} at {where} from {x['expected_on']} if {x['if']} ({', '.join(x['passages'])})."


def default_unresolved(injury_label: str, site: str | None, onto) -> str:
    """The detail of an injury's unresolved status: a default, said as one.

    >>> from kg.knowledge.ontology import load_ontology
    >>> default_unresolved("muscle strain", "neck", load_ontology())
    'the muscle strain of the neck is not marked resolved, so it is taken as unresolved'
    """
    return f"the {injury_label} of {site_phrase(site, onto)} is not marked resolved, so it is taken as unresolved"


def recorded_sentence(label: str, site: str | None, detail: str | None, onto, concept: str = "",
                      audience: str = "clinician") -> str:
    """What the record says, as a step of a chain; an unresolved status is worded as the default it is.

    >>> from kg.knowledge.ontology import load_ontology
    >>> recorded_sentence("muscle strain", "neck", "onset 2026-03-01, 20 days before assessment", load_ontology())
    'Recorded: muscle strain (neck) - onset 2026-03-01, 20 days before assessment'
    """
    where = f" ({onto.concepts[site].label})" if site else ""
    if concept == "injury_unresolved":
        return f"Taken as unresolved{where}: {detail}" if audience == "clinician" else f"- {detail[0].upper()}{detail[1:]}."
    if audience == "patient":
        return f"- You told us about {label}{' at ' + site_phrase(site, onto) if site else ''}."
    return f"Recorded: {label}{where}" + (f" - {detail}" if detail else "")


def patient_step(label: str, site: str | None, certainty: str, onto) -> str:
    """One link of a chain in plain words, as firm as ``certainty`` and no firmer.

    >>> from kg.knowledge.ontology import load_ontology
    >>> patient_step("muscle knots", "neck", "expected", load_ontology())
    '- Expected next: muscle knots at the neck.'
    >>> patient_step("inflammation", "neck", "possible", load_ontology())
    '- Possible next: inflammation at the neck (the source says this may happen).'
    """
    where = f" at {site_phrase(site, onto)}" if site else ""
    if certainty == "reported":
        return f"- You told us about {label}{where}."
    if certainty == "expected":
        return f"- Expected next: {label}{where}."
    return f"- Possible next: {label}{where} (the source says this may happen)."


def _listed(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def helps_sentence(site: str | None, items: Sequence[tuple[str, str]], onto, audience: str = "clinician") -> str:
    """What the source says can help at one site: ``items`` are ``(label, certainty)``, firm ones said firmly.

    >>> from kg.knowledge.ontology import load_ontology
    >>> helps_sentence("neck", [("treating the spasm", "expected"), ("heat therapy", "possible"),
    ...                         ("cold therapy", "possible")], load_ontology())
    'At the neck: treating the spasm helps (expected); heat therapy and cold therapy may help (possible).'
    """
    firm = [label for label, level in items if level != "possible"]
    maybe = [label for label, level in items if level == "possible"]
    parts = []
    if firm:
        parts.append(f"{_listed(firm)} help{'s' * (len(firm) == 1)}" + ("" if audience == "patient" else " (expected)"))
    if maybe:
        parts.append(f"{_listed(maybe)} may help" + ("" if audience == "patient" else " (possible)"))
    if audience == "patient":
        return f"At {site_phrase(site, onto)}, the source says: " + "; ".join(parts) + "."
    return f"At {site_phrase(site, onto)}: " + "; ".join(parts) + "."


def unexplained_sentence(label: str, site: str | None, onto, audience: str = "clinician") -> str:
    """A recorded finding no rule uses.

    >>> from kg.knowledge.ontology import load_ontology
    >>> unexplained_sentence("localized pain", None, load_ontology())
    'Localized pain (no site given) is recorded but no rule of the source uses it.'
    """
    where = f"at {site_phrase(site, onto)}" if site else "(no site given)"
    if audience == "patient":
        return f"painkg could not use {label} {where}."
    return f"{label[0].upper()}{label[1:]} {where} is recorded but no rule of the source uses it."


def not_used_sentence(resource: str, reason: str) -> str:
    """Input that was read and not used, with its reason.

    >>> not_used_sentence("Observation/o1", "not a finding painkg models")
    'Observation/o1: not a finding painkg models.'
    """
    return f"{resource}: {reason.rstrip('.')}."


def injury_phrase(kind_label: str, site: str | None, onto) -> str:
    """An injury in a sentence, its site by label: "the muscle strain of the neck"."""
    return f"the {kind_label} of {site_phrase(site, onto)}"


def knots_now_phrase(level: str, site: str | None, onto) -> str:
    """Knots present at a site, no firmer than ``level``: "muscle knots may have formed at the calf (possible)"."""
    verb = {"reported": "are reported", "expected": "have formed", "possible": "may have formed"}[level]
    return f"muscle knots {verb} at {site_phrase(site, onto)}" + ("" if level == "reported" else f" ({level})")


def expected_if_sentence(label: str, site: str | None, ways: Sequence[tuple[str, str, str]], onto) -> str:
    """What would make a possible conclusion expected; ``ways``: ``(injury or finding, date, how)``."""
    said = {"stays": "from {d} if {i} stays unresolved", "fixed": "if {i} was fixed on {d} or later",
            "unresolved": "if {i} were still unresolved", "reported": "if {i} were reported there"}
    if not ways:
        return f"No change of the record would make {label} at {site_phrase(site, onto)} expected."
    text = "; or ".join(said[how].format(i=i, d=d) for i, d, how in ways)
    return f"{label[0].upper()}{label[1:]} at {site_phrase(site, onto)} would be expected {text}."
