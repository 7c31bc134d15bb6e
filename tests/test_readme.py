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


def test_readme_mermaid_example_is_real_output():
    import kg

    from support import EXAMPLES

    (block,) = re.findall(r"```mermaid\n(.*?)```", README, flags=re.S)
    assert "painkg graph examples/neck-strain-day16.json --format mermaid`" in README
    assert block == kg.explain(EXAMPLES / "neck-strain-day16.json").graph().to_mermaid()


def test_docs_python_examples_run():
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for doc in sorted((ROOT / "docs").glob("*.md")):
            session: dict = {}  # a document's blocks continue one Python session
            for n, block in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)):
                test = parser.get_doctest(block, session, f"{doc.name} block {n}", str(doc), 0)
                runner.run(test, clear_globs=False)
                session.update(test.globs)  # DocTest copies its globals
    finally:
        os.chdir(cwd)
    assert runner.tries > 0 and runner.failures == 0
