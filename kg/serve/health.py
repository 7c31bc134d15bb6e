"""``GET /healthz`` (and ``HEAD``): readiness of the faces the service vouches for, not just liveness.

The check runs a trivial query through the real query path (the lexical
check, a forked worker, rdflib's parse check, Oxigraph; with ``--store`` the
worker opens the store read-only and the query reads it), so a damaged parser,
a store that cannot be opened or read, or a worker that cannot start make
``/healthz`` answer **503** with the JSON error body naming what failed
(``field``: ``sparql`` or ``store``) and ``checks``; otherwise **200**
``{"status": "ok", "version", "store", "checks"}``.

The result is kept for ``settings.health_ttl_s`` seconds (``painkg serve --health-ttl``; default
:data:`DEFAULT_TTL_S`): a storm of ``/healthz`` forks one worker per period,
and concurrent callers share the one check in flight; while it runs, the kept
result answers at once if it is at most :data:`STALE_TTLS` periods old, so
``/healthz`` stays fast while heavy queries load the machine. The check does not wait
in the query queue (:mod:`kg.serve.sparql_queue`) behind heavy queries; it has
its own short timeout (:data:`CHECK_TIMEOUT_S`).

>>> from kg.serve.settings import ServeSettings
>>> [r.path for r in health_router(ServeSettings()).routes]
['/healthz']
"""

# No "from __future__ import annotations": FastAPI reads the handler's Request annotation at run time.
import asyncio
import time

__all__ = ["health_router", "HealthCheck", "check_once", "DEFAULT_TTL_S", "CHECK_TIMEOUT_S"]

#: Seconds a check result is reused.
DEFAULT_TTL_S = 5.0
#: Seconds the check's query may take.
CHECK_TIMEOUT_S = 10.0
#: A kept result is still answered, while a new check runs, until it is this many ttl old.
STALE_TTLS = 3
#: The check's query: parsed like any other, and with a store it reads it (the ontology graph is there).
CHECK_QUERY = "ASK { ?s ?p ?o }"


def check_once(settings) -> dict:
    """Run the check now (blocking): ``{"sparql": "ok" | message, "store": "ok" | message | "none"}``."""
    from dataclasses import replace

    from ..errors import InputError
    from .sparql_protocol import run_sparql

    checks = {"sparql": "ok", "store": "none" if settings.store is None else "ok"}
    try:
        answer = run_sparql(replace(settings, sparql_timeout_s=min(settings.sparql_timeout_s, CHECK_TIMEOUT_S)),
                            CHECK_QUERY)
    except InputError as exc:
        message = str(exc)
        store_trouble = settings.store is not None and ("store" in exc.field or "store" in message.lower())
        checks["store" if store_trouble else "sparql"] = message[:300]
        return checks
    except Exception as exc:  # noqa: BLE001 - a readiness check reports, never raises
        checks["sparql"] = f"the query path failed ({type(exc).__name__})"
        return checks
    if settings.store is not None and not answer.askAnswer:
        checks["store"] = "store: the store answered no triples (not the store painkg batch --store writes?)"
    return checks


class HealthCheck:
    """The latest check's result, refreshed at most once per ``ttl`` seconds, one refresh at a time."""

    def __init__(self, settings, ttl: float = DEFAULT_TTL_S):
        self.settings = settings
        self.ttl = ttl
        self._result: dict | None = None
        self._at = float("-inf")
        self._running: asyncio.Future | None = None
        #: How many checks ran (each forks one query worker).
        self.runs = 0

    async def result(self) -> dict:
        """The checks, run again if the kept ones are older than ``ttl`` (concurrent callers share a run).

        While a new check runs, a kept result not older than ``STALE_TTLS * ttl`` is answered at once (the
        check forks a worker, which takes long on a loaded machine); without one, callers wait for it.
        """
        age = time.monotonic() - self._at
        if self._result is not None and age < self.ttl:
            return self._result
        if self._running is None:
            from starlette.concurrency import run_in_threadpool

            self.runs += 1
            self._running = asyncio.ensure_future(run_in_threadpool(check_once, self.settings))
            self._running.add_done_callback(self._keep)
        if self._result is not None and age < STALE_TTLS * self.ttl:
            return self._result
        # shield: a caller that goes away does not cancel the check the others wait for
        return await asyncio.shield(self._running)

    def _keep(self, done: asyncio.Future) -> None:
        """Keep a finished check's result (on the event loop, so no lock is needed)."""
        self._running = None
        if not done.cancelled() and done.exception() is None:
            self._result, self._at = done.result(), time.monotonic()


def health_router(settings):
    """The APIRouter of ``GET``/``HEAD /healthz`` for ``settings`` (one :class:`HealthCheck` per app,
    ``app.state.health_check``)."""
    from fastapi import APIRouter, Request
    from starlette.responses import JSONResponse

    from .. import __version__
    from .http_errors import error_body

    router = APIRouter(tags=["service"])
    ttl = settings.health_ttl_s

    def check_of(request) -> HealthCheck:
        # One per app, in app.state (made on first use; the event loop runs one coroutine at a time).
        state = request.app.state
        check = getattr(state, "health_check", None)
        if check is None:
            check = state.health_check = HealthCheck(settings, ttl)
        return check

    @router.get("/healthz",
                      summary="Readiness: 200 {\"status\": \"ok\"} when SPARQL (and the store) answer, else 503",
                      responses={503: {"description": "Not ready: the JSON error names the failed check"}})
    async def healthz(request: Request):
        checks = await check_of(request).result()
        failed = [name for name in ("store", "sparql") if checks[name] not in ("ok", "none")]
        if failed:
            body = error_body(503, failed[0], checks[failed[0]], checks=checks, version=__version__,
                              store=settings.store is not None)
            return JSONResponse(body, status_code=503, headers={"Retry-After": "5", "Cache-Control": "no-store"})
        return JSONResponse({"status": "ok", "version": __version__, "store": settings.store is not None,
                             "checks": checks}, headers={"Cache-Control": "no-store"})

    return router
