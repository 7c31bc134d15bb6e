"""Load-test a real `painkg serve` on loopback: req/s, p50/p99, errors and RSS for /explain and the CDS hook.

    python benchmarks/bench_serve.py                      # 1, 10 and 50 clients, 10 s a cell
    python benchmarks/bench_serve.py --quick              # 3 s a cell
    python benchmarks/bench_serve.py --requests 100000    # then 100,000 CDS calls, RSS sampled each second

Starts the installed `painkg serve --cds-open` (its entry point beside this Python, else
`python -m kg.cli`, from a folder outside the checkout) on a free loopback port and drives it with a
closed-loop load generator of its own (asyncio, raw HTTP/1.1 keep-alive sockets: each client sends
its next request when the last answer is in, so latency at 50 clients includes queueing). Every call
carries a new patient drawn from a realistic synthetic cohort (:mod:`kg.cohort.synthetic`, seeded):

- `explain`: POST /explain, the patient as painkg JSON, the JSON answer;
- `cds`: the CDS patient-view hook, the same patient as a FHIR prefetch (Patient, Conditions,
  Observations coded in painkg's code system), a new patient id and hookInstance each call.

It then times `GET /healthz` (sequential probes) alone and while a stall is attempted: slow bodies
(connections that trickle a body a byte at a time) and big bodies (valid 900 KB patients and 9 MB
bodies over the patient limit). The server's RSS is read from /proc (no psutil). The server is always
stopped (try/finally, on Ctrl-C and SIGTERM too). Prints a table and writes JSON
(benchmarks/results/bench_serve.json by default). The load generator runs on the same machine and
competes with the server for the CPU; the table says so. `cpu ms/req` is the server's own CPU time
per answer (from /proc/PID/stat), the figure the machine's other load changes least.

Measured on 2 shared cores (other engineers' test suites running: load average 2.5 to 9), 5 s a
cell, 10,000 warm-up patients (3,000 in one "before" run), ranges over the runs; "before" is main
before /explain went through the memo (`--server-pythonpath` on an export of it, whose CDS hook
also predates that hook's hardening), "after" is this version:

| | before (3 runs) | after (4 runs, 2 more of /explain alone) |
|---|---|---|
| POST /explain, 10 clients | 86-169 req/s, 5.8-6.3 ms CPU/req | 646-1,651 req/s, 0.50-0.90 ms CPU/req |
| POST /explain, 50 clients, p99 | 374-940 ms | 51-441 ms (the tail: garbage-collector pauses of 60-150 ms) |
| CDS hook, 10 clients | 143-213 req/s, 4.2-4.7 ms CPU/req | 213-223 req/s, 3.6-4.0 ms CPU/req |
| CDS hook, 50 clients, p99 | 511-1,462 ms | 823-1,185 ms |
| /healthz p99 while big bodies are posted | 49-148 ms | 25-43 ms |

100,000 CDS calls at 10 clients, a new patient each (`--requests 100000`): 216 req/s, 0 errors; RSS
232.2 MiB after the first 10,000, 246.6 MiB after 50,000, 249.4 MiB at the end (the bounded memo
and caches filling, +2.8 MiB over the last 50,000).

The CDS hook, later (`--scenarios cds --duration 10 --warmup 10000 --no-stall --requests 100000`, one
run each, back to back, `--server-pythonpath` on exports of the same commit with and without the CDS
changes: plain FHIR checked by hand, kg.inputs.fhir_shape; the explanation cache keeping text; small
calls the memo holds answered on the event loop; the route without dependency solving). The machine
was shared with other engineers' runs (load average 6 to 10 on 2 cores), so the CPU per call is the
figure to compare; `benchmarks/profile_cds.py` gives the per-call profile without sockets (4.3 -> 1.9 ms of
CPU a call, measured just after, same load):

| CDS hook, a new patient per call | before | after |
|---|---|---|
| 1 client | 179 req/s, p50 4.1 / p99 16.1 ms, 3.73 ms CPU | 309 req/s, p50 2.2 / p99 11.7 ms, 2.03 ms CPU |
| 10 clients | 203 req/s, p50 41.9 / p99 154.6 ms, 2.90 ms CPU | 435 req/s, p50 23.3 / p99 54.4 ms, 1.33 ms CPU |
| 50 clients | 171 req/s, p50 223 / p99 1,532 ms, 3.16 ms CPU | 380 req/s, p50 124 / p99 258 ms, 1.48 ms CPU |
| errors | 0 | 0 |
| RSS after the cells | 233.8 MiB | 173.9 MiB |
| 100,000 calls at 10 clients | 173 req/s; RSS 236.0 MiB after 10,000, 244.0 at the end | 279 req/s; RSS 173.8 MiB after 10,000, 178.0 at the end |

Two more pairs, interleaved (before, after, before, after; 6 s a cell, load average 7 to 8): at 50
clients p99 869 and 607 ms before, 272 and 302 ms after; CPU 3.16 and 3.46 ms a call before, 1.53 and
2.05 after; 0 errors.

p99 under 50 ms at 50 clients is not reached by one process: in a closed loop of 50 clients the median
latency is 50 / throughput, so it needs well over 1,000 calls a second, about 0.5 ms of CPU a call with
the load generator on the same 2 cores (POST /explain's cost); the hook still spends about 1.3 ms.

Then the per-call lookups (the body's JSON read without a walk or a regex per token, a link's step by
one dict lookup, painkg codes by a dict, the CDS router matched first, a token verified on the event loop
when no key fetch can happen). The pieces, in one process, min of 7 repeats (CPU µs, before -> after):
the body's `loads` 87 -> 31, the route match 22 -> 5, a painkg code 1.3 -> 0.4 (about 5 a call),
`present` 126 -> 123; about 80 µs of a call's ~1.2 ms. With JWT on (inline keys), an RS384 token's
check costs 149 µs of CPU through the thread hop and 78 µs on the event loop (1,000 tokens, min of 5). Two interleaved pairs of this benchmark
(`--scenarios cds --duration 6 --warmup 5000 --no-stall`, load average 3 to 4) could not tell them
apart: 1.14-1.44 ms CPU a call before, 1.34-1.45 after at 50 clients, p99 158-235 ms before and
241-284 after (the machine's other load moves each cell by more than the change). What is left, by
benchmarks/profile_cds.py: the FHIR intake (~27%), the card (~19%), the memo's answer on the event
loop (~13%), Starlette/FastAPI's middleware and routing stack.

`--processes 1,2` runs `painkg serve --processes N` for each value, one after the other, same patients
(CPU summed over the processes; RSS per process in the JSON); its numbers are in docs/serve.md, "Several
processes".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import cds_requests, drive, explain_requests, patients, stall_section  # noqa: E402


# --- the server --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def painkg_command() -> list[str]:
    """The installed entry point (beside this interpreter), else ``python -m kg.cli``."""
    entry = Path(sys.executable).with_name("painkg")
    return [str(entry)] if entry.exists() else [sys.executable, "-m", "kg.cli"]


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc (the server processes of `--processes`, query workers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def own_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` alone (VmRSS, from /proc/PID/statm), MiB; 0 if it is gone."""
    try:
        return round(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return 0.0


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, MiB, from /proc (shared pages counted in each)."""
    return round(sum(own_rss_mib(p) for p in descendants(pid)), 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all its threads) and of its living descendants (the server processes of
    `--processes`; query workers), from /proc/PID/stat."""
    total = 0
    for p in descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Servers:
    """``count`` servers side by side (each a process with its own memo), as behind a proxy that spreads
    connections; ``count=1`` is one `painkg serve`. The `jti` replay guard is not shared: `--cds-open` only."""

    def __init__(self, count: int, workers: int, cwd: Path, pythonpath: str | None = None, processes: int = 1):
        self.servers: list[Server] = []
        try:
            for _ in range(count):
                self.servers.append(Server(workers, cwd, pythonpath, processes))
        except BaseException:
            self.stop()
            raise
        self.port = [s.port for s in self.servers] if count > 1 else self.servers[0].port

    def rss(self) -> float:
        return round(sum(rss_mib(s.proc.pid) for s in self.servers), 1)

    def cpu(self) -> float:
        return sum(cpu_seconds(s.proc.pid) for s in self.servers)

    def rss_per_process(self) -> list[float]:
        """RSS of each serving process, MiB: the `--processes` children (not the supervising parent), else each."""
        pids = []
        for s in self.servers:
            children = [int(c) for c in Path(f"/proc/{s.proc.pid}/task/{s.proc.pid}/children").read_text().split()]
            pids.extend(children if s.processes > 1 else [s.proc.pid])
        return [own_rss_mib(p) for p in pids]

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


class Server:
    """`painkg serve --cds-open --processes N` on a free loopback port, in its own process group, from a temp dir."""

    def __init__(self, workers: int, cwd: Path, pythonpath: str | None = None, processes: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes = processes
        cmd = [*painkg_command(), "serve", "--cds-open", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(workers), "--processes", str(processes)]
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ)
        if pythonpath:  # e.g. httptools/uvloop installed with `pip install --target DIR`: uvicorn picks them up
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"painkg serve did not start:\n{self.tail()}")
            time.sleep(0.2)

    def tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass


# --- the run -----------------------------------------------------------------------------------------

def warm_up(port: int, requests: list[bytes]) -> dict:
    """Every warm-up request once at 10 clients (other patients than the timed ones): the memo's steady state."""
    result = drive_sync(port, requests, 10, 3600, limit=len(requests))
    if result["errors"]:
        raise SystemExit(f"the warm-up failed: {result['error_kinds']}")
    return {k: result[k] for k in ("requests", "seconds", "requests_per_s")}


def drive_sync(port: int, requests: list[bytes], clients: int, seconds: float, limit: int | None = None) -> dict:
    return asyncio.run(drive(port, requests, clients, seconds, limit))


def check_once(port: int, requests: list[bytes]) -> None:
    """One request of each kind before timing, so a broken endpoint is not timed."""
    result = asyncio.run(drive(port, requests[-1:], 1, 30, limit=1))
    if result["errors"] or not result["requests"]:
        raise SystemExit(f"the warm-up request failed: {result['error_kinds']}")


def long_run(server: "Servers", requests: list[bytes], count: int) -> dict:
    """``count`` CDS calls at 10 clients in chunks of 10,000, RSS sampled between chunks."""
    samples, chunks = [(0, server.rss())], []
    while sum(c["requests"] for c in chunks) < count:
        sent = sum(c["requests"] + c["errors"] for c in chunks)  # the next patients: each call a new one
        chunk = asyncio.run(drive(server.port, requests, 10, 3600, limit=min(10_000, count - sent), offset=sent))
        chunks.append(chunk)
        samples.append((sum(c["requests"] for c in chunks), server.rss()))
    done = sum(c["requests"] for c in chunks)
    seconds = round(sum(c["seconds"] for c in chunks), 1)
    rss = [m for _, m in samples]
    return {"requests": done, "seconds": seconds, "requests_per_s": round(done / seconds, 1),
            "errors": sum(c["errors"] for c in chunks), "worst_chunk_p99_ms": max(c["p99_ms"] for c in chunks),
            "rss_by_requests_mib": samples, "rss_after_first_chunk_mib": rss[1], "rss_end_mib": rss[-1],
            "rss_growth_after_first_chunk_mib": round(rss[-1] - rss[1], 1)}


def table(rows: list[dict]) -> str:
    head = (f"{'procs':>5} {'scenario':<9} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8} {'errors':>6} {'cpu ms/req':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.get('processes', 1):>5} {r['scenario']:<9} {r['clients']:>7} {r['requests_per_s']:>8} "
                     f"{r['p50_ms']:>8} {r['p90_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8} {r['errors']:>6} "
                     f"{r['server_cpu_ms_per_request']:>10}")
    return "\n".join(lines)


def write(path: str, result: dict) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def run_cells(server: Servers, processes: int, args, seconds: float, scenarios: dict, warmups: dict,
              result: dict) -> None:
    """The timed cells (then the stall section and the long run, if asked) on ``server``, into ``result``; the same
    patients for each ``processes`` value (each server starts with an empty memo)."""
    key = "" if processes == 1 else f"_{processes}_processes"  # the one-process keys as they always were
    result["command"] = painkg_command()
    result["rss_start_mib" + key] = server.rss()
    for name in args.scenarios.split(","):
        requests = scenarios[name]
        check_once(server.port, requests)
        if args.warmup:
            result.setdefault("warmup" + key, {})[name] = warm_up(server.port, warmups[name])
            print(f"warm-up {name} ({processes} processes): {result['warmup' + key][name]}", file=sys.stderr)
        for clients in (int(c) for c in args.clients.split(",")):
            cpu = server.cpu()
            sent = sum(r["requests"] + r["errors"] for r in result["rows"]
                       if r["scenario"] == name and r["processes"] == processes)
            row = {"scenario": name, "processes": processes,
                   **asyncio.run(drive(server.port, requests, clients, seconds, offset=sent))}
            # The server's CPU per answer (all its processes): what the machine's other load changes least.
            row["server_cpu_ms_per_request"] = round(1000 * (server.cpu() - cpu) / max(1, row["requests"]), 3)
            row["rss_per_process_mib"] = server.rss_per_process()
            result["rows"].append(row)
            print(json.dumps(row), file=sys.stderr)
    result["rss_after_cells_mib" + key] = server.rss()
    if not args.no_stall:
        first = server.port if isinstance(server.port, int) else server.port[0]
        result["healthz" + key] = asyncio.run(stall_section(first, min(seconds, 5.0)))
        result["rss_after_stall_mib" + key] = server.rss()
    write(args.json, result)  # the cells survive an interrupted long run
    if args.requests:
        result["long_run" + key] = {"scenario": "cds", "clients": 10, "processes": processes,
                                    **long_run(server, scenarios["cds"], args.requests)}


def _interrupted(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops the bench as Ctrl-C does: the finally stops the server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 s per cell instead of --duration")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    ap.add_argument("--clients", default="1,10,50", help="concurrent clients, comma-separated")
    ap.add_argument("--scenarios", default="explain,cds", help="explain, cds (comma-separated)")
    ap.add_argument("--workers", type=int, default=4, help="engine threads of the server (painkg serve --workers)")
    ap.add_argument("--patients", type=int, default=40_000, help="distinct patients generated (new ids reused "
                                                                 "beyond it only in the --requests run)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=10_000, help="patients (another seed) sent before the timed cells of "
                                                               "each scenario, untimed: the memo's steady state")
    ap.add_argument("--requests", type=int, default=0, help="also make this many CDS calls and follow the RSS")
    ap.add_argument("--no-stall", action="store_true", help="skip the /healthz stall section")
    ap.add_argument("--servers", type=int, default=1, help="server processes side by side (clients spread over "
                                                            "them), to measure what several uvicorn workers give")
    ap.add_argument("--processes", default="1", help="painkg serve --processes, comma-separated (1,2: one server "
                                                      "after the other, same run, same patients)")
    ap.add_argument("--label", default="", help="a note kept in the JSON (e.g. before/after)")
    ap.add_argument("--server-pythonpath", help="a folder put first on the server's PYTHONPATH (packages installed "
                                                "with pip --target, e.g. httptools and uvloop, to measure them)")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_serve.json"))
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)
    seconds = 3.0 if args.quick else args.duration
    people = patients(max(args.patients, args.requests), args.seed)
    scenarios = {"explain": explain_requests(people[:args.patients])}
    if "cds" in args.scenarios or args.requests:
        scenarios["cds"] = cds_requests(people)
    warm = patients(args.warmup, args.seed + 1000)
    warmups = {"explain": explain_requests(warm), "cds": cds_requests(warm)}
    tmp = Path(tempfile.mkdtemp(prefix="painkg-bench-serve-"))
    server = None
    result: dict = {"label": args.label, "cpus": os.cpu_count(), "workers": args.workers, "seconds_per_cell": seconds,
                    "patients": args.patients, "seed": args.seed,
                    "warmup_patients": args.warmup,
                    "server_pythonpath": args.server_pythonpath,
                    "servers": args.servers, "processes": args.processes,
                    "note": "the load generator runs on the same machine and competes with the server for the CPU",
                    "rows": []}
    try:
        for processes in (int(n) for n in args.processes.split(",")):
            server = Servers(args.servers, args.workers, tmp, args.server_pythonpath, processes)
            run_cells(server, processes, args, seconds, scenarios, warmups, result)
            server.stop()
            server = None
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(result["rows"]))
    for n in (int(n) for n in args.processes.split(",")):
        key = "" if n == 1 else f"_{n}_processes"
        print(f"{n} process(es): server RSS start {result['rss_start_mib' + key]} MiB, after the cells "
              f"{result['rss_after_cells_mib' + key]} MiB")
        for name, h in result.get("healthz" + key, {}).items():
            print(f"/healthz {name:<12} p50 {h['p50_ms']} ms  p99 {h['p99_ms']} ms  max {h['max_ms']} ms  "
                  f"({h['probes']} probes, {h['failures']} failed"
                  f"{', answers ' + str(h['answers']) if 'answers' in h else ''})")
        if args.requests:
            lr = result["long_run" + key]
            print(f"long run: {lr['requests']} CDS calls in {lr['seconds']} s ({lr['requests_per_s']}/s, "
                  f"{lr['errors']} errors, worst p99 {lr['worst_chunk_p99_ms']} ms); RSS after the first 10,000 "
                  f"{lr['rss_after_first_chunk_mib']} MiB, at the end {lr['rss_end_mib']} MiB")
    write(args.json, result)


if __name__ == "__main__":
    main()
