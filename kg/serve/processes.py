"""Several server processes on one port (``painkg serve --processes N``): hold the port, fork N, supervise.

The parent binds the port (``SO_REUSEPORT``, not listening: it holds the port,
also while a process is restarted), then forks ``N`` children that each listen
on a socket of their own bound to that port with ``SO_REUSEPORT`` and run the
same uvicorn server (:func:`kg.serve.run.uvicorn_config`) on it: the kernel
spreads the new connections evenly among the listening processes. One socket
shared by all would not: asyncio accepts every pending connection in one go,
so the first process to wake took all 50 clients of a burst (measured: the
other one idle). Only processes of the same user can join the port. The app is built in
the parent before the fork, with no thread started yet (its engine threads and
query workers start on first use, in each child), so the children share its
memory copy-on-write and start at once.

The parent only supervises (POSIX only):

* SIGTERM or SIGINT to the parent: SIGTERM to every child (each ends its
  requests in progress, as one server does), then SIGKILL to any still alive
  after the grace period; the parent returns once all are reaped.
* A child that dies is started again, unless it died within
  :data:`CRASH_WINDOW_S` of its start (a crash loop: a bad store, an exhausted
  resource): then the whole service stops and :func:`serve_processes` returns
  1, for the process manager (systemd ``Restart=on-failure``) to act on.
* No orphans: each child asks the kernel for SIGTERM when its parent dies
  (``PR_SET_PDEATHSIG``), so even a SIGKILL of the parent stops them.

What must be shared between the children is shared outside them: the CDS JWT
replay guard through Redis (:mod:`kg.serve.replay_guard`); everything else a
child keeps (caches, engines) is per process and safe to lose.

Two sockets on one port, as the parent and a process hold it:

>>> held = _reuseport_socket("127.0.0.1", 0)
>>> own = _reuseport_socket("127.0.0.1", held.getsockname()[1])
>>> own.getsockname() == held.getsockname()
True
>>> own.close(); held.close()
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

__all__ = ["serve_processes", "CRASH_WINDOW_S"]

_log = logging.getLogger("kg.serve")

#: A child that dies sooner than this after its start is not restarted: the whole service stops.
CRASH_WINDOW_S = 10.0
_STOP = {signal.SIGTERM, signal.SIGINT}
_WATCHED = _STOP | {signal.SIGCHLD}
_PR_SET_PDEATHSIG = 1


def serve_processes(config, count: int, *, grace_s: float | None = None) -> int:
    """Run ``count`` processes of the uvicorn server ``config`` on one socket until SIGTERM/SIGINT; the exit status
    (0: stopped by a signal; 1: a child crashed at start)."""
    if threading.active_count() > 1:  # a thread forked in a held lock would deadlock the child
        _log.warning("%d threads run before the fork: their locks may be held in the server processes",
                     threading.active_count())
    grace_s = grace_s if grace_s is not None else float(config.timeout_graceful_shutdown or 30) + 5
    try:
        sock = _reuseport_socket(config.host, config.port)  # holds the port; port 0: the one the system picked
    except OSError as exc:  # as uvicorn says it for one process: one line, exit status 1
        _log.error("painkg serve: cannot listen on %s:%s: %s", config.host, config.port, exc.strerror or exc)
        return 1
    parent = os.getpid()
    # Signals are taken synchronously (sigtimedwait), never in a handler that could interrupt a fork.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    old_chld = signal.signal(signal.SIGCHLD, lambda *_: None)  # queued while blocked, whatever the default
    children: dict[int, float] = {}
    status = 0
    try:
        for _ in range(count):
            pid = _fork(config, sock, parent, old_mask)
            children[pid] = time.monotonic()
        _log.info("painkg serve: %d processes (%s) on %s:%s", count, ", ".join(map(str, children)), config.host,
                  sock.getsockname()[1])
        while True:
            info = signal.sigtimedwait(_WATCHED, 1.0)
            if info is not None and info.si_signo in _STOP:
                _log.info("painkg serve: stopping %d processes", len(children))
                break
            crashed = False
            for pid, code in _reap(children):
                started = children.pop(pid)
                _log.error("painkg serve: process %d ended (%s)", pid, code)
                if time.monotonic() - started < CRASH_WINDOW_S:
                    crashed = True
                else:
                    new = _fork(config, sock, parent, old_mask)
                    children[new] = time.monotonic()
                    _log.info("painkg serve: process %d started in its place", new)
            if crashed:
                _log.error("painkg serve: a process ended within %g s of its start: stopping the service",
                           CRASH_WINDOW_S)
                status = 1
                break
    finally:
        _stop(children, grace_s)
        sock.close()
        signal.signal(signal.SIGCHLD, old_chld)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    return status


def _fork(config, sock, parent: int, old_mask) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:  # the child: never returns into the parent's code, whatever happens
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        _die_with(parent)
        import uvicorn

        own = _reuseport_socket(config.host, sock.getsockname()[1])
        sock.close()  # the parent's, which never listens
        uvicorn.Server(config).run(sockets=[own])
        code = 0
    except BaseException:  # noqa: BLE001 - logged; the parent sees the exit status
        _log.exception("painkg serve: process %d failed", os.getpid())
    finally:
        logging.shutdown()
        os._exit(code)


def _reuseport_socket(host: str, port: int):
    """A TCP socket bound to ``host``:``port`` with ``SO_REUSEPORT`` (not listening yet)."""
    import socket

    # proto given, as uvicorn does: asyncio sets TCP_NODELAY on accepted connections only when the listening
    # socket says IPPROTO_TCP (with 0, each small answer waited ~40 ms for the client's delayed ACK).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _die_with(parent: int) -> None:
    """Ask for SIGTERM when the parent dies (Linux); if it is already gone, stop now."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the parent's stop still reaches us
        pass
    if os.getppid() != parent:
        os._exit(0)


def _reap(children: dict[int, float]):
    """(pid, how it ended) of each child that has ended, without waiting."""
    ended = []
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid in children:
            ended.append((pid, _how(status)))
    return ended


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _stop(children: dict[int, float], grace_s: float) -> None:
    """SIGTERM to every child, SIGKILL to those alive after ``grace_s``; reap them all."""
    for pid in children:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while children and time.monotonic() < deadline:
        for pid, _ in _reap(children):
            children.pop(pid, None)
        time.sleep(0.05)
    for pid in children:
        _log.error("painkg serve: process %d did not stop in %g s: killed", pid, grace_s)
        _signal(pid, signal.SIGKILL)
    for pid in list(children):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        children.pop(pid, None)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
