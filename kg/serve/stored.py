"""A stored patient, read back from the store ``painkg batch --store`` built (for ``/patients/{id}``).

The store keeps each patient's two named graphs (input and derivations, in the
lean shape of :mod:`kg.store.lean`); nothing is re-explained. One guarded
query (the same worker and limits as ``/sparql``) reads both graphs;
:func:`stored_patient` turns the triples back into the patient's explanation
JSON, exactly ``kg.explain(record).to_dict()`` (:mod:`kg.store.readback`), and
:func:`stored_graph` turns that dict into the graph the HTML export draws
(:func:`kg.render.graph_export.to_html`), with the ontology's rule labels and
source sentences.

Ids may hold any character, ``/`` included. :func:`patient_href` is the URL of
a patient's page (each ``/`` of the id written ``%2F``); :func:`patient_targets`
reads a ``/patients/...`` URL back from the raw (still percent-encoded) path,
so that a ``%2F`` belongs to the id and only a literal ``/graph`` at the end
names the graph page, and lists what the URL can mean, most likely first: the
routes try them in order, so ``/patients/x.json`` is the twin of ``x`` or, when
the store has no ``x``, the page of ``x.json``. ``/patients?id=ID`` names any
id exactly (``.`` and ``..`` too, which browsers drop from paths).

>>> patient_href("ward-3/bed 7"), patient_href("..")
('/patients/ward-3%2Fbed%207', '/patients?id=..')
>>> patient_targets(b"/patients/ward-3%2Fbed%207/graph", None)
[('ward-3/bed 7', 'graph'), ('ward-3/bed 7/graph', 'page')]
>>> patient_targets(b"/patients/x.json", None)
[('x', 'json'), ('x.json', 'page')]
"""

from __future__ import annotations

from urllib.parse import quote, unquote

__all__ = ["stored_patient", "stored_graph", "stored_ids", "patient_href", "patient_targets", "MAX_LISTED"]

#: Patients listed on ``/patients`` at most.
MAX_LISTED = 1000


def stored_ids(settings) -> list[str]:
    """The ids of the patients in the store, sorted (at most :data:`MAX_LISTED`)."""
    from .sparql_protocol import run_sparql

    result = run_sparql(settings, "SELECT ?id WHERE { GRAPH ?g { ?p a pk:Patient ; dcterms:identifier ?id } } "
                                  f"ORDER BY ?id LIMIT {MAX_LISTED}")
    return [str(row[0]) for row in result.rows]


def patient_href(pid: str) -> str:
    """The URL path of the stored patient ``pid``'s page (see the module docstring)."""
    if pid in (".", ".."):
        return f"/patients?id={quote(pid, safe='')}"
    return f"/patients/{quote(pid, safe='')}"


def patient_targets(raw_path: bytes, fmt: str | None) -> list[tuple[str, str]]:
    """What the raw request path ``/patients/...`` can name: ``[(id, view)]``, most likely first.

    ``view`` is ``"graph"``, ``"json"`` (the twin) or ``"page"`` (HTML or JSON as
    the request asks). A ``.json`` suffix names the twin only when ``fmt`` (the
    ``format`` parameter) is not given.
    """
    path = raw_path.decode("latin-1")
    rest = path[path.find("/patients/") + len("/patients/"):]

    def decoded(text: str) -> str:
        return unquote(text, encoding="utf-8", errors="replace")

    targets = []
    if rest.endswith("/graph") and len(rest) > len("/graph"):
        targets.append((decoded(rest[:-len("/graph")]), "graph"))
    full = decoded(rest)
    if fmt is None and full.endswith(".json") and len(full) > len(".json"):
        targets.append((full[:-len(".json")], "json"))
    targets.append((full, "page"))
    return targets


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
