"""The HTTP service: explain API, CDS Hooks 2.0, SPARQL 1.1 Protocol and pages.

Needs the ``serve`` extra (``pip install 'painkg[serve]'``); ``import kg`` never
imports this package. Start it with ``painkg serve`` or build the ASGI app with
:func:`kg.serve.app.create_app`.
"""
