"""Every `painkg CMD --help` example is printed whole and runs as printed."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="painkg")
    assert result.exit_code == 0, result.output
    return result.output


def _examples(text: str) -> list[str]:
    lines = text.split("Example:", 1)[1].splitlines() if "Example:" in text else []
    commands: list[str] = []
    for line in lines:
        stripped = line.strip()
        if commands and commands[-1].endswith("\\"):
            commands[-1] = commands[-1][:-1] + " " + stripped
        elif stripped.startswith("painkg "):
            commands.append(stripped)
        elif stripped.startswith(("Options:", "painkg is a reasoning aid")):
            break
    return commands


COMMANDS = sorted(cli.commands)
EXAMPLES = [(name, example) for name in COMMANDS for example in _examples(_help(name))]


def test_every_command_has_examples():
    assert {name for name, _ in EXAMPLES} == set(COMMANDS)
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("name", COMMANDS)
def test_examples_are_not_rewrapped(name):
    # click re-wraps paragraphs unless marked; a wrapped command cannot be pasted.
    block = _help(name).split("Example:", 1)[1].split("Options:", 1)[0].splitlines()
    previous = ""
    for line in block:
        assert not line.strip() or line.strip().startswith("painkg ") or previous.endswith("\\"), line
        previous = line
    for example in _examples(_help(name)):
        assert example.split()[1] == name


@pytest.mark.parametrize("name,example", EXAMPLES, ids=[f"{n}:{i}" for i, (n, _) in enumerate(EXAMPLES)])
def test_help_example_runs_as_printed(name, example, tmp_path):
    # Run from a folder holding the examples, so `-o FILE` lands in tmp_path.
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    argv = shlex.split(example)[1:]
    run = subprocess.run([sys.executable, "-m", "kg.cli", *argv], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    if run.returncode != 0 and "dot" in run.stderr and "Graphviz" in run.stderr:
        pytest.skip("Graphviz is not installed")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout or any(tmp_path.iterdir())


def test_painkg_alone_prints_the_help_not_an_error():
    run = subprocess.run([sys.executable, "-m", "kg.cli"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert run.stdout.startswith("Usage: painkg [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in run.stdout and "explain" in run.stdout
    assert run.stderr == ""
