"""Site: only what the source says, where it says it.

Each test names the sentence it enforces. Site-bound concepts (``pk:onlyAtSite``) are
checked in the input; the "fits a muscle strain" rules need a muscle injury at the site;
passages about the lower back (``pk:aboutSite``) are quoted there only; contradictory
findings are reported; knots away from the neck and back are possible, not expected (s15).
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources

import pytest
import rdflib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg
from kg.knowledge.ontology import PK, PKS, ontology_graph
from kg.reasoning.premises import rule_premises
from kg.rules.knots import KNOT_PRONE_SITES

from support import ROOT, derived, strain

ONTO = kg.load_ontology()
REASONER = kg.Reasoner()
SITES = ONTO.keys("site")
NECK_AND_BACK = ("lower_back", "neck", "upper_back")
ELSEWHERE = ("calf", "hip", "shoulder", "thigh")
MUSCLE = ("muscle_strain", "muscle_tear", "muscle_overstretch")
OBO = "http://purl.obolibrary.org/obo/"


def patient(injuries=(), findings=()):
    return {"id": "s", "assessed_on": "2026-06-30", "injuries": list(injuries), "findings": list(findings)}


def injury(site, kind="muscle_strain", days=3, **more):
    return {"kind": kind, "site": site, "days_since_onset": days, **more}


def cited(step):
    return [ev.passage for ev in step.evidence]


def step_of(e, fact_id, rule):
    fact = e.fact(fact_id)
    chain = e.chain(fact.concept, fact.site)
    return next(s for s in chain.steps if s.fact == fact_id and s.rule == rule)


# ---------------------------------------------------------------- the sites of the ontology
def test_muscle_sites_beyond_the_neck_and_back_have_uberon_codes():
    """s15 "most often (but not only) with injuries to the neck and back": other muscle sites exist."""
    assert SITES == ["calf", "hip", "lower_back", "neck", "shoulder", "thigh", "upper_back"]
    codes = {"shoulder": "UBERON_0001467", "hip": "UBERON_0001464", "thigh": "UBERON_0000376",
             "calf": "UBERON_0003823"}
    for site, code in codes.items():
        concept = ONTO.concepts[site]
        assert (OBO + code) in {iri for _, iri in concept.xrefs}, site
        assert concept.parents == ("body_site",) and concept.passages == ("s15",)
        assert ONTO.resolve(site.title(), "site") == site


def test_knot_prone_sites_are_the_sites_the_s15_claims_name():
    """s15: the engine's neck-and-back sites are the input sites under the claims' pk:Neck and pk:Back."""
    places = {e.object for e in ONTO.edges.values()
              if e.subject == "muscle_knots" and e.predicate == str(PK.mostOftenLocatedIn)}
    assert places == {"neck", "back"}
    assert KNOT_PRONE_SITES == {s for s in SITES if places & set(ONTO.ancestors(s))} == set(NECK_AND_BACK)


@pytest.mark.parametrize("concept,sentence", [("severe_low_back_pain", "s17"), ("radiating_pain_to_leg", "s24"),
                                              ("acute_low_back_pain", "s19"), ("strain_mechanism", "s23")])
def test_concepts_named_for_the_lower_back_are_bound_to_it(concept, sentence):
    """s17 "severe low back pain", s19 "acute lower back pain", s23 "Lower back pain from a muscle
    strain", s24 pain that would "radiate to the leg": concepts the source names for the lower back."""
    assert ONTO.concepts[concept].sites == ("lower_back",)
    assert ONTO.allowed_sites(concept) == ["lower_back"]
    assert sentence in ONTO.concepts[concept].passages
    assert ONTO.allowed_sites("tender_to_touch") is None


def test_passages_that_name_the_lower_back_are_about_it():
    """s17, s19, s21, s22, s23 name the lower back: they are quoted there only; every other sentence is general."""
    for p in ONTO.passages.values():
        names_it = re.search(r"low(er)? back", p.text, flags=re.I) is not None
        assert p.sites == (("lower_back",) if names_it else ()), p.id
    assert [p.id for p in ONTO.passages.values() if p.sites] == ["s17", "s19", "s21", "s22", "s23"]


@pytest.mark.parametrize("breakage", ["bound-to-a-non-site", "passage-about-a-non-site", "scope-on-a-non-passage"])
def test_shapes_catch_site_scopes_that_are_not_body_sites(breakage):
    pyshacl = pytest.importorskip("pyshacl")
    shapes = rdflib.Graph().parse(data=resources.files("kg.ontology").joinpath("shapes.ttl").read_text("utf-8"),
                                  format="turtle")
    g = ontology_graph()
    assert pyshacl.validate(g, shacl_graph=shapes, inference="none")[0]
    if breakage == "bound-to-a-non-site":
        g.add((PK.LocalizedPain, PK.onlyAtSite, PK.MuscleKnots))
    elif breakage == "passage-about-a-non-site":
        g.add((PKS.s16, PK.aboutSite, PK.Inflammation))
    else:
        g.add((PK.Inflammation, PK.aboutSite, PK.LowerBack))
    assert not pyshacl.validate(g, shacl_graph=shapes, inference="none")[0]


# ---------------------------------------------------------------- the input check
@pytest.mark.parametrize("concept,given", [("severe_low_back_pain", "neck"), ("severe_low_back_pain", "cervical"),
                                           ("radiating_pain_to_leg", "neck"), ("radiating_pain_to_leg", "calf")])
def test_a_lower_back_finding_at_another_site_is_an_input_error(concept, given):
    """s17/s22 "severe low back pain", s24 pain that "doesn't radiate to the leg": they are at the lower back."""
    with pytest.raises(kg.InputError) as info:
        kg.explain(patient([injury("neck")], ["tender_to_touch", {"kind": concept, "site": given}]))
    err = info.value
    assert err.field == "findings[1].site" and err.value == given
    assert str(err) == (f'findings[1].site: "{given}" is not allowed; expected lower_back '
                        f"({ONTO.concepts[concept].label} is only at the lower back)")


def test_a_siteless_radiating_pain_is_placed_at_the_lower_back_not_at_the_neck():
    """s24 "meaning it doesn't radiate to the leg": leg pain radiates from the lower back, not from a neck injury."""
    e = kg.explain(patient([injury("neck")], ["radiating_pain_to_leg", {"kind": "severe_low_back_pain"}]))
    assert {(f.concept, f.site) for f in e.patient.findings} == {("radiating_pain_to_leg", "lower_back"),
                                                                ("severe_low_back_pain", "lower_back")}
    # No muscle is injured at the lower back: nothing there to be "not explained by a muscle strain".
    assert "atypical_for_muscle_strain@lower_back" not in derived(e)
    assert not any(f.site == "neck" and f.concept in ("radiating_pain_to_leg", "atypical_for_muscle_strain")
                   for f in e.facts)
    # the same without any injury, and the patient's JSON round-trips
    alone = kg.explain(patient(findings=["radiating_pain_to_leg"]))
    assert alone.patient.findings[0].site == "lower_back"
    assert kg.explain(e.patient).to_json() == e.to_json()


def test_a_siteless_finding_of_an_unbound_concept_still_goes_to_the_one_injured_site():
    """s25 "The area may be sore to the touch": the area is the injured one, when there is one injured site."""
    e = kg.explain(patient([injury("shoulder")], ["tender_to_touch"]))
    assert e.patient.findings[0].site == "shoulder"
    two = kg.explain(patient([injury("shoulder"), injury("neck")], ["tender_to_touch"]))
    assert two.patient.findings[0].site is None


# ---------------------------------------------------------------- fits the usual picture of a strain
FITS = [("fits-strain-localized-pain", "localized_pain", "s24"), ("fits-strain-tenderness", "tender_to_touch", "s25"),
        ("fits-strain-better-at-rest", "better_at_rest", "s25")]


@pytest.mark.parametrize("rule,finding,sentence", FITS, ids=[f[0] for f in FITS])
def test_a_finding_fits_a_muscle_strain_only_where_a_muscle_is_injured(rule, finding, sentence):
    """s24 "The pain is usually localized", s25 "The area may be sore to the touch, the patient usually
    feels better when resting": the picture of a muscle strain, so only where a muscle is injured."""
    at_neck = {"kind": finding, "site": "neck"}
    cases = {
        "uninjured neck": (patient([injury("lower_back")], [at_neck]), False),
        "no injury at all": (patient(findings=[at_neck]), False),
        "ligament sprain there": (patient([injury("neck", "ligament_sprain")], [at_neck]), False),
        **{f"{kind} there": (patient([injury("neck", kind)], [at_neck]), True) for kind in MUSCLE},
        "resolved muscle strain there": (patient([injury("neck", resolved=True)], [at_neck]), True),
    }
    for name, (data, fits) in cases.items():
        e = REASONER.explain(data)
        assert ("consistent_with_muscle_strain@neck" in derived(e)) is fits, name
        if fits:
            step = step_of(e, "consistent_with_muscle_strain@neck", rule)
            assert cited(step) == [sentence] and any(p.startswith("muscle_") for p in step.premises)


def test_radiating_pain_is_atypical_for_a_strain_only_where_a_muscle_is_injured():
    """Issue: "`atypical_for_muscle_strain` is concluded (expected) at a site with no muscle injury, while the
    'fits a strain' rules require one." s24 describes a strain's pain: with no muscle injury there is no strain
    whose picture radiating pain falls outside."""
    assert derived(REASONER.explain(patient(findings=["radiating_pain_to_leg"]))) == set()
    sprain = patient([injury("lower_back", kind="ligament_sprain")], ["radiating_pain_to_leg"])
    assert "atypical_for_muscle_strain@lower_back" not in derived(REASONER.explain(sprain))
    strained = patient([injury("lower_back")], ["radiating_pain_to_leg"])
    assert "atypical_for_muscle_strain@lower_back" in derived(REASONER.explain(strained))


# ---------------------------------------------------------------- the mechanism (s23) and the lower back (s21, s22)
@pytest.mark.parametrize("data,concluded", [
    (strain(3, mechanism="fall"), True),
    (strain(3, kind="muscle_tear", mechanism="heavy_lifting"), True),
    (strain(3, "neck", mechanism="fall"), False),
    (strain(3, "shoulder", mechanism="lifting_while_twisting"), False),
    (strain(3, kind="ligament_sprain", mechanism="sudden_movement"), False),
], ids=["lower-back-strain", "lower-back-tear", "neck-strain", "shoulder-strain", "lower-back-sprain"])
def test_the_mechanism_counts_only_for_a_muscle_injury_of_the_lower_back(data, concluded):
    """s23 "Lower back pain from a muscle strain occurs most frequently after lifting a heavy object, ...":
    about a muscle injury of the lower back, nowhere else."""
    e = REASONER.explain(data)
    assert any(f.startswith("strain_mechanism") for f in derived(e)) is concluded
    if concluded:
        assert cited(step_of(e, "strain_mechanism@lower_back", "strain-mechanism")) == ["s23"]


@pytest.mark.parametrize("site", SITES)
def test_inflammation_quotes_the_lower_back_sentence_only_in_the_lower_back(site):
    """s21 "When the muscles in the lower back are strained or torn, the area around the muscles can become
    inflamed" is not quoted for the neck; s16 "...inflammation that occurs when a muscle is overstretched or
    torn" is quoted everywhere."""
    e = REASONER.explain(strain(3, site))
    inflammation = step_of(e, f"inflammation@{site}", "inflammation-from-muscle-injury")
    spasm = step_of(e, f"muscle_spasm@{site}", "spasm-from-inflammation")
    if site == "lower_back":
        assert cited(inflammation) == ["s16", "s21"] and cited(spasm) == ["s16", "s22"]
    else:
        assert cited(inflammation) == ["s16"] and cited(spasm) == ["s16"]


def test_every_rule_has_a_quote_wherever_it_can_fire():
    """Quotes cited for a step speak about its site or are general, and no step is left without one."""
    for rid, rp in rule_premises().items():
        where = rp.conclusion_site
        sites = [where] if where and not where.startswith("?") else [*SITES, None]
        for site in sites:
            assert ONTO.evidence(rid, site), (rid, site)
            assert all(ONTO.speaks_of(p, site) for p in ONTO.evidence(rid, site))
        assert set(ONTO.evidence(rid, "lower_back")) <= set(ONTO.evidence(rid))


injuries = st.fixed_dictionaries(
    {"kind": st.sampled_from(ONTO.keys("injury")), "site": st.sampled_from(SITES),
     "days_since_onset": st.integers(0, 40)},
    optional={"mechanism": st.sampled_from(ONTO.keys("mechanism")), "resolved": st.booleans()})
findings = st.one_of(
    st.sampled_from(ONTO.keys("finding")),
    st.fixed_dictionaries({"kind": st.sampled_from(ONTO.keys("finding")), "site": st.sampled_from(SITES)}).filter(
        lambda f: f["site"] in (ONTO.allowed_sites(f["kind"]) or SITES)))
patients = st.fixed_dictionaries({
    "id": st.just("h"), "assessed_on": st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat),
    "injuries": st.lists(injuries, max_size=3, unique_by=lambda i: (i["kind"], i["site"])),
    "findings": st.lists(findings, max_size=4)})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients)
def test_every_quote_cited_for_a_step_speaks_of_its_site_or_is_general(data):
    """Quotes cited for a step must speak about that step's site or be general (s17, s19, s21-s23 are about
    the lower back); and a site-bound concept is never concluded at another site."""
    e = REASONER.explain(data)
    chains = list(e.chains) + [e.chain(f.concept, f.site) for f in e.facts if f.site]
    for chain in chains:
        for step in chain.steps:
            if step.status == "derived":
                assert step.evidence, step.fact
                for ev in step.evidence:
                    assert ONTO.speaks_of(ev.passage, step.site), (step.fact, step.rule, ev.passage)
    for fact in e.facts:
        allowed = ONTO.allowed_sites(fact.concept)
        assert allowed is None or fact.site in allowed, fact.id


# ---------------------------------------------------------------- contradictory findings (s24)
def test_localized_and_radiating_pain_at_one_site_are_reported_as_a_conflict():
    """s24 "The pain is usually localized, meaning it doesn't radiate to the leg": both at one site contradict."""
    e = REASONER.explain(strain(9, findings=["localized_pain", "radiating_pain_to_leg"]))
    (conflict,) = e.to_dict()["conflicts"]
    assert conflict["site"] == "lower_back"
    assert conflict["concepts"] == ["localized_pain", "radiating_pain_to_leg"]
    assert conflict["facts"] == ["localized_pain@lower_back", "radiating_pain_to_leg@lower_back"]
    assert conflict["passage"] == "s24"
    assert conflict["text"] == "The pain is usually localized, meaning it doesn't radiate to the leg."
    assert "localized pain and pain radiating to the leg" in conflict["message"]
    # Not used both ways silently: what rests on either side is named.
    assert conflict["used_by"] == ["atypical_for_muscle_strain@lower_back", "consistent_with_muscle_strain@lower_back"]
    assert set(conflict["used_by"]) <= derived(e)


def test_a_localized_pain_without_a_site_conflicts_with_radiating_pain():
    """s24: a localized pain that cannot be placed may be the very pain that radiates."""
    e = REASONER.explain(patient(findings=["localized_pain", "radiating_pain_to_leg"]))
    (conflict,) = e.to_dict()["conflicts"]
    assert conflict["site"] == "lower_back"
    assert conflict["facts"] == ["localized_pain", "radiating_pain_to_leg@lower_back"]
    assert "given without a site" in conflict["message"]


def test_localized_pain_at_another_site_is_no_conflict_and_the_key_is_always_there():
    """s24 speaks of one pain: a localized neck pain and a pain radiating from the lower back do not contradict."""
    e = REASONER.explain(patient([injury("neck"), injury("lower_back")],
                                 [{"kind": "localized_pain", "site": "neck"}, "radiating_pain_to_leg"]))
    assert e.to_dict()["conflicts"] == []
    assert REASONER.explain(strain(3)).to_dict()["conflicts"] == []


# ---------------------------------------------------------------- knots by site (s15)
@pytest.mark.parametrize("site", SITES)
def test_knots_are_expected_in_the_neck_and_back_and_possible_elsewhere(site):
    """s15 "This happens most often (but not only) with injuries to the neck and back"."""
    e = REASONER.explain(strain(20, site))
    knots = e.fact(f"muscle_knots@{site}")
    expected = site in NECK_AND_BACK
    assert knots.certainty == ("expected" if expected else "possible")
    assert [j.rule for j in knots.justifications] == (["knots-from-overload"] if expected
                                                      else ["knots-from-overload-elsewhere"])
    assert e.fact(f"muscle_overload@{site}").certainty == "expected"  # s11-s12 hold at every muscle
    assert e.pain_persists is expected
    assert e.persistent_pain == ("expected" if expected else "possible")
    assert (f"common_knot_site@{site}" in derived(e)) is expected
    step = step_of(e, f"muscle_knots@{site}", knots.justifications[0].rule)
    assert "s15" in cited(step) and step.certainty == knots.certainty


def test_no_knots_before_the_threshold_at_any_site():
    """s04 "Usually this happens about two weeks after the initial injury", at the shoulder too."""
    for site in ELSEWHERE:
        assert not any(f.startswith("muscle_knots") for f in derived(REASONER.explain(strain(13, site))))


@pytest.mark.parametrize("site", [*ELSEWHERE, None])
def test_common_knot_site_is_not_concluded_away_from_the_neck_and_back(site):
    """s15: a site where knots are most common is the neck or the back, even for knots the patient reports."""
    knots = {"kind": "muscle_knots", "site": site} if site else "muscle_knots"
    e = REASONER.explain(patient(findings=[knots]))
    assert not any(f.concept == "common_knot_site" for f in e.facts)
    assert e.fact(f"persistent_pain@{site}" if site else "persistent_pain").certainty == "expected"


def test_why_not_common_knot_site_at_the_shoulder_names_the_site_test():
    """s15: why-not says the rule does not apply at the shoulder, and suggests no change."""
    e = REASONER.explain(strain(20, "shoulder"))
    (answer,) = e.why_not("common_knot_site").sites
    (route,) = answer.routes
    assert route.rule == "knots-common-site" and not route.applies_at_site and route.changes is None
    assert "fails `s in KNOT_PRONE_SITES`" in route.failed[0].reason


def test_why_not_radiating_pain_at_the_neck_suggests_no_report():
    """s24: pain radiating to the leg cannot be reported at the neck, so why-not offers no such change."""
    e = REASONER.explain(strain(3, "neck"))
    (answer,) = e.why_not("atypical_for_muscle_strain", site="neck").sites
    assert answer.changes is None
    (lower,) = e.why_not("atypical_for_muscle_strain", site="lower_back").sites
    # ...and at the lower back it needs a muscle injury there too (a strain's picture, s24).
    assert lower.changes == ('findings+={"kind": "radiating_pain_to_leg", "site": "lower_back"}',
                             'injuries+={"kind": "muscle_overstretch", "site": "lower_back", "days_since_onset": 0}')


# ---------------------------------------------------------------- README: sentences, sites and certainty
def sentence_table(onto=ONTO) -> str:
    """The README's sentence-coverage table: claims and rules citing each sentence, its site, its certainty.

    A sentence's certainty is the level of the claims stating it (``pk:certaintyLevel``); a rule that
    cites it directly at another level (s15's "but not only") is named after it.
    """
    rows = ["| sentence | claims | rules | site | certainty |", "|---|---|---|---|---|"]
    order = {"expected": 0, "possible": 1}
    for pid, p in onto.passages.items():
        claims = sorted(e.id for e in onto.edges.values() if pid in e.passages)
        rules = sorted(r for r in onto.rules if pid in onto.evidence(r))
        levels = sorted({onto.edges[c].level for c in claims}, key=order.__getitem__)
        others = {}
        for r in rules:
            if pid in onto.rules[r].passages and onto.rules[r].level not in levels:
                others.setdefault(onto.rules[r].level, []).append(f"`{r}`")
        certainty = " / ".join(levels) or "-"
        for level in sorted(others, key=order.__getitem__):
            certainty += f"; {level} in {', '.join(others[level])}"
        site = ", ".join(onto.concepts[s].label for s in p.sites) or "any"
        rows.append(f"| {pid} | {', '.join(f'`{c}`' for c in claims) or '-'} | "
                    f"{', '.join(f'`{r}`' for r in rules) or '-'} | {site} | {certainty} |")
    return "\n".join(rows) + "\n"


SENTENCE_TABLE = re.compile(
    r"(<!-- sentence-table: generated by tests/regenerate_docs.py -->\n)(.*?)(<!-- /sentence-table -->)", flags=re.S)


def test_readme_sentence_table_shows_each_sentences_site_and_certainty():
    """Every sentence s01-s26 with the claims and rules citing it, the site it speaks of, and its certainty."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = SENTENCE_TABLE.search(readme)
    assert match, "README.md lacks the sentence table markers"
    assert match.group(2) == sentence_table(), "run: python tests/regenerate_docs.py"
    rows = {line.split(" | ")[0][2:]: line for line in match.group(2).splitlines()[2:]}
    assert rows["s21"].endswith("| lower back | possible |")
    assert rows["s15"].endswith("| any | expected; possible in `knots-from-overload-elsewhere` |")


def test_graph_and_rdf_quote_at_each_firing_only_what_speaks_of_its_site():
    """s21 "When the muscles in the lower back are strained or torn..." is not evidence of a neck firing."""
    e = REASONER.explain(patient([injury("neck"), injury("lower_back", "muscle_tear")]))
    g = e.graph(full=True)
    assert g.nodes["inflammation-from-muscle-injury:inflammation@neck"]["passages"] == "s16"
    assert g.nodes["inflammation-from-muscle-injury:inflammation@lower_back"]["passages"] == "s16 s21"
    assert g.nodes["inflammation@neck"]["passages"] == "s16"
    data = rdflib.Dataset()
    data.parse(data=e.to_rdf("trig"), format="trig")
    label = rdflib.URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    for site, expected in (("neck", {"s16"}), ("lower_back", {"s16", "s21"})):
        firing = next(s for s, _, o, _ in data.quads((None, label, None, None))
                      if str(o) == f"inflammation-from-muscle-injury concludes inflammation@{site}")
        cited = {str(o).rsplit("/", 1)[-1] for _, _, o, _ in data.quads((firing, PK.evidence, None, None))}
        assert cited == expected, site


def test_why_not_quotes_only_what_speaks_of_the_premises_site():
    """s22 "With inflammation, the muscles can spasm leading to severe low back pain" is not quoted for the neck."""
    e = REASONER.explain(strain(3, "neck", kind="ligament_sprain"))
    (answer,) = e.why_not("inflammation", site="neck").sites
    (calf,) = e.why_not("muscle_spasm", site="calf").sites
    (failed,) = [f for r in calf.routes if r.rule == "spasm-from-inflammation" for f in r.failed]
    assert [ev.passage for ev in failed.evidence] == ["s16"]
    assert all(ONTO.speaks_of(ev.passage, "neck") for r in answer.routes for f in r.failed for ev in f.evidence)


def test_the_text_report_says_which_findings_contradict_each_other():
    """s24 "The pain is usually localized, meaning it doesn't radiate to the leg": both reported at
    one site is said in the text too, with the passage, not only in the JSON."""
    text = kg.explain({"id": "c", "assessed_on": "2026-03-05",
                       "injuries": [{"kind": "strain", "site": "lower_back", "days_since_onset": 3}],
                       "findings": ["localized_pain", "radiating_pain_to_leg"]}).to_text()
    section = text.split("Findings that contradict each other\n", 1)[1]
    assert section.startswith("  - localized pain and pain radiating to the leg are both reported at the lower back")
    assert 'source s24: "The pain is usually localized, meaning it doesn\'t radiate to the leg."' in section
    assert "contradict" not in kg.explain("examples/lower-back-strain-day20.json").to_text()
