"""The README's Python examples run, and its first screen has exactly the two commands."""

from __future__ import annotations

import doctest
import os
import re

from support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for n, block in enumerate(blocks):
            test = parser.get_doctest(block, {}, f"README block {n}", "README.md", 0)
            runner.run(test)
    finally:
        os.chdir(cwd)
    assert runner.failures == 0


def test_first_screen_has_the_two_fresh_machine_commands():
    first = README.split("---", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", first, flags=re.S)[0]
    lines = [l for l in commands.splitlines() if l and not l.startswith("#")]
    assert lines == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/painkg explain examples/lower-back-strain-day20.json",
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest",
    ]
