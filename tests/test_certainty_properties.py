"""Hypothesis properties of certainty: it never rises along a chain, and no output states a possible fact as a fact.

The patients come from the strategies of tests/test_properties.py.

The text rule, checked on ``painkg explain`` text with line wrapping turned off
(so one line is one statement; the wrapped text has the same characters):

1. Every mention of a fact by name, ``LABEL (SITE, LEVEL)`` (``LABEL (LEVEL)``
   for a fact without a site), shows the fact's own certainty as LEVEL. The only
   mention without a level is ``LABEL (SITE)`` on a ``Recorded:`` line, of a
   reported fact.
2. A possible fact's mention is never followed by ``is``, ``are``, ``was``,
   ``were``, ``has``, ``have`` or ``persists``, and every line mentioning it
   says "possible" (rule 1) or "may".
3. The line that concludes a possible fact (``N. So: NAME``), its ``Why: NAME``
   heading and its ``- NAME:`` bullet say "may".
4. In the ``In short:`` story (the key chain: the firmest, then shortest, causal
   path) and in a feedback loop's line, which name facts by label only, every
   possible fact is ``LABEL (possible)``, and a loop through a possible fact "may
   be active".
5. The headline (the second line, the same bytes as the JSON's ``headline``)
   says "is expected to persist" / "is recorded" only for a reported or expected
   persistent pain, "may persist" for a possible one, and "Persistent pain is not
   concluded" when it is not concluded at all; when persistent pain is not
   reported or expected, no line says "persists".

Excluded from 1-5 are the quoted source sentences (``source sNN: "..."``) and
rule labels (``rule ID: LABEL``): they are the source's and the rules' own
words, which keep the source's hedges ("can", "may").
"""

from __future__ import annotations

import re
from unittest import mock

import kg

from hypothesis import assume, given
from hypothesis import strategies as st

from kg.knowledge import wording
from kg.reasoning.certainty import LEVELS, strongest, weakest
from kg.reasoning.key_chain import key_path
from kg.reasoning.loops import feedback_loops
from kg.render.text import render_text
from test_properties import ONTO, REASONER, fast, patients

RANK = {level: n for n, level in enumerate(reversed(LEVELS))}  # possible 0 < expected 1 < reported 2
_QUOTED = re.compile(r"^\s*(source s\d+: \"|rule [\w-]+: )")
_SHORT = re.compile(r"^\s*(In short: |- Active loop at |- A loop may be active at )")
_REPORTED = re.compile(r"^\s*\d+\. Recorded: ")
_STATED = re.compile(r"\s*(is|are|was|were|has|have|persists)\b")


THRESHOLDS = st.integers(1, 30)


def explain(patient, threshold):
    """The explanation of a generated patient; patients the input rules refuse are skipped."""
    try:
        return REASONER.explain(patient, threshold_days=threshold)
    except kg.InputError:
        assume(False)


# ---------------------------------------------------------------- the chain properties

@fast
@given(patients, THRESHOLDS)
def test_certainty_never_rises_along_a_justification(patient, threshold):
    e = explain(patient, threshold)
    for fact in e.facts:
        assert len(fact.justification_certainty) == len(fact.justifications)
        for j, level in zip(fact.justifications, fact.justification_certainty):
            premises = [e.fact(p).certainty for p in j.premises]
            rule = ONTO.rules[j.rule].level
            assert level == weakest([rule, *premises])
            assert all(RANK[level] <= RANK[p] for p in premises) and RANK[level] <= RANK[rule]
            if level == "expected":
                assert "possible" not in premises, (fact.id, j.rule)
        if fact.status == "observed":
            assert fact.certainty == "reported"
        else:
            assert fact.certainty == strongest(fact.justification_certainty)
            assert fact.certainty in ("expected", "possible")


@fast
@given(patients, THRESHOLDS)
def test_chain_steps_show_their_certainty_and_never_rise(patient, threshold):
    e = explain(patient, threshold)
    for chain in e.chains:
        for step in chain.steps:
            if step.rule is None:
                assert (step.certainty, step.rule_certainty) == ("reported", None)
                continue
            fact = e.fact(step.fact)
            assert step.rule_certainty == ONTO.rules[step.rule].level
            levels = dict(zip(((j.rule, j.premises) for j in fact.justifications), fact.justification_certainty))
            assert step.certainty == levels[(step.rule, step.premises)]
            for premise in step.premises:
                assert RANK[step.certainty] <= RANK[e.fact(premise).certainty]
                # No possible fact is a premise of an expected conclusion.
                assert not (step.certainty == "expected" and e.fact(premise).certainty == "possible")
            assert RANK[step.certainty] <= RANK[step.rule_certainty]
        # The conclusion is held at the strongest of its own steps.
        own = [s.certainty for s in chain.steps if s.fact == chain.fact]
        assert e.fact(chain.fact).certainty == strongest(own)


@fast
@given(patients, THRESHOLDS)
def test_pain_persists_exactly_when_persistent_pain_is_reported_or_expected(patient, threshold):
    e = explain(patient, threshold)
    levels = [f.certainty for f in e.facts if f.concept == "persistent_pain"]
    assert e.persistent_pain == (strongest(levels) if levels else None)
    assert e.pain_persists == any(level in ("reported", "expected") for level in levels)
    data = e.to_dict()
    assert (data["pain_persists"], data["persistent_pain"]) == (e.pain_persists, e.persistent_pain)


# ---------------------------------------------------------------- the text rule

def unwrapped_text(e) -> str:
    """``painkg explain`` text with wrapping off: one line per statement."""
    with mock.patch.object(wording, "WIDTH", 10**6):
        return render_text(e)


def _longer_labels(label: str) -> list[str]:
    return [c.label for c in ONTO.concepts.values() if c.label != label and c.label.endswith(" " + label)]


def mentions(line: str, label: str):
    """``(parenthesis content, rest of line)`` of each ``LABEL (...)`` in ``line`` naming this label."""
    longer = _longer_labels(label)
    for m in re.finditer(r"(?<![\w'-])" + re.escape(label) + r" \(([^()]*)\)", line):
        before = line[:m.start()]
        if any(before.endswith(other[:-len(label)]) for other in longer):
            continue  # "pain (" inside "persistent pain ("
        yield m.group(1), line[m.end():]


def text_problems(e, text: str) -> list[str]:
    """Every break of the text rule (module docstring) in ``text``, the unwrapped report of ``e``."""
    problems: list[str] = []
    # split("\n"), not splitlines(): a patient id may hold \x1c-\x1e, where splitlines() also breaks.
    lines = [line for line in text.split("\n") if not _QUOTED.match(line)]
    site_label = {f.id: ONTO.concepts[f.site].label if f.site else None for f in e.facts}
    names = {}
    for f in e.facts:
        where = site_label[f.id]
        names[f.id] = f"{f.label} ({where}, {f.certainty})" if where else f"{f.label} ({f.certainty})"
        for line in lines:
            if _SHORT.match(line):
                continue  # labels only, possible ones marked: checked below
            for content, rest in mentions(line, f.label):
                parts = content.split(", ")
                if where is not None and parts[0] != where:
                    continue  # the same concept at another site, or no site named
                if where is None and parts[0] not in LEVELS:
                    continue
                if len(parts) == 1 and where is not None:
                    if not (_REPORTED.match(line) and f.certainty == "reported"):
                        problems.append(f"{f.id} named without its certainty: {line!r}")
                    continue
                if parts[-1] != f.certainty:
                    problems.append(f"{f.id} is {f.certainty} but shown as {parts[-1]}: {line!r}")
                if f.certainty == "possible":
                    if _STATED.match(rest):
                        problems.append(f"possible {f.id} stated as a fact: {line!r}")
                    if "may" not in line and "possible" not in line:  # pragma: no cover - rule 1 shows "possible"
                        problems.append(f"possible {f.id} without may/possible: {line!r}")
    for f in e.facts:
        if f.certainty != "possible":
            continue
        for line in lines:
            body = re.sub(r"^\s*(\d+\. So: |Why: |- )", "", line)
            if body != line.lstrip() and body.startswith(names[f.id]) and " may " not in f" {body} ":
                problems.append(f"the statement of possible {f.id} has no 'may': {line!r}")
    shown: set[str] = set()
    chains = []
    for chain in e.chains:
        if chain.fact not in shown:  # the report shows a fact's chain once, in chain order
            chains.append(chain)
            shown.update(s.fact for s in chain.steps)
    stories = [line for line in lines if line.lstrip().startswith("In short: ")]
    assert len(stories) == len(chains)
    facts = {f.id: f.to_dict() for f in e.facts}
    for chain, story in zip(chains, stories):
        if not story.rstrip(".").endswith(_story_tail(e, chain)):
            problems.append(f"story of {chain.fact} out of place: {story!r}")
        for fact_id in key_path(facts, chain.fact, ONTO):
            f = e.fact(fact_id)
            if f.certainty == "possible" and f"{f.label} (possible)" not in story:
                problems.append(f"story hides that {f.id} is possible: {story!r}")
    for loop in feedback_loops(e):
        possible = [f for f in loop.facts if e.fact(f).certainty == "possible"]
        if possible and not loop.text.startswith("A loop may be active"):
            problems.append(f"a loop through possible {possible} stated as active: {loop.text!r}")
        for f in possible:
            if f"{e.fact(f).label} (possible)" not in loop.text:
                problems.append(f"loop text hides that {f} is possible: {loop.text!r}")
    problems += _headline_problems(e, lines, text)
    return problems


def _story_tail(e, chain) -> str:
    f = e.fact(chain.fact)
    return f.label + (" (possible)" if f.certainty == "possible" else "")


def _headline_problems(e, lines: list[str], text: str) -> list[str]:
    problems = []
    # The line after the title (a patient id may hold a line break: split after the title's end).
    headline = text.split("? (every step)\n", 1)[1].split("\n", 1)[0]
    if headline != e.headline:
        problems.append(f"the second line is not the headline: {headline!r}")
    levels = {f.certainty for f in e.facts if f.concept == "persistent_pain"}
    if not levels:
        if not headline.startswith("Persistent pain is not concluded"):
            problems.append(f"headline without persistent pain: {headline!r}")
    if "possible" in levels and "may persist" not in headline:
        problems.append(f"headline of a possible persistent pain: {headline!r}")
    if "expected" in levels and "is expected to persist" not in headline and "sites (expected)" not in headline:
        problems.append(f"headline of an expected persistent pain: {headline!r}")
    if levels and "not concluded" in headline:
        problems.append(f"a concluded persistent pain worded as not concluded: {headline!r}")
    if e.persistent_pain not in ("reported", "expected"):
        for line in text.split("? (every step)\n", 1)[1].split("\n"):  # the title asks "... persist?"
            if "persists" in line and not _QUOTED.match(line):
                problems.append(f"'persists' although persistent pain is {e.persistent_pain}: {line!r}")
    return problems


@fast
@given(patients, THRESHOLDS)
def test_the_text_never_states_a_possible_fact_as_a_fact(patient, threshold):
    e = explain(patient, threshold)
    text = unwrapped_text(e)
    assert "".join(text.split()) == "".join(e.to_text().split())  # the same report, wrapped differently
    assert text_problems(e, text) == []


# ---------------------------------------------------------------- the other outputs agree

@fast
@given(patients, THRESHOLDS)
def test_graph_and_rdf_carry_each_facts_certainty(patient, threshold):
    from kg.knowledge.ontology import PK
    from kg.render.rdf import LEVEL_IRIS, explanation_quads, fact_iri

    e = explain(patient, threshold)
    g = e.graph(compact=True)
    assert {n: d["certainty"] for n, d in g.nodes(data=True)} == {f.id: f.certainty for f in e.facts}
    levels = {(s, o) for s, p, o, _ in explanation_quads(e) if p == PK.certaintyLevel}
    for fact in e.facts:
        assert (fact_iri(e.patient.id, fact.id), LEVEL_IRIS[fact.certainty]) in levels
    firings = sum(len(f.justifications) for f in e.facts)
    assert len(levels) == len(e.facts) + firings
