"""``painkg why-not``: mirrors :func:`kg.why_not` (:func:`kg.questions.asking.why_not`)."""

from __future__ import annotations

import click

from ..questions.asking import why_not
from ..questions.why_not_answer import DEFAULT_DEPTH
from . import cli
from .options import as_of_option, output_option, patient_argument, text_or_json, threshold_option
from .output import write_output


@cli.command("why-not")
@patient_argument
@click.argument("concept")
@click.option("--site", metavar="SITE", help="Only this site (default: every site of the patient's injuries and findings).")
@click.option("--depth", type=int, default=DEFAULT_DEPTH, show_default=True,
              help="How many levels of failed premises that could be concluded are explained in turn.")
@text_or_json
@as_of_option
@threshold_option
@output_option
def why_not_command(patient, concept, site, depth, fmt, as_of, threshold_days, output):
    """Why was CONCEPT not concluded? Every rule that could conclude it, and what failed.

    For each site: the premises that held (with the facts that matched), the
    ones that failed (with the values, the source sentences that set the
    condition, and a patient change that would make them hold), and the
    why-not of failed premises that could themselves be concluded. A concept
    that WAS concluded is answered with its chain.

    Example:

    \b
        painkg why-not examples/lower-back-strain-acute.json muscle_knots
        painkg why-not examples/two-injuries.json persistent_pain --site neck --format json
    """
    answer = why_not(patient, concept, site=site, as_of=as_of, threshold_days=threshold_days, depth=depth)
    write_output(answer.to_json() if fmt == "json" else answer.to_text(), output)
