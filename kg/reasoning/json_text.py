"""JSON text as ``json.dumps(value, indent=2, ensure_ascii=False)`` writes it, in a third of the time.

The standard library encodes indented JSON in pure Python (its C encoder serves only compact
output), one generator frame per value: that cost an explanation's JSON more than building
the explanation. :func:`dumps_indented` walks the same tree with one function call per
container, strings escaped by the C escaper the standard library uses, and the same
separators, number forms and key order, so the text is the same byte for byte
(``tests/test_json_text.py`` checks it against ``json.dumps`` on every explanation shape and
on generated trees). Anything it does not know (a dict subclass, a non-string key, a
circular reference) goes to ``json.dumps`` itself, so the answer, or the error, is its.

>>> value = {"a": [1, 2.5, None, True], "b": {}, "c": "é\\n", "d": []}
>>> import json
>>> dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False)
True
>>> print(dumps_indented({"x": [1, {"y": "z"}]}))
{
  "x": [
    1,
    {
      "y": "z"
    }
  ]
}
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as _text  # the C escaper json.dumps(ensure_ascii=False) uses

__all__ = ["dumps_indented", "dumps_explanation", "loads_json"]

_repr_int = int.__repr__
_repr_float = float.__repr__
_INFINITY = float("inf")


class _Unsupported(Exception):
    """A value json.dumps must handle itself (its own subclasses, key kinds, errors)."""


def dumps_indented(value) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, faster."""
    parts: list[str] = []
    try:
        _value(value, "\n", parts.append)
    except (_Unsupported, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(parts)


def dumps_explanation(value) -> str:
    """:func:`dumps_indented` for a tree without floats (an explanation's ``to_dict()``): orjson where installed.

    orjson's ``OPT_INDENT_2`` writes the same bytes as ``json.dumps(indent=2, ensure_ascii=False)``
    for strings, integers, booleans, None, lists and dicts with string keys; it spells some floats
    differently (``1e16``), which an explanation never holds. What orjson refuses (an integer past
    64 bits, a key that is not a string, a lone surrogate) goes to :func:`dumps_indented`.

    >>> dumps_explanation({"a": [1, "é"], "b": {}}) == json.dumps({"a": [1, "é"], "b": {}}, indent=2, ensure_ascii=False)
    True
    """
    try:
        from orjson import OPT_INDENT_2, dumps
    except ImportError:  # orjson comes with the serve extra; the answer is the same without it
        return dumps_indented(value)
    try:
        return dumps(value, option=OPT_INDENT_2).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError
        return dumps_indented(value)


def loads_json(text: str):
    """``json.loads(text)``: read by orjson where installed (several times faster), the same value.

    What orjson refuses (an escaped lone surrogate, an integer past 64 bits) is read by json.

    >>> loads_json('{"a": [1, "\\u00e9"]}')
    {'a': [1, 'é']}
    """
    try:
        from orjson import JSONDecodeError, loads
    except ImportError:  # orjson comes with the serve extra
        return json.loads(text)
    try:
        return loads(text)
    except JSONDecodeError:
        return json.loads(text)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return _repr_float(value)


def _scalar(value) -> str:
    # The forms of json.encoder: None/True/False as null/true/false, int and float by their repr.
    kind = type(value)
    if kind is str:
        return _text(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return _repr_int(value)
    if kind is float:
        return _float(value)
    raise _Unsupported


def _value(value, newline: str, out) -> None:
    kind = type(value)
    if kind is dict:
        _dict(value, newline, out)
    elif kind is list or kind is tuple:
        _list(value, newline, out)
    else:
        out(_scalar(value))


def _dict(value: dict, newline: str, out) -> None:
    if not value:
        out("{}")
        return
    inner = newline + "  "
    lead = "{" + inner
    for key, item in value.items():
        if type(key) is not str:
            raise _Unsupported  # json.dumps turns numbers into keys and refuses others: its rules
        kind = type(item)
        if kind is str:
            out(lead + _text(key) + ": " + _text(item))
        elif kind is dict or kind is list or kind is tuple:
            out(lead + _text(key) + ": ")
            if kind is dict:
                _dict(item, inner, out)
            else:
                _list(item, inner, out)
        else:
            out(lead + _text(key) + ": " + _scalar(item))
        lead = "," + inner
    out(newline + "}")


def _list(value, newline: str, out) -> None:
    if not value:
        out("[]")
        return
    inner = newline + "  "
    lead = "[" + inner
    for item in value:
        kind = type(item)
        if kind is str:
            out(lead + _text(item))
        elif kind is dict:
            out(lead)
            _dict(item, inner, out)
        elif kind is list or kind is tuple:
            out(lead)
            _list(item, inner, out)
        else:
            out(lead + _scalar(item))
        lead = "," + inner
    out(newline + "]")
