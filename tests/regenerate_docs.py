"""Rewrite the generated examples in the README and docs/graphs.md (review the diff): the mermaid
graph and the README's sentence table.

Run after a change to the reasoning or the graph export: `python tests/regenerate_docs.py`.
The tests (test_readme.py, test_graph.py) check that these blocks are real output.
"""

from __future__ import annotations

import re
from pathlib import Path

import kg

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    from test_sites import SENTENCE_TABLE, sentence_table  # the README's sentence table (tests/test_sites.py)

    mermaid = kg.explain(ROOT / "examples" / "neck-strain-day16.json").graph(compact=True).to_mermaid()
    for path in (ROOT / "README.md", ROOT / "docs" / "graphs.md"):
        text = path.read_text(encoding="utf-8")
        new = re.sub(r"```mermaid\n.*?```", lambda _: "```mermaid\n" + mermaid + "```", text, count=1, flags=re.S)
        new = SENTENCE_TABLE.sub(lambda m: m.group(1) + sentence_table() + m.group(3), new)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
