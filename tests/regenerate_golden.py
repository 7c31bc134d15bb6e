"""Rewrite tests/golden/*.json from the examples (review the diff before committing)."""

from pathlib import Path

import kg

root = Path(__file__).resolve().parent.parent
for path in sorted((root / "examples").glob("*.json")):
    (root / "tests" / "golden" / path.name).write_text(kg.explain(path).to_json(), encoding="utf-8")
    print("wrote", path.name)
