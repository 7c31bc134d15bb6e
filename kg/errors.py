"""The exceptions painkg raises.

Every problem with what a caller passed in (a patient, a concept key, a
setting) is an :class:`InputError`; it names the field, the value and what is
allowed. All painkg exceptions derive from :class:`PainkgError`.

Example
-------
>>> err = InputError("injuries[0].site", "knee", "one of lower_back, neck, upper_back")
>>> str(err)
"injuries[0].site: 'knee' is not allowed; expected one of lower_back, neck, upper_back"
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["PainkgError", "InputError"]

_MISSING = object()


class PainkgError(Exception):
    """Base class of every exception painkg raises on purpose."""


class InputError(PainkgError, ValueError):
    """Bad input: ``field`` had ``value``, which is not ``allowed``.

    ``message`` overrides the generated text where a plainer sentence fits.
    """

    def __init__(self, field: str, value: Any = _MISSING, allowed: str = "", message: str = ""):
        self.field = field
        self.value = None if value is _MISSING else value
        self.allowed = allowed
        if not message:
            shown = "is missing" if value is _MISSING else f"{value!r} is not allowed"
            message = f"{shown}; expected {allowed}" if allowed else shown
        self.message = message
        super().__init__(f"{field}: {message}")
