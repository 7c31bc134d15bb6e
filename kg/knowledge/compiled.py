"""The ontology compiled once: what the code reads from the Turtle, kept in a user cache.

Parsing the Turtle with rdflib costs a command-line call most of its start-up (importing
rdflib alone is ~140 ms), yet the records :func:`kg.knowledge.ontology.load_ontology` and
:func:`kg.knowledge.xrefs.load_xrefs` build from it change only when the Turtle or the code
that reads it does. :func:`compiled` builds such a record on first use and pickles it into
painkg's cache folder (``$XDG_CACHE_HOME/painkg``, else ``~/.cache/painkg``); later
processes load the pickle without importing rdflib. The file name holds a key over the
Turtle files' bytes, the painkg version and the source of the modules that compile them,
so an edited Turtle file, an upgrade or an edited reader never read a stale model. A cache
folder that cannot be written or read (read-only home, no home at all) is no error: the
Turtle is parsed as before, silently. ``PAINKG_NO_CACHE=1`` turns the cache off.

Example
-------
>>> import tempfile
>>> from kg.knowledge.compiled import cache_dir, compiled
>>> with tempfile.TemporaryDirectory() as d:
...     first = compiled("example", lambda: {"built": True}, folder=d)
...     again = compiled("example", lambda: {"built": False}, folder=d)  # read back, not rebuilt
>>> first, again
({'built': True}, {'built': True})
>>> cache_dir({"XDG_CACHE_HOME": "/tmp/c"}).as_posix()
'/tmp/c/painkg'
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

__all__ = ["FORMAT", "SOURCES", "cache_dir", "cache_key", "compiled", "ontology_sources"]

#: Bumped when the layout of a pickled record changes in a way the source hash would not show.
FORMAT = 1

#: The modules whose code turns Turtle into the cached records: editing one invalidates the cache.
SOURCES = ("records.py", "ontology_turtle.py", "ontology.py", "xrefs.py", "compiled.py")


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """painkg's cache folder: ``$XDG_CACHE_HOME/painkg``, else ``~/.cache/painkg``."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "painkg"


def ontology_sources() -> list[tuple[str, bytes]]:
    """The shipped Turtle files as ``(name, bytes)``, sorted by name (``kg.ontology``, wherever installed)."""
    from importlib import resources

    folder = resources.files("kg.ontology")
    return sorted((f.name, f.read_bytes()) for f in folder.iterdir() if f.name.endswith(".ttl"))


def _version() -> str:
    # The installed version, read from the distribution's metadata without importlib.metadata
    # (it costs a CLI ~30 ms to import): the dist-info folder beside the kg package, or in
    # any sys.path entry (an editable install keeps it in site-packages, away from kg/).
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("painkg-") and name.endswith(".dist-info"):
                return name[len("painkg-"):-len(".dist-info")]
    return "0+unknown"


def cache_key(sources: list[tuple[str, bytes]] | None = None) -> str:
    """A hash of everything a compiled record depends on: Turtle, painkg version, reader code, Python.

    >>> cache_key([("a.ttl", b"x")]) == cache_key([("a.ttl", b"x")]) != cache_key([("a.ttl", b"y")])
    True
    """
    digest = hashlib.sha256(f"painkg-compiled/{FORMAT}/{sys.version_info[:2]}/{_version()}".encode())
    here = Path(__file__).parent
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    for name, data in sources if sources is not None else ontology_sources():
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:32]


def compiled(name: str, build: Callable[[], Any], *, folder: str | os.PathLike | None = None,
             sources: list[tuple[str, bytes]] | None = None) -> Any:
    """``build()``'s result, from the cache when it holds one for this key, else built and cached.

    ``build`` must return something :mod:`pickle` can store (plain data and frozen records).
    Any failure to read or write the cache falls back to ``build()`` without a word: the
    cache only ever saves time. ``sources`` (``(name, bytes)`` pairs) replace the shipped
    Turtle files in the key, for tests that compile a copy.
    """
    if os.environ.get("PAINKG_NO_CACHE"):
        return build()
    try:
        path = Path(folder if folder is not None else cache_dir()) / f"{name}-{cache_key(sources)}.pickle"
    except OSError:  # the package's own files unreadable: nothing to key on
        return build()
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except Exception:  # noqa: BLE001 - missing, unreadable, truncated or foreign: rebuild
        pass
    value = build()
    _store(path, value)
    return value


def _store(path: Path, value: Any) -> None:
    # Written to a temporary file and renamed, so a concurrent reader sees the whole pickle or none.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        # The records of other keys (an older Turtle or painkg) are dropped, so the folder
        # holds one file per record, not one per version ever run.
        for old in path.parent.glob(path.name.split("-", 1)[0] + "-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except Exception:  # noqa: BLE001 - read-only or full disk, no home: run without the cache
        pass
