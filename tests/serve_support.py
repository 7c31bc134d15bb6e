"""Start the real ``painkg serve`` application on a free loopback port, for the serve tests.

``serve_url(settings)`` is a context manager: it builds the app with
:func:`kg.serve.app.create_app`, runs it as production does (uvicorn set up by
:func:`kg.serve.run.uvicorn_config`: its protocol, limits and logging) in a background thread bound to
127.0.0.1 on a port the OS picks, waits until it answers, yields the base URL
(``http://127.0.0.1:PORT``, no trailing slash) and stops the server on exit.

The ``live_server`` fixture is one such server for a whole test module with the
default settings plus ``cds_open=True`` (tests of CDS auth build their own with
``serve_url``). Import it into a test module with
``from serve_support import live_server  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest

__all__ = ["serve_url", "live_server", "http"]


@contextlib.contextmanager
def serve_url(settings=None, *, startup_timeout: float = 30.0, app=None) -> Iterator[str]:
    """Run the app for ``settings`` (default: ``ServeSettings(cds_open=True)``) and yield its base URL.

    ``app`` is an app already built from ``settings`` (a test may add a route to it); by default one is built.
    """
    import uvicorn

    from kg.serve.app import create_app
    from kg.serve.run import uvicorn_config
    from kg.serve.settings import ServeSettings

    settings = settings if settings is not None else ServeSettings(cds_open=True)
    settings = replace(settings, host="127.0.0.1", port=0,
                       log_level="warning" if settings.log_level == "info" else settings.log_level)
    app = app if app is not None else create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, settings))  # the production setup (kg.serve.run)
    server.install_signal_handlers = lambda: None  # not the main thread
    thread = threading.Thread(target=server.run, name="painkg-serve-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped before it started")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the test server did not start in time")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert response.status == 200
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_until_healthy(base: str, proc, log, *, timeout: float = 60.0) -> None:
    """Wait for a ``painkg serve`` subprocess at ``base`` to answer ``/healthz`` with 200; fail with its log
    if the process ends first or the time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=10) as answer:
                assert answer.status == 200
                return
        except OSError:
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "painkg serve did not answer /healthz in time"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """A running server (``cds_open=True``, no store) for the module; yields its base URL."""
    from kg.serve.settings import ServeSettings

    with serve_url(ServeSettings(cds_open=True)) as base:
        yield base


def http(method: str, url: str, *, body: bytes | str | None = None, headers: dict | None = None,
         timeout: float = 60.0):
    """One HTTP request with the standard library: ``(status, headers, body bytes)``, 4xx/5xx included."""
    import urllib.error

    data = body.encode("utf-8") if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()
