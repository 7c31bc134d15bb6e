"""Cost of checking CDS Hooks JWTs (kg.serve.auth): per token, per refusal, the replay guard, JWKS fetching.

    python benchmarks/bench_cds_auth.py [--tokens 2000] [--jwks-delay 1.0] [--json PATH]

In process, no HTTP server for painkg (the router runs :meth:`TokenVerifier.verify_call` on a
worker thread; this times that call):

- ``verify RS384`` / ``verify ES384``: a valid token, a new ``jti`` each (the spec's two algorithms);
- ``refuse alg list``: the token of issue 18 whose header ``alg`` is a list (it used to be a 500);
- ``jti guard add``: remembering one more ``jti`` when 100,000 are remembered (the bound);
- ``unknown kid``: tokens naming made-up kids of an issuer whose ``jwks_url`` is a real loopback
  server answering after ``--jwks-delay`` seconds, with ``fetch_jwks`` on: the time per refusal
  after the first fetch, and how many fetches the whole run made (the cache remembers misses).

Prints a table and writes JSON (default benchmarks/results/bench_cds_auth.json).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kg.serve.auth import TokenError, TokenVerifier, _SeenJti
from kg.serve.settings import CdsIssuer, ServeSettings

ROOT = Path(__file__).resolve().parent.parent
ISS = "https://ehr.example.org"
BASE = "https://cds.example.org"


class Key:
    """A CDS client's signing key and its public JWK."""

    def __init__(self, alg: str, kid: str):
        self.alg, self.kid = alg, kid
        if alg.startswith("RS"):
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP384R1())
            public = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**public, "kid": kid, "use": "sig", "alg": alg}

    def token(self, aud: str, kid: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": ISS, "aud": aud, "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": kid or self.kid, "typ": "JWT"})


def per_call_us(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def refused(verifier: TokenVerifier, authorization: str) -> None:
    try:
        verifier.verify_call(authorization, "/cds-services")
    except TokenError:
        return
    raise AssertionError("the token was accepted")


def jwks_server(delay: float, keys: list[dict]):
    class Handler(BaseHTTPRequestHandler):
        hits = 0

        def do_GET(self):
            Handler.hits += 1
            time.sleep(delay)
            body = json.dumps({"keys": keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=2000, help="tokens per timed row")
    ap.add_argument("--jwks-delay", type=float, default=1.0, help="seconds the JWKS server waits before answering")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_cds_auth.json"))
    args = ap.parse_args()

    rs, es = Key("RS384", "rsa-1"), Key("ES384", "ec-1")
    inline = CdsIssuer(iss=ISS, jwks={"keys": [rs.jwk, es.jwk]})
    verifier = TokenVerifier(ServeSettings(cds_issuers=(inline,), base_url=BASE))
    aud = f"{BASE}/cds-services"
    rows = []
    for key in (rs, es):
        tokens = [f"Bearer {key.token(aud)}" for _ in range(args.tokens)]
        rows.append((f"verify {key.alg}", per_call_us(lambda a: verifier.verify_call(a, "/cds-services"), tokens),
                     args.tokens))
    bad = ["Bearer eyJhbGciOlsieCJdfQ.e30."] * (args.tokens * 10)
    rows.append(("refuse alg list", per_call_us(lambda a: refused(verifier, a), bad), len(bad)))
    guard, now = _SeenJti(100_000), time.time()
    guard.entries.update((f"j{i}", now + 300) for i in range(100_000))
    rows.append(("jti guard add (100,000 remembered)",
                 per_call_us(lambda i: guard.add(f"k{i}", now + 300, now), range(1000)), 1000))

    server, handler = jwks_server(args.jwks_delay, [rs.jwk])
    try:
        url = f"http://127.0.0.1:{server.server_port}/jwks.json"
        fetching = TokenVerifier(ServeSettings(cds_issuers=(CdsIssuer(iss=ISS, jwks_url=url),), base_url=BASE,
                                               fetch_jwks=True))
        start = time.perf_counter()
        fetching.verify_call(f"Bearer {rs.token(aud)}", "/cds-services")
        first_ms = (time.perf_counter() - start) * 1000
        made_up = [f"Bearer {rs.token(aud, kid=f'made-up-{i}')}" for i in range(200)]
        unknown_us = per_call_us(lambda a: refused(fetching, a), made_up)
        rows.append((f"unknown kid after the first fetch ({first_ms:.0f} ms)", unknown_us, len(made_up)))
        fetches = handler.hits
    finally:
        server.shutdown()
        server.server_close()

    print(f"{'what':48} {'µs per call':>12} {'calls':>7}")
    print("-" * 69)
    for what, us, n in rows:
        print(f"{what:48} {us:12.1f} {n:7}")
    print(f"JWKS fetches for 1 known and 200 made-up kids: {fetches}")
    result = {"rows": [{"what": w, "us_per_call": round(us, 2), "calls": n} for w, us, n in rows],
              "jwks_fetches": fetches, "jwks_delay_s": args.jwks_delay, "first_fetch_ms": round(first_ms, 1)}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
