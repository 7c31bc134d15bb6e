"""The CDS JWT replay guard: each ``jti`` is accepted once while its token lives.

Two guards with one method, ``add(iss, jti, exp) -> bool`` (False: a replay):

* :class:`MemoryGuard`, the default: the ``jti`` values in this process's
  memory, bounded per issuer. Right for one server process only: a token
  replayed to another process would pass, so ``--processes`` over 1 with
  tokens verified requires the shared one (:func:`check_replay_settings`).
* :class:`RedisGuard` (``ServeSettings.replay_store = "redis://HOST:PORT/DB"``):
  ``SET painkg:jti:<issuer>:<jti> 1 NX EXAT <exp + leeway>``, one atomic command
  per call, so exactly one of any number of processes (or servers) sharing the
  Redis database accepts a given token, and Redis forgets the key when the token
  could no longer be accepted anyway. When Redis does not answer, the call is
  refused with 503 and ``Retry-After`` (:class:`ReplayStoreUnavailable`),
  never accepted unchecked.

>>> guard = MemoryGuard(limit=10)
>>> import time
>>> exp = time.time() + 60
>>> guard.add("https://ehr.example.org", "nonce-1", exp), guard.add("https://ehr.example.org", "nonce-1", exp)
(True, False)
>>> redis_key("https://ehr.example.org", "nonce-1")
'painkg:jti:23:https://ehr.example.org:nonce-1'
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict

from ..errors import InputError

__all__ = ["MemoryGuard", "RedisGuard", "ReplayStoreUnavailable", "replay_guard", "check_replay_settings",
           "redis_key", "RETRY_AFTER_S"]

_log = logging.getLogger("kg.serve")

#: Seconds a client is asked to wait (``Retry-After``) when the shared guard does not answer.
RETRY_AFTER_S = 2
#: Seconds one Redis command (or connecting) may take before the call is answered 503.
REDIS_TIMEOUT_S = 1.0


class ReplayStoreUnavailable(Exception):
    """The shared guard could not say whether a ``jti`` is new: the CDS call is answered 503 with
    ``Retry-After`` (:data:`RETRY_AFTER_S`), never with the token accepted unchecked."""


def redis_key(iss: str, jti: str) -> str:
    """The Redis key of ``jti`` from issuer ``iss`` (the issuer's length first, so no two pairs share a key)."""
    return f"painkg:jti:{len(iss)}:{iss}:{jti}"


class _Seen:
    """The ``jti`` values of one issuer still inside their token's life, bounded."""

    def __init__(self, limit: int):
        self.limit = limit
        self.entries: OrderedDict[str, float] = OrderedDict()  # jti -> exp, in arrival order

    def add(self, jti: str, exp: float, now: float, leeway: float) -> bool:
        if jti in self.entries and self.entries[jti] + leeway >= now:
            return False
        # Arrival order is close to expiry order (lifetimes are bounded): drop the expired from the front.
        while self.entries:
            oldest, exp_oldest = next(iter(self.entries.items()))
            if exp_oldest + leeway >= now:
                break
            del self.entries[oldest]
        while len(self.entries) >= self.limit:
            self.entries.popitem(last=False)
        self.entries[jti] = exp
        return True


class MemoryGuard:
    """The replay guard of one process: at most ``limit`` ``jti`` values per issuer, thread-safe."""

    def __init__(self, limit: int = 100_000, leeway: float = 30):
        self.limit = limit
        self.leeway = leeway
        self._lock = threading.Lock()
        self._seen: dict[str, _Seen] = {}

    def add(self, iss: str, jti: str, exp: float) -> bool:
        """Remember ``jti`` of ``iss`` until ``exp`` (+ leeway); False if it was already there (a replay)."""
        with self._lock:
            seen = self._seen.get(iss)
            if seen is None:
                seen = self._seen[iss] = _Seen(self.limit)
            return seen.add(jti, exp, time.time(), self.leeway)


class RedisGuard:
    """The replay guard shared through the Redis database at ``url`` (the ``redis`` package is needed)."""

    def __init__(self, url: str, leeway: float = 30):
        try:
            import redis
        except ImportError:
            raise InputError("replay_store", message="needs the redis package (pip install redis, or "
                                                     "pip install 'painkg[serve]')") from None
        self.url = url
        self.leeway = leeway
        self._errors = (redis.RedisError, OSError)
        # A pool of connections, safe across threads; it notices a fork and opens new ones in the child.
        self._client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S,
                                            socket_connect_timeout=REDIS_TIMEOUT_S, retry_on_timeout=False)

    def add(self, iss: str, jti: str, exp: float) -> bool:
        """``SET key 1 NX EXAT exp+leeway``: True if the key was new; :class:`ReplayStoreUnavailable` if no answer."""
        until = max(int(math.ceil(exp + self.leeway)), int(time.time()) + 1)
        try:
            return bool(self._client.set(redis_key(iss, jti), b"1", nx=True, exat=until))
        except self._errors as exc:
            _log.warning("CDS call refused: 503 the replay store %s did not answer (%s)", _shown(self.url),
                         type(exc).__name__)
            raise ReplayStoreUnavailable(type(exc).__name__) from None


def _shown(url: str) -> str:
    """``url`` without a password (for the log)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def replay_guard(settings, leeway: float = 30, limit: int = 100_000):
    """The guard ``settings`` asks for: Redis if ``replay_store`` is set, else this process's memory."""
    if settings.replay_store:
        return RedisGuard(settings.replay_store, leeway)
    return MemoryGuard(limit, leeway)


def check_replay_settings(settings, verifies: bool) -> None:
    """InputError (field ``replay_store``) when several processes verify tokens without a shared guard.

    >>> from kg.serve.settings import ServeSettings
    >>> check_replay_settings(ServeSettings(processes=2), verifies=True)
    Traceback (most recent call last):
    ...
    kg.errors.InputError: replay_store: is required with processes over 1 when CDS JWTs are verified: each process would remember only its own jti values, so a token replayed to another process would pass; give a shared store such as redis://127.0.0.1:6379/0
    """
    if verifies and settings.processes > 1 and not settings.replay_store:
        raise InputError("replay_store", message="is required with processes over 1 when CDS JWTs are verified: "
                                                 "each process would remember only its own jti values, so a token "
                                                 "replayed to another process would pass; give a shared store such "
                                                 "as redis://127.0.0.1:6379/0")
