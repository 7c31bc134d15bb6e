"""Reasoning: the :class:`~kg.reasoning.reasoner.Reasoner` runs the engine
(:mod:`kg.rules`) over a patient's facts and turns the trace into an
:class:`~kg.reasoning.explanation.Explanation` (chains, loops, rule premises).
May import :mod:`kg.rules`, :mod:`kg.inputs`, :mod:`kg.knowledge`, :mod:`kg.errors`."""
