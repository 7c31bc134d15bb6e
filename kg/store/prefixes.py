"""The prefixes every painkg SPARQL query may use without declaring them.

>>> PREFIXES["pk"]
'https://w3id.org/painkg/ontology#'
"""

from __future__ import annotations

from ..render.rdf_iris import PREFIXES as _EXPORT_PREFIXES

__all__ = ["PREFIXES"]

#: Prefixes every query may use without declaring them.
PREFIXES: dict[str, str] = dict(sorted({
    **_EXPORT_PREFIXES,
    "ro": "http://purl.obolibrary.org/obo/RO_",
    "eco": "http://purl.obolibrary.org/obo/ECO_",
    "hp": "http://purl.obolibrary.org/obo/HP_",
    "uberon": "http://purl.obolibrary.org/obo/UBERON_",
    "mondo": "http://purl.obolibrary.org/obo/MONDO_",
}.items()))
