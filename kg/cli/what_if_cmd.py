"""``painkg what-if``: mirrors :func:`kg.what_if`."""

from __future__ import annotations

import click

from ..questions.what_if import what_if
from . import cli
from .options import output_option, patient_argument, text_or_json, threshold_option
from .output import write_output


@cli.command("what-if")
@patient_argument
@click.option("--set", "changes", metavar="CHANGE", multiple=True,
              help="A change: PATH=VALUE, PATH+=VALUE or PATH-=VALUE (repeatable), "
                   "e.g. injuries[0].resolved=true, findings+=muscle_spasm.")
@click.option("--as-of", "as_of", metavar="DATE",
              help="Assess the changed patient on DATE (YYYY-MM-DD) or +Nd / -Nd after the file's assessed_on.")
@threshold_option
@text_or_json
@output_option
def what_if_command(patient, changes, as_of, threshold_days, fmt, output):
    """What if the patient were different? Re-run and show what changes.

    Applies the changes (and --as-of) to the patient, re-runs the reasoning,
    and reports the conclusions gained (each with its chain) and lost (each
    with why it no longer follows), and whether the pain still persists.
    VALUE is JSON; a bare word is a string. An onset is a date: --as-of moves
    only the assessment date. injuries[i].resolved=true fixes the injury on
    the assessment date, injuries[i].resolved_on=DATE on that date; knots that
    formed before it was fixed stay.

    Example:

    \b
        painkg what-if examples/lower-back-strain-day20.json --set injuries[0].resolved=true
        painkg what-if examples/lower-back-strain-acute.json --as-of +10d --format json
    """
    result = what_if(patient, list(changes), as_of=as_of, threshold_days=threshold_days)
    write_output(result.to_json() if fmt == "json" else result.to_text(), output)
