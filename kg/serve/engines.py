"""The reasoning engines of one app: a fixed pool of worker threads, one engine each.

The engine (:class:`kg.Reasoner`) is not thread-safe and costly to rebuild
(experta engines leak when rebuilt), so the app owns a
``ThreadPoolExecutor`` whose threads live as long as the app and each use
:func:`kg.reasoning.reasoner.thread_reasoner`: at most ``workers`` engines,
built once, however many requests come. Request handlers ``await``
:meth:`EnginePool.run`, so the event loop never blocks on reasoning.

>>> import asyncio
>>> pool = EnginePool(workers=1)
>>> asyncio.run(pool.run(lambda a, b: a + b, 2, 3))
5
>>> pool.close()
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

__all__ = ["EnginePool", "DEFAULT_WORKERS"]

#: Engine threads per app when the settings do not say (the service is sized for 2 cores).
DEFAULT_WORKERS = 4


class EnginePool:
    """``workers`` long-lived threads; work submitted with :meth:`run` uses the thread's own engine."""

    def __init__(self, workers: int = DEFAULT_WORKERS):
        self.workers = max(1, int(workers))
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="painkg-engine")

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on an engine thread and return its result (or raise its exception)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop the threads once their current work is done."""
        self._executor.shutdown(wait=False, cancel_futures=True)
