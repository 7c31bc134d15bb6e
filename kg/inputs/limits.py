"""The limits on what painkg reads, in one place, with the reason for each.

Every limit is checked before the expensive work (parsing, reasoning,
serialising) and breaking one raises :class:`~kg.errors.InputError` (exit
status 2 on the command line) naming the field, the value and the limit.
Files are read with a bounded read (at most the limit plus one byte), so an
endless file such as ``/dev/zero`` fails at once instead of filling memory.
The README's "Bad input" section lists them for users.

>>> LIMITS.patient_bytes, LIMITS.string_chars, LIMITS.items, LIMITS.depth
(1048576, 200, 100, 20)
>>> LIMITS.earliest_date.isoformat(), LIMITS.latest_date.isoformat()
('1900-01-01', '2999-12-31')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Limits", "LIMITS"]


@dataclass(frozen=True)
class Limits:
    """painkg's input limits (read-only; :data:`LIMITS` is the one instance)."""

    #: A patient JSON file (or standard input). A real patient is a few hundred
    #: bytes; 1 MiB leaves ample room and bounds the cost of what follows (RDF
    #: output repeats the id in every IRI: a 10 MB id made 1.15 GB of N-Quads).
    patient_bytes: int = 1024 * 1024

    #: Characters in any string of a patient (ids, keys, dates) and of any object
    #: key. Keys and dates are short words; an id is a label, not a document.
    string_chars: int = 200

    #: Items in any JSON array (injuries, findings) and keys in any object. One
    #: patient has a handful of injuries and findings.
    items: int = 100

    #: Nesting of arrays and objects in a patient or a ``--set`` value. The contract
    #: needs 3 (patient > injuries > injury); the limit is checked on the text,
    #: before the (recursive) JSON parser sees it, so 100,000 levels fail fast.
    depth: int = 20

    #: Values (strings, numbers, arrays, objects...) in one patient or ``--set``
    #: value, all levels together. A patient has a few dozen; the cap bounds the
    #: work of checking a value built in Python, where limits of items and depth
    #: alone would allow 100 ** 20.
    values: int = 10_000

    #: Characters of a number as written (digits, sign, point, exponent), and the
    #: digits of an integer. A day count needs 5; Python refuses to convert more
    #: than 4,300 digits, and no number in the contract needs more than 20.
    number_chars: int = 20

    #: Dates in a patient, ``--as-of`` and what-if changes. Any real assessment
    #: fits, with room for what-if; with the longest threshold (36,500 days) every
    #: date painkg computes stays inside Python's calendar (years 1 to 9999).
    earliest_date: dt.date = dt.date(1900, 1, 1)
    latest_date: dt.date = dt.date(2999, 12, 31)

    #: Days in a relative date (``--as-of +Nd``, ``assessed_on=-Nd``): 5 digits.
    relative_days: int = 99_999

    #: A ``what-if`` change (``PATH=VALUE``), in characters, and changes per call.
    change_chars: int = 10_000
    changes: int = 100

    #: A SPARQL query (text, ``@FILE`` or ``@-``). The longest example is 2 KB.
    query_bytes: int = 100 * 1024

    #: An RDF ``--data`` file. Its quads are held in memory, as Python objects and
    #: in Oxigraph (many times the file's size); 16 MiB holds ~160 patients saved
    #: with ``painkg explain --format trig`` (~100 KB each).
    data_bytes: int = 16 * 1024 * 1024

    @property
    def date_range(self) -> str:
        """The allowed dates, as a message says them."""
        return f"a date from {self.earliest_date.isoformat()} to {self.latest_date.isoformat()}"


#: The limits painkg applies.
LIMITS = Limits()
