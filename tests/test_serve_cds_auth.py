"""The JWT of CDS Hooks 2.0 ("Trusting CDS Clients") against a real `painkg serve` on loopback.

Keys are made here with `cryptography`; the server trusts one issuer whose JWK
Set (one RS384 and one ES384 key) is given inline. Its base_url is
https://cds.example.org, so every JWT's `aud` is that URL plus the path called.
"""

from __future__ import annotations

import json
import logging
import time

import jwt
import pytest

from fhir_cds.cds_support import EXTERNAL, ISS, SERVICE, Signer, cds_server, hook_request, prefetch
from serve_support import http

from kg.serve.settings import CdsIssuer, ServeSettings

RS = Signer("RS384", "ehr-rsa-1")
ES = Signer("ES384", "ehr-ec-1")
STRANGER = Signer("RS384", "ehr-rsa-1")  # same kid, another key: a forged signature
SERVICE_AUD = f"{EXTERNAL}/cds-services/{SERVICE}"


@pytest.fixture(scope="module")
def base():
    issuer = CdsIssuer(iss=ISS, jwks={"keys": [RS.jwk, ES.jwk]})
    with cds_server(ServeSettings(cds_issuers=(issuer,), base_url=EXTERNAL)) as url:
        yield url


def post(base, token=None, *, path=f"/cds-services/{SERVICE}", body=None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = body if body is not None else hook_request("cds-lb-1", prefetch("strain-lower-back-day20"))
    return http("POST", base + path, body=json.dumps(body), headers=headers)


@pytest.mark.parametrize("signer", [RS, ES], ids=["RS384", "ES384"])
def test_a_valid_token_is_accepted(base, signer):
    status, _, raw = post(base, signer.token(SERVICE_AUD, tenant="clinic-1"))
    assert status == 200, raw
    assert json.loads(raw)["cards"][0]["indicator"] == "warning"


def test_aud_may_be_an_array_and_discovery_and_feedback_need_their_own_aud(base):
    assert post(base, RS.token([SERVICE_AUD]))[0] == 200
    status, _, raw = http("GET", f"{base}/cds-services",
                          headers={"Authorization": f"Bearer {ES.token(f'{EXTERNAL}/cds-services')}"})
    assert status == 200 and json.loads(raw)["services"][0]["id"] == SERVICE
    feedback = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-03-21T10:00:00Z"}]}
    status, _, _ = post(base, RS.token(f"{SERVICE_AUD}/feedback"), path=f"/cds-services/{SERVICE}/feedback",
                        body=feedback)
    assert status == 200
    # The service's own URL is accepted for its feedback endpoint too.
    status, _, _ = post(base, RS.token(SERVICE_AUD), path=f"/cds-services/{SERVICE}/feedback", body=feedback)
    assert status == 200


def _refused(base, token, reason, **kwargs):
    status, head, raw = post(base, token, **kwargs)
    assert status == 401, raw
    error = json.loads(raw)
    assert error["field"] == "Authorization" and error["reason"] == reason, error
    assert error["error"].startswith(f"Authorization: {reason}")
    assert head["www-authenticate"].startswith('Bearer realm="painkg-cds"')
    return error, head


def test_no_token_is_401_with_a_bearer_challenge(base):
    _, head = _refused(base, None, "missing bearer token")
    assert head["www-authenticate"] == 'Bearer realm="painkg-cds"'
    status, head, _ = http("GET", f"{base}/cds-services")
    assert status == 401 and head["www-authenticate"] == 'Bearer realm="painkg-cds"'


def test_an_expired_token_is_401(base):
    _, head = _refused(base, RS.token(SERVICE_AUD, iat=time.time() - 600, lifetime=300), "token expired")
    assert head["www-authenticate"] == ('Bearer realm="painkg-cds", error="invalid_token", '
                                        'error_description="token expired"')


def test_a_token_for_another_endpoint_is_401(base):
    error, _ = _refused(base, RS.token(f"{EXTERNAL}/cds-services/other"), "wrong audience")
    assert error["error"] == f"Authorization: wrong audience: aud must be {SERVICE_AUD}"
    _refused(base, RS.token(f"http://127.0.0.1/cds-services/{SERVICE}"), "wrong audience")


def test_an_unknown_issuer_is_401(base):
    error, _ = _refused(base, RS.token(SERVICE_AUD, iss="https://evil.example"), "unknown issuer")
    assert "'https://evil.example' is not a configured CDS client" in error["error"]


def test_a_forged_signature_is_401(base):
    _refused(base, STRANGER.token(SERVICE_AUD), "bad signature")


def test_a_replayed_jti_is_401(base):
    token = ES.token(SERVICE_AUD, jti="once-only-1")
    assert post(base, token)[0] == 200
    _refused(base, token, "token replayed")
    _refused(base, RS.token(SERVICE_AUD, jti="once-only-1"), "token replayed")


def test_symmetric_and_unsigned_tokens_are_refused(base):
    hs = jwt.encode({"iss": ISS, "aud": SERVICE_AUD, "exp": int(time.time()) + 60, "iat": int(time.time()),
                     "jti": "h1"}, "shared-secret-that-is-long-enough-for-hs256", algorithm="HS256",
                    headers={"kid": RS.kid})
    error, _ = _refused(base, hs, "algorithm not allowed")
    assert "'HS256'" in error["error"]
    unsigned = jwt.encode({"iss": ISS, "aud": SERVICE_AUD}, None, algorithm="none")
    _refused(base, unsigned, "algorithm not allowed")


def test_claims_and_headers_the_spec_requires(base):
    now = time.time()
    no_jti = jwt.encode({"iss": ISS, "aud": SERVICE_AUD, "iat": int(now), "exp": int(now) + 60}, RS.private,
                        algorithm="RS384", headers={"kid": RS.kid})
    error, _ = _refused(base, no_jti, "missing claim")
    assert error["error"] == "Authorization: missing claim: jti"
    _refused(base, RS.token(SERVICE_AUD, headers={"kid": "no-such-key"}), "unknown key id")
    _refused(base, RS.token(SERVICE_AUD, headers={"jku": "https://evil.example/jwks"}), "untrusted jku")
    _refused(base, RS.token(SERVICE_AUD, lifetime=86_400), "token lives too long")
    _refused(base, "not-a-jwt", "malformed token")
    # An RS384 token that claims to be ES384 does not fit the EC key... nor the RSA key.
    forged = RS.token(SERVICE_AUD, headers={"kid": ES.kid})
    _refused(base, forged, "key does not fit the algorithm")


def test_a_pinned_tenant_must_match():
    issuer = CdsIssuer(iss=ISS, jwks={"keys": [RS.jwk]}, tenant="clinic-1")
    with cds_server(ServeSettings(cds_issuers=(issuer,), base_url=EXTERNAL)) as url:
        assert post(url, RS.token(SERVICE_AUD, tenant="clinic-1"))[0] == 200
        _refused(url, RS.token(SERVICE_AUD, tenant="clinic-2"), "wrong tenant")


def test_without_base_url_the_aud_is_the_url_called():
    with cds_server(ServeSettings(cds_issuers=(CdsIssuer(iss=ISS, jwks={"keys": [ES.jwk]}),))) as url:
        assert post(url, ES.token(f"{url}/cds-services/{SERVICE}"))[0] == 200
        _refused(url, ES.token(SERVICE_AUD), "wrong audience")


def test_jwks_url_is_not_fetched_unless_the_operator_allows_it():
    issuer = CdsIssuer(iss=ISS, jwks_url="http://127.0.0.1:9/jwks")
    with cds_server(ServeSettings(cds_issuers=(issuer,), base_url=EXTERNAL)) as url:
        error, _ = _refused(url, RS.token(SERVICE_AUD), "issuer keys unavailable")
        assert "fetch_jwks is off" in error["error"]


def test_open_mode_needs_no_token_and_warns_at_startup(caplog):
    from kg.serve.cds_hooks import cds_router

    with caplog.at_level(logging.WARNING, logger="kg.serve"):
        cds_router(ServeSettings(cds_open=True))
    assert "CDS Hooks is OPEN (cds_open): calls are not authenticated; use this for local testing only" in caplog.text
    with cds_server(ServeSettings(cds_open=True)) as url:
        assert post(url)[0] == 200
