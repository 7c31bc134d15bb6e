"""The painkg rule engine (installed as ``kg.rules``).

:class:`~kg.rules.engine.PainEngine` is an experta ``KnowledgeEngine`` whose
rules encode the source text; :class:`~kg.rules.tracing.TracingEngine` records
for every fact the rule, premises and bindings that produced it. Each rule's
method name, with ``_`` read as ``-``, is its stable id in ``ontology/rules.ttl``.
"""
