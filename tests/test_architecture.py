"""The layout of docs/architecture.md holds: layers, no cycles, small modules, a light `import kg`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kg
import kg.ontology
import kg.rules

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"
KG = Path(kg.__file__).parent
RULES = Path(kg.rules.__file__).parent
ONTOLOGY = Path(kg.ontology.__file__).parent


def _wheel_layout(tmp_path: Path) -> Path:
    """kg/ with rules/ and ontology/ inside it, as a wheel installs them.

    An editable install maps kg.rules to rules/ outside kg/, where the import
    graph builder does not look; a copy in the wheel's layout checks the same
    code under either install.
    """
    tree = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(KG, tree / "kg", ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(RULES, tree / "kg" / "rules", ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(ONTOLOGY, tree / "kg" / "ontology", ignore=ignore, dirs_exist_ok=True)
    return tree


def _lint(tree: Path) -> subprocess.CompletedProcess:
    """Run the contracts of pyproject.toml over ``tree``; stdout without colour codes."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = ("import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(CONFIG)!r}, no_cache=True))")
    run = subprocess.run([sys.executable, "-c", code],
                         cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    run.stdout = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout)  # older import-linters colour even when piped
    return run


def test_the_import_contracts_are_kept(tmp_path):
    run = _lint(_wheel_layout(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 2 kept, 0 broken." in run.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path):
    # The contract is not vacuous: knowledge importing a renderer is caught.
    tree = _wheel_layout(tmp_path)
    (tree / "kg" / "knowledge" / "upward.py").write_text("from ..render import text\n")
    run = _lint(tree)
    assert run.returncode == 1
    assert "kg.knowledge.upward -> kg.render.text" in run.stdout


def test_only_reasoning_uses_the_engine(tmp_path):
    tree = _wheel_layout(tmp_path)
    (tree / "kg" / "questions" / "engine_user.py").write_text("from ..rules.engine import PainEngine\n")
    run = _lint(tree)
    assert run.returncode == 1
    assert "kg.questions.engine_user -> kg.rules.engine" in run.stdout


def test_the_explanation_does_not_import_what_builds_or_views_it():
    # The old cycle: explanation -> timeline -> api -> explanation.
    source = (KG / "reasoning" / "explanation.py").read_text()
    for module in ("reasoner", "questions", "render", "timeline", "why_not"):
        assert f"from ..{module}" not in source and f"from .{module}" not in source


HEAVY = ("networkx", "pyoxigraph", "rdflib.plugins.sparql", "owlrl", "fastapi", "starlette", "uvicorn",
         "dask", "distributed", "pyarrow")


def test_import_kg_is_light():
    code = ("import sys, kg; heavy = " + repr(HEAVY) + "; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {h.split('.')[0] for h in heavy} "
            "and any(m == h or m.startswith(h + '.') for h in heavy)))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_no_module_is_over_400_lines():
    sizes = {str(p.relative_to(p.parents[1])): len(p.read_text().splitlines())
             for base in (KG, RULES) for p in base.rglob("*.py")}
    assert len(sizes) > 30
    assert {name: n for name, n in sizes.items() if n > 400} == {}


def test_kg_shows_the_flow():
    stages = {p.name for p in KG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {"knowledge", "inputs", "reasoning", "questions", "render", "store", "cli"} <= stages
    assert sorted(p.name for p in KG.glob("*.py")) == ["__init__.py", "errors.py"]


def test_kg_does_not_edit_its_own_path():
    assert len(kg.__path__) == 1


@pytest.mark.parametrize("name", ["kg.rules", "kg.ontology"])
def test_rules_and_ontology_are_subpackages_of_kg(name):
    module = sys.modules[name]
    assert module.__name__ == name


def test_no_import_cycle_between_modules(tmp_path):
    # Lazy imports inside functions count too: a cycle is a cycle whenever it runs.
    tree = _wheel_layout(tmp_path)
    code = ("import grimp, networkx as nx; g = grimp.build_graph('kg', cache_dir=None); "
            "d = nx.DiGraph((m, i) for m in g.modules for i in g.find_modules_directly_imported_by(m)); "
            "print(sorted(sorted(c) for c in nx.simple_cycles(d))); print(d.number_of_edges())")
    run = subprocess.run([sys.executable, "-c", code], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    cycles, edges = run.stdout.splitlines()
    assert int(edges) > 100
    assert cycles == "[]"
