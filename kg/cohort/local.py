"""Running chunks on this machine: in this process (``jobs=1``) or in ``jobs`` worker processes.

Each worker process builds one engine (:func:`~kg.cohort.outcome.new_record_reasoner`)
when it starts and reuses it for every record; it reads its chunk from the
files itself and writes the chunk's files itself, and sends back only the
chunk's counts, so the parent never handles a result (on 2 cores a parent
that relays every result becomes the bottleneck). Workers die with the
parent (``PR_SET_PDEATHSIG`` on Linux), so a killed run leaves none behind.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
from pathlib import Path
from typing import Callable, Iterable

from .chunks import run_chunk
from .outcome import Options, new_record_reasoner
from .sources import Chunk

__all__ = ["run_in_process", "run_in_pool", "start_pool"]

_WORKER: dict = {}


def run_in_process(chunks: Iterable[Chunk], out: Path, options: Options, on_done: Callable[[dict], None],
                   tick: Callable[[int], None]) -> None:
    """Every chunk in this process, in order, with one engine."""
    engine = new_record_reasoner()
    for chunk in chunks:
        on_done(run_chunk(chunk, out, options, engine, tick))


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover
            pass


def _init_worker(counter) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER["engine"] = new_record_reasoner()
    _WORKER["counter"] = counter


def _tick(n: int) -> None:
    counter = _WORKER["counter"]
    with counter.get_lock():
        counter.value += n


def _run(args) -> dict:
    chunk, out, options = args
    return run_chunk(chunk, out, options, _WORKER["engine"], _tick)


def start_pool(jobs: int):
    """``(pool, counter)``: ``jobs`` worker processes ('fork' where there is one, else 'spawn')."""
    import gc

    context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    counter = context.Value("q", 0)
    gc.freeze()  # what the parent holds stays shared: the children's collector never touches (copies) it
    try:
        pool = context.Pool(jobs, initializer=_init_worker, initargs=(counter,))
    finally:
        gc.unfreeze()  # in this process only: a caller of kg.batch keeps its own collector as it was
    return pool, counter


def run_in_pool(pool, counter, chunks: list[Chunk], out: Path, options: Options,
                on_done: Callable[[dict], None], tick: Callable[[int], None],
                idle: Callable[[], None] = lambda: None) -> None:
    """Every chunk on the pool; ``on_done`` in this process as each finishes (in any order)."""
    seen = 0
    results = pool.imap_unordered(_run, [(chunk, out, options) for chunk in chunks], chunksize=1)
    while True:
        try:
            counts = results.next(timeout=0.25)
        except mp.TimeoutError:
            counts = None
        except StopIteration:
            break
        value = counter.value
        if value > seen:
            tick(value - seen)
            seen = value
        if counts is not None:
            on_done(counts)
        else:
            idle()
    value = counter.value
    if value > seen:
        tick(value - seen)
