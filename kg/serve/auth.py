"""Who may call the CDS Hooks service: the JWT of CDS Hooks 2.0, "Trusting CDS Clients".

Every CDS call carries ``Authorization: Bearer <JWT>``
(https://cds-hooks.hl7.org/2.0/#trusting-cds-clients). The JWT is signed with
an asymmetric key of a CDS client (an EHR) the operator trusts
(``ServeSettings.cds_issuers``); its header names the key (``kid``, and
optionally ``jku``, the URL of the client's JWK Set), its payload says who
issued it (``iss``), for which endpoint (``aud``: the URL being called),
when (``iat``, ``exp``) and once (``jti``, a nonce).

:class:`TokenVerifier` checks all of that and raises :class:`TokenError` with
a short reason (``token expired``, ``wrong audience``, ``unknown issuer``,
``bad signature``, ``token replayed``, ...) that the router turns into a 401
with a ``WWW-Authenticate`` header (RFC 6750). Rules beyond the letter of the
spec, for safety:

* ``none`` and HMAC algorithms are refused (the spec forbids both); the
  accepted algorithms are RS/PS/ES 256/384/512 and EdDSA; RS384 and ES384,
  the two the spec recommends, are tested.
* ``jku`` is followed only if it equals the issuer's configured ``jwks_url``
  (the spec's allow-list) and only when the operator set ``fetch_jwks``;
  otherwise keys come from the issuer's inline JWKS.
* A token may live at most :data:`MAX_LIFETIME_S` seconds (``exp - iat``),
  so the replay guard, which remembers each ``jti`` until its token expires,
  stays bounded (at most :data:`MAX_SEEN_JTI` per issuer).

>>> from kg.serve.settings import ServeSettings
>>> v = TokenVerifier(ServeSettings())
>>> try:
...     v.verify(None, "http://127.0.0.1:8000/cds-services")
... except TokenError as err:
...     print(err.reason)
missing bearer token
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import jwt

from .settings import CdsIssuer, ServeSettings

__all__ = ["TokenError", "TokenVerifier", "ALGORITHMS", "MAX_LIFETIME_S", "MAX_SEEN_JTI", "LEEWAY_S"]

#: Signature algorithms accepted, by the JWK key type each needs. No "none", no HMAC (spec).
ALGORITHMS = {"RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
              "ES256": "EC", "ES384": "EC", "ES512": "EC", "EdDSA": "OKP"}
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
#: Longest accepted token life (``exp - iat``), in seconds.
MAX_LIFETIME_S = 3600
#: Most ``jti`` values remembered per issuer (the oldest is forgotten first).
MAX_SEEN_JTI = 100_000
#: Clock skew allowed on ``exp`` and ``iat``, in seconds.
LEEWAY_S = 30
#: How long a fetched JWK Set is reused before it is fetched again, in seconds.
JWKS_TTL_S = 300


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


class _SeenJti:
    """The ``jti`` values of one issuer still inside their token's life, bounded."""

    def __init__(self, limit: int):
        self.limit = limit
        self.entries: OrderedDict[str, float] = OrderedDict()  # jti -> exp, in arrival order

    def add(self, jti: str, exp: float, now: float) -> bool:
        """Remember ``jti``; False if it was already seen (a replay)."""
        if jti in self.entries and self.entries[jti] + LEEWAY_S >= now:
            return False
        expired = [k for k, e in self.entries.items() if e + LEEWAY_S < now]
        for k in expired:
            del self.entries[k]
        while len(self.entries) >= self.limit:
            self.entries.popitem(last=False)
        self.entries[jti] = exp
        return True


class TokenVerifier:
    """Verifies CDS Hooks JWTs against the configured issuers; one per router (no global state)."""

    def __init__(self, settings: ServeSettings, *, max_seen: int = MAX_SEEN_JTI):
        self.settings = settings
        self.issuers: dict[str, CdsIssuer] = {i.iss: i for i in settings.cds_issuers}
        self._lock = threading.Lock()
        self._seen = {iss: _SeenJti(max_seen) for iss in self.issuers}
        self._fetched: dict[str, tuple[float, dict]] = {}  # jwks_url -> (fetched at, JWKS)
        self._keys: dict[tuple[str, str, str], jwt.PyJWK] = {}  # (iss, kid, alg) -> key

    def verify(self, authorization: str | None, audience: str | list[str]) -> dict[str, Any]:
        """The verified claims of the bearer token in ``authorization``, or :class:`TokenError`.

        ``audience`` is the URL of the endpoint being called (the expected ``aud``),
        or a list of URLs any one of which the token's ``aud`` may name.
        """
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise TokenError("malformed token", str(exc)) from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenError("algorithm not allowed",
                             f"{str(alg)[:20]!r}; expected one of {', '.join(ALGORITHMS)}")
        if header.get("typ", "JWT") != "JWT":
            raise TokenError("malformed token", "header typ must be JWT")
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise TokenError("unknown issuer", f"iss {str(iss)[:80]!r} is not a configured CDS client")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError("missing key id", "the JWT header must name its key (kid)")
        key = self._key(issuer, kid, alg, header.get("jku"))
        claims = self._decode(token, key, alg, audience, iss)
        self._check_claims(claims, issuer)
        return claims

    def _decode(self, token: str, key: jwt.PyJWK, alg: str, audience: str | list[str], iss: str) -> dict:
        try:
            return jwt.decode(token, key, algorithms=[alg], audience=audience, issuer=iss, leeway=LEEWAY_S,
                              options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidAudienceError:
            wanted = audience if isinstance(audience, str) else " or ".join(audience)
            raise TokenError("wrong audience", f"aud must be {wanted}") from None
        except jwt.InvalidSignatureError:
            raise TokenError("bad signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError("missing claim", exc.claim) from None
        except jwt.ImmatureSignatureError:
            raise TokenError("token issued in the future") from None
        except jwt.PyJWTError as exc:
            raise TokenError("invalid token", str(exc)[:200]) from None

    def _check_claims(self, claims: dict, issuer: CdsIssuer) -> None:
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise TokenError("missing claim", "jti")
        if exp - iat > MAX_LIFETIME_S:
            raise TokenError("token lives too long", f"exp - iat must be at most {MAX_LIFETIME_S} s")
        if issuer.tenant is not None and claims.get("tenant") != issuer.tenant:
            raise TokenError("wrong tenant")
        with self._lock:
            if not self._seen[issuer.iss].add(jti, float(exp), time.time()):
                raise TokenError("token replayed", "this jti was already used")

    def _key(self, issuer: CdsIssuer, kid: str, alg: str, jku: object) -> jwt.PyJWK:
        if jku is not None and jku != issuer.jwks_url:
            raise TokenError("untrusted jku", "the header's jku is not the issuer's configured jwks_url")
        cached = self._keys.get((issuer.iss, kid, alg))
        if cached is not None:
            return cached
        jwk = _find(self._jwks(issuer, refresh=False), kid)
        if jwk is None and issuer.jwks_url and self.settings.fetch_jwks:
            jwk = _find(self._jwks(issuer, refresh=True), kid)  # the client may have rotated its keys
        if jwk is None:
            raise TokenError("unknown key id", f"kid {kid[:80]!r} is not in the issuer's JWK Set")
        key = _pyjwk(jwk, alg)
        with self._lock:
            if len(self._keys) < 1024:
                self._keys[(issuer.iss, kid, alg)] = key
        return key

    def _jwks(self, issuer: CdsIssuer, refresh: bool) -> dict:
        if issuer.jwks is not None:
            return issuer.jwks
        if not issuer.jwks_url:
            raise TokenError("issuer has no keys", "configure jwks or jwks_url for this issuer")
        if not self.settings.fetch_jwks:
            raise TokenError("issuer keys unavailable", "fetching jwks_url is disabled (fetch_jwks is off)")
        now = time.time()
        got = self._fetched.get(issuer.jwks_url)
        if got is not None and not refresh and now - got[0] < JWKS_TTL_S:
            return got[1]
        document = _fetch_jwks(issuer.jwks_url)
        with self._lock:
            self._fetched[issuer.jwks_url] = (now, document)
        return document


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise TokenError("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("malformed token", "the Authorization header must be 'Bearer <JWT>'")
    return token.strip()


def _find(jwks: dict, kid: str) -> dict | None:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    for jwk in keys if isinstance(keys, list) else ():
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            return jwk
    return None


def _pyjwk(jwk: dict, alg: str) -> jwt.PyJWK:
    """The key of ``jwk`` bound to ``alg``, after checking they fit together."""
    if jwk.get("kty") != ALGORITHMS[alg] or jwk.get("alg", alg) != alg or (alg in _CURVES and jwk.get("crv") != _CURVES[alg]):
        raise TokenError("key does not fit the algorithm", f"{alg} with a {jwk.get('kty')} key")
    if jwk.get("use", "sig") != "sig" or "d" in jwk:
        raise TokenError("unusable key", "the JWK must be a public signing key")
    try:
        return jwt.PyJWK(jwk, algorithm=alg)
    except jwt.PyJWTError as exc:
        raise TokenError("unusable key", str(exc)[:200]) from None


def _fetch_jwks(url: str) -> dict:
    """GET a JWK Set (only called when the operator set ``fetch_jwks``)."""
    import httpx

    try:
        response = httpx.get(url, timeout=5.0, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise TokenError("issuer keys unavailable", f"fetching {url[:120]} failed: {str(exc)[:120]}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise TokenError("issuer keys unavailable", f"{url[:120]} did not return a JWK Set")
    return document
