"""The tables of docs/ say what the code does: the settings with their defaults, the commands
with their options. A change to a setting or an option fails here until the docs follow."""

from __future__ import annotations

import re

import click

from coopgraph.cli.main import cli
from coopgraph.settings import SETTINGS
from tests.support import ROOT

DOCS = ROOT / "docs"
BY_NAME = {s.name: s for s in SETTINGS}


def table_rows(text: str, head: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header row starts with ``| head |``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {head} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([c.strip().replace("\\|", "|") for c in cells])
    return rows


def shown_default(value: str | float | int | bool) -> str:
    if value == "":
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`"


def test_the_settings_table_is_the_settings() -> None:
    rows = table_rows((DOCS / "settings.md").read_text(encoding="utf-8"), "setting")
    expected = [
        [f"`{s.name}`", f"`{s.env_var}`", shown_default(s.default), s.help] for s in SETTINGS
    ]
    assert rows == expected, "update docs/settings.md from coopgraph.settings.SETTINGS"


def test_the_limits_of_the_endpoint_give_the_defaults() -> None:
    """docs/endpoint.md's limits: each setting named there exists, with the default shown."""
    rows = table_rows((DOCS / "endpoint.md").read_text(encoding="utf-8"), "setting")
    assert rows
    for names, defaults, _ in rows:
        settings = re.findall(r"`(\w+)`", names)
        values = [v.strip() for v in defaults.split(",")]
        assert len(settings) == len(values), names
        for name, shown in zip(settings, values, strict=True):
            assert name in BY_NAME, f"docs/endpoint.md names a setting that is not: {name}"
            default = BY_NAME[name].default
            number = shown.removesuffix(" s").strip("`")
            if default == "":
                assert shown == "none", (name, shown)
            elif isinstance(default, int | float):
                assert float(number) == default, f"{name}: the docs say {shown}, the code {default}"
            else:
                assert number == default, f"{name}: the docs say {shown}, the code {default}"


def _option_names(command: click.Command) -> list[set[str]]:
    """The names of each option of ``command`` (``-o`` and ``--output``; ``--explain`` and
    ``--no-explain``)."""
    return [
        {*p.opts, *p.secondary_opts} - {"--help"}
        for p in command.params
        if isinstance(p, click.Option)
    ]


def test_the_commands_table_lists_every_command_with_its_options() -> None:
    rows = table_rows((DOCS / "cli.md").read_text(encoding="utf-8"), "command")
    shown = {}
    for usage, _ in rows:
        words = usage.strip("`").split()
        assert words[0] == "coopgraph", usage
        shown[words[1]] = usage
    assert sorted(shown) == sorted(cli.commands), "docs/cli.md lists other commands than --help"
    for name, usage in shown.items():
        options = _option_names(cli.commands[name])
        mentioned = set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", usage))
        missing = [sorted(o) for o in options if not o & mentioned]
        known = set().union(*options) if options else set()
        extra = sorted(mentioned - known)
        assert not missing, f"coopgraph {name}: docs/cli.md does not give {missing}"
        assert not extra, f"coopgraph {name}: docs/cli.md gives options it does not take: {extra}"


#: A ``coopgraph`` command line: in a code block, or in an inline code span.
_COMMAND = re.compile(r"(?:^|\s|`)(?:\.venv/bin/)?coopgraph ([a-z][a-z-]*)(.*)")


def _command_lines(text: str) -> list[str]:
    """The ``coopgraph ...`` command lines of a Markdown page: each line of a code block
    and each inline code span that holds one (its options run up to a pipe, ``;``, ``&&``
    or a comment)."""
    found: list[str] = []
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        pieces = [line] if in_block else re.findall(r"`([^`]+)`", line)
        for piece in pieces:
            match = _COMMAND.search(piece)
            if match:
                rest = re.split(r"\s(?:\||;|&&|#)", match.group(2))[0]
                found.append(f"coopgraph {match.group(1)}{rest}")
    return found


def test_every_command_line_in_the_docs_runs_as_written() -> None:
    """Each ``coopgraph`` command line in README.md and docs/ names a command there is, with
    options it takes (so that a renamed command or option fails here)."""
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    wrong = []
    for page in pages:
        for line in _command_lines(page.read_text(encoding="utf-8")):
            name = line.split()[1]
            if name not in cli.commands:
                wrong.append(f"{page.name}: {line!r}: no command {name!r}")
                continue
            known = set().union(*_option_names(cli.commands[name]), {"--help"})
            options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
            if options - known:
                wrong.append(f"{page.name}: {line!r}: {sorted(options - known)}")
    assert wrong == []


def test_the_command_lines_are_found() -> None:
    page = "```\ncoopgraph validate --inferred | less\n```\nthen `coopgraph nope --x`.\n"
    assert _command_lines(page) == ["coopgraph validate --inferred", "coopgraph nope --x"]
