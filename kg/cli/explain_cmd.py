"""``painkg explain``: mirrors :func:`kg.explain`."""

from __future__ import annotations

import click

from ..reasoning.reasoner import explain
from ..render.text import report_lines
from . import cli
from .options import as_of_option, output_option, patient_argument, threshold_option
from .output import write_output, write_report

#: Output formats of `painkg explain`: name -> function(explanation) -> str.
EXPLAIN_FORMATS = {
    "text": lambda e: e.to_text(),
    "json": lambda e: e.to_json(),
    # RDF with PROV-O (kg.render.rdf): trig/nq/jsonld carry the ontology graph too.
    "ttl": lambda e: e.to_rdf("ttl"),
    "trig": lambda e: e.to_rdf("trig"),
    "nt": lambda e: e.to_rdf("nt"),
    "nq": lambda e: e.to_rdf("nq"),
    "jsonld": lambda e: e.to_rdf("jsonld"),
}


@cli.command("explain")
@patient_argument
@click.option("--format", "fmt", type=click.Choice(sorted(EXPLAIN_FORMATS)), default="text",
              show_default=True, help="Output format.")
@as_of_option
@threshold_option
@output_option
def explain_command(patient, fmt, as_of, threshold_days, output):
    """Explain why (or whether) a patient's pain persists.

    FILE is a patient JSON file, or - for standard input. Text output shows
    each chain step with its rule, premises and the source sentence; JSON
    output is the machine-readable contract (see README).

    Example:

    \b
        painkg explain examples/lower-back-strain-day20.json
        painkg explain examples/neck-strain-day16.json --format json --as-of 2026-06-30
    """
    e = explain(patient, as_of=as_of, threshold_days=threshold_days)
    if fmt == "text":
        write_report(report_lines(e), e.to_text(), output)
    else:
        write_output(EXPLAIN_FORMATS[fmt](e), output)
