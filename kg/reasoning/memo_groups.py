"""Which of a site's facts the rules join: the groups a memo cache may reason about separately.

Derived from the engine's own rules (:func:`kg.reasoning.premises.rule_premises`)
and the ontology, never written by hand, so a new rule that joins two groups
merges them here and changes the cache key instead of silently breaking it:

- every rule joins the concepts of its premises and of its conclusions (an
  injury's status, dates and resolution are one node, ``INJURY``; the mechanism
  facts of injuries are one node, ``MECHANISM``);
- a premise that reads only an injury's kind and site (``injury ?kind@?site``)
  does not join: the group depends on *which kinds of injury* are at the site,
  so those kinds become part of its key (a projection), not the injury's dates;
- findings the ontology declares disjoint join (their conflict names both);
- all rules join on the site (checked here: a rule whose premises are not all
  at one ``?site`` or one literal site makes the whole site one group).

>>> g = concept_groups()
>>> g.group_of("muscle_knots") == g.group_of("muscle_spasm") == g.group_of(INJURY)
True
>>> g.group_of("localized_pain") == g.group_of("radiating_pain_to_leg") != g.group_of(INJURY)
True
>>> g.projected[g.group_of("localized_pain")]
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Mapping

from ..knowledge.ontology import Ontology
from ..inputs.patient import ontology_or_default
from .premises import MISSING, rule_premises

__all__ = ["INJURY", "MECHANISM", "Grouping", "concept_groups", "item_node"]

#: The node standing for an injury with everything the rules test on it (status, days, resolution).
INJURY = "<injury>"
#: The node standing for the mechanism facts of injuries.
MECHANISM = "<mechanism>"
_KIND_AND_SITE = {"role", "concept", "site"}


@dataclass(frozen=True)
class Grouping:
    """Concept -> group name; ``projected[group]``: whether its key holds the injury kinds at the site."""

    groups: Mapping[str, str]
    projected: Mapping[str, bool]
    #: False when some rule joins facts at different sites (then a site is one group and the memo is off).
    site_local: bool
    #: Concepts with a disjoint concept (a conflict between two of them names both).
    disjoint: frozenset = frozenset()

    def has_disjoint(self, concept: str) -> bool:
        """Whether a finding of this concept can conflict with another."""
        return concept in self.disjoint

    def group_of(self, node: str) -> str:
        """The group of a concept key or node; a concept no rule mentions is a group of its own."""
        return self.groups.get(node, node)


def item_node(role: str | None, concept: str) -> str:
    """The node of an observed fact: injuries and their status are ``INJURY``, mechanisms ``MECHANISM``.

    >>> item_node("status", "injury_unresolved"), item_node(None, "localized_pain")
    ('<injury>', 'localized_pain')
    """
    if role in ("injury", "status"):
        return INJURY
    if role == "mechanism":
        return MECHANISM
    return concept


def _premise_node(premise) -> tuple[str | None, bool]:
    """(node, is_projection) of a fact premise."""
    role = premise.value("role", {})
    role = None if role is MISSING else role
    if role == "injury":
        return INJURY, {f.field for f in premise.fields} <= _KIND_AND_SITE
    concept = premise.value("concept", {})
    if role in ("status", "mechanism"):
        return item_node(role, ""), False
    return (None if concept is MISSING else concept), False


@functools.lru_cache(maxsize=4)
def _grouping(onto: Ontology) -> Grouping:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    projections: list[tuple[str, ...]] = []
    site_local = True
    for rid, rp in rule_premises().items():
        nodes, projects = [], False
        sites = set()
        for premise in rp.premises:
            if premise.kind != "fact":
                continue
            node, projection = _premise_node(premise)
            site = premise.field("site")
            sites.add(("lit", site.literal) if site is not None and site.literal is not MISSING
                      else ("bind", site.bind if site is not None else None))
            if node is None:
                site_local = False  # a premise on any concept: cannot tell what it joins
                continue
            if projection:
                projects = True
            else:
                nodes.append(node)
        if len(sites) > 1 or ("bind", None) in sites:
            site_local = False
        nodes.extend(onto.rules[rid].concludes)
        for a, b in zip(nodes, nodes[1:]):
            union(a, b)
        if projects:
            projections.append(tuple(nodes))
    for key, concept in onto.concepts.items():
        for other in concept.disjoint:
            union(key, other)
    find(INJURY)
    find(MECHANISM)
    groups = {node: find(node) for node in list(parent)}
    projected = {group: False for group in set(groups.values())}
    for nodes in projections:
        for node in nodes:
            projected[groups[node]] = True
    # The injury group sees every injury fact whole; its kinds are in its key anyway.
    projected[groups[INJURY]] = False
    disjoint = frozenset(k for k, c in onto.concepts.items() if c.disjoint)
    return Grouping(groups, projected, site_local, disjoint)


def concept_groups(ontology: Ontology | None = None) -> Grouping:
    """The :class:`Grouping` of the ontology's concepts under the engine's rules (computed once)."""
    return _grouping(ontology_or_default(ontology))
