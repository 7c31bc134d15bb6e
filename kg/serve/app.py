"""The ASGI application of ``painkg serve``: :func:`create_app` builds it from :class:`ServeSettings`.

Faces: the explain API (:mod:`kg.serve.explain_api`), CDS Hooks
(:mod:`kg.serve.cds_hooks`), the SPARQL 1.1 Protocol (:mod:`kg.serve.sparql_protocol`)
and the pages (:mod:`kg.serve.pages`), plus ``GET /healthz`` (readiness: :mod:`kg.serve.health`), ``GET /openapi.json``,
``GET /docs`` (a page of ours listing the endpoints: nothing is fetched from a
CDN, so it works offline) and the vendored front-end files under ``/static/``.
The app holds everything it needs (settings, its engine threads, the
explanations the pages link to: :mod:`kg.serve.explanation_cache`, bounded by
``settings.explanation_cache``) in ``app.state``; there is no global
mutable state, so two apps with different settings can run side by side.

Every error is a JSON body ``{"error", "field", "status"}`` (:mod:`kg.serve.http_errors`),
with the CORS headers when CORS is on (:mod:`kg.serve.http_guards`); ``HEAD`` is
answered wherever ``GET`` is. Bodies over the route's limit are refused with 413
before they are read, and uploads at once and their time are bounded
(:mod:`kg.serve.http_limits`); the server itself is set up by :mod:`kg.serve.run`.

>>> from kg.serve.settings import ServeSettings
>>> app = create_app(ServeSettings())
>>> sorted(p for p in app.openapi()["paths"] if p.startswith("/ex"))
['/explain', '/explanations/{key}', '/explanations/{key}/graph']
"""

from __future__ import annotations

import contextlib
from importlib import resources

from .settings import ServeSettings

__all__ = ["create_app", "check_store"]


def check_store(settings: ServeSettings) -> None:
    """Raise :class:`~kg.errors.InputError` (field ``--store``) unless ``settings.store`` is None or a painkg store."""
    if settings.store is None:
        return
    from ..errors import InputError
    from ..store.persistent import store_for_query

    try:
        with store_for_query(settings.store):
            pass
    except InputError as exc:
        raise InputError("--store", message=exc.message) from None


def create_app(settings: ServeSettings):
    """The FastAPI app for ``settings`` (see the module docstring)."""
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    from .. import __version__
    from .auth import check_auth_settings
    from .engines import EnginePool
    from .health import health_router
    from .explanation_cache import ExplanationCache
    from .explain_api import explain_router
    from .http_errors import install_error_handlers
    from .http_guards import HeadMiddleware, InternalErrorMiddleware, JsonCORSMiddleware
    from .http_limits import RequestLimitsMiddleware, serve_limits
    from .pages import pages_router
    from .sparql_protocol import sparql_router

    check_store(settings)
    check_auth_settings(settings)  # --base-url is required when tokens are verified
    limits = serve_limits(settings)  # checked when the settings were built: InputError before anything starts
    engines = EnginePool(settings.workers)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        engines.close()

    app = FastAPI(title="painkg", version=__version__, lifespan=lifespan,
                  description="Why does this patient's pain persist? The explain API, CDS Hooks, a SPARQL 1.1 "
                              "endpoint and explanation pages. painkg is a reasoning aid, not a diagnosis.",
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engines = engines
    app.state.explanations = ExplanationCache(settings.explanation_cache)
    install_error_handlers(app)

    # The CDS hook first: its calls are the most frequent, and each route tried before the match costs
    # it (~10% of a call with the CDS router fifth). No other route matches a /cds-services path, nor
    # any CDS route another path, so every answer is the same; the documented order is kept below.
    from .cds_hooks import cds_router

    app.include_router(cds_router(settings))
    # Readiness, not liveness: /healthz runs a trivial query through the real worker path.
    app.include_router(health_router(settings))

    @app.get("/docs", include_in_schema=False)
    async def docs():
        from starlette.responses import HTMLResponse

        from .page_html import docs_page

        return HTMLResponse(docs_page(_endpoints(app.openapi())))

    app.include_router(explain_router())
    app.include_router(sparql_router(settings))
    app.include_router(pages_router(settings))
    _document_cds_after_sparql(app)
    static = resources.files("kg").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    # Added innermost first. From the outside in: HEAD runs as GET; CORS, so that every error answer below
    # carries its headers; the request limits (size, uploads, time) before any routing or parsing; the JSON 500.
    app.add_middleware(InternalErrorMiddleware)
    app.add_middleware(RequestLimitsMiddleware, limits=limits)
    if settings.cors_origins:
        app.add_middleware(JsonCORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Accept", "Authorization"], max_age=600)
    app.add_middleware(HeadMiddleware)
    return app


def _document_cds_after_sparql(app) -> None:
    """Keep ``/openapi.json`` (and ``/docs``) listing the CDS paths after ``/sparql``, where they were before
    the CDS router was matched first: the schema FastAPI builds, its paths in that order."""
    built = app.openapi

    def openapi() -> dict:
        schema = built()
        paths = schema.get("paths", {})
        if next(iter(paths), "").startswith("/cds-services"):
            cds = [p for p in paths if p.startswith("/cds-services")]
            rest = [p for p in paths if not p.startswith("/cds-services")]
            at = next((n + 1 for n, p in enumerate(rest) if p == "/sparql"), len(rest))
            schema["paths"] = {p: paths[p] for p in rest[:at] + cds + rest[at:]}
        return schema

    app.openapi = openapi


def _endpoints(openapi: dict) -> list[tuple[str, str, str]]:
    """(method, path, summary) of every operation in an OpenAPI document, in its order."""
    return [(method.upper(), path, op.get("summary", "")) for path, ops in openapi.get("paths", {}).items()
            for method, op in ops.items() if isinstance(op, dict)]
