"""The read model every face renders: the answer first, then the key chains, then what would change it.

One explanation has one shape, its JSON (:meth:`kg.Explanation.to_dict`): fresh
reasoning, the memo and the store all give it. :func:`present` turns that dict
into a :class:`Presentation` for one audience (``clinician`` or ``patient``):

* ``headline``: the answer in one sentence, with its certainty and sites (for
  the clinician, exactly the JSON's ``"headline"``);
* ``conclusions``: the key conclusion of each site (persistent pain, else
  muscle knots, else muscle spasm) with its key chain: the firmest, then
  shortest causal path from the input (:mod:`kg.reasoning.key_chain`), each
  link with its certainty, rule and quoted sentences, and the sentence that
  carries the chain;
* ``changes``: what would change the answer (the dates knots would be
  expected, and on what condition);
* ``helps``: what the source says can help;
* ``flags``: conflicts, findings the source calls atypical, recorded facts no
  rule uses;
* ``not_used``: input read and not used (FHIR resources), with the reason;
* ``sources``: the sentences the key chains cite.

Every sentence comes from :mod:`kg.knowledge.wording`; the CLI text
(:mod:`kg.render.brief`), the pages, the CDS card and the FHIR summary render
this model and compose none of their own.

>>> import kg
>>> p = present(kg.explain("examples/two-injuries.json").to_dict(), kg.load_ontology())
>>> p.headline == kg.explain("examples/two-injuries.json").headline
True
>>> [(c.site, c.concept, c.certainty) for c in p.conclusions]
[('lower_back', 'persistent_pain', 'expected'), ('neck', 'muscle_spasm', 'reported')]
>>> [link.label for link in p.conclusions[0].links]
['muscle tear', 'muscle spasm', 'continuous contraction', 'muscle overload', 'muscle knots', 'persistent pain']
>>> p.changes[0]
'Muscle knots would be expected at the neck from 2026-08-02 if the ligament sprain of the neck stays unresolved (s03, s04).'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from ..knowledge import wording as w
from ..reasoning.answer import answer_parts
from ..reasoning.key_chain import carrying_passage, carrying_step, facts_by_id, key_steps

__all__ = ["Quote", "Link", "KeyConclusion", "Presentation", "present", "KEY_CONCEPTS"]

#: The concepts a site's key conclusion may be, in order of preference.
KEY_CONCEPTS = ("persistent_pain", "muscle_knots", "muscle_spasm")
#: What the source says can help, in the order a report lists it.
_HELPS = ("spasm_treatment", "injury_resolution", "heat_therapy", "cold_therapy", "alternating_heat_cold")


@dataclass(frozen=True)
class Quote:
    """A sentence of the source, by passage id."""

    passage: str
    text: str


@dataclass(frozen=True)
class Link:
    """One link of a key chain: a fact, and the rule firing that reached it from the previous link."""

    fact: str
    concept: str
    label: str
    site: str | None
    certainty: str
    #: The sentence for this link, for the presentation's audience.
    said: str
    rule: str | None = None
    rule_label: str | None = None
    #: The firing's certainty (the weakest of its rule's level and its premises').
    step_certainty: str | None = None
    #: The firing's condition, with the patient's dates, when it has one.
    condition: str | None = None
    #: The firing's other premises, named (such as "the muscle strain ... taken as unresolved").
    because: tuple[str, ...] = ()
    quotes: tuple[Quote, ...] = ()


@dataclass(frozen=True)
class KeyConclusion:
    """A site's key conclusion and its key chain."""

    fact: str
    concept: str
    label: str
    site: str | None
    certainty: str
    #: The conclusion as the chain's heading ("Pain is expected to persist at the neck (expected: ...)").
    heading: str
    links: tuple[Link, ...]
    #: The sentence that carries the chain (its weakest rule's; a timed condition's first).
    carried_by: Quote | None = None

    @property
    def chain_text(self) -> str:
        """The chain in one line: each link's label and certainty."""
        return " -> ".join(f"{x.label} ({x.certainty})" for x in self.links)


@dataclass(frozen=True)
class Presentation:
    """What every face shows of one explanation, for one audience (see the module docstring)."""

    audience: str
    patient: str
    assessed_on: str
    threshold_days: int
    headline: str
    pain_persists: bool
    persistent_pain: str | None
    conclusions: tuple[KeyConclusion, ...]
    changes: tuple[str, ...]
    helps: tuple[str, ...]
    flags: tuple[str, ...]
    not_used: tuple[str, ...]
    sources: tuple[Quote, ...]
    legend: str = w.CERTAINTY_LEGEND
    disclaimer: str = w.DISCLAIMER
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON twin of every page: plain values, deterministic order."""
        data = asdict(self)
        data.pop("extra")
        for c, conclusion in zip(data["conclusions"], self.conclusions):
            c["chain_text"] = conclusion.chain_text
        return data


def _quote(onto, passage: str | None) -> Quote | None:
    return Quote(passage, onto.passages[passage].text) if passage else None


def _step_index(data: Mapping) -> dict[tuple, Mapping]:
    # Each firing's step (with its condition text, which carries the patient's dates) by (fact, rule, premises
    # as a set): the first in the chains' order, found by one lookup per link (a scan per link was ~15% of a
    # CDS call).
    index: dict[tuple, Mapping] = {}
    for chain in data["chains"]:
        for step in chain["steps"]:
            if step["rule"] is not None:
                index.setdefault((step["fact"], step["rule"], frozenset(step["premises"])), step)
    return index


def _link(facts, steps, key, previous: str | None, onto, audience: str) -> Link:
    f = facts[key.fact]
    if key.rule is None:
        said = (w.recorded_sentence(f["label"], f["site"], f["detail"], onto, f["concept"], audience)
                if audience == "clinician" else w.patient_step(f["label"], f["site"], "reported", onto))
        return Link(key.fact, f["concept"], f["label"], f["site"], f["certainty"], said)
    step = steps.get((key.fact, key.rule, frozenset(key.conditions) | {previous}))
    rule = onto.rules[key.rule]
    passages = [e["passage"] for e in step["evidence"]] if step else list(onto.evidence(key.rule, f["site"]))
    because = tuple(_because(facts[c], onto) for c in key.conditions)
    if audience == "patient":
        said = w.patient_step(f["label"], f["site"], f["certainty"], onto)
    elif f["certainty"] == "possible":
        said = f"{w.fact_name(f['label'], f['site'], f['certainty'], onto)}: {w.may_phrase(f['concept'], f['label'])}"
    else:
        said = w.fact_name(f["label"], f["site"], f["certainty"], onto)
    return Link(key.fact, f["concept"], f["label"], f["site"], f["certainty"], said, key.rule, rule.label,
                key.step_certainty, step["condition"] if step else None, because,
                tuple(_quote(onto, p) for p in passages))


def _because(fact: Mapping, onto) -> str:
    if fact["concept"] == "injury_unresolved":
        return fact["detail"] or fact["label"]
    return w.fact_name(fact["label"], fact["site"], fact["certainty"], onto)


def _key_facts(facts: Mapping[str, Mapping]) -> list[Mapping]:
    # Per site, the first of KEY_CONCEPTS concluded there.
    best: dict[str | None, Mapping] = {}
    for f in facts.values():
        if f["concept"] in KEY_CONCEPTS:
            held = best.get(f["site"])
            if held is None or KEY_CONCEPTS.index(f["concept"]) < KEY_CONCEPTS.index(held["concept"]):
                best[f["site"]] = f
    order = ("reported", "expected", "possible")
    return sorted(best.values(), key=lambda f: (KEY_CONCEPTS.index(f["concept"]), order.index(f["certainty"]),
                                                f["site"] or ""))


def _conclusion(facts, steps, fact: Mapping, onto, audience: str) -> KeyConclusion:
    chain = key_steps(facts, fact["id"], onto)
    links = tuple(_link(facts, steps, k, chain[n - 1].fact if n else None, onto, audience) for n, k in enumerate(chain))
    carrying = carrying_step(chain, onto)
    quote = _quote(onto, carrying_passage(carrying, onto)) if carrying else None
    heading = w.conclusion_sentence(fact["concept"], fact["label"], fact["site"], fact["certainty"], onto, audience)
    return KeyConclusion(fact["id"], fact["concept"], fact["label"], fact["site"], fact["certainty"], heading,
                         links, quote)


def _helps(facts: Mapping[str, Mapping], onto, audience: str) -> tuple[str, ...]:
    by_site: dict[str | None, list[Mapping]] = {}
    for f in facts.values():
        if f["concept"] in _HELPS and f["justifications"]:
            by_site.setdefault(f["site"], []).append(f)
    return tuple(w.helps_sentence(site, [(f["label"], f["certainty"]) for f in
                                         sorted(found, key=lambda f: _HELPS.index(f["concept"]))], onto, audience)
                 for site, found in sorted(by_site.items(), key=lambda kv: kv[0] or ""))


def _flags(data: Mapping, facts: Mapping[str, Mapping], onto, audience: str) -> tuple[str, ...]:
    out = [c["message"] for c in data["conflicts"]]
    for f in facts.values():
        if f["concept"] == "atypical_for_muscle_strain":
            premises = sorted({p for j in f["justifications"] for p in j["premises"]})
            what = ", ".join(facts[p]["label"] for p in premises if facts[p]["status"] == "observed"
                             and facts[p]["concept"] not in ("muscle_strain", "injury_unresolved")) or f["label"]
            quote = next((q for j in f["justifications"] for q in onto.evidence(j["rule"], f["site"])), None)
            said = f"{what[0].upper()}{what[1:]} at {w.site_phrase(f['site'], onto)}: {f['label']} ({f['certainty']}"
            out.append(said + (f'; {quote}: "{onto.passages[quote].text}")' if quote else ")"))
    used = {p for f in facts.values() for j in f["justifications"] for p in j["premises"]}
    for f in facts.values():
        if f["status"] == "observed" and f["id"] not in used and f["concept"] not in KEY_CONCEPTS \
                and onto.concepts[f["concept"]].input_role == "finding":
            out.append(w.unexplained_sentence(f["label"], f["site"], onto, audience))
    return tuple(out)


def present(data: Mapping, onto, audience: str = "clinician", not_used: Iterable[Mapping] = ()) -> Presentation:
    """The :class:`Presentation` of an explanation's JSON form ``data`` for ``audience``.

    ``not_used`` lists input that was read and not used (``{resource, reason}``,
    as a FHIR input's ``ignored``).
    """
    if audience not in w.AUDIENCES:
        from ..errors import InputError

        raise InputError("audience", audience, "one of " + ", ".join(w.AUDIENCES))
    facts = facts_by_id(data["facts"])
    steps = _step_index(data)
    conclusions = tuple(_conclusion(facts, steps, f, onto, audience) for f in _key_facts(facts))
    if audience == "clinician":
        headline = data["headline"]
    else:
        headline = w.answer_sentence(answer_parts(data["facts"], onto), data["expectations"], data["assessed_on"],
                                     onto, audience)
    changes = tuple(w.expectation_sentence(x, onto, audience) for x in data["expectations"])
    cited: dict[str, Quote] = {}
    for c in conclusions:
        for link in c.links:
            for q in link.quotes:
                cited.setdefault(q.passage, q)
    sources = tuple(sorted(cited.values(), key=lambda q: onto.passages[q.passage].number))
    return Presentation(audience, data["patient"], data["assessed_on"], data["threshold_days"], headline,
                        data["pain_persists"], data["persistent_pain"], conclusions, changes,
                        _helps(facts, onto, audience), _flags(data, facts, onto, audience),
                        tuple(w.not_used_sentence(str(x.get("resource", "?")), str(x.get("reason", "")))
                              for x in not_used), sources)
