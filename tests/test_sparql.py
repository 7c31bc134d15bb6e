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


def _derivation_from_json(explanation, start):
    data = json.loads(explanation.to_json())
    facts = {f["id"]: f for f in data["facts"]}
    rows, todo, seen = set(), [start], set()
    while todo:
        fact = todo.pop()
        if fact in seen:
            continue
        seen.add(fact)
        for just in facts[fact]["justifications"]:
            for premise in just["premises"]:
                rows.add((data["patient"], fact, just["rule"], premise, facts[premise]["status"]))
                todo.append(premise)
    return sorted(rows)


def test_derivation_of_persistent_pain_back_to_the_injury(explanations):
    rows = _rows(_run("derivation-of-persistent-pain", [DAY20]))
    assert rows == _derivation_from_json(explanations["lower-back-strain-day20"], "persistent_pain@lower_back")
    # It reaches the injury: the strain and its unresolved status are observed premises.
    assert ("p1", "muscle_overload@lower_back", "overload-after-threshold", "muscle_strain@lower_back",
            "observed") in rows
    assert ("p1", "persistent_pain@lower_back", "persistent-pain-from-knots", "muscle_knots@lower_back",
            "derived") in rows
    assert {r[1] for r in rows} == {"persistent_pain@lower_back", "muscle_knots@lower_back",
                                    "muscle_overload@lower_back", "continuous_contraction@lower_back",
                                    "muscle_spasm@lower_back", "inflammation@lower_back"}


def test_which_patients_have_persistent_pain_through_knots(explanations):
    rows = _rows(_run("persistent-pain-through-knots", EXAMPLES))
    # Persistent pain only ever comes from knots; knots-1 reported the knots themselves.
    # resolved-1's strain was fixed on an unknown date: its knots, and so its pain, are only possible.
    assert rows == [("fixed-late-1", "lower_back", "derived"), ("knots-1", "upper_back", "observed"),
                    ("neck-1", "neck", "derived"), ("p1", "lower_back", "derived"),
                    ("resolved-1", "lower_back", "derived"),
                    ("sprain-1", "lower_back", "derived"), ("two-sites-1", "lower_back", "derived")]
    assert {r[0] for r in rows} == {e.patient.id for e in explanations.values() if e.persistent_pain}


def test_standard_codes_of_the_chain(explanations):
    rows = _rows(_run("standard-codes-in-chain", [DAY20]))
    e = explanations["lower-back-strain-day20"]
    onto = e.ontology
    chain = {s.concept for s in e.chain("persistent_pain").steps} | {"lower_back"}
    expected = set()
    for key in chain:
        for relation, iri in onto.concepts[key].xrefs:
            for system, ns in (("HPO", PREFIXES["hp"]), ("UBERON", PREFIXES["uberon"]),
                               ("ICD-10-CM", PREFIXES["icd"])):
                if iri.startswith(ns):
                    code = iri[len(ns):] if system == "ICD-10-CM" else iri[len(PREFIXES["obo"]):].replace("_", ":")
                    expected.add(("p1", key, system, code, "exact" if relation == "exactMatch" else "close"))
    assert set(rows) == expected and len(rows) == len(expected)
    assert ("p1", "muscle_spasm", "HPO", "HP:0003394", "exact") in rows
    assert ("p1", "lower_back", "UBERON", "UBERON:0005462", "exact") in rows
    assert ("p1", "muscle_strain", "ICD-10-CM", "S39.012A", "close") in rows


def test_alternative_justifications(explanations):
    rows = _rows(_run("alternative-justifications", [DAY20]))
    facts = [f for f in explanations["lower-back-strain-day20"].facts if len(f.justifications) > 1]
    assert rows == [("p1", f.id, len(f.justifications), " | ".join(sorted(j.rule for j in f.justifications)))
                    for f in sorted(facts, key=lambda f: f.id)]
    assert rows[1] == ("p1", "muscle_spasm@lower_back", 2, "spasm-from-inflammation | spasm-protective")


def test_evidence_for_each_firing(explanations):
    e = explanations["neck-strain-day16"]
    rows = _rows(_run("evidence-for-each-firing", [ROOT / "examples" / "neck-strain-day16.json"]))
    onto = e.ontology
    expected = set()
    for fact in e.facts:
        for just in fact.justifications:
            edge = onto.edge_for(just.rule, fact.concept, fact.site)
            for p in onto.evidence(just.rule, fact.site):  # a firing cites what speaks of its site
                expected.add((e.patient.id, fact.id, just.rule, edge.id if edge else None, p, onto.passages[p].text))
    assert set(rows) == expected and len(rows) == len(expected)


def test_possible_conclusions(explanations):
    # Every firing of a fact held only as possible, agreeing with the JSON's certainty.
    names = ("lower-back-strain-acute", "neck-strain-day16")
    rows = _rows(_run("possible-conclusions", [ROOT / "examples" / f"{n}.json" for n in names]))
    expected = []
    for name in names:
        e = explanations[name]
        for fact in e.facts:
            if fact.certainty != "possible":
                continue
            for j in fact.justifications:
                edge = e.ontology.edge_for(j.rule, fact.concept, fact.site)
                own = e.ontology.rules[j.rule].level == "possible"
                expected.append((e.patient.id, fact.id, j.rule, edge.certainty if edge else None,
                                 "its rule" if own else "a possible premise"))
    assert rows == sorted(expected, key=lambda r: r[:3])
    assert ("acute-1", "pain@lower_back", "spasm-may-cause-pain", "may", "its rule") in rows


EXPECTED_QUERIES = {
    "what-causes-muscle-knots": test_what_causes_muscle_knots,
    "passage-behind-each-edge": test_passage_behind_each_edge,
    "derivation-of-persistent-pain": test_derivation_of_persistent_pain_back_to_the_injury,
    "persistent-pain-through-knots": test_which_patients_have_persistent_pain_through_knots,
    "standard-codes-in-chain": test_standard_codes_of_the_chain,
    "alternative-justifications": test_alternative_justifications,
    "evidence-for-each-firing": test_evidence_for_each_firing,
    "possible-conclusions": test_possible_conclusions,
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
    text = (QUERIES / "derivation-of-persistent-pain.rq").read_text()
    assert kg.query(text, data=[trig]).to_json() == kg.query(text, [DAY20]).to_json()
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
                     "https://w3id.org/painkg/patient/p1/graph/derivations"}
    text = ("SELECT ?id WHERE { ?f a pk:DerivedFact ; dcterms:identifier ?id }")
    from_rdflib = sorted(str(r[0]) for r in ds.query(text, initNs=PREFIXES))
    assert from_rdflib == sorted(str(r[0]) for r in kg.query(text, [DAY20]))
    assert len(from_rdflib) == sum(f.status == "derived" for f in kg.explain(DAY20).facts)


def test_rdfs_reasoning_adds_superclasses():
    text = "SELECT ?id WHERE { ?f a pk:Injury ; dcterms:identifier ?id }"
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
