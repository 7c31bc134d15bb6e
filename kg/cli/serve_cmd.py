"""``painkg serve``: the HTTP service (:func:`kg.serve.app.create_app` on uvicorn).

The service is in ``kg.serve``, an interface beside this one that the CLI does
not import: it is reached through the public API (``kg.create_app``,
``kg.ServeSettings``, which the package root loads on first use), as
``painkg batch`` reaches ``kg.batch``.

Each limit option is a ``kg.ServeSettings`` field of the same name, with its
default, help line and range read from the field (so the command line, the
Python API and docs/serve.md cannot disagree), and checked as the field is: a
bad value is ``error: --option: ... is not allowed; expected ...``, exit 2.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

import kg

from ..errors import InputError
from . import cli

_MISSING_EXTRA = ("the serve extra is not installed ({name} cannot be imported); install it with: "
                  "pip install 'painkg[serve]'")

#: ``painkg serve --help``'s sections after "Options", each with its options: (option, ServeSettings field).
SECTIONS = {
    "Service": (("--processes", "processes"), ("--workers", "workers"), ("--log-level", "log_level"), ("--http-parser", "http_parser"),
                ("--health-ttl", "health_ttl_s")),
    "Connections and time": (("--header-timeout", "header_timeout_s"), ("--body-timeout", "body_timeout_s"),
                             ("--keep-alive", "keep_alive_s"), ("--max-connections", "max_connections"),
                             ("--backlog", "backlog")),
    "Request sizes": (("--max-head", "max_head_bytes"), ("--max-uploads", "max_uploads"),
                      ("--max-body", "max_body_bytes"), ("--max-patient-body", "patient_body_bytes")),
    "SPARQL": (("--sparql-timeout", "sparql_timeout_s"), ("--sparql-max-rows", "sparql_max_rows"),
               ("--sparql-concurrency", "sparql_concurrency"), ("--sparql-queue", "sparql_queue"),
               ("--sparql-max-wait", "sparql_max_wait_s")),
}

#: The ServeSettings fields with a range or choices (kg.serve.settings.SETTING_SPECS, read through kg).
_FIELDS = {f.name: f for f in dataclasses.fields(kg.ServeSettings) if "spec" in f.metadata}


def _number(text: str):
    """``text`` as an int, else a float, else the text itself (which the check then refuses by name)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


class _SettingType(click.ParamType):
    """A setting's value from the command line, checked as the ServeSettings field checks it.

    A bad value raises :class:`~kg.errors.InputError` naming the option (not click's "Invalid value for"),
    which the group prints as ``error: --option: ...`` with exit status 2, like every painkg input error.
    """

    name = "setting"

    def __init__(self, field_name: str, option: str):
        self.field_name = field_name
        self.option = option
        self.spec = _FIELDS[field_name].metadata["spec"]

    def convert(self, value, param, ctx):
        if isinstance(value, str) and self.spec.kind != "choice":
            value = _number(value.strip())
        return self.spec.check(self.field_name, value, self.option)


class _SectionOption(click.Option):
    """An option listed under ``section`` in ``--help``, its default shown as ``shown_default`` if given."""

    def __init__(self, *args, section: str = "Options", shown_default: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.section = section
        self.shown_default = shown_default

    def get_help_extra(self, ctx):
        # click >= 8.2 (older clicks show the plain default); a string show_default would be put in parentheses.
        extra = super().get_help_extra(ctx)
        if self.shown_default and "default" in extra:
            extra["default"] = self.shown_default
        return extra


class _ServeCommand(click.Command):
    """``--help`` lists the options by section ("Options" first, then :data:`SECTIONS` in order)."""

    def format_options(self, ctx, formatter):
        sections: dict[str, list] = {"Options": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record:
                sections.setdefault(getattr(param, "section", "Options"), []).append(record)
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl(rows)


def _setting_option(option: str, field_name: str, section: str):
    """A ``--option`` for the ServeSettings field ``field_name``: its default, help line and check."""
    spec_field = _FIELDS[field_name]
    spec = spec_field.metadata["spec"]
    metavar = {"seconds": "SECONDS", "whole": "BYTES" if field_name.endswith("_bytes") else "N"}.get(
        spec.kind, f"[{'|'.join(spec.choices)}]")
    default = spec_field.default
    size = "" if metavar != "BYTES" else f" ({default // 1024 ** 2} MiB)" if default % 1024 ** 2 == 0 else (
        f" ({default // 1024} KiB)" if default % 1024 == 0 else "")
    return click.option(option, field_name, cls=_SectionOption, section=section, metavar=metavar,
                        type=_SettingType(field_name, option), default=default, show_default=True,
                        shown_default=f"{default:g}{size}" if isinstance(default, float) else f"{default}{size}",
                        help=spec.help)


def _setting_options(function):
    """Every option of :data:`SECTIONS`, in order."""
    for section, options in reversed(SECTIONS.items()):
        for option, field_name in reversed(options):
            function = _setting_option(option, field_name, section)(function)
    return function


def _settings(store, host, port, cors, cds_open, cds_issuer, cds_jwks, base_url=None, replay_store=None, **limits):
    """ServeSettings from the options; InputError naming the option for anything wrong."""
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
    try:
        return kg.ServeSettings(host=host, port=port, store=Path(store) if store else None, cors_origins=tuple(cors),
                                cds_issuers=issuers, cds_open=cds_open, base_url=base_url, replay_store=replay_store,
                                **limits)
    except InputError as exc:  # the one field checked here that has no _SettingType: named as its option
        if exc.field != "replay_store":
            raise
        raise InputError("--replay-store", message=exc.message) from None


@cli.command("serve", cls=_ServeCommand)
@click.option("--store", metavar="DIR", help="Serve this store built by `painkg batch --store` (SPARQL, /patients).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default; 0.0.0.0 exposes it to the network).")
@_setting_option("--port", "port", "Options")
@click.option("--cors", "cors", multiple=True, metavar="ORIGIN",
              help="Allow browser calls from ORIGIN (repeatable; * for any).")
@click.option("--cds-open", is_flag=True,
              help="CDS Hooks without JWT checks: for local testing only, never in production.")
@click.option("--cds-issuer", metavar="ISS", help="A CDS client's JWT issuer (iss) to trust.")
@click.option("--cds-jwks", metavar="FILE", help="The JWKS (public keys) of --cds-issuer, as a JSON file.")
@click.option("--base-url", metavar="URL",
              help="The public URL clients call (https://cds.example.org): card links and the JWT aud. "
                   "Required with --cds-issuer.")
@click.option("--replay-store", metavar="URL", cls=_SectionOption, section="Service",
              help="Where each CDS JWT's jti is remembered, shared by every process (redis://HOST:PORT/DB). "
                   "Required with --processes over 1 and --cds-issuer.")
@_setting_options
def serve_command(store, host, port, cors, cds_open, cds_issuer, cds_jwks, base_url, replay_store, **limits):
    """Start the HTTP service: explain API, CDS Hooks, SPARQL endpoint and pages.

    Faces: POST /explain (and /why-not, /what-if, /interventions, /timeline),
    GET /cds-services (CDS Hooks 2.0), /sparql (SPARQL 1.1 Protocol, YASGUI in
    a browser), / and /patients/ID (pages, each with a JSON twin), /openapi.json,
    GET /healthz (readiness). Behind a reverse proxy in production: see
    docs/serve.md, "Running in production".

    Example:

    \b
        painkg serve
        painkg serve --store run1/store --port 8080 --cors https://app.example.org
        painkg serve --header-timeout 5 --max-connections 256 --sparql-queue 4
        painkg serve --processes 2 --replay-store redis://127.0.0.1:6379/0
    """
    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            raise click.ClickException(_MISSING_EXTRA.format(name=module)) from None
    settings = _settings(store, host, port, cors, cds_open, cds_issuer, cds_jwks, base_url, replay_store, **limits)
    try:
        # Checks the store (error: --store: ... and exit 2), the base URL and, with several processes verifying
        # tokens, that the replay guard is shared (a replay to another process must not pass silently).
        app = kg.create_app(settings)
    except InputError as exc:
        option = {"base_url": "--base-url", "replay_store": "--replay-store"}.get(exc.field)
        if option is None:
            raise
        raise InputError(option, message=exc.message) from None
    processes = f"; {settings.processes} processes" if settings.processes > 1 else ""
    click.echo(f"painkg serve: http://{host}:{port}/ (store: {settings.store or 'none'}{processes}; Ctrl-C stops)",
               err=True)
    if cds_open:
        click.echo("warning: --cds-open: CDS Hooks calls are NOT authenticated; local testing only", err=True)
    # The production server: header and body timeouts, connection and upload caps, JSON errors from the
    # HTTP parser, a rate-limited log (kg.serve.run; docs/serve.md, "Running in production").
    status = kg.run_server(settings, app=app)
    if status:  # one of several processes crashed at its start (its log line says why)
        raise SystemExit(status)


__all__ = ["serve_command", "SECTIONS"]
