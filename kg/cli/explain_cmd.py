"""``painkg explain``: mirrors :func:`kg.explain`; reads painkg's patient JSON or FHIR R4 (docs/fhir.md).

The file is read by the one intake (:func:`kg.inputs.intake.intake`, as the
HTTP API and the CDS hook read theirs) and rendered by the one table of
output formats (:data:`kg.render.formats.FORMATS`, as ``POST /explain``
renders its answer), so both faces give the same bytes.
"""

from __future__ import annotations

import click

from ..errors import InputError
from ..inputs.intake import INPUTS, Naming, intake, read_json_file
from ..knowledge.wording import AUDIENCES
from ..reasoning.reasoner import explain
from ..render.formats import FORMATS, plain_text, text_lines
from . import cli
from .options import as_of_option, output_option, patient_argument, threshold_option
from .output import write_output, write_report

#: How the command line names its input and the choice of a patient in the intake's errors.
NAMING = Naming("file", "--patient", "pass --patient ID to explain one, or use painkg batch for all",
                "--input painkg")


def read_patient(patient: str, input_kind: str = "auto", chosen: str | None = None, as_of=None):
    """The :class:`~kg.inputs.intake.Intake` of the patient FILE (or ``-``), as ``painkg explain`` reads it."""
    return intake(read_json_file(patient), input=input_kind, patient=chosen, as_of=as_of, naming=NAMING)


@cli.command("explain")
@patient_argument
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text",
              show_default=True, help="Output format (fhir: a FHIR R4 Bundle with a ClinicalImpression).")
@click.option("--input", "input_kind", type=click.Choice(INPUTS), default="auto", show_default=True,
              help="Input format: painkg's patient JSON, FHIR R4 (a Bundle or resources), or auto: FHIR when "
                   "the JSON has resourceType.")
@click.option("--patient", "chosen", metavar="ID", help="With a FHIR input holding several patients: the one to explain.")
@click.option("--detail", is_flag=True, help="Text: every step of every chain with every quote, instead of the "
                                             "brief report.")
@click.option("--audience", type=click.Choice(AUDIENCES), default="clinician", show_default=True,
              help="Text: patient gives the plain-language wording (as on the page).")
@as_of_option
@threshold_option
@output_option
def explain_command(patient, fmt, input_kind, chosen, detail, audience, as_of, threshold_days, output):
    """Explain why (or whether) a patient's pain persists.

    FILE is a patient JSON file, a FHIR R4 Bundle or resource (see
    docs/fhir.md), or - for standard input. The text report opens with the
    answer (the headline every face shares), then each site's key chain with
    the sentence that carries it, what would change it, and flags; --detail
    shows every step with its rule, premises and source sentences. JSON output
    is the machine-readable contract (see README), with "ignored" for a FHIR
    input.

    Example:

    \b
        painkg explain examples/lower-back-strain-day20.json
        painkg explain examples/lower-back-strain-day20.json --detail
        painkg explain examples/two-injuries.json --audience patient
        painkg explain examples/neck-strain-day16.json --format json --as-of 2026-06-30
        painkg explain examples/fhir/lower-back-strain-bundle.json --format fhir
    """
    if fmt != "text" and (detail or audience != "clinician"):
        raise InputError("--detail" if detail else "--audience", "--detail" if detail else audience,
                         message=f"applies to the text report only; --format {fmt} has no audience or detail")
    source = read_patient(patient, input_kind, chosen, as_of)
    e = explain(source.record, as_of=source.as_of, threshold_days=threshold_days)
    if fmt == "text":
        # Styled on a terminal; piped or written to a file, the table's text format byte for byte.
        lines = text_lines(e, source.ignored, detail=detail, audience=audience)
        write_report(lines, plain_text(lines), output)
    else:
        write_output(FORMATS[fmt].render(e, source.fhir), output)
