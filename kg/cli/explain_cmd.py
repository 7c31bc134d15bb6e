"""``painkg explain``: mirrors :func:`kg.explain`; reads painkg's patient JSON or FHIR R4 (docs/fhir.md)."""

from __future__ import annotations

import os

import click

from ..errors import InputError
from ..inputs.limits import LIMITS
from ..inputs.reading import parse_json, read_text
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
    # FHIR R4: a ClinicalImpression and its Provenance (kg.render.fhir_export).
    "fhir": None,
}
INPUTS = ("auto", "painkg", "fhir")


def _read(patient: str, input_kind: str, as_of, chosen: str | None):
    """``(patient record or path, FhirPatient or None, as_of still to apply)``."""
    if input_kind == "painkg" and chosen is None:
        return _painkg_only(patient), None, as_of
    stdin = os.fspath(patient) == "-"
    text = read_text(patient, field="file", shown="-" if stdin else patient,
                     expected="a patient's JSON on standard input" if stdin else "a readable JSON file",
                     limit=LIMITS.patient_bytes)
    data = parse_json(text, field="file", shown="-" if stdin else patient)
    from ..inputs.fhir import is_fhir, read_fhir

    fhir = is_fhir(data) if input_kind == "auto" else input_kind == "fhir"
    if not fhir:
        if chosen is not None:
            raise InputError("--patient", chosen, message="picks a patient of a FHIR input; this is a painkg "
                                                          "patient record (one patient)")
        return _as_record(data), None, as_of
    if not is_fhir(data):
        raise InputError("file", message="is not FHIR; expected a FHIR Bundle or resource (an object with "
                                         "resourceType), or --input painkg")
    patients = read_fhir(data, as_of=as_of)
    ids = [p.record["id"] for p in patients]
    if chosen is not None:
        if chosen not in ids:
            raise InputError("--patient", chosen, "one of " + ", ".join(ids))
        return patients[ids.index(chosen)].record, patients[ids.index(chosen)], None
    if len(patients) > 1:
        raise InputError("file", message=f"holds {len(patients)} patients ({', '.join(ids)}); pass --patient ID "
                                         "to explain one, or use painkg batch for all")
    return patients[0].record, patients[0], None


def _painkg_only(patient: str):
    """The painkg record (never read as FHIR): parsed here so load_patient does not choose FHIR."""
    stdin = os.fspath(patient) == "-"
    text = read_text(patient, field="file", shown="-" if stdin else patient,
                     expected="a patient's JSON on standard input" if stdin else "a readable JSON file",
                     limit=LIMITS.patient_bytes)
    data = parse_json(text, field="file", shown="-" if stdin else patient)
    from ..inputs.patient import parse_patient

    return parse_patient(data) if isinstance(data, dict) and "resourceType" in data else _as_record(data)


def _as_record(data):
    """A painkg record as read (a dict); anything else raises the error parse_patient words for it."""
    if not isinstance(data, dict):
        from ..inputs.patient import parse_patient

        parse_patient(data)
    return data


def _ignored_lines(fhir_patient) -> list[tuple[str, str]]:
    from ..knowledge.wording import wrap

    lines = [("", ""), ("heading", f"FHIR resources not used ({len(fhir_patient.ignored)})")]
    for item in fhir_patient.ignored:
        lines.extend(("premise", t) for t in wrap(f"{item['resource']}: {item['reason']}", "  ", hang=4))
    return lines


@cli.command("explain")
@patient_argument
@click.option("--format", "fmt", type=click.Choice(sorted(EXPLAIN_FORMATS)), default="text",
              show_default=True, help="Output format (fhir: a FHIR R4 Bundle with a ClinicalImpression).")
@click.option("--input", "input_kind", type=click.Choice(INPUTS), default="auto", show_default=True,
              help="Input format: painkg's patient JSON, FHIR R4 (a Bundle or resources), or auto: FHIR when "
                   "the JSON has resourceType.")
@click.option("--patient", "chosen", metavar="ID", help="With a FHIR input holding several patients: the one to explain.")
@as_of_option
@threshold_option
@output_option
def explain_command(patient, fmt, input_kind, chosen, as_of, threshold_days, output):
    """Explain why (or whether) a patient's pain persists.

    FILE is a patient JSON file, a FHIR R4 Bundle or resource (see
    docs/fhir.md), or - for standard input. Text output shows each chain step
    with its rule, premises and the source sentence; JSON output is the
    machine-readable contract (see README), with "ignored" for a FHIR input.

    Example:

    \b
        painkg explain examples/lower-back-strain-day20.json
        painkg explain examples/neck-strain-day16.json --format json --as-of 2026-06-30
        painkg explain examples/fhir/lower-back-strain-bundle.json --format fhir
    """
    record, fhir_patient, as_of = _read(patient, input_kind, as_of, chosen)
    e = explain(record, as_of=as_of, threshold_days=threshold_days)
    if fmt == "fhir":
        from ..render.fhir_export import explanation_to_fhir

        import json

        write_output(json.dumps(explanation_to_fhir(e, fhir_patient), indent=2, ensure_ascii=False) + "\n", output)
    elif fhir_patient is not None and (fmt == "json" or (fmt == "text" and fhir_patient.ignored)):
        from ..render.fhir_export import fhir_explanation_dict

        if fmt == "json":
            import json

            write_output(json.dumps(fhir_explanation_dict(e, fhir_patient), indent=2, ensure_ascii=False) + "\n",
                         output)
        else:
            lines = list(report_lines(e)) + _ignored_lines(fhir_patient)
            plain = e.to_text().rstrip("\n") + "\n" + "\n".join(t for _s, t in _ignored_lines(fhir_patient)) + "\n"
            write_report(lines, plain, output)
    elif fmt == "text":
        write_report(report_lines(e), e.to_text(), output)
    else:
        write_output(EXPLAIN_FORMATS[fmt](e), output)
