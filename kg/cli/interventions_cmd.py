"""``painkg interventions``: mirrors :func:`kg.interventions`."""

from __future__ import annotations

import click

from ..questions.interventions import MAX_CHANGES, interventions
from . import cli
from .options import as_of_option, output_option, patient_argument, text_or_json, threshold_option
from .output import write_output


@cli.command("interventions")
@patient_argument
@click.option("--max-changes", type=int, default=MAX_CHANGES, show_default=True,
              help="Largest number of changes combined in one intervention (1 to 5).")
@text_or_json
@as_of_option
@threshold_option
@output_option
def interventions_command(patient, max_changes, fmt, as_of, threshold_days, output):
    """The smallest treatment changes that stop the pain persisting.

    Tries the treatments the ontology names that a patient record can express
    (today: fixing the basic injury), alone and combined, re-running the
    reasoning each time, and lists the minimal sets after which persistent
    pain is no longer concluded, with the source sentences. Treatments the
    source only says "help" or "may work" are listed as considered.

    It reasons in time: fixing an injury happens on the assessment date, and
    knots that formed before it was fixed stay. Before the threshold it gives
    the deadline (fixing the injury before onset + threshold prevents knots);
    after it, it says that no modelled change stops what has formed and
    quotes the source: "Treating spasm helps reduce this problem." (s13).

    Example:

    \b
        painkg interventions examples/two-injuries.json
        painkg interventions examples/knots-first-report.json --format json
    """
    result = interventions(patient, as_of=as_of, threshold_days=threshold_days, max_changes=max_changes)
    write_output(result.to_json() if fmt == "json" else result.to_text(), output)
