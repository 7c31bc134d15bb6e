"""Reading what the user gives, within :data:`~kg.inputs.limits.LIMITS`.

- :func:`read_bytes`: a file or standard input (``"-"``), read with a bounded
  read (at most the limit plus one byte: ``/dev/zero`` fails at once), closed
  or unreadable standard input included.
- :func:`decode_utf8`: strict UTF-8, naming the offset of the first bad byte.
- :func:`loads`: strict JSON: nesting checked on the text before the
  (recursive) parser runs, duplicate keys refused, ``NaN`` and ``Infinity``
  refused. A number longer than the limit is never converted: it is kept as
  its text, a :class:`LongNumber`, for the reader of the element to refuse.
- :func:`check_tree`: a parsed value (or a dict from Python) against the limits
  on strings, items, nesting and numbers (a :class:`LongNumber` included), and
  lone surrogates.

The number limit applies where painkg reads a number: every element of its
own patient JSON is read, so :func:`check_tree` refuses a long number anywhere
in it; a FHIR input may hold a long decimal in an element painkg never reads
(an unused observation's value, an extension), which :mod:`kg.inputs.fhir`
leaves alone.

Every problem raises :class:`~kg.errors.InputError`.

>>> loads('{"id": "a", "id": "b"}')
Traceback (most recent call last):
...
kg.inputs.reading.JsonLimitError: the key "id" is given twice (line 1, column 13); expected each key once
>>> check_tree({"injuries": [{"kind": "x" * 500}]}, "patient")
Traceback (most recent call last):
...
kg.errors.InputError: injuries[0].kind: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" (500 characters) is not allowed; expected a string of at most 200 characters
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ..errors import InputError, show
from .json_nesting import first_too_deep, nesting_within as _nesting_within
from .json_nesting import position as _position
from .limits import LIMITS
from .plain_tree import plainly_within

__all__ = ["JsonLimitError", "LongNumber", "read_bytes", "decode_utf8", "read_text", "loads", "parse_json",
           "check_tree", "format_path", "size_text"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonLimitError(ValueError):
    """JSON text that breaks a rule of :func:`loads`; ``problem`` says which, ``allowed`` what is."""

    def __init__(self, problem: str, allowed: str):
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"{problem}; expected {allowed}")


def size_text(n: int) -> str:
    """A byte count for messages.

    >>> size_text(1024 * 1024), size_text(102_400)
    ('1,048,576 bytes (1 MiB)', '102,400 bytes (100 KiB)')
    """
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n:,} bytes ({n // size} {unit})"
    return f"{n:,} bytes"


def read_bytes(source: str | os.PathLike, *, field: str, shown: object, expected: str, limit: int) -> bytes:
    """The bytes of the file ``source`` or of standard input (``"-"``), at most ``limit`` of them.

    ``field``, ``shown`` (the value to echo) and ``expected`` (what would have
    been allowed) word the :class:`~kg.errors.InputError` for a problem.
    """
    import sys

    if not isinstance(source, (str, os.PathLike)):
        raise InputError(field, shown, expected)
    try:
        if os.fspath(source) == "-":
            stdin = sys.stdin
            if stdin is None:  # started with standard input closed (`<&-`)
                raise InputError(field, message=f"standard input is closed; expected {expected}")
            try:
                buffer = getattr(stdin, "buffer", None)
                data = buffer.read(limit + 1) if buffer is not None else stdin.read(limit + 1)
            except (OSError, ValueError) as exc:  # closed, unreadable
                raise InputError(field, message=f"standard input cannot be read ({exc}); expected {expected}") from None
            if isinstance(data, str):  # a text stream without a buffer (a test's StringIO)
                data = data.encode("utf-8", "surrogateescape")
            where = _where("-")
        else:
            with open(source, "rb") as handle:
                data = handle.read(limit + 1)
            where = _where(shown)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(field, shown, f"{expected} (not found)") from None
    except IsADirectoryError:
        raise InputError(field, shown, f"{expected} (it is a directory)") from None
    except ValueError as exc:  # e.g. "embedded null byte": not a path the system accepts
        raise InputError(field, shown, f"{expected} (not a valid path: {exc})") from None
    except OSError as exc:
        raise InputError(field, shown, f"{expected} ({exc.strerror or exc})") from None
    if data is None:  # a non-blocking stream with nothing to read
        data = b""
    if len(data) > limit:
        raise InputError(field, shown, message=f"{where} exceeds the limit of {size_text(limit)}; expected "
                                               f"{expected} within it")
    return data


def _where(shown: object) -> str:
    return "standard input" if shown in ("-", "@-") else show(shown)


def decode_utf8(data: bytes, *, field: str, shown: object) -> str:
    """``data`` as UTF-8 text (a leading byte order mark is dropped), or an error naming the first bad byte.

    ``shown`` is what the data came from (``"-"`` for standard input).

    >>> decode_utf8(b'{"id": "\\xff"}', field="file", shown="-")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: file: standard input is not UTF-8 text: byte 0xff at offset 8 (line 1, column 9); expected UTF-8
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(field, shown, message=f"{_where(shown)} is not UTF-8 text: byte 0x{data[exc.start]:02x} "
                                               f"at offset {exc.start:,} (line {line}, column {column}); "
                                               "expected UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def read_text(source: str | os.PathLike, *, field: str, shown: object, expected: str, limit: int) -> str:
    """:func:`read_bytes` then :func:`decode_utf8`."""
    data = read_bytes(source, field=field, shown=shown, expected=expected, limit=limit)
    return decode_utf8(data, field=field, shown="-" if os.fspath(source) == "-" else shown)


def _check_depth(text: str, limit: int) -> None:
    """Raise :class:`JsonLimitError` at the first bracket of ``text`` opening deeper than ``limit``."""
    if _nesting_within(text, limit):
        return
    offset = first_too_deep(text, limit)
    if offset is not None:
        raise JsonLimitError(f"arrays and objects are nested more than {limit} deep "
                             f"({_position(text, offset)})", f"at most {limit} levels")


class _Duplicate(dict):
    """A JSON object that gave ``key`` more than once (refused by :func:`check_tree`)."""

    key: str = ""


class LongNumber(str):
    """A JSON number longer than ``LIMITS.number_chars`` characters, kept as its literal text, never converted.

    It is a ``str`` so that it serialises as JSON again (as a string); readers tell it from a
    string by its type. :func:`check_tree` refuses it; :attr:`problem` words why.

    >>> n = loads('{"value": 1.0000000000000000000000001}')["value"]
    >>> type(n).__name__, str(n), n.problem
    ('LongNumber', '1.0000000000000000000000001', 'a number has 27 characters')
    """

    __slots__ = ()

    @property
    def problem(self) -> str:
        return f"a number has {len(self):,} characters"

    @property
    def allowed(self) -> str:
        return f"numbers of at most {LIMITS.number_chars} characters"


def _number(kind):
    def parse(literal: str):
        if len(literal) > LIMITS.number_chars:
            return LongNumber(literal)
        return kind(literal)

    return parse


def _constant(name: str):
    raise JsonLimitError(f"{name} is not JSON", "a JSON number")


def _pairs(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out and not isinstance(out, _Duplicate):
            out = _Duplicate(out)
            out.key = key
        out[key] = value
    return out


#: A run of the characters JSON numbers are written with, longer than ``LIMITS.number_chars``: only
#: text with one can hold a number too long to convert (the run may be inside a string, as an id
#: "00000000-0000-4000-8000-000000000019" is: then the numbers are read by the hooks for nothing, and
#: give the same value).
_LONG_RUN = re.compile(r"[-+.0-9eE]{%d,}" % (LIMITS.number_chars + 1)).search


class _Repeated(Exception):
    """A JSON object gave a key twice: parse again, carefully, to say where."""


def _unique_pairs(pairs: list) -> dict:
    # A dict built in C; fewer keys than pairs means a key given twice (rare: the careful parse names it).
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Repeated
    return out


# Built once (a batch parses millions of records): the quick parser converts numbers itself; the
# numbering one keeps a long number as its text (a Python call per number, not a walk of the value);
# the careful one also marks an object that repeats a key, for the walk that says where.
_QUICK = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_constant)
_NUMBERING = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_int=_number(int), parse_float=_number(float),
                              parse_constant=_constant)
_CAREFUL = json.JSONDecoder(object_pairs_hook=_pairs, parse_int=_number(int), parse_float=_number(float),
                            parse_constant=_constant)


def loads(text: str, *, depth: int = LIMITS.depth) -> Any:
    """Parse JSON text strictly; :class:`JsonLimitError` for a broken rule, ``json.JSONDecodeError`` for bad syntax.

    A number longer than ``LIMITS.number_chars`` characters is a :class:`LongNumber` (its text).

    >>> loads('{"a": [1, 2.5, "x"]}'), type(loads('[1' + '0' * 30 + ']')[0]).__name__
    ({'a': [1, 2.5, 'x']}, 'LongNumber')
    """
    _check_depth(text, depth)
    if text.startswith("\ufeff"):  # json.loads' own error for it (the decoders below would not see one)
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        try:  # no object in it repeats a key: nothing to walk for
            return (_QUICK if _LONG_RUN(text) is None else _NUMBERING).decode(text)
        except _Repeated:
            pass
        value = _CAREFUL.decode(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JsonLimitError("arrays and objects are nested too deep", f"at most {depth} levels") from None
    dup = _first_duplicate(value)
    if dup is not None:
        raise JsonLimitError(f"the key {show(dup.key)} is given twice ({_duplicate_position(text, dup.key)})",
                             "each key once")
    return value


def _first_duplicate(value: Any) -> _Duplicate | None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Duplicate):
            return item
        if isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return None


def _duplicate_position(text: str, key: str) -> str:
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    seen = [m.start() for m in pattern.finditer(text)]
    return _position(text, seen[1]) if len(seen) > 1 else "position unknown"


def parse_json(text: str, *, field: str, shown: object) -> Any:
    """:func:`loads`, every problem an :class:`~kg.errors.InputError` naming ``field`` and ``shown``."""
    try:
        return loads(text)
    except JsonLimitError as exc:
        raise InputError(field, shown, message=f"{_where(shown)}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(field, shown, message=f"{_where(shown)} is not valid JSON ({exc.msg} at line "
                                               f"{exc.lineno} column {exc.colno})") from None


def format_path(parts: tuple, root: str) -> str:
    """A JSON path for messages: ``injuries[0].kind``; a key that is not a plain name is quoted.

    >>> format_path(("injuries", 0, "kind"), "patient"), format_path(("a b",), "patient"), format_path((), "patient")
    ('injuries[0].kind', '["a b"]', 'patient')
    """
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and _IDENTIFIER.fullmatch(part) and len(part) <= 60:
            text += ("." if text else "") + part
        else:
            text += f"[{show(part)}]"
    return text or root


def _check_string(text: str, path: tuple, root: str, what: str) -> None:
    # The path is formatted only for a message: most strings pass, and a cohort checks millions.
    if len(text) > LIMITS.string_chars:
        raise InputError(format_path(path, root), text, f"{what} of at most {LIMITS.string_chars} characters")
    bad = _SURROGATE.search(text)
    if bad:
        raise InputError(format_path(path, root), text, f"valid Unicode text (character {bad.start() + 1}, "
                                      f"\\u{ord(bad.group(0)):04x}, is a lone surrogate: not a character)")


def check_tree(value: Any, root: str, *, path: tuple = ()) -> None:
    """Check ``value`` (parsed JSON or a Python dict) against the limits; ``root`` names the top in messages.

    Strings and keys: at most ``LIMITS.string_chars`` characters, no lone
    surrogates; arrays and objects: at most ``LIMITS.items`` items, nested at
    most ``LIMITS.depth`` deep; integers: at most ``LIMITS.number_chars`` digits,
    and no :class:`LongNumber` (a number :func:`loads` found too long);
    keys are strings given once. The walk stops at the first problem, so a
    huge or endlessly nested value costs no more than the limits.
    """
    if plainly_within(value):  # the common case, without building a path per value
        return
    budget = LIMITS.values
    stack = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise InputError(root, message=f"has more than {LIMITS.values:,} values (strings, numbers, arrays, "
                                           f"objects); expected at most {LIMITS.values:,}")
        if isinstance(item, LongNumber):
            lead = "" if where or root else "is too long: "  # a bare value ("--set x=1111...") reads as a sentence
            raise InputError(format_path(where, root), message=f"{lead}{item.problem}; expected {item.allowed}")
        if isinstance(item, str):
            _check_string(item, where, root, "a string")
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if abs(item) >= 10 ** LIMITS.number_chars:
                raise InputError(format_path(where, root), item,
                                 f"a number of at most {LIMITS.number_chars} digits")
        elif isinstance(item, (dict, list, tuple)):
            if depth >= LIMITS.depth or len(item) > LIMITS.items or isinstance(item, _Duplicate):
                _container_problem(item, format_path(where, root), depth)
            if isinstance(item, dict):
                children = []
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InputError(format_path(where, root), key, "keys that are strings")
                    _check_string(key, where + (key,), root, "a key")
                    children.append((child, where + (key,), depth + 1))
            else:
                children = [(child, where + (i,), depth + 1) for i, child in enumerate(item)]
            stack.extend(reversed(children))


def _container_problem(item, field: str, depth: int) -> None:
    """Raise for an array or object nested too deep, too long, or with a key given twice."""
    if depth >= LIMITS.depth:
        raise InputError(field, message=f"arrays and objects are nested more than {LIMITS.depth} deep; "
                                        f"expected at most {LIMITS.depth} levels")
    if len(item) > LIMITS.items:
        unit = "keys" if isinstance(item, dict) else "items"
        raise InputError(field, message=f"has {len(item):,} {unit}; expected at most {LIMITS.items}")
    if isinstance(item, _Duplicate):
        raise InputError(field, message=f"the key {show(item.key)} is given twice; expected each key once")
