"""The compiled ontology (kg.knowledge.compiled): built once, keyed by the Turtle, never stale, never in the way."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from kg.knowledge.compiled import cache_dir, cache_key, compiled, ontology_sources
from kg.knowledge.ontology import ONTOLOGY_FILES, Ontology, load_ontology
from kg.knowledge.ontology_turtle import ontology_records

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "lower-back-strain-day20.json"


def _turtle_copy() -> dict[str, bytes]:
    folder = resources.files("kg.ontology")
    return {name: folder.joinpath(name).read_bytes() for name in ONTOLOGY_FILES}


def _compile(files: dict[str, bytes], folder: Path, built: list) -> Ontology:
    def build():
        built.append(1)
        return ontology_records([files[name].decode("utf-8") for name in ONTOLOGY_FILES])

    return Ontology(*compiled("ontology", build, folder=folder, sources=sorted(files.items())))


def test_the_cached_model_is_the_parsed_turtle():
    onto = load_ontology()
    parsed = ontology_records([resources.files("kg.ontology").joinpath(n).read_text(encoding="utf-8")
                               for n in ONTOLOGY_FILES])
    assert parsed == (dict(onto.concepts), dict(onto.edges), dict(onto.rules), dict(onto.passages), onto.document)


def test_a_copy_is_compiled_once_and_recompiled_when_its_turtle_changes(tmp_path):
    files, built = _turtle_copy(), []
    first = _compile(files, tmp_path, built)
    again = _compile(files, tmp_path, built)
    assert built == [1], "the second load reads the cache"
    assert again.concepts["muscle_knots"].label == first.concepts["muscle_knots"].label == "muscle knots"
    assert len(list(tmp_path.glob("ontology-*.pickle"))) == 1

    edited = dict(files)
    edited["painkg.ttl"] = files["painkg.ttl"].replace(b'rdfs:label "muscle knots" ;', b'rdfs:label "knotted muscle" ;', 1)
    assert edited["painkg.ttl"] != files["painkg.ttl"]
    changed = _compile(edited, tmp_path, built)
    assert built == [1, 1], "an edited Turtle file is a new key: compiled again"
    assert changed.concepts["muscle_knots"].label == "knotted muscle"
    assert len(list(tmp_path.glob("ontology-*.pickle"))) == 1, "the stale model is dropped"
    # Back to the original Turtle: its own model again, never the edited one.
    assert _compile(files, tmp_path, built).concepts["muscle_knots"].label == "muscle knots"
    assert built == [1, 1, 1]


def test_the_key_covers_the_turtle_bytes_and_every_file():
    files = sorted(_turtle_copy().items())
    assert cache_key(files) == cache_key(list(files))
    assert cache_key(files) != cache_key(files[:-1])
    assert cache_key(files) != cache_key([(n, d + b"\n") if n == "rules.ttl" else (n, d) for n, d in files])
    shipped = dict(ontology_sources())
    assert set(ONTOLOGY_FILES) <= set(shipped)


def test_an_unusable_cache_folder_falls_back_silently(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    built = []
    onto = _compile(_turtle_copy(), blocker / "cache", built)  # mkdir fails: NotADirectoryError
    assert onto.concepts["muscle_knots"].label == "muscle knots"
    _compile(_turtle_copy(), blocker / "cache", built)
    assert built == [1, 1], "nothing cached, nothing raised"


def test_a_damaged_cache_file_is_rebuilt(tmp_path):
    files, built = _turtle_copy(), []
    _compile(files, tmp_path, built)
    (pickled,) = tmp_path.glob("ontology-*.pickle")
    pickled.write_bytes(pickled.read_bytes()[:100])
    assert _compile(files, tmp_path, built).concepts["muscle_knots"].label == "muscle knots"
    assert built == [1, 1]
    _compile(files, tmp_path, built)
    assert built == [1, 1], "the rebuilt file replaced the damaged one"


def test_cache_folder_follows_xdg():
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/painkg")
    assert cache_dir({"HOME": "/h"}).name == "painkg"


def _painkg(args: list[str], cache: Path | str | None, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PAINKG_NO_CACHE", "XDG_CACHE_HOME")}
    if cache is None:
        env["PAINKG_NO_CACHE"] = "1"
    else:
        env["XDG_CACHE_HOME"] = str(cache)
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=cwd, env=env, capture_output=True, timeout=120)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_painkg_explain_says_the_same_with_and_without_the_cache(tmp_path, fmt):
    args = ["explain", str(EXAMPLE), "--format", fmt]
    cold, warm = tmp_path / "xdg", tmp_path / "xdg"
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    runs = {"no cache": _painkg(args, None, tmp_path), "cold cache": _painkg(args, cold, tmp_path),
            "warm cache": _painkg(args, warm, tmp_path), "unwritable": _painkg(args, blocked, tmp_path)}
    for name, run in runs.items():
        assert (run.returncode, run.stderr) == (0, b""), name
    assert len({run.stdout for run in runs.values()}) == 1
    assert runs["no cache"].stdout.startswith(b"{" if fmt == "json" else b"painkg: patient p1")
    assert sorted(p.name.split("-")[0] for p in (cold / "painkg").iterdir()) == ["ontology"]
