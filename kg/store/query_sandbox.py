"""The worker side of :mod:`kg.store.query_guard`: what runs in the forked child.

:func:`worker` sets up barriers 3 and 4 (resource limits, no descriptors but
its pipes, the seccomp network filter), then :func:`evaluate` applies barrier 2
(rdflib's parse tree) and runs the query, counting rows. Terms travel to the
caller as JSON: SELECT rows as a table of distinct N-Triples terms and indices
(:mod:`kg.store.query_rows`), triples as lists (:func:`encode_term`,
:func:`decode_term`).

>>> import pyoxigraph as ox
>>> data = encode_term(ox.Literal("chat", language="fr"))
>>> data
['L', 'chat', 'fr', None, None]
>>> decode_term(data, {})
<Literal value=chat language=fr>
"""

from __future__ import annotations

import gc
import json
import math
import os
import signal
import sys
from typing import Any

from .query_warmup import load_rdflib_parser, parser_module
from .query_limits import QueryLimitError, QueryLimits, QueryRefusedError, refuse_from, refuse_service

try:  # Unix; the worker needs both, and imports nothing once it runs
    import fcntl
    import resource
except ImportError:  # pragma: no cover - Windows: no worker process
    fcntl = resource = None

__all__ = ["worker", "evaluate", "evaluate_in_process", "parse_check", "load_rdflib_parser",
           "install_network_filter", "network_filter_available", "encode_term", "decode_term", "address_space"]

# ---------------------------------------------------------------- barrier 2: rdflib's parser

def parse_check(sparql: str) -> str | None:
    """Refuse SERVICE/FROM found in rdflib's parse tree; the parse error's text if rdflib cannot parse."""
    parser = parser_module()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # pyparsing recurses ~30 frames per nesting level
    try:
        tree = parser.parseQuery(sparql)
    except RecursionError:
        return "nested too deeply for the checker"
    except Exception as exc:  # pyparsing.ParseException and kin
        return " ".join(str(exc).split())[:200] or type(exc).__name__
    finally:
        sys.setrecursionlimit(limit)
    seen: set[int] = set()
    todo: list = [tree]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        name = getattr(node, "name", None)
        if name == "ServiceGraphPattern":
            refuse_service(None, None)
        if isinstance(node, dict):  # rdflib's CompValue is an OrderedDict
            if dict.get(node, "datasetClause"):
                named = any(isinstance(c, dict) and dict.get(c, "named") is not None
                            for c in dict.get(node, "datasetClause"))
                refuse_from(None, None, named=named)
            todo.extend(dict.values(node))
        elif type(node).__name__ == "ParseResults":
            todo.extend(node)
            todo.extend(node.values())
        elif isinstance(node, (list, tuple)):
            todo.extend(node)
    return None


# ---------------------------------------------------------------- barrier 4: the kernel's network filter

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# socket, socketpair, connect, io_uring_setup
_NET_SYSCALLS = {"x86_64": (41, 53, 42, 425), "aarch64": (198, 199, 203, 425)}


def network_filter_available() -> bool:
    """Whether the worker can install its seccomp network filter here (Linux x86-64 or aarch64).

    Also prepares the filter, so that the worker only has to install it.
    """
    return _filter() is not None


_LIBC: list = []
_FILTER: list = []


def _libc():
    if not _LIBC:
        try:
            import ctypes

            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except (OSError, ImportError):  # pragma: no cover - no C library to call
            _LIBC.append(None)
    return _LIBC[0]


def _filter():
    """(libc, the BPF program as ctypes objects), built once; None where seccomp is not supported."""
    if _FILTER:
        return _FILTER[0]
    machine = os.uname().machine if hasattr(os, "uname") else ""
    if not sys.platform.startswith("linux") or machine not in _AUDIT_ARCH or _libc() is None:
        _FILTER.append(None)
        return None
    import ctypes

    arch, nrs = _AUDIT_ARCH[machine], _NET_SYSCALLS[machine]
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    kill, allow = 0x80000000, 0x7FFF0000  # SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ALLOW
    prog = [(ld_abs, 0, 0, 4),  # seccomp_data.arch
            (jeq, 1, 0, arch),
            (ret, 0, 0, kill),  # any other syscall ABI (i386 socketcall...): kill
            (ld_abs, 0, 0, 0)]  # seccomp_data.nr
    checks = [(jge, 0, 0, 0x40000000)] if machine == "x86_64" else []  # the x32 ABI
    checks += [(jeq, 0, 0, nr) for nr in nrs]
    for i, (code, _jt, _jf, k) in enumerate(checks):
        prog.append((code, len(checks) - i, 0, k))  # jump to "kill" below the "allow"
    prog += [(ret, 0, 0, allow), (ret, 0, 0, kill)]

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    filters = (SockFilter * len(prog))(*[SockFilter(*f) for f in prog])
    _FILTER.append((_libc(), filters, ctypes.byref(SockFprog(len(prog), filters))))
    return _FILTER[0]


def install_network_filter() -> bool:
    """In the worker: from now on, the kernel kills this process when it tries to create a socket.

    True if installed (``no_new_privs`` first: it lets an unprivileged process add a filter).
    """
    prepared = _filter()
    if prepared is None:
        return False
    libc, _filters, fprog = prepared
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(pr_set_seccomp, seccomp_mode_filter, fprog, 0, 0) == 0


# ---------------------------------------------------------------- evaluation (in the worker)

def encode_term(term) -> Any:
    """A pyoxigraph term (or None) as JSON-able lists."""
    import pyoxigraph as ox

    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ["I", term.value]
    if isinstance(term, ox.BlankNode):
        return ["B", term.value]
    if isinstance(term, ox.Literal):
        direction = getattr(term, "direction", None)
        return ["L", term.value, term.language, None if term.language else term.datatype.value,
                None if direction is None else str(direction).rsplit(".", 1)[-1]]
    if isinstance(term, ox.Triple):
        return ["T", encode_term(term.subject), encode_term(term.predicate), encode_term(term.object)]
    raise TypeError(f"unexpected term {term!r}")  # pragma: no cover


def decode_term(data, cache: dict) -> Any:
    """The pyoxigraph term :func:`encode_term` encoded; ``cache`` shares equal IRIs."""
    import pyoxigraph as ox

    if data is None:
        return None
    tag = data[0]
    if tag == "I":
        found = cache.get(data[1])
        if found is None:
            found = cache[data[1]] = ox.NamedNode(data[1])
        return found
    if tag == "B":
        return ox.BlankNode(data[1])
    if tag == "L":
        if data[2]:
            if data[4]:
                return ox.Literal(data[1], language=data[2], direction=getattr(ox.BaseDirection, data[4]))
            return ox.Literal(data[1], language=data[2])
        return ox.Literal(data[1], datatype=decode_term(["I", data[3]], cache))
    return ox.Triple(decode_term(data[1], cache), decode_term(data[2], cache), decode_term(data[3], cache))


def evaluate(store, sparql: str, query_kwargs: dict, limits: QueryLimits) -> dict:
    """Parse-check, run and read the query: a JSON-able dict (raises the engine's errors)."""
    import pyoxigraph as ox

    unparsed = parse_check(sparql)
    result = store.query(sparql, **query_kwargs)
    if unparsed is not None:
        # Oxigraph accepted what the checker could not parse: do not answer.
        return {"refused": ["syntax", f"the query could not be checked (rdflib's SPARQL 1.1 parser: {unparsed}); "
                                      "painkg answers SPARQL 1.1 queries only"]}
    if isinstance(result, ox.QueryBoolean):
        return {"boolean": bool(result)}
    rows = []
    if isinstance(result, ox.QuerySolutions):
        # Each distinct term once, as N-Triples text; rows as indices, 0 for unbound
        # (kg.store.query_rows): 3-4x less work per row than a JSON list per cell.
        triple = ox.Triple
        table: list = [None]
        index: dict[str, int] = {}
        for solution in result:
            if len(rows) >= limits.max_rows:
                return {"too_many_rows": True}
            row = []
            for term in solution:
                if term is None:
                    row.append(0)
                    continue
                text = str(term)
                at = index.get(text)
                if at is None:
                    at = index[text] = len(table)
                    table.append(encode_term(term) if type(term) is triple else text)
                row.append(at)
            rows.append(row)
        return {"variables": [v.value for v in result.variables], "table": table, "rows": rows}
    for triple in result:
        if len(rows) >= limits.max_rows:
            return {"too_many_rows": True}
        rows.append([encode_term(triple.subject), encode_term(triple.predicate), encode_term(triple.object)])
    return {"triples": rows}


def error_payload(exc: BaseException) -> dict:
    """An exception raised in the worker, as the caller's :func:`kg.store.query_guard.run_query` reads it."""
    if isinstance(exc, MemoryError):
        return {"memory": True}
    if isinstance(exc, QueryRefusedError):
        return {"refused": [exc.construct, exc.message]}
    return {"error": [type(exc).__name__, str(exc)]}


# ---------------------------------------------------------------- the worker process

def address_space() -> int | None:
    """Bytes of address space this process has mapped (None where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def worker(store, sparql: str, query_kwargs: dict, limits: QueryLimits, out_w: int, err_w: int,
           parent: int, mapped: int | None) -> None:
    """The forked worker: set up the barriers, evaluate, write JSON to ``out_w``. Never returns."""
    code = 70
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                signal.signal(signum, signal.SIG_DFL)  # Ctrl-C ends the worker at once
            except ValueError:  # pragma: no cover - not the main thread
                pass
        gc.disable()
        libc = _libc() if sys.platform.startswith("linux") else None
        if libc is not None:
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(code)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        cpu = int(math.ceil(limits.timeout)) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        # Descriptors: 0, 1, 2 -> the error pipe, 3 -> the answer pipe, nothing else, no new ones.
        out_hi, err_hi = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (out_w, err_w))
        for fd in (0, 1, 2):
            os.dup2(err_hi, fd)
        os.dup2(out_hi, 3)
        _close_fds_from(4)
        filtered = install_network_filter()  # before an on-disk store starts threads: they inherit the filter
        payload, store, nofile = _open_store(store, filtered)
        if store is not None:
            mapped = address_space() or mapped  # the opened store counts as loaded data
        if mapped is not None:
            budget = mapped + limits.max_memory_mb * 1024 * 1024
            try:
                resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
            except (ValueError, OSError):  # pragma: no cover - a lower hard limit already
                pass
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        if payload is None:
            try:
                payload = evaluate(store, sparql, query_kwargs, limits)
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
                payload = error_payload(exc)
        try:
            data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        except MemoryError:
            data = b'{"memory":true}'
        view = memoryview(data)
        while view:
            view = view[os.write(3, view):]
        code = 0
    finally:
        os._exit(code)


def _open_store(store, filtered: bool = False) -> tuple[dict | None, Any, int]:
    """(an error payload or None, the store to query, the descriptor limit).

    An on-disk store (an object with ``open_read_only``, see
    :class:`kg.store.persistent.StoreOpener`) is opened here, after every other
    descriptor is closed, and the limit is set just above the highest, with any
    gap below it filled, so that no new descriptor (a socket) can be made.
    RocksDB opens some table files only when a query reads them (a cohort store
    of 100,000 patients failed with "Too many open files"): where the seccomp
    filter is installed (``filtered``), it is the barrier against sockets, and
    the limit leaves room for every file of the store.
    """
    opener = getattr(store, "open_read_only", None)
    if opener is None:
        return None, store, 4
    try:
        opened = opener()
    except BaseException as exc:  # noqa: BLE001
        return error_payload(exc), None, 4
    fds = []
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        try:
            fcntl.fcntl(int(name), fcntl.F_GETFD)
            fds.append(int(name))
        except OSError:  # the listing's own descriptor, closed already
            pass
    top = max(fds, default=3)
    for fd in range(4, top):
        if fd not in fds:
            os.dup2(2, fd)
    room = _store_files(getattr(store, "path", None)) + 64 if filtered else 0
    return None, opened, top + 1 + room


def _store_files(path) -> int:
    """How many files the store directory holds (each may be opened by a later read)."""
    if path is None:
        return 0
    count = 0
    for _root, _dirs, files in os.walk(path):
        count += len(files)
    return count


def _close_fds_from(low: int) -> None:
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: every descriptor the hard limit allows
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        os.closerange(low, hard if 0 < hard < 1 << 20 else 1 << 20)
        return
    for fd in fds:
        if fd >= low:
            try:
                os.close(fd)
            except OSError:  # the directory's own descriptor, closed already
                pass


def evaluate_in_process(store, sparql, query_kwargs, limits) -> dict:  # pragma: no cover - platforms without fork
    """:func:`evaluate` in the caller's process, where there is no ``os.fork``."""
    opener = getattr(store, "open_read_only", None)
    if opener is not None:
        store = opener()
    try:
        return evaluate(store, sparql, query_kwargs, limits)
    except (QueryRefusedError, QueryLimitError) as exc:
        return error_payload(exc)
    except MemoryError:
        return {"memory": True}
