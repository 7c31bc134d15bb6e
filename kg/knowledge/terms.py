"""List the keys patient input may use, with labels and aliases (``painkg terms``).

Example
-------
>>> from kg.knowledge.terms import terms
>>> [t["key"] for t in terms("site")]
['calf', 'hip', 'lower_back', 'neck', 'shoulder', 'thigh', 'upper_back']
>>> terms("injury")[2]["aliases"]
['pulled_muscle', 'strain']
"""

from __future__ import annotations

from ..errors import InputError
from .ontology import INPUT_ROLES, Ontology, load_ontology

__all__ = ["terms", "ROLES"]

ROLES = INPUT_ROLES


def terms(role: str | None = None, *, ontology: Ontology | None = None) -> list[dict]:
    """The input keys (of one ``role``, or all), each with label, aliases and definition."""
    onto = ontology or load_ontology()
    if role is not None and role not in ROLES:
        raise InputError("role", role, "one of " + ", ".join(ROLES))
    out = []
    for r in ROLES if role is None else (role,):
        for key in onto.keys(r):
            c = onto.concepts[key]
            out.append({"role": r, "key": key, "label": c.label, "aliases": list(c.alt_keys),
                        "definition": c.definition})
    return out
