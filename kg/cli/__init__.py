"""The ``painkg`` command line: one command per API function.

Every command turns :class:`~kg.errors.PainkgError` and usage mistakes into
``error: ...`` on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from ..errors import PainkgError
from ..knowledge.wording import DISCLAIMER

__all__ = ["cli", "main"]


def _command_modules() -> dict[str, str]:
    """Command name -> its module: each ``kg/cli/<name>_cmd.py`` registers ``<name>`` (``_`` read as ``-``)."""
    names = {}
    for folder in __path__:
        for entry in os.listdir(folder):
            if entry.endswith("_cmd.py"):
                module = entry[:-len(".py")]
                names[module[:-len("_cmd")].replace("_", "-")] = module
    return names


class _Commands(dict):
    """The group's commands by name; a command's module is imported when the command is first asked for.

    ``painkg explain`` then imports what explain needs and nothing else (what-if, interventions,
    SPARQL...), while everything that lists the commands (``painkg --help``, ``sorted(cli.commands)``)
    sees them all.
    """

    def _load(self, name: object) -> None:
        if isinstance(name, str) and not dict.__contains__(self, name):
            module = _command_modules().get(name)
            if module is not None:
                importlib.import_module(f"{__name__}.{module}")

    def _load_all(self) -> None:
        for name in _command_modules():
            self._load(name)

    def get(self, name, default=None):
        self._load(name)
        return dict.get(self, name, default)

    def __getitem__(self, name):
        self._load(name)
        return dict.__getitem__(self, name)

    def __contains__(self, name) -> bool:
        self._load(name)
        return dict.__contains__(self, name)

    def __iter__(self):
        self._load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load_all()
        return dict.__len__(self)

    def keys(self):
        self._load_all()
        return dict.keys(self)

    def values(self):
        self._load_all()
        return dict.values(self)

    def items(self):
        self._load_all()
        return dict.items(self)


class _PainkgGroup(click.Group):
    """A click group whose errors read ``error: ...`` and exit with status 2; commands load on demand."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args=args, prog_name=prog_name or "painkg", standalone_mode=False, **extra)
        except click.UsageError as exc:
            if exc.ctx is not None and _asked_for_nothing(exc):
                # `painkg` or `painkg what-if` alone: the user is asking what there is, so
                # answer with the help on standard output, not with an error line.
                click.echo(exc.ctx.get_help())
                sys.exit(0)
            hint = f"\nTry '{exc.ctx.command_path} --help' for help." if exc.ctx else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            sys.exit(2)
        except PainkgError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # e.g. `painkg explain ... | head`
            sys.stderr.close()
            sys.exit(0)
        sys.exit(code if isinstance(code, int) else 0)

    def command(self, *args, **kwargs):
        # Every command's --help ends with the disclaimer.
        kwargs.setdefault("epilog", DISCLAIMER)
        return super().command(*args, **kwargs)


def _asked_for_nothing(exc: click.UsageError) -> bool:
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", None)
    return no_args is not None and isinstance(exc, no_args)


@click.group(name="painkg", cls=_PainkgGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=DISCLAIMER)
@click.version_option(package_name="painkg", prog_name="painkg")
def cli():
    """painkg: why does this patient's pain persist?

    Reasons over a patient's injuries and findings with rules built from one
    source text on muscle spasm, muscle knots and low back strain, and shows
    every step: the rule, the facts it used, and the sentence it rests on.

    painkg is a reasoning aid, not a diagnosis.
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="painkg")
