"""The text of a SPARQL query: where it comes from, its form, and its syntax errors.

:func:`read_query` reads ``@FILE``; :func:`query_form` tells the query form and
refuses SPARQL Update; :func:`syntax_error` turns Oxigraph's parse error into an
:class:`~kg.errors.InputError` with the line, the column and a pointer.
"""

from __future__ import annotations

import re

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
    # Only the first keyword matters here; SERVICE, FROM and nesting are checked by a
    # real tokenizer and parser (kg.store.query_lexer, kg.store.query_guard).
    for match in _KEYWORD.finditer(_blank(sparql)):
        word = match.group(1).upper()
        if word in ("PREFIX", "BASE"):
            continue
        if word in _UPDATE_WORDS:
            raise InputError("query", message=f"SPARQL Update ({word}) is refused: painkg queries are read-only")
        return word if word in _FORMS else "?"
    return "?"


def read_query(text: str) -> str:
    """The query text: ``text`` itself, or the file ``@FILE`` (``@-``: standard input).

    At most ``LIMITS.query_bytes`` (100 KiB) of UTF-8 text: a file is read with a
    bounded read, so ``@/dev/zero`` fails at once; anything else raises
    :class:`~kg.errors.InputError`.

    >>> read_query("@no/such.rq")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: query: "@no/such.rq" is not allowed; expected a SPARQL query or @FILE of a readable file (not found)
    """
    from ..errors import type_name
    from ..inputs.limits import LIMITS
    from ..inputs.reading import decode_utf8, read_text, size_text

    if not isinstance(text, str):
        raise InputError("query", type_name(text), "a SPARQL query, or @FILE")
    if not text.startswith("@"):
        try:  # bytes that were not UTF-8 on the command line arrive as U+DC80..U+DCFF
            data = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:
            raise InputError("query", text, f"valid Unicode text (character {exc.start + 1} is a lone "
                                            "surrogate)") from None
        if len(data) > LIMITS.query_bytes:
            raise InputError("query", text, f"a query of at most {size_text(LIMITS.query_bytes)}")
        return decode_utf8(data, field="query", shown=text)
    path = text[1:]
    expected = "a SPARQL query on standard input" if path == "-" else "a SPARQL query or @FILE of a readable file"
    return read_text(path, field="query", shown=text, expected=expected, limit=LIMITS.query_bytes)


_ERROR_AT = re.compile(r"error at (\d+):(\d+): (.*)", re.S)


#: Characters of the offending line quoted each side of a syntax error.
_CONTEXT = 40


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
    # Quote at most _CONTEXT characters each side of the error, so a long line
    # (or a hostile one-line query of megabytes) is not echoed whole.
    start = max(col - 1 - _CONTEXT, 0)
    shown = source[start:col - 1 + _CONTEXT]
    pointer = " " * (max(col, 1) - 1 - start + (start > 0)) + "^"
    shown = ("…" if start > 0 else "") + shown + ("…" if len(source) > col - 1 + _CONTEXT else "")
    shown = "".join(ch if ch.isprintable() else "\ufffd" for ch in shown)
    return InputError("query", message=f"syntax error at line {line}, column {col}: {detail}\n  {shown}\n  {pointer}")
