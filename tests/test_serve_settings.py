"""The settings of `painkg serve`: typed ServeSettings fields checked when built, one `painkg serve` option each
for those an operator tunes (grouped in --help, defaults shown), errors in painkg's form, and docs/serve.md's
table in step with both. In-process and fast; tests/test_serve_settings_live.py starts the real server."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import cli
from kg.errors import InputError
from kg.serve.settings import SETTING_SPECS, ServeSettings

pytest.importorskip("fastapi")

from kg.cli.serve_cmd import SECTIONS, _settings  # noqa: E402
from kg.serve.http_limits import ServeLimits, serve_limits  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: (option, field) of every limit option, in --help's order.
OPTIONS = [pair for pairs in SECTIONS.values() for pair in pairs]


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------ the Python settings


def test_the_defaults_are_the_limits_the_server_had():
    s = ServeSettings()
    assert (s.header_timeout_s, s.body_timeout_s, s.keep_alive_s, s.max_connections, s.backlog) == (10.0, 30.0,
                                                                                                   5.0, 512, 2048)
    assert (s.max_uploads, s.max_body_bytes, s.patient_body_bytes) == (8, 16 * 1024 * 1024, 1024 * 1024)
    assert (s.sparql_timeout_s, s.sparql_max_rows, s.sparql_concurrency, s.sparql_queue, s.sparql_max_wait_s) == (
        30.0, 100_000, 2, 8, 5.0)
    assert (s.health_ttl_s, s.workers, s.explanation_cache, s.cds_cache, s.log_level, s.http_parser) == (
        5.0, 4, 1000, 1024, "info", "h11")
    # kg.serve.http_limits keeps the same defaults for a ServeLimits built without settings.
    assert serve_limits(s) == ServeLimits()


@pytest.mark.parametrize("name,value,message", [
    ("header_timeout_s", 0, "header_timeout_s: 0 is not allowed; expected a number of seconds above 0 and at most "
                            "86,400"),
    ("body_timeout_s", -1.5, "body_timeout_s: -1.5 is not allowed; expected a number of seconds above 0 and at "
                             "most 86,400"),
    ("keep_alive_s", math.inf, "keep_alive_s: Infinity is not allowed; expected a number of seconds above 0 and at "
                               "most 86,400"),
    ("sparql_max_wait_s", math.nan, "sparql_max_wait_s: NaN is not allowed; expected a number of seconds above 0 "
                                    "and at most 86,400"),
    ("health_ttl_s", "5", 'health_ttl_s: "5" is not allowed; expected a number of seconds above 0 and at most '
                          '86,400'),
    ("max_connections", 0, "max_connections: 0 is not allowed; expected a whole number from 1 to 1,000,000"),
    ("max_uploads", 2.5, "max_uploads: 2.5 is not allowed; expected a whole number from 1 to 10,000"),
    ("max_body_bytes", True, "max_body_bytes: true is not allowed; expected a whole number from 1 to 1,073,741,824"),
    ("sparql_queue", -1, "sparql_queue: -1 is not allowed; expected a whole number from 0 to 10,000"),
    ("workers", 65, "workers: 65 is not allowed; expected a whole number from 1 to 64"),
    ("port", 65536, "port: 65536 is not allowed; expected a whole number from 0 to 65,535"),
    ("log_level", "loud", 'log_level: "loud" is not allowed; expected one of critical, error, warning, info, '
                          'debug, trace'),
    ("http_parser", None, "http_parser: null is not allowed; expected one of auto, h11, httptools"),
    # The value is cut short in the message, with its size.
    ("backlog", "9" * 500, 'backlog: "' + "9" * 60 + '…" (500 characters) is not allowed; expected a whole number '
                           'from 1 to 65,535'),
    ("sparql_max_rows", 10 ** 400, "sparql_max_rows: " + "1" + "0" * 59 + "… (401 digits) is not allowed; "
                                   "expected a whole number from 0 to 1,000,000,000"),
    ("sparql_timeout_s", -10 ** 400, "sparql_timeout_s: -" + "1" + "0" * 59 + "… (401 digits) is not allowed; "
                                     "expected a number of seconds above 0 and at most 86,400"),
])
def test_a_bad_value_is_an_input_error_naming_the_field(name, value, message):
    with pytest.raises(InputError) as caught:
        ServeSettings(**{name: value})
    assert str(caught.value) == message
    assert caught.value.field == name


def test_every_checked_field_refuses_a_wrong_kind():
    for name, spec in SETTING_SPECS.items():
        for wrong in ([], {}, b"1", False):
            with pytest.raises(InputError, match=f"^{name}: .* is not allowed; expected {re.escape(spec.expected())}$"):
                ServeSettings(**{name: wrong})


def test_values_are_normalised_to_their_kind():
    s = ServeSettings(header_timeout_s=2, max_connections=64.0, log_level="WARNING", http_parser="H11")
    assert (s.header_timeout_s, type(s.header_timeout_s)) == (2.0, float)
    assert (s.max_connections, type(s.max_connections)) == (64, int)
    assert (s.log_level, s.http_parser) == ("warning", "h11")
    # The bounds themselves: 0 waiting queries is allowed, 0 running is not.
    assert ServeSettings(sparql_queue=0, cds_cache=0, port=0, header_timeout_s=86_400).sparql_queue == 0


def test_extra_is_the_old_spelling_checked_the_same_way():
    s = ServeSettings(extra={"header_timeout_s": 2, "sparql_queue": 0})
    assert (s.header_timeout_s, s.sparql_queue) == (2.0, 0)
    assert s == ServeSettings(header_timeout_s=2, sparql_queue=0)
    # Read back: the settings that differ from their defaults, read-only.
    assert dict(s.extra) == {"header_timeout_s": 2.0, "sparql_queue": 0} and ServeSettings().extra == {}
    with pytest.raises(TypeError, match="read-only"):
        s.extra["sparql_queue"] = 3
    # replace() changes the field it is given (the old extra is not applied over it)...
    assert dataclasses.replace(s, header_timeout_s=7).header_timeout_s == 7.0
    # ...and a new extra is applied over the rest, as tests/serve_support.py passes its log level.
    t = dataclasses.replace(s, port=0, extra={"log_level": "warning", **s.extra})
    assert (t.port, t.log_level, t.header_timeout_s, t.sparql_queue) == (0, "warning", 2.0, 0)
    with pytest.raises(InputError, match=r'^extra: "header_timeout" is not allowed; expected a setting name '
                                         r'\(did you mean header_timeout_s\?\)$'):
        ServeSettings(extra={"header_timeout": 2})
    with pytest.raises(InputError, match="^max_uploads: 0 is not allowed"):
        ServeSettings(extra={"max_uploads": 0})


def test_every_limit_is_a_field_and_no_reader_uses_extra():
    """The readers of kg/serve use the fields: no ``.extra`` read is left but kg.serve.cds_hooks' (another
    helper's file; ServeSettings.extra still reads back cds_cache for it)."""
    readers = []
    for path in sorted((ROOT / "kg" / "serve").glob("*.py")):
        if path.name != "settings.py":
            readers += [f"{path.name}: {line.strip()}" for line in path.read_text(encoding="utf-8").splitlines()
                        if "settings.extra" in line and not line.lstrip().startswith(("#", "``", "and base"))]
    assert all(line.startswith("cds_hooks.py") for line in readers), readers
    assert {"cds_cache", "explanation_cache", "workers", "health_ttl_s", "sparql_queue", "header_timeout_s",
            "max_connections", "max_uploads", "patient_body_bytes", "http_parser", "log_level"} <= set(SETTING_SPECS)


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize("option,field", OPTIONS, ids=[o for o, _ in OPTIONS])
def test_each_option_sets_its_field(option, field):
    """A value other than the default, given on the command line, is the ServeSettings field."""
    spec = SETTING_SPECS[field]
    default = getattr(ServeSettings(), field)
    if spec.kind == "choice":
        value = next(c for c in spec.choices if c != default)
    else:
        value = "2.5" if spec.kind == "seconds" else str(default + 1)
    ctx = cli.commands["serve"].make_context("serve", [option, value])
    settings = _settings(**ctx.params)
    expected = value if spec.kind == "choice" else 2.5 if spec.kind == "seconds" else default + 1
    assert getattr(settings, field) == expected
    assert all(getattr(settings, other) == getattr(ServeSettings(), other) for other in SETTING_SPECS
               if other not in (field,))


@pytest.mark.parametrize("args,line", [
    (["--header-timeout", "0"],
     "error: --header-timeout: 0 is not allowed; expected a number of seconds above 0 and at most 86,400"),
    (["--body-timeout", "soon"],
     'error: --body-timeout: "soon" is not allowed; expected a number of seconds above 0 and at most 86,400'),
    (["--keep-alive", "nan"],
     "error: --keep-alive: NaN is not allowed; expected a number of seconds above 0 and at most 86,400"),
    (["--max-connections", "1.5"],
     "error: --max-connections: 1.5 is not allowed; expected a whole number from 1 to 1,000,000"),
    (["--backlog", "-3"], "error: --backlog: -3 is not allowed; expected a whole number from 1 to 65,535"),
    (["--max-uploads", ""], 'error: --max-uploads: "" is not allowed; expected a whole number from 1 to 10,000'),
    (["--max-body", "16MiB"],
     'error: --max-body: "16MiB" is not allowed; expected a whole number from 1 to 1,073,741,824'),
    (["--max-patient-body", "1e400"],
     "error: --max-patient-body: Infinity is not allowed; expected a whole number from 1 to 1,073,741,824"),
    (["--sparql-timeout", "-1"],
     "error: --sparql-timeout: -1 is not allowed; expected a number of seconds above 0 and at most 86,400"),
    (["--sparql-max-rows", "-1"],
     "error: --sparql-max-rows: -1 is not allowed; expected a whole number from 0 to 1,000,000,000"),
    (["--sparql-concurrency", "0"],
     "error: --sparql-concurrency: 0 is not allowed; expected a whole number from 1 to 64"),
    (["--sparql-queue", "-1"], "error: --sparql-queue: -1 is not allowed; expected a whole number from 0 to 10,000"),
    (["--sparql-max-wait", "0"],
     "error: --sparql-max-wait: 0 is not allowed; expected a number of seconds above 0 and at most 86,400"),
    (["--health-ttl", "inf"],
     "error: --health-ttl: Infinity is not allowed; expected a number of seconds above 0 and at most 86,400"),
    (["--workers", "0"], "error: --workers: 0 is not allowed; expected a whole number from 1 to 64"),
    (["--port", "99999"], "error: --port: 99999 is not allowed; expected a whole number from 0 to 65,535"),
    (["--log-level", "loud"],
     'error: --log-level: "loud" is not allowed; expected one of critical, error, warning, info, debug, trace'),
    (["--http-parser", "fast"], 'error: --http-parser: "fast" is not allowed; expected one of auto, h11, httptools'),
    (["--max-uploads", "7" * 100], 'error: --max-uploads: ' + "7" * 60 + "… (100 digits) is not allowed; expected "
                                   "a whole number from 1 to 10,000"),
])
def test_a_bad_value_exits_2_with_the_error_line(args, line):
    code, out, err = run("serve", *args)
    assert (code, out, err) == (2, "", line + "\n")


def test_help_groups_the_settings_and_shows_their_defaults():
    code, out, _ = run("serve", "--help")
    assert code == 0
    titles = [line[:-1] for line in out.splitlines() if line and not line[0].isspace() and line.endswith(":")
              and line != "Usage:"]
    assert titles == ["Options", *SECTIONS]
    text = " ".join(out.split())  # help lines wrap
    for option, field in OPTIONS:
        section = next(title for title, pairs in SECTIONS.items() if (option, field) in pairs)
        assert out.index(f"  {option} ") > out.index(f"\n{section}:"), option
        default = getattr(ServeSettings(), field)
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        assert re.search(rf"{re.escape(option)} .*?\[default: {re.escape(shown)}[\] ]", text), (option, shown)
    assert "[default: 16777216 (16 MiB)]" in text and "[default: 1048576 (1 MiB)]" in text
    assert "[default: 16384 (16 KiB)]" in text


# ------------------------------------------------------------------ docs/serve.md


def _settings_table() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    section = text.split("### Settings", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[3].startswith("`") and cells[1] != "default":
            rows[cells[3].strip("`")] = cells
    return rows


def _documented_default(field, value, spec) -> str:
    if spec.kind == "seconds":
        return f"{value:g} s"
    if spec.kind == "choice":
        return f"`{value}`"
    if value >= 1024 ** 2 and value % 1024 ** 2 == 0:
        return f"{value // 1024 ** 2} MiB"
    if field.endswith("_bytes") and value % 1024 == 0:
        return f"{value // 1024} KiB"
    return f"{value:,}"


def test_the_docs_table_lists_every_setting_with_its_default_option_and_field():
    rows = _settings_table()
    options = dict((field, option) for option, field in OPTIONS)
    assert set(rows) == set(SETTING_SPECS) - {"port"}  # --port is with --host, in the Options paragraph
    for field, (_, default, option, _, _) in rows.items():
        assert default.startswith(_documented_default(field, getattr(ServeSettings(), field), SETTING_SPECS[field])), field
        assert option == (f"`{options[field]}`" if field in options else ""), field


def test_the_systemd_unit_of_the_docs_verifies(tmp_path):
    """systemd-analyze verify accepts docs/serve.md's unit (unknown keys and bad values would be reported),
    with ExecStart pointing at this environment's painkg."""
    import shutil
    import subprocess
    import sys

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    painkg = Path(sys.executable).with_name("painkg")
    if not painkg.exists():
        pytest.skip("no painkg entry point beside this Python")
    text = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    (unit,) = re.findall(r"```ini\n(.*?)```", text, flags=re.S)
    assert "/opt/painkg/venv/bin/painkg serve" in unit
    (tmp_path / "painkg@.service").write_text(unit.replace("/opt/painkg/venv/bin/painkg", str(painkg)))
    run = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "painkg@8000.service")],
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    # Every option of its ExecStart is one painkg serve takes.
    options = re.findall(r"(--[a-z-]+)", unit.split("ExecStart=", 1)[1].split("\n#", 1)[0])
    assert options and set(options) <= {o for p in cli.commands["serve"].params for o in p.opts}
