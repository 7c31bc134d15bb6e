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
from types import MappingProxyType
from typing import Mapping

from ..errors import InputError
from .compiled import compiled
from .namespaces import IRIS, OBO, rdf_namespace  # noqa: F401 - OBO is re-exported
from .records import Concept, Condition, Edge, Passage, RuleInfo

__all__ = [
    "PK", "PKE", "PKC", "PKR", "PKS", "PROV", "OA", "TIME", "OBO",
    "Concept", "Edge", "Condition", "RuleInfo", "Passage", "Ontology",
    "ONTOLOGY_FILES", "ANY_SITE", "load_ontology", "ontology_graph", "normalize_key",
]


def __getattr__(name: str):
    # PK, PROV... are rdflib namespaces made on first use (kg.knowledge.namespaces): importing
    # this module, as every command does, must not import rdflib.
    if name in IRIS:
        return rdf_namespace(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The Turtle files of the ontology, in load order.
ONTOLOGY_FILES = ("painkg.ttl", "claims.ttl", "rules.ttl", "source.ttl", "patient-vocabulary.ttl")

INPUT_ROLES = ("injury", "mechanism", "site", "finding")

#: :meth:`Ontology.evidence` without a site: every passage, whatever site it speaks of.
ANY_SITE = object()


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
        # Answers of ancestors/evidence/edge_for, which depend on the ontology alone and are
        # asked per fact, per step and per loop hop of every explanation: computed once each.
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._evidence: dict[tuple, tuple[str, ...]] = {}
        self._edge_for: dict[tuple, Edge | None] = {}

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
        known = self._ancestors.get(key)
        if known is None:
            known = tuple(self._find_ancestors(key))
            if key in self.concepts:  # only the ontology's own keys: the cache stays bounded
                self._ancestors[key] = known
        return list(known)

    def _find_ancestors(self, key: str) -> list[str]:
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
        known = self._evidence.get((rule_id, site))
        if known is None:
            known = self._find_evidence(rule_id, site)
            if site is ANY_SITE or site is None or site in self.concepts:
                self._evidence[(rule_id, site)] = known
        return known

    def _find_evidence(self, rule_id: str, site: object) -> tuple[str, ...]:
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
        key = (rule_id, concept, site)
        if key in self._edge_for:
            return self._edge_for[key]
        edge = self._find_edge(rule_id, concept, site)
        if concept in self.concepts and (site is None or site in self.concepts):
            self._edge_for[key] = edge
        return edge

    def _find_edge(self, rule_id: str, concept: str, site: str | None) -> Edge | None:
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
    from importlib import resources

    return [resources.files("kg.ontology").joinpath(name) for name in ONTOLOGY_FILES]


def ontology_graph():
    """A new rdflib graph holding the whole ontology (safe to modify).

    >>> len(ontology_graph()) > 1000
    True
    """
    from .ontology_turtle import turtle_graph

    return turtle_graph([file.read_text(encoding="utf-8") for file in _files()])


def _shipped_records() -> tuple[dict, dict, dict, dict, str]:
    from .ontology_turtle import ontology_records

    return ontology_records([file.read_text(encoding="utf-8") for file in _files()])


@functools.lru_cache(maxsize=1)
def load_ontology() -> Ontology:
    """The shipped ontology, read once per process and indexed.

    Its records are compiled from the Turtle on first use and cached across processes
    (:mod:`kg.knowledge.compiled`), so a command line does not parse Turtle on every run.
    """
    return Ontology(*compiled("ontology", _shipped_records))
