"""The ontology's cross-references as code lookups: a FHIR ``Coding`` to a painkg concept and back.

Every mapping comes from the ontology (``ontology/painkg.ttl``), none from a table here:
``skos:exactMatch`` / ``skos:closeMatch`` to ICD-10-CM (``icd:``), HPO, UBERON, MONDO, OGMS
and MAxO (``obo:``), the ``pk:snomedCode`` mapping literals, and ``pk:codeSite``, the body
site a code names (S39.012A is a strain of the *lower back*). Every concept can also be
coded in painkg's own code system, :data:`PAINKG_SYSTEM`, by its key (``skos:notation``).
What this module knows itself is only how FHIR names each code system (:data:`SYSTEMS`).

Example
-------
>>> x = load_xrefs()
>>> x.concepts_for("http://hl7.org/fhir/sid/icd-10-cm", "S39.012A"), x.site_of("http://hl7.org/fhir/sid/icd-10-cm", "S39.012A")
(('muscle_strain',), 'lower_back')
>>> x.concepts_for("http://hl7.org/fhir/sid/icd-10-cm", "S16.1XXD")  # a later encounter: the same injury
('muscle_strain',)
>>> x.concepts_for("http://human-phenotype-ontology.org", "HP:0003394"), x.concepts_for(PAINKG_SYSTEM, "knots")
(('muscle_spasm',), ('muscle_knots',))
>>> x.describe("http://hl7.org/fhir/sid/icd-10-cm", "I10")
'I10 (ICD-10-CM)'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from .compiled import compiled
from .namespaces import TextNamespace
from .ontology import load_ontology, normalize_key

__all__ = ["PAINKG_SYSTEM", "SYSTEMS", "Xref", "Xrefs", "load_xrefs", "scheme_of"]

#: painkg's own code system: a concept's key (``skos:notation``) is its code.
PAINKG_SYSTEM = "https://w3id.org/painkg/ontology"

# Plain-text namespaces: the IRIs are only compared and sliced as text, and importing rdflib
# here would cost every FHIR read (and `painkg explain`) its ~140 ms import.
ICD = TextNamespace("http://purl.bioontology.org/ontology/ICD10CM/")
SCT = TextNamespace("http://snomed.info/id/")
_OBO = "http://purl.obolibrary.org/obo/"

#: How FHIR names each code system (``Coding.system``) -> the scheme painkg's ontology uses.
#: The first system of a scheme is the one painkg writes.
SYSTEMS: Mapping[str, str] = MappingProxyType({
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://snomed.info/sct": "SNOMED CT",
    "http://human-phenotype-ontology.org": "HPO",
    "http://purl.obolibrary.org/obo/hp.owl": "HPO",
    "http://purl.obolibrary.org/obo/uberon.owl": "UBERON",
    "http://purl.obolibrary.org/obo/mondo.owl": "MONDO",
    "http://purl.obolibrary.org/obo/ogms.owl": "OGMS",
    "http://purl.obolibrary.org/obo/maxo.owl": "MAXO",
    PAINKG_SYSTEM: "painkg",
})
_OBO_SCHEMES = {"HP": "HPO", "UBERON": "UBERON", "MONDO": "MONDO", "OGMS": "OGMS", "MAXO": "MAXO"}


@dataclass(frozen=True)
class Xref:
    """One mapping of a concept: ``scheme`` code ``code`` (as the scheme writes it), exact or close."""

    concept: str
    scheme: str
    code: str
    match: str  # "exact", "close" (skos) or "snomed" (a pk:snomedCode mapping literal)
    site: str | None = None  # the site the code names (pk:codeSite), if any

    @property
    def system(self) -> str:
        """The FHIR ``Coding.system`` painkg writes for this scheme."""
        return next(s for s, name in SYSTEMS.items() if name == self.scheme)


def scheme_of(system: object) -> str | None:
    """The scheme of a FHIR ``Coding.system`` (``"ICD-10-CM"``...), None if painkg does not read it.

    >>> scheme_of("http://snomed.info/sct"), scheme_of("http://loinc.org")
    ('SNOMED CT', None)
    """
    return SYSTEMS.get(system.rstrip("/")) if isinstance(system, str) else None


def _norm(scheme: str, code: str) -> str:
    """A code as looked up: ICD-10-CM without its dot, upper case, and an injury's 7th character
    (A initial, D subsequent encounter, S sequela) read as A; OBO ids as ``PREFIX:digits``."""
    code = code.strip()
    if scheme == "ICD-10-CM":
        code = code.replace(".", "").upper()
        if len(code) == 7 and code[0] in "STVWXY" and code[6] in "ADS":
            code = code[:6] + "A"
        return code
    if scheme in _OBO_SCHEMES.values():
        return code.replace("_", ":").upper()
    if scheme == "painkg":
        return normalize_key(code)
    return code


def _from_iri(iri: str) -> tuple[str, str] | None:
    if iri.startswith(str(ICD)):
        return "ICD-10-CM", iri[len(str(ICD)):]
    if iri.startswith(str(SCT)):
        return "SNOMED CT", iri[len(str(SCT)):]
    if iri.startswith(_OBO):
        prefix, _, number = iri[len(_OBO):].partition("_")
        if prefix in _OBO_SCHEMES:
            return _OBO_SCHEMES[prefix], f"{prefix}:{number}"
    return None


class Xrefs:
    """The ontology's code mappings, indexed both ways. Build it with :func:`load_xrefs`."""

    def __init__(self, xrefs: tuple[Xref, ...], code_sites: Mapping[tuple[str, str], str],
                 code_labels: Mapping[tuple[str, str], str]):
        self.xrefs = xrefs
        self._sites = MappingProxyType(dict(code_sites))
        self._labels = MappingProxyType(dict(code_labels))
        index: dict[tuple[str, str], set[str]] = {}
        for x in xrefs:
            index.setdefault((x.scheme, _norm(x.scheme, x.code)), set()).add(x.concept)
        self._index = MappingProxyType({k: tuple(sorted(v)) for k, v in index.items()})

    def concepts_for(self, system: object, code: object) -> tuple[str, ...]:
        """The concept keys a coding maps to (several when the code is shared), sorted; () if none."""
        scheme = scheme_of(system)
        if scheme is None or not isinstance(code, str) or not code.strip():
            return ()
        if scheme == "painkg":
            hit = self._painkg_keys.get(normalize_key(code))
            return (hit,) if hit else ()
        return self._index.get((scheme, _norm(scheme, code)), ())

    @functools.cached_property
    def _painkg_keys(self) -> Mapping[str, str]:
        # painkg's own codes: each concept's key and alternative keys, the first concept (in the ontology's
        # order) that gives one winning, as a scan would find it; built on first use (a scan per coding was
        # most of a CDS call's coding lookups), from the process's one ontology.
        keys: dict[str, str] = {}
        for c in load_ontology().concepts.values():
            for key in (c.key, *c.alt_keys):
                keys.setdefault(key, c.key)
        return MappingProxyType(keys)

    def site_of(self, system: object, code: object) -> str | None:
        """The body site (a site key) a coding names (``pk:codeSite``), None if it names none."""
        scheme = scheme_of(system)
        if scheme is None or not isinstance(code, str):
            return None
        return self._sites.get((scheme, _norm(scheme, code)))

    def describe(self, system: object, code: object) -> str:
        """A coding as error messages and ignore reasons name it: ``S39.012A (ICD-10-CM)``."""
        scheme = scheme_of(system) or (f"system {system}" if isinstance(system, str) else "no system")
        label = self._labels.get((scheme, _norm(scheme, code))) if isinstance(code, str) else None
        return f"{code} ({scheme}{': ' + label if label else ''})"

    def of_concept(self, concept: str) -> tuple[Xref, ...]:
        """The mappings of one concept: painkg's own code first, then the ontology's, sorted."""
        own = Xref(concept, "painkg", concept, "exact")
        return (own, *sorted((x for x in self.xrefs if x.concept == concept),
                             key=lambda x: ({"exact": 0, "close": 1, "snomed": 2}[x.match], x.scheme, x.code)))


def _painkg_ttl():
    from importlib import resources

    from .ontology_turtle import turtle_graph

    return turtle_graph([resources.files("kg.ontology").joinpath("painkg.ttl").read_text(encoding="utf-8")])


@functools.lru_cache(maxsize=1)
def load_xrefs() -> Xrefs:
    """Read the cross-references of the shipped ontology once per process (compiled and cached
    across processes like the ontology: :mod:`kg.knowledge.compiled`).

    >>> sorted({x.scheme for x in load_xrefs().xrefs})
    ['HPO', 'ICD-10-CM', 'MAXO', 'MONDO', 'OGMS', 'SNOMED CT', 'UBERON']
    """
    return Xrefs(*compiled("xrefs", _xref_records))


def _xref_records() -> tuple[tuple[Xref, ...], dict, dict]:
    from rdflib import URIRef
    from rdflib.namespace import RDFS

    from .namespaces import rdf_namespace

    onto = load_ontology()
    by_iri = {c.iri: c.key for c in onto.concepts.values()}
    graph = _painkg_ttl()
    code_sites: dict[tuple[str, str], str] = {}
    code_labels: dict[tuple[str, str], str] = {}
    for subject, site in graph.subject_objects(rdf_namespace("PK").codeSite):
        parsed = _from_iri(str(subject))
        if parsed is not None and str(site) in by_iri:
            code_sites[(parsed[0], _norm(*parsed))] = by_iri[str(site)]
    for (scheme, code) in list(code_sites):
        subject = URIRef(ICD[code[:3] + "." + code[3:]]) if scheme == "ICD-10-CM" else None
        label = graph.value(subject, RDFS.label) if subject is not None else None
        if label is not None:
            code_labels[(scheme, code)] = str(label)
    xrefs: list[Xref] = []
    for concept in onto.concepts.values():
        for relation, target in concept.xrefs:
            if relation == "snomedCode":
                scheme, code, match = "SNOMED CT", target, "snomed"
            else:
                parsed = _from_iri(target)
                if parsed is None:
                    continue
                (scheme, code), match = parsed, "exact" if relation == "exactMatch" else "close"
            xrefs.append(Xref(concept.key, scheme, code, match, code_sites.get((scheme, _norm(scheme, code)))))
    return tuple(sorted(xrefs, key=lambda x: (x.concept, x.scheme, x.code))), code_sites, code_labels
