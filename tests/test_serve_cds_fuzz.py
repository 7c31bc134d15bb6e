"""Fuzzing the CDS Hooks service of a real `painkg serve` on loopback: tokens, prefetch shapes, feedback bodies.

One server for the module, with JWT verification on (one trusted issuer, an
RS384 and an ES384 key, base_url https://cds.example.org). Hypothesis makes:

* JWTs: header fields and claims of every JSON type (lists, numbers, strings,
  null, nested objects, booleans for alg, kid, typ, exp, iat, nbf, aud, iss,
  jti), sizes, encodings (bad base64url, non-UTF-8, non-JSON, NaN and 1e400,
  deep nesting, too many or too few segments), signed with the trusted key or
  not. Every answer is 200 or a 401 with the JSON error body and a
  ``WWW-Authenticate`` challenge.
* CDS calls whose body is a real call with one part replaced by any JSON
  (a prefetch Bundle's entry, its search, a resource, the context...), signed
  properly: every answer is 200, or a 4xx with the JSON error body.
* Feedback bodies built around the feedback shape: 200, or a 4xx with the JSON
  error body.

Never a 5xx, and nothing logged at ERROR (no traceback). Bounded: a few hundred
examples in all, derandomized so a run is repeatable.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import time

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fhir_cds.cds_support import EXTERNAL, ISS, SERVICE, Signer, cds_server, hook_request, prefetch
from json_mutation import mutated_at_random_path
from serve_support import http

from kg.serve.settings import CdsIssuer, ServeSettings

RS = Signer("RS384", "fuzz-rsa")
ES = Signer("ES384", "fuzz-ec")
DISCOVERY_AUD = f"{EXTERNAL}/cds-services"
SERVICE_AUD = f"{EXTERNAL}/cds-services/{SERVICE}"
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class _Errors(logging.Handler):
    """Collects what the server logs at ERROR or above (an unexpected exception's traceback)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def server():
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    issuer = CdsIssuer(iss=ISS, jwks={"keys": [RS.jwk, ES.jwk]})
    try:
        with cds_server(ServeSettings(cds_issuers=(issuer,), base_url=EXTERNAL)) as url:
            yield url, errors
    finally:
        logging.getLogger().removeHandler(errors)
    assert [r.getMessage() for r in errors.records] == []


def _assert_error_body(status: int, head: dict, raw: bytes):
    assert 400 <= status < 500, (status, raw[:300])
    assert head.get("content-type", "").startswith("application/json"), head
    error = json.loads(raw)
    assert isinstance(error["error"], str) and isinstance(error["field"], str) and error["status"] == status, error
    assert "Traceback" not in error["error"]


# ------------------------------------------------------------------ JSON values

SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=4), max_leaves=10)
NOW = int(time.time())
#: Values that are right for some field, so the fuzzer gets past the first checks and into the later ones.
NEAR = st.sampled_from(["RS384", "ES384", "HS256", "none", "JWT", "jwt", RS.kid, ES.kid, ISS, DISCOVERY_AUD,
                        SERVICE_AUD, NOW, NOW + 60, NOW - 600, str(NOW), float(NOW), 10**12, -1, 0, "", "x" * 3000,
                        [DISCOVERY_AUD], [DISCOVERY_AUD, 1], {"kid": RS.kid}, True, None])
VALUE = NEAR | JSON
HEADER_KEYS = ("alg", "kid", "typ", "jku", "crit", "x5u", "cty")
CLAIM_KEYS = ("iss", "aud", "exp", "iat", "nbf", "jti", "sub", "tenant")
# Characters an HTTP header value can carry (latin-1 without controls): what a client can send at all.
HEADER_CHARS = st.characters(codec="latin-1", exclude_categories=("Cc",))


@st.composite
def objects(draw, keys, base):
    """A JSON object: ``base`` with a few of ``keys`` (often none) set to any value or removed, maybe junk keys."""
    out = dict(base)
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        if draw(st.integers(0, 4)) == 0:
            out.pop(key, None)
        else:
            out[key] = draw(VALUE)
    if draw(st.integers(0, 3)) == 0:
        out.update(draw(st.dictionaries(st.text(max_size=6), JSON, max_size=2)))
    return out


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(signing_input: str, alg: str) -> str:
    """A valid signature by the trusted key, so the server goes on to check the drawn claims."""
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    if alg == "ES384":
        return _b64(ECAlgorithm(ECAlgorithm.SHA384).sign(signing_input.encode(), ES.private))
    return _b64(RSAAlgorithm(RSAAlgorithm.SHA384).sign(signing_input.encode(), RS.private))


RAW_PARTS = st.sampled_from([
    b'{"alg": "RS384", "exp": 1e400}', b'{"alg": "RS384", "exp": NaN}', b'{"alg": "RS384", "iat": Infinity}',
    b"[" * 3000 + b"]" * 3000, b'{"alg": "RS384"', b'"RS384"', b"1", b"null", b"\xff\xfe\x00{}", b"",
    b'{"exp": 1' + b"0" * 5000 + b"}", b'{"alg": "RS384", "alg": ["x"]}', b'{"iss": "https://ehr.example.org"}',
])


@st.composite
def tokens(draw):
    """A bearer token: well-formed JSON parts (signed or not) or broken encodings."""
    kind = draw(st.sampled_from(["json"] * 5 + ["raw-json", "bytes", "text", "segments"]))
    if kind in ("json", "raw-json"):
        signer = draw(st.sampled_from([RS, ES]))
        header = draw(objects(HEADER_KEYS, {"alg": signer.alg, "kid": signer.kid, "typ": "JWT"}))
        claims = draw(objects(CLAIM_KEYS, {"iss": ISS, "aud": DISCOVERY_AUD, "iat": NOW, "exp": NOW + 120,
                                           "jti": draw(st.uuids()).hex}))
        head = _b64(json.dumps(header).encode()) if kind == "json" else _b64(draw(RAW_PARTS))
        body = _b64(json.dumps(claims).encode()) if draw(st.booleans()) or kind == "json" else _b64(draw(RAW_PARTS))
        signed = draw(st.integers(0, 3)) > 0 and header.get("alg") in ("RS384", "ES384")
        sig = _signature(f"{head}.{body}", header["alg"]) if signed else _b64(draw(st.binary(max_size=64)))
        return f"{head}.{body}.{sig}"
    if kind == "bytes":  # base64url of anything: mostly not UTF-8, not JSON
        return ".".join(_b64(draw(st.binary(max_size=200))) for _ in range(3))
    if kind == "text":  # not base64url at all, any length
        return draw(st.text(HEADER_CHARS, min_size=1, max_size=draw(st.sampled_from([20, 200, 10_000]))))
    parts = draw(st.lists(st.text("ABCabc012_-=+/", max_size=30), min_size=1, max_size=7))
    return ".".join(parts)


AUTHORIZATION = st.one_of(
    tokens().map(lambda t: f"Bearer {t}"),
    tokens().map(lambda t: f"bearer  {t} "),
    st.sampled_from(["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b c", "Token x.y.z"]),
)


@FUZZ
@given(authorization=AUTHORIZATION)
def test_fuzzed_tokens_are_answered_401_with_a_json_body_or_accepted(server, authorization):
    url, _ = server
    status, head, raw = http("GET", f"{url}/cds-services", headers={"Authorization": authorization})
    if status == 200:  # a drawn token can be right in every respect
        assert json.loads(raw)["services"][0]["id"] == SERVICE
        return
    assert status == 401, (status, raw[:300])
    _assert_error_body(status, head, raw)
    error = json.loads(raw)
    assert error["field"] == "Authorization" and isinstance(error["reason"], str)
    event(error["reason"])  # --hypothesis-show-statistics shows how far the drawn tokens get
    assert head["www-authenticate"].startswith('Bearer realm="painkg-cds"')


# ------------------------------------------------------------------ prefetch and call shapes

BASE_CALL = hook_request("cds-lb-1", prefetch("strain-lower-back-day20"))
EXTRA_KEYS = ("search", "resource", "entry", "resourceType", "id", "link", "extension", "fhirServer")


def mutated(document):
    """``document`` with the value at a random path replaced by any JSON, or removed; an object may also get one
    of the keys FHIR and CDS Hooks give meaning to (``search``, ``resource``...)."""
    return mutated_at_random_path(document, EXTRA_KEYS, VALUE | st.sampled_from(
        [{"mode": "outcome"}, "match", [], {}, {"resourceType": "Bundle"}, {"resourceType": "OperationOutcome"}]))


@st.composite
def entry_mutated(draw):
    """The real call with one prefetch Bundle entry's part (its search, resource, or a field inside) made anything."""
    out = copy.deepcopy(BASE_CALL)
    bundle = out["prefetch"][draw(st.sampled_from(["conditions", "observations"]))]
    entry = draw(st.sampled_from(bundle["entry"]))
    if draw(st.booleans()):
        entry[draw(st.sampled_from(["search", "resource", "fullUrl", "request"]))] = draw(
            VALUE | st.sampled_from([{"mode": ["outcome"]}, {"mode": "outcome"}, "match"]))
    else:
        entry["resource"] = draw(mutated(entry["resource"]))
    return out


@FUZZ
@given(body=mutated(BASE_CALL) | entry_mutated())
def test_fuzzed_cds_calls_are_answered_200_or_a_4xx_with_a_json_body(server, body):
    url, _ = server
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ES.token(SERVICE_AUD)}"}
    status, head, raw = http("POST", f"{url}/cds-services/{SERVICE}", body=json.dumps(body), headers=headers)
    event(str(status))
    if status == 200:
        assert isinstance(json.loads(raw)["cards"], list)
    else:
        _assert_error_body(status, head, raw)


# ------------------------------------------------------------------ feedback bodies

TIMESTAMPS = st.from_regex(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})\Z") | VALUE
ITEM = st.fixed_dictionaries({"card": VALUE | st.just("c1"),
                              "outcome": st.sampled_from(["accepted", "overridden", "ignored"]) | VALUE,
                              "outcomeTimestamp": TIMESTAMPS},
                             optional={"acceptedSuggestions": VALUE | st.just([{"id": "s1"}]),
                                       "overrideReason": VALUE | st.just({"userComment": "x", "reason": {"code": "a",
                                                                                                         "system": "b"}})})
GOOD_FEEDBACK = {"feedback": [{"card": "c1", "outcome": "accepted", "outcomeTimestamp": "2026-03-21T10:00:00Z",
                               "acceptedSuggestions": [{"id": "s1"}]},
                              {"card": "c2", "outcome": "overridden", "outcomeTimestamp": "2026-03-21T10:00:00.5+01:00",
                               "overrideReason": {"reason": {"code": "a", "system": "b"}, "userComment": "x"}}]}
FEEDBACK = st.one_of(mutated(GOOD_FEEDBACK), st.just(GOOD_FEEDBACK), st.fixed_dictionaries(
    {"feedback": st.lists(ITEM, max_size=3)}), st.dictionaries(st.sampled_from(["feedback", "x"]), VALUE, max_size=2),
    JSON)


@FUZZ
@given(body=FEEDBACK)
def test_fuzzed_feedback_is_answered_200_or_a_4xx_with_a_json_body(server, body):
    url, _ = server
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {RS.token(SERVICE_AUD + '/feedback')}"}
    status, head, raw = http("POST", f"{url}/cds-services/{SERVICE}/feedback", body=json.dumps(body), headers=headers)
    event(str(status))
    if status == 200:
        assert json.loads(raw) == {}
    else:
        _assert_error_body(status, head, raw)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
       content_type=st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain", ""]))
def test_fuzzed_raw_bodies_are_answered_with_a_json_4xx(server, raw, content_type):
    url, _ = server
    headers = {"Authorization": f"Bearer {ES.token(SERVICE_AUD)}"}
    if content_type:
        headers["Content-Type"] = content_type
    status, head, answer = http("POST", f"{url}/cds-services/{SERVICE}", body=raw, headers=headers)
    _assert_error_body(status, head, answer)
