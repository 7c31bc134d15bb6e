"""``painkg timeline``: mirrors :meth:`kg.Explanation.timeline`."""

from __future__ import annotations

import click

from ..api import DEFAULT_THRESHOLD_DAYS, explain
from ..timeline import timeline
from . import cli
from .output import write_output


@cli.command("timeline")
@click.argument("patient", metavar="FILE|-")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True,
              help="Output format.")
@click.option("--as-of", "as_of", metavar="DATE", help="Assess as of this date (YYYY-MM-DD) instead of the file's assessed_on.")
@click.option("--threshold-days", type=int, default=DEFAULT_THRESHOLD_DAYS, show_default=True,
              help="Days an injury must stay unresolved before knots are concluded (inclusive).")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of standard output.")
def timeline_command(patient, fmt, as_of, threshold_days, output):
    """When: dated events from onset to assessment and beyond.

    Each injury's onset; inflammation and protective spasm expected after it
    while it is not fixed; the date knots are expected if it stays unresolved
    (onset + threshold), past or future at the assessment date; what each
    date depends on.

    Example:

        painkg timeline examples/two-injuries.json

        painkg timeline examples/lower-back-strain-acute.json --format json
    """
    e = explain(patient, as_of=as_of, threshold_days=threshold_days)
    t = timeline(e)
    write_output(t.to_json() if fmt == "json" else t.to_text(), output)
