"""Write command output: to a file, plainly when piped, styled with rich on a terminal.

* ``-o FILE`` is written whole or not at all: the bytes go to a temporary file
  in the same directory, which is flushed to disk and then renamed over FILE.
  If anything fails (disk full, ``ulimit -f``, permissions), the temporary
  file is removed, FILE keeps what it had (or is not created), and the error
  is an :class:`~kg.errors.InputError` naming ``--output``.
* On a terminal, control characters that come from the data (a patient id
  may hold ESC, NUL...) are shown as visible ``\\uXXXX`` escapes, so output
  can never move the cursor, retitle the window or hide text. Piped output
  and files are written exactly as the format has them.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import tempfile
from pathlib import Path

import click

from ..errors import InputError
from ..render.safe_text import visible

__all__ = ["write_output", "write_report"]

_STYLES = {"title": "bold", "answer": "bold magenta", "heading": "bold cyan", "story": "italic",
           "observed": "green", "derived": "bold", "rule": "blue", "premise": "dim",
           "condition": "yellow", "quote": "italic dim", "meta": "dim"}


def write_output(text: str | bytes, output: str | None) -> None:
    """Write ``text`` to ``output`` (a path) or standard output."""
    if output and output != "-":
        _write_file(text if isinstance(text, bytes) else text.encode("utf-8", "backslashreplace"), output)
        return
    if isinstance(text, bytes):
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
        return
    text = _encodable(text)
    if sys.stdout.isatty():
        click.echo(visible(text, cr="crlf"), nl=False)
    else:
        # color=True: click would otherwise strip ANSI sequences from piped text,
        # so a pipe would get other bytes than -o FILE.
        click.echo(text, nl=False, color=True)


def _encodable(text: str) -> str:
    # A lone surrogate (JSON input may hold "\ud800") cannot be UTF-8 encoded:
    # write it as its escape, which inside a JSON string means the same.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def write_report(lines, plain: str, output: str | None) -> None:
    """Write a ``(style, text)`` report: styled on a terminal, ``plain`` otherwise."""
    if output or not sys.stdout.isatty():
        write_output(plain, output)
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(soft_wrap=True, highlight=False)
    for style, text in lines:
        console.print(Text(visible(text, cr="escape"), style=_STYLES.get(style, "")))


def _write_file(data: bytes, output: str) -> None:
    target = Path(output)
    try:
        if target.exists() and not target.resolve().is_file():
            # A device or a pipe (-o /dev/stderr): it cannot be replaced, only written.
            with open(target, "wb") as handle:
                handle.write(data)
            return
        _replace_atomically(target.resolve() if target.is_symlink() else target, data)
    except OSError as exc:
        shown = visible(json.dumps(output, ensure_ascii=False), cr="escape")
        raise InputError("--output", output, message=f"cannot write {shown} ({exc.strerror or exc}); "
                                                     "nothing was written to it") from None


def _replace_atomically(target: Path, data: bytes) -> None:
    # The file system may refuse part way (disk full, quota, `ulimit -f`): write
    # beside the target, make it durable, then rename, so FILE is old or whole.
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _default_mode()
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    previous = _ignore_sigxfsz()
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    finally:
        _restore_sigxfsz(previous)


def _default_mode() -> int:
    # What open() would have given a new file: 0o666 less the umask.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _ignore_sigxfsz():
    # Past `ulimit -f` the kernel sends SIGXFSZ, whose default action kills the
    # process at once, leaving the temporary file behind and no message. Ignored,
    # the write fails with EFBIG instead: an OSError handled like a full disk.
    # (Only the main thread may set a handler; elsewhere the default stays.)
    if not hasattr(signal, "SIGXFSZ"):
        return None
    try:
        return signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    except ValueError:
        return None


def _restore_sigxfsz(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGXFSZ, previous)
