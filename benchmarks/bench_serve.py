"""Load-test `painkg serve` on loopback: requests/s, p50/p99 latency and errors for /explain and the CDS hook.

    python benchmarks/bench_serve.py [--quick] [--duration 10] [--clients 1,10,50] [--workers 2]
    python benchmarks/bench_serve.py --requests 100000      # memory over a long run

Starts `painkg serve --cds-open` (a subprocess, uvicorn, one process) on a free loopback port and
drives it with wrk (Debian's `wrk`; a Lua script posts the bodies), for each scenario and number of
concurrent connections, each cell bounded in time. Scenarios:

- `explain`: POST /explain, one lower back strain patient (painkg JSON), JSON answer;
- `cds-repeat`: the CDS patient-view hook with the same FHIR prefetch every time (the service's card
  cache answers after the first call; the cached card is byte-identical to a fresh one);
- `cds-unique`: the CDS hook with a new patient id on every request (no cache hit: FHIR reading,
  reasoning and the card every time; the worst case).

wrk is closed-loop: each connection sends its next request when the last answer arrives, so latency
at 50 connections includes queueing. On a 2-core machine wrk competes with the server for the CPU;
the table says so. The server's RSS (process tree) is read before and after, and sampled each second
during the `--requests` run (CDS hook, `--long-scenario`, 10 connections), until at least that many have been made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAINKG = Path(sys.executable).with_name("painkg")
SERVICE = "painkg-persistent-pain"

_LUA = r"""
local path = os.getenv("BENCH_BODY")
local f = assert(io.open(path, "rb")); local template = f:read("*a"); f:close()
local unique = os.getenv("BENCH_UNIQUE") == "1"
local threads = {}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = template
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
request = function()
  if not unique then return wrk.request() end
  counter = counter + 1
  local body = template:gsub("PIDPID", "t" .. tid .. "n" .. counter)
  return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its children, MiB."""
    import psutil

    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return round(total / 2**20, 1)


class Server:
    """`painkg serve --cds-open` on a free loopback port."""

    def __init__(self, workers: int):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [str(PAINKG), "serve", "--cds-open", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(workers)]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise SystemExit(f"painkg serve did not start:\n{self.log.read().decode()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def bodies(tmp: Path) -> dict[str, tuple[str, Path, bool]]:
    """Scenario -> (path, body file, unique)."""
    patient = ROOT / "examples" / "lower-back-strain-day20.json"
    prefetch = json.loads((ROOT / "tests" / "fhir_cds" / "strain-lower-back-day20.json").read_text())
    cds = {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
           "context": {"userId": "Practitioner/bench", "patientId": "cds-lb-1"}, "prefetch": prefetch,
           "extension": {"org.w3id.painkg.asOf": "2026-03-21"}}
    text = json.dumps(cds)
    (tmp / "cds.json").write_text(text)
    (tmp / "cds-unique.json").write_text(text.replace("cds-lb-1", "PIDPID"))
    return {"explain": ("/explain", patient, False),
            "cds-repeat": (f"/cds-services/{SERVICE}", tmp / "cds.json", False),
            "cds-unique": (f"/cds-services/{SERVICE}", tmp / "cds-unique.json", True)}


def check_once(base: str, path: str, body: Path, unique: bool) -> None:
    """One request before loading the server, so a broken endpoint is not timed."""
    data = body.read_bytes().replace(b"PIDPID", b"warmup-1") if unique else body.read_bytes()
    request = urllib.request.Request(base + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.status == 200, r.status


def wrk(base: str, path: str, body: Path, unique: bool, clients: int, seconds: float, script: Path) -> dict:
    threads = max(1, min(clients, 2))
    env = {**os.environ, "BENCH_BODY": str(body), "BENCH_UNIQUE": "1" if unique else "0"}
    cmd = ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(script), base + path]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    out = done.stdout
    line = next(l for l in out.splitlines() if l.startswith("BENCH "))
    raw = json.loads(line[6:])
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {"clients": clients, "requests": raw["requests"], "seconds": round(raw["duration_us"] / 1e6, 2),
            "requests_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
            "p50_ms": round(raw["p50_us"] / 1000, 2), "p90_ms": round(raw["p90_us"] / 1000, 2),
            "p99_ms": round(raw["p99_us"] / 1000, 2), "max_ms": round(raw["max_us"] / 1000, 2),
            "errors": errors, "error_kinds": {k: raw[k] for k in ("connect", "read", "write", "status", "timeout")
                                              if raw[k]}}


def long_run(server: Server, scenario: tuple, requests: int, script: Path, chunk_s: int = 10) -> dict:
    """At least ``requests`` CDS calls (10 connections) as back-to-back wrk runs of ``chunk_s`` seconds,
    with the RSS sampled each second. (wrk's main thread always sleeps its whole ``-d``, so the run is
    cut in chunks rather than stopped from Lua.)"""
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample():
        while not stop.is_set():
            samples.append((round(time.monotonic() - started, 1), rss_mib(server.proc.pid)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    path, body, unique = scenario
    chunks = []
    while sum(c["requests"] for c in chunks) < requests:
        chunks.append(wrk(server.base, path, body, unique, 10, chunk_s, script))
    stop.set()
    sampler.join()
    rss = [m for _, m in samples]
    tenth = max(1, len(rss) // 10)
    done = sum(c["requests"] for c in chunks)
    seconds = round(sum(c["seconds"] for c in chunks), 1)
    return {"requests": done, "seconds": seconds, "requests_per_s": round(done / seconds, 1),
            "errors": sum(c["errors"] for c in chunks), "worst_chunk_p99_ms": max(c["p99_ms"] for c in chunks),
            "rss_samples_mib": samples, "rss_first_tenth_max_mib": max(rss[:tenth]),
            "rss_last_tenth_max_mib": max(rss[-tenth:]),
            "rss_growth_mib": round(max(rss[-tenth:]) - max(rss[:tenth]), 1)}


def table(rows: list[dict]) -> str:
    head = f"{'scenario':<11} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['scenario']:<11} {r['clients']:>7} {r['requests_per_s']:>8} {r['p50_ms']:>8} "
                     f"{r['p99_ms']:>8} {r['max_ms']:>8} {r['errors']:>6}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 s per cell instead of --duration")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    ap.add_argument("--clients", default="1,10,50", help="concurrent connections, comma-separated")
    ap.add_argument("--scenarios", default="explain,cds-repeat,cds-unique")
    ap.add_argument("--workers", type=int, default=4, help="engine threads of the server (painkg serve --workers)")
    ap.add_argument("--requests", type=int, default=0, help="also run this many CDS calls and sample the RSS")
    ap.add_argument("--long-scenario", default="cds-unique", choices=["cds-unique", "cds-repeat"],
                    help="the scenario of the --requests run")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_serve.json"))
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    seconds = 3.0 if args.quick else args.duration
    tmp = Path(tempfile.mkdtemp(prefix="painkg-bench-serve-"))
    script = tmp / "post.lua"
    script.write_text(_LUA)
    scenarios = bodies(tmp)
    server = Server(args.workers)
    result: dict = {"cpus": os.cpu_count(), "workers": args.workers, "seconds_per_cell": seconds,
                    "note": "wrk runs on the same machine as the server and competes with it for the CPU",
                    "rss_start_mib": rss_mib(server.proc.pid), "rows": []}
    try:
        for name in args.scenarios.split(","):
            path, body, unique = scenarios[name]
            check_once(server.base, path, body, unique)
            for clients in (int(c) for c in args.clients.split(",")):
                row = {"scenario": name, **wrk(server.base, path, body, unique, clients, seconds, script)}
                result["rows"].append(row)
                print(json.dumps(row), file=sys.stderr)
        result["rss_after_cells_mib"] = rss_mib(server.proc.pid)
        write(args.json, result)  # the cells survive an interrupted long run
        if args.requests:
            result["long_run"] = {"scenario": args.long_scenario, "clients": 10,
                                  **long_run(server, scenarios[args.long_scenario], args.requests, script)}
            result["rss_end_mib"] = rss_mib(server.proc.pid)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(result["rows"]))
    print(f"server RSS: start {result['rss_start_mib']} MiB, after the cells {result['rss_after_cells_mib']} MiB")
    if args.requests:
        lr = result["long_run"]
        print(f"long run: {lr['requests']} CDS calls in {lr['seconds']} s ({lr['requests_per_s']}/s, "
              f"{lr['errors']} errors); RSS first tenth max {lr['rss_first_tenth_max_mib']} MiB, last tenth max "
              f"{lr['rss_last_tenth_max_mib']} MiB (growth {lr['rss_growth_mib']} MiB)")
    write(args.json, result)


def write(path: str, result: dict) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
