"""One table of the output formats of an explanation: ``painkg explain --format`` and ``POST /explain``.

Each :class:`Format` has a name (what ``--format`` and ``?format=`` take), a
media type (what HTTP content negotiation offers), a file extension, and the
function that renders an explanation: ``render(explanation, fhir=None)``
(the text format also takes ``detail`` and ``audience``),
where ``fhir`` is the :class:`~kg.inputs.fhir.FhirPatient` the patient was
read from (None for painkg's JSON; see :mod:`kg.inputs.intake`). Both
interfaces call the same function, so the same patient gives the same bytes.

The order of :data:`FORMATS` is the HTTP API's preference when ``Accept``
allows any: JSON first. The command line's default is ``text``.

The text format is one function, :func:`text_lines` (the report as
``(style, line)`` pairs: the command line styles them on a terminal, and
:func:`text_report`, the table's entry, joins them plainly): to change the
text report, change that function. With a FHIR input the report ends with the
"FHIR resources not used" section.

Example
-------
>>> import kg
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> [f.name for f in FORMATS.values()]
['json', 'text', 'ttl', 'trig', 'nt', 'nq', 'jsonld', 'fhir']
>>> FORMATS["fhir"].media_type, FORMATS["fhir"].extension
('application/fhir+json', 'fhir.json')
>>> FORMATS["text"].render(e).splitlines()[1] == e.headline
True
>>> FORMATS["text"].render(e, detail=True) == e.to_text()
True
>>> by_media_type("application/trig").name
'trig'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..knowledge.wording import wrap

__all__ = ["Format", "FORMATS", "by_media_type", "text_lines", "text_report", "plain_text", "ignored_lines"]


@dataclass(frozen=True)
class Format:
    """One output format: ``render(explanation, fhir=None) -> str``."""

    name: str
    media_type: str
    extension: str
    render: Callable[..., str]
    description: str


def ignored_lines(ignored: Iterable[dict]) -> list[tuple[str, str]]:
    """The "FHIR resources not used" section as ``(style, line)`` pairs (none when nothing was left out)."""
    ignored = list(ignored)
    if not ignored:
        return []
    lines = [("", ""), ("heading", f"FHIR resources not used ({len(ignored)})")]
    for item in ignored:
        lines.extend(("premise", t) for t in wrap(f"{item['resource']}: {item['reason']}", "  ", hang=4))
    return lines


def text_lines(explanation, ignored: Iterable[dict] = (), *, detail: bool = False,
               audience: str = "clinician") -> list[tuple[str, str]]:
    """The text report as ``(style, line)`` pairs, with the input not used (``ignored``).

    This is the one function behind the text format (``painkg explain`` and
    ``POST /explain`` with ``text/plain``): by default the brief report, the
    answer first on one screen (:mod:`kg.render.brief`), for ``audience``
    (``clinician`` or ``patient``); ``detail=True`` gives every step with every
    quote (:mod:`kg.render.text`, for the clinician), ending with the FHIR
    resources not used.
    """
    if detail:
        if audience != "clinician":
            from ..errors import InputError

            raise InputError("audience", audience, "clinician (the step-by-step detail is written for the "
                                                   "clinician; the patient wording is the brief report)")
        from .text import report_lines

        return list(report_lines(explanation)) + ignored_lines(ignored)
    from .brief import brief_lines
    from .presentation import present

    return list(brief_lines(present(explanation.to_dict(), explanation.ontology, audience, ignored)))


def plain_text(lines: Iterable[tuple[str, str]]) -> str:
    """``(style, line)`` pairs as plain text, ending in a newline."""
    return "\n".join(text for _style, text in lines) + "\n"


def text_report(explanation, fhir=None, *, detail: bool = False, audience: str = "clinician") -> str:
    """The text report as plain text, ending in a newline (see :func:`text_lines`)."""
    return plain_text(text_lines(explanation, fhir.ignored if fhir is not None else (), detail=detail,
                                 audience=audience))


def _json(explanation, fhir=None) -> str:
    if fhir is None:
        return explanation.to_json()
    from .fhir_export import fhir_explanation_dict

    return _dumps(fhir_explanation_dict(explanation, fhir))


def _fhir(explanation, fhir=None) -> str:
    from .fhir_export import explanation_to_fhir

    return _dumps(explanation_to_fhir(explanation, fhir))


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _rdf(name: str) -> Callable[..., str]:
    def render(explanation, fhir=None) -> str:
        from .rdf import explanation_rdf

        return explanation_rdf(explanation, name)

    render.__name__ = render.__qualname__ = f"rdf_{name}"
    render.__doc__ = f"The explanation as RDF ({name}) with PROV-O (see :func:`kg.render.rdf.explanation_rdf`)."
    return render


#: The formats by name, in the HTTP API's order of preference.
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("json", "application/json", "json", _json,
           'the JSON contract (see README); a FHIR input adds "ignored"'),
    Format("text", "text/plain", "txt", text_report,
           "the brief report: the answer first, each site's key chain and what would change it "
           "(detail: every step with every quote)"),
    # RDF with PROV-O (kg.render.rdf): trig, nq and jsonld carry the ontology graph too.
    Format("ttl", "text/turtle", "ttl", _rdf("ttl"), "RDF Turtle"),
    Format("trig", "application/trig", "trig", _rdf("trig"), "RDF TriG"),
    Format("nt", "application/n-triples", "nt", _rdf("nt"), "RDF N-Triples"),
    Format("nq", "application/n-quads", "nq", _rdf("nq"), "RDF N-Quads"),
    Format("jsonld", "application/ld+json", "jsonld", _rdf("jsonld"), "RDF JSON-LD"),
    # FHIR R4: a ClinicalImpression and its Provenance (kg.render.fhir_export).
    Format("fhir", "application/fhir+json", "fhir.json", _fhir,
           "a FHIR R4 Bundle with a ClinicalImpression and its Provenance"),
)}


def by_media_type(media_type: str) -> Format:
    """The format of a media type (``KeyError`` if none)."""
    return {f.media_type: f for f in FORMATS.values()}[media_type]
