"""Read the ontology's Turtle with rdflib: the graph, and the records an :class:`~kg.knowledge.ontology.Ontology` holds.

Only compiling the ontology (once, then cached: :mod:`kg.knowledge.compiled`) and RDF work
import this module, and with it rdflib.

Example
-------
>>> from importlib import resources
>>> from kg.knowledge.ontology import ONTOLOGY_FILES
>>> texts = [resources.files("kg.ontology").joinpath(name).read_text(encoding="utf-8") for name in ONTOLOGY_FILES]
>>> concepts, edges, rules, passages, document = ontology_records(texts)
>>> concepts["muscle_knots"].label, document[passages["s04"].start:passages["s04"].end] == passages["s04"].text
('muscle knots', True)
"""

from __future__ import annotations

from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from .namespaces import OBO, rdf_namespace
from .records import Concept, Condition, Edge, Passage, RuleInfo

__all__ = ["turtle_graph", "ontology_records"]


def turtle_graph(texts: list[str]) -> Graph:
    """A new rdflib graph of the Turtle ``texts``, with painkg's prefixes bound."""
    graph = Graph()
    for text in texts:
        graph.parse(data=text, format="turtle")
    for prefix, name in (("pk", "PK"), ("pke", "PKE"), ("pkc", "PKC"), ("pkr", "PKR"), ("pks", "PKS"),
                         ("prov", "PROV"), ("oa", "OA"), ("time", "TIME")):
        graph.bind(prefix, rdf_namespace(name))
    graph.bind("obo", str(OBO))
    graph.bind("skos", SKOS)
    return graph


def _local(iri) -> str:
    text = str(iri)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def ontology_records(texts: list[str]) -> tuple[dict, dict, dict, dict, str]:
    """Parse Turtle ``texts`` (the files of :data:`ONTOLOGY_FILES`) into the records of an :class:`Ontology`.

    Returns ``(concepts, edges, rules, passages, document)``: ``Ontology(*records)``. Plain,
    picklable data, so :mod:`kg.knowledge.compiled` can keep it.
    """
    PK, PKS, PROV, OA, TIME = (rdf_namespace(n) for n in ("PK", "PKS", "PROV", "OA", "TIME"))
    g = turtle_graph(texts)
    notation = {s: str(o) for s, o in g.subject_objects(SKOS.notation)}

    def ids(subject, predicate, key=notation):
        return tuple(sorted(key.get(o, _local(o)) for o in g.objects(subject, predicate)))

    passages = {}
    for p in g.subjects(RDF.type, PK.Passage):
        pid = _local(p)
        position = PKS[f"{pid}-position"]
        passages[pid] = Passage(pid, int(g.value(p, PK.sentenceNumber)), str(g.value(p, PK.quote)),
                                int(g.value(position, OA.start)), int(g.value(position, OA.end)), str(p),
                                ids(p, PK.aboutSite))
    document = str(g.value(PKS.document, PK.text))

    concepts = {}
    for cls, key in notation.items():
        if (cls, RDF.type, OWL.Class) not in g:
            continue
        rank = g.value(cls, PK.keyConclusion)
        role = g.value(cls, PK.inputRole)
        xrefs = tuple(sorted((_local(rel), str(o)) for rel in (SKOS.exactMatch, SKOS.closeMatch)
                             for o in g.objects(cls, rel)))
        concepts[key] = Concept(
            key=key, iri=str(cls), label=str(g.value(cls, RDFS.label)),
            definition=str(g.value(cls, SKOS.definition) or ""),
            parents=tuple(sorted(notation[o] for o in g.objects(cls, RDFS.subClassOf) if o in notation)),
            alt_keys=tuple(sorted(str(o) for o in g.objects(cls, SKOS.altLabel))),
            input_role=str(role) if role is not None else None,
            key_rank=int(rank) if rank is not None else None,
            xrefs=xrefs + tuple(("snomedCode", str(o)) for o in g.objects(cls, PK.snomedCode)),
            passages=ids(cls, PROV.wasDerivedFrom, {}),
            sites=ids(cls, PK.onlyAtSite),
            disjoint=tuple(sorted({notation[o] for o in g.objects(cls, OWL.disjointWith)}
                                  | {notation[s] for s in g.subjects(OWL.disjointWith, cls)})),
        )

    conditions = {}
    for c in g.subjects(RDF.type, PK.Condition):
        days = None
        duration = g.value(c, PK.minimumDuration)
        if duration is not None:
            days = int(float(g.value(duration, TIME.numericDuration)))
        site, with_ = g.value(c, PK.requiresSite), g.value(c, PK.requiresCooccurring)
        conditions[c] = Condition(
            id=notation[c], label=str(g.value(c, RDFS.label)),
            requires_unresolved=bool(g.value(c, PK.requiresUnresolvedInjury, default=Literal(False)).toPython()),
            threshold_days=days, site=notation.get(site) if site else None,
            cooccurring=notation.get(with_) if with_ else None,
            passages=ids(c, PROV.wasDerivedFrom, {}))

    edges = {}
    for e in g.subjects(RDF.type, PK.CausalClaim):
        predicate = g.value(e, PK.claimPredicate)
        condition = g.value(e, PK.condition)
        edges[notation[e]] = Edge(
            id=notation[e], iri=str(e), label=str(g.value(e, RDFS.label)),
            subject=notation[g.value(e, PK.claimSubject)], predicate=str(predicate),
            predicate_label=str(g.value(predicate, RDFS.label) or _local(predicate)),
            object=notation[g.value(e, PK.claimObject)], certainty=str(g.value(e, PK.certainty)),
            level=notation[g.value(e, PK.certaintyLevel)],
            condition=conditions.get(condition) if condition is not None else None,
            feedback=bool(g.value(e, PK.feedback, default=Literal(False)).toPython()),
            passages=ids(e, PROV.wasDerivedFrom, {}))

    rules = {}
    for r in g.subjects(RDF.type, PK.Rule):
        rules[notation[r]] = RuleInfo(
            id=notation[r], iri=str(r), label=str(g.value(r, RDFS.label)),
            edges=ids(r, PK.appliesEdge), concludes=ids(r, PK.concludes),
            passages=ids(r, PROV.wasDerivedFrom, {}), level=notation[g.value(r, PK.certaintyLevel)])

    return (dict(sorted(concepts.items())), dict(sorted(edges.items())),
            dict(sorted(rules.items())), dict(sorted(passages.items())), document)
