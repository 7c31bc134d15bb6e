"""The limits on one SPARQL query, and the exceptions a guarded query raises.

Used by :mod:`kg.store.query_guard`, which documents how each limit is enforced.
Every refusal and every limit broken is an :class:`~kg.errors.InputError` (exit
status 2 on the command line) whose message names the limit or what was refused,
and so is a crash of the query engine (:class:`QueryCrashError`).

>>> QueryLimits()
QueryLimits(timeout=30.0, max_rows=100000, max_memory_mb=2048, max_nesting=64)
>>> str(QueryTimeoutError("timeout", 30, "timed out after 30 s (limit --timeout 30)"))
'query: timed out after 30 s (limit --timeout 30)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_MAX_ROWS", "DEFAULT_MAX_MEMORY_MB", "MAX_NESTING", "QueryLimits",
           "QueryRefusedError", "QueryLimitError", "QueryNestingError", "QueryTimeoutError",
           "QueryTooManyRowsError", "QueryMemoryError", "QueryCrashError", "refuse_service", "refuse_from",
           "position", "fmt_number"]

#: Seconds of wall-clock time a query may take (``painkg query --timeout``).
DEFAULT_TIMEOUT = 30.0
#: Result rows (SELECT solutions or CONSTRUCT/DESCRIBE triples) a query may return (``--max-rows``).
DEFAULT_MAX_ROWS = 100_000
#: MiB of address space the worker may add to what the process had mapped (``--max-memory``).
DEFAULT_MAX_MEMORY_MB = 2048
#: Deepest nesting of ``{ ( [`` accepted; Oxigraph's recursive parser crashes at about 1000-3000.
MAX_NESTING = 64


# ---------------------------------------------------------------- exceptions

class QueryRefusedError(InputError):
    """A query painkg will not run: ``SERVICE``, ``FROM``, a network connection, unparseable syntax.

    ``construct`` names what was refused (``"SERVICE"``, ``"FROM"``, ``"FROM NAMED"``,
    ``"network"``, ``"syntax"``).
    """

    def __init__(self, construct: str, message: str):
        self.construct = construct
        super().__init__("query", message=message)


class QueryLimitError(InputError):
    """A query went past a limit: ``limit`` names it (``"timeout"``, ``"max_rows"``,
    ``"max_memory_mb"``, ``"max_nesting"``) and ``limit_value`` is its value."""

    def __init__(self, limit: str, limit_value: float, message: str):
        self.limit = limit
        self.limit_value = limit_value
        super().__init__("query", message=message)


class QueryNestingError(QueryLimitError):
    """Brackets nested deeper than ``max_nesting``."""


class QueryTimeoutError(QueryLimitError):
    """The query ran longer than ``timeout`` seconds."""


class QueryTooManyRowsError(QueryLimitError):
    """The answer has more than ``max_rows`` solutions or triples."""


class QueryMemoryError(QueryLimitError):
    """The query needed more than ``max_memory_mb`` MiB."""


class QueryCrashError(InputError):
    """The query engine died (a signal, an unexpected exit or error) without answering; the
    query is what made it, so this too is an :class:`~kg.errors.InputError`."""

    def __init__(self, message: str):
        super().__init__("query", message=message)


def fmt_number(value: float) -> str:
    """``30.0`` as ``30``, ``1.5`` as ``1.5``."""
    return f"{value:g}"


@dataclass(frozen=True)
class QueryLimits:
    """Bounds on one query. ``timeout`` (s, > 0), ``max_rows`` (>= 0), ``max_memory_mb`` (> 0),
    ``max_nesting`` (>= 1).

    >>> QueryLimits(timeout=0)
    Traceback (most recent call last):
    ...
    kg.errors.InputError: timeout: 0 is not allowed; expected a number of seconds > 0
    """

    timeout: float = DEFAULT_TIMEOUT
    max_rows: int = DEFAULT_MAX_ROWS
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB
    max_nesting: int = MAX_NESTING

    def __post_init__(self):
        def bad(value, low, strict):
            return (isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value)
                    or (value <= low if strict else value < low))

        if bad(self.timeout, 0, True) or math.isinf(self.timeout):
            raise InputError("timeout", self.timeout, "a number of seconds > 0")
        for name, low, strict in (("max_rows", 0, False), ("max_memory_mb", 0, True), ("max_nesting", 1, False)):
            value = getattr(self, name)
            if not isinstance(value, int) or bad(value, low, strict):
                raise InputError(name, value, f"a whole number {'>' if strict else '>='} {low}")


def position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def refuse_service(sparql: str | None = None, offset: int | None = None):
    """Raise the refusal of ``SERVICE`` (at ``offset`` of ``sparql`` when known)."""
    where = ""
    if sparql is not None and offset is not None:
        line, col = position(sparql, offset)
        where = f" (line {line}, column {col})"
    raise QueryRefusedError("SERVICE", f"SERVICE{where} is refused: painkg queries never fetch remote data")


def refuse_from(sparql: str | None = None, offset: int | None = None, named: bool = False):
    """Raise the refusal of ``FROM`` or ``FROM NAMED`` (at ``offset`` of ``sparql`` when known)."""
    what = "FROM NAMED" if named else "FROM"
    where = ""
    if sparql is not None and offset is not None:
        line, col = position(sparql, offset)
        where = f" (line {line}, column {col})"
    raise QueryRefusedError(what, f"{what}{where} is refused: painkg queries run over the loaded graphs only "
                                  "(ontology, patients, data files; the default graph is their union); "
                                  "use GRAPH <iri> { ... } to query one of them")
