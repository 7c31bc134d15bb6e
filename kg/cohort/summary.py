"""``summary.json``: what a batch did (counts, timings, versions, options) and the run's manifest.

The manifest (``OUT/run.json``) records what determines the outputs: the
inputs (path, size, modification time; standard input by its SHA-256), the
chunk size and the options that change a result line. A rerun with the same
manifest resumes; with another one it is refused (``--restart`` discards the
old run). Timings differ between runs; the counts do not.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from importlib import metadata
from pathlib import Path

from .chunks import read_done, replace_file

__all__ = ["versions", "manifest_matches", "write_manifest", "read_json", "totals", "write_summary"]

#: ``ignored``: the input resources the result lines list as not used; ``orphans``: the rejects
#: that are resources of a bulk export belonging to no patient (counted in ``rejects`` too).
_COUNTS = ("records", "results", "rejects", "pain_persists", "internal_errors", "ignored", "orphans")


def versions(dask: bool = False) -> dict:
    """Versions of Python and the packages that shape the results."""
    names = ["painkg", "experta", "rdflib", "pyoxigraph"] + (["dask", "distributed"] if dask else [])
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            found[name] = None
    return found


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def manifest_matches(old: dict | None, new: dict) -> bool:
    return old is not None and {k: v for k, v in old.items() if k != "written"} == new


def write_manifest(out: Path, manifest: dict) -> None:
    replace_file(out / "run.json", json.dumps({**manifest, "written": _now()}, indent=2, ensure_ascii=False) + "\n")


def totals(out: Path, chunks: int) -> dict:
    """The counts summed over every chunk's ``done.json``, and the reasoning seconds."""
    sums = dict.fromkeys(_COUNTS, 0)
    seconds = 0.0
    for index in range(chunks):
        done = read_done(out, index)
        for key in _COUNTS:
            sums[key] += done.get(key, 0)
        seconds += done.get("seconds", 0.0)
    sums["chunk_seconds"] = round(seconds, 3)
    return sums


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def write_summary(out: Path, manifest: dict, counts: dict, timings: dict, run: dict, store: dict | None,
                  outputs: dict) -> dict:
    summary = {
        "complete": True,
        "counts": {k: counts[k] for k in _COUNTS},
        "outputs": outputs,
        "timings": timings,
        "run": run,
        "store": store,
        "options": manifest["options"],
        "inputs": manifest["inputs"],
        "chunks": manifest["chunks"],
        "versions": versions(dask=bool(run.get("dask"))),
        "finished": _now(),
    }
    replace_file(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
