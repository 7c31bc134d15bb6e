"""The batch's fast paths answer exactly what the careful paths answer (issue 20: batch at 7x bare experta).

Each shortcut taken for speed is checked against the walk or parser it skips: the JSON reader
(numbers converted in C, a repeated key re-parsed carefully), the limits' quick check on plain
values and on shaped patient records, the compact JSON of scalars, and, end to end, a batch's
files with the memo on and off, under other assessment dates and thresholds.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg
from kg.cohort.synthetic import write_ndjson
from kg.inputs import reading
from kg.inputs.limits import LIMITS
from kg.inputs.patient_shape import fast_shape, within_limits
from kg.inputs.plain_tree import plainly_within
from kg.inputs.reading import JsonLimitError, check_tree, loads
from kg.reasoning.memo_pieces import dumps

quick = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def careful_loads(text: str):
    """The reader as it was before its fast path: hooks on every number and object, then a walk for repeats."""
    reading._check_depth(text, LIMITS.depth)
    value = json.loads(text, object_pairs_hook=reading._pairs, parse_int=reading._number(int),
                       parse_float=reading._number(float), parse_constant=reading._constant)
    dup = reading._first_duplicate(value)
    if dup is not None:
        raise JsonLimitError(f"the key {reading.show(dup.key)} is given twice "
                             f"({reading._duplicate_position(text, dup.key)})", "each key once")
    return value


def outcome(fn, *args):
    try:
        value = fn(*args)
    except (ValueError, kg.InputError) as exc:
        return ("raised", type(exc).__name__, str(exc))
    return ("value", json.dumps(value, sort_keys=True, default=repr), _types(value))


def _types(value):
    if isinstance(value, dict):
        return [type(value).__name__] + [_types(v) for v in value.values()]
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**25, 10**25), st.floats(allow_nan=False),
                    st.text(max_size=5), st.sampled_from(["\ud800", "x" * 201, "2026-03-01"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.sampled_from("abc"), inner, max_size=3)),
                      max_leaves=12)


@st.composite
def json_texts(draw):
    """JSON text, sometimes edited into a repeated key, a long number, a constant, a broken end or a BOM."""
    text = json.dumps(draw(values), ensure_ascii=draw(st.booleans()))
    edit = draw(st.sampled_from(["none", "repeat", "long", "constant", "cut", "bom", "float"]))
    if edit == "repeat" and text.startswith("{") and text != "{}":
        text = '{"a": 1, ' + text[1:] if '"a"' in text else text
    elif edit == "long":
        text = f'[{text}, {draw(st.sampled_from(["1" * 21, "-1.00000000000000000000001", "1e+0000000000000000001"]))}]'
    elif edit == "constant":
        text = f'[{text}, {draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))}]'
    elif edit == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif edit == "bom":
        text = "\ufeff" + text
    elif edit == "float":
        text = f'[{text}, {draw(st.sampled_from(["1.5", "1e400", "-0.0", "12345678901234567890"]))}]'
    return text


@quick
@given(json_texts())
def test_loads_answers_as_the_careful_parser(text):
    assert outcome(loads, text) == outcome(careful_loads, text)


def test_loads_names_a_repeated_key_and_keeps_a_long_number():
    with pytest.raises(JsonLimitError, match=r'the key "b" is given twice \(line 1, column 16\)'):
        loads('{"a": {"b": 1, "b": 2}}')
    value = loads('{"n": 123456789012345678901, "m": 12345678901234567890}')
    assert type(value["n"]).__name__ == "LongNumber" and value["m"] == 12345678901234567890


def slow_walk(value) -> str | None:
    """check_tree's own walk (the quick check turned off): its error, or None."""
    original = reading.plainly_within
    reading.plainly_within = lambda v: False
    try:
        check_tree(value, "patient")
    except kg.InputError as exc:
        return str(exc)
    finally:
        reading.plainly_within = original
    return None


python_values = st.recursive(
    st.one_of(scalars, st.dates(), st.tuples(st.integers())),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=16)


@quick
@given(python_values)
def test_the_quick_limits_check_passes_only_what_the_walk_passes(value):
    if plainly_within(value):
        assert slow_walk(value) is None
    # Whichever path runs, check_tree's answer is the walk's.
    try:
        check_tree(value, "patient")
        got = None
    except kg.InputError as exc:
        got = str(exc)
    assert got == slow_walk(value)


def test_the_quick_limits_check_refuses_each_limit():
    deep: list = []
    for _ in range(LIMITS.depth + 1):
        deep = [deep]
    for bad in ({"a": "x" * (LIMITS.string_chars + 1)}, {"x" * 201: 1}, ["\udc00"], [10 ** LIMITS.number_chars],
                list(range(LIMITS.items + 1)), deep, [[1] * 100] * 100 + [1], {1: 2}):
        assert not plainly_within(bad)
        assert slow_walk(bad) is not None
    shared = [list(range(100))] * 100
    assert not plainly_within([shared] * 100)  # stops past the budget, never walks a million values


record_strings = st.one_of(st.sampled_from(["strain", "neck", "lower_back", "2026-03-01", "tender_to_touch"]),
                           st.text(max_size=4), st.just("y" * 201), st.just("\ud83d"))


@quick
@given(st.fixed_dictionaries({"id": record_strings.filter(str.strip)}, optional={
    "assessed_on": st.one_of(record_strings, st.dates()),
    "injuries": st.lists(st.fixed_dictionaries({"kind": record_strings, "site": record_strings}, optional={
        "onset": record_strings, "mechanism": record_strings, "days_since_onset": st.integers(-10**21, 10**21),
        "resolved_on": record_strings}), max_size=2),
    "findings": st.lists(st.one_of(record_strings, st.fixed_dictionaries({"kind": record_strings},
                                                                         optional={"site": record_strings})),
                         max_size=3)}))
def test_a_shaped_record_is_within_limits_exactly_when_the_walk_passes_it(record):
    raw = fast_shape(record)
    assert raw is not None
    assert within_limits(raw) == (slow_walk(record) is None)


@quick
@given(values)
def test_compact_dumps_is_json_dumps(value):
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _files(out) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("results.jsonl", "rejects.jsonl")}


@pytest.mark.parametrize("options", [{}, {"as_of": "+45d", "threshold_days": 9}, {"as_of": "2026-01-15"},
                                     {"summary_only": True, "threshold_days": 30}])
def test_a_batch_writes_the_same_bytes_with_the_memo_and_without(tmp_path, options):
    cohort = tmp_path / "cohort.ndjson"
    write_ndjson(cohort, 200, seed=17, bad=0.05)
    runs = {}
    for memo in (5000, 0):
        summary = kg.batch([cohort], out=tmp_path / f"out-{memo}", memo=memo, chunk_size=60, **options)
        runs[memo] = (_files(tmp_path / f"out-{memo}"), summary["counts"])
    assert runs[5000] == runs[0]
    files, counts = runs[0]
    assert counts["records"] == 200 and counts["results"] + counts["rejects"] == 200 and counts["rejects"] >= 8
    lines = files["results.jsonl"].decode("utf-8").splitlines()
    assert len(lines) == counts["results"]
    first = json.loads(lines[0])
    assert list(first)[:4] == ["id", "file", "line", "pain_persists"]
    assert ("explanation" in first) is not options.get("summary_only", False)


def test_a_memo_that_evicts_everything_still_writes_the_same_bytes(tmp_path):
    # One piece and four combinations kept: almost every patient merges and misses again.
    cohort = tmp_path / "cohort.ndjson"
    write_ndjson(cohort, 120, seed=3, bad=0.0)
    kg.batch([cohort], out=tmp_path / "tiny", memo=1)
    kg.batch([cohort], out=tmp_path / "fresh", memo=0)
    assert _files(tmp_path / "tiny") == _files(tmp_path / "fresh")


def test_dates_given_as_python_dates_read_as_their_text():
    record = {"id": "p", "assessed_on": dt.date(2026, 3, 21),
              "injuries": [{"kind": "strain", "site": "neck", "onset": dt.date(2026, 3, 1)}]}
    assert kg.parse_patient(record) == kg.parse_patient({**record, "assessed_on": "2026-03-21", "injuries": [
        {"kind": "strain", "site": "neck", "onset": "2026-03-01"}]})
