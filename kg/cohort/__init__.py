"""Batch runs over cohorts: ``kg.batch`` and ``painkg batch`` (see docs/cohort.md).

Records are read streamed from NDJSON files, JSON files, directories or
standard input (:mod:`.sources`), cut into chunks (:mod:`.chunks`) and reasoned
over one record at a time by :func:`.outcome.reason_record`, in this process,
in worker processes (:mod:`.local`) or on a Dask cluster (:mod:`.dask_runner`);
finished chunks are loaded into a persistent Oxigraph store in the cohort shape
(:mod:`.loading`, :mod:`kg.store.cohort_shape`).
"""

from .runner import DEFAULT_CHUNK_SIZE, batch

__all__ = ["batch", "DEFAULT_CHUNK_SIZE"]
