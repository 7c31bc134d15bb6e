"""docs/serve.md's nginx block in front of a real painkg server: nginx (where installed; skipped otherwise) runs
the block as printed, with only its ports, certificate paths and upstream rewritten for loopback, and HTTPS
requests through it reach painkg and come back as painkg answered them (JSON errors included).

Bounded: one nginx and one painkg server for the module, a handful of requests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("cryptography")

from serve_support import serve_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DAY20 = ROOT / "examples" / "lower-back-strain-day20.json"


def _nginx_block() -> str:
    text = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```nginx\n(.*?)```", text, flags=re.S)
    return block


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for cds.example.org and its key (cryptography, no openssl command needed)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cds.example.org")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("cds.example.org")]), critical=False)
            .sign(key, hashes.SHA256()))
    pem, key_pem = folder / "cert.pem", folder / "key.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return pem, key_pem


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _nginx(folder: Path, upstream: int):
    """nginx with the docs' block on a free loopback port, before ``127.0.0.1:upstream``: yields its base URL."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        # Under CI (CI=true) .ci/run installs nginx: a missing install step must not pass silently.
        if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
            pytest.fail("nginx is not installed (CI=true: .ci/run must install it)")
        pytest.skip("nginx is not installed")
    cert, key = _self_signed(folder)
    port = _free_port()
    block = _nginx_block()
    # Loopback only: the docs' ports, certificate and second process rewritten, nothing else.
    block = block.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    block = block.replace("/etc/ssl/certs/cds.example.org.pem", str(cert))
    block = block.replace("/etc/ssl/private/cds.example.org.key", str(key))
    block = re.sub(r"\n\s*server 127\.0\.0\.1:8001;[^\n]*", "", block)
    block = block.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
    temps = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    for temp in temps:
        (folder / temp).mkdir()
    config = folder / "nginx.conf"
    config.write_text(f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
                      f"error_log {folder / 'error.log'};\nevents {{ worker_connections 64; }}\n"
                      f"http {{\n access_log {folder / 'access.log'};\n"
                      + "".join(f" {temp}_temp_path {folder / temp};\n" for temp in temps) + block + "}\n")
    check = subprocess.run([nginx, "-t", "-p", str(folder), "-c", str(config)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([nginx, "-p", str(folder), "-c", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode(errors="replace")
                assert time.monotonic() < deadline, "nginx did not listen in time"
                time.sleep(0.05)
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """``(proxy base URL, painkg base URL)``: nginx with the docs' block before a real painkg server."""
    with serve_url() as painkg, _nginx(tmp_path_factory.mktemp("nginx"), int(painkg.rsplit(":", 1)[1])) as proxy:
        yield proxy, painkg


def _https(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    """One request with a certificate check against the self-signed one off (loopback only)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Host": "cds.example.org", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_healthz_and_explain_answer_through_the_proxy_as_painkg_does(proxied):
    proxy, painkg = proxied
    status, _, body = _https("GET", f"{proxy}/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    patient = DAY20.read_bytes()
    through = _https("POST", f"{proxy}/explain", patient, {"Content-Type": "application/json"})
    direct = urllib.request.urlopen(urllib.request.Request(f"{painkg}/explain", data=patient, method="POST",
                                                           headers={"Content-Type": "application/json"}))
    assert through[0] == 200 and through[2] == direct.read()


def test_painkg_errors_come_through_the_proxy_as_json(proxied):
    proxy, _ = proxied
    # Over the patient limit (1 MiB) but under the proxy's 16m: painkg's 413, from Content-Length.
    status, headers, body = _https("POST", f"{proxy}/explain", b"{" + b" " * (1024 * 1024 + 10) + b"}",
                                   {"Content-Type": "application/json"})
    assert (status, headers["content-type"]) == (413, "application/json")
    assert json.loads(body) == {"error": "body: larger than the limit of 1,048,576 bytes", "field": "body",
                                "status": 413, "limit_bytes": 1048576}
    status, headers, body = _https("POST", f"{proxy}/sparql", b"ASK {", {"Content-Type": "application/sparql-query"})
    assert status == 400 and json.loads(body)["field"] == "query"


def test_the_proxy_refuses_a_body_over_its_own_limit_with_json(proxied):
    """Over client_max_body_size (16m) nginx answers itself; the docs' error_page keeps that answer JSON."""
    proxy, _ = proxied
    status, headers, body = _https("POST", f"{proxy}/cds-services/painkg-persistent-pain",
                                   b" " * (16 * 1024 * 1024 + 1), {"Content-Type": "application/json"})
    assert (status, headers["content-type"]) == (413, "application/json")
    assert json.loads(body) == {"error": "body: larger than the proxy limit of 16 MiB", "field": "body",
                                "status": 413}


def test_painkg_down_is_a_json_503_with_retry_after(tmp_path):
    """Nothing listening upstream (painkg stopped or restarting): the docs' error_page answers JSON 503."""
    with _nginx(tmp_path, _free_port()) as proxy:
        status, headers, body = _https("GET", f"{proxy}/healthz")
    assert (status, headers["content-type"], headers["retry-after"]) == (503, "application/json", "5")
    assert json.loads(body) == {"error": "the service is not answering; try again shortly", "field": "upstream",
                                "status": 503}
