"""``kg.batch``: explain a cohort, streamed, in chunks, resumable; optionally into a persistent store.

>>> import kg, tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     summary = kg.batch(["examples/two-injuries.json", "examples/lower-back-strain-acute.json"],
...                        out=pathlib.Path(tmp) / "run")
...     summary["counts"]["results"], summary["counts"]["rejects"]
(2, 0)

See docs/cohort.md: the output files, resuming, determinism, the store, Dask.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, type_name
from ..inputs.dates import parse_date
from ..reasoning.reasoner import DEFAULT_THRESHOLD_DAYS, check_threshold
from . import chunks as ch
from .outcome import DEFAULT_MEMO_SIZE, Options
from .progress import Progress, make_progress
from .sources import NDJSON, expand_inputs, fingerprint, plan, spool_stdin
from .summary import manifest_matches, read_json, totals, write_manifest, write_summary

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["batch", "RunSettings", "DEFAULT_CHUNK_SIZE", "FORMATS"]

#: Records per chunk: the unit of work, of resuming and of loading into the store.
DEFAULT_CHUNK_SIZE = 1000
FORMATS = ("jsonl", "parquet")


def _check(jobs, chunk_size, format, as_of, threshold_days) -> None:
    for name, value in (("jobs", jobs), ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(name, value, "a whole number >= 1")
    if format not in FORMATS:
        raise InputError("format", format, "one of " + ", ".join(FORMATS))
    check_threshold(threshold_days)
    if as_of is not None:
        if not isinstance(as_of, str):
            raise InputError("as_of", type_name(as_of), "a date (YYYY-MM-DD) or +Nd / -Nd")
        if as_of[:1] not in "+-":
            parse_date(as_of, "as_of")


def _records_to_ndjson(records, target: Path) -> str:
    """Write Python patient dicts as NDJSON (``kg.batch(list_of_dicts, ...)``); the SHA-256 of the file."""
    import hashlib

    digest = hashlib.sha256()
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temp, "wb") as out:
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise InputError(f"records[{i}]", type_name(record), "a patient dict (or give paths)")
            try:
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
            except (TypeError, ValueError) as exc:
                raise InputError(f"records[{i}]", message=f"cannot be written as JSON ({exc})") from None
            digest.update(line + b"\n")
            out.write(line + b"\n")
    os.replace(temp, target)
    return digest.hexdigest()


def _inputs(inputs, out: Path, stdin) -> tuple[list, str | None]:
    """The files to read (spooling standard input or Python records into OUT) and the spool's digest."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if isinstance(inputs, dict) or not hasattr(inputs, "__iter__"):
        raise InputError("inputs", type_name(inputs), "paths (NDJSON files, JSON files, directories, -) or "
                                                      "patient dicts")
    inputs = iter(inputs)
    first = next(inputs, None)
    if first is None:
        raise InputError("inputs", message="are empty; expected at least one file, directory or -")
    if isinstance(first, dict):
        import itertools

        digest = _records_to_ndjson(itertools.chain([first], inputs), out / "records.ndjson")
        return [(str(out / "records.ndjson"), "<records>", NDJSON)], digest
    given = [first, *inputs]
    digest = None
    if any(os.fspath(p) == "-" for p in given if isinstance(p, (str, os.PathLike))):
        digest = spool_stdin(out / "stdin.ndjson", stdin)
    return expand_inputs(given, out), digest


def _lock_out(out: Path):
    handle = open(out / ".lock", "a+b")
    if fcntl is not None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise InputError("--out", str(out), message=f"{json.dumps(str(out))} is in use by another painkg "
                                                        "batch") from None
    return handle


def _discard(out: Path) -> None:
    shutil.rmtree(ch.chunk_dir(out), ignore_errors=True)
    for name in ("results.jsonl", "results.parquet", "rejects.jsonl", "summary.json", "run.json"):
        try:
            (out / name).unlink()
        except FileNotFoundError:
            pass


def batch(inputs, out, *, store=None, jobs: int = 1, client=None, chunk_size: int = DEFAULT_CHUNK_SIZE,
          summary_only: bool = False, format: str = "jsonl", as_of: str | None = None,
          threshold_days: int = DEFAULT_THRESHOLD_DAYS, quiet: bool = True, restart: bool = False,
          keep_chunks: bool = False, progress: Progress | None = None, stdin=None,
          memo: int = DEFAULT_MEMO_SIZE) -> dict:
    """Explain every record of ``inputs`` into ``out``; the run's summary (also in ``out/summary.json``).

    ``inputs``: NDJSON files, ``.json`` files, directories, ``"-"`` (standard
    input), or an iterable of patient dicts. ``out``: the output directory
    (``results.jsonl`` or ``results.parquet``, ``rejects.jsonl``, ``summary.json``).
    ``store``: a directory for the persistent Oxigraph store to load the
    derivations into. ``jobs``: worker processes; ``client``: a Dask
    ``Client`` or scheduler address instead. ``chunk_size``: records per chunk.
    ``memo``: how many pieces of reasoning the memo cache of each worker keeps
    (:mod:`kg.reasoning.memo`; the output is byte-identical), 0 to reason fresh.
    Rerunning with the same inputs and options resumes an interrupted run;
    ``restart=True`` discards it instead. Raises :class:`~kg.errors.InputError`
    for bad arguments; bad records are rejected, never raised.
    """
    _check(jobs, chunk_size, format, as_of, threshold_days)
    if isinstance(memo, bool) or not isinstance(memo, int) or memo < 0:
        raise InputError("memo", memo, "a whole number of cached pieces, 0 or more (0 turns the memo off)")
    if format == "parquet":
        from .parquet import require_pyarrow

        require_pyarrow()
    if client is not None:
        from .dask_runner import import_distributed

        import_distributed()
    if not isinstance(out, (str, os.PathLike)):
        raise InputError("out", type_name(out), "a directory path")
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise InputError("--out", str(out), "a directory (it is a file)")
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock_out(out)
    try:
        settings = RunSettings(out=out, store=None if store is None else Path(store).absolute(), jobs=jobs,
                               client=client, chunk_size=chunk_size, format=format, restart=restart,
                               keep_chunks=keep_chunks, stdin=stdin,
                               progress=progress if progress is not None else make_progress(quiet),
                               options=Options(as_of=as_of, threshold_days=threshold_days,
                                               summary_only=summary_only, nquads=store is not None, memo=memo))
        return _run(inputs, settings)
    finally:
        lock.close()


@dataclass(frozen=True)
class RunSettings:
    """Everything one run of :func:`batch` is asked to do, checked (what ``_run`` takes)."""

    out: Path
    store: Path | None
    jobs: int
    client: object
    chunk_size: int
    format: str
    restart: bool
    keep_chunks: bool
    stdin: object
    progress: Progress
    #: What every record is reasoned with, in every worker.
    options: Options


class _Interrupts:
    """Ctrl-C during a run with a store: noted at once, raised as KeyboardInterrupt at the next safe point.

    Oxigraph's bulk loader reads the chunks' N-Quads through Python; a KeyboardInterrupt raised
    inside that read becomes a read error the lenient loader skips, so the run went on to the end
    (issue 19). Noting the signal and raising it between loads stops the run within a load
    (at most ``LOAD_BYTES`` of N-Quads), and the chunks loaded so far are marked: the next run
    resumes. Only in the main thread (where Python delivers signals); elsewhere nothing changes.
    """

    def __init__(self, active: bool):
        self.active = active and threading.current_thread() is threading.main_thread()
        self.hit = False
        self.previous = None

    def __enter__(self) -> "_Interrupts":
        if self.active:
            self.previous = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum, frame) -> None:
        self.hit = True

    def check(self) -> None:
        if self.hit:
            self.hit = False
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        if self.active:
            signal.signal(signal.SIGINT, self.previous)
            if self.hit:  # noted after the last safe point: still the caller's Ctrl-C
                raise KeyboardInterrupt


def _run(inputs, settings: RunSettings) -> dict:
    with _Interrupts(settings.store is not None) as interrupts:
        return _run_with(inputs, settings, interrupts)


def _run_with(inputs, settings: RunSettings, interrupts: _Interrupts) -> dict:
    started = time.perf_counter()
    out, options, progress, client, jobs = settings.out, settings.options, settings.progress, settings.client, settings.jobs
    chunk_size, format = settings.chunk_size, settings.format
    if settings.restart:
        _discard(out)
    files, digest = _inputs(inputs, out, settings.stdin)
    store_path = None if settings.store is None else str(settings.store)
    manifest = {"format": "painkg-batch/2", "chunk_size": chunk_size, "inputs": fingerprint(files, digest),
                "options": {"as_of": options.as_of, "threshold_days": options.threshold_days,
                            "summary_only": options.summary_only, "format": format, "store": store_path}}
    old = read_json(out / "run.json")
    if old is not None and not manifest_matches({k: v for k, v in old.items() if k in manifest}, manifest):
        raise InputError("--out", str(out), message=f"{json.dumps(str(out))} holds another run (other inputs or "
                                                    "options); use another --out, or --restart to discard it")
    done_before = read_json(out / "summary.json")
    if old is not None and done_before is not None and done_before.get("complete"):
        return done_before
    chunks = plan(files, chunk_size)
    manifest["chunks"] = len(chunks)
    manifest["records"] = sum(c.count for c in chunks)
    write_manifest(out, manifest)
    ch.chunk_dir(out).mkdir(exist_ok=True)
    ch.clean_temporary(out)
    todo = [c for c in chunks if not ch.is_done(out, c.index)]
    resumed = len(chunks) - len(todo)
    run = {"jobs": jobs, "dask": client is not None, "resumed_chunks": resumed, "chunks_run": len(todo),
           "records_run": sum(c.count for c in todo)}
    pool = counter = None
    if client is None and jobs > 1 and len(todo) > 1:
        from .local import start_pool

        pool, counter = start_pool(min(jobs, len(todo)))  # fork before the store or the display exist
    loader = None
    try:
        if store_path is not None:
            from .loading import StoreLoader

            loader = StoreLoader(out, store_path, len(chunks))
        progress.start(manifest["records"], manifest["records"] - run["records_run"])

        def on_done(counts: dict) -> None:
            progress.advance(0, counts["rejects"])
            interrupts.check()
            if loader is not None:
                loader.advance()
            interrupts.check()

        def tick(n: int) -> None:
            progress.advance(n)
            interrupts.check()

        work_started = time.perf_counter()
        if loader is not None:
            loader.advance()  # chunks a killed run finished but did not load
        try:
            if client is not None:
                from .dask_runner import run_on_dask

                run.update(run_on_dask(client, todo, out, options, on_done, uuid.uuid4().hex[:12]))
            elif pool is not None:
                from .local import run_in_pool

                run_in_pool(pool, counter, todo, out, options, on_done, tick, idle=interrupts.check)
            else:
                from .local import run_in_process

                run_in_process(todo, out, options, on_done, tick)
        except ch.InputChanged as exc:
            raise InputError("inputs", message=f"changed during the run ({exc})") from None
        work_seconds = time.perf_counter() - work_started
        store_info = None
        if loader is not None:
            progress.message("loading the store")
            loader.advance()
            interrupts.check()
            close_seconds = loader.close()
            from ..store.persistent import store_size

            store_info = {"path": store_path, "chunks_loaded": loader.loaded_now,
                          "patients_replaced": loader.replaced, "load_seconds": round(loader.seconds, 3),
                          "compact_seconds": round(close_seconds, 3), "size_bytes": store_size(store_path)}
            loader = None
        progress.message("writing the results")
        finish_started = time.perf_counter()
        ch.finish(out, len(chunks), results=format == "jsonl")
        outputs = {"results": "results.jsonl", "rejects": "rejects.jsonl"}
        if format == "parquet":
            from .parquet import write_parquet

            write_parquet(out, len(chunks), out / "results.parquet")
            outputs["results"] = "results.parquet"
        counts = totals(out, len(chunks))
        wall = time.perf_counter() - started
        timings = {"wall_seconds": round(wall, 3), "work_seconds": round(work_seconds, 3),
                   "finish_seconds": round(time.perf_counter() - finish_started, 3),
                   "chunk_seconds": counts.pop("chunk_seconds"),
                   "patients_per_second": round(run["records_run"] / work_seconds, 1) if work_seconds > 0 else None}
        summary = write_summary(out, manifest, counts, timings, run, store_info, outputs)
    finally:
        progress.stop()
        if pool is not None:
            pool.terminate()
            pool.join()
        if loader is not None:
            loader.abort()
    if not settings.keep_chunks:
        shutil.rmtree(ch.chunk_dir(out), ignore_errors=True)
    return summary
