"""HTML of the pages: one layout, the explanation page rendering a Presentation, every value escaped.

:func:`explanation_body` renders a :class:`~kg.render.presentation.Presentation`
(:mod:`kg.render.presentation`) as a clinical summary: the answer card (the
headline in ``<h1 id="headline">``, each site's key conclusion with its
certainty badge, the clinician and patient wordings as two tabs), each key
conclusion with its key chain as an ordered list of steps (certainty badge,
rule, condition, the quoted sentences one click away in ``<details>``), then
what would change it, what can help, the flags, the input not used and the
sentences cited; the full report and the graph are collapsed sections. Every
sentence is the presentation's (:mod:`kg.knowledge.wording`); this module adds
headings and labels only. The stylesheet is ``templates/page.css``, inlined;
the disclaimer is the footer of every page, once.

>>> page = layout("a <b>", "<p>x</p>")
>>> "a &lt;b&gt;" in page and "reasoning aid" in page and page.count("not a diagnosis") == 1
True
"""

from __future__ import annotations

import html
from functools import lru_cache
from importlib import resources

__all__ = ["esc", "layout", "error_page", "form_page", "pre", "graph_frame", "explanation_body", "explanation_page",
           "docs_page", "EXAMPLES"]

#: The bundled examples the start page offers (file stem under ``templates/`` -> button label).
EXAMPLES = {"lower-back-strain-day20": "A lower back strain, 20 days on",
            "two-injuries": "Two injuries at two sites"}

_NAV = (("/", "Explain a patient"), ("/patients", "Stored patients"), ("/sparql", "SPARQL"), ("/docs", "API"))
# Loads a collapsed graph only when it is opened (the graph page is large and reasons again), and
# opens a collapsed section a link points at (#detail, #graph-section).
_PAGE_SCRIPT = ("<script>document.querySelectorAll('details[data-graph]').forEach(function (d) {"
                "d.addEventListener('toggle', function () { var f = d.querySelector('iframe');"
                " if (d.open && !f.getAttribute('src')) { f.setAttribute('src', d.getAttribute('data-graph')); }"
                "});});function painkgOpen() {"
                " var t = location.hash && document.getElementById(location.hash.slice(1));"
                " if (t && t.tagName === 'DETAILS') { t.open = true; } }"
                "window.addEventListener('hashchange', painkgOpen); painkgOpen();</script>")


@lru_cache(maxsize=1)
def _style() -> str:
    return resources.files("kg.serve").joinpath("templates", "page.css").read_text(encoding="utf-8")


def esc(value) -> str:
    """``value`` as HTML text, quotes escaped too.

    >>> esc('<a href="x">')
    '&lt;a href=&quot;x&quot;&gt;'
    """
    return html.escape("" if value is None else str(value), quote=True)


def layout(title: str, body: str, *, json_href: str | None = None, script: str = "") -> str:
    """A whole page: the site header with links, ``body`` (already HTML), the disclaimer as footer."""
    from ..knowledge.wording import DISCLAIMER

    links = [*_NAV, *((json_href, "JSON"),)] if json_href else list(_NAV)
    nav = " ".join(f'<a href="{esc(href)}"' + (' rel="alternate" type="application/json"' if name == "JSON" else "")
                   + f">{esc(name)}</a>" for href, name in links)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<link rel=\"icon\" href=\"data:,\">\n"
            f"<title>{esc(title)}</title>\n<style>{_style()}</style>\n</head>\n<body>\n"
            f'<header class="site"><a class="brand" href="/">painkg</a><nav aria-label="painkg">{nav}</nav></header>\n'
            f"<main>\n{body}\n</main>\n<footer id=\"disclaimer\">{esc(DISCLAIMER)}</footer>\n"
            f"{script}</body>\n</html>\n")


def error_page(status: int, message: str, title: str = "painkg: the input could not be used",
               back: str = "Back to the start page") -> str:
    """A page saying what was wrong (the same message as the JSON error)."""
    return layout(title, f'<div class="card"><h1>{esc(title.removeprefix("painkg: "))}</h1>'
                         f'<p class="error" role="alert" data-status="{status}">{esc(message)}</p>'
                         f'<p><a href="/">{esc(back)}</a></p></div>')


def pre(text: str, cls: str = "text") -> str:
    """``text`` in a ``<pre>``."""
    return f'<pre class="{esc(cls)}">{esc(text)}</pre>'


def graph_frame(src: str) -> str:
    """The graph, collapsed: an iframe loaded from ``src`` when opened, and a link to open it alone."""
    return (f'<details class="more card" id="graph-section" data-graph="{esc(src)}"><summary>The graph</summary>'
            '<iframe class="graph" id="graph" title="The explanation as an interactive graph"></iframe>'
            f'<p><a href="{esc(src)}" target="_blank" rel="noopener">Open the graph on its own page</a></p></details>')


def form_page(text: str = "", audience: str = "clinician", message: str | None = None) -> str:
    """The start page: try an example, or paste or upload a patient (painkg JSON or FHIR R4) and explain it."""
    error = f'<p class="error" role="alert">{esc(message)}</p>' if message else ""
    checked = " selected" if audience == "patient" else ""
    buttons = "".join(f'<button type="submit" name="example" value="{esc(stem)}" id="try-{esc(stem)}"'
                      f'{"" if n == 0 else " class=secondary"}>{esc(label)}</button>'
                      for n, (stem, label) in enumerate(EXAMPLES.items()))
    body = ('<div class="card"><h1>Why does this patient\'s pain persist?</h1>'
            "<p>painkg answers from one source text on muscle spasm, muscle knots and low back strain: the answer "
            "first, then the chain of steps behind it, each with its certainty and the sentences it rests on.</p>"
            '<form method="post" action="/" class="examples" id="examples-form"><strong>Try an example:</strong>'
            f"{buttons}</form></div>"
            f'<div class="card">{error}<form method="post" action="/" enctype="multipart/form-data" id="explain-form">'
            '<label for="patient">Paste a patient: painkg\'s JSON, or FHIR R4 JSON (a Bundle or one resource)</label>'
            f'<textarea id="patient" name="patient">{esc(text)}</textarea>'
            '<label for="file">or upload a file <input type="file" id="file" name="file" '
            'accept=".json,application/json,application/fhir+json"></label>'
            '<label for="as_of">Assess as of (optional, YYYY-MM-DD) <input id="as_of" name="as_of" '
            'maxlength="40"></label>'
            '<label for="audience">Open with the wording for <select id="audience" name="audience">'
            f'<option value="clinician">the clinician</option><option value="patient"{checked}>the patient</option>'
            '</select></label><p><button type="submit" id="explain">Explain</button></p></form></div>')
    return layout("painkg: why does this patient's pain persist?", body, json_href="/?format=json")


def _badge(level: str | None, audience: str = "clinician") -> str:
    from ..knowledge.wording import certainty_clause

    if not level:
        return ""
    return f'<span class="badge {esc(level)}" title="{esc(certainty_clause(level, audience))}">{esc(level)}</span>'


def _site_label(site, onto) -> str:
    return onto.concepts[site].label if site in onto.concepts else (site or "")


def _anchor(c) -> str:
    return "at-" + (c.site or "none") + "-" + c.concept


def _quotes(quotes) -> str:
    if not quotes:
        return ""
    return ('<details class="quotes"><summary>Source ' + esc(", ".join(q.passage for q in quotes)) + "</summary>"
            "<blockquote>" + "".join(f"<p><cite>{esc(q.passage)}</cite>\u201c{esc(q.text)}\u201d</p>" for q in quotes)
            + "</blockquote></details>")


def _step(link, audience: str) -> str:
    # The patient's sentences are written as a text list's items ("- You told us ..."): the list is the <ol>.
    said = link.said[2:] if link.said.startswith("- ") else link.said
    parts = [f'<li class="step {esc(link.certainty)}"><div class="step-head">{_badge(link.certainty, audience)}'
             f'<span class="said">{esc(said)}</span></div>']
    if audience == "clinician" and link.rule:
        firmness = ("" if link.step_certainty in (None, link.certainty) else
                    f' <span class="step-cert">(this step: {esc(link.step_certainty)})</span>')
        parts.append(f'<p class="rule">by rule <code>{esc(link.rule)}</code>: {esc(link.rule_label)}{firmness}</p>')
        if link.because:
            parts.append(f'<p class="because">given {esc("; ".join(link.because))}</p>')
        if link.condition:
            parts.append(f'<p class="condition">condition: {esc(link.condition)}</p>')
        parts.append(_quotes(link.quotes))
    return "".join(parts) + "</li>"


def _conclusion(c, audience: str) -> str:
    said = "Carried by" if audience == "clinician" else "The source says:"
    carried = (f'<p class="carried"><span class="label">{esc(said)}</span> <cite>{esc(c.carried_by.passage)}</cite>'
               f"\u201c{esc(c.carried_by.text)}\u201d</p>" if c.carried_by else "")
    return (f'<section class="card conclusion" id="{esc(_anchor(c))}"><h2>{esc(c.heading)}</h2>'
            f'<ol class="chain">{"".join(_step(link, audience) for link in c.links)}</ol>{carried}</section>')


def _listed(section_id: str, title: str, items, cls: str = "") -> str:
    if not items:
        return ""
    return (f'<section class="card {cls}" id="{section_id}"><h2>{esc(title)}</h2><ul>'
            + "".join(f"<li>{esc(x)}</li>" for x in items) + "</ul></section>")


def _arrows(text: str) -> str:
    # An arrow of a chain ("->") never breaks across two lines; the text stays the same.
    return text.replace("-&gt;", '<span class="arrow">-&gt;</span>')


def _answer(p, onto, tabs: dict[str, str], jumps: list[tuple[str, str]]) -> str:
    level = p.persistent_pain or "none"
    more = ('<p class="jump">' + " ".join(f'<a href="{esc(href)}">{esc(name)}</a>' for href, name in jumps) + "</p>"
            if jumps else "")
    at = "".join(f'<li><a href="#{esc(_anchor(c))}">{esc(_site_label(c.site, onto))}</a>: {esc(c.label)} '
                 f"{_badge(c.certainty, p.audience)}</li>" for c in p.conclusions)
    names = {"clinician": ("For the clinician", "The clinician's wording: rules, conditions, quotes"),
             "patient": ("For the patient", "The same answer in plain words, for the patient")}
    nav = "".join(f'<a href="{esc(href)}" id="tab-{who}" title="{esc(names[who][1])}"'
                  + (' aria-current="page"' if who == p.audience else "") + f">{esc(names[who][0])}</a>"
                  for who, href in tabs.items())
    return (f'<section class="card answer persists-{esc(level)}" aria-labelledby="headline">'
            f'<p class="meta">Patient <strong>{esc(p.patient)}</strong> &middot; assessed on {esc(p.assessed_on)} '
            f"&middot; knots after {esc(p.threshold_days)} days unresolved</p>"
            f'<h1 id="headline">{_arrows(esc(p.headline))}</h1>' + (f'<ul class="at">{at}</ul>' if at else "")
            + f'<nav class="audience" aria-label="Wording">{nav}</nav>{more}</section>')


def explanation_body(p, onto, *, tabs: dict[str, str], text: str | None, graph_src: str | None) -> str:
    """The explanation page's body for the presentation ``p`` (its audience's wording).

    ``tabs`` maps each audience to the URL of its wording; ``text`` is the full
    report (``e.to_text()``) and ``graph_src`` the URL of the graph page, each
    shown collapsed when given.
    """
    patient = p.audience == "patient"
    side = (_listed("changes", "What could change it" if patient else "What would change it", p.changes)
            + _listed("helps", "What the source says can help", p.helps)
            + _listed("flags", "Worth knowing" if patient else "Flags", p.flags, "flags")
            + _listed("not-used", "Input not used", p.not_used))
    main = "".join(_conclusion(c, p.audience) for c in p.conclusions)
    sources = ""
    if p.sources and not patient:
        sources = ('<section class="card" id="sources"><h2>The sentences cited</h2><ol class="sources">'
                   + "".join(f'<li id="src-{esc(q.passage)}"><cite>{esc(q.passage)}</cite>'
                             f"\u201c{esc(q.text)}\u201d</li>" for q in p.sources)
                   + f'</ol><p class="legend">{esc(p.legend)}</p></section>')
    more, jumps = "", [("#sources", "The sentences cited")] if sources else []
    if text is not None:
        from ..knowledge.wording import DISCLAIMER

        jumps.append(("#detail", "Every step (the full report)"))
        shown = text.removesuffix(DISCLAIMER + "\n").rstrip("\n") + "\n"  # the footer says it, once a page
        more += (f'<details class="more card" id="detail"><summary>Every step (the full report)</summary>'
                 f"{pre(shown)}</details>")
    if graph_src is not None:
        jumps.append(("#graph-section", "The graph"))
        more += graph_frame(graph_src)
    cols = f'<div class="cols"><div class="main">{main}</div><div class="side">{side}</div></div>' \
        if side else f'<div class="main">{main}</div>'
    return _answer(p, onto, tabs, jumps) + cols + sources + more


def explanation_page(title: str, body: str, json_href: str) -> str:
    """A whole explanation page (the graph loads when its section is opened)."""
    return layout(title, body, json_href=json_href, script=_PAGE_SCRIPT)


def docs_page(endpoints: list[tuple[str, str, str]]) -> str:
    """``/docs``: the endpoints (method, path, summary) and the OpenAPI document, with nothing fetched."""
    rows = "".join(f"<tr><td><code>{esc(m)}</code></td><td><code>{esc(path)}</code></td><td>{esc(s)}</td></tr>"
                   for m, path, s in endpoints)
    body = ('<div class="card"><h1>The painkg HTTP API</h1>'
            '<p>The OpenAPI 3 document is <a href="/openapi.json">/openapi.json</a>: open it in any OpenAPI viewer, '
            "or generate a client from it. Every error is JSON: "
            "<code>{\"error\", \"field\", \"status\"}</code>. Every page has a JSON twin "
            "(<code>?format=json</code> or <code>Accept: application/json</code>).</p>"
            '<pre>curl -s -X POST http://127.0.0.1:8000/explain -H \'Content-Type: application/json\' \\\n'
            "     --data-binary @examples/lower-back-strain-day20.json</pre></div>"
            '<div class="card"><h2>Endpoints</h2><table class="endpoints"><thead><tr><th>method</th><th>path</th>'
            f"<th>what it does</th></tr></thead><tbody>{rows}</tbody></table></div>")
    return layout("painkg: the HTTP API", body, json_href="/openapi.json")
