"""Barrier 1 of :mod:`kg.store.query_guard`: a SPARQL tokenizer that bounds nesting and finds
``SERVICE`` and ``FROM`` before any parser sees the query.

Strings, long strings, IRIs, comments, prefixed names (with ``\\`` escapes),
blank node labels, variables and language tags are single tokens, so nothing
inside them counts as a bracket or a keyword. It runs in linear time without
recursion, so no input can crash it.

>>> check_query("SELECT * WHERE { ?s ?p '{{{{' } # SERVICE")
>>> check_query("SELECT * WHERE { ?s ?p ?o .SERVICE<http://127.0.0.1:9/>{} }")
Traceback (most recent call last):
...
kg.store.query_limits.QueryRefusedError: query: SERVICE (line 1, column 28) is refused: painkg queries never fetch remote data
"""

from __future__ import annotations

import re

from ..errors import InputError
from .query_limits import MAX_NESTING, QueryNestingError, position, refuse_from, refuse_service

__all__ = ["check_query"]

_NAME_CHARS = r"\w\-\u00B7\u0300-\u036F\u203F-\u2040"
_LOCAL_ESC = r"\\[_~.\-!$&'()*+,;=/?#@%]"
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)
              | \"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|\Z)
              | '(?:[^'\\\r\n]|\\.)*'? | "(?:[^"\\\r\n]|\\.)*"?)
  | (?P<var>[?$][""" + _NAME_CHARS + r"""]*)
  | (?P<bnode>_:[""" + _NAME_CHARS + r""".]*)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<pname>(?:[^\W\d_][""" + _NAME_CHARS + r""".]*)?:
               (?:(?:[\w:%]|""" + _LOCAL_ESC + r""")(?:[""" + _NAME_CHARS + r""".:%]|""" + _LOCAL_ESC + r""")*)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<open>[{(\[])
  | (?P<close>[})\]])
  | (?P<escape>\\.?)
  | (?P<other>.)
""", re.X | re.S)
_IRIREF = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
# Words after which "(" opens a bracketed expression (not a collection or a VALUES row).
_NOT_EXPRESSION_WORDS = {"A", "VALUES", "UNDEF", "TRUE", "FALSE"}
_CONSTRAINT_WORDS = {"FILTER", "HAVING", "BY", "ASC", "DESC"}


def _tokens(text: str):
    """(kind, start, stop, text, depth) of each token, depth counting the open ``{ ( [``.

    ``<...>`` is an "iri" unless it follows an operand inside a bracketed expression,
    where ``<`` is "less than"; the kind of each bracket is guessed from the tokens before it.
    """
    stack: list[str] = []  # "group", "data", "expr", "list", "bnode"
    prev = prev2 = ("", "")  # (kind, upper-cased text) of the last two significant tokens
    last_closed = ""
    pos, end = 0, len(text)
    while pos < end:
        kind, stop = None, None
        if text[pos] == "<":
            operand = prev[0] in ("var", "string", "number", "iri", "pname", "bnode", "lang") or \
                prev[1] in (")", "]", "TRUE", "FALSE")
            if not (stack and stack[-1] == "expr" and operand):
                match = _IRIREF.match(text, pos)
                if match:
                    kind, stop = "iri", match.end()
            if kind is None:
                kind, stop = "other", pos + 1
        else:
            match = _TOKEN.match(text, pos)
            kind, stop = match.lastgroup, match.end()
            if kind in ("pname", "bnode"):
                while text[stop - 1] == "." and stop - 1 > pos:  # a name never ends with "."
                    stop -= 1
        value = text[pos:stop]
        if kind == "open":
            if value == "[":
                frame = "bnode"
            elif value == "{":
                frame = "data" if (prev[1] == ")" and last_closed == "list" or prev[0] == "var"
                                   and prev2[1] == "VALUES" or prev[1] == "VALUES") else "group"
            elif stack and stack[-1] == "expr":
                frame = "expr"
            elif prev[0] == "word":
                frame = "list" if prev[1] in _NOT_EXPRESSION_WORDS else "expr"
            elif prev[0] in ("iri", "pname") and prev2[0] == "word" and prev2[1] in _CONSTRAINT_WORDS:
                frame = "expr"  # FILTER ex:fn(...)
            else:
                frame = "list"
            stack.append(frame)
        elif kind == "close" and stack:
            last_closed = stack.pop()
        yield kind, pos, stop, value, len(stack)
        if kind not in ("ws", "comment"):
            prev2, prev = prev, (kind, value.upper() if kind in ("word", "open", "close") else value)
        pos = stop


def check_query(sparql: str, *, max_nesting: int = MAX_NESTING) -> None:
    """Barrier 1: refuse nesting deeper than ``max_nesting``, ``SERVICE`` and ``FROM``, lexically.

    Linear time, no recursion: safe on any input. Raises
    :class:`QueryNestingError` or :class:`QueryRefusedError`.

    >>> check_query("SELECT ?x WHERE { ?x ?p 'SERVICE { { {' . ?x <http://x/SERVICE> ?o } # SERVICE")
    >>> check_query("select * from <http://x/g> where { ?s ?p ?o }")
    Traceback (most recent call last):
    ...
    kg.store.query_limits.QueryRefusedError: query: FROM (line 1, column 10) is refused: painkg queries run over the loaded graphs only (ontology, patients, data files; the default graph is their union); use GRAPH <iri> { ... } to query one of them
    """
    if not isinstance(sparql, str):
        raise InputError("query", sparql, "a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE)")
    try:
        sparql.encode("utf-8")
    except UnicodeEncodeError as exc:
        line, col = position(sparql, exc.start)
        raise InputError("query", message=f"is not valid Unicode text (a lone surrogate at line {line}, "
                                          f"column {col})") from None
    from_at = None
    for kind, start, _stop, value, depth in _tokens(sparql):
        if kind == "open" and depth > max_nesting:
            line, col = position(sparql, start)
            raise QueryNestingError("max_nesting", max_nesting,
                                    f"nesting deeper than {max_nesting} levels of {{ ( [ at line {line}, "
                                    f"column {col} (limit {max_nesting})")
        if kind != "word" and from_at is None:
            continue
        word = value.upper() if kind == "word" else ""
        if from_at is not None:
            if kind in ("ws", "comment"):
                continue
            refuse_from(sparql, from_at, named=word == "NAMED")
        if word.startswith("SERVICE"):
            refuse_service(sparql, start)
        if word.startswith("FROM"):
            from_at = start
    if from_at is not None:
        refuse_from(sparql, from_at, named=False)
