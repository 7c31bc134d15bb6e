"""A stored patient, read back from the store ``painkg batch --store`` built (for ``/patients/{id}``).

The store keeps each patient's two named graphs (input and derivations, in the
lean shape of :mod:`kg.store.lean`); nothing is re-explained. One guarded
query (the same worker and limits as ``/sparql``) reads both graphs;
:func:`stored_patient` turns the triples into a summary dict (the JSON twin of
the page) and :func:`stored_graph` into the graph the HTML export draws
(:func:`kg.render.graph_export.to_html`), with the ontology's labels, rules
and source sentences.
"""

from __future__ import annotations

from ..errors import InputError
from ..render.rdf_iris import PATIENT_BASE, derivations_graph_iri, input_graph_iri, patient_iri

__all__ = ["stored_patient", "stored_graph", "stored_ids", "MAX_LISTED"]

PK = "https://w3id.org/painkg/ontology#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
#: Patients listed on ``/patients`` at most.
MAX_LISTED = 1000


def _local(value: str) -> str:
    return value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def stored_ids(settings) -> list[str]:
    """The ids of the patients in the store, sorted (at most :data:`MAX_LISTED`)."""
    from .sparql_protocol import run_sparql

    result = run_sparql(settings, "SELECT ?id WHERE { GRAPH ?g { ?p a pk:Patient ; dcterms:identifier ?id } } "
                                  f"ORDER BY ?id LIMIT {MAX_LISTED}")
    return [str(row[0]) for row in result.rows]


def _triples(settings, pid: str) -> list[tuple[str, str, object]]:
    from .sparql_protocol import run_sparql

    graphs = " ".join(f"<{g}>" for g in (input_graph_iri(pid), derivations_graph_iri(pid)))
    result = run_sparql(settings, f"SELECT ?s ?p ?o WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }} }}")
    return [(str(s), str(p), o) for s, p, o in result.rows]


def stored_patient(settings, pid: str) -> dict:
    """The stored patient ``pid`` as a dict: assessment, whether pain persists, facts and firings.

    Raises :class:`~kg.errors.InputError` (field ``id``) when the store has no such patient.
    """
    from ..knowledge.ontology import load_ontology

    onto = load_ontology()
    me = str(patient_iri(pid))
    if not me.startswith(PATIENT_BASE):  # pragma: no cover - patient_iri always builds under the base
        raise InputError("id", pid, "a patient id")
    facts: dict[str, dict] = {}
    firings: dict[str, dict] = {}
    patient: dict = {"patient": pid}
    for s, p, o in _triples(settings, pid):
        if s == me:
            key = {PK + "assessedOn": "assessed_on", PK + "painPersists": "pain_persists",
                   PK + "thresholdDays": "threshold_days"}.get(p)
            if key:
                value = o.toPython() if hasattr(o, "toPython") else str(o)
                patient[key] = value if isinstance(value, (bool, int)) else str(value)
            continue
        if "/firing/" in s:
            f = firings.setdefault(s, {"used": [], "evidence": []})
            if p == PK + "rule":
                f["rule"] = _local(str(o))
            elif p == PROV + "generated":
                f["generated"] = str(o)
            elif p == PROV + "used":
                f["used"].append(str(o))
            elif p == PK + "evidence":
                f["evidence"].append(_local(str(o)))
            elif p == PK + "certaintyLevel":
                f["certainty"] = _local(str(o)).lower()
        elif "/fact/" in s:
            f = facts.setdefault(s, {})
            key = {DCT + "identifier": "id", PK + "status": "status", PK + "detail": "detail",
                   PK + "certaintyLevel": "certainty", PK + "site": "site"}.get(p)
            if key in ("certainty",):
                f[key] = _local(str(o)).lower()
            elif key == "site":
                f[key] = str(o)
            elif key:
                f[key] = str(o)
    if "assessed_on" not in patient:
        raise InputError("id", pid, "the id of a patient in the store (see /patients)")
    ids = {iri: f.get("id", _local(iri)) for iri, f in facts.items()}
    site_keys = {c.iri: k for k, c in onto.concepts.items()}
    out_facts = []
    for iri, f in sorted(facts.items(), key=lambda kv: ids[kv[0]]):
        if "id" not in f:
            continue
        concept = f["id"].split("@", 1)[0]
        label = onto.concepts[concept].label if concept in onto.concepts else concept.replace("_", " ")
        site = site_keys.get(f.get("site"), _local(f["site"]) if f.get("site") else None)
        out_facts.append({"id": f["id"], "concept": concept, "label": label, "site": site,
                          "status": f.get("status"), "certainty": f.get("certainty"), "detail": f.get("detail")})
    out_firings = []
    for iri, f in sorted(firings.items()):
        if "rule" not in f or "generated" not in f:
            continue
        rule = onto.rules.get(f["rule"])
        passages = sorted(set(f["evidence"]), key=lambda p: onto.passages[p].number if p in onto.passages else 0)
        out_firings.append({"rule": f["rule"], "rule_label": rule.label if rule else None,
                            "certainty": f.get("certainty"), "concludes": ids.get(f["generated"], f["generated"]),
                            "premises": sorted(ids.get(u, u) for u in f["used"]),
                            "evidence": [{"passage": p, "text": onto.passages[p].text} for p in passages
                                         if p in onto.passages]})
    out_firings.sort(key=lambda x: (x["concludes"], x["rule"], x["premises"]))
    return {**patient, "facts": out_facts, "firings": out_firings}


def stored_graph(data: dict):
    """The graph of a :func:`stored_patient` dict, in the node and edge shape of :mod:`kg.render.graph`."""
    from ..render.graph import PainGraph

    g = PainGraph(name=f"painkg explanation of {data['patient']}", patient=data["patient"],
                  assessed_on=data.get("assessed_on"), threshold_days=data.get("threshold_days"),
                  pain_persists=bool(data.get("pain_persists")), view="full")
    for f in data["facts"]:
        attrs = {"kind": "input" if f["status"] == "observed" else "derived", "label": f["label"],
                 "concept": f["concept"], "status": f["status"] or "", "certainty": f["certainty"] or "",
                 "loop": False}
        for key in ("site", "detail"):
            if f.get(key):
                attrs[key] = f[key]
        g.add_node(f["id"], **attrs)
    for n, x in enumerate(data["firings"]):
        firing = f"{x['rule']}:{x['concludes']}#{n}"
        quote = " ".join(f'{e["passage"]}: "{e["text"]}"' for e in x["evidence"])
        g.add_node(firing, kind="firing", label=x["rule"], status="fired", rule=x["rule"],
                   rule_label=x["rule_label"] or x["rule"], certainty=x["certainty"] or "", concludes=x["concludes"],
                   premises=" ".join(x["premises"]), passages=" ".join(e["passage"] for e in x["evidence"]),
                   quote=quote, loop=False)
        for premise in x["premises"]:
            if premise in g:
                g.add_edge(premise, firing, key="premise", kind="premise", label="premise", loop=False)
        if x["concludes"] in g:
            g.add_edge(firing, x["concludes"], key="concludes", kind="concludes", label="concludes", loop=False)
    return g
