"""What an operator configures for ``painkg serve``; one frozen object, passed explicitly.

>>> s = ServeSettings()
>>> (s.host, s.port, s.cds_open)
('127.0.0.1', 8000, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CdsIssuer:
    """A CDS client (an EHR) allowed to call the CDS Hooks service.

    ``iss`` is the JWT ``iss`` claim; its keys come from ``jwks`` (a JWKS document
    as a dict, already loaded) or ``jwks_url`` (fetched only when the operator set
    ``ServeSettings.fetch_jwks``). ``tenant`` optionally pins the ``tenant`` claim.
    """

    iss: str
    jwks: dict | None = None
    jwks_url: str | None = None
    tenant: str | None = None


@dataclass(frozen=True)
class ServeSettings:
    """Every knob of the service; defaults are the safe ones (loopback, auth on, no fetching)."""

    host: str = "127.0.0.1"
    port: int = 8000
    # The on-disk Oxigraph store written by `painkg batch --store` (None: ontology only).
    store: Path | None = None
    # Public base URL the clients call (https://cds.example.org): every CDS JWT's aud must name a URL under
    # it, and card links use it. Required when tokens are verified (issuers and not cds_open; see
    # kg.serve.auth.check_auth_settings); None is allowed only otherwise, and links then use the request's URL.
    base_url: str | None = None
    # CORS: origins allowed to call the API from a browser ("*" for any); empty: no CORS headers.
    cors_origins: tuple[str, ...] = ()
    # CDS Hooks: trusted issuers; with cds_open=True the JWT is not required (local testing only).
    cds_issuers: tuple[CdsIssuer, ...] = ()
    cds_open: bool = False
    # Whether a CDS request's fhirServer may be contacted when prefetch is missing (never by default).
    fhir_fetch: bool = False
    # Whether jwks_url may be fetched (never by default; give the JWKS inline instead).
    fetch_jwks: bool = False
    # Request body limit in bytes (the --data limit from the hardening issue).
    max_body_bytes: int = 16 * 1024 * 1024
    # SPARQL limits (the CLI's defaults from the hardening issue).
    sparql_timeout_s: float = 30.0
    sparql_max_rows: int = 100_000
    extra: dict = field(default_factory=dict)
