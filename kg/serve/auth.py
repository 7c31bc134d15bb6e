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
  otherwise keys come from the issuer's inline JWKS. Fetched sets are cached
  with their misses and failures (:mod:`kg.serve.jwks`), so no token can make
  the service fetch often; :meth:`TokenVerifier.verify` may block on such a
  fetch (bounded), so the router then runs it on a worker thread
  (:attr:`TokenVerifier.may_fetch`); with inline keys only, on the event loop.
* ``aud`` must name this server as its operator configured it
  (``ServeSettings.base_url``), never as the request's ``Host`` or
  ``X-Forwarded-*`` headers say: :func:`check_auth_settings` makes ``base_url``
  required whenever tokens are verified.
* Every header field and claim is type-checked before use
  (:mod:`kg.serve.jwt_parts`): a malformed token is a 401, never a 500.
* A token may live at most :data:`MAX_LIFETIME_S` seconds (``exp - iat``),
  so the replay guard, which remembers each ``jti`` until its token expires,
  stays bounded (at most :data:`MAX_SEEN_JTI` per issuer).
* The replay guard (:mod:`kg.serve.replay_guard`) is this process's memory, or,
  with ``ServeSettings.replay_store``, a Redis database every server process
  shares (required with ``processes`` over 1); when Redis does not answer, the
  call is a 503 with ``Retry-After``, never a token accepted unchecked.

>>> from kg.serve.settings import ServeSettings
>>> v = TokenVerifier(ServeSettings())
>>> try:
...     v.verify(None, "https://cds.example.org/cds-services")
... except TokenError as err:
...     print(err.reason)
missing bearer token
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

import jwt

from ..errors import InputError
from .jwks import JwksCache
from .jwt_parts import TokenError, check_claim_types, check_header, read_token
from .replay_guard import _Seen, check_replay_settings, replay_guard
from .settings import CdsIssuer, ServeSettings

__all__ = ["TokenError", "TokenVerifier", "check_auth_settings", "verifies_tokens", "ALGORITHMS", "MAX_LIFETIME_S",
           "MAX_SEEN_JTI", "LEEWAY_S"]

_log = logging.getLogger("kg.serve")

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
#: Most public keys kept ready (parsed) per verifier.
_MAX_KEYS = 1024


def verifies_tokens(settings: ServeSettings) -> bool:
    """Whether CDS calls must carry a JWT that is checked: issuers are configured and ``cds_open`` is off.

    >>> verifies_tokens(ServeSettings()), verifies_tokens(ServeSettings(cds_open=True))
    (False, False)
    """
    return bool(settings.cds_issuers) and not settings.cds_open


def check_auth_settings(settings: ServeSettings) -> None:
    """:class:`~kg.errors.InputError` (field ``base_url``) unless the settings can bind tokens to this server.

    ``base_url`` is the public URL the CDS clients call (``https://cds.example.org``,
    or with a path prefix); a token's ``aud`` must name it. It is required when
    tokens are verified (:func:`verifies_tokens`): the request's own ``Host`` and
    ``X-Forwarded-*`` headers are the caller's to choose, so they cannot say
    which server a token was meant for.

    >>> from kg.serve.settings import CdsIssuer
    >>> check_auth_settings(ServeSettings(cds_issuers=(CdsIssuer("https://ehr.example.org", jwks={"keys": []}),)))
    Traceback (most recent call last):
    ...
    kg.errors.InputError: base_url: is required when CDS Hooks JWTs are verified (issuers configured): the public URL the EHR calls, such as https://cds.example.org, which every token's aud must name
    >>> check_auth_settings(ServeSettings(base_url="cds.example.org"))
    Traceback (most recent call last):
    ...
    kg.errors.InputError: base_url: "cds.example.org" is not allowed; expected an absolute http:// or https:// URL with a host and no query or fragment, such as https://cds.example.org
    """
    # Several processes each with its own memory of jti values would let a replay to another one pass.
    check_replay_settings(settings, verifies_tokens(settings))
    base = settings.base_url
    if base is None:
        if verifies_tokens(settings):
            raise InputError("base_url", message="is required when CDS Hooks JWTs are verified (issuers configured): "
                                                 "the public URL the EHR calls, such as https://cds.example.org, "
                                                 "which every token's aud must name")
        return
    try:
        parts = urlsplit(base) if isinstance(base, str) else None
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or "#" in base or "?" in base or any(c.isspace() for c in base)):
        raise InputError("base_url", base, "an absolute http:// or https:// URL with a host and no query or "
                                           "fragment, such as https://cds.example.org")


class _SeenJti(_Seen):
    """The ``jti`` values of one issuer still inside their token's life, bounded (:class:`MemoryGuard`'s part)."""

    def add(self, jti: str, exp: float, now: float) -> bool:
        """Remember ``jti``; False if it was already seen (a replay)."""
        return super().add(jti, exp, now, LEEWAY_S)


class TokenVerifier:
    """Verifies CDS Hooks JWTs against the configured issuers; one per router (no global state).

    ``jwks`` fetches and caches the issuers' ``jwks_url`` sets (default: a
    :class:`~kg.serve.jwks.JwksCache` of its own).
    """

    def __init__(self, settings: ServeSettings, *, max_seen: int = MAX_SEEN_JTI, jwks: JwksCache | None = None):
        self.settings = settings
        self.base_url = (settings.base_url or "").rstrip("/")
        self.issuers: dict[str, CdsIssuer] = {i.iss: i for i in settings.cds_issuers}
        self.jwks = jwks or JwksCache()
        self._lock = threading.Lock()
        # Each jti once (kg.serve.replay_guard): in this process's memory, or shared through Redis when the
        # service runs several processes (ServeSettings.replay_store).
        self._guard = replay_guard(settings, LEEWAY_S, max_seen)
        self._keys: OrderedDict[tuple[str, str], jwt.PyJWK] = OrderedDict()  # (alg, JWK as JSON) -> key
        #: Whether :meth:`verify` can ever wait on a JWK Set fetch: only for an issuer without inline keys,
        #: with a ``jwks_url``, when ``fetch_jwks`` is on. When it cannot, a call is CPU only (a signature
        #: check, tens of µs) and the router verifies on the event loop, without a thread hop per call.
        #: A Redis round trip may wait too (bounded by its timeout): with a replay store, off the loop as well.
        self.may_fetch = bool(settings.replay_store) or (bool(settings.fetch_jwks) and any(
            i.jwks is None and bool(i.jwks_url) for i in settings.cds_issuers))

    def verify_call(self, authorization: str | None, *paths: str) -> dict[str, Any]:
        """:meth:`verify` for a call to one of ``paths`` of this server (``aud`` is ``base_url`` + a path)."""
        audience = [self.base_url + p for p in paths]
        return self.verify(authorization, audience[0] if len(audience) == 1 else audience)

    def verify(self, authorization: str | None, audience: str | list[str]) -> dict[str, Any]:
        """The verified claims of the bearer token in ``authorization``, or :class:`TokenError`.

        ``audience`` is the URL of the endpoint being called (the expected ``aud``),
        or a list of URLs any one of which the token's ``aud`` may name.
        """
        token = _bearer(authorization)
        header, unverified = read_token(token)
        check_header(header, ALGORITHMS)
        check_claim_types(unverified)
        alg = header["alg"]
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise TokenError("unknown issuer", f"iss {str(iss)[:80]!r} is not a configured CDS client")
        kid = header.get("kid")
        if not kid:
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
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            # The token was read and type-checked above, so this should not happen; if a library
            # still trips on a caller's bytes, the answer is a 401, not a 500 with a traceback.
            raise TokenError("invalid token", f"could not be verified ({type(exc).__name__})") from None

    def _check_claims(self, claims: dict, issuer: CdsIssuer) -> None:
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not jti:
            raise TokenError("missing claim", "jti")
        if exp - iat > MAX_LIFETIME_S:
            raise TokenError("token lives too long", f"exp - iat must be at most {MAX_LIFETIME_S} s")
        if issuer.tenant is not None and claims.get("tenant") != issuer.tenant:
            raise TokenError("wrong tenant")
        # ReplayStoreUnavailable (the shared guard did not answer) goes up: the CDS route answers 503.
        if not self._guard.add(issuer.iss, jti, float(exp)):
            raise TokenError("token replayed", "this jti was already used")

    def _key(self, issuer: CdsIssuer, kid: str, alg: str, jku: str | None) -> jwt.PyJWK:
        if jku is not None and jku != issuer.jwks_url:
            raise TokenError("untrusted jku", "the header's jku is not the issuer's configured jwks_url")
        jwk = self._jwk(issuer, kid)
        if jwk is None:
            raise TokenError("unknown key id", f"kid {kid[:80]!r} is not in the issuer's JWK Set")
        # Keyed by the JWK itself, so a key the issuer rotated out of its set is never used again.
        cache_key = (alg, json.dumps(jwk, sort_keys=True, default=str))
        with self._lock:
            key = self._keys.get(cache_key)
        if key is None:
            key = _pyjwk(jwk, alg)
            with self._lock:
                self._keys[cache_key] = key
                while len(self._keys) > _MAX_KEYS:
                    self._keys.popitem(last=False)
        return key

    def _jwk(self, issuer: CdsIssuer, kid: str) -> dict | None:
        from .jwks import find_jwk

        if issuer.jwks is not None:
            return find_jwk(issuer.jwks, kid)
        if not issuer.jwks_url:
            raise TokenError("issuer has no keys", "configure jwks or jwks_url for this issuer")
        if not self.settings.fetch_jwks:
            raise TokenError("issuer keys unavailable", "fetching jwks_url is disabled (fetch_jwks is off)")
        return self.jwks.find(issuer.jwks_url, kid)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise TokenError("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("malformed token", "the Authorization header must be 'Bearer <JWT>'")
    return token.strip()


def _pyjwk(jwk: dict, alg: str) -> jwt.PyJWK:
    """The key of ``jwk`` bound to ``alg``, after checking they fit together."""
    if jwk.get("kty") != ALGORITHMS[alg] or jwk.get("alg", alg) != alg or (alg in _CURVES and jwk.get("crv") != _CURVES[alg]):
        raise TokenError("key does not fit the algorithm", f"{alg} with a {str(jwk.get('kty'))[:20]} key")
    if jwk.get("use", "sig") != "sig" or "d" in jwk:
        raise TokenError("unusable key", "the JWK must be a public signing key")
    try:
        return jwt.PyJWK(jwk, algorithm=alg)
    except jwt.PyJWTError as exc:
        raise TokenError("unusable key", str(exc)[:200]) from None
    except (ValueError, TypeError, KeyError):  # a fetched set's key with fields of the wrong type
        raise TokenError("unusable key", "the issuer's JWK could not be read") from None
