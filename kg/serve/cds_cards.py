"""An explanation as CDS Hooks 2.0 cards (https://cds-hooks.hl7.org/2.0/#card-attributes).

One card per patient, for clinicians, rendering the presentation model
(:mod:`kg.render.presentation`) and saying no more than the source does:

* ``summary`` is the headline every face opens with (under 140 characters):
  "Pain is expected to persist at the lower back: ...", "Pain may persist at
  ...", or, when nothing is concluded yet, when knots would be expected;
* ``indicator`` ``warning`` when persistent pain is expected or recorded,
  ``info`` otherwise (never ``critical``: painkg is a reasoning aid);
* ``detail`` (GitHub Markdown) lists every key conclusion (each site) with its
  key chain, each link's rule, certainty, condition and quoted sentences, then
  what would change it, what can help, the flags (radiating pain, conflicts),
  the FHIR resources not used and why, and the disclaimer;
* ``links`` open the page of this very explanation;
* nothing painkg can reason about: no card (``{"cards": []}``, the spec's "no
  decision support").

Text that comes from the request (resource ids, reasons) is escaped so it
cannot add links or markup to the card. The topic is coded in painkg's own
code system, the one the FHIR export writes and the FHIR reader reads
(:data:`kg.knowledge.xrefs.PAINKG_SYSTEM`).

>>> import kg
>>> e = kg.explain({"id": "p1", "assessed_on": "2026-03-21",
...     "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01"}]})
>>> card = card_for(e.to_dict(), e.ontology, base_url="http://127.0.0.1:8000", source_label="painkg: a text")
>>> card["summary"] == e.headline, card["indicator"], len(card["summary"]) < 140
(True, 'warning', True)
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any, Iterable

from ..knowledge.xrefs import PAINKG_SYSTEM
from ..render.presentation import present

__all__ = ["card_for", "with_uuid", "card_uuid", "md_escape", "SUMMARY_MAX", "TOPIC_SYSTEM"]

#: The spec's limit: a summary is "<140-character".
SUMMARY_MAX = 139
#: The code system of ``source.topic``: painkg's own, as in the FHIR export and reader.
TOPIC_SYSTEM = PAINKG_SYSTEM
_SOURCE_DOCUMENT = "https://w3id.org/painkg/source/document"
_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~])")


def md_escape(text: object, limit: int = 300) -> str:
    """``text`` from a request made inert in Markdown: specials escaped, one line, cut to ``limit``.

    >>> md_escape("[click](http://x) *now*\\n# big")
    '\\\\[click\\\\](http://x) \\\\*now\\\\* \\\\# big'
    """
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", flat)


def card_uuid(hook_instance: str, patient_id: str) -> str:
    """The card's uuid: the same for the same hook call and patient, so feedback can name it.

    >>> card_uuid("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "p1")
    '2b322341-5412-5a7e-b3e0-61cc82adfa3d'
    """
    # uuid.uuid5 by hand (RFC 4122 section 4.3: SHA-1 of namespace and name, version 5, variant 10):
    # the same string at a third of the cost of building UUID objects on every call.
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + f"https://w3id.org/painkg/cds/{hook_instance}/{patient_id}"
                                    .encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def with_uuid(card: dict, hook_instance: str, patient_id: str) -> dict:
    """A copy of ``card`` with its uuid first (cards are cached without one)."""
    return {"uuid": card_uuid(hook_instance, patient_id), **card}


def _link_lines(n: int, link) -> Iterable[str]:
    pad = " " * len(f"{n}. ")
    if link.rule is None:
        yield f"{n}. {link.said}"
        return
    yield f"{n}. **{link.said}**\\"
    line = f"{pad}rule `{link.rule}` ({link.rule_label}); certainty of this step: *{link.step_certainty}*"
    if link.because:
        line += f"; given {'; '.join(link.because)}"
    yield line + ("\\" if link.condition or link.quotes else "")
    if link.condition:
        yield f"{pad}condition: {link.condition}" + ("\\" if link.quotes else "")
    for i, q in enumerate(link.quotes):
        yield f"{pad}> {q.passage}: \u201c{q.text}\u201d" + ("\\" if i < len(link.quotes) - 1 else "")


def _conclusion_lines(c) -> Iterable[str]:
    yield f"#### {c.heading}"
    yield ""
    yield "Key chain: " + " \u2192 ".join(f"{x.label} ({x.certainty})" for x in c.links)
    yield ""
    for n, link in enumerate(c.links, 1):
        yield from _link_lines(n, link)
    yield ""


def _items(title: str, items) -> list[str]:
    return [f"#### {title}", "", *(f"- {x}" for x in items), ""] if items else []


def _detail(p, notes: Iterable[str]) -> str:
    lines = [f"**{p.headline}**", "",
             f"Assessed on {p.assessed_on}; knots are concluded once an injury has stayed unresolved for "
             f"{p.threshold_days} days.", ""]
    for c in p.conclusions:
        lines += list(_conclusion_lines(c))
    lines += _items("What would change it", p.changes)
    lines += _items("What the source says can help", p.helps)
    lines += _items("Flags", p.flags)
    lines += _items("Input not used", [md_escape(x, 420) for x in p.not_used] + [md_escape(n, 300) for n in notes])
    lines += ["---", "", f"*{p.legend}*", "", f"*{p.disclaimer}*"]
    return "\n".join(lines) + "\n"


def card_for(data: dict, ontology, *, base_url: str, source_label: str, ignored: Iterable[dict] = (),
             notes: Iterable[str] = (), link: str | None = None) -> dict[str, Any] | None:
    """The card of an explanation's JSON form ``data`` (:meth:`kg.Explanation.to_dict`, fresh or memoised),
    without uuid (see :func:`with_uuid`), or None when painkg has nothing to say.

    ``ignored`` lists the FHIR resources not used (``{resource, reason}``),
    ``notes`` other remarks on the data (a prefetch key the client did not
    send); ``link`` is this explanation's page (default ``{base_url}/``).
    """
    if not data["facts"]:
        return None
    p = present(data, ontology, "clinician", ignored)
    topic = "persistent_pain"
    return {
        "summary": p.headline,
        "indicator": "warning" if p.pain_persists else "info",
        "detail": _detail(p, notes),
        "source": {"label": source_label, "url": _SOURCE_DOCUMENT,
                   "topic": {"system": TOPIC_SYSTEM, "code": topic, "display": ontology.concepts[topic].label}},
        "links": [{"label": "painkg explanation page (answer, key chains and graph)",
                   "url": link or f"{base_url.rstrip('/')}/", "type": "absolute"}],
    }
