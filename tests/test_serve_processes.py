"""``painkg serve --processes 2 --replay-store redis://...``: several server processes, one shared replay guard.

Real components: a ``redis-server`` of the test's own on a free loopback port (no disk: ``--save ''
--appendonly no``, in a tmp dir), and the real ``painkg serve`` command with JWT verification on. Checked:
both processes answer (which process holds each connection is read from /proc), a token replayed over new
connections is accepted exactly once whichever process gets it, Redis stopped mid-run gives 503 JSON with
``Retry-After`` (never the token accepted unchecked) and calls are checked again once Redis is back, SIGTERM
to the parent leaves no process behind, a killed parent or a process crashing at its start neither, and
the refusals at start (several processes verifying tokens without a shared guard; a bad URL).

Without redis-server or the ``redis`` package the tests skip, except under CI (CI=true), where they fail:
a missing install step must not pass CI silently.
"""

from __future__ import annotations

from http.client import HTTPConnection
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from fhir_cds.cds_support import EXTERNAL, ISS, SERVICE, Signer, hook_request, prefetch  # noqa: E402
from serve_support import http, wait_until_healthy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RS = Signer("RS384", "ehr-rsa-1")
AUD = f"{EXTERNAL}/cds-services/{SERVICE}"
BODY = json.dumps(hook_request("cds-lb-1", prefetch("strain-lower-back-day20")))


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _need_redis() -> str:
    missing = None
    if shutil.which("redis-server") is None:
        missing = "redis-server is not installed (apt-get install redis-server)"
    else:
        try:
            import redis  # noqa: F401
        except ImportError:
            missing = "the redis package is not installed (pip install redis)"
    if missing:
        if _on_ci():
            pytest.fail(f"{missing} (CI=true: it must be installed, see .ci/run)")
        pytest.skip(missing)
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_redis(tmp: Path, port: int | None = None) -> tuple[subprocess.Popen, int]:
    binary = _need_redis()
    port = port or _free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            pytest.fail("redis-server did not start")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen, timeout: float = 40) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _children(pid: int) -> list[int]:
    """The process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _serve(tmp: Path, *options: str) -> tuple[subprocess.Popen, str, Path]:
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps({"keys": [RS.jwk]}))
    port = _free_port()
    log = tmp / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", "--port", str(port), "--cds-issuer", ISS,
                                 "--cds-jwks", str(jwks), "--base-url", EXTERNAL, "--log-level", "warning", *options],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    return proc, f"http://127.0.0.1:{port}", log


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Redis and ``painkg serve --processes 2 --replay-store redis://...``: ``(base, server, redis, log)``."""
    tmp = tmp_path_factory.mktemp("processes")
    redis_proc, redis_port = _start_redis(tmp)
    server = None
    try:
        server, base, log = _serve(tmp, "--processes", "2", "--replay-store", f"redis://127.0.0.1:{redis_port}/0")
        wait_until_healthy(base, server, log)
        deadline = time.monotonic() + 30
        while len(_children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        yield base, server, redis_proc, log
    finally:
        if server is not None:
            pids = _children(server.pid)
            _stop(server)
            for pid in pids:  # never leave a server process behind, even when a test failed
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
        _stop(redis_proc)


def _cds(base: str, token: str):
    return http("POST", f"{base}/cds-services/{SERVICE}", body=BODY,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})


def _holder(port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the server end of the loopback connection whose client port is ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].rsplit(":", 1)[1], 16) == port:  # the remote end is our client
            inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    return None


def test_two_processes_answer_on_the_one_port(served):
    base, server, _, _ = served
    pids = _children(server.pid)
    assert len(pids) == 2 and server.pid not in pids
    host, port = base.rsplit("/", 1)[1].split(":")
    holders, connections = set(), []
    try:
        for _ in range(60):  # keep each connection open, so the next one is accepted afresh
            conn = HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", "/openapi.json")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
            connections.append(conn)
            holders.add(_holder(conn.sock.getsockname()[1], pids))
            if holders >= set(pids):
                break
    finally:
        for conn in connections:
            conn.close()
    assert holders == set(pids)


def test_a_replayed_token_is_accepted_once_whichever_process_gets_it(served):
    base = served[0]
    token = RS.token(AUD)
    statuses, bodies = [], []

    def call():
        status, _, raw = _cds(base, token)
        statuses.append(status)
        bodies.append(raw)

    threads = [threading.Thread(target=call) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] + [401] * 23
    refusals = [json.loads(raw) for status, raw in zip(statuses, bodies) if status == 401]
    assert all(r["field"] == "Authorization" and r["reason"] == "token replayed" for r in refusals)
    for _ in range(10):  # and later, over new connections, one at a time
        status, _, raw = _cds(base, token)
        assert status == 401 and json.loads(raw)["reason"] == "token replayed"
    status, _, raw = _cds(base, RS.token(AUD))  # a new jti is still accepted
    assert status == 200, raw


def test_redis_stopped_mid_run_is_503_json_with_retry_after_never_accepted(served):
    base, server, redis_proc, log = served
    _stop(redis_proc)
    for _ in range(4):
        status, headers, raw = _cds(base, RS.token(AUD))
        assert status == 503, raw
        headers = {k.lower(): v for k, v in headers.items()}
        assert headers["retry-after"] == "2" and headers["content-type"] == "application/json"
        body = json.loads(raw)
        assert body["status"] == 503 and body["field"] == "Authorization"
        assert "replay guard is unavailable" in body["error"]
    assert server.poll() is None and len(_children(server.pid)) == 2  # the service itself is still up
    text = log.read_text(errors="replace")
    assert "did not answer (ConnectionError)" in text and "Traceback" not in text
    # Redis back (empty: no disk) on the same address: the next calls are checked and answered again.
    port = int(_redis_port(redis_proc))
    again, _ = _start_redis(log.parent / "again", port)
    try:
        token = RS.token(AUD)
        assert _cds(base, token)[0] == 200
        assert json.loads(_cds(base, token)[2])["reason"] == "token replayed"
    finally:
        _stop(again)


def _redis_port(proc: subprocess.Popen) -> str:
    return proc.args[proc.args.index("--port") + 1]


def test_sigterm_to_the_parent_stops_every_process(served):
    _, server, _, _ = served
    pids = _children(server.pid)
    assert len(pids) == 2
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=40) == 0
    assert not [pid for pid in pids if _alive(pid)]


def test_a_killed_parent_takes_its_processes_with_it(tmp_path):
    server, base, log = _serve(tmp_path, "--processes", "2", "--cds-open")
    try:
        wait_until_healthy(base, server, log)
        deadline = time.monotonic() + 30
        while len(pids := _children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(pids) == 2
        server.kill()  # SIGKILL: no chance to stop its children itself
        server.wait(timeout=10)
        deadline = time.monotonic() + 40
        while [pid for pid in pids if _alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in pids if _alive(pid)]
    finally:
        for pid in _children(server.pid) if server.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
        _stop(server)


def _refused_at_start(tmp: Path, *options: str) -> str:
    server, _, log = _serve(tmp, *options)
    try:
        assert server.wait(timeout=60) == 2
    finally:
        _stop(server)
    return log.read_text(errors="replace")


def test_several_processes_verifying_tokens_need_a_shared_replay_store(tmp_path):
    text = _refused_at_start(tmp_path, "--processes", "2")
    assert "error: --replay-store: is required with processes over 1 when CDS JWTs are verified" in text
    assert "Traceback" not in text


def test_a_replay_store_that_is_not_a_redis_url_is_refused(tmp_path):
    text = _refused_at_start(tmp_path, "--replay-store", "http://127.0.0.1:6379/0")
    assert 'error: --replay-store: "http://127.0.0.1:6379/0" is not allowed; expected a Redis URL' in text


def test_a_process_dying_at_its_start_stops_the_whole_service_cleanly(tmp_path):
    """A process that dies within CRASH_WINDOW_S of its start (a crash loop) stops the service: exit status 1,
    one log line, no process left (one that dies later is started again: checked by hand, it takes 10 s)."""
    server, base, log = _serve(tmp_path, "--processes", "2", "--cds-open")
    pids = []
    try:
        wait_until_healthy(base, server, log)
        deadline = time.monotonic() + 30
        while len(pids := _children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(pids[0], signal.SIGKILL)
        assert server.wait(timeout=40) == 1
        assert not [pid for pid in pids if _alive(pid)]
        text = log.read_text(errors="replace")
        assert f"process {pids[0]} ended (signal SIGKILL)" in text and "stopping the service" in text
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        _stop(server)
