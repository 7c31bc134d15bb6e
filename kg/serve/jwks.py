"""The JWK Sets that CDS clients publish at their ``jwks_url``: fetched rarely, bounded in time and size.

Only used when the operator set ``ServeSettings.fetch_jwks`` and only for the
``jwks_url`` of a configured issuer (never a URL a token names). Every fetch
happens on a worker thread (the router runs verification off the event
loop), and :class:`JwksCache` makes sure a caller cannot make the service fetch
often, whatever kids its tokens name:

* a fetched set is reused for :data:`JWKS_TTL_S` seconds;
* a kid that is not in the set is answered "not found" from the cache: the
  set is fetched again for an unknown kid (the client may have rotated its
  keys) at most once per :data:`REFRESH_AFTER_S` seconds per URL, whatever the kid;
* a URL whose fetch failed is not fetched again for :data:`FAILURE_BACKOFF_S`
  seconds;
* one fetch per URL at a time (others wait for its result, at most
  :data:`FETCH_TIMEOUT_S` plus a second), and each fetch ends within about
  :data:`FETCH_TIMEOUT_S` seconds and :data:`MAX_JWKS_BYTES` bytes.

>>> calls = []
>>> def fetch(url, timeout):
...     calls.append(url)
...     return {"keys": [{"kid": "k1", "kty": "EC"}]}
>>> cache = JwksCache(fetch=fetch, clock=lambda: 1000.0)
>>> cache.find("https://ehr.example.org/jwks", "k1")["kty"]
'EC'
>>> cache.find("https://ehr.example.org/jwks", "rotated?") is None   # a miss: not fetched again yet
True
>>> len(calls)
1
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from .jwt_parts import TokenError

__all__ = ["JwksCache", "fetch_jwks", "find_jwk", "JWKS_TTL_S", "REFRESH_AFTER_S", "FAILURE_BACKOFF_S",
           "FETCH_TIMEOUT_S", "MAX_JWKS_BYTES"]

#: How long a fetched JWK Set is reused before it is fetched again, in seconds.
JWKS_TTL_S = 300.0
#: Shortest time between two fetches of one URL prompted by unknown kids, in seconds.
REFRESH_AFTER_S = 60.0
#: How long a URL whose fetch failed is left alone, in seconds.
FAILURE_BACKOFF_S = 30.0
#: The longest one fetch may take (connect, send, read: in total), in seconds.
FETCH_TIMEOUT_S = 3.0
#: The largest JWK Set accepted, in bytes.
MAX_JWKS_BYTES = 256 * 1024


@dataclass
class _Entry:
    document: dict | None = None  # the last JWK Set fetched
    fetched_at: float = float("-inf")  # when it was fetched (clock time)
    failed_at: float = float("-inf")  # when a fetch last failed
    failure: str = ""  # why


class JwksCache:
    """JWK Sets by URL, with their misses and failures remembered (see the module docstring).

    ``fetch(url, timeout)`` returns the JWK Set or raises :class:`TokenError`
    (default :func:`fetch_jwks`); ``clock`` is a monotonic clock in seconds.
    """

    def __init__(self, *, fetch: Callable[[str, float], dict] | None = None, clock: Callable[[], float] = time.monotonic,
                 ttl: float = JWKS_TTL_S, refresh_after: float = REFRESH_AFTER_S,
                 failure_backoff: float = FAILURE_BACKOFF_S, timeout: float = FETCH_TIMEOUT_S):
        self._fetch = fetch or fetch_jwks
        self._clock = clock
        self.ttl, self.refresh_after, self.failure_backoff, self.timeout = ttl, refresh_after, failure_backoff, timeout
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.fetches = 0  # how many fetches were started (for tests and the operator)

    def find(self, url: str, kid: str) -> dict | None:
        """The JWK named ``kid`` in the set at ``url``, or None; fetches only as the rules above allow."""
        with self._guard:
            lock = self._locks.setdefault(url, threading.Lock())
            entry = self._entries.setdefault(url, _Entry())
        # One fetch per URL at a time: a caller that finds a fetch running waits for it, bounded.
        if not lock.acquire(timeout=self.timeout + 1.0):
            raise TokenError("issuer keys unavailable", "the issuer's JWK Set is being fetched; try again")
        try:
            return self._find_locked(url, kid, entry)
        finally:
            lock.release()

    def _find_locked(self, url: str, kid: str, entry: _Entry) -> dict | None:
        now = self._clock()
        fresh = entry.document is not None and now - entry.fetched_at < self.ttl
        if fresh:
            jwk = find_jwk(entry.document, kid)
            # A known kid, or an unknown one asked again too soon: answered from the cache (a remembered miss).
            if jwk is not None or now - entry.fetched_at < self.refresh_after:
                return jwk
        if now - entry.failed_at < self.failure_backoff:
            if fresh:
                return None
            raise TokenError("issuer keys unavailable", f"{entry.failure} (not retried for "
                                                        f"{self.failure_backoff:.0f} s)")
        self.fetches += 1
        try:
            document = self._fetch(url, self.timeout)
        except TokenError as exc:
            entry.failed_at, entry.failure = self._clock(), exc.detail or exc.reason
            raise
        entry.document, entry.fetched_at = document, self._clock()
        return find_jwk(document, kid)


def find_jwk(jwks: object, kid: str) -> dict | None:
    """The key of ``jwks`` (a JWK Set) whose ``kid`` is ``kid``, or None.

    >>> find_jwk({"keys": [{"kid": "a"}, "junk", {"kid": "b"}]}, "b")
    {'kid': 'b'}
    >>> find_jwk(["not", "a", "set"], "a") is None
    True
    """
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    for jwk in keys if isinstance(keys, list) else ():
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            return jwk
    return None


def fetch_jwks(url: str, timeout: float = FETCH_TIMEOUT_S) -> dict:
    """GET the JWK Set at ``url``, within ``timeout`` seconds in all and :data:`MAX_JWKS_BYTES`; TokenError if not."""
    import json

    import httpx

    shown = url[:120]
    deadline = time.monotonic() + timeout
    chunks, size = [], 0
    try:
        # httpx's timeout bounds each step; the deadline bounds them together (a server that drips bytes).
        with httpx.stream("GET", url, timeout=httpx.Timeout(timeout), follow_redirects=False,
                          headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise TokenError("issuer keys unavailable", f"fetching {shown} answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_JWKS_BYTES:
                    raise TokenError("issuer keys unavailable", f"{shown} is larger than {MAX_JWKS_BYTES:,} bytes")
                if time.monotonic() > deadline:
                    raise TokenError("issuer keys unavailable", f"fetching {shown} took over {timeout:g} s")
                chunks.append(chunk)
        document = json.loads(b"".join(chunks))
    except httpx.HTTPError as exc:
        raise TokenError("issuer keys unavailable", f"fetching {shown} failed ({type(exc).__name__})") from None
    except (ValueError, RecursionError):
        raise TokenError("issuer keys unavailable", f"{shown} did not return JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise TokenError("issuer keys unavailable", f"{shown} did not return a JWK Set")
    return document
