"""An explanation read back from its JSON, for renderers that only read it.

Memoised reasoning (:mod:`kg.reasoning.memo`) gives an explanation as JSON text,
not as a :class:`~kg.reasoning.explanation.Explanation`. :func:`explanation_view`
wraps that JSON (:meth:`kg.Explanation.to_dict`) in objects with the same read-only
attributes the CDS cards and the text helpers use: ``facts``, ``fact(id)``,
``chains`` (with ``steps`` and their ``evidence``), ``expectations``,
``persistent_pain``, ``pain_persists``, ``assessed_on``, ``threshold_days`` and
``ontology``.

>>> import json, kg
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> v = explanation_view(json.loads(e.to_json()), e.ontology)
>>> v.fact("persistent_pain@lower_back").certainty == e.fact("persistent_pain@lower_back").certainty
True
>>> [s.rule for s in v.chains[0].steps] == [s.rule for s in e.chains[0].steps]
True
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError

__all__ = ["explanation_view"]


class _Record:
    """Attribute access over one JSON object (``renames`` maps attribute names to keys)."""

    __slots__ = ("_data",)
    renames: dict[str, str] = {}

    def __init__(self, data: dict):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[self.renames.get(name, name)]
        except KeyError:
            raise AttributeError(name) from None


class _Evidence(_Record):
    __slots__ = ()


class _Step(_Record):
    __slots__ = ()

    @property
    def evidence(self) -> tuple:
        return tuple(_Evidence(x) for x in self._data["evidence"])

    @property
    def premises(self) -> tuple:
        return tuple(self._data["premises"])


class _Chain(_Record):
    __slots__ = ()

    @property
    def steps(self) -> tuple:
        return tuple(_Step(s) for s in self._data["steps"])

    @property
    def path(self) -> tuple:
        return tuple(self._data["path"])


class _Expectation(_Record):
    __slots__ = ()
    renames = {"condition": "if"}


class _Fact(_Record):
    __slots__ = ()


class ExplanationView:
    """The read-only attributes of an :class:`~kg.reasoning.explanation.Explanation`, from its JSON."""

    def __init__(self, data: dict, ontology):
        self._json = data
        self.ontology = ontology
        self.patient_id = data["patient"]
        self.assessed_on = data["assessed_on"]
        self.threshold_days = data["threshold_days"]
        self.pain_persists = data["pain_persists"]
        self.persistent_pain = data["persistent_pain"]
        self.facts = tuple(_Fact(f) for f in data["facts"])
        self.chains = tuple(_Chain(c) for c in data["chains"])
        self.expectations = tuple(_Expectation(x) for x in data["expectations"])
        self._by_id = {f.id: f for f in self.facts}

    def to_dict(self) -> dict:
        """The explanation's JSON form this view reads (the one shape, :meth:`kg.Explanation.to_dict`)."""
        return self._json

    def fact(self, fact_id: str):
        """The fact with this id; :class:`~kg.errors.InputError` if there is none."""
        try:
            return self._by_id[fact_id]
        except KeyError:
            raise InputError("fact", fact_id, "one of " + ", ".join(sorted(self._by_id))) from None


def explanation_view(data: dict, ontology) -> ExplanationView:
    """Wrap an explanation's JSON (a dict) so read-only renderers can use it like the Explanation."""
    return ExplanationView(data, ontology)
