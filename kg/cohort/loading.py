"""Loading finished chunks into the persistent store, in chunk order, as the batch runs.

Chunks finish in any order; the loader takes them in input order (chunk 0, 1,
2...), so that when a patient id repeats, the later record is the one the store
keeps, whatever the number of workers. Oxigraph's bulk loader costs much more
per quad on small inputs, and each load ends in an ingestion the store compacts
against all it holds, so the N-Quads of consecutive chunks are gathered into
one load of about :data:`LOAD_BYTES`, their files joined into one (never two
records of one id in one load). A load removes the graphs of its patients that are already in the
store (from an earlier batch, an earlier chunk, or a load a killed run left
half done), bulk-loads the N-Quads, then writes ``NNNNNN.loaded`` for each
chunk it completed and deletes their N-Quads. A chunk with a ``loaded`` file is
never loaded again; one without is loaded again whole, so a resumed run ends
with the store an uninterrupted run builds.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from ..store.persistent import PatientStore
from .chunks import chunk_dir, chunk_path, is_done, read_done, replace_file

__all__ = ["StoreLoader", "LOAD_BYTES", "LOADING_FILE"]

#: N-Quads gathered into one bulk load while the batch runs (about 15,000 patients). Oxigraph's loader
#: holds a load's quads in memory (parent RSS about 150 MiB + 3 times this), and fewer, larger loads cost
#: less CPU in all: loading 100,000 patients' 875 MiB alone took 41 s of CPU in loads of 64 MiB, 36 s in
#: loads of 160 MiB (RSS 420 and 750 MiB). Each load does not get slower as the store grows (2-3 s per
#: 64 MiB from the first to the last at 100,000 patients, measured alone), so the loads' time within a
#: batch is their CPU shared with the workers on the same cores.
LOAD_BYTES = 128 * 1024 * 1024
#: The file (in the chunks folder) a load's chunk files are joined into; a killed run's is overwritten.
LOADING_FILE = "loading.nq"


class StoreLoader:
    """Loads the done chunks of ``out`` into the store at ``store`` (opened for writing until :meth:`close`)."""

    def __init__(self, out: Path, store: str | os.PathLike, chunks: int):
        self.out = out
        self.chunks = chunks
        self.next = 0  # the first chunk not yet looked at
        self.queue: list[tuple[int, int, dict]] = []  # (chunk, parts left after this one, part)
        self.seconds = 0.0
        self.loaded_now = 0
        self.replaced = 0
        self.store = PatientStore(store)
        # Into a store that held no patient when the run began, only a patient loaded earlier in this
        # run can need replacing: the others' two lookups each (about 30 us) are skipped.
        self.seen: set[str] | None = None if self.store.has_patients() else set()

    def _collect(self) -> None:
        """Queue the parts of every chunk from the next one on that is done, in order."""
        while self.next < self.chunks and is_done(self.out, self.next):
            if not chunk_path(self.out, self.next, "loaded").exists():
                parts = read_done(self.out, self.next).get("parts", [])
                if not parts:
                    self._mark(self.next)
                for i, part in enumerate(parts):
                    self.queue.append((self.next, len(parts) - 1 - i, part))
            self.next += 1

    def _queued_bytes(self) -> int:
        return sum(os.path.getsize(chunk_dir(self.out) / p["file"]) for _, _, p in self.queue)

    def advance(self, final: bool = False) -> int:
        """Load what is done once it adds up to :data:`LOAD_BYTES` (everything if ``final``); chunks loaded."""
        self._collect()
        if not self.queue or (not final and self._queued_bytes() < LOAD_BYTES):
            return 0
        before = self.loaded_now
        while self.queue:
            group, ids, size = [], set(), 0
            while self.queue and size < LOAD_BYTES and not ids & set(self.queue[0][2]["ids"]):
                item = self.queue.pop(0)
                group.append(item)
                ids.update(item[2]["ids"])
                size += os.path.getsize(chunk_dir(self.out) / item[2]["file"])
            if not final and size < LOAD_BYTES:
                self.queue[:0] = group
                break
            self._load(group, ids)
        return self.loaded_now - before

    def _load(self, group: list, ids: set) -> None:
        started = time.perf_counter()
        self.replaced += self.store.remove_patients(ids if self.seen is None else ids & self.seen)
        if self.seen is not None:
            self.seen |= ids
        # One bulk load per group, of its files joined into one (LOADING_FILE): each of Oxigraph's bulk
        # loads ends in an ingestion that the store compacts against all it holds, so loading each
        # 1,000-patient file alone cost about twice as much at 100,000 patients (measured). By path:
        # Oxigraph reads it itself (about 15% faster than through a Python stream, measured), and no
        # Python code runs inside the loader for a Ctrl-C to land in.
        files = [chunk_dir(self.out) / part["file"] for _, _, part in group]
        path = files[0] if len(files) == 1 else chunk_dir(self.out) / LOADING_FILE
        if len(files) > 1:
            with open(path, "wb") as joined:
                for file in files:
                    with open(file, "rb") as part:
                        shutil.copyfileobj(part, joined, 1 << 20)
        self.store.bulk_load(path)
        self.store.flush()
        if len(files) > 1:
            path.unlink()
        for index, left, _part in group:
            if left == 0:
                self._mark(index)
        self.seconds += time.perf_counter() - started

    def _mark(self, index: int) -> None:
        replace_file(chunk_path(self.out, index, "loaded"), "")
        for part in read_done(self.out, index).get("parts", []):
            try:
                (chunk_dir(self.out) / part["file"]).unlink()
            except OSError:
                pass
        self.loaded_now += 1

    def close(self) -> float:
        """Load what is left, flush and compact the store and release it; the seconds closing took."""
        self.advance(final=True)
        started = time.perf_counter()
        self.store.close()
        spent = time.perf_counter() - started
        self.seconds += spent
        return spent

    def abort(self) -> None:
        """Release the store at once (the run failed or was interrupted): no more loading, no compaction."""
        self.store.close(optimize=False)
