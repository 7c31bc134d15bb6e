"""The ontology's records: concepts, causal claims and their conditions, rule metadata, passages.

Frozen, plain data: :func:`kg.knowledge.ontology.load_ontology` indexes them, and
:mod:`kg.knowledge.compiled` pickles them between processes.

>>> Condition("c", "label", True, 14, None, None, ("s03",)).threshold_days
14
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Passage", "Concept", "Condition", "Edge", "RuleInfo"]


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
