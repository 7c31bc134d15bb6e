"""`-o FILE` is written whole or not at all (kg.cli.output.write_output).

A real `ulimit -f` makes the write fail part way, as a full disk would: the target must not be
left half written, and the command must say so as `error: ...` with exit status 2.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

import kg
from kg.cli import cli

from support import EXAMPLES

DAY20 = EXAMPLES / "lower-back-strain-day20.json"
needs_bash = pytest.mark.skipif(shutil.which("bash") is None or not hasattr(os, "fork"), reason="needs bash's ulimit")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed: apt-get install graphviz")


def _limited(args: list[str], cwd, kib: int = 8) -> subprocess.CompletedProcess:
    """Run painkg with files limited to ``kib`` KiB (bash counts `ulimit -f` in 1024-byte blocks)."""
    command = f"ulimit -f {kib}; exec {shlex.quote(sys.executable)} -m kg.cli " + " ".join(map(shlex.quote, args))
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120)


CASES = {
    "html": ["graph", str(DAY20), "--format", "html", "-o", "out.html"],
    "trig": ["explain", str(DAY20), "--format", "trig", "-o", "out.trig"],
    "png": ["graph", str(DAY20), "--format", "png", "-o", "out.png"],
    "svg": ["graph", "--ontology", "--format", "svg", "-o", "out.svg"],
}


@needs_bash
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "existing-file"])
def test_a_write_past_the_file_size_limit_leaves_no_partial_file(tmp_path, case, existing):
    if case in ("png", "svg") and shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed: apt-get install graphviz")
    args = CASES[case]
    target = tmp_path / args[-1]
    if existing:
        target.write_bytes(b"the old content\n")
    done = _limited(args, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f'error: --output: cannot write "{target.name}" (File too large); '
                                  "nothing was written to it"), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    # The target is as it was, and no temporary file is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ([target.name] if existing else [])
    if existing:
        assert target.read_bytes() == b"the old content\n"


@needs_bash
def test_within_the_limit_the_file_is_written_whole(tmp_path):
    done = _limited(["graph", "--ontology", "--format", "mermaid", "-o", "out.mmd"], tmp_path, kib=1024)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.mmd").read_text(encoding="utf-8") == kg.causal_graph().to_mermaid()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mmd"]


def test_replacing_a_file_keeps_its_permissions_and_writes_the_same_bytes_as_stdout(tmp_path):
    target = tmp_path / "g.dot"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    result = CliRunner().invoke(cli, ["graph", str(DAY20), "--format", "dot", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    stdout = CliRunner().invoke(cli, ["graph", str(DAY20), "--format", "dot"]).stdout_bytes
    assert target.read_bytes() == stdout == kg.explain(DAY20).graph().to_dot().encode("utf-8")


def test_a_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli, ["graph", "--ontology", "--format", "json", "-o", str(tmp_path / "g.json")])
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "g.json").stat().st_mode) == 0o644


def test_writing_through_a_symlink_replaces_the_file_it_points_to(tmp_path):
    real = tmp_path / "real.mmd"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.mmd"
    link.symlink_to(real)
    result = CliRunner().invoke(cli, ["graph", "--ontology", "--format", "mermaid", "-o", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text(encoding="utf-8") == kg.causal_graph().to_mermaid()


def test_output_to_a_device_is_written_in_place():
    done = subprocess.run([sys.executable, "-m", "kg.cli", "graph", "--ontology", "--format", "mermaid",
                           "-o", "/dev/stdout"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == kg.causal_graph().to_mermaid()


@pytest.mark.parametrize("where", ["missing-dir/out.dot", "."], ids=["missing-directory", "a-directory"])
def test_an_unwritable_target_is_an_output_error(tmp_path, where):
    result = CliRunner().invoke(cli, ["graph", "--ontology", "--format", "dot", "-o", str(tmp_path / where)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --output: cannot write ")
    assert "nothing was written to it" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
