"""One presentation: the headline is the same bytes on every face, and no face claims more than the source.

The faces checked in-process here: the JSON (fresh and memoised), the brief and
detail text reports, the patient wording, the CDS card and the FHIR
ClinicalImpression. The HTTP text and the page are checked against a real server
in tests/test_serve_pages.py and tests/test_serve_explain.py.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

import kg
from kg.knowledge.wording import HEADLINE_MAX
from kg.reasoning.certainty import LEVELS
from kg.reasoning.memo import MemoReasoner
from kg.render.brief import brief_text
from kg.render.fhir_export import explanation_to_fhir
from kg.render.presentation import present
from kg.serve.cds_cards import card_for

from support import example_paths
from test_properties import ONTO, REASONER, fast, patients

MEMO = MemoReasoner(REASONER, maxsize=64)
# Every face of every example (the FHIR export validates with fhir.resources): fewer examples than the engine's properties.
faces_examples = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def faces(e) -> dict[str, str]:
    """The headline as each face opens with it."""
    data = e.to_dict()
    card = card_for(data, ONTO, base_url="http://127.0.0.1", source_label="painkg")
    return {
        "json": data["headline"],
        "memo json": json.loads(MEMO.explain_json(e.patient, threshold_days=e.threshold_days).explanation)["headline"],
        # The line after the title, found by the title's end: a patient id may hold line breaks.
        "brief text": brief_text(present(data, ONTO)).split(" days unresolved)\n", 1)[1].split("\n", 1)[0],
        "detail text": e.to_text().split("? (every step)\n", 1)[1].split("\n", 1)[0],
        "cds summary": card["summary"] if card else data["headline"],
        "fhir summary": explanation_to_fhir(e)["entry"][0]["resource"]["summary"],
    }


def _assert_honest(e, headline: str) -> None:
    levels = {f.site: f.certainty for f in e.facts if f.concept == "persistent_pain"}
    assert len(headline) <= HEADLINE_MAX
    if not levels:
        assert headline.startswith("Persistent pain is not concluded"), headline
        return
    assert "not concluded" not in headline
    for site, level in levels.items():
        name = ONTO.concepts[site].label if site else "a site not given"
        if len(levels) > 1 and len(headline) > 100 and "sites (" in headline:
            continue  # many sites: counted per level, not named
        if level == "possible":
            assert "may persist" in headline and name in headline, headline
        else:
            assert ("expected to persist" if level == "expected" else "recorded") in headline, headline


@faces_examples
@given(patients)
def test_the_headline_is_byte_identical_on_every_face(patient):
    e = REASONER.explain(patient)
    seen = faces(e)
    assert len(set(seen.values())) == 1, seen
    _assert_honest(e, seen["json"])


@fast
@given(patients)
def test_key_chains_are_as_firm_as_their_conclusions_and_start_in_input(patient):
    e = REASONER.explain(patient)
    for c in present(e.to_dict(), ONTO).conclusions:
        first, *rest = c.links
        assert e.fact(first.fact).status == "observed"
        assert rest or first.fact == c.fact
        assert c.links[-1].fact == c.fact
        rank = LEVELS.index
        # No link is weaker than the conclusion, and the weakest step is exactly as firm as it.
        assert all(rank(link.certainty) <= rank(c.certainty) for link in c.links)
        steps = [link.step_certainty for link in rest]
        if steps and c.certainty != "reported":
            assert max(steps, key=rank) == c.certainty, (c.fact, steps)


@fast
@given(patients)
def test_no_face_words_a_possible_conclusion_as_a_fact(patient):
    e = REASONER.explain(patient)
    for audience in ("clinician", "patient"):
        p = present(e.to_dict(), ONTO, audience)
        for c in p.conclusions:
            if c.certainty == "possible":
                assert "can happen" in c.heading, c.heading
                for link in c.links:
                    if link.certainty == "possible":
                        assert "may" in link.said or "Possible" in link.said, link.said
        for sentence in p.changes:
            assert ("may form" in sentence or "may" in sentence) or "expected" in sentence


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_every_bundled_example_fits_one_screen_and_opens_with_the_headline(path):
    e = kg.explain(path)
    for audience in ("clinician", "patient"):
        text = brief_text(present(e.to_dict(), ONTO, audience))
        assert len(text.splitlines()) <= 40, (audience, len(text.splitlines()))
        assert text.count("reasoning aid") == 1
    assert brief_text(present(e.to_dict(), ONTO)).splitlines()[1] == e.headline
    assert len(set(faces(e).values())) == 1


def test_the_day20_headline_and_key_chain_exactly():
    e = kg.explain("examples/lower-back-strain-day20.json")
    assert e.headline == ("Pain is expected to persist at the lower back: muscle strain -> muscle spasm -> "
                          "continuous contraction -> muscle overload -> muscle knots.")
    (c,) = present(e.to_dict(), ONTO).conclusions
    assert c.chain_text == ("muscle strain (reported) -> muscle spasm (reported) -> continuous contraction "
                            "(expected) -> muscle overload (expected) -> muscle knots (expected) -> persistent pain "
                            "(expected)")
    # Not through the possible inflammation that the longest path takes.
    assert "inflammation" not in c.chain_text
    assert c.carried_by.passage == "s03"
    assert [link.rule for link in c.links] == [None, "spasm-protective", "continuous-contraction",
                                               "overload-after-threshold", "knots-from-overload",
                                               "persistent-pain-from-knots"]


def test_a_possible_persistent_pain_says_may_on_every_face():
    e = kg.explain("examples/lower-back-strain-resolved.json")
    assert e.persistent_pain == "possible"
    assert e.headline == "Pain may persist at the lower back: muscle strain -> muscle overload -> muscle knots."
    assert to_patient(e).splitlines()[1] == ("Your pain at the lower back may persist: the source says this can "
                                             "happen, not that it will.")
    card = card_for(e.to_dict(), ONTO, base_url="http://x", source_label="painkg")
    assert card["summary"] == e.headline and card["indicator"] == "info"


def test_nothing_concluded_yet_names_the_date_knots_would_be_expected():
    e = kg.explain("examples/radiating-pain.json")
    assert e.headline == ("Persistent pain is not concluded yet; muscle knots would be expected at the lower back "
                          "from 2026-05-17 if the injury stays unresolved.")
    p = present(e.to_dict(), ONTO)
    assert p.flags == ('Pain radiating to the leg at the lower back: not explained by the source\'s picture of a '
                       'muscle strain (expected; s24: "The pain is usually localized, meaning it doesn\'t radiate '
                       'to the leg.")',)


@pytest.mark.parametrize("site", ONTO.keys("site"))
def test_patient_wording_names_every_site_by_its_label(site):
    e = kg.explain({"id": "p", "assessed_on": "2026-03-21",
                    "injuries": [{"kind": "strain", "site": site, "days_since_onset": 20}]})
    label = ONTO.concepts[site].label
    assert f"at the {label}" in to_patient(e).splitlines()[1]
    assert "_" not in to_patient(e)


def test_a_default_is_worded_as_a_default():
    e = kg.explain("examples/lower-back-strain-day20.json")
    detail = e.to_text()
    assert "Taken as unresolved (lower back): the muscle strain of the lower back is not marked resolved, so it " \
           "is taken as unresolved" in " ".join(line.strip() for line in detail.splitlines())
    assert "You reported: basic injury not fixed" not in detail


def to_patient(e) -> str:
    return brief_text(present(e.to_dict(), ONTO, "patient"))
