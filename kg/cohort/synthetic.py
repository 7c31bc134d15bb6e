"""Seeded synthetic cohorts for tests and benchmarks: realistic patients, and bad records on request.

Patients use the ontology's own keys: one injury mostly (sometimes two or
three, at different sites), strains more often than tears, the lower back
more often than the neck; onset as a date or as days before the assessment,
spread over acute (under two weeks), subacute and chronic; a fifth resolved;
a mechanism for most; zero to four findings, some placed at a site. The same
``seed`` always gives the same bytes.

``bad`` is the share of records that break the contract, each in one of
:data:`BAD_KINDS` ways (in turn), so a run's rejects are predictable.

    python -m kg.cohort.synthetic 10000 --seed 1 --bad 0.01 -o cohort.ndjson

>>> lines = list(synthetic_records(3, seed=1))
>>> [json.loads(line)["id"] for line in lines]
['syn-0000000', 'syn-0000001', 'syn-0000002']
>>> len(list(synthetic_records(100, seed=1, bad=0.1)))
100
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from typing import Iterator

__all__ = ["BAD_KINDS", "synthetic_patient", "synthetic_records", "write_ndjson"]

#: The ways a bad record is bad, in the order they are used.
BAD_KINDS = ("invalid_json", "unknown_site", "missing_id", "not_an_object", "bad_date", "onset_after_assessment",
             "duplicate_key", "not_utf8", "unknown_field", "empty_id", "too_long_string")

_KINDS = (("muscle_strain", 6), ("muscle_overstretch", 2), ("ligament_sprain", 2), ("muscle_tear", 1))
_SITES = (("lower_back", 6), ("neck", 3), ("upper_back", 2))
_MECHANISMS = ("lifting_while_twisting", "heavy_lifting", "sudden_movement", "fall")
_FINDINGS = ("localized_pain", "tender_to_touch", "muscle_spasm", "difficulty_moving", "better_at_rest",
             "muscle_knots", "severe_low_back_pain", "radiating_pain_to_leg")
_LOWER_BACK_ONLY = ("severe_low_back_pain", "radiating_pain_to_leg")
_START = dt.date(2025, 1, 1)


def _weighted(rng: random.Random, table) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def synthetic_patient(rng: random.Random, patient_id: str) -> dict:
    """One realistic patient dict drawn from ``rng``."""
    assessed = _START + dt.timedelta(days=rng.randrange(540))
    count = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
    sites = rng.sample([s for s, _ in _SITES], count) if count > 1 else [_weighted(rng, _SITES)]
    injuries = []
    for site in sites:
        band = rng.random()
        days = rng.randrange(0, 14) if band < 0.5 else rng.randrange(14, 61) if band < 0.85 else rng.randrange(61, 366)
        injury = {"kind": _weighted(rng, _KINDS), "site": site}
        if rng.random() < 0.6:
            injury["onset"] = (assessed - dt.timedelta(days=days)).isoformat()
        else:
            injury["days_since_onset"] = days
        if rng.random() < 0.7:
            injury["mechanism"] = rng.choice(_MECHANISMS)
        if rng.random() < 0.2:
            injury["resolved"] = True
        injuries.append(injury)
    findings: list = []
    for finding in rng.sample(_FINDINGS, rng.choices((0, 1, 2, 3, 4), weights=(25, 30, 25, 12, 8))[0]):
        if finding in _LOWER_BACK_ONLY:
            if "lower_back" in sites:
                findings.append({"kind": finding, "site": "lower_back"})
        elif count > 1 and rng.random() < 0.5:
            findings.append({"kind": finding, "site": rng.choice(sites)})
        else:
            findings.append(finding)
    return {"id": patient_id, "assessed_on": assessed.isoformat(), "injuries": injuries, "findings": findings}


def _bad(kind: str, patient: dict) -> bytes:
    """``patient`` made bad in the way ``kind`` says (its id ends in ``-bad`` where it has one)."""
    patient = dict(patient, id=patient["id"] + "-bad")
    if kind == "invalid_json":
        return json.dumps(patient).encode()[:-7]
    if kind == "not_an_object":
        return json.dumps([patient["id"], patient["assessed_on"]]).encode()
    if kind == "duplicate_key":
        return (json.dumps(patient)[:-1] + ', "id": "other"}').encode()
    if kind == "not_utf8":
        return json.dumps(patient).encode().replace(b"-bad", b"-bad\xff", 1)
    if kind == "unknown_site":
        patient["injuries"] = [dict(patient["injuries"][0], site="knee")]
    elif kind == "missing_id":
        del patient["id"]
    elif kind == "bad_date":
        patient["assessed_on"] = "2026-02-30"
    elif kind == "onset_after_assessment":
        patient["injuries"] = [{"kind": "muscle_strain", "site": "neck", "onset": "2999-01-01"}]
    elif kind == "unknown_field":
        patient["sex"] = "f"
    elif kind == "empty_id":
        patient["id"] = ""
    elif kind == "too_long_string":
        patient["id"] += "x" * 300
    return json.dumps(patient).encode()


def synthetic_records(n: int, seed: int = 0, bad: float = 0.0, prefix: str = "syn-") -> Iterator[bytes]:
    """``n`` NDJSON lines (bytes, without the newline); about ``bad`` of them bad records."""
    rng = random.Random(seed)
    bad_rng = random.Random(seed + 1)
    used = 0
    for i in range(n):
        patient = synthetic_patient(rng, f"{prefix}{i:07d}")
        if bad and bad_rng.random() < bad:
            yield _bad(BAD_KINDS[used % len(BAD_KINDS)], patient)
            used += 1
        else:
            yield json.dumps(patient, separators=(", ", ": ")).encode()


def write_ndjson(path, n: int, seed: int = 0, bad: float = 0.0, prefix: str = "syn-") -> None:
    """Write ``n`` synthetic records to ``path`` (``-``: standard output)."""
    out = sys.stdout.buffer if str(path) == "-" else open(path, "wb")
    try:
        for line in synthetic_records(n, seed, bad, prefix):
            out.write(line + b"\n")
    finally:
        if out is not sys.stdout.buffer:
            out.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m kg.cohort.synthetic", description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="records to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bad", type=float, default=0.0, help="share of bad records (0 to 1)")
    ap.add_argument("--prefix", default="syn-", help="patient id prefix")
    ap.add_argument("-o", "--output", default="-", help="file to write (default: standard output)")
    args = ap.parse_args(argv)
    write_ndjson(args.output, args.n, args.seed, args.bad, args.prefix)


if __name__ == "__main__":
    main()
