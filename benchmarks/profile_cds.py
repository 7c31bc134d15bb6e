"""Profile the CDS hook's per-call CPU: the ASGI app called directly, in one thread, under cProfile.

    python benchmarks/profile_cds.py                  # 2,000 warm-up + 2,000 profiled calls, top 30 by tottime
    python benchmarks/profile_cds.py --calls 5000 --sort cumulative --top 60

Builds the real app (:func:`kg.serve.app.create_app`, ``cds_open``) and sends it the CDS calls of
:mod:`serve_load` (a new patient per call, the same synthetic cohort as ``bench_serve.py``) as ASGI
messages, with no sockets and no server: what is left is painkg's own work per call. The app's engine
pool is replaced by one that runs the work on the calling thread, so cProfile (which follows one thread)
sees it. Times are the process's CPU time (``time.process_time``), not wall time. Prints the µs per call and the profile's top functions, and
the share of the big parts (FHIR checks, the memo, the explanation cache, the card).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import cds_requests, patients  # noqa: E402


class InlineEngines:
    """An engine pool that runs the work on the calling thread (so one profiler sees all of it), with the
    app's shared memo (the calling thread's too, as on an engine thread)."""

    def __init__(self, memo):
        from kg.reasoning.memo import use_thread_memo

        self.memo = memo
        use_thread_memo(memo)

    async def run(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def close(self) -> None:
        pass


def asgi_call(app, raw: bytes) -> tuple[int, bytes]:
    """One HTTP request (the raw bytes of :func:`serve_load.request_bytes`) through the ASGI ``app``."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, path, _ = lines[0].split(b" ")
    headers = [tuple(part.strip().lower() if i == 0 else part.strip() for i, part in enumerate(line.split(b":", 1)))
               for line in lines[1:]]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method.decode(),
             "scheme": "http", "path": path.decode(), "raw_path": path, "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    sent = {"status": 0, "body": b""}
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    asyncio.get_event_loop().run_until_complete(app(scope, receive, send))
    return sent["status"], sent["body"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000, help="profiled calls (each a new patient)")
    ap.add_argument("--warmup", type=int, default=2000, help="calls before profiling (other patients)")
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()

    from kg.serve.app import create_app
    from kg.serve.settings import ServeSettings

    app = create_app(ServeSettings(cds_open=True, extra={"cds_cache": 0}))  # no card cache: every call works
    app.state.engines.close()
    app.state.engines = InlineEngines(app.state.engines.memo)
    asyncio.set_event_loop(asyncio.new_event_loop())
    people = patients(args.warmup + args.calls, 7)
    requests = cds_requests(people)
    for raw in requests[:args.warmup]:
        status, body = asgi_call(app, raw)
        if status != 200:
            raise SystemExit(f"warm-up call answered {status}: {body[:300]!r}")
    timed = requests[args.warmup:]
    started = time.process_time()  # this process's CPU: what the machine's other load changes least
    for raw in timed:
        asgi_call(app, raw)
    plain = (time.process_time() - started) / len(timed) * 1e6
    profile = cProfile.Profile(time.process_time)
    app.state.explanations = type(app.state.explanations)(app.state.explanations.maxsize)
    profile.enable()
    for raw in timed:  # the same patients again: the card cache is off, so each call does the work
        asgi_call(app, raw)
    profile.disable()
    print(f"{plain:.0f} µs of CPU per call without the profiler ({len(timed)} calls, one thread)")
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())
    total = sum(v[2] for v in stats.stats.values())
    parts = {"the intake (prefetch_patient)": ("cds_prefetch.py", "prefetch_patient"),
             "  FHIR model validation (validate_resource)": ("fhir_validate.py", "validate_resource"),
             "  Bundle entries (_bundle_items)": ("fhir.py", "_bundle_items"),
             "the call's body (parse_request)": ("cds_models.py", "parse_request"),
             "memo, on an engine thread (explain_json)": ("memo.py", "explain_json"),
             "memo, on the event loop (cached_json)": ("memo.py", "cached_json"),
             "explanation JSON parsed (loads_json)": ("json_text.py", "loads_json"),
             "ExplanationCache.put": ("explanation_cache.py", "put"),
             "card (card_for)": ("cds_cards.py", "card_for")}
    print(f"{'part':<44} {'cumulative µs/call':>20} {'share':>7}")
    for name, (file, func) in parts.items():
        cum = sum(v[3] for k, v in stats.stats.items() if k[0].endswith(file) and k[2] == func)
        print(f"{name:<44} {cum / len(timed) * 1e6:>20.0f} {cum / total:>7.0%}" if total else name)


if __name__ == "__main__":
    main()
