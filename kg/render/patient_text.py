"""The explanation in plain words for the patient: the brief report for ``audience="patient"``.

The sentences are :mod:`kg.knowledge.wording`'s, through the presentation
model (:mod:`kg.render.presentation`), so the patient reads the same answer
as the clinician, in everyday words and no more firmly: "is expected to" for
expected, "may" for possible, "you told us" for what the record says.

>>> import kg
>>> text = to_patient_text(kg.explain("examples/lower-back-strain-day20.json"))
>>> text.splitlines()[1]
'Your pain at the lower back is expected to persist.'
"""

from __future__ import annotations

from .brief import brief_text
from .presentation import present

__all__ = ["to_patient_text"]


def to_patient_text(e) -> str:
    """The patient wording of an explanation (an Explanation, or its JSON dict with ``ontology``)."""
    return brief_text(present(e.to_dict(), e.ontology, "patient"))
