"""A chunk's files in ``OUT/chunks/``, written whole or not at all, and the run's final files.

Chunk ``k`` (records ``[k*N, (k+1)*N)`` of the input order) writes, each through a
temporary file and ``os.replace``:

- ``NNNNNN.results.jsonl`` and ``NNNNNN.rejects.jsonl``;
- with a store, ``NNNNNN.P.nq``: the N-Quads of its patients (the cohort shape, with the shared
  firing plans they use) (part ``P`` is
  0 unless a patient id repeats within the chunk: a repeat starts the next part,
  so that, loaded in order, the later record replaces the earlier);
- last, ``NNNNNN.done.json``: its counts (records, results, rejects, pain_persists,
  internal_errors, ignored resources, orphans; and each part's patient ids). A chunk
  is done if and only if this file exists, so a run killed at any point
  redoes exactly the chunks that have no ``done`` file.

With a store, ``NNNNNN.loaded`` marks a chunk loaded (its N-Quads are then deleted).
:func:`finish` concatenates the chunks' results and rejects in chunk order into
``results.jsonl`` and ``rejects.jsonl`` (atomically, streamed).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable

from .outcome import Options, reject_line
from .sources import Chunk, read_chunk

__all__ = ["InputChanged", "chunk_dir", "chunk_path", "is_done", "read_done", "run_chunk", "finish", "replace_file",
           "clean_temporary"]


class InputChanged(RuntimeError):
    """A chunk read a different number of records than planned: the input changed during the run."""


def chunk_dir(out: Path) -> Path:
    return out / "chunks"


def chunk_path(out: Path, index: int, suffix: str) -> Path:
    return chunk_dir(out) / f"{index:06d}.{suffix}"


def is_done(out: Path, index: int) -> bool:
    return chunk_path(out, index, "done.json").exists()


def read_done(out: Path, index: int) -> dict:
    return json.loads(chunk_path(out, index, "done.json").read_text("utf-8"))


class _AtomicWriter:
    """A file written beside its target and renamed over it on :meth:`commit`.

    The rename makes it atomic for a killed process (even ``kill -9``): the target is
    whole or absent. ``durable`` also flushes it to disk first (``fsync``), which only
    a power cut needs; chunks skip it (a lost chunk is redone) and final files keep it.
    """

    def __init__(self, target: Path, *, durable: bool = False, binary: bool = False):
        self.target = target
        self.durable = durable
        self.temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        self.handle = open(self.temp, "wb") if binary else open(self.temp, "w", encoding="utf-8", newline="\n")

    def write(self, text: str) -> None:
        self.handle.write(text)

    def commit(self) -> None:
        self.handle.flush()
        if self.durable:
            os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temp, self.target)

    def abort(self) -> None:
        self.handle.close()
        try:
            os.unlink(self.temp)
        except OSError:
            pass


def replace_file(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically."""
    writer = _AtomicWriter(target)
    try:
        writer.write(text)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def run_chunk(chunk: Chunk, out: Path, options: Options, engine: Callable, tick: Callable | None = None) -> dict:
    """Reason over every record of ``chunk`` with ``engine`` and write the chunk's files; its counts."""
    started = time.perf_counter()
    counts = {"chunk": chunk.index, "first": chunk.first, "records": 0, "results": 0, "rejects": 0,
              "pain_persists": 0, "internal_errors": 0, "ignored": 0, "orphans": 0}
    parts: list[dict] = []
    writers = [_AtomicWriter(chunk_path(out, chunk.index, "results.jsonl")),
               _AtomicWriter(chunk_path(out, chunk.index, "rejects.jsonl"))]
    nq = None
    pending = 0
    start = getattr(engine, "start_chunk", None)
    if start is not None:
        start()
    try:
        for record in read_chunk(chunk):
            outcome = engine(record, options)
            counts["records"] += 1
            if outcome.result is not None:
                counts["results"] += 1
                counts["pain_persists"] += bool(outcome.pain_persists)
                counts["ignored"] += outcome.ignored
                writers[0].write(outcome.result)  # (not result + "\n": that copies the line once more)
                writers[0].write("\n")
                if outcome.nquads is not None:
                    if nq is None or outcome.patient_id in parts[-1]["_seen"]:
                        nq = _AtomicWriter(chunk_path(out, chunk.index, f"{len(parts)}.nq"))
                        writers.append(nq)
                        parts.append({"file": nq.target.name, "ids": [], "_seen": set()})
                    parts[-1]["ids"].append(outcome.patient_id)
                    parts[-1]["_seen"].add(outcome.patient_id)
                    nq.write(outcome.nquads)
            else:
                counts["rejects"] += 1
                counts["internal_errors"] += outcome.internal
                counts["orphans"] += outcome.orphan
                writers[1].write(reject_line(record, outcome.error) + "\n")
            pending += 1
            if tick is not None and pending >= 25:
                tick(pending)
                pending = 0
        for writer in writers:
            writer.commit()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    if tick is not None and pending:
        tick(pending)
    if counts["records"] != chunk.count:  # the input changed under us
        raise InputChanged(f"chunk {chunk.index}: expected {chunk.count} records, read {counts['records']}")
    counts["parts"] = [{"file": p["file"], "ids": p["ids"]} for p in parts]
    counts["seconds"] = round(time.perf_counter() - started, 3)
    replace_file(chunk_path(out, chunk.index, "done.json"), json.dumps(counts, ensure_ascii=False) + "\n")
    return counts


def _append(part, handle) -> None:
    """Append the open file ``part`` to ``handle``: in the kernel where it can (gigabytes of results)."""
    handle.flush()
    size = os.fstat(part.fileno()).st_size
    try:
        done = 0
        while done < size:
            sent = os.sendfile(handle.fileno(), part.fileno(), done, size - done)
            if sent == 0:
                break
            done += sent
        if done == size:
            return
        part.seek(done)
    except (AttributeError, OSError):  # no sendfile for files here: copy through Python
        part.seek(0)
        handle.seek(0, os.SEEK_END)
    shutil.copyfileobj(part, handle, 1 << 20)


def _concatenate(out: Path, chunks: int, suffix: str, target: Path) -> None:
    writer = _AtomicWriter(target, durable=True, binary=True)
    try:
        for index in range(chunks):
            with open(chunk_path(out, index, suffix), "rb") as part:
                _append(part, writer.handle)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def finish(out: Path, chunks: int, *, results: bool = True) -> None:
    """``results.jsonl`` (unless ``results`` is False) and ``rejects.jsonl`` from the chunks, in chunk order."""
    if results:
        _concatenate(out, chunks, "results.jsonl", out / "results.jsonl")
    _concatenate(out, chunks, "rejects.jsonl", out / "rejects.jsonl")


def clean_temporary(out: Path) -> None:
    """Remove temporary files a killed run left in ``OUT/chunks``."""
    folder = chunk_dir(out)
    if folder.is_dir():
        for path in folder.glob(".*.tmp"):
            try:
                path.unlink()
            except OSError:
                pass
