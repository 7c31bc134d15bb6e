"""``painkg query``: mirrors :func:`kg.query`."""

from __future__ import annotations

import click

from ..errors import InputError
from ..store.query_limits import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT, QueryLimits
from . import cli
from .options import output_option, threshold_option
from .output import write_output

_SELECT_FORMATS = ("table", "csv", "tsv", "json")
# The W3C SPARQL 1.1 CSV and TSV results formats define SELECT results only.
_ASK_FORMATS = ("table", "json")
_GRAPH_FORMATS = ("ttl", "nt", "json")
_FORMATS = ("auto", "table", "csv", "tsv", "json", "ttl", "nt")


@cli.command("query")
@click.argument("sparql", metavar="QUERY|@FILE.rq", required=False)
@click.option("-p", "--patient", "patients", multiple=True, metavar="FILE",
              help="A patient JSON file whose facts and derivations to add (repeatable).")
@click.option("--data", "data", multiple=True, metavar="FILE",
              help="An RDF file to add (.ttl, .trig, .nt, .nq, .jsonld; e.g. saved `painkg explain --format trig`).")
@click.option("--store", "store", metavar="DIR",
              help="Query the persistent store DIR built by `painkg batch --store` (instead of --patient/--data).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="auto", show_default=True,
              help="auto: table for SELECT/ASK, ttl for CONSTRUCT/DESCRIBE. json is SPARQL 1.1 JSON results "
                   "(JSON-LD, default graph, for CONSTRUCT/DESCRIBE); csv and tsv are for SELECT only.")
@click.option("--reason", type=click.Choice(["none", "rdfs", "owl-rl"]), default="none", show_default=True,
              help="Add the RDFS or OWL-RL closure (owlrl) of all the data before querying.")
@click.option("--as-of", "as_of", metavar="DATE", help="Assess every patient as of this date (YYYY-MM-DD, or +Nd/-Nd from its assessed_on).")
@threshold_option
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT, show_default=True,
              metavar="SECONDS", help="Stop the query after this many seconds.")
@click.option("--max-rows", type=click.IntRange(min=0), default=DEFAULT_MAX_ROWS, show_default=True, metavar="N",
              help="Refuse answers with more result rows (or triples) than this.")
@click.option("--max-memory", type=click.IntRange(min=1), default=DEFAULT_MAX_MEMORY_MB, show_default=True,
              metavar="MiB", help="Memory the query may use beyond the loaded data.")
@click.option("--prefixes", "show_prefixes", is_flag=True, help="List the pre-bound prefixes and exit.")
@output_option
def query_command(sparql, patients, data, store, fmt, reason, as_of, threshold_days, timeout, max_rows, max_memory,
                  show_prefixes, output):
    """Run a read-only SPARQL 1.1 query over the ontology and patients.

    QUERY is the query text, or @FILE.rq to read it from a file (@- for
    standard input). Without --patient the query sees the ontology alone; with
    it, also each patient's input facts and derivations (PROV-O), as written
    by `painkg explain --format trig`. The default graph is the union of all
    graphs. SELECT, ASK, CONSTRUCT and DESCRIBE are allowed; SPARQL Update,
    SERVICE and FROM are refused (use GRAPH <iri> { ... }), and nothing is
    ever fetched from the network. With --store DIR, the query runs over
    the persistent store `painkg batch --store DIR` built (the ontology and
    every patient loaded, nothing re-explained), e.g. `painkg query --store
    run1/store @examples/queries/persistent-pain-through-knots.rq`. Each query runs in a separate worker
    process bounded by --timeout, --max-rows and --max-memory; exceeding one is
    an error naming the limit. Common prefixes are pre-bound (--prefixes).

    Example:

    \b
        painkg query --prefixes
        painkg query 'SELECT ?cause WHERE { ?cause obo:RO_0003302+ pk:MuscleKnots }'
        painkg query @examples/queries/persistent-pain-through-knots.rq \\
            -p examples/two-injuries.json -p examples/knots-first-report.json --format json
    """
    from ..store.sparql import PREFIXES, query, read_query

    if show_prefixes:
        width = max(len(p) for p in PREFIXES)
        write_output("".join(f"PREFIX {p + ':':<{width + 1}} <{ns}>\n" for p, ns in PREFIXES.items()), output)
        return
    if sparql is None:
        raise InputError("QUERY", message="is missing; give a SPARQL query or @FILE.rq (or --prefixes)")
    limits = QueryLimits(timeout=timeout, max_rows=max_rows, max_memory_mb=max_memory)
    reason = None if reason == "none" else reason
    if store is not None:
        if patients or data or reason:
            given = "--patient" if patients else "--data" if data else "--reason"
            raise InputError(given, message="cannot be combined with --store: a store is queried as it was built "
                                            "(add patients to it with `painkg batch --store`)")
        result = query(read_query(sparql), store=store, limits=limits)
    else:
        result = query(read_query(sparql), patients, reason=reason, as_of=as_of, threshold_days=threshold_days,
                       data=data, limits=limits)
    write_output(_render(result, fmt), output)


def _article(form: str) -> str:
    return f"an {form}" if form[0] in "AEIOU" else f"a {form}"


def _render(result, fmt: str) -> str:
    graph = result.type in ("CONSTRUCT", "DESCRIBE")
    if fmt == "auto":
        fmt = "ttl" if graph else "table"
    allowed = _GRAPH_FORMATS if graph else _ASK_FORMATS if result.type == "ASK" else _SELECT_FORMATS
    if fmt not in allowed:
        why = " (the W3C SPARQL CSV and TSV results formats are for SELECT only)" if fmt in ("csv", "tsv") else ""
        raise InputError("--format", fmt, f"one of {', '.join(allowed)} for {_article(result.type)} query{why}")
    return {"table": result.to_table, "csv": result.to_csv, "tsv": result.to_tsv, "json": result.to_json,
            "ttl": getattr(result, "to_turtle", None), "nt": getattr(result, "to_ntriples", None)}[fmt]()
