"""``painkg terms``: mirrors :func:`kg.knowledge.terms`."""

from __future__ import annotations

import json

import click

from ..knowledge.terms import ROLES, terms
from . import cli
from .output import write_output


_HEADINGS = {"injury": "injury kinds", "mechanism": "mechanisms", "site": "sites", "finding": "findings"}


@cli.command("terms")
@click.option("--role", type=click.Choice(ROLES), help="Only the keys of this input role.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def terms_command(role, fmt):
    """List the keys patient input may use, with labels and aliases.

    Example:

    \b
        painkg terms --role injury
    """
    rows = terms(role)
    if fmt == "json":
        write_output(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", None)
        return
    lines, current = [], None
    for row in rows:
        if row["role"] != current:
            current = row["role"]
            lines.append(("" if not lines else "\n") + _HEADINGS[current] + ":")
        alias = f"  (also: {', '.join(row['aliases'])})" if row["aliases"] else ""
        lines.append(f"  {row['key']:<24} {row['label']}{alias}")
    write_output("\n".join(lines) + "\n", None)
