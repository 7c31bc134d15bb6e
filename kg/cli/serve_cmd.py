"""``painkg serve``: the HTTP service (:func:`kg.serve.app.create_app` on uvicorn).

The service is in ``kg.serve``, an interface beside this one that the CLI does
not import: it is reached through the public API (``kg.create_app``,
``kg.ServeSettings``, which the package root loads on first use), as
``painkg batch`` reaches ``kg.batch``.
"""

from __future__ import annotations


from pathlib import Path

import click

from ..errors import InputError
from . import cli

_MISSING_EXTRA = ("the serve extra is not installed ({name} cannot be imported); install it with: "
                  "pip install 'painkg[serve]'")


def _settings(store, host, port, cors, cds_open, cds_issuer, cds_jwks, base_url=None):
    """ServeSettings from the options; InputError naming the option for anything wrong."""
    import kg

    if (cds_issuer is None) != (cds_jwks is None):
        raise InputError("--cds-issuer" if cds_issuer is None else "--cds-jwks",
                         message="is missing; give --cds-issuer ISS and --cds-jwks FILE together")
    issuers = ()
    if cds_issuer is not None:
        from ..inputs.reading import parse_json, read_text

        text = read_text(cds_jwks, field="--cds-jwks", shown=cds_jwks, expected="a readable JWKS JSON file",
                         limit=1024 * 1024)
        jwks = parse_json(text, field="--cds-jwks", shown=cds_jwks)
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise InputError("--cds-jwks", cds_jwks, "a JWKS document: a JSON object with a \"keys\" array")
        issuers = (kg.CdsIssuer(iss=cds_issuer, jwks=jwks),)
    settings = kg.ServeSettings(host=host, port=port, store=Path(store) if store else None,
                             cors_origins=tuple(cors), cds_issuers=issuers, cds_open=cds_open, base_url=base_url)
    return settings


@cli.command("serve")
@click.option("--store", metavar="DIR", help="Serve this store built by `painkg batch --store` (SPARQL, /patients).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default; 0.0.0.0 exposes it to the network).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--cors", "cors", multiple=True, metavar="ORIGIN",
              help="Allow browser calls from ORIGIN (repeatable; * for any).")
@click.option("--cds-open", is_flag=True,
              help="CDS Hooks without JWT checks: for local testing only, never in production.")
@click.option("--cds-issuer", metavar="ISS", help="A CDS client's JWT issuer (iss) to trust.")
@click.option("--cds-jwks", metavar="FILE", help="The JWKS (public keys) of --cds-issuer, as a JSON file.")
@click.option("--base-url", metavar="URL",
              help="The public URL clients call (https://cds.example.org): card links and the JWT aud. "
                   "Required with --cds-issuer.")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Engine threads (one reasoning engine each).")
def serve_command(store, host, port, cors, cds_open, cds_issuer, cds_jwks, base_url, workers):
    """Start the HTTP service: explain API, CDS Hooks, SPARQL endpoint and pages.

    Faces: POST /explain (and /why-not, /what-if, /interventions, /timeline),
    GET /cds-services (CDS Hooks 2.0), /sparql (SPARQL 1.1 Protocol, YASGUI in
    a browser), / and /patients/ID (pages, each with a JSON twin), /openapi.json.
    See docs/serve.md.

    Example:

    \b
        painkg serve
        painkg serve --store run1/store --port 8080 --cors https://app.example.org
    """
    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            raise click.ClickException(_MISSING_EXTRA.format(name=module)) from None
    import dataclasses

    import kg

    settings = _settings(store, host, port, cors, cds_open, cds_issuer, cds_jwks, base_url)
    settings = dataclasses.replace(settings, extra={**settings.extra, "workers": workers})
    try:
        app = kg.create_app(settings)  # checks the store (error: --store: ... and exit 2) and the base URL
    except InputError as exc:
        if exc.field != "base_url":
            raise
        raise InputError("--base-url", message=exc.message) from None
    click.echo(f"painkg serve: http://{host}:{port}/ (store: {settings.store or 'none'}; Ctrl-C stops)", err=True)
    if cds_open:
        click.echo("warning: --cds-open: CDS Hooks calls are NOT authenticated; local testing only", err=True)
    # The production server: header and body timeouts, connection and upload caps, JSON errors from the
    # HTTP parser, a rate-limited log (kg.serve.run; docs/serve.md, "Running in production").
    kg.run_server(settings, app=app)


__all__ = ["serve_command"]
