"""Inputs: from the outside world to a validated :class:`~kg.inputs.patient.Patient`
(painkg's JSON contract today). May import :mod:`kg.knowledge` and :mod:`kg.errors`."""
