"""CDS Hooks 2.0 against a real `painkg serve` on loopback: discovery, the patient-view call, errors, feedback.

Requests and responses are validated against the JSON Schemas in
tests/schemas/cds-hooks/ (written from https://cds-hooks.hl7.org/2.0/). The
server runs in open mode here (no JWT); tests/test_serve_cds_auth.py covers the JWT.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fhir_cds.cds_support import SERVICE, cds_server, hook_request, prefetch, validator
from serve_support import http

from kg.knowledge.wording import DISCLAIMER
from kg.serve.cds_cards import card_uuid
from kg.serve.settings import ServeSettings

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def base():
    with cds_server(ServeSettings(cds_open=True)) as url:
        yield url


def call(base, body, *, service=SERVICE, headers=JSON):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    status, head, raw = http("POST", f"{base}/cds-services/{service}", body=data, headers=headers)
    return status, head, raw


def test_discovery_lists_the_service_with_its_prefetch_templates(base):
    status, head, raw = http("GET", f"{base}/cds-services")
    assert status == 200 and head["content-type"].startswith("application/json")
    doc = json.loads(raw)
    validator("discovery-response").validate(doc)
    [service] = doc["services"]
    assert service["id"] == SERVICE and service["hook"] == "patient-view"
    assert service["title"] == "painkg: why does this patient's pain persist?"
    assert service["prefetch"] == {"patient": "Patient/{{context.patientId}}",
                                   "conditions": "Condition?patient={{context.patientId}}",
                                   "observations": "Observation?patient={{context.patientId}}",
                                   "procedures": "Procedure?patient={{context.patientId}}"}
    assert "not a diagnosis" in service["description"]


def test_lower_back_strain_day_20_gives_a_warning_card_with_the_chain_and_quotes(base):
    body = hook_request("cds-lb-1", prefetch("strain-lower-back-day20"))
    validator("request").validate(body)
    status, head, raw = call(base, body)
    assert status == 200, raw
    assert head["cache-control"] == "no-store"
    answer = json.loads(raw)
    validator("response").validate(answer)
    [card] = answer["cards"]
    # The summary is the headline every face opens with (kg.reasoning.answer).
    assert card["summary"] == ("Pain is expected to persist at the lower back: muscle strain -> muscle spasm -> "
                               "continuous contraction -> muscle overload -> muscle knots.")
    assert len(card["summary"]) < 140
    assert card["indicator"] == "warning"
    assert card["uuid"] == card_uuid("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "cds-lb-1")
    # The code system is painkg's own, the one the FHIR export writes and the reader reads.
    assert card["source"] == {"label": "painkg: muscle-spasm-knots-and-low-back-strain.txt",
                              "url": "https://w3id.org/painkg/source/document",
                              "topic": {"system": "https://w3id.org/painkg/ontology", "code": "persistent_pain",
                                        "display": "persistent pain"}}
    [link] = card["links"]
    assert link["label"] == "painkg explanation page (answer, key chains and graph)" and link["type"] == "absolute"
    assert link["url"].startswith(f"{base}/explanations/")
    detail = card["detail"]
    assert detail.startswith(f"**{card['summary']}**\n\nAssessed on 2026-03-21;")
    assert "#### At the lower back: persistent pain (expected: the source states it as what happens)" in detail
    assert ("Key chain: muscle strain (reported) \u2192 muscle spasm (expected) \u2192 continuous contraction "
            "(expected) \u2192 muscle overload (expected) \u2192 muscle knots (expected) \u2192 persistent pain "
            "(expected)") in detail
    # Each step: rule id, certainty, and the quoted source sentences; no possible step in a firm chain.
    assert "1. Recorded: muscle strain (lower back) - onset 2026-03-01, 20 days before assessment; not resolved" \
        in detail
    assert "inflammation" not in detail.split("#### What would change it")[0].split("#### Flags")[0]
    assert "rule `overload-after-threshold` (" in detail and "certainty of this step: *expected*" in detail
    assert "> s04: \u201cUsually this happens about two weeks after the initial injury.\u201d" in detail
    assert ("> s05: \u201cThese knots are painful, and become part of the problem.\u201d") in detail
    assert "condition: only if the basic injury stays unresolved for about two weeks" in detail
    # The FHIR resource painkg could not use is named, with why.
    assert ("#### Input not used\n\n- Observation/obs-w-cds-lb-1: code 29463-7 (system http://loinc.org) "
            "is not a concept painkg models") in detail
    assert "- prefetch procedures" not in detail  # sent as null: "no data", not "not sent"
    assert detail.rstrip().endswith(f"*{DISCLAIMER}*")


def test_the_answer_is_byte_identical_when_asked_again(base):
    body = hook_request("cds-lb-1", prefetch("strain-lower-back-day20"))
    first, second = call(base, body)[2], call(base, body)[2]
    assert first == second
    # A server without the card cache computes the same bytes afresh.
    with cds_server(ServeSettings(cds_open=True, cds_cache=0)) as fresh:
        assert call(fresh, body)[2].replace(fresh.encode(), base.encode()) == first


def test_a_recent_neck_strain_gives_an_info_card_saying_when_knots_would_be_expected(base):
    status, _, raw = call(base, hook_request("cds-neck-1", prefetch("strain-neck-day5")))
    assert status == 200
    answer = json.loads(raw)
    validator("response").validate(answer)
    [card] = answer["cards"]
    assert card["indicator"] == "info"
    assert card["summary"] == ("Persistent pain is not concluded yet; muscle knots would be expected at the neck "
                               "from 2026-03-30 if the injury stays unresolved.")
    assert card["detail"].startswith(f"**{card['summary']}**\n\nAssessed on 2026-03-21;")
    assert "- Muscle knots would be expected at the neck from 2026-03-30 if the muscle strain of the neck stays " \
           "unresolved (s03, s04)." in card["detail"]
    assert card["detail"].rstrip().endswith(f"*{DISCLAIMER}*")


def test_no_condition_painkg_can_use_gives_no_card(base):
    body = hook_request("cds-empty-1", {"patient": {"resourceType": "Patient", "id": "cds-empty-1"},
                                        "conditions": None, "observations": None})
    status, _, raw = call(base, body)
    assert status == 200 and json.loads(raw) == {"cards": []}


def test_an_absent_optional_key_is_noted_on_the_card(base):
    data = prefetch("strain-lower-back-day20")
    del data["procedures"]
    [card] = json.loads(call(base, hook_request("cds-lb-1", data))[2])["cards"]
    assert "- prefetch procedures: not sent, so heat or cold therapy is not known to painkg" in card["detail"]


def test_request_text_cannot_add_markup_to_the_card(base):
    data = prefetch("strain-lower-back-day20")
    data["observations"]["entry"][0]["resource"]["code"]["coding"][0]["code"] = "[x](https://evil.example) *y*"
    status, _, raw = call(base, hook_request("cds-lb-1", data))
    assert status == 200
    detail = json.loads(raw)["cards"][0]["detail"]
    assert "[x](https" not in detail and "\\[x\\](https://evil.example) \\*y\\*" in detail


@pytest.mark.parametrize("drop", [("conditions",), ("observations",), ("conditions", "observations")])
def test_missing_required_prefetch_without_fhir_server_is_412(base, drop):
    data = prefetch("strain-lower-back-day20")
    for key in drop:
        del data[key]
    status, _, raw = call(base, hook_request("cds-lb-1", data))
    assert status == 412
    error = json.loads(raw)
    assert error["field"] == "prefetch" and error["missing"] == list(drop)
    assert error["error"].startswith(f"prefetch: {', '.join(drop)} missing and no fhirServer to fetch from")


def test_an_operation_outcome_in_place_of_prefetch_counts_as_missing(base):
    data = prefetch("strain-lower-back-day20")
    data["conditions"] = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    assert call(base, hook_request("cds-lb-1", data))[0] == 412


def test_fhir_server_given_but_fetching_disallowed_is_412(base):
    body = hook_request("cds-lb-1", None, fhirServer="http://127.0.0.1:9/fhir")
    status, _, raw = call(base, body)
    assert status == 412
    error = json.loads(raw)
    assert error["field"] == "fhirServer"
    assert "operator does not allow fetching from fhirServer (fhir_fetch is off)" in error["error"]


class _Fhir(BaseHTTPRequestHandler):
    """A FHIR server on loopback answering painkg's prefetch templates from tests/fhir_cds."""

    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        data = prefetch("strain-lower-back-day20")
        answers = {"/fhir/Patient/cds-lb-1": data["patient"], "/fhir/Condition?patient=cds-lb-1": data["conditions"],
                   "/fhir/Observation?patient=cds-lb-1": data["observations"],
                   "/fhir/Procedure?patient=cds-lb-1": {"resourceType": "Bundle", "type": "searchset", "total": 0}}
        body = json.dumps(answers[self.path]).encode() if self.path in answers else b"{}"
        self.send_response(200 if self.path in answers else 404)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_with_fhir_fetch_allowed_the_service_fetches_from_fhir_server_with_the_token():
    fhir = ThreadingHTTPServer(("127.0.0.1", 0), _Fhir)
    threading.Thread(target=fhir.serve_forever, daemon=True).start()
    _Fhir.seen = []
    try:
        with cds_server(ServeSettings(cds_open=True, fhir_fetch=True)) as url:
            auth = {"access_token": "opaque-token", "token_type": "Bearer", "expires_in": 300,
                    "scope": "patient/Condition.read patient/Observation.read", "subject": "painkg"}
            body = hook_request("cds-lb-1", None, fhirServer=f"http://127.0.0.1:{fhir.server_port}/fhir",
                                fhirAuthorization=auth)
            validator("request").validate(body)
            status, _, raw = call(url, body)
    finally:
        fhir.shutdown()
    assert status == 200, raw
    [card] = json.loads(raw)["cards"]
    assert card["summary"].startswith("Pain is expected to persist at the lower back")
    assert sorted(_Fhir.seen) == [("/fhir/Condition?patient=cds-lb-1", "Bearer opaque-token"),
                                  ("/fhir/Observation?patient=cds-lb-1", "Bearer opaque-token"),
                                  ("/fhir/Patient/cds-lb-1", "Bearer opaque-token"),
                                  ("/fhir/Procedure?patient=cds-lb-1", "Bearer opaque-token")]


@pytest.mark.parametrize("body, field, start", [
    (b'{"hook": "patient-view", ', "body", "body: the request body is not valid JSON"),
    (b"[1, 2]", "body", "body: must be a JSON object (a CDS Hooks request)"),
    (hook_request("p", None) | {"hook": "order-sign"}, "hook",
     'hook: "order-sign" is not allowed; expected patient-view'),
    ({"hook": "patient-view", "context": {"userId": "u", "patientId": "p"}}, "hookInstance", "hookInstance: is required"),
    ({"hook": "patient-view", "hookInstance": "h", "context": {"userId": "u"}}, "context.patientId",
     "context.patientId: is required"),
    (hook_request("p", {"conditions": [1], "observations": None}), "prefetch.conditions",
     "prefetch.conditions: must be a FHIR resource or Bundle"),
    (hook_request("p", {"conditions": None, "observations": None}, as_of="2026-02-30"),
     "extension.org.w3id.painkg.asOf", 'extension.org.w3id.painkg.asOf: "2026-02-30" is not a calendar date'),
    (hook_request("p", {"patient": {"resourceType": "Patient", "id": "q"}, "conditions": None, "observations": None}),
     "prefetch.patient", "prefetch.patient: id 'q' is not context.patientId 'p'"),
    (hook_request("p", {"conditions": {"resourceType": "Bundle", "entry": 0}, "observations": None}),
     "prefetch.conditions.entry", "prefetch.conditions.entry: must be an array"),
    (hook_request("p", {"conditions": {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Condition"},
                                                                           "search": "match"}]}, "observations": None}),
     "prefetch.conditions.entry[0].search", "prefetch.conditions.entry[0].search: must be an object"),
])
def test_bad_requests_are_400_naming_the_field(base, body, field, start):
    status, head, raw = call(base, body)
    assert status == 400, raw
    assert head["content-type"].startswith("application/json")
    error = json.loads(raw)
    assert error["field"] == field and error["status"] == 400
    assert error["error"].startswith(start), error["error"]


def test_wrong_content_type_is_415_and_unknown_service_is_404(base):
    body = hook_request("cds-lb-1", prefetch("strain-lower-back-day20"))
    status, _, raw = call(base, body, headers={"Content-Type": "text/plain"})
    assert status == 415 and json.loads(raw)["field"] == "Content-Type"
    status, _, raw = call(base, body, service="no-such-service")
    assert status == 404
    assert json.loads(raw) == {"error": 'service: "no-such-service" is not a CDS service of painkg; expected '
                                        f"{SERVICE}", "field": "service", "status": 404, "allowed": [SERVICE]}


def test_invalid_fhir_in_prefetch_is_422_naming_the_resource(base):
    data = prefetch("strain-lower-back-day20")
    data["conditions"]["entry"][0]["resource"]["onsetDateTime"] = "yesterday"
    status, _, raw = call(base, hook_request("cds-lb-1", data))
    assert status == 422
    error = json.loads(raw)
    assert error["field"].startswith("prefetch") and "Condition/cond-lb-1" in error["error"]
    assert "onset" in error["error"]


def test_feedback_is_validated_and_answered_200(base):
    feedback = {"feedback": [{"card": card_uuid("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "cds-lb-1"),
                              "outcome": "overridden", "outcomeTimestamp": "2026-03-21T10:00:00Z",
                              "overrideReason": {"userComment": "already referred to physiotherapy"}}]}
    validator("feedback").validate(feedback)
    url = f"{base}/cds-services/{SERVICE}/feedback"
    status, _, raw = http("POST", url, body=json.dumps(feedback), headers=JSON)
    assert status == 200 and json.loads(raw) == {}
    accepted = {"feedback": [{"card": "c1", "outcome": "accepted", "outcomeTimestamp": "2026-03-21T10:00:00Z"}]}
    status, _, raw = http("POST", url, body=json.dumps(accepted), headers=JSON)
    assert status == 400
    assert json.loads(raw)["error"] == ("feedback.0: acceptedSuggestions is required when outcome is accepted")
    status, _, raw = http("POST", url, body=json.dumps({"feedback": [{"card": "c1", "outcome": "ignored",
                                                                      "outcomeTimestamp": "2026"}]}), headers=JSON)
    assert status == 400 and json.loads(raw)["field"] == "feedback.0.outcome"


def test_a_search_that_is_not_an_object_in_real_prefetch_is_400_and_one_log_line(base, caplog):
    data = prefetch("strain-lower-back-day20")
    data["conditions"]["entry"][0]["search"] = ["match"]
    with caplog.at_level("INFO", logger="kg.serve"):
        status, _, raw = call(base, hook_request("cds-lb-1", data))
    assert status == 400
    assert json.loads(raw) == {"error": "prefetch.conditions.entry[0].search: must be an object (a Bundle entry's "
                                        "search)", "field": "prefetch.conditions.entry[0].search", "status": 400}
    assert [r.getMessage() for r in caplog.records if r.name == "kg.serve"] == [
        "CDS call refused: 400 prefetch.conditions.entry[0].search: prefetch.conditions.entry[0].search: must be an "
        "object (a Bundle entry's search)"]
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("stamp", ["2026-99-99T99:99:99Z", "2026-02-30T10:00:00Z", "2026-03-21T24:00:00+00:00",
                                   "2026-03-21T10:00:00+25:00"])
def test_a_feedback_timestamp_that_is_no_real_instant_is_422_naming_it(base, stamp):
    body = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": stamp}]}
    status, _, raw = http("POST", f"{base}/cds-services/{SERVICE}/feedback", body=json.dumps(body), headers=JSON)
    assert status == 422, raw
    assert json.loads(raw) == {"error": f'feedback.0.outcomeTimestamp: "{stamp}" is not a date and time that exists; '
                                        "expected an instant such as 2026-03-21T10:00:00Z",
                               "field": "feedback.0.outcomeTimestamp", "status": 422}
