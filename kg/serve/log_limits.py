"""The server log, bounded: a flood of refused requests cannot fill the disk.

:class:`RateLimitFilter` lets through at most ``per_window`` records of one
kind (logger and message template) in each ``window_s`` seconds; the first
record after a window that dropped some says how many. A record of the
process running out of descriptors (``EMFILE``: asyncio's accept loop under a
flood of connections) loses its traceback: one line says it. :func:`log_config` is
uvicorn's logging configuration with that filter on its handlers, and with the
``kg.serve`` and ``asyncio`` loggers (refusals, internal errors, an accept loop
out of descriptors) written through them. It is applied by the server
(:func:`kg.serve.run.uvicorn_config`), never on import.

>>> import logging
>>> limit = RateLimitFilter(per_window=2, window_s=60)
>>> record = lambda: logging.LogRecord("kg.serve.limits", 30, "", 0, "refused %s", ("x",), None)
>>> [limit.filter(record()) for _ in range(4)]
[True, True, False, False]
"""

from __future__ import annotations

import copy
import errno
import logging
import threading
import time

__all__ = ["RateLimitFilter", "log_config"]

_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class RateLimitFilter(logging.Filter):
    """At most ``per_window`` records of a kind per ``window_s`` seconds (thread-safe; engine threads log too)."""

    #: kinds remembered at once; past it the table starts again (a bound, should messages vary without end).
    MAX_KINDS = 1000

    def __init__(self, per_window: int = 20, window_s: float = 10.0):
        super().__init__()
        self.per_window = per_window
        self.window_s = window_s
        self._lock = threading.Lock()
        self._kinds: dict[tuple, list] = {}  # kind -> [window start, count, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, str(record.msg)[:200])
        now = time.monotonic()
        with self._lock:
            seen = self._kinds.get(kind)
            if seen is None:
                if len(self._kinds) >= self.MAX_KINDS:
                    self._kinds.clear()
                seen = self._kinds[kind] = [now, 0, 0]
            dropped = 0
            if now - seen[0] >= self.window_s:
                dropped, seen[:] = seen[2], [now, 0, 0]
            seen[1] += 1
            if seen[1] > self.per_window:
                seen[2] += 1
                return False
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_RESOURCES:
            # Out of descriptors or buffers under a flood of connections: the cause is known; no traceback.
            record.msg, record.args = f"{record.getMessage()} ({exc})", None
            record.exc_info = record.exc_text = None
        if dropped:
            record.msg = f"{record.getMessage()} ({dropped:,} more like it in the previous {self.window_s:g} s " \
                         "not logged)"
            record.args = None
        return True


def log_config(level: str = "info", *, per_window: int = 20, window_s: float = 10.0) -> dict:
    """uvicorn's ``LOGGING_CONFIG`` with :class:`RateLimitFilter` on each handler, and ``kg.serve`` and
    ``asyncio`` written through them (they still propagate, so an embedding program sees them too)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"rate": {"()": RateLimitFilter, "per_window": per_window, "window_s": window_s}}
    for handler in config["handlers"].values():
        handler["filters"] = ["rate"]
    config["loggers"]["kg.serve"] = {"handlers": ["default"], "level": level.upper(), "propagate": True}
    config["loggers"]["asyncio"] = {"handlers": ["default"], "level": "WARNING", "propagate": True}
    return config
