"""The JWT of CDS Hooks 2.0 ("Trusting CDS Clients") against a real `painkg serve` on loopback.

Keys are made here with `cryptography`; the server trusts one issuer whose JWK
Set (one RS384 and one ES384 key) is given inline. Its base_url is
https://cds.example.org, so every JWT's `aud` is that URL plus the path called.
"""

from __future__ import annotations

import base64
import contextlib
import doctest
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest

from fhir_cds.cds_support import EXTERNAL, ISS, SERVICE, Signer, cds_server, hook_request, prefetch
from serve_support import http

from kg.serve.settings import CdsIssuer, ServeSettings

RS = Signer("RS384", "ehr-rsa-1")
ES = Signer("ES384", "ehr-ec-1")
STRANGER = Signer("RS384", "ehr-rsa-1")  # same kid, another key: a forged signature
SERVICE_AUD = f"{EXTERNAL}/cds-services/{SERVICE}"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def base():
    issuer = CdsIssuer(iss=ISS, jwks={"keys": [RS.jwk, ES.jwk]})
    with cds_server(ServeSettings(cds_issuers=(issuer,), base_url=EXTERNAL)) as url:
        yield url


def post(base, token=None, *, path=f"/cds-services/{SERVICE}", body=None, headers=None):
    headers = {"Content-Type": "application/json", **(headers or {})}
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


def test_base_url_is_required_when_tokens_are_verified_and_must_be_a_url():
    from kg.errors import InputError
    from kg.serve.app import create_app

    issuer = CdsIssuer(iss=ISS, jwks={"keys": [ES.jwk]})
    with pytest.raises(InputError) as caught:
        create_app(ServeSettings(cds_issuers=(issuer,)))
    assert caught.value.field == "base_url"
    assert str(caught.value).startswith("base_url: is required when CDS Hooks JWTs are verified")
    for bad in ("cds.example.org", "ftp://cds.example.org", "https://cds.example.org/?x=1", "https://", "https://a b"):
        with pytest.raises(InputError) as caught:
            create_app(ServeSettings(cds_issuers=(issuer,), base_url=bad))
        assert caught.value.field == "base_url", bad
    # Open mode and a server with no issuers verify no token: no base URL needed.
    create_app(ServeSettings(cds_open=True, cds_issuers=(issuer,)))
    create_app(ServeSettings())


def test_aud_is_the_configured_base_url_never_the_host_header(base):
    other = "https://other-cds.example.net"
    forged = {"Host": "other-cds.example.net", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "other-cds.example.net"}
    status, _, raw = post(base, RS.token(f"{other}/cds-services/{SERVICE}"), headers=forged)
    assert status == 401 and json.loads(raw)["reason"] == "wrong audience", raw
    # The loopback URL the request really came to is not this server's public URL either.
    _refused(base, ES.token(f"{base}/cds-services/{SERVICE}"), "wrong audience")
    # The token for this server is good whatever the Host header says, and the card links to the public URL.
    status, _, raw = post(base, RS.token(SERVICE_AUD), headers=forged)
    assert status == 200, raw
    [card] = json.loads(raw)["cards"]
    assert card["links"][0]["url"].startswith(f"{EXTERNAL}/explanations/")


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


# ------------------------------------------------------------------ malformed tokens (issue 18)

def _unsigned(header: dict, payload: dict) -> str:
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(payload)}.c2ln"


@pytest.mark.parametrize("token, reason, detail", [
    ("eyJhbGciOlsieCJdfQ.e30.", "algorithm not allowed", "alg must be a string, not an array"),
    (_unsigned({"alg": {"RS384": 1}}, {}), "algorithm not allowed", "alg must be a string, not an object"),
    (_unsigned({"alg": "RS384", "kid": 7}, {"iss": ISS}), "missing key id", "kid must be a string"),
    (_unsigned({"alg": "RS384", "kid": "k", "jku": ["x"]}, {"iss": ISS}), "untrusted jku", "jku must be a URL string"),
    (_unsigned({"alg": "RS384"}, {"iss": ["x"]}), "invalid claim", "iss must be a string"),
    (_unsigned({"alg": "RS384"}, {"iss": ISS, "aud": [1]}), "invalid claim", "aud must be a URL string"),
    (_unsigned({"alg": "RS384"}, {"iss": ISS, "nbf": True}), "invalid claim", "nbf must be a number"),
    ("eyJhbGciOiJSUzM4NCJ9.W10.c2ln", "malformed token", "the payload must be a JSON object, not an array"),
    ("e30.e30.e30.e30", "malformed token", "a JWT has three parts separated by dots, not 4"),
    ("e30.!!!.c2ln", "malformed token", "the payload is not base64url"),
    ("_w.e30.c2ln", "malformed token", "the header is not base64url-encoded UTF-8 JSON"),  # 0xff: not UTF-8
    ("x" * 9000, "malformed token", "longer than 8,192 characters"),
])
def test_malformed_tokens_are_401_with_one_log_line_and_no_traceback(base, caplog, token, reason, detail):
    with caplog.at_level(logging.INFO, logger="kg.serve"):
        error, _ = _refused(base, token, reason)
    assert error == {"error": error["error"], "field": "Authorization", "status": 401, "reason": reason}
    assert detail in error["error"], error["error"]
    refusals = [r for r in caplog.records if r.name == "kg.serve"]
    assert [r.getMessage().startswith("CDS call refused: 401 Authorization: ") for r in refusals] == [True]
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_signed_token_with_a_numeric_string_date_is_401(base, claim):
    now = int(time.time())
    payload = {"iss": ISS, "aud": SERVICE_AUD, "iat": now, "exp": now + 60, "jti": f"string-{claim}"}
    payload[claim] = str(payload[claim])
    token = jwt.encode(payload, RS.private, algorithm="RS384", headers={"kid": RS.kid})
    error, _ = _refused(base, token, "invalid claim")
    assert error["error"] == (f"Authorization: invalid claim: {claim} must be a number (seconds since 1970), "
                              "not a string")


# ------------------------------------------------------------------ JWKS fetching (issue 18)

class _Jwks(BaseHTTPRequestHandler):
    """A CDS client's JWK Set endpoint: ``delay`` seconds before answering ``status`` with ``keys``."""

    delay, status, keys, hits = 0.0, 200, [], 0

    def do_GET(self):
        type(self).hits += 1
        time.sleep(self.delay)
        body = json.dumps({"keys": self.keys}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def jwks_server(**attributes):
    handler = type("Jwks", (_Jwks,), {"hits": 0, **attributes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json", handler
    finally:
        server.shutdown()
        server.server_close()


def test_jwks_is_fetched_off_the_event_loop_and_unknown_kids_are_not_refetched():
    with jwks_server(delay=1.0, keys=[RS.jwk]) as (url, handler):
        issuer = CdsIssuer(iss=ISS, jwks_url=url)
        with cds_server(ServeSettings(cds_issuers=(issuer,), base_url=EXTERNAL, fetch_jwks=True)) as base:
            answers = {}
            first = threading.Thread(target=lambda: answers.setdefault("first", post(base, RS.token(SERVICE_AUD))))
            first.start()
            time.sleep(0.2)  # the fetch is under way: the service still answers at once
            started = time.monotonic()
            assert http("GET", f"{base}/healthz")[0] == 200
            assert time.monotonic() - started < 0.5
            first.join()
            assert answers["first"][0] == 200 and handler.hits == 1
            for i in range(5):  # a caller making up kids gets no fetch out of the service
                started = time.monotonic()
                _refused(base, RS.token(SERVICE_AUD, headers={"kid": f"made-up-{i}"}), "unknown key id")
                assert time.monotonic() - started < 0.5
            assert post(base, RS.token(SERVICE_AUD))[0] == 200
            assert handler.hits == 1


def test_a_failing_jwks_url_is_not_fetched_again_for_a_while():
    with jwks_server(status=500) as (url, handler):
        issuer = CdsIssuer(iss=ISS, jwks_url=url)
        with cds_server(ServeSettings(cds_issuers=(issuer,), base_url=EXTERNAL, fetch_jwks=True)) as base:
            error, _ = _refused(base, RS.token(SERVICE_AUD), "issuer keys unavailable")
            assert error["error"].endswith("jwks.json answered HTTP 500")
            error, _ = _refused(base, RS.token(SERVICE_AUD), "issuer keys unavailable")
            assert error["error"].endswith("answered HTTP 500 (not retried for 30 s)")
            assert handler.hits == 1


def test_a_jwks_fetch_ends_within_its_time_bound():
    from kg.serve.auth import TokenError
    from kg.serve.jwks import fetch_jwks

    with jwks_server(delay=5.0, keys=[RS.jwk]) as (url, _):
        started = time.monotonic()
        with pytest.raises(TokenError) as caught:
            fetch_jwks(url, timeout=0.5)
        assert time.monotonic() - started < 2.0
    assert caught.value.reason == "issuer keys unavailable" and "ReadTimeout" in caught.value.detail


def test_base_url_is_documented_with_a_runnable_example():
    result = doctest.testfile(str(ROOT / "docs" / "cds-hooks.md"), module_relative=False)
    assert result.attempted >= 3 and result.failed == 0


def test_the_replay_guard_forgets_expired_jti_from_the_front_and_stays_bounded():
    from kg.serve.auth import LEEWAY_S, _SeenJti

    guard = _SeenJti(limit=3)
    assert guard.add("a", exp=100, now=0) and guard.add("b", exp=200, now=0)
    assert not guard.add("a", exp=100, now=50)  # a replay inside the token's life
    assert guard.add("c", exp=300, now=100 + LEEWAY_S + 1)  # "a" has expired: forgotten
    assert list(guard.entries) == ["b", "c"]
    assert guard.add("a", exp=400, now=100 + LEEWAY_S + 1)  # the same jti after its token expired is new
    assert guard.add("d", exp=500, now=150) and list(guard.entries) == ["c", "a", "d"]  # bounded: oldest dropped
