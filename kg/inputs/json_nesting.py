"""The nesting of a JSON text, checked on the text before the (recursive) parser runs.

>>> nesting_within('[[{"a": "[[[["}]]]', 3), first_too_deep('[[[[]]]]', 3)
(True, 3)
"""

from __future__ import annotations

import re
from itertools import accumulate, repeat

__all__ = ["TOKENS", "position", "nesting_within", "first_too_deep"]

# A JSON string (closing quote optional, so an unterminated one ends the text) or a bracket.
TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)
# The same tokens, a string captured as "" (so only brackets count): found in C, not looped over in Python.
_BRACKETS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|([\[\]{}])', re.S).findall
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Every byte but the brackets': what bytes.translate deletes to leave a text's brackets, in C.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BYTE_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def position(text: str, offset: int) -> str:
    """Where ``offset`` is in ``text``, as an editor shows it.

    >>> position('{"a": 1,' + chr(10) + '"b": [', 14)
    'line 2, column 6'
    """
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def nesting_within(text: str, limit: int) -> bool:
    """Whether no bracket of ``text`` (outside strings) opens deeper than ``limit``: the running depth's
    maximum, in C (a request body's thousands of tokens would take a Python loop a quarter of its parse).

    >>> nesting_within('[[{"a": "[[[["}]]]', 3), nesting_within('[[[[]]]]', 3), nesting_within('', 3)
    (True, False, True)
    """
    if text.count("[") + text.count("{") <= limit:
        return True
    if "\\" not in text:
        # No escape: every '"' opens or closes a string, so the even pieces of a split are what lies
        # outside strings (an unterminated string is the last, odd, piece): their brackets, as bytes.
        brackets = "".join(text.split('"')[::2]).encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
        return max(accumulate(map(_BYTE_STEP.__getitem__, brackets)), default=0) <= limit
    return max(accumulate(map(_STEP.get, _BRACKETS(text), repeat(0))), default=0) <= limit


def first_too_deep(text: str, limit: int) -> int | None:
    """The offset of the first bracket of ``text`` (outside strings) opening deeper than ``limit``, or None.

    >>> first_too_deep('{"a": [[1]]}', 2), first_too_deep('[]', 2)
    (7, None)
    """
    depth = 0
    for match in TOKENS.finditer(text):
        token = match.group(0)
        if token in "[{":
            depth += 1
            if depth > limit:
                return match.start()
        elif token in "]}":
            depth -= 1
    return None
