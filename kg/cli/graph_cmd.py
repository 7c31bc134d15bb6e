"""``painkg graph``: mirrors ``Explanation.graph()`` and :func:`kg.causal_graph` plus their exports."""

from __future__ import annotations

import sys

import click

from ..errors import InputError
from . import cli
from .options import as_of_option, output_option, threshold_option
from .output import write_output

_FORMATS = ("dot", "svg", "png", "graphml", "json", "cytoscape", "mermaid", "html")


@cli.command("graph")
@click.argument("patient", metavar="[FILE|-]", required=False)
@click.option("--ontology", is_flag=True, help="Draw the ontology's causal model instead of a patient.")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="dot", show_default=True,
              help="dot, graphml, json (node-link), cytoscape, mermaid and html need nothing; "
                   "svg and png need Graphviz's dot.")
@click.option("--full", is_flag=True,
              help="The full derivation graph: every fact, every rule firing and every source sentence as nodes.")
@click.option("--compact", is_flag=True,
              help="Every fact, one edge per premise of each firing labelled with its rule (no firing or passage nodes).")
@as_of_option
@threshold_option
@output_option
def graph_command(patient, ontology, fmt, full, compact, as_of, threshold_days, output):
    """Draw why a patient's pain persists, or the source's causal model.

    FILE is a patient JSON file, or - for standard input. By default the
    graph tells the causal story: the patient's facts joined by cause ->
    effect arrows (dashed when the source only says it can happen), each
    site in a box of its own, and an active feedback loop (knots keep the
    spasm going) as a red arc back. Rule firings, premises, conditions and
    the source sentences are in each node's and arrow's details (tooltips;
    in the HTML page, a click). --full draws them as nodes; --compact draws
    every fact with one rule-labelled edge per premise. The HTML page is
    one file that works offline.

    Example:

    \b
        painkg graph examples/lower-back-strain-day20.json --format html -o day20.html
        painkg graph examples/lower-back-strain-day20.json --full --format svg -o day20-full.svg
        painkg graph examples/neck-strain-day16.json --format mermaid --compact
        painkg graph --ontology --format svg -o causal-model.svg
    """
    if ontology == (patient is not None):
        raise InputError("PATIENT", patient, "a patient FILE or --ontology (exactly one)",
                         message="give a patient FILE (or - for standard input), or --ontology, but not both")
    if full and compact:
        raise InputError("--full", True, message="choose one view: --full, --compact or neither (the story)")
    if fmt == "png" and not output and sys.stdout.isatty():
        raise InputError("--output", None, "", message="PNG is binary: write it to a file with -o FILE")
    if ontology:
        from ..render.graph import causal_graph

        graph = causal_graph()
    else:
        from ..reasoning.reasoner import explain

        graph = explain(patient, as_of=as_of, threshold_days=threshold_days).graph(compact=compact, full=full)
    write_output(graph.export(fmt), output)
