"""Reading a JWT before trusting it: its three parts, their JSON, and the types of what it claims.

Everything in a token is the caller's: before any key is looked up or any
signature checked, :func:`read_token` makes sure the token is three base64url
parts whose first two are JSON objects, and :func:`check_header` and
:func:`check_claim_types` that every header field and claim painkg reads has
the type the JWT and CDS Hooks specs give it (``alg`` a string, ``exp`` a
number, ``aud`` a string or an array of strings, ...). Anything else is a
:class:`TokenError` (a 401), never an exception from deeper down (a 500).

>>> header, claims = read_token("eyJhbGciOiJFUzM4NCJ9.eyJleHAiOiAiMTIzIn0.c2ln")
>>> header, claims
({'alg': 'ES384'}, {'exp': '123'})
>>> try:
...     check_claim_types(claims)
... except TokenError as err:
...     print(err)
invalid claim: exp must be a number (seconds since 1970), not a string
>>> try:
...     check_header({"alg": ["x"]}, ("ES384",))
... except TokenError as err:
...     print(err)
algorithm not allowed: alg must be a string, not an array
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any, Iterable

from ..errors import type_name

__all__ = ["TokenError", "read_token", "check_header", "check_claim_types", "MAX_TOKEN_CHARS", "MAX_NUMERIC_DATE",
           "MAX_CLAIM_CHARS"]

#: The longest token read, in characters (a CDS Hooks JWT is well under 2,000).
MAX_TOKEN_CHARS = 8192
#: The largest NumericDate accepted (``exp``, ``iat``, ``nbf``): the year 5138; beyond it a number is nonsense.
MAX_NUMERIC_DATE = 10**11
#: The longest string claim or key id read, in characters.
MAX_CLAIM_CHARS = 2048
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_DATES = ("exp", "iat", "nbf")
_STRINGS = ("iss", "jti", "sub", "tenant")


class TokenError(Exception):
    """Why a request's JWT was refused; ``reason`` is short, ``detail`` says more."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    def www_authenticate(self) -> str:
        """The ``WWW-Authenticate`` header value (RFC 6750, section 3).

        >>> TokenError("token expired").www_authenticate()
        'Bearer realm="painkg-cds", error="invalid_token", error_description="token expired"'
        >>> TokenError("missing bearer token").www_authenticate()
        'Bearer realm="painkg-cds"'
        """
        if self.reason == "missing bearer token":
            return 'Bearer realm="painkg-cds"'
        text = self.reason.replace('"', "'")
        return f'Bearer realm="painkg-cds", error="invalid_token", error_description="{text}"'


def read_token(token: str) -> tuple[dict, dict]:
    """The header and claims of ``token`` (a compact JWS), unverified; TokenError "malformed token" if unreadable.

    >>> read_token("a.b.c.d")
    Traceback (most recent call last):
    ...
    kg.serve.jwt_parts.TokenError: malformed token: a JWT has three parts separated by dots, not 4
    """
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed token", f"longer than {MAX_TOKEN_CHARS:,} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token", f"a JWT has three parts separated by dots, not {len(parts)}")
    return _json_object(parts[0], "header"), _json_object(parts[1], "payload")


def _json_object(part: str, name: str) -> dict:
    if not part or not _B64URL.fullmatch(part):
        raise TokenError("malformed token", f"the {name} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        # NaN and Infinity are not JSON (RFC 8259); Python's parser accepts them unless told not to.
        value = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (binascii.Error, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise TokenError("malformed token", f"the {name} is not base64url-encoded UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise TokenError("malformed token", f"the {name} must be a JSON object, not {type_name(value)}")
    return value


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


def check_header(header: dict, algorithms: Iterable[str]) -> None:
    """TokenError unless ``alg`` is one of ``algorithms`` and ``typ``, ``kid``, ``jku`` (when given) are strings."""
    alg = header.get("alg")
    allowed = tuple(algorithms)
    if not isinstance(alg, str):
        raise TokenError("algorithm not allowed", f"alg must be a string, not {type_name(alg)}")
    if alg not in allowed:
        raise TokenError("algorithm not allowed", f"{alg[:20]!r}; expected one of {', '.join(allowed)}")
    if header.get("typ", "JWT") != "JWT":
        raise TokenError("malformed token", "header typ must be JWT")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_CLAIM_CHARS):
        raise TokenError("missing key id", f"kid must be a string of at most {MAX_CLAIM_CHARS} characters")
    jku = header.get("jku")
    if jku is not None and not isinstance(jku, str):
        raise TokenError("untrusted jku", f"jku must be a URL string, not {type_name(jku)}")


def check_claim_types(claims: dict) -> None:
    """TokenError "invalid claim" unless each claim painkg reads, when present, has its type (RFC 7519, CDS Hooks)."""
    for name in _DATES:
        if name in claims:
            _numeric_date(name, claims[name])
    for name in _STRINGS:
        if name in claims and not _short_string(claims[name]):
            raise TokenError("invalid claim", f"{name} must be a string of at most {MAX_CLAIM_CHARS} characters, "
                                              f"not {type_name(claims[name])}")
    if "aud" in claims:
        aud = claims["aud"]
        many = isinstance(aud, list) and 0 < len(aud) <= 16 and all(_short_string(a) for a in aud)
        if not (_short_string(aud) or many):
            raise TokenError("invalid claim", "aud must be a URL string or an array of at most 16 of them")


def _short_string(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_CLAIM_CHARS


def _numeric_date(name: str, value: Any) -> None:
    # bool is an int in Python, and "123" is what PyJWT would turn into one: neither is a NumericDate.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenError("invalid claim", f"{name} must be a number (seconds since 1970), not {type_name(value)}")
    if not (math.isfinite(value) and 0 <= value <= MAX_NUMERIC_DATE):
        raise TokenError("invalid claim", f"{name} must be a number of seconds between 0 and {MAX_NUMERIC_DATE}")
