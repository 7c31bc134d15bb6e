"""The exceptions painkg raises.

Every problem with what a caller passed in (a patient, a concept key, a
setting) is an :class:`InputError`; it names the field, the value and what is
allowed. All painkg exceptions derive from :class:`PainkgError`.

Values are shown as JSON, the language the user wrote them in (``null``,
``true``, ``"text"``), with control characters and unencodable characters
escaped, and cut to :data:`SHOWN_CHARS` characters with the total length;
:func:`type_name` names a value's kind in JSON terms ("a string", "an array").

Example
-------
>>> err = InputError("injuries[0].site", "knee", "one of lower_back, neck, upper_back")
>>> str(err)
'injuries[0].site: "knee" is not allowed; expected one of lower_back, neck, upper_back'
>>> isinstance(err, ValueError)
True
>>> print(InputError("id", "a" * 1_000_000, "at most 200 characters"))
id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…" (1,000,000 characters) is not allowed; expected at most 200 characters
>>> print(InputError("patient", type_name([1, 2]), "a JSON object"))
patient: an array is not allowed; expected a JSON object
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import unicodedata
from typing import Any

__all__ = ["PainkgError", "InputError", "show", "type_name", "TypeName", "SHOWN_CHARS"]

#: Longest part of a value an error message echoes, in characters.
SHOWN_CHARS = 60

_MISSING = object()

# Characters never echoed as they are: C0/C1 controls, format characters (bidi
# overrides, zero-width), line/paragraph separators, surrogates, private use.
_HIDDEN = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
_NON_ASCII = re.compile(r"[^\x20-\x7e]")


class PainkgError(Exception):
    """Base class of every exception painkg raises on purpose."""


class TypeName(str):
    """A kind of value ("a string", "an array") that :func:`show` prints as it is."""


def type_name(value: Any) -> TypeName:
    """The JSON kind of ``value``: "a string", "a number", "null", "true/false", "an object", "an array".

    >>> type_name(None), type_name(True), type_name(3.5), type_name({}), type_name({1})
    ('null', 'true/false', 'a number', 'an object', 'a Python set')
    """
    if value is None:
        name = "null"
    elif isinstance(value, bool):
        name = "true/false"
    elif isinstance(value, (int, float)):
        name = "a number"
    elif isinstance(value, str):
        name = "a string"
    elif isinstance(value, dict):
        name = "an object"
    elif isinstance(value, (list, tuple)):
        name = "an array"
    else:
        name = f"a Python {type(value).__name__}"
    return TypeName(name)


def _escape(text: str) -> str:
    def one(match: re.Match) -> str:
        char = match.group(0)
        if unicodedata.category(char) not in _HIDDEN:
            return char
        code = ord(char)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    return _NON_ASCII.sub(one, text)


def _digits(value: int) -> int:
    value = abs(value)
    n = max(1, int(value.bit_length() * 0.30102999566398))
    return n + 1 if value >= 10 ** n else n


def _json_prefix(value: Any, limit: int) -> tuple[str, bool]:
    """The JSON text of ``value`` up to about ``limit`` characters, and whether it was cut."""
    out, size = [], 0
    encoder = json.JSONEncoder(ensure_ascii=False, default=lambda v: f"<{type(v).__name__}>")
    try:
        for chunk in encoder.iterencode(value):  # lazy: a huge value is not encoded whole
            out.append(chunk)
            size += len(chunk)
            if size > limit:
                return "".join(out)[:limit], True
    except (RecursionError, ValueError):  # nested too deep, a circular reference
        return "".join(out)[:limit], True
    return "".join(out), False


def show(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``value`` as JSON for a message: escaped, and cut to ``limit`` characters with its size.

    >>> show(None), show(True), show("knee"), show([1, "a"]), show("tab\\there")
    ('null', 'true', '"knee"', '[1, "a"]', '"tab\\\\there"')
    >>> show(10 ** 5000)
    '100000000000000000000000000000000000000000000000000000000000… (5,001 digits)'
    """
    if isinstance(value, TypeName):
        return str(value)
    if isinstance(value, (_dt.date, os.PathLike)):
        value = value.isoformat() if isinstance(value, _dt.date) else os.fspath(value)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        cut = value[:limit]
        text = _escape(json.dumps(cut, ensure_ascii=False))
        if len(value) > limit:
            return f"{text[:-1]}…\" ({len(value):,} characters)"
        return text
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        digits = _digits(value)
        if digits <= limit:
            return str(value)
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 10 ** (digits - limit)}… ({digits:,} digits)"
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, (dict, list, tuple)):
        text, cut = _json_prefix(value, limit)
        text = _escape(text)
        if cut:
            size = f"{len(value):,} {'key' if isinstance(value, dict) else 'item'}{'s' * (len(value) != 1)}"
            return f"{text}… ({type_name(value)} of {size})"
        return text
    return str(type_name(value))


class InputError(PainkgError, ValueError):
    """Bad input: ``field`` had ``value``, which is not ``allowed``.

    ``value`` is shown as JSON (see :func:`show`); pass :func:`type_name` of
    it to name its kind instead. ``message`` overrides the generated text
    where a plainer sentence fits.
    """

    def __init__(self, field: str, value: Any = _MISSING, allowed: str = "", message: str = ""):
        self.field = field
        self.value = None if value is _MISSING else value
        self.allowed = allowed
        if not message:
            shown = "is missing" if value is _MISSING else f"{show(value)} is not allowed"
            message = f"{shown}; expected {allowed}" if allowed else shown
        self.message = message
        super().__init__(f"{field}: {message}")
