"""``painkg what-if``: mirrors :func:`kg.what_if`."""

from __future__ import annotations

import click

from ..api import DEFAULT_THRESHOLD_DAYS
from ..scenarios import what_if
from . import cli
from .output import write_output


@cli.command("what-if")
@click.argument("patient", metavar="FILE|-")
@click.option("--set", "changes", metavar="CHANGE", multiple=True,
              help="A change: PATH=VALUE, PATH+=VALUE or PATH-=VALUE (repeatable), "
                   "e.g. injuries[0].resolved=true, findings+=muscle_spasm.")
@click.option("--as-of", "as_of", metavar="DATE",
              help="Assess the changed patient on DATE (YYYY-MM-DD) or +Nd / -Nd after the file's assessed_on.")
@click.option("--threshold-days", type=int, default=DEFAULT_THRESHOLD_DAYS, show_default=True,
              help="Days an injury must stay unresolved before knots are concluded (inclusive).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True,
              help="Output format.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of standard output.")
def what_if_command(patient, changes, as_of, threshold_days, fmt, output):
    """What if the patient were different? Re-run and show what changes.

    Applies the changes (and --as-of) to the patient, re-runs the reasoning,
    and reports the conclusions gained (each with its chain) and lost (each
    with why it no longer follows), and whether the pain still persists.
    VALUE is JSON; a bare word is a string.

    Example:

        painkg what-if examples/lower-back-strain-day20.json --set injuries[0].resolved=true

        painkg what-if examples/lower-back-strain-acute.json --as-of +10d --format json
    """
    result = what_if(patient, list(changes), as_of=as_of, threshold_days=threshold_days)
    write_output(result.to_json() if fmt == "json" else result.to_text(), output)
