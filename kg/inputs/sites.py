"""Where a reported finding is: checked against the concepts the source binds to one site.

Some concepts are named for their site in the source (``pk:onlyAtSite`` in the ontology):
"severe low back pain" is in the lower back, and pain "radiating to the leg" comes from the
lower back. A finding of such a concept given at another site is an input error; given
without a site, it is placed at its own site, never at the site of an unrelated injury. Any
other finding given without a site goes where the patient's one injured site is (or nowhere
when there are several), as :func:`kg.inputs.patient.parse_patient` decides.

Example
-------
>>> from kg.inputs.patient import parse_patient
>>> neck = {"kind": "strain", "site": "neck", "days_since_onset": 3}
>>> p = parse_patient({"id": "p", "assessed_on": "2026-03-21", "injuries": [neck],
...     "findings": ["radiating_pain_to_leg", "tender_to_touch"]})
>>> [(f.concept, f.site) for f in p.findings]
[('radiating_pain_to_leg', 'lower_back'), ('tender_to_touch', 'neck')]
>>> parse_patient({"id": "p", "assessed_on": "2026-03-21", "injuries": [neck],
...     "findings": [{"kind": "severe_low_back_pain", "site": "neck"}]})
Traceback (most recent call last):
...
kg.errors.InputError: findings[0].site: "neck" is not allowed; expected lower_back (severe low back pain is only at the lower back)
"""

from __future__ import annotations

from ..errors import InputError
from ..knowledge.ontology import Ontology

__all__ = ["finding_site"]


def finding_site(onto: Ontology, at: str, item: object, concept: str, site: str | None) -> str | None:
    """The site of finding ``at`` (``findings[i]``), checked against its concept's own site.

    ``item`` is the finding as given (a key, or an object with ``kind`` and maybe ``site``);
    ``site`` is where it was given (resolved to a key) or, for a finding without a site, the
    default placement. Returns the site to use; raises :class:`~kg.errors.InputError`
    naming ``findings[i].site`` when a site-bound concept is given at another site.
    """
    allowed = onto.allowed_sites(concept)
    if allowed is None:
        return site
    given = getattr(item, "site", None)
    if given:  # as parse_patient reads it: an empty site is no site
        if site not in allowed:
            where = " or ".join(onto.concepts[s].label for s in allowed)
            raise InputError(f"{at}.site", given, f"{' or '.join(allowed)} "
                                                  f"({onto.concepts[concept].label} is only at the {where})")
        return site
    # Without a site: at its own site; where the concept allows several, the default
    # placement if it is one of them, else nowhere in particular.
    if len(allowed) == 1:
        return allowed[0]
    return site if site in allowed else None
