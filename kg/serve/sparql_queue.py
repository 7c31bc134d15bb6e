"""Admission to the store's query worker: at most N queries run, at most M wait, none waits long.

Each SPARQL query (``/sparql``, ``/patients``, ``/patients/{id}``) forks a
worker process (:mod:`kg.store.query_guard`) that may run for up to the query
timeout. Without a bound, four heavy queries kept a trivial ``ASK {}`` waiting
58 s. :class:`QueryQueue` lets ``running`` queries run at once (default 2: the
cores of the machine it was sized on), lets ``waiting`` more wait (default 8),
and refuses a query that would be the next waiting one, or that waited
``max_wait_s`` seconds (default 5) without a turn, with :class:`QueueFull`,
which the routes answer as 503 with ``Retry-After`` and the JSON error body.

The queue lives in ``app.state`` (:func:`queue_of`): one per app, shared by the
routes that read the store, so two apps in one process do not share limits.
Its settings are the ``ServeSettings`` fields ``sparql_concurrency``,
``sparql_queue`` and ``sparql_max_wait_s`` (``painkg serve --sparql-concurrency``,
``--sparql-queue``, ``--sparql-max-wait``).

>>> import asyncio
>>> async def demo():
...     q = QueryQueue(running=1, waiting=0, max_wait_s=1)
...     async with q.turn():
...         try:
...             async with q.turn():
...                 pass
...         except QueueFull as exc:
...             return exc.retry_after, q.stats()
>>> asyncio.run(demo())
(5, {'running': 1, 'waiting': 0, 'max_running': 1, 'max_waiting': 0})
"""

from __future__ import annotations

import asyncio
import contextlib
import math

__all__ = ["QueryQueue", "QueueFull", "queue_of", "run_queued", "busy_response", "DEFAULT_RUNNING", "DEFAULT_WAITING",
           "DEFAULT_MAX_WAIT_S"]

#: Queries run at once (one worker process each; the machine has 2 cores).
DEFAULT_RUNNING = 2
#: Queries that may wait for a turn; the next one is refused.
DEFAULT_WAITING = 8
#: Seconds a query may wait for its turn before it is refused.
DEFAULT_MAX_WAIT_S = 5.0


class QueueFull(Exception):
    """No turn for this query now: answer 503 with ``Retry-After: retry_after``."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class QueryQueue:
    """At most ``running`` holders of a turn at once, at most ``waiting`` waiting, each at most ``max_wait_s``."""

    def __init__(self, running: int = DEFAULT_RUNNING, waiting: int = DEFAULT_WAITING,
                 max_wait_s: float = DEFAULT_MAX_WAIT_S):
        if running < 1 or waiting < 0 or not max_wait_s > 0:
            raise ValueError("running >= 1, waiting >= 0 and max_wait_s > 0 are needed")
        self.max_running = running
        self.max_waiting = waiting
        self.max_wait_s = max_wait_s
        self._slots = asyncio.Semaphore(running)
        self._running = 0
        self._waiting = 0

    @classmethod
    def from_settings(cls, settings) -> "QueryQueue":
        """The queue ``settings`` asks for (its ``sparql_concurrency``, ``sparql_queue``, ``sparql_max_wait_s``)."""
        return cls(settings.sparql_concurrency, settings.sparql_queue, settings.sparql_max_wait_s)

    def stats(self) -> dict:
        """How many run and wait now, and the bounds."""
        return {"running": self._running, "waiting": self._waiting, "max_running": self.max_running,
                "max_waiting": self.max_waiting}

    def _retry_after(self) -> int:
        # Roughly when a turn may be free: the wait bound, at least a few seconds.
        return max(5, math.ceil(self.max_wait_s))

    @contextlib.asynccontextmanager
    async def turn(self):
        """Hold one of the running turns for the ``async with`` block, or raise :class:`QueueFull`."""
        if self._running >= self.max_running or self._waiting:  # first come, first served
            if self._waiting >= self.max_waiting:
                raise QueueFull(f"query: the server is busy ({_queries(self.max_running)} running and "
                                f"{self.max_waiting} waiting, its limit); try again later", self._retry_after())
            self._waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self.max_wait_s)
            except asyncio.TimeoutError:
                raise QueueFull(f"query: waited {self.max_wait_s:g} s for a turn behind {_queries(self.max_running)} "
                                "running; try again later", self._retry_after()) from None
            finally:
                self._waiting -= 1
        else:
            await self._slots.acquire()
        self._running += 1
        try:
            yield
        finally:
            self._running -= 1
            self._slots.release()


def _queries(n: int) -> str:
    return f"{n} query" if n == 1 else f"{n} queries"


def queue_of(request, settings) -> QueryQueue:
    """The app's queue (made on first use; the event loop runs one coroutine at a time, so no race)."""
    state = request.app.state
    queue = getattr(state, "sparql_queue", None)
    if queue is None:
        queue = state.sparql_queue = QueryQueue.from_settings(settings)
    return queue


def busy_response(exc: QueueFull):
    """503, ``Retry-After`` and the JSON error body (field ``query``)."""
    from .http_errors import error_response

    return error_response(503, "query", exc.message, headers={"Retry-After": str(exc.retry_after)},
                          retry_after=exc.retry_after)


async def run_queued(request, settings, fn, *args):
    """``fn(*args)`` on a worker thread once the app's queue gives a turn (raises :class:`QueueFull`)."""
    from starlette.concurrency import run_in_threadpool

    async with queue_of(request, settings).turn():
        return await run_in_threadpool(fn, *args)
