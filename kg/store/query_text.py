"""The text of a SPARQL query: where it comes from, its form, and its syntax errors.

:func:`read_query` reads ``@FILE``; :func:`query_form` tells the query form and
refuses SPARQL Update; :func:`syntax_error` turns Oxigraph's parse error into an
:class:`~kg.errors.InputError` with the line, the column and a pointer.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError

__all__ = ["query_form", "read_query", "syntax_error"]

_UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}

# Strings, IRIs and comments are blanked out before looking for keywords, so
# a `SERVICE` inside a literal or an IRI is not mistaken for the keyword.
_OPAQUE = re.compile(r'''"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\''''
                     r'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|<[^<>"{}|^`\\\x00-\x20]*>|\#[^\n]*''')
_KEYWORD = re.compile(r"(?<![\w?$:.\-])([A-Za-z]+)(?![\w:\-])")


def _blank(text: str) -> str:
    return _OPAQUE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def query_form(sparql: str) -> str:
    """The form of a query (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``), refusing what is not read-only.

    >>> query_form("PREFIX x: <http://x/> ask { ?s ?p 'SERVICE' }")
    'ASK'
    >>> query_form("INSERT DATA { <a:b> <a:c> <a:d> }")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: query: SPARQL Update (INSERT) is refused: painkg queries are read-only
    """
    if not isinstance(sparql, str) or not sparql.strip():
        raise InputError("query", sparql, "a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE)")
    blanked = _blank(sparql)
    form = None
    for match in _KEYWORD.finditer(blanked):
        word = match.group(1).upper()
        if form is None and word not in ("PREFIX", "BASE"):
            if word in _UPDATE_WORDS:
                raise InputError("query", message=f"SPARQL Update ({word}) is refused: painkg queries are read-only")
            form = word if word in _FORMS else "?"
        if word == "SERVICE":
            line, col = _position(sparql, match.start(1))
            raise InputError("query", message=f"SERVICE (line {line}, column {col}) is refused: painkg "
                                              "queries never fetch remote data")
    return form or "?"


def read_query(text: str) -> str:
    """The query text: ``text`` itself, or the file ``@FILE`` (``@-``: standard input).

    >>> read_query("@no/such.rq")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: query: '@no/such.rq' is not allowed; expected a SPARQL query or @FILE of a readable file (No such file or directory)
    """
    if not text.startswith("@"):
        return text
    path = text[1:]
    try:
        if path == "-":
            import sys

            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError("query", text, f"a SPARQL query or @FILE of a readable file ({reason})") from None


_ERROR_AT = re.compile(r"error at (\d+):(\d+): (.*)", re.S)


def syntax_error(sparql: str, exc: SyntaxError) -> InputError:
    text = str(exc)
    match = _ERROR_AT.match(text)
    if not match:
        return InputError("query", message=f"syntax error: {text}")
    line, col, detail = int(match.group(1)), int(match.group(2)), " ".join(match.group(3).split())
    if "Prefix not found" in detail:
        detail = ("unknown prefix; declare it with PREFIX or use one of the pre-bound prefixes "
                  "(painkg query --prefixes)")
    elif len(detail) > 160:
        detail = detail[:157].rsplit(",", 1)[0] + ", ..."
    lines = sparql.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    pointer = " " * (max(col, 1) - 1) + "^"
    return InputError("query", message=f"syntax error at line {line}, column {col}: {detail}\n  {source}\n  {pointer}")
