"""Where a cohort's records come from, and how a chunk of them is read back.

Inputs, in the order given:

- an NDJSON file (any name not ending in ``.json``): one patient per line, in
  painkg's JSON contract; blank lines are skipped and are not records; ``\\r\\n``
  line ends are accepted;
- a ``.json`` file: one patient (pretty-printed or not);
- a directory: its ``*.json``, ``*.ndjson`` and ``*.jsonl`` files (not
  sub-directories), in name order, each read as above;
- a directory of FHIR bulk ``$export`` NDJSON (``Patient.ndjson``, ``Condition.ndjson``...,
  detected by the ``resourceType`` of its first record): joined by patient
  (:mod:`kg.inputs.fhir_bulk`) into ``OUT/fhir-N.ndjson``, one patient's resources as a FHIR
  Bundle per line, which the records' reader reads as FHIR; the resources that belong to no
  patient of the export (orphans) go to ``OUT/fhir-N.orphans.ndjson``, one reject line each
  (kind :data:`REJECTS`), so that each ends in ``rejects.jsonl`` with its file and line;
- ``-``: standard input as NDJSON, first copied to ``OUT/stdin.ndjson``.

:func:`plan` scans the inputs once, in blocks (a line is never held whole, so
an endless line costs no memory), and cuts the records into chunks of
``chunk_size`` in input order. A :class:`Chunk` names its records by file, byte
range and first line number, so any process that can see the files (a local
worker, a Dask worker) reads exactly its own records with :func:`read_chunk`.
Each :class:`Record` keeps its file and line; a record larger than
``LIMITS.patient_bytes`` is kept only as its first bytes, to be rejected.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from ..inputs.fhir_bulk import is_bulk_dir, read_export
from ..inputs.limits import LIMITS

__all__ = ["Segment", "Chunk", "Record", "expand_inputs", "plan", "read_chunk", "spool_stdin", "spool_fhir_bulk",
           "fingerprint", "RAW_CHARS", "NDJSON", "WHOLE", "REJECTS"]

#: Characters of a rejected record kept in ``rejects.jsonl``.
RAW_CHARS = 1000
#: How a file's records are read: one per line (:data:`NDJSON`), the whole file as one (:data:`WHOLE`,
#: a ``.json`` file), or one reject line per line, decided when the input was joined (:data:`REJECTS`:
#: a bulk export's orphans, each with its own file, line and error).
NDJSON, WHOLE, REJECTS = "ndjson", "json", "rejects"
_BLOCK = 1 << 20
_WHITESPACE = b" \t\r\n\f\v"


@dataclass(frozen=True)
class Segment:
    """Records of one file: bytes ``[start, end)`` from line ``line``, read as ``kind`` says
    (:data:`NDJSON`, :data:`REJECTS`), or the whole file (:data:`WHOLE`)."""

    path: str
    shown: str
    start: int
    end: int
    line: int
    kind: str = NDJSON

    @property
    def whole(self) -> bool:
        return self.kind == WHOLE


@dataclass(frozen=True)
class Chunk:
    """Records ``[first, first + count)`` of the input order, as segments of files."""

    index: int
    first: int
    count: int
    segments: tuple[Segment, ...] = field(default=())


@dataclass(frozen=True)
class Record:
    """One input record: where it is (``file`` as the user named it, ``line`` or None) and its bytes.

    ``error`` is set for a record rejected before it is reasoned over: a bulk export's orphan.
    """

    file: str
    line: int | None
    data: bytes
    size: int
    error: str | None = None

    @property
    def oversized(self) -> bool:
        return self.size > LIMITS.patient_bytes


def expand_inputs(inputs, out_dir: Path) -> list[tuple[str, str, str]]:
    """``(path to read, path as shown, kind)`` for every file of ``inputs``, in order (kind: :data:`NDJSON`,
    :data:`WHOLE` or :data:`REJECTS`)."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    files: list[tuple[str, str, str]] = []
    for item in inputs:
        if not isinstance(item, (str, os.PathLike)):
            raise InputError("inputs", repr(item)[:60], "paths of NDJSON files, JSON files or directories, or -")
        shown = os.fspath(item)
        if shown == "-":
            files.append((str(out_dir / "stdin.ndjson"), "-", NDJSON))
            continue
        path = Path(shown)
        if path.is_dir() and is_bulk_dir(path):
            stem = f"fhir-{len(files)}"
            patients, orphans = spool_fhir_bulk(path, out_dir / f"{stem}.ndjson", out_dir / f"{stem}.orphans.ndjson",
                                                shown)
            files.extend([(patients, shown, NDJSON), (orphans, shown, REJECTS)])
        elif path.is_dir():
            members = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".json", ".ndjson", ".jsonl"))
            files.extend((str(p.resolve()), str(Path(shown) / p.name), _kind(p)) for p in members)
        elif path.is_file() or (path.exists() and not path.is_dir()):
            files.append((str(path.resolve()), shown, _kind(path)))
        else:
            raise InputError("input", shown, "an NDJSON file, a JSON file, a directory or - (not found)")
    return files


def _kind(path: Path) -> str:
    return WHOLE if path.suffix == ".json" else NDJSON


def _compact(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def spool_fhir_bulk(directory: Path, target: Path, orphans: Path, shown: str | None = None) -> tuple[str, str]:
    """Write the patients of a FHIR bulk export directory to ``target`` (one Bundle per line) and its
    orphans to ``orphans`` (one reject line each: the resource's file, as ``shown``/name, its line,
    the error naming the resource and the reason, its first :data:`RAW_CHARS` characters and its
    size); the two paths.

    Each file is replaced only when its bytes change, so a resumed run sees the same input.
    """
    export = read_export(directory)
    folder = Path(shown if shown is not None else directory)
    _write_if_changed(target, (_compact(p.bundle) for p in export.patients))
    _write_if_changed(orphans, (_compact({"file": str(folder / o.file), "line": o.line,
                                          "error": f"{o.resource}: {o.reason}",
                                          "record": o.head.decode("utf-8", "replace")[:RAW_CHARS],
                                          "record_bytes": o.size})
                                for o in export.orphans))
    return str(target), str(orphans)


def _write_if_changed(target: Path, lines) -> None:
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temp, "wb") as out:
        for line in lines:
            out.write(line)
    if target.exists() and target.read_bytes() == temp.read_bytes():
        temp.unlink()
    else:
        os.replace(temp, target)


def spool_stdin(target: Path, stdin=None) -> str:
    """Copy standard input to ``target`` (atomically) and return the SHA-256 of its bytes."""
    import sys

    source = stdin if stdin is not None else sys.stdin
    if source is None:
        raise InputError("input", "-", message="standard input is closed; expected NDJSON records")
    source = getattr(source, "buffer", source)
    digest = hashlib.sha256()
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temp, "wb") as out:
        while True:
            block = source.read(_BLOCK)
            if not block:
                break
            if isinstance(block, str):
                block = block.encode("utf-8", "surrogateescape")
            digest.update(block)
            out.write(block)
    os.replace(temp, target)
    return digest.hexdigest()


def fingerprint(files: list[tuple[str, str, str]], stdin_sha256: str | None) -> list[dict]:
    """What identifies the input: each file's path, size and modification time (stdin, records: a digest)."""
    out = []
    for path, shown, _kind in files:
        if shown in ("-", "<records>"):
            out.append({"file": shown, "sha256": stdin_sha256})
            continue
        st = os.stat(path)
        out.append({"file": shown, "path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def _lines(path: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, bool]]:
    """``(start, end, blank)`` of each line of ``path`` within ``[start, end)``, read in blocks."""
    with open(path, "rb") as handle:
        handle.seek(start)
        pos = line_start = start
        blank = True
        while end is None or pos < end:
            block = handle.read(_BLOCK if end is None else min(_BLOCK, end - pos))
            if not block:
                break
            at = 0
            while True:
                newline = block.find(b"\n", at)
                piece = block[at:] if newline < 0 else block[at:newline]
                if blank and piece.strip(_WHITESPACE):
                    blank = False
                if newline < 0:
                    break
                yield line_start, pos + newline + 1, blank
                line_start, blank, at = pos + newline + 1, True, newline + 1
            pos += len(block)
        if line_start < pos:
            yield line_start, pos, blank


def _file_records(path: str, kind: str) -> Iterator[tuple[int, int, int]]:
    """``(start, end, line)`` of each record of one file."""
    if kind == WHOLE:
        yield 0, os.path.getsize(path), 1
        return
    line = 0
    for start, end, blank in _lines(path):
        line += 1
        if not blank:
            yield start, end, line


def plan(files: list[tuple[str, str, str]], chunk_size: int) -> list[Chunk]:
    """Cut the records of ``files`` into chunks of ``chunk_size`` records (the last may be shorter)."""
    chunks: list[Chunk] = []
    segments: list[Segment] = []
    count = total = 0
    current: list | None = None  # [path, shown, start, end, line, kind] of the open segment

    def close_segment():
        nonlocal current
        if current is not None:
            segments.append(Segment(*current))
            current = None

    for path, shown, kind in files:
        is_whole = kind == WHOLE
        for start, end, line in _file_records(path, kind):
            if current is None or is_whole:
                close_segment()
                current = [path, shown, start, end, line, kind]
            else:
                current[3] = end
            count += 1
            total += 1
            if is_whole:
                close_segment()
            if count == chunk_size:
                close_segment()
                chunks.append(Chunk(len(chunks), total - count, count, tuple(segments)))
                segments, count = [], 0
        close_segment()
    if count:
        chunks.append(Chunk(len(chunks), total - count, count, tuple(segments)))
    return chunks


def _read(handle, start: int, end: int, line_end: bool) -> tuple[bytes, int]:
    """The bytes of ``[start, end)`` (less the line end), or only the first ``RAW_CHARS * 4`` if over the limit."""
    size = end - start
    handle.seek(start)
    if size > LIMITS.patient_bytes + 2:
        return handle.read(RAW_CHARS * 4), size
    data = handle.read(size)
    if line_end:
        data = data.rstrip(b"\r\n")
    return data, len(data)


def read_chunk(chunk: Chunk) -> Iterator[Record]:
    """The records of ``chunk``, in order, each with its file and line."""
    for seg in chunk.segments:
        with open(seg.path, "rb") as handle:
            if seg.whole:
                data, size = _read(handle, 0, seg.end, False)
                yield Record(seg.shown, None, data, size)
                continue
            line = seg.line - 1
            for start, end, blank in _lines(seg.path, seg.start, seg.end):
                line += 1
                if blank:
                    continue
                data, size = _read(handle, start, end, True)
                yield _rejected(data) if seg.kind == REJECTS else Record(seg.shown, line, data, size)


def _rejected(data: bytes) -> Record:
    """The record of a reject line painkg wrote when it joined the input (see :func:`spool_fhir_bulk`)."""
    line = json.loads(data)
    return Record(line["file"], line["line"], line["record"].encode("utf-8"), line["record_bytes"], line["error"])
