"""Dates are strings in ISO form on every face: a number is an input error naming its field.

Before, lax parsing read ``"onset": 0`` as 1970-01-01 (Unix time) and answered
"pain persists: yes (expected)"; a FHIR ``onsetDateTime`` of 0 was dropped as "no day"
and a Bundle ``timestamp`` of 0 was called missing.
"""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

import kg
from kg.cli import cli
from serve_support import http, live_server  # noqa: F401

DAY20 = {"id": "n", "assessed_on": "2026-03-01",
         "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-02-09"}]}
FHIR = json.load(open("examples/fhir/lower-back-strain-bundle.json", encoding="utf-8"))
DATE_HELP = "expected a date as YYYY-MM-DD"


def with_value(path: tuple, value):
    data = copy.deepcopy(DAY20)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


CASES = [(("injuries", 0, "onset"), "injuries[0].onset"), (("assessed_on",), "assessed_on"),
         (("injuries", 0, "resolved_on"), "injuries[0].resolved_on")]


@pytest.mark.parametrize("path,field", CASES)
@pytest.mark.parametrize("value,shown", [(0, "0"), (1772323200, "1772323200"), (20260301, "20260301"),
                                         (1.5, "1.5"), (True, "true")])
def test_the_api_refuses_a_number_as_a_date(path, field, value, shown):
    with pytest.raises(kg.InputError) as err:
        kg.explain(with_value(path, value))
    assert str(err.value) == f"{field}: {shown} is not allowed; {DATE_HELP}"
    assert err.value.field == field


def test_a_python_date_is_still_a_date():
    import datetime as dt

    e = kg.explain(with_value(("injuries", 0, "onset"), dt.date(2026, 2, 9)))
    assert e.to_dict() == kg.explain(DAY20).to_dict()


def test_the_cli_refuses_a_number_as_a_date(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(with_value(("injuries", 0, "onset"), 0)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["explain", str(path)])
    assert result.exit_code == 2
    assert result.output == f"error: injuries[0].onset: 0 is not allowed; {DATE_HELP}\n"


@pytest.mark.parametrize("where,shown", [(("entry", 1, "resource", "onsetDateTime"),
                                          "Condition/p1-injury-0.onsetDateTime"),
                                         (("timestamp",), "Bundle/lower-back-strain-day20.timestamp")])
def test_fhir_refuses_a_number_as_a_date(tmp_path, where, shown):
    bundle = copy.deepcopy(FHIR)
    target = bundle
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = 0
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = CliRunner().invoke(cli, ["explain", str(path)])
    assert result.exit_code == 2
    assert result.output == (f"error: {shown}: 0 is not allowed; expected a FHIR date or dateTime as a string "
                             "(YYYY-MM-DD, YYYY-MM-DDThh:mm:ss+zz:zz)\n")


def test_http_answers_422_naming_the_field(live_server):  # noqa: F811
    body = json.dumps(with_value(("injuries", 0, "onset"), 0))
    status, headers, raw = http("POST", live_server + "/explain", body=body,
                                headers={"Content-Type": "application/json"})
    assert status == 422
    assert headers["content-type"].startswith("application/json")
    error = json.loads(raw)
    assert error["field"] == "injuries[0].onset" and error["status"] == 422
    assert error["error"] == f"injuries[0].onset: 0 is not allowed; {DATE_HELP}"
