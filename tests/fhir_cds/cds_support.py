"""Helpers of the CDS Hooks tests (tests/test_serve_cds*.py): a running server, JWT signing keys, requests and schemas.

``cds_server(settings)`` runs the real app (``kg.serve.app.create_app``) on a
free loopback port through ``serve_support.serve_url``.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

HERE = Path(__file__).resolve().parent.parent
SCHEMAS = HERE / "schemas" / "cds-hooks"
PREFETCH = HERE / "fhir_cds"
SERVICE = "painkg-persistent-pain"
ISS = "https://ehr.example.org"
EXTERNAL = "https://cds.example.org"  # the base_url the auth server is configured with (the JWT aud)


@contextlib.contextmanager
def cds_server(settings):
    """The real app for ``settings`` on a loopback port (``serve_support.serve_url``); yields its base URL."""
    from serve_support import serve_url

    with serve_url(settings) as base:
        yield base


def validator(name: str):
    """A JSON Schema validator for ``tests/schemas/cds-hooks/<name>.schema.json``."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(json.loads((SCHEMAS / f"{name}.schema.json").read_text()))


def prefetch(name: str) -> dict:
    """The prefetch object of ``tests/fhir_cds/<name>.json``."""
    return json.loads((PREFETCH / f"{name}.json").read_text())


def hook_request(patient_id: str, prefetch_data: dict | None, *, as_of: str | None = "2026-03-21",
                 hook_instance: str = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", **extra) -> dict:
    """A patient-view request for ``patient_id``."""
    body = {"hook": "patient-view", "hookInstance": hook_instance,
            "context": {"userId": "Practitioner/example", "patientId": patient_id}}
    if prefetch_data is not None:
        body["prefetch"] = prefetch_data
    if as_of is not None:
        body["extension"] = {"org.w3id.painkg.asOf": as_of}
    body.update(extra)
    return body


class Signer:
    """One CDS client's key pair (RS384 or ES384) and its public JWK Set."""

    def __init__(self, alg: str, kid: str):
        self.alg, self.kid = alg, kid
        if alg.startswith("RS"):
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP384R1())
            public = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**public, "kid": kid, "use": "sig", "alg": alg}

    def token(self, aud, *, iss: str = ISS, lifetime: int = 300, iat: float | None = None, jti: str | None = None,
              headers: dict | None = None, **claims) -> str:
        """A signed JWT as CDS Hooks 2.0 asks for it."""
        now = time.time() if iat is None else iat
        payload = {"iss": iss, "aud": aud, "iat": int(now), "exp": int(now) + lifetime,
                   "jti": jti or str(uuid.uuid4()), **claims}
        return jwt.encode(payload, self.private, algorithm=self.alg,
                          headers={"kid": self.kid, "typ": "JWT", **(headers or {})})
