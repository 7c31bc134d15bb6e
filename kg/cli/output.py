"""Write command output: to a file, plainly when piped, styled with rich on a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import InputError

__all__ = ["write_output", "write_report"]

_STYLES = {"title": "bold", "answer": "bold magenta", "heading": "bold cyan", "story": "italic",
           "observed": "green", "derived": "bold", "rule": "blue", "premise": "dim",
           "condition": "yellow", "quote": "italic dim", "meta": "dim"}


def write_output(text: str | bytes, output: str | None) -> None:
    """Write ``text`` to ``output`` (a path) or standard output."""
    if output and output != "-":
        try:
            if isinstance(text, bytes):
                Path(output).write_bytes(text)
            else:
                Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError("--output", output, f"a writable file path ({exc.strerror})") from None
        return
    if isinstance(text, bytes):
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
    else:
        click.echo(text, nl=False)


def write_report(lines, plain: str, output: str | None) -> None:
    """Write a ``(style, text)`` report: styled on a terminal, ``plain`` otherwise."""
    if output or not sys.stdout.isatty():
        write_output(plain, output)
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(soft_wrap=True, highlight=False)
    for style, text in lines:
        console.print(Text(text, style=_STYLES.get(style, "")))
