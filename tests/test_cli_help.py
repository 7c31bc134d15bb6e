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
    if name == "serve":
        return _serve_example_answers(argv, tmp_path)
    run = subprocess.run([sys.executable, "-m", "kg.cli", *argv], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    if run.returncode != 0 and "dot" in run.stderr and "Graphviz" in run.stderr:
        pytest.skip("Graphviz is not installed")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout or any(tmp_path.iterdir())


def _serve_example_answers(argv, tmp_path):
    """`painkg serve` runs until stopped: start it as printed (on a free port), ask /healthz, stop it."""
    import socket
    import time
    import urllib.request

    pytest.importorskip("fastapi")
    if "--store" in argv:
        store = argv[argv.index("--store") + 1]
        out = Path(store).parent
        subprocess.run([sys.executable, "-m", "kg.cli", "batch", "examples/", "--out", str(out), "--store", store,
                        "-q"], cwd=tmp_path, check=True, capture_output=True, timeout=300)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", *argv, "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "painkg serve did not answer within 90 s"
                time.sleep(0.3)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err


def test_painkg_alone_prints_the_help_not_an_error():
    run = subprocess.run([sys.executable, "-m", "kg.cli"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert run.stdout.startswith("Usage: painkg [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in run.stdout and "explain" in run.stdout
    assert run.stderr == ""
