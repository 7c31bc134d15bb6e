"""kg.query / kg.dataset: the example queries and their answers, result conversions,
refusals (update, SERVICE, remote JSON-LD contexts), syntax errors, reasoning."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

import kg
from kg.errors import InputError
from kg.store.sparql import INFERRED_GRAPH, PREFIXES, Row, query_form

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
QUERIES = ROOT / "examples" / "queries"
DAY20 = ROOT / "examples" / "lower-back-strain-day20.json"
CAUSAL = ("http://purl.obolibrary.org/obo/RO_0003302", "http://purl.obolibrary.org/obo/RO_0002411",
          "http://purl.obolibrary.org/obo/RO_0003304")


def _run(name: str, patients=()):
    return kg.query((QUERIES / f"{name}.rq").read_text(encoding="utf-8"), patients)


def _rows(result) -> list[tuple]:
    return [tuple(None if v is None else v.toPython() if isinstance(v, Literal) else str(v) for v in row)
            for row in result]


@pytest.fixture(scope="module")
def explanations():
    return {p.stem: kg.explain(p) for p in EXAMPLES}


def test_every_example_query_has_a_test():
    assert sorted(p.stem for p in QUERIES.glob("*.rq")) == sorted(EXPECTED_QUERIES)
    assert len(EXPECTED_QUERIES) == 8


# ---------------------------------------------------------------- example queries

def _upstream_edges(onto, target):
    """Causal edges on some path into ``target`` (feedback edges aside), from the ontology model."""
    edges = [e for e in onto.edges.values() if e.predicate in CAUSAL and not e.feedback]
    reach, changed = {target}, True
    while changed:
        changed = False
        for e in edges:
            if e.object in reach and e.subject not in reach:
                reach.add(e.subject)
                changed = True
    return {e.id for e in edges if e.object in reach}


def test_what_causes_muscle_knots():
    result = _run("what-causes-muscle-knots")
    assert result.vars == ("cause", "effect", "edge", "certainty", "condition")
    rows = _rows(result)
    unresolved = "only if the basic injury stays unresolved for about two weeks"
    # The source: injury -> (protective) spasm; muscle injury -> inflammation -> spasm;
    # spasm -> continuous contraction -> overload (after ~2 weeks unresolved) -> knots;
    # spasm -> knots if the injury stays unresolved (s03, s04).
    assert rows == [
        ("continuous_contraction", "muscle_overload", "continuous-contraction-causes-overload",
         "after some amount of time", unresolved),
        ("inflammation", "muscle_spasm", "inflammation-causes-spasm", "can", None),
        ("injury", "muscle_spasm", "injury-causes-protective-spasm", "occurs after", None),
        ("muscle_injury", "inflammation", "muscle-injury-causes-inflammation", "can", None),
        ("muscle_overload", "muscle_knots", "overload-forms-knots", "does", None),
        ("muscle_spasm", "muscle_knots", "spasm-forms-knots-if-unresolved",
         "usually about two weeks after the injury", unresolved),
        ("muscle_spasm", "continuous_contraction", "spasm-keeps-muscle-on", "does", None),
    ]
    assert {r[2] for r in rows} == _upstream_edges(kg.load_ontology(), "muscle_knots")


def test_passage_behind_each_edge():
    onto = kg.load_ontology()
    rows = _rows(_run("passage-behind-each-edge"))
    expected = sorted(((e.id, p, onto.passages[p].text) for e in onto.edges.values() for p in e.passages),
                      key=lambda r: (r[0], onto.passages[r[1]].number))
    assert [(r[0], r[4], r[5]) for r in rows] == expected
    assert len(rows) == sum(len(e.passages) for e in onto.edges.values())
    assert ("knots-cause-persistent-pain", "muscle_knots", "causes or contributes to condition",
            "persistent_pain", "s05", "These knots are painful, and become part of the problem.") in rows


def _level(iri_or_name: str) -> str:
    return iri_or_name


def _conclusions(e):
    """The patient's main conclusions (the chains' facts), as the store's pk:concluded holds them."""
    return [e.fact(c.fact) for c in e.chains]


def test_one_patients_derivation(explanations):
    e = explanations["lower-back-strain-day20"]
    rows = _rows(_run("derivation-of-persistent-pain", EXAMPLES))  # the query names p1 itself
    onto = e.ontology
    status = {f.id: f.status for f in e.facts}
    expected = set()
    for fact in e.facts:
        for just, level in zip(fact.justifications, fact.justification_certainty):
            passages = onto.evidence(just.rule, fact.site) or [None]
            for premise in just.premises or [None]:
                for p in passages:
                    expected.add((fact.id, just.rule, level, premise, status.get(premise) == "observed",
                                  p, onto.passages[p].text if p else None))
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert ("persistent_pain@lower_back", "persistent-pain-from-knots", "expected", "muscle_knots@lower_back",
            False, "s05", onto.passages["s05"].text) in rows
    assert ("muscle_overload@lower_back", "overload-after-threshold", "expected", "muscle_strain@lower_back",
            True) in {r[:5] for r in rows}


def test_which_patients_have_persistent_pain_through_knots(explanations):
    rows = _rows(_run("persistent-pain-through-knots", EXAMPLES))
    expected = set()
    for e in explanations.values():
        for fact in _conclusions(e):
            if fact.concept != "persistent_pain":
                continue
            for just in fact.justifications:
                for premise in just.premises:
                    if e.fact(premise).concept == "muscle_knots":
                        expected.add((e.patient.id, fact.site, fact.certainty,
                                      "reported" if e.fact(premise).status == "observed" else "concluded"))
    assert rows == sorted(expected)
    # knots-1 reported its knots; resolved-1's strain was fixed on an unknown date: its pain is only possible.
    assert ("knots-1", "upper_back", "expected", "reported") in rows
    assert ("resolved-1", "lower_back", "possible", "concluded") in rows
    assert {r[0] for r in rows if r[2] == "expected"} == {e.patient.id for e in explanations.values() if e.pain_persists}


def test_persistent_pain_by_certainty_and_site(explanations):
    from collections import Counter

    rows = _rows(_run("persistent-pain-by-certainty-and-site", EXAMPLES))
    counts = Counter()
    for e in explanations.values():
        for key in {(f.site, f.certainty) for f in _conclusions(e) if f.concept == "persistent_pain"}:
            counts[key] += 1
    assert rows == sorted((site, level, n) for (site, level), n in counts.items())
    assert sum(n for _, level, n in rows if level == "expected") == sum(e.pain_persists for e in explanations.values())


def test_most_common_key_chains(explanations):
    from collections import Counter

    from kg.reasoning.key_chain import facts_by_id, key_steps

    rows = _rows(_run("most-common-key-chains", EXAMPLES))
    counts = Counter()
    for e in explanations.values():
        facts = facts_by_id(e.to_dict()["facts"])
        chains = set()
        for fact in _conclusions(e):  # each persistent-pain conclusion's key chain: its rules, in order
            if fact.concept == "persistent_pain":
                rules = [s.rule for s in key_steps(facts, fact.id, e.ontology) if s.rule is not None]
                chains.add((fact.certainty, " + ".join(rules)))
        counts.update(chains)  # a patient counts once per chain
    assert sorted(rows) == sorted((c, chain, n) for (c, chain), n in counts.items())
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
    assert ("expected", "spasm-protective + continuous-contraction + overload-after-threshold + knots-from-overload"
            " + persistent-pain-from-knots") in {r[:2] for r in rows}


def test_sentences_by_conclusions(explanations):
    from collections import Counter

    rows = _rows(_run("sentences-by-conclusions", EXAMPLES))
    carried = {}
    for e in explanations.values():
        onto = e.ontology
        for fact in _conclusions(e):
            for just in fact.justifications:
                for p in onto.evidence(just.rule, fact.site):
                    carried.setdefault((p, fact.certainty), set()).add((e.patient.id, fact.id))
    texts = explanations["lower-back-strain-day20"].ontology.passages
    assert sorted(rows) == sorted((p, c, len(facts), texts[p].text) for (p, c), facts in carried.items())
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
    assert Counter(r[1] for r in rows) .keys() <= {"expected", "possible", "reported"}


def test_preventable_knots(explanations):
    import datetime as dt

    rows = _rows(_run("preventable-knots", EXAMPLES))
    assert {r[0] for r in rows} >= {"acute-1", "two-sites-1"}
    expected = set()
    for e in explanations.values():  # the explanation's expectations of knots at an unresolved injury's site
        for x in e.expectations:
            inj = next(i for i in e.patient.injuries if i.index == x.injury)
            if x.concept == "muscle_knots" and not inj.resolved:
                assert inj.days_since_onset < e.threshold_days
                expected.add((e.patient.id, x.site, inj.kind, dt.date.fromisoformat(x.expected_on)))
    assert sorted(rows) == sorted(expected)
    assert [r[3] for r in rows] == sorted(r[3] for r in rows)


EXPECTED_QUERIES = {
    "what-causes-muscle-knots": test_what_causes_muscle_knots,
    "passage-behind-each-edge": test_passage_behind_each_edge,
    "derivation-of-persistent-pain": test_one_patients_derivation,
    "persistent-pain-through-knots": test_which_patients_have_persistent_pain_through_knots,
    "persistent-pain-by-certainty-and-site": test_persistent_pain_by_certainty_and_site,
    "most-common-key-chains": test_most_common_key_chains,
    "sentences-by-conclusions": test_sentences_by_conclusions,
    "preventable-knots": test_preventable_knots,
}


# ---------------------------------------------------------------- results

def test_select_rows_by_position_name_and_as_python():
    r = kg.query("SELECT ?key ?rank WHERE { ?c pk:keyConclusion ?rank ; skos:notation ?key } ORDER BY ?rank")
    assert r.type == "SELECT" and r.vars == ("key", "rank") and len(r) == 6 and bool(r)
    first = next(iter(r))
    assert isinstance(first, Row)
    assert (str(first[0]), first.rank.toPython(), str(first["key"])) == ("persistent_pain", 1, "persistent_pain")
    assert r.to_dicts()[:2] == [{"key": "persistent_pain", "rank": 1}, {"key": "muscle_knots", "rank": 2}]
    with pytest.raises(KeyError):
        first["nope"]


def test_json_results_follow_sparql_11():
    r = kg.query('SELECT ?c ?rank ?none WHERE { ?c pk:keyConclusion ?rank . FILTER(?rank = 1) '
                 'OPTIONAL { ?c pk:nothing ?none } }')
    assert json.loads(r.to_json()) == {
        "head": {"vars": ["c", "rank", "none"]},
        "results": {"bindings": [{
            "c": {"type": "uri", "value": "https://w3id.org/painkg/ontology#PersistentPain"},
            "rank": {"type": "literal", "value": "1", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}]}}
    assert json.loads(kg.query("ASK { pk:MuscleKnots obo:RO_0003302 pk:PersistentPain }").to_json()) == {
        "head": {}, "boolean": True}


def test_csv_tsv_and_table():
    r = kg.query('SELECT ?p ?quote WHERE { ?p pk:sentenceNumber 9 ; pk:quote ?quote }')
    text = r.to_csv()
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text))) == [
        ["p", "quote"],
        ["https://w3id.org/painkg/source/s09",
         "Instead, as the body moves in normal activities, different muscles cycle on and off."]]
    assert r.to_tsv() == ("?p\t?quote\n<https://w3id.org/painkg/source/s09>\t"
                          "\"Instead, as the body moves in normal activities, different muscles cycle on and off.\"\n")
    table = r.to_table().splitlines()
    assert table[0].split() == ["p", "quote"] and table[2].startswith("pks:s09  Instead,") and table[-1] == "(1 row)"


def test_ask_and_construct_and_describe():
    ask = kg.query("ASK { pk:PersistentPain obo:RO_0003302 pk:MuscleKnots }")
    assert ask.type == "ASK" and ask.askAnswer is False and not ask and ask.to_table() == "false\n"
    construct = kg.query("CONSTRUCT { ?a ro:0003302 ?b } WHERE { ?a ro:0003302 ?b . ?b skos:notation 'muscle_knots' }")
    assert construct.type == "CONSTRUCT" and len(construct) == 1
    graph = Graph().parse(data=construct.to_turtle(), format="turtle")
    assert set(graph) == set(construct.graph) == {
        (URIRef(PREFIXES["pk"] + "MuscleSpasm"), URIRef(PREFIXES["obo"] + "RO_0003302"),
         URIRef(PREFIXES["pk"] + "MuscleKnots"))}
    describe = kg.query("DESCRIBE pkr:knots-from-overload")
    assert describe.type == "DESCRIBE"
    assert (URIRef(PREFIXES["pkr"] + "knots-from-overload"), URIRef(PREFIXES["skos"] + "notation"),
            Literal("knots-from-overload")) in set(describe)


def test_blank_nodes_in_results_are_stable():
    text = "CONSTRUCT { [] rdfs:label ?l } WHERE { pk:MuscleKnots rdfs:label ?l }"
    assert kg.query(text).to_turtle() == kg.query(text).to_turtle()
    assert "_:c14n0 rdfs:label \"muscle knots\" ." in kg.query(text).to_turtle()


# ---------------------------------------------------------------- errors and refusals

@pytest.mark.parametrize("text, where", [
    ("SELECT ?x WHERE {\n  ?x a pk:Rule\n  FILTER(?x = ) }", "line 3, column"),
    ("SELEC * WHERE { ?s ?p ?o }", "line 1, column"),
    ("SELECT * WHERE { ?s a nope:Thing }", "unknown prefix"),
])
def test_malformed_query_reports_the_position(text, where):
    with pytest.raises(InputError) as info:
        kg.query(text)
    assert str(info.value).startswith("query: syntax error")
    assert where in str(info.value)


@pytest.mark.parametrize("text, word", [
    ("INSERT DATA { pk:a pk:b pk:c }", "INSERT"),
    ("PREFIX x: <http://x/>\n# a comment\ndelete where { ?s ?p ?o }", "DELETE"),
    ("LOAD <http://example.org/data.ttl>", "LOAD"),
    ("CLEAR ALL", "CLEAR"),
    ("DROP GRAPH <https://w3id.org/painkg/graph/ontology>", "DROP"),
    ("WITH <http://x/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "WITH"),
])
def test_updates_are_refused(text, word):
    with pytest.raises(InputError, match=rf"query: SPARQL Update \({word}\) is refused: painkg queries are read-only"):
        kg.query(text)


def test_service_is_refused_but_the_word_in_data_is_fine():
    with pytest.raises(InputError, match=r"SERVICE \(line 2, column 3\) is refused: painkg queries never fetch"):
        kg.query("SELECT * WHERE {\n  service <http://example.org/sparql> { ?s ?p ?o } }")
    assert query_form('SELECT * WHERE { ?s pk:quote "SERVICE" . ?s <http://x/SERVICE> ?o } # SERVICE') == "SELECT"
    assert kg.query("SELECT ?service WHERE { VALUES ?service { 'SERVICE' } }").vars == ("service",)


@pytest.mark.parametrize("bad", ["", "   ", None, 42])
def test_empty_or_non_text_query(bad):
    with pytest.raises(InputError, match="query: .* expected a SPARQL 1.1 query"):
        kg.query(bad)


def test_bad_reason_and_duplicate_patients():
    with pytest.raises(InputError, match='reason: "owl" is not allowed; expected one of rdfs, owl-rl'):
        kg.query("ASK {}", reason="owl")
    with pytest.raises(InputError, match='patients: "p1" is not allowed; expected patients with distinct ids'):
        kg.query("ASK {}", [DAY20, DAY20])


def test_remote_jsonld_context_is_never_fetched(tmp_path):
    doc = tmp_path / "remote.jsonld"
    doc.write_text(json.dumps({"@context": "http://192.0.2.1/context.jsonld", "@id": "http://x/a", "name": "n"}))
    with pytest.raises(InputError, match="JSON-LD remote contexts are never fetched"):
        kg.query("ASK { ?s ?p ?o }", data=[doc])
    inline = tmp_path / "inline.jsonld"
    inline.write_text(json.dumps({"@context": {"name": "http://x/name"}, "@id": "http://x/a", "name": "n"}))
    assert kg.query('ASK { <http://x/a> <http://x/name> "n" }', data=[inline]).askAnswer is True


def test_data_files_exported_by_explain_answer_like_patients(tmp_path, explanations):
    trig = tmp_path / "p1.trig"
    trig.write_text(explanations["lower-back-strain-day20"].to_rdf("trig"), encoding="utf-8")
    # `explain --format trig` is the per-patient form: every firing a pk:RuleFiring that prov:used its premises.
    text = ("SELECT ?fact ?rule ?premise WHERE { ?firing a pk:RuleFiring ; prov:generated/dcterms:identifier ?fact ; "
            "pk:rule/skos:notation ?rule ; prov:used/dcterms:identifier ?premise } ORDER BY ?fact ?rule ?premise")
    from_file = kg.query(text, data=[trig])
    assert from_file.to_json() == kg.query(text, [DAY20]).to_json() and len(from_file.rows) > 20
    # It holds no cohort shape (the store's; kg.query(patients=...) holds both): no plans applied.
    assert kg.query("ASK { ?p pk:applied ?plan }", data=[trig]).askAnswer is False
    with pytest.raises(InputError, match="data: .* expected an RDF file ending in"):
        kg.query("ASK {}", data=[tmp_path / "x.rdf"])


# ---------------------------------------------------------------- patients, dataset, reasoning

def test_ontology_alone_has_no_patient_facts():
    assert kg.query("ASK { ?f a pk:Fact }").askAnswer is False
    assert kg.query("ASK { ?f a pk:Fact }", [DAY20]).askAnswer is True


def test_explanations_and_options_are_accepted(explanations):
    e = explanations["lower-back-strain-acute"]
    text = "ASK { ?f a pk:PersistentPain }"
    assert kg.query(text, [e]).askAnswer is False
    assert kg.query(text, [ROOT / "examples" / "lower-back-strain-acute.json"], threshold_days=3).askAnswer is True
    assert kg.query(text, [ROOT / "examples" / "lower-back-strain-acute.json"], as_of="2026-12-31").askAnswer is True


def test_dataset_is_an_rdflib_dataset_with_the_same_answers():
    ds = kg.dataset([DAY20])
    names = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert names == {"https://w3id.org/painkg/graph/ontology", "https://w3id.org/painkg/patient/p1/graph/input",
                     "https://w3id.org/painkg/patient/p1/graph/derivations", "https://w3id.org/painkg/graph/plans"}
    text = ("SELECT ?id WHERE { ?f a pk:DerivedFact ; dcterms:identifier ?id }")
    from_rdflib = sorted(str(r[0]) for r in ds.query(text, initNs=PREFIXES))
    assert from_rdflib == sorted(str(r[0]) for r in kg.query(text, [DAY20]))
    assert len(from_rdflib) == sum(f.status == "derived" for f in kg.explain(DAY20).facts)


def test_rdfs_reasoning_adds_superclasses():
    text = "SELECT ?id WHERE { ?f a pk:Injury ; pk:aboutPatient ?p ; dcterms:identifier ?id }"
    assert _rows(kg.query(text, [DAY20])) == []
    assert _rows(kg.query(text, [DAY20], reason="rdfs")) == [("muscle_strain@lower_back",)]
    # What was added lives in its own graph, and a rule firing is a prov:Activity by subclassing too.
    inferred = kg.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?g = ?inferred) }"
                        .replace("?inferred", f"<{INFERRED_GRAPH}>"), [DAY20], reason="rdfs")
    assert next(iter(inferred))[0].toPython() > 0


def test_owl_rl_closure_is_consistent():
    import owlrl

    g = Graph()
    for s, p, o in kg.dataset([DAY20]).triples((None, None, None)):
        g.add((s, p, o))
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    errors = list(g.subjects(URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                             URIRef("http://www.daml.org/2002/03/agents/agent-ont#ErrorMessage")))
    assert errors == []
    assert kg.query("ASK { ?x a owl:Nothing }", [DAY20], reason="owl-rl").askAnswer is False
    # OWL-RL types a fact with every superclass of its concept.
    assert kg.query("ASK { pkp:p1\\/fact\\/muscle_knots\\@lower_back a pk:PathologicalProcess }", [DAY20],
                    reason="owl-rl").askAnswer is True


def test_queries_reuse_the_threads_engine():
    from experta.matchers.rete.check import FactCapture

    from support import EXAMPLES

    patients = [EXAMPLES / "two-injuries.json", EXAMPLES / "neck-strain-day16.json"]
    kg.query("ASK { ?s ?p ?o }", patients=patients)
    before = len(FactCapture._instances)
    for _ in range(5):
        kg.query("ASK { ?s ?p ?o }", patients=patients)
        kg.dataset(patients=patients)
    assert len(FactCapture._instances) == before
