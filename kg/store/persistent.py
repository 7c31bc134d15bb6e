"""A persistent, on-disk Oxigraph store of many patients' explanations.

Layout of a store directory ``DIR``:

- the RocksDB files of ``pyoxigraph.Store(DIR)``;
- ``painkg-store.json``: what makes it a painkg store (format, the SHA-256 of the
  ontology quads it holds, and the RDF shape: ``"cohort"``, :mod:`kg.store.cohort_shape`);
- ``painkg-store.lock``: locked exclusively by the one writer (``painkg batch``),
  shared by each query, so that a query never reads a store while it is being
  written (Oxigraph leaves that undefined) and two batches never write at once.

The ontology is loaded once, into its named graph, when the store is created
(and replaced when painkg's ontology changed). Patients are added as N-Quads
files (:meth:`PatientStore.load_nquads`, Oxigraph's bulk loader) in the cohort
shape: each patient's own two named graphs, and the firing plans, fact templates,
derivations, conclusions and key chains patients share in one graph (``PLANS_GRAPH``),
each quad once. A
patient already in the store has its two named graphs removed first, so
re-running a patient replaces it (the shared graph only ever grows: a plan is
true of the rules, whoever used it). A store of an older shape is refused. The store is queried through the guarded worker of
:mod:`kg.store.query_guard` (:func:`store_for_query`), which opens it read-only
inside the worker. A patient reads back as its explanation's JSON
(``kg.explain(record).to_dict()``, exactly) with :mod:`kg.store.readback`.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     with PatientStore(pathlib.Path(tmp) / "s") as store:
...         store.patient_count()
0
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

from ..errors import InputError
from ..render.rdf import ontology_quads
from ..render.rdf_iris import ONTOLOGY_GRAPH, derivations_graph_iri, input_graph_iri
from .lean import nquads

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking
    fcntl = None

__all__ = ["STORE_FORMAT", "META_FILE", "PatientStore", "StoreOpener", "store_for_query", "store_size"]

STORE_FORMAT = "painkg-store/3"
META_FILE = "painkg-store.json"
LOCK_FILE = "painkg-store.lock"


@functools.lru_cache(maxsize=1)
def _ontology_nquads() -> tuple[bytes, str]:
    text = nquads(ontology_quads()).encode("utf-8")
    return text, hashlib.sha256(text).hexdigest()


def _lock(path: Path, exclusive: bool, what: str):
    """An open lock file on ``path`` (``flock``, never waiting); InputError if someone holds it."""
    try:
        handle = open(path, "a+b")
    except OSError as exc:
        if exclusive:
            raise InputError("--store", str(path.parent), f"a directory painkg can write to ({exc.strerror})") from None
        return open(os.devnull, "rb")  # a read-only store nobody can be writing
    if fcntl is None:  # pragma: no cover
        return handle
    try:
        fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        store = path.parent
        raise InputError("--store", str(store), message=f"{json.dumps(str(store))} is in use: {what}") from None
    return handle


def _check_dir(path: Path, *, must_exist: bool) -> None:
    if path.exists() and not path.is_dir():
        raise InputError("--store", str(path), "a directory for the store (it is a file)")
    if not path.exists():
        if must_exist:
            raise InputError("--store", str(path), "a store built by `painkg batch --store` (not found)")
        return
    names = set(os.listdir(path))
    if must_exist or (names - {LOCK_FILE}):
        if META_FILE not in names:
            raise InputError("--store", str(path), message=f"{json.dumps(str(path))} is not a painkg store (no "
                                                           f"{META_FILE}); expected an empty directory or a store "
                                                           "built by `painkg batch --store`")


class PatientStore:
    """The store at ``path``, opened for writing (created if missing). Use as a context manager."""

    def __init__(self, path: str | os.PathLike):
        import pyoxigraph as ox

        self.path = Path(path)
        _check_dir(self.path, must_exist=False)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(self.path / LOCK_FILE, True, "another painkg batch or a query is using it; "
                                                        "try again when it has finished")
        try:
            self.store = ox.Store(str(self.path))
            self._ensure_ontology()
        except BaseException:
            self._lock.close()
            raise

    def _ensure_ontology(self) -> None:
        import pyoxigraph as ox

        text, digest = _ontology_nquads()
        meta_path = self.path / META_FILE
        meta = json.loads(meta_path.read_text("utf-8")) if meta_path.exists() else {}
        if meta and meta.get("format") != STORE_FORMAT:
            raise InputError("--store", str(self.path), message=f"{json.dumps(str(self.path))} was built by an older "
                                                                f"painkg ({meta.get('format')}, not {STORE_FORMAT}): "
                                                                "use a new --store directory, or delete this one")
        if meta.get("ontology_sha256") == digest and self.store.contains_named_graph(ox.NamedNode(str(ONTOLOGY_GRAPH))):
            return
        self.store.remove_graph(ox.NamedNode(str(ONTOLOGY_GRAPH)))
        self.store.load(text, format=ox.RdfFormat.N_QUADS)
        self.store.flush()
        meta = {"format": STORE_FORMAT, "ontology_sha256": digest, "patient_rdf": "cohort",
                "doc": "docs/sparql.md, 'The persistent store'"}
        temp = meta_path.with_name(meta_path.name + ".tmp")
        temp.write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
        os.replace(temp, meta_path)

    def remove_patients(self, ids: Iterable[str]) -> int:
        """Remove the named graphs of these patients (those present); how many patients were removed."""
        import pyoxigraph as ox

        removed = 0
        for pid in ids:
            graph = ox.NamedNode(str(input_graph_iri(pid)))
            derivations = ox.NamedNode(str(derivations_graph_iri(pid)))
            if self.store.contains_named_graph(graph) or self.store.contains_named_graph(derivations):
                self.store.remove_graph(graph)
                self.store.remove_graph(derivations)
                removed += 1
        return removed

    def has_patients(self) -> bool:
        """Whether any patient's graphs are in the store (stops at the first)."""
        return any(g.value.endswith("/graph/input") for g in self.store.named_graphs())

    def bulk_load(self, source) -> None:
        """Add N-Quads from ``source`` (a path or a binary stream) with Oxigraph's bulk loader.

        The loader is not transactional: a load cut short leaves part of it in
        the store. Callers remove the patients' graphs first and load them again
        (see :meth:`load_nquads` and :mod:`kg.cohort.loading`).
        """
        import io

        import pyoxigraph as ox

        if isinstance(source, (str, os.PathLike)):
            self.store.bulk_load(path=os.fspath(source), format=ox.RdfFormat.N_QUADS, lenient=True)
        else:
            self.store.bulk_load(io.BufferedReader(source, 1 << 20) if isinstance(source, io.RawIOBase) else source,
                                 format=ox.RdfFormat.N_QUADS, lenient=True)

    def load_nquads(self, path: str | os.PathLike, ids: Iterable[str]) -> int:
        """Replace the patients ``ids`` by the N-Quads file ``path`` (their graphs); patients replaced."""
        replaced = self.remove_patients(ids)
        if os.path.getsize(path):
            self.bulk_load(path)
        return replaced

    def patient_count(self) -> int:
        """Patients in the store (their input graphs)."""
        return sum(1 for g in self.store.named_graphs() if g.value.endswith("/graph/input"))

    def flush(self) -> None:
        self.store.flush()

    def close(self, optimize: bool = True) -> None:
        """Flush, compact (unless ``optimize`` is False) and release the store."""
        if getattr(self, "store", None) is not None:
            self.store.flush()
            if optimize:
                self.store.optimize()
            self.store = None
        if not self._lock.closed:
            self._lock.close()

    def __enter__(self) -> "PatientStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class StoreOpener:
    """A store to open read-only inside the query worker (see :func:`kg.store.query_guard.run_query`).

    Holds a shared lock on the store from creation until :meth:`close`, so no
    batch writes it meanwhile.
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = _lock(path / LOCK_FILE, False, "a painkg batch is writing it; query it when the batch has "
                                                    "finished")

    def open_read_only(self):
        import pyoxigraph as ox

        return ox.Store.read_only(str(self.path))

    def close(self) -> None:
        self._lock.close()

    def __enter__(self) -> "StoreOpener":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def store_for_query(path: str | os.PathLike) -> StoreOpener:
    """The store at ``path`` for :func:`kg.store.sparql.query`; InputError if it is not a painkg store or is busy."""
    if not isinstance(path, (str, os.PathLike)):
        from ..errors import type_name

        raise InputError("store", type_name(path), "a path to a store directory built by `painkg batch --store`")
    target = Path(path)
    _check_dir(target, must_exist=True)
    return StoreOpener(target)


def store_size(path: str | os.PathLike) -> int:
    """Bytes the store's files take on disk."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:  # removed meanwhile
                pass
    return total
