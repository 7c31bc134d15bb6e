"""The pages and their JSON twins, the patient wording, the disclaimer on every page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

from serve_support import http, serve_url  # noqa: E402

from kg.knowledge.wording import DISCLAIMER  # noqa: E402

EXAMPLE = Path("examples/lower-back-strain-day20.json")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from kg.serve.settings import ServeSettings

    out = tmp_path_factory.mktemp("pages-store")
    done = subprocess.run([sys.executable, "-m", "kg.cli", "batch", str(EXAMPLE), "examples/two-injuries.json",
                           "--out", str(out / "run"), "--store", str(out / "store")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with serve_url(ServeSettings(cds_open=True, store=out / "store")) as base:
        yield base


def _form(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "painkgboundary7"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8"), f"multipart/form-data; boundary={boundary}"


def test_index_page_and_twin(server):
    status, headers, body = http("GET", f"{server}/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert '<textarea id="patient" name="patient">' in page and DISCLAIMER in page
    status, headers, body = http("GET", f"{server}/?format=json")
    assert status == 200 and json.loads(body)["disclaimer"] == DISCLAIMER
    status, _, body = http("GET", f"{server}/", headers={"Accept": "application/json"})
    assert json.loads(body)["api"]["explain"] == "/explain"


def test_posting_a_patient_shows_text_and_graph(server):
    data, kind = _form({"patient": EXAMPLE.read_text(), "audience": "clinician"})
    status, _, body = http("POST", f"{server}/", body=data, headers={"Content-Type": kind})
    page = body.decode()
    assert status == 200
    assert "Pain persists: yes (expected) at the lower back." in page
    assert "source s07: &quot;The knots form because the spasm keeps the muscle continuously" in page
    assert 'iframe class="graph"' in page and "srcdoc=" in page and DISCLAIMER in page
    assert "In plain words, for the patient" not in page


def test_patient_audience_keeps_certainty(server):
    data, kind = _form({"patient": EXAMPLE.read_text()})
    status, _, body = http("POST", f"{server}/?audience=patient", body=data, headers={"Content-Type": kind})
    page = body.decode()
    assert status == 200 and "In plain words, for the patient" in page
    assert "Your pain at the lower back is expected to persist." in page
    assert "Possible next: inflammation at the lower back (the source says this may happen)." in page
    assert "For the clinician" in page


def test_post_twin_is_the_explanation(server):
    data, kind = _form({"patient": EXAMPLE.read_text(), "audience": "patient"})
    status, headers, body = http("POST", f"{server}/?format=json", body=data, headers={"Content-Type": kind})
    got = json.loads(body)
    import kg
    from kg.render.patient_text import to_patient_text

    e = kg.explain(str(EXAMPLE))
    assert status == 200 and got["explanation"] == e.to_dict()
    assert got["text"] == e.to_text() and got["patient_text"] == to_patient_text(e)
    assert got["disclaimer"] == DISCLAIMER


def test_bad_patient_on_the_page(server):
    data, kind = _form({"patient": '{"id": "x", "assessed_on": "2026-02-30"}'})
    status, headers, body = http("POST", f"{server}/", body=data, headers={"Content-Type": kind})
    assert status == 422 and headers["content-type"].startswith("text/html")
    assert 'role="alert"' in body.decode() and "assessed_on" in body.decode()
    status, headers, body = http("POST", f"{server}/?format=json", body=data, headers={"Content-Type": kind})
    assert status == 422 and json.loads(body)["field"] == "assessed_on"
    data, kind = _form({"patient": "<script>alert(1)</script>"})
    status, _, body = http("POST", f"{server}/", body=data, headers={"Content-Type": kind})
    assert status == 400 and b"<script>alert(1)" not in body and b"&lt;script&gt;alert(1)" in body


def test_stored_patient_page_and_twins(server):
    status, _, body = http("GET", f"{server}/patients?format=json")
    assert json.loads(body)["patients"] == ["p1", "two-sites-1"]
    status, headers, body = http("GET", f"{server}/patients/p1")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "pain persists: yes" in page and 'src="/patients/p1/graph"' in page and DISCLAIMER in page
    status, _, graph = http("GET", f"{server}/patients/p1/graph")
    assert status == 200 and b"cytoscape" in graph and b"persistent-pain-from-knots" in graph
    status, headers, body = http("GET", f"{server}/patients/p1.json")
    data = json.loads(body)
    assert status == 200 and data["pain_persists"] is True and data["assessed_on"] == "2026-03-21"
    knots = next(f for f in data["facts"] if f["id"] == "persistent_pain@lower_back")["justifications"]
    assert knots[0]["rule"] == "persistent-pain-from-knots" and knots[0]["premises"] == ["muscle_knots@lower_back"]
    import kg  # the stored patient reads back as its explanation (tests/test_store_readback.py)
    assert {k: v for k, v in data.items() if k not in ("text", "audience", "disclaimer")} == \
        kg.explain(str(EXAMPLE)).to_dict()
    status, _, twin = http("GET", f"{server}/patients/p1", headers={"Accept": "application/json"})
    assert json.loads(twin) == data


def test_stored_patient_audience_and_missing(server):
    status, _, body = http("GET", f"{server}/patients/p1.json?audience=patient")
    text = json.loads(body)["patient_text"]
    assert "\nYour pain at the lower back is expected to persist.\n" in text  # the shared patient wording
    assert " ".join(text.split()).endswith(DISCLAIMER)
    status, headers, body = http("GET", f"{server}/patients/nobody")
    assert status == 404 and headers["content-type"].startswith("text/html") and DISCLAIMER in body.decode()
    status, headers, body = http("GET", f"{server}/patients/nobody.json")
    assert status == 404 and json.loads(body)["field"] == "id"
    status, _, body = http("GET", f"{server}/patients/p1?audience=doctor")
    assert status == 422 and json.loads(body)["field"] == "audience"


def test_no_store():
    from kg.serve.settings import ServeSettings

    with serve_url(ServeSettings(cds_open=True)) as base:
        status, _, body = http("GET", f"{base}/patients/p1.json")
        assert status == 404 and json.loads(body)["field"] == "store"
        status, _, body = http("GET", f"{base}/patients?format=json")
        assert json.loads(body) == {"patients": [], "store": False, "disclaimer": DISCLAIMER}
