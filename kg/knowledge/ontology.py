"""Load the painkg ontology (Turtle files shipped as ``kg.ontology``).

:func:`load_ontology` reads the concepts, causal edges, conditions, rules and
source passages once per process into immutable records; :func:`ontology_graph`
returns the same Turtle as a fresh rdflib graph for RDF work.

Example
-------
>>> from kg.knowledge.ontology import load_ontology
>>> onto = load_ontology()
>>> onto.resolve("pulled_muscle", "injury")
'muscle_strain'
>>> onto.concepts["muscle_knots"].label
'muscle knots'
>>> onto.passages["s04"].text
'Usually this happens about two weeks after the initial injury.'
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Mapping

from rdflib import Graph, Literal, Namespace
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from ..errors import InputError

__all__ = [
    "PK", "PKE", "PKC", "PKR", "PKS", "PROV", "OA", "TIME", "OBO",
    "Concept", "Edge", "Condition", "RuleInfo", "Passage", "Ontology",
    "ONTOLOGY_FILES", "ANY_SITE", "load_ontology", "ontology_graph", "normalize_key",
]

PK = Namespace("https://w3id.org/painkg/ontology#")
PKE = Namespace("https://w3id.org/painkg/edge/")
PKC = Namespace("https://w3id.org/painkg/condition/")
PKR = Namespace("https://w3id.org/painkg/rule/")
PKS = Namespace("https://w3id.org/painkg/source/")
PROV = Namespace("http://www.w3.org/ns/prov#")
OA = Namespace("http://www.w3.org/ns/oa#")
TIME = Namespace("http://www.w3.org/2006/time#")
OBO = Namespace("http://purl.obolibrary.org/obo/")

#: The Turtle files of the ontology, in load order.
ONTOLOGY_FILES = ("painkg.ttl", "claims.ttl", "rules.ttl", "source.ttl", "patient-vocabulary.ttl")

INPUT_ROLES = ("injury", "mechanism", "site", "finding")

#: :meth:`Ontology.evidence` without a site: every passage, whatever site it speaks of.
ANY_SITE = object()


@dataclass(frozen=True)
class Passage:
    """A sentence of the source: ``document[start:end] == text``."""

    id: str
    number: int
    text: str
    start: int
    end: int
    iri: str
    #: The sites the sentence speaks of only (``pk:aboutSite``); empty for a general sentence.
    sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Concept:
    """A class of the ontology, addressed by its key (``skos:notation``)."""

    key: str
    iri: str
    label: str
    definition: str
    parents: tuple[str, ...]
    alt_keys: tuple[str, ...]
    input_role: str | None
    key_rank: int | None
    xrefs: tuple[tuple[str, str], ...]
    passages: tuple[str, ...]
    #: The site(s) the concept is bound to (``pk:onlyAtSite``); empty if it may be anywhere.
    sites: tuple[str, ...] = ()
    #: Concepts nothing can be at once with this one (``owl:disjointWith``, both ways).
    disjoint: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    """The condition under which a causal edge holds."""

    id: str
    label: str
    requires_unresolved: bool
    threshold_days: int | None
    site: str | None
    cooccurring: str | None
    passages: tuple[str, ...]


@dataclass(frozen=True)
class Edge:
    """A causal claim of the source: ``subject --predicate--> object``."""

    id: str
    iri: str
    label: str
    subject: str
    predicate: str
    predicate_label: str
    object: str
    certainty: str
    level: str
    condition: Condition | None
    feedback: bool
    passages: tuple[str, ...]


@dataclass(frozen=True)
class RuleInfo:
    """Metadata of an engine rule: its stable id, the edges it applies, its evidence."""

    id: str
    iri: str
    label: str
    edges: tuple[str, ...]
    concludes: tuple[str, ...]
    passages: tuple[str, ...]
    #: "expected" or "possible": how firmly the source states what the rule concludes.
    level: str


def normalize_key(value: str) -> str:
    """Fold case and separators so ``"Pulled muscle"`` finds ``pulled_muscle``.

    >>> normalize_key(" Lower-Back ")
    'lower_back'
    """
    return "_".join(value.strip().lower().replace("-", " ").split())


class Ontology:
    """Immutable, indexed view of the ontology. Build it with :func:`load_ontology`."""

    def __init__(self, concepts, edges, rules, passages, document):
        self.concepts: Mapping[str, Concept] = MappingProxyType(concepts)
        self.edges: Mapping[str, Edge] = MappingProxyType(edges)
        self.rules: Mapping[str, RuleInfo] = MappingProxyType(rules)
        self.passages: Mapping[str, Passage] = MappingProxyType(passages)
        self.document: str = document
        aliases: dict[str, str] = {}
        for concept in concepts.values():
            for key in (concept.key, *concept.alt_keys):
                aliases[normalize_key(key)] = concept.key
        self._aliases = MappingProxyType(aliases)

    def keys(self, role: str) -> list[str]:
        """The concept keys allowed in patient input for ``role``, sorted.

        >>> load_ontology().keys("site")
        ['calf', 'hip', 'lower_back', 'neck', 'shoulder', 'thigh', 'upper_back']
        """
        return sorted(c.key for c in self.concepts.values() if c.input_role == role)

    def resolve(self, value: object, role: str | None = None, field: str = "concept") -> str:
        """Return the canonical key for ``value`` (a key or an alias).

        With ``role``, only concepts allowed in that input role are accepted.
        Raises :class:`~kg.errors.InputError` naming ``field`` otherwise.

        >>> load_ontology().resolve("knee", "site", field="site")
        Traceback (most recent call last):
        ...
        kg.errors.InputError: site: "knee" is not allowed; expected one of calf, hip, lower_back, neck, shoulder, thigh, upper_back
        """
        if isinstance(value, str):
            key = self._aliases.get(normalize_key(value))
            if key is not None and (role is None or self.concepts[key].input_role == role):
                return key
        # Only a failure needs the sorted list of what is allowed (resolve runs per fact).
        allowed = self.keys(role) if role else sorted(self.concepts)
        if not isinstance(value, str):
            raise InputError(field, value, "a string, one of " + ", ".join(allowed))
        hint = difflib.get_close_matches(normalize_key(value), allowed, n=1)
        allowed_text = "one of " + ", ".join(allowed)
        if hint:
            allowed_text += f' (did you mean "{hint[0]}"?)'
        raise InputError(field, value, allowed_text)

    def ancestors(self, key: str) -> list[str]:
        """``key`` and every concept it is a subclass of, nearest first.

        >>> load_ontology().ancestors("lower_back")
        ['lower_back', 'back', 'body_site']
        """
        order, todo = [], [key]
        while todo:
            current = todo.pop(0)
            if current in order or current not in self.concepts:
                continue
            order.append(current)
            todo.extend(self.concepts[current].parents)
        return order

    def evidence(self, rule_id: str, site: object = ANY_SITE) -> tuple[str, ...]:
        """Passage ids a rule rests on: its edges', their conditions' and its own, in text order.

        With ``site`` (a site key, or None for a fact without a site), only the passages
        that speak of that site or are general (:meth:`speaks_of`): a step at the neck
        does not quote "When the muscles in the lower back are strained or torn...".

        >>> onto = load_ontology()
        >>> onto.evidence("inflammation-from-muscle-injury"), onto.evidence("inflammation-from-muscle-injury", "neck")
        (('s16', 's21'), ('s16',))
        """
        rule = self.rules[rule_id]
        ids = set(rule.passages)
        for edge_id in rule.edges:
            edge = self.edges[edge_id]
            ids.update(edge.passages)
            if edge.condition is not None:
                ids.update(edge.condition.passages)
        if site is not ANY_SITE:
            ids = {p for p in ids if self.speaks_of(p, site)}
        return tuple(sorted(ids, key=lambda p: self.passages[p].number))

    def speaks_of(self, passage: str, site: str | None) -> bool:
        """Whether a passage may be quoted at ``site``: it is general or about the site (or a site above it)."""
        scope = self.passages[passage].sites
        return not scope or (site is not None and bool(set(scope) & set(self.ancestors(site))))

    def allowed_sites(self, concept: str) -> list[str] | None:
        """The input sites a site-bound concept may be at, sorted; None if it may be anywhere.

        >>> load_ontology().allowed_sites("severe_low_back_pain"), load_ontology().allowed_sites("tender_to_touch")
        (['lower_back'], None)
        """
        bound = self.concepts[concept].sites
        if not bound:
            return None
        return [s for s in self.keys("site") if set(bound) & set(self.ancestors(s))]

    def edge_for(self, rule_id: str, concept: str, site: str | None) -> Edge | None:
        """The edge of ``rule_id`` that concludes ``concept`` (at ``site``).

        A rule that applies several edges (``therapy-options``) is matched on the
        edge's subject or object; a site-specific edge on the site's ancestors.
        """
        edges = [self.edges[e] for e in self.rules[rule_id].edges]
        for edge in edges:
            if concept in (edge.object, edge.subject):
                return edge
        places = self.ancestors(site) if site else []
        for edge in edges:
            if edge.object in places:
                return edge
        return edges[0] if edges else None


    def is_causal_premise(self, rule_id: str, concept: str, site: str | None, premise_concept: str) -> bool:
        """Whether a premise of ``rule_id`` is a cause of its conclusion, not a condition.

        A premise is causal when its concept is the subject (or a subclass of the
        subject) of the edge the rule applies; the injury and its unresolved status
        in ``overload-after-threshold`` are conditions of the edge, not its cause.
        Where no premise is the subject (``therapy-options``: the therapy relieves
        the spasm), premises that are the edge's object count instead.

        >>> onto = load_ontology()
        >>> onto.is_causal_premise("overload-after-threshold", "muscle_overload", "neck", "continuous_contraction")
        True
        >>> onto.is_causal_premise("overload-after-threshold", "muscle_overload", "neck", "muscle_strain")
        False
        >>> onto.is_causal_premise("inflammation-from-muscle-injury", "inflammation", "neck", "muscle_tear")
        True
        """
        edge = self.edge_for(rule_id, concept, site)
        if edge is None:
            return True
        ancestors = self.ancestors(premise_concept)
        if edge.subject in ancestors:
            return True
        return edge.subject == concept and edge.object in ancestors


def _files() -> list:
    return [resources.files("kg.ontology").joinpath(name) for name in ONTOLOGY_FILES]


def ontology_graph() -> Graph:
    """A new rdflib graph holding the whole ontology (safe to modify).

    >>> len(ontology_graph()) > 1000
    True
    """
    graph = Graph()
    for file in _files():
        graph.parse(data=file.read_text(encoding="utf-8"), format="turtle")
    _bind(graph)
    return graph


def _bind(graph: Graph) -> None:
    for prefix, ns in (("pk", PK), ("pke", PKE), ("pkc", PKC), ("pkr", PKR), ("pks", PKS),
                       ("prov", PROV), ("oa", OA), ("time", TIME), ("obo", OBO), ("skos", SKOS)):
        graph.bind(prefix, ns)


def _local(iri) -> str:
    text = str(iri)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@functools.lru_cache(maxsize=1)
def load_ontology() -> Ontology:
    """Parse the shipped ontology once per process and index it."""
    g = ontology_graph()
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

    return Ontology(dict(sorted(concepts.items())), dict(sorted(edges.items())),
                    dict(sorted(rules.items())), dict(sorted(passages.items())), document)
