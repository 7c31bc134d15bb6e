"""The reasoning engines of one app: a fixed pool of worker threads, one engine each, and one shared memo.

The engine (:class:`kg.Reasoner`) is not thread-safe and costly to rebuild
(experta engines leak when rebuilt), so the app owns a
``ThreadPoolExecutor`` whose threads live as long as the app and each use
:func:`kg.reasoning.reasoner.thread_reasoner`: at most ``workers`` engines,
built once, however many requests come. Request handlers ``await``
:meth:`EnginePool.run`, so the event loop never blocks on reasoning.

The threads share one memo (:class:`kg.reasoning.memo.MemoReasoner`,
``shared=True``; it is their :func:`~kg.reasoning.memo.thread_memo`), which
``POST /explain`` and the CDS hook reason through: a piece of reasoning is
done once per process, not once per thread, and the memo's bounds hold for
the whole app (``memo_size`` pieces, ``memo_combos`` merged combinations).

>>> import asyncio
>>> pool = EnginePool(workers=1)
>>> asyncio.run(pool.run(lambda a, b: a + b, 2, 3))
5
>>> from kg.reasoning.memo import thread_memo
>>> asyncio.run(pool.run(thread_memo)) is pool.memo
True
>>> pool.close()
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

__all__ = ["EnginePool", "DEFAULT_WORKERS", "MEMO_SIZE", "MEMO_COMBOS"]

#: Engine threads per app when the settings do not say (the service is sized for 2 cores).
DEFAULT_WORKERS = 4
#: Pieces the app's memo keeps: a realistic cohort needs under 1,000 (tens of KB each).
MEMO_SIZE = 2_000
#: Merged combinations of pieces it keeps (about 2 KB each: they share the pieces' text). A
#: realistic cohort has a long tail of combinations; a miss costs one merge of cached pieces.
MEMO_COMBOS = 8_192


class EnginePool:
    """``workers`` long-lived threads; work submitted with :meth:`run` uses the thread's own engine
    and the pool's :attr:`memo`."""

    def __init__(self, workers: int = DEFAULT_WORKERS, *, memo_size: int = MEMO_SIZE, memo_combos: int = MEMO_COMBOS):
        from ..reasoning.memo import MemoReasoner, use_thread_memo

        self.workers = max(1, int(workers))
        self.memo = MemoReasoner(maxsize=memo_size, combos=memo_combos, shared=True)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="painkg-engine",
                                            initializer=use_thread_memo, initargs=(self.memo,))

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on an engine thread and return its result (or raise its exception)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop the threads once their current work is done."""
        self._executor.shutdown(wait=False, cancel_futures=True)
