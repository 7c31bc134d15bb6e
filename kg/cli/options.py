"""Options shared by the painkg commands, so every command spells them the same way."""

from __future__ import annotations

import click

from ..reasoning.reasoner import DEFAULT_THRESHOLD_DAYS

__all__ = ["patient_argument", "as_of_option", "threshold_option", "output_option", "text_or_json"]

#: The patient file argument: a JSON file, or - for standard input.
patient_argument = click.argument("patient", metavar="FILE|-")

as_of_option = click.option(
    "--as-of", "as_of", metavar="DATE",
    help="Assess as of this date (YYYY-MM-DD, 1900-01-01 to 2999-12-31) instead of the file's assessed_on, "
         "or +Nd / -Nd: N days after / before it.")

threshold_option = click.option(
    "--threshold-days", type=int, default=DEFAULT_THRESHOLD_DAYS, show_default=True,
    help="Days (1 to 365) an injury must stay unresolved before knots are concluded (inclusive).")

output_option = click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of standard output.")

text_or_json = click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text",
                            show_default=True, help="Output format.")
