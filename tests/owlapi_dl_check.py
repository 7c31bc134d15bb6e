"""Check RDF documents against the OWL 2 DL profile with the OWL API (OWL2DLProfile).

Runs the OWL API in a JVM through JPype, in its own process (the test starts it with
``subprocess``), so the test session never hosts a JVM. Needs:

- the OWL API jars: Debian's ``libowlapi-java`` (with its dependencies, in /usr/share/java),
  or a class path in ``PAINKG_OWLAPI_CLASSPATH`` (entries separated by ``os.pathsep``);
- a Java runtime (JPype finds it through JAVA_HOME or the default /usr/lib/jvm);
- JPype (``pip install jpype1``).

Usage: ``python tests/owlapi_dl_check.py DOC.ttl [DOC.ttl ...]``. Prints one JSON object:
``{"available": true, "results": [{"document", "ontology_iri", "version_iri",
"annotations", "violations", "unparsed_triples"}, ...]}``, or ``{"available": false,
"reason": ...}`` (exit status 3) when the OWL API, Java or JPype is missing. Documents with
``owl:imports`` are refused rather than loaded: the OWL API would fetch the imports over the
network.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

#: The OWL API jar and the jars it needs, as Debian (bookworm, libowlapi-java 5.1.20) names them.
DEBIAN_JARS = (
    "owlapi-distribution", "guava", "caffeine", "commons-io", "commons-codec", "commons-rdf-api",
    "hppcrt", "jsr305", "atinject-jsr330-api", "xz", "slf4j-api", "slf4j-nop",
    "rdf4j-model", "rdf4j-model-api", "rdf4j-model-vocabulary", "rdf4j-rio-api", "rdf4j-rio-datatypes",
    "rdf4j-rio-languages", "rdf4j-rio-turtle", "rdf4j-util",
    "jackson-core", "jackson-databind", "jackson-annotations", "httpclient", "httpcore", "commons-logging",
)
DEBIAN_JAR_DIR = Path("/usr/share/java")
OWL_IMPORTS = "http://www.w3.org/2002/07/owl#imports"


def class_path() -> list[str]:
    """The OWL API class path; raises ``LookupError`` naming what is missing."""
    configured = os.environ.get("PAINKG_OWLAPI_CLASSPATH")
    if configured:
        return [p for p in configured.split(os.pathsep) if p]
    jars = [DEBIAN_JAR_DIR / f"{name}.jar" for name in DEBIAN_JARS]
    missing = [j.name for j in jars if not j.exists()]
    if missing:
        raise LookupError(f"OWL API jars not found in {DEBIAN_JAR_DIR} ({', '.join(missing)}): "
                          "apt-get install libowlapi-java, or set PAINKG_OWLAPI_CLASSPATH")
    return [str(j) for j in jars]


def start_jvm():
    """Start the JVM with the OWL API on its class path; raises ``LookupError`` if it cannot."""
    try:
        import jpype
        import jpype.imports  # noqa: F401  (enables ``from org.semanticweb... import``)
    except ImportError as err:
        raise LookupError(f"JPype is not installed ({err}): pip install jpype1") from err
    cp = class_path()
    try:
        jpype.startJVM(classpath=cp, convertStrings=True)
    except (OSError, jpype.JVMNotFoundException) as err:  # no Java runtime
        raise LookupError(f"no Java runtime for JPype ({err}): apt-get install default-jre-headless") from err
    try:
        from org.semanticweb.owlapi.profiles import OWL2DLProfile  # noqa: F401
    except ImportError as err:
        raise LookupError(f"the OWL API classes do not load from {cp}: {err}") from err
    return jpype


def _imports(path: Path) -> list[str]:
    import rdflib

    graph = rdflib.Graph().parse(path, format="turtle")
    return sorted(str(o) for o in graph.objects(None, rdflib.URIRef(OWL_IMPORTS)))


def check(paths: list[Path]) -> list[dict]:
    """OWL 2 DL profile report of each Turtle document (each loaded into its own manager)."""
    from java.io import File
    from org.semanticweb.owlapi.apibinding import OWLManager
    from org.semanticweb.owlapi.formats import TurtleDocumentFormat
    from org.semanticweb.owlapi.io import FileDocumentSource
    from org.semanticweb.owlapi.model import MissingImportHandlingStrategy, OWLOntologyLoaderConfiguration
    from org.semanticweb.owlapi.profiles import OWL2DLProfile

    results = []
    for path in paths:
        imports = _imports(path)
        if imports:
            results.append({"document": str(path), "refused": f"owl:imports {imports} would be fetched "
                            "over the network; declare the terms used instead"})
            continue
        manager = OWLManager.createOWLOntologyManager()
        config = OWLOntologyLoaderConfiguration().setMissingImportHandlingStrategy(
            MissingImportHandlingStrategy.THROW_EXCEPTION)
        ontology = manager.loadOntologyFromOntologyDocument(
            FileDocumentSource(File(str(path)), TurtleDocumentFormat()), config)
        oid = ontology.getOntologyID()
        unparsed = []
        meta = manager.getOntologyFormat(ontology).getOntologyLoaderMetaData()
        if meta.isPresent():
            unparsed = sorted(str(t) for t in meta.get().getUnparsedTriples().toArray())
        report = OWL2DLProfile().checkOntology(ontology)
        results.append({
            "document": str(path),
            "ontology_iri": str(oid.getOntologyIRI().get()) if oid.getOntologyIRI().isPresent() else None,
            "version_iri": str(oid.getVersionIRI().get()) if oid.getVersionIRI().isPresent() else None,
            "annotations": sorted(f"{a.getProperty().getIRI()} {a.getValue()}"
                                  for a in ontology.getAnnotations()),
            "violations": [f"{v.getClass().getSimpleName()}: {v}" for v in report.getViolations()],
            "unparsed_triples": unparsed,
        })
    return results


def main(argv: list[str]) -> int:
    try:
        start_jvm()
    except LookupError as err:
        print(json.dumps({"available": False, "reason": str(err)}))
        return 3
    print(json.dumps({"available": True, "results": check([Path(a) for a in argv])}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
