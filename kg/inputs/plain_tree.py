"""A quick check that a parsed value is plain JSON within painkg's input limits.

:func:`kg.inputs.reading.check_tree` walks a value and names the first problem,
with its path; building a path for every value costs a batch more than parsing
the record. :func:`plainly_within` answers the common case first: the value is
built of exact ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and
``None``, and within every limit (``LIMITS``: strings, items, nesting, values,
digits; no lone surrogate). It builds no path and searches every string for a
surrogate in one pass. Anything else, a problem or merely an unusual type,
answers False, and the caller walks the value to say what (if anything) is wrong.

>>> plainly_within({"id": "p", "injuries": [{"days_since_onset": 3}], "findings": []})
True
>>> plainly_within({"id": "x" * 201}), plainly_within({"id": "\\ud800"}), plainly_within([(1, 2)])
(False, False, False)
"""

from __future__ import annotations

import re
from typing import Any

from .limits import LIMITS

__all__ = ["plainly_within"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_BIG_INT = 10 ** LIMITS.number_chars


def plainly_within(value: Any) -> bool:
    """Whether ``value`` is plain parsed JSON within every input limit (False: walk it to find out why)."""
    strings: list[str] = []
    count = _count(value, 0, strings)
    if count < 0:
        return False
    # Joined, the strings keep their characters: a lone surrogate stays one (str is not UTF-16).
    return not strings or (max(map(len, strings)) <= LIMITS.string_chars
                           and _SURROGATE.search("".join(strings)) is None)


def _count(item: Any, depth: int, strings: list) -> int:
    """The values in ``item`` as ``check_tree`` counts them (strings and keys added to ``strings``), or -1
    when ``item`` is not plain or breaks a limit. Stops once past ``LIMITS.values``, so a value that shares
    one list many times over (a Python caller's) costs no more than the limit."""
    cls = item.__class__
    if cls is str:
        strings.append(item)
        return 1
    if cls is dict or cls is list:
        if depth >= LIMITS.depth or len(item) > LIMITS.items:
            return -1
        count = 1
        for key in item:
            if cls is dict:
                if key.__class__ is not str:
                    return -1
                strings.append(key)
                found = _count(item[key], depth + 1, strings)
            else:
                found = _count(key, depth + 1, strings)
            if found < 0:
                return -1
            count += found
            if count > LIMITS.values:
                return -1
        return count
    if cls is int:
        return 1 if -_BIG_INT < item < _BIG_INT else -1
    if cls is bool or cls is float or item is None:
        return 1
    return -1
