"""The pages: POST a patient, 303 to its explanation page, the page and its JSON twin, stored patients, /docs."""

from __future__ import annotations

import html
import http.client as httpclient
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

from serve_support import http, serve_url  # noqa: E402
from support import example_paths  # noqa: E402

import kg  # noqa: E402
from kg.knowledge.wording import DISCLAIMER  # noqa: E402

EXAMPLE = Path("examples/lower-back-strain-day20.json")
BUNDLE = Path("examples/fhir/lower-back-strain-bundle.json")
SLASHED = {"id": "ward-3/bed 7", "assessed_on": "2026-03-21",
           "injuries": [{"kind": "strain", "site": "neck", "onset": "2026-03-01"}]}
#: Ids a URL path cannot simply hold: each was listed but its page was 404 (or another patient's graph).
AWKWARD = ["a/graph", "p1/graph", "x.json", "q.json/graph", "..", "%2F", "a?b#c"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from kg.serve.settings import ServeSettings

    out = tmp_path_factory.mktemp("pages-store")
    slashed = out / "slashed.json"
    slashed.write_text(json.dumps(SLASHED), encoding="utf-8")
    awkward = out / "awkward.ndjson"
    awkward.write_text("".join(json.dumps({**SLASHED, "id": i}) + "\n" for i in AWKWARD), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "kg.cli", "batch", str(EXAMPLE), "examples/two-injuries.json",
                           str(slashed), str(awkward), "--out", str(out / "run"), "--store", str(out / "store")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with serve_url(ServeSettings(cds_open=True, store=out / "store")) as base:
        yield base


def _form(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "painkgboundary7"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8"), f"multipart/form-data; boundary={boundary}"


def post_form(base: str, fields: dict[str, str], path: str = "/", headers: dict | None = None):
    """POST the form without following the redirect: ``(status, headers, body)``."""
    data, kind = _form(fields)
    where = urlparse(base)
    conn = httpclient.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.request("POST", path, body=data, headers={"Content-Type": kind, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def headline_of(page: str) -> str:
    found = re.search(r'<h1 id="headline">(.*?)</h1>', page, re.S)
    assert found, page[:500]
    return html.unescape(re.sub(r"<[^>]*>", "", found.group(1)))  # its text, as a browser shows it


def explained(base: str, fields: dict[str, str]) -> str:
    """POST the form, check the 303, return the explanation's URL path."""
    status, headers, body = post_form(base, fields)
    assert status == 303, body[:300]
    assert re.fullmatch(r"/explanations/[0-9a-f]{20}(\?audience=patient)?", headers["location"])
    return headers["location"]


def test_index_page_and_twin(server):
    status, headers, body = http("GET", f"{server}/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert '<textarea id="patient" name="patient">' in page and page.count(DISCLAIMER) == 1
    assert 'name="example" value="lower-back-strain-day20"' in page
    status, headers, body = http("GET", f"{server}/?format=json")
    assert status == 200 and json.loads(body)["disclaimer"] == DISCLAIMER
    status, _, body = http("GET", f"{server}/", headers={"Accept": "application/json"})
    assert json.loads(body)["api"]["explain"] == "/explain"


PATIENTS = [*example_paths(), Path(__file__).parent.parent / BUNDLE]


def test_every_bundled_example_is_posted():
    assert len(PATIENTS) == 10


@pytest.mark.parametrize("path", PATIENTS, ids=lambda p: p.name)
def test_posting_a_patient_redirects_to_its_page(server, path):
    from kg.serve.patient_body import from_data

    pi = from_data(json.loads(path.read_text("utf-8")))
    e = kg.explain(pi.record, as_of=pi.as_of)
    where = explained(server, {"patient": path.read_text("utf-8")})
    status, headers, body = http("GET", f"{server}{where}")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headline_of(page) == e.headline and page.count(DISCLAIMER) == 1
    for url, extra in ((f"{where}.json", {}), (f"{where}?format=json", {}),
                       (where, {"Accept": "application/json"})):
        status, _, body = http("GET", f"{server}{url}", headers=extra)
        twin = json.loads(body)
        assert status == 200 and twin["explanation"] == e.to_dict() and twin["key"] == where.rsplit("/", 1)[1]
    assert twin["text"] == e.to_text() and twin["disclaimer"] == DISCLAIMER
    assert twin["presentation"]["headline"] == e.headline
    # The same explanation gets the same URL (a stable hash of its JSON).
    assert explained(server, {"patient": path.read_text("utf-8")}) == where


def test_the_page_renders_the_presentation(server):
    from kg.render.presentation import present

    e = kg.explain("examples/two-injuries.json")
    p = present(e.to_dict(), e.ontology)
    where = explained(server, {"example": "two-injuries"})
    page = http("GET", f"{server}{where}")[2].decode()
    for c in p.conclusions:  # each key conclusion, its chain as an ordered list, each step's rule
        assert f"<h2>{html.escape(c.heading)}</h2>" in page
        for link in c.links:
            assert html.escape(link.said) in page
            assert link.rule is None or f"<code>{link.rule}</code>" in page
    assert page.count('<ol class="chain">') == len(p.conclusions)
    assert '<details class="quotes"><summary>Source s02, s14</summary>' in page
    for sentence in (*p.changes, *p.helps):
        assert html.escape(sentence) in page
    assert "What would change it" in page and 'id="sources"' in page and html.escape(p.legend) in page
    assert f'href="{where}?audience=patient"' in page  # the patient wording, one click from the top
    assert '<details class="more card" id="detail">' in page and html.escape(e.to_text()[:-200]) in page
    assert f'data-graph="{where}/graph"' in page
    status, _, graph = http("GET", f"{server}{where}/graph")
    assert status == 200 and b"cytoscape" in graph and b"persistent_pain@lower_back" in graph


def test_patient_wording(server):
    from kg.render.presentation import present

    e = kg.explain(str(EXAMPLE))
    p = present(e.to_dict(), e.ontology, "patient")
    where = explained(server, {"patient": EXAMPLE.read_text(), "audience": "patient"})
    assert where.endswith("?audience=patient")
    page = http("GET", f"{server}{where}")[2].decode()
    assert headline_of(page) == p.headline == "Your pain at the lower back is expected to persist."
    assert "Expected next: muscle knots at the lower back." in page and "<code>" not in page
    assert 'aria-current="page">For the patient<' in page
    status, _, body = http("GET", f"{server}{where}&format=json")
    assert json.loads(body)["patient_presentation"] == json.loads(json.dumps(p.to_dict()))


def test_post_for_json_answers_the_twin_at_once(server):
    e = kg.explain(str(EXAMPLE))
    status, headers, body = post_form(server, {"patient": EXAMPLE.read_text()}, path="/?format=json")
    got = json.loads(body)
    assert status == 200 and got["explanation"] == e.to_dict() and got["text"] == e.to_text()
    assert headers["content-location"] == f"/explanations/{got['key']}.json"
    status, _, body = post_form(server, {"patient": EXAMPLE.read_text()}, headers={"Accept": "application/json"})
    assert status == 200 and json.loads(body) == got
    assert json.loads(http("GET", f"{server}{headers['content-location']}")[2]) == got


def test_fhir_input_not_used_is_on_the_page(server):
    bundle = json.loads(BUNDLE.read_text("utf-8"))
    bundle["entry"].append({"resource": {"resourceType": "Observation", "id": "bp-1", "status": "final",
                                         "subject": {"reference": "Patient/p1"},
                                         "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}}})
    where = explained(server, {"patient": json.dumps(bundle)})
    page = http("GET", f"{server}{where}")[2].decode()
    assert headline_of(page) == kg.explain(str(EXAMPLE)).headline
    assert '<section class="card " id="not-used"><h2>Input not used</h2>' in page and "Observation/bp-1" in page
    twin = json.loads(http("GET", f"{server}{where}.json")[2])
    assert [x["resource"] for x in twin["not_used"]] == ["Observation/bp-1"]
    assert any("Observation/bp-1" in x for x in twin["presentation"]["not_used"])


def test_try_an_example(server):
    from importlib import resources

    for stem in ("lower-back-strain-day20", "two-injuries"):
        bundled = resources.files("kg.serve").joinpath("templates", f"example-{stem}.json").read_text("utf-8")
        assert json.loads(bundled) == json.loads(Path(f"examples/{stem}.json").read_text("utf-8"))
        where = explained(server, {"example": stem})
        assert headline_of(http("GET", f"{server}{where}")[2].decode()) == kg.explain(f"examples/{stem}.json").headline
    status, headers, body = post_form(server, {"example": "nope"})
    assert status == 422 and 'role="alert"' in body.decode() and "lower-back-strain-day20" in body.decode()


def test_unknown_or_forgotten_key(server):
    for key in ("0123456789abcdef0123", "nope", "%3Cscript%3E"):
        status, headers, body = http("GET", f"{server}/explanations/{key}")
        page = body.decode()
        assert status == 404 and headers["content-type"].startswith("text/html") and 'role="alert"' in page
        assert "submit the patient again" in page and "<script>" not in page and DISCLAIMER in page
        status, _, body = http("GET", f"{server}/explanations/{key}.json")
        assert status == 404 and json.loads(body)["field"] == "key"
    status, _, body = http("GET", f"{server}/explanations/0123456789abcdef0123/graph")
    assert status == 404


def test_every_value_is_escaped(server):
    patient = {"id": "<b>x</b>", "assessed_on": "2026-03-21",
               "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01"}]}
    where = explained(server, {"patient": json.dumps(patient)})
    page = http("GET", f"{server}{where}")[2].decode()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_bad_patient_on_the_page(server):
    status, headers, body = post_form(server, {"patient": '{"id": "x", "assessed_on": "2026-02-30"}'})
    assert status == 422 and headers["content-type"].startswith("text/html")
    assert 'role="alert"' in body.decode() and "assessed_on" in body.decode()
    status, headers, body = post_form(server, {"patient": '{"id": "x", "assessed_on": "2026-02-30"}'},
                                      path="/?format=json")
    assert status == 422 and json.loads(body)["field"] == "assessed_on"
    status, _, body = post_form(server, {"patient": "<script>alert(1)</script>"})
    assert status == 400 and b"<script>alert(1)" not in body and b"&lt;script&gt;alert(1)" in body


def test_stored_patient_page_and_twins(server):
    status, _, body = http("GET", f"{server}/patients?format=json")
    assert json.loads(body)["patients"] == sorted(["p1", "two-sites-1", SLASHED["id"], *AWKWARD])
    e = kg.explain(str(EXAMPLE))
    status, headers, body = http("GET", f"{server}/patients/p1")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headline_of(page) == e.headline and 'data-graph="/patients/p1/graph"' in page and DISCLAIMER in page
    assert html.escape(e.to_text()[:-200]) in page
    status, _, graph = http("GET", f"{server}/patients/p1/graph")
    assert status == 200 and b"cytoscape" in graph and b"persistent-pain-from-knots" in graph
    status, headers, body = http("GET", f"{server}/patients/p1.json")
    data = json.loads(body)
    # The stored patient reads back as its explanation (tests/test_store_readback.py).
    assert status == 200 and data["explanation"] == e.to_dict() and data["text"] == e.to_text()
    assert data["presentation"]["headline"] == e.headline and data["disclaimer"] == DISCLAIMER
    status, _, twin = http("GET", f"{server}/patients/p1", headers={"Accept": "application/json"})
    assert json.loads(twin) == data


def test_stored_patient_id_with_a_slash(server):
    e = kg.explain(SLASHED)
    listed = http("GET", f"{server}/patients")[2].decode()
    href = f"/patients/{quote(SLASHED['id'], safe='')}"
    assert f'href="{href}"' in listed
    for url in (href, "/patients/ward-3/bed%207"):
        status, _, body = http("GET", f"{server}{url}")
        assert status == 200 and headline_of(body.decode()) == e.headline
    status, _, body = http("GET", f"{server}{href}.json")
    assert status == 200 and json.loads(body)["explanation"] == e.to_dict()
    status, _, graph = http("GET", f"{server}{href}/graph")
    assert status == 200 and b"cytoscape" in graph


def test_every_listed_patient_is_served(server):
    page = http("GET", f"{server}/patients")[2].decode()
    links = dict((html.unescape(name), html.unescape(href))
                 for href, name in re.findall(r'<li><a href="([^"]*)">([^<]*)</a></li>', page))
    assert sorted(links) == json.loads(http("GET", f"{server}/patients?format=json")[2])["patients"]
    e = kg.explain(SLASHED)
    for pid, href in links.items():
        if pid not in AWKWARD:
            continue
        status, _, body = http("GET", f"{server}{href}")
        assert status == 200 and headline_of(body.decode()) == e.headline.replace(SLASHED["id"], pid), pid
        assert html.escape(f"painkg: patient {pid},") in body.decode(), pid
        twin = href + ("&" if "?" in href else "?") + "format=json"
        status, _, body = http("GET", f"{server}{twin}")
        assert status == 200 and json.loads(body)["explanation"]["patient"] == pid, pid
        if "?" not in href:
            status, _, graph = http("GET", f"{server}{href}/graph")
            assert status == 200 and b"cytoscape" in graph and json.dumps(pid)[1:-1].encode() in graph, pid
    assert links[".."] == "/patients?id=.." and links["a/graph"] == "/patients/a%2Fgraph"
    # The short forms keep their meaning where the store has the shorter id: p1's graph, p1's twin.
    status, _, graph = http("GET", f"{server}/patients/p1/graph")
    assert status == 200 and b"persistent-pain-from-knots" in graph
    assert json.loads(http("GET", f"{server}/patients/p1.json")[2])["explanation"]["patient"] == "p1"
    # Where it has not, the long id: x.json's page, a/graph's page.
    status, _, body = http("GET", f"{server}/patients/x.json")
    assert status == 200 and html.escape("painkg: patient x.json,") in body.decode()
    status, _, body = http("GET", f"{server}/patients/a/graph")
    assert status == 200 and html.escape("painkg: patient a/graph,") in body.decode()


def test_stored_patient_audience_and_missing(server):
    status, _, body = http("GET", f"{server}/patients/p1?audience=patient")
    assert headline_of(body.decode()) == "Your pain at the lower back is expected to persist."
    status, headers, body = http("GET", f"{server}/patients/nobody")
    assert status == 404 and headers["content-type"].startswith("text/html") and DISCLAIMER in body.decode()
    status, headers, body = http("GET", f"{server}/patients/nobody.json")
    assert status == 404 and json.loads(body)["field"] == "id"
    status, _, body = http("GET", f"{server}/patients/p1?audience=doctor")
    assert status == 422 and json.loads(body)["field"] == "audience"


def test_docs_page_works_offline(server):
    status, headers, body = http("GET", f"{server}/docs")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and not [x for x in links if x.startswith(("http:", "https:", "//"))]
    assert 'href="/openapi.json"' in page and "<code>/explanations/{key}</code>" in page
    assert "cdn" not in page.lower() and page.count(DISCLAIMER) == 1


def test_cds_card_links_to_the_page_of_its_explanation(server):
    from fhir_cds.cds_support import SERVICE, hook_request, prefetch

    body = json.dumps(hook_request("cds-lb-1", prefetch("strain-lower-back-day20")))
    status, _, raw = http("POST", f"{server}/cds-services/{SERVICE}", body=body,
                          headers={"Content-Type": "application/json"})
    [card] = json.loads(raw)["cards"]
    [link] = card["links"]
    assert re.fullmatch(re.escape(server) + r"/explanations/[0-9a-f]{20}", link["url"]) and link["type"] == "absolute"
    status, _, page = http("GET", link["url"])
    assert status == 200 and headline_of(page.decode()) == card["summary"]
    # The page has the full report too, though the card reasoned through the memo.
    assert "(every step)" in page.decode()


def test_no_store_and_a_bounded_cache():
    from kg.serve.settings import ServeSettings

    with serve_url(ServeSettings(cds_open=True, explanation_cache=1)) as base:
        status, _, body = http("GET", f"{base}/patients/p1.json")
        assert status == 404 and json.loads(body)["field"] == "store"
        status, _, body = http("GET", f"{base}/patients?format=json")
        assert json.loads(body) == {"patients": [], "store": False, "disclaimer": DISCLAIMER}
        first = explained(base, {"example": "lower-back-strain-day20"})
        assert http("GET", f"{base}{first}")[0] == 200
        explained(base, {"example": "two-injuries"})
        status, _, body = http("GET", f"{base}{first}")
        assert status == 404 and "submit the patient again" in body.decode()


def test_form_fields_are_urlencoded_too(server):
    where = urlparse(server)
    conn = httpclient.HTTPConnection(where.hostname, where.port, timeout=60)
    conn.request("POST", "/", body=urlencode({"example": "two-injuries", "audience": "patient"}),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    assert response.status == 303 and response.getheader("location").endswith("?audience=patient")
    conn.close()
