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
