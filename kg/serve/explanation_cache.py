"""The explanations the pages and the CDS cards link to, by key: a bounded, thread-safe LRU cache.

Submitting a patient on ``/`` (and a CDS card's link) gives an explanation a
URL, ``/explanations/{key}``. The key is stable: the first 20 hex digits of the
SHA-256 of the explanation's JSON (:meth:`kg.Explanation.to_dict`, keys sorted,
compact), with the input not used (a FHIR input's ``ignored``) appended when
there is any, so the same patient gives the same URL on every server and every
run. An entry keeps what the page shows and nothing that can be recomputed
cheaply: the explanation's JSON, the input not used, and the patient record
(with ``as_of``) to reason again for the graph and the full report.

The cache lives in ``app.state.explanations`` (one per app, no global state);
its bound is ``ServeSettings.extra["explanation_cache"]`` (default
:data:`DEFAULT_SIZE`). The least recently used entry goes first; an evicted
key answers 404 and the page asks to submit the patient again.

>>> cache = ExplanationCache(2)
>>> a = cache.put({"patient": "a"}, record={"id": "a"})
>>> b = cache.put({"patient": "b"}, record={"id": "b"})
>>> cache.get(a).explanation, len(a), a == explanation_key({"patient": "a"})
({'patient': 'a'}, 20, True)
>>> c = cache.put({"patient": "c"}, record={"id": "c"})
>>> cache.get(b) is None, cache.get(a) is not None, len(cache)
(True, True, 2)
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Iterable

__all__ = ["ExplanationCache", "CachedExplanation", "explanation_key", "KEY_PATTERN", "DEFAULT_SIZE"]

#: Entries kept by default.
DEFAULT_SIZE = 1000
#: What a key looks like (20 lowercase hex digits).
KEY_PATTERN = re.compile(r"^[0-9a-f]{20}$")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def explanation_key(explanation: dict, not_used: Iterable[dict] = ()) -> str:
    """The key of an explanation's JSON (and of its input not used, when there is any).

    >>> explanation_key({"patient": "p1"})
    '8f5e1d132344c74374e9'
    """
    text = _canonical(explanation)
    listed = list(not_used)
    if listed:
        text += "\n" + _canonical(listed)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


@dataclass(frozen=True)
class CachedExplanation:
    """One entry: the explanation's JSON, the input not used, and what to reason again from."""

    key: str
    explanation: dict
    not_used: tuple[dict, ...] = ()
    #: The patient record and ``as_of`` :func:`kg.explain` takes (None when unknown).
    record: dict | None = None
    as_of: Any = None
    #: The full step-by-step report (``e.to_text()``), once computed.
    text: str | None = None


class ExplanationCache:
    """A bounded LRU map from key to :class:`CachedExplanation`, safe to use from several threads."""

    def __init__(self, maxsize: int = DEFAULT_SIZE):
        self.maxsize = max(1, int(maxsize))
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, CachedExplanation] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def put(self, explanation: dict, *, not_used: Iterable[dict] = (), record: dict | None = None,
            as_of: Any = None, text: str | None = None) -> str:
        """Keep an explanation (its :meth:`~kg.Explanation.to_dict`); return its key."""
        listed = tuple(dict(x) for x in not_used)
        key = explanation_key(explanation, listed)
        entry = CachedExplanation(key, explanation, listed, record, as_of, text)
        with self._lock:
            held = self._entries.get(key)
            if held is not None and held.text is not None and text is None:
                entry = replace(entry, text=held.text)
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return key

    def get(self, key: str) -> CachedExplanation | None:
        """The entry of ``key`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def with_text(self, key: str, text: str) -> None:
        """Remember the full report of ``key`` (if it is still cached)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries[key] = replace(entry, text=text)
