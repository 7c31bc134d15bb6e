"""HTML building blocks of the pages: one layout, every value escaped, the disclaimer in every footer.

>>> page = layout("a <b>", "<p>x</p>")
>>> "a &lt;b&gt;" in page and "reasoning aid" in page
True
"""

from __future__ import annotations

import html

__all__ = ["esc", "layout", "error_page", "form_page", "pre", "graph_frame"]

_STYLE = """
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #212121; }
header, footer, main { padding: 10px 18px; }
header { border-bottom: 1px solid #ddd; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
footer { border-top: 1px solid #ddd; font-size: 12px; color: #555; }
.cols { display: grid; grid-template-columns: minmax(320px, 1fr) minmax(420px, 1.2fr); gap: 16px; }
.texts { display: flex; flex-direction: column; gap: 12px; min-width: 0; }
pre { white-space: pre-wrap; background: #fafafa; border: 1px solid #e0e0e0; padding: 10px; margin: 0;
      font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; }
section.patient { background: #f1f8e9; border: 1px solid #c5e1a5; padding: 10px; }
section.patient p { margin: 4px 0; white-space: pre-wrap; }
iframe.graph { width: 100%; height: 78vh; border: 1px solid #ddd; }
textarea { width: 100%; min-height: 260px; font: 13px ui-monospace, Menlo, Consolas, monospace; }
.error { background: #ffebee; border: 1px solid #ef9a9a; padding: 10px; white-space: pre-wrap; }
label { display: block; margin-top: 8px; }
"""


def esc(value) -> str:
    """``value`` as HTML text, quotes escaped too.

    >>> esc('<a href="x">')
    '&lt;a href=&quot;x&quot;&gt;'
    """
    return html.escape("" if value is None else str(value), quote=True)


def layout(title: str, body: str, *, json_href: str | None = None) -> str:
    """A whole page: header with links, ``body`` (already HTML), footer with the disclaimer."""
    from ..knowledge.wording import DISCLAIMER

    twin = f' <a href="{esc(json_href)}" rel="alternate" type="application/json">JSON</a>' if json_href else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<header><h1>{esc(title)}</h1><nav><a href=\"/\">Explain a patient</a> "
            f"<a href=\"/patients\">Stored patients</a> <a href=\"/sparql\">SPARQL</a> "
            f"<a href=\"/docs\">API</a>{twin}</nav></header>\n"
            f"<main>\n{body}\n</main>\n<footer id=\"disclaimer\">{esc(DISCLAIMER)}</footer>\n</body>\n</html>\n")


def error_page(status: int, message: str, title: str = "painkg: the input could not be used") -> str:
    """A page saying what was wrong (the same message as the JSON error)."""
    return layout(title, f'<p class="error" role="alert" data-status="{status}">{esc(message)}</p>'
                         '<p><a href="/">Back</a></p>')


def pre(text: str, cls: str = "text") -> str:
    """``text`` in a ``<pre>``."""
    return f'<pre class="{esc(cls)}">{esc(text)}</pre>'


def graph_frame(graph_html: str | None = None, src: str | None = None) -> str:
    """An iframe holding a graph page: inline (``srcdoc``) or by URL (``src``)."""
    where = f'srcdoc="{esc(graph_html)}"' if graph_html is not None else f'src="{esc(src)}"'
    return f'<iframe class="graph" id="graph" title="The explanation as an interactive graph" {where}></iframe>'


def form_page(text: str = "", audience: str = "clinician", message: str | None = None) -> str:
    """The start page: paste or upload a patient (painkg JSON or FHIR R4) and explain it."""
    error = f'<p class="error" role="alert">{esc(message)}</p>' if message else ""
    checked = ' selected' if audience == "patient" else ""
    body = (f"{error}<p>Paste a patient as painkg's JSON or as FHIR R4 JSON (a Bundle or one resource), or "
            "upload a file, and see why the pain persists (or not): the text explanation beside the graph.</p>"
            '<form method="post" action="/" enctype="multipart/form-data" id="explain-form">'
            f'<label for="patient">Patient JSON</label><textarea id="patient" name="patient">{esc(text)}</textarea>'
            '<label for="file">or a file <input type="file" id="file" name="file" '
            'accept=".json,application/json,application/fhir+json"></label>'
            '<label for="as_of">Assess as of (optional, YYYY-MM-DD) <input id="as_of" name="as_of" '
            'maxlength="40"></label>'
            '<label for="audience">Wording <select id="audience" name="audience">'
            f'<option value="clinician">clinician</option><option value="patient"{checked}>clinician and patient'
            '</option></select></label>'
            '<p><button type="submit" id="explain">Explain</button></p></form>')
    return layout("painkg: why does this patient's pain persist?", body, json_href="/?format=json")
