"""Running the service in production: :func:`uvicorn_config` builds the server, :func:`serve` runs it.

``painkg serve`` calls :func:`serve`; the tests build their servers with
:func:`uvicorn_config` too (``tests/serve_support.py``), so what they check is
what runs. The limits are :class:`~kg.serve.http_limits.ServeLimits`, the
:class:`~kg.serve.settings.ServeSettings` fields of the same names
(``header_timeout_s``, ``body_timeout_s``, ``keep_alive_s``, ``max_connections``,
``backlog``, ``max_head_bytes``, ``max_uploads``, ``max_body_bytes``, ``patient_body_bytes``; and
``log_level``; see docs/serve.md, "Running in production"). uvicorn runs with:

- uvicorn's httptools protocol where httptools is installed, else its h11 one
  (``http_parser``: ``auto``, ``h11``, ``httptools``), with the guards of
  :mod:`kg.serve.http_protocol` (header timeout, connection cap, JSON errors),
  and no WebSocket protocol (``ws="none"``);
- ``timeout_keep_alive`` = ``keep_alive_s``, ``backlog`` (2048), a graceful
  shutdown of at most ``body_timeout_s`` + 5 s (35 s; requests in progress end
  with their answer or their 408), no access log (a reverse proxy keeps one);
- the log configuration of :mod:`kg.serve.log_limits` (a flood of refusals
  writes at most a few lines a second).

>>> from kg.serve.app import create_app
>>> from kg.serve.settings import ServeSettings
>>> settings = ServeSettings(port=0, keep_alive_s=2)
>>> config = uvicorn_config(create_app(settings), settings)
>>> (config.port, config.ws, config.timeout_keep_alive, config.http.limits.header_timeout_s)
(0, 'none', 2, 10.0)
"""

from __future__ import annotations

from .http_limits import serve_limits

__all__ = ["uvicorn_config", "serve", "run_server", "raise_file_limit", "fit_file_limit"]


def uvicorn_config(app, settings):
    """The ``uvicorn.Config`` that runs ``app`` as ``settings`` asks (host, port, limits, logging)."""
    import math

    import uvicorn

    from .http_protocol import guarded_protocol
    from .log_limits import log_config

    limits = serve_limits(settings)
    level = settings.log_level
    protocol = guarded_protocol(limits, settings.http_parser)
    return uvicorn.Config(app, host=settings.host, port=settings.port, http=protocol, ws="none",
                          lifespan="on", log_config=log_config(level), log_level=level, access_log=False,
                          timeout_keep_alive=max(1, math.ceil(limits.keep_alive_s)), backlog=limits.backlog,
                          h11_max_incomplete_event_size=limits.max_head_bytes,
                          # Long enough for a stalled upload to end with its 408, not be cancelled (a traceback).
                          timeout_graceful_shutdown=math.ceil(max(limits.body_timeout_s, 10.0) + 5))


def raise_file_limit(wanted: int) -> int:
    """Raise this process's soft limit of open files toward ``wanted`` (never above the hard limit); the new limit.

    Each connection holds a descriptor: the limit must stay above the connection cap, or the accept loop fails
    (``EMFILE``) and ``/healthz`` stops answering.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def serve(settings, *, app=None) -> int:
    """Serve ``app`` (default: built from ``settings``) until interrupted: what ``painkg serve`` runs; the exit
    status (0, or 1 when one of ``settings.processes`` server processes crashed at its start).

    With ``settings.processes`` over 1 the socket is bound once and served by that many processes
    (:func:`kg.serve.processes.serve_processes`; the CDS replay guard is then shared through
    ``settings.replay_store``, :mod:`kg.serve.replay_guard`).

    A bad ``--store`` or limit is :class:`~kg.errors.InputError` before anything listens (a caller that
    builds ``app`` itself, to report those before it prints where it listens, passes it).
    """
    import uvicorn

    from .app import create_app

    import gc

    settings = fit_file_limit(settings)
    app = app if app is not None else create_app(settings)
    # Everything built so far (the ontology, rules, app, warm-up: ~100,000 objects) lives as long as
    # the server: freeze it so the collector's full passes do not walk it on every request burst
    # (those passes were the 60-150 ms pauses in /explain's p99 at 50 clients).
    gc.collect()
    gc.freeze()
    # A request allocates a few thousand short-lived objects: collect the young generation after
    # 20,000 allocations, not 700, so full passes come far less often (latency, not memory: the
    # caches are bounded).
    gc.set_threshold(20_000, 20, 20)
    config = uvicorn_config(app, settings)
    if settings.processes > 1:
        # Bound once here, served by that many forked processes (kg.serve.processes): the app built above, its
        # frozen objects shared copy-on-write. A status of 1 means a process crashed at its start.
        from .processes import serve_processes

        return serve_processes(config, settings.processes)
    uvicorn.Server(config).run()
    return 0


#: The package root's name for :func:`serve` (``kg.run_server``): ``kg.serve`` is this package.
run_server = serve


#: Descriptors kept for what is not a connection: the store, the log, the engines' files, the listening socket.
RESERVED_FILES = 128


def fit_file_limit(settings):
    """``settings`` with a ``max_connections`` and ``backlog`` the open-file limit can hold (raised first where
    it may be).

    A server holds up to twice the cap (those over it are accepted, then closed at once), and accepts up to
    ``backlog`` queued connections in one burst before it can close any: past the limit the accept loop fails
    with ``EMFILE`` on every turn, ``/healthz`` stops answering and the log fills. Both are lowered to fit,
    with one log line, rather than let that happen.
    """
    import dataclasses
    import logging

    limits = serve_limits(settings)
    files = raise_file_limit(2 * limits.max_connections + limits.backlog + RESERVED_FILES)
    budget = max(files - RESERVED_FILES, 8)
    if 2 * limits.max_connections + limits.backlog <= budget:
        return settings
    backlog = min(limits.backlog, max(4, budget // 4))
    cap = max(1, min(limits.max_connections, (budget - backlog) // 2))
    logging.getLogger("kg.serve").warning("max_connections lowered from %d to %d and backlog from %d to %d: the "
                                          "open-file limit is %d (raise it with ulimit -n)", limits.max_connections,
                                          cap, limits.backlog, backlog, files)
    return dataclasses.replace(settings, max_connections=cap, backlog=backlog)
