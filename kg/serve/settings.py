"""What an operator configures for ``painkg serve``; one frozen object, passed explicitly, checked when built.

Every number the server enforces is a typed field here with its default, and a
bad value is :class:`~kg.errors.InputError` naming the field, the value (cut
short) and what is allowed, before anything starts. ``painkg serve`` has an
option for each one an operator tunes (``kg.cli.serve_cmd``); docs/serve.md,
"Running in production", lists them all.

>>> s = ServeSettings()
>>> (s.host, s.port, s.cds_open, s.header_timeout_s, s.sparql_queue)
('127.0.0.1', 8000, False, 10.0, 8)
>>> ServeSettings(header_timeout_s=0)
Traceback (most recent call last):
...
kg.errors.InputError: header_timeout_s: 0 is not allowed; expected a number of seconds above 0 and at most 86,400
>>> ServeSettings(max_uploads="lots")
Traceback (most recent call last):
...
kg.errors.InputError: max_uploads: "lots" is not allowed; expected a whole number from 1 to 10,000
>>> ServeSettings(max_connections=64.0).max_connections  # a whole float is taken as the number it is
64
"""

from __future__ import annotations

import difflib
import math
from dataclasses import InitVar, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..inputs.limits import LIMITS
from .engines import DEFAULT_WORKERS
from .explanation_cache import DEFAULT_SIZE as DEFAULT_EXPLANATIONS
from .health import DEFAULT_TTL_S
from .sparql_queue import DEFAULT_MAX_WAIT_S, DEFAULT_RUNNING, DEFAULT_WAITING

__all__ = ["ServeSettings", "CdsIssuer", "SETTING_SPECS", "SettingSpec", "check_setting", "check_replay_store",
           "LOG_LEVELS",
           "HTTP_PARSERS"]

#: uvicorn's log levels (``trace`` is below ``debug``).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
#: The HTTP parsers: ``auto`` is httptools where it is installed, else h11 (:mod:`kg.serve.http_protocol`).
HTTP_PARSERS = ("auto", "h11", "httptools")

#: The longest any timeout may be: a day (a larger one is a typo, and overflows the event loop's timers).
_DAY_S = 86_400
#: The largest body any route may be given: past it a body is not one request's worth.
_MAX_BODY = 1024 ** 3


@dataclass(frozen=True)
class SettingSpec:
    """What values a setting takes: ``kind`` (``seconds``, ``whole`` or ``choice``), its range or choices, and a
    ``help`` line (``painkg serve --help`` shows it)."""

    kind: str
    low: float = 0
    high: float = math.inf
    strict: bool = False  # whether ``low`` itself is refused (timeouts: above 0)
    choices: tuple[str, ...] = ()
    help: str = ""

    def expected(self) -> str:
        """What is allowed, in words (the end of the error message)."""
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)}"
        if self.kind == "seconds":
            low = f"above {self.low:g}" if self.strict else f"{self.low:g} or more"
            return f"a number of seconds {low} and at most {self.high:,g}"
        return f"a whole number from {self.low:,.0f} to {self.high:,.0f}"

    def check(self, name: str, value: Any, label: str | None = None) -> Any:
        """:func:`check_setting` with this spec (the CLI reaches it through the field's metadata)."""
        return check_setting(name, value, self, label)


def _setting(default: Any, kind: str, low: float = 0, high: float = math.inf, *, strict: bool = False,
             choices: tuple[str, ...] = (), help: str = "") -> Any:
    spec = SettingSpec(kind, low, high, strict, choices, help)
    return field(default=default, metadata={"spec": spec})


def check_setting(name: str, value: Any, spec: SettingSpec, label: str | None = None) -> Any:
    """``value`` as the setting ``name`` holds it (a float for seconds, an int for whole numbers, a lower-case
    choice), or :class:`~kg.errors.InputError` naming ``label`` (default: ``name``).

    >>> check_setting("x", 2, SettingSpec("seconds", strict=True, high=60))
    2.0
    >>> check_setting("x", float("nan"), SettingSpec("seconds", strict=True, high=60), label="--x")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: --x: NaN is not allowed; expected a number of seconds above 0 and at most 60
    """
    label = label or name
    if spec.kind == "choice":
        if isinstance(value, str) and value.lower() in spec.choices:
            return value.lower()
        raise InputError(label, value, spec.expected())
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    # NaN and infinities fail these comparisons or the bound (ints are compared as they are: 10**400 has no
    # float); a whole float (8.0) is taken as the int it is.
    ok = number and not (isinstance(value, float) and math.isnan(value)) \
        and (value > spec.low if spec.strict else value >= spec.low) and value <= spec.high
    if spec.kind == "whole":
        if ok and (isinstance(value, int) or value.is_integer()):
            return int(value)
    elif ok:
        return float(value)
    raise InputError(label, value, spec.expected())


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


class _LegacyExtra(dict):
    """What :attr:`ServeSettings.extra` reads as: the settings that differ from their defaults (read-only).

    Its own type, so that ``dataclasses.replace`` (which passes it back to the constructor) does not apply
    it over the fields being replaced.
    """

    def _read_only(self, *args, **kwargs):
        raise TypeError("ServeSettings.extra is read-only: pass the settings as fields")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _read_only


@dataclass(frozen=True)
class ServeSettings:
    """Every knob of the service; defaults are the safe ones (loopback, auth on, no fetching, every limit on).

    ``extra`` is the old spelling of the settings below (a dict of field names, as
    ``ServeSettings(extra={"header_timeout_s": 2})``), still accepted and checked the same way, its keys
    applied over the fields; reading ``settings.extra`` gives the settings that differ from their defaults.
    """

    host: str = "127.0.0.1"
    port: int = _setting(8000, "whole", 0, 65535, help="Port to listen on (0: one the system picks).")
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

    # ---- connections and time (kg.serve.http_protocol, kg.serve.http_limits, kg.serve.run)
    header_timeout_s: float = _setting(
        10.0, "seconds", 0, _DAY_S, strict=True,
        help="Seconds for a request's head to arrive (from the connection or the previous answer); then 408.")
    body_timeout_s: float = _setting(
        30.0, "seconds", 0, _DAY_S, strict=True,
        help="Seconds for a whole request body to arrive once its head is in; then 408.")
    keep_alive_s: float = _setting(
        5.0, "seconds", 0, _DAY_S, strict=True,
        help="Seconds an idle keep-alive connection is kept open (rounded up to whole seconds).")
    max_connections: int = _setting(
        512, "whole", 1, 1_000_000,
        help="Connections served at once: a request over it gets 503, a connection over twice it is closed. "
             "Lowered, with a warning, to fit the open-file limit.")
    backlog: int = _setting(
        2048, "whole", 1, 65_535,
        help="Connections the system queues before the server accepts them (the kernel caps it at somaxconn).")
    # ---- sizes (kg.serve.http_protocol for the head; kg.serve.http_limits for bodies, before a byte is read)
    max_head_bytes: int = _setting(
        16 * 1024, "whole", 1024, 1024 ** 2,
        help="The largest request head (request line and headers) in bytes, with either HTTP parser; over it, 400.")
    max_uploads: int = _setting(
        8, "whole", 1, 10_000,
        help="Large bodies (over 64 KiB, or chunked) received at once; one more gets 503 with Retry-After.")
    # The --data limit from the hardening issue: the largest body of any route (CDS calls with prefetch).
    max_body_bytes: int = _setting(
        16 * 1024 * 1024, "whole", 1, _MAX_BODY,
        help="The largest request body of any route in bytes (CDS calls with a prefetch bundle); over it, 413.")
    patient_body_bytes: int = _setting(
        LIMITS.patient_bytes, "whole", 1, _MAX_BODY,
        help="The largest patient body in bytes (POST /explain and the questions; POST / takes 3 times it).")
    # ---- SPARQL (the CLI's defaults from the hardening issue; kg.serve.sparql_queue)
    sparql_timeout_s: float = _setting(
        30.0, "seconds", 0, _DAY_S, strict=True,
        help="Seconds one query may run (SPARQL, /patients); then it is stopped and answered 503.")
    sparql_max_rows: int = _setting(
        100_000, "whole", 0, 1_000_000_000,
        help="Rows (or triples) one query may answer.")
    sparql_concurrency: int = _setting(
        DEFAULT_RUNNING, "whole", 1, 64,
        help="Queries run at once (each in its own worker process: about one per core).")
    sparql_queue: int = _setting(
        DEFAULT_WAITING, "whole", 0, 10_000,
        help="Queries that may wait for a turn; the next one gets 503 with Retry-After (0: none wait).")
    sparql_max_wait_s: float = _setting(
        DEFAULT_MAX_WAIT_S, "seconds", 0, _DAY_S, strict=True,
        help="Seconds a query may wait for its turn; then 503 with Retry-After.")
    # ---- the process (kg.serve.health, kg.serve.engines, the caches, kg.serve.run)
    health_ttl_s: float = _setting(
        DEFAULT_TTL_S, "seconds", 0, _DAY_S, strict=True,
        help="Seconds a /healthz result is reused (each check forks one query worker).")
    workers: int = _setting(DEFAULT_WORKERS, "whole", 1, 64,
                            help="Engine threads (one reasoning engine each).")
    processes: int = _setting(
        1, "whole", 1, 64,
        help="Server processes on the one port (about one per core); over 1 with JWTs needs --replay-store.")
    # Where the CDS JWT replay guard remembers each jti (redis://HOST:PORT/DB): shared by every process of
    # the service (kg.serve.replay_guard). None: in this process's memory, which only one process can use.
    replay_store: str | None = None
    explanation_cache: int = _setting(
        DEFAULT_EXPLANATIONS, "whole", 1, 1_000_000,
        help="Explanations kept for the pages that link to them (least recently used first out).")
    cds_cache: int = _setting(
        1024, "whole", 0, 1_000_000, help="CDS cards kept for repeated calls (0: none).")
    log_level: str = _setting("info", "choice", choices=LOG_LEVELS,
                              help="The server's log level (refusals log at warning, rate-limited).")
    # h11 by default, even where httptools is installed: uvicorn's httptools protocol drops the body of a
    # request offering an h2c upgrade, which every stock Java HttpClient sends (uvicorn issue 2722).
    http_parser: str = _setting("h11", "choice", choices=HTTP_PARSERS,
                                help="The HTTP parser: h11; httptools is faster but loses the body of a request "
                                     "offering an h2c upgrade (Java clients do); auto is httptools where installed.")

    extra: InitVar[dict | None] = None

    def __post_init__(self, extra: dict | None) -> None:
        # A frozen dataclass: the checked (normalised) values are written with object.__setattr__.
        if extra and not isinstance(extra, _LegacyExtra):
            if not isinstance(extra, dict):
                raise InputError("extra", extra, "a dict of setting names (better: the settings as fields)")
            for key, value in extra.items():
                if key not in SETTING_SPECS:
                    near = difflib.get_close_matches(str(key), SETTING_SPECS, n=1)
                    raise InputError("extra", key, f"a setting name{f' (did you mean {near[0]}?)' if near else ''}")
                object.__setattr__(self, key, value)
        for name, spec in SETTING_SPECS.items():
            object.__setattr__(self, name, check_setting(name, getattr(self, name), spec))
        if self.replay_store is not None:
            check_replay_store(self.replay_store)


def check_replay_store(url: Any, label: str = "replay_store") -> str:
    """``url`` if it names a Redis database (``redis://``, ``rediss://`` or ``unix://``), else InputError.

    >>> check_replay_store("redis://127.0.0.1:6379/0")
    'redis://127.0.0.1:6379/0'
    >>> check_replay_store("http://127.0.0.1:6379", "--replay-store")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: --replay-store: "http://127.0.0.1:6379" is not allowed; expected a Redis URL: redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH?db=DB
    """
    from urllib.parse import urlsplit

    expected = "a Redis URL: redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH?db=DB"
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        port = parts.port if parts is not None else None  # ValueError for a port that is not a number
    except ValueError:
        parts = port = None
    if parts is None or any(c.isspace() for c in url) or parts.fragment:
        raise InputError(label, url, expected)
    if parts.scheme in ("redis", "rediss"):
        db = parts.path.strip("/")
        if parts.hostname and (port is None or 0 < port) and (db == "" or (db.isdigit() and int(db) < 100_000)):
            return url
    elif parts.scheme == "unix" and parts.path:
        return url
    raise InputError(label, url, expected)


def _extra(self: ServeSettings) -> dict:
    return _LegacyExtra({name: getattr(self, name) for name in SETTING_SPECS
                         if getattr(self, name) != _DEFAULTS[name]})


#: The checked settings by name (every field with a range or choices), in the class's order.
SETTING_SPECS: dict[str, SettingSpec] = {f.name: f.metadata["spec"] for f in fields(ServeSettings)
                                         if "spec" in f.metadata}
_DEFAULTS = {f.name: f.default for f in fields(ServeSettings) if f.name in SETTING_SPECS}
# Read-only view (after the class is built: the InitVar of the same name is the constructor's spelling).
ServeSettings.extra = property(_extra, doc=_LegacyExtra.__doc__)
