"""Run Apache Jena's command classes (``arq.qparse``, ``arq.rsparql``, ``riotcmd.riot``...) in one JVM.

A JVM with Jena takes about 2 s to start; a test running thirty commands starts one here, through
JPype, in its own process (the test starts it with ``subprocess``), so the test session never
hosts a JVM. Needs:

- Jena's jars: Debian's ``libapache-jena-java`` (with its dependencies, in /usr/share/java), or a
  class path in ``PAINKG_JENA_CLASSPATH`` (entries separated by ``os.pathsep``);
- a Java runtime (JPype finds it through JAVA_HOME or the default /usr/lib/jvm);
- JPype (``pip install jpype1``).

Usage: ``python tests/jena_commands.py < JOBS.json``, where JOBS is
``{"jobs": [["arq.qparse", ["--query", "q.rq"]], ...]}``. Prints a JSON list with one
``{"status", "stdout", "stderr"}`` per job, in order: what the command would have exited with and
written. A command runs as Jena's ``CmdMain.mainRun`` runs it, less its ``System.exit``:
``mainMethod`` (argument processing, then ``exec``), a ``TerminationException`` giving the exit
status and any other exception status 1. Prints ``{"available": false, "reason": ...}`` (exit
status 3) when Jena, Java or JPype is missing.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

#: Jena (bookworm's libapache-jena-java 4.5) and the jars its commands need, as Debian names them.
DEBIAN_JARS = (
    "jena-arq", "jena-base", "jena-cmds", "jena-core", "jena-iri", "jena-shacl", "jena-shex",
    "jena-rdfconnection", "jena-dboe-base", "jena-dboe-index", "jena-dboe-storage", "jena-dboe-trans-data",
    "jena-dboe-transaction", "jena-tdb", "jena-tdb2",
    "commons-cli", "commons-codec", "commons-compress", "commons-csv", "commons-io", "commons-lang3",
    "commons-logging", "dexx.collection", "gson", "guava", "jackson-core", "jackson-databind",
    "jakarta.json-api", "jsonld-java", "titanium-json-ld", "protobuf", "thrift", "httpclient",
    "httpclient-cache", "httpcore", "slf4j-api",
    "slf4j-simple",  # riot reports parse errors through SLF4J: a logger that writes them, to System.err
)
DEBIAN_JAR_DIR = Path("/usr/share/java")


def xerces_resources(folder: Path) -> Path | None:
    """A class path folder that puts back the resources Debian's Jena jar misplaces.

    Debian's jena-core 4.5 moves the Xerces classes it bundles to the package ``xerces`` but
    leaves their resource bundles under ``org/apache/jena/ext/xerces``; without them every
    command dies as Jena starts ("RuntimeException: internal error" from
    ``XSSimpleTypeDecl.applyFacets1``: building xsd:language's pattern cannot load
    ``xerces.impl.xpath.regex.message``). Copied to ``xerces/`` here, on the class path before
    the jar. None when the jar needs no such help (Jena's own build).
    """
    core = DEBIAN_JAR_DIR / "jena-core.jar"
    with zipfile.ZipFile(core) as jar:
        names = jar.namelist()
        if "xerces/impl/dv/SchemaDVFactory.class" not in names:
            return None
        prefix = "org/apache/jena/ext/xerces/"
        for name in names:
            if name.startswith(prefix) and not name.endswith((".class", "/")):
                target = folder / "xerces" / name[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))
    return folder


def _missing_jars() -> list[str]:
    return [f"{name}.jar" for name in DEBIAN_JARS if not (DEBIAN_JAR_DIR / f"{name}.jar").exists()]


def unavailable() -> str | None:
    """Why Jena cannot run here (no JPype, no jars), found without starting a JVM; None if it may.

    For a test to skip before it builds what Jena would be run on; :func:`main` still reports a
    JVM that does not start.
    """
    import importlib.util

    if importlib.util.find_spec("jpype") is None:
        return "JPype is not installed: pip install jpype1"
    if not os.environ.get("PAINKG_JENA_CLASSPATH") and _missing_jars():
        return (f"Jena jars not found in {DEBIAN_JAR_DIR} ({', '.join(_missing_jars())}): "
                "apt-get install libapache-jena-java, or set PAINKG_JENA_CLASSPATH")
    return None


def class_path(scratch: Path) -> list[str]:
    """Jena's class path (``scratch``: a folder for :func:`xerces_resources`); ``LookupError`` names what is missing."""
    configured = os.environ.get("PAINKG_JENA_CLASSPATH")
    if configured:
        return [p for p in configured.split(os.pathsep) if p]
    reason = unavailable()
    if reason:
        raise LookupError(reason)
    fix = xerces_resources(scratch)
    return ([str(fix)] if fix else []) + [str(DEBIAN_JAR_DIR / f"{name}.jar") for name in DEBIAN_JARS]


def start_jvm(cp: list[str]):
    """Start the JVM with ``cp``; the ``jpype`` module. ``LookupError`` if JPype or Java is missing."""
    try:
        import jpype
    except ImportError as err:
        raise LookupError(f"JPype is not installed ({err}): pip install jpype1") from err
    try:
        jpype.startJVM(jpype.getDefaultJVMPath(), classpath=cp, convertStrings=True)
    except Exception as err:  # JPype's JVMNotFoundException and the JVM's own start failures
        raise LookupError(f"cannot start Java: {err}") from err
    return jpype


def run_jobs(jpype, jobs: list) -> list[dict]:
    """Each ``[class, [args]]`` of ``jobs`` run in this JVM: its exit status and what it wrote."""
    J = jpype.JClass
    String, System = J("java.lang.String"), J("java.lang.System")
    out, err = J("java.io.ByteArrayOutputStream")(), J("java.io.ByteArrayOutputStream")()
    # Before Jena starts: its writers keep the System.out they find.
    System.setOut(J("java.io.PrintStream")(out, True, "UTF-8"))
    System.setErr(J("java.io.PrintStream")(err, True, "UTF-8"))
    main_method = J("org.apache.jena.cmd.CmdMain").class_.getDeclaredMethod("mainMethod")
    main_method.setAccessible(True)
    termination = J("org.apache.jena.cmd.TerminationException")
    results = []
    for command, args in jobs:
        constructor = J(command).class_.getDeclaredConstructor(jpype.JArray(String))
        constructor.setAccessible(True)  # riotcmd.riot's is protected
        status = 0
        try:
            main_method.invoke(constructor.newInstance(jpype.JArray(jpype.JObject)([jpype.JArray(String)(args)])))
        except J("java.lang.reflect.InvocationTargetException") as exc:
            cause = exc.getTargetException()
            status = int(cause.getCode()) if isinstance(cause, termination) else 1
            if status:
                System.err.println(cause.toString())
        System.out.flush()
        System.err.flush()
        results.append({"status": status, "stdout": str(out.toString("UTF-8")),
                        "stderr": str(err.toString("UTF-8"))})
        out.reset()
        err.reset()
    return results


def main() -> int:
    jobs = json.load(sys.stdin)["jobs"]
    with tempfile.TemporaryDirectory(prefix="painkg-jena-") as scratch:
        try:
            jpype = start_jvm(class_path(Path(scratch)))
        except LookupError as err:
            print(json.dumps({"available": False, "reason": str(err)}))
            return 3
        print(json.dumps(run_jobs(jpype, jobs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
