"""Memoised reasoning: the same explanation JSON as fresh reasoning, byte for byte, much faster.

In a cohort most patients repeat the same reasoning. :class:`MemoReasoner`
splits each patient into pieces, one per site and group of facts that no rule
joins (:mod:`kg.reasoning.memo_groups`), keys each piece on what the rules can
see there (:mod:`kg.reasoning.memo_key`), and reasons over a piece only the
first time its key is seen; after that the piece's cached JSON is reused with
the patient's own id, dates, day counts and the texts that quote them filled in
(:mod:`kg.reasoning.memo_pieces`). The cache is a bounded LRU (``maxsize``
pieces); ``maxsize=0`` turns it off (every patient is reasoned fresh).

One memo may serve several threads (``shared=True``, as the engine threads of ``painkg
serve`` share one, :func:`use_thread_memo`): its caches are guarded by a lock, held only to
look up and store, and a piece missing from the cache is reasoned by the calling thread's own
engine (:func:`~kg.reasoning.reasoner.thread_reasoner`), so each piece is reasoned once per
process rather than once per thread. Two threads missing the same piece at once both reason it
and store the same bytes.

Patients the split cannot handle (only if a rule ever joins facts at two sites)
are reasoned fresh, and counted in ``stats["fresh"]``. ``stats["hits"]`` counts patients whose
combination of piece keys was seen before (their merged template is reused);
``piece_hits`` and ``piece_misses`` count the pieces looked up for the others.

>>> import kg, json
>>> m = MemoReasoner()
>>> p = {"id": "a", "assessed_on": "2026-03-21", "injuries": [{"kind": "strain", "site": "neck",
...      "onset": "2026-03-01"}], "findings": ["tender_to_touch"]}
>>> q = dict(p, id="b", assessed_on="2026-04-30")
>>> for patient in (p, q):
...     fresh = kg.explain(patient).to_dict()
...     assert m.explain_json(patient).explanation == json.dumps(fresh, ensure_ascii=False, separators=(",", ":"))
>>> m.stats["hits"] > 0
True
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from itertools import compress
from operator import attrgetter

from ..inputs.patient import Patient, load_patient
from ..rules.engine import injury_fields, observed_facts
from .answer import headline
from .certainty import LEVELS, is_firm, strongest
from .explanation import _detail, build_explanation
from .expectations import expectations
from .memo_groups import INJURY, MECHANISM, concept_groups
from .memo_key import combo_key, decomposable, patient_signature, piece_keys
from .memo_pieces import Filler, Piece, _Shim, build_piece, dumps
from .reasoner import DEFAULT_THRESHOLD_DAYS, Reasoner, check_threshold, thread_reasoner

__all__ = ["MemoReasoner", "MemoResult", "DEFAULT_MEMO_SIZE", "thread_memo", "use_thread_memo", "result_of"]

#: Pieces kept by default. A realistic 100,000-patient cohort needs under 1,000; a piece is
#: tens of KB of JSON, so this bounds the cache to about 150 MB even for a cohort of outliers.
DEFAULT_MEMO_SIZE = 5_000
#: Pieces each engine thread of a server keeps (several threads share one process).
THREAD_MEMO_SIZE = 1_000


@dataclass(frozen=True)
class MemoResult:
    """One patient's explanation as compact JSON text, with the fields a batch line repeats."""

    patient_id: str
    pain_persists: bool
    persistent_pain: str | None
    conclusions: tuple[dict, ...]
    explanation: str
    #: ``conclusions`` as compact JSON (computed once per cached combination).
    conclusions_json: str = ""


def result_of(e, *, explanation: bool = True) -> MemoResult:
    """The :class:`MemoResult` of an :class:`~kg.reasoning.explanation.Explanation` reasoned fresh.

    With ``explanation=False`` the JSON of the whole explanation is not built (left empty).

    >>> import kg
    >>> r = result_of(kg.explain("examples/knots-first-report.json"), explanation=False)
    >>> r.conclusions[0], r.explanation
    ({'concept': 'persistent_pain', 'site': 'upper_back', 'certainty': 'expected'}, '')
    """
    conclusions = tuple({"concept": c.concept, "site": c.site, "certainty": e.fact(c.fact).certainty}
                        for c in e.chains)
    return MemoResult(e.patient.id, e.pain_persists, e.persistent_pain, conclusions,
                      dumps(e.to_dict()) if explanation else "", dumps(list(conclusions)))


class _Traced:
    """What :func:`kg.reasoning.explanation._detail` reads of a traced fact."""

    __slots__ = ("details", "site")

    def __init__(self, details: dict, site):
        self.details = details
        self.site = site


class MemoReasoner:
    """A :class:`~kg.reasoning.reasoner.Reasoner` with a piece cache.

    ``maxsize`` bounds the pieces, ``combos`` the merged combinations of pieces (default
    ``maxsize // 4``). With ``shared=True`` the memo may be used by several threads at once,
    each reasoning its misses on its own engine; else it is one thread's and uses ``reasoner``.
    """

    def __init__(self, reasoner: Reasoner | None = None, maxsize: int = DEFAULT_MEMO_SIZE, *,
                 combos: int | None = None, shared: bool = False):
        self.shared = shared
        self.reasoner = reasoner if reasoner is not None else thread_reasoner() if shared else Reasoner()
        self.ontology = self.reasoner.ontology
        self.maxsize = maxsize
        self.combos_size = max(1, maxsize // 4) if combos is None else max(1, combos)
        self.grouping = concept_groups(self.ontology)
        self._cache: OrderedDict[tuple, Piece] = OrderedDict()
        self._combos: OrderedDict[tuple, _Combo] = OrderedDict()
        # Patient signature -> (piece keys, combination key); as many as combinations, oldest dropped first.
        self._signatures: OrderedDict[tuple, tuple] = OrderedDict()
        # Held only to read or change the caches and the counts, never while reasoning.
        self._lock = threading.Lock()
        self.stats = {"patients": 0, "hits": 0, "fresh": 0, "piece_hits": 0, "piece_misses": 0}

    def _engine(self) -> Reasoner:
        """The reasoner for a miss: the calling thread's own when the memo is shared (engines are not thread-safe)."""
        return thread_reasoner() if self.shared else self.reasoner

    def _count(self, name: str) -> None:
        with self._lock:
            self.stats[name] += 1

    def __len__(self) -> int:
        return len(self._cache)

    def explain_json(self, patient, *, as_of: object = None,
                     threshold_days: int = DEFAULT_THRESHOLD_DAYS) -> MemoResult:
        """The patient's explanation (see :meth:`kg.Explanation.to_dict`) as compact JSON text.

        Raises :class:`~kg.errors.InputError` exactly where :func:`kg.explain` would.
        """
        return self._explain(patient, as_of, threshold_days, reason=True)

    def cached_json(self, patient, *, as_of: object = None,
                    threshold_days: int = DEFAULT_THRESHOLD_DAYS) -> MemoResult | None:
        """:meth:`explain_json` if the answer needs no reasoning (every piece is cached), else None.

        A server answers such a patient at once, where it is (a merge of cached text, well under
        a millisecond), and sends only the others to an engine thread. Input errors are raised
        as :meth:`explain_json` raises them.

        >>> m = MemoReasoner()
        >>> p = {"id": "a", "assessed_on": "2026-03-21", "injuries": [{"kind": "strain", "site": "neck",
        ...      "onset": "2026-03-01"}]}
        >>> m.cached_json(p) is None, m.explain_json(p) == m.cached_json(dict(p))
        (True, True)
        """
        return self._explain(patient, as_of, threshold_days, reason=False)

    def _explain(self, patient, as_of, threshold_days, *, reason: bool) -> MemoResult | None:
        threshold = check_threshold(threshold_days)
        parsed = load_patient(patient, as_of=as_of, ontology=self.ontology)
        if self.maxsize <= 0 or not decomposable(parsed, self.grouping):
            if not reason:
                return None
            self._count("patients")
            self._count("fresh")
            return self._fresh(parsed, threshold)
        found, keys = self._keys(parsed, threshold)
        if not reason:
            with self._lock:
                if keys not in self._combos and any(key not in self._cache for key in found.values()):
                    return None
            # (Another thread may evict a piece before the merge looks it up: then it is reasoned
            # here after all, rarely, with the same bytes.)
        self._count("patients")
        # A combination of keys seen before reuses its merged template: the pieces are not even looked up.
        return self._merge(parsed, threshold, keys,
                           lambda: [self._piece(parsed, threshold, sg, key) for sg, key in found.items()])

    def _keys(self, parsed: Patient, threshold: int) -> tuple[dict, tuple]:
        """The patient's piece keys and their combination's key, remembered by the patient's signature
        (what the keys are computed from: most patients of a cohort repeat one seen before)."""
        signature = patient_signature(parsed, threshold)
        with self._lock:
            known = self._signatures.get(signature)
        if known is None:
            found = piece_keys(parsed, threshold, self.grouping)
            known = found, combo_key(found)
            with self._lock:
                self._signatures[signature] = known
                if len(self._signatures) > self.combos_size:
                    self._signatures.popitem(last=False)
        return known

    def _fresh(self, parsed: Patient, threshold: int) -> MemoResult:
        return result_of(self._engine().explain(parsed, threshold_days=threshold))

    def _piece(self, parsed: Patient, threshold: int, site_group: tuple, key: tuple) -> Piece:
        with self._lock:
            piece = self._cache.get(key)
            if piece is not None:
                self._cache.move_to_end(key)
                self.stats["piece_hits"] += 1
                return piece
            self.stats["piece_misses"] += 1
        sites, group = site_group
        sub = self._sub_patient(parsed, sites, group)
        # The engine directly, not Reasoner.explain: re-validating the sub-patient would place its
        # site-less findings anew (with fewer injuries) instead of where the whole patient put them.
        trace = self._engine().engine.infer(observed_facts(sub), threshold_days=threshold)
        piece = build_piece(build_explanation(sub, trace, self.ontology, threshold), sites, group, self.grouping)
        with self._lock:
            self._cache[key] = piece
            if len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)
        return piece

    def _sub_patient(self, parsed: Patient, sites: tuple, group: str) -> Patient:
        # The piece's own findings, and the injuries at its site (the injury group reasons
        # over them; a projected group reads their kinds; the mechanism group their mechanisms).
        g = self.grouping
        uses_injuries = group in (g.group_of(INJURY), g.group_of(MECHANISM)) or g.projected.get(group, False)
        injuries = tuple(i for i in parsed.injuries if i.site in sites) if uses_injuries else ()
        findings = tuple(f for f in parsed.findings if f.site in sites and g.group_of(f.concept) == group)
        return replace(parsed, injuries=injuries, findings=findings)

    def _merge(self, parsed: Patient, threshold: int, keys: tuple, pieces) -> MemoResult:
        with self._lock:
            combo = self._combos.get(keys)
            if combo is not None:
                self._combos.move_to_end(keys)
                self.stats["hits"] += 1
        onto = self.ontology
        if combo is None:
            combo = _combine(pieces(), onto)
            with self._lock:
                self._combos[keys] = combo
                if len(self._combos) > self.combos_size:
                    self._combos.popitem(last=False)
        expected = [x.to_dict() for x in expectations(_Shim(parsed, onto, threshold))]
        assessed = parsed.assessed_on.isoformat()
        text = "".join((
            '{"patient":', dumps(parsed.id), ',"assessed_on":"', assessed, '","threshold_days":', dumps(threshold),
            ',"headline":', combo.headline or dumps(headline(combo.answer, expected, assessed, onto)),
            combo.persists_json, dumps(expected)[1:-1], _body(combo, parsed, onto, threshold)))
        return MemoResult(parsed.id, combo.pain_persists, combo.persistent_pain, combo.conclusions, text,
                          combo.conclusions_json)


@dataclass(frozen=True)
class _Combo:
    """One combination of pieces, merged: the text after the expectations, ready to fill."""

    pain_persists: bool
    persistent_pain: str | None
    conclusions: tuple[dict, ...]
    conclusions_json: str
    #: The sections (facts, conflicts, chains, loops, causal paths) in output order, as one flat tuple
    #: of the pieces' literal strings (shared, not copied) and the elements that have slots to fill.
    #: One object per combination for the garbage collector to walk where nested tuples were
    #: several: a server keeps thousands, and a full collection's pause grows with every object.
    body: tuple
    #: The persistent-pain conclusions with their key chains, as :func:`kg.reasoning.answer.answer_parts` orders them.
    answer: tuple = ()
    #: Where ``body`` holds an element with slots (the only parts filled per patient).
    slots: tuple[int, ...] = ()
    #: The headline as JSON when something is concluded (then it names only the conclusions, the same for
    #: every patient of the combination); "" when it must be worded per patient (from the expectations).
    headline: str = ""
    #: ``,"pain_persists":...,"persistent_pain":...,"expectations":[`` as JSON text.
    persists_json: str = ""


_SECTIONS = (("facts", '],"facts":['), ("conflicts", '],"conflicts":['), ("chains", '],"chains":['),
             ("loops", '],"loops":['), ("causal_paths", '],"causal_paths":['))


_BY_SORT = attrgetter("sort")
_TOKEN = attrgetter("token")
_HAS_SLOTS = attrgetter("slots")


def _combine(pieces: list[Piece], onto) -> _Combo:
    # Built with C-level list operations: a cohort merges tens of thousands of combinations.
    body: list = []
    slots: list[int] = []
    for name, head in _SECTIONS:
        body.append(head)
        items = [el for piece in pieces for el in getattr(piece, name)]
        if not items:
            continue
        items.sort(key=_BY_SORT)  # stable: elements with equal keys stay in the pieces' order
        start = len(body)
        section = [","] * (2 * len(items) - 1)
        section[::2] = map(_TOKEN, items)  # each element's own string (shared, not copied) or itself
        body += section
        slots += compress(range(start, start + len(section), 2), map(_HAS_SLOTS, items))
    body.append("]}")
    levels = [level for piece in pieces for level in piece.persistent]
    persistent = strongest(levels) if levels else None
    conclusions = tuple(c for _, c in sorted((c for piece in pieces for c in piece.conclusions), key=lambda sc: sc[0]))
    answer = tuple(sorted((p for piece in pieces for p in piece.answer), key=lambda p: (LEVELS.index(p[1]), p[0] or "")))
    pain_persists = is_firm(persistent)
    # With a conclusion, the headline words the conclusions alone (kg.knowledge.wording.answer_sentence
    # reads the expectations and the date only when nothing is concluded); the property tests hold it to that.
    worded = dumps(headline(answer, [], "", onto)) if answer else ""
    persists = "".join((',"pain_persists":', dumps(pain_persists), ',"persistent_pain":', dumps(persistent),
                        ',"expectations":['))
    return _Combo(pain_persists, persistent, conclusions, dumps(list(conclusions)), tuple(body), answer,
                  tuple(slots), worded, persists)


def _body(combo: _Combo, parsed: Patient, onto, threshold: int) -> str:
    """The combination's text after the expectations, its slots filled for the patient."""
    if not combo.slots:
        return "".join(combo.body)
    injuries: dict = {}
    for inj in parsed.injuries:  # the first of a kind at a site, as the engine's facts would be
        injuries.setdefault((inj.kind, inj.site), inj)
    facts: dict = {}

    def injury_fact(kind: str, site) -> dict | None:
        # The fields of that injury's fact, built only when a slot asks (once per injury).
        key = (kind, site)
        fields = facts.get(key)
        if fields is None:
            inj = injuries.get(key)
            fields = facts[key] = None if inj is None else injury_fields(inj)
        return fields

    filler = Filler(parsed, onto, threshold, injury_fact,
                    lambda fields, site: _detail(_Traced(fields, site), onto, parsed))
    parts = list(combo.body)
    for at in combo.slots:
        parts[at] = filler.text(parts[at])
    return "".join(parts)


_per_thread = threading.local()


def thread_memo() -> MemoReasoner:
    """The calling thread's :class:`MemoReasoner`: the one :func:`use_thread_memo` gave it, else its own,
    over its :func:`~kg.reasoning.reasoner.thread_reasoner`, created on first use.

    >>> thread_memo() is thread_memo() and thread_memo().reasoner is thread_reasoner()
    True
    """
    memo = getattr(_per_thread, "memo", None)
    if memo is None:
        memo = _per_thread.memo = MemoReasoner(thread_reasoner(), maxsize=THREAD_MEMO_SIZE)
    return memo


def use_thread_memo(memo: MemoReasoner) -> None:
    """Make ``memo`` (``shared=True``) the calling thread's :func:`thread_memo`.

    A thread pool calls it in each thread's initializer, so that its threads share one memo
    (see :class:`kg.serve.engines.EnginePool`).

    >>> import threading
    >>> shared, seen = MemoReasoner(shared=True, maxsize=10), []
    >>> def work():
    ...     use_thread_memo(shared)
    ...     seen.append(thread_memo())
    >>> t = threading.Thread(target=work); t.start(); t.join()
    >>> seen == [shared]
    True
    """
    if not memo.shared:
        raise ValueError("a memo used by several threads must be built with shared=True")
    _per_thread.memo = memo
