"""Helpers shared by the tests (importable: pyproject sets pythonpath = ["tests"])."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_SOURCE = ROOT.parent / "shared" / "source"


def example_paths() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def load_example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def strain(days: int, site: str = "lower_back", *, resolved: bool = False, kind: str = "muscle_strain",
           findings=(), mechanism: str | None = None) -> dict:
    """A one-injury patient assessed on 2026-06-30, ``days`` after onset."""
    injury = {"kind": kind, "site": site, "days_since_onset": days, "resolved": resolved}
    if mechanism:
        injury["mechanism"] = mechanism
    return {"id": "t", "assessed_on": "2026-06-30", "injuries": [injury], "findings": list(findings)}


def derived(e) -> set[str]:
    return {f.id for f in e.facts if f.status == "derived"}
