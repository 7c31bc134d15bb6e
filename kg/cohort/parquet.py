"""``results.parquet`` (``--format parquet``): the result lines as a table, written with pyarrow.

Columns: ``id``, ``file``, ``line``, ``pain_persists``, ``persistent_pain``,
``conclusions`` (a list of ``{concept, site, certainty}``), ``ignored`` (a list of
``{resource, reason}``: the FHIR resources not used, empty for painkg's JSON) and
``explanation`` (the explanation's JSON text; null with ``--summary-only``). One row group per
chunk, in chunk order, so memory stays flat. pyarrow is imported only here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InputError
from .chunks import chunk_path

__all__ = ["require_pyarrow", "write_parquet"]


def require_pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise InputError("--format", "parquet", message="needs pyarrow: pip install 'painkg[cohort]' (or: pip "
                                                        "install pyarrow)") from None
    return pyarrow


def _schema(pa):
    conclusion = pa.struct([("concept", pa.string()), ("site", pa.string()), ("certainty", pa.string())])
    ignored = pa.struct([("resource", pa.string()), ("reason", pa.string())])
    return pa.schema([("id", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                      ("pain_persists", pa.bool_()), ("persistent_pain", pa.string()),
                      ("conclusions", pa.list_(conclusion)), ("ignored", pa.list_(ignored)),
                      ("explanation", pa.string())])


def write_parquet(out: Path, chunks: int, target: Path) -> None:
    """Write ``target`` from the chunks' result lines (atomically)."""
    pa = require_pyarrow()
    import pyarrow.parquet as pq

    schema = _schema(pa)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    writer = pq.ParquetWriter(str(temp), schema)
    try:
        for index in range(chunks):
            columns: dict[str, list] = {name: [] for name in schema.names}
            with open(chunk_path(out, index, "results.jsonl"), encoding="utf-8") as lines:
                for text in lines:
                    row = json.loads(text)
                    explanation = row.get("explanation")
                    row["explanation"] = None if explanation is None else json.dumps(
                        explanation, ensure_ascii=False, separators=(",", ":"))
                    for name in schema.names:
                        columns[name].append(row.get(name))
            writer.write_table(pa.table(columns, schema=schema))
        writer.close()
        os.replace(temp, target)
    except BaseException:
        writer.close()
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
