"""A stored patient, read back from the store ``painkg batch --store`` built (for ``/patients/{id}``).

The store keeps each patient's two named graphs (input and derivations, in the
lean shape of :mod:`kg.store.lean`); nothing is re-explained. One guarded
query (the same worker and limits as ``/sparql``) reads both graphs;
:func:`stored_patient` turns the triples back into the patient's explanation
JSON, exactly ``kg.explain(record).to_dict()`` (:mod:`kg.store.readback`), and
:func:`stored_graph` turns that dict into the graph the HTML export draws
(:func:`kg.render.graph_export.to_html`), with the ontology's rule labels and
source sentences.
"""

from __future__ import annotations

__all__ = ["stored_patient", "stored_graph", "stored_ids", "MAX_LISTED"]

#: Patients listed on ``/patients`` at most.
MAX_LISTED = 1000


def stored_ids(settings) -> list[str]:
    """The ids of the patients in the store, sorted (at most :data:`MAX_LISTED`)."""
    from .sparql_protocol import run_sparql

    result = run_sparql(settings, "SELECT ?id WHERE { GRAPH ?g { ?p a pk:Patient ; dcterms:identifier ?id } } "
                                  f"ORDER BY ?id LIMIT {MAX_LISTED}")
    return [str(row[0]) for row in result.rows]


def stored_patient(settings, pid: str) -> dict:
    """The stored patient ``pid`` as its explanation's JSON: exactly ``kg.explain(record).to_dict()``.

    Read back by :mod:`kg.store.readback` from the rows of one guarded query.
    Raises :class:`~kg.errors.InputError` (field ``id``) when the store has no such patient.
    """
    from ..store.readback import explanation_dict, patient_sparql
    from .sparql_protocol import run_sparql

    result = run_sparql(settings, patient_sparql(pid))
    return explanation_dict([tuple(row) for row in result.rows], pid)


def stored_graph(data: dict):
    """The full-view graph of a :func:`stored_patient` dict (an explanation's ``to_dict()``).

    Fact nodes and one firing node per justification, in the node and edge shape of
    :mod:`kg.render.graph`; a firing's rule label and passages come from the ontology.
    """
    from ..knowledge.ontology import load_ontology
    from ..render.graph import PainGraph

    onto = load_ontology()
    g = PainGraph(name=f"painkg explanation of {data['patient']}", patient=data["patient"],
                  assessed_on=data["assessed_on"], threshold_days=data["threshold_days"],
                  pain_persists=bool(data["pain_persists"]), view="full")
    if data.get("persistent_pain"):
        g.graph["persistent_pain"] = data["persistent_pain"]
    for f in data["facts"]:
        attrs = {"kind": "input" if f["status"] == "observed" else "derived", "label": f["label"],
                 "concept": f["concept"], "status": f["status"], "certainty": f["certainty"], "loop": False}
        for key in ("site", "detail"):
            if f.get(key):
                attrs[key] = f[key]
        g.add_node(f["id"], **attrs)
    n = 0
    for f in data["facts"]:
        for j in f["justifications"]:
            firing = f"{j['rule']}:{f['id']}#{n}"
            n += 1
            rule = onto.rules.get(j["rule"])
            passages = onto.evidence(j["rule"], f["site"]) if rule else ()
            quote = " ".join(f'{p}: "{onto.passages[p].text}"' for p in passages)
            g.add_node(firing, kind="firing", label=j["rule"], status="fired", rule=j["rule"],
                       rule_label=rule.label if rule else j["rule"], certainty=j["certainty"], concludes=f["id"],
                       premises=" ".join(j["premises"]), passages=" ".join(passages), quote=quote, loop=False)
            for premise in j["premises"]:
                if premise in g:
                    g.add_edge(premise, firing, key="premise", kind="premise", label="premise", loop=False)
            g.add_edge(firing, f["id"], key="concludes", kind="concludes", label="concludes", loop=False)
    return g
