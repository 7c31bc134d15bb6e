"""Running chunks on a Dask cluster: the same chunk function as a local run, one engine per worker.

``dask.distributed`` is imported only here, and only when a batch is given a
cluster (``--dask ADDRESS`` or ``kg.batch(..., client=...)``). The
:class:`EnginePlugin` (a ``WorkerPlugin``) gives every worker its engine when
it joins; one task per chunk reads the chunk's records from the input files
(it receives file names and byte ranges, never the records) and writes the
chunk's files into the output directory; the client receives only counts and,
with a store, loads the N-Quads the workers wrote. So workers need painkg
installed and the inputs and the output directory at the same paths (a shared
file system); see docs/cohort.md.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from ..errors import InputError
from .chunks import run_chunk
from .outcome import Options, new_record_reasoner
from .sources import Chunk

__all__ = ["PLUGIN_NAME", "EnginePlugin", "run_on_dask", "import_distributed"]

PLUGIN_NAME = "painkg-engine"


def import_distributed():
    """The ``distributed`` module, or an InputError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise InputError("--dask", message="needs Dask: pip install 'painkg[cohort]' (or: pip install "
                                           "'dask[distributed]')") from None
    return distributed


def _plugin_base():
    try:
        from distributed import WorkerPlugin
    except ImportError:  # pragma: no cover - only a base class when Dask is missing
        return object
    return WorkerPlugin


class EnginePlugin(_plugin_base()):
    """Gives each Dask worker its engine: one per worker thread (start workers with ``--nthreads 1``)."""

    name = PLUGIN_NAME

    def setup(self, worker=None):
        self._local = threading.local()
        self.engine()  # built now, while the worker starts, not by its first task

    def engine(self):
        local = getattr(self, "_local", None)
        if local is None:
            local = self._local = threading.local()
        found = getattr(local, "engine", None)
        if found is None:
            found = local.engine = new_record_reasoner()
        return found


def dask_chunk(chunk: Chunk, out: str, options: Options) -> dict:
    """The task: one chunk, on a Dask worker, with that worker's engine."""
    from distributed import get_worker

    plugin = get_worker().plugins.get(PLUGIN_NAME)
    engine = plugin.engine() if plugin is not None else new_record_reasoner()
    return run_chunk(chunk, Path(out), options, engine)


#: How long to try a scheduler address: a running scheduler answers in well under a second even
#: across a network, and a mistyped address should not keep the user waiting (Dask's default is 30 s).
CONNECT_TIMEOUT = "10s"


def run_on_dask(client, chunks: list[Chunk], out: Path, options: Options, on_done: Callable[[dict], None],
                run_id: str) -> dict:
    """Every chunk as a task on the cluster ``client`` (a ``Client`` or a scheduler address); what ran where."""
    distributed = import_distributed()
    own = not isinstance(client, distributed.Client)
    if own:
        try:
            client = distributed.Client(client, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("--dask", str(client), f"the address of a running Dask scheduler ({exc})") from None
    try:
        client.register_plugin(EnginePlugin(), name=PLUGIN_NAME)
        futures = [client.submit(dask_chunk, chunk, str(out), options, key=f"painkg-{run_id}-{chunk.index:06d}",
                                 pure=False, retries=1)
                   for chunk in chunks]
        for future in distributed.as_completed(futures):
            on_done(future.result())
            future.release()
        workers = len(client.scheduler_info().get("workers", {}))
        return {"dask": True, "workers": workers}
    finally:
        if own:
            client.close()
