"""What ``/sparql`` answers in: media types per query form, the XML results format, the service description.

SELECT and ASK: SPARQL 1.1 Query Results JSON (``application/sparql-results+json``,
also for plain ``application/json``), XML (``application/sparql-results+xml``,
also ``application/xml``), and for SELECT CSV and TSV (the W3C CSV/TSV formats
define no form for ASK). CONSTRUCT and DESCRIBE: Turtle, N-Triples,
JSON-LD and RDF/XML (``application/rdf+xml``, which rdflib's ``SPARQLStore``
asks for). Every form is written by :class:`kg.store.results.QueryResult` except
XML, written here; all are deterministic.

>>> from kg.store.results import QueryResult
>>> print(results_xml(QueryResult("ASK", ask=True)), end="")
<?xml version="1.0" encoding="utf-8"?>
<sparql xmlns="http://www.w3.org/2005/sparql-results#">
  <head/>
  <boolean>true</boolean>
</sparql>
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

__all__ = ["SELECT_MEDIA", "ASK_MEDIA", "GRAPH_MEDIA", "render_result", "results_xml", "service_description",
           "SD_MEDIA"]

#: Media type -> QueryResult method name ("xml": :func:`results_xml`), first is the default.
SELECT_MEDIA = {"application/sparql-results+json": "to_json", "application/sparql-results+xml": "xml",
                "text/csv": "to_csv", "text/tab-separated-values": "to_tsv", "application/json": "to_json",
                "application/xml": "xml"}
ASK_MEDIA = {"application/sparql-results+json": "to_json", "application/sparql-results+xml": "xml",
             "application/json": "to_json", "application/xml": "xml"}
GRAPH_MEDIA = {"text/turtle": "to_turtle", "application/n-triples": "to_ntriples", "application/ld+json": "to_json",
               "application/rdf+xml": "to_rdfxml", "application/json": "to_json"}
#: Media types of the service description.
SD_MEDIA = ("text/turtle",)

_FORMATS = "http://www.w3.org/ns/formats/"


def _xml_term(term) -> str:
    from rdflib import BNode, Literal

    if isinstance(term, BNode):
        return f"<bnode>{escape(str(term))}</bnode>"
    if isinstance(term, Literal):
        attrs = ""
        if term.language:
            attrs = f" xml:lang={quoteattr(term.language)}"
        elif term.datatype is not None:
            attrs = f" datatype={quoteattr(str(term.datatype))}"
        return f"<literal{attrs}>{escape(str(term))}</literal>"
    return f"<uri>{escape(str(term))}</uri>"


def results_xml(result) -> str:
    """SPARQL Query Results XML Format of a SELECT or ASK :class:`~kg.store.results.QueryResult`."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if result.type == "ASK":
        out += ["  <head/>", f"  <boolean>{'true' if result.askAnswer else 'false'}</boolean>"]
    else:
        out.append("  <head>")
        out += [f"    <variable name={quoteattr(v)}/>" for v in result.vars]
        out += ["  </head>", "  <results>"]
        for row in result.rows:
            out.append("    <result>")
            out += [f"      <binding name={quoteattr(name)}>{_xml_term(value)}</binding>"
                    for name, value in zip(result.vars, row) if value is not None]
            out.append("    </result>")
        out.append("  </results>")
    out.append("</sparql>")
    return "\n".join(out) + "\n"


def media_for(form: str) -> dict:
    """The media types a result of query form ``form`` can be written in."""
    return {"SELECT": SELECT_MEDIA, "ASK": ASK_MEDIA}.get(form, GRAPH_MEDIA)


def render_result(result, media: str) -> str:
    """``result`` written as ``media`` (one of :func:`media_for` its form)."""
    method = media_for(result.type)[media]
    if method == "xml":
        return results_xml(result)
    return getattr(result, method)()


def _iri(value: str) -> str:
    return "<" + "".join(c if c not in '<>"{}|^`\\' and ord(c) > 0x20 else f"%{ord(c):02X}" for c in value) + ">"


def service_description(endpoint: str, graphs=(), more: bool = False) -> str:
    """The SPARQL 1.1 Service Description of the endpoint at URL ``endpoint``, in Turtle.

    ``graphs`` are the named graphs the queries run over (each an ``sd:namedGraph``
    of the default dataset; the ontology's always); ``more``: the list was cut short.

    >>> sd = service_description("http://127.0.0.1:8000/sparql", ["https://w3id.org/painkg/patient/p1/graph/input"])
    >>> "sd:endpoint <http://127.0.0.1:8000/sparql>" in sd
    True
    >>> "sd:name <https://w3id.org/painkg/patient/p1/graph/input>" in sd
    True
    """
    from ..render.rdf_iris import ONTOLOGY_GRAPH

    formats = ", ".join(f"<{_FORMATS}{name}>" for name in
                        ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                         "Turtle", "N-Triples", "JSON-LD", "RDF_XML"))
    me = _iri(endpoint)
    names = sorted({str(ONTOLOGY_GRAPH), *map(str, graphs)})
    named = " ,\n".join(f"        [ a sd:NamedGraph ; sd:name {_iri(name)} ]" for name in names)
    cut = ("    dcterms:abstract \"The named graphs listed are the first "
           f"{len(names)} by IRI; the store has more.\" ;\n") if more else ""
    return (f"@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .\n"
            f"@prefix dcterms: <http://purl.org/dc/terms/> .\n\n"
            f"{me} a sd:Service ;\n"
            f"    sd:endpoint {me} ;\n"
            f"    dcterms:title \"painkg SPARQL endpoint (read-only)\" ;\n"
            f"    dcterms:description \"The painkg ontology and the explanations of the patients in the store; "
            f"SPARQL Update, SERVICE and FROM are refused. painkg is a reasoning aid, not a diagnosis.\" ;\n"
            f"    sd:supportedLanguage sd:SPARQL11Query ;\n"
            f"    sd:feature sd:UnionDefaultGraph ;\n"
            f"    sd:resultFormat {formats} ;\n"
            f"{cut}"
            f"    sd:defaultDataset [\n"
            f"        a sd:Dataset ;\n"
            f"        sd:defaultGraph [ a sd:Graph ] ;\n"
            f"        sd:namedGraph\n{named}\n"
            f"    ] .\n")
