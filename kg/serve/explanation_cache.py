"""The explanations the pages and the CDS cards link to, by key: a bounded, thread-safe LRU cache.

Submitting a patient on ``/`` (and a CDS card's link) gives an explanation a
URL, ``/explanations/{key}``. The key is stable: the first 20 hex digits of the
SHA-256 of the explanation's JSON (:meth:`kg.Explanation.to_dict`, keys sorted,
compact), with the input not used (a FHIR input's ``ignored``) appended when
there is any, so the same patient gives the same URL on every server and every
run. An entry keeps what the page shows and nothing that can be recomputed
cheaply: the explanation's JSON, the input not used, and the patient record
(with ``as_of``) to reason again for the graph and the full report.

The explanation is kept as its compact JSON text (UTF-8 bytes), not as the
parsed tree: a page reads it back (:attr:`CachedExplanation.explanation`
parses it on each read, rare beside the CDS calls that fill the cache). A
tree is thousands of Python objects the garbage collector walks on every full
collection, and several times the memory of its text; a thousand entries of
bytes are a thousand objects. The key is computed with orjson where installed
(the same bytes as ``json.dumps`` for an explanation, which holds strings,
integers, booleans, null, arrays and objects, never a float), else with json.

The cache lives in ``app.state.explanations`` (one per app, no global state);
its bound is ``ServeSettings.explanation_cache`` (default
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

try:  # orjson comes with the serve extra; the keys are the same without it
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

__all__ = ["ExplanationCache", "CachedExplanation", "explanation_key", "KEY_PATTERN", "DEFAULT_SIZE"]

#: Entries kept by default.
DEFAULT_SIZE = 1000
#: What a key looks like (20 lowercase hex digits).
KEY_PATTERN = re.compile(r"^[0-9a-f]{20}$")


def _canonical(value: Any) -> bytes:
    """``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` as UTF-8 (surrogates
    passed). By orjson where installed: the same bytes for a tree of strings, integers, booleans, null,
    lists and string-keyed dicts, which an explanation is (orjson spells some floats otherwise, ``1e-05``
    as ``0.00001``: an explanation holds none; tests/test_cds_speed_parity.py checks the keys of
    thousands). What orjson refuses (an integer past 64 bits, a lone surrogate, a key not a string) goes
    to json, as without orjson."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value, option=_orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError
            pass
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


def explanation_key(explanation: dict, not_used: Iterable[dict] = ()) -> str:
    """The key of an explanation's JSON (and of its input not used, when there is any).

    >>> explanation_key({"patient": "p1"})
    '8f5e1d132344c74374e9'
    """
    text = _canonical(explanation)
    listed = list(not_used)
    if listed:
        text += b"\n" + _canonical(listed)
    return hashlib.sha256(text).hexdigest()[:20]


@dataclass(frozen=True)
class CachedExplanation:
    """One entry: the explanation's JSON (compact UTF-8 text), the input not used, and what to reason again from."""

    key: str
    #: The explanation's JSON, compact, as UTF-8 bytes (:attr:`explanation` parses it).
    compact: bytes
    not_used: tuple[dict, ...] = ()
    #: The patient record and ``as_of`` :func:`kg.explain` takes (None when unknown).
    record: dict | None = None
    as_of: Any = None
    #: The full step-by-step report (``e.to_text()``), once computed.
    text: str | None = None

    @property
    def explanation(self) -> dict:
        """The explanation's JSON form (:meth:`kg.Explanation.to_dict`), parsed anew on each read."""
        from ..reasoning.json_text import loads_json

        return loads_json(self.compact)


def _compact(explanation: dict) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(explanation)
        except TypeError:  # orjson.JSONEncodeError: json writes it
            pass
    return json.dumps(explanation, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


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
            as_of: Any = None, text: str | None = None, compact: str | bytes | None = None) -> str:
        """Keep an explanation (its :meth:`~kg.Explanation.to_dict`); return its key.

        ``compact`` is the explanation's JSON text when the caller has it (the memo's
        :attr:`~kg.reasoning.memo.MemoResult.explanation`): kept as it is, not written again.
        """
        listed = tuple(dict(x) for x in not_used)
        key = explanation_key(explanation, listed)
        if compact is None:
            compact = _compact(explanation)
        elif type(compact) is str:
            compact = compact.encode("utf-8", "surrogatepass")
        entry = CachedExplanation(key, compact, listed, record, as_of, text)
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
