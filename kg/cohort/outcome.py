"""One record in, one outcome out: :func:`reason_record`, the unit every runner repeats.

A record becomes either a result (one line of ``results.jsonl``, and the
patient's lean N-Quads when a store is asked for) or a reject (the ``error:``
message). This is the seam a memo cache wraps: :class:`RecordReasoner` is
what each worker process (or Dask worker) builds once and calls per record,
and :func:`new_record_reasoner` is the one place that builds it; a cache
returns the same :class:`Outcome` for the same record and options.

Result line (keys in this order; ``explanation`` is :meth:`kg.Explanation.to_dict`,
the same JSON as ``to_json()``, left out with ``summary_only``)::

    {"id": ..., "file": ..., "line": 3, "pain_persists": true, "persistent_pain": "expected",
     "conclusions": [{"concept": "persistent_pain", "site": "lower_back", "certainty": "expected"}, ...],
     "ignored": [{"resource": "Observation/o1", "reason": "records muscle spasm as absent (...)"}, ...],
     "explanation": {...}}

``conclusions`` are the explanation's chains (its main conclusions), each
with the certainty of the concluded fact. ``ignored`` lists the FHIR resources
of the record painkg did not use, and why, exactly as ``painkg explain --format
json`` lists them (:func:`kg.render.fhir_export.fhir_explanation_dict`); it is
empty for painkg's own JSON. Reject line::

    {"file": ..., "line": 3, "error": "injuries[0].site: ...", "record": "<the first 1,000 characters>",
     "record_bytes": 1234}

A record rejected before it is reasoned over (a bulk export's orphan, :class:`~kg.cohort.sources.Record`
with ``error``) gives the same reject line, with its own file, line and error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InputError, type_name
from ..inputs.limits import LIMITS
from ..inputs.reading import JsonLimitError, loads, size_text
from ..reasoning.memo import DEFAULT_MEMO_SIZE, MemoReasoner, MemoResult, result_of
from ..reasoning.json_text import loads_json
from ..reasoning.memo_pieces import dumps
from ..reasoning.reasoner import DEFAULT_THRESHOLD_DAYS, Reasoner
from .sources import RAW_CHARS, Record

if TYPE_CHECKING:  # the store's shape (and rdflib, 0.3 s) is imported only when a store is being built
    from ..store.cohort_shape import CohortWriter

__all__ = ["Options", "Outcome", "reason_record", "RecordReasoner", "new_record_reasoner", "reject_line"]

#: Merged combinations of pieces a batch worker keeps per cached piece. A cohort combines a few hundred
#: pieces into tens of thousands of combinations (100,000 synthetic patients: about 740 pieces, 38,000
#: combinations), each about 1.5 KB (its text is the pieces' own strings, shared): 20,000 by default,
#: about 30 MB, against a server's ``maxsize // 4`` (it keeps one memo for all its threads).
COMBOS_PER_PIECE = 4


@dataclass(frozen=True)
class Options:
    """What every record is reasoned with (the same in every worker)."""

    as_of: str | None = None
    threshold_days: int = DEFAULT_THRESHOLD_DAYS
    summary_only: bool = False
    #: Whether the patient's N-Quads (the store's cohort shape) are wanted (a store is being built).
    nquads: bool = False
    #: Pieces the memo cache keeps (kg.reasoning.memo); 0 turns memoised reasoning off.
    memo: int = DEFAULT_MEMO_SIZE


@dataclass(frozen=True)
class Outcome:
    """A result (``result`` set: the JSON line without its newline) or a reject (``error`` set)."""

    result: str | None = None
    error: str | None = None
    patient_id: str | None = None
    pain_persists: bool = False
    nquads: str | None = None
    #: True when the error was not the record's fault (a bug in painkg: please report it).
    internal: bool = False
    #: How many input resources the result lists as not used (``ignored``).
    ignored: int = 0
    #: True for a reject of a resource that belongs to no patient (a bulk export's orphan).
    orphan: bool = False


def _parse(record: Record):
    if record.oversized:
        raise InputError("record", message=f"{record.size:,} bytes exceeds the limit of "
                                           f"{size_text(LIMITS.patient_bytes)} for one patient")
    try:
        text = record.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("record", message=f"is not UTF-8 text: byte 0x{record.data[exc.start]:02x} at offset "
                                           f"{exc.start:,}; expected UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return loads(text)
    except JsonLimitError as exc:
        raise InputError("record", message=str(exc)) from None
    except json.JSONDecodeError as exc:
        raise InputError("record", message=f"is not valid JSON ({exc.msg} at line {exc.lineno} column "
                                           f"{exc.colno})") from None


def reason_record(reasoner: Reasoner, record: Record, options: Options, *, writer: CohortWriter | None = None,
                  memo: MemoReasoner | None = None) -> Outcome:
    """Reason over one record with ``reasoner``: its :class:`Outcome`. Never raises for a bad record.

    ``writer`` writes the N-Quads (the store's cohort shape, :mod:`kg.store.cohort_shape`) and
    remembers the shared nodes it wrote. With ``memo`` the line comes from memoised reasoning:
    the same bytes, faster; so do the N-Quads, built from the line's explanation.
    """
    if record.error is not None:
        return Outcome(error=record.error, orphan=True)
    try:
        data = _parse(record)
        if not isinstance(data, dict):
            raise InputError("record", type_name(data), "a JSON object (one patient)")
        as_of, ignored = options.as_of, []
        if isinstance(data.get("resourceType"), str):  # FHIR, as kg.explain tells it
            data, ignored = _fhir(data, as_of)
            as_of = None  # the FHIR reader applied it
        if options.nquads and writer is None:
            from ..store.cohort_shape import CohortWriter

            writer = CohortWriter(reasoner.ontology)
        if memo is not None:
            m = memo.explain_json(data, as_of=as_of, threshold_days=options.threshold_days)
            quads = None
            if options.nquads:  # the patient as validated, and the explanation the line holds
                from ..inputs.patient import load_patient

                quads = writer.nquads(load_patient(data, as_of=as_of, ontology=reasoner.ontology),
                                      loads_json(m.explanation))  # orjson where installed: ~0.5 ms less a patient
            return Outcome(result=_line(m, record, options, ignored), patient_id=m.patient_id,
                           pain_persists=m.pain_persists, ignored=len(ignored), nquads=quads)
        e = reasoner.explain(data, as_of=as_of, threshold_days=options.threshold_days)
        text = _line(result_of(e, explanation=not options.summary_only), record, options, ignored)
        quads = writer.nquads(e.patient, e.to_dict()) if options.nquads else None
    except InputError as exc:
        return Outcome(error=str(exc))
    except RecursionError as exc:  # pragma: no cover - the input limits come first
        return Outcome(error=f"record: cannot be reasoned over ({exc})", internal=True)
    except Exception as exc:  # noqa: BLE001 - one record must not end a run of millions
        return Outcome(error=f"internal error ({type(exc).__name__}: {str(exc)[:300]}); please report it",
                       internal=True)
    return Outcome(result=text, patient_id=e.patient.id, pain_persists=e.pain_persists, nquads=quads,
                   ignored=len(ignored))


def _fhir(data: dict, as_of) -> tuple[dict, list[dict]]:
    """The painkg record of a FHIR record holding one patient, and its resources not used (each
    ``{"resource", "reason"}``, as :func:`kg.render.fhir_export.fhir_explanation_dict` lists them).

    Raises :class:`~kg.errors.InputError` where :func:`kg.explain` would, with its words.
    """
    from ..inputs.fhir import fhir_record, read_fhir  # fhir.resources only for FHIR input

    found = read_fhir(data, as_of=as_of)
    if len(found) != 1:
        fhir_record(data, as_of=as_of)  # raises kg.explain's error (several patients)
    return found[0].record, [dict(i) for i in found[0].ignored]


def _line(m: MemoResult, record: Record, options: Options, ignored: list[dict]) -> str:
    """The result line: the same bytes as ``json.dumps`` of its dict (compact), built from the JSON texts."""
    # One join (the explanation, about 14 KB, is copied once, not once per +).
    tail = ("}",) if options.summary_only else (',"explanation":', m.explanation, "}")
    return "".join(('{"id":', _dumps(m.patient_id), ',"file":', _dumps(record.file), ',"line":', _dumps(record.line),
                    ',"pain_persists":', _dumps(m.pain_persists), ',"persistent_pain":', _dumps(m.persistent_pain),
                    ',"conclusions":', m.conclusions_json, ',"ignored":', _dumps(ignored), *tail))


_dumps = dumps  # compact JSON, scalars written without building an encoder each time


def reject_line(record: Record, error: str) -> str:
    """The ``rejects.jsonl`` line of a record: file, line, error, the record cut to :data:`RAW_CHARS`."""
    raw = record.data.decode("utf-8", "replace")
    return json.dumps({"file": record.file, "line": record.line, "error": error, "record": raw[:RAW_CHARS],
                       "record_bytes": record.size}, ensure_ascii=False, separators=(",", ":"))


class RecordReasoner:
    """One engine (a :class:`~kg.reasoning.reasoner.Reasoner`) per process, called once per record."""

    def __init__(self, reasoner: Reasoner | None = None):
        self.reasoner = reasoner if reasoner is not None else Reasoner()
        self._writer: CohortWriter | None = None
        self.memo: MemoReasoner | None = None

    @property
    def writer(self) -> CohortWriter:
        """The N-Quads writer of this process (built on first use: only a run with a store needs it)."""
        if self._writer is None:
            from ..store.cohort_shape import CohortWriter

            self._writer = CohortWriter(self.reasoner.ontology)
        return self._writer

    def start_chunk(self) -> None:
        """Forget the shared nodes written so far: every chunk's N-Quads carry the firing plans and fact
        templates its patients use (a few thousand quads), so a chunk loads alone, whichever run,
        worker or store it goes to."""
        if self._writer is not None:
            self._writer.known.clear()

    def __call__(self, record: Record, options: Options) -> Outcome:
        if options.memo > 0 and (self.memo is None or self.memo.maxsize != options.memo):
            self.memo = MemoReasoner(self.reasoner, maxsize=options.memo, combos=options.memo * COMBOS_PER_PIECE)
        memo = self.memo if options.memo > 0 else None
        return reason_record(self.reasoner, record, options, writer=self.writer if options.nquads else None,
                             memo=memo)


def new_record_reasoner() -> RecordReasoner:
    """What each worker builds once (one engine per process: experta engines leak when rebuilt)."""
    return RecordReasoner()
