"""Inputs: from the outside world to a validated :class:`~kg.inputs.patient.Patient`
(painkg's JSON contract today: ``patient.py``), within the limits of ``limits.py``, read
by ``reading.py`` (bounded reads, strict UTF-8 and JSON) with the date rules of
``dates.py``. May import :mod:`kg.knowledge` and :mod:`kg.errors`."""
