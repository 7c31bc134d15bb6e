"""The load of `benchmarks/bench_serve.py`: patients as requests, a closed-loop HTTP/1.1 load generator, stalls.

- :func:`patients`, :func:`explain_requests`, :func:`cds_requests`: a seeded synthetic cohort
  (:mod:`kg.cohort.synthetic`) as raw POST /explain requests (painkg JSON) and CDS patient-view calls
  (the same patients as a FHIR prefetch coded in painkg's code system), a new patient id each;
- :func:`drive`: ``clients`` keep-alive connections (asyncio, raw sockets), each sending its next
  request when the last answer is in, for a time or a number of requests: req/s, p50/p90/p99, errors;
- :func:`stall_section`: ``GET /healthz`` latency alone, while slow bodies trickle in, and while big
  bodies are posted.

Loopback only; every loop is bounded in time or count.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time

SERVICE = "painkg-persistent-pain"
PAINKG_SYSTEM = "https://w3id.org/painkg/ontology"


# --- the patients ------------------------------------------------------------------------------------

def _coding(key: str) -> dict:
    return {"coding": [{"system": PAINKG_SYSTEM, "code": key}]}


def fhir_prefetch(p: dict, pid: str) -> dict:
    """A synthetic painkg patient as a CDS prefetch: Patient, Conditions (injuries), Observations (findings)."""
    assessed = dt.date.fromisoformat(p["assessed_on"])
    subject = {"reference": f"Patient/{pid}"}
    conditions, observations = [], []
    for n, injury in enumerate(p["injuries"]):
        onset = injury.get("onset") or (assessed - dt.timedelta(days=injury["days_since_onset"])).isoformat()
        status = "resolved" if injury.get("resolved") else "active"
        c = {"resourceType": "Condition", "id": f"c{n}", "subject": subject, "code": _coding(injury["kind"]),
             "bodySite": [_coding(injury["site"])], "onsetDateTime": onset,
             "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                            "code": status}]}}
        if injury.get("mechanism"):
            c["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/condition-dueTo",
                               "valueCodeableConcept": _coding(injury["mechanism"])}]
        conditions.append(c)
    for n, finding in enumerate(p["findings"]):
        kind, site = (finding, None) if isinstance(finding, str) else (finding["kind"], finding["site"])
        o = {"resourceType": "Observation", "id": f"o{n}", "status": "final", "subject": subject,
             "code": _coding(kind), "effectiveDateTime": p["assessed_on"], "valueBoolean": True}
        if site:
            o["bodySite"] = _coding(site)
        observations.append(o)
    bundle = lambda rs: {"resourceType": "Bundle", "type": "searchset", "total": len(rs),  # noqa: E731
                         "entry": [{"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
                                    "resource": r, "search": {"mode": "match"}} for r in rs]}
    return {"patient": {"resourceType": "Patient", "id": pid}, "conditions": bundle(conditions),
            "observations": bundle(observations), "procedures": None}


def patients(n: int, seed: int) -> list[dict]:
    from kg.cohort.synthetic import synthetic_patient

    rng = random.Random(seed)
    return [synthetic_patient(rng, f"bench-{seed}-{i}") for i in range(n)]


def request_bytes(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def explain_requests(people: list[dict]) -> list[bytes]:
    return [request_bytes("/explain", json.dumps(p).encode()) for p in people]


def cds_requests(people: list[dict]) -> list[bytes]:
    out = []
    for n, p in enumerate(people):
        pid = p["id"]
        body = {"hook": "patient-view", "hookInstance": f"00000000-0000-4000-8000-{n:012d}",
                "context": {"userId": "Practitioner/bench", "patientId": pid}, "prefetch": fhir_prefetch(p, pid),
                "extension": {"org.w3id.painkg.asOf": p["assessed_on"]}}
        out.append(request_bytes(f"/cds-services/{SERVICE}", json.dumps(body).encode()))
    return out


# --- the load generator ------------------------------------------------------------------------------

async def _read_response(reader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def drive(port, requests: list[bytes], clients: int, seconds: float, limit: int | None = None,
                offset: int = 0) -> dict:
    """``clients`` closed-loop connections, each taking the next request, for ``seconds`` (or ``limit`` requests).

    ``port`` is one port or a list of them (several servers): client ``i`` uses the ``i``-th, in turn.
    Requests are taken from ``offset`` on (a run of cells goes on where the last cell stopped, so no
    patient is sent twice while there are new ones: the CDS hook's card cache never answers)."""
    ports = [port] if isinstance(port, int) else list(port)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    cursor = iter(range(offset, offset + (limit if limit else 10**12)))
    deadline = time.perf_counter() + seconds

    async def client(port: int):
        reader = writer = None
        while time.perf_counter() < deadline:
            n = next(cursor, None)
            if n is None:
                break
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                started = time.perf_counter()
                writer.write(requests[n % len(requests)])
                status = await asyncio.wait_for(_read_response(reader), 30)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(ports[i % len(ports)]) for i in range(clients)))
    elapsed = time.perf_counter() - started
    return {"clients": clients, "requests": len(latencies), "seconds": round(elapsed, 2),
            "requests_per_s": round(len(latencies) / elapsed, 1), **percentiles(latencies),
            "errors": sum(errors.values()), "error_kinds": errors}


def percentiles(latencies: list[float]) -> dict:
    if not latencies:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    s = sorted(latencies)
    at = lambda q: round(s[min(len(s) - 1, int(q * len(s)))] * 1000, 2)  # noqa: E731
    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(s[-1] * 1000, 2)}


# --- /healthz while a stall is attempted -------------------------------------------------------------

async def probe_healthz(port: int, seconds: float, every: float = 0.02) -> dict:
    """Sequential GET /healthz on one connection for ``seconds``; latency percentiles."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    latencies, failures = [], 0
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            try:
                status = await asyncio.wait_for(_read_response(reader), 30)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                failures += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(time.perf_counter() - started)
            failures += status != 200
            await asyncio.sleep(every)
    finally:
        writer.close()
    return {"probes": len(latencies), "failures": failures, **percentiles(latencies)}


async def slow_bodies(port: int, seconds: float, connections: int = 20) -> None:
    """Connections that declare a 100 KB body and send it a byte every 50 ms."""
    async def one():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /explain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n{")
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)
            writer.close()
        except OSError:
            pass  # the server may cut a stalled upload: that is what it should do

    await asyncio.gather(*(one() for _ in range(connections)))


async def big_bodies(port: int, seconds: float, big: bytes, huge: bytes, connections: int = 4) -> dict:
    """``connections`` clients posting, in turn, a valid big patient and a body over the limit."""
    answers: dict[str, int] = {}
    deadline = time.perf_counter() + seconds

    async def one(n: int):
        while time.perf_counter() < deadline:
            body = big if n % 2 else huge
            n += 1
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request_bytes("/explain", body).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
                status = await asyncio.wait_for(_read_response(reader), 60)
                answers[str(status)] = answers.get(str(status), 0) + 1
                writer.close()
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                answers[type(exc).__name__] = answers.get(type(exc).__name__, 0) + 1

    await asyncio.gather(*(one(n) for n in range(connections)))
    return answers


def big_patient(target: int) -> bytes:
    """A valid patient of about ``target`` bytes (a long id list of findings is refused; pad the id instead)."""
    p = {"id": "big", "assessed_on": "2026-03-21",
         "injuries": [{"kind": "muscle_strain", "site": "lower_back", "onset": "2026-03-01"}],
         "findings": ["tender_to_touch"], "note": ""}
    raw = json.dumps(p)
    return raw.replace('"note": ""', '"note": "' + "x" * max(0, target - len(raw)) + '"').encode()


async def stall_section(port: int, seconds: float) -> dict:
    out = {"alone": await probe_healthz(port, seconds)}
    probe = asyncio.ensure_future(probe_healthz(port, seconds))
    await slow_bodies(port, seconds)
    out["slow_bodies"] = await probe
    probe = asyncio.ensure_future(probe_healthz(port, seconds))
    answers = await big_bodies(port, seconds, big_patient(900_000), b'{"id": "' + b"y" * 9_000_000 + b'"}')
    out["big_bodies"] = {**(await probe), "answers": answers}
    return out
