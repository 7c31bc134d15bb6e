"""Changes to a patient, in the syntax of ``what-if --set``, applied and validated.

A change is a string ``PATH=VALUE`` (set), ``PATH+=VALUE`` (append to a list)
or ``PATH-=VALUE`` (remove from a list). ``PATH`` is ``id``, ``assessed_on``,
``injuries``, ``findings``, ``injuries[i]``, ``injuries[i].FIELD`` (``kind``,
``site``, ``onset``, ``days_since_onset``, ``mechanism``, ``resolved``,
``resolved_on``, ``episode_start_unknown``) or ``findings[i]`` / ``findings[i].kind`` / ``findings[i].site``.
``VALUE`` is JSON (strict: duplicate keys, ``NaN`` and over-long numbers are
refused, and the limits of :mod:`kg.inputs.limits` apply); a bare word is a string
(``resolved=true``, ``site=neck``, ``findings+=muscle_spasm``). Dates are
``YYYY-MM-DD`` or relative to the patient's assessment date:
``assessed_on=+10d``, ``injuries[0].resolved_on=-3d``.

Time has one rule: an onset is a date. Setting an injury's ``days_since_onset``
(or giving it in an added injury) sets its onset that many days before the
assessment date at that point; moving ``assessed_on`` keeps every onset (and
every resolution date), so time passes for every injury. Fixing an injury
happens on a date: ``injuries[i].resolved=true`` fixes an unresolved injury on
the assessment date (``resolved_on``; an injury already resolved stays as it
is), ``injuries[i].resolved_on=DATE`` fixes it on that date,
``injuries[i].resolved=false`` un-fixes it (dropping the date) and
``injuries[i].resolved_on=null`` keeps it resolved but forgets the date.

Changes are applied to :meth:`Patient.to_dict` and the result is validated
again with :func:`kg.inputs.patient.parse_patient`; a bad change raises
:class:`~kg.errors.InputError` naming it, what is wrong and what is allowed.

>>> parse_change("injuries[0].resolved=true").value
True
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Union

from ..errors import InputError, show, type_name
from ..inputs.dates import RELATIVE_DAYS, parse_date, relative_days, shift_date
from ..inputs.limits import LIMITS
from ..inputs.patient import PatientLike, load_patient, ontology_or_default, parse_patient
from ..inputs.reading import JsonLimitError, check_tree, loads

__all__ = ["Change", "parse_change", "apply_changes", "as_changes", "RELATIVE_DAYS"]

_PATH = re.compile(r"^\s*(?P<path>[A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*)\s*"
                   r"(?P<op>\+=|-=|=)(?P<value>.*)$", re.S)
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:\[(?P<index>\d+)\])?$")
_BARE = re.compile(r"[A-Za-z0-9_.:+\-]+", re.ASCII)
_TOP = ("assessed_on", "findings", "id", "injuries")
_INJURY = ("days_since_onset", "episode_start_unknown", "kind", "mechanism", "onset", "resolved", "resolved_on",
           "site")
_FINDING = ("kind", "site")
_SYNTAX = ("PATH=VALUE, PATH+=VALUE or PATH-=VALUE, e.g. injuries[0].resolved=true, "
           "findings+=muscle_spasm, assessed_on=+10d")
_OPS = {"=": "set", "+=": "append", "-=": "remove"}


@dataclass(frozen=True)
class Change:
    """One parsed change: ``op`` is ``set``, ``append`` or ``remove``."""

    text: str
    op: str
    path: tuple[tuple[str, int | None], ...]
    value: Any


def _error(text: str, problem: str, allowed: str) -> InputError:
    return InputError("change", text, message=f"{show(text)}: {problem}; expected {allowed}")


def parse_change(text: str) -> Change:
    """Parse one change string.

    >>> parse_change("injuries[0].resolved=true")
    Change(text='injuries[0].resolved=true', op='set', path=(('injuries', 0), ('resolved', None)), value=True)
    >>> parse_change("findings+=muscle_spasm").value
    'muscle_spasm'
    >>> parse_change("injuries[0].colour=red")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: change: "injuries[0].colour=red": unknown field "colour" of an injury; expected one of days_since_onset, episode_start_unknown, kind, mechanism, onset, resolved, resolved_on, site
    """
    if not isinstance(text, str):
        raise InputError("change", type_name(text), _SYNTAX)
    if len(text) > LIMITS.change_chars:
        raise InputError("change", text, f"a change of at most {LIMITS.change_chars:,} characters")
    m = _PATH.match(text)
    if m is None:
        raise _error(text, "not a change", _SYNTAX)
    path = tuple((s.group("name"), int(s.group("index")) if s.group("index") else None)
                 for s in (_SEGMENT.match(p) for p in m.group("path").split(".")))
    raw = m.group("value").strip()
    try:
        value = loads(raw)
    except JsonLimitError as exc:
        raise _error(text, f"in the value, {exc.problem}", exc.allowed) from None
    except json.JSONDecodeError as exc:
        if not _BARE.fullmatch(raw):
            raise _error(text, f"the value {show(raw)} is not JSON ({exc.msg})",
                         'a JSON value (true, 30, "text", {"kind": ...}) or a bare word') from None
        value = raw
    _check_value(text, value)
    change = Change(text, _OPS[m.group("op")], path, value)
    _check_path(change)
    return change


def _check_value(text: str, value: Any) -> None:
    try:
        check_tree(value, "")
    except InputError as exc:
        problem, _, allowed = exc.message.partition("; expected ")
        where = f"the value {problem}" if not exc.field else f"in the value, {exc.field}: {problem}"
        raise _error(text, where, allowed or "a smaller value") from None


def _check_path(change: Change) -> None:
    (top, index), *rest = change.path
    text = change.text
    if top not in _TOP:
        raise _error(text, f"unknown field {show(top)}", "one of " + ", ".join(_TOP))
    listy = top in ("injuries", "findings")
    if index is not None and not listy:
        raise _error(text, f"{top} is not a list", "an index only after injuries or findings")
    if not rest:
        if change.op != "set" and (not listy or index is not None):
            raise _error(text, f"+= and -= need a list, and {change.text.split('=')[0].rstrip('+-')} is not one",
                         "injuries or findings before += or -=")
        return
    if not listy or index is None:
        raise _error(text, f"{top} has no fields", f"{top}[INDEX].FIELD" if listy else f"{top}=VALUE")
    if len(rest) > 1 or rest[0][1] is not None:
        raise _error(text, "the path is too deep", f"{top}[INDEX].FIELD")
    allowed = _INJURY if top == "injuries" else _FINDING
    if rest[0][0] not in allowed:
        what = "an injury" if top == "injuries" else "a finding"
        raise _error(text, f"unknown field {show(rest[0][0])} of {what}", "one of " + ", ".join(allowed))
    if change.op != "set":
        raise _error(text, f"{rest[0][0]} is not a list", "= to set a field")


_CHANGES_HELP = 'a list of change strings, or a mapping {path: value} (e.g. {"injuries[0].resolved": true})'


def as_changes(changes: Union[Iterable[str], Mapping[str, Any], None]) -> list[Change]:
    """``changes`` (None, one change string, a list of them, or a mapping) as parsed :class:`Change` objects.

    >>> as_changes(621)
    Traceback (most recent call last):
    ...
    kg.errors.InputError: changes: a number is not allowed; expected a list of change strings, or a mapping {path: value} (e.g. {"injuries[0].resolved": true})
    """
    if changes is None:
        return []
    if isinstance(changes, str):
        return [parse_change(changes)]
    if isinstance(changes, Mapping):
        items = list(itertools.islice(changes.items(), LIMITS.changes + 1))
        _check_count(items)
        out = []
        for path, value in items:
            if not isinstance(path, str):
                raise InputError("changes", type_name(path), "paths (the keys of the mapping) that are strings")
            op = "+=" if path.endswith("+") else "-=" if path.endswith("-") else "="
            name = path.rstrip("+-")
            _check_value(f"{name}{op}...", value)
            try:
                text = f"{name}{op}{json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)}"
            except (TypeError, ValueError):
                raise InputError("change", type_name(value), f"a JSON value for {show(path)}") from None
            parsed = parse_change(text)
            out.append(Change(text, parsed.op, parsed.path, value))
        return out
    if isinstance(changes, (bytes, bytearray)) or not isinstance(changes, Iterable):
        raise InputError("changes", type_name(changes), _CHANGES_HELP)
    items = list(itertools.islice(changes, LIMITS.changes + 1))
    _check_count(items)
    return [c if isinstance(c, Change) else parse_change(c) for c in items]


def _check_count(items: list) -> None:
    if len(items) > LIMITS.changes:
        raise InputError("changes", message=f"more than {LIMITS.changes} changes; expected at most {LIMITS.changes}")


def _date_value(value: Any, base: Any, text: str) -> Any:
    days = relative_days(value)
    if days is None:
        return value
    try:
        start = parse_date(base, "assessed_on")
    except InputError:
        raise _error(text, f"{value} counts from assessed_on, which is {show(base)}, not a date",
                     "assessed_on as YYYY-MM-DD before a relative date") from None
    try:
        return shift_date(start, days, "change", value).isoformat()
    except InputError as exc:
        raise _error(text, f"{value} from {start.isoformat()} leaves the allowed dates",
                     exc.allowed) from None


def _finding_matches(item: Any, value: Any, onto) -> bool:
    def key(x):
        if isinstance(x, str):
            return onto.resolve(x, "finding", field="findings"), None
        if isinstance(x, dict) and "kind" in x:
            site = x.get("site")
            return (onto.resolve(x["kind"], "finding", field="findings"),
                    onto.resolve(site, "site", field="site") if site else None)
        raise InputError("findings", x, 'a finding key or a {"kind": ..., "site": ...} object')

    want_kind, want_site = key(value)
    kind, site = key(item)
    return kind == want_kind and (want_site is None or site == want_site)


def _injury_matches(item: dict, value: Any, index: int, onto) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value == index
    if not isinstance(value, dict) or "kind" not in value or "site" not in value:
        raise InputError("injuries", value, 'an index or a {"kind": ..., "site": ...} object')
    return (onto.resolve(item["kind"], "injury") == onto.resolve(value["kind"], "injury", field="kind")
            and onto.resolve(item["site"], "site") == onto.resolve(value["site"], "site", field="site"))


def _anchor(item: Any, assessed: Any) -> Any:
    """An injury object with ``days_since_onset`` turned into an onset date, counted from ``assessed``.

    Left as given when it cannot be (a bad value), so validation names the problem.
    """
    if not isinstance(item, dict) or "onset" in item:
        return item
    days = item.get("days_since_onset")
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 36500:
        return item
    try:
        onset = shift_date(parse_date(assessed, "assessed_on"), -days, "days_since_onset", days)
    except InputError:
        return item
    item = {k: v for k, v in item.items() if k != "days_since_onset"}
    item["onset"] = onset.isoformat()
    return item


def _apply(data: dict, change: Change, onto) -> None:
    (top, index), *rest = change.path
    text = change.text
    value = change.value
    assessed = data.get("assessed_on") or dt.date.today().isoformat()
    if top == "assessed_on" and change.op == "set":
        value = _date_value(value, assessed, text)
    if top == "injuries" and not rest and change.op in ("set", "append"):
        # An onset is a date: days_since_onset counts from the assessment date as it is now.
        if index is None and isinstance(value, list) and change.op == "set":
            value = [_anchor(copy.deepcopy(v), assessed) for v in value]
        else:
            value = _anchor(copy.deepcopy(value), assessed)
    if index is None:
        if change.op == "set":
            data[top] = copy.deepcopy(value)
            return
        items = data.setdefault(top, [])
        if not isinstance(items, list):  # pragma: no cover - to_dict always gives lists
            raise _error(text, f"{top} is not a list", "a list")
        if change.op == "append":
            items.append(copy.deepcopy(value))
            return
        keep = [item for i, item in enumerate(items)
                if not (_finding_matches(item, value, onto) if top == "findings"
                        else _injury_matches(item, value, i, onto))]
        if len(keep) == len(items):
            raise _error(text, f"{show(value)} is not in {top}",
                         f"one of the patient's {top} (see `painkg explain`)")
        data[top] = keep
        return
    items = data.get(top) or []
    if index >= len(items):
        allowed = f"an index from 0 to {len(items) - 1}" if items else f"no index: the patient has no {top}"
        raise _error(text, f"{top} has {len(items)} item{'s' * (len(items) != 1)}, so index {index} "
                           "is out of range", allowed)
    if not rest:
        items[index] = copy.deepcopy(value)
        return
    name = rest[0][0]
    item = items[index]
    if top == "findings" and isinstance(item, str):
        item = items[index] = {"kind": item}
    if top == "injuries" and isinstance(item, dict):
        if name in ("resolved", "resolved_on"):
            # A change to the resolution replaces the record's bound on an undated one.
            item.pop("resolved_by", None)
            if value not in (False, None) and item.pop("episode_start_unknown", False):
                # Fixing a recurrence on a date: its episode began on an unknown date, so how long it stayed
                # unresolved is still unknown; it is the undated case, bounded by that date (resolved_by).
                fixed = assessed if name == "resolved" else _date_value(value, assessed, text)
                item.pop("resolved_on", None)
                item["resolved"], item["resolved_by"] = True, fixed
                return
        if name == "onset":
            value = _date_value(value, assessed, text)
            item.pop("days_since_onset", None)
        elif name == "days_since_onset":
            item.pop("onset", None)
            anchored = _anchor({"days_since_onset": value}, assessed)
            if "onset" in anchored:
                name, value = "onset", anchored["onset"]
        elif name == "resolved_on" and value is not None:
            # A resolution date implies resolved.
            value = _date_value(value, assessed, text)
            item["resolved"] = True
        elif name == "resolved" and value is False:
            item.pop("resolved_on", None)
        elif name == "resolved" and value is True and not (item.get("resolved") or item.get("resolved_on")):
            # Fixing an injury happens on a date: the assessment date unless one is given.
            item["resolved_on"] = assessed
    if value is None:
        item.pop(name, None)
    else:
        item[name] = copy.deepcopy(value)


def apply_changes(patient: PatientLike, changes, *, ontology=None):
    """Apply changes to a patient and return the validated, changed :class:`~kg.inputs.patient.Patient`.

    >>> p = apply_changes({"id": "x", "assessed_on": "2026-01-10",
    ...     "injuries": [{"kind": "strain", "site": "neck", "days_since_onset": 3}]},
    ...     ["assessed_on=+7d", "findings+=muscle_spasm"])
    >>> p.assessed_on.isoformat(), p.injuries[0].days_since_onset, p.findings
    ('2026-01-17', 10, (Finding(concept='muscle_spasm', site='neck'),))
    >>> apply_changes({"id": "x", "assessed_on": "2026-01-10"}, ["injuries[0].resolved=true"])
    Traceback (most recent call last):
    ...
    kg.errors.InputError: change: "injuries[0].resolved=true": injuries has 0 items, so index 0 is out of range; expected no index: the patient has no injuries
    """
    onto = ontology_or_default(ontology)
    base = load_patient(patient, ontology=onto)
    parsed = as_changes(changes)
    data = base.to_dict()
    for n, change in enumerate(parsed):
        _apply(data, change, onto)
        try:
            parse_patient(data, ontology=onto)
        except InputError as exc:
            # A later change may repair what this one broke (onset then assessed_on);
            # only blame this change if the whole list does not validate.
            if n == len(parsed) - 1 or _final_fails(base, parsed, onto):
                raise InputError("change", change.text,
                                 message=f"{show(change.text)} makes the patient invalid: {exc}") from None
    return parse_patient(data, ontology=onto)


def _final_fails(base, parsed, onto) -> bool:
    data = base.to_dict()
    try:
        for change in parsed:
            _apply(data, change, onto)
        parse_patient(data, ontology=onto)
    except InputError:
        return True
    return False
