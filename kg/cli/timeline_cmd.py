"""``painkg timeline``: mirrors :func:`kg.timeline` (:func:`kg.questions.asking.timeline`)."""

from __future__ import annotations

from ..questions.asking import timeline
from . import cli
from .options import as_of_option, output_option, patient_argument, text_or_json, threshold_option
from .output import write_output


@cli.command("timeline")
@patient_argument
@text_or_json
@as_of_option
@threshold_option
@output_option
def timeline_command(patient, fmt, as_of, threshold_days, output):
    """When: dated events from onset to assessment and beyond.

    Each injury's onset; inflammation and protective spasm expected after it
    while it is not fixed; the date knots are expected if it stays unresolved
    (onset + threshold), past or future at the assessment date; for a resolved
    injury, the date it was fixed and whether knots formed before it; what
    each date depends on.

    Example:

    \b
        painkg timeline examples/two-injuries.json
        painkg timeline examples/lower-back-strain-acute.json --format json
    """
    t = timeline(patient, as_of=as_of, threshold_days=threshold_days)
    write_output(t.to_json() if fmt == "json" else t.to_text(), output)
