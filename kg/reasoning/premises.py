"""The premises of every engine rule, read from the experta rules themselves.

Why-not answers must follow the rules the engine really runs, so nothing here
is a hand-kept copy: :func:`rule_premises` walks each experta ``Rule`` of
:class:`~kg.rules.engine.PainEngine` (its fact patterns, their literal values,
``MATCH`` bindings, ``P`` predicates and ``TEST`` conditions) and
:func:`best_match` evaluates those same constraints against a run's facts,
keeping the assignment under which the most premises hold. Predicates are the
rule's own functions, called on the values; their source text is kept only to
show them. A rule using a construct this module does not understand (``NOT``,
``OR``, ``AS``...) raises at load time, so a new kind of rule cannot be
silently misread.

Example
-------
>>> rp = rule_premises()["overload-after-threshold"]
>>> [p.describe({}) for p in rp.premises]
['continuous_contraction@?site', 'injury ?kind@?site (days ?days, resolution unresolved)', 'injury_unresolved@?site/?kind', 'threshold_days ?threshold', 'days >= threshold']
>>> rp.conclusion_site
'?site'
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from experta import Rule
from experta.conditionalelement import TEST
from experta.fieldconstraint import ANDFC, P, W

from ..rules.engine import PainEngine
from ..rules.facts import C, Setting, fact_id
from ..rules.tracing import rule_id

__all__ = ["fact_id", "Predicate", "FieldTest", "Premise", "RulePremises", "Match", "rule_premises",
           "best_match", "fact_fields", "MISSING"]

#: A field a fact does not have (experta does not match such a fact).
MISSING = object()


@dataclass(frozen=True)
class Predicate:
    """A ``P``/``TEST`` function of a rule, with its source text and the names it uses."""

    func: Callable
    args: tuple[str, ...]
    text: str
    names: tuple[tuple[str, str], ...]

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Call the rule's own function on the values (by argument name)."""
        return bool(self.func(*(values[a] for a in self.args)))


@dataclass(frozen=True)
class FieldTest:
    """The constraint a pattern puts on one field: a literal, a binding, predicates."""

    field: str
    literal: Any
    bind: str | None
    predicates: tuple[Predicate, ...]

    def check(self, value: Any, bindings: Mapping[str, Any]) -> str | None:
        """Why ``value`` fails this constraint under ``bindings``, or None if it passes."""
        if value is MISSING:
            return f"has no {self.field}"
        if self.literal is not MISSING and value != self.literal:
            return f"{self.field} is {value!r}, not {self.literal!r}"
        if self.bind is not None and self.bind in bindings and bindings[self.bind] != value:
            return f"{self.field} is {value!r}, not {bindings[self.bind]!r}"
        for pred in self.predicates:
            if not pred.holds({pred.args[0]: value}):
                return f"{self.field} {value!r} fails `{pred.text}`{_names_text(pred)}"
        return None


@dataclass(frozen=True)
class Premise:
    """One premise of a rule: a fact pattern (``C``/``Setting``) or a ``TEST``."""

    index: int
    kind: str  # "fact", "setting" or "test"
    fields: tuple[FieldTest, ...]
    test: Predicate | None

    def field(self, name: str) -> FieldTest | None:
        return self._by_field.get(name)

    @functools.cached_property
    def _by_field(self) -> dict[str, FieldTest]:
        # The memo asks each premise for its role and concept per patient: a dict, not a scan.
        # (cached_property writes the instance's __dict__, which a frozen dataclass allows.)
        by_field: dict[str, FieldTest] = {}
        for test in self.fields:
            by_field.setdefault(test.field, test)
        return by_field

    def value(self, name: str, bindings: Mapping[str, Any]) -> Any:
        """The value this premise requires for field ``name`` under ``bindings`` (MISSING if open)."""
        test = self.field(name)
        if test is None:
            return MISSING
        if test.literal is not MISSING:
            return test.literal
        if test.bind is not None:
            return bindings.get(test.bind, MISSING)
        return MISSING

    def describe(self, bindings: Mapping[str, Any]) -> str:
        """The premise with its bindings filled in (``?name`` where still open)."""
        if self.kind == "test":
            return self.test.text

        def show(name):
            test = self.field(name)
            value = self.value(name, bindings)
            if value is not MISSING:
                return str(value)
            return f"?{test.bind}" if test is not None and test.bind else "?"

        if self.kind == "setting":
            return " ".join(f"{f.field} {show(f.field)}" for f in self.fields)
        role = self.value("role", bindings)
        text = f"{show('concept')}@{show('site')}"
        if self.field("injury") is not None:
            text += f"/{show('injury')}"
        extras = [f.field for f in self.fields if f.field not in ("role", "concept", "site", "injury")]
        if role == "injury":
            text = "injury " + text
        if extras:
            text += " (" + ", ".join(f"{name} {show(name)}" for name in extras) + ")"
        return text


@dataclass(frozen=True)
class RulePremises:
    """A rule's id and premises; ``conclusion_site`` is a site key or ``?binding``."""

    id: str
    premises: tuple[Premise, ...]
    conclusion_site: str | None


@dataclass(frozen=True)
class Match:
    """The best partial match of a rule: which premises held, on which facts."""

    rule: str
    bindings: tuple[tuple[str, Any], ...]
    held: tuple[tuple[int, str | None], ...]
    failed: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return not self.failed


def _names_text(pred: Predicate) -> str:
    return "".join(f" ({name} = {value})" for name, value in pred.names)


def _lambda_source(func: Callable) -> str:
    """The expression of a lambda, read back from its module's source."""
    try:
        lines, start = inspect.getsourcelines(func)
        tree = ast.parse(inspect.getsource(inspect.getmodule(func)))
    except (OSError, TypeError):  # pragma: no cover - no source shipped
        return func.__name__
    args = list(func.__code__.co_varnames[:func.__code__.co_argcount])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Lambda) and node.lineno == func.__code__.co_firstlineno
                and [a.arg for a in node.args.args] == args):
            return ast.unparse(node.body)
    return textwrap.dedent("".join(lines)).strip()  # pragma: no cover


def _predicate(func: Callable) -> Predicate:
    code = func.__code__
    names = []
    for name in sorted(code.co_names):
        value = func.__globals__.get(name, MISSING)
        if isinstance(value, (set, frozenset, tuple, list)):
            names.append((name, ", ".join(sorted(map(str, value)))))
    return Predicate(func, tuple(code.co_varnames[:code.co_argcount]), _lambda_source(func), tuple(names))


def _field_test(name: str, constraint: Any) -> FieldTest:
    literal, bind, preds = MISSING, None, []
    parts = list(constraint) if isinstance(constraint, ANDFC) else [constraint]
    for part in parts:
        if isinstance(part, W):
            bind = part.__bind__
        elif isinstance(part, P):
            preds.append(_predicate(part[0]))
        elif isinstance(part, (str, int, bool)):
            literal = part
        else:
            raise NotImplementedError(f"field {name}: unsupported constraint {part!r}")
    return FieldTest(name, literal, bind, tuple(preds))


def _premises(rule: Rule) -> tuple[Premise, ...]:
    premises = []
    for i, ce in enumerate(rule):
        if isinstance(ce, TEST):
            premises.append(Premise(i, "test", (), _predicate(ce[0])))
        elif isinstance(ce, (C, Setting)) and not isinstance(ce, TEST):
            kind = "setting" if isinstance(ce, Setting) else "fact"
            fields = tuple(_field_test(k, v) for k, v in sorted(ce.items()) if not str(k).startswith("__"))
            premises.append(Premise(i, kind, fields, None))
        else:
            raise NotImplementedError(f"rule {rule_id(rule)}: unsupported premise {ce!r}")
    return tuple(premises)


def _conclusion_site(premises: tuple[Premise, ...]) -> str | None:
    # A rule concludes at the site it binds (``MATCH.site``) or, failing
    # that, at the one literal site its patterns name; the property tests
    # check this reading against every fact the engine concludes.
    sites = set()
    for p in premises:
        test = p.field("site")
        if test is None:
            continue
        if test.bind is not None:
            return f"?{test.bind}"
        if test.literal is not MISSING:
            sites.add(test.literal)
    return sites.pop() if len(sites) == 1 else None


@functools.lru_cache(maxsize=1)
def rule_premises() -> Mapping[str, RulePremises]:
    """Every engine rule's premises, by stable rule id (read once per process).

    >>> sorted(rule_premises())[:2]
    ['atypical-radiating-pain', 'break-cycle-fix-injury']
    """
    rules = {}
    for name in sorted(dir(PainEngine)):
        rule = getattr(PainEngine, name)
        if isinstance(rule, Rule):
            premises = _premises(rule)
            rules[rule_id(rule)] = RulePremises(rule_id(rule), premises, _conclusion_site(premises))
    return rules


def fact_fields(traced) -> dict[str, Any]:
    """The fields of a traced fact as the engine matched them (concept, site, details)."""
    fields = {"concept": traced.concept, "site": traced.site}
    fields.update(traced.details)
    return fields


def _match_fact(premise: Premise, fields: Mapping[str, Any], bindings: dict) -> dict | None:
    new = dict(bindings)
    for test in premise.fields:
        value = fields.get(test.field, MISSING)
        if test.check(value, new) is not None:
            return None
        if test.bind is not None:
            new[test.bind] = value
    return new


def best_match(rule: RulePremises, facts: Mapping[str, Mapping[str, Any]], setting: Mapping[str, Any],
               bindings: Mapping[str, Any] | None = None) -> Match:
    """The assignment of facts to the rule's premises under which the most premises hold.

    ``facts`` maps fact ids to their fields (see :func:`fact_fields`);
    ``setting`` holds the run's settings; ``bindings`` fixes variables first
    (for example ``{"site": "neck"}``). Ties go to the assignment with the
    smallest fact ids, so answers are deterministic.

    >>> rp = rule_premises()["persistent-pain-from-knots"]
    >>> best_match(rp, {"muscle_knots@neck": {"concept": "muscle_knots", "site": "neck"}}, {}).held
    ((0, 'muscle_knots@neck'),)
    """
    premises = rule.premises
    best: tuple | None = None

    def search(i: int, env: dict, held: tuple, failed: tuple) -> None:
        nonlocal best
        if i == len(premises):
            key = (-len(held), tuple(fid or "" for _, fid in held))
            if best is None or key < best[0]:
                best = (key, env, held, failed)
            return
        premise = premises[i]
        if premise.kind == "test":
            if all(a in env for a in premise.test.args) and premise.test.holds(env):
                search(i + 1, env, held + ((i, None),), failed)
            else:
                search(i + 1, env, held, failed + (i,))
            return
        pool = [(None, setting)] if premise.kind == "setting" else sorted(facts.items())
        for fid, fields in pool:
            new = _match_fact(premise, fields, env)
            if new is not None:
                search(i + 1, new, held + ((i, fid),), failed)
        search(i + 1, env, held, failed + (i,))

    search(0, dict(bindings or {}), (), ())
    _, env, held, failed = best
    return Match(rule.id, tuple(sorted(env.items())), held, failed)
