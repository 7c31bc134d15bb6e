"""Guarded SPARQL evaluation: no network, bounded nesting, time, rows and memory.

:func:`run_query` evaluates a read-only query on a pyoxigraph ``Store`` and
returns an :class:`Answer`; :func:`check_query` is its first, in-process check
alone. Defaults and exceptions are in :mod:`kg.store.query_limits`, the
tokenizer in :mod:`kg.store.query_lexer`, the worker in
:mod:`kg.store.query_sandbox`; this module re-exports the public names. The
barriers, in the order a query meets them:

1. **Lexical check, in the caller's process** (:func:`check_query`). A SPARQL
   tokenizer measures the nesting of ``{ ( [`` and finds the keywords
   ``SERVICE`` and ``FROM``: nesting deeper than ``limits.max_nesting``
   (:data:`MAX_NESTING`, 64) raises :class:`QueryNestingError` before any parser
   sees the query; a word starting with ``SERVICE`` (any case; Oxigraph reads
   ``SERVICESILENT<...>`` as ``SERVICE SILENT``) or ``FROM`` raises
   :class:`QueryRefusedError` with line and column. Like Oxigraph 0.5, it reads
   ``\\u`` escapes only in strings and IRIs. Whether ``<`` starts an IRI or
   means "less than" is guessed from the brackets around it; a guess can be
   wrong, which is why the other barriers exist.
2. **Parse check, in the worker.** rdflib's SPARQL 1.1 parser parses the query;
   a ``ServiceGraphPattern`` or a dataset clause anywhere in its parse tree is
   refused as above. A query rdflib cannot parse is refused too ("could not be
   checked"), unless Oxigraph rejects it as well, in which case Oxigraph's
   ``SyntaxError`` is raised as before: no query is answered unless a real
   parser found no SERVICE and no FROM in it. To tell those two cases apart
   the worker lets Oxigraph run such a query, which is harmless only because
   barriers 3-4 are always in place by then.
3. **Worker process.** The query runs in a ``fork()``-ed child, which inherits
   the loaded store; the caller only reads two pipes. An engine crash (a stack
   overflow on nesting barrier 1 missed: ``SIGSEGV``) ends the child, never the
   caller (:class:`QueryCrashError`). The caller ``SIGKILL``-s the child after
   ``limits.timeout`` seconds of wall-clock time (:class:`QueryTimeoutError`);
   the child also has ``RLIMIT_CPU`` (timeout + 1 s) and dies with the caller
   (``PR_SET_PDEATHSIG``). It counts rows as it reads them
   (:class:`QueryTooManyRowsError` past ``limits.max_rows``) and has
   ``RLIMIT_AS`` at what it had mapped at the fork plus ``limits.max_memory_mb``
   (:class:`QueryMemoryError`; the caller also stops reading an answer larger
   than that). No core file is written.
4. **No network in the worker.** Before parsing, the child (Linux x86-64,
   aarch64) sets ``no_new_privs`` and installs a seccomp filter that kills it on
   ``socket``, ``socketpair``, ``connect`` or ``io_uring_setup`` (and on any
   other syscall ABI): the kernel stops the first step of any connection, so
   nothing is sent whatever the query or the parsers did, and the caller
   reports :class:`QueryRefusedError` ("tried to open a network connection"),
   so ``SERVICE SILENT`` cannot become a silently empty answer. On every
   platform the child also closes every descriptor but its pipes and sets
   ``RLIMIT_NOFILE`` to 4 with 0-3 taken, so it cannot create a socket even
   where seccomp is missing (:func:`network_filter_available`); there, a
   ``SERVICE SILENT`` that got past barriers 1-2 would answer empty (nothing
   sent) and a plain ``SERVICE`` raises ``OSError`` (EMFILE).

Not guaranteed: the timeout is wall-clock time measured by the caller;
``RLIMIT_AS`` bounds address space, not resident memory (not enforced on
macOS); forking while other threads run is safe only if they hold no lock the
child needs (it runs only Oxigraph, rdflib's parser and these modules, all
imported before the fork; the parser's warm-up lock of :mod:`kg.store.query_warmup`
is never taken in the child). The caller's process parses SPARQL only in that
warm-up, one thread at a time: pyparsing's first use of a parse action is not
thread-safe, and a worker inherits whatever the warm-up left; without ``os.fork`` (Windows) only barriers 1-2 and
the row bound apply, in-process. Each query costs a fork and rdflib's parse:
about 7 ms plus 5-40 ms for painkg's example queries (Oxigraph itself: 0.5-7 ms).

The child sends terms back as JSON and the caller rebuilds pyoxigraph terms
(blank node labels included), so code that converted ``Store.query`` results
keeps working and its output does not change. SELECT rows come as a table of
distinct terms in N-Triples and rows of indices (:class:`~kg.store.query_rows.RowTable`,
pyoxigraph terms made on first use; ``kg.query`` makes rdflib terms from the text).

Example
-------
>>> import pyoxigraph as ox
>>> store = ox.Store()
>>> store.add(ox.Quad(ox.NamedNode("http://ex.org/a"), ox.NamedNode("http://ex.org/p"), ox.Literal("x", language="en")))
>>> answer = run_query(store, "SELECT ?s ?o WHERE { ?s ex:p ?o }", prefixes={"ex": "http://ex.org/"},
...                    limits=QueryLimits(timeout=10))
>>> answer.kind, answer.variables, answer.solutions
('solutions', ('s', 'o'), ((<NamedNode value=http://ex.org/a>, <Literal value=x language=en>),))
>>> run_query(store, "ASK { ?s ?p ?o }").boolean
True
>>> run_query(store, "SELECT * WHERE { ?s ?p ?o .SERVICE<http://127.0.0.1:9/x>{?x ?y ?z} }")
Traceback (most recent call last):
...
kg.store.query_limits.QueryRefusedError: query: SERVICE (line 1, column 28) is refused: painkg queries never fetch remote data
>>> check_query("SELECT * WHERE " + "{" * 100 + "}" * 100)
Traceback (most recent call last):
...
kg.store.query_limits.QueryNestingError: query: nesting deeper than 64 levels of { ( [ at line 1, column 80 (limit 64)
>>> run_query(store, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }", limits=QueryLimits(max_rows=0))
Traceback (most recent call last):
...
kg.store.query_limits.QueryTooManyRowsError: query: more than 0 result rows (limit --max-rows 0)
"""

from __future__ import annotations

import builtins
import json
import os
import selectors
import signal
import time
import warnings
from dataclasses import dataclass
from typing import Any

from .query_lexer import check_query
from .query_limits import (DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT, MAX_NESTING, QueryCrashError,
                           QueryLimitError, QueryLimits, QueryMemoryError, QueryNestingError, QueryRefusedError,
                           QueryTimeoutError, QueryTooManyRowsError, fmt_number)
from .query_rows import RowTable
from .query_sandbox import (address_space, decode_term, evaluate_in_process, load_rdflib_parser,
                            network_filter_available, resource, worker)

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_MAX_ROWS", "DEFAULT_MAX_MEMORY_MB", "MAX_NESTING", "QueryLimits",
           "Answer", "check_query", "run_query", "network_filter_available", "QueryRefusedError",
           "QueryLimitError", "QueryNestingError", "QueryTimeoutError", "QueryTooManyRowsError",
           "QueryMemoryError", "QueryCrashError"]


@dataclass(frozen=True)
class Answer:
    """What a query returned, as pyoxigraph terms.

    ``kind`` is ``"boolean"`` (ASK: ``boolean``), ``"solutions"`` (SELECT:
    ``variables`` and ``solutions``, one tuple of terms or ``None`` per row, in
    the engine's order) or ``"triples"`` (CONSTRUCT/DESCRIBE: ``triples``, a
    tuple of ``pyoxigraph.Triple`` in the engine's order, duplicates kept).
    """

    kind: str
    boolean: bool | None = None
    variables: tuple[str, ...] = ()
    solutions: tuple[tuple[Any, ...], ...] = ()
    triples: tuple[Any, ...] = ()


def run_query(store, sparql: str, *, prefixes: dict[str, str] | None = None,
              use_default_graph_as_union: bool = False, limits: QueryLimits | None = None) -> Answer:
    """Run ``sparql`` on the pyoxigraph ``store`` behind every barrier (see the module docstring).

    ``prefixes`` and ``use_default_graph_as_union`` are passed to ``Store.query``.
    Raises :class:`QueryNestingError`, :class:`QueryRefusedError`,
    :class:`QueryTimeoutError`, :class:`QueryTooManyRowsError`,
    :class:`QueryMemoryError`, :class:`QueryCrashError` (all
    :class:`~kg.errors.InputError`), and, as ``Store.query`` does, ``SyntaxError`` for
    a malformed query (message ``error at LINE:COL: ...``) and ``OSError``.
    """
    limits = limits or QueryLimits()
    check_query(sparql, max_nesting=limits.max_nesting)
    query_kwargs: dict[str, Any] = {"use_default_graph_as_union": use_default_graph_as_union}
    if prefixes:
        query_kwargs["prefixes"] = dict(prefixes)
    load_rdflib_parser()  # everything the worker runs is imported before forking
    network_filter_available()
    import pyoxigraph  # noqa: F401

    if not hasattr(os, "fork") or resource is None:  # pragma: no cover
        return _answer(evaluate_in_process(store, sparql, query_kwargs, limits), limits, None, "")
    payload, status, stderr = _fork_and_wait(store, sparql, query_kwargs, limits)
    return _answer(payload, limits, status, stderr)


def _fork_and_wait(store, sparql, query_kwargs, limits) -> tuple[dict | None, int, str]:
    """Fork the worker; collect its answer and what it printed until the deadline; reap it."""
    mapped = address_space()
    parent = os.getpid()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns that fork() in a threaded process may deadlock; the child only runs code
            # imported above and exits with os._exit.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except BaseException:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    if pid == 0:  # pragma: no cover - the child; coverage cannot follow it
        worker(store, sparql, query_kwargs, limits, out_w, err_w, parent, mapped)
    os.close(out_w)
    os.close(err_w)
    deadline = time.monotonic() + limits.timeout
    max_bytes = limits.max_memory_mb * 1024 * 1024
    out, err = bytearray(), bytearray()
    status = None
    selector = selectors.DefaultSelector()
    try:
        open_fds = {out_r: out, err_r: err}
        for fd in open_fds:
            selector.register(fd, selectors.EVENT_READ)
        while open_fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _timeout(limits)
            for key, _events in selector.select(remaining):
                fd = key.fd
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    selector.unregister(fd)
                    del open_fds[fd]
                    continue
                buffer = open_fds[fd]
                if fd == err_r and len(buffer) > 1 << 16:
                    continue  # keep the start of what the engine printed
                buffer += chunk
                if fd == out_r and len(buffer) > max_bytes:
                    raise QueryMemoryError("max_memory_mb", limits.max_memory_mb,
                                           f"answer larger than {limits.max_memory_mb} MiB (limit --max-memory "
                                           f"{limits.max_memory_mb})")
        while status is None:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                status = wait_status
            elif time.monotonic() >= deadline:
                raise _timeout(limits)
            else:
                time.sleep(0.001)
    finally:
        selector.close()
        os.close(out_r)
        os.close(err_r)
        if status is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover
                pass
            os.waitpid(pid, 0)
    text = err.decode("utf-8", "replace")
    payload = None
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        try:
            payload = json.loads(out.decode("utf-8", "surrogatepass"))
        except (ValueError, UnicodeDecodeError):
            payload = None
    return payload, status, text


def _timeout(limits: QueryLimits) -> QueryTimeoutError:
    seconds = fmt_number(limits.timeout)
    return QueryTimeoutError("timeout", limits.timeout, f"timed out after {seconds} s (limit --timeout {seconds})")


def _memory(limits: QueryLimits) -> QueryMemoryError:
    return QueryMemoryError("max_memory_mb", limits.max_memory_mb, f"needed more than {limits.max_memory_mb} MiB "
                                                                   f"of memory (limit --max-memory {limits.max_memory_mb})")


def _answer(payload: dict | None, limits: QueryLimits, status: int | None, stderr: str) -> Answer:
    """The worker's answer, or the exception it stands for."""
    if payload is None:
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGSYS:
                raise QueryRefusedError("network", "tried to open a network connection and was stopped: painkg "
                                                   "queries never fetch remote data")
            if "memory allocation of" in stderr or "MemoryError" in stderr:
                raise _memory(limits)
            if sig == getattr(signal, "SIGXCPU", None):  # RLIMIT_CPU, had the caller's clock stalled
                raise _timeout(limits)
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            hint = " (a stack overflow? deeply nested queries are refused)" if sig == signal.SIGSEGV else ""
            raise QueryCrashError(f"the query engine crashed with {name}{hint}; no answer")
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
        detail = stderr.strip().splitlines()[-1:] or [""]
        raise QueryCrashError(f"the query engine stopped (exit status {code}) without an answer"
                              + (f": {detail[0][:200]}" if detail[0] else ""))
    if payload.get("memory"):
        raise _memory(limits)
    if payload.get("too_many_rows"):
        raise QueryTooManyRowsError("max_rows", limits.max_rows,
                                    f"more than {limits.max_rows} result rows (limit --max-rows {limits.max_rows})")
    if "refused" in payload:
        raise QueryRefusedError(*payload["refused"])
    if "error" in payload:
        name, message = payload["error"]
        cls = getattr(builtins, name, None)
        if cls is SyntaxError:
            raise SyntaxError(message)
        if isinstance(cls, type) and issubclass(cls, OSError):
            raise OSError(message)
        if name == "RecursionError":
            raise QueryCrashError("the query engine ran out of stack (nested too deeply); no answer")
        raise QueryCrashError(f"the query engine failed ({name}: {message[:300]})")
    cache: dict = {}
    if "boolean" in payload:
        return Answer("boolean", boolean=payload["boolean"])
    if "variables" in payload:
        return Answer("solutions", variables=tuple(payload["variables"]),
                      solutions=RowTable(payload["table"], payload["rows"]))
    triples = tuple(decode_term(["T", *row], cache) for row in payload["triples"])
    return Answer("triples", triples=triples)
